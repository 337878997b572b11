//! The playbook file format as written in YAML: parsed by serde, validated later in `compile`.

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::vocabulary::{Area, Confidence, Severity};

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
    /// Other playbooks this problem causes, and the evidence they must share with it.
    #[serde(default)]
    pub explains: Vec<ExplainsSource>,
    /// When the finding rests on ambiguous evidence: every candidate cause and what decides.
    pub differential: Option<DifferentialSource>,
}

/// "This playbook explains that one when they share this evidence."
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainsSource {
    pub playbook: Spanned<String>,
    pub evidence: SharedEvidence,
    /// Only a symptom finding of this confidence or lower is folded (default: any).
    pub up_to: Option<Confidence>,
}

/// What a cause and its symptom must have in common before the symptom is folded under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedEvidence {
    /// The same input lines (text diagnosis) or the same observations (live checks).
    SameLines,
    /// The same remote host (an MX, a backend) named by both.
    SameHost,
    /// The same destination domain (a queue destination and the probe of its MX hosts).
    SameDestination,
    /// Both seen in the same input or run: the weakest link, for causes and symptoms that never
    /// share a line (a slow DNSBL lookup and the milter timeout it causes later).
    SameInput,
}

/// Candidates for a finding whose evidence fits several causes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifferentialSource {
    /// Findings of this playbook at this confidence or lower are ambiguous (default: possible).
    #[serde(default = "possible")]
    pub up_to: Confidence,
    /// The observation that confirms this playbook rather than the candidates.
    pub decided_by: String,
    pub candidates: Vec<CandidateSource>,
}

fn possible() -> Confidence {
    Confidence::Possible
}

/// Another playbook the same evidence fits, and the observation that confirms it instead.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateSource {
    pub playbook: Spanned<String>,
    pub decided_by: String,
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
    pub steps: Vec<StepSource>,
    #[serde(default)]
    pub commands: Vec<CommandSource>,
}

/// A step: plain text (any release), or text with the FortiMail releases it is verified for.
#[derive(Debug, Deserialize, Serialize, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum StepSource {
    Plain(String),
    Tagged(TaggedStep),
}

#[derive(Debug, Deserialize, Serialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaggedStep {
    pub text: String,
    /// FortiMail releases (`7.2`, `7.4`, ...) whose Administration Guide / CLI Reference was checked.
    pub versions: Vec<String>,
}

impl StepSource {
    pub fn text(&self) -> &str {
        match self {
            Self::Plain(text) => text,
            Self::Tagged(tagged) => &tagged.text,
        }
    }

    /// The releases this step is verified for; empty for a plain step.
    pub fn versions(&self) -> &[String] {
        match self {
            Self::Plain(_) => &[],
            Self::Tagged(tagged) => &tagged.versions,
        }
    }
}

/// A command: a bare string (the old form: unmarked, `playbooks lint` rejects it), or a marked block.
#[derive(Debug, Deserialize, Serialize, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum CommandSource {
    Plain(String),
    Marked(MarkedCommand),
}

/// One command block (one line, or a FortiMail `config ... end` block) with what it does.
#[derive(Debug, Deserialize, Serialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MarkedCommand {
    /// The command text, one command per line, typed literally.
    pub run: String,
    /// Whether it only shows state or changes the configuration.
    pub mode: CommandMode,
    /// FortiMail releases whose CLI Reference was checked for this exact syntax.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// A warning printed next to the command (what it also does, what to check first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a command does to the system it runs on.
#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CommandMode {
    /// Shows state; safe to paste.
    ReadOnly,
    /// Changes configuration or data.
    Change,
}

impl CommandMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::Change => "change",
        }
    }
}

impl CommandSource {
    pub fn run(&self) -> &str {
        match self {
            Self::Plain(text) => text,
            Self::Marked(marked) => &marked.run,
        }
    }

    pub fn mode(&self) -> Option<CommandMode> {
        match self {
            Self::Plain(_) => None,
            Self::Marked(marked) => Some(marked.mode),
        }
    }

    pub fn versions(&self) -> &[String] {
        match self {
            Self::Plain(_) => &[],
            Self::Marked(marked) => &marked.versions,
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            Self::Plain(_) => None,
            Self::Marked(marked) => marked.note.as_deref(),
        }
    }
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
