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
    let captures = EMBEDDED.captures(trimmed)?;
    let code: u16 = captures.get(1)?.as_str().parse().ok()?;
    let rest = captures.get(2).map_or("", |m| m.as_str()).trim();
    let rest = rest.trim_end_matches(')');
    Some(Reply::from_parts(code, vec![rest.to_string()]))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn deferred_delivery_said() {
        let line = "postfix/smtp[9]: 1A2B: to=<u@d.test>, relay=mx.d.test[192.0.2.1]:25, delay=1, dsn=4.2.0, status=deferred (host mx.d.test[192.0.2.1] said: 450 4.2.0 <u@d.test>: Recipient address rejected: Greylisted (in reply to RCPT TO command))";
        let reply = find_reply(line).unwrap();
        assert_eq!(reply.code, 450);
        assert!(reply.text.contains("Greylisted"));
    }
}
