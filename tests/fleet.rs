//! `check --targets` (many targets at once, JSON Lines, worst exit code), `--skip`, and the grep
//! export `playbooks patterns`, against the lab.

use mxdoctor_lab::scenarios::LISTING_ZONE;

use crate::check::start_lab;
use crate::common::{json_lines, mxdoctor, report_for};

#[test]
fn targets_file_gives_one_json_line_per_target_and_the_worst_exit_code() {
    let running = start_lab();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        "# two lab domains\nhealthy.lab.test\n\ndnsbl-listed.lab.test\n",
    )
    .unwrap();
    let output = mxdoctor()
        .args(["check", "--targets"])
        .arg(&targets)
        .args(["--dns", &running.lab.dns.addr().to_string()])
        .args(["--dnsbl", LISTING_ZONE, "--skip", "smtp,http"])
        .args(["--concurrency", "2", "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports = json_lines(&stdout);
    assert_eq!(reports.len(), 2, "{stdout}");
    assert_eq!(output.status.code(), Some(2), "a listed MX is critical");
    let listed = report_for(&reports, "dnsbl-listed.lab.test");
    assert_eq!(listed["findings"][0]["playbook"], "dnsbl-listed");
    for report in &reports {
        let checks: Vec<&str> = report["observations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["check"].as_str())
            .collect();
        assert!(
            checks.iter().all(|c| !c.starts_with("smtp") && *c != "tls"),
            "--skip smtp: no SMTP probe ran: {checks:?}"
        );
        assert!(checks.contains(&"dns.mx"), "{checks:?}");
    }
}

#[test]
fn target_and_targets_together_are_a_usage_error() {
    let output = mxdoctor()
        .args(["check", "example.test", "--targets", "/nonexistent"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn playbooks_patterns_prints_one_grep_pattern_per_line() {
    let output = mxdoctor().args(["playbooks", "patterns"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let patterns = String::from_utf8(output.stdout).unwrap();
    assert!(patterns.lines().count() > 50, "{patterns}");
    assert!(
        patterns
            .lines()
            .all(|line| !line.is_empty() && !line.contains("(?"))
    );
    assert!(
        patterns.contains("[Gg][Rr][Ee][Yy]"),
        "(?i) is spelled out for plain grep -E"
    );
}
