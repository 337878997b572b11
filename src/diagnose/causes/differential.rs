//! Differential diagnosis: a finding whose evidence fits several causes lists every candidate and
//! the observation that tells them apart.

use crate::finding::{Alternative, Finding};
use crate::playbook::Playbook;

/// Fills `alternatives` of every top-level finding that rests only on ambiguous evidence.
pub fn apply_differentials(findings: &mut [Finding], playbooks: &[Playbook]) {
    let present: Vec<String> = findings.iter().map(|f| f.playbook.clone()).collect();
    for finding in findings.iter_mut() {
        if finding.caused_by.is_some() {
            continue;
        }
        let Some(playbook) = playbooks.iter().find(|p| p.id == finding.playbook) else {
            continue;
        };
        let Some(differential) = &playbook.differential else {
            continue;
        };
        if finding.confidence > differential.up_to {
            continue;
        }
        let mut alternatives = vec![Alternative {
            playbook: playbook.id.clone(),
            title: playbook.title.clone(),
            decided_by: differential.decided_by.clone(),
            seen: false,
        }];
        for (candidate, decided_by) in &differential.candidates {
            let Some(other) = playbooks.iter().find(|p| &p.id == candidate) else {
                continue;
            };
            alternatives.push(Alternative {
                playbook: other.id.clone(),
                title: other.title.clone(),
                decided_by: decided_by.clone(),
                seen: present.contains(&other.id),
            });
        }
        if alternatives.len() > 1 {
            finding.alternatives = alternatives;
        }
    }
}
