//! Finds the SMTP reply inside a log line or bounce line ("... said: 550 5.7.1 ...", "Diagnostic-Code: smtp; 550 ...").

use std::sync::LazyLock;

use mxdoctor_model::Reply;
use regex::Regex;

/// A reply code preceded by the start, a space or typical punctuation (a comma: CSV logs such as
/// Exchange message tracking), and followed by ' ', '-' or the end.
static EMBEDDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s:;,(\["'])([2-5][0-9]{2})(?:[ -]|$)(.*)$"#).expect("static regex")
});

/// The first plausible SMTP reply in `line`, parsed as a one-line reply.
pub fn find_reply(line: &str) -> Option<Reply> {
    let trimmed = line.trim_end();
    if let Ok(reply) = Reply::parse(trimmed) {
        return Some(reply);
    }
    let embedded = if trimmed.is_ascii() {
        embedded_in_ascii(trimmed)
    } else {
        EMBEDDED.captures(trimmed).and_then(|captures| {
            let code = captures.get(1)?.as_str().parse().ok()?;
            Some((code, captures.get(2).map_or("", |m| m.as_str())))
        })
    };
    let Some((code, rest)) = embedded else {
        return logged_without_code(trimmed);
    };
    let rest = rest.trim().trim_end_matches(')');
    Some(Reply::from_parts(code, vec![rest.to_string()]))
}

/// A refusal an MTA logged without the reply code that went with it, read as a reply whose text
/// (and enhanced code) are the line's own:
/// - Exim's ACL rejections, `rejected RCPT <a@b.test>: TEXT`, `rejected after DATA: TEXT` (also
///   MAIL, EHLO or HELO, connect): TEXT is what the client was sent. Read as 550, or 451 when
///   `temporarily rejected`: Exim's codes for deny and defer unless the ACL sets its own.
/// - Postfix's delivery status without a remote reply, `dsn=5.2.2, status=bounced (TEXT)`: read
///   as 550 or 450 after the enhanced code's class, which is all the line says of it.
fn logged_without_code(line: &str) -> Option<Reply> {
    exim_rejection(line).or_else(|| postfix_status(line))
}

fn exim_rejection(line: &str) -> Option<Reply> {
    let at = line.find(" rejected ")?;
    let after = &line[at + " rejected ".len()..];
    let text = if let Some(rest) = after.strip_prefix("after DATA: ") {
        rest
    } else if after.starts_with("RCPT <") || after.starts_with("MAIL <") {
        &after[after.find(">: ")? + ">: ".len()..]
    } else if after.starts_with("EHLO or HELO ") || after.starts_with("connection in ") {
        &after[after.find(": ")? + ": ".len()..]
    } else {
        return None;
    };
    let code = if line[..at].ends_with(" temporarily") {
        451
    } else {
        550
    };
    let text = text.trim();
    (!text.is_empty()).then(|| Reply::from_parts(code, vec![text.to_string()]))
}

fn postfix_status(line: &str) -> Option<Reply> {
    let at = line.find(" dsn=")?;
    let after = &line[at + " dsn=".len()..];
    let (enhanced, rest) = after.split_once(", status=")?;
    let mut parts = enhanced.split('.');
    let code = match parts.next()? {
        "4" => 450,
        "5" => 550,
        _ => return None,
    };
    let number =
        |part: &str| (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    if parts.clone().count() != 2 || !parts.all(number) {
        return None;
    }
    let (status, text) = rest.split_once(" (")?;
    if !matches!(status, "bounced" | "deferred" | "expired" | "undeliverable") {
        return None;
    }
    let text = text.strip_suffix(')').unwrap_or(text).trim();
    (!text.is_empty()).then(|| Reply::from_parts(code, vec![format!("{enhanced} {text}")]))
}

/// What [`EMBEDDED`] captures in ASCII text (the code, and the text after it), read without the
/// regex: its captures ran a backtracking search over every candidate line holding a code, ~7% of
/// a large `triage` (callgrind). The first code the regex would take is the leftmost one
/// opening the text or following one of its characters, and followed by a space, a hyphen or
/// the end; the rest of the text after it may not hold a line feed (`.` does not match one).
fn embedded_in_ascii(text: &str) -> Option<(u16, &str)> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(2)).find_map(|at| {
        // `\s` on ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
        let opens = at == 0
            || matches!(
                bytes[at - 1],
                b'\t'
                    | b'\n'
                    | 0x0b
                    | 0x0c
                    | b'\r'
                    | b' '
                    | b':'
                    | b';'
                    | b','
                    | b'('
                    | b'['
                    | b'"'
                    | b'\''
            );
        let [hundreds, tens, units] = [bytes[at], bytes[at + 1], bytes[at + 2]];
        if !opens
            || !(b'2'..=b'5').contains(&hundreds)
            || !tens.is_ascii_digit()
            || !units.is_ascii_digit()
        {
            return None;
        }
        let rest = match bytes.get(at + 3) {
            None => "",
            Some(b' ' | b'-') => &text[at + 4..],
            Some(_) => return None,
        };
        if rest.contains('\n') {
            return None;
        }
        let digit = |byte: u8| u16::from(byte - b'0');
        Some((
            digit(hundreds) * 100 + digit(tens) * 10 + digit(units),
            rest,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::text::seeded::xorshift;

    #[test]
    fn postfix_noqueue_reject() {
        let line = "Nov 28 06:32:32 gw postfix/smtpd[4501]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@other.test>: Relay access denied; from=<a@b.test> to=<x@other.test> proto=ESMTP helo=<c>";
        let reply = find_reply(line).unwrap();
        assert_eq!(reply.code, 554);
        assert_eq!(reply.enhanced.as_deref(), Some("5.7.1"));
        assert!(
            reply
                .text
                .starts_with("<x@other.test>: Relay access denied")
        );
    }

    #[test]
    fn bounce_diagnostic_code() {
        let reply =
            find_reply("Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.test>: User unknown")
                .unwrap();
        assert_eq!(reply.code, 550);
        assert_eq!(reply.enhanced.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn numbers_in_fields_are_not_replies() {
        assert!(
            find_reply(
                "Nov 28 06:32:32 gw postfix/qmgr[450]: 4B1C2: from=<a@b>, size=250, nrcpt=1"
            )
            .is_none()
        );
        assert!(find_reply("connect from unknown[192.168.1.250]").is_none());
    }

    /// The hand-written reading agrees with the regex on every ASCII text: texts built from the
    /// characters that matter (codes, separators, line feeds), in every order a seeded generator
    /// makes.
    #[test]
    fn ascii_reading_agrees_with_the_regex() {
        const PIECES: [&str; 16] = [
            "550", "250", "199", "6", "4", " ", "-", "\n", "\t", "\x0b", ":", "(", "x", "5.1.1",
            ")", "\"",
        ];
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let mut matched = 0;
        for _ in 0..20_000 {
            let length = next() % 7;
            let text: String = (0..length)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let expected = EMBEDDED.captures(&text).map(|captures| {
                let code: u16 = captures[1].parse().unwrap();
                (code, captures.get(2).map_or("", |m| m.as_str()))
            });
            assert_eq!(embedded_in_ascii(&text), expected, "{text:?}");
            matched += usize::from(expected.is_some());
        }
        assert!(matched > 1000, "the generator makes replies too: {matched}");
    }

    /// Lines written by Exim 4.96 and Postfix 3.7 in the interop suite's bounce lab (the virtual(8)
    /// line with its temporary path shortened), except the `temporarily rejected` one: the lab's
    /// Exim defers nothing, so that line follows Exim's deny lines with the word its defer adds.
    #[test]
    fn refusals_logged_without_a_code() {
        let cases = [
            (
                "2026-12-02 14:55:41 H=(sendmail.lab.test) [127.0.0.1] F=<sender@sender.sendmail.lab.test> rejected RCPT <s-nobody@exim.lab.test>: Unknown user",
                550,
                None,
                "Unknown user",
            ),
            (
                "2026-12-02 14:55:41 1xYlkD-0003WQ-2l H=(bounces.lab.test) [127.0.0.1] F=<sender@sender.lab.test> rejected after DATA: Message rejected: content policy violation",
                550,
                None,
                "Message rejected: content policy violation",
            ),
            (
                "2026-11-28 06:30:08 H=(helo.example) [192.0.2.16] F=<a@example.org> temporarily rejected RCPT <c@example.net>: greylisted",
                451,
                None,
                "greylisted",
            ),
            (
                "Dec 02 14:55:41 bounces postfix/virtual[13496]: B89789A65CA: to=<full@quota.lab.test>, relay=quotavirtual, delay=0.02, delays=0.01/0.01/0/0, dsn=5.2.2, status=bounced (delivery failed to mailbox /tmp/x/bmail/full: error writing message: File too large)",
                550,
                Some("5.2.2"),
                "delivery failed to mailbox /tmp/x/bmail/full: error writing message: File too large",
            ),
            (
                "Dec 02 14:55:41 bounces postfix/smtp[13527]: D36A19A65DA: to=<p-late@dead.lab.test>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.69[127.0.0.69]:25: Connection refused)",
                450,
                Some("4.4.1"),
                "connect to 127.0.0.69[127.0.0.69]:25: Connection refused",
            ),
        ];
        for (line, code, enhanced, text) in cases {
            let reply = find_reply(line).unwrap_or_else(|| panic!("no reply in {line}"));
            assert_eq!(reply.code, code, "{line}");
            assert_eq!(reply.enhanced.as_deref(), enhanced, "{line}");
            assert_eq!(reply.text, text, "{line}");
        }
    }

    #[test]
    fn lines_that_only_look_like_refusals_hold_no_reply() {
        for line in [
            // Delivered, or no text to read.
            "postfix/local[9]: 1A2B: to=<u@d.test>, relay=local, delay=1, dsn=2.0.0, status=sent (delivered to mailbox)",
            "postfix/smtp[9]: 1A2B: to=<u@d.test>, relay=none, delay=1, dsn=5.x.1, status=bounced (odd)",
            "postfix/smtp[9]: 1A2B: to=<u@d.test>, dsn=5.1.1, status=queued (x)",
            "2026-12-02 14:55:41 H=(h) [127.0.0.1] F=<a@b.test> rejected RCPT <c@d.test>: ",
            "2026-12-02 14:55:41 the file was rejected by nobody",
        ] {
            assert!(find_reply(line).is_none(), "{line}");
        }
    }

    #[test]
    fn deferred_delivery_said() {
        let line = "postfix/smtp[9]: 1A2B: to=<u@d.test>, relay=mx.d.test[192.0.2.1]:25, delay=1, dsn=4.2.0, status=deferred (host mx.d.test[192.0.2.1] said: 450 4.2.0 <u@d.test>: Recipient address rejected: Greylisted (in reply to RCPT TO command))";
        let reply = find_reply(line).unwrap();
        assert_eq!(reply.code, 450);
        assert!(reply.text.contains("Greylisted"));
    }
}
