//! Facts several renderers need, computed once: the headline, probe latencies, findings grouped by area.

use std::collections::BTreeMap;

use super::Report;
use crate::finding::{Evidence, Finding};
use crate::vocabulary::{Severity, Status};

/// The check that only carries the run's flags: never a probe with a latency.
const CONTEXT_CHECK: &str = "run.context";
/// The area of a finding whose playbook the report does not list as evaluated.
pub const UNLISTED_AREA: &str = "other";

/// One probe's latency and verdict; repeated probes of the same check and subject are merged.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeLatency {
    pub check: String,
    pub subject: String,
    /// The slowest of the merged probes.
    pub seconds: f64,
    /// True when every merged probe ended `ok`.
    pub success: bool,
}

/// Every probe that ran (not skipped, not the run context), ordered by check then subject.
pub fn probe_latencies(report: &Report) -> Vec<ProbeLatency> {
    let mut merged: BTreeMap<(&str, &str), ProbeLatency> = BTreeMap::new();
    for observation in &report.observations {
        // Audited configuration facts (`config.*`) are read, not probed: they have no latency.
        if observation.check == CONTEXT_CHECK
            || observation.check.starts_with("config.")
            || observation.outcome == mxdoctor_model::Outcome::Skipped
        {
            continue;
        }
        let seconds = observation.latency.as_secs_f64();
        let success = observation.outcome == mxdoctor_model::Outcome::Ok;
        merged
            .entry((&observation.check, &observation.subject))
            .and_modify(|probe| {
                probe.seconds = probe.seconds.max(seconds);
                probe.success &= success;
            })
            .or_insert_with(|| ProbeLatency {
                check: observation.check.clone(),
                subject: observation.subject.clone(),
                seconds,
                success,
            });
    }
    merged.into_values().collect()
}

/// One evaluated playbook and the findings it produced (none: it passed).
#[derive(Debug)]
pub struct PlaybookCase<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub findings: Vec<&'a Finding>,
}

/// Evaluated playbooks grouped by area (areas and cases sorted), findings attached to their playbook.
/// Findings of playbooks the report does not list go to [`UNLISTED_AREA`].
pub fn cases_by_area(report: &Report) -> BTreeMap<&str, Vec<PlaybookCase<'_>>> {
    let mut areas: BTreeMap<&str, Vec<PlaybookCase<'_>>> = BTreeMap::new();
    for playbook in &report.evaluated {
        let findings = report
            .findings
            .iter()
            .filter(|f| f.playbook == playbook.id)
            .collect();
        areas
            .entry(playbook.area.as_str())
            .or_default()
            .push(PlaybookCase {
                id: &playbook.id,
                title: &playbook.title,
                findings,
            });
    }
    for finding in &report.findings {
        if report.evaluated.iter().any(|p| p.id == finding.playbook) {
            continue;
        }
        let unlisted = areas.entry(UNLISTED_AREA).or_default();
        match unlisted.iter_mut().find(|case| case.id == finding.playbook) {
            Some(case) => case.findings.push(finding),
            None => unlisted.push(PlaybookCase {
                id: &finding.playbook,
                title: &finding.title,
                findings: vec![finding],
            }),
        }
    }
    for cases in areas.values_mut() {
        cases.sort_by(|a, b| a.id.cmp(b.id));
    }
    areas
}

/// True when a finding is a problem rather than information (it changes the exit status).
pub fn is_problem(finding: &Finding) -> bool {
    finding.severity > Severity::Info
}

/// What a one-line summary says: the top finding's title, the reason nothing was diagnosed, or all clear.
pub fn headline(report: &Report) -> String {
    match (report.findings.first(), report.status) {
        (_, Status::Unknown) if !report.notes.is_empty() => report.notes[0].clone(),
        (Some(top), _) if is_problem(top) => top.title.clone(),
        (_, Status::Unknown) => "nothing could be diagnosed".to_string(),
        _ => "no known problem recognised".to_string(),
    }
}

/// ` (subject)` after a name, or nothing when there is no subject.
pub fn subject_suffix(subject: Option<&str>) -> String {
    subject.map(|s| format!(" ({s})")).unwrap_or_default()
}

/// `check subject: detail`, the way every renderer quotes a piece of evidence.
pub fn evidence_line(evidence: &Evidence) -> String {
    format!(
        "{} {}: {}",
        evidence.check, evidence.subject, evidence.detail
    )
}

/// The severity as the lower-case word used in JSON and labels.
pub fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The confidence as the lower-case word used in JSON and labels.
pub fn confidence_word(confidence: crate::vocabulary::Confidence) -> &'static str {
    match confidence {
        crate::vocabulary::Confidence::Possible => "possible",
        crate::vocabulary::Confidence::Likely => "likely",
        crate::vocabulary::Confidence::Confirmed => "confirmed",
    }
}
