//! One module per subcommand; each turns arguments into a `Report` (or a listing) and an exit code.

pub mod audit;
pub mod check;
pub mod demo;
pub mod explain;
pub mod fleet;
pub mod lint;
pub mod playbooks;
pub mod probe;
pub mod queue;
pub mod replay;
pub mod serve;
pub mod shell;
pub mod triage;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use crate::cli::Common;
use crate::error::AppError;
use crate::playbook::Library;
use crate::profile::Profile;
use crate::report::baseline;
use crate::report::output::shell_words;
use crate::report::text::TextOptions;
use crate::report::{Report, render};

/// The playbooks of this run: shipped ones plus `--playbooks` directories.
pub fn library(common: &Common) -> Result<Library, AppError> {
    Library::load(&common.playbooks).map_err(AppError::Playbooks)
}

/// Sets the run's duration and start time (a replay keeps its recorded ones).
pub fn finish_report(report: &mut Report, started: Instant) {
    if report.duration_ms == 0 {
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    }
    if report.started_unix == 0 {
        report.started_unix = unix_now().saturating_sub(report.duration_ms / 1000);
    }
}

/// Times and compares `report` (`--baseline`), writes `--report` files, prints it unless
/// `--quiet`; returns its exit code. A replayed report keeps its recorded start and duration.
pub fn emit(mut report: Report, common: &Common, started: Instant) -> Result<u8, AppError> {
    finish_report(&mut report, started);
    if let Some(release) = &common.fortimail_version {
        for finding in &mut report.findings {
            for remediation in &mut finding.remediation {
                crate::fortimail_version::select_release(remediation, release);
            }
        }
    }
    report.command_line = Some(shell_words(
        std::iter::once("mxdoctor".to_string()).chain(std::env::args().skip(1)),
    ));
    if let Some(path) = &common.baseline {
        baseline::compare(&mut report, &read_json_report(path)?);
    }
    let verbose = common.verbose || Profile::verbose(common.profile);
    let options = TextOptions {
        platform: common.platform,
        observations: verbose,
        explain: verbose,
    };
    colored::control::set_override(false);
    for file in &common.reports {
        write_file(&file.path, &render(&report, file.format, &options))?;
    }
    colored::control::unset_override();
    if !std::io::stdout().is_terminal() {
        colored::control::set_override(false);
    }
    if !common.quiet {
        print_stdout(&render(&report, common.format, &options))?;
    }
    let code = if common.fail_on_new {
        baseline::exit_code_for_new(&report)
    } else {
        report.status.exit_code()
    };
    Ok(Profile::exit_code(common.profile, code))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A JSON report written earlier (`--format json` or `--report json=...`).
fn read_json_report(path: &Path) -> Result<Report, AppError> {
    let text = std::fs::read_to_string(path).map_err(|source| AppError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| AppError::NotJsonReport {
        path: path.display().to_string(),
        source,
    })
}

/// Writes a report file whole.
pub fn write_file(path: &Path, text: &str) -> Result<(), AppError> {
    std::fs::write(path, text).map_err(|source| AppError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The multi-threaded runtime live commands run their probes on.
pub fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| AppError::Io {
            path: "tokio runtime".into(),
            source,
        })
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn print_stdout(text: &str) -> Result<(), AppError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(AppError::Io {
            path: "stdout".into(),
            source: error,
        }),
        _ => Ok(()),
    }
}
