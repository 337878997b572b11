//! Diagnosis of what the mail system already said — SMTP replies, bounces and log lines — by matching
//! them against every playbook's symptoms. `explain`, `triage` and the playbook lint all come here.

pub mod candidates;
pub mod embedded_reply;
pub mod explain;
pub mod grams;
pub mod groups;
pub mod literals;
pub mod matcher;
pub mod sample;
pub mod scan;
#[cfg(test)]
mod seeded;
pub mod stream;
pub mod tally;
pub mod timestamp;

pub use matcher::TextMatcher;
pub use tally::Tally;

use crate::playbook::Playbook;
use crate::report::{EvaluatedPlaybook, Report};
use crate::vocabulary::Platform;
use groups::LineGroups;
use stream::{MAX_LINE_BYTES, StreamStats};

/// The playbooks text diagnosis evaluates: those with reply, log or bounce symptoms.
pub fn text_playbooks(playbooks: &[Playbook]) -> Vec<EvaluatedPlaybook> {
    playbooks
        .iter()
        .filter(|p| !(p.replies.is_empty() && p.logs.is_empty() && p.bounces.is_empty()))
        .map(EvaluatedPlaybook::of)
        .collect()
}

/// `explain`: each item diagnosed on its own, the report named after how many there were; with the
/// line groups causes fold their symptoms by.
pub fn texts_report(
    matcher: &TextMatcher<'_>,
    items: &[String],
    platform: Platform,
) -> (Report, LineGroups) {
    let (findings, groups) = explain::explain(matcher, items, platform);
    let target = match items.len() {
        1 => "1 input".to_string(),
        n => format!("{n} inputs"),
    };
    let mut report = Report::new("explain", target, findings, Vec::new());
    report.evaluated = text_playbooks(matcher.playbooks());
    (report, groups)
}

/// `triage`: the tally of a streamed pass, with how much was read as notes; with the line groups
/// causes fold their symptoms by.
pub fn log_report(
    playbooks: &[Playbook],
    target: String,
    tally: Tally,
    stats: StreamStats,
    platform: Platform,
) -> (Report, LineGroups) {
    let (findings, groups) = tally.into_findings_and_groups(playbooks, platform);
    let mut report = Report::new("triage", target, findings, Vec::new());
    report.evaluated = text_playbooks(playbooks);
    report.notes.push(format!(
        "{} lines ({} bytes) read, {} matched a playbook",
        stats.lines, stats.bytes, stats.matched_lines
    ));
    if stats.truncated_lines > 0 {
        report.notes.push(format!(
            "{} lines longer than {MAX_LINE_BYTES} bytes were matched on their first {MAX_LINE_BYTES} bytes only",
            stats.truncated_lines,
        ));
    }
    (report, groups)
}
