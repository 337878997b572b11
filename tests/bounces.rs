//! Whole bounce messages: the corpus in `tests/fixtures/bounces/index.tsv` through the real
//! classification path (parse → classify per recipient → tally → rank), the CLI's `--message`,
//! stdin autodetection and mailbox inputs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mxdoctor::bounce::{self, BounceTally, Classifier, RawMessage};
use mxdoctor::diagnose::rank::rank;
use mxdoctor::diagnose::text::TextMatcher;
use mxdoctor::finding::Finding;
use mxdoctor::playbook::Library;
use mxdoctor::vocabulary::Platform;

use crate::common::{json_report, mxdoctor};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounces")
}

/// One row of index.tsv.
struct Sample {
    path: String,
    dialect: String,
    /// Every playbook that must be found; the first finding must be one of them.
    expected: Vec<String>,
}

fn samples() -> Vec<Sample> {
    let index = std::fs::read_to_string(corpus_dir().join("index.tsv")).expect("index.tsv");
    index
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert!(columns.len() >= 4, "index.tsv row needs 4 columns: {line}");
            Sample {
                path: columns[0].to_string(),
                dialect: columns[1].to_string(),
                expected: columns[2]
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect(),
            }
        })
        .collect()
}

/// The findings `explain --message` would report for these bytes, ranked.
fn diagnose(
    classifier: &Classifier<'_>,
    playbooks: &[mxdoctor::playbook::Playbook],
    bytes: &[u8],
) -> Vec<Finding> {
    let mut tally = BounceTally::default();
    let raw = RawMessage {
        label: "m".into(),
        bytes: bytes.to_vec(),
        truncated: false,
    };
    bounce::diagnose_raw(classifier, &raw, &mut tally, &mut |_, _| {});
    let mut findings = tally.into_findings(playbooks, Platform::Generic, false);
    rank(&mut findings);
    findings
}

fn ids(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| f.playbook.clone()).collect()
}

/// Converts every line end of `bytes` to `end`.
fn with_line_ends(bytes: &[u8], end: &[u8]) -> Vec<u8> {
    let lf = bounce::input::normalise_line_ends(bytes);
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 20);
    for &byte in &lf {
        if byte == b'\n' {
            out.extend_from_slice(end);
        } else {
            out.push(byte);
        }
    }
    out
}

/// Words every playbook would jump at, planted in the returned original.
const POISON: &str = "X-Poison: 550 5.7.1 rejected: virus found, mailbox full, user unknown, relay access denied, blocked using zen.spamhaus.org, message too large";

/// A copy of the message with [`POISON`] planted in its returned original (the header block of
/// an attached message/rfc822 or text/rfc822-headers part, or the line after an inline marker);
/// `None` when the message returns no original.
fn poisoned(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(&bounce::input::normalise_line_ends(bytes)).into_owned();
    let lower = text.to_ascii_lowercase();
    for content_type in [
        "content-type: message/rfc822",
        "content-type: text/rfc822-headers",
    ] {
        if let Some(at) = lower.find(content_type) {
            // The part's own header block ends at the first blank line; the original starts there.
            let body = at + lower[at..].find("\n\n")? + 2;
            let mut out = text.clone();
            out.insert_str(body, &format!("{POISON}\n"));
            return Some(out.into_bytes());
        }
    }
    // An inline copy (after a marker such as "--- Below this line is a copy of the message."):
    // plant the poison at the copy's first line.
    let (_, copy) = bounce::original::split_inline_original(&text);
    let at = text.len() - copy?.len();
    let mut out = text.clone();
    out.insert_str(at, &format!("{POISON}\n"));
    Some(out.into_bytes())
}

#[derive(Default)]
struct Figures {
    n: usize,
    right_first: usize,
    no_finding: usize,
}

#[test]
fn corpus_ranks_the_expected_playbook_first_whatever_the_line_ends_and_never_from_the_original() {
    let library = Library::load(&[]).expect("shipped playbooks");
    let matcher = TextMatcher::new(&library.playbooks);
    let classifier = Classifier::new(&matcher);
    let known: Vec<&str> = library.playbooks.iter().map(|p| p.id.as_str()).collect();
    let mut failures = Vec::new();
    let mut by_dialect: BTreeMap<String, Figures> = BTreeMap::new();
    let samples = samples();
    assert!(samples.len() >= 20, "corpus too small: {}", samples.len());
    for sample in &samples {
        for id in &sample.expected {
            assert!(
                known.contains(&id.as_str()),
                "{}: unknown playbook {id}",
                sample.path
            );
        }
        let bytes = std::fs::read(corpus_dir().join(&sample.path))
            .unwrap_or_else(|e| panic!("{}: {e}", sample.path));
        let findings = diagnose(&classifier, &library.playbooks, &bytes);
        let found = ids(&findings);
        let figures = by_dialect.entry(sample.dialect.clone()).or_default();
        figures.n += 1;
        let first_right = found
            .first()
            .is_some_and(|top| sample.expected.contains(top));
        let all_found = sample.expected.iter().all(|id| found.contains(id));
        if found.is_empty() {
            figures.no_finding += 1;
        }
        if first_right && all_found {
            figures.right_first += 1;
        } else {
            failures.push(format!(
                "{}: expected {:?}, got {found:?}",
                sample.path, sample.expected
            ));
        }
        for (name, end) in [("CRLF", &b"\r\n"[..]), ("LF", b"\n"), ("CR", b"\r")] {
            let copy = ids(&diagnose(
                &classifier,
                &library.playbooks,
                &with_line_ends(&bytes, end),
            ));
            if copy != found {
                failures.push(format!(
                    "{}: {name} copy gives {copy:?}, original {found:?}",
                    sample.path
                ));
            }
        }
        if let Some(poisoned) = poisoned(&bytes) {
            let findings = diagnose(&classifier, &library.playbooks, &poisoned);
            if ids(&findings) != found {
                failures.push(format!(
                    "{}: a symptom planted in the returned original changed the findings to {:?}",
                    sample.path,
                    ids(&findings)
                ));
            }
            for finding in &findings {
                for evidence in &finding.evidence {
                    if evidence.detail.contains("X-Poison") {
                        failures.push(format!(
                            "{}: evidence from the original: {}",
                            sample.path, evidence.detail
                        ));
                    }
                }
            }
        }
    }
    let mut table = String::from("dialect              n  right-first  no-finding\n");
    let mut total = Figures::default();
    for (dialect, figures) in &by_dialect {
        let _ = writeln!(
            table,
            "{dialect:<18} {:>3}  {:>11}  {:>10}",
            figures.n, figures.right_first, figures.no_finding
        );
        total.n += figures.n;
        total.right_first += figures.right_first;
        total.no_finding += figures.no_finding;
    }
    let _ = writeln!(
        table,
        "{:<18} {:>3}  {:>11}  {:>10}",
        "all", total.n, total.right_first, total.no_finding
    );
    println!("{table}");
    let (misses, invariants): (Vec<&String>, Vec<&String>) =
        failures.iter().partition(|f| f.contains(": expected "));
    println!(
        "{}",
        misses
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Line ends and the returned original must never change an answer, on any message.
    assert!(
        invariants.is_empty(),
        "{}",
        invariants
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The issue's bar for held-out mail, on this corpus: >= 95 % right first, <= 2 % no finding.
    assert!(
        total.right_first * 100 >= total.n * 95,
        "right first {}/{}:\n{}\n{table}",
        total.right_first,
        total.n,
        misses
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        total.no_finding * 100 <= total.n * 2,
        "no finding {}/{}\n{table}",
        total.no_finding,
        total.n
    );
}

/// The interface the interop suite relies on: `explain --message FILE --format json`, findings[0].playbook.
#[test]
fn explain_message_file_reports_the_reason_first() {
    let file = first_sample_expecting("mailbox-unknown");
    let (_, report) = json_report(&["explain", "--message", file.to_str().unwrap()]);
    assert_eq!(
        report["findings"][0]["playbook"], "mailbox-unknown",
        "{report}"
    );
    assert_eq!(report["command"], "explain");
}

#[test]
fn a_message_on_stdin_is_recognised_as_a_message() {
    let file = first_sample_expecting("mailbox-full");
    let bytes = std::fs::read(&file).unwrap();
    let output = mxdoctor()
        .args(["explain", "--format", "json"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["playbook"], "mailbox-full",
        "{report}"
    );
    let notes = report["notes"].to_string();
    assert!(notes.contains("bounce"), "{notes}");
}

#[test]
fn a_maildir_and_an_mbox_aggregate_by_reason_and_domain() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::create_dir_all(maildir.join("tmp")).unwrap();
    let mut mbox = Vec::new();
    let unknown = first_sample_expecting("mailbox-unknown");
    let full = first_sample_expecting("mailbox-full");
    for (n, file) in [&unknown, &unknown, &full].iter().enumerate() {
        let bytes = std::fs::read(file).unwrap();
        std::fs::write(maildir.join("cur").join(format!("{n}.eml")), &bytes).unwrap();
        mbox.extend_from_slice(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n");
        mbox.extend_from_slice(&bounce::input::normalise_line_ends(&bytes));
        mbox.extend_from_slice(b"\n");
    }
    // A message still being written is not read.
    std::fs::write(maildir.join("tmp").join("partial"), b"From: x\n").unwrap();
    let mbox_path = dir.path().join("bounces.mbox");
    std::fs::write(&mbox_path, &mbox).unwrap();
    for input in [&maildir, &mbox_path] {
        let (code, report) = json_report(&["triage", input.to_str().unwrap()]);
        // The mailbox's findings decide the status, as they do for `explain --message`.
        let (explain_code, explained) =
            json_report(&["explain", "--message", input.to_str().unwrap()]);
        assert_ne!(report["status"], "ok", "{report}");
        assert_eq!(report["status"], explained["status"], "{report}");
        assert_eq!(code, explain_code);
        let findings = report["findings"].as_array().unwrap();
        let unknown_finding = findings
            .iter()
            .find(|f| f["playbook"] == "mailbox-unknown")
            .unwrap_or_else(|| panic!("{report}"));
        assert_eq!(unknown_finding["count"], 2, "{report}");
        assert!(
            findings.iter().any(|f| f["playbook"] == "mailbox-full"),
            "{report}"
        );
        let notes = report["notes"].to_string();
        assert!(notes.contains("3 message(s) read"), "{notes}");
    }
}

#[test]
fn a_huge_attachment_is_skipped_not_buffered() {
    let file = first_sample_expecting("mailbox-unknown");
    let mut bytes = bounce::input::normalise_line_ends(&std::fs::read(&file).unwrap());
    // 6 MiB of base64-like text after the message: past the read cap.
    bytes.extend(
        std::iter::repeat_n(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n", 6 << 20 >> 5).flatten(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.eml");
    std::fs::write(&path, &bytes).unwrap();
    let (_, report) = json_report(&["explain", "--message", path.to_str().unwrap()]);
    assert_eq!(
        report["findings"][0]["playbook"], "mailbox-unknown",
        "{report}"
    );
    assert!(
        report["notes"]
            .to_string()
            .contains("read up to that size only"),
        "{report}"
    );
}

#[test]
fn an_unreadable_path_is_a_clear_error() {
    let output = mxdoctor()
        .args(["explain", "--message", "/nonexistent/bounce.eml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/bounce.eml"));
}

/// The first corpus file labelled with `id` alone.
fn first_sample_expecting(id: &str) -> PathBuf {
    samples()
        .into_iter()
        .find(|s| s.expected == [id] && !s.path.contains("trunc"))
        .map_or_else(
            || panic!("no corpus file expects {id}"),
            |s| corpus_dir().join(s.path),
        )
}
