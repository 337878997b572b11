//! `mxdoctor queue` end to end: a captured Postfix queue, the FortiMail CSV sample, malformed input,
//! `--now`, `--postqueue`, and the JSON and text reports.

use serde_json::Value;

use crate::common::{fixture, json_report, mxdoctor, ranked_ids};

/// Six hours after the captured Postfix messages arrived: past the 4h DSN warning, well into the slow queue.
const POSTFIX_NOW: &str = "1795870552";
/// 2024-03-06 12:00:00 UTC, the moment the FortiMail sample was built for.
const FORTIMAIL_NOW: &str = "1709726400";

fn finding<'a>(report: &'a Value, id: &str) -> Option<&'a Value> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["playbook"] == id)
}

fn evidence_details(finding: &Value) -> Vec<String> {
    finding["evidence"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|e| {
                    format!(
                        "{} {}: {}",
                        e["check"].as_str().unwrap_or(""),
                        e["subject"].as_str().unwrap_or(""),
                        e["detail"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn captured_postfix_queue_names_the_dead_destination_and_its_reason() {
    let listing = fixture("queue/postqueue-deferred.jsonl");
    let (code, report) = json_report(&["queue", "--now", POSTFIX_NOW, &listing]);
    assert_eq!(report["command"], "queue");
    let ids = ranked_ids(&report);
    let slow_or_aging = ["queue-slow", "queue-deferred-aging"]
        .iter()
        .find_map(|id| finding(&report, id))
        .unwrap_or_else(|| panic!("queue-slow or queue-deferred-aging expected, got {ids:?}"));
    let details = evidence_details(slow_or_aging);
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("queue.destination dead.test: 7 deferred")
                && d.contains("connect to 127.0.0.7[127.0.0.7]:25: Connection refused")),
        "destination and delay reason in evidence: {details:#?}"
    );
    for id in [
        "queue-slow",
        "queue-deferred-aging",
        "dead-mail",
        "queue-on-hold",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} expected in {ids:?}");
    }
    assert!(
        !ids.contains(&"outbreak-hold".to_string()),
        "a Postfix hold is not an outbreak hold: {ids:?}"
    );
    assert_eq!(code, 1, "worst finding is medium: {ids:?}");
    let remediation = slow_or_aging["remediation"].to_string();
    assert!(
        remediation.contains("postqueue"),
        "playbook remediation is included: {remediation}"
    );
}

#[test]
fn json_report_carries_queue_observations_and_the_queue_section() {
    let listing = fixture("queue/postqueue-deferred.jsonl");
    let (_, report) = json_report(&["queue", "--now", POSTFIX_NOW, &listing]);
    let observations = report["observations"].as_array().expect("observations");
    let summary = &observations[0];
    assert_eq!(summary["check"], "queue.summary");
    assert_eq!(summary["data"]["kind"], "queue");
    assert_eq!(summary["data"]["messages"], 8);
    assert_eq!(summary["data"]["held"], 1);
    assert_eq!(summary["data"]["slow"], 7);
    assert_eq!(summary["data"]["dead_candidates"], 1);
    let destinations: Vec<&str> = observations
        .iter()
        .filter(|o| o["check"] == "queue.destination")
        .filter_map(|o| o["subject"].as_str())
        .collect();
    assert_eq!(destinations, ["dead.test", "mx.slow.test"]);
    let dead = &observations[1]["data"];
    assert_eq!(dead["messages"], 7);
    assert_eq!(
        dead["top_reason"],
        "connect to <ip>[<ip>]:<n>: Connection refused"
    );
    assert!(
        observations
            .iter()
            .any(|o| o["check"] == "queue.hold" && o["subject"] == "hold")
    );
    let queue = &report["queue"];
    assert_eq!(queue["input"], "postqueue-json");
    assert_eq!(queue["records"], 8);
    assert_eq!(queue["now_unix"], 1_795_870_552_u64);
    assert_eq!(queue["queues"]["deferred"], 7);
    assert_eq!(
        queue["deferred"]["histogram"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(queue["destinations"][0]["name"], "dead.test");
    assert_eq!(
        queue["reasons"][0]["name"],
        "connect to <ip>[<ip>]:<n>: Connection refused"
    );
}

#[test]
fn fortimail_sample_produces_every_queue_finding() {
    let listing = fixture("queue/fortimail-queue.csv");
    let (code, report) = json_report(&[
        "queue",
        "--now",
        FORTIMAIL_NOW,
        "--platform",
        "fortimail",
        &listing,
    ]);
    let ids = ranked_ids(&report);
    for id in [
        "queue-slow",
        "queue-deferred-aging",
        "dead-mail",
        "outbreak-hold",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} expected in {ids:?}");
    }
    assert_eq!(report["queue"]["input"], "fortimail-csv");
    assert_eq!(report["queue"]["records"], 9);
    assert_eq!(report["queue"]["malformed"], 0);
    let slow = evidence_details(finding(&report, "queue-slow").expect("queue-slow"));
    assert!(
        slow[0].starts_with("queue.destination dead.example:"),
        "{slow:#?}"
    );
    assert!(slow[0].contains("Connection timed out"), "{slow:#?}");
    // The playbook's first rule (held over two hours) wins: the virus outbreak hold is three hours old.
    let holds = evidence_details(finding(&report, "outbreak-hold").expect("outbreak-hold"));
    assert_eq!(
        holds,
        ["queue.hold virus-outbreak: 1 held, oldest 3h 0m; oldest ids: line 8"]
    );
    let observed_holds: Vec<&str> = report["observations"]
        .as_array()
        .expect("observations")
        .iter()
        .filter(|o| o["check"] == "queue.hold")
        .filter_map(|o| o["subject"].as_str())
        .collect();
    assert_eq!(
        observed_holds,
        ["spam-outbreak", "virus-outbreak", "sandbox"]
    );
    let dead = evidence_details(finding(&report, "dead-mail").expect("dead-mail"));
    assert!(dead[0].contains("qzx81@bogus-sender.example"), "{dead:#?}");
    let first_platform =
        &finding(&report, "queue-slow").expect("queue-slow")["remediation"][0]["platform"];
    assert_eq!(first_platform, "fortimail");
    assert_eq!(code, 2, "mail near its lifetime is high severity: {ids:?}");
}

#[test]
fn now_decides_how_old_the_queue_is() {
    let listing = fixture("queue/postqueue-deferred.jsonl");
    // One minute after arrival: nothing is slow or aging yet; the bounce and the hold are still there.
    let (code, report) = json_report(&["queue", "--now", "1795849012", &listing]);
    let ids = ranked_ids(&report);
    assert!(!ids.contains(&"queue-slow".to_string()), "{ids:?}");
    assert!(
        !ids.contains(&"queue-deferred-aging".to_string()),
        "{ids:?}"
    );
    assert!(ids.contains(&"dead-mail".to_string()), "{ids:?}");
    assert_eq!(report["observations"][0]["data"]["regular"], 7);
    assert_eq!(code, 1);
    // Five days on, mail is past the lifetime limit.
    let (code, report) = json_report(&["queue", "--now", "1796281000", &listing]);
    let aging = finding(&report, "queue-deferred-aging").expect("queue-deferred-aging");
    assert_eq!(aging["confidence"], "confirmed");
    assert_eq!(code, 2);
    // A shorter lifetime moves the limit.
    let (_, report) = json_report(&[
        "queue",
        "--now",
        POSTFIX_NOW,
        "--max-lifetime",
        "5h",
        &listing,
    ]);
    assert_eq!(report["observations"][0]["data"]["past_lifetime"], 7);
}

#[test]
fn malformed_lines_are_counted_with_line_numbers_and_do_not_abort() {
    let good = r#"{"queue_name": "deferred", "queue_id": "A1B2C3", "arrival_time": 1795848952, "sender": "a@lab.test", "recipients": [{"address": "b@dead.test", "delay_reason": "connect to 127.0.0.7[127.0.0.7]:25: Connection refused"}]}"#;
    let input = format!(
        "{good}\nthis is not json\n{{\"queue_name\": \"deferred\", \"queue_id\": \"X\"}}\n\n{good}\n"
    );
    let output = mxdoctor()
        .args(["queue", "--now", POSTFIX_NOW, "--format", "json", "-"])
        .write_stdin(input)
        .output()
        .expect("run mxdoctor");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_ne!(output.status.code(), Some(3));
    assert_eq!(report["queue"]["records"], 2);
    assert_eq!(report["queue"]["malformed"], 2);
    let notes = report["notes"].to_string();
    assert!(notes.contains("2 malformed lines skipped"), "{notes}");
    assert!(
        notes.contains("line 2: not a postqueue -j record"),
        "{notes}"
    );
    assert!(notes.contains("line 3: no arrival_time"), "{notes}");
}

#[test]
fn a_csv_row_that_cannot_be_read_is_reported_by_line() {
    let input = "Type,Envelope From,Envelope To,First Processed,Tries\n\
                 Outgoing,a@corp.example,b@dead.example,2024-03-06 11:00:00,4\n\
                 Quarantine,a@corp.example,b@dead.example,2024-03-06 11:00:00,4\n\
                 Outgoing,a@corp.example,b@dead.example,March 6th,4\n";
    let output = mxdoctor()
        .args(["queue", "--now", FORTIMAIL_NOW, "--format", "json", "-"])
        .write_stdin(input)
        .output()
        .expect("run mxdoctor");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["queue"]["input"], "fortimail-csv");
    assert_eq!(report["queue"]["records"], 1);
    let notes = report["notes"].to_string();
    assert!(notes.contains("line 3: unknown queue type"), "{notes}");
    assert!(notes.contains("line 4: time"), "{notes}");
}

#[test]
fn text_report_shows_the_queue_shape_destinations_and_reasons() {
    let listing = fixture("queue/postqueue-deferred.jsonl");
    let output = mxdoctor()
        .args(["queue", "--now", POSTFIX_NOW, &listing])
        .output()
        .expect("run mxdoctor");
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "Queue shape",
        "1280+",
        "TOTAL",
        "dead.test",
        "Top destinations",
        "Top delay reasons",
        "connect to <ip>[<ip>]:<n>: Connection refused",
        "e.g. connect to 127.0.0.7[127.0.0.7]:25: Connection refused",
        "queue-slow",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn an_empty_listing_is_a_healthy_queue() {
    let (code, report) = json_report(&["queue", "--now", POSTFIX_NOW, "-"]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["observations"][0]["outcome"], "ok");
}

#[test]
fn postqueue_flag_runs_postqueue_dash_j() {
    let bin = tempfile::tempdir().expect("temp dir");
    let script = bin.path().join("postqueue");
    let listing = fixture("queue/postqueue-deferred.jsonl");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n[ \"$1\" = -j ] || exit 64\nexec cat '{listing}'\n"),
    )
    .expect("write script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = mxdoctor()
        .env("PATH", path)
        .args([
            "queue",
            "--postqueue",
            "--now",
            POSTFIX_NOW,
            "--format",
            "json",
        ])
        .output()
        .expect("run mxdoctor");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["target"], "postqueue -j");
    assert_eq!(report["queue"]["records"], 8);
}

#[test]
fn usage_errors_exit_unknown() {
    mxdoctor()
        .args(["queue"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("FILE"));
    mxdoctor()
        .args(["queue", "--dsn-warn", "4x", "-"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("unknown unit"));
}
