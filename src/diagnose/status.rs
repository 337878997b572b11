//! The status of a probe run: findings from every playbook's live rules, then the rules that make
//! a run UNKNOWN rather than blame the target (see `vantage`): nothing answered, or the failures
//! point at this host's own network or resolver.

use std::net::SocketAddr;

use mxdoctor_model::Observation;

use super::evaluate;
use super::vantage::{inconclusive_reason, nothing_answered};
use crate::playbook::Playbook;
use crate::report::{EvaluatedPlaybook, Report};
use crate::vocabulary::{Platform, Status};

/// Evaluates every playbook with live rules on `observations` (a fresh run or a replayed bundle).
pub fn probes_report(
    playbooks: &[Playbook],
    command: &str,
    target: &str,
    vantage: String,
    observations: Vec<Observation>,
    platform: Platform,
) -> Report {
    let findings = evaluate(playbooks, &observations, platform);
    let mut report = Report::new(command, target, findings, Vec::new());
    report.vantage = Some(vantage);
    report.evaluated = playbooks
        .iter()
        .filter(|p| !p.rules.is_empty())
        .map(EvaluatedPlaybook::of)
        .collect();
    if let Some(reason) = inconclusive_reason(&observations) {
        report.notes.push(reason);
        report.status = Status::Unknown;
    } else if nothing_answered(&observations) {
        report
            .notes
            .push("nothing could be probed: no probe got an answer".into());
        report.status = Status::Unknown;
    }
    report.observations = observations;
    report
}

/// Where a run probed from, as reports show it: `HOST via RESOLVERS` (the system resolver when none
/// was given).
pub fn vantage_label(host: &str, dns_servers: &[SocketAddr]) -> String {
    let resolvers = if dns_servers.is_empty() {
        "system resolver".to_string()
    } else {
        dns_servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{host} via {resolvers}")
}
