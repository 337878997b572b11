//! Bounces as they arrive: whole messages (`.eml`, mbox, maildir, stdin) read offline into a
//! structured bounce — dialect, per-recipient delivery status, the bounce's own words, the
//! returned original's context — and matched against the playbooks per recipient.
//!
//! message bytes → [`parse::parse_message`] → [`classify::Classifier::diagnose`] → [`tally::BounceTally`] → findings

pub mod classify;
pub mod dialect;
pub mod dsn;
pub mod input;
pub mod original;
pub mod parse;
pub mod status_codes;
pub mod tally;

use std::fmt::Write as _;
use std::path::Path;

pub use classify::{Classifier, Diagnosis, MessageKind};
pub use input::{InputError, RawMessage};
pub use parse::{ParsedMessage, parse_message};
pub use tally::BounceTally;

/// Reads every message at `path` (file, mbox or folder), diagnoses it, records it in `tally` and
/// hands it to `each` (for per-message notes).
pub fn diagnose_path(
    classifier: &Classifier<'_>,
    path: &Path,
    tally: &mut BounceTally,
    each: &mut dyn FnMut(&RawMessage, &Diagnosis),
) -> Result<(), InputError> {
    input::for_each_message(path, &mut |raw| {
        diagnose_raw(classifier, &raw, tally, each);
    })
}

/// Diagnoses one message already read.
pub fn diagnose_raw(
    classifier: &Classifier<'_>,
    raw: &RawMessage,
    tally: &mut BounceTally,
    each: &mut dyn FnMut(&RawMessage, &Diagnosis),
) {
    let parsed = parse_message(&raw.bytes);
    // A bounce forwarded as an attachment (a user sending it on to support) is read from the
    // attachment when the outer message is not a delivery report itself.
    let forwarded = parsed
        .attached
        .as_ref()
        .filter(|_| !classify::is_bounce_like(&parsed) && parsed.feedback_type.is_none())
        .map(|attached| classifier.diagnose(&parse_message(attached)))
        .filter(|inner| {
            inner.kind != MessageKind::NotRecognised && inner.kind != MessageKind::AutoReply
        });
    let diagnosis = forwarded.unwrap_or_else(|| classifier.diagnose(&parsed));
    tally.truncated += u64::from(raw.truncated);
    tally.record(&raw.label, &diagnosis);
    each(raw, &diagnosis);
}

/// The report of a run over messages: one finding per reason (ranked), the tally's notes.
/// `by_domain`: evidence lists recipient domains (mailboxes) rather than sample messages.
pub fn messages_report(
    playbooks: &[crate::playbook::Playbook],
    command: &str,
    target: String,
    tally: BounceTally,
    platform: crate::vocabulary::Platform,
    by_domain: bool,
) -> crate::report::Report {
    let notes = tally.notes();
    let mut findings = tally.into_findings(playbooks, platform, by_domain);
    crate::diagnose::rank::rank(&mut findings);
    let mut report = crate::report::Report::new(command, target, findings, Vec::new());
    report.notes = notes;
    report.evaluated = crate::diagnose::text::text_playbooks(playbooks);
    report
}

/// One line describing a diagnosed message: what it is, its dialect, its returned original.
pub fn describe(label: &str, diagnosis: &Diagnosis) -> String {
    let mut line = format!(
        "{label}: {} ({})",
        diagnosis.kind.describe(),
        diagnosis.dialect
    );
    if let Some(subject) = &diagnosis.subject {
        let _ = write!(line, ", subject {subject:?}");
    }
    if !diagnosis.original.is_empty() {
        let _ = write!(
            line,
            "; returned original: {}",
            diagnosis.original.describe()
        );
    }
    let unexplained: Vec<&str> = diagnosis
        .unexplained
        .iter()
        .map(|a| {
            if a.is_empty() {
                "the recipient"
            } else {
                a.as_str()
            }
        })
        .collect();
    if !unexplained.is_empty() && diagnosis.kind != MessageKind::NotRecognised {
        let _ = write!(line, "; no known reason for {}", unexplained.join(", "));
    }
    line
}

/// Header fields whose presence at the top of pasted text says "this is a whole message".
const MESSAGE_FIELDS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "received",
    "return-path",
    "message-id",
    "mime-version",
    "content-type",
    "delivered-to",
    "auto-submitted",
    "x-failed-recipients",
];

/// Whether text pasted on stdin is an RFC 5322 message (or an mbox) rather than replies or log
/// lines: it opens with a header block holding at least two of the usual message fields.
pub fn looks_like_message(text: &[u8]) -> bool {
    if input::is_mbox(text) {
        return true;
    }
    let start = input::normalise_line_ends(&text[..text.len().min(64 * 1024)]);
    let text = String::from_utf8_lossy(&start);
    let mut seen = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        if MESSAGE_FIELDS.contains(&name.to_ascii_lowercase().as_str()) {
            seen += 1;
        }
    }
    seen >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_told_from_replies_and_logs() {
        assert!(looks_like_message(b"From: a@b.test\nSubject: x\n\nbody\n"));
        assert!(looks_like_message(b"From: a@b.test\rSubject: x\r\rbody\r"));
        assert!(looks_like_message(
            b"Return-Path: <>\r\nReceived: from x\r\n\tby y\r\nFrom: z\r\n\r\n"
        ));
        assert!(looks_like_message(
            b"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\nFrom: x\n"
        ));
        assert!(!looks_like_message(
            b"550 5.1.1 <u@example.test>: User unknown\n"
        ));
        assert!(!looks_like_message(
            b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
        ));
        assert!(!looks_like_message(
            b"Nov 28 06:32:32 gw postfix/smtpd[4501]: NOQUEUE: reject: RCPT from x\n"
        ));
    }
}
