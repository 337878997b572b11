//! Matches one line of text against every playbook's symptoms.
//!
//! A line made only of ASCII (nearly every log line) is first searched for the patterns' necessary
//! literals (one Aho-Corasick pass, ASCII case-insensitive, see `literals.rs`); only the patterns
//! whose literal occurs are run. Other lines go through one `RegexSet` pass, built on first need.
//! Both give the same answer: a literal is only skipped when the pattern cannot match without it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use mxdoctor_model::Reply;
use regex::RegexSet;

use super::embedded_reply::find_reply;
use super::literals::{Haystack, necessary_literals, necessary_literals_in};
use crate::playbook::Playbook;
use crate::playbook::compile::ReplyMatcher;
use crate::playbook::regex::{AsciiText, PlaybookRegex};
use crate::vocabulary::Confidence;

/// Which kind of symptom matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymptomKind {
    Reply,
    Log,
    Bounce,
}

/// A playbook that recognised a line, with the best confidence among its matching symptoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub playbook: usize,
    pub confidence: Confidence,
    pub kind: SymptomKind,
}

enum Target {
    /// `playbooks[p].replies[m]`, whose text regex is in the set.
    Reply(usize, usize),
    Line(usize, Confidence, SymptomKind),
}

/// Who needs a literal: a text pattern (by index), or a reply matcher without text (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Pattern(usize),
    Textless(usize),
}

/// The literal prefilter for ASCII lines.
struct Prefilter {
    literals: AhoCorasick,
    /// For each literal, who needs it.
    owners: Vec<Vec<Needs>>,
    /// Patterns and textless matchers with no usable literal: tried on every line.
    always: Vec<Needs>,
}

/// Every playbook's text symptoms, compiled into one set.
pub struct TextMatcher<'a> {
    playbooks: &'a [Playbook],
    patterns: Vec<&'a PlaybookRegex>,
    /// Built on the first line that is not pure ASCII.
    set: OnceLock<RegexSet>,
    targets: Vec<Target>,
    /// Reply matchers without a text regex: tried whenever a line holds a reply.
    textless: Vec<(usize, usize)>,
    /// Built on first need: `triage` mostly knows a line's literals from its buffer search.
    prefilter: OnceLock<Prefilter>,
    /// The literals of a search over a buffer of whole lines (see [`TextMatcher::line_literals`]).
    /// Built on first need: only `triage` searches whole buffers.
    buffer_literals: OnceLock<Option<BufferLiterals>>,
}

/// The literals of a search over a buffer of whole lines, and who needs each. Every literal is
/// kept, even one containing another: a line's literals then name exactly the symptoms to try (a
/// shorter literal standing for the longer ones sent a line holding `list` to every pattern
/// needing `mailing list`, and the regexes run on candidate lines cost more than the search).
struct BufferLiterals {
    literals: Vec<Vec<u8>>,
    owners: Vec<Vec<Needs>>,
}

impl<'a> TextMatcher<'a> {
    pub fn new(playbooks: &'a [Playbook]) -> Self {
        let mut patterns = Vec::new();
        let mut targets = Vec::new();
        let mut textless = Vec::new();
        for (p, playbook) in playbooks.iter().enumerate() {
            for (m, matcher) in playbook.replies.iter().enumerate() {
                match &matcher.text {
                    Some(text) => {
                        patterns.push(text);
                        targets.push(Target::Reply(p, m));
                    }
                    None => textless.push((p, m)),
                }
            }
            for (patterns_of_kind, kind) in [
                (&playbook.logs, SymptomKind::Log),
                (&playbook.bounces, SymptomKind::Bounce),
            ] {
                for pattern in patterns_of_kind {
                    patterns.push(&pattern.regex);
                    targets.push(Target::Line(p, pattern.confidence, kind));
                }
            }
        }
        Self {
            playbooks,
            patterns,
            set: OnceLock::new(),
            targets,
            textless,
            prefilter: OnceLock::new(),
            buffer_literals: OnceLock::new(),
        }
    }

    /// Indices of the patterns matching `text`, ascending.
    fn matching_patterns(&self, text: &str) -> Vec<usize> {
        if let Some(ascii) = AsciiText::new(text) {
            let mut candidates = self.prefilter().candidates(text.as_bytes());
            candidates.retain(|needs| match needs {
                Needs::Pattern(index) => self.patterns[*index].matches_ascii(&ascii),
                Needs::Textless(_) => false,
            });
            candidates
                .into_iter()
                .filter_map(|needs| match needs {
                    Needs::Pattern(index) => Some(index),
                    Needs::Textless(_) => None,
                })
                .collect()
        } else {
            self.set().matches(text).into_iter().collect()
        }
    }

    fn prefilter(&self) -> &Prefilter {
        self.prefilter
            .get_or_init(|| Prefilter::new(&self.patterns, &self.textless, self.playbooks))
    }

    fn set(&self) -> &RegexSet {
        self.set.get_or_init(|| {
            RegexSet::new(self.patterns.iter().map(|p| p.as_str()))
                .expect("every pattern compiled alone already")
        })
    }

    /// Playbooks recognising `line`; `reply` is the reply it holds, when the caller already parsed one.
    pub fn match_line(&self, line: &str, reply: Option<&Reply>) -> Vec<Hit> {
        let (set_hits, reply_candidates) = match reply {
            Some(reply) => {
                let mut set_hits = self.matching_patterns(line);
                set_hits.extend(self.matching_patterns(&reply.text));
                set_hits.sort_unstable();
                set_hits.dedup();
                (set_hits, self.textless.clone())
            }
            None => match AsciiText::new(line) {
                Some(ascii) => self.ascii_line_candidates(&ascii),
                None => (self.matching_patterns(line), self.textless.clone()),
            },
        };
        self.hits_from(line, reply, set_hits, reply_candidates)
    }

    /// The hits of `line`: the patterns that matched (ascending), and the reply matchers to try on
    /// the reply it holds.
    fn hits_from(
        &self,
        line: &str,
        reply: Option<&Reply>,
        set_hits: Vec<usize>,
        mut reply_candidates: Vec<(usize, usize)>,
    ) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        for index in set_hits {
            match self.targets[index] {
                Target::Reply(p, m) => reply_candidates.push((p, m)),
                Target::Line(playbook, confidence, kind) => record(
                    &mut hits,
                    Hit {
                        playbook,
                        confidence,
                        kind,
                    },
                ),
            }
        }
        if reply_candidates.is_empty() {
            return hits;
        }
        let parsed;
        let reply = match reply {
            Some(reply) => reply,
            None => match find_reply(line) {
                Some(found) => {
                    parsed = found;
                    &parsed
                }
                None => return hits,
            },
        };
        let reply_texts = ReplyTexts::of(reply);
        for (playbook, m) in reply_candidates {
            let matcher = &self.playbooks[playbook].replies[m];
            if reply_texts.match_with(matcher) {
                record(
                    &mut hits,
                    Hit {
                        playbook,
                        confidence: matcher.confidence,
                        kind: SymptomKind::Reply,
                    },
                );
            }
        }
        hits
    }

    /// Builds the patterns' ASCII forms (otherwise built on first use), one at a time, until
    /// `enough` says to stop: work for a thread that would only wait.
    pub fn build_ahead(&self, enough: impl Fn() -> bool) {
        for pattern in &self.patterns {
            if enough() {
                return;
            }
            pattern.prepare_ascii();
        }
    }

    pub fn playbooks(&self) -> &'a [Playbook] {
        self.playbooks
    }

    /// Lowercase literals one of which every ASCII line that can match anything contains, for a
    /// search over a buffer of whole lines ([`Haystack::Lines`]: a line anchor stands for the line
    /// ending next to it); `None` when some symptom has no such literal (every line is a
    /// candidate then). Lines with non-ASCII bytes are never covered by this guarantee.
    ///
    /// [`TextMatcher::match_line_holding`] takes their indices; a search reporting a line's
    /// literals must report every one it holds, also those containing another.
    pub fn line_literals(&self) -> Option<Vec<Vec<u8>>> {
        self.buffer_literals().map(|buffer| buffer.literals.clone())
    }

    fn buffer_literals(&self) -> Option<&BufferLiterals> {
        self.buffer_literals
            .get_or_init(|| {
                let (by_literal, always) = literal_owners(
                    &self.patterns,
                    &self.textless,
                    self.playbooks,
                    Haystack::Lines,
                );
                always.is_empty().then(|| BufferLiterals::new(by_literal))
            })
            .as_ref()
    }

    /// [`TextMatcher::match_line`] for an ASCII line holding no reply parsed by the caller, told
    /// which of [`TextMatcher::line_literals`] (by index) occur in it, its ending and the ending
    /// before it: only their owners are tried. Any other literal must be absent.
    pub fn match_line_holding(&self, line: &str, literals: &[u32]) -> Vec<Hit> {
        let (Some(buffer), Some(ascii)) = (self.buffer_literals(), AsciiText::new(line)) else {
            return self.match_line(line, None);
        };
        let mut candidates: Vec<Needs> = literals
            .iter()
            .flat_map(|&index| buffer.owners[index as usize].iter().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let (set_hits, reply_candidates) = self.ascii_candidates_among(&ascii, candidates);
        self.hits_from(line, None, set_hits, reply_candidates)
    }

    /// For an ASCII line: the matching patterns, and the textless reply matchers whose literal occurs.
    fn ascii_line_candidates(&self, line: &AsciiText<'_>) -> (Vec<usize>, Vec<(usize, usize)>) {
        let candidates = self.prefilter().candidates(line.as_str().as_bytes());
        self.ascii_candidates_among(line, candidates)
    }

    /// Of `candidates` (sorted), the patterns matching `line` and the textless reply matchers.
    fn ascii_candidates_among(
        &self,
        line: &AsciiText<'_>,
        candidates: Vec<Needs>,
    ) -> (Vec<usize>, Vec<(usize, usize)>) {
        let mut set_hits = Vec::new();
        let mut textless = Vec::new();
        for needs in candidates {
            match needs {
                Needs::Pattern(index) => {
                    if self.patterns[index].matches_ascii(line) {
                        set_hits.push(index);
                    }
                }
                Needs::Textless(index) => textless.push(self.textless[index]),
            }
        }
        (set_hits, textless)
    }
}

impl Prefilter {
    fn new(
        patterns: &[&PlaybookRegex],
        textless: &[(usize, usize)],
        playbooks: &[Playbook],
    ) -> Self {
        let (by_literal, always) = literal_owners(patterns, textless, playbooks, Haystack::Line);
        let (literals, owners): (Vec<Vec<u8>>, Vec<Vec<Needs>>) = by_literal.into_iter().unzip();
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            // Hundreds of case-folded literals share most first bytes: a start-byte prefilter
            // stops at nearly every byte and cost 20% more than the plain DFA (measured).
            .prefilter(false)
            .build(&literals)
            .expect("a few hundred short literals fit a DFA");
        Self {
            literals: automaton,
            owners,
            always,
        }
    }

    /// Who may match `line` (ASCII): those whose literal occurs in it, and those without one; sorted.
    fn candidates(&self, line: &[u8]) -> Vec<Needs> {
        let mut candidates = self.always.clone();
        for found in self.literals.find_overlapping_iter(line) {
            candidates.extend_from_slice(&self.owners[found.pattern().as_usize()]);
        }
        if candidates.len() > 1 {
            candidates.sort_unstable();
            candidates.dedup();
        }
        candidates
    }
}

impl BufferLiterals {
    fn new(by_literal: BTreeMap<Vec<u8>, Vec<Needs>>) -> Self {
        let (literals, mut owners): (Vec<_>, Vec<_>) = by_literal.into_iter().unzip();
        for needs in &mut owners {
            needs.sort_unstable();
            needs.dedup();
        }
        Self { literals, owners }
    }
}

/// Every literal of the text patterns (searched in `haystack`) and of the textless reply matchers,
/// with who needs it; and who has none.
fn literal_owners(
    patterns: &[&PlaybookRegex],
    textless: &[(usize, usize)],
    playbooks: &[Playbook],
    haystack: Haystack,
) -> (BTreeMap<Vec<u8>, Vec<Needs>>, Vec<Needs>) {
    let mut by_literal: BTreeMap<Vec<u8>, Vec<Needs>> = BTreeMap::new();
    let mut always = Vec::new();
    let mut add = |needs: Needs, literals: Option<Vec<Vec<u8>>>| match literals {
        Some(literals) => {
            for literal in literals {
                by_literal.entry(literal).or_default().push(needs);
            }
        }
        None => always.push(needs),
    };
    for (index, pattern) in patterns.iter().enumerate() {
        add(
            Needs::Pattern(index),
            necessary_literals_in(pattern.as_str(), haystack),
        );
    }
    for (index, &(p, m)) in textless.iter().enumerate() {
        // The reply found in the line must have this enhanced code (or this code): both are
        // copied verbatim from the line, so their literals are the line's too. Their anchors are
        // the code's ends, not the line's: the code's literals are read as for a single line.
        let matcher = &playbooks[p].replies[m];
        let literals = matcher
            .enhanced
            .as_ref()
            .and_then(|re| necessary_literals(re.as_str()))
            .or_else(|| {
                let codes = matcher
                    .code
                    .as_ref()
                    .and_then(|re| necessary_literals(re.as_str()))?;
                Some(match haystack {
                    Haystack::Lines => codes_as_found_in_lines(codes),
                    Haystack::Line => codes,
                })
            });
        add(Needs::Textless(index), literals);
    }
    (by_literal, always)
}

/// What may come before a reply code that `find_reply` takes from a line: the line's start (the
/// ending of the line before), whitespace or the punctuation it allows.
const BEFORE_A_CODE: &[u8] = b"\n\t\x0b\x0c\r :;,([\"'";
/// What may follow it: a space or hyphen, or the line's end (after whitespace that is trimmed).
const AFTER_A_CODE: &[u8] = b" -\t\x0b\x0c\r\n";

/// Exact three-digit reply codes, as a buffer of lines holds them when `find_reply` can take them
/// from a line: with what comes before and after (a code inside a number or a queue ID is none).
/// Other literals are kept as they are.
fn codes_as_found_in_lines(codes: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if !codes
        .iter()
        .all(|code| code.len() == 3 && code.iter().all(u8::is_ascii_digit))
    {
        return codes;
    }
    let mut found = Vec::new();
    for code in &codes {
        for &before in BEFORE_A_CODE {
            for &after in AFTER_A_CODE {
                let mut literal = vec![before];
                literal.extend_from_slice(code);
                literal.push(after);
                found.push(literal);
            }
        }
    }
    found
}

/// Keeps one hit per playbook, with its best confidence.
fn record(hits: &mut Vec<Hit>, hit: Hit) {
    match hits.iter_mut().find(|h| h.playbook == hit.playbook) {
        Some(existing) if existing.confidence < hit.confidence => *existing = hit,
        Some(_) => {}
        None => hits.push(hit),
    }
}

/// A reply's parts as its matchers read them, prepared once for the several matchers a reply is
/// tried with: the code as text, and the reply text with its ASCII lowercase.
struct ReplyTexts<'r> {
    reply: &'r Reply,
    code: String,
    ascii_text: Option<AsciiText<'r>>,
}

impl<'r> ReplyTexts<'r> {
    fn of(reply: &'r Reply) -> Self {
        Self {
            reply,
            code: reply.code.to_string(),
            ascii_text: AsciiText::new(&reply.text),
        }
    }

    /// Whether every part of `matcher` agrees with the reply.
    fn match_with(&self, matcher: &ReplyMatcher) -> bool {
        let text_matches = |re: &PlaybookRegex| match &self.ascii_text {
            Some(ascii) => re.matches_ascii(ascii),
            None => re.matches(&self.reply.text),
        };
        matcher
            .code
            .as_ref()
            .is_none_or(|re| re.matches(&self.code))
            && matcher.enhanced.as_ref().is_none_or(|re| {
                self.reply
                    .enhanced
                    .as_deref()
                    .is_some_and(|e| re.matches(e))
            })
            && matcher.text.as_ref().is_none_or(text_matches)
            && matcher.text_not.as_ref().is_none_or(|re| !text_matches(re))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Library;

    /// The literal prefilter must never change which patterns match: compare with the plain set.
    #[test]
    fn prefilter_agrees_with_the_regex_set_on_every_example() {
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        let mut texts: Vec<String> = Vec::new();
        for playbook in &library.playbooks {
            texts.extend(playbook.examples.matches.iter().cloned());
            texts.extend(playbook.examples.not_matches.iter().cloned());
        }
        let variants: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                [
                    t.to_ascii_uppercase(),
                    t.to_ascii_lowercase(),
                    format!("Nov 28 06:32:32 gw postfix/smtp[1]: x said: {t})"),
                ]
            })
            .collect();
        for text in texts.iter().chain(&variants) {
            for line in text.lines().filter(|l| l.is_ascii()) {
                let expected: Vec<usize> = matcher.set().matches(line).into_iter().collect();
                assert_eq!(matcher.matching_patterns(line), expected, "{line}");
                let (fast, _) = matcher.ascii_line_candidates(&AsciiText::new(line).unwrap());
                assert_eq!(fast, expected, "{line}");
            }
        }
    }

    /// A code `find_reply` takes from a line is one of the literals of a code-only reply matcher,
    /// found in the line with the endings around it; a code inside a number is not.
    #[test]
    fn reply_codes_in_lines_carry_what_find_reply_needs_around_them() {
        let literals = codes_as_found_in_lines(vec![b"530".to_vec(), b"535".to_vec()]);
        let lines = [
            "530 5.7.0 Must issue a STARTTLS command first",
            "530-first line",
            "530",
            "x postfix/smtp[1]: 1A: host mx[192.0.2.1] said: 530 5.7.0 no (in reply to MAIL)",
            "Diagnostic-Code: smtp;535-5.7.8 Username and Password not accepted",
            "status=bounced (host said:\t535 auth\t)",
            "s=\"535 x\"",
            "reply='530-busy'",
            "trailing 530  ",
            "2026,x,(530 y",
            "[535-",
        ];
        for line in lines {
            let reply = find_reply(line).unwrap_or_else(|| panic!("{line}"));
            assert!([530, 535].contains(&reply.code), "{line}");
            let buffer = format!("\n{line}\n").to_ascii_lowercase();
            assert!(
                literals
                    .iter()
                    .any(|l| memchr::memmem::find(buffer.as_bytes(), l).is_some()),
                "{line}"
            );
        }
        for line in [
            "id=95033112 size=5301",
            "pid[1530]: x",
            "queue 4A530B: from",
            "(530)",
        ] {
            assert!(find_reply(line).is_none_or(|r| r.code != 530), "{line}");
            let buffer = format!("\n{line}\n");
            assert!(
                !literals
                    .iter()
                    .any(|l| memchr::memmem::find(buffer.as_bytes(), l).is_some()),
                "{line}"
            );
        }
        // Anything but exact codes is left alone.
        assert_eq!(
            codes_as_found_in_lines(vec![b"5.7.1".to_vec()]),
            vec![b"5.7.1".to_vec()]
        );
    }
}
