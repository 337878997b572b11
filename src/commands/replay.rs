//! `mxdoctor replay FILE`: re-diagnoses a support bundle offline with the current playbooks — no network.

use std::path::Path;
use std::time::Instant;

use super::{emit, library};
use crate::bundle::Bundle;
use crate::cli::Common;
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;

pub fn run(common: &Common, file: &Path) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| AppError::Io {
        path: name.clone(),
        source,
    })?;
    let bundle = Bundle::from_json(&text).map_err(|source| AppError::Bundle {
        path: name.clone(),
        source,
    })?;
    let mut report = Diagnoser::new(&library.playbooks, common.platform).diagnose(Input::Probes {
        command: "replay",
        target: &bundle.target,
        vantage: bundle.vantage,
        observations: bundle.observations,
    });
    report.started_unix = bundle.started_unix;
    report.duration_ms = bundle.duration_ms;
    report.notes.push(format!(
        "replayed offline from {name}, recorded by {} {} with: {}",
        bundle.tool.name, bundle.tool.version, bundle.command_line
    ));
    emit(report, common, started)
}
