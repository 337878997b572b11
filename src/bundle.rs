//! Support bundles (`check --record`, `mxdoctor replay`): everything a run observed, as versioned JSON,
//! with AUTH secrets and message bodies redacted, so another engineer can re-diagnose it offline.

use mxdoctor_checks::run::{RunConfig, Target};
use mxdoctor_model::observation::TranscriptLine;
use mxdoctor_model::{Data, Observation};
use serde::{Deserialize, Serialize};

use crate::report::Tool;

pub const BUNDLE_SCHEMA: &str = "mxdoctor/bundle/v1";
/// What replaces a redacted secret or body line.
pub const REDACTED: &str = "[redacted]";

/// Why a document is not a bundle this version can replay.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("not a valid {BUNDLE_SCHEMA} bundle: {0}")]
    Invalid(#[source] serde_json::Error),
    #[error("schema {0:?} is not {BUNDLE_SCHEMA:?}")]
    OtherSchema(String),
    #[error("no \"schema\" key: not an mxdoctor bundle ({BUNDLE_SCHEMA})")]
    NoSchema,
}

/// One recorded run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    pub schema: String,
    pub tool: Tool,
    /// Unix time the run started.
    pub started_unix: u64,
    pub duration_ms: u64,
    pub command_line: String,
    pub target: String,
    /// Where the probes ran from (host name, resolvers).
    pub vantage: String,
    pub config: RecordedConfig,
    /// Every observation, with transcripts, DNS answers and latencies.
    pub observations: Vec<Observation>,
}

/// The validated probe configuration of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordedConfig {
    pub target: String,
    pub gateways: Vec<String>,
    pub backend: Option<String>,
    pub dns_servers: Vec<String>,
    pub smtp_port: u16,
    pub helo: String,
    pub mail_from: String,
    pub rcpt_valid: Option<String>,
    pub rcpt_invalid: String,
    pub relay_rcpt: String,
    pub dnsbl_zones: Vec<String>,
    pub surbl_zones: Vec<String>,
    pub surbl_domain: String,
    pub http_egress: Vec<String>,
    pub timeout_secs: f64,
    pub greylist_wait_secs: u64,
    pub expect_relay: bool,
    pub send_test_message: bool,
}

impl RecordedConfig {
    pub fn of(config: &RunConfig) -> Self {
        let target_text = |target: &Target| match target {
            Target::Domain(domain) => domain.clone(),
            Target::Host {
                host,
                port: Some(port),
            } => format!("{host}:{port}"),
            Target::Host { host, port: None } => host.clone(),
        };
        Self {
            target: target_text(&config.target),
            gateways: config.gateways.clone(),
            backend: config.backend.as_ref().map(target_text),
            dns_servers: config.dns_servers.iter().map(ToString::to_string).collect(),
            smtp_port: config.smtp_port,
            helo: config.smtp.helo.clone(),
            mail_from: config.smtp.mail_from.clone(),
            rcpt_valid: config.smtp.rcpt_valid.clone(),
            rcpt_invalid: config.smtp.rcpt_invalid.clone(),
            relay_rcpt: config.smtp.relay_rcpt.clone(),
            dnsbl_zones: config.dnsbl_zones.clone(),
            surbl_zones: config.surbl_zones.clone(),
            surbl_domain: config.surbl_domain.clone(),
            http_egress: config.http_egress.clone(),
            timeout_secs: config.timeout.as_secs_f64(),
            greylist_wait_secs: config.context.greylist_wait_secs,
            expect_relay: config.context.expect_relay,
            send_test_message: config.context.send_test_message,
        }
    }
}

impl Bundle {
    /// A bundle of `observations`, redacted.
    pub fn new(
        config: &RunConfig,
        vantage: String,
        command_line: String,
        mut observations: Vec<Observation>,
    ) -> Self {
        redact_observations(&mut observations);
        let recorded = RecordedConfig::of(config);
        Self {
            schema: BUNDLE_SCHEMA.to_string(),
            tool: Tool::default(),
            started_unix: 0,
            duration_ms: 0,
            command_line,
            target: recorded.target.clone(),
            vantage,
            config: recorded,
            observations,
        }
    }

    /// Reads a bundle, refusing other documents and other major versions.
    pub fn from_json(text: &str) -> Result<Self, BundleError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(BundleError::NotJson)?;
        match value.get("schema").and_then(serde_json::Value::as_str) {
            Some(BUNDLE_SCHEMA) => serde_json::from_value(value).map_err(BundleError::Invalid),
            Some(other) => Err(BundleError::OtherSchema(other.to_string())),
            None => Err(BundleError::NoSchema),
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a bundle always serialises");
        text.push('\n');
        text
    }
}

/// Redacts every SMTP transcript in `observations`.
pub fn redact_observations(observations: &mut [Observation]) {
    for observation in observations {
        if let Data::Session(session) = &mut observation.data {
            redact_transcript(&mut session.transcript);
        }
    }
}

/// Replaces AUTH credentials (the initial response and every answer to a 334 challenge) and message
/// bodies (client lines after a 354 up to the lone `.`) with [`REDACTED`]. Commands and replies stay.
pub fn redact_transcript(transcript: &mut [TranscriptLine]) {
    let mut in_auth = false;
    let mut in_body = false;
    for line in transcript {
        if line.dir == 'S' {
            let code = line.line.get(..3).unwrap_or_default();
            in_auth = in_auth && code == "334";
            in_body = code == "354";
            continue;
        }
        if in_body {
            if line.line == "." {
                in_body = false;
            } else {
                line.line = REDACTED.to_string();
            }
        } else if in_auth {
            line.line = REDACTED.to_string();
        } else if let Some(rest) = auth_arguments(&line.line) {
            let mechanism = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            line.line = if rest.split_whitespace().nth(1).is_some() {
                format!("AUTH {mechanism} {REDACTED}")
            } else {
                format!("AUTH {mechanism}")
            };
            in_auth = true;
        }
    }
}

/// The text after `AUTH ` (any case), when the line is an AUTH command.
fn auth_arguments(line: &str) -> Option<&str> {
    let head = line.get(..5)?;
    head.eq_ignore_ascii_case("AUTH ").then(|| &line[5..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(dialogue: &[(char, &str)]) -> Vec<TranscriptLine> {
        dialogue
            .iter()
            .map(|(dir, line)| TranscriptLine {
                at_ms: 0,
                dir: *dir,
                line: (*line).to_string(),
            })
            .collect()
    }

    fn texts(transcript: &[TranscriptLine]) -> Vec<&str> {
        transcript.iter().map(|l| l.line.as_str()).collect()
    }

    #[test]
    fn auth_secrets_are_redacted_but_the_mechanism_stays() {
        let mut transcript = lines(&[
            ('C', "EHLO mxdoctor.invalid"),
            ('S', "250 AUTH PLAIN LOGIN"),
            ('C', "AUTH PLAIN xxx"),
            ('S', "235 2.7.0 ok"),
            ('C', "auth login"),
            ('S', "334 VXNlcm5hbWU6"),
            ('C', "dXNlcg=="),
            ('S', "334 UGFzc3dvcmQ6"),
            ('C', "c2VjcmV0"),
            ('S', "235 ok"),
            ('C', "MAIL FROM:<a@example.org>"),
        ]);
        redact_transcript(&mut transcript);
        let text = texts(&transcript);
        assert_eq!(text[2], "AUTH PLAIN [redacted]");
        assert_eq!(text[4], "AUTH login");
        assert_eq!((text[6], text[8]), (REDACTED, REDACTED));
        assert_eq!(text[10], "MAIL FROM:<a@example.org>", "later commands stay");
        assert!(!text.join("\n").contains("xxx") && !text.join("\n").contains("c2VjcmV0"));
    }

    #[test]
    fn message_bodies_are_redacted_up_to_the_final_dot() {
        let mut transcript = lines(&[
            ('C', "DATA"),
            ('S', "354 go ahead"),
            ('C', "Subject: private"),
            ('C', "body text"),
            ('C', "."),
            ('S', "250 queued"),
            ('C', "QUIT"),
        ]);
        redact_transcript(&mut transcript);
        assert_eq!(
            texts(&transcript),
            [
                "DATA",
                "354 go ahead",
                REDACTED,
                REDACTED,
                ".",
                "250 queued",
                "QUIT"
            ]
        );
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(
            Bundle::from_json(r#"{"schema":"mxdoctor/report/v1"}"#)
                .unwrap_err()
                .to_string()
                .contains("not")
        );
        assert!(Bundle::from_json("[]").is_err());
    }
}
