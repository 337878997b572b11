//! The monitoring-plugins format (Nagios, Icinga, Sensu): a status line with latency perfdata, then
//! one line per finding as long output. The exit code is the report's status, as for every format.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::Report;
use super::facts::{headline, probe_latencies, severity_word, subject_suffix};

pub fn render(report: &Report) -> String {
    let mut out = format!(
        "MXDOCTOR {} - {}",
        report.status.as_str().to_uppercase(),
        plugin_text(&headline(report))
    );
    let perfdata = perfdata(report);
    if !perfdata.is_empty() {
        out.push_str(" | ");
        out.push_str(&perfdata.join(" "));
    }
    out.push('\n');
    for finding in &report.findings {
        let subject = subject_suffix(finding.subject.as_deref());
        let cause = finding
            .caused_by
            .as_ref()
            .map(|cause| format!(" [caused by {cause}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}. {} {}{subject}{cause}: {}",
            finding.rank,
            severity_word(finding.severity).to_uppercase(),
            finding.playbook,
            plugin_text(&finding.title)
        );
    }
    out
}

/// `'label'=value[UOM];warn;crit;min;max` items: the finding count, then each probe's latency.
fn perfdata(report: &Report) -> Vec<String> {
    let top = crate::nesting::top_level(&report.findings).count();
    let mut items = vec![format!("'findings'={top};;;0")];
    let mut labels = BTreeSet::new();
    for probe in probe_latencies(report) {
        let base = perf_label(&format!("latency_{}_{}", probe.check, probe.subject));
        let mut label = base.clone();
        let mut copy = 1;
        while !labels.insert(label.clone()) {
            copy += 1;
            label = format!("{base}_{copy}");
        }
        items.push(format!("'{label}'={:.3}s;;;0", probe.seconds));
    }
    items
}

/// A perfdata label: letters, digits and `_.-` only (no quotes, `=` or spaces to escape).
fn perf_label(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Plugin text must stay on one line and must not contain `|`, which starts perfdata.
fn plugin_text(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_text_cannot_break_the_line() {
        assert_eq!(
            perf_label("latency_dnsbl_127.0.0.2 'x'=y"),
            "latency_dnsbl_127.0.0.2__x__y"
        );
        assert_eq!(plugin_text("a | b\nc"), "a / b c");
    }
}
