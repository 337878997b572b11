//! The `mxdoctor/report/v1` JSON report: the machine-readable contract, documented in docs/report.md.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report always serialises");
    text.push('\n');
    text
}
