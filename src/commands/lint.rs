//! `playbooks lint`: runs every playbook's examples through the diagnosis pipeline; every example must be diagnosed as its playbook (ranked first), every counter-example not at all.

use crate::diagnose::{Diagnoser, Input};
use crate::playbook::remediation_lint::remediation_problems;
use crate::playbook::{LintFailure, Playbook};
use crate::vocabulary::Platform;

/// Runs the examples of the playbooks selected by `selected` against the whole set.
pub fn lint(playbooks: &[Playbook], selected: impl Fn(&Playbook) -> bool) -> Vec<LintFailure> {
    let diagnoser = Diagnoser::new(playbooks, Platform::Generic);
    let diagnose = |text: &str| {
        diagnoser
            .diagnose(Input::Texts(&[text.to_string()]))
            .findings
    };
    let mut failures = Vec::new();
    for playbook in playbooks.iter().filter(|p| selected(p)) {
        let fail = |message: String| LintFailure {
            playbook: playbook.id.clone(),
            origin: playbook.origin.clone(),
            message,
        };
        if playbook.replies.is_empty()
            && playbook.logs.is_empty()
            && playbook.bounces.is_empty()
            && playbook.rules.is_empty()
        {
            failures.push(fail(
                "has neither symptoms nor when rules: it can never fire".into(),
            ));
        }
        for regex in playbook.regexes() {
            if let Err(error) = regex.force() {
                let detail = error.to_string();
                failures.push(fail(format!(
                    "regex {:?} does not compile: {}",
                    regex.as_str(),
                    detail.lines().last().unwrap_or_default()
                )));
            }
        }
        for problem in remediation_problems(&playbook.remediation) {
            failures.push(fail(problem));
        }
        let has_symptoms = !(playbook.replies.is_empty()
            && playbook.logs.is_empty()
            && playbook.bounces.is_empty());
        if has_symptoms && playbook.examples.matches.is_empty() {
            failures.push(fail(
                "has text symptoms but no examples.matches to prove them".into(),
            ));
        }
        for example in &playbook.examples.matches {
            let findings = diagnose(example);
            match findings.first() {
                Some(top) if top.playbook == playbook.id => {}
                Some(top) => failures.push(fail(format!(
                    "example ranked {} first instead (this playbook: {}): {example:?}",
                    top.playbook,
                    findings
                        .iter()
                        .find(|f| f.playbook == playbook.id)
                        .map_or_else(|| "no match".to_string(), |f| format!("rank {}", f.rank))
                ))),
                None => failures.push(fail(format!("example matched no playbook: {example:?}"))),
            }
        }
        for counter in &playbook.examples.not_matches {
            if diagnose(counter).iter().any(|f| f.playbook == playbook.id) {
                failures.push(fail(format!("counter-example matched: {counter:?}")));
            }
        }
    }
    failures
}
