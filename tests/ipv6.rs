//! The IPv6 check end to end against the lab: an MX whose AAAA (::1) has no listener is reachable
//! over one family only; one listening on both families is clean; without an IPv6 vantage the
//! IPv6 half is inconclusive, never a failure; `--skip ipv6` removes both checks.
//!
//! The lab needs ::1. On a machine without it (containers started without IPv6) these tests print
//! why they are skipped and pass: the unit tests of `checks/src/health/ipv6.rs` still cover the
//! decisions.

use mxdoctor_lab::ipv6_scenarios::{self, Availability};
use serde_json::Value;

use crate::check::start_lab;
use crate::common::{lab_report_with, observations_of, ranked_ids};

/// `Some(reason)` when ::1 is missing here, after printing it.
fn skipped() -> Option<String> {
    match ipv6_scenarios::availability() {
        Availability::Available => None,
        Availability::Unavailable(reason) => {
            println!("skipped: the IPv6 lab scenarios need ::1 ({reason})");
            Some(reason)
        }
    }
}

#[test]
fn an_aaaa_without_a_listener_is_reachable_over_one_family_only() {
    if skipped().is_some() {
        return;
    }
    let running = start_lab();
    let (code, report) = lab_report_with(&running.args("ipv6-one-family"), &[]);
    assert_eq!(
        ranked_ids(&report).first().map(String::as_str),
        Some("ipv6-one-family"),
        "{report}"
    );
    assert_eq!(report["findings"][0]["confidence"], "confirmed");
    assert_eq!(code, 1, "medium: WARNING");
    let smtp = observations_of(&report, "ipv6.smtp");
    assert_eq!(smtp.len(), 1, "{smtp:?}");
    let data = &smtp[0]["data"];
    assert_eq!(data["verdict"], "ipv4_only", "{data}");
    assert_eq!(data["ipv4"], "banner");
    assert_eq!(data["ipv6"], "refused");
    assert_eq!(data["vantage"], "route");
    assert_eq!(data["ipv6_address"], "::1");
    let mx = observations_of(&report, "ipv6.mx")[0];
    assert_eq!(mx["data"]["verdict"], "all", "{mx}");
}

#[test]
fn an_mx_listening_on_both_families_is_clean() {
    if skipped().is_some() {
        return;
    }
    let running = start_lab();
    let (code, report) = lab_report_with(&running.args("ipv6-dual-stack"), &[]);
    let data = &observations_of(&report, "ipv6.smtp")[0]["data"];
    assert_eq!(data["verdict"], "both", "{data}");
    assert_eq!(
        (data["ipv4"].as_str(), data["ipv6"].as_str()),
        (Some("banner"), Some("banner"))
    );
    let above_info: Vec<&Value> = (report["findings"].as_array().unwrap().iter())
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(above_info.is_empty(), "{above_info:?}");
    assert_eq!(code, 0);
}

#[test]
fn without_an_ipv6_vantage_the_ipv6_half_is_inconclusive_not_a_failure() {
    if skipped().is_some() {
        return;
    }
    let running = start_lab();
    let (code, report) =
        lab_report_with(&running.args("ipv6-one-family"), &["--ipv6-vantage", "no"]);
    let smtp = observations_of(&report, "ipv6.smtp")[0];
    assert_eq!(smtp["outcome"], "inconclusive", "{smtp}");
    assert_eq!(smtp["data"]["verdict"], "no_vantage");
    assert_eq!(smtp["data"]["ipv6"], "not_tried");
    assert_eq!(smtp["data"]["vantage"], "disabled");
    assert!(!ranked_ids(&report).contains(&"ipv6-one-family".to_owned()));
    let summary: Vec<String> = (report["findings"].as_array().unwrap().iter())
        .map(|f| format!("{} {} {}", f["playbook"], f["severity"], f["evidence"]))
        .collect();
    assert_eq!(code, 0, "{summary:#?}");
}

#[test]
fn an_mx_without_aaaa_is_information_only() {
    let running = start_lab();
    // The DNSBL and HTTP probes of this scenario are not the point (and slow on a loaded machine).
    let (code, report) = lab_report_with(&running.args("healthy"), &["--skip", "dnsbl,http"]);
    let mx = observations_of(&report, "ipv6.mx")[0];
    assert_eq!(mx["data"]["verdict"], "none", "{mx}");
    assert!(
        observations_of(&report, "ipv6.smtp").is_empty(),
        "no AAAA: nothing to greet twice"
    );
    let finding = (report["findings"].as_array().unwrap().iter())
        .find(|f| f["playbook"] == "ipv6-mx-missing")
        .expect("ipv6-mx-missing reported");
    assert_eq!(finding["severity"], "info");
    let summary: Vec<String> = (report["findings"].as_array().unwrap().iter())
        .map(|f| format!("{} {} {}", f["playbook"], f["severity"], f["evidence"]))
        .collect();
    assert_eq!(code, 0, "{summary:#?}");
}

#[test]
fn skip_ipv6_removes_both_checks() {
    let running = start_lab();
    let name = if skipped().is_some() {
        "healthy"
    } else {
        "ipv6-one-family"
    };
    let (_code, report) = lab_report_with(&running.args(name), &["--skip", "ipv6"]);
    assert!(observations_of(&report, "ipv6.mx").is_empty());
    assert!(observations_of(&report, "ipv6.smtp").is_empty());
    let ids = ranked_ids(&report);
    assert!(!ids.iter().any(|id| id.starts_with("ipv6-")), "{ids:?}");
}
