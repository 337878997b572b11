//! The playbook file format as written in YAML: parsed by serde, validated later in `compile`.

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

// Re-exported from their home so the older paths (`playbook::schema::Severity`) keep working.
pub use crate::vocabulary::{Area, Confidence, Severity};

/// One playbook file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSource {
    pub id: Spanned<String>,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    /// Which part of the mail path this is about (one JUnit suite per area).
    pub area: Area,
    #[serde(default)]
    pub symptoms: SymptomsSource,
    #[serde(default)]
    pub when: Vec<RuleSource>,
    pub explanation: String,
    pub remediation: RemediationSource,
    pub references: Vec<String>,
    #[serde(default)]
    pub examples: ExamplesSource,
}

/// Text patterns that recognise the problem in what the system already said.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymptomsSource {
    /// Matched against SMTP replies, alone or embedded in a log line or a bounce.
    #[serde(default)]
    pub replies: Vec<ReplyMatcherSource>,
    /// Regexes matched against whole log lines.
    #[serde(default)]
    pub logs: Vec<PatternSource>,
    /// Regexes matched against bounce / NDR text lines.
    #[serde(default)]
    pub bounces: Vec<PatternSource>,
}

/// A reply matcher: every field given must match; `code` and `enhanced` are anchored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyMatcherSource {
    pub code: Option<Spanned<String>>,
    pub enhanced: Option<Spanned<String>>,
    pub text: Option<Spanned<String>>,
    /// The reply text must NOT match this (regex has no look-around).
    pub text_not: Option<Spanned<String>>,
    #[serde(default)]
    pub confidence: Confidence,
}

/// A log or bounce regex, either a bare string or with its confidence.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PatternSource {
    Bare(Spanned<String>),
    Full(FullPatternSource),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullPatternSource {
    pub pattern: Spanned<String>,
    #[serde(default)]
    pub confidence: Confidence,
}

/// One way the live observations can show the problem; the first rule that holds wins.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSource {
    pub confidence: Confidence,
    /// Overrides the playbook's severity for this rule.
    pub severity: Option<Severity>,
    #[serde(rename = "if")]
    pub condition: ConditionSource,
}

/// `all` / `any` / `not` over conditions, or a leaf: some observation of `check` passes every `where` test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSource {
    pub all: Option<Vec<ConditionSource>>,
    pub any: Option<Vec<ConditionSource>>,
    pub not: Option<Box<ConditionSource>>,
    pub check: Option<Spanned<String>>,
    #[serde(rename = "where", default)]
    pub tests: Vec<FieldTestSource>,
}

/// A test on one field of an observation; exactly one operator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTestSource {
    pub field: Spanned<String>,
    pub is: Option<serde_json::Value>,
    #[serde(rename = "in")]
    pub one_of: Option<Vec<serde_json::Value>>,
    pub matches: Option<Spanned<String>>,
    pub gte: Option<f64>,
    pub gt: Option<f64>,
    pub lte: Option<f64>,
    pub lt: Option<f64>,
    pub exists: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RemediationSource {
    pub fortimail: Option<PlatformSteps>,
    pub postfix: Option<PlatformSteps>,
    pub exchange: Option<PlatformSteps>,
    pub generic: Option<PlatformSteps>,
}

/// Ordered steps for one platform, and commands to type literally.
#[derive(Debug, Default, Deserialize, Serialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlatformSteps {
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub commands: Vec<String>,
}

/// Texts that must (and must not) be diagnosed as this playbook; `playbooks lint` runs them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplesSource {
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub not_matches: Vec<String>,
}
