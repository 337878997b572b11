//! DNSSEC and DANE against the lab, whose root is signed with a key made at start (every lab zone
//! is a provably unsigned child): verdicts from the lab's trust anchor, the TLSA-without-DNSSEC
//! scenario, what happens without the anchor (inconclusive, never a finding against the target),
//! `--skip dnssec`, a bad anchor file, fleet mode and `serve`. Signed zones (valid, mismatching
//! TLSA, bogus) are exercised against real nsd zones signed by ldns in `tests/interop/dnssec.sh`.

use serde_json::Value;

use crate::check::start_lab;
use crate::common::{json_lines, lab_report, mxdoctor, observations_of, report_for};
use crate::serve::{get, start_exporter};

fn playbooks(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["playbook"].as_str().map(str::to_owned))
        .collect()
}

/// The arguments without `--dnssec-trust-anchor FILE`.
fn without_anchor(args: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for arg in args {
        if skip_next {
            skip_next = false;
        } else if arg == "--dnssec-trust-anchor" {
            skip_next = true;
        } else {
            kept.push(arg.clone());
        }
    }
    kept
}

#[test]
fn lab_zones_validate_as_unsigned_from_the_lab_root_and_tlsa_there_is_ignored() {
    let running = start_lab();
    let (code, healthy) = lab_report(&running.args("healthy"));
    assert_eq!(code, 0, "{:?}", playbooks(&healthy));
    let zones = observations_of(&healthy, "dnssec.zone");
    assert_eq!(zones.len(), 2, "the domain and its MX host: {zones:?}");
    for zone in &zones {
        assert_eq!(zone["data"]["verdict"], "insecure", "{zone}");
        assert_eq!(zone["data"]["trust_anchor"], "file");
    }
    let tlsa = observations_of(&healthy, "dane.tlsa");
    assert_eq!(tlsa[0]["data"]["verdict"], "no_tlsa", "{tlsa:?}");
    // The STARTTLS probe carries the certificate the MX presented, for DANE to compare.
    let tls = observations_of(&healthy, "tls")[0];
    assert_eq!(
        tls["data"]["certificates"].as_array().unwrap().len(),
        1,
        "{tls}"
    );
    assert!(playbooks(&healthy).contains(&"dnssec-unsigned".to_owned()));

    let (code, unsigned) = lab_report(&running.args("dane-unsigned"));
    assert_eq!(code, 1, "a medium finding is a warning");
    assert_eq!(playbooks(&unsigned)[0], "dane-tlsa-insecure");
    let tlsa = observations_of(&unsigned, "dane.tlsa")[0];
    assert_eq!(tlsa["data"]["verdict"], "insecure_tlsa", "{tlsa}");
    assert_eq!(tlsa["data"]["dnssec"], "insecure");
    assert!(
        tlsa["data"]["records"][0]
            .as_str()
            .unwrap()
            .starts_with("3 1 1 "),
        "{tlsa}"
    );
}

#[test]
fn without_a_usable_trust_anchor_dnssec_is_inconclusive_not_a_verdict_on_the_target() {
    let running = start_lab();
    // The IANA root keys cannot validate the lab's root: the vantage, not the target, is at fault.
    let (code, report) = lab_report(&without_anchor(&running.args("dane-unsigned")));
    for zone in observations_of(&report, "dnssec.zone") {
        assert_eq!(zone["data"]["verdict"], "indeterminate", "{zone}");
        assert_eq!(zone["outcome"], "skipped");
    }
    let tlsa = observations_of(&report, "dane.tlsa")[0];
    assert_eq!(tlsa["data"]["verdict"], "indeterminate", "{tlsa}");
    let ids = playbooks(&report);
    assert!(
        !ids.iter()
            .any(|id| id == "dane-tlsa-insecure" || id == "dnssec-unsigned"),
        "{ids:?}"
    );
    assert!(ids.contains(&"dnssec-unverifiable".to_owned()), "{ids:?}");
    assert_eq!(code, 0, "{ids:?}");
}

#[test]
fn skip_dnssec_leaves_the_checks_out_and_a_bad_anchor_is_a_usage_error() {
    let running = start_lab();
    let mut args = running.args("dane-unsigned");
    args.extend(["--skip".to_owned(), "dnssec".to_owned()]);
    let (_code, report) = lab_report(&args);
    assert!(observations_of(&report, "dnssec.zone").is_empty());
    assert!(observations_of(&report, "dane.tlsa").is_empty());

    let dir = tempfile::tempdir().unwrap();
    let ds_only = dir.path().join("anchor.ds");
    std::fs::write(
        &ds_only,
        ". IN DS 20326 8 2 e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d\n",
    )
    .unwrap();
    for anchor in [
        ds_only.as_path(),
        std::path::Path::new("/nonexistent/anchor.key"),
    ] {
        let output = mxdoctor()
            .args(["check", "example.test", "--dnssec-trust-anchor"])
            .arg(anchor)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--dnssec-trust-anchor"), "{stderr}");
    }
}

#[test]
fn fleet_mode_runs_the_dnssec_and_dane_checks_for_every_target() {
    let running = start_lab();
    let args = running.args("dane-unsigned");
    let anchor_at = args
        .iter()
        .position(|arg| arg == "--dnssec-trust-anchor")
        .expect("the lab passes its anchor");
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, "healthy.lab.test\ndane-unsigned.lab.test\n").unwrap();
    let output = mxdoctor()
        .args(["check", "--targets"])
        .arg(&targets)
        .args(["--dns", &running.lab.dns.addr().to_string()])
        .args(["--dnssec-trust-anchor", &args[anchor_at + 1]])
        .args(["--skip", "smtp,http", "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports = json_lines(&stdout);
    assert_eq!(reports.len(), 2, "{stdout}");
    for report in &reports {
        assert!(
            !observations_of(report, "dnssec.zone").is_empty(),
            "{}",
            report["target"]
        );
    }
    let unsigned = report_for(&reports, "dane-unsigned.lab.test");
    assert_eq!(playbooks(unsigned)[0], "dane-tlsa-insecure");
    // Without SMTP the TLSA records are still judged: the zone is unsigned either way.
    assert_eq!(
        observations_of(unsigned, "dane.tlsa")[0]["data"]["verdict"],
        "insecure_tlsa"
    );
}

#[test]
fn serve_reports_the_dane_finding_as_a_metric() {
    let running = start_lab();
    let check_args = running.args("dane-unsigned");
    let exporter = start_exporter(&check_args[2..], 1);
    let (status, metrics) = get(&exporter.address, "/probe?target=dane-unsigned.lab.test");
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("mxdoctor_finding{")
            && l.contains("playbook=\"dane-tlsa-insecure\"")
            && l.ends_with(" 1")),
        "{metrics}"
    );
}
