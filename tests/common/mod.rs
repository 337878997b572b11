//! Helpers shared by the integration tests: run the real binary, parse its JSON report.

use assert_cmd::Command;
use serde_json::Value;

/// Environment variables that stand for flags: a test sets them itself or not at all.
pub const ENVIRONMENT_FLAGS: [&str; 9] = [
    "MXDOCTOR_DNS",
    "MXDOCTOR_PLATFORM",
    "MXDOCTOR_PLAYBOOKS",
    "MXDOCTOR_FORMAT",
    "MXDOCTOR_PROFILE",
    "MXDOCTOR_TIMEOUT",
    "MXDOCTOR_GREYLIST_WAIT",
    "MXDOCTOR_SMTP_PORT",
    "MXDOCTOR_DEADLINE",
];

/// The `mxdoctor` binary with colour off and no progress display.
pub fn mxdoctor() -> Command {
    let mut command = Command::cargo_bin("mxdoctor").expect("binary built by cargo");
    command.env("NO_COLOR", "1");
    for variable in ENVIRONMENT_FLAGS {
        command.env_remove(variable);
    }
    command.timeout(std::time::Duration::from_secs(120));
    command
}

/// Runs `args` with `--format json` and returns (exit code, report).
pub fn json_report(args: &[&str]) -> (i32, Value) {
    let output = mxdoctor()
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run mxdoctor");
    let text = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}): {text}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

/// `check` with the lab's arguments (`Running::args`), without a progress bar: (exit code, JSON
/// report).
pub fn lab_report(args: &[String]) -> (i32, Value) {
    lab_report_with(args, &[])
}

/// `lab_report` with `extra` arguments after the lab's.
pub fn lab_report_with(args: &[String], extra: &[&str]) -> (i32, Value) {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(extra);
    all.push("--no-progress");
    json_report(&all)
}

/// The observations of one check in a report, in report order.
pub fn observations_of<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["observations"]
        .as_array()
        .map(|all| all.iter().filter(|o| o["check"] == check).collect())
        .unwrap_or_default()
}

/// The first observation of one check in a report; panics, showing the report, when it has none.
pub fn observation<'a>(report: &'a Value, check: &str) -> &'a Value {
    observations_of(report, check)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {check} observation: {report:#}"))
}

/// The reports a fleet run printed with `--format json`: one JSON report per line.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON report per line"))
        .collect()
}

/// The report for `target` among a fleet run's reports; panics when there is none.
pub fn report_for<'a>(reports: &'a [Value], target: &str) -> &'a Value {
    reports
        .iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no report for {target}"))
}

/// The playbook ids of a report's findings, in rank order.
pub fn ranked_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .map(|f| f["playbook"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// A runtime whose worker threads serve lab servers while the test thread runs the binary.
pub fn lab_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
