//! Compares a run with a previous JSON report (`--baseline`): each finding is new or unchanged, and the
//! baseline's findings this run no longer shows are listed as resolved. Findings are matched by playbook
//! id and subject.

use serde::{Deserialize, Serialize};

use super::Report;
use crate::finding::BaselineState;
use crate::finding::Finding;
use crate::vocabulary::{Severity, Status};

/// A baseline finding this run no longer shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedFinding {
    pub playbook: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

fn same_problem(a: &Finding, b: &Finding) -> bool {
    a.playbook == b.playbook && a.subject == b.subject
}

/// Marks `report`'s findings against `baseline` and lists what was resolved.
pub fn compare(report: &mut Report, baseline: &Report) {
    for finding in &mut report.findings {
        let seen = baseline
            .findings
            .iter()
            .any(|old| same_problem(old, finding));
        finding.baseline = Some(if seen {
            BaselineState::Unchanged
        } else {
            BaselineState::New
        });
    }
    report.resolved = baseline
        .findings
        .iter()
        .filter(|old| {
            !report
                .findings
                .iter()
                .any(|current| same_problem(current, old))
        })
        .map(|old| ResolvedFinding {
            playbook: old.playbook.clone(),
            title: old.title.clone(),
            severity: old.severity,
            subject: old.subject.clone(),
        })
        .collect();
}

/// The exit code under `--fail-on-new`: the status of the new findings alone (UNKNOWN stays UNKNOWN).
pub fn exit_code_for_new(report: &Report) -> u8 {
    if report.status == Status::Unknown {
        return Status::Unknown.exit_code();
    }
    let new: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| f.baseline != Some(BaselineState::Unchanged))
        .cloned()
        .collect();
    Status::from_severities(new.iter().map(|f| f.severity)).exit_code()
}
