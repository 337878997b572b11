//! From a list of findings to a diagnosis: a finding that another explains is folded under its
//! cause (`caused_by` / `explains`), and an ambiguous finding lists its candidate causes.
//!
//! Playbooks declare the links (`explains:` with the evidence cause and symptom must share) and
//! the candidates (`differential:`); this module applies them to one report's findings. Pure.

pub mod differential;
pub mod join;
pub mod lint;
pub mod order;

use std::collections::HashMap;

use super::rank::{rank, score};
use super::text::groups::{LineGroup, LineGroups, merge};
use crate::finding::{Evidence, Finding};
use crate::nesting::status_of;
use crate::playbook::Playbook;
use crate::playbook::compile::CausalLink;
use crate::playbook::schema::SharedEvidence;
use crate::report::Report;
use crate::vocabulary::Status;

pub use differential::apply_differentials;
pub use order::order_by_cause;

/// Samples a folded or split finding keeps (as many as a text finding).
const SAMPLES: usize = super::text::tally::SAMPLES_PER_PLAYBOOK;

/// [`diagnose_text`] on a text report; the status follows the causes.
pub fn fold_text_report(mut report: Report, groups: &LineGroups, playbooks: &[Playbook]) -> Report {
    let findings = std::mem::take(&mut report.findings);
    report.findings = diagnose_text(findings, groups, playbooks);
    restate(&mut report);
    report
}

/// [`diagnose_live`] on a live or queue report; the status follows the causes (UNKNOWN stays).
pub fn fold_live_report(report: &mut Report, playbooks: &[Playbook]) {
    let findings = std::mem::take(&mut report.findings);
    report.findings = diagnose_live(findings, playbooks);
    restate(report);
}

/// Ranks findings by score, then puts each symptom right after its cause and numbers them.
pub fn rank_with_causes(findings: &mut [Finding]) {
    rank(findings);
    order_by_cause(findings);
}

/// The status again after folding, unless the run was already judged UNKNOWN.
pub fn restate(report: &mut Report) {
    if report.status != Status::Unknown {
        report.status = status_of(&report.findings);
    }
}

/// Folds explained findings of a text diagnosis (`explain`, `triage`) under their causes, splitting
/// a symptom whose lines are only partly shared, then lists differentials.
pub fn diagnose_text(
    findings: Vec<Finding>,
    groups: &LineGroups,
    playbooks: &[Playbook],
) -> Vec<Finding> {
    let mut findings = fold_text(findings, groups, playbooks);
    fold_by_evidence(&mut findings, playbooks, &[SharedEvidence::SameInput]);
    apply_differentials(&mut findings, playbooks);
    findings
}

/// Folds explained findings of a live run (`check`, `replay`, `queue`) under their causes, by the
/// evidence they share, then lists differentials.
pub fn diagnose_live(mut findings: Vec<Finding>, playbooks: &[Playbook]) -> Vec<Finding> {
    fold_by_evidence(
        &mut findings,
        playbooks,
        &[
            SharedEvidence::SameLines,
            SharedEvidence::SameHost,
            SharedEvidence::SameDestination,
            SharedEvidence::SameInput,
        ],
    );
    apply_differentials(&mut findings, playbooks);
    findings
}

/// The links into `symptom` from playbooks that have a finding among `findings`, strongest cause first.
fn causes_of<'a>(
    symptom: &Finding,
    findings: &'a [Finding],
    playbooks: &'a [Playbook],
    kinds: &[SharedEvidence],
) -> Vec<(&'a Finding, &'a CausalLink)> {
    let mut causes: Vec<(&Finding, &CausalLink)> = Vec::new();
    for playbook in playbooks {
        for link in playbook.explains.iter().filter(|link| {
            link.symptom == symptom.playbook
                && kinds.contains(&link.evidence)
                && symptom.confidence <= link.up_to
        }) {
            if let Some(cause) = findings
                .iter()
                .find(|f| f.playbook == playbook.id && f.caused_by.is_none())
            {
                causes.push((cause, link));
            }
        }
    }
    causes.sort_by(|(a, _), (b, _)| {
        score(b.severity, b.confidence)
            .cmp(&score(a.severity, a.confidence))
            .then(b.severity.cmp(&a.severity))
    });
    causes
}

/// Splits each text symptom by the lines its causes also matched (`same_lines`).
fn fold_text(findings: Vec<Finding>, groups: &LineGroups, playbooks: &[Playbook]) -> Vec<Finding> {
    if groups.is_empty() {
        return findings;
    }
    let index_of: HashMap<&str, usize> = playbooks
        .iter()
        .enumerate()
        .map(|(index, p)| (p.id.as_str(), index))
        .collect();
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut explained: Vec<(String, String)> = Vec::new();
    for symptom in &findings {
        let mut causes = causes_of(
            symptom,
            &findings,
            playbooks,
            &[SharedEvidence::SameLines, SharedEvidence::SameHost],
        );
        // One entry per cause, the strongest first, with the kinds of evidence it may claim by.
        let mut by_lines: Vec<bool> = Vec::new();
        let mut by_host: Vec<bool> = Vec::new();
        let mut unique: Vec<(&Finding, &CausalLink)> = Vec::new();
        for (cause, link) in causes.drain(..) {
            let known = unique
                .iter()
                .position(|(c, _)| c.playbook == cause.playbook);
            let position = known.unwrap_or_else(|| {
                unique.push((cause, link));
                by_lines.push(false);
                by_host.push(false);
                unique.len() - 1
            });
            by_lines[position] |= link.evidence == SharedEvidence::SameLines;
            by_host[position] |= link.evidence == SharedEvidence::SameHost;
        }
        let causes = unique;
        let Some(&symptom_index) = index_of.get(symptom.playbook.as_str()) else {
            out.push(symptom.clone());
            continue;
        };
        if causes.is_empty() {
            out.push(symptom.clone());
            continue;
        }
        let cause_indices: Vec<Option<usize>> = causes
            .iter()
            .map(|(cause, _)| index_of.get(cause.playbook.as_str()).copied())
            .collect();
        let cause_hosts: Vec<Vec<&str>> = cause_indices
            .iter()
            .map(|index| {
                index.map_or_else(Vec::new, |index| {
                    groups
                        .containing(index)
                        .filter_map(|g| g.host.as_deref())
                        .collect()
                })
            })
            .collect();
        // Each line goes to the strongest cause that also matched it (same lines), else to the
        // strongest whose lines name the same host; the rest stays unexplained.
        let mut by_cause: Vec<Vec<&LineGroup>> = vec![Vec::new(); causes.len()];
        let mut unexplained: Vec<&LineGroup> = Vec::new();
        for group in groups.containing(symptom_index) {
            let same_line = (0..causes.len()).find(|&c| {
                by_lines[c]
                    && cause_indices[c]
                        .is_some_and(|index| group.playbooks.binary_search(&index).is_ok())
            });
            let same_host = || {
                (0..causes.len()).find(|&c| {
                    by_host[c]
                        && group
                            .host
                            .as_deref()
                            .is_some_and(|host| cause_hosts[c].contains(&host))
                })
            };
            match same_line.or_else(same_host) {
                Some(position) => by_cause[position].push(group),
                None => unexplained.push(group),
            }
        }
        let mut explained_count = 0;
        for ((cause, _), groups_of_cause) in causes.iter().zip(&by_cause) {
            if groups_of_cause.is_empty() {
                continue;
            }
            let merged = merge(groups_of_cause.iter().copied(), SAMPLES);
            explained_count += merged.count;
            let mut part = symptom.clone();
            part.count = Some(merged.count);
            part.first_seen = merged.first_seen;
            part.last_seen = merged.last_seen;
            part.evidence = merged.samples;
            part.subject = part.evidence.first().map(|e| e.subject.clone());
            part.caused_by = Some(cause.playbook.clone());
            explained.push((cause.playbook.clone(), symptom.playbook.clone()));
            out.push(part);
        }
        let total = symptom.count.unwrap_or(0);
        let rest = total.saturating_sub(explained_count);
        if explained_count == 0 || rest > 0 {
            let mut remainder = symptom.clone();
            if explained_count > 0 {
                remainder.count = Some(rest);
                let merged = merge(unexplained.iter().copied(), SAMPLES);
                if merged.count > 0 {
                    remainder.first_seen = merged.first_seen;
                    remainder.last_seen = merged.last_seen;
                    remainder.evidence = merged.samples;
                    remainder.subject = remainder.evidence.first().map(|e| e.subject.clone());
                }
            }
            out.push(remainder);
        }
    }
    for (cause, symptom) in explained {
        if let Some(finding) = out
            .iter_mut()
            .find(|f| f.playbook == cause && f.caused_by.is_none())
        {
            if !finding.explains.contains(&symptom) {
                finding.explains.push(symptom);
            }
        }
    }
    out
}

/// Folds every whole symptom under its strongest cause whose shared evidence (of `kinds`) holds.
fn fold_by_evidence(findings: &mut [Finding], playbooks: &[Playbook], kinds: &[SharedEvidence]) {
    for position in 0..findings.len() {
        if findings[position].caused_by.is_some() {
            continue;
        }
        let cause = {
            let symptom = &findings[position];
            causes_of(symptom, findings, playbooks, kinds)
                .into_iter()
                .find(|(cause, link)| {
                    shares(cause, symptom, link.evidence)
                        && !would_cycle(findings, &cause.playbook, &symptom.playbook)
                })
                .map(|(cause, _)| cause.playbook.clone())
        };
        if let Some(cause) = cause {
            let symptom = findings[position].playbook.clone();
            findings[position].caused_by = Some(cause.clone());
            if let Some(parent) = findings
                .iter_mut()
                .find(|f| f.playbook == cause && f.caused_by.is_none())
            {
                if !parent.explains.contains(&symptom) {
                    parent.explains.push(symptom);
                }
            }
        }
    }
}

/// True when `cause` is already (transitively) explained by `symptom`.
fn would_cycle(findings: &[Finding], cause: &str, symptom: &str) -> bool {
    let mut current = cause.to_string();
    for _ in 0..=findings.len() {
        let Some(parent) = findings
            .iter()
            .find(|f| f.playbook == current)
            .and_then(|f| f.caused_by.clone())
        else {
            return false;
        };
        if parent == symptom {
            return true;
        }
        current = parent;
    }
    true
}

/// Whether `cause` and `symptom` share the evidence the link asks for.
pub fn shares(cause: &Finding, symptom: &Finding, evidence: SharedEvidence) -> bool {
    match evidence {
        SharedEvidence::SameInput => true,
        SharedEvidence::SameLines => {
            !symptom.evidence.is_empty()
                && symptom
                    .evidence
                    .iter()
                    .all(|item| cause.evidence.contains(item))
        }
        SharedEvidence::SameHost => {
            let cause_hosts: Vec<String> = hosts(&cause.evidence);
            let symptom_hosts = hosts(&symptom.evidence);
            !symptom_hosts.is_empty() && symptom_hosts.iter().all(|h| cause_hosts.contains(h))
        }
        SharedEvidence::SameDestination => match (&cause.subject, &symptom.subject) {
            (Some(a), Some(b)) => host_of(a) == host_of(b),
            _ => false,
        },
    }
}

/// The distinct hosts evidence is about (subjects without ports), DNS lookups and the run left out.
fn hosts(evidence: &[Evidence]) -> Vec<String> {
    let mut hosts: Vec<String> = evidence
        .iter()
        .filter(|e| !e.check.starts_with("dns") && e.check != "run.context")
        .map(|e| host_of(&e.subject))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// `mx1.example.test:25` → `mx1.example.test`; `[2001:db8::1]:25` → `2001:db8::1`; lower case.
pub fn host_of(subject: &str) -> String {
    let subject = subject.trim();
    let bare = if let Some(rest) = subject.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if subject.matches(':').count() == 1 {
        subject.split(':').next().unwrap_or(subject)
    } else {
        subject
    };
    bare.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Library;
    use crate::vocabulary::{Confidence, Platform};

    fn finding(library: &Library, id: &str, evidence: &[(&str, &str)]) -> Finding {
        let playbook = library.get(id).unwrap();
        let evidence = evidence
            .iter()
            .map(|(check, subject)| Evidence {
                check: (*check).into(),
                subject: (*subject).into(),
                detail: "seen".into(),
            })
            .collect();
        Finding::new(
            playbook,
            playbook.severity,
            Confidence::Likely,
            evidence,
            Platform::Generic,
        )
    }

    #[test]
    fn a_bypassing_mx_explains_unscanned_spam_on_the_same_host_only() {
        let library = Library::load(&[]).unwrap();
        let bypass = finding(
            &library,
            "gateway-bypass-mx",
            &[
                ("mx.host", "backup.example.test"),
                ("recipient.invalid", "backup.example.test:25"),
            ],
        );
        let same_host = finding(
            &library,
            "scan-bypass-no-policy",
            &[("test_message", "backup.example.test:25")],
        );
        let folded = diagnose_live(vec![bypass.clone(), same_host], &library.playbooks);
        assert_eq!(folded[1].caused_by.as_deref(), Some("gateway-bypass-mx"));
        assert_eq!(folded[0].explains, ["scan-bypass-no-policy"]);
        let other_host = finding(
            &library,
            "scan-bypass-no-policy",
            &[("test_message", "gw.example.test:25")],
        );
        let apart = diagnose_live(vec![bypass, other_host], &library.playbooks);
        assert!(apart.iter().all(|f| f.caused_by.is_none()));
    }

    #[test]
    fn symptoms_follow_their_cause_and_do_not_set_the_status() {
        let library = Library::load(&[]).unwrap();
        let mut symptom = finding(&library, "smtp-unreachable", &[("log", "a:1")]);
        symptom.caused_by = Some("recipient-verification-unavailable".into());
        let other = finding(&library, "mailbox-full", &[("log", "a:2")]);
        let mut cause = finding(
            &library,
            "recipient-verification-unavailable",
            &[("log", "a:1")],
        );
        cause.explains = vec!["smtp-unreachable".into()];
        let mut findings = vec![symptom, other, cause];
        assert_eq!(
            crate::nesting::status_of(&findings),
            crate::vocabulary::Status::Warning
        );
        rank_with_causes(&mut findings);
        let order: Vec<(usize, &str)> = findings
            .iter()
            .map(|f| (f.rank, f.playbook.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (1, "recipient-verification-unavailable"),
                (2, "smtp-unreachable"),
                (3, "mailbox-full")
            ]
        );
        assert_eq!(crate::nesting::depth(&findings, &findings[1]), 1);
    }

    #[test]
    fn hosts_lose_their_ports_and_case() {
        assert_eq!(host_of("MX1.Example.test.:25"), "mx1.example.test");
        assert_eq!(host_of("[2001:db8::1]:25"), "2001:db8::1");
        assert_eq!(host_of("2001:db8::1"), "2001:db8::1");
    }
}
