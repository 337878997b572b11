//! Necessary literals of a regex: strings one of which every match must contain, so a line without
//! any of them is skipped without running the regex (the way grep and ripgrep skip most lines).
//!
//! The analysis is for ASCII haystacks only, with literals folded to lowercase and meant to be
//! searched ASCII-case-insensitively: on an ASCII line a case-insensitive `(?i)k` can only be `k`
//! or `K` (never the Kelvin sign), and Unicode `\b`, `\w`, `\s` agree with their ASCII forms. Lines
//! with other bytes are matched by the regexes directly. A pattern with no usable literal gets `None`.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Most strings a set may hold before it is given up as too wide to be useful.
const MAX_STRINGS: usize = 128;

/// What a pattern is searched in, which decides what its line anchors stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Haystack {
    /// One line, its ending removed: `^` and `$` match at its ends, where there is no byte.
    Line,
    /// A buffer of whole lines, each ending in "\n" or "\r\n": a line's `^` follows a "\n" and
    /// its `$` comes before "\r" or "\n". The first line of a buffer, its last line when that has
    /// no ending, and a line cut short for matching are not covered by these literals: the
    /// searcher takes them as candidates (see [`starts_or_ends_a_line`]).
    Lines,
}

impl Haystack {
    /// Widest character class still expanded into one-byte alternatives: `[05]`, `[Aa]`; over a
    /// buffer of lines also the delimiters around a word (`[\s:;,.!)\]/]`), where a longer set
    /// like "virus " and "virus:" is far rarer than "virus" (a field name of FortiMail's logs).
    fn max_class_expansion(self) -> usize {
        match self {
            Self::Line => 4,
            Self::Lines => 16,
        }
    }
}

/// Literals (lowercase ASCII, non-empty) one of which every match of `pattern` on an ASCII
/// line contains; `None` when no such set was found or the pattern does not parse.
pub fn necessary_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    necessary_literals_in(pattern, Haystack::Line)
}

/// [`necessary_literals`] for a search in `haystack`.
pub fn necessary_literals_in(pattern: &str, haystack: Haystack) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    best(facts(&hir, haystack).options())
}

/// Whether `literal`, found in a buffer of lines, reaches beyond its line: it begins with the
/// ending of the line before (then the line it stands for is the next one) or ends with its own.
pub fn starts_or_ends_a_line(literal: &[u8]) -> (bool, bool) {
    (
        literal.first() == Some(&b'\n'),
        matches!(literal.last(), Some(b'\n' | b'\r')),
    )
}

/// Drops every literal that contains another one (where it occurs, the shorter one does too); the
/// rest are returned shortest first.
pub fn minimal_literals(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort_by_key(Vec::len);
    literals.dedup();
    // A new literal contains a kept one when one of its substrings of a kept length is kept:
    // looked up, where searching each kept literal in it was quadratic (a tenth of the start-up
    // time of `triage`, measured).
    let mut kept: rustc_hash::FxHashSet<&[u8]> = rustc_hash::FxHashSet::default();
    let mut kept_lengths: BTreeSet<usize> = BTreeSet::new();
    let mut keep = vec![false; literals.len()];
    for (index, literal) in literals.iter().enumerate() {
        // An empty literal is inside every one (and `windows(0)` would panic).
        let contains_kept = kept.contains(&b""[..])
            || kept_lengths
                .iter()
                .filter(|&&length| length > 0)
                .take_while(|&&length| length <= literal.len())
                .any(|&length| literal.windows(length).any(|window| kept.contains(window)));
        if !contains_kept {
            kept.insert(literal);
            kept_lengths.insert(literal.len());
            keep[index] = true;
        }
    }
    literals
        .into_iter()
        .zip(keep)
        .filter_map(|(literal, keep)| keep.then_some(literal))
        .collect()
}

/// Required sets kept per sub-pattern: the most selective ones (an alternation may need a
/// smaller one than the best to keep its union under [`MAX_STRINGS`]).
const MAX_OPTIONS: usize = 16;

/// What one sub-pattern is known to match on an ASCII haystack (strings folded to lowercase).
struct Facts {
    /// Every match is exactly one of these strings.
    exact: Option<Vec<Vec<u8>>>,
    /// Sets of (non-empty) strings such that every match contains one string of each set.
    required: Vec<Vec<Vec<u8>>>,
}

impl Facts {
    const UNKNOWN: Self = Self {
        exact: None,
        required: Vec::new(),
    };

    fn exactly(strings: Vec<Vec<u8>>) -> Self {
        Self {
            exact: Some(strings),
            required: Vec::new(),
        }
    }

    /// Every set that every match must contain, the most selective first.
    fn options(self) -> Vec<Vec<Vec<u8>>> {
        ranked(self.required.into_iter().chain(usable(self.exact)))
    }
}

fn facts(hir: &Hir, haystack: Haystack) -> Facts {
    match hir.kind() {
        HirKind::Look(look) if haystack == Haystack::Lines => {
            let endings: &[&[u8]] = match look {
                Look::Start | Look::StartLF => &[b"\n"],
                Look::StartCRLF | Look::End | Look::EndLF | Look::EndCRLF => &[b"\n", b"\r"],
                _ => &[b""],
            };
            Facts::exactly(endings.iter().map(|e| e.to_vec()).collect())
        }
        HirKind::Empty | HirKind::Look(_) => Facts::exactly(vec![Vec::new()]),
        HirKind::Literal(literal) => {
            if literal.0.is_ascii() {
                Facts::exactly(vec![literal.0.to_ascii_lowercase()])
            } else {
                Facts::UNKNOWN
            }
        }
        HirKind::Class(class) => class_facts(class, haystack.max_class_expansion()),
        HirKind::Capture(capture) => facts(&capture.sub, haystack),
        HirKind::Repetition(repetition) => {
            if repetition.min == 0 {
                return if repetition.max == Some(0) {
                    Facts::exactly(vec![Vec::new()])
                } else {
                    Facts::UNKNOWN
                };
            }
            let sub = facts(&repetition.sub, haystack);
            let exact = match (&sub.exact, repetition.max) {
                (Some(strings), Some(max)) if max == repetition.min => repeat(strings, max),
                _ => None,
            };
            Facts {
                exact,
                required: sub.options(),
            }
        }
        HirKind::Concat(children) => concat_facts(children, haystack),
        HirKind::Alternation(branches) => {
            let all: Vec<Facts> = branches.iter().map(|b| facts(b, haystack)).collect();
            let exact = all
                .iter()
                .map(|f| f.exact.clone())
                .collect::<Option<Vec<_>>>()
                .and_then(union);
            let options: Vec<Vec<Vec<Vec<u8>>>> = all.into_iter().map(Facts::options).collect();
            Facts {
                exact,
                required: alternation_required(&options).into_iter().collect(),
            }
        }
    }
}

/// One set every match of an alternation contains: a set of each branch, the most selective
/// ones whose union stays under [`MAX_STRINGS`] (the branch with the most strings gives way to
/// a smaller set of its own first).
fn alternation_required(branches: &[Vec<Vec<Vec<u8>>>]) -> Option<Vec<Vec<u8>>> {
    let mut chosen: Vec<usize> = vec![0; branches.len()];
    if branches.iter().any(Vec::is_empty) {
        return None;
    }
    loop {
        let sets: Vec<Vec<Vec<u8>>> = branches
            .iter()
            .zip(&chosen)
            .map(|(options, &index)| options[index].clone())
            .collect();
        if let Some(all) = union(sets) {
            return Some(all);
        }
        let (widest, _) = branches
            .iter()
            .zip(&chosen)
            .enumerate()
            .max_by_key(|(_, (options, index))| options[**index].len())?;
        let current = branches[widest][chosen[widest]].len();
        let smaller = branches[widest]
            .iter()
            .enumerate()
            .skip(chosen[widest] + 1)
            .find(|(_, set)| set.len() < current)
            .map(|(index, _)| index)?;
        chosen[widest] = smaller;
    }
}

/// A class is exact when its ASCII members fold to a few bytes: `[Kk\u{212A}]` is `k` on ASCII text.
fn class_facts(class: &Class, max_expansion: usize) -> Facts {
    let mut members: Vec<u8> = Vec::new();
    let mut add = |start: u32, end: u32| {
        for code in start..=end.min(0x7F) {
            if members.len() > 2 * max_expansion {
                break;
            }
            members.push((code as u8).to_ascii_lowercase());
        }
    };
    match class {
        Class::Unicode(unicode) => {
            for range in unicode.ranges() {
                add(u32::from(range.start()), u32::from(range.end()));
            }
        }
        Class::Bytes(bytes) => {
            for range in bytes.ranges() {
                add(u32::from(range.start()), u32::from(range.end()));
            }
        }
    }
    members.sort_unstable();
    members.dedup();
    if members.is_empty() || members.len() > max_expansion {
        return Facts::UNKNOWN;
    }
    Facts::exactly(members.into_iter().map(|byte| vec![byte]).collect())
}

/// Consecutive exact children form longer literals; any child's own required set also holds.
fn concat_facts(children: &[Hir], haystack: Haystack) -> Facts {
    let all: Vec<Facts> = children.iter().map(|c| facts(c, haystack)).collect();
    let mut exact = Some(vec![Vec::new()]);
    let mut candidates: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut run: Option<Vec<Vec<u8>>> = None;
    let mut previous_exact: Option<Vec<Vec<u8>>> = None;
    for child in all {
        exact = match (&exact, &child.exact) {
            (Some(so_far), Some(strings)) => cross(so_far, strings),
            _ => None,
        };
        if let Some(strings) = &child.exact {
            run = match run.take() {
                None => Some(strings.clone()),
                Some(current) => {
                    if let Some(longer) = cross(&current, strings) {
                        Some(longer)
                    } else {
                        // Too many combinations: the run so far stands alone, and a new one
                        // starts with the child before, when the two still fit together (in
                        // `(^|\s)(spam|virus)(\s|$)` both words with what precedes them and
                        // both with what follows are candidates).
                        candidates.extend(usable(Some(current)));
                        Some(
                            previous_exact
                                .as_ref()
                                .and_then(|before| cross(before, strings))
                                .unwrap_or_else(|| strings.clone()),
                        )
                    }
                }
            };
        } else {
            candidates.extend(usable(run.take()));
        }
        previous_exact.clone_from(&child.exact);
        candidates.extend(child.options());
    }
    candidates.extend(usable(run));
    Facts {
        exact,
        required: ranked(candidates.into_iter()),
    }
}

/// Every string of `left` followed by every string of `right`, unless that makes too many.
fn cross(left: &[Vec<u8>], right: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if left.len() * right.len() > MAX_STRINGS {
        return None;
    }
    let mut product = Vec::with_capacity(left.len() * right.len());
    for a in left {
        for b in right {
            let mut joined = a.clone();
            joined.extend_from_slice(b);
            product.push(joined);
        }
    }
    product.sort_unstable();
    product.dedup();
    Some(product)
}

/// `strings` repeated `times` times over, unless that makes too many.
fn repeat(strings: &[Vec<u8>], times: u32) -> Option<Vec<Vec<u8>>> {
    let mut product = vec![Vec::new()];
    for _ in 0..times {
        product = cross(&product, strings)?;
    }
    Some(product)
}

fn union(sets: Vec<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let mut all: Vec<Vec<u8>> = sets.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    (all.len() <= MAX_STRINGS).then_some(all)
}

/// An exact set can serve as a required one when it holds no empty string.
fn usable(exact: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    exact.filter(|strings| !strings.is_empty() && strings.iter().all(|s| !s.is_empty()))
}

/// The most selective set: longest shortest string, then fewest strings.
fn best(sets: Vec<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    ranked(sets.into_iter()).into_iter().next()
}

/// Strings at least this long are all taken as equally rare; among them fewer strings win.
const RARE_ENOUGH: usize = 16;

/// Text that every line of some mail log carries: syslog tags of the mail programs and the field
/// names of FortiMail's key=value logs. A literal found inside one of these would make every line
/// of such a log a candidate, so it ranks as a two-byte string: below any longer one, above one
/// byte (which is worse still).
const ON_EVERY_LINE: &[&[u8]] = &[
    b"]: ",
    b"postfix/smtpd[",
    b"postfix/smtp[",
    b"postfix/qmgr[",
    b"postfix/cleanup[",
    b"postfix/local[",
    b" sendmail[",
    b" sm-mta[",
    b" exim[",
    b"opensmtpd[",
    b"smtpd[",
    b" date=",
    b" time=",
    b" devname=",
    b" device_id=",
    b" log_id=",
    b" type=",
    b" subtype=",
    b" pri=",
    b" session_id=",
    b" client_name=",
    b" client_ip=",
    b" from=",
    b" to=",
    b" subject=",
    b" mailer=",
    b" resolved=",
    b" direction=",
    b" virus=",
    b" disposition=",
    b" classifier=",
    // The verdict of nearly every message in a FortiMail history log.
    b" classifier=\"not spam\"",
    b" message_length=",
];

/// How rare `string` is taken to be: its length, or at most 2 when every line of some log holds it.
fn rarity(string: &[u8]) -> usize {
    // Every substring of the common strings, gathered once: a search of each common string for
    // every literal was a tenth of the start-up of `triage` (callgrind).
    static COMMON: OnceLock<HashSet<&'static [u8]>> = OnceLock::new();
    let common = COMMON.get_or_init(|| {
        ON_EVERY_LINE
            .iter()
            .flat_map(|common| {
                (0..common.len()).flat_map(move |start| {
                    (start + 1..=common.len()).map(move |end| &common[start..end])
                })
            })
            .collect()
    });
    if string.is_empty() || common.contains(string) {
        string.len().min(2)
    } else {
        string.len().min(RARE_ENOUGH)
    }
}

/// The usable sets, the most selective first (rarest least rare string, see [`rarity`], then
/// fewest strings), at most [`MAX_OPTIONS`] of them.
fn ranked(sets: impl Iterator<Item = Vec<Vec<u8>>>) -> Vec<Vec<Vec<u8>>> {
    let mut sets: Vec<Vec<Vec<u8>>> = sets
        .filter(|set| !set.is_empty() && set.iter().all(|s| !s.is_empty()))
        .collect();
    // `rarity` searches a few dozen strings: once per set, not once per comparison.
    sets.sort_by_cached_key(|set| {
        let least_rare = set.iter().map(|s| rarity(s)).min().unwrap_or(0);
        (std::cmp::Reverse(least_rare), set.len())
    });
    sets.dedup();
    sets.truncate(MAX_OPTIONS);
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(pattern: &str) -> Option<Vec<String>> {
        necessary_literals(pattern).map(|set| {
            set.into_iter()
                .map(|s| String::from_utf8(s).unwrap())
                .collect()
        })
    }

    #[test]
    fn case_insensitive_words_fold_to_lowercase() {
        assert_eq!(strings("(?i)greylisted"), Some(vec!["greylisted".into()]));
        assert_eq!(
            strings(r"(?i)\bRelay access denied\b"),
            Some(vec!["relay access denied".into()])
        );
    }

    #[test]
    fn alternation_needs_every_branch() {
        assert_eq!(
            strings("(?i)mailbox full|quota exceeded"),
            Some(vec!["mailbox full".into(), "quota exceeded".into()])
        );
        assert_eq!(strings("(?i)relay|.*"), None);
    }

    #[test]
    fn a_wide_alternation_takes_smaller_sets_of_its_widest_branches() {
        // The first branch's best set is its 12 x 12 = 144 phrases, over the limit of 128: it
        // gives way to its first words with the space after them.
        let found = strings(
            "(?i)(alpha|bravo|charlie|delta|echo|foxtrot|golf|hotel|india|juliet|kilo|lima) \
             (one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)|narrow",
        )
        .unwrap();
        assert_eq!(found.len(), 13, "{found:?}");
        assert!(found.contains(&"narrow".to_string()), "{found:?}");
        assert!(found.contains(&"alpha ".to_string()), "{found:?}");
    }

    #[test]
    fn small_classes_expand_and_optional_parts_break_runs() {
        assert_eq!(
            strings("^(?:53[05])$"),
            Some(vec!["530".into(), "535".into()])
        );
        assert_eq!(
            strings(r"(?i)come back (later|in)"),
            Some(vec!["come back in".into(), "come back later".into()])
        );
        assert_eq!(
            strings(r"(?i)client (was )?not authenticated"),
            Some(vec!["not authenticated".into()])
        );
    }

    #[test]
    fn wide_classes_and_unbounded_repeats_are_not_literals() {
        assert_eq!(strings(r"\d+"), None);
        assert_eq!(strings(r"x*"), None);
        assert_eq!(
            strings(r"\b127\.255\.255\.25[2-5]\b"),
            Some(vec![
                "127.255.255.252".into(),
                "127.255.255.253".into(),
                "127.255.255.254".into(),
                "127.255.255.255".into()
            ])
        );
    }

    #[test]
    fn every_match_of_every_shipped_pattern_contains_a_literal() {
        let library = crate::playbook::Library::load(&[]).unwrap();
        for playbook in &library.playbooks {
            for example in &playbook.examples.matches {
                if !example.is_ascii() {
                    continue;
                }
                let lower = example.to_ascii_lowercase();
                let patterns = playbook
                    .logs
                    .iter()
                    .chain(&playbook.bounces)
                    .map(|p| &p.regex)
                    .chain(playbook.replies.iter().filter_map(|r| r.text.as_ref()));
                for regex in patterns {
                    let Some(found) = regex.find(example) else {
                        continue;
                    };
                    let Some(literals) = necessary_literals(regex.as_str()) else {
                        continue;
                    };
                    let matched = &lower[found.range()];
                    assert!(
                        literals
                            .iter()
                            .any(|l| matched.contains(std::str::from_utf8(l).unwrap())),
                        "{}: {example:?} matches {:?} without any of its literals",
                        playbook.id,
                        regex.as_str()
                    );
                }
            }
        }
    }

    fn in_lines(pattern: &str) -> Option<Vec<String>> {
        necessary_literals_in(pattern, Haystack::Lines).map(|set| {
            set.into_iter()
                .map(|s| String::from_utf8(s).unwrap())
                .collect()
        })
    }

    #[test]
    fn over_a_buffer_of_lines_anchors_are_the_line_endings_next_to_them() {
        assert_eq!(
            in_lines("(?i)^Feedback-Type:"),
            Some(vec!["\nfeedback-type:".into()])
        );
        assert_eq!(
            in_lines("(?i)queue full$"),
            Some(vec!["queue full\n".into(), "queue full\r".into()])
        );
        // Read as one line, the anchors match where there is no byte.
        assert_eq!(strings("(?i)queue full$"), Some(vec!["queue full".into()]));
        assert_eq!(starts_or_ends_a_line(b"\nfeedback-type:"), (true, false));
        assert_eq!(starts_or_ends_a_line(b"queue full\r"), (false, true));
        assert_eq!(starts_or_ends_a_line(b"queue full"), (false, false));
    }

    #[test]
    fn a_word_between_delimiters_keeps_the_delimiter_that_follows_it() {
        // FortiMail writes virus="" on every line: "virus" alone would make each a candidate.
        let found = in_lines(r"(?i)(^|[\s:;,(\[/])(virus|malware)([\s:;,.!)\]/]|$)").unwrap();
        assert!(found.contains(&"virus ".to_string()), "{found:?}");
        assert!(found.contains(&"malware\n".to_string()), "{found:?}");
        assert!(
            found
                .iter()
                .all(|l| !l.starts_with(' ') && l.len() > "virus".len()),
            "{found:?}"
        );
        // Read as one line the delimiter class is too wide to expand.
        assert_eq!(
            strings(r"(?i)(^|[\s:;,(\[/])(virus|malware)([\s:;,.!)\]/]|$)"),
            Some(vec!["malware".into(), "virus".into()])
        );
    }

    #[test]
    fn text_on_every_line_of_some_log_ranks_below_a_rarer_literal() {
        assert_eq!(
            strings(r"(?i)postfix/\w+\[\d+\]: [0-9A-Za-z]+: hold: "),
            Some(vec![": hold: ".into()])
        );
        assert_eq!(
            strings(r"(?i)postfix/\w+\[\d+\]: (fatal|warning): .{0,160}No space left on device"),
            Some(vec!["no space left on device".into()])
        );
        assert_eq!(rarity(b"postfix/"), 2);
        assert_eq!(rarity(b" virus"), 2);
        assert_eq!(rarity(b"v"), 1);
        assert_eq!(rarity(b"greylisted"), 10);
        assert_eq!(rarity(b"all relevant mx records point to"), RARE_ENOUGH);
    }

    /// The buffer search finds a line when a literal of its pattern is in the line or touches
    /// its ending ("\n" before, "\n" after): checked on every shipped example, as one line.
    #[test]
    fn every_match_of_every_shipped_pattern_holds_a_buffer_literal() {
        let library = crate::playbook::Library::load(&[]).unwrap();
        for playbook in &library.playbooks {
            let patterns: Vec<&str> = playbook
                .logs
                .iter()
                .chain(&playbook.bounces)
                .map(|p| p.regex.as_str())
                .chain(playbook.replies.iter().filter_map(|r| {
                    r.text
                        .as_ref()
                        .map(crate::playbook::regex::PlaybookRegex::as_str)
                }))
                .collect();
            for example in playbook.examples.matches.iter().flat_map(|e| e.lines()) {
                if !example.is_ascii() {
                    continue;
                }
                let buffer = format!("\n{}\n", example.to_ascii_lowercase());
                for pattern in &patterns {
                    let regex = regex::Regex::new(pattern).unwrap();
                    let Some(found) = regex.find(example) else {
                        continue;
                    };
                    let Some(literals) = necessary_literals_in(pattern, Haystack::Lines) else {
                        continue;
                    };
                    // The match, shifted by the leading "\n", and one byte either side.
                    let around = &buffer.as_bytes()[found.start()..found.end() + 2];
                    assert!(
                        literals
                            .iter()
                            .any(|l| memchr::memmem::find(around, l).is_some()),
                        "{}: {example:?} matches {pattern:?} without any of its literals",
                        playbook.id
                    );
                }
            }
        }
    }

    /// Each literal containing a shorter one is dropped, whatever the order given; an empty
    /// literal is inside every other.
    #[test]
    fn minimal_literals_keep_those_containing_no_other() {
        let strings = |words: &[&str]| -> Vec<Vec<u8>> {
            words.iter().map(|w| w.as_bytes().to_vec()).collect()
        };
        let given = [
            "relay denied",
            "relax",
            "say delay",
            "way down",
            "queue",
            "lay",
            "rel",
            "ay d",
            "denied",
            "deni",
            "lay",
        ];
        assert_eq!(
            minimal_literals(strings(&given)),
            strings(&["lay", "rel", "ay d", "deni", "queue"])
        );
        assert_eq!(
            minimal_literals(strings(&["x", "", "relay"])),
            strings(&[""])
        );
        assert_eq!(minimal_literals(Vec::new()), Vec::<Vec<u8>>::new());
    }
}
