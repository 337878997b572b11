//! `mxdoctor check` end to end against the lab (local SMTP, DNS and HTTP servers on 127.0.0.0/8).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mxdoctor_lab::scenarios::{Lab, SLOW_ZONE, SLOW_ZONE_DELAY};
use mxdoctor_lab::smtp::LAB_CA_PEM;
use serde_json::Value;

use crate::common::{mxdoctor, ranked_ids};

/// A running lab plus the runtime that serves it while the test runs the binary.
pub struct Running {
    pub lab: Lab,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

pub fn start_lab() -> Running {
    let runtime = crate::common::lab_runtime();
    let lab = runtime
        .block_on(Lab::start())
        .expect("lab starts on loopback");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("lab-ca.pem");
    std::fs::write(&ca_file, LAB_CA_PEM).unwrap();
    Running {
        lab,
        ca_file,
        _dir: dir,
        _runtime: runtime,
    }
}

impl Running {
    pub fn args(&self, name: &str) -> Vec<String> {
        let scenario = self
            .lab
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .expect("scenario exists");
        self.lab.command_line(scenario, &self.ca_file)
    }

    fn check(args: &[String]) -> (i32, Value) {
        let output = mxdoctor()
            .args(args)
            .args(["--format", "json", "--no-progress"])
            .output()
            .unwrap();
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap_or(-1), report)
    }
}

#[test]
fn every_scenario_ranks_its_playbook_first_through_the_cli() {
    let running = start_lab();
    for scenario in &running.lab.scenarios {
        let (code, report) = Running::check(&running.lab.command_line(scenario, &running.ca_file));
        let ids = ranked_ids(&report);
        if let Some(expected) = scenario.expected_top {
            assert_eq!(
                ids.first().map(String::as_str),
                Some(expected),
                "{}: {ids:?}",
                scenario.name
            );
        } else {
            let above_info: Vec<&Value> = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] != "info")
                .collect();
            assert!(
                above_info.is_empty(),
                "healthy gateway has findings: {above_info:?}"
            );
            assert_eq!(code, 0, "healthy gateway exits OK");
        }
        assert!(
            report["vantage"].as_str().unwrap().contains("127.0.0.1"),
            "the report says where it ran from"
        );
    }
}

#[test]
fn open_relay_is_critical_with_the_relay_reply_as_evidence() {
    let running = start_lab();
    let (code, report) = Running::check(&running.args("open-relay"));
    assert_eq!(code, 2);
    let finding = &report["findings"][0];
    assert_eq!(finding["playbook"], "open-relay");
    assert_eq!(finding["severity"], "critical");
    let evidence = finding["evidence"].to_string();
    assert!(
        evidence.contains("relay") && evidence.contains("250"),
        "{evidence}"
    );
}

#[test]
fn no_probe_sends_data_without_send_test_message() {
    let running = start_lab();
    for name in ["healthy", "open-relay", "bypass", "greylist", "exchange"] {
        Running::check(&running.args(name));
    }
    for (exchange, server) in &running.lab.smtp {
        if exchange.starts_with("no-policy") || exchange.starts_with("safelisted") {
            continue;
        }
        assert!(
            !server.saw_data(),
            "{exchange} received DATA: {:?}",
            server.commands()
        );
        assert!(
            !server
                .commands()
                .iter()
                .any(|c| c.to_ascii_uppercase().starts_with("DATA"))
        );
    }
    let server = running.lab.server("no-policy-mx1.lab.test").unwrap();
    assert!(!server.saw_data(), "nothing probed no-policy yet");
    Running::check(&running.args("no-policy"));
    assert!(
        server.saw_data(),
        "--send-test-message does send the samples"
    );
}

/// Two lists under the lab's slow suffix each answer after 3 s: run one after the other they would
/// take 6 s, so finishing sooner proves the lookups overlap (the real figure is in the benchmark).
#[test]
fn thirty_lists_with_slow_zones_overlap_and_name_the_slow_zone() {
    let running = start_lab();
    let mut args = running.args("healthy");
    assert_eq!(
        args.iter().filter(|a| *a == "--dnsbl").count(),
        1,
        "healthy already asks one list"
    );
    for n in 0..27 {
        args.extend(["--dnsbl".to_string(), format!("z{n}.lab.test")]);
    }
    let slow_zones = [format!("a.{SLOW_ZONE}"), format!("b.{SLOW_ZONE}")];
    for zone in &slow_zones {
        args.extend(["--dnsbl".to_string(), zone.clone()]);
    }
    let started = Instant::now();
    let (_, report) = Running::check(&args);
    let took = started.elapsed();
    assert!(
        took < 2 * SLOW_ZONE_DELAY,
        "30 zones, two at 3 s, took {took:?}: lookups did not overlap"
    );
    let lookups = report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["check"] == "dnsbl")
        .count();
    assert_eq!(lookups, 30);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == "milter-timeout-dnsbl")
        .expect("slow zone found");
    let evidence = finding["evidence"].to_string();
    for zone in &slow_zones {
        assert!(evidence.contains(zone.as_str()), "{zone} not in {evidence}");
    }
    assert!(
        !evidence.contains("z3.lab.test"),
        "fast zones are not blamed: {evidence}"
    );
}

#[test]
fn nothing_answering_is_unknown_not_a_hang() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = Instant::now();
    let output = mxdoctor()
        .args([
            "check",
            "example.test",
            "--dns",
            &format!("127.0.0.1:{port}"),
            "--timeout",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "unknown");
}

#[test]
fn bad_flags_are_usage_errors() {
    mxdoctor()
        .args(["check", "example.test", "--dns", "not-an-ip"])
        .assert()
        .code(3);
    mxdoctor()
        .args(["check", "example.test", "--mail-from", "no-at-sign"])
        .assert()
        .code(3);
    mxdoctor()
        .args(["check", "example.test", "--send-test-message"])
        .assert()
        .code(3);
    mxdoctor()
        .args(["check", "example.test", "--timeout", "0"])
        .assert()
        .code(3);
}

#[test]
fn demo_diagnoses_every_scenario_as_expected() {
    let output = mxdoctor()
        .args(["demo", "--format", "json"])
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    let failed: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["as_expected"] != true)
        .map(|row| {
            format!(
                "{}: top {} expected {}",
                row["scenario"], row["top"], row["expected_top"]
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(output.status.code(), Some(0));
}
