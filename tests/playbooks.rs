//! The knowledge base as users meet it: lint, list, show, located errors, and `--playbooks` overrides.

use predicates::prelude::*;

use crate::common::{fixture, json_report, mxdoctor, ranked_ids};

const REQUIRED_IDS: &[&str] = &[
    "relay-access-denied",
    "reputation-rejection",
    "gateway-bypass-mx",
    "scan-bypass-no-policy",
    "antispam-bypass-safelist",
    "recipient-verification-unavailable",
    "greylisting",
    "milter-timeout-dnsbl",
    "milter-timeout-uri-redirect",
    "exchange-recipient-filter",
    "queue-slow",
    "queue-deferred-aging",
    "dead-mail",
    "outbreak-hold",
    "open-relay",
    // Bounce reasons and message kinds (issue 11), ids agreed with the bounce corpus.
    "message-expired",
    "attachment-blocked",
    "mailbox-disabled",
    "recipient-domain-unknown",
    "remote-system-error",
    "message-not-compliant",
    "list-posting-refused",
    "mailbox-moved",
    "too-many-recipients",
    "tls-required",
    "delivery-delayed",
    "auto-reply",
    "abuse-feedback-report",
    "delivery-succeeded",
];

#[test]
fn shipped_playbooks_lint_clean_and_run_their_examples() {
    mxdoctor()
        .args(["playbooks", "lint"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"^\d+ playbooks OK, \d+ examples passed").unwrap());
}

#[test]
fn every_required_id_ships() {
    let output = mxdoctor()
        .args(["playbooks", "list", "--format", "json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for id in REQUIRED_IDS {
        assert!(ids.contains(id), "missing playbook {id}");
    }
}

#[test]
fn show_prints_remediation_for_every_platform_it_has() {
    mxdoctor()
        .args(["playbooks", "show", "milter-timeout-uri-redirect"])
        .assert()
        .success()
        .stdout(predicate::str::contains("set uri-redirect-lookup disable"))
        .stdout(predicate::str::contains("fix (fortimail)"));
}

#[test]
fn show_of_an_unknown_id_exits_3() {
    mxdoctor()
        .args(["playbooks", "show", "no-such-playbook"])
        .assert()
        .code(3);
}

#[test]
fn broken_playbooks_are_reported_with_file_line_column_and_exit_3() {
    let dir = fixture("playbooks-broken");
    mxdoctor()
        .args(["playbooks", "lint", &dir])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "bad-regex.yaml:9:13: invalid regex",
        ))
        .stderr(predicate::str::contains(
            "unknown-field.yaml:6:1: unknown field `explanaton`",
        ))
        .stderr(predicate::str::contains("^"));
}

#[test]
fn a_broken_extra_directory_stops_every_command() {
    let dir = fixture("playbooks-broken");
    mxdoctor()
        .args(["--playbooks", &dir, "explain", "250 ok"])
        .assert()
        .code(3);
}

#[test]
fn malformed_yaml_points_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "id: x\ntitle: [unclosed\nsummary: s\n",
    )
    .unwrap();
    mxdoctor()
        .args(["playbooks", "lint", dir.path().to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::is_match(r"broken\.yaml:\d+:\d+: ").unwrap());
}

#[test]
fn duplicate_ids_in_one_directory_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("playbooks-extra/custom-banner.yaml")).unwrap();
    std::fs::write(dir.path().join("a.yaml"), &text).unwrap();
    std::fs::write(dir.path().join("b.yaml"), &text).unwrap();
    mxdoctor()
        .args(["playbooks", "lint", dir.path().to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "b.yaml:1:1: duplicate id \"custom-banner-block\"",
        ));
}

#[test]
fn extra_directory_adds_playbooks() {
    let dir = fixture("playbooks-extra");
    let (_, report) = json_report(&[
        "--playbooks",
        &dir,
        "explain",
        "554 5.7.1 Blocked by ACME policy 42",
    ]);
    assert_eq!(
        ranked_ids(&report).first().map(String::as_str),
        Some("custom-banner-block")
    );
    mxdoctor()
        .args(["playbooks", "lint", &dir])
        .assert()
        .success();
}

#[test]
fn extra_directory_overrides_a_shipped_playbook_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("playbooks-extra/custom-banner.yaml"))
        .unwrap()
        .replace("id: custom-banner-block", "id: greylisting")
        .replace("Our own site rule", "Overridden greylisting");
    std::fs::write(dir.path().join("greylisting.yaml"), text).unwrap();
    let output = mxdoctor()
        .args([
            "--playbooks",
            dir.path().to_str().unwrap(),
            "playbooks",
            "show",
            "greylisting",
        ])
        .output()
        .unwrap();
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(shown.contains("Overridden greylisting"), "{shown}");
}

#[test]
fn usage_errors_exit_3() {
    mxdoctor().args(["no-such-command"]).assert().code(3);
    mxdoctor()
        .args(["explain", "--format", "yaml"])
        .assert()
        .code(3);
}

#[test]
fn lint_rejects_unmarked_untagged_and_unshown_commands_but_loading_still_works() {
    let dir = crate::common::fixture("playbooks-unmarked");
    let output = mxdoctor()
        .args(["playbooks", "lint", &dir])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    for expected in [
        "fortimail command \"config system mailserver\" is not marked",
        "fortimail command \"config system mailserver\" names no firmware versions",
        "fortimail step with a GUI path names no firmware versions",
        "postfix change \"postsuper -d ALL deferred\" is not preceded by a read_only command",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in {stderr}"
        );
    }
    let shown = mxdoctor()
        .args([
            "--playbooks",
            &dir,
            "playbooks",
            "show",
            "fortimail-untagged",
        ])
        .output()
        .expect("runs");
    assert_eq!(shown.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("# unmarked"));
}
