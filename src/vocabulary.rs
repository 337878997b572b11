//! The words every layer shares — severity, confidence, area, platform, status — and nothing else: this
//! module imports nothing of the crate, so anything may import it without making a cycle.

use serde::{Deserialize, Serialize};

/// How bad a problem is when it is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// How sure mxdoctor is that the problem is what it says.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Possible,
    #[default]
    Likely,
    Confirmed,
}

/// Which part of the mail path a problem is about (one JUnit suite per area).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Dns,
    Connectivity,
    Relay,
    Recipient,
    Greylisting,
    Reputation,
    Scanning,
    Tls,
    Milter,
    Queue,
}

/// Whose remediation to show first; JSON reports carry every platform's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Fortimail,
    Postfix,
    Exchange,
    #[default]
    Generic,
}

impl Platform {
    pub const ALL: [Self; 4] = [
        Self::Fortimail,
        Self::Postfix,
        Self::Exchange,
        Self::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fortimail => "fortimail",
            Self::Postfix => "postfix",
            Self::Exchange => "exchange",
            Self::Generic => "generic",
        }
    }
}

/// A run's overall verdict; its exit code follows the monitoring-plugins convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// The monitoring-plugins exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Warning => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Critical => "critical",
            Self::Unknown => "unknown",
        }
    }

    /// OK when nothing is above info, WARNING for low/medium, CRITICAL for high/critical.
    pub fn from_severities(severities: impl IntoIterator<Item = Severity>) -> Self {
        match severities.into_iter().max() {
            None | Some(Severity::Info) => Self::Ok,
            Some(Severity::Low | Severity::Medium) => Self::Warning,
            Some(Severity::High | Severity::Critical) => Self::Critical,
        }
    }
}

/// The FortiMail releases whose CLI Reference and Administration Guide the playbooks are checked
/// against (`versions:` tags may name only these).
pub const FORTIMAIL_RELEASES: &[&str] = &["6.4", "7.0", "7.2", "7.4", "7.6", "8.0"];
