//! mxdoctor's probes: the only code in the project that opens a socket.
//!
//! Every probe returns [`Observation`] values (the data model, re-exported here, is the
//! `mxdoctor-model` crate); a failure is a value, never a panic.

pub mod dns;
pub mod dnsbl;
pub mod http;
pub mod progress;
pub mod run;
pub mod serve;
pub mod smtp;

// The data model lives in `mxdoctor-model`; re-exported so `mxdoctor_checks::Observation` keeps naming it.
pub use mxdoctor_model::{Data, Observation, Outcome, Reply, ReplyClass, catalog, observation};
