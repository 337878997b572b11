//! `mxdoctor explain`: diagnoses replies, bounces and log lines given as arguments or on stdin.

use std::io::Read;
use std::time::Instant;

use super::{emit, library};
use crate::cli::Common;
use crate::diagnose::text::explain::split_items;
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;

/// Reads at most this much from stdin: explain is for pasted text; use `triage` for files.
const MAX_STDIN_BYTES: u64 = 16 << 20;

pub fn run(common: &Common, texts: &[String]) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let items = if texts.is_empty() {
        let mut input = Vec::new();
        std::io::stdin()
            .take(MAX_STDIN_BYTES)
            .read_to_end(&mut input)
            .map_err(|source| AppError::Io {
                path: "stdin".into(),
                source,
            })?;
        split_items(&String::from_utf8_lossy(&input))
    } else {
        texts.to_vec()
    };
    let report = Diagnoser::new(&library.playbooks, common.platform).diagnose(Input::Texts(&items));
    emit(report, common, started)
}
