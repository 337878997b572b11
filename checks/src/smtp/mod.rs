//! The SMTP side of the probes: reply parsing and (in `client`) the dialogue itself.

pub mod reply;
