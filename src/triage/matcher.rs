//! Matches one line of text against every playbook's symptoms, with one RegexSet pass as a prefilter.

use mxdoctor_checks::Reply;
use regex::RegexSet;

use super::embedded_reply::find_reply;
use crate::playbook::compile::ReplyMatcher;
use crate::playbook::{Confidence, Playbook};

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

/// Every playbook's text symptoms, compiled into one set.
pub struct TextMatcher<'a> {
    playbooks: &'a [Playbook],
    set: RegexSet,
    targets: Vec<Target>,
    /// Reply matchers without a text regex: tried whenever a line holds a reply.
    textless: Vec<(usize, usize)>,
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
                        patterns.push(text.as_str().to_string());
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
                    patterns.push(pattern.regex.as_str().to_string());
                    targets.push(Target::Line(p, pattern.confidence, kind));
                }
            }
        }
        let set = RegexSet::new(&patterns).expect("every pattern compiled alone already");
        Self {
            playbooks,
            set,
            targets,
            textless,
        }
    }

    /// Playbooks recognising `line`; `reply` is the reply it holds, when the caller already parsed one.
    pub fn match_line(&self, line: &str, reply: Option<&Reply>) -> Vec<Hit> {
        let mut set_hits: Vec<usize> = self.set.matches(line).into_iter().collect();
        if let Some(reply) = reply {
            set_hits.extend(self.set.matches(&reply.text));
            set_hits.sort_unstable();
            set_hits.dedup();
        }
        let mut hits: Vec<Hit> = Vec::new();
        let mut reply_candidates: Vec<(usize, usize)> = self.textless.clone();
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
        for (playbook, m) in reply_candidates {
            let matcher = &self.playbooks[playbook].replies[m];
            if reply_matches(matcher, reply) {
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

    pub fn playbooks(&self) -> &'a [Playbook] {
        self.playbooks
    }
}

/// Keeps one hit per playbook, with its best confidence.
fn record(hits: &mut Vec<Hit>, hit: Hit) {
    match hits.iter_mut().find(|h| h.playbook == hit.playbook) {
        Some(existing) if existing.confidence < hit.confidence => *existing = hit,
        Some(_) => {}
        None => hits.push(hit),
    }
}

/// Whether every part of `matcher` agrees with `reply`.
pub fn reply_matches(matcher: &ReplyMatcher, reply: &Reply) -> bool {
    let code = reply.code.to_string();
    matcher.code.as_ref().is_none_or(|re| re.is_match(&code))
        && matcher
            .enhanced
            .as_ref()
            .is_none_or(|re| reply.enhanced.as_deref().is_some_and(|e| re.is_match(e)))
        && matcher
            .text
            .as_ref()
            .is_none_or(|re| re.is_match(&reply.text))
        && matcher
            .text_not
            .as_ref()
            .is_none_or(|re| !re.is_match(&reply.text))
}
