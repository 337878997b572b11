//! Finds playbook files (embedded and `--playbooks DIR`), parses and compiles them, collecting every error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::compile::{Playbook, RegexBuild, compile};
use super::error::PlaybookError;
use super::schema::PlaybookSource;

include!(concat!(env!("OUT_DIR"), "/embedded_playbooks.rs"));

/// Playbooks larger than this are refused before parsing.
const MAX_PLAYBOOK_BYTES: u64 = 1 << 20;

/// The playbooks of one run, in a stable order (embedded first, by file name; overrides replace in place).
#[derive(Debug, Default)]
pub struct Library {
    pub playbooks: Vec<Playbook>,
}

impl Library {
    /// The shipped playbooks plus those in `extra_dirs`, which add new ids or replace shipped ones.
    pub fn load(extra_dirs: &[PathBuf]) -> Result<Self, Vec<PlaybookError>> {
        let mut library = Self {
            playbooks: parse_set(
                EMBEDDED
                    .iter()
                    .map(|(name, text)| (format!("embedded:{name}"), Ok((*text).to_string()))),
                RegexBuild::OnFirstUse,
            )?,
        };
        for dir in extra_dirs {
            for playbook in load_dir(dir)? {
                library.insert(playbook);
            }
        }
        Ok(library)
    }

    fn insert(&mut self, playbook: Playbook) {
        match self.playbooks.iter_mut().find(|p| p.id == playbook.id) {
            Some(slot) => *slot = playbook,
            None => self.playbooks.push(playbook),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.id == id)
    }

    pub fn from_playbooks(playbooks: Vec<Playbook>) -> Self {
        Self { playbooks }
    }
}

/// Every `*.yaml` / `*.yml` file directly in `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Playbook>, Vec<PlaybookError>> {
    let label = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|error| {
        vec![PlaybookError::whole_file(
            &label,
            format!("cannot read playbook directory: {error}"),
        )]
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        })
        .collect();
    paths.sort();
    parse_set(
        paths
            .into_iter()
            .map(|path| (path.display().to_string(), read_bounded(&path))),
        RegexBuild::Now,
    )
}

/// Why a playbook file could not be read (it becomes a [`PlaybookError`] about the whole file).
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("file is {0} bytes; playbooks are limited to {MAX_PLAYBOOK_BYTES}")]
    TooLarge(u64),
}

fn read_bounded(path: &Path) -> Result<String, ReadError> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_PLAYBOOK_BYTES {
        return Err(ReadError::TooLarge(size));
    }
    Ok(std::fs::read_to_string(path)?)
}

/// Parses a set of files that must not repeat an id among themselves.
fn parse_set(
    files: impl Iterator<Item = (String, Result<String, ReadError>)>,
    regex_build: RegexBuild,
) -> Result<Vec<Playbook>, Vec<PlaybookError>> {
    let mut playbooks = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (file, text) in files {
        let text = match text {
            Ok(text) => text,
            Err(message) => {
                errors.push(PlaybookError::whole_file(
                    &file,
                    format!("cannot read: {message}"),
                ));
                continue;
            }
        };
        match parse(&file, &text, regex_build) {
            Ok(playbook) => {
                if let Some(first) = seen.get(&playbook.id) {
                    errors.push(id_error(
                        &file,
                        &text,
                        &format!("duplicate id {:?}, already defined in {first}", playbook.id),
                    ));
                    continue;
                }
                seen.insert(playbook.id.clone(), file.clone());
                playbooks.push(playbook);
            }
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }
    if errors.is_empty() {
        Ok(playbooks)
    } else {
        Err(errors)
    }
}

fn id_error(file: &str, text: &str, message: &str) -> PlaybookError {
    let line = text
        .lines()
        .position(|line| line.starts_with("id:"))
        .map_or(1, |index| index as u64 + 1);
    PlaybookError::at(file, text, line, 1, message)
}

/// Parses and compiles one playbook's text.
pub fn parse(
    file: &str,
    text: &str,
    regex_build: RegexBuild,
) -> Result<Playbook, Vec<PlaybookError>> {
    let parsed: PlaybookSource = serde_saphyr::from_str(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((1, 1), |location| (location.line(), location.column()));
        let message =
            without_location_prefix(error.to_string().lines().next().unwrap_or("invalid YAML"));
        vec![PlaybookError::at(file, text, line, column, message)]
    })?;
    compile(parsed, file, text, regex_build)
}

/// serde-saphyr starts its message with "error: line L column C: ", which our own prefix already says.
fn without_location_prefix(message: &str) -> String {
    let rest = message.strip_prefix("error: ").unwrap_or(message);
    match rest.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((position, text)) if position.contains("column") => text.to_string(),
        _ => rest.to_string(),
    }
}
