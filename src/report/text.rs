//! The human report: ranked findings with evidence and the fix for the chosen platform, on 80 columns.

use std::fmt::Write as _;

use colored::{ColoredString, Colorize};

use super::{Report, Status};
use crate::finding::{Finding, Platform};
use crate::playbook::{Confidence, Severity};

const WIDTH: usize = 80;
const EVIDENCE_SHOWN: usize = 5;

#[derive(Debug, Clone, Default)]
pub struct TextOptions {
    /// The platform whose remediation is printed in full.
    pub platform: Platform,
    /// Also list every observation (not only those behind findings).
    pub observations: bool,
    /// Print the explanation paragraph of each finding.
    pub explain: bool,
}

pub fn render(report: &Report, options: &TextOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} {} {}",
        "mxdoctor".bold(),
        report.command,
        report.target,
        status_label(report.status)
    );
    let mut facts = vec![
        plural(report.findings.len(), "finding"),
        format!("{} ms", report.duration_ms),
    ];
    if !report.observations.is_empty() {
        facts.insert(1, plural(report.observations.len(), "observation"));
    }
    if let Some(vantage) = &report.vantage {
        facts.push(format!("from {vantage}"));
    }
    let _ = writeln!(out, "{}", facts.join(" · ").dimmed());
    for note in &report.notes {
        push_wrapped(&mut out, &format!("note: {note}"), "", "      ");
    }
    if report.findings.is_empty() {
        let _ = writeln!(out, "\n{}", "No known problem recognised.".green());
    }
    for finding in &report.findings {
        out.push('\n');
        render_finding(&mut out, finding, options);
    }
    if options.observations && !report.observations.is_empty() {
        let _ = writeln!(out, "\n{}", "Observations".bold());
        for observation in &report.observations {
            let line = format!(
                "{:<12} {:<17} {} ({} ms): {}",
                observation.outcome.as_str(),
                observation.check,
                observation.subject,
                observation.latency.as_millis(),
                observation.detail
            );
            push_wrapped(&mut out, &line, "  ", "      ");
        }
    }
    out
}

fn render_finding(out: &mut String, finding: &Finding, options: &TextOptions) {
    let _ = writeln!(
        out,
        "{:>2}. {} {} {}",
        finding.rank,
        severity_label(finding.severity),
        finding.playbook.bold(),
        confidence_label(finding.confidence)
    );
    push_wrapped(out, &finding.title, "    ", "    ");
    push_wrapped(out, &finding.summary.dimmed().to_string(), "    ", "    ");
    if let Some(count) = finding.count {
        let mut seen = format!("seen {count} time{}", if count == 1 { "" } else { "s" });
        if let (Some(first), Some(last)) = (&finding.first_seen, &finding.last_seen) {
            let _ = write!(seen, ", first {first}, last {last}");
        }
        push_wrapped(out, &seen, "    ", "    ");
    }
    if options.explain && !finding.explanation.is_empty() {
        push_wrapped(out, finding.explanation.trim(), "    ", "    ");
    }
    if !finding.evidence.is_empty() {
        let _ = writeln!(out, "    {}", "evidence".underline());
        for evidence in finding.evidence.iter().take(EVIDENCE_SHOWN) {
            let line = format!("{} {}: {}", evidence.check.cyan(), evidence.subject, evidence.detail);
            push_wrapped(out, &line, "      ", "        ");
        }
        if finding.evidence.len() > EVIDENCE_SHOWN {
            let _ = writeln!(out, "      … and {} more", finding.evidence.len() - EVIDENCE_SHOWN);
        }
    }
    if let Some(first) = finding.remediation.first() {
        let heading = if first.platform == options.platform || options.platform == Platform::Generic {
            format!("fix ({})", first.platform.as_str())
        } else {
            format!("fix ({}; nothing specific for {})", first.platform.as_str(), options.platform.as_str())
        };
        let _ = writeln!(out, "    {}", heading.underline());
        for (number, step) in first.steps.iter().enumerate() {
            push_wrapped(out, &format!("{}. {step}", number + 1), "      ", "         ");
        }
        for command in &first.commands {
            let _ = writeln!(out, "      {} {}", "$".dimmed(), command.green());
        }
        let others: Vec<&str> = finding.remediation.iter().skip(1).map(|r| r.platform.as_str()).collect();
        if !others.is_empty() {
            let _ = writeln!(out, "    {}", format!("also for: {} (--platform)", others.join(", ")).dimmed());
        }
    }
}

fn push_wrapped(out: &mut String, text: &str, first_indent: &str, rest_indent: &str) {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first_indent)
        .subsequent_indent(rest_indent)
        .break_words(true);
    for line in textwrap::wrap(text, options) {
        out.push_str(&line);
        out.push('\n');
    }
}

fn plural(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

fn status_label(status: Status) -> ColoredString {
    let label = status.as_str().to_uppercase();
    match status {
        Status::Ok => label.green().bold(),
        Status::Warning => label.yellow().bold(),
        Status::Critical => label.red().bold(),
        Status::Unknown => label.magenta().bold(),
    }
}

fn severity_label(severity: Severity) -> ColoredString {
    let label = format!("{:<8}", format!("{severity:?}").to_uppercase());
    match severity {
        Severity::Critical => label.red().bold(),
        Severity::High => label.red(),
        Severity::Medium => label.yellow(),
        Severity::Low => label.blue(),
        Severity::Info => label.dimmed(),
    }
}

fn confidence_label(confidence: Confidence) -> ColoredString {
    format!("({})", format!("{confidence:?}").to_lowercase()).dimmed()
}
