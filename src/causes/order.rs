//! Report order once causes are known: each top-level finding by score, its symptoms right after it.

use crate::finding::Finding;

/// Reorders findings already sorted by score so every symptom follows its cause (depth first).
/// A symptom whose cause is not in the list stays where the score put it.
pub fn order_by_cause(findings: &mut [Finding]) {
    if findings.iter().all(|f| f.caused_by.is_none()) {
        return;
    }
    let has_parent = |finding: &Finding| {
        finding
            .caused_by
            .as_ref()
            .is_some_and(|cause| findings.iter().any(|f| &f.playbook == cause))
    };
    let mut placed = vec![false; findings.len()];
    let mut order: Vec<usize> = Vec::with_capacity(findings.len());
    for root in 0..findings.len() {
        if placed[root] || has_parent(&findings[root]) {
            continue;
        }
        place(findings, root, &mut placed, &mut order);
    }
    // Anything left sits in a cycle of causes (lint forbids them): keep it, in score order.
    for (index, done) in placed.iter_mut().enumerate() {
        if !*done {
            *done = true;
            order.push(index);
        }
    }
    let reordered: Vec<Finding> = order.iter().map(|&i| findings[i].clone()).collect();
    findings.clone_from_slice(&reordered);
}

fn place(findings: &[Finding], index: usize, placed: &mut [bool], order: &mut Vec<usize>) {
    placed[index] = true;
    order.push(index);
    let id = findings[index].playbook.clone();
    for child in 0..findings.len() {
        if !placed[child] && findings[child].caused_by.as_deref() == Some(id.as_str()) {
            place(findings, child, placed, order);
        }
    }
}

/// How deep a finding is nested: 0 for a top-level finding, 1 for its symptoms, and so on.
pub fn depth(findings: &[Finding], finding: &Finding) -> usize {
    let mut depth = 0;
    let mut current = finding.caused_by.as_deref();
    while let Some(cause) = current {
        if depth >= findings.len() {
            break;
        }
        let parent = findings
            .iter()
            .find(|f| f.playbook == cause && f.caused_by.is_none())
            .or_else(|| findings.iter().find(|f| f.playbook == cause));
        match parent {
            Some(parent) => {
                depth += 1;
                current = parent.caused_by.as_deref();
            }
            None => break,
        }
    }
    depth
}

/// Findings that are not explained by another finding of the same list.
pub fn top_level(findings: &[Finding]) -> impl Iterator<Item = &Finding> {
    findings.iter().filter(|finding| {
        finding
            .caused_by
            .as_ref()
            .is_none_or(|cause| !findings.iter().any(|f| &f.playbook == cause))
    })
}
