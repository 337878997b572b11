//! Per-dialect figures of the bounce corpus (`tests/fixtures/bounces/index.tsv`), or, given
//! files, each message's structured diagnosis: `cargo run --example bounce_corpus [FILE...]`.

use std::collections::BTreeMap;
use std::path::Path;

use mxdoctor::bounce::{Classifier, parse_message};
use mxdoctor::diagnose::text::TextMatcher;
use mxdoctor::playbook::Library;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let library = Library::load(&[]).map_err(|e| format!("{e:?}"))?;
    let matcher = TextMatcher::new(&library.playbooks);
    let classifier = Classifier::new(&matcher);
    let files: Vec<String> = std::env::args().skip(1).collect();
    if !files.is_empty() {
        for file in files {
            let parsed = parse_message(&std::fs::read(&file)?);
            let diagnosis = classifier.diagnose(&parsed);
            println!("== {file}\n{parsed:#?}");
            for reason in &diagnosis.reasons {
                println!(
                    "-> {} {:?} {:?} {:?}: {}",
                    library.playbooks[reason.playbook].id,
                    reason.confidence,
                    reason.source,
                    reason.recipients,
                    reason.evidence
                );
            }
            println!(
                "kind {:?}, dialect {}, unexplained {:?}",
                diagnosis.kind, diagnosis.dialect, diagnosis.unexplained
            );
        }
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounces");
    let index = std::fs::read_to_string(root.join("index.tsv"))?;
    let mut figures: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for line in index.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        let (path, dialect, expected) = (columns[0], columns[1], columns[2]);
        let expected: Vec<&str> = expected.split(',').collect();
        let diagnosis = classifier.diagnose(&parse_message(&std::fs::read(root.join(path))?));
        let ranked = diagnosis.ranked(&library.playbooks);
        let ids: Vec<&str> = ranked
            .iter()
            .map(|i| library.playbooks[*i].id.as_str())
            .collect();
        let entry = figures.entry(dialect.to_string()).or_default();
        entry.0 += 1;
        if ids.first().is_some_and(|top| expected.contains(top)) {
            entry.1 += 1;
        } else {
            println!("miss {path}: expected {expected:?}, got {ids:?}");
        }
        if ids.is_empty() {
            entry.2 += 1;
        }
    }
    println!(
        "{:<18} {:>4} {:>12} {:>11}",
        "dialect", "n", "right-first", "no-finding"
    );
    let mut total = (0, 0, 0);
    for (dialect, (n, right, none)) in &figures {
        println!("{dialect:<18} {n:>4} {right:>12} {none:>11}");
        total = (total.0 + n, total.1 + right, total.2 + none);
    }
    println!(
        "{:<18} {:>4} {:>12} {:>11}",
        "all", total.0, total.1, total.2
    );
    Ok(())
}
