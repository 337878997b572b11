//! Opening an SMTP session (connect, banner, EHLO) and the envelope steps every later probe repeats.
//!
//! Also builds the `smtp.session` observation from what the opening saw.

use std::net::SocketAddr;
use std::time::Duration;

use crate::smtp::client::{Session, SmtpError};
use crate::smtp::{HostTarget, SmtpSettings, software};
use mxdoctor_model::observation::{
    Data, Observation, Outcome, RcptData, SessionData, TranscriptLine,
};
use mxdoctor_model::reply::{Reply, ReplyClass};

/// What the opening of a connection saw, filled as far as it got.
#[derive(Debug, Default)]
pub(crate) struct Greeting {
    pub connected: bool,
    pub banner: Option<Reply>,
    pub greet_delay: Duration,
    pub ehlo: Option<Reply>,
    pub extensions: Vec<String>,
    pub software: &'static str,
    pub transcript: Vec<TranscriptLine>,
}

impl Greeting {
    pub fn starttls_offered(&self) -> bool {
        self.extensions.iter().any(|keyword| keyword == "STARTTLS")
    }
}

/// Why a connection could not be opened to the point of sending MAIL.
#[derive(Debug)]
pub(crate) enum Problem {
    /// The network or the protocol failed at `stage` (`connect`, `ehlo`).
    Broken {
        stage: &'static str,
        error: SmtpError,
    },
    /// The server answered, but with a refusal.
    Refused { stage: &'static str, reply: Reply },
}

impl Problem {
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Broken { error, .. } => error.outcome(),
            Self::Refused { .. } => Outcome::Fail,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Broken { error, .. } => error.to_string(),
            Self::Refused { stage, reply } => {
                format!("the server refused the session at {stage}: {reply}")
            }
        }
    }
}

/// Connects, reads the banner and says EHLO (HELO when EHLO is refused with 5xx).
pub(crate) async fn open(
    target: &HostTarget,
    settings: &SmtpSettings,
) -> (Greeting, Result<Session, Problem>) {
    let mut greeting = Greeting {
        software: "unknown",
        ..Greeting::default()
    };
    let address = SocketAddr::new(target.address, target.port);
    let mut session = match Session::connect(address, settings.timeout).await {
        Ok(session) => session,
        Err(error) => {
            let problem = Problem::Broken {
                stage: "connect",
                error,
            };
            return (greeting, Err(problem));
        }
    };
    greeting.connected = true;
    let result = greet(&mut session, settings, &mut greeting).await;
    greeting.software = software::guess(greeting.banner.as_ref(), greeting.ehlo.as_ref());
    greeting.transcript = session.transcript().to_vec();
    (greeting, result.map(|()| session))
}

async fn greet(
    session: &mut Session,
    settings: &SmtpSettings,
    greeting: &mut Greeting,
) -> Result<(), Problem> {
    let broken = |stage, error| Problem::Broken { stage, error };
    let banner = session
        .read_reply("the banner")
        .await
        .map_err(|error| broken("connect", error))?;
    greeting.greet_delay = session.elapsed();
    greeting.banner = Some(banner.clone());
    if !banner.is_success() {
        return Err(Problem::Refused {
            stage: "connect",
            reply: banner,
        });
    }
    let mut hello = session
        .command(&format!("EHLO {}", settings.helo))
        .await
        .map_err(|error| broken("ehlo", error))?;
    let extended = hello.is_success();
    if hello.is_permanent() {
        hello = session
            .command(&format!("HELO {}", settings.helo))
            .await
            .map_err(|error| broken("ehlo", error))?;
    }
    greeting.ehlo = Some(hello.clone());
    if !hello.is_success() {
        return Err(Problem::Refused {
            stage: "ehlo",
            reply: hello,
        });
    }
    if extended {
        greeting.extensions = software::extensions(&hello);
    }
    Ok(())
}

/// The `smtp.session` observation.
pub(crate) fn observation(
    target: &HostTarget,
    greeting: &Greeting,
    problem: Option<&Problem>,
    latency: Duration,
) -> Observation {
    let data = SessionData {
        host: target.host.clone(),
        port: target.port,
        address: target.address.to_string(),
        role: target.role.clone(),
        is_gateway: target.is_gateway,
        mx_preference: target.mx_preference,
        connected: greeting.connected,
        banner: greeting.banner.clone(),
        greet_delay_ms: greeting.greet_delay.as_millis() as u64,
        ehlo: greeting.ehlo.clone(),
        extensions: greeting.extensions.clone(),
        starttls_offered: greeting.starttls_offered(),
        software: greeting.software.to_string(),
        transcript: greeting.transcript.clone(),
    };
    let (outcome, detail) = match problem {
        None => (
            Outcome::Ok,
            format!(
                "banner after {} ms; {} software; STARTTLS {}",
                data.greet_delay_ms,
                data.software,
                if data.starttls_offered {
                    "offered"
                } else {
                    "not offered"
                }
            ),
        ),
        Some(Problem::Broken {
            stage: "connect",
            error: SmtpError::Timeout { timeout, .. },
        }) if greeting.connected => (
            Outcome::Timeout,
            format!("connected, but no banner within {}s", timeout.as_secs_f64()),
        ),
        Some(problem) => (problem.outcome(), problem.describe()),
    };
    Observation::new(
        "smtp.session",
        target.subject(),
        outcome,
        latency,
        detail,
        Data::Session(data),
    )
}

/// How a server answered an envelope: the value of `verdict` in RCPT-like observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accepted,
    Rejected,
    Deferred,
    Error,
}

impl Verdict {
    pub fn of(reply: &Reply) -> Self {
        match reply.class {
            ReplyClass::Success => Self::Accepted,
            ReplyClass::Transient => Self::Deferred,
            ReplyClass::Permanent => Self::Rejected,
            ReplyClass::Intermediate => Self::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Deferred => "deferred",
            Self::Error => "error",
        }
    }
}

/// The decisive answer of one envelope attempt (or of the step that failed before it).
#[derive(Debug)]
pub(crate) struct Attempt {
    pub verdict: Verdict,
    /// `connect`, `ehlo`, `mail`, `rcpt` (and `data` for test messages).
    pub stage: &'static str,
    pub reply: Option<Reply>,
    pub error: Option<SmtpError>,
}

impl Attempt {
    pub fn answered(stage: &'static str, reply: Reply) -> Self {
        Self {
            verdict: Verdict::of(&reply),
            stage,
            reply: Some(reply),
            error: None,
        }
    }

    pub fn broken(stage: &'static str, error: SmtpError) -> Self {
        Self {
            verdict: Verdict::Error,
            stage,
            reply: None,
            error: Some(error),
        }
    }

    pub fn from_problem(problem: Problem) -> Self {
        match problem {
            Problem::Broken { stage, error } => Self::broken(stage, error),
            Problem::Refused { stage, reply } => Self::answered(stage, reply),
        }
    }

    /// The connection is unusable after a network or protocol error.
    pub fn lost_connection(&self) -> bool {
        self.error.is_some()
    }

    /// `Timeout`/`Error` for a broken attempt, `None` when the server answered.
    pub fn error_outcome(&self) -> Option<Outcome> {
        self.error.as_ref().map(SmtpError::outcome)
    }

    /// One line: what was answered at which step, or what went wrong.
    pub fn describe(&self) -> String {
        match (&self.error, &self.reply) {
            (Some(error), _) => format!("{} at {}: {error}", self.verdict.as_str(), self.stage),
            (None, Some(reply)) => format!("{} at {}: {reply}", self.verdict.as_str(), self.stage),
            (None, None) => format!("{} at {}", self.verdict.as_str(), self.stage),
        }
    }

    /// Fills the RCPT observation payload for this attempt.
    pub fn rcpt_data(
        &self,
        target: &HostTarget,
        software: &str,
        mail_from: &str,
        rcpt_to: &str,
    ) -> RcptData {
        RcptData {
            host: target.host.clone(),
            role: target.role.clone(),
            is_gateway: target.is_gateway,
            mx_preference: target.mx_preference,
            software: software.to_string(),
            mail_from: mail_from.to_string(),
            rcpt_to: rcpt_to.to_string(),
            verdict: self.verdict.as_str().to_string(),
            stage: self.stage.to_string(),
            reply: self.reply.clone(),
        }
    }
}

/// Sends MAIL FROM and RCPT TO; stops at the first step that is not accepted.
pub(crate) async fn envelope(session: &mut Session, mail_from: &str, rcpt_to: &str) -> Attempt {
    let mail = match session.command(&format!("MAIL FROM:<{mail_from}>")).await {
        Ok(reply) => reply,
        Err(error) => return Attempt::broken("mail", error),
    };
    if !mail.is_success() {
        return Attempt::answered("mail", mail);
    }
    match session.command(&format!("RCPT TO:<{rcpt_to}>")).await {
        Ok(reply) => Attempt::answered("rcpt", reply),
        Err(error) => Attempt::broken("rcpt", error),
    }
}

/// A connection reused across probes of one host, reopened once per probe when it was lost.
pub(crate) struct Reusable<'a> {
    target: &'a HostTarget,
    settings: &'a SmtpSettings,
    session: Option<Session>,
}

impl<'a> Reusable<'a> {
    pub fn new(
        target: &'a HostTarget,
        settings: &'a SmtpSettings,
        session: Option<Session>,
    ) -> Self {
        Self {
            target,
            settings,
            session,
        }
    }

    /// The open session, reconnecting if the previous one was lost.
    pub async fn get(&mut self) -> Result<&mut Session, Problem> {
        if self.session.is_none() {
            let (_, opened) = open(self.target, self.settings).await;
            self.session = Some(opened?);
        }
        self.session.as_mut().ok_or(Problem::Broken {
            stage: "connect",
            error: SmtpError::Closed {
                step: "reconnect".to_string(),
            },
        })
    }

    /// Ends the current transaction with RSET; a failure means the connection is gone.
    pub async fn reset(&mut self) {
        if let Some(session) = self.session.as_mut() {
            if session.command("RSET").await.is_err() {
                self.session = None;
            }
        }
    }

    pub fn lose(&mut self) {
        self.session = None;
    }

    pub async fn quit(self) {
        if let Some(session) = self.session {
            session.quit().await;
        }
    }
}
