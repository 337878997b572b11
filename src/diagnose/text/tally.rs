//! Counts text hits per playbook (best confidence, first/last time, a few samples) and turns them into findings.
//!
//! A tally can be built in pieces (chunks of a file scanned in parallel) and merged in input order:
//! the result is the one a single pass would give. First and last are by time when lines are dated
//! (files may be given in any order), else in reading order.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::finding::{Evidence, Finding};
use crate::input::timestamp::Stamp;
use crate::playbook::Playbook;

use super::matcher::{Hit, SymptomKind};
use crate::vocabulary::{Confidence, Platform};

/// Samples kept per playbook: enough to show the pattern, bounded whatever the input size.
pub const SAMPLES_PER_PLAYBOOK: usize = 3;
const MAX_DETAIL_CHARS: usize = 300;

/// When a hit was seen: the instant when the line was dated, and the time as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    instant: Option<Timestamp>,
    written: String,
}

impl Seen {
    /// Whether `self` comes strictly before `other` (undated times keep reading order).
    fn before(&self, other: &Self) -> bool {
        matches!((self.instant, other.instant), (Some(a), Some(b)) if a < b)
    }
}

/// Where a sample was found: a line of a named input (numbered within the tally's piece), or a label.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Label(String),
    Line { input: Arc<str>, number: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Sample {
    kind: SymptomKind,
    subject: Subject,
    detail: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct PlaybookTally {
    confidence: Option<Confidence>,
    count: u64,
    first_seen: Option<Seen>,
    last_seen: Option<Seen>,
    samples: Vec<Sample>,
}

impl PlaybookTally {
    fn seen(&mut self, seen: Seen) {
        if self.first_seen.is_none() || self.first_seen.as_ref().is_some_and(|f| seen.before(f)) {
            self.first_seen = Some(seen.clone());
        }
        if !self.last_seen.as_ref().is_some_and(|l| seen.before(l)) {
            self.last_seen = Some(seen);
        }
    }

    /// Adds a tally of lines read after this one's (line numbers of `later` shifted by `line_offset`).
    fn merge(&mut self, later: Self, line_offset: u64) {
        self.count += later.count;
        self.confidence = self.confidence.max(later.confidence);
        if let Some(first) = later.first_seen {
            self.seen(first);
            // `seen` may have made it the last too; the later piece's own last decides that.
        }
        if let Some(last) = later.last_seen {
            if !self.last_seen.as_ref().is_some_and(|l| last.before(l)) {
                self.last_seen = Some(last);
            }
        }
        for mut sample in later.samples {
            if self.samples.len() >= SAMPLES_PER_PLAYBOOK {
                break;
            }
            if let Subject::Line { number, .. } = &mut sample.subject {
                *number += line_offset;
            }
            self.samples.push(sample);
        }
    }
}

/// Hits of a whole text diagnosis, in bounded memory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    by_playbook: BTreeMap<usize, PlaybookTally>,
}

impl Tally {
    /// Records that `line` (found at `subject`, seen at `timestamp`) produced `hits`.
    pub fn record(
        &mut self,
        hits: &[Hit],
        subject: impl Fn() -> String,
        line: &str,
        timestamp: Option<&str>,
    ) {
        let seen = timestamp.map(|written| Seen {
            instant: None,
            written: written.to_string(),
        });
        self.add(hits, || Subject::Label(subject()), line, seen.as_ref());
    }

    /// Records that line `number` of `input`, dated `stamp`, produced `hits`.
    pub fn record_line(
        &mut self,
        hits: &[Hit],
        input: &Arc<str>,
        number: u64,
        line: &str,
        stamp: Option<&Stamp<'_>>,
    ) {
        let seen = stamp.map(|stamp| Seen {
            instant: Some(stamp.instant),
            written: stamp.written.to_string(),
        });
        let subject = || Subject::Line {
            input: Arc::clone(input),
            number,
        };
        self.add(hits, subject, line, seen.as_ref());
    }

    fn add(
        &mut self,
        hits: &[Hit],
        subject: impl Fn() -> Subject,
        line: &str,
        seen: Option<&Seen>,
    ) {
        for hit in hits {
            let entry = self.by_playbook.entry(hit.playbook).or_default();
            entry.count += 1;
            entry.confidence = entry.confidence.max(Some(hit.confidence));
            if let Some(seen) = seen {
                entry.seen(seen.clone());
            }
            if entry.samples.len() < SAMPLES_PER_PLAYBOOK {
                entry.samples.push(Sample {
                    kind: hit.kind,
                    subject: subject(),
                    detail: shorten(line),
                });
            }
        }
    }

    /// Adds the tally of the input read right after this one's; its line numbers count from
    /// `line_offset` lines into the same input.
    pub fn merge(&mut self, later: Self, line_offset: u64) {
        for (index, tally) in later.by_playbook {
            self.by_playbook
                .entry(index)
                .or_default()
                .merge(tally, line_offset);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_playbook.is_empty()
    }

    pub fn into_findings(self, playbooks: &[Playbook], platform: Platform) -> Vec<Finding> {
        self.by_playbook
            .into_iter()
            .map(|(index, tally)| {
                let playbook = &playbooks[index];
                let evidence = tally
                    .samples
                    .into_iter()
                    .map(|sample| Evidence {
                        check: kind_name(sample.kind).to_string(),
                        subject: match sample.subject {
                            Subject::Label(label) => label,
                            Subject::Line { input, number } => format!("{input}:{number}"),
                        },
                        detail: sample.detail,
                    })
                    .collect();
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn stamp(at: &str) -> Stamp<'static> {
        Stamp {
            instant: at.parse().unwrap(),
            written: Cow::Owned(at.to_string()),
        }
    }

    fn hit() -> Hit {
        Hit {
            playbook: 0,
            confidence: Confidence::Likely,
            kind: SymptomKind::Log,
        }
    }

    #[test]
    fn first_and_last_follow_time_not_reading_order() {
        let input: Arc<str> = Arc::from("log");
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
            tally.record_line(&[hit()], &input, number as u64 + 1, "x", Some(&stamp(at)));
        }
        let entry = &tally.by_playbook[&0];
        assert_eq!(
            entry.first_seen.as_ref().unwrap().written,
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            entry.last_seen.as_ref().unwrap().written,
            "2024-01-03T00:00:00Z"
        );
        assert_eq!(entry.count, 4);
    }

    #[test]
    fn merging_pieces_equals_one_pass() {
        let input: Arc<str> = Arc::from("log");
        let times = [
            "2024-01-02T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "2024-01-03T00:00:00Z",
            "2024-01-03T00:00:00Z",
        ];
        let mut whole = Tally::default();
        for (number, at) in times.iter().enumerate() {
            let stamp = Stamp {
                instant: at.parse().unwrap(),
                written: Cow::Owned(format!("{at} line {number}")),
            };
            whole.record_line(&[hit()], &input, number as u64 + 1, "x", Some(&stamp));
        }
        for split in 0..=times.len() {
            let mut pieces = [Tally::default(), Tally::default()];
            for (number, at) in times.iter().enumerate() {
                let stamp = Stamp {
                    instant: at.parse().unwrap(),
                    written: Cow::Owned(format!("{at} line {number}")),
                };
                let (piece, local) = if number < split {
                    (0, number)
                } else {
                    (1, number - split)
                };
                pieces[piece].record_line(&[hit()], &input, local as u64 + 1, "x", Some(&stamp));
            }
            let [mut merged, later] = pieces;
            merged.merge(later, split as u64);
            assert_eq!(merged, whole, "split at {split}");
        }
    }
}
