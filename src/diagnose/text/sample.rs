//! What a tally keeps of a matched line (where it was, when, a shortened copy), in a form that can
//! be merged: pieces of one input scanned apart number their lines from 1, and their reading order
//! restarts, until they are merged in input order (`tally.rs`, `groups.rs`, `scan.rs`).

use std::sync::Arc;

use jiff::Timestamp;

use crate::finding::Evidence;

use super::matcher::SymptomKind;

/// Where a sample was found: a line of a named input (numbered within its piece until merged), or
/// a label (`explain`'s "input 2").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Label(String),
    Line { input: Arc<str>, number: u64 },
}

impl Subject {
    /// The same place after `line_offset` lines of its input were read before its piece.
    #[must_use]
    pub fn shifted(mut self, line_offset: u64) -> Self {
        if let Self::Line { number, .. } = &mut self {
            *number += line_offset;
        }
        self
    }

    pub fn render(&self) -> String {
        match self {
            Self::Label(label) => label.clone(),
            Self::Line { input, number } => format!("{input}:{number}"),
        }
    }
}

/// A kept line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub kind: SymptomKind,
    pub subject: Subject,
    pub detail: String,
}

impl Sample {
    pub fn evidence(&self) -> Evidence {
        Evidence {
            check: kind_name(self.kind).to_string(),
            subject: self.subject.render(),
            detail: self.detail.clone(),
        }
    }
}

pub fn kind_name(kind: SymptomKind) -> &'static str {
    match kind {
        SymptomKind::Reply => "reply",
        SymptomKind::Log => "log",
        SymptomKind::Bounce => "bounce",
    }
}

/// The time written on a matched line, and its instant when it could be read as one.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    pub instant: Option<Timestamp>,
    pub text: &'a str,
}

/// The order of matched lines for first/last: by instant when dated, then in reading order.
/// Within one diagnosis either every recorded time has an instant (`triage`) or none has (`explain`,
/// ordered by reading alone), so this total order is also the order a reader would expect.
pub type Order = (Option<Timestamp>, u64);

/// A time as the report shows it, with its place in [`Order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub order: Order,
    pub written: String,
}

impl Seen {
    pub fn new(written: Written<'_>, sequence: u64) -> Self {
        Self {
            order: (written.instant, sequence),
            written: written.text.to_string(),
        }
    }

    /// The same time after `sequence_offset` matched lines were read before its piece.
    #[must_use]
    pub fn shifted(mut self, sequence_offset: u64) -> Self {
        self.order.1 += sequence_offset;
        self
    }
}

/// Records `written` (the line read `sequence`th) as the first of `first` when it comes earlier,
/// as [`keep_first`] would; its text is copied only when kept, into the buffer it replaces.
pub fn keep_first_written(first: &mut Option<Seen>, written: Written<'_>, sequence: u64) {
    let order = (written.instant, sequence);
    if comes_first(first.as_ref(), order) {
        replace_seen(first, order, written.text);
    }
}

/// Records `written` as the last of `last` when it comes no earlier, as [`keep_last`] would;
/// without allocating once `last` holds a time (lines read in order replace it every time).
pub fn keep_last_written(last: &mut Option<Seen>, written: Written<'_>, sequence: u64) {
    let order = (written.instant, sequence);
    if comes_last(last.as_ref(), order) {
        replace_seen(last, order, written.text);
    }
}

fn replace_seen(slot: &mut Option<Seen>, order: Order, text: &str) {
    match slot {
        Some(seen) => {
            seen.order = order;
            seen.written.clear();
            seen.written.push_str(text);
        }
        None => {
            *slot = Some(Seen {
                order,
                written: text.to_string(),
            });
        }
    }
}

/// Keeps `seen` as the first of `first` when it comes earlier (the first read wins ties).
pub fn keep_first(first: &mut Option<Seen>, seen: Seen) {
    if comes_first(first.as_ref(), seen.order) {
        *first = Some(seen);
    }
}

/// Keeps `seen` as the last of `last` when it comes no earlier (the last read wins ties).
pub fn keep_last(last: &mut Option<Seen>, seen: Seen) {
    if comes_last(last.as_ref(), seen.order) {
        *last = Some(seen);
    }
}

/// Whether a line at `order` replaces `first`: it comes earlier (the first read wins ties).
fn comes_first(first: Option<&Seen>, order: Order) -> bool {
    first.is_none_or(|current| order < current.order)
}

/// Whether a line at `order` replaces `last`: it comes no earlier (the last read wins ties).
fn comes_last(last: Option<&Seen>, order: Order) -> bool {
    last.is_none_or(|current| order >= current.order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(at: Option<&str>, sequence: u64, text: &str) -> Seen {
        Seen {
            order: (at.map(|at| at.parse().unwrap()), sequence),
            written: text.to_string(),
        }
    }

    #[test]
    fn first_and_last_follow_the_instant_then_the_reading_order() {
        let mut first = None;
        let mut last = None;
        for value in [
            seen(Some("2024-01-02T00:00:00Z"), 1, "b"),
            seen(Some("2024-01-01T00:00:00Z"), 2, "a1"),
            seen(Some("2024-01-01T00:00:00Z"), 3, "a2"),
            seen(Some("2024-01-03T00:00:00Z"), 4, "c1"),
            seen(Some("2024-01-03T00:00:00Z"), 5, "c2"),
        ] {
            keep_first(&mut first, value.clone());
            keep_last(&mut last, value);
        }
        assert_eq!(first.unwrap().written, "a1");
        assert_eq!(last.unwrap().written, "c2");
    }

    /// The in-place updates keep the same times as `keep_first` and `keep_last` with new values.
    #[test]
    fn written_updates_agree_with_keeping_new_values() {
        let times = [
            (Some("2024-01-02T00:00:00Z"), "b"),
            (Some("2024-01-01T00:00:00Z"), "a1"),
            (Some("2024-01-01T00:00:00Z"), "a2"),
            (None, "undated"),
            (Some("2024-01-03T00:00:00Z"), "c1"),
            (Some("2024-01-03T00:00:00Z"), "c2"),
            (Some("2023-12-31T00:00:00Z"), "z"),
        ];
        let (mut first, mut last) = (None, None);
        let (mut first_written, mut last_written) = (None, None);
        for (sequence, (at, text)) in (1..).zip(times) {
            let instant = at.map(|at| at.parse().unwrap());
            let written = Written { instant, text };
            keep_first(&mut first, Seen::new(written, sequence));
            keep_last(&mut last, Seen::new(written, sequence));
            keep_first_written(&mut first_written, written, sequence);
            keep_last_written(&mut last_written, written, sequence);
            assert_eq!(first_written, first, "first after {text}");
            assert_eq!(last_written, last, "last after {text}");
        }
        assert_eq!(first.unwrap().written, "undated");
        assert_eq!(last.unwrap().written, "c2");
    }

    #[test]
    fn line_subjects_shift_and_labels_do_not() {
        let line = Subject::Line {
            input: Arc::from("mail.log"),
            number: 3,
        };
        assert_eq!(line.shifted(10).render(), "mail.log:13");
        assert_eq!(
            Subject::Label("input 1".into()).shifted(10).render(),
            "input 1"
        );
    }
}
