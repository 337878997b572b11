//! One module per subcommand; each turns arguments into a `Report` (or a listing) and an exit code.

pub mod check;
pub mod demo;
pub mod explain;
pub mod playbooks;
pub mod queue;
pub mod triage;

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::cli::Common;
use crate::error::AppError;
use crate::playbook::Library;
use crate::rank::rank;
use crate::report::text::TextOptions;
use crate::report::{Report, render};

/// The playbooks of this run: shipped ones plus `--playbooks` directories.
pub fn library(common: &Common) -> Result<Library, AppError> {
    Library::load(&common.playbooks).map_err(AppError::Playbooks)
}

/// Ranks, times and prints `report`; returns its exit code.
pub fn emit(mut report: Report, common: &Common, started: Instant) -> Result<u8, AppError> {
    rank(&mut report.findings);
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().saturating_sub(report.duration_ms / 1000));
    if !std::io::stdout().is_terminal() {
        colored::control::set_override(false);
    }
    let options = TextOptions {
        platform: common.platform,
        observations: common.verbose,
        explain: common.verbose,
    };
    print_stdout(&render(&report, common.format, &options))?;
    Ok(report.status.exit_code())
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
