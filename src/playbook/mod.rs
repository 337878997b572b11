//! Playbooks: the knowledge base as data — schema, loading, compilation and the lint of their examples.

pub mod compile;
pub mod ere;
pub mod error;
pub mod lint;
pub mod load;
pub mod regex;
pub mod remediation_lint;
pub mod schema;

pub use compile::Playbook;
pub use error::PlaybookError;
pub use load::Library;
pub use schema::{Area, Confidence, Severity};
