//! The report of a queue listing: the scan's observations, the queue playbooks evaluated on them, and
//! notes on how the listing was read (what was estimated, skipped or folded).

use super::evaluate;
use super::plan::needed_checks;
use crate::playbook::Playbook;
use crate::queue::InputFormat;
use crate::queue::QueueScan;
use crate::queue::observe::observations;
use crate::queue::overview::overview;
use crate::queue::time::{format_duration, format_utc};
use crate::report::{EvaluatedPlaybook, Report};
use crate::vocabulary::Platform;

/// A finished scan in, the report out: the queue playbooks evaluated on what the scan observed.
pub fn queue_report(
    playbooks: &[Playbook],
    scan: &QueueScan,
    target: &str,
    top: usize,
    platform: Platform,
) -> Report {
    let aggregate = &scan.aggregate;
    let observations = observations(aggregate, target, top);
    // Playbooks are evaluated one at a time: `evaluate` takes a slice, and only queue playbooks apply.
    let findings = playbooks
        .iter()
        .filter(|playbook| reads_only_queue_checks(playbook))
        .flat_map(|playbook| evaluate(std::slice::from_ref(playbook), &observations, platform))
        .collect();
    let input = scan.format().unwrap_or(InputFormat::PostqueueJson).as_str();
    let mut report = Report::new("queue", target, findings, observations);
    report.evaluated = playbooks
        .iter()
        .filter(|playbook| reads_only_queue_checks(playbook))
        .map(EvaluatedPlaybook::of)
        .collect();
    let settings = &aggregate.settings;
    report.notes.push(format!(
        "{} message{} read ({input}), judged as of {} (--now {}); DSN warning after {}, lifetime {}",
        scan.records,
        if scan.records == 1 { "" } else { "s" },
        format_utc(settings.now),
        settings.now,
        format_duration(settings.dsn_warn_secs),
        format_duration(settings.max_lifetime_secs)
    ));
    if aggregate.tries_estimated {
        report.notes.push(
            "postqueue -j lists no attempt counts: tries are estimated from each message's age with Postfix's \
             default backoff (attempts at 0, 5, 10, 20, 40, 80 min, then every 4000 s); slow = 3 or more tries"
                .into(),
        );
    }
    if let Some(note) = scan.malformed.note() {
        report.notes.push(note);
    }
    for (what, folded) in [
        ("destinations", aggregate.destinations.folded_keys()),
        ("delay reasons", aggregate.reasons.folded_keys()),
    ] {
        if folded > 0 {
            report.notes.push(format!(
                "{folded} rarely seen {what} were folded into \"(other)\" to keep memory bounded"
            ));
        }
    }
    report.queue = Some(overview(
        aggregate,
        input,
        scan.records,
        scan.malformed.count,
        top,
    ));
    report
}

/// Playbooks whose rules read queue checks and nothing else: a `not` over a live probe must not fire
/// just because a queue listing has no live probes.
fn reads_only_queue_checks(playbook: &Playbook) -> bool {
    // `config.*` rules (from `mxdoctor audit`) may sit beside the queue rules: they never hold here.
    let checks = needed_checks(std::slice::from_ref(playbook));
    checks.iter().any(|check| check.starts_with("queue."))
        && checks
            .iter()
            .all(|check| check.starts_with("queue.") || check.starts_with("config."))
}
