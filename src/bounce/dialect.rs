//! Which software wrote a bounce, told by the phrases and fields each one always writes. Only
//! reported (and counted per dialect); the reason is read the same way whatever the dialect.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::parse::ParsedMessage;

/// `(dialect, phrases its bounce text always has, names found only in its header fields)`: tried
/// in order; the first that matches names the dialect. Host names are looked for in headers only
/// (a Postfix bounce for a gmail.com recipient is Postfix's). Vendors first, generic MTAs last.
const SIGNATURES: &[(&str, &str, &str)] = &[
    ("fortimail", r"\bFortiMail\b", r"\bFortiMail\b|\bFortinet\b"),
    (
        "amazon-ses",
        r"\bAmazon SES\b",
        r"\bamazonses\.com\b|^x-ses-outgoing:",
    ),
    (
        "amazon-workmail",
        r"\bAmazon WorkMail\b",
        r"\bawsapps\.com\b|\bWorkMail\b",
    ),
    (
        "office365",
        r"\bOffice ?365\b|\bMicrosoft 365\b",
        r"\bprotection\.outlook\.com\b|\bprod\.outlook\.com\b|\boutlook\.com\b|\bhotmail\.com\b",
    ),
    (
        "exchange",
        r"\bDiagnostic information for administrators\b|\bDelivery has failed to these recipients or groups\b|\bYour message did not reach some or all of the intended recipients\b|\bRESOLVER\.\w+\.\w+|\bSTOREDRV\b",
        r"^x-ms-exchange-message-is-ndr:|\bMicrosoft Exchange\b",
    ),
    (
        "gmail",
        r"\bThe response from the remote server was\b|\bGoogle Workspace\b",
        r"\bgooglemail\.com\b|\bgmail\.com\b|^x-google-group-id:",
    ),
    (
        "yahoo",
        r"\bSorry, we were unable to deliver your message to the following address\b",
        r"\byahoo(dns)?\.(com|net|co\.\w+)\b|\baol\.com\b",
    ),
    (
        "domino",
        r"\bLotus Domino\b|\bDomino Directory\b|\bwas not delivered to:|\bHCL Domino\b|\bIBM Domino\b",
        r"\bDomino\b",
    ),
    (
        "mdaemon",
        r"\bMDaemon\b",
        r"^x-mdaemon-deliver-to:|\bMDaemon\b",
    ),
    (
        "imail",
        r"\bIpswitch\b|\bIMail\b",
        r"\bIMail\b|\bIpswitch\b",
    ),
    (
        "courier",
        r"\bCourier mail server\b|\bThis is a delivery status notification from\b",
        r"\bcourier-mta\b|\bCourier\b",
    ),
    (
        "opensmtpd",
        r"\bThis is the MAILER-DAEMON, please DO NOT REPLY\b|\bAn error has occurred while attempting to deliver a message for\b",
        r"\bOpenSMTPD\b",
    ),
    ("qmail", r"\bThis is the qmail-send program\b", r"\bqmail\b"),
    (
        "exim",
        r"\bThis message was created automatically by mail delivery software\b",
        r"^x-failed-recipients:|\bExim\b",
    ),
    (
        "sendmail",
        r"\bTranscript of session follows\b|\bThe original message was received at\b",
        r"\bsendmail\b",
    ),
    (
        "postfix",
        r"\bThis is the mail system at host\b",
        r"^x-postfix-queue-id:|\bX-Postfix\b|\bPostfix\b",
    ),
    (
        "mailman",
        r"\bmailing-?list was rejected\b|\bMailman\b",
        r"^x-mailman-version:|\bmailman\b",
    ),
    ("sympa", r"\bSympa\b", r"^x-sympa-to:|\bsympa\b"),
    ("listserv", r"\bLISTSERV\b", r"\bLISTSERV\b"),
    ("ezmlm", r"\bezmlm\b", r"\bezmlm\b"),
];

static TEXT_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(SIGNATURES.iter().map(|(_, text, _)| format!("(?im){text}")))
        .expect("static regexes")
});
static HEADER_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(
        SIGNATURES
            .iter()
            .map(|(_, _, headers)| format!("(?im){headers}")),
    )
    .expect("static regexes")
});

static DAEMON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(mailer-daemon|postmaster|mail delivery (system|subsystem))\b")
        .expect("static regex")
});

/// The dialect of `message`: a vendor name, `dsn` (a standard report from an MTA not told
/// apart), `prose` (a bounce in plain words) or `unknown`.
pub fn detect(message: &ParsedMessage) -> &'static str {
    let mut haystack = String::new();
    for (name, value) in &message.headers {
        if name != "received" && name != "content-type" {
            haystack.push_str(name);
            haystack.push_str(": ");
            haystack.push_str(value);
            haystack.push('\n');
        }
    }
    for value in [&message.from, &message.subject].into_iter().flatten() {
        haystack.push_str(value);
        haystack.push('\n');
    }
    if let Some(status) = &message.delivery_status {
        if let Some(mta) = &status.reporting_mta {
            haystack.push_str(mta);
            haystack.push('\n');
        }
        for (name, value) in &status.message_fields {
            haystack.push_str(name);
            haystack.push_str(": ");
            haystack.push_str(value);
            haystack.push('\n');
        }
    }
    let text_start = message
        .text
        .char_indices()
        .nth(8192)
        .map_or(message.text.as_str(), |(cut, _)| &message.text[..cut]);
    // The bounce's own words say who wrote it best; header names come next.
    if let Some(first) = TEXT_SET.matches(text_start).into_iter().next() {
        return SIGNATURES[first].0;
    }
    if let Some(first) = HEADER_SET.matches(&haystack).into_iter().next() {
        return SIGNATURES[first].0;
    }
    if message.delivery_status.is_some() {
        "dsn"
    } else if message.from.as_deref().is_some_and(|f| DAEMON.is_match(f)) {
        "prose"
    } else {
        "unknown"
    }
}

/// Whether the sender is a mail system (MAILER-DAEMON, postmaster, Mail Delivery System).
pub fn from_mail_system(message: &ParsedMessage) -> bool {
    message.from.as_deref().is_some_and(|f| DAEMON.is_match(f))
}
