//! Joins live probes to what a queue listing or a log said: a probe's finding about a destination
//! (or host) becomes the cause of the queue or log finding about the same destination (or host).

use std::collections::BTreeMap;

use super::super::rank::score;
use crate::finding::{Evidence, Finding};
use crate::playbook::Playbook;
use crate::playbook::schema::SharedEvidence;

/// The check name of the one-line summary a probe adds as evidence.
pub const PROBE_CHECK: &str = "probe";

/// What the probes of one destination (or host) found.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The destination domain (queue) or host (triage) that was probed.
    pub target: String,
    /// One line: what the probes saw ("2 MX: both refuse port 25").
    pub summary: String,
    /// The findings of the live playbooks on this target's observations alone.
    pub findings: Vec<Finding>,
    /// False when the result says more about where mxdoctor runs than about the target
    /// (port 25 blocked here): then it is shown but explains nothing.
    pub conclusive: bool,
}

/// Joins `probed` to `findings`: for each evidence item of a finding whose target (from
/// `target_of`) was probed, the strongest probe finding there that the playbooks link to it
/// (`kind`) becomes its cause; the finding is split by cause. The probe findings are added, one
/// per playbook, with the targets they were seen at. Pure.
pub fn join(
    findings: Vec<Finding>,
    probed: &[Probed],
    playbooks: &[Playbook],
    kind: SharedEvidence,
    target_of: impl Fn(&Evidence) -> Option<String>,
) -> Vec<Finding> {
    let mut causes: BTreeMap<String, Finding> = BTreeMap::new();
    for target in probed {
        for found in &target.findings {
            let entry = causes.entry(found.playbook.clone()).or_insert_with(|| {
                let mut merged = found.clone();
                merged.evidence.clear();
                merged.subject = Some(target.target.clone());
                merged
            });
            if score(found.severity, found.confidence) > score(entry.severity, entry.confidence) {
                entry.severity = found.severity;
                entry.confidence = found.confidence;
            }
            entry.evidence.push(summary_evidence(target));
            entry.evidence.extend(found.evidence.iter().cloned());
        }
    }
    let probed_at = |target: &str| {
        probed
            .iter()
            .find(|p| p.target.eq_ignore_ascii_case(target))
    };
    let mut out: Vec<Finding> = Vec::new();
    let mut explained: Vec<(String, String)> = Vec::new();
    for finding in findings {
        if finding.caused_by.is_some() {
            out.push(finding);
            continue;
        }
        let mut remainder = finding.clone();
        remainder.evidence.clear();
        let mut parts: BTreeMap<String, Finding> = BTreeMap::new();
        let mut confirmations: Vec<Evidence> = Vec::new();
        let mut noted: Vec<String> = Vec::new();
        for item in &finding.evidence {
            let Some(target) = target_of(item).and_then(|t| probed_at(&t)) else {
                remainder.evidence.push(item.clone());
                continue;
            };
            let cause = target
                .conclusive
                .then(|| strongest_cause(&finding, target, playbooks, kind))
                .flatten();
            match cause {
                Some(cause) if cause.playbook == finding.playbook => {
                    remainder.evidence.push(item.clone());
                    if !noted.contains(&target.target) {
                        noted.push(target.target.clone());
                        confirmations.push(summary_evidence(target));
                    }
                }
                Some(cause) => {
                    let part = parts.entry(cause.playbook.clone()).or_insert_with(|| {
                        let mut part = finding.clone();
                        part.evidence.clear();
                        part.subject = Some(target.target.clone());
                        part.caused_by = Some(cause.playbook.clone());
                        part
                    });
                    part.evidence.push(item.clone());
                    explained.push((cause.playbook.clone(), finding.playbook.clone()));
                }
                None => {
                    remainder.evidence.push(item.clone());
                    if !noted.contains(&target.target) {
                        noted.push(target.target.clone());
                        confirmations.push(summary_evidence(target));
                    }
                }
            }
        }
        // A probe that confirms the same problem, or saw nothing wrong now, is evidence too.
        remainder.evidence.extend(confirmations);
        let split = !parts.is_empty();
        if !split || remainder.evidence.iter().any(|e| e.check != PROBE_CHECK) {
            out.push(remainder);
        }
        out.extend(parts.into_values());
    }
    // A probe finding about the same problem as a finding already there confirmed it above.
    for (playbook, cause) in causes {
        let existing = out
            .iter()
            .position(|f| f.playbook == playbook && f.caused_by.is_none());
        let position = existing.unwrap_or_else(|| {
            out.push(cause);
            out.len() - 1
        });
        for (by, symptom) in &explained {
            if *by == playbook && !out[position].explains.contains(symptom) {
                out[position].explains.push(symptom.clone());
            }
        }
    }
    out
}

/// The probe finding at `target` that best explains `finding`: the same playbook (the probe
/// confirms it), or one whose `explains` names it with this kind of evidence.
fn strongest_cause<'a>(
    finding: &Finding,
    target: &'a Probed,
    playbooks: &[Playbook],
    kind: SharedEvidence,
) -> Option<&'a Finding> {
    target
        .findings
        .iter()
        .filter(|found| {
            found.playbook == finding.playbook
                || playbooks
                    .iter()
                    .find(|p| p.id == found.playbook)
                    .is_some_and(|p| {
                        p.explains.iter().any(|link| {
                            link.symptom == finding.playbook
                                && link.evidence == kind
                                && finding.confidence <= link.up_to
                        })
                    })
        })
        .max_by_key(|found| (score(found.severity, found.confidence), found.severity))
}

fn summary_evidence(target: &Probed) -> Evidence {
    Evidence {
        check: PROBE_CHECK.into(),
        subject: target.target.clone(),
        detail: target.summary.clone(),
    }
}
