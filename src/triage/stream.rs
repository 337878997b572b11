//! `triage`: streams log files of any size in one pass, in memory that does not grow with the file.

use std::borrow::Cow;
use std::io::{self, BufRead};

use super::matcher::TextMatcher;
use super::tally::Tally;
use super::timestamp::leading_timestamp;
use crate::lines::read_line_capped;

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
///
/// Lines that lie whole in the reader's buffer are matched where they are, without a copy; a line
/// that crosses the end of the buffer (or exceeds it) is assembled, capped, by `read_line_capped`.
pub fn triage_reader(
    matcher: &TextMatcher<'_>,
    name: &str,
    mut reader: impl BufRead,
    tally: &mut Tally,
    stats: &mut StreamStats,
) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(());
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', available) {
            let line = &available[start..=end];
            number += 1;
            triage_line(
                matcher,
                name,
                number,
                &line[..line.len().min(MAX_LINE_BYTES)],
                line.len(),
                tally,
                stats,
            );
            start = end + 1;
        }
        if start > 0 {
            reader.consume(start);
            continue;
        }
        buffer.clear();
        let (read, _) = read_line_capped(&mut reader, &mut buffer, MAX_LINE_BYTES)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        triage_line(matcher, name, number, &buffer, read, tally, stats);
    }
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
