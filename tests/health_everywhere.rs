//! Every health check (SPF, DMARC, DKIM, FCrDNS, IPv6) runs in fleet mode (`check --targets`) and
//! in `serve`, with `--dkim-selector` and `--outbound-ip`; each `--skip` group removes exactly its
//! own checks (the table `catalog::HEALTH_SKIP_GROUPS`); a fleet run judges the resolver once.

use std::collections::BTreeSet;

use mxdoctor_lab::ipv6_scenarios::{self, Availability};
use mxdoctor_model::catalog::HEALTH_SKIP_GROUPS;
use serde_json::Value;

use crate::check::{Running, start_lab};
use crate::common::{json_lines, mxdoctor, observations_of, ranked_ids, report_for};
use crate::serve::{get, start_exporter};

/// The flags of the healthy scenario that every run here shares: --dns, --smtp-port, --tls-ca,
/// --dkim-selector lab and --outbound-ip (the healthy MX's address), without its target.
fn shared_flags(running: &Running) -> Vec<String> {
    let healthy = running.args("healthy");
    let mut flags: Vec<String> = healthy[2..8].to_vec();
    let outbound = healthy
        .iter()
        .position(|flag| flag == "--outbound-ip")
        .map(|at| healthy[at + 1].clone())
        .expect("the healthy scenario names its sending address");
    flags.extend(["--dkim-selector".into(), "lab".into()]);
    flags.extend(["--outbound-ip".into(), outbound]);
    flags
}

fn ipv6_lab() -> bool {
    match ipv6_scenarios::availability() {
        Availability::Available => true,
        Availability::Unavailable(reason) => {
            println!("the ipv6-one-family target is left out: {reason}");
            false
        }
    }
}

fn targets() -> Vec<&'static str> {
    let mut targets = vec![
        "healthy.lab.test",
        "dkim-weak.lab.test",
        "no-ptr.lab.test",
        "spf-lookups.lab.test",
    ];
    if ipv6_lab() {
        targets.push("ipv6-one-family.lab.test");
    }
    targets
}

/// Runs `check --targets` over [`targets`] with `extra` flags: one JSON report per target.
fn fleet(running: &Running, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.txt");
    std::fs::write(&file, targets().join("\n")).unwrap();
    let output = mxdoctor()
        .args(["check", "--targets"])
        .arg(&file)
        .args(shared_flags(running))
        .args(extra)
        .args(["--concurrency", "5", "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports = json_lines(&stdout);
    assert_eq!(reports.len(), targets().len(), "{stdout}");
    reports
}

fn checks_of(report: &Value) -> BTreeSet<String> {
    (report["observations"].as_array().unwrap().iter())
        .filter_map(|o| o["check"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn fleet_runs_every_health_check_and_judges_the_resolver_once() {
    let running = start_lab();
    let reports = fleet(&running, &[]);
    for report in &reports {
        let target = report["target"].as_str().unwrap();
        let checks = checks_of(report);
        for check in [
            "auth.spf",
            "auth.spf_outbound",
            "auth.dmarc",
            "auth.dkim",
            "dns.fcrdns",
            "ipv6.mx",
        ] {
            assert!(checks.contains(check), "{target}: {check} ran: {checks:?}");
        }
        let dkim = observations_of(report, "auth.dkim");
        assert_eq!(dkim[0]["subject"], format!("lab._domainkey.{target}"));
    }
    let healthy = report_for(&reports, "healthy.lab.test");
    let roles: BTreeSet<&str> = (observations_of(healthy, "dns.fcrdns").iter())
        .filter_map(|o| o["data"]["role"].as_str())
        .collect();
    assert_eq!(roles, BTreeSet::from(["mx", "outbound"]));
    assert_eq!(
        observations_of(healthy, "auth.spf_outbound")[0]["data"]["result"],
        "pass"
    );
    for (target, playbook) in [
        ("dkim-weak.lab.test", "dkim-key-weak"),
        ("no-ptr.lab.test", "reverse-dns-missing"),
        ("spf-lookups.lab.test", "spf-lookup-limit"),
        ("ipv6-one-family.lab.test", "ipv6-one-family"),
    ] {
        if let Some(report) = reports.iter().find(|r| r["target"] == target) {
            let ids = ranked_ids(report);
            assert!(ids.contains(&playbook.to_owned()), "{target}: {ids:?}");
        }
    }
    // One judgement shared by every target: the random name it asked is the same in each report.
    let canaries: BTreeSet<String> = reports
        .iter()
        .map(|report| {
            let resolver = observations_of(report, "dns.resolver");
            assert_eq!(resolver.len(), 1, "{resolver:?}");
            resolver[0]["data"]["canary_name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(canaries.len(), 1, "{canaries:?}");
}

#[test]
fn in_fleet_mode_each_skip_group_removes_exactly_its_checks() {
    let running = start_lab();
    for (group, removed) in HEALTH_SKIP_GROUPS {
        if removed.is_empty() {
            println!("--skip {group}: no check of this group exists yet");
            continue;
        }
        let reports = fleet(&running, &["--skip", group]);
        for report in &reports {
            let checks = checks_of(report);
            for check in *removed {
                assert!(!checks.contains(*check), "--skip {group} left {check}");
            }
            let others = (HEALTH_SKIP_GROUPS.iter())
                .filter(|(other, _)| other != group)
                .flat_map(|(_, checks)| checks.iter())
                // Present only for hosts with an AAAA.
                .filter(|check| **check != "ipv6.smtp");
            for check in others {
                assert!(
                    checks.contains(*check),
                    "--skip {group} also removed {check}"
                );
            }
        }
        if let Some(report) = reports
            .iter()
            .find(|r| r["target"] == "ipv6-one-family.lab.test")
        {
            let has_ipv6_smtp = checks_of(report).contains("ipv6.smtp");
            assert_eq!(has_ipv6_smtp, *group != "ipv6", "--skip {group}");
        }
    }
}

#[test]
fn serve_runs_every_health_check_and_each_skip_group_removes_its_own() {
    let running = start_lab();
    let flags = shared_flags(&running);
    let exporter = start_exporter(&flags, 2);
    let probed = |metrics: &str, check: &str| {
        metrics.lines().any(|l| {
            l.starts_with("mxdoctor_probe_success{") && l.contains(&format!("check=\"{check}\""))
        })
    };
    let (status, metrics) = get(&exporter.address, "/probe?target=healthy.lab.test");
    assert_eq!(status, 200, "{metrics}");
    for check in [
        "auth.spf",
        "auth.spf_outbound",
        "auth.dmarc",
        "auth.dkim",
        "dns.fcrdns",
        "ipv6.mx",
        "dns.resolver",
    ] {
        assert!(probed(&metrics, check), "{check}: {metrics}");
    }
    if ipv6_lab() {
        let (_, metrics) = get(&exporter.address, "/probe?target=ipv6-one-family.lab.test");
        assert!(probed(&metrics, "ipv6.smtp"), "{metrics}");
        assert!(
            metrics.contains("playbook=\"ipv6-one-family\""),
            "{metrics}"
        );
    }
    drop(exporter);
    for (group, removed) in HEALTH_SKIP_GROUPS {
        if removed.is_empty() {
            println!("--skip {group}: no check of this group exists yet");
            continue;
        }
        let mut skipping = flags.clone();
        skipping.extend(["--skip".to_owned(), (*group).to_owned()]);
        let exporter = start_exporter(&skipping, 1);
        let (status, metrics) = get(&exporter.address, "/probe?target=healthy.lab.test");
        assert_eq!(status, 200, "{metrics}");
        for check in *removed {
            assert!(
                !probed(&metrics, check),
                "serve --skip {group} left {check}"
            );
        }
        assert!(probed(&metrics, "dns.mx"), "{metrics}");
    }
}
