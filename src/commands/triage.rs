//! `mxdoctor triage`: streams log files (or stdin) once and reports which known problems they show;
//! mbox files and maildir folders of bounces are diagnosed message by message and aggregated.

use std::fs::File;
use std::io::{BufRead, BufReader, stdin};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{emit, library, text_playbooks};
use crate::bounce::{self, BounceTally, Classifier};
use crate::cli::Common;
use crate::error::AppError;
use crate::report::Report;
use crate::triage::stream::{StreamStats, triage_reader};
use crate::triage::{Tally, TextMatcher};

const READ_BUFFER_BYTES: usize = 256 * 1024;

pub fn run(common: &Common, files: &[PathBuf]) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let matcher = TextMatcher::new(&library.playbooks);
    let classifier = Classifier::new(&matcher);
    let mut tally = Tally::default();
    let mut stats = StreamStats::default();
    let mut bounces = BounceTally::default();
    let mut message_inputs = 0usize;
    for path in files {
        let name = path.display().to_string();
        let io_error = |source| AppError::Io {
            path: name.clone(),
            source,
        };
        if name == "-" {
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, stdin().lock());
            triage_reader(&matcher, "stdin", reader, &mut tally, &mut stats).map_err(io_error)?;
        } else if holds_messages(path).map_err(io_error)? {
            message_inputs += 1;
            bounce::diagnose_path(&classifier, path, &mut bounces, &mut |_, _| {})
                .map_err(|bounce::InputError::Io { path, source }| AppError::Io { path, source })?;
        } else {
            let file = File::open(path).map_err(io_error)?;
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
            triage_reader(&matcher, &name, reader, &mut tally, &mut stats).map_err(io_error)?;
        }
    }
    let mut findings = tally.into_findings(&library.playbooks, common.platform);
    let read_messages = bounces.messages > 0;
    let message_notes = bounces.notes();
    findings.extend(bounces.into_findings(&library.playbooks, common.platform, true));
    let target = files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let mut report = Report::new("triage", target, findings, Vec::new());
    report.evaluated = text_playbooks(&library);
    if stats.lines > 0 || message_inputs == 0 {
        report.notes.push(format!(
            "{} lines ({} bytes) read, {} matched a playbook",
            stats.lines, stats.bytes, stats.matched_lines
        ));
    }
    if read_messages {
        report.notes.extend(message_notes);
    } else if message_inputs > 0 {
        report
            .notes
            .push("no messages found in the mailbox or folder given".to_string());
    }
    if stats.truncated_lines > 0 {
        report.notes.push(format!(
            "{} lines longer than {} bytes were matched on their first {} bytes only",
            stats.truncated_lines,
            crate::triage::stream::MAX_LINE_BYTES,
            crate::triage::stream::MAX_LINE_BYTES
        ));
    }
    emit(report, common, started)
}

/// A folder (maildir), an mbox, or a single RFC 5322 message rather than a log file.
fn holds_messages(path: &Path) -> std::io::Result<bool> {
    if bounce::input::is_message_folder(path) {
        return Ok(true);
    }
    let file = File::open(path)?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let start = reader.fill_buf()?;
    Ok(bounce::looks_like_message(start))
}
