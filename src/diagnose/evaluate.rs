//! Evaluates playbook `when` rules over observations — pure: no I/O, same input, same findings.

use serde_json::Value;

use super::view::ObservationView;
use crate::finding::{Evidence, Finding};
use crate::playbook::Playbook;
use crate::playbook::compile::{Condition, FieldTest, Op};
use crate::vocabulary::Platform;
use mxdoctor_model::Observation;

/// The check that carries run flags: never shown as evidence.
pub const CONTEXT_CHECK: &str = "run.context";

/// Every playbook whose rules hold on `observations`, one finding each (the first rule that holds).
pub fn evaluate(
    playbooks: &[Playbook],
    observations: &[Observation],
    platform: Platform,
) -> Vec<Finding> {
    let views: Vec<ObservationView<'_>> = observations.iter().map(ObservationView::new).collect();
    playbooks
        .iter()
        .filter_map(|playbook| {
            playbook.rules.iter().find_map(|rule| {
                let mut evidence = Vec::new();
                holds(&rule.condition, &views, &mut evidence).then(|| {
                    let severity = rule.severity.unwrap_or(playbook.severity);
                    Finding::new(
                        playbook,
                        severity,
                        rule.confidence,
                        to_evidence(&evidence),
                        platform,
                    )
                })
            })
        })
        .collect()
}

fn to_evidence(matched: &[&Observation]) -> Vec<Evidence> {
    let mut evidence: Vec<Evidence> = Vec::new();
    for observation in matched.iter().filter(|o| o.check != CONTEXT_CHECK) {
        let item = Evidence {
            check: observation.check.clone(),
            subject: observation.subject.clone(),
            detail: observation.detail.clone(),
        };
        if !evidence.contains(&item) {
            evidence.push(item);
        }
    }
    evidence
}

/// Whether `condition` holds; the observations that made it hold are added to `evidence`.
fn holds<'a>(
    condition: &Condition,
    views: &[ObservationView<'a>],
    evidence: &mut Vec<&'a Observation>,
) -> bool {
    match condition {
        Condition::All(children) => {
            let mut collected = Vec::new();
            let all = children
                .iter()
                .all(|child| holds(child, views, &mut collected));
            if all {
                evidence.extend(collected);
            }
            all
        }
        Condition::Any(children) => {
            let mut any = false;
            for child in children {
                any |= holds(child, views, evidence);
            }
            any
        }
        Condition::Not(child) => !holds(child, views, &mut Vec::new()),
        Condition::Observed { check, tests } => {
            let before = evidence.len();
            evidence.extend(
                views
                    .iter()
                    .filter(|view| {
                        view.observation.check == *check && tests.iter().all(|t| passes(t, view))
                    })
                    .map(|view| view.observation),
            );
            evidence.len() > before
        }
    }
}

fn passes(test: &FieldTest, view: &ObservationView<'_>) -> bool {
    let value = view.get(&test.field).filter(|v| !v.is_null());
    match (&test.op, value) {
        (Op::Exists(expected), value) => value.is_some() == *expected,
        (_, None) => false,
        (Op::Is(expected), Some(value)) => equals(value, expected),
        (Op::In(options), Some(value)) => options.iter().any(|option| equals(value, option)),
        (Op::Matches(regex), Some(value)) => match value {
            Value::Array(items) => items.iter().any(|item| regex.is_match(&text_of(item))),
            other => regex.is_match(&text_of(other)),
        },
        (Op::Gte(n), Some(value)) => value.as_f64().is_some_and(|v| v >= *n),
        (Op::Gt(n), Some(value)) => value.as_f64().is_some_and(|v| v > *n),
        (Op::Lte(n), Some(value)) => value.as_f64().is_some_and(|v| v <= *n),
        (Op::Lt(n), Some(value)) => value.as_f64().is_some_and(|v| v < *n),
    }
}

/// Equality that treats 25 and 25.0 alike, and an array as equal when one element is.
fn equals(value: &Value, expected: &Value) -> bool {
    match (value, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(items), expected) if !expected.is_array() => {
            items.iter().any(|item| equals(item, expected))
        }
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
