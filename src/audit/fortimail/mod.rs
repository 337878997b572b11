//! FortiMail configuration audit: the configuration tree parser and the rules over it.

pub mod rules;
pub mod tree;
