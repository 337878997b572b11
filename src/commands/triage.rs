//! `mxdoctor triage`: streams log files (or stdin) once and reports which known problems they show;
//! mbox files and maildir folders of bounces are diagnosed message by message and aggregated.

use std::fs::File;
use std::io::{BufRead, BufReader, stdin};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{emit, library, probe};
use crate::bounce::{self, BounceTally, Classifier};
use crate::cli::{Common, ProbeArgs};
use crate::diagnose::rank::rank;
use crate::diagnose::text::Tally;
use crate::diagnose::text::stream::{StreamStats, triage_reader};
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::input::compression::{Compression, decompressed};
use crate::playbook::schema::SharedEvidence;

const READ_BUFFER_BYTES: usize = 256 * 1024;

pub fn run(common: &Common, files: &[PathBuf], probe_args: &ProbeArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let diagnoser = Diagnoser::new(&library.playbooks, common.platform);
    let matcher = diagnoser.text_matcher();
    let classifier = Classifier::new(matcher);
    let mut tally = Tally::for_playbooks(&library.playbooks);
    let mut stats = StreamStats::default();
    let mut bounces = BounceTally::default();
    let mut message_inputs = 0usize;
    let mut compressed: Vec<String> = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let io_error = |source| AppError::Io {
            path: name.clone(),
            source,
        };
        if name == "-" {
            let (compression, text) = decompressed(stdin()).map_err(io_error)?;
            note_compression(&mut compressed, "stdin", compression);
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, text);
            triage_reader(matcher, "stdin", reader, &mut tally, &mut stats).map_err(io_error)?;
        } else if holds_messages(path).map_err(io_error)? {
            message_inputs += 1;
            bounce::diagnose_path(&classifier, path, &mut bounces, &mut |_, _| {})
                .map_err(|bounce::InputError::Io { path, source }| AppError::Io { path, source })?;
        } else {
            let file = File::open(path).map_err(io_error)?;
            let (compression, text) = decompressed(file).map_err(io_error)?;
            note_compression(&mut compressed, &name, compression);
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, text);
            triage_reader(matcher, &name, reader, &mut tally, &mut stats).map_err(io_error)?;
        }
    }
    let target = files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let read_lines = stats.lines > 0;
    let mut report = diagnoser.diagnose(Input::Log {
        target: target.clone(),
        tally,
        stats,
    });
    report.notes.extend(compressed);
    if message_inputs > 0 {
        if !read_lines {
            // Only mailboxes were given: "0 lines read" would say nothing.
            report.notes.clear();
        }
        if bounces.messages == 0 {
            report
                .notes
                .push("no messages found in the mailbox or folder given".to_string());
        }
        let messages = bounce::messages_report(
            classifier.playbooks(),
            "triage",
            target,
            bounces,
            common.platform,
            true,
        );
        report.findings.extend(messages.findings);
        report.notes.extend(messages.notes);
        rank(&mut report.findings);
        // The status was set from the log lines alone; the mailbox's findings count as much.
        report.status = crate::nesting::status_of(&report.findings);
    }
    if probe_args.probe {
        let targets = probe::log_targets(&report.findings, usize::from(probe_args.probe_top));
        let run = probe::probe(&targets, probe_args, &library.playbooks, common.platform)?;
        probe::attach(
            &mut report,
            run,
            &library.playbooks,
            SharedEvidence::SameHost,
            |evidence| probe::named_host(&evidence.detail).map(|(name, _, _)| name),
        );
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

/// Says which inputs were decompressed (by their magic bytes), so a report on `mail.log.2.gz` shows
/// that its text, not its bytes, was read.
fn note_compression(notes: &mut Vec<String>, name: &str, compression: Compression) {
    if compression != Compression::Plain {
        notes.push(format!(
            "{name}: {} compressed, read decompressed",
            compression.name()
        ));
    }
}
