//! mxdoctor's probes: the only code in the project that opens a socket.
//!
//! Every probe returns `mxdoctor_model::Observation` values (the data model is the
//! `mxdoctor-model` crate, imported from there, not from here); a failure is a value, never a panic.

pub mod dns;
pub mod dnsbl;
pub mod health;
pub mod http;
pub mod progress;
pub mod resolver_trust;
pub mod run;
pub mod serve;
pub mod smtp;
