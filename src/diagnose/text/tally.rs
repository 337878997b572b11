//! Counts text hits per playbook (best confidence, first/last time, a few samples) and turns them into findings.

use std::collections::BTreeMap;

use crate::finding::{Evidence, Finding};
use crate::playbook::Playbook;

pub use super::groups::LineGroups;
use super::matcher::{Hit, SymptomKind};
use crate::vocabulary::{Confidence, Platform};

/// Samples kept per playbook: enough to show the pattern, bounded whatever the input size.
pub const SAMPLES_PER_PLAYBOOK: usize = 3;
const MAX_DETAIL_CHARS: usize = 300;

#[derive(Debug, Default)]
struct PlaybookTally {
    confidence: Option<Confidence>,
    count: u64,
    first_seen: Option<String>,
    last_seen: Option<String>,
    samples: Vec<Evidence>,
}

/// Hits of a whole text diagnosis, in bounded memory.
#[derive(Debug, Default)]
pub struct Tally {
    by_playbook: BTreeMap<usize, PlaybookTally>,
    /// Lines grouped by the exact set of playbooks that matched them, so a cause and its symptom
    /// can be shown to share lines (see `crate::causes`).
    line_groups: LineGroups,
}

impl Tally {
    /// A tally whose line groups read hosts for the playbooks in `same_host` links.
    pub fn for_playbooks(playbooks: &[Playbook]) -> Self {
        Self {
            line_groups: LineGroups::for_playbooks(playbooks),
            ..Self::default()
        }
    }

    /// Records that `line` (found at `subject`, seen at `timestamp`) produced `hits`.
    pub fn record(
        &mut self,
        hits: &[Hit],
        subject: impl Fn() -> String,
        line: &str,
        timestamp: Option<&str>,
    ) {
        if let Some(first) = hits.first() {
            self.line_groups.record(
                hits.iter().map(|hit| hit.playbook),
                kind_name(first.kind),
                &subject,
                line,
                || shorten(line),
                timestamp,
            );
        }
        for hit in hits {
            let entry = self.by_playbook.entry(hit.playbook).or_default();
            entry.count += 1;
            entry.confidence = entry.confidence.max(Some(hit.confidence));
            if let Some(timestamp) = timestamp {
                if entry.first_seen.is_none() {
                    entry.first_seen = Some(timestamp.to_string());
                }
                entry.last_seen = Some(timestamp.to_string());
            }
            if entry.samples.len() < SAMPLES_PER_PLAYBOOK {
                entry.samples.push(Evidence {
                    check: kind_name(hit.kind).to_string(),
                    subject: subject(),
                    detail: shorten(line),
                });
            }
        }
    }

    /// The findings, and the line groups that let causes claim their symptoms' lines.
    pub fn into_findings_and_groups(
        mut self,
        playbooks: &[Playbook],
        platform: Platform,
    ) -> (Vec<Finding>, LineGroups) {
        let groups = std::mem::take(&mut self.line_groups);
        (self.into_findings(playbooks, platform), groups)
    }

    pub fn into_findings(self, playbooks: &[Playbook], platform: Platform) -> Vec<Finding> {
        self.by_playbook
            .into_iter()
            .map(|(index, tally)| {
                let playbook = &playbooks[index];
                let mut finding = Finding::new(
                    playbook,
                    playbook.severity,
                    tally.confidence.unwrap_or_default(),
                    tally.samples,
                    platform,
                );
                finding.count = Some(tally.count);
                finding.first_seen = tally.first_seen;
                finding.last_seen = tally.last_seen;
                finding
            })
            .collect()
    }
}

fn kind_name(kind: SymptomKind) -> &'static str {
    match kind {
        SymptomKind::Reply => "reply",
        SymptomKind::Log => "log",
        SymptomKind::Bounce => "bounce",
    }
}

fn shorten(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}
