//! Which software wrote a bounce, told by the phrases and fields each one always writes. Only
//! reported (and counted per dialect); the reason is read the same way whatever the dialect.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::parse::ParsedMessage;

/// `(dialect, what identifies it)`: tried in order against the message's headers and its text;
/// the first that matches names the dialect. Vendors first, the generic DSN last.
const SIGNATURES: &[(&str, &str)] = &[
    ("fortimail", r"(?i)\bFortiMail\b|\bFortinet\b"),
    ("amazon-ses", r"(?i)\bamazonses\.com\b|^x-ses-outgoing:"),
    ("amazon-workmail", r"(?i)\bWorkMail\b|\bawsapps\.com\b"),
    (
        "office365",
        r"(?i)\b(protection\.)?outlook\.com\b|\bOffice ?365\b|\bMicrosoft 365\b|\bprod\.outlook\.com\b|\bhotmail\.com\b",
    ),
    (
        "exchange",
        r"(?i)^x-ms-exchange-message-is-ndr:|\bDiagnostic information for administrators\b|\bDelivery has failed to these recipients or groups\b|\bYour message did not reach some or all of the intended recipients\b|\bMicrosoft Exchange\b|\bRESOLVER\.\w+\.\w+|\bSTOREDRV\b|\bSMTPSEND\b",
    ),
    (
        "gmail",
        r"(?i)\bgooglemail\.com\b|\bgmail\.com\b|\bgoogle\.com\b|\bGoogle Workspace\b|^x-google-group-id:",
    ),
    (
        "yahoo",
        r"(?i)\byahoo(dns)?\.(com|net|co\.\w+)\b|\baol\.com\b|\bSorry, we were unable to deliver your message to the following address\b",
    ),
    (
        "domino",
        r"(?i)\bLotus Domino\b|\bDomino Directory\b|\bwas not delivered to:|\bHCL Domino\b|\bIBM Domino\b|\bNotes\b.{0,20}\bRouter\b",
    ),
    ("mdaemon", r"(?i)\bMDaemon\b|^x-mdaemon-deliver-to:"),
    ("imail", r"(?i)\bIMail\b|\bIpswitch\b"),
    (
        "courier",
        r"(?i)\bCourier mail server\b|\bThis is a delivery status notification from\b|\bcourier-mta\b",
    ),
    (
        "opensmtpd",
        r"(?i)\bThis is the MAILER-DAEMON, please DO NOT REPLY\b|\bAn error has occurred while attempting to deliver a message for the following list of recipients\b|\bOpenSMTPD\b",
    ),
    (
        "qmail",
        r"(?i)\bThis is the qmail-send program\b|\bqmail-send\b|\b(vpopmail|netqmail)\b",
    ),
    (
        "exim",
        r"(?i)^x-failed-recipients:|\bThis message was created automatically by mail delivery software\b|\bretry timeout exceeded\b|\bexim\b",
    ),
    (
        "sendmail",
        r"(?i)\bTranscript of session follows\b|\bThe original message was received at\b|\bsendmail\b",
    ),
    (
        "postfix",
        r"(?i)\bThis is the mail system at host\b|^x-postfix-queue-id:|\bX-Postfix\b|\bpostfix\b",
    ),
    (
        "mailman",
        r"(?i)^x-mailman-version:|\bmailing-?list was rejected\b|\bmailman\b",
    ),
    ("sympa", r"(?i)^x-sympa-to:|\bsympa\b"),
    ("listserv", r"(?i)\bLISTSERV\b"),
    ("ezmlm", r"(?i)\bezmlm\b"),
];

static SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(
        SIGNATURES
            .iter()
            .map(|(_, pattern)| format!("(?m){pattern}")),
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
    haystack.push_str(text_start);
    if let Some(first) = SET.matches(&haystack).into_iter().next() {
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
