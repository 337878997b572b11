//! The one `Report` value every output format renders, and the exit status it implies.

pub mod baseline;
pub mod facts;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod nagios;
pub mod output;
pub mod prometheus;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::playbook::Playbook;
use crate::queue::overview::QueueOverview;
use mxdoctor_model::Observation;

use crate::vocabulary::Status;

pub const SCHEMA: &str = "mxdoctor/report/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub command: String,
    pub target: String,
    pub status: Status,
    pub duration_ms: u64,
    /// Unix time the run started.
    #[serde(default)]
    pub started_unix: u64,
    /// Where the probes ran from (host name, resolvers), for live checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<String>,
    /// Things the user should know that are not findings (malformed input lines, skipped probes...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub findings: Vec<Finding>,
    pub observations: Vec<Observation>,
    /// The queue command's shape of the queue: histograms, top destinations and reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueOverview>,
    /// The command line that produced the report (the Markdown report quotes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// Every playbook the run evaluated, so JUnit can list the passing ones too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluated: Vec<EvaluatedPlaybook>,
    /// Findings of the `--baseline` report that this run no longer shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<baseline::ResolvedFinding>,
}

/// A playbook a run evaluated, whether it fired or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluatedPlaybook {
    pub id: String,
    pub title: String,
    /// The part of the mail path it is about (`Area` in snake case): one JUnit suite per area.
    pub area: String,
}

impl EvaluatedPlaybook {
    pub fn of(playbook: &Playbook) -> Self {
        let area = serde_json::to_value(playbook.area)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        Self {
            id: playbook.id.clone(),
            title: playbook.title.clone(),
            area,
        }
    }
}

impl Report {
    pub fn new(
        command: &str,
        target: impl Into<String>,
        findings: Vec<Finding>,
        observations: Vec<Observation>,
    ) -> Self {
        let status = crate::nesting::status_of(&findings);
        Self {
            schema: SCHEMA.to_string(),
            tool: Tool::default(),
            command: command.to_string(),
            target: target.into(),
            status,
            duration_ms: 0,
            started_unix: 0,
            vantage: None,
            notes: Vec::new(),
            findings,
            observations,
            queue: None,
            command_line: None,
            evaluated: Vec::new(),
            resolved: Vec::new(),
        }
    }
}

/// Output formats for stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    /// JUnit XML: one testsuite per area, one testcase per evaluated playbook.
    Junit,
    /// A monitoring-plugins status line with latency perfdata.
    Nagios,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
    /// A ticket-ready Markdown summary.
    Markdown,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
            Self::Junit => "junit",
            Self::Nagios => "nagios",
            Self::Prometheus => "prometheus",
            Self::Markdown => "markdown",
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format, options: &text::TextOptions) -> String {
    match format {
        Format::Text => text::render(report, options),
        Format::Json => json::render(report),
        Format::Junit => junit::render(report),
        Format::Nagios => nagios::render(report),
        Format::Prometheus => prometheus::render(report),
        Format::Markdown => markdown::render(report),
    }
}
