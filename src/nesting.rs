//! How findings nest under their causes (`caused_by`): which stand at the top level, how deep one
//! sits, and the status they imply. Shared by the renderers and the diagnosis pipeline.

use crate::finding::Finding;
use crate::vocabulary::Status;

/// Findings that are not explained by another finding of the same list.
pub fn top_level(findings: &[Finding]) -> impl Iterator<Item = &Finding> {
    findings.iter().filter(|finding| {
        finding
            .caused_by
            .as_ref()
            .is_none_or(|cause| !findings.iter().any(|f| &f.playbook == cause))
    })
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

/// The status `findings` imply: that of the findings no other explains (the status follows the cause).
pub fn status_of(findings: &[Finding]) -> Status {
    Status::from_severities(top_level(findings).map(|f| f.severity))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::vocabulary::Severity;

    /// A finding of `playbook` at `severity`, explained by `cause` when given.
    pub(crate) fn finding(playbook: &str, severity: Severity, cause: Option<&str>) -> Finding {
        let mut finding: Finding = serde_json::from_value(serde_json::json!({
            "rank": 0,
            "playbook": playbook,
            "title": playbook,
            "severity": severity,
            "confidence": "likely",
            "summary": "",
            "evidence": [],
            "remediation": [],
        }))
        .expect("a finding");
        finding.caused_by = cause.map(str::to_string);
        finding
    }

    /// The pipeline only links findings that are all present; a list cut from a report (a filter,
    /// a baseline diff) may hold a symptom without its cause: that symptom is top-level.
    #[test]
    fn a_symptom_whose_cause_is_absent_is_top_level_and_sets_the_status() {
        let findings = [
            finding("cause", Severity::Low, None),
            finding("symptom", Severity::High, Some("cause")),
            finding("orphan", Severity::Critical, Some("gone")),
        ];
        let top: Vec<&str> = top_level(&findings).map(|f| f.playbook.as_str()).collect();
        assert_eq!(top, ["cause", "orphan"]);
        assert_eq!(status_of(&findings), Status::Critical);
        assert_eq!(depth(&findings, &findings[2]), 0);
        assert_eq!(status_of(&findings[..2]), Status::Warning);
    }
}
