//! `mxdoctor triage`: streams log files (or stdin) once and reports which known problems they show.
//!
//! Each input is decompressed by its magic bytes and its dialect recognised from its first lines
//! (`input/`); all are scanned on every core (`diagnose/text/scan.rs`). Without `--platform`, remediation
//! is shown for the platform the logs come from, and the report says how that was decided.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{emit, library};
use crate::cli::{Common, TriageArgs};
use crate::diagnose::text::scan::{ScanConfig, ScanError, ScanInput, scan};
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::input::compression::Compression;
use crate::input::dialect::Detection;
use crate::input::open::{OnRead, open};
use crate::input::window::{TimeWindow, parse_bound};
use crate::progress_ui::byte_bar;
use crate::report::Status;
use crate::vocabulary::Platform;

/// What was learnt about one input while opening it.
struct InputSummary {
    name: String,
    compression: Compression,
    detection: Detection,
}

pub fn run(common: &Common, args: &TriageArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let scanning = Diagnoser::new(&library.playbooks, common.platform);
    let matcher = scanning.text_matcher();
    let window = time_window(args)?;
    let total_bytes: u64 = args
        .files
        .iter()
        .filter(|path| path.as_os_str() != "-")
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum();
    let bar = byte_bar(total_bytes, !common.no_progress);
    let on_read: Option<OnRead> = (!bar.is_hidden()).then(|| {
        let bar = bar.clone();
        Arc::new(move |read: u64| bar.inc(read)) as OnRead
    });
    let mut summaries: Vec<InputSummary> = Vec::new();
    let inputs = args.files.iter().map(|path| {
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

    let (platform, platform_note) = remediation_platform(common.platform, &summaries);
    let target = args
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let stats = outcome.stats;
    let mut report = Diagnoser::new(&library.playbooks, platform).diagnose(Input::Log {
        target,
        tally: outcome.tally,
        stats,
    });
    for (index, summary) in summaries.iter().enumerate() {
        let lines = outcome.per_input.get(index).map_or(0, |s| s.lines);
        let compression = match summary.compression {
            Compression::Plain => String::new(),
            other => format!("{}, ", other.name()),
        };
        report.notes.push(format!(
            "{}: {compression}{lines} lines, {} ({})",
            summary.name,
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
        if stats.undated_matches > 0 && stats.dated_matches == 0 && stats.outside_window == 0 {
            // Nothing could be placed in time: "no problem in the window" would be a guess.
            report.status = Status::Unknown;
            report.notes.push(
                "UNKNOWN: no matching line carries a time mxdoctor can read, so the window cannot be applied"
                    .to_string(),
            );
        }
    }
    let mut common = common.clone();
    common.platform = platform;
    emit(report, &common, started)
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
