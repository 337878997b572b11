//! `triage`: streams log files of any size in one pass, in memory that does not grow with the file.

use std::io::{self, BufRead};

use super::matcher::TextMatcher;
use super::tally::Tally;
use super::timestamp::leading_timestamp;

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

/// Appends one line (at most `cap` bytes of it) to `buffer`; returns bytes consumed and whether it was cut.
fn read_line_capped(
    reader: &mut impl BufRead,
    buffer: &mut Vec<u8>,
    cap: usize,
) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut truncated = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((consumed, truncated));
        }
        let (chunk, done) = match memchr_newline(available) {
            Some(index) => (&available[..=index], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(buffer.len());
        if chunk.len() > room {
            truncated = true;
        }
        buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        consumed += used;
        if done {
            return Ok((consumed, truncated));
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_not_buffered() {
        let mut input = vec![b'a'; 200];
        input.extend_from_slice(b"\nshort\n");
        let mut reader = io::BufReader::with_capacity(16, input.as_slice());
        let mut buffer = Vec::new();
        assert_eq!(
            read_line_capped(&mut reader, &mut buffer, 50).unwrap(),
            (201, true)
        );
        assert_eq!(buffer.len(), 50);
        buffer.clear();
        assert_eq!(
            read_line_capped(&mut reader, &mut buffer, 50).unwrap(),
            (6, false)
        );
        assert_eq!(buffer, b"short\n");
    }
}
