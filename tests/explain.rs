//! `mxdoctor explain` end to end: real MTA phrasings must rank the right playbook first.

use crate::common::{json_report, mxdoctor, ranked_ids};

fn top(text: &str) -> String {
    let (_, report) = json_report(&["explain", text]);
    ranked_ids(&report)
        .first()
        .cloned()
        .unwrap_or_else(|| format!("<nothing> for {text:?}"))
}

#[test]
fn relay_denials_from_every_mta_rank_relay_access_denied_first() {
    for text in [
        "554 5.7.1 <x@other.test>: Relay access denied",
        "550 relay not permitted",
        "550 relaying to <x@other.test> prohibited by administrator",
        "550 5.7.1 <x@other.test>... Relaying denied",
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        "550 5.7.1 Unable to relay",
    ] {
        assert_eq!(top(text), "relay-access-denied", "{text}");
    }
}

#[test]
fn a_5_7_1_that_does_not_mention_relay_is_reputation() {
    assert_eq!(
        top("550 5.7.1 Connection rejected: sender reputation score too low"),
        "reputation-rejection"
    );
}

#[test]
fn postgrey_deferral_is_greylisting_and_only_info() {
    let (code, report) = json_report(&[
        "explain",
        "450 4.2.0 <a@example.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.test.html",
    ]);
    assert_eq!(
        ranked_ids(&report).first().map(String::as_str),
        Some("greylisting")
    );
    let severity = report["findings"][0]["severity"].as_str().unwrap();
    assert!(
        matches!(severity, "info" | "low"),
        "greylisting is expected behaviour, got {severity}"
    );
    assert!(code <= 1, "exit code {code}");
}

#[test]
fn unverified_address_connection_refused_is_verification_unavailable() {
    assert_eq!(
        top(
            "450 4.1.1 <u@example.test>: Recipient address rejected: unverified address: connect to 127.0.0.1[127.0.0.1]:25: Connection refused"
        ),
        "recipient-verification-unavailable"
    );
}

#[test]
fn a_temporary_failure_that_is_not_greylisting_is_not_called_greylisting() {
    for text in [
        "451 4.3.0 Error: queue file write error",
        "421 4.3.2 Service shutting down",
        "452 4.3.1 Insufficient system storage",
    ] {
        let (_, report) = json_report(&["explain", text]);
        assert!(
            !ranked_ids(&report).contains(&"greylisting".to_string()),
            "{text} called greylisting"
        );
    }
}

#[test]
fn multi_line_reply_on_stdin_is_one_item() {
    let output = mxdoctor()
        .args(["explain", "--format", "json"])
        .write_stdin("250-mx.example.test\n250-PIPELINING\n250 8BITMIME\n554 5.7.1 <x@other.test>: Relay access denied\n")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["target"], "2 inputs");
    assert_eq!(
        ranked_ids(&report).first().map(String::as_str),
        Some("relay-access-denied")
    );
    assert_eq!(report["findings"][0]["evidence"][0]["subject"], "input 2");
}

#[test]
fn garbage_input_is_no_finding_and_exit_ok() {
    let (code, report) = json_report(&["explain", "\u{1}garbage \u{fffd} 999 lorem \u{7f}"]);
    assert_eq!(code, 0);
    assert!(ranked_ids(&report).is_empty());
}

#[test]
fn text_report_is_readable_on_80_columns() {
    let output = mxdoctor()
        .args([
            "explain",
            "554 5.7.1 <x@other.test>: Relay access denied",
            "--platform",
            "postfix",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("relay-access-denied"), "{text}");
    assert!(text.contains("fix (postfix)"), "{text}");
    assert!(!text.contains('\u{1b}'), "NO_COLOR must disable colour");
    for line in text
        .lines()
        .filter(|line| !line.trim_start().starts_with('$'))
    {
        assert!(line.chars().count() <= 80, "line over 80 columns: {line:?}");
    }
    assert_eq!(
        output.status.code(),
        Some(2),
        "relay denial is high: CRITICAL"
    );
}
