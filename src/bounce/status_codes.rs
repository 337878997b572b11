//! The RFC 3463 enhanced status code table and the IANA registry's later additions, each mapped
//! to the playbook that explains it. Used at confidence `possible`, only when the text says
//! nothing more specific.

use std::sync::LazyLock;

use regex::Regex;

/// `(subject.detail, meaning, playbook)`; the class digit (2/4/5) is not part of the key.
/// Codes that report success or say nothing about a cause map to no playbook.
pub const TABLE: &[(&str, &str, Option<&str>)] = &[
    ("0.0", "Other undefined status", None),
    ("1.0", "Other address status", Some("mailbox-unknown")),
    (
        "1.1",
        "Bad destination mailbox address",
        Some("mailbox-unknown"),
    ),
    (
        "1.2",
        "Bad destination system address",
        Some("recipient-domain-unknown"),
    ),
    (
        "1.3",
        "Bad destination mailbox address syntax",
        Some("mailbox-unknown"),
    ),
    (
        "1.4",
        "Destination mailbox address ambiguous",
        Some("mailbox-unknown"),
    ),
    ("1.5", "Destination address valid", None),
    (
        "1.6",
        "Destination mailbox has moved, no forwarding address",
        Some("mailbox-moved"),
    ),
    (
        "1.7",
        "Bad sender's mailbox address syntax",
        Some("sender-address-rejected"),
    ),
    (
        "1.8",
        "Bad sender's system address",
        Some("sender-address-rejected"),
    ),
    (
        "1.9",
        "Message relayed to non-compliant mailer (RFC 3886)",
        None,
    ),
    (
        "1.10",
        "Recipient address has null MX (RFC 7505)",
        Some("recipient-domain-unknown"),
    ),
    ("2.0", "Other or undefined mailbox status", None),
    (
        "2.1",
        "Mailbox disabled, not accepting messages",
        Some("mailbox-disabled"),
    ),
    ("2.2", "Mailbox full", Some("mailbox-full")),
    (
        "2.3",
        "Message length exceeds administrative limit",
        Some("message-too-large"),
    ),
    (
        "2.4",
        "Mailing list expansion problem",
        Some("list-posting-refused"),
    ),
    (
        "3.0",
        "Other or undefined mail system status",
        Some("remote-system-error"),
    ),
    ("3.1", "Mail system full", Some("server-out-of-resources")),
    (
        "3.2",
        "System not accepting network messages",
        Some("remote-system-error"),
    ),
    (
        "3.3",
        "System not capable of selected features",
        Some("remote-system-error"),
    ),
    (
        "3.4",
        "Message too big for system",
        Some("message-too-large"),
    ),
    (
        "3.5",
        "System incorrectly configured",
        Some("remote-system-error"),
    ),
    ("3.6", "Requested priority was changed (RFC 6710)", None),
    (
        "4.0",
        "Other or undefined network or routing status",
        Some("smtp-unreachable"),
    ),
    ("4.1", "No answer from host", Some("smtp-unreachable")),
    ("4.2", "Bad connection", Some("smtp-unreachable")),
    (
        "4.3",
        "Directory server failure",
        Some("dns-lookup-failure"),
    ),
    ("4.4", "Unable to route", Some("recipient-domain-unknown")),
    ("4.5", "Mail system congestion", Some("rate-limited")),
    ("4.6", "Routing loop detected", Some("mail-loop")),
    ("4.7", "Delivery time expired", Some("message-expired")),
    (
        "5.0",
        "Other or undefined protocol status",
        Some("smtp-protocol-error"),
    ),
    ("5.1", "Invalid command", Some("smtp-protocol-error")),
    ("5.2", "Syntax error", Some("smtp-protocol-error")),
    ("5.3", "Too many recipients", Some("too-many-recipients")),
    (
        "5.4",
        "Invalid command arguments",
        Some("smtp-protocol-error"),
    ),
    ("5.5", "Wrong protocol version", Some("smtp-protocol-error")),
    (
        "5.6",
        "Authentication exchange line is too long (RFC 4954)",
        Some("authentication-failed"),
    ),
    (
        "6.0",
        "Other or undefined media error",
        Some("message-not-compliant"),
    ),
    ("6.1", "Media not supported", Some("message-not-compliant")),
    (
        "6.2",
        "Conversion required and prohibited",
        Some("message-not-compliant"),
    ),
    (
        "6.3",
        "Conversion required but not supported",
        Some("message-not-compliant"),
    ),
    ("6.4", "Conversion with loss performed", None),
    ("6.5", "Conversion failed", Some("message-not-compliant")),
    (
        "6.6",
        "Message content not available (RFC 4468)",
        Some("message-not-compliant"),
    ),
    (
        "6.7",
        "Non-ASCII addresses not permitted for that sender/recipient (RFC 6531)",
        Some("message-not-compliant"),
    ),
    (
        "6.8",
        "UTF-8 string reply is required, but not permitted by the SMTP client (RFC 6531)",
        Some("message-not-compliant"),
    ),
    (
        "6.9",
        "UTF-8 header message cannot be transferred to one or more recipients (RFC 6531)",
        Some("message-not-compliant"),
    ),
    (
        "6.10",
        "Non-ASCII addresses: conversion not possible (RFC 6531)",
        Some("message-not-compliant"),
    ),
    (
        "7.0",
        "Other or undefined security status",
        Some("reputation-rejection"),
    ),
    (
        "7.1",
        "Delivery not authorized, message refused",
        Some("reputation-rejection"),
    ),
    (
        "7.2",
        "Mailing list expansion prohibited",
        Some("list-posting-refused"),
    ),
    (
        "7.3",
        "Security conversion required but not possible",
        Some("starttls-missing"),
    ),
    (
        "7.4",
        "Security features not supported",
        Some("starttls-missing"),
    ),
    (
        "7.5",
        "Cryptographic failure",
        Some("tls-certificate-invalid"),
    ),
    (
        "7.6",
        "Cryptographic algorithm not supported",
        Some("tls-certificate-invalid"),
    ),
    ("7.7", "Message integrity failure", Some("content-rejected")),
    (
        "7.8",
        "Authentication credentials invalid (RFC 4954)",
        Some("authentication-failed"),
    ),
    (
        "7.9",
        "Authentication mechanism is too weak (RFC 4954)",
        Some("authentication-failed"),
    ),
    ("7.10", "Encryption needed (RFC 5248)", Some("tls-required")),
    (
        "7.11",
        "Encryption required for requested authentication mechanism (RFC 4954)",
        Some("tls-required"),
    ),
    (
        "7.12",
        "A password transition is needed (RFC 4954)",
        Some("authentication-failed"),
    ),
    (
        "7.13",
        "User account disabled (RFC 5248)",
        Some("mailbox-disabled"),
    ),
    (
        "7.14",
        "Trust relationship required (RFC 5248)",
        Some("authentication-failed"),
    ),
    ("7.15", "Priority level is too low (RFC 6710)", None),
    (
        "7.16",
        "Message is too big for the specified priority (RFC 6710)",
        Some("message-too-large"),
    ),
    (
        "7.17",
        "Mailbox owner has changed (RFC 7293)",
        Some("mailbox-moved"),
    ),
    (
        "7.18",
        "Domain owner has changed (RFC 7293)",
        Some("mailbox-moved"),
    ),
    ("7.19", "RRVS test cannot be completed (RFC 7293)", None),
    (
        "7.20",
        "No passing DKIM signature found (RFC 7372)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.21",
        "No acceptable DKIM signature found (RFC 7372)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.22",
        "No valid author-matched DKIM signature found (RFC 7372)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.23",
        "SPF validation failed (RFC 7372)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.24",
        "SPF validation error (RFC 7372)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.25",
        "Reverse DNS validation failed (RFC 7372)",
        Some("reverse-dns-missing"),
    ),
    (
        "7.26",
        "Multiple authentication checks failed (RFC 7372)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.27",
        "Sender address has null MX (RFC 7505)",
        Some("sender-address-rejected"),
    ),
    (
        "7.28",
        "Mail flood detected (RFC 8689 registry)",
        Some("rate-limited"),
    ),
    (
        "7.29",
        "ARC validation failure (RFC 8617)",
        Some("spf-dmarc-rejection"),
    ),
    (
        "7.30",
        "REQUIRETLS support required (RFC 8689)",
        Some("tls-required"),
    ),
];

/// An enhanced status code with its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCode<'a> {
    pub class: u8,
    /// `subject.detail` as written, e.g. `1.1`.
    pub rest: &'a str,
}

/// Splits `5.1.1` into class 5 and `1.1`; rejects anything that is not `[245].N.N`.
pub fn split(code: &str) -> Option<StatusCode<'_>> {
    let (class, rest) = code.split_once('.')?;
    let class = match class {
        "2" => 2,
        "4" => 4,
        "5" => 5,
        _ => return None,
    };
    let (subject, detail) = rest.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(subject) && numeric(detail)).then_some(StatusCode { class, rest })
}

/// The table row of a status code: its meaning and playbook.
pub fn lookup(code: &str) -> Option<(&'static str, Option<&'static str>)> {
    let code = split(code)?;
    // "5.01.01" and "5.1.1" are the same code.
    let (subject, detail) = code.rest.split_once('.')?;
    let key = format!(
        "{}.{}",
        subject.parse::<u16>().ok()?,
        detail.parse::<u16>().ok()?
    );
    TABLE
        .iter()
        .find(|(rest, _, _)| *rest == key)
        .map(|(_, meaning, playbook)| (*meaning, *playbook))
}

static IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:[^\d.]|\.?$|\.\D)").expect("static regex")
});

/// The first enhanced status code written in free text ("(#5.1.1)", "Status: 5.2.2").
pub fn find_in_text(text: &str) -> Option<&str> {
    IN_TEXT
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_rfc_3463_and_the_registry_is_there_once() {
        let mut keys: Vec<&str> = TABLE.iter().map(|(k, _, _)| *k).collect();
        let total = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), total, "duplicate rows");
        for subject_details in [
            (0, 0..=0),
            (1, 0..=10),
            (2, 0..=4),
            (3, 0..=6),
            (4, 0..=7),
            (5, 0..=6),
            (6, 0..=10),
            (7, 0..=30),
        ] {
            for detail in subject_details.1 {
                let code = format!("5.{}.{detail}", subject_details.0);
                assert!(lookup(&code).is_some(), "{code} missing");
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup("5.1.1").unwrap().1, Some("mailbox-unknown"));
        assert_eq!(lookup("4.4.7").unwrap().1, Some("message-expired"));
        assert_eq!(lookup("5.7.25").unwrap().1, Some("reverse-dns-missing"));
        assert_eq!(lookup("2.0.0").unwrap().1, None);
        assert!(lookup("6.1.1").is_none());
        assert!(lookup("5.99.1").is_none());
    }

    #[test]
    fn codes_in_text_but_not_addresses() {
        assert_eq!(
            find_in_text("no mailbox here by that name. (#5.1.1)"),
            Some("5.1.1")
        );
        assert_eq!(find_in_text("Status: 4.2.2"), Some("4.2.2"));
        assert_eq!(find_in_text("connect to 192.0.2.1: refused"), None);
        assert_eq!(find_in_text("host 5.1.1.9 said"), None);
    }
}
