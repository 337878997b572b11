//! Which checks a run needs: those some selected playbook's conditions read.

use std::collections::BTreeSet;

use crate::playbook::Playbook;
use crate::playbook::compile::Condition;

/// The names of every check referenced by the playbooks' `when` rules.
pub fn needed_checks(playbooks: &[Playbook]) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    for rule in playbooks.iter().flat_map(|p| &p.rules) {
        collect(&rule.condition, &mut needed);
    }
    needed
}

fn collect(condition: &Condition, needed: &mut BTreeSet<String>) {
    match condition {
        Condition::All(children) | Condition::Any(children) => {
            for child in children {
                collect(child, needed);
            }
        }
        Condition::Not(child) => collect(child, needed),
        Condition::Observed { check, .. } => {
            needed.insert(check.clone());
        }
    }
}
