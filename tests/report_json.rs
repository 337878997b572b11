//! The JSON report contract (`mxdoctor/report/v1`, docs/report.md): keys, types and value sets.

use serde_json::Value;

use crate::common::{fixture, json_report};

fn assert_contract(report: &Value, command: &str) {
    assert_eq!(report["schema"], "mxdoctor/report/v1");
    assert_eq!(report["tool"]["name"], "mxdoctor");
    assert!(report["tool"]["version"].is_string());
    assert_eq!(report["command"], command);
    assert!(report["target"].is_string());
    assert!(matches!(
        report["status"].as_str(),
        Some("ok" | "warning" | "critical" | "unknown")
    ));
    assert!(report["duration_ms"].is_u64());
    let findings = report["findings"].as_array().expect("findings array");
    for (index, finding) in findings.iter().enumerate() {
        assert_eq!(finding["rank"], index + 1, "findings sorted by rank from 1");
        assert!(
            finding["playbook"].is_string()
                && finding["title"].is_string()
                && finding["summary"].is_string()
        );
        assert!(matches!(
            finding["severity"].as_str(),
            Some("critical" | "high" | "medium" | "low" | "info")
        ));
        assert!(matches!(
            finding["confidence"].as_str(),
            Some("confirmed" | "likely" | "possible")
        ));
        for evidence in finding["evidence"].as_array().expect("evidence array") {
            for key in ["check", "subject", "detail"] {
                assert!(evidence[key].is_string(), "evidence.{key}");
            }
        }
        for remediation in finding["remediation"]
            .as_array()
            .expect("remediation array")
        {
            assert!(matches!(
                remediation["platform"].as_str(),
                Some("fortimail" | "postfix" | "exchange" | "generic")
            ));
            assert!(remediation["steps"].is_array() && remediation["commands"].is_array());
        }
    }
    for observation in report["observations"]
        .as_array()
        .expect("observations array")
    {
        assert!(observation["check"].is_string() && observation["subject"].is_string());
        assert!(matches!(
            observation["outcome"].as_str(),
            Some("ok" | "fail" | "timeout" | "error" | "inconclusive" | "skipped")
        ));
        assert!(observation["latency_ms"].is_u64());
        assert!(observation["data"].is_object());
    }
}

#[test]
fn explain_report_follows_the_contract() {
    let (code, report) = json_report(&[
        "explain",
        "554 5.7.1 <x@other.test>: Relay access denied",
        "--platform",
        "postfix",
    ]);
    assert_contract(&report, "explain");
    assert_eq!(report["status"], "critical");
    assert_eq!(code, 2);
    assert_eq!(
        report["findings"][0]["remediation"][0]["platform"], "postfix",
        "--platform goes first"
    );
}

#[test]
fn triage_report_follows_the_contract() {
    let (_, report) = json_report(&["triage", &fixture("logs/maillog")]);
    assert_contract(&report, "triage");
}

#[test]
fn status_and_exit_code_agree() {
    for (text, status, code) in [
        ("250 2.0.0 Ok", "ok", 0),
        (
            "554 5.7.1 <x@other.test>: Relay access denied",
            "critical",
            2,
        ),
    ] {
        let (exit, report) = json_report(&["explain", text]);
        assert_eq!(report["status"], status, "{text}");
        assert_eq!(exit, code, "{text}");
    }
}
