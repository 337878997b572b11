//! Resolver trust end to end: a resolver that denies every name or answers every name makes the
//! run UNKNOWN (exit 3) and never a verdict about the target; a trustworthy one changes nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
use mxdoctor_lab::smtp::{LabSmtp, Personality};
use serde_json::Value;

use crate::common::{json_lines, json_report, lab_runtime, mxdoctor, ranked_ids};

/// A lab domain whose MX address (in this helper's range) is what `bl.lab.test` is asked about.
const DOMAIN: &str = "victim.lab.test";
const MX_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 50);

fn lab_data() -> LabDnsConfig {
    let mut config = LabDnsConfig::new();
    config
        .zone("lab.test")
        .zone("bl.lab.test")
        .add_mx(DOMAIN, 10, "victim-mx1.lab.test")
        .add_a("victim-mx1.lab.test", IpAddr::V4(MX_ADDRESS))
        .add_ptr(IpAddr::V4(MX_ADDRESS), "victim-mx1.lab.test");
    config
}

fn start(runtime: &tokio::runtime::Runtime, config: LabDnsConfig) -> LabDns {
    runtime
        .block_on(LabDns::start(
            config,
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ))
        .expect("lab DNS starts")
}

fn dns_only(target: &str, dns: &LabDns) -> (i32, Value) {
    json_report(&[
        "check",
        target,
        "--dns",
        &dns.addr().to_string(),
        "--skip",
        "smtp",
        "--dnsbl",
        "bl.lab.test",
        "--timeout",
        "2",
        "--no-progress",
    ])
}

fn resolver_observation(report: &Value) -> &Value {
    report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["check"] == "dns.resolver")
        .expect("every run judges its resolver")
}

fn notes(report: &Value) -> String {
    report["notes"].to_string()
}

#[test]
fn a_resolver_answering_nxdomain_for_everything_gives_unknown_not_critical() {
    let runtime = lab_runtime();
    let mut config = lab_data();
    config.nxdomain_for_everything();
    let dns = start(&runtime, config);
    for target in ["gmail.com", DOMAIN] {
        let (code, report) = dns_only(target, &dns);
        assert_eq!(code, 3, "{target}: {report}");
        assert_eq!(report["status"], "unknown");
        assert_eq!(ranked_ids(&report), ["resolver-untrusted"], "{target}");
        assert_eq!(resolver_observation(&report)["data"]["verdict"], "blind");
        let notes = notes(&report);
        assert!(notes.contains("cannot be trusted from here"), "{notes}");
        assert!(
            notes.contains("mx-misconfigured"),
            "the withheld verdict is named: {notes}"
        );
    }
}

#[test]
fn a_resolver_answering_every_name_gives_unknown_and_no_dnsbl_listing() {
    let runtime = lab_runtime();
    let mut config = lab_data();
    config.rewrite_nxdomain(Ipv4Addr::new(127, 0, 0, 2));
    let dns = start(&runtime, config);
    let (code, report) = dns_only(DOMAIN, &dns);
    assert_eq!(code, 3, "{report}");
    assert_eq!(ranked_ids(&report), ["resolver-untrusted"]);
    let resolver = resolver_observation(&report);
    assert_eq!(resolver["data"]["verdict"], "rewrites");
    assert!(
        resolver["detail"].as_str().unwrap().contains("127.0.0.2"),
        "says what it answered: {resolver}"
    );
    assert!(
        notes(&report).contains("dnsbl-listed"),
        "the rewritten DNSBL answer is not believed: {}",
        notes(&report)
    );
}

#[test]
fn a_trustworthy_resolver_changes_nothing() {
    let runtime = lab_runtime();
    let dns = start(&runtime, lab_data());
    let (code, report) = dns_only(DOMAIN, &dns);
    let resolver = resolver_observation(&report);
    assert_eq!(resolver["outcome"], "ok", "{resolver}");
    assert_eq!(resolver["data"]["trusted"], true);
    assert_ne!(code, 3, "{report}");
    assert!(!ranked_ids(&report).contains(&"resolver-untrusted".to_string()));
    // A name the trusted resolver denies is a real verdict about the target again.
    let (code, report) = dns_only("missing.lab.test", &dns);
    assert_eq!(ranked_ids(&report).first().unwrap(), "mx-misconfigured");
    assert_eq!(code, 2, "{report}");
}

#[test]
fn fleet_mode_judges_the_resolver_once_for_every_target() {
    let runtime = lab_runtime();
    let mut config = lab_data();
    config.nxdomain_for_everything();
    let dns = start(&runtime, config);
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("{DOMAIN}\ngmail.com\nexample.org\n")).unwrap();
    let output = mxdoctor()
        .args(["check", "--targets"])
        .arg(&targets)
        .args(["--dns", &dns.addr().to_string(), "--skip", "smtp"])
        .args(["--timeout", "2", "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let reports = json_lines(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(reports.len(), 3);
    let canaries: Vec<&Value> = reports
        .iter()
        .map(|r| &resolver_observation(r)["data"]["canary_name"])
        .collect();
    assert!(
        canaries.iter().all(|c| *c == canaries[0]),
        "one judgement (one random name) shared by every target: {canaries:?}"
    );
    assert!(reports.iter().all(|r| r["status"] == "unknown"));
}

#[test]
fn an_unknown_recipient_refused_as_relaying_is_inconclusive() {
    let runtime = lab_runtime();
    let dns = start(&runtime, lab_data());
    let smtp = runtime
        .block_on(LabSmtp::start(
            Personality::Healthy.config(DOMAIN),
            SocketAddr::from((MX_ADDRESS, 0)),
        ))
        .expect("lab SMTP starts");
    let (_code, report) = json_report(&[
        "check",
        &smtp.addr().to_string(),
        "--dns",
        &dns.addr().to_string(),
        "--timeout",
        "5",
        "--no-progress",
    ]);
    let recipient = report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["check"] == "recipient.invalid")
        .expect("the unknown-recipient probe ran");
    assert!(
        recipient["data"]["rcpt_to"]
            .as_str()
            .unwrap()
            .ends_with("@[127.0.0.50]"),
        "{recipient}"
    );
    assert_eq!(recipient["outcome"], "inconclusive", "{recipient}");
    assert!(
        !recipient["detail"]
            .as_str()
            .unwrap()
            .contains("unknown recipients are rejected")
    );
}
