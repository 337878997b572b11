//! GTUBE and EICAR test messages: the only place mail content is ever sent, and only with `--send-test-message`.
//!
//! [`DataPermit`] (defined with the client) can only be obtained from settings that ask for test
//! messages, and [`Session::send_message`](crate::smtp::client::Session::send_message) is the only way
//! to send DATA.

use std::time::Instant;

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::smtp::client::DataPermit;
use crate::smtp::session::{Attempt, Reusable, Verdict, envelope};
use crate::smtp::{HostTarget, SmtpSettings};
use mxdoctor_model::observation::{Data, Observation, Outcome, TestMessageData};

/// The spam filter test string (<https://spamassassin.apache.org/gtube/>).
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
/// The antivirus test string (<https://www.eicar.org/download-anti-malware-testfile/>), in two halves so
/// scanners do not flag this source file.
pub const EICAR: &str = concat!(
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
    "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
);

/// Why a test message could not be built (a bad address in the settings); the probe records it
/// as an Error observation and sends nothing.
#[derive(Debug, thiserror::Error)]
pub enum TestMessageError {
    #[error("cannot build the message: {address:?}: {source}")]
    Address {
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("cannot build the message: {0}")]
    Build(#[source] lettre::error::Error),
    #[error("{0}")]
    ContentType(#[source] lettre::message::header::ContentTypeErr),
}

/// Which test content a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// GTUBE in the body: a spam filter must reject or tag it.
    Gtube,
    /// EICAR as an attachment: an antivirus scanner must reject it.
    Eicar,
}

impl Sample {
    pub const ALL: [Self; 2] = [Self::Gtube, Self::Eicar];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gtube => "gtube",
            Self::Eicar => "eicar",
        }
    }

    /// The whole RFC 5322 message, built with lettre.
    pub fn message(self, from: &str, to: &str) -> Result<Vec<u8>, TestMessageError> {
        let parse = |address: &str| {
            address
                .parse::<Mailbox>()
                .map_err(|source| TestMessageError::Address {
                    address: address.to_string(),
                    source,
                })
        };
        let builder = Message::builder()
            .from(parse(from)?)
            .to(parse(to)?)
            .message_id(Some(format!(
                "<mxdoctor-{}-{:016x}@mxdoctor.invalid>",
                self.as_str(),
                rand::random::<u64>()
            )));
        let message = match self {
            Self::Gtube => builder
                .subject("mxdoctor spam filter test (GTUBE)")
                .singlepart(SinglePart::plain(format!(
                    "This message tests the spam filter; it should be rejected or quarantined.\n\n{GTUBE}\n"
                ))),
            Self::Eicar => builder.subject("mxdoctor antivirus test (EICAR)").multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(
                        "This message tests the antivirus scanner; it should be rejected.\n".to_string(),
                    ))
                    .singlepart(Attachment::new("eicar.com".to_string()).body(
                        EICAR.as_bytes().to_vec(),
                        ContentType::parse("application/octet-stream")
                            .map_err(TestMessageError::ContentType)?,
                    )),
            ),
        };
        message
            .map(|message| message.formatted())
            .map_err(TestMessageError::Build)
    }
}

/// Sends every sample to the valid recipient on one connection (RSET between), QUIT at the end.
pub(crate) async fn probe(
    target: &HostTarget,
    settings: &SmtpSettings,
    permit: &DataPermit,
) -> Vec<Observation> {
    let rcpt_to = settings.rcpt_valid.clone().unwrap_or_default();
    let mut connection = Reusable::new(target, settings, None);
    let mut observations = Vec::new();
    for sample in Sample::ALL {
        let started = Instant::now();
        let result = send(&mut connection, settings, permit, sample, &rcpt_to).await;
        let (outcome, detail, attempt) = match result {
            Ok(attempt) => {
                let (judged, reading) = judge(sample, &attempt);
                let outcome = attempt.error_outcome().unwrap_or(judged);
                (
                    outcome,
                    format!("{}: {}; {reading}", sample.as_str(), attempt.describe()),
                    Some(attempt),
                )
            }
            Err(why) => (Outcome::Error, why.to_string(), None),
        };
        let data = TestMessageData {
            host: target.host.clone(),
            sample: sample.as_str().to_string(),
            rcpt_to: rcpt_to.clone(),
            verdict: attempt
                .as_ref()
                .map_or("error", |attempt| attempt.verdict.as_str())
                .to_string(),
            stage: attempt
                .as_ref()
                .map_or("data", |attempt| attempt.stage)
                .to_string(),
            reply: attempt.and_then(|attempt| attempt.reply),
        };
        observations.push(Observation::new(
            "test_message",
            target.subject(),
            outcome,
            started.elapsed(),
            detail,
            Data::TestMessage(data),
        ));
    }
    connection.quit().await;
    observations
}

async fn send(
    connection: &mut Reusable<'_>,
    settings: &SmtpSettings,
    permit: &DataPermit,
    sample: Sample,
    rcpt_to: &str,
) -> Result<Attempt, TestMessageError> {
    let message = sample.message(&settings.mail_from, rcpt_to)?;
    let session = match connection.get().await {
        Ok(session) => session,
        Err(problem) => return Ok(Attempt::from_problem(problem)),
    };
    let mut attempt = envelope(session, &settings.mail_from, rcpt_to).await;
    if attempt.verdict == Verdict::Accepted {
        attempt = match session.send_message(permit, &message).await {
            Ok(reply) => Attempt::answered("data", reply),
            Err(error) => Attempt::broken("data", error),
        };
    }
    if attempt.lost_connection() {
        connection.lose();
    } else {
        connection.reset().await;
    }
    Ok(attempt)
}

fn judge(sample: Sample, attempt: &Attempt) -> (Outcome, &'static str) {
    match (attempt.stage, attempt.verdict) {
        ("data", Verdict::Rejected) => (Outcome::Ok, "the filter rejected the test content"),
        ("data", Verdict::Accepted) => match sample {
            Sample::Gtube => (
                Outcome::Fail,
                "GTUBE was accepted: the spam filter did not reject it (check the recipient's mailbox for a tag)",
            ),
            Sample::Eicar => (
                Outcome::Fail,
                "EICAR was accepted: the antivirus scanner did not reject it",
            ),
        },
        (_, Verdict::Deferred) => (Outcome::Inconclusive, "deferred (4xx)"),
        (_, Verdict::Error) => (Outcome::Error, "the message could not be sent"),
        _ => (
            Outcome::Inconclusive,
            "the envelope was refused before the content was seen",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_carry_their_test_strings() {
        let gtube = Sample::Gtube
            .message("probe@outside.test", "alice@example.test")
            .unwrap();
        assert!(String::from_utf8_lossy(&gtube).contains(GTUBE));
        let eicar = Sample::Eicar
            .message("probe@outside.test", "alice@example.test")
            .unwrap();
        let text = String::from_utf8_lossy(&eicar);
        assert!(text.contains("eicar.com"));
        assert!(text.contains(EICAR), "{text}");
    }
}
