//! MTA-STS and TLS-RPT end to end against the lab: the policy fetched over HTTPS from the lab's
//! policy host (its own CA through `--tls-ca`), each broken deployment named by its observation,
//! a fetch that this host cannot complete judged inconclusive, `--skip tls-policy`, and the
//! checks in fleet mode and `serve`.

use std::net::TcpListener;

use crate::check::start_lab;
use crate::common::{json_lines, lab_report, mxdoctor, observation, ranked_ids, report_for};
use crate::serve::{get, start_exporter};

#[test]
fn the_healthy_domain_enforces_a_policy_covering_its_mx_and_publishes_tls_rpt() {
    let running = start_lab();
    let (code, report) = lab_report(&running.args("healthy"));
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
        let (_code, report) = lab_report(&running.args(name));
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

    let (_code, report) = lab_report(&running.args("sts-no-tlsrpt"));
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
    let (_code, report) = lab_report(&without);
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
    let (code, report) = lab_report(&args);
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
    let (_code, report) = lab_report(&args);
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
    let reports = json_lines(&stdout);
    assert_eq!(reports.len(), 2, "{stdout}");
    let report_of = |target: &str| report_for(&reports, target);
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

/// A small world of its own: nsd-like DNS and the policy host, one domain per way a deployment
/// breaks, checked DNS-only (`--skip smtp,auth,rdns`: the MX addresses need no server).
mod deployments {
    use std::collections::HashMap;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
    use mxdoctor_lab::policy_https::{PolicyHttps, PolicyReply};
    use serde_json::Value;

    use super::observation;
    use crate::common::{lab_report, lab_runtime, ranked_ids};

    const ZONE: &str = "sts.test";

    fn enforce(mx: &str, max_age: u32) -> PolicyReply {
        PolicyReply::policy(format!(
            "version: STSv1\nmode: enforce\nmx: {mx}\nmax_age: {max_age}\n"
        ))
    }

    /// (domain label, MX host, TXT records at _mta-sts, policy reply, TLS-RPT record)
    type Deployment = (
        &'static str,
        String,
        Vec<&'static str>,
        Option<PolicyReply>,
        &'static str,
    );

    fn domains() -> Vec<Deployment> {
        let good_txt = vec!["v=STSv1; id=1"];
        let rpt = "v=TLSRPTv1; rua=mailto:tlsrpt@example.test";
        vec![
            (
                "testing",
                "mx.testing.sts.test".into(),
                good_txt.clone(),
                Some(PolicyReply::policy(
                    "version: STSv1\nmode: testing\nmx: *.testing.sts.test\nmax_age: 86400\n",
                )),
                rpt,
            ),
            (
                "short",
                "mx.short.sts.test".into(),
                good_txt.clone(),
                Some(enforce("*.short.sts.test", 3600)),
                rpt,
            ),
            (
                "redirect",
                "mx.redirect.sts.test".into(),
                good_txt.clone(),
                Some(PolicyReply::redirect(
                    "https://www.redirect.sts.test/.well-known/mta-sts.txt",
                )),
                rpt,
            ),
            (
                "html",
                "mx.html.sts.test".into(),
                good_txt.clone(),
                Some(PolicyReply {
                    content_type: "text/html",
                    ..enforce("*.html.sts.test", 604_800)
                }),
                rpt,
            ),
            (
                "huge",
                "mx.huge.sts.test".into(),
                good_txt.clone(),
                Some(PolicyReply::policy(format!(
                    "{}{}",
                    "# padding\n".repeat(7000),
                    "version: STSv1\nmode: enforce\nmx: *.huge.sts.test\nmax_age: 604800\n"
                ))),
                rpt,
            ),
            (
                "orphan",
                "mx.orphan.sts.test".into(),
                vec![],
                Some(enforce("*.orphan.sts.test", 604_800)),
                rpt,
            ),
            (
                "twice",
                "mx.twice.sts.test".into(),
                vec!["v=STSv1; id=1", "v=STSv1; id=2"],
                Some(enforce("*.twice.sts.test", 604_800)),
                rpt,
            ),
            (
                "badrpt",
                "mx.badrpt.sts.test".into(),
                good_txt.clone(),
                Some(enforce("*.badrpt.sts.test", 604_800)),
                "v=TLSRPTv1; rua=tlsrpt@example.test",
            ),
            (
                "deep",
                "a.mx.deep.sts.test".into(),
                good_txt.clone(),
                Some(enforce("*.deep.sts.test", 604_800)),
                rpt,
            ),
            ("nohost", "mx.nohost.sts.test".into(), good_txt, None, rpt),
        ]
    }

    #[test]
    fn each_way_a_deployment_breaks_ranks_its_playbook_first() {
        let runtime = lab_runtime();
        let mut dns = LabDnsConfig::new();
        dns.zone(ZONE);
        let mut sites = HashMap::new();
        let mut certified = Vec::new();
        for (label, mx, txt, reply, rpt) in domains() {
            let domain = format!("{label}.{ZONE}");
            dns.add_mx(&domain, 10, &mx)
                .add_a(&mx, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 58)));
            for record in txt {
                dns.add_txt(&format!("_mta-sts.{domain}"), record);
            }
            dns.add_txt(&format!("_smtp._tls.{domain}"), rpt);
            let host = format!("mta-sts.{domain}");
            if label != "nohost" {
                dns.add_a(&host, IpAddr::V4(Ipv4Addr::LOCALHOST));
            }
            if let Some(reply) = reply {
                sites.insert(host.clone(), reply);
            }
            certified.push(host);
        }
        let (dns, policy) = runtime.block_on(async {
            let dns = LabDns::start(dns, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .unwrap();
            let policy = PolicyHttps::start(
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                sites,
                &certified,
            )
            .await
            .unwrap();
            (dns, policy)
        });
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("policy-ca.pem");
        std::fs::write(&ca, policy.ca_pem()).unwrap();
        let check = |label: &str| -> Value {
            let args: Vec<String> = [
                "check",
                &format!("{label}.{ZONE}"),
                "--dns",
                &dns.addr().to_string(),
                "--tls-ca",
                &ca.display().to_string(),
                "--mta-sts-port",
                &policy.addr().port().to_string(),
                "--skip",
                "smtp,auth,rdns",
            ]
            .iter()
            .map(ToString::to_string)
            .collect();
            lab_report(&args).1
        };
        let expect = [
            ("testing", "mta-sts-not-enforcing", "valid"),
            ("short", "mta-sts-max-age-short", "valid"),
            (
                "redirect",
                "mta-sts-policy-unavailable",
                "policy_unavailable",
            ),
            ("html", "mta-sts-policy-unavailable", "policy_unavailable"),
            ("huge", "mta-sts-policy-unavailable", "policy_unavailable"),
            ("orphan", "mta-sts-policy-without-txt", "policy_without_txt"),
            ("twice", "mta-sts-invalid", "multiple_txt"),
            ("badrpt", "tls-rpt-invalid", "valid"),
            ("deep", "mta-sts-mx-not-covered", "valid"),
            ("nohost", "mta-sts-policy-unavailable", "policy_unavailable"),
        ];
        let mut wrong = Vec::new();
        for (label, playbook, verdict) in expect {
            let report = check(label);
            let top = ranked_ids(&report).first().cloned().unwrap_or_default();
            let sts = &observation(&report, "tls.mta_sts")["data"];
            if top != playbook || sts["verdict"] != verdict {
                wrong.push(format!(
                    "{label}: top {top}, verdict {}: {sts}",
                    sts["verdict"]
                ));
            }
            let fetch_error = sts["fetch_error"].as_str().unwrap_or_default();
            match label {
                "redirect" => assert!(
                    fetch_error.contains("redirect") && sts["http_status"] == 301,
                    "{sts}"
                ),
                "html" => assert!(fetch_error.contains("text/html"), "{sts}"),
                "huge" => assert!(fetch_error.contains("larger than 65536"), "{sts}"),
                "nohost" => assert!(fetch_error.contains("has no address"), "{sts}"),
                "badrpt" => assert_eq!(
                    observation(&report, "tls.rpt")["data"]["verdict"],
                    "syntax_error"
                ),
                _ => {}
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
