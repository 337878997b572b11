//! `mxdoctor queue`: streams a queue listing (a file, stdin, or `postqueue -j` run here), judges every
//! message, and evaluates the queue playbooks on the resulting observations.

use std::fs::File;
use std::io::{self, BufRead, BufReader, stdin};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{emit, library, probe};
use crate::cli::{Common, QueueArgs, QueueInput};
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::lines::for_each_line;
use crate::playbook::schema::SharedEvidence;
use crate::queue::error::QueueError;
use crate::queue::model::QueueSettings;
use crate::queue::{InputFormat, QueueScan};
use crate::vocabulary::Platform;

const READ_BUFFER_BYTES: usize = 256 * 1024;
/// A longer line is skipped as malformed without being buffered (a message with thousands of recipients
/// stays well below this).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

pub fn run(common: &Common, args: &QueueArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let mut settings = QueueSettings {
        now: args.now.unwrap_or_else(clock_now),
        dsn_warn_secs: args.dsn_warn,
        max_lifetime_secs: args.max_lifetime,
    };
    let audited = crate::audit::report::from_config(args.from_config.as_deref(), common)?;
    let config_notes = audited
        .as_ref()
        .map(|a| crate::audit::queue::apply_lifetimes(a, &mut settings))
        .unwrap_or_default();
    let format = args.input.map(|input| match input {
        QueueInput::PostqueueJson => InputFormat::PostqueueJson,
        QueueInput::FortimailCsv => InputFormat::FortimailCsv,
    });
    let mut scan = QueueScan::new(format, settings, args.utc_offset);
    let target = if args.postqueue {
        scan_postqueue_command(&mut scan)?;
        "postqueue -j".to_string()
    } else {
        let path = args.file.as_ref().ok_or_else(|| {
            AppError::Usage("give a FILE (or - for stdin), or --postqueue".into())
        })?;
        let name = path.display().to_string();
        let io_error = |source| AppError::Io {
            path: name.clone(),
            source,
        };
        if name == "-" {
            scan_reader(
                &mut scan,
                BufReader::with_capacity(READ_BUFFER_BYTES, stdin().lock()),
            )
            .map_err(io_error)?;
        } else {
            let file = File::open(path).map_err(io_error)?;
            scan_reader(&mut scan, BufReader::with_capacity(READ_BUFFER_BYTES, file))
                .map_err(io_error)?;
        }
        name
    };
    scan.finish();
    // Remediation for the platform the listing comes from, unless the user chose one.
    let platform = match (common.platform, scan.format()) {
        (Platform::Generic, Some(InputFormat::PostqueueJson)) => Platform::Postfix,
        (Platform::Generic, Some(InputFormat::FortimailCsv)) => Platform::Fortimail,
        (chosen, _) => chosen,
    };
    let mut report = Diagnoser::new(&library.playbooks, platform).diagnose(Input::Queue {
        target: &target,
        scan: &scan,
        top: args.top,
    });
    if let Some(audited) = &audited {
        crate::audit::queue::cross_check(&library.playbooks, audited, &mut report);
        report.notes.extend(config_notes);
        crate::audit::report::select_audited_release(&mut report, Some(audited));
    }
    if args.probe.probe {
        let targets = probe::queue_targets(
            &report,
            &library.playbooks,
            usize::from(args.probe.probe_top),
        );
        let run = probe::probe(&targets, &args.probe, &library.playbooks, platform)?;
        probe::attach(
            &mut report,
            run,
            &library.playbooks,
            SharedEvidence::SameDestination,
            |evidence| (evidence.check == "queue.destination").then(|| evidence.subject.clone()),
        );
    }
    emit(report, common, started)
}

fn clock_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `postqueue -j` on this host and scans what it prints.
fn scan_postqueue_command(scan: &mut QueueScan) -> Result<(), AppError> {
    let label = "postqueue -j";
    let io_error = |source| AppError::Io {
        path: label.into(),
        source,
    };
    let mut child = Command::new("postqueue")
        .arg("-j")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io_error)?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io_error(io::Error::other("no stdout")))?;
    let scanned = scan_reader(scan, BufReader::with_capacity(READ_BUFFER_BYTES, stdout));
    let status = child.wait().map_err(io_error)?;
    scanned.map_err(io_error)?;
    if status.success() {
        Ok(())
    } else {
        Err(io_error(io::Error::other(format!("exited with {status}"))))
    }
}

/// Feeds every line of `reader` to `scan`; lines over [`MAX_LINE_BYTES`] are skipped as malformed.
///
/// A line that lies whole in the reader's buffer is fed from there (found with memchr, not copied);
/// only a line that straddles a buffer refill, or ends the input without a newline, is gathered.
fn scan_reader(scan: &mut QueueScan, reader: impl BufRead) -> io::Result<()> {
    for_each_line(reader, MAX_LINE_BYTES, |number, kept, read| {
        if read > kept.len() {
            scan.malformed
                .record(number, &QueueError::LineTooLong(MAX_LINE_BYTES >> 20));
        } else {
            feed_bytes(scan, number, kept);
        }
    })
}

/// Feeds line `number` without its line ending; invalid UTF-8 is replaced, not rejected.
fn feed_bytes(scan: &mut QueueScan, number: u64, mut line: &[u8]) {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    match std::str::from_utf8(line) {
        Ok(line) => scan.feed_line(number, line),
        Err(_) => scan.feed_line(number, &String::from_utf8_lossy(line)),
    }
}
