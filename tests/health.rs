//! The domain health checks end to end against the lab: the healthy domain passes every one of
//! them (SPF with its sending address, DMARC, a 2048-bit DKIM key, forward-confirmed reverse DNS),
//! and `--skip auth,rdns` leaves them out.

use crate::check::start_lab;
use crate::common::{lab_report, observations_of};

#[test]
fn the_healthy_lab_domain_passes_every_health_check() {
    let running = start_lab();
    let (_code, report) = lab_report(&running.args("healthy"));
    let only = |check: &str| {
        let found = observations_of(&report, check);
        assert!(!found.is_empty(), "{check} ran");
        found
    };
    let spf = only("auth.spf")[0];
    assert_eq!(spf["data"]["verdict"], "valid", "{spf}");
    assert_eq!(spf["data"]["all"], "-all");
    let outbound = only("auth.spf_outbound")[0];
    assert_eq!(outbound["data"]["result"], "pass", "{outbound}");
    let dmarc = only("auth.dmarc")[0];
    assert_eq!(dmarc["data"]["effective_policy"], "reject", "{dmarc}");
    let dkim = only("auth.dkim")[0];
    assert_eq!(dkim["data"]["key_bits"], 2048, "{dkim}");
    for fcrdns in only("dns.fcrdns") {
        assert_eq!(fcrdns["data"]["verdict"], "confirmed", "{fcrdns}");
    }
    assert_eq!(only("dns.resolver")[0]["data"]["trusted"], true);
}

#[test]
fn skip_auth_and_rdns_leave_the_health_checks_out() {
    let running = start_lab();
    let mut args = running.args("spf-lookups");
    args.extend(["--skip".to_owned(), "auth,rdns".to_owned()]);
    let (_code, report) = lab_report(&args);
    for check in ["auth.spf", "auth.dmarc", "dns.fcrdns"] {
        assert!(
            observations_of(&report, check).is_empty(),
            "{check} skipped"
        );
    }
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["playbook"].as_str())
        .collect();
    assert!(!ids.contains(&"spf-lookup-limit"), "{ids:?}");
}
