//! The status of a probe run: findings from every playbook's live rules, then the rules that make
//! a run UNKNOWN rather than blame the target (see `vantage`): nothing answered, or the failures
//! point at this host's own network or resolver, or the resolver cannot be trusted (its findings
//! are then withheld).

use std::net::SocketAddr;

use mxdoctor_model::Observation;

use super::evaluate;
use super::vantage::{inconclusive_reason, nothing_answered, withhold_for_resolver};
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
    let mut findings = evaluate(playbooks, &observations, platform);
    // A domain's run looked up its MX set; everything it probed came from the resolver.
    let domain_target = observations.iter().any(|o| o.check == "dns.mx");
    let withheld = withhold_for_resolver(&observations, domain_target, &mut findings);
    let mut report = Report::new(command, target, findings, Vec::new());
    report.vantage = Some(vantage);
    report.evaluated = playbooks
        .iter()
        .filter(|p| !p.rules.is_empty())
        .map(EvaluatedPlaybook::of)
        .collect();
    if let Some(withheld) = withheld {
        report.notes.push(withheld.note);
        if !withheld.playbooks.is_empty() {
            report.notes.push(format!(
                "not reported, because they rest on this resolver's answers: {}",
                withheld.playbooks.join(", ")
            ));
        }
        if withheld.unknown {
            report.status = Status::Unknown;
        }
    } else if let Some(reason) = inconclusive_reason(&observations) {
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

#[cfg(test)]
mod tests {
    use super::vantage_label;

    #[test]
    fn the_vantage_names_the_resolvers_or_the_system_one() {
        assert_eq!(vantage_label("probe", &[]), "probe via system resolver");
        let resolvers = [
            "127.0.0.53:53".parse().expect("address"),
            "[::1]:5353".parse().expect("address"),
        ];
        assert_eq!(
            vantage_label("probe", &resolvers),
            "probe via 127.0.0.53:53, [::1]:5353"
        );
    }
}
