//! How long-running probes tell the user what they are doing, without knowing how it is displayed.

use std::time::Duration;

/// Receives probe progress; the CLI draws it, tests and the library ignore it.
pub trait Progress: Send + Sync {
    /// A probe started.
    fn started(&self, _what: &str) {}
    /// A probe finished.
    fn finished(&self, _what: &str) {}
    /// A probe is about to wait on purpose (the greylisting retry), for `total`.
    fn waiting(&self, _what: &str, _total: Duration) {}
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {}
