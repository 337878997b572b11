//! `mxdoctor triage`: streams log files (or stdin) once and reports which known problems they show.

use std::fs::File;
use std::io::{BufReader, stdin};
use std::path::PathBuf;
use std::time::Instant;

use super::{emit, library, probe};
use crate::cli::{Common, ProbeArgs};
use crate::diagnose::text::Tally;
use crate::diagnose::text::stream::{StreamStats, triage_reader};
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::playbook::schema::SharedEvidence;

const READ_BUFFER_BYTES: usize = 256 * 1024;

pub fn run(common: &Common, files: &[PathBuf], probe_args: &ProbeArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let diagnoser = Diagnoser::new(&library.playbooks, common.platform);
    let matcher = diagnoser.text_matcher();
    let mut tally = Tally::for_playbooks(&library.playbooks);
    let mut stats = StreamStats::default();
    for path in files {
        let name = path.display().to_string();
        let io_error = |source| AppError::Io {
            path: name.clone(),
            source,
        };
        if name == "-" {
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, stdin().lock());
            triage_reader(matcher, "stdin", reader, &mut tally, &mut stats).map_err(io_error)?;
        } else {
            let file = File::open(path).map_err(io_error)?;
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
            triage_reader(matcher, &name, reader, &mut tally, &mut stats).map_err(io_error)?;
        }
    }
    let target = files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let mut report = diagnoser.diagnose(Input::Log {
        target,
        tally,
        stats,
    });
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
