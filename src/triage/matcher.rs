//! Matches one line of text against every playbook's symptoms, with one RegexSet pass as a prefilter.

use mxdoctor_checks::Reply;
use regex::RegexSet;

use super::embedded_reply::find_reply;
use crate::playbook::{Confidence, Playbook};
use crate::playbook::compile::ReplyMatcher;

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
            for (patterns_of_kind, kind) in [(&playbook.logs, SymptomKind::Log), (&playbook.bounces, SymptomKind::Bounce)] {
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
        let mut matched: Vec<usize> = self.set.matches(line).into_iter().collect();
        if let Some(reply) = reply {
            matched.extend(self.set.matches(&reply.text).into_iter());
            matched.sort_unstable();
            matched.dedup();
        }
        let needs_reply = !self.textless.is_empty() || matched.iter().any(|&i| matches!(self.targets[i], Target::Reply(..)));
        let found;
        let reply = match reply {
            Some(reply) => Some(reply),
            None if needs_reply => {
                found = find_reply(line);
                found.as_ref()
            }
            None => None,
        };
        let mut hits: Vec<Hit> = Vec::new();
        let mut record = |hit: Hit| match hits.iter_mut().find(|h| h.playbook == hit.playbook) {
            Some(existing) if existing.confidence < hit.confidence => *existing = hit,
            Some(_) => {}
            None => hits.push(hit),
        };
        for index in matched {
            match self.targets[index] {
                Target::Reply(p, m) => {
                    if let Some(reply) = reply {
                        let matcher = &self.playbooks[p].replies[m];
                        if reply_matches(matcher, reply) {
                            record(Hit { playbook: p, confidence: matcher.confidence, kind: SymptomKind::Reply });
                        }
                    }
                }
                Target::Line(p, confidence, kind) => record(Hit { playbook: p, confidence, kind }),
            }
        }
        if let Some(reply) = reply {
            for &(p, m) in &self.textless {
                let matcher = &self.playbooks[p].replies[m];
                if reply_matches(matcher, reply) {
                    record(Hit { playbook: p, confidence: matcher.confidence, kind: SymptomKind::Reply });
                }
            }
        }
        hits
    }

    pub fn playbooks(&self) -> &'a [Playbook] {
        self.playbooks
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
        && matcher.text.as_ref().is_none_or(|re| re.is_match(&reply.text))
        && matcher.text_not.as_ref().is_none_or(|re| !re.is_match(&reply.text))
}
