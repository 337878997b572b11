//! Diagnosis of what the mail system already said: replies, bounces and log lines.

pub mod candidates;
pub mod embedded_reply;
pub mod explain;
pub mod literals;
pub mod matcher;
pub mod scan;
pub mod stream;
pub mod tally;
pub mod timestamp;

pub use matcher::TextMatcher;
pub use tally::Tally;
