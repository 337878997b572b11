//! Report order once causes are known: each top-level finding by score, its symptoms right after it.

use crate::finding::Finding;

/// Reorders findings already sorted by score so every symptom follows its cause (depth first), and
/// numbers them again from 1. A symptom whose cause is not in the list stays where the score put it.
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
    for (index, finding) in findings.iter_mut().enumerate() {
        finding.rank = index + 1;
    }
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

#[cfg(test)]
mod tests {
    use super::order_by_cause;
    use crate::nesting::tests::finding;
    use crate::vocabulary::Severity;

    /// A list cut from a report may hold a symptom whose cause is not in it: it keeps its place.
    #[test]
    fn a_symptom_whose_cause_is_absent_keeps_its_score_place() {
        let mut findings = vec![
            finding("orphan", Severity::Critical, Some("gone")),
            finding("cause", Severity::High, None),
            finding("other", Severity::Medium, None),
            finding("symptom", Severity::Low, Some("cause")),
        ];
        order_by_cause(&mut findings);
        let order: Vec<(usize, &str)> = findings
            .iter()
            .map(|f| (f.rank, f.playbook.as_str()))
            .collect();
        assert_eq!(
            order,
            [(1, "orphan"), (2, "cause"), (3, "symptom"), (4, "other")]
        );
    }
}
