//! Counts text hits per playbook (best confidence, first/last time, a few samples) and turns them into findings.
//!
//! A tally can be built in pieces (chunks of a file scanned in parallel) and merged in input order:
//! the result is the one a single pass would give. First and last are by time when lines are dated
//! (files may be given in any order), else in reading order.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::finding::Finding;
use crate::input::timestamp::Stamp;
use crate::playbook::Playbook;

use super::groups::GroupedLine;
pub use super::groups::LineGroups;
use super::matcher::Hit;
use super::sample::{
    Sample, Seen, Subject, Written, keep_first, keep_first_written, keep_last, keep_last_written,
};
use crate::vocabulary::{Confidence, Platform};

/// Samples kept per playbook: enough to show the pattern, bounded whatever the input size.
pub const SAMPLES_PER_PLAYBOOK: usize = 3;
const MAX_DETAIL_CHARS: usize = 300;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct PlaybookTally {
    confidence: Option<Confidence>,
    count: u64,
    first_seen: Option<Seen>,
    last_seen: Option<Seen>,
    samples: Vec<Sample>,
}

impl PlaybookTally {
    /// Adds a tally of lines read after this one's (see [`Tally::merge`]).
    fn merge(&mut self, later: Self, sequence_offset: u64, line_offset: u64) {
        self.count += later.count;
        self.confidence = self.confidence.max(later.confidence);
        if let Some(first) = later.first_seen {
            keep_first(&mut self.first_seen, first.shifted(sequence_offset));
        }
        if let Some(last) = later.last_seen {
            keep_last(&mut self.last_seen, last.shifted(sequence_offset));
        }
        let room = SAMPLES_PER_PLAYBOOK.saturating_sub(self.samples.len());
        self.samples
            .extend(later.samples.into_iter().take(room).map(|sample| Sample {
                subject: sample.subject.shifted(line_offset),
                ..sample
            }));
    }
}

/// Hits of a whole text diagnosis, in bounded memory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    by_playbook: BTreeMap<usize, PlaybookTally>,
    /// Lines grouped by the exact set of playbooks that matched them, so a cause and its symptom
    /// can be shown to share lines (see `crate::causes`).
    line_groups: LineGroups,
    /// Matched lines recorded so far: the reading order of first/last times and samples.
    sequence: u64,
}

impl Tally {
    /// A tally whose line groups read hosts for the playbooks in `same_host` links.
    pub fn for_playbooks(playbooks: &[Playbook]) -> Self {
        Self {
            line_groups: LineGroups::for_playbooks(playbooks),
            ..Self::default()
        }
    }

    /// An empty tally like this one, for one piece of a parallel scan (merged with [`merge`](Self::merge)).
    #[must_use]
    pub fn piece(&self) -> Self {
        Self {
            line_groups: self.line_groups.piece(),
            ..Self::default()
        }
    }

    /// Records that `line` (found at `subject`, written at `timestamp`) produced `hits`; lines are
    /// ordered as recorded (`explain`).
    pub fn record(
        &mut self,
        hits: &[Hit],
        subject: impl Fn() -> String,
        line: &str,
        timestamp: Option<&str>,
    ) {
        let written = timestamp.map(|text| Written {
            instant: None,
            text,
        });
        self.add(hits, &|| Subject::Label(subject()), line, written);
    }

    /// Records that line `number` of `input`, dated `stamp`, produced `hits`; first and last follow
    /// the stamps' instants (`triage`).
    pub fn record_line(
        &mut self,
        hits: &[Hit],
        input: &Arc<str>,
        number: u64,
        line: &str,
        stamp: Option<&Stamp<'_>>,
    ) {
        let written = stamp.map(|stamp| Written {
            instant: Some(stamp.instant),
            text: &stamp.written,
        });
        let subject = || Subject::Line {
            input: Arc::clone(input),
            number,
        };
        self.add(hits, &subject, line, written);
    }

    fn add(
        &mut self,
        hits: &[Hit],
        subject: &dyn Fn() -> Subject,
        line: &str,
        written: Option<Written<'_>>,
    ) {
        let Some(first) = hits.first() else {
            return;
        };
        self.sequence += 1;
        let matched = GroupedLine {
            sequence: self.sequence,
            kind: first.kind,
            line,
            written,
        };
        // The line as samples show it, made once however many samples take it.
        let detail = std::cell::OnceCell::new();
        let detail = || detail.get_or_init(|| shorten(line)).clone();
        self.line_groups.record(
            hits.iter().map(|hit| hit.playbook),
            &matched,
            subject,
            detail,
        );
        for hit in hits {
            let entry = self.by_playbook.entry(hit.playbook).or_default();
            entry.count += 1;
            entry.confidence = entry.confidence.max(Some(hit.confidence));
            if let Some(written) = written {
                keep_first_written(&mut entry.first_seen, written, self.sequence);
                keep_last_written(&mut entry.last_seen, written, self.sequence);
            }
            if entry.samples.len() < SAMPLES_PER_PLAYBOOK {
                entry.samples.push(Sample {
                    kind: hit.kind,
                    subject: subject(),
                    detail: detail(),
                });
            }
        }
    }

    /// Adds the tally of the lines read right after this one's; their line numbers count from
    /// `line_offset` lines into the same input (0 when they start an input).
    pub fn merge(&mut self, later: Self, line_offset: u64) {
        let sequence_offset = self.sequence;
        for (index, tally) in later.by_playbook {
            self.by_playbook
                .entry(index)
                .or_default()
                .merge(tally, sequence_offset, line_offset);
        }
        self.line_groups
            .merge(later.line_groups, sequence_offset, line_offset);
        self.sequence += later.sequence;
    }

    pub fn is_empty(&self) -> bool {
        self.by_playbook.is_empty()
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
                let evidence = tally.samples.iter().map(Sample::evidence).collect();
                let mut finding = Finding::new(
                    playbook,
                    playbook.severity,
                    tally.confidence.unwrap_or_default(),
                    evidence,
                    platform,
                );
                finding.count = Some(tally.count);
                finding.first_seen = tally.first_seen.map(|seen| seen.written);
                finding.last_seen = tally.last_seen.map(|seen| seen.written);
                finding
            })
            .collect()
    }
}

fn shorten(line: &str) -> String {
    let line = line.trim();
    // No more bytes than the limit in characters, or only ASCII: no need to count characters.
    if line.len() <= MAX_DETAIL_CHARS {
        return line.to_string();
    }
    if line.is_ascii() {
        return format!("{}…", &line[..MAX_DETAIL_CHARS]);
    }
    match line.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::diagnose::text::matcher::SymptomKind;

    fn hit(playbook: usize) -> Hit {
        Hit {
            playbook,
            confidence: Confidence::Likely,
            kind: SymptomKind::Log,
        }
    }

    /// Line `id` of "log" (`number` within the piece being tallied), written at `at`, matched by
    /// the playbooks `hits`.
    fn line(tally: &mut Tally, number: u64, id: usize, at: &str, hits: &[usize]) {
        let stamp = Stamp {
            instant: at.parse().unwrap(),
            written: Cow::Owned(format!("{at} (line {id})")),
        };
        let hits: Vec<Hit> = hits.iter().copied().map(hit).collect();
        let host = if id % 2 == 0 { "a" } else { "b" };
        let text = format!("connect to {host}.test[192.0.2.{id}]:25 line {id}");
        tally.record_line(&hits, &Arc::from("log"), number, &text, Some(&stamp));
    }

    #[test]
    fn first_and_last_follow_time_not_reading_order() {
        let mut tally = Tally::default();
        for (number, at) in [
            "2024-01-02T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "2024-01-03T00:00:00Z",
            "2024-01-02T12:00:00Z",
        ]
        .iter()
        .enumerate()
        {
            line(&mut tally, number as u64 + 1, number + 1, at, &[0]);
        }
        let finding = &tally.by_playbook[&0];
        assert_eq!(
            finding.first_seen.as_ref().unwrap().written,
            "2024-01-01T00:00:00Z (line 2)"
        );
        assert_eq!(
            finding.last_seen.as_ref().unwrap().written,
            "2024-01-03T00:00:00Z (line 3)"
        );
        assert_eq!(finding.count, 4);
    }

    #[test]
    fn merging_pieces_at_every_split_equals_one_pass() {
        let lines: [(&str, &[usize]); 7] = [
            ("2024-01-02T00:00:00Z", &[0]),
            ("2024-01-01T00:00:00Z", &[0, 1]),
            ("2024-01-01T00:00:00Z", &[1]),
            ("2024-01-03T00:00:00Z", &[0]),
            ("2024-01-03T00:00:00Z", &[0, 1]),
            ("2023-12-31T00:00:00Z", &[2]),
            ("2024-01-03T00:00:00Z", &[1]),
        ];
        let template = Tally {
            line_groups: LineGroups::reading_hosts_of(3),
            ..Tally::default()
        };
        let mut whole = template.clone();
        for (number, (at, hits)) in lines.iter().enumerate() {
            line(&mut whole, number as u64 + 1, number + 1, at, hits);
        }
        assert!(!whole.line_groups.is_empty());
        for first_split in 0..=lines.len() {
            for second_split in first_split..=lines.len() {
                let mut merged = template.clone();
                for (from, to) in [
                    (0, first_split),
                    (first_split, second_split),
                    (second_split, lines.len()),
                ] {
                    let mut piece = template.piece();
                    for (local, (at, hits)) in lines[from..to].iter().enumerate() {
                        line(&mut piece, local as u64 + 1, from + local + 1, at, hits);
                    }
                    merged.merge(piece, from as u64);
                }
                assert_eq!(merged, whole, "split at {first_split} and {second_split}");
            }
        }
    }
}
