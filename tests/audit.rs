//! `mxdoctor audit` end to end: each seed problem with a configuration cause fires on the broken
//! fixture of every FortiMail release and stays silent on the healthy one; real `postconf -n`
//! output from Debian postfix; version-exact remediation; unknown and truncated input is exit 3.

use serde_json::Value;

use crate::common::{fixture, json_report, mxdoctor, ranked_ids};

const RELEASES: [&str; 3] = ["7.2", "7.4", "7.6"];

/// The seed's configuration causes and the playbook each one must reach.
const FORTIMAIL_CAUSES: [(&str, &str, &str); 8] = [
    (
        "config.ip_policy",
        "no_catch_all_reject",
        "scan-bypass-no-policy",
    ),
    (
        "config.ip_policy",
        "no_antispam_profile",
        "scan-bypass-no-policy",
    ),
    ("config.access_control", "relay_any", "open-relay"),
    (
        "config.safelist",
        "protected_domain",
        "antispam-bypass-safelist",
    ),
    (
        "config.smtp_auth",
        "bypass_scan",
        "antispam-bypass-safelist",
    ),
    (
        "config.recipient_verification",
        "smtp_exchange",
        "exchange-recipient-filter",
    ),
    ("config.dnsbl", "public_resolver", "dnsbl-lookup-error"),
    (
        "config.uri_redirect",
        "enabled",
        "milter-timeout-uri-redirect",
    ),
];

fn observed(report: &Value, check: &str, rule: &str) -> bool {
    report["observations"].as_array().is_some_and(|all| {
        all.iter()
            .any(|o| o["check"] == check && o["data"]["rule"] == rule)
    })
}

fn evidence_checks(report: &Value, playbook: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["playbook"] == playbook))
        .and_then(|f| f["evidence"].as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|e| e["check"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_seed_cause_fires_on_the_broken_fixture_of_each_release() {
    for release in RELEASES {
        let path = fixture(&format!("audit/fortimail-{release}-broken.conf"));
        let (code, report) = json_report(&["audit", &path]);
        assert_eq!(code, 2, "{release}: a critical finding makes exit 2");
        assert_eq!(report["command"], "audit");
        let ids = ranked_ids(&report);
        assert_eq!(
            ids.first().map(String::as_str),
            Some("open-relay"),
            "{release}: {ids:?}"
        );
        for (check, rule, playbook) in FORTIMAIL_CAUSES {
            assert!(
                observed(&report, check, rule),
                "{release}: {check} {rule} not observed"
            );
            assert!(
                evidence_checks(&report, playbook)
                    .iter()
                    .any(|c| c == check),
                "{release}: {playbook} does not cite {check}: {ids:?}"
            );
        }
    }
}

#[test]
fn healthy_fixtures_of_each_release_are_silent() {
    for release in RELEASES {
        let path = fixture(&format!("audit/fortimail-{release}-healthy.conf"));
        let (code, report) = json_report(&["audit", &path]);
        assert_eq!(code, 0, "{release}: {:?}", ranked_ids(&report));
        assert!(
            ranked_ids(&report).is_empty(),
            "{release}: {:?}",
            ranked_ids(&report)
        );
        let failures: Vec<&Value> = report["observations"]
            .as_array()
            .map(|all| all.iter().filter(|o| o["outcome"] == "fail").collect())
            .unwrap_or_default();
        assert!(failures.is_empty(), "{release}: {failures:#?}");
        assert!(
            observed(&report, "config.dnsbl", "dnsbl"),
            "{release}: zones listed as a fact"
        );
    }
}

#[test]
fn remediation_follows_the_release_in_the_header() {
    let syntax = |release: &str| -> String {
        let path = fixture(&format!("audit/fortimail-{release}-broken.conf"));
        let (_, report) = json_report(&["audit", &path]);
        let fortimail = report["findings"]
            .as_array()
            .and_then(|all| {
                all.iter()
                    .find(|f| f["playbook"] == "scan-bypass-no-policy")
            })
            .and_then(|f| f["remediation"].as_array())
            .and_then(|all| all.iter().find(|r| r["platform"] == "fortimail"))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(fortimail["fortimail_version"], release);
        fortimail["commands"].to_string()
    };
    let old = syntax("7.4");
    assert!(
        old.contains("set client 0.0.0.0/0") && !old.contains("source-ip"),
        "{old}"
    );
    let new = syntax("7.6");
    assert!(
        new.contains("set source-ip 0.0.0.0/0") && !new.contains("set client "),
        "{new}"
    );
}

#[test]
fn the_flag_overrides_the_header_and_reaches_explain_and_playbooks_show() {
    let path = fixture("audit/fortimail-7.6-broken.conf");
    let (_, report) = json_report(&["audit", "--fortimail-version", "7.2", &path]);
    assert!(
        report["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("FortiMail 7.2 (from --fortimail-version)")),
        "{}",
        report["notes"]
    );
    let line = "Nov 28 06:32:32 fm1 mail: sm-mta[3321]: 4ASDFx012345: Milter (mailfilterd): timeout before data read, where=eom";
    let old = mxdoctor()
        .args([
            "explain",
            "--platform",
            "fortimail",
            "--fortimail-version",
            "7.2",
            line,
        ])
        .output()
        .expect("runs");
    let old = String::from_utf8_lossy(&old.stdout);
    assert!(
        old.contains("set uri-redirect-lookup disable") && !old.contains("set url-redirect-lookup"),
        "{old}"
    );
    let shown = mxdoctor()
        .args([
            "playbooks",
            "show",
            "milter-timeout-uri-redirect",
            "--fortimail-version",
            "8.0.1",
        ])
        .output()
        .expect("runs");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("set url-redirect-lookup disable")
            && !shown.contains("uri-redirect-lookup disable"),
        "{shown}"
    );
    let bad = mxdoctor()
        .args(["explain", "--fortimail-version", "seven", "x"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(3));
}

#[test]
fn real_postconf_output_is_judged() {
    let (code, report) = json_report(&["audit", &fixture("audit/postconf-n-broken.txt")]);
    assert_eq!(code, 2);
    for (check, rule) in [
        ("config.relay", "permit_before_unauth_destination"),
        ("config.relay", "mynetworks_wide"),
        ("config.restrictions", "reject_before_permit"),
        ("config.recipient_verification", "accepts_all"),
        ("config.milter", "timeout_below_default"),
        ("config.milter", "default_accept"),
        ("config.queue", "lifetime_short"),
        ("config.queue", "warning_after_lifetime"),
    ] {
        assert!(observed(&report, check, rule), "{check} {rule}");
    }
    let ids = ranked_ids(&report);
    for id in [
        "open-relay",
        "restriction-order",
        "recipient-accepts-all",
        "scan-bypass-no-policy",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing: {ids:?}");
    }
    let (code, report) = json_report(&["audit", &fixture("audit/postconf-n-healthy.txt")]);
    assert_eq!((code, ranked_ids(&report).len()), (0, 0));
}

#[test]
fn unknown_truncated_or_mismatched_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = std::fs::read_to_string(fixture("audit/fortimail-7.4-broken.conf")).expect("read");
    let cut = &full[..full.find("config domain").expect("domain table") + 40];
    let cases = [
        ("truncated.conf", cut.to_string(), "truncated"),
        (
            "prose.txt",
            "Hello, this is not a configuration.\n".to_string(),
            "not a configuration",
        ),
        ("empty.conf", String::new(), "empty"),
        (
            "garbage.conf",
            "config system dns\n  frobnicate 1\nend\n".to_string(),
            "line 2",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let output = mxdoctor()
            .args(["audit"])
            .arg(&path)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let exchange = mxdoctor()
        .args([
            "audit",
            "--platform",
            "exchange",
            &fixture("audit/postconf-n-healthy.txt"),
        ])
        .output()
        .expect("runs");
    assert_eq!(exchange.status.code(), Some(3));
}

/// `check --from-config`: the configuration's DNSBL zone is probed live (here one of the lab's slow
/// zones, on 127.0.0.0/8 through the lab resolver) and the audit observations join the report.
#[test]
fn check_from_config_probes_the_configured_zones() {
    use mxdoctor_lab::scenarios::SLOW_ZONE;
    let running = crate::check::start_lab();
    let zone = format!("c.{SLOW_ZONE}");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("fm.conf");
    std::fs::write(
        &config,
        format!(
            "config profile antispam\n    edit \"AS\"\n        config dnsbl-server\n            edit \"{zone}\"\n            next\n        end\n    next\nend\n"
        ),
    )
    .expect("write");
    let output = mxdoctor()
        .args(running.args("healthy"))
        .arg("--from-config")
        .arg(&config)
        .args(["--format", "json", "--no-progress"])
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let observations = report["observations"].as_array().expect("observations");
    assert!(
        observations
            .iter()
            .any(|o| o["check"] == "dnsbl" && o["data"]["zone"] == zone.as_str()),
        "the configured zone was not probed"
    );
    assert!(observed(&report, "config.dnsbl", "dnsbl"));
    assert!(
        evidence_checks(&report, "milter-timeout-dnsbl")
            .iter()
            .any(|c| c == "dnsbl"),
        "slow configured zone not reported: {:?}",
        ranked_ids(&report)
    );
}

/// `queue --from-config`: FortiMail mail held past `outbreak-protection-period` (the CSV sample's
/// oldest spam-outbreak message is 40 min old at its `--now`, the fixtures say 30 min), and the
/// Postfix lifetimes of a real `postconf -n` becoming the queue's thresholds.
#[test]
fn queue_from_config_judges_the_queue_by_the_configured_settings() {
    let csv = fixture("queue/fortimail-queue.csv");
    let config = fixture("audit/fortimail-7.4-broken.conf");
    let (_, plain) = json_report(&["queue", "--now", "1709726400", &csv]);
    let plain_hold = plain["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["playbook"] == "outbreak-hold"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        plain_hold["severity"], "low",
        "without the configuration: {plain_hold}"
    );
    let (_, report) = json_report(&[
        "queue",
        "--now",
        "1709726400",
        "--from-config",
        &config,
        &csv,
    ]);
    assert!(observed(&report, "config.queue", "outbreak_hold_exceeded"));
    let hold = report["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["playbook"] == "outbreak-hold"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(hold["severity"], "medium", "{hold}");
    assert!(
        hold["evidence"]
            .to_string()
            .contains("outbreak-protection-period 30 min"),
        "{hold}"
    );
    assert!(
        !ranked_ids(&report).iter().any(|id| id == "open-relay"),
        "a queue report stays about the queue"
    );

    let listing = fixture("queue/postqueue-deferred.jsonl");
    let postconf = fixture("audit/postconf-n-broken.txt");
    let (_, report) = json_report(&[
        "queue",
        "--now",
        "1795870552",
        "--from-config",
        &postconf,
        &listing,
    ]);
    let notes = report["notes"].to_string();
    assert!(notes.contains("lifetime 12h"), "{notes}");
    assert!(notes.contains("maximal_queue_lifetime"), "{notes}");
}

/// The lab's blocked HTTP egress with a configuration that enables URL-redirect lookups names both
/// causes; with one that disables them, the blocked egress no longer points at this playbook.
#[test]
fn url_redirect_lookup_is_judged_with_the_http_egress_probe() {
    let running = crate::check::start_lab();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |value: &str| -> Value {
        let config = dir.path().join(format!("fm-{value}.conf"));
        std::fs::write(
            &config,
            format!("#config-version=FEVM64-7.4.6-FW-build0876-240919:opmode=1\nconfig system fortiguard antispam\n    set url-redirect-lookup {value}\nend\n"),
        )
        .expect("write");
        let output = mxdoctor()
            .args(running.args("uri-redirect-blocked"))
            .arg("--from-config")
            .arg(&config)
            .args(["--format", "json", "--no-progress"])
            .output()
            .expect("runs");
        serde_json::from_slice(&output.stdout).expect("JSON report")
    };
    let enabled = run("enable");
    let checks = evidence_checks(&enabled, "milter-timeout-uri-redirect");
    assert!(
        checks.iter().any(|c| c == "config.uri_redirect")
            && checks.iter().any(|c| c == "http.egress"),
        "{checks:?}"
    );
    let commands = enabled["findings"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|f| f["playbook"] == "milter-timeout-uri-redirect")
        })
        .map(|f| f["remediation"].to_string())
        .unwrap_or_default();
    assert!(
        commands.contains("set url-redirect-lookup disable")
            && !commands.contains("set uri-redirect-lookup"),
        "7.4 header selects the 7.4 keyword"
    );
    let disabled = run("disable");
    assert!(
        !ranked_ids(&disabled)
            .iter()
            .any(|id| id == "milter-timeout-uri-redirect"),
        "{:?}",
        ranked_ids(&disabled)
    );
}
