//! mxdoctor's data model, free of sockets: what a probe observed ([`Observation`]), the SMTP reply
//! parser ([`Reply`]) and the catalog of checks and their fields.
//!
//! The offline commands (explain, triage, queue) build on this crate alone; `mxdoctor-checks` fills
//! these types from the network.

pub mod catalog;
pub mod dnssec_data;
pub mod health_data;
pub mod observation;
pub mod reply;

pub use observation::{Data, Observation, Outcome};
pub use reply::{Reply, ReplyClass};
