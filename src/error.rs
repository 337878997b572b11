//! Errors that end a run, each knowing its exit code (3: the run could not diagnose anything).

use std::fmt::Write as _;

use crate::audit::error::ConfigFileError;
use crate::bundle::BundleError;
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
    /// The command line asks for something impossible (clap's own usage errors never get here).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    ConfigFile(#[from] ConfigFileError),
    #[error("{path}: {source}")]
    Bundle {
        path: String,
        #[source]
        source: BundleError,
    },
    #[error("{path}: not an mxdoctor JSON report: {source}")]
    NotJsonReport {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// A demo scenario's own command line does not parse: a bug in the scenario table.
    #[error("demo scenario command line: {0}")]
    ScenarioCommandLine(#[source] clap::Error),
    #[error("demo scenario is not a check")]
    ScenarioNotCheck,
    /// A target's task in `fleet` panicked or was cancelled.
    #[error("a target's check failed: {0}")]
    TargetTask(#[source] tokio::task::JoinError),
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
