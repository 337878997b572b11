//! `triage`: streams log files of any size in one pass, in memory that does not grow with the file.

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
        buffer.clear();
        let (read, truncated) = read_line_capped(&mut reader, &mut buffer, MAX_LINE_BYTES)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        stats.lines += 1;
        stats.bytes += read as u64;
        stats.truncated_lines += u64::from(truncated);
        let line = String::from_utf8_lossy(&buffer);
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
}
