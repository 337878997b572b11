//! Playbooks: the knowledge base as data — schema, loading and compilation (their lint is the `playbooks lint` command).

pub mod compile;
pub mod ere;
pub mod error;
pub mod load;
pub mod lowercase;
pub mod regex;
pub mod remediation_lint;
pub mod schema;

pub use compile::Playbook;
pub use error::{LintFailure, PlaybookError};
pub use load::Library;
