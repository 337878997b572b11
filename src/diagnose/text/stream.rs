//! `triage` line by line: the sequential pass over one reader, in memory that does not grow with
//! the input. `scan.rs` does the same on every core; this is the reference it is tested against.

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::sync::Arc;

use super::matcher::TextMatcher;
use super::tally::Tally;
use crate::input::timestamp::LineDating;
use crate::input::window::TimeWindow;
use crate::lines::for_each_line;

/// Longer lines are cut here for matching; the rest of the line is skipped, not buffered.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Totals of one triage pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    pub lines: u64,
    pub bytes: u64,
    pub matched_lines: u64,
    pub truncated_lines: u64,
    /// Matching lines left out because their time is outside `--since`/`--until`.
    pub outside_window: u64,
    /// Matching lines left out because a window was given and they carry no time we can read.
    pub undated_matches: u64,
    /// Matching lines whose time was read.
    pub dated_matches: u64,
}

impl StreamStats {
    pub fn add(&mut self, other: &Self) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.matched_lines += other.matched_lines;
        self.truncated_lines += other.truncated_lines;
        self.outside_window += other.outside_window;
        self.undated_matches += other.undated_matches;
        self.dated_matches += other.dated_matches;
    }
}

/// Where lines come from and which of them count.
#[derive(Clone, Copy)]
pub struct LineContext<'a> {
    /// The input's name in evidence (`name:LINE`).
    pub input: &'a Arc<str>,
    pub dating: &'a LineDating,
    pub window: TimeWindow,
}

/// Reads `reader` line by line, recording hits in `tally`.
pub fn triage_reader(
    matcher: &TextMatcher<'_>,
    context: LineContext<'_>,
    reader: impl BufRead,
    tally: &mut Tally,
    stats: &mut StreamStats,
) -> io::Result<()> {
    triage_reader_capped(matcher, context, reader, MAX_LINE_BYTES, tally, stats)
}

/// [`triage_reader`] with lines matched on their first `line_cap` bytes (tests use small caps to
/// put many chunk boundaries in a small input).
pub fn triage_reader_capped(
    matcher: &TextMatcher<'_>,
    context: LineContext<'_>,
    reader: impl BufRead,
    line_cap: usize,
    tally: &mut Tally,
    stats: &mut StreamStats,
) -> io::Result<()> {
    for_each_line(reader, line_cap, |number, kept, read| {
        stats.lines += 1;
        stats.bytes += read as u64;
        stats.truncated_lines += u64::from(read > kept.len());
        let line = LineToMatch {
            kept,
            literals: None,
        };
        triage_line(matcher, context, number, line, tally, stats);
    })
}

/// A line's bytes as matched (cut at the cap), and when known, which of the matcher's
/// [`TextMatcher::line_literals`] (by index) the whole line holds with its endings.
#[derive(Clone, Copy)]
pub struct LineToMatch<'a> {
    pub kept: &'a [u8],
    pub literals: Option<&'a [u32]>,
}

/// Matches one line (its first bytes, up to the cap, ending included when kept) and
/// records its hits when its time is inside the window.
pub fn triage_line(
    matcher: &TextMatcher<'_>,
    context: LineContext<'_>,
    number: u64,
    to_match: LineToMatch<'_>,
    tally: &mut Tally,
    stats: &mut StreamStats,
) {
    let line = match std::str::from_utf8(to_match.kept) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(to_match.kept),
    };
    let line = line.trim_end_matches(['\n', '\r']);
    let hits = match to_match.literals {
        Some(literals) => matcher.match_line_holding(line, literals),
        None => matcher.match_line(line, None),
    };
    if hits.is_empty() {
        return;
    }
    let stamp = context.dating.stamp(line);
    if !context.window.is_open() {
        match &stamp {
            Some(stamp) if !context.window.contains(stamp.instant) => {
                stats.outside_window += 1;
                return;
            }
            Some(_) => {}
            None => {
                stats.undated_matches += 1;
                return;
            }
        }
    }
    stats.matched_lines += 1;
    stats.dated_matches += u64::from(stamp.is_some());
    tally.record_line(&hits, context.input, number, line, stamp.as_ref());
}
