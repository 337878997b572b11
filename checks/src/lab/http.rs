//! Placeholder: filled by the lab implementation.
