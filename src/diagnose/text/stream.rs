//! `triage`: streams log files of any size in one pass, in memory that does not grow with the file.

use std::borrow::Cow;
use std::io::{self, BufRead};

use super::matcher::TextMatcher;
use super::tally::Tally;
use super::timestamp::leading_timestamp;
use crate::lines::for_each_line;

/// Longer lines are cut here for matching; the rest of the line is skipped, not buffered.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Totals of one triage pass.
#[derive(Debug, Default, Clone, Copy)]
pub struct StreamStats {
    pub lines: u64,
    pub bytes: u64,
    pub matched_lines: u64,
    pub truncated_lines: u64,
}

/// Reads `reader` line by line, recording hits in `tally`; `name` labels evidence (`name:LINE`).
pub fn triage_reader(
    matcher: &TextMatcher<'_>,
    name: &str,
    reader: impl BufRead,
    tally: &mut Tally,
    stats: &mut StreamStats,
) -> io::Result<()> {
    for_each_line(reader, MAX_LINE_BYTES, |number, kept, read| {
        triage_line(matcher, name, number, kept, read, tally, stats);
    })
}

/// Matches one line (`kept`: its first bytes, up to the cap, of `read` bytes in all).
fn triage_line(
    matcher: &TextMatcher<'_>,
    name: &str,
    number: u64,
    kept: &[u8],
    read: usize,
    tally: &mut Tally,
    stats: &mut StreamStats,
) {
    stats.lines += 1;
    stats.bytes += read as u64;
    stats.truncated_lines += u64::from(read > kept.len());
    let line = match std::str::from_utf8(kept) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(kept),
    };
    let line = line.trim_end_matches(['\n', '\r']);
    let hits = matcher.match_line(line, None);
    if !hits.is_empty() {
        stats.matched_lines += 1;
        tally.record(
            &hits,
            || format!("{name}:{number}"),
            line,
            leading_timestamp(line),
        );
    }
}
