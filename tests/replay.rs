//! Support bundles: `check --record` saves what a run saw; `replay` re-diagnoses it offline, with
//! changed playbooks too.

use serde_json::Value;

use crate::check::start_lab;
use crate::common::{json_report, mxdoctor};

/// The shipped open-relay playbook with a different title and severity, as a playbook author might try.
fn changed_open_relay_playbook(dir: &std::path::Path) {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/playbooks/open-relay.yaml"
    ))
    .unwrap();
    let changed: String = shipped
        .lines()
        .map(|line| {
            if line.starts_with("title:") {
                "title: Relay accepted (reviewed playbook)".to_string()
            } else if line.starts_with("severity:") {
                "severity: medium".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("open-relay.yaml"), changed + "\n").unwrap();
}

#[test]
fn a_recorded_bundle_replays_offline_and_a_changed_playbook_changes_the_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let bundle_path = dir.path().join("bundle.json").display().to_string();
    let live_path = dir.path().join("live.json").display().to_string();
    {
        let running = start_lab();
        let output = mxdoctor()
            .args(running.args("open-relay"))
            .args([
                "--no-progress",
                "--quiet",
                "--record",
                &bundle_path,
                "--report",
                &format!("json={live_path}"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    } // the lab is gone from here on: replay cannot reach anything

    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    assert_eq!(bundle["schema"], "mxdoctor/bundle/v1");
    assert_eq!(bundle["tool"]["name"], "mxdoctor");
    assert_eq!(bundle["target"], "open-relay.lab.test");
    assert!(
        bundle["config"]["dns_servers"][0]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(bundle["config"]["timeout_secs"].as_f64().unwrap() > 0.0);
    let observations = bundle["observations"].as_array().unwrap();
    let session = observations
        .iter()
        .find(|o| o["check"] == "smtp.session")
        .expect("a session");
    assert!(
        !session["data"]["transcript"].as_array().unwrap().is_empty(),
        "transcripts are kept"
    );
    assert!(
        observations
            .iter()
            .any(|o| o["check"] == "dns.mx" && o["data"]["records"].is_array()),
        "DNS answers are kept"
    );

    let live: Value = serde_json::from_str(&std::fs::read_to_string(&live_path).unwrap()).unwrap();
    let (code, replayed) = json_report(&["replay", &bundle_path]);
    assert_eq!(code, 2);
    assert_eq!(replayed["command"], "replay");
    assert_eq!(replayed["findings"][0]["playbook"], "open-relay");
    assert_eq!(replayed["findings"][0]["severity"], "critical");
    assert_eq!(
        replayed["findings"].as_array().unwrap().len(),
        live["findings"].as_array().unwrap().len(),
        "same diagnosis as the live run"
    );

    let playbooks = tempfile::tempdir().unwrap();
    changed_open_relay_playbook(playbooks.path());
    let (code, changed) = json_report(&[
        "replay",
        &bundle_path,
        "--playbooks",
        &playbooks.path().display().to_string(),
    ]);
    let finding = changed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == "open-relay")
        .expect("still found");
    assert_eq!(finding["title"], "Relay accepted (reviewed playbook)");
    assert_eq!(finding["severity"], "medium");
    assert_eq!(code, 1, "the changed severity changes the exit code");
}

#[test]
fn replay_refuses_what_is_not_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(&report, r#"{"schema":"mxdoctor/report/v1"}"#).unwrap();
    mxdoctor()
        .args(["replay", &report.display().to_string()])
        .assert()
        .code(3);
    mxdoctor()
        .args(["replay", "/nonexistent/bundle.json"])
        .assert()
        .code(3);
}
