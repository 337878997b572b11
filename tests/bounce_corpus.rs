//! The bounce corpus as data: `tests/fixtures/bounces/index.tsv` lists every `.eml` with its dialect,
//! expected playbook ids and source, and every file is a whole message. The reader's accuracy on
//! the corpus is measured elsewhere; this keeps the labels honest and the files loadable.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::fixture;

/// Playbook ids a corpus label may use: the shipped playbooks plus the bounce reasons agreed for
/// issue 11 (some ship with the bounce reader, not with the corpus).
const AGREED_IDS: &[&str] = &[
    "message-expired",
    "attachment-blocked",
    "mailbox-disabled",
    "recipient-domain-unknown",
    "remote-system-error",
    "message-not-compliant",
    "list-posting-refused",
    "mailbox-moved",
    "too-many-recipients",
    "delivery-delayed",
    "auto-reply",
    "abuse-feedback-report",
    "delivery-succeeded",
];

/// Directories whose messages are not failures: they must never carry a failure label.
const NOT_BOUNCE_DIALECTS: &[(&str, &str)] = &[
    ("autoreply", "auto-reply"),
    ("arf", "abuse-feedback-report"),
    ("success", "delivery-succeeded"),
];

struct Row {
    path: String,
    dialect: String,
    expected: Vec<String>,
    source: String,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(fixture("bounces"))
}

fn rows() -> Vec<Row> {
    let index = fs::read_to_string(corpus_dir().join("index.tsv")).expect("index.tsv is readable");
    let mut lines = index.lines();
    assert_eq!(
        lines.next(),
        Some("path\tdialect\texpected\tsource"),
        "index.tsv header"
    );
    lines
        .enumerate()
        .map(|(number, line)| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), 4, "index.tsv line {}: {line:?}", number + 2);
            assert!(
                columns.iter().all(|c| !c.trim().is_empty()),
                "index.tsv line {}: empty column",
                number + 2
            );
            Row {
                path: columns[0].to_owned(),
                dialect: columns[1].to_owned(),
                expected: columns[2].split(',').map(str::to_owned).collect(),
                source: columns[3].to_owned(),
            }
        })
        .collect()
}

fn shipped_playbook_ids() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    fs::read_dir(&dir)
        .expect("playbooks/ is readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let text = fs::read_to_string(&path).ok()?;
            text.lines()
                .find_map(|line| line.strip_prefix("id: ").map(|id| id.trim().to_owned()))
        })
        .collect()
}

fn eml_files_on_disk() -> BTreeSet<String> {
    let root = corpus_dir();
    let mut found = BTreeSet::new();
    for dialect in fs::read_dir(&root).expect("corpus dir is readable") {
        let dialect = dialect.expect("dir entry").path();
        if !dialect.is_dir() {
            continue;
        }
        for file in fs::read_dir(&dialect).expect("dialect dir is readable") {
            let file = file.expect("dir entry").path();
            if file.extension().is_some_and(|ext| ext == "eml") {
                let relative = file.strip_prefix(&root).expect("under the corpus dir");
                found.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found
}

#[test]
fn index_lists_every_message_once_in_its_dialect_directory() {
    let rows = rows();
    let listed: BTreeSet<String> = rows.iter().map(|row| row.path.clone()).collect();
    assert_eq!(listed.len(), rows.len(), "a path is listed twice");
    let on_disk = eml_files_on_disk();
    let unlisted: Vec<&String> = on_disk.difference(&listed).collect();
    let missing: Vec<&String> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "not in index.tsv: {unlisted:?}; listed but missing: {missing:?}"
    );
    for row in &rows {
        assert!(
            row.path.starts_with(&format!("{}/", row.dialect)),
            "{}: not in the directory of dialect {}",
            row.path,
            row.dialect
        );
    }
}

#[test]
fn corpus_is_broad_enough() {
    let rows = rows();
    let dialects: BTreeSet<&str> = rows.iter().map(|row| row.dialect.as_str()).collect();
    let failure_dialects = dialects
        .iter()
        .filter(|dialect| !NOT_BOUNCE_DIALECTS.iter().any(|(name, _)| name == *dialect))
        .count();
    assert!(rows.len() >= 150, "only {} messages", rows.len());
    assert!(
        failure_dialects >= 15,
        "only {failure_dialects} bounce dialects: {dialects:?}"
    );
    let real = rows
        .iter()
        .filter(|row| row.source.starts_with("interop: "))
        .count();
    assert!(
        real >= 10,
        "only {real} messages written by real MTAs in the interop suite"
    );
}

#[test]
fn every_label_is_a_known_playbook_id() {
    let mut known = shipped_playbook_ids();
    known.extend(AGREED_IDS.iter().map(|id| (*id).to_owned()));
    for row in rows() {
        for id in &row.expected {
            assert!(
                known.contains(id),
                "{}: unknown playbook id {id:?}",
                row.path
            );
        }
        if let Some((_, label)) = NOT_BOUNCE_DIALECTS
            .iter()
            .find(|(name, _)| *name == row.dialect)
        {
            assert_eq!(
                row.expected,
                [*label],
                "{}: a not-bounce carries a failure label",
                row.path
            );
        }
    }
}

/// Line ends as written: the corpus keeps CR-only and CRLF copies on purpose.
fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\r' => {
                lines.push(&bytes[start..index]);
                if bytes.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
                start = index + 1;
            }
            b'\n' => {
                lines.push(&bytes[start..index]);
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    lines.push(&bytes[start..]);
    lines
}

#[test]
fn every_message_has_a_header_block_a_body_and_a_sender() {
    for row in rows() {
        let bytes = fs::read(corpus_dir().join(&row.path)).expect("listed file is readable");
        let lines = split_lines(&bytes);
        let blank = lines
            .iter()
            .position(|line| line.is_empty())
            .unwrap_or_else(|| panic!("{}: no blank line after the headers", row.path));
        assert!(blank > 0, "{}: no header before the blank line", row.path);
        for line in &lines[..blank] {
            let folded = line
                .first()
                .is_some_and(|byte| *byte == b' ' || *byte == b'\t');
            let field = line
                .iter()
                .position(|byte| *byte == b':')
                .is_some_and(|colon| colon > 0 && line[..colon].iter().all(u8::is_ascii_graphic));
            assert!(
                folded || field,
                "{}: not a header line: {:?}",
                row.path,
                String::from_utf8_lossy(line)
            );
        }
        let has_from = lines[..blank]
            .iter()
            .any(|line| line.to_ascii_lowercase().starts_with(b"from:"));
        assert!(has_from, "{}: no From header", row.path);
        assert!(
            lines[blank..].iter().any(|line| !line.is_empty()),
            "{}: empty body",
            row.path
        );
    }
}

#[test]
fn line_end_variants_are_present() {
    let mut crlf = 0;
    let mut cr_only = 0;
    for row in rows() {
        let bytes = fs::read(corpus_dir().join(&row.path)).expect("listed file is readable");
        if bytes.windows(2).any(|pair| pair == b"\r\n") {
            crlf += 1;
        } else if bytes.contains(&b'\r') {
            cr_only += 1;
        }
    }
    assert!(
        crlf >= 2 && cr_only >= 2,
        "CRLF copies: {crlf}, CR-only copies: {cr_only}"
    );
}
