//! `mxdoctor explain`: diagnoses replies, bounces and log lines given as arguments or on stdin,
//! and whole messages (`--message`, or an RFC 5322 message recognised on stdin).

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use super::{emit, library, text_playbooks};
use crate::bounce::{self, BounceTally, Classifier, RawMessage};
use crate::cli::Common;
use crate::error::AppError;
use crate::report::Report;
use crate::triage::TextMatcher;
use crate::triage::explain::{explain, split_items};

/// Reads at most this much from stdin: explain is for pasted text; use `triage` for files.
const MAX_STDIN_BYTES: u64 = 16 << 20;
/// Up to this many messages, each gets a line of context in the report.
const DESCRIBED_MESSAGES: usize = 50;

pub fn run(common: &Common, texts: &[String], messages: &[PathBuf]) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let matcher = TextMatcher::new(&library.playbooks);
    if !messages.is_empty() {
        if !texts.is_empty() {
            return Err(AppError::Usage(
                "give TEXT arguments or --message files, not both".into(),
            ));
        }
        let sources = MessageSources::Paths(messages);
        return explain_messages(common, &library, &matcher, &sources, started);
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
            return explain_messages(common, &library, &matcher, &sources, started);
        }
        split_items(&text)
    } else {
        texts.to_vec()
    };
    let findings = explain(&matcher, &items, common.platform);
    let target = match items.len() {
        1 => "1 input".to_string(),
        n => format!("{n} inputs"),
    };
    let mut report = Report::new("explain", target, findings, Vec::new());
    report.evaluated = text_playbooks(&library);
    emit(report, common, started)
}

enum MessageSources<'a> {
    Paths(&'a [PathBuf]),
    Stdin(Vec<u8>),
}

fn explain_messages(
    common: &Common,
    library: &crate::playbook::Library,
    matcher: &TextMatcher<'_>,
    sources: &MessageSources<'_>,
    started: Instant,
) -> Result<u8, AppError> {
    let classifier = Classifier::new(matcher);
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
    let mut notes = tally.notes();
    notes.extend(described);
    let findings = tally.into_findings(&library.playbooks, common.platform, false);
    let mut report = Report::new("explain", target, findings, Vec::new());
    report.notes = notes;
    report.evaluated = text_playbooks(library);
    emit(report, common, started)
}
