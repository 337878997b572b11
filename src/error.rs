//! Errors that end a run, each knowing its exit code (3: the run could not diagnose anything).

use std::fmt::Write as _;

use crate::playbook::{LintFailure, PlaybookError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{}", render_playbook_errors(.0))]
    Playbooks(Vec<PlaybookError>),
    #[error("{}", render_lint_failures(.0))]
    Lint(Vec<LintFailure>),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("unknown playbook {0:?} (see `mxdoctor playbooks list`)")]
    UnknownPlaybook(String),
}

impl AppError {
    /// Every error is UNKNOWN in monitoring terms: nothing was diagnosed.
    pub fn exit_code(&self) -> u8 {
        3
    }
}

fn render_playbook_errors(errors: &[PlaybookError]) -> String {
    let mut text = format!("{} playbook error(s):", errors.len());
    for error in errors {
        text.push_str("\n\n");
        text.push_str(&error.to_string());
    }
    text
}

fn render_lint_failures(failures: &[LintFailure]) -> String {
    let mut text = format!("{} playbook example(s) failed:", failures.len());
    for failure in failures {
        let _ = write!(
            text,
            "\n  {} ({}): {}",
            failure.playbook, failure.origin, failure.message
        );
    }
    text
}
