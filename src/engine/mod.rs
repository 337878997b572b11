//! The pure core of a live run: plan which probes are needed, then evaluate conditions on what they saw.

pub mod evaluate;
pub mod plan;
pub mod vantage;
pub mod view;

pub use evaluate::evaluate;
pub use plan::needed_checks;
