//! The safety guarantees of `check`, each proved against lab servers that record what they received:
//! test messages only to `--rcpt-valid`, at most two connections per host, nothing secret or sent
//! in a report or bundle, certificates verified by default, and the run deadline.
//!
//! Guarantees tested elsewhere: no DATA without `--send-test-message` (`check.rs`,
//! `lab/tests/smtp_probes.rs`), the `serve` allow-list (`serve.rs`; here again with its
//! concurrency limit).

use std::net::SocketAddr;
use std::time::Duration;

use mxdoctor_checks::smtp::test_message::{EICAR, GTUBE};
use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
use mxdoctor_lab::hostile::{HostileTcp, Step};
use mxdoctor_lab::http::LabHttp;
use mxdoctor_lab::smtp::{LabCert, LabSmtp, LabSmtpConfig, Personality};
use serde_json::Value;

use crate::common::observation;
use crate::hostile::{exit_code_of, run_measured};

const DOMAIN: &str = "example.test";
const VALID: &str = "alice@example.test";

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A lab SMTP server, the lab DNS (for PTR lookups) and the runtime serving them.
struct Lab {
    smtp: LabSmtp,
    dns: LabDns,
    runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn start(config: LabSmtpConfig) -> Self {
        let runtime = crate::common::lab_runtime();
        let (smtp, dns) = runtime.block_on(async {
            (
                LabSmtp::start(config, loopback()).await.unwrap(),
                LabDns::start(LabDnsConfig::new(), loopback())
                    .await
                    .unwrap(),
            )
        });
        Self { smtp, dns, runtime }
    }

    /// `check HOST:PORT --dns LAB --format json` plus `extra` (and `--timeout 3` unless it has one).
    fn check_args(&self, target: SocketAddr, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "check",
            &target.to_string(),
            "--dns",
            &self.dns.addr().to_string(),
            "--format",
            "json",
            "--no-progress",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        if !extra.contains(&"--timeout") {
            args.extend(["--timeout".to_string(), "3".to_string()]);
        }
        args.extend(extra.iter().map(ToString::to_string));
        args
    }

    /// Runs `check` and returns (exit code, report, stdout text).
    fn check(&self, target: SocketAddr, extra: &[&str]) -> (i32, Value, String) {
        let measured = run_measured(&self.check_args(target, extra));
        let text = String::from_utf8_lossy(&measured.stdout).into_owned();
        let report = serde_json::from_str(&text).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {text}\n{}",
                String::from_utf8_lossy(&measured.stderr)
            )
        });
        (measured.code, report, text)
    }
}

fn has_finding(report: &Value, playbook: &str) -> bool {
    report["findings"]
        .as_array()
        .is_some_and(|findings| findings.iter().any(|f| f["playbook"] == playbook))
}

#[test]
fn test_messages_go_only_to_rcpt_valid() {
    let lab = Lab::start(Personality::NoFilter.config(DOMAIN));
    let (_, report, _) = lab.check(
        lab.smtp.addr(),
        &[
            "--send-test-message",
            "--rcpt-valid",
            VALID,
            "--rcpt-invalid",
            "nobody@example.test",
            "--relay-rcpt",
            "someone@foreign.test",
        ],
    );
    assert_eq!(observation(&report, "test_message")["outcome"], "fail");
    let commands = lab.smtp.commands();
    let mut recipients: Vec<String> = Vec::new();
    let mut messages = 0;
    for command in &commands {
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("MAIL") || upper.starts_with("RSET") || upper.starts_with("EHLO") {
            recipients.clear();
        } else if upper.starts_with("RCPT") {
            recipients.push(command.clone());
        } else if upper.starts_with("DATA") {
            messages += 1;
            assert!(
                !recipients.is_empty()
                    && recipients
                        .iter()
                        .all(|rcpt| rcpt.eq_ignore_ascii_case(&format!("RCPT TO:<{VALID}>"))),
                "DATA after {recipients:?}: {commands:#?}"
            );
        }
    }
    assert_eq!(messages, 2, "GTUBE and EICAR: {commands:#?}");
}

#[test]
fn smtp_probes_open_at_most_two_connections_per_host_and_few_in_all() {
    // Every probe: session, TLS (verified, then unverified: the name does not match 127.0.0.1),
    // relay and recipients, a greylisting retry after 1 s, and both test messages.
    let lab = Lab::start(Personality::Greylister.config(DOMAIN));
    let (_, report, _) = lab.check(
        lab.smtp.addr(),
        &[
            "--send-test-message",
            "--rcpt-valid",
            VALID,
            "--greylist-wait",
            "1",
        ],
    );
    assert_eq!(
        observation(&report, "greylist")["outcome"],
        "ok",
        "{report:#}"
    );
    let counter = lab.smtp.connections();
    assert!(
        counter.most_at_once() <= 2,
        "{} connections at once",
        counter.most_at_once()
    );
    assert!(
        counter.total() <= 6,
        "{} connections for one run",
        counter.total()
    );

    // A peer that hangs up after every banner gets each probe's single reconnect, no more.
    let rude = lab
        .runtime
        .block_on(HostileTcp::start(
            loopback(),
            vec![Step::Send(b"220 rude.example.test ESMTP\r\n".to_vec())],
        ))
        .unwrap();
    let (code, report, _) = lab.check(rude.addr(), &["--rcpt-valid", VALID]);
    assert_eq!(observation(&report, "smtp.session")["outcome"], "error");
    assert_eq!(exit_code_of(report["status"].as_str().unwrap()), code);
    let counter = rude.connections();
    assert!(counter.most_at_once() <= 2, "{}", counter.most_at_once());
    assert!(counter.total() <= 4, "{} connections", counter.total());
}

#[test]
fn reports_and_bundles_hold_no_message_body_and_no_credentials() {
    let lab = Lab::start(Personality::NoFilter.config(DOMAIN));
    let dir = tempfile::tempdir().unwrap();
    let bundle_path = dir.path().join("bundle.json");
    let (_, report, text) = lab.check(
        lab.smtp.addr(),
        &[
            "--send-test-message",
            "--rcpt-valid",
            VALID,
            "--record",
            &bundle_path.display().to_string(),
        ],
    );
    assert_eq!(observation(&report, "test_message")["outcome"], "fail");
    let bundle = std::fs::read_to_string(&bundle_path).expect("--record writes a bundle");
    for (name, document) in [("report", &text), ("bundle", &bundle)] {
        for secret in [GTUBE, EICAR, "Subject:", "Content-Type:", "MIME-Version"] {
            assert!(!document.contains(secret), "{name} holds {secret:?}");
        }
    }
    assert!(
        lab.smtp.saw_data(),
        "the bodies were sent, only not recorded"
    );
    assert!(
        !lab.smtp
            .commands()
            .iter()
            .any(|command| command.to_ascii_uppercase().starts_with("AUTH")),
        "mxdoctor never authenticates, so it has no secret to leak"
    );
}

#[test]
fn certificates_are_verified_by_default() {
    for cert in [LabCert::SelfSigned, LabCert::Valid] {
        // No --tls-ca: a certificate from an unknown CA (the lab's) is as bad as a self-signed one.
        let mut config = Personality::Healthy.config(DOMAIN);
        config.starttls = Some(cert);
        let lab = Lab::start(config);
        let (code, report, _) = lab.check(lab.smtp.addr(), &[]);
        let tls = observation(&report, "tls");
        assert_eq!(tls["outcome"], "fail", "{cert:?}: {tls:#}");
        assert_eq!(tls["data"]["verified"], false, "{cert:?}");
        assert!(tls["data"]["verify_error"].is_string(), "{cert:?}: {tls:#}");
        assert!(
            has_finding(&report, "tls-certificate-invalid"),
            "{cert:?}: {report:#}"
        );
        assert_ne!(code, 0, "{cert:?}: a bad certificate is not a pass");
    }
}

#[test]
fn the_deadline_keeps_what_finished_and_times_out_the_rest() {
    let lab = Lab::start(Personality::Greylister.config(DOMAIN));
    let http = lab.runtime.block_on(LabHttp::start(loopback())).unwrap();
    let started = std::time::Instant::now();
    let measured = run_measured(&lab.check_args(
        lab.smtp.addr(),
        &[
            "--rcpt-valid",
            VALID,
            "--greylist-wait",
            "60",
            "--http-egress",
            &http.url("/blackhole"),
            "--http-egress",
            &http.url("/ok"),
            "--timeout",
            "30",
            "--deadline",
            "3",
        ],
    ));
    let took = started.elapsed();
    let report: Value = serde_json::from_slice(&measured.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&measured.stderr)));
    // 3 s deadline plus start-up of a debug build on a shared machine; without the deadline this
    // run would wait 60 s for the greylisting retry and 30 s for the black hole.
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        report["duration_ms"].as_u64().unwrap() < 6_000,
        "{report:#}"
    );
    assert_eq!(
        exit_code_of(report["status"].as_str().unwrap()),
        measured.code
    );

    for (check, outcome) in [
        ("smtp.session", "ok"),
        ("relay", "ok"),
        ("recipient.valid", "inconclusive"),
    ] {
        assert_eq!(
            observation(&report, check)["outcome"],
            outcome,
            "{check} finished before the deadline and is kept"
        );
    }
    assert_ne!(observation(&report, "dns.ptr")["outcome"], "timeout");
    let ok_url = http.url("/ok");
    let egress: Vec<&Value> = report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["check"] == "http.egress")
        .collect();
    assert_eq!(egress.len(), 2, "{egress:#?}");
    for observation_of_url in egress {
        let expected = if observation_of_url["subject"] == ok_url.as_str() {
            "ok"
        } else {
            "timeout"
        };
        assert_eq!(
            observation_of_url["outcome"], expected,
            "{observation_of_url:#}"
        );
    }
    for check in ["greylist", "http.egress"] {
        let cut = report["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["check"] == check && o["outcome"] == "timeout")
            .unwrap_or_else(|| panic!("{check} cut by the deadline: {report:#}"));
        assert!(
            cut["detail"]
                .as_str()
                .unwrap()
                .contains("run deadline (3s)"),
            "{cut:#}"
        );
    }
}

#[test]
fn deadline_must_be_positive() {
    for bad in ["0", "-1", "nan", "100000"] {
        crate::common::mxdoctor()
            .args([
                "check",
                "example.test",
                "--dns",
                "127.0.0.1:9",
                "--deadline",
                bad,
            ])
            .assert()
            .code(3);
    }
}

#[test]
fn serve_runs_at_most_max_concurrent_probes_and_only_allowed_targets() {
    let lab = crate::check::start_lab();
    let silent = lab.args("silent");
    let exporter = crate::serve::start_exporter(&silent[2..], 1);
    let address = exporter.address.clone();

    let slow = {
        let address = address.clone();
        std::thread::spawn(move || crate::serve::get(&address, "/probe?target=silent.lab.test"))
    };
    // Wait until the slow probe holds the only slot, then ask for a second one.
    let started = std::time::Instant::now();
    while !crate::serve::get(&address, "/metrics")
        .1
        .contains("mxdoctor_exporter_probes_in_flight 1")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "probe never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (busy, message) = crate::serve::get(&address, "/probe?target=healthy.lab.test");
    assert_eq!(busy, 503, "{message}");
    assert_eq!(
        crate::serve::get(&address, "/probe?target=mail.example.com").0,
        403
    );
    assert_eq!(slow.join().unwrap().0, 200);
}
