//! Diagnoses of many messages → findings: one per playbook, counting messages and recipients,
//! with the recipient domains it hit most and sample messages as evidence, in bounded memory.

use std::collections::{BTreeMap, HashMap};

use super::classify::{Diagnosis, MessageKind};
use crate::finding::{Evidence, Finding};
use crate::playbook::Playbook;
use crate::vocabulary::{Confidence, Platform};

/// Evidence lines per finding: sample messages for a few messages, domains for a mailbox.
const SAMPLES: usize = 5;
/// Distinct recipient domains remembered per playbook; the rest are counted as "other".
const MAX_DOMAINS: usize = 1000;

#[derive(Debug, Default)]
struct Entry {
    confidence: Option<Confidence>,
    messages: u64,
    recipients: u64,
    samples: Vec<Evidence>,
    /// domain → (recipients, a sample message label and reason).
    domains: HashMap<String, (u64, String)>,
    other_domains: u64,
}

/// Counts per playbook and per message kind.
#[derive(Debug, Default)]
pub struct BounceTally {
    by_playbook: BTreeMap<usize, Entry>,
    pub messages: u64,
    pub kinds: BTreeMap<MessageKind, u64>,
    pub dialects: BTreeMap<&'static str, u64>,
    /// Messages with a failed recipient no playbook explains (label, first words).
    pub unexplained: Vec<String>,
    pub unexplained_count: u64,
    pub truncated: u64,
}

impl BounceTally {
    pub fn record(&mut self, label: &str, diagnosis: &Diagnosis) {
        self.messages += 1;
        *self.kinds.entry(diagnosis.kind).or_default() += 1;
        *self.dialects.entry(diagnosis.dialect).or_default() += 1;
        if !diagnosis.unexplained.is_empty() && diagnosis.kind != MessageKind::NotRecognised {
            self.unexplained_count += 1;
            if self.unexplained.len() < SAMPLES {
                self.unexplained.push(label.to_string());
            }
        }
        for reason in &diagnosis.reasons {
            let entry = self.by_playbook.entry(reason.playbook).or_default();
            entry.confidence = entry.confidence.max(Some(reason.confidence));
            entry.messages += 1;
            entry.recipients += reason.recipients.len().max(1) as u64;
            let who = if reason.recipients.is_empty() {
                String::new()
            } else {
                format!("{}: ", reason.recipients.join(", "))
            };
            if entry.samples.len() < SAMPLES {
                entry.samples.push(Evidence {
                    check: "bounce".into(),
                    subject: label.to_string(),
                    detail: format!("{who}{} ({})", reason.evidence, reason.source.describe()),
                });
            }
            for recipient in &reason.recipients {
                let domain = recipient
                    .rsplit_once('@')
                    .map_or("(no domain)", |(_, d)| d)
                    .to_ascii_lowercase();
                if let Some(slot) = entry.domains.get_mut(&domain) {
                    slot.0 += 1;
                } else if entry.domains.len() < MAX_DOMAINS {
                    entry
                        .domains
                        .insert(domain, (1, format!("{label}: {}", reason.evidence)));
                } else {
                    entry.other_domains += 1;
                }
            }
        }
    }

    /// Findings; with `by_domain` the evidence lists the top recipient domains (for mailboxes),
    /// otherwise the sample messages.
    pub fn into_findings(
        self,
        playbooks: &[Playbook],
        platform: Platform,
        by_domain: bool,
    ) -> Vec<Finding> {
        self.by_playbook
            .into_iter()
            .map(|(index, entry)| {
                let playbook = &playbooks[index];
                let evidence = if by_domain && !entry.domains.is_empty() {
                    let mut domains: Vec<(String, (u64, String))> =
                        entry.domains.into_iter().collect();
                    domains.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
                    let mut evidence: Vec<Evidence> = domains
                        .into_iter()
                        .take(SAMPLES)
                        .map(|(domain, (count, sample))| Evidence {
                            check: "bounce".into(),
                            subject: domain,
                            detail: format!("{count} recipient(s), e.g. {sample}"),
                        })
                        .collect();
                    if entry.other_domains > 0 {
                        evidence.push(Evidence {
                            check: "bounce".into(),
                            subject: "other domains".into(),
                            detail: format!("{} recipient(s)", entry.other_domains),
                        });
                    }
                    evidence
                } else {
                    entry.samples
                };
                let mut finding = Finding::new(
                    playbook,
                    playbook.severity,
                    entry.confidence.unwrap_or_default(),
                    evidence,
                    platform,
                );
                finding.count = Some(entry.messages);
                finding
            })
            .collect()
    }

    /// One line per fact worth a note: kinds, dialects, unexplained messages.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let kinds = self
            .kinds
            .iter()
            .map(|(kind, n)| format!("{n} {}", kind.describe()))
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(format!("{} message(s) read: {kinds}", self.messages));
        let dialects = self
            .dialects
            .iter()
            .map(|(d, n)| format!("{d} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(format!("dialects: {dialects}"));
        if self.unexplained_count > 0 {
            notes.push(format!(
                "{} message(s) with a failed recipient whose reason no playbook explains, e.g. {}",
                self.unexplained_count,
                self.unexplained.join(", ")
            ));
        }
        if self.truncated > 0 {
            notes.push(format!(
                "{} message(s) longer than {} bytes were read up to that size only",
                self.truncated,
                super::input::MAX_MESSAGE_BYTES
            ));
        }
        notes
    }
}
