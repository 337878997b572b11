//! `mxdoctor triage`: streams log files (or stdin) once and reports which known problems they show;
//! mbox files and maildir folders of bounces are diagnosed message by message and aggregated.
//!
//! Each log is decompressed by its magic bytes and its dialect recognised from its first lines
//! (`input/`); all logs are scanned on every core (`diagnose/text/scan.rs`). Without `--platform`,
//! remediation is shown for the platform the logs come from, and the report says how that was
//! decided.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{emit, library, probe};
use crate::bounce::{self, BounceTally, Classifier};
use crate::cli::{Common, TriageArgs};
use crate::diagnose::rank::rank;
use crate::diagnose::text::TextMatcher;
use crate::diagnose::text::scan::{ScanConfig, ScanError, ScanInput, ScanOutcome, scan};
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::input::compression::Compression;
use crate::input::dialect::Detection;
use crate::input::open::{OnRead, open};
use crate::input::window::{TimeWindow, parse_bound};
use crate::playbook::schema::SharedEvidence;
use crate::progress_ui::byte_bar;
use crate::vocabulary::{Platform, Status};

/// What was learnt about one log while opening it.
struct InputSummary {
    name: String,
    compression: Compression,
    detection: Detection,
}

pub fn run(common: &Common, args: &TriageArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let window = time_window(args)?;
    let mut logs: Vec<&Path> = Vec::new();
    let mut mailboxes: Vec<&Path> = Vec::new();
    for path in &args.files {
        if path.as_os_str() != "-"
            && holds_messages(path).map_err(|source| io_error(path, source))?
        {
            mailboxes.push(path);
        } else {
            logs.push(path);
        }
    }
    let scanning = Diagnoser::new(&library.playbooks, common.platform);
    let matcher = scanning.text_matcher();
    let (outcome, summaries) = scan_logs(matcher, &logs, window, common.no_progress)?;
    let (platform, platform_note) = remediation_platform(common.platform, &summaries);
    let diagnoser = Diagnoser::new(&library.playbooks, platform);

    let target = args
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let stats = outcome.stats;
    let mut report = diagnoser.diagnose(Input::Log {
        target: target.clone(),
        tally: outcome.tally,
        stats,
    });
    for (summary, input_stats) in summaries.iter().zip(&outcome.per_input) {
        let compression = match summary.compression {
            Compression::Plain => String::new(),
            other => format!("{} compressed, read decompressed; ", other.name()),
        };
        report.notes.push(format!(
            "{}: {compression}{} lines, {} ({})",
            summary.name,
            input_stats.lines,
            summary.detection.dialect.name(),
            summary.detection.why
        ));
    }
    report.notes.extend(platform_note);
    if !window.is_open() {
        report.notes.push(format!(
            "time window {}: {} matching lines outside it and {} without a readable time were left out",
            describe_window(window),
            stats.outside_window,
            stats.undated_matches
        ));
    }
    if !mailboxes.is_empty() {
        let classifier = Classifier::new(matcher);
        let mut bounces = BounceTally::default();
        for path in &mailboxes {
            bounce::diagnose_path(&classifier, path, &mut bounces, &mut |_, _| {})
                .map_err(|bounce::InputError::Io { path, source }| AppError::Io { path, source })?;
        }
        if logs.is_empty() {
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
            platform,
            true,
        );
        report.findings.extend(messages.findings);
        report.notes.extend(messages.notes);
        rank(&mut report.findings);
        // The status was set from the log lines alone; the mailbox's findings count as much.
        report.status = crate::nesting::status_of(&report.findings);
    }
    if !window.is_open()
        && stats.undated_matches > 0
        && stats.dated_matches == 0
        && stats.outside_window == 0
        && report.findings.is_empty()
    {
        // Nothing could be placed in time: "no problem in the window" would be a guess.
        report.status = Status::Unknown;
        report.notes.push(
            "UNKNOWN: no matching line carries a time mxdoctor can read, so the window cannot be applied"
                .to_string(),
        );
    }
    if args.probe.probe {
        let targets = probe::log_targets(&report.findings, usize::from(args.probe.probe_top));
        let run = probe::probe(&targets, &args.probe, &library.playbooks, platform)?;
        probe::attach(
            &mut report,
            run,
            &library.playbooks,
            SharedEvidence::SameHost,
            |evidence| {
                crate::diagnose::text::groups::named_host(&evidence.detail).map(|(name, _, _)| name)
            },
        );
    }
    let mut common = common.clone();
    common.platform = platform;
    emit(report, &common, started)
}

fn io_error(path: &Path, source: std::io::Error) -> AppError {
    AppError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Scans the logs (opening each when its turn comes), with a progress bar on a terminal.
fn scan_logs(
    matcher: &TextMatcher<'_>,
    logs: &[&Path],
    window: TimeWindow,
    no_progress: bool,
) -> Result<(ScanOutcome, Vec<InputSummary>), AppError> {
    let total_bytes: u64 = logs
        .iter()
        .filter(|path| path.as_os_str() != "-")
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum();
    let bar = byte_bar(total_bytes, !no_progress);
    let on_read: Option<OnRead> = (!bar.is_hidden()).then(|| {
        let bar = bar.clone();
        Arc::new(move |read: u64| bar.inc(read)) as OnRead
    });
    let mut summaries: Vec<InputSummary> = Vec::new();
    let inputs = logs.iter().map(|path| {
        let name = input_name(path);
        let opened = open(path, on_read.clone()).map_err(|source| ScanError {
            input: name.clone(),
            source,
        })?;
        summaries.push(InputSummary {
            name: name.clone(),
            compression: opened.compression,
            detection: opened.detection,
        });
        Ok(ScanInput {
            name: Arc::from(name),
            reader: opened.reader,
            dating: opened.dating,
        })
    });
    let outcome = scan(matcher, inputs, window, ScanConfig::default());
    bar.finish_and_clear();
    let outcome = outcome.map_err(|error| AppError::Io {
        path: error.input,
        source: error.source,
    })?;
    Ok((outcome, summaries))
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

fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        path.display().to_string()
    }
}

fn time_window(args: &TriageArgs) -> Result<TimeWindow, AppError> {
    let zone = TimeZone::system();
    let now = Timestamp::now();
    let bound = |text: &Option<String>| {
        text.as_deref()
            .map(|text| parse_bound(text, &zone, now))
            .transpose()
            .map_err(|error| AppError::Usage(error.to_string()))
    };
    let window = TimeWindow {
        since: bound(&args.since)?,
        until: bound(&args.until)?,
    };
    if let (Some(since), Some(until)) = (window.since, window.until) {
        if since >= until {
            return Err(AppError::Usage(format!(
                "--since {since} is not before --until {until}"
            )));
        }
    }
    Ok(window)
}

fn describe_window(window: TimeWindow) -> String {
    let show = |bound: Option<Timestamp>| bound.map_or_else(|| "…".to_string(), |t| t.to_string());
    format!("{} to {}", show(window.since), show(window.until))
}

/// The user's `--platform`, else the platform most inputs' dialects point to, with the reason.
fn remediation_platform(chosen: Platform, inputs: &[InputSummary]) -> (Platform, Option<String>) {
    if chosen != Platform::Generic {
        return (chosen, None);
    }
    let mut weight = [0usize; Platform::ALL.len()];
    for input in inputs {
        let platform = input.detection.dialect.platform();
        if platform != Platform::Generic {
            let index = Platform::ALL
                .iter()
                .position(|&p| p == platform)
                .unwrap_or(0);
            // A header-based verdict (CSV export, tracking log) is as sure as a full sample.
            weight[index] += input.detection.votes.max(1);
        }
    }
    let best = (0..weight.len()).max_by_key(|&index| (weight[index], std::cmp::Reverse(index)));
    match best {
        Some(index) if weight[index] > 0 => {
            let platform = Platform::ALL[index];
            let from: Vec<&str> = inputs
                .iter()
                .filter(|input| input.detection.dialect.platform() == platform)
                .map(|input| input.name.as_str())
                .collect();
            let note = format!(
                "remediation shown for {}: detected from {} (no --platform given)",
                platform.as_str(),
                from.join(", ")
            );
            (platform, Some(note))
        }
        _ => (Platform::Generic, None),
    }
}
