//! `mxdoctor triage` end to end: finds the seed's milter lines inside real log lines, streaming.

use std::fmt::Write as _;

use crate::common::{fixture, json_report, mxdoctor, ranked_ids};

#[test]
fn finds_both_milter_timeouts_with_counts_and_times() {
    let (_, report) = json_report(&["triage", &fixture("logs/maillog")]);
    let ids = ranked_ids(&report);
    for id in [
        "milter-timeout-dnsbl",
        "milter-timeout-uri-redirect",
        "relay-access-denied",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} not in {ids:?}");
    }
    let dnsbl = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == "milter-timeout-dnsbl")
        .unwrap();
    assert_eq!(dnsbl["count"], 2);
    assert_eq!(dnsbl["first_seen"], "Nov 28 06:31:10");
    assert_eq!(dnsbl["last_seen"], "Nov 28 06:33:00");
    assert!(
        dnsbl["evidence"][0]["subject"]
            .as_str()
            .unwrap()
            .ends_with("maillog:4")
    );
    let redirect = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == "milter-timeout-uri-redirect")
        .unwrap();
    assert_eq!(
        redirect["count"], 1,
        "the where=eom line is the URI-redirect problem only"
    );
}

#[test]
fn a_delivered_line_is_not_a_problem() {
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin("Nov 28 06:31:40 gw postfix/smtp[4600]: 4B1C2A1: to=<bob@remote.test>, relay=mx.remote.test[203.0.113.5]:25, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(ranked_ids(&report).is_empty());
}

#[test]
fn streams_stdin_and_keeps_only_a_few_samples() {
    let mut log = String::new();
    for n in 0..50_000 {
        let _ = writeln!(
            log,
            "Nov 28 07:{:02}:{:02} gw postfix/smtpd[1]: connect from host{n}.test[192.0.2.1]",
            n / 60 % 60,
            n % 60
        );
        if n % 1000 == 0 {
            let _ = writeln!(
                log,
                "Nov 28 07:00:00 fm1 mail: sendmail[1]: x: Milter (fas_milter): timeout before data read"
            );
        }
    }
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin(log)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["playbook"], "milter-timeout-dnsbl");
    assert_eq!(finding["count"], 50);
    assert!(finding["evidence"].as_array().unwrap().len() <= 3);
}

#[test]
fn a_missing_file_is_exit_3_with_its_name() {
    mxdoctor()
        .args(["triage", "/nonexistent/maillog"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("/nonexistent/maillog"));
}

#[test]
fn non_utf8_and_huge_lines_do_not_stop_the_scan() {
    let mut bytes = vec![0xff, 0xfe, b'\n'];
    bytes.extend(std::iter::repeat_n(b'x', 200_000));
    bytes.extend_from_slice(
        b"\nNov 28 06:31:10 fm1 mail: Milter (fas_milter): timeout before data read\n",
    );
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        ranked_ids(&report),
        vec!["milter-timeout-dnsbl".to_string()]
    );
    assert!(report["notes"].to_string().contains("longer than"));
}
