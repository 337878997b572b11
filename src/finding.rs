//! A diagnosed problem: which playbook, how bad, how sure, the evidence, and what to type to fix it.

use serde::{Deserialize, Serialize};

use crate::playbook::Playbook;
use crate::playbook::schema::PlatformSteps;
use crate::vocabulary::{Confidence, Severity};

// Platform lives in the vocabulary; re-exported so `finding::Platform` keeps naming it.
pub use crate::vocabulary::Platform;

/// One piece of evidence behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub check: String,
    pub subject: String,
    pub detail: String,
}

/// Remediation for one platform, in the order the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformRemediation {
    pub platform: Platform,
    pub steps: Vec<String>,
    pub commands: Vec<String>,
}

/// How a finding compares with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    New,
    Unchanged,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Unchanged => "unchanged",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub rank: usize,
    pub playbook: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub summary: String,
    /// What the finding is about (a host, a zone, a destination), when one stands out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub evidence: Vec<Evidence>,
    pub remediation: Vec<PlatformRemediation>,
    #[serde(default)]
    pub explanation: String,
    #[serde(default)]
    pub references: Vec<String>,
    /// How many inputs (lines, messages) showed it, for text and queue diagnosis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Compared with `--baseline`: new or unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
}

impl Finding {
    /// A finding for `playbook` with its texts and remediation; rank is set later by [`crate::diagnose::rank`].
    pub fn new(
        playbook: &Playbook,
        severity: Severity,
        confidence: Confidence,
        evidence: Vec<Evidence>,
        platform: Platform,
    ) -> Self {
        Self {
            rank: 0,
            playbook: playbook.id.clone(),
            title: playbook.title.clone(),
            severity,
            confidence,
            summary: playbook.summary.clone(),
            subject: evidence.first().map(|e| e.subject.clone()),
            evidence,
            remediation: remediation_for(playbook, platform),
            explanation: playbook.explanation.clone(),
            references: playbook.references.clone(),
            count: None,
            first_seen: None,
            last_seen: None,
            baseline: None,
        }
    }
}

/// Every platform's remediation the playbook has, the preferred platform first.
pub fn remediation_for(playbook: &Playbook, preferred: Platform) -> Vec<PlatformRemediation> {
    let steps_of = |platform: Platform| -> Option<&PlatformSteps> {
        let r = &playbook.remediation;
        match platform {
            Platform::Fortimail => r.fortimail.as_ref(),
            Platform::Postfix => r.postfix.as_ref(),
            Platform::Exchange => r.exchange.as_ref(),
            Platform::Generic => r.generic.as_ref(),
        }
    };
    std::iter::once(preferred)
        .chain(Platform::ALL.into_iter().filter(|p| *p != preferred))
        .filter_map(|platform| {
            steps_of(platform).map(|steps| PlatformRemediation {
                platform,
                steps: steps.steps.clone(),
                commands: steps.commands.clone(),
            })
        })
        .collect()
}
