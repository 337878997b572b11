//! `playbooks lint` for causes and differentials: every named playbook exists, no cause explains
//! itself through a chain.

use crate::playbook::Playbook;

/// One problem with the causal links or candidates of a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProblem {
    pub playbook: String,
    pub origin: String,
    pub message: String,
}

/// Unknown ids in `explains` and `differential`, and cycles of `explains`, for the playbooks `selected`.
pub fn check_links(
    playbooks: &[Playbook],
    selected: impl Fn(&Playbook) -> bool,
) -> Vec<LinkProblem> {
    let known = |id: &str| playbooks.iter().any(|p| p.id == id);
    let mut problems = Vec::new();
    for playbook in playbooks.iter().filter(|p| selected(p)) {
        let problem = |message: String| LinkProblem {
            playbook: playbook.id.clone(),
            origin: playbook.origin.clone(),
            message,
        };
        for link in &playbook.explains {
            if !known(&link.symptom) {
                problems.push(problem(format!(
                    "explains unknown playbook {:?}",
                    link.symptom
                )));
            }
        }
        if let Some(differential) = &playbook.differential {
            for (candidate, _) in &differential.candidates {
                if !known(candidate) {
                    problems.push(problem(format!(
                        "differential names unknown playbook {candidate:?}"
                    )));
                } else if candidate == &playbook.id {
                    problems.push(problem(
                        "differential lists the playbook itself as a candidate".into(),
                    ));
                }
            }
        }
        if let Some(cycle) = cycle_from(playbooks, &playbook.id) {
            problems.push(problem(format!(
                "explains forms a cycle: {}",
                cycle.join(" -> ")
            )));
        }
    }
    problems
}

/// A path of `explains` links from `start` back to `start`, if there is one.
fn cycle_from(playbooks: &[Playbook], start: &str) -> Option<Vec<String>> {
    let mut stack: Vec<Vec<String>> = vec![vec![start.to_string()]];
    let mut visited: Vec<String> = Vec::new();
    while let Some(path) = stack.pop() {
        let last = path.last()?.clone();
        let Some(playbook) = playbooks.iter().find(|p| p.id == last) else {
            continue;
        };
        for link in &playbook.explains {
            if link.symptom == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if !visited.contains(&link.symptom) {
                visited.push(link.symptom.clone());
                let mut next = path.clone();
                next.push(link.symptom.clone());
                stack.push(next);
            }
        }
    }
    None
}
