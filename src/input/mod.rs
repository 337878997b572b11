//! The input layer of text diagnoses: decompression by magic bytes, log dialects and timestamps.
//!
//! Kept apart from matching (`diagnose/text/`) so every reader of user-supplied logs opens, dates and
//! recognises them the same way.

pub mod compression;
pub mod dialect;
pub mod open;
pub mod read_ahead;
pub mod timestamp;
pub mod window;
