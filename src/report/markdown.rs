//! A ticket-ready Markdown report: summary table, each finding with evidence and remediation blocks,
//! and the command line that produced it.

use std::fmt::Write as _;

use super::Report;
use super::facts::{confidence_word, evidence_line, headline, severity_word};
use crate::finding::Finding;
use crate::nesting::{depth, top_level};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# mxdoctor {}: {} — {}\n",
        report.command,
        inline(&report.target),
        report.status.as_str().to_uppercase()
    );
    let _ = writeln!(out, "{}\n", inline(&headline(report)));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(
        out,
        "| status | {} (exit {}) |",
        report.status.as_str(),
        report.status.exit_code()
    );
    let top = top_level(&report.findings).count();
    let folded = report.findings.len() - top;
    if folded == 0 {
        let _ = writeln!(out, "| findings | {top} |");
    } else {
        let _ = writeln!(out, "| findings | {top} (+{folded} explained by them) |");
    }
    if !report.observations.is_empty() {
        let _ = writeln!(out, "| observations | {} |", report.observations.len());
    }
    let _ = writeln!(out, "| duration | {} ms |", report.duration_ms);
    if let Some(vantage) = &report.vantage {
        let _ = writeln!(out, "| probed from | {} |", inline(vantage));
    }
    let _ = writeln!(
        out,
        "| tool | {} {} |",
        report.tool.name, report.tool.version
    );
    for note in &report.notes {
        let _ = write!(out, "\n> **Note:** {}\n", inline(note));
    }

    if !report.findings.is_empty() {
        let _ = writeln!(
            out,
            "\n## Summary\n\n| # | severity | confidence | playbook | title | subject |\n|---|---|---|---|---|---|"
        );
        for finding in &report.findings {
            let nesting = "↳ ".repeat(depth(&report.findings, finding));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {nesting}`{}` | {} | {} |",
                finding.rank,
                severity_word(finding.severity),
                confidence_word(finding.confidence),
                finding.playbook,
                inline(&finding.title),
                inline(finding.subject.as_deref().unwrap_or("")),
            );
        }
        let _ = writeln!(out, "\n## Findings");
        for finding in &report.findings {
            render_finding(&mut out, finding, depth(&report.findings, finding));
        }
    }
    if !report.resolved.is_empty() {
        let _ = writeln!(out, "\n## Resolved since the baseline\n");
        for resolved in &report.resolved {
            let subject = resolved
                .subject
                .as_deref()
                .map(|s| format!(" ({})", inline(s)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- `{}`{subject}: {}",
                resolved.playbook,
                inline(&resolved.title)
            );
        }
    }
    if let Some(command_line) = &report.command_line {
        let _ = writeln!(out, "\n## Command\n\n{}", fenced("sh", command_line));
    }
    out
}

/// One finding; a symptom (`depth` > 0) gets a deeper heading under its cause's.
fn render_finding(out: &mut String, finding: &Finding, depth: usize) {
    let tag = finding
        .baseline
        .map(|state| format!(" [{}]", state.as_str()))
        .unwrap_or_default();
    let hashes = "#".repeat((3 + depth).min(6));
    let _ = writeln!(
        out,
        "\n{hashes} {}. `{}` — {}{tag}\n",
        finding.rank,
        finding.playbook,
        inline(&finding.title)
    );
    let _ = writeln!(
        out,
        "**{}** ({}). {}",
        severity_word(finding.severity).to_uppercase(),
        confidence_word(finding.confidence),
        inline(&finding.summary)
    );
    if let Some(cause) = &finding.caused_by {
        let _ = writeln!(
            out,
            "\nCaused by `{cause}` (above): fix that first; not counted in the status."
        );
    }
    if !finding.explains.is_empty() {
        let names: Vec<String> = finding
            .explains
            .iter()
            .map(|id| format!("`{id}`"))
            .collect();
        let _ = writeln!(out, "\nExplains {} (below).", names.join(", "));
    }
    if let Some(count) = finding.count {
        let _ = writeln!(out, "\nSeen {count} time(s).");
    }
    if !finding.alternatives.is_empty() {
        let _ = writeln!(
            out,
            "\n**The evidence fits several causes; what decides:**\n"
        );
        for alternative in &finding.alternatives {
            let seen = if alternative.seen {
                " (its own evidence is in this input)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "- `{}`{seen}: {}",
                alternative.playbook,
                inline(&alternative.decided_by)
            );
        }
    }
    if !finding.evidence.is_empty() {
        let lines: Vec<String> = finding.evidence.iter().map(evidence_line).collect();
        let _ = writeln!(
            out,
            "\n**Evidence**\n\n{}",
            fenced("text", &lines.join("\n"))
        );
    }
    for fix in &finding.remediation {
        let _ = writeln!(out, "\n**Fix ({})**\n", fix.platform.as_str());
        for (number, step) in fix.steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", number + 1, inline(step));
        }
        if !fix.commands.is_empty() {
            let _ = writeln!(out, "\n{}", fenced("sh", &fix.commands.join("\n")));
        }
    }
    if !finding.references.is_empty() {
        let _ = writeln!(
            out,
            "\nReferences: {}",
            finding
                .references
                .iter()
                .map(|r| inline(r))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

/// A code block whose fence is longer than any backtick run inside, so nothing can close it early.
fn fenced(language: &str, body: &str) -> String {
    let longest_run = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    format!("{fence}{language}\n{body}\n{fence}")
}

/// Text inside a paragraph or table cell: one line, Markdown's inline markers (and `|`) escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
    {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outlast_backticks_in_the_body() {
        assert_eq!(fenced("sh", "echo ```"), "````sh\necho ```\n````");
        assert_eq!(inline("a|b *c*\nd"), "a\\|b \\*c\\* d");
    }
}
