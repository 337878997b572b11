//! `mxdoctor explain`: diagnoses replies, bounces and log lines given as arguments or on stdin.

use std::io::Read;
use std::time::Instant;

use super::{emit, library, text_playbooks};
use crate::cli::Common;
use crate::error::AppError;
use crate::report::Report;
use crate::triage::TextMatcher;
use crate::triage::explain::{explain, split_items};

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
    let matcher = TextMatcher::new(&library.playbooks);
    let findings = explain(&matcher, &items, common.platform);
    let target = match items.len() {
        1 => "1 input".to_string(),
        n => format!("{n} inputs"),
    };
    let mut report = Report::new("explain", target, findings, Vec::new());
    report.evaluated = text_playbooks(&library);
    emit(report, common, started)
}
