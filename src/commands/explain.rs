//! `mxdoctor explain`: diagnoses replies, bounces and log lines given as arguments or on stdin,
//! and whole messages (`--message`, or an RFC 5322 message recognised on stdin).

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use super::{emit, library};
use crate::bounce::{self, BounceTally, Classifier, RawMessage};
use crate::cli::Common;
use crate::diagnose::text::explain::split_items;
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;

/// Reads at most this much from stdin: explain is for pasted text; use `triage` for files.
const MAX_STDIN_BYTES: u64 = 16 << 20;
/// Up to this many messages, each gets a line of context in the report.
const DESCRIBED_MESSAGES: usize = 50;

pub fn run(common: &Common, texts: &[String], messages: &[PathBuf]) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let diagnoser = Diagnoser::new(&library.playbooks, common.platform);
    if !messages.is_empty() {
        if !texts.is_empty() {
            return Err(AppError::Usage(
                "give TEXT arguments or --message files, not both".into(),
            ));
        }
        let sources = MessageSources::Paths(messages);
        return explain_messages(common, &diagnoser, &sources, started);
    }
    let items = if texts.is_empty() {
        let mut input = Vec::new();
        std::io::stdin()
            .take(MAX_STDIN_BYTES)
            .read_to_end(&mut input)
            .map_err(|source| AppError::Io {
                path: "stdin".into(),
                source,
            })?;
        // CRLF, LF and CR-only pastes read alike.
        let input = bounce::input::normalise_line_ends(&input);
        let text = String::from_utf8_lossy(&input);
        // A whole message, or delivery-status fields pasted on their own (folded lines joined).
        if bounce::looks_like_message(&input) || bounce::dsn::looks_like_status_fields(&text) {
            let sources = MessageSources::Stdin(input.clone());
            return explain_messages(common, &diagnoser, &sources, started);
        }
        split_items(&text)
    } else {
        texts.to_vec()
    };
    let report = diagnoser.diagnose(Input::Texts(&items));
    emit(report, common, started)
}

enum MessageSources<'a> {
    Paths(&'a [PathBuf]),
    Stdin(Vec<u8>),
}

fn explain_messages(
    common: &Common,
    diagnoser: &Diagnoser<'_>,
    sources: &MessageSources<'_>,
    started: Instant,
) -> Result<u8, AppError> {
    let classifier = Classifier::new(diagnoser.text_matcher());
    let mut tally = BounceTally::default();
    let mut described = Vec::new();
    let mut each = |raw: &RawMessage, diagnosis: &bounce::Diagnosis| {
        if described.len() < DESCRIBED_MESSAGES {
            described.push(bounce::describe(&raw.label, diagnosis));
        }
    };
    let target = match sources {
        MessageSources::Paths(paths) => {
            for path in *paths {
                bounce::diagnose_path(&classifier, path, &mut tally, &mut each).map_err(
                    |bounce::InputError::Io { path, source }| AppError::Io { path, source },
                )?;
            }
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }
        MessageSources::Stdin(bytes) => {
            if bounce::input::is_mbox(bytes) {
                bounce::input::split_mbox(&bytes[..], "stdin", &mut |raw| {
                    bounce::diagnose_raw(&classifier, &raw, &mut tally, &mut each);
                })
                .map_err(|source| AppError::Io {
                    path: "stdin".into(),
                    source,
                })?;
            } else {
                let raw = RawMessage {
                    label: "stdin".into(),
                    bytes: bytes.clone(),
                    truncated: false,
                };
                bounce::diagnose_raw(&classifier, &raw, &mut tally, &mut each);
            }
            "stdin".to_string()
        }
    };
    let mut report = bounce::messages_report(
        classifier.playbooks(),
        "explain",
        target,
        tally,
        common.platform,
        false,
    );
    report.notes.extend(described);
    emit(report, common, started)
}
