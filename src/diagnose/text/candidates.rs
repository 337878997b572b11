//! Finds the lines of a buffer worth matching, by searching the whole buffer at once (not line by
//! line) for the playbooks' necessary literals, then widening each hit to its line.
//!
//! The buffer is copied to ASCII lowercase (cheap, and cache-resident) and searched for lowercase
//! strings case-sensitively: aho-corasick's SIMD searcher (Teddy) only serves case-sensitive
//! searches of at most 64 strings. There are hundreds of literals, so the searcher looks for
//! *anchors*: a few dozen substrings such that every literal contains one (any substring of a
//! necessary literal is necessary too). The longest anchors that fit are chosen, so they stay
//! rare; each anchor hit is then confirmed by comparing the literals that contain it at that place,
//! and only a confirmed hit makes its line a candidate. When no such anchors exist, or without
//! SSSE3, a case-folding automaton (DFA) searches the full literals in the text as it is. Lines with non-ASCII bytes are always candidates: the literal
//! analysis only holds for ASCII text.

use std::collections::HashMap;

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

use super::grams::{GramFilter, Occurrence};
use super::literals::{minimal_literals, starts_or_ends_a_line};

/// Bytes checked at a time for non-ASCII content (`<[u8]>::is_ascii` is word-at-a-time).
const ASCII_BLOCK: usize = 4096;
/// Teddy's own limit on strings before it refuses to build.
const MAX_ANCHORS: usize = 64;
/// Anchor lengths tried, the longest (rarest) first; shorter ones make Teddy's fingerprint weak.
const ANCHOR_LENGTHS: std::ops::RangeInclusive<usize> = 4..=12;

/// How candidate lines are found.
pub enum LineFinder {
    /// Some symptom has no necessary literal: every line is a candidate.
    EveryLine,
    Literals(Literals),
}

/// The literal search over lowercase text.
pub struct Literals {
    search: Search,
    /// Some literal begins with a line ending (`^` in a pattern): the first line of a buffer has
    /// none before it, so it is always a candidate.
    first_line: bool,
    /// Some literal ends with a line ending (`$`): a last line without one is always a candidate.
    last_line: bool,
    /// The necessary literals searched (lowercase): none containing another, except for the gram
    /// search, which searches them all.
    strings: Vec<Vec<u8>>,
    /// Per search string: the literals holding it, with its offset in each; empty when the search
    /// string is itself a literal (its hit needs no confirmation).
    owners: Vec<Vec<(usize, usize)>>,
    /// Per literal, its index in the list the finder was given.
    given_index: Vec<u32>,
    /// Per literal, whether it opens with a line ending: it then stands for the line after it.
    opens_with_ending: Vec<bool>,
}

enum Search {
    Teddy(packed::Searcher),
    /// Too many literals for Teddy: sampled grams (`grams.rs`), on the text as it is.
    Grams(GramFilter),
    Automaton(AhoCorasick),
}

impl LineFinder {
    pub fn new(literals: Option<Vec<Vec<u8>>>) -> Self {
        Self::with_sample(literals, b"")
    }

    /// [`LineFinder::new`], told which substrings are common by `sample` (the first text it will
    /// search): the gram search registers each literal where it is rarest.
    pub fn with_sample(literals: Option<Vec<Vec<u8>>>, sample: &[u8]) -> Self {
        let Some(given) = literals.filter(|l| !l.is_empty()) else {
            return Self::EveryLine;
        };
        let minimal = minimal_literals(given.clone());
        if let Some((searcher, owners)) = teddy_over_anchors(&minimal) {
            return Self::searching(Search::Teddy(searcher), minimal, owners, &given);
        }
        // The gram search tells which literals a line holds: it searches every literal, not only
        // the minimal ones, so that it reports all of them (see `TextMatcher::line_literals`).
        let mut every = given.clone();
        every.sort_unstable();
        every.dedup();
        if let Some(filter) = GramFilter::new(&every, sample) {
            let owners = vec![Vec::new(); every.len()];
            return Self::searching(Search::Grams(filter), every, owners, &given);
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&minimal);
        match automaton {
            Ok(automaton) => {
                let owners = vec![Vec::new(); minimal.len()];
                Self::searching(Search::Automaton(automaton), minimal, owners, &given)
            }
            Err(_) => Self::EveryLine,
        }
    }

    /// A finder searching `strings` (taken from `given`) with `search`.
    fn searching(search: Search, strings: Vec<Vec<u8>>, owners: Owners, given: &[Vec<u8>]) -> Self {
        let mut index_in_given: HashMap<&[u8], u32> = HashMap::with_capacity(given.len());
        for (index, literal) in given.iter().enumerate().rev() {
            index_in_given.insert(literal, u32::try_from(index).unwrap_or(u32::MAX));
        }
        let given_index: Vec<u32> = strings
            .iter()
            .map(|literal| index_in_given[literal.as_slice()])
            .collect();
        Self::Literals(Literals {
            search,
            first_line: strings.iter().any(|l| starts_or_ends_a_line(l).0),
            last_line: strings.iter().any(|l| starts_or_ends_a_line(l).1),
            opens_with_ending: strings.iter().map(|l| starts_or_ends_a_line(l).0).collect(),
            strings,
            owners,
            given_index,
        })
    }

    /// Whether some literal ends with a line ending, so a line cut short for matching (whose `$`
    /// falls where the buffer has no ending) must be matched whatever the search finds.
    pub fn reads_line_endings(&self) -> bool {
        matches!(self, Self::Literals(literals) if literals.last_line)
    }

    /// Whether the SIMD searcher is used (for the bench notes and tests).
    pub fn uses_teddy(&self) -> bool {
        matches!(
            self,
            Self::Literals(Literals {
                search: Search::Teddy(_),
                ..
            })
        )
    }

    /// Calls `on_line(number, line, literals)` for each candidate line of `data` (numbered from 1,
    /// ending included) in order; returns how many lines `data` holds. `lowercase` is scratch
    /// space. When the search can tell, `literals` are the indices (in the list given to
    /// [`LineFinder::new`]) of every literal occurring in the line, with its ending and the one
    /// before it; `None` when it cannot (then nothing is known about the line).
    pub fn for_each_candidate(
        &self,
        data: &[u8],
        lowercase: &mut Vec<u8>,
        mut on_line: impl FnMut(u64, &[u8], Option<&[u32]>),
    ) -> u64 {
        let literals = match self {
            Self::EveryLine => {
                let mut number = 0;
                let mut start = 0;
                for end in memchr::memchr_iter(b'\n', data) {
                    number += 1;
                    on_line(number, &data[start..=end], None);
                    start = end + 1;
                }
                if start < data.len() {
                    number += 1;
                    on_line(number, &data[start..], None);
                }
                return number;
            }
            Self::Literals(literals) => literals,
        };
        // The automaton folds case itself; Teddy needs the text in lowercase.
        let lower = if matches!(literals.search, Search::Teddy(_)) {
            lowercase.clear();
            lowercase.extend(data.iter().map(u8::to_ascii_lowercase));
            lowercase.as_slice()
        } else {
            data
        };
        let all_ascii = data.is_ascii();
        let mut found: Vec<u32> = Vec::new();
        let mut counted_to = 0;
        let mut lines_before = 0u64;
        let mut at = 0;
        if literals.first_line && !data.is_empty() {
            let end = memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1);
            let known = literals.known_in_edge_line(&data[..end], None, &mut found);
            on_line(1, &data[..end], known);
            lines_before = count_newlines(&data[..end]);
            counted_to = end;
            at = end;
        }
        // The gram search finds every literal of the buffer in one pass, before any line is taken.
        let mut in_buffer = match &literals.search {
            Search::Grams(filter) => Some(FoundLiterals::new(
                filter,
                data,
                &literals.opens_with_ending,
            )),
            _ => None,
        };
        while at < data.len() {
            // From the previous line's ending: a literal may begin with it (`^`).
            let from = at.saturating_sub(1);
            let literal = match &mut in_buffer {
                Some(found) => found.first_from(from),
                None => literals.next_literal(lower, from),
            }
            .map(|p| p.max(at));
            let non_ascii = if all_ascii {
                None
            } else {
                first_non_ascii(data, at, literal.unwrap_or(data.len()))
            };
            let Some(position) = non_ascii.or(literal) else {
                break;
            };
            if position >= data.len() {
                break; // a literal that is only the ending of the buffer's last line
            }
            let start = memchr::memrchr(b'\n', &data[at..position]).map_or(at, |i| at + i + 1);
            let end =
                memchr::memchr(b'\n', &data[position..]).map_or(data.len(), |i| position + i + 1);
            lines_before += count_newlines(&data[counted_to..start]);
            counted_to = start;
            let known = match &literals.search {
                // An unterminated last line lacks the ending a literal may hold (`$`).
                Search::Grams(_)
                    if literals.last_line && end == data.len() && data.last() != Some(&b'\n') =>
                {
                    let before = start.checked_sub(1).map(|i| data[i]);
                    literals.known_in_edge_line(&data[start..end], before, &mut found)
                }
                Search::Grams(_) if non_ascii.is_none() => in_buffer.as_ref().map(|in_buffer| {
                    let starts = start.saturating_sub(1)..end;
                    literals.given_literals(in_buffer.starting_in(starts), &mut found)
                }),
                _ => None,
            };
            on_line(lines_before + 1, &data[start..end], known);
            at = end;
        }
        if literals.last_line && at < data.len() && data.last() != Some(&b'\n') {
            let start = memchr::memrchr(b'\n', &data[at..]).map_or(at, |i| at + i + 1);
            lines_before += count_newlines(&data[counted_to..start]);
            counted_to = start;
            let before = start.checked_sub(1).map(|i| data[i]);
            let known = literals.known_in_edge_line(&data[start..], before, &mut found);
            on_line(lines_before + 1, &data[start..], known);
        }
        let mut lines = lines_before + count_newlines(&data[counted_to..]);
        if data.last().is_some_and(|&b| b != b'\n') {
            lines += 1;
        }
        lines
    }
}

impl Literals {
    /// The literals of a line at an edge of the buffer (the first, or an unterminated last one),
    /// searched in a copy with the line endings it lacks there: the one before it (`before`, or
    /// a line ending when it is the buffer's first) and its own. `None` unless the gram search is
    /// used (see [`LineFinder::for_each_candidate`]).
    fn known_in_edge_line<'f>(
        &self,
        line: &[u8],
        before: Option<u8>,
        found: &'f mut Vec<u32>,
    ) -> Option<&'f [u32]> {
        let Search::Grams(filter) = &self.search else {
            return None;
        };
        if !line.is_ascii() {
            return None;
        }
        let mut copy = Vec::with_capacity(line.len() + 2);
        copy.push(before.unwrap_or(b'\n'));
        copy.extend_from_slice(line);
        if line.last() != Some(&b'\n') {
            copy.push(b'\n');
        }
        Some(self.given_literals_in(filter, &copy, 0..copy.len(), found))
    }

    /// The literals `filter` finds starting in `starts` of `text`, as indices into the list the
    /// finder was given.
    fn given_literals_in<'f>(
        &self,
        filter: &GramFilter,
        text: &[u8],
        starts: std::ops::Range<usize>,
        found: &'f mut Vec<u32>,
    ) -> &'f [u32] {
        filter.literals_in(text, starts, found);
        for index in found.iter_mut() {
            *index = self.given_index[*index as usize];
        }
        found.as_slice()
    }

    /// `literals` (indices into [`Literals::strings`]) as indices into the list the finder was
    /// given, each once, in `found`.
    fn given_literals<'f>(
        &self,
        literals: impl Iterator<Item = u32>,
        found: &'f mut Vec<u32>,
    ) -> &'f [u32] {
        found.clear();
        found.extend(literals.map(|index| self.given_index[index as usize]));
        found.sort_unstable();
        found.dedup();
        found.as_slice()
    }

    /// Where the first confirmed literal at or after `at` in `lower` (the text in lowercase for
    /// Teddy, as it is for the case-folding automaton) was found (a position inside
    /// it; literals may start before `at` only when a line's search resumed inside them, which a
    /// candidate line never does: the search resumes at the next line).
    fn next_literal(&self, lower: &[u8], mut at: usize) -> Option<usize> {
        while at < lower.len() {
            let (pattern, start) = match &self.search {
                // Searched a whole buffer at a time (`FoundLiterals`).
                Search::Grams(_) => return None,
                Search::Teddy(searcher) => {
                    let found =
                        searcher.find_in(lower, aho_corasick::Span::from(at..lower.len()))?;
                    (found.pattern().as_usize(), found.start())
                }
                Search::Automaton(automaton) => {
                    let found = automaton.find(Input::new(lower).span(at..lower.len()))?;
                    (found.pattern().as_usize(), found.start())
                }
            };
            let owners = &self.owners[pattern];
            let literal = if owners.is_empty() {
                Some((pattern, start))
            } else {
                self.confirmed(lower, start, owners)
            };
            if let Some((literal, literal_start)) = literal {
                // A literal opening with the previous line's ending stands for the next line.
                let (opens_with_ending, _) = starts_or_ends_a_line(&self.strings[literal]);
                return Some(literal_start + usize::from(opens_with_ending));
            }
            // Anchors contain no other anchor, so no other one starts here: look further on.
            at = start + 1;
        }
        None
    }

    /// A literal holding the anchor found at `start` that is there in full: its index and start.
    fn confirmed(
        &self,
        lower: &[u8],
        start: usize,
        owners: &[(usize, usize)],
    ) -> Option<(usize, usize)> {
        owners.iter().find_map(|&(index, offset)| {
            let literal = &self.strings[index];
            let from = start.checked_sub(offset)?;
            (lower.get(from..from + literal.len())? == literal.as_slice()).then_some((index, from))
        })
    }
}

/// Every literal the gram search found in a buffer, by start, read in order as lines are taken.
struct FoundLiterals<'l> {
    /// Sorted by start (then literal), each once.
    occurrences: Vec<Occurrence>,
    /// [`Literals::opens_with_ending`].
    opens_with_ending: &'l [bool],
    /// Occurrences before this one start before every line still to be taken.
    next: usize,
}

impl<'l> FoundLiterals<'l> {
    fn new(filter: &GramFilter, data: &[u8], opens_with_ending: &'l [bool]) -> Self {
        let mut occurrences = Vec::new();
        filter.occurrences(data, data.len(), &mut occurrences);
        occurrences.sort_unstable();
        occurrences.dedup();
        Self {
            occurrences,
            opens_with_ending,
            next: 0,
        }
    }

    /// Where the first literal starting at or after `from` was found (inside it: after the line
    /// ending it opens with); `from` never decreases from one call to the next.
    fn first_from(&mut self, from: usize) -> Option<usize> {
        while self.occurrences.get(self.next)?.start < from {
            self.next += 1;
        }
        let first = self.occurrences[self.next];
        Some(first.start + usize::from(self.opens_with_ending[first.literal as usize]))
    }

    /// The literals starting in `starts`, some more than once.
    fn starting_in(&self, starts: std::ops::Range<usize>) -> impl Iterator<Item = u32> + '_ {
        let first = self.occurrences.partition_point(|o| o.start < starts.start);
        self.occurrences[first..]
            .iter()
            .take_while(move |o| o.start < starts.end)
            .map(|o| o.literal)
    }
}

/// Per search string: the literals holding it and its offset in each (see [`Literals::owners`]).
type Owners = Vec<Vec<(usize, usize)>>;

/// A Teddy searcher over the literals themselves when there are few enough, else over the
/// longest anchors that cover them; with, per search string, the literals it must confirm.
fn teddy_over_anchors(literals: &[Vec<u8>]) -> Option<(packed::Searcher, Owners)> {
    let (strings, owners) = if literals.len() <= MAX_ANCHORS {
        (literals.to_vec(), vec![Vec::new(); literals.len()])
    } else {
        let anchors = ANCHOR_LENGTHS
            .rev()
            .find_map(|length| anchors(literals, length, MAX_ANCHORS))?;
        let owners = anchors
            .iter()
            .map(|anchor| {
                literals
                    .iter()
                    .enumerate()
                    .flat_map(|(index, literal)| {
                        memchr::memmem::find_iter(literal, anchor)
                            .map(move |offset| (index, offset))
                    })
                    .collect()
            })
            .collect();
        (anchors, owners)
    };
    let searcher = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(&strings)
        .build()?;
    Some((searcher, owners))
}

/// Substrings of at most `length` bytes such that every literal contains one (a literal shorter
/// than that is its own), chosen greedily by how many literals each covers; none contains another.
/// `None` as soon as more than `most` are needed (each round costs a pass over every literal).
fn anchors(literals: &[Vec<u8>], length: usize, most: usize) -> Option<Vec<Vec<u8>>> {
    // Among minimal literals (the finder's: none contains another), one no longer than `length`
    // can only be covered by itself: when those alone are too many, stop before counting
    // substrings (the shipped playbooks fail every length this way; counting them was 8% of the
    // start-up of `triage`, callgrind). With other literals this only gives up sooner.
    let mut short: Vec<&[u8]> = literals
        .iter()
        .filter(|literal| literal.len() <= length)
        .map(Vec::as_slice)
        .collect();
    short.sort_unstable();
    short.dedup();
    if short.len() > most {
        return None;
    }
    // Each literal's distinct substrings of `length` bytes (itself when not longer), and for each
    // substring how many uncovered literals have it: counted once, then lowered as literals are
    // covered (a recount every round was a fifth of the start-up time of `triage`, measured).
    let substrings_of: Vec<Vec<&[u8]>> = literals
        .iter()
        .map(|literal| {
            let mut seen: Vec<&[u8]> = if literal.len() <= length {
                vec![literal]
            } else {
                literal.windows(length).collect()
            };
            seen.sort_unstable();
            seen.dedup();
            seen
        })
        .collect();
    let mut coverage: HashMap<&[u8], usize> = HashMap::new();
    for substring in substrings_of.iter().flatten() {
        *coverage.entry(substring).or_default() += 1;
    }
    let mut covered = vec![false; literals.len()];
    let mut uncovered = literals.len();
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    while uncovered > 0 {
        // The substring in the most uncovered literals (ties go to the smallest substring, so
        // the same literals always give the same anchors).
        let Some((best, covers)) = coverage
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(substring, count)| (*substring, *count))
            .max_by_key(|(substring, count)| (*count, std::cmp::Reverse(*substring)))
        else {
            break;
        };
        // No later round covers more than this one: when even that pace needs too many
        // anchors, stop now (hundreds of literals would otherwise cost rounds by the dozen).
        if chosen.len() + uncovered.div_ceil(covers) > most {
            return None;
        }
        for (index, literal) in literals.iter().enumerate() {
            if !covered[index] && memchr::memmem::find(literal, best).is_some() {
                covered[index] = true;
                uncovered -= 1;
                for substring in &substrings_of[index] {
                    if let Some(count) = coverage.get_mut(substring) {
                        *count -= 1;
                    }
                }
            }
        }
        chosen.push(best.to_vec());
    }
    Some(minimal_literals(chosen))
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

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn candidates(finder: &LineFinder, data: &[u8]) -> (Vec<(u64, String)>, u64) {
        let mut found = Vec::new();
        let mut scratch = Vec::new();
        let lines = finder.for_each_candidate(data, &mut scratch, |number, line, _| {
            found.push((number, String::from_utf8_lossy(line).into_owned()));
        });
        (found, lines)
    }

    #[test]
    fn literals_holding_line_endings_find_first_following_and_unterminated_lines() {
        // `^Feedback-Type:` and `queue full$` over a buffer of lines.
        let finder = LineFinder::new(Some(vec![
            b"\nfeedback-type:".to_vec(),
            b"queue full\n".to_vec(),
            b"queue full\r".to_vec(),
        ]));
        assert!(finder.reads_line_endings());
        // The first line has no "\n" before it, the third follows a candidate line (the search
        // resumes at that line's ending), the last has no ending.
        let data = "Feedback-Type: abuse\nx Feedback-Type: no\nqueue full\nFeedback-Type: fraud\r\nok\nqueue full";
        let (found, lines) = candidates(&finder, data.as_bytes());
        assert_eq!(lines, 6);
        let numbers: Vec<u64> = found.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, vec![1, 3, 4, 6], "{found:?}");
        assert_eq!(found[2].1, "Feedback-Type: fraud\r\n");
        // Without such literals neither end of a buffer is taken for granted.
        let plain = LineFinder::new(Some(vec![b"greylist".to_vec()]));
        assert!(!plain.reads_line_endings());
        assert!(candidates(&plain, b"one\ntwo").0.is_empty());
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

    /// Many literals: the anchors must find exactly the lines a plain search finds, including
    /// anchors that occur without their literal (unconfirmed hits).
    #[test]
    fn anchors_find_exactly_the_lines_holding_a_literal() {
        let words = [
            "timeout", "refused", "denied", "greylist", "quota", "blocked", "rejected", "expired",
            "unknown", "disabled",
        ];
        let literals: Vec<Vec<u8>> = words
            .iter()
            .flat_map(|a| words.iter().map(move |b| format!("{a} {b}").into_bytes()))
            .collect();
        assert!(literals.len() > MAX_ANCHORS);
        let finder = LineFinder::new(Some(literals.clone()));
        let mut text = String::new();
        for (index, a) in words.iter().enumerate() {
            for b in &words[index..] {
                let _ = write!(text, "x {a} {b} y\n{a} and {b}\n{}\n", a.to_uppercase());
            }
        }
        let (found, lines) = candidates(&finder, text.as_bytes());
        let expected: Vec<(u64, String)> = text
            .split_inclusive('\n')
            .enumerate()
            .filter(|(_, line)| {
                let lower = line.to_ascii_lowercase();
                literals
                    .iter()
                    .any(|l| lower.contains(std::str::from_utf8(l).unwrap()))
            })
            .map(|(index, line)| (index as u64 + 1, line.to_string()))
            .collect();
        assert_eq!(lines, text.lines().count() as u64);
        assert_eq!(found, expected);
        assert!(!found.is_empty());
    }

    #[test]
    fn anchors_cover_every_literal_and_contain_no_other() {
        let literals: Vec<Vec<u8>> = [
            "relay access denied",
            "relay not permitted",
            "gtube",
            "mailbox full",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        assert_eq!(anchors(&literals, 5, 2), None, "three are needed");
        let anchors = anchors(&literals, 5, 3).unwrap();
        for literal in &literals {
            assert!(
                anchors
                    .iter()
                    .any(|a| memchr::memmem::find(literal, a).is_some()),
                "{literal:?} uncovered by {anchors:?}"
            );
        }
        // One anchor for both relay phrases (a 5-byte piece of "relay"), "gtube", one for the last.
        assert!(anchors.contains(&b"gtube".to_vec()), "{anchors:?}");
        assert_eq!(anchors.len(), 3, "{anchors:?}");
        assert!(anchors.iter().all(|a| a.len() <= 5), "{anchors:?}");
    }

    /// One symptom without a necessary literal would make every line a candidate.
    #[test]
    fn the_shipped_playbooks_never_make_every_line_a_candidate() {
        let library = crate::playbook::Library::load(&[]).unwrap();
        let matcher = super::super::TextMatcher::new(&library.playbooks);
        let literals = matcher.line_literals();
        assert!(
            literals.is_some(),
            "every shipped symptom has a necessary literal"
        );
        assert!(matches!(LineFinder::new(literals), LineFinder::Literals(_)));
    }

    #[test]
    fn few_literals_are_searched_by_teddy_on_lowercase_text() {
        let finder = LineFinder::new(Some(vec![b"greylist".to_vec(), b"quota".to_vec()]));
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            assert!(finder.uses_teddy());
        }
        let (found, lines) = candidates(&finder, b"a\nQuota exceeded\nb\n");
        assert_eq!((found.len(), lines), (1, 3));
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

    /// With too many literals for Teddy (the gram search), each candidate line comes with every
    /// literal it holds, the first and an unterminated last line included (their missing line
    /// endings are supplied), as indices into the list given.
    #[test]
    fn the_gram_search_reports_each_lines_literals_edges_and_contained_ones_included() {
        // Seventy unrelated six-letter words: no 64 anchors cover them.
        let word = |i: u64| -> Vec<u8> {
            let mut n = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (0..6)
                .map(|_| {
                    n ^= n >> 29;
                    n = n.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    b'a' + (n >> 40) as u8 % 26
                })
                .collect()
        };
        let mut given: Vec<Vec<u8>> = (0..70).map(word).collect();
        given.push(b"\nfeedback-type:".to_vec());
        given.push(b"queue full\n".to_vec());
        // Inside another literal: both are reported where the longer one is.
        given.push(b"queue".to_vec());
        let finder = LineFinder::new(Some(given.clone()));
        assert!(!finder.uses_teddy() && finder.reads_line_endings());
        let [w7, w12, w13] = [7, 12, 13].map(|i| String::from_utf8(word(i)).unwrap());
        let data = format!(
            "Feedback-Type: abuse {w7}\nplain\nx {} and {w13}\nqueue full",
            w12.to_uppercase()
        );
        let mut seen: Vec<(u64, Vec<String>)> = Vec::new();
        let lines = finder.for_each_candidate(data.as_bytes(), &mut Vec::new(), |n, _, found| {
            let mut names: Vec<String> = found
                .unwrap_or_else(|| panic!("line {n}: literals unknown"))
                .iter()
                .map(|&i| String::from_utf8_lossy(&given[i as usize]).into_owned())
                .collect();
            names.sort();
            seen.push((n, names));
        });
        assert_eq!(lines, 4);
        assert_eq!(
            seen,
            vec![
                (1, vec!["\nfeedback-type:".to_string(), w7]),
                (3, {
                    let mut both = vec![w12, w13];
                    both.sort();
                    both
                }),
                (4, vec!["queue".to_string(), "queue full\n".to_string()]),
            ]
        );
    }
}
