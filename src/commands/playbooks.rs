//! `mxdoctor playbooks list|show|lint`: browse and check the knowledge base.

use std::fmt::Write as _;

use super::lint::lint;
use super::{library, print_stdout};
use crate::cli::{Common, PlaybooksAction};
use crate::error::AppError;
use crate::finding::remediation_for;
use crate::fortimail_version::select_release;
use crate::playbook::ere::to_ere;
use crate::playbook::{Library, Playbook};
use crate::report::Format;
use crate::report::text::block_label;
use crate::vocabulary::Platform;

pub fn run(common: &Common, action: &PlaybooksAction) -> Result<u8, AppError> {
    match action {
        PlaybooksAction::List => {
            let library = library(common)?;
            print_stdout(&list(&library, common.format))?;
            Ok(0)
        }
        PlaybooksAction::Show { id } => {
            let library = library(common)?;
            let playbook = library
                .get(id)
                .ok_or_else(|| AppError::UnknownPlaybook(id.clone()))?;
            print_stdout(&show(
                playbook,
                common.platform,
                common.fortimail_version.as_deref(),
            ))?;
            Ok(0)
        }
        PlaybooksAction::Patterns { fold_case } => {
            let library = library(common)?;
            let (patterns, skipped) = grep_patterns(&library, *fold_case);
            for line in &skipped {
                eprintln!("{line}");
            }
            print_stdout(&patterns)?;
            Ok(0)
        }
        PlaybooksAction::Lint { dir } => {
            let mut dirs = common.playbooks.clone();
            dirs.extend(dir.iter().cloned());
            let library = Library::load(&dirs).map_err(AppError::Playbooks)?;
            let selected = |p: &Playbook| {
                dir.as_ref()
                    .is_none_or(|d| p.origin.starts_with(&d.display().to_string()))
            };
            let failures = lint(&library.playbooks, selected);
            if !failures.is_empty() {
                return Err(AppError::Lint(failures));
            }
            let count = library.playbooks.iter().filter(|p| selected(p)).count();
            if count == 0 {
                return Err(AppError::Usage("no playbooks found to lint".into()));
            }
            let examples: usize = library
                .playbooks
                .iter()
                .filter(|p| selected(p))
                .map(|p| p.examples.matches.len() + p.examples.not_matches.len())
                .sum();
            print_stdout(&format!(
                "{count} playbooks OK, {examples} examples passed\n"
            ))?;
            Ok(0)
        }
    }
}

/// Every distinct text symptom pattern in grep's syntax (one per line), and a note per skipped one.
fn grep_patterns(library: &Library, fold_case: bool) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut seen = std::collections::HashSet::new();
    let mut skipped = Vec::new();
    let mut loosened = 0;
    for playbook in &library.playbooks {
        for pattern in playbook.text_patterns() {
            match to_ere(pattern, fold_case) {
                Ok(ere) => {
                    if seen.insert(ere.clone()) {
                        out.push_str(&ere);
                        out.push('\n');
                        if fold_case && !pattern.starts_with("(?i)") {
                            loosened += 1;
                        }
                    }
                }
                Err(reason) => skipped.push(format!(
                    "mxdoctor: skipped {}: {pattern}: {reason}",
                    playbook.id
                )),
            }
        }
    }
    if loosened > 0 {
        skipped.push(format!(
            "mxdoctor: {loosened} case-sensitive patterns match case-insensitively under grep -i"
        ));
    }
    (out, skipped)
}

fn list(library: &Library, format: Format) -> String {
    if format == Format::Json {
        let rows: Vec<serde_json::Value> = library
            .playbooks
            .iter()
            .map(|p| serde_json::json!({"id": p.id, "severity": p.severity, "area": p.area, "title": p.title}))
            .collect();
        return serde_json::to_string_pretty(&rows).expect("json") + "\n";
    }
    let mut out = String::new();
    for playbook in &library.playbooks {
        let _ = writeln!(
            out,
            "{:<36} {:<9} {:<13} {}",
            playbook.id,
            format!("{:?}", playbook.severity).to_lowercase(),
            format!("{:?}", playbook.area).to_lowercase(),
            playbook.title
        );
    }
    out
}

fn show(playbook: &Playbook, platform: Platform, release: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", playbook.id, playbook.title);
    let _ = writeln!(
        out,
        "severity: {:?} · area: {:?} · from: {}",
        playbook.severity, playbook.area, playbook.origin
    );
    let _ = writeln!(
        out,
        "\n{}\n\n{}",
        playbook.summary.trim(),
        playbook.explanation.trim()
    );
    for mut remediation in remediation_for(playbook, platform) {
        if let Some(release) = release {
            select_release(&mut remediation, release);
        }
        let _ = writeln!(out, "\nfix ({}):", remediation.platform.as_str());
        for (number, step) in remediation.steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", number + 1);
        }
        if remediation.command_blocks.is_empty() {
            for command in &remediation.commands {
                let _ = writeln!(out, "  $ {command}");
            }
        }
        for block in &remediation.command_blocks {
            let _ = writeln!(out, "  # {}", block_label(block));
            for line in &block.lines {
                let _ = writeln!(out, "  $ {line}");
            }
        }
    }
    if !playbook.references.is_empty() {
        let _ = writeln!(out, "\nreferences:");
        for reference in &playbook.references {
            let _ = writeln!(out, "  - {reference}");
        }
    }
    let _ = writeln!(
        out,
        "\nsymptoms: {} reply matchers, {} log patterns, {} bounce patterns, {} live rules",
        playbook.replies.len(),
        playbook.logs.len(),
        playbook.bounces.len(),
        playbook.rules.len()
    );
    out
}
