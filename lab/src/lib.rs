//! Simulated mail systems on loopback (SMTP, DNS, HTTP): one implementation for the tests and `mxdoctor demo`.
//!
//! Everything here binds only to 127.0.0.0/8.

pub mod dns;
mod dnssec;
mod health_scenarios;
pub mod hostile;
pub mod http;
pub mod scenarios;
pub mod smtp;
