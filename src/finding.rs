//! A diagnosed problem: which playbook, how bad, how sure, the evidence, and what to type to fix it.

use serde::{Deserialize, Serialize};

use crate::playbook::Playbook;
use crate::playbook::schema::{CommandMode, PlatformSteps};
use crate::vocabulary::{Confidence, Severity};

use crate::vocabulary::Platform;

/// One piece of evidence behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub check: String,
    pub subject: String,
    pub detail: String,
}

/// Remediation for one platform, in the order the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PlatformRemediation {
    pub platform: Platform,
    pub steps: Vec<String>,
    /// Every command line, in order (the lines of `command_blocks` when the playbook marks them).
    pub commands: Vec<String>,
    /// The FortiMail releases each step is verified for, parallel to `steps` (empty: any release).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_versions: Vec<Vec<String>>,
    /// The commands as the playbook groups them: marked read-only or change, version-tagged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command_blocks: Vec<CommandBlock>,
    /// The FortiMail release the steps and commands were chosen for (`--fortimail-version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fortimail_version: Option<String>,
}

/// One command block of a remediation: its lines, what it does, where it is verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandBlock {
    pub lines: Vec<String>,
    /// `None` for a command the playbook left unmarked (older playbooks from `--playbooks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<CommandMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
    /// The playbook of the finding that explains this one; it is shown folded under that cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<String>,
    /// The playbooks of the findings this one explains (they carry `caused_by`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explains: Vec<String>,
    /// When the evidence fits several causes: every candidate (this playbook first) and what decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
}

/// One candidate cause of an ambiguous finding (differential diagnosis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    pub playbook: String,
    pub title: String,
    /// The observation that confirms this candidate rather than the others.
    pub decided_by: String,
    /// This candidate is itself a finding of the same report (its own evidence was seen).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seen: bool,
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
            caused_by: None,
            explains: Vec::new(),
            alternatives: Vec::new(),
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
            steps_of(platform).map(|steps| platform_remediation(platform, steps))
        })
        .collect()
}

/// One platform's remediation as written: step texts carry their version tags, commands keep their blocks.
fn platform_remediation(platform: Platform, source: &PlatformSteps) -> PlatformRemediation {
    let steps = source
        .steps
        .iter()
        .map(|step| match version_tag(step.versions()) {
            Some(tag) => format!("{} [{tag}]", step.text()),
            None => step.text().to_string(),
        })
        .collect();
    let step_versions = if source.steps.iter().any(|step| !step.versions().is_empty()) {
        source.steps.iter().map(|s| s.versions().to_vec()).collect()
    } else {
        Vec::new()
    };
    let command_blocks: Vec<CommandBlock> = source
        .commands
        .iter()
        .map(|command| CommandBlock {
            lines: command.run().lines().map(str::to_string).collect(),
            mode: command.mode(),
            versions: command.versions().to_vec(),
            note: command.note().map(str::to_string),
        })
        .collect();
    PlatformRemediation {
        platform,
        steps,
        commands: command_blocks
            .iter()
            .flat_map(|block| block.lines.iter().cloned())
            .collect(),
        step_versions,
        command_blocks,
        fortimail_version: None,
    }
}

/// `FortiMail 7.2, 7.4, 7.6` for a non-empty tag list.
pub fn version_tag(versions: &[String]) -> Option<String> {
    (!versions.is_empty()).then(|| format!("FortiMail {}", versions.join(", ")))
}
