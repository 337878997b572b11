//! Engine tables (unit tests): playbook rules and observations in, ranked findings and status out.
//!
//! Each `tests/engine/*.yaml` file is a list of cases. A case gives small playbooks (`id`,
//! `severity`, `when`, `explains`; the harness fills in the texts the format requires), observations
//! (`data` is merged over the empty payload of its `kind`) and what `Diagnoser::diagnose` must
//! return: the findings in rank order, each with its cause (none unless given), and its severity,
//! confidence, evidence subjects and checks, count, nesting depth and the symptoms it explains when
//! given; the status, the notes, and when given the playbooks evaluated and the checks the playbooks
//! need (`needed_checks`). A case with `texts` (and playbooks with `symptoms`) explains those texts
//! instead of probing (`Input::Texts`). The harness asserts every case and names the ones that failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Diagnoser, Input};
use crate::playbook::Playbook;
use crate::playbook::compile::RegexBuild;
use crate::report::Report;
use crate::vocabulary::Platform;
use mxdoctor_model::observation::{
    DnsData, GreylistData, HttpData, ListingData, MxData, MxHostData, QueueData, RcptData,
    ResolverData, RunContext, SessionData, TestMessageData, TlsData,
};
use mxdoctor_model::{Data, Observation, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    playbooks: Vec<PlaybookCase>,
    #[serde(default)]
    observations: Vec<ObservationCase>,
    /// Replies, bounce or log lines to explain instead of observations (`Input::Texts`).
    #[serde(default)]
    texts: Option<Vec<String>>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookCase {
    id: String,
    severity: String,
    #[serde(default)]
    when: Vec<Value>,
    /// `{replies, logs, bounces}`: what the playbook recognises in text.
    #[serde(default)]
    symptoms: Option<Value>,
    /// `{playbook, evidence, up_to}` links to the symptoms this playbook causes.
    #[serde(default)]
    explains: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservationCase {
    check: String,
    #[serde(default)]
    subject: String,
    #[serde(default = "ok_outcome")]
    outcome: Outcome,
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    detail: String,
    /// `{kind: rcpt, verdict: ...}`: the fields given, the rest of that kind's payload empty.
    #[serde(default)]
    data: Option<Value>,
}

fn ok_outcome() -> Outcome {
    Outcome::Ok
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// In rank order: the first is rank 1.
    findings: Vec<ExpectedFinding>,
    status: String,
    /// Each note of the report contains the matching string, and there are as many notes.
    #[serde(default)]
    notes: Vec<String>,
    /// The ids of the playbooks the report lists as evaluated.
    #[serde(default)]
    evaluated: Option<Vec<String>>,
    /// The checks a live run of these playbooks must make (`diagnose::needed_checks`), sorted.
    #[serde(default)]
    needed_checks: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFinding {
    playbook: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    confidence: Option<String>,
    /// The subjects of the evidence, in order.
    #[serde(default)]
    evidence: Option<Vec<String>>,
    /// The finding that explains this one; always checked (absent: none).
    #[serde(default)]
    caused_by: Option<String>,
    /// How deep it is nested under its causes (`nesting::depth`): 0 at the top level.
    #[serde(default)]
    depth: Option<usize>,
    /// The symptoms it explains, in order.
    #[serde(default)]
    explains: Option<Vec<String>>,
    /// The checks of the evidence, in order (`log`, `bounce`, `reply` for text).
    #[serde(default)]
    checks: Option<Vec<String>>,
    /// How many inputs showed it (text diagnosis).
    #[serde(default)]
    count: Option<u64>,
}

/// Why a case could not be run (a mistake in the table, not in the engine).
#[derive(Debug, thiserror::Error)]
enum CaseError {
    #[error("playbook {id}: {errors}")]
    Playbook { id: String, errors: String },
    #[error("observation data: {0}")]
    Data(&'static str),
    #[error("observation data: unknown kind {0:?}")]
    Kind(String),
    #[error("observation data: {0}")]
    Json(#[from] serde_json::Error),
}

fn tables_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engine")
}

/// A complete playbook around the case's id, severity and rules.
fn playbook(case: &PlaybookCase) -> Result<Playbook, CaseError> {
    let source = json!({
        "id": case.id,
        "title": format!("title of {}", case.id),
        "summary": "summary",
        "severity": case.severity,
        "area": "dns",
        "symptoms": case.symptoms.clone().unwrap_or_else(|| json!({})),
        "when": case.when,
        "explains": case.explains,
        "explanation": "explanation",
        "remediation": { "generic": { "steps": ["a step"] } },
        "references": [],
    });
    // YAML is a superset of JSON, so the JSON text is a playbook file.
    crate::playbook::load::parse(&case.id, &source.to_string(), RegexBuild::Now).map_err(|errors| {
        CaseError::Playbook {
            id: case.id.clone(),
            errors: errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    })
}

/// The empty payload of `kind`, serialised as the report stores it.
fn empty_payload(kind: &str) -> Option<Value> {
    let data = match kind {
        "none" => Data::None,
        "context" => Data::Context(RunContext::default()),
        "mx" => Data::Mx(MxData::default()),
        "mx_host" => Data::MxHost(MxHostData::default()),
        "dns" => Data::Dns(DnsData::default()),
        "session" => Data::Session(SessionData::default()),
        "tls" => Data::Tls(TlsData::default()),
        "rcpt" => Data::Rcpt(RcptData::default()),
        "greylist" => Data::Greylist(GreylistData::default()),
        "listing" => Data::Listing(ListingData::default()),
        "http" => Data::Http(HttpData::default()),
        "test_message" => Data::TestMessage(TestMessageData::default()),
        "queue" => Data::Queue(QueueData::default()),
        "resolver" => Data::Resolver(ResolverData::default()),
        _ => return None,
    };
    serde_json::to_value(data).ok()
}

fn observation(case: &ObservationCase) -> Result<Observation, CaseError> {
    let data = match &case.data {
        None => Data::None,
        Some(Value::Object(given)) => {
            let kind = given
                .get("kind")
                .and_then(Value::as_str)
                .ok_or(CaseError::Data("a payload needs a kind"))?;
            let Some(Value::Object(mut payload)) = empty_payload(kind) else {
                return Err(CaseError::Kind(kind.to_string()));
            };
            payload.extend(given.clone());
            serde_json::from_value(Value::Object(payload))?
        }
        Some(_) => return Err(CaseError::Data("a payload must be a mapping")),
    };
    Ok(Observation::new(
        case.check.clone(),
        case.subject.clone(),
        case.outcome,
        Duration::from_millis(case.latency_ms),
        case.detail.clone(),
        data,
    ))
}

fn word(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        other => format!("{other:?}"),
    }
}

/// The differences between what `report` holds and what the case expects; empty when it passes.
fn differences(report: &Report, expect: &Expect) -> Vec<String> {
    let mut problems = Vec::new();
    let got: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.playbook.as_str())
        .collect();
    let wanted: Vec<&str> = expect
        .findings
        .iter()
        .map(|f| f.playbook.as_str())
        .collect();
    if got != wanted {
        problems.push(format!("findings {got:?}, expected {wanted:?}"));
    }
    for (index, (finding, expected)) in report.findings.iter().zip(&expect.findings).enumerate() {
        if finding.rank != index + 1 {
            problems.push(format!(
                "{} has rank {}, expected {}",
                finding.playbook,
                finding.rank,
                index + 1
            ));
        }
        if let Some(severity) = &expected.severity {
            let actual = word(finding.severity);
            if &actual != severity {
                problems.push(format!("{} severity {actual}", finding.playbook));
            }
        }
        if let Some(confidence) = &expected.confidence {
            let actual = word(finding.confidence);
            if &actual != confidence {
                problems.push(format!("{} confidence {actual}", finding.playbook));
            }
        }
        if finding.caused_by != expected.caused_by {
            problems.push(format!(
                "{} caused by {:?}",
                finding.playbook, finding.caused_by
            ));
        }
        if let Some(depth) = expected.depth {
            let actual = crate::nesting::depth(&report.findings, finding);
            if actual != depth {
                problems.push(format!("{} depth {actual}", finding.playbook));
            }
        }
        if let Some(explains) = &expected.explains {
            if finding.explains != *explains {
                problems.push(format!(
                    "{} explains {:?}",
                    finding.playbook, finding.explains
                ));
            }
        }
        if let Some(checks) = &expected.checks {
            let actual: Vec<&str> = finding.evidence.iter().map(|e| e.check.as_str()).collect();
            if actual != *checks {
                problems.push(format!("{} evidence checks {actual:?}", finding.playbook));
            }
        }
        if expected.count.is_some() && finding.count != expected.count {
            problems.push(format!("{} count {:?}", finding.playbook, finding.count));
        }
        if let Some(subjects) = &expected.evidence {
            let actual: Vec<&str> = finding
                .evidence
                .iter()
                .map(|e| e.subject.as_str())
                .collect();
            if actual != *subjects {
                problems.push(format!("{} evidence {actual:?}", finding.playbook));
            }
            if finding.subject.as_deref() != subjects.first().map(String::as_str) {
                problems.push(format!(
                    "{} subject {:?}",
                    finding.playbook, finding.subject
                ));
            }
        }
    }
    let status = word(report.status);
    if status != expect.status {
        problems.push(format!("status {status}, expected {}", expect.status));
    }
    let notes_match = report.notes.len() == expect.notes.len()
        && report
            .notes
            .iter()
            .zip(&expect.notes)
            .all(|(note, wanted)| note.contains(wanted.as_str()));
    if !notes_match {
        problems.push(format!(
            "notes {:?}, expected {:?}",
            report.notes, expect.notes
        ));
    }
    if let Some(evaluated) = &expect.evaluated {
        let actual: Vec<&str> = report.evaluated.iter().map(|e| e.id.as_str()).collect();
        if actual != *evaluated {
            problems.push(format!("evaluated {actual:?}, expected {evaluated:?}"));
        }
    }
    problems
}

fn check_needed(needed: &[String], expect: &Expect, problems: &mut Vec<String>) {
    if let Some(expected) = &expect.needed_checks {
        if needed != expected.as_slice() {
            problems.push(format!("needed checks {needed:?}, expected {expected:?}"));
        }
    }
}

fn run_case(case: &Case) -> Result<Vec<String>, CaseError> {
    let playbooks = case
        .playbooks
        .iter()
        .map(playbook)
        .collect::<Result<Vec<_>, _>>()?;
    let needed: Vec<String> = super::needed_checks(&playbooks).into_iter().collect();
    let observations = case
        .observations
        .iter()
        .map(observation)
        .collect::<Result<Vec<_>, _>>()?;
    let diagnoser = Diagnoser::new(&playbooks, Platform::Generic);
    if let Some(texts) = &case.texts {
        let report = diagnoser.diagnose(Input::Texts(texts));
        let mut problems = differences(&report, &case.expect);
        check_needed(&needed, &case.expect, &mut problems);
        return Ok(problems);
    }
    let report = diagnoser.diagnose(Input::Probes {
        command: "check",
        target: "example.test",
        vantage: "table via 127.0.0.1:53".into(),
        observations,
    });
    let mut problems = differences(&report, &case.expect);
    check_needed(&needed, &case.expect, &mut problems);
    if report.vantage.as_deref() != Some("table via 127.0.0.1:53") {
        problems.push(format!("vantage {:?}", report.vantage));
    }
    if report.observations.len() != case.observations.len() {
        problems.push("the report lost observations".into());
    }
    Ok(problems)
}

#[test]
fn every_engine_table_holds() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tables_dir())
        .expect("tests/engine exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "engine tables missing: {files:?}");
    let mut failures = Vec::new();
    let mut cases_run = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable table");
        let cases: Vec<Case> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in &cases {
            cases_run += 1;
            let name = format!("{} / {}", file.display(), case.name);
            match run_case(case) {
                Ok(problems) if problems.is_empty() => {}
                Ok(problems) => failures.push(format!("{name}: {}", problems.join("; "))),
                Err(error) => failures.push(format!("{name}: bad case: {error}")),
            }
        }
    }
    assert!(cases_run >= 40, "only {cases_run} engine cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every key named anywhere in `value` (mapping keys, at any depth).
fn keys_in(value: &Value, keys: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                keys.insert(key.clone());
                keys_in(child, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys_in(item, keys)),
        _ => {}
    }
}

/// Deleting the last case of a rule must fail here, not go unnoticed: the tables name every
/// condition, field operator, text symptom part, causal link and expectation the engine has.
#[test]
fn the_tables_cover_every_rule_of_the_engine() {
    let mut keys = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(tables_dir()).expect("tests/engine exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("readable table");
            let value: Value =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            keys_in(&value, &mut keys);
        }
    }
    let rules = [
        "all",
        "any",
        "not",
        "where",
        "is",
        "in",
        "matches",
        "gte",
        "gt",
        "lte",
        "lt",
        "exists",
        "severity",
        "replies",
        "logs",
        "bounces",
        "code",
        "enhanced",
        "text",
        "text_not",
        "explains",
        "up_to",
        "caused_by",
        "depth",
        "needed_checks",
        "evaluated",
        "notes",
        "count",
        "checks",
        "texts",
    ];
    let missing: Vec<&str> = rules
        .into_iter()
        .filter(|rule| !keys.contains(*rule))
        .collect();
    assert!(missing.is_empty(), "no engine table uses {missing:?}");
}

/// The harness itself must fail on a wrong expectation, or every table would pass vacuously.
#[test]
fn a_wrong_expectation_is_reported() {
    let case: Case = serde_saphyr::from_str(
        "name: wrong\nplaybooks: [{id: p, severity: high, when: [{confidence: likely, if: {check: dns.mx}}]}]\n\
         observations: [{check: dns.mx, subject: example.test}]\n\
         expect: {findings: [{playbook: q}], status: ok}\n",
    )
    .expect("valid case");
    let problems = run_case(&case).expect("runs");
    assert_eq!(problems.len(), 2, "{problems:?}");
}
