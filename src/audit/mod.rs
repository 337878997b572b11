//! `mxdoctor audit`: reads a configuration (FortiMail `show full-configuration` / backup, Postfix
//! `postconf -n`), states what it says as `config.*` observations, and lets the playbooks judge them.

pub mod error;
pub mod fortimail;
pub mod network;
pub mod postfix;
pub mod queue;
pub mod report;

use mxdoctor_model::{Data, Observation};

use crate::vocabulary::Platform;
use error::AuditError;

/// What an audited configuration says, ready for playbook evaluation.
#[derive(Debug, Clone)]
pub struct Audited {
    pub platform: Platform,
    /// The FortiMail release: `--fortimail-version`, else the backup header.
    pub version: Option<String>,
    /// Where the version came from, for the report's notes.
    pub version_source: Option<&'static str>,
    pub observations: Vec<Observation>,
}

/// Which parser a text needs: the `--platform` given, else its content.
fn platform_of(text: &str, requested: Platform) -> Result<Platform, AuditError> {
    match requested {
        Platform::Fortimail | Platform::Postfix => Ok(requested),
        Platform::Exchange => Err(AuditError::UnsupportedPlatform("exchange".into())),
        Platform::Generic => {
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or_default();
            if first.starts_with("config ") {
                Ok(Platform::Fortimail)
            } else if postfix::looks_like_postconf(text) {
                Ok(Platform::Postfix)
            } else if first.is_empty() {
                Err(AuditError::Unrecognised("the input is empty".into()))
            } else {
                Err(AuditError::Unrecognised(format!(
                    "the first line {:?} is neither `config ...` nor `name = value`",
                    first.chars().take(60).collect::<String>()
                )))
            }
        }
    }
}

/// Parses and audits `text`; `version` is `--fortimail-version` when given.
pub fn audit_text(
    text: &str,
    requested: Platform,
    version: Option<&str>,
) -> Result<Audited, AuditError> {
    match platform_of(text, requested)? {
        Platform::Fortimail => {
            let tree = fortimail::tree::parse(text)?;
            let header = fortimail::tree::header_release(&tree.header);
            let (version, version_source) = match (version, header) {
                (Some(flag), _) => (Some(flag.to_string()), Some("--fortimail-version")),
                (None, Some(header)) => (Some(header), Some("the configuration header")),
                (None, None) => (None, None),
            };
            Ok(Audited {
                platform: Platform::Fortimail,
                observations: fortimail::rules::audit(&tree, version.as_deref()),
                version,
                version_source,
            })
        }
        _ => Ok(Audited {
            platform: Platform::Postfix,
            version: None,
            version_source: None,
            observations: postfix::audit(&postfix::parse(text)?),
        }),
    }
}

/// The DNSBL and URI-list zones a configuration queries (for `check --from-config`).
pub fn list_zones(observations: &[Observation]) -> (Vec<String>, Vec<String>) {
    let mut dnsbl = Vec::new();
    let mut surbl = Vec::new();
    for observation in observations.iter().filter(|o| o.check == "config.dnsbl") {
        if let Data::Config(data) = &observation.data {
            match data.rule.as_str() {
                "dnsbl" => dnsbl.extend(data.values.iter().cloned()),
                "surbl" => surbl.extend(data.values.iter().cloned()),
                _ => {}
            }
        }
    }
    (dnsbl, surbl)
}
