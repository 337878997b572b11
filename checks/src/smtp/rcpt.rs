//! RCPT-level probes on one reused connection: open relay, unknown-user rejection, the valid recipient.

use std::time::Instant;

use crate::smtp::client::Session;
use crate::smtp::session::{Attempt, Problem, Reusable, Verdict, envelope};
use crate::smtp::{HostTarget, SmtpSettings};
use mxdoctor_model::observation::{Data, Observation, Outcome};

/// Which RCPT probe: decides the check name and what counts as healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RcptProbe {
    Relay,
    InvalidRecipient,
    ValidRecipient,
}

impl RcptProbe {
    pub fn check(self) -> &'static str {
        match self {
            Self::Relay => "relay",
            Self::InvalidRecipient => "recipient.invalid",
            Self::ValidRecipient => "recipient.valid",
        }
    }

    /// The probes the settings ask for, in the order they run.
    pub(crate) fn wanted(settings: &SmtpSettings) -> Vec<(Self, String)> {
        let mut wanted = Vec::new();
        if settings.probes.relay {
            wanted.push((Self::Relay, settings.relay_rcpt.clone()));
        }
        if settings.probes.recipient {
            wanted.push((Self::InvalidRecipient, settings.rcpt_invalid.clone()));
            if let Some(valid) = &settings.rcpt_valid {
                wanted.push((Self::ValidRecipient, valid.clone()));
            }
        }
        wanted
    }

    /// Outcome and the human reading of an answered attempt.
    fn judge(self, attempt: &Attempt) -> (Outcome, &'static str) {
        let at_rcpt = attempt.stage == "rcpt";
        match (self, attempt.verdict, at_rcpt) {
            (_, Verdict::Error, _) => (Outcome::Error, "the probe did not complete"),
            (_, Verdict::Deferred, _) => (Outcome::Inconclusive, "deferred (4xx)"),
            (Self::Relay, Verdict::Accepted, _) => (
                Outcome::Fail,
                "OPEN RELAY: mail for a foreign domain from an outside sender was accepted",
            ),
            (Self::Relay, Verdict::Rejected, true) => (Outcome::Ok, "relaying is denied"),
            (Self::InvalidRecipient, Verdict::Accepted, _) => (
                Outcome::Fail,
                "a non-existent recipient was accepted (no recipient verification: backscatter risk)",
            ),
            (Self::InvalidRecipient, Verdict::Rejected, true)
                if attempt.reply.as_ref().is_some_and(refuses_relaying) =>
            {
                (
                    Outcome::Inconclusive,
                    "refused as relaying: the server does not take mail for that domain or address literal, so recipient verification was never judged",
                )
            }
            (Self::InvalidRecipient, Verdict::Rejected, true) => {
                (Outcome::Ok, "unknown recipients are rejected")
            }
            (Self::Relay | Self::InvalidRecipient, Verdict::Rejected, false) => (
                Outcome::Inconclusive,
                "rejected before RCPT, so the recipient was never judged",
            ),
            (Self::ValidRecipient, Verdict::Accepted, _) => {
                (Outcome::Ok, "the valid recipient is accepted")
            }
            (Self::ValidRecipient, Verdict::Rejected, _) => {
                (Outcome::Fail, "mail for the valid recipient is rejected")
            }
        }
    }
}

/// Whether a RCPT refusal is about relaying rather than about the recipient: Postfix's "Relay
/// access denied", Exim's "relay not permitted", Sendmail's "Relaying denied", Exchange's
/// "Unable to relay" (5.7.54) all say the domain is not one the server takes mail for.
fn refuses_relaying(reply: &mxdoctor_model::Reply) -> bool {
    let text = reply.text.to_ascii_lowercase();
    text.contains("relay access denied")
        || text.contains("relay not permitted")
        || text.contains("relaying denied")
        || text.contains("relaying not allowed")
        || text.contains("unable to relay")
        || text.contains("we do not relay")
        || reply.enhanced.as_deref() == Some("5.7.54")
}

/// Runs the wanted RCPT probes on `first` (the session probe's connection), RSET after each, then QUIT.
///
/// `first` is the session probe's problem when it could not open the host: every probe is then Skipped.
pub(crate) async fn probe(
    target: &HostTarget,
    settings: &SmtpSettings,
    software: &str,
    first: Result<Session, Problem>,
) -> Vec<Observation> {
    let wanted = RcptProbe::wanted(settings);
    let session = match first {
        Ok(session) => session,
        Err(problem) => {
            let why = problem.describe();
            return wanted
                .into_iter()
                .map(|(kind, rcpt_to)| skipped(target, settings, software, kind, &rcpt_to, &why))
                .collect();
        }
    };
    let mut connection = Reusable::new(target, settings, Some(session));
    let mut observations = Vec::with_capacity(wanted.len());
    for (kind, rcpt_to) in wanted {
        let started = Instant::now();
        let attempt = match connection.get().await {
            Ok(session) => envelope(session, &settings.mail_from, &rcpt_to).await,
            Err(problem) => Attempt::from_problem(problem),
        };
        if attempt.lost_connection() {
            connection.lose();
        } else {
            connection.reset().await;
        }
        observations.push(observation(
            target,
            settings,
            software,
            kind,
            &rcpt_to,
            &attempt,
            started.elapsed(),
        ));
    }
    connection.quit().await;
    observations
}

fn observation(
    target: &HostTarget,
    settings: &SmtpSettings,
    software: &str,
    kind: RcptProbe,
    rcpt_to: &str,
    attempt: &Attempt,
    latency: std::time::Duration,
) -> Observation {
    let (judged, reading) = kind.judge(attempt);
    let outcome = attempt.error_outcome().unwrap_or(judged);
    let detail = format!(
        "MAIL FROM:<{}> RCPT TO:<{rcpt_to}>: {}; {reading}",
        settings.mail_from,
        attempt.describe()
    );
    let data = attempt.rcpt_data(target, software, &settings.mail_from, rcpt_to);
    Observation::new(
        kind.check(),
        target.subject(),
        outcome,
        latency,
        detail,
        Data::Rcpt(data),
    )
}

fn skipped(
    target: &HostTarget,
    settings: &SmtpSettings,
    software: &str,
    kind: RcptProbe,
    rcpt_to: &str,
    why: &str,
) -> Observation {
    let attempt = Attempt {
        verdict: Verdict::Error,
        stage: "connect",
        reply: None,
        error: None,
    };
    Observation::new(
        kind.check(),
        target.subject(),
        Outcome::Skipped,
        std::time::Duration::ZERO,
        format!("not run: the SMTP session failed ({why})"),
        Data::Rcpt(attempt.rcpt_data(target, software, &settings.mail_from, rcpt_to)),
    )
}
