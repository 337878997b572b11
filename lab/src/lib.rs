//! Simulated mail systems on loopback (SMTP, DNS, HTTP): one implementation for the tests and `mxdoctor demo`.
//!
//! Everything here binds only to 127.0.0.0/8 (and ::1, for the IPv6 scenarios).

pub mod dns;
mod health_scenarios;
pub mod hostile;
pub mod http;
pub mod ipv6_scenarios;
mod mta_sts_scenarios;
pub mod policy_https;
pub mod scenarios;
pub mod smtp;
