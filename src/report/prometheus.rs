//! Prometheus text exposition (format 0.0.4) for node_exporter's textfile collector and `mxdoctor serve`:
//! HELP and TYPE before each family's samples, label values escaped, no series twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Report;
use super::facts::{confidence_word, probe_latencies, severity_word};
use crate::vocabulary::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    Counter,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
        }
    }
}

/// Builds an exposition document family by family; a family's samples follow its HELP and TYPE lines.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
    families: BTreeSet<String>,
    series: BTreeSet<String>,
}

impl Exposition {
    /// Starts a family; a name already started is a programming error.
    pub fn family(&mut self, name: &str, kind: MetricKind, help: &str) -> &mut Self {
        assert!(
            self.families.insert(name.to_string()),
            "metric family {name} written twice"
        );
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample of the family started last; a series (name + labels) already written is skipped.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        let mut series = name.to_string();
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(key, value)| format!("{key}=\"{}\"", escape_label_value(value)))
                .collect();
            let _ = write!(series, "{{{}}}", pairs.join(","));
        }
        if self.series.insert(series.clone()) {
            let _ = writeln!(self.text, "{series} {}", number(value));
        }
        self
    }

    pub fn finish(self) -> String {
        self.text
    }
}

pub fn render(report: &Report) -> String {
    let mut exposition = Exposition::default();
    write_report(&mut exposition, report);
    exposition.finish()
}

/// The report's families, for a file of their own or inside a larger document.
pub fn write_report(exposition: &mut Exposition, report: &Report) {
    let run = [
        ("command", report.command.as_str()),
        ("target", report.target.as_str()),
    ];
    exposition
        .family(
            "mxdoctor_status",
            MetricKind::Gauge,
            "Diagnosis status as the exit code: 0 ok, 1 warning, 2 critical, 3 unknown.",
        )
        .sample(
            "mxdoctor_status",
            &run,
            f64::from(report.status.exit_code()),
        );
    exposition
        .family(
            "mxdoctor_run_timestamp_seconds",
            MetricKind::Gauge,
            "Unix time the run started.",
        )
        .sample(
            "mxdoctor_run_timestamp_seconds",
            &run,
            report.started_unix as f64,
        );
    exposition
        .family(
            "mxdoctor_run_duration_seconds",
            MetricKind::Gauge,
            "How long the run took.",
        )
        .sample(
            "mxdoctor_run_duration_seconds",
            &run,
            report.duration_ms as f64 / 1000.0,
        );

    exposition.family(
        "mxdoctor_findings",
        MetricKind::Gauge,
        "Number of findings per severity.",
    );
    let mut per_severity: BTreeMap<Severity, usize> = BTreeMap::new();
    for finding in &report.findings {
        *per_severity.entry(finding.severity).or_default() += 1;
    }
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        let count = per_severity.get(&severity).copied().unwrap_or(0);
        exposition.sample(
            "mxdoctor_findings",
            &[run[1], ("severity", severity_word(severity))],
            count as f64,
        );
    }

    exposition.family(
        "mxdoctor_finding",
        MetricKind::Gauge,
        "A problem mxdoctor diagnosed (1 while present), by playbook id.",
    );
    for finding in &report.findings {
        let labels = [
            run[1],
            ("playbook", finding.playbook.as_str()),
            ("severity", severity_word(finding.severity)),
            ("confidence", confidence_word(finding.confidence)),
            ("subject", finding.subject.as_deref().unwrap_or_default()),
        ];
        exposition.sample("mxdoctor_finding", &labels, 1.0);
    }

    let probes = probe_latencies(report);
    if probes.is_empty() {
        return;
    }
    exposition.family(
        "mxdoctor_probe_duration_seconds",
        MetricKind::Gauge,
        "How long each probe took (the slowest, when one ran several times).",
    );
    for probe in &probes {
        let labels = [
            run[1],
            ("check", probe.check.as_str()),
            ("subject", probe.subject.as_str()),
        ];
        exposition.sample("mxdoctor_probe_duration_seconds", &labels, probe.seconds);
    }
    exposition.family(
        "mxdoctor_probe_success",
        MetricKind::Gauge,
        "1 when the probe got a healthy answer, 0 otherwise.",
    );
    for probe in &probes {
        let labels = [
            run[1],
            ("check", probe.check.as_str()),
            ("subject", probe.subject.as_str()),
        ];
        exposition.sample(
            "mxdoctor_probe_success",
            &labels,
            if probe.success { 1.0 } else { 0.0 },
        );
    }
}

/// A sample value as Prometheus reads it (`NaN`, `+Inf`, `-Inf` spelled its way).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    }
}

fn escape_label_value(text: &str) -> String {
    text.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn escape_help(text: &str) -> String {
    text.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_series_written_once() {
        let mut exposition = Exposition::default();
        exposition.family("m", MetricKind::Gauge, "a \\ help\nline");
        exposition.sample("m", &[("l", "a\"b\\c\nd")], 1.0).sample(
            "m",
            &[("l", "a\"b\\c\nd")],
            2.0,
        );
        assert_eq!(
            exposition.finish(),
            "# HELP m a \\\\ help\\nline\n# TYPE m gauge\nm{l=\"a\\\"b\\\\c\\nd\"} 1\n"
        );
    }

    #[test]
    fn special_values_use_prometheus_spelling() {
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(0.25), "0.25");
    }
}
