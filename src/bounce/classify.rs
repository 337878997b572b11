//! A parsed message → what it is (bounce, delay warning, success, auto-reply, feedback report)
//! and, per recipient, the one reason the playbooks give for it.
//!
//! Sources, most specific first: the recipient's own Diagnostic-Code (with its Status as the
//! enhanced code), then the bounce's words (each line and each paragraph, matched as a reply of
//! the failure's class when no reply code is written), then the Status code alone (RFC 3463
//! table, confidence `possible`). The returned original is never read here: `parse` cut it off.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use mxdoctor_model::Reply;
use regex::Regex;
use serde::Serialize;

use super::dialect;
use super::dsn::{Action, RecipientStatus};
use super::original::OriginalContext;
use super::parse::ParsedMessage;
use super::status_codes;
use crate::diagnose::rank::score;
use crate::diagnose::text::TextMatcher;
use crate::diagnose::text::embedded_reply::find_reply;
use crate::diagnose::text::matcher::{Hit, SymptomKind};
use crate::playbook::Playbook;
use crate::vocabulary::{Area, Confidence};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// Delivery failed for at least one recipient.
    Bounce,
    /// Still queued: a warning.
    DelayWarning,
    /// Delivered, relayed or expanded.
    SuccessNotice,
    /// RFC 3834 automatic reply (vacation, out of office).
    AutoReply,
    /// RFC 5965 abuse feedback report.
    FeedbackReport,
    /// Not a delivery report mxdoctor recognises.
    NotRecognised,
}

impl MessageKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::DelayWarning => "delay warning",
            Self::SuccessNotice => "success notification",
            Self::AutoReply => "automatic reply",
            Self::FeedbackReport => "abuse feedback report",
            Self::NotRecognised => "not recognised as a delivery report",
        }
    }
}

/// Where a reason was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    StatusCode,
    BounceText,
    DiagnosticCode,
    /// The message's structure or header fields (Action, Feedback-Type, Auto-Submitted).
    Structure,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Self::StatusCode => "status code",
            Self::BounceText => "bounce text",
            Self::DiagnosticCode => "Diagnostic-Code",
            Self::Structure => "delivery status",
        }
    }
}

/// One reason of one message, with the recipients it applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Index into the playbook list.
    #[serde(skip)]
    pub playbook: usize,
    pub confidence: Confidence,
    pub recipients: Vec<String>,
    pub source: Source,
    /// The words that showed it.
    pub evidence: String,
}

/// A message's diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub kind: MessageKind,
    pub dialect: &'static str,
    pub reasons: Vec<Reason>,
    /// Recipients that failed with no reason any playbook or status code explains.
    pub unexplained: Vec<String>,
    pub original: OriginalContext,
    pub subject: Option<String>,
}

impl Diagnosis {
    /// The reasons' playbooks, best first (what a report would rank first).
    pub fn ranked(&self, playbooks: &[Playbook]) -> Vec<usize> {
        let mut reasons: Vec<&Reason> = self.reasons.iter().collect();
        reasons.sort_by_key(|r| {
            std::cmp::Reverse((
                score(playbooks[r.playbook].severity, r.confidence),
                playbooks[r.playbook].severity,
                r.confidence,
            ))
        });
        reasons.iter().map(|r| r.playbook).collect()
    }
}

/// A candidate reason for one recipient.
#[derive(Debug, Clone)]
struct Candidate {
    playbook: usize,
    confidence: Confidence,
    source: Source,
    evidence: String,
}

/// Playbooks that name a message kind rather than a cause.
struct KindPlaybooks {
    delayed: Option<usize>,
    expired: Option<usize>,
    auto_reply: Option<usize>,
    feedback: Option<usize>,
    succeeded: Option<usize>,
    /// The queue command's ageing finding: about a queue, never the cause in one bounce.
    queue_ageing: Option<usize>,
}

impl KindPlaybooks {
    fn of(playbooks: &[Playbook]) -> Self {
        let find = |id: &str| playbooks.iter().position(|p| p.id == id);
        Self {
            delayed: find("delivery-delayed"),
            expired: find("message-expired"),
            auto_reply: find("auto-reply"),
            feedback: find("abuse-feedback-report"),
            succeeded: find("delivery-succeeded"),
            queue_ageing: find("queue-deferred-aging"),
        }
    }

    /// Playbooks that never stand as the cause of a failure.
    fn is_kind_only(&self, playbook: usize) -> bool {
        [
            self.delayed,
            self.auto_reply,
            self.feedback,
            self.succeeded,
            self.queue_ageing,
        ]
        .contains(&Some(playbook))
    }
}

/// Classifies parsed messages with one set of playbooks.
pub struct Classifier<'a> {
    matcher: &'a TextMatcher<'a>,
    kinds: KindPlaybooks,
}

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
        .expect("static regex")
});

/// Subjects delivery reports are sent with, in the languages seen most.
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)undeliver|undelivered|non-?deliver|not (be )?delivered|delivery (status|failure|failed|problem|report|notification|has failed|incomplete|delayed)|returned mail|mail delivery|failure notice|failed delivery|could not send|returned to sender|rejected|delivery warning|warning: could not|unzustellbar|nicht zustellbar|non remis|no entregado|non recapitato|niet bezorgd")
        .expect("static regex")
});

static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(re:\s*)?(auto(matic)?[ -]?(reply|response|antwort|risposta)|autoreply|out of (the )?office|abwesenheit|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|(on )?vacation|away from (the |my )?(office|mail|e-?mail|desk)|absence)")
        .expect("static regex")
});

/// Wording of a notice that refuses the message it answers.
static REFUSED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(message|post|posting|submission)\b.{0,80}\b(was|has been|is) (rejected|refused|not (accepted|distributed|delivered))\b")
        .expect("static regex")
});

/// Body wording of vacation(1) and out-of-office replies that carry no header saying so.
static AUTO_REPLY_BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(I am|I'm|I will be|I'll be)( currently)? (out of (the )?office|on (vacation|holiday|leave|annual leave|parental leave)|away (from|until))\b|\bwill not be reading my (e-?)?mail\b|\buntil I return\b|\bwhen I'?m back\b|\bwith limited access to (my )?e-?mail\b")
        .expect("static regex")
});

/// Lines of a bounce that copy the original's header fields (Exchange and Domino list them).
static ECHOED_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(subject|sent|date|from|to|cc|message-id|received|return-path|importance)\s*:",
    )
    .expect("static regex")
});

/// Longest text unit matched: a paragraph longer than this is matched line by line only.
const MAX_UNIT_CHARS: usize = 2000;

impl<'a> Classifier<'a> {
    pub fn new(matcher: &'a TextMatcher<'a>) -> Self {
        Self {
            matcher,
            kinds: KindPlaybooks::of(matcher.playbooks()),
        }
    }

    pub fn playbooks(&self) -> &'a [Playbook] {
        self.matcher.playbooks()
    }

    pub fn diagnose(&self, message: &ParsedMessage) -> Diagnosis {
        let mut diagnosis = Diagnosis {
            kind: MessageKind::NotRecognised,
            dialect: dialect::detect(message),
            reasons: Vec::new(),
            unexplained: Vec::new(),
            original: message.original.clone(),
            subject: message.subject.clone(),
        };
        if message.feedback_type.is_some()
            || message.report_type.as_deref() == Some("feedback-report")
        {
            diagnosis.kind = MessageKind::FeedbackReport;
            let detail = message
                .feedback_type
                .as_deref()
                .filter(|t| !t.is_empty())
                .map_or_else(
                    || "report-type=feedback-report".to_string(),
                    |t| format!("Feedback-Type: {t}"),
                );
            Self::push_kind(&mut diagnosis, self.kinds.feedback, detail);
            return diagnosis;
        }
        let status = message.delivery_status.as_ref();
        if let Some(status) = status
            && status
                .recipients
                .iter()
                .all(|r| r.action.as_ref().is_some_and(Action::is_success))
        {
            diagnosis.kind = MessageKind::SuccessNotice;
            let recipients = status
                .recipients
                .iter()
                .filter_map(|r| r.address().map(str::to_string))
                .collect();
            if let Some(playbook) = self.kinds.succeeded {
                diagnosis.reasons.push(Reason {
                    playbook,
                    confidence: Confidence::Confirmed,
                    recipients,
                    source: Source::Structure,
                    evidence: "Action: delivered/relayed/expanded for every recipient".into(),
                });
            }
            return diagnosis;
        }
        let bounce_like = is_bounce_like(message);
        if !bounce_like && !message.headerless {
            // A message that does not present itself as a delivery report: list managers and
            // ticket systems refuse in auto-replies, and only a confirmed reason (or a likely one where the text says our message was refused)
            // makes it a failure.
            let mut as_failure = diagnosis.clone();
            self.diagnose_failure(message, &mut as_failure, false);
            // Out-of-office text can say "my mailbox is full": a likely reason counts only
            // where the message says it refused ours.
            let says_refused = REFUSED.is_match(&message.text);
            let refused = as_failure.reasons.iter().any(|r| {
                !self.kinds.is_kind_only(r.playbook)
                    && (r.confidence == Confidence::Confirmed
                        || (says_refused && r.confidence == Confidence::Likely))
            });
            if refused {
                return as_failure;
            }
            if is_auto_reply(message) {
                diagnosis.kind = MessageKind::AutoReply;
                let detail = message.header("auto-submitted").map_or_else(
                    || {
                        format!(
                            "Subject: {}",
                            message.subject.as_deref().unwrap_or_default()
                        )
                    },
                    |value| format!("Auto-Submitted: {value}"),
                );
                Self::push_kind(&mut diagnosis, self.kinds.auto_reply, detail);
            }
            return diagnosis;
        }
        self.diagnose_failure(message, &mut diagnosis, bounce_like);
        diagnosis
    }

    fn push_kind(diagnosis: &mut Diagnosis, playbook: Option<usize>, evidence: String) {
        if let Some(playbook) = playbook {
            diagnosis.reasons.push(Reason {
                playbook,
                confidence: Confidence::Confirmed,
                recipients: Vec::new(),
                source: Source::Structure,
                evidence,
            });
        }
    }

    fn diagnose_failure(
        &self,
        message: &ParsedMessage,
        diagnosis: &mut Diagnosis,
        bounce_like: bool,
    ) {
        let excluded = excluded_addresses(message);
        let status = message.delivery_status.as_ref();
        let prose = self.prose_candidates(message, &excluded, status);
        // The recipients: the DSN's, else those the text names, else one unnamed recipient.
        let mut recipients: Vec<(String, Option<&RecipientStatus>)> = match status {
            Some(status) => status
                .recipients
                .iter()
                .map(|r| {
                    (
                        r.address().unwrap_or_default().to_ascii_lowercase(),
                        Some(r),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        if recipients.is_empty() {
            let mut named: Vec<String> = prose.iter().filter_map(|(who, _)| who.clone()).collect();
            if let Some(failed) = message.header("x-failed-recipients") {
                named.extend(
                    ADDRESS
                        .find_iter(failed)
                        .map(|m| m.as_str().to_ascii_lowercase()),
                );
            }
            named.sort();
            named.dedup();
            // Addresses the text names only in passing (no reason near them) are not recipients
            // when others are; an unnamed recipient stands for "the" recipient.
            let with_reason: Vec<String> = named
                .iter()
                .filter(|who| prose.iter().any(|(w, _)| w.as_ref() == Some(*who)))
                .cloned()
                .collect();
            recipients = if with_reason.is_empty() {
                vec![(named.first().cloned().unwrap_or_default(), None)]
            } else {
                with_reason.into_iter().map(|who| (who, None)).collect()
            };
        }
        let single = recipients.len() == 1;
        let mut chosen: Vec<(String, Candidate)> = Vec::new();
        let mut delayed = 0usize;
        let mut failed = 0usize;
        let mut succeeded: Vec<String> = Vec::new();
        for (address, dsn) in &recipients {
            if dsn
                .and_then(|r| r.action.as_ref())
                .is_some_and(Action::is_success)
            {
                succeeded.push(address.clone());
                continue;
            }
            let mut candidates = Vec::new();
            if let Some(dsn) = dsn {
                candidates.extend(self.diagnostic_candidates(dsn));
            }
            let own_is_specific = candidates
                .iter()
                .any(|c| c.confidence >= Confidence::Likely);
            for (who, candidate) in &prose {
                let mine = who.as_deref() == Some(address.as_str()) || (single && who.is_some());
                if mine || (who.is_none() && !own_is_specific) {
                    candidates.push(candidate.clone());
                }
            }
            let action = dsn.and_then(|r| r.action.as_ref());
            let dsn_status = dsn.and_then(|r| r.status.as_deref());
            let outcome = self.choose(action, dsn_status, &candidates, message);
            if let Some((reason, is_delay, underlying)) = outcome {
                if is_delay {
                    delayed += 1;
                } else {
                    failed += 1;
                }
                chosen.push((address.clone(), reason));
                chosen.extend(underlying.map(|u| (address.clone(), u)));
            } else {
                if matches!(action, Some(Action::Delayed)) {
                    delayed += 1;
                } else {
                    failed += 1;
                }
                diagnosis.unexplained.push(address.clone());
            }
        }
        let anything = !chosen.is_empty();
        diagnosis.kind = if failed > 0 && (bounce_like || anything) {
            MessageKind::Bounce
        } else if delayed > 0 {
            MessageKind::DelayWarning
        } else if !succeeded.is_empty() {
            MessageKind::SuccessNotice
        } else {
            MessageKind::NotRecognised
        };
        if diagnosis.kind == MessageKind::NotRecognised || (!bounce_like && !anything) {
            diagnosis.kind = MessageKind::NotRecognised;
            diagnosis.unexplained.clear();
            return;
        }
        if !succeeded.is_empty()
            && let Some(playbook) = self.kinds.succeeded
        {
            diagnosis.reasons.push(Reason {
                playbook,
                confidence: Confidence::Likely,
                recipients: succeeded,
                source: Source::Structure,
                evidence: "Action: delivered/relayed/expanded".into(),
            });
        }
        group(chosen, &mut diagnosis.reasons);
        diagnosis.unexplained.retain(|a| !a.is_empty());
        if diagnosis.unexplained.is_empty() && diagnosis.reasons.is_empty() {
            diagnosis.unexplained.push(String::new());
        }
    }

    /// The reason for one recipient (and the underlying error of a delay or an expiry, demoted to
    /// `possible`); the flag tells a delay from a failure.
    fn choose(
        &self,
        action: Option<&Action>,
        dsn_status: Option<&str>,
        candidates: &[Candidate],
        message: &ParsedMessage,
    ) -> Option<(Candidate, bool, Option<Candidate>)> {
        let playbooks = self.playbooks();
        let cause = candidates
            .iter()
            .filter(|c| {
                !self.kinds.is_kind_only(c.playbook) && Some(c.playbook) != self.kinds.expired
            })
            .max_by_key(|c| {
                (
                    score(playbooks[c.playbook].severity, c.confidence),
                    c.source,
                )
            })
            .cloned()
            .or_else(|| self.status_fallback(dsn_status, message));
        let demoted = |cause: Option<Candidate>| {
            cause.map(|mut c| {
                c.confidence = Confidence::Possible;
                c
            })
        };
        let transient = dsn_status.is_some_and(|s| s.starts_with('4'));
        let said = |playbook: Option<usize>| {
            playbook.and_then(|p| candidates.iter().find(|c| c.playbook == p).cloned())
        };
        let structural = |playbook: Option<usize>, evidence: String| {
            playbook.map(|playbook| Candidate {
                playbook,
                confidence: Confidence::Confirmed,
                source: Source::Structure,
                evidence,
            })
        };
        // A message that expired because the recipient's own mailbox stayed full (or disabled)
        // is about that mailbox: the queue only gave up waiting for it.
        let mailbox_state = cause.as_ref().filter(|c| {
            c.confidence >= Confidence::Likely && playbooks[c.playbook].area == Area::Recipient
        });
        match action {
            Some(Action::Delayed) => {
                // Some MTAs report a dropped message with their delay template (OpenSMTPD 6.8:
                // "Action: delayed" beside "Envelope expired"): when the text itself says the
                // message expired, the queue has given up, whatever the template's Action says.
                if let Some(reason) = said(self.kinds.expired)
                    .filter(|reason| reason.confidence >= Confidence::Likely)
                {
                    return Some((reason, false, demoted(cause)));
                }
                let reason = structural(
                    self.kinds.delayed,
                    status_line("Action: delayed", dsn_status),
                )?;
                return Some((reason, true, demoted(cause)));
            }
            Some(Action::Failed) if transient && mailbox_state.is_none() => {
                if let Some(reason) = said(self.kinds.expired).or_else(|| {
                    structural(
                        self.kinds.expired,
                        status_line("Action: failed with a transient status", dsn_status),
                    )
                }) {
                    return Some((reason, false, demoted(cause)));
                }
            }
            _ => {}
        }
        if action.is_none()
            && let Some(reason) = said(self.kinds.delayed)
            && said(self.kinds.expired).is_none()
        {
            return Some((reason, true, demoted(cause)));
        }
        if mailbox_state.is_none()
            && let Some(reason) = said(self.kinds.expired)
        {
            return Some((reason, false, demoted(cause)));
        }
        cause.map(|c| (c, false, None))
    }

    /// The RFC 3463 table's playbook for the recipient's status (or one written in the text).
    fn status_fallback(
        &self,
        dsn_status: Option<&str>,
        message: &ParsedMessage,
    ) -> Option<Candidate> {
        let code = dsn_status
            .filter(|s| status_codes::split(s).is_some())
            .or_else(|| status_codes::find_in_text(&message.text))?;
        let (meaning, id) = status_codes::lookup(code)?;
        let playbook = self
            .playbooks()
            .iter()
            .position(|p| Some(p.id.as_str()) == id)?;
        Some(Candidate {
            playbook,
            confidence: Confidence::Possible,
            source: Source::StatusCode,
            evidence: format!("Status {code}: {meaning} (RFC 3463)"),
        })
    }

    /// Candidates from one recipient's Diagnostic-Code.
    fn diagnostic_candidates(&self, dsn: &RecipientStatus) -> Vec<Candidate> {
        let Some(diagnostic) = dsn.diagnostic.as_deref() else {
            return Vec::new();
        };
        let status = dsn.status.as_deref();
        let (line, reply) = reply_of(diagnostic, status, dsn.action.as_ref());
        Self::hits_to_candidates(
            self.matcher.match_line(&line, Some(&reply)),
            &line,
            Source::DiagnosticCode,
            false,
        )
    }

    /// Candidates from the bounce's words: every line and every paragraph, with the recipient
    /// each is about (`None`: the text does not say).
    fn prose_candidates(
        &self,
        message: &ParsedMessage,
        excluded: &[String],
        status: Option<&super::dsn::DeliveryStatus>,
    ) -> Vec<(Option<String>, Candidate)> {
        let mut out = Vec::new();
        let original_subject = message
            .original
            .subject
            .as_deref()
            .filter(|s| s.trim().len() >= 6);
        let mut current: Option<String> = None;
        let mut paragraph: Vec<String> = Vec::new();
        let mut paragraph_owner: Option<String> = None;
        let default_status = status
            .and_then(|s| s.recipients.first())
            .and_then(|r| r.status.clone());
        let flush = |paragraph: &mut Vec<String>,
                     owner: &Option<String>,
                     out: &mut Vec<(Option<String>, Candidate)>| {
            if paragraph.len() > 1 {
                let joined = paragraph.join(" ");
                if joined.chars().count() <= MAX_UNIT_CHARS {
                    for candidate in self.unit_candidates(&joined, default_status.as_deref()) {
                        out.push((owner.clone(), candidate));
                    }
                }
            }
            paragraph.clear();
        };
        for raw in message.text.lines() {
            // Leading blanks stay: some dialects' layout is in the indentation (Exim).
            let raw = raw.trim_end();
            let line = raw.trim_start();
            if line.is_empty() {
                flush(&mut paragraph, &paragraph_owner, &mut out);
                continue;
            }
            if ECHOED_FIELD.is_match(line) {
                flush(&mut paragraph, &paragraph_owner, &mut out);
                continue;
            }
            let line = match original_subject {
                Some(subject) => line.replace(subject, "..."),
                None => line.to_string(),
            };
            let indented = match original_subject {
                Some(subject) => raw.replace(subject, "..."),
                None => raw.to_string(),
            };
            if let Some(found) = ADDRESS
                .find_iter(&line)
                .map(|m| m.as_str().to_ascii_lowercase())
                .find(|a| !excluded.contains(a))
            {
                current = Some(found);
            }
            if paragraph.is_empty() {
                paragraph_owner.clone_from(&current);
            }
            for candidate in self.unit_candidates(&indented, default_status.as_deref()) {
                out.push((current.clone(), candidate));
            }
            paragraph.push(line);
        }
        flush(&mut paragraph, &paragraph_owner, &mut out);
        out
    }

    /// Candidates from one line or paragraph of bounce text.
    fn unit_candidates(&self, unit: &str, status: Option<&str>) -> Vec<Candidate> {
        let mut candidates = Self::hits_to_candidates(
            self.matcher.match_line(unit, None),
            unit,
            Source::BounceText,
            false,
        );
        if find_reply(unit).is_none() {
            // Prose without a reply code (qmail, Domino, Exchange, Gmail's summaries): read it
            // as the failure's reply text, so the playbooks' reply wording applies. Only wording
            // counts: matchers on codes alone would fire on any line. Not more than `likely`:
            // the words were not an SMTP reply.
            let written = status_codes::find_in_text(unit);
            let code = if written.or(status).is_some_and(|s| s.starts_with('4')) {
                450
            } else {
                550
            };
            let mut reply = Reply::from_parts(code, vec![unit.to_string()]);
            if reply.enhanced.is_none() {
                reply.enhanced = written
                    .filter(|s| s.starts_with(&code.to_string()[..1]))
                    .map(str::to_string);
            }
            let mut wordless = reply.clone();
            wordless.text.clear();
            let code_only: Vec<usize> = self
                .matcher
                .match_line("", Some(&wordless))
                .into_iter()
                .map(|hit| hit.playbook)
                .collect();
            let hits = self
                .matcher
                .match_line(unit, Some(&reply))
                .into_iter()
                .filter(|hit| hit.kind != SymptomKind::Reply || !code_only.contains(&hit.playbook))
                .collect();
            let synthetic = Self::hits_to_candidates(hits, unit, Source::BounceText, true);
            for candidate in synthetic {
                if !candidates.iter().any(|c| c.playbook == candidate.playbook) {
                    candidates.push(candidate);
                }
            }
        }
        candidates
    }

    fn hits_to_candidates(
        hits: Vec<Hit>,
        text: &str,
        source: Source,
        synthetic: bool,
    ) -> Vec<Candidate> {
        hits.into_iter()
            .map(|hit| Candidate {
                playbook: hit.playbook,
                confidence: if synthetic && hit.kind == SymptomKind::Reply {
                    hit.confidence.min(Confidence::Likely)
                } else {
                    hit.confidence
                },
                source,
                evidence: shorten(text),
            })
            .collect()
    }
}

fn status_line(what: &str, status: Option<&str>) -> String {
    match status {
        Some(status) => format!("{what}, Status: {status}"),
        None => what.to_string(),
    }
}

/// The reply a Diagnostic-Code holds, its repeated continuation codes removed; without a code,
/// a reply of the recipient's class with the Status as its enhanced code.
fn reply_of(diagnostic: &str, status: Option<&str>, action: Option<&Action>) -> (String, Reply) {
    if let Some(mut reply) = find_reply(diagnostic) {
        let code = reply.code.to_string();
        let mut text = reply.text.clone();
        if let Some(enhanced) = &reply.enhanced {
            for repeated in [format!("{code}-{enhanced} "), format!("{code} {enhanced} ")] {
                text = text.replace(&repeated, "");
            }
        }
        text = text.replace(&format!("{code}-"), "");
        reply.text = text;
        if reply.enhanced.is_none() {
            reply.enhanced = status
                .filter(|s| s.starts_with(&code[..1]))
                .map(str::to_string);
        }
        let line = match &reply.enhanced {
            Some(enhanced) => format!("{} {enhanced} {}", reply.code, reply.text),
            None => format!("{} {}", reply.code, reply.text),
        };
        return (line, reply);
    }
    let transient =
        matches!(action, Some(Action::Delayed)) || status.is_some_and(|s| s.starts_with('4'));
    let code = if transient { 450 } else { 550 };
    let mut reply = Reply::from_parts(code, vec![diagnostic.to_string()]);
    if reply.enhanced.is_none() {
        reply.enhanced = status
            .filter(|s| s.starts_with(&code.to_string()[..1]))
            .map(str::to_string);
    }
    (diagnostic.to_string(), reply)
}

/// Addresses that are not recipients: the bounce's own From and To (the original sender) and the
/// original's From.
fn excluded_addresses(message: &ParsedMessage) -> Vec<String> {
    [&message.from, &message.to, &message.original.from]
        .into_iter()
        .flatten()
        .flat_map(|value| {
            ADDRESS
                .find_iter(value)
                .map(|m| m.as_str().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether the message presents itself as a delivery report: a delivery-status part or report
/// type, a mail-system sender, Exim's X-Failed-Recipients, or a bounce subject.
pub fn is_bounce_like(message: &ParsedMessage) -> bool {
    message.delivery_status.is_some()
        || message.report_type.as_deref() == Some("delivery-status")
        || dialect::from_mail_system(message)
        || message.header("x-failed-recipients").is_some()
        || message
            .subject
            .as_deref()
            .is_some_and(|s| BOUNCE_SUBJECT.is_match(s))
}

fn is_auto_reply(message: &ParsedMessage) -> bool {
    let auto_submitted = message
        .header("auto-submitted")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("auto-replied"));
    let marked = message.header("x-autoreply").is_some()
        || message.header("x-autorespond").is_some()
        || message
            .header("precedence")
            .is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"));
    let subject = message
        .subject
        .as_deref()
        .is_some_and(|s| AUTO_REPLY_SUBJECT.is_match(s));
    let body = AUTO_REPLY_BODY.is_match(&message.text);
    auto_submitted || marked || subject || body
}

/// One reason per playbook, naming all its recipients, at the best confidence any of them had.
fn group(chosen: Vec<(String, Candidate)>, reasons: &mut Vec<Reason>) {
    let mut by_playbook: BTreeMap<usize, Reason> = BTreeMap::new();
    let mut named: std::collections::HashSet<(usize, String)> = std::collections::HashSet::new();
    for (address, candidate) in chosen {
        let reason = by_playbook
            .entry(candidate.playbook)
            .or_insert_with(|| Reason {
                playbook: candidate.playbook,
                confidence: candidate.confidence,
                recipients: Vec::new(),
                source: candidate.source,
                evidence: candidate.evidence.clone(),
            });
        if candidate.confidence > reason.confidence {
            reason.confidence = candidate.confidence;
            reason.source = candidate.source;
            reason.evidence = candidate.evidence;
        }
        if !address.is_empty() && named.insert((candidate.playbook, address.clone())) {
            reason.recipients.push(address);
        }
    }
    reasons.extend(by_playbook.into_values());
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::bounce::parse_message;
    use crate::playbook::Library;

    fn diagnose(bytes: &[u8]) -> Diagnosis {
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        Classifier::new(&matcher).diagnose(&parse_message(bytes))
    }

    /// Garbage, truncation and absurd structure give an answer, never a panic.
    #[test]
    fn hostile_messages_are_answered() {
        let mut nested = String::from(
            "From: a@b.test\nSubject: x\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n",
        );
        for depth in 0..64 {
            let _ = write!(
                nested,
                "--b{depth}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n",
                depth + 1
            );
        }
        let mut many = String::from(
            "From: MAILER-DAEMON@x.test\nSubject: Undelivered Mail\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.test\n\n",
        );
        for n in 0..1000 {
            let _ = write!(
                many,
                "Final-Recipient: rfc822; u{n}@example.test\nAction: failed\nStatus: 5.1.1\n\n"
            );
        }
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\r\r\r\n\n".to_vec(),
            (0..=255u8).cycle().take(16_384).collect(),
            b"From: a\nSubject: b\nContent-Type: multipart/report; boundary=\"".to_vec(),
            b"From: x\nTo: y\nContent-Transfer-Encoding: base64\n\n!!!!====".to_vec(),
            nested.into_bytes(),
            "From: MAILER-DAEMON@x.test\nSubject: failure notice\n\n<é@ü.test>:\n550 5.1.1 ünknown üser 🙂\n".as_bytes().to_vec(),
        ];
        for input in &inputs {
            let _ = diagnose(input);
        }
        let diagnosis = diagnose(many.as_bytes());
        assert_eq!(diagnosis.kind, MessageKind::Bounce);
        assert_eq!(
            diagnosis.reasons.len(),
            1,
            "one reason naming its recipients"
        );
        assert_eq!(diagnosis.reasons[0].recipients.len(), 1000);
    }

    #[test]
    fn delayed_and_expired_come_from_the_action() {
        let dsn = |action: &str, status: &str| {
            format!(
                "From: MAILER-DAEMON@x.test\nSubject: Delivery Status Notification\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nnotice\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.test\n\nFinal-Recipient: rfc822; u@example.test\nAction: {action}\nStatus: {status}\nDiagnostic-Code: smtp; 451 4.7.1 Greylisted, please come back later\n\n--B--\n"
            )
        };
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        let classifier = Classifier::new(&matcher);
        let top = |text: String| {
            let diagnosis = classifier.diagnose(&parse_message(text.as_bytes()));
            let ranked = diagnosis.ranked(&library.playbooks);
            (
                diagnosis.kind,
                ranked
                    .iter()
                    .map(|i| library.playbooks[*i].id.clone())
                    .collect::<Vec<_>>(),
            )
        };
        let (kind, ids) = top(dsn("delayed", "4.7.1"));
        assert_eq!(kind, MessageKind::DelayWarning);
        assert_eq!(ids, ["delivery-delayed", "greylisting"]);
        let (kind, ids) = top(dsn("failed", "4.7.1"));
        assert_eq!(kind, MessageKind::Bounce);
        assert_eq!(ids, ["message-expired", "greylisting"]);
        let (kind, ids) = top(dsn("relayed", "2.0.0"));
        assert_eq!(kind, MessageKind::SuccessNotice);
        assert_eq!(ids, ["delivery-succeeded"]);
    }
}
