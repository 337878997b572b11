//! mxdoctor's probes: the only code in the project that opens a socket.
//!
//! Every probe returns [`observation::Observation`] values; a failure is a value, never a panic.

pub mod catalog;
pub mod dns;
pub mod dnsbl;
pub mod health;
pub mod health_data;
pub mod http;
pub mod lab;
pub mod observation;
pub mod progress;
pub mod resolver_trust;
pub mod run;
pub mod serve;
pub mod smtp;

pub use observation::{Data, Observation, Outcome};
pub use smtp::reply::{Reply, ReplyClass};
