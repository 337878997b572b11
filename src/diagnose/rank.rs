//! Orders findings: severity × confidence, ties broken by severity, then confidence, then playbook order.

use crate::finding::Finding;
use crate::vocabulary::{Confidence, Severity};

pub fn severity_weight(severity: Severity) -> u32 {
    match severity {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

pub fn confidence_weight(confidence: Confidence) -> u32 {
    match confidence {
        Confidence::Possible => 1,
        Confidence::Likely => 3,
        Confidence::Confirmed => 9,
    }
}

pub fn score(severity: Severity, confidence: Confidence) -> u32 {
    severity_weight(severity) * confidence_weight(confidence)
}

/// Sorts `findings` most important first (stable for equal keys) and numbers them from 1.
pub fn rank(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        score(b.severity, b.confidence)
            .cmp(&score(a.severity, a.confidence))
            .then(b.severity.cmp(&a.severity))
            .then(b.confidence.cmp(&a.confidence))
    });
    for (index, finding) in findings.iter_mut().enumerate() {
        finding.rank = index + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_info_outranks_possible_medium() {
        assert!(
            score(Severity::Info, Confidence::Confirmed)
                > score(Severity::Medium, Confidence::Possible)
        );
        assert!(
            score(Severity::Critical, Confidence::Likely)
                > score(Severity::High, Confidence::Likely)
        );
    }
}
