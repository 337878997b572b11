//! Every output format from one run (`--report FORMAT=PATH`), each parsed by the test; snapshots of the
//! text, Markdown and Nagios renderings of a fixed report; baselines, profiles, --quiet and shell helpers.

use std::collections::BTreeSet;
use std::time::Duration;

use mxdoctor::finding::{BaselineState, Evidence, Finding, PlatformRemediation};
use mxdoctor::report::baseline::ResolvedFinding;
use mxdoctor::report::text::TextOptions;
use mxdoctor::report::{EvaluatedPlaybook, Format, Report, render};
use mxdoctor::vocabulary::{Confidence, Platform, Severity, Status};
use mxdoctor_model::observation::Data;
use mxdoctor_model::{Observation, Outcome};
use quick_xml::events::Event;
use serde_json::Value;

use crate::check::start_lab;
use crate::common::{json_report, mxdoctor};

/// Checks `text` against the Prometheus text exposition rules promtool applies: metric and label names,
/// quoted and escaped label values, numeric values, HELP and TYPE once per family and before its
/// samples, every sample of a family together, no series twice.
pub fn assert_valid_exposition(text: &str) {
    let name_ok = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut typed: BTreeSet<String> = BTreeSet::new();
    let mut helped: BTreeSet<String> = BTreeSet::new();
    let mut sampled: BTreeSet<String> = BTreeSet::new();
    let mut series: BTreeSet<String> = BTreeSet::new();
    let mut current = String::new();
    assert!(text.ends_with('\n'), "exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (keyword, name) = (words.next().unwrap(), words.next().expect("metric name"));
            assert!(name_ok(name), "bad metric name in {line:?}");
            assert!(
                !sampled.contains(name),
                "{line:?} after samples of its family"
            );
            match keyword {
                "HELP" => assert!(helped.insert(name.to_string()), "HELP twice: {line:?}"),
                "TYPE" => {
                    let kind = words.next().unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{line:?}"
                    );
                    assert!(typed.insert(name.to_string()), "TYPE twice: {line:?}");
                }
                other => panic!("unknown comment {other:?}"),
            }
            continue;
        }
        assert!(!line.is_empty(), "no blank lines");
        let (series_text, value) = line.rsplit_once(' ').expect("a sample is SERIES VALUE");
        assert!(
            value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
            "bad value in {line:?}"
        );
        let name = series_text.split('{').next().unwrap();
        assert!(name_ok(name), "bad metric name in {line:?}");
        assert!(
            typed.contains(name) && helped.contains(name),
            "sample before HELP/TYPE: {line:?}"
        );
        assert!(
            current == name || sampled.insert(name.to_string()),
            "samples of {name} are not together"
        );
        current = name.to_string();
        if let Some(labels) = series_text.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert_valid_labels(labels, line);
        }
        assert!(
            series.insert(series_text.to_string()),
            "series twice: {line:?}"
        );
    }
}

/// `{name="value",...}` with names valid and values escaped (`\\`, `\"`, `\n` only), no name twice.
fn assert_valid_labels(labels: &str, line: &str) {
    let inner = labels
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("labels not braced: {line:?}"));
    let mut chars = inner.chars().peekable();
    let mut names = BTreeSet::new();
    while chars.peek().is_some() {
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {name:?} in {line:?}"
        );
        assert!(!name.starts_with("__"), "reserved label {name:?}");
        assert!(names.insert(name), "label twice in {line:?}");
        assert_eq!(chars.next(), Some('='));
        assert_eq!(chars.next(), Some('"'), "unquoted value in {line:?}");
        loop {
            match chars
                .next()
                .unwrap_or_else(|| panic!("unterminated value in {line:?}"))
            {
                '\\' => assert!(
                    matches!(chars.next(), Some('\\' | '"' | 'n')),
                    "bad escape in {line:?}"
                ),
                '"' => break,
                '\n' => panic!("raw newline in {line:?}"),
                _ => {}
            }
        }
        match chars.next() {
            Some(',') | None => {}
            other => panic!("expected , or end after a label, got {other:?} in {line:?}"),
        }
    }
}

/// Suites (name → (testcases, failing testcase names)) of a JUnit document, checked against its counts.
fn junit_suites(xml: &str) -> Vec<(String, usize, Vec<String>, String)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut suites = Vec::new();
    let (mut declared_tests, mut declared_failures) = (None, None);
    let mut current_case = String::new();
    let mut in_failure = false;
    let attribute = |element: &quick_xml::events::BytesStart<'_>, key: &str| {
        element
            .attributes()
            .map(Result::unwrap)
            .find(|a| a.key.as_ref() == key.as_bytes())
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::default())
                    .unwrap()
                    .into_owned()
            })
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) | Event::Empty(element) => match element.name().as_ref() {
                b"testsuites" => {
                    declared_tests = attribute(&element, "tests");
                    declared_failures = attribute(&element, "failures");
                }
                b"testsuite" => suites.push((
                    attribute(&element, "name").expect("suite name"),
                    0,
                    Vec::new(),
                    String::new(),
                )),
                b"testcase" => {
                    current_case = attribute(&element, "name").expect("testcase name");
                    suites.last_mut().expect("testcase inside a testsuite").1 += 1;
                }
                b"failure" => {
                    suites.last_mut().unwrap().2.push(current_case.clone());
                    in_failure = true;
                }
                _ => {}
            },
            Event::Text(text) if in_failure => suites
                .last_mut()
                .unwrap()
                .3
                .push_str(&text.decode().unwrap()),
            Event::End(element) if element.name().as_ref() == b"failure" => in_failure = false,
            Event::Eof => break,
            _ => {}
        }
    }
    let cases: usize = suites.iter().map(|s| s.1).sum();
    let failures: usize = suites.iter().map(|s| s.2.len()).sum();
    assert_eq!(
        declared_tests,
        Some(cases.to_string()),
        "testsuites@tests counts the testcases"
    );
    assert_eq!(
        declared_failures,
        Some(failures.to_string()),
        "testsuites@failures counts the failures"
    );
    suites
}

#[test]
fn one_check_run_writes_json_junit_prometheus_markdown_and_nagios() {
    let running = start_lab();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let output = mxdoctor()
        .args(running.args("open-relay"))
        .args(["--no-progress", "--quiet"])
        .args(["--report", &format!("json={}", path("r.json"))])
        .args(["--report", &format!("junit={}", path("r.xml"))])
        .args(["--report", &format!("prometheus={}", path("r.prom"))])
        .args(["--report", &format!("markdown={}", path("r.md"))])
        .args(["--report", &format!("nagios={}", path("r.txt"))])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "--quiet prints nothing");
    let read = |name: &str| std::fs::read_to_string(path(name)).unwrap();

    let report: Value = serde_json::from_str(&read("r.json")).unwrap();
    assert_eq!(report["schema"], "mxdoctor/report/v1");
    assert_eq!(report["findings"][0]["playbook"], "open-relay");
    assert!(
        report["command_line"]
            .as_str()
            .unwrap()
            .starts_with("mxdoctor check open-relay.lab.test")
    );
    let evaluated = report["evaluated"].as_array().unwrap();
    assert!(evaluated.len() > 5, "the live playbooks are listed");

    let suites = junit_suites(&read("r.xml"));
    let cases: usize = suites.iter().map(|s| s.1).sum();
    assert_eq!(
        cases,
        evaluated.len(),
        "one testcase per evaluated playbook"
    );
    let names: BTreeSet<&str> = suites.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names.len(), suites.len(), "one suite per area");
    let relay = suites
        .iter()
        .find(|s| s.0 == "relay")
        .expect("a relay suite");
    assert!(relay.2.contains(&"open-relay".to_string()), "{relay:?}");
    assert!(
        relay.3.contains("Evidence:") && relay.3.contains("250") && relay.3.contains("Fix ("),
        "{}",
        relay.3
    );
    assert!(
        suites.iter().any(|s| s.1 > s.2.len()),
        "passing playbooks are testcases too"
    );

    let metrics = read("r.prom");
    assert_valid_exposition(&metrics);
    assert!(
        metrics.lines().any(|l| l.starts_with("mxdoctor_finding{")
            && l.contains("playbook=\"open-relay\"")
            && l.contains("severity=\"critical\"")
            && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains("mxdoctor_probe_duration_seconds{") && metrics.contains("check=\"relay\"")
    );
    assert!(
        metrics.contains("mxdoctor_status{command=\"check\",target=\"open-relay.lab.test\"} 2")
    );

    let markdown = read("r.md");
    assert!(
        markdown.starts_with("# mxdoctor check: open-relay.lab.test — CRITICAL"),
        "{markdown}"
    );
    assert!(markdown.contains("| 1 | critical | confirmed | `open-relay` |"));
    assert!(
        markdown.contains("**Evidence**")
            && markdown.contains("```sh\nmxdoctor check open-relay.lab.test")
    );

    let nagios = read("r.txt");
    let first = nagios.lines().next().unwrap();
    assert!(
        first.starts_with("MXDOCTOR CRITICAL - Open relay"),
        "{first}"
    );
    let perfdata = first.split_once(" | ").expect("perfdata").1;
    for item in perfdata.split(' ') {
        let (label, rest) = item.rsplit_once('=').unwrap();
        assert!(
            label.starts_with('\'')
                && label.ends_with('\'')
                && !label[1..label.len() - 1].contains(['\'', '=', ' ']),
            "{item}"
        );
        let value = rest.split(';').next().unwrap().trim_end_matches('s');
        assert!(value.parse::<f64>().is_ok(), "{item}");
    }
    assert!(perfdata.contains("'latency_relay_"), "{perfdata}");
}

#[test]
fn every_format_reaches_stdout_and_the_format_variable_is_honoured() {
    let relay = "554 5.7.1 <x@other.test>: Relay access denied";
    for format in ["text", "json", "junit", "nagios", "prometheus", "markdown"] {
        let output = mxdoctor()
            .args(["explain", relay, "--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("relay-access-denied"), "{format}: {text}");
    }
    let output = mxdoctor()
        .args(["explain", relay])
        .env("MXDOCTOR_FORMAT", "prometheus")
        .output()
        .unwrap();
    assert_valid_exposition(&String::from_utf8(output.stdout).unwrap());
    mxdoctor()
        .args(["explain", relay, "--report", "yaml=x"])
        .assert()
        .code(3);
}

#[test]
fn baseline_marks_new_unchanged_and_resolved_and_fail_on_new_ignores_old_problems() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json").display().to_string();
    let relay = "554 5.7.1 <x@other.test>: Relay access denied";
    let full = "452 4.2.2 <u@example.test>: Mailbox full";
    mxdoctor()
        .args([
            "explain",
            relay,
            full,
            "--quiet",
            "--report",
            &format!("json={baseline}"),
        ])
        .assert()
        .code(2);

    let (code, report) = json_report(&["explain", relay, "--baseline", &baseline]);
    assert_eq!(code, 2);
    assert_eq!(report["findings"][0]["baseline"], "unchanged");
    assert_eq!(report["resolved"][0]["playbook"], "mailbox-full");
    let (code, _) = json_report(&["explain", relay, "--baseline", &baseline, "--fail-on-new"]);
    assert_eq!(code, 0, "only an old problem: CI stays green");

    let new = "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org";
    let (code, report) = json_report(&[
        "explain",
        relay,
        new,
        "--baseline",
        &baseline,
        "--fail-on-new",
    ]);
    let states: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["baseline"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"new") && states.contains(&"unchanged"),
        "{states:?}"
    );
    assert_ne!(code, 0, "a new problem fails");
    mxdoctor()
        .args(["explain", relay, "--fail-on-new"])
        .assert()
        .code(3);
}

#[test]
fn ci_profile_lets_warnings_pass_and_quiet_prints_nothing() {
    let full = "452 4.2.2 <u@example.test>: Mailbox full";
    let plain = mxdoctor()
        .args(["explain", full, "--quiet"])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1), "mailbox-full is a warning");
    assert!(plain.stdout.is_empty());
    mxdoctor()
        .args(["explain", full, "--profile", "ci"])
        .assert()
        .code(0);
    mxdoctor()
        .args(["explain", full])
        .env("MXDOCTOR_PROFILE", "ci")
        .assert()
        .code(0);
    mxdoctor()
        .args([
            "explain",
            "554 5.7.1 <x@other.test>: Relay access denied",
            "--profile",
            "ci",
        ])
        .assert()
        .code(2);
}

#[test]
fn completions_and_manual_page_are_generated() {
    let bash = mxdoctor().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success() && String::from_utf8_lossy(&bash.stdout).contains("_mxdoctor"));
    let man = mxdoctor().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success() && page.contains(".TH mxdoctor") && page.contains("serve"));
}

/// A report with fixed values (no clock, no network) for snapshots.
fn fixed_report() -> Report {
    let finding = Finding {
        rank: 1,
        playbook: "open-relay".into(),
        title: "Open relay | accepts mail for strangers".into(),
        severity: Severity::Critical,
        confidence: Confidence::Confirmed,
        summary: "Anyone can send spam through this server.".into(),
        subject: Some("mx1.example.test:25".into()),
        evidence: vec![Evidence {
            check: "relay".into(),
            subject: "mx1.example.test:25".into(),
            detail: "RCPT <x@example.net> → 250 2.1.5 Ok".into(),
        }],
        remediation: vec![PlatformRemediation {
            platform: Platform::Postfix,
            steps: vec!["Restrict relaying to your own networks.".into()],
            commands: vec!["postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination'".into()],
            ..PlatformRemediation::default()
        }],
        explanation: String::new(),
        references: vec![],
        count: None,
        first_seen: None,
        last_seen: None,
        baseline: None,
        caused_by: None,
        explains: Vec::new(),
        alternatives: Vec::new(),
    };
    let observations = vec![
        Observation::new(
            "relay",
            "mx1.example.test:25",
            Outcome::Fail,
            Duration::from_millis(14),
            "RCPT accepted",
            Data::None,
        ),
        Observation::new(
            "dnsbl",
            "zen.example.org",
            Outcome::Ok,
            Duration::from_millis(123),
            "not listed",
            Data::None,
        ),
        Observation::new(
            "dnsbl",
            "bl \"quoted\".example",
            Outcome::Timeout,
            Duration::from_secs(3),
            "no answer",
            Data::None,
        ),
    ];
    let mut report = Report::new("check", "example.test", vec![finding], observations);
    report.tool.version = "0.0.0-snapshot".into();
    report.duration_ms = 812;
    report.started_unix = 1_795_847_552;
    report.vantage = Some("probe-host via 127.0.0.1:5353".into());
    report.command_line = Some("mxdoctor check example.test --dns 127.0.0.1:5353".into());
    report.evaluated = vec![
        EvaluatedPlaybook {
            id: "open-relay".into(),
            title: "Open relay".into(),
            area: "relay".into(),
        },
        EvaluatedPlaybook {
            id: "dnsbl-listed".into(),
            title: "Listed".into(),
            area: "reputation".into(),
        },
    ];
    report.findings[0].baseline = Some(BaselineState::New);
    report.resolved = vec![ResolvedFinding {
        playbook: "dnsbl-listed".into(),
        title: "Listed in a DNSBL".into(),
        severity: Severity::High,
        subject: Some("127.0.0.10".into()),
    }];
    assert_eq!(report.status, Status::Critical);
    report
}

fn rendered(format: Format) -> String {
    colored::control::set_override(false);
    render(
        &fixed_report(),
        format,
        &TextOptions {
            platform: Platform::Postfix,
            observations: true,
            explain: false,
        },
    )
}

#[test]
fn text_rendering_snapshot() {
    insta::assert_snapshot!("text", rendered(Format::Text));
}

#[test]
fn markdown_rendering_snapshot() {
    insta::assert_snapshot!("markdown", rendered(Format::Markdown));
}

#[test]
fn nagios_rendering_snapshot() {
    insta::assert_snapshot!("nagios", rendered(Format::Nagios));
}

#[test]
fn prometheus_and_junit_renderings_of_the_fixed_report_are_valid() {
    let metrics = rendered(Format::Prometheus);
    assert_valid_exposition(&metrics);
    assert!(
        metrics.contains(r#"subject="bl \"quoted\".example""#),
        "{metrics}"
    );
    let suites = junit_suites(&rendered(Format::Junit));
    let summary: Vec<(String, usize, usize)> =
        suites.into_iter().map(|s| (s.0, s.1, s.2.len())).collect();
    assert_eq!(
        summary,
        [
            ("relay".to_string(), 1, 1),
            ("reputation".to_string(), 1, 0)
        ]
    );
}
