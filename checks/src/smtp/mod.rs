//! The SMTP side of the probes: reply parsing, the client, and every per-host SMTP probe.
//!
//! [`probe_host`] is the entry point: it runs the session, TLS, relay, recipient, greylisting and
//! (only when asked) test-message probes against one host and returns one observation per probe.

pub mod client;
mod greet;
mod greylist;
mod rcpt;
mod session;
pub mod software;
pub mod test_message;
mod tls;

use std::net::IpAddr;
use std::time::{Duration, Instant};

pub use client::{DataPermit, Session, SmtpError};
pub use greet::{Greeted, banner_and_ehlo};
pub use greylist::text_says_greylist;
pub use test_message::Sample;
pub use tls::TlsTrust;

use crate::progress::Progress;
use mxdoctor_model::observation::Observation;

/// One SMTP host to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    /// MX exchange name or the host the user gave; the TLS certificate is checked against it.
    pub host: String,
    /// Where to connect.
    pub address: IpAddr,
    pub port: u16,
    /// `mx` | `backend` | `host`
    pub role: String,
    pub is_gateway: Option<bool>,
    pub mx_preference: Option<u16>,
}

impl HostTarget {
    /// `host:port`, the subject of every observation about this host.
    pub fn subject(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What the SMTP probes say and how long they wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub helo: String,
    /// Outside sender used for probes.
    pub mail_from: String,
    /// A non-existent user at the target domain.
    pub rcpt_invalid: String,
    pub rcpt_valid: Option<String>,
    /// An address in a foreign domain.
    pub relay_rcpt: String,
    /// How long to wait before retrying a deferred RCPT; zero means judge by the text only.
    pub greylist_wait: Duration,
    /// Per network step: connect, each reply, the TLS handshake.
    pub timeout: Duration,
    /// Only then may DATA ever be sent.
    pub send_test_message: bool,
    pub probes: SmtpProbes,
}

/// Which optional probes run; the session probe always runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpProbes {
    pub tls: bool,
    pub relay: bool,
    pub recipient: bool,
    pub greylist: bool,
    pub test_message: bool,
}

impl SmtpProbes {
    pub const ALL: Self = Self {
        tls: true,
        relay: true,
        recipient: true,
        greylist: true,
        test_message: true,
    };
}

/// Probes one host, trusting the system's certificate authorities. Never fails: see [`probe_host_with_trust`].
pub async fn probe_host(
    target: &HostTarget,
    settings: &SmtpSettings,
    progress: &dyn Progress,
) -> Vec<Observation> {
    probe_host_with_trust(target, settings, &TlsTrust::system(), progress).await
}

/// Probes one host; every probe that could not run is still an observation (Error, Timeout, Skipped).
///
/// At most two connections to the host are open at once: the session connection, reused for the
/// relay and recipient probes, and the TLS probe's own connection.
pub async fn probe_host_with_trust(
    target: &HostTarget,
    settings: &SmtpSettings,
    trust: &TlsTrust,
    progress: &dyn Progress,
) -> Vec<Observation> {
    probe_host_streaming(target, settings, trust, progress, &|_| {}).await
}

/// The checks [`probe_host_streaming`] reports for a host the session probe could open.
pub fn planned_checks(settings: &SmtpSettings) -> Vec<&'static str> {
    let mut checks = vec!["smtp.session"];
    if settings.probes.tls {
        checks.push("tls");
    }
    checks.extend(
        rcpt::RcptProbe::wanted(settings)
            .into_iter()
            .map(|(kind, _)| kind.check()),
    );
    if settings.probes.greylist {
        checks.push("greylist");
    }
    if settings.probes.test_message && DataPermit::from_settings(settings).is_some() {
        checks.push("test_message");
    }
    checks
}

/// [`probe_host_with_trust`], also handing each observation to `report` as soon as it is made, so
/// a caller that stops waiting (a run deadline) keeps what was already seen.
pub async fn probe_host_streaming(
    target: &HostTarget,
    settings: &SmtpSettings,
    trust: &TlsTrust,
    progress: &dyn Progress,
    report: &(dyn Fn(&Observation) + Sync),
) -> Vec<Observation> {
    let subject = target.subject();
    progress.started(&format!("{subject}: SMTP"));
    let started = Instant::now();
    let (greeting, opened) = session::open(target, settings).await;
    let problem = opened.as_ref().err();
    let mut observations = vec![session::observation(
        target,
        &greeting,
        problem,
        started.elapsed(),
    )];
    report(&observations[0]);
    let why_not = problem.map(session::Problem::describe);
    let session_result = match &why_not {
        None => Ok(&greeting),
        Some(why) => Err(why.as_str()),
    };

    let tls_probe = async {
        if settings.probes.tls {
            Some(tls::probe(target, settings, session_result, trust).await)
        } else {
            None
        }
    };
    let rcpt_probes = rcpt::probe(target, settings, greeting.software, opened);
    let (tls_observation, rcpt_observations) = tokio::join!(tls_probe, rcpt_probes);
    let already = observations.len();
    observations.extend(tls_observation);
    observations.extend(rcpt_observations);
    observations[already..].iter().for_each(report);

    if settings.probes.greylist {
        let greylist = match &why_not {
            None => greylist::probe(target, settings, &observations, progress).await,
            Some(why) => {
                greylist::skipped(target, &format!("not run: the SMTP session failed ({why})"))
            }
        };
        report(&greylist);
        observations.push(greylist);
    }
    if settings.probes.test_message && why_not.is_none() {
        if let Some(permit) = DataPermit::from_settings(settings) {
            let sent = test_message::probe(target, settings, &permit).await;
            sent.iter().for_each(report);
            observations.extend(sent);
        }
    }
    progress.finished(&format!("{subject}: SMTP"));
    observations
}
