//! MTA-STS and TLS-RPT end to end against the lab: the policy fetched over HTTPS from the lab's
//! policy host (its own CA through `--tls-ca`), each broken deployment named by its observation,
//! a fetch that this host cannot complete judged inconclusive, `--skip tls-policy`, and the
//! checks in fleet mode and `serve`.

use std::net::TcpListener;

use serde_json::Value;

use crate::check::start_lab;
use crate::common::{json_report, mxdoctor, ranked_ids};
use crate::serve::{get, start_exporter};

fn run(args: &[String]) -> (i32, Value) {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.push("--no-progress");
    json_report(&all)
}

fn observation<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["check"] == check)
        .unwrap_or_else(|| panic!("{check} ran: {report}"))
}

#[test]
fn the_healthy_domain_enforces_a_policy_covering_its_mx_and_publishes_tls_rpt() {
    let running = start_lab();
    let (code, report) = run(&running.args("healthy"));
    let sts = &observation(&report, "tls.mta_sts")["data"];
    assert_eq!(sts["verdict"], "valid", "{sts}");
    assert_eq!(sts["mode"], "enforce");
    assert_eq!(sts["max_age"], 604_800);
    assert_eq!(sts["id"], "20261201120000");
    assert_eq!(sts["mx_hosts"][0], "healthy-mx1.lab.test");
    assert_eq!(sts["uncovered_mx"].as_array().unwrap().len(), 0);
    assert_eq!(sts["http_status"], 200);
    let rpt = &observation(&report, "tls.rpt")["data"];
    assert_eq!(rpt["verdict"], "valid", "{rpt}");
    assert_eq!(rpt["rua"][0], "mailto:tlsrpt@healthy.lab.test");
    assert_eq!(rpt["mta_sts_published"], true);
    assert_eq!(code, 0, "{:?}", ranked_ids(&report));
}

#[test]
fn each_broken_deployment_is_named_by_its_observation() {
    let running = start_lab();
    let data = |name: &str| {
        let (_code, report) = run(&running.args(name));
        observation(&report, "tls.mta_sts")["data"].clone()
    };
    let uncovered = data("sts-uncovered");
    assert_eq!(uncovered["verdict"], "valid", "{uncovered}");
    assert_eq!(uncovered["uncovered_mx"][0], "sts-uncovered-mx1.lab.test");
    // "*.sts-uncovered.lab.test" stands for one label under sts-uncovered.lab.test only.
    assert_eq!(uncovered["mx_patterns"][1], "*.sts-uncovered.lab.test");

    let no_policy = data("sts-no-policy");
    assert_eq!(no_policy["verdict"], "policy_unavailable", "{no_policy}");
    assert_eq!(no_policy["http_status"], 404);

    let bad_cert = data("sts-bad-cert");
    assert_eq!(bad_cert["verdict"], "certificate_invalid", "{bad_cert}");
    assert!(
        bad_cert["fetch_error"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{bad_cert}"
    );

    let bad_syntax = data("sts-bad-syntax");
    assert_eq!(bad_syntax["verdict"], "policy_syntax_error", "{bad_syntax}");
    assert!(
        bad_syntax["problems"][0]
            .as_str()
            .unwrap()
            .contains("enforcing"),
        "{bad_syntax}"
    );

    let (_code, report) = run(&running.args("sts-no-tlsrpt"));
    let rpt = &observation(&report, "tls.rpt")["data"];
    assert_eq!(rpt["verdict"], "missing", "{rpt}");
    assert_eq!(rpt["mta_sts_published"], true);
    let finding = &report["findings"][0];
    assert_eq!(finding["playbook"], "tls-rpt-missing");
    assert_eq!(finding["severity"], "low", "MTA-STS is in place: {finding}");
}

#[test]
fn without_the_lab_ca_the_policy_certificate_does_not_verify() {
    let running = start_lab();
    let args: Vec<String> = running.args("healthy");
    // Drop the policy host's CA (the second --tls-ca): only the system store and the SMTP lab CA remain.
    let ca_at = args
        .iter()
        .enumerate()
        .filter(|(_, arg)| *arg == "--tls-ca")
        .nth(1)
        .map(|(index, _)| index)
        .unwrap();
    let mut without = args.clone();
    without.drain(ca_at..=ca_at + 1);
    let (_code, report) = run(&without);
    let sts = &observation(&report, "tls.mta_sts")["data"];
    assert_eq!(sts["verdict"], "certificate_invalid", "{sts}");
    assert_eq!(ranked_ids(&report)[0], "mta-sts-certificate-invalid");
}

#[test]
fn a_policy_host_that_never_answers_is_inconclusive_not_the_domains_fault() {
    let running = start_lab();
    // A port that accepts connections and never says a word: the fetch times out here.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let mut args = running.args("healthy");
    let at = args.iter().position(|arg| arg == "--mta-sts-port").unwrap();
    args[at + 1] = port;
    args.extend([
        "--timeout".to_owned(),
        "2".to_owned(),
        "--skip".to_owned(),
        "smtp".to_owned(),
    ]);
    let (code, report) = run(&args);
    let sts = observation(&report, "tls.mta_sts");
    assert_eq!(sts["outcome"], "inconclusive", "{sts}");
    assert_eq!(sts["data"]["verdict"], "unreachable");
    let ids = ranked_ids(&report);
    assert!(
        !ids.iter().any(|id| id.starts_with("mta-sts")),
        "no MTA-STS finding blames the domain: {ids:?}"
    );
    assert_eq!(code, 0, "{ids:?}");
    drop(silent);
}

#[test]
fn skip_tls_policy_leaves_both_checks_out() {
    let running = start_lab();
    let mut args = running.args("sts-uncovered");
    args.extend(["--skip".to_owned(), "tls-policy".to_owned()]);
    let (_code, report) = run(&args);
    let checks: Vec<&str> = report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["check"].as_str())
        .collect();
    assert!(
        !checks.contains(&"tls.mta_sts") && !checks.contains(&"tls.rpt"),
        "{checks:?}"
    );
    assert!(!ranked_ids(&report).contains(&"mta-sts-mx-not-covered".to_owned()));
}

#[test]
fn fleet_mode_runs_the_checks_for_every_target() {
    let running = start_lab();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, "healthy.lab.test\nsts-uncovered.lab.test\n").unwrap();
    let output = mxdoctor()
        .args(["check", "--targets"])
        .arg(&targets)
        .args(["--dns", &running.lab.dns.addr().to_string()])
        .args(running.lab.policy_flags())
        .args([
            "--skip",
            "smtp",
            "--concurrency",
            "2",
            "--format",
            "json",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON report per line"))
        .collect();
    assert_eq!(reports.len(), 2, "{stdout}");
    let report_of = |target: &str| reports.iter().find(|r| r["target"] == target).unwrap();
    assert_eq!(
        observation(report_of("healthy.lab.test"), "tls.mta_sts")["data"]["verdict"],
        "valid"
    );
    assert_eq!(
        report_of("sts-uncovered.lab.test")["findings"][0]["playbook"],
        "mta-sts-mx-not-covered"
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "an uncovered MX under enforce is critical"
    );
}

#[test]
fn serve_runs_the_checks_on_each_probe() {
    let running = start_lab();
    let check_args = running.args("sts-uncovered");
    let exporter = start_exporter(&check_args[2..], 2);
    let (status, metrics) = get(&exporter.address, "/probe?target=sts-uncovered.lab.test");
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("mxdoctor_finding{")
            && l.contains("playbook=\"mta-sts-mx-not-covered\"")),
        "{metrics}"
    );
    let (_, healthy) = get(&exporter.address, "/probe?target=healthy.lab.test");
    assert!(!healthy.contains("playbook=\"mta-sts"), "{healthy}");
}
