//! The human report: ranked findings with evidence and the fix for the chosen platform, on 80 columns.

use std::fmt::Write as _;

use colored::{ColoredString, Colorize};

use super::Report;
use super::facts::subject_suffix;
use crate::finding::Finding;
use crate::queue::overview::{QueueOverview, QueueRow};
use crate::queue::time::format_age;
use crate::vocabulary::{Confidence, Platform, Severity, Status};

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
    if let Some(queue) = &report.queue {
        render_queue(&mut out, queue);
    }
    if !report.resolved.is_empty() {
        let _ = writeln!(out, "\n{}", "Resolved since the baseline".bold());
        for resolved in &report.resolved {
            let subject = subject_suffix(resolved.subject.as_deref());
            push_wrapped(
                &mut out,
                &format!("{}{subject}: {}", resolved.playbook, resolved.title),
                "  ",
                "    ",
            );
        }
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
        "{:>2}. {} {} {}{}",
        finding.rank,
        severity_label(finding.severity),
        finding.playbook.bold(),
        confidence_label(finding.confidence),
        finding
            .baseline
            .map(|state| format!(" [{}]", state.as_str()))
            .unwrap_or_default()
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
            let line = format!(
                "{} {}: {}",
                evidence.check.cyan(),
                evidence.subject,
                evidence.detail
            );
            push_wrapped(out, &line, "      ", "        ");
        }
        if finding.evidence.len() > EVIDENCE_SHOWN {
            let _ = writeln!(
                out,
                "      … and {} more",
                finding.evidence.len() - EVIDENCE_SHOWN
            );
        }
    }
    if let Some(first) = finding.remediation.first() {
        let heading = if first.platform == options.platform || options.platform == Platform::Generic
        {
            format!("fix ({})", first.platform.as_str())
        } else {
            format!(
                "fix ({}; nothing specific for {})",
                first.platform.as_str(),
                options.platform.as_str()
            )
        };
        let _ = writeln!(out, "    {}", heading.underline());
        for (number, step) in first.steps.iter().enumerate() {
            push_wrapped(
                out,
                &format!("{}. {step}", number + 1),
                "      ",
                "         ",
            );
        }
        if first.command_blocks.is_empty() {
            for command in &first.commands {
                let _ = writeln!(out, "      {} {}", "$".dimmed(), command.green());
            }
        }
        for block in &first.command_blocks {
            let label = format!("# {}", block_label(block));
            let wrap = textwrap::Options::new(WIDTH)
                .initial_indent("      ")
                .subsequent_indent("      #   ");
            for line in textwrap::wrap(&label, wrap) {
                let _ = writeln!(out, "{}", line.dimmed());
            }
            for line in &block.lines {
                let _ = writeln!(out, "      {} {}", "$".dimmed(), line.green());
            }
        }
        let others: Vec<&str> = finding
            .remediation
            .iter()
            .skip(1)
            .map(|r| r.platform.as_str())
            .collect();
        if !others.is_empty() {
            let _ = writeln!(
                out,
                "    {}",
                format!("also for: {} (--platform)", others.join(", ")).dimmed()
            );
        }
    }
}

/// `read-only · FortiMail 7.4, 7.6 · note` for the comment line above a command block.
pub fn block_label(block: &crate::finding::CommandBlock) -> String {
    let mut parts = vec![
        block
            .mode
            .map_or("unmarked", |mode| mode.as_str())
            .to_string(),
    ];
    parts.extend(crate::finding::version_tag(&block.versions));
    parts.extend(block.note.clone());
    parts.join(" · ")
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

/// Names longer than this are cut in the queue shape table.
const QUEUE_NAME_WIDTH: usize = 28;

/// The queue command's section: a qshape-style table of the deferred queue by destination, the
/// message counts per queue, and the top destinations and delay reasons.
fn render_queue(out: &mut String, queue: &QueueOverview) {
    let _ = writeln!(
        out,
        "\n{}",
        "Queue shape: deferred messages by age in minutes (qshape)".bold()
    );
    let rows: Vec<&QueueRow> = std::iter::once(&queue.deferred)
        .chain(&queue.destinations)
        .collect();
    let cut = |name: &str| -> String {
        match name.char_indices().nth(QUEUE_NAME_WIDTH) {
            Some((at, _)) => format!("{}…", &name[..at]),
            None => name.to_string(),
        }
    };
    let name_width = rows
        .iter()
        .map(|row| cut(&row.name).chars().count())
        .max()
        .unwrap_or(5);
    let mut labels = vec!["T".to_string()];
    labels.extend(queue.buckets_minutes.iter().cloned());
    let cells = |row: &QueueRow| -> Vec<u64> {
        std::iter::once(row.messages)
            .chain(row.histogram.iter().copied())
            .collect()
    };
    let widths: Vec<usize> = (0..labels.len())
        .map(|column| {
            rows.iter()
                .filter_map(|row| cells(row).get(column).map(|n| n.to_string().len()))
                .chain(std::iter::once(labels[column].len()))
                .max()
                .unwrap_or(1)
        })
        .collect();
    let mut header = format!("  {:name_width$}", "");
    for (label, width) in labels.iter().zip(&widths) {
        let _ = write!(header, " {label:>width$}");
    }
    let _ = writeln!(out, "{}", header.dimmed());
    for row in &rows {
        let mut line = format!("  {:name_width$}", cut(&row.name));
        for (value, width) in cells(row).iter().zip(&widths) {
            let _ = write!(line, " {value:>width$}");
        }
        let _ = writeln!(out, "{line}");
    }
    let queues: Vec<String> = queue
        .queues
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    if !queues.is_empty() {
        push_wrapped(out, &format!("queues: {}", queues.join(", ")), "  ", "    ");
    }
    if !queue.destinations.is_empty() {
        let _ = writeln!(out, "\n{}", "Top destinations".bold());
        for row in &queue.destinations {
            let mut line = format!(
                "{}: {} deferred, {} slow, {} past DSN warning, oldest {}",
                row.name,
                row.messages,
                row.slow,
                row.past_dsn_warn,
                format_age(row.oldest_age_secs)
            );
            if let Some(reason) = &row.top_reason {
                let _ = write!(line, " — {reason}");
            }
            push_wrapped(out, &line, "  ", "    ");
        }
    }
    if !queue.reasons.is_empty() {
        let _ = writeln!(out, "\n{}", "Top delay reasons".bold());
        for row in &queue.reasons {
            let line = format!(
                "{:>7}  {} (oldest {})",
                row.messages,
                row.name,
                format_age(row.oldest_age_secs)
            );
            push_wrapped(out, &line, "", "           ");
            if let Some(example) = &row.example {
                push_wrapped(
                    out,
                    &format!("e.g. {example}").dimmed().to_string(),
                    "           ",
                    "           ",
                );
            }
        }
    }
}
