//! Finds the lines of a buffer worth matching, by searching the whole buffer at once (not line by
//! line) for the playbooks' necessary literals, then widening each hit to its line.
//!
//! The literals are lowercase and searched ASCII-case-insensitively in one aho-corasick DFA pass; a
//! literal that contains another is dropped first (where it occurs, the shorter one does too).
//! Measured on the bench log (222 literals after that): copying the buffer to lowercase for a
//! case-sensitive search cost more than it saved, and aho-corasick's packed Teddy searcher takes at
//! most 128 literals, so the DFA runs without a prefilter. Lines with non-ASCII bytes are always
//! candidates: the literal analysis only holds for ASCII text.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Bytes checked at a time for non-ASCII content (`<[u8]>::is_ascii` is word-at-a-time).
const ASCII_BLOCK: usize = 4096;

/// How candidate lines are found.
pub enum LineFinder {
    /// Some symptom has no necessary literal: every line is a candidate.
    EveryLine,
    Literals(AhoCorasick),
}

impl LineFinder {
    pub fn new(literals: Option<Vec<Vec<u8>>>) -> Self {
        let Some(literals) = literals.filter(|l| !l.is_empty()) else {
            return Self::EveryLine;
        };
        let minimal = minimal_literals(literals);
        let searcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .prefilter(false)
            .build(&minimal);
        match searcher {
            Ok(searcher) => Self::Literals(searcher),
            Err(_) => Self::EveryLine,
        }
    }

    /// Calls `on_line(number, line)` for each candidate line of `data` (numbered from 1, ending
    /// included) in order; returns how many lines `data` holds.
    pub fn for_each_candidate(&self, data: &[u8], mut on_line: impl FnMut(u64, &[u8])) -> u64 {
        let searcher = match self {
            Self::EveryLine => {
                let mut number = 0;
                let mut start = 0;
                for end in memchr::memchr_iter(b'\n', data) {
                    number += 1;
                    on_line(number, &data[start..=end]);
                    start = end + 1;
                }
                if start < data.len() {
                    number += 1;
                    on_line(number, &data[start..]);
                }
                return number;
            }
            Self::Literals(searcher) => searcher,
        };
        let all_ascii = data.is_ascii();
        let mut counted_to = 0;
        let mut lines_before = 0u64;
        let mut at = 0;
        while at < data.len() {
            let literal = searcher.find(&data[at..]).map(|found| at + found.start());
            let non_ascii = if all_ascii {
                None
            } else {
                first_non_ascii(data, at, literal.unwrap_or(data.len()))
            };
            let Some(position) = non_ascii.or(literal) else {
                break;
            };
            let start = memchr::memrchr(b'\n', &data[at..position]).map_or(at, |i| at + i + 1);
            let end =
                memchr::memchr(b'\n', &data[position..]).map_or(data.len(), |i| position + i + 1);
            lines_before += count_newlines(&data[counted_to..start]);
            counted_to = start;
            on_line(lines_before + 1, &data[start..end]);
            at = end;
        }
        let mut lines = lines_before + count_newlines(&data[counted_to..]);
        if data.last().is_some_and(|&b| b != b'\n') {
            lines += 1;
        }
        lines
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// The first byte at or after `from` and before `until` that is not ASCII.
fn first_non_ascii(data: &[u8], from: usize, until: usize) -> Option<usize> {
    let mut block_start = from;
    while block_start < until {
        let block_end = (block_start + ASCII_BLOCK).min(until);
        let block = &data[block_start..block_end];
        if !block.is_ascii() {
            return block
                .iter()
                .position(|b| !b.is_ascii())
                .map(|i| block_start + i);
        }
        block_start = block_end;
    }
    None
}

/// Drops every literal that contains another one: where it occurs, the shorter one does too.
fn minimal_literals(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort_by_key(Vec::len);
    literals.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for literal in literals {
        if !kept
            .iter()
            .any(|shorter| memchr::memmem::find(&literal, shorter).is_some())
        {
            kept.push(literal);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(finder: &LineFinder, data: &[u8]) -> (Vec<(u64, String)>, u64) {
        let mut found = Vec::new();
        let lines = finder.for_each_candidate(data, |number, line| {
            found.push((number, String::from_utf8_lossy(line).into_owned()));
        });
        (found, lines)
    }

    #[test]
    fn lines_holding_a_literal_in_any_case_or_non_ascii_are_candidates() {
        let finder = LineFinder::new(Some(vec![
            b"relay access denied".to_vec(),
            b"greylist".to_vec(),
        ]));
        let data = "ok line\nx: Relay Access Denied\nplain\nGREYLISTED here\nsubject=\"Grüße\"\nlast greylist";
        let (found, lines) = candidates(&finder, data.as_bytes());
        assert_eq!(lines, 6);
        assert_eq!(
            found,
            vec![
                (2, "x: Relay Access Denied\n".to_string()),
                (4, "GREYLISTED here\n".to_string()),
                (5, "subject=\"Grüße\"\n".to_string()),
                (6, "last greylist".to_string()),
            ]
        );
    }

    #[test]
    fn without_literals_every_line_is_a_candidate() {
        let (found, lines) = candidates(&LineFinder::new(None), b"a\n\nb");
        assert_eq!(lines, 3);
        assert_eq!(found.len(), 3);
        assert_eq!(candidates(&LineFinder::new(None), b"").1, 0);
    }

    #[test]
    fn a_literal_containing_another_is_implied() {
        assert_eq!(
            minimal_literals(vec![
                b"timeout before".to_vec(),
                b"timeout".to_vec(),
                b"o".to_vec()
            ]),
            vec![b"o".to_vec()]
        );
        assert_eq!(
            minimal_literals(vec![
                b"timeout before".to_vec(),
                b"timeout".to_vec(),
                b"greylist".to_vec()
            ]),
            vec![b"timeout".to_vec(), b"greylist".to_vec()]
        );
    }
}
