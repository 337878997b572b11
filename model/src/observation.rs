//! What a probe saw: the typed value every probe returns, success or failure alike.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::health_data::*;
use crate::reply::Reply;

/// How a probe ended. A failed probe is an observation, never an early exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The probe ran and the answer was healthy.
    Ok,
    /// The probe ran and the answer shows a problem.
    Fail,
    /// The peer did not answer within the probe's timeout.
    Timeout,
    /// The probe could not run to its end (refused connection, protocol garbage, ...).
    Error,
    /// The probe ran but its answer does not support a verdict.
    Inconclusive,
    /// The probe was not run (not asked for, or a step it depends on failed).
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fail => "fail",
            Self::Timeout => "timeout",
            Self::Error => "error",
            Self::Inconclusive => "inconclusive",
            Self::Skipped => "skipped",
        }
    }

    /// True when the probe reached its peer and got an answer (good or bad).
    pub fn answered(self) -> bool {
        matches!(self, Self::Ok | Self::Fail | Self::Inconclusive)
    }
}

/// One probe result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    /// The probe's name, e.g. `smtp.session`, `relay`, `dnsbl` (see [`crate::catalog`]).
    pub check: String,
    /// What was probed: a host, `host:port`, a DNS zone, a URL.
    pub subject: String,
    pub outcome: Outcome,
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// One human line saying what happened, used as evidence.
    pub detail: String,
    pub data: Data,
}

impl Observation {
    pub fn new(
        check: impl Into<String>,
        subject: impl Into<String>,
        outcome: Outcome,
        latency: Duration,
        detail: impl Into<String>,
        data: Data,
    ) -> Self {
        Self {
            check: check.into(),
            subject: subject.into(),
            outcome,
            latency,
            detail: detail.into(),
            data,
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

/// The typed payload of an observation, one variant per probe kind.
///
/// Serialised with a `kind` tag so a recorded report can be read back and re-evaluated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Data {
    None,
    Context(RunContext),
    Mx(MxData),
    MxHost(MxHostData),
    Dns(DnsData),
    Session(SessionData),
    Tls(TlsData),
    Rcpt(RcptData),
    Greylist(GreylistData),
    Listing(ListingData),
    Http(HttpData),
    TestMessage(TestMessageData),
    Queue(QueueData),
    Resolver(ResolverData),
    Spf(SpfData),
    SpfOutbound(SpfOutboundData),
    Dmarc(DmarcData),
    Fcrdns(FcrdnsData),
    Dkim(DkimData),
    Ipv6Mx(Ipv6MxData),
    Ipv6Smtp(Ipv6SmtpData),
    MtaSts(MtaStsData),
    TlsRpt(TlsRptData),
    Config(ConfigData),
}

/// What the user told mxdoctor about the run; playbooks read it as the `run.context` check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunContext {
    /// This host is a legitimate client of the gateway, so a relay denial is a problem.
    pub expect_relay: bool,
    pub send_test_message: bool,
    pub greylist_wait_secs: u64,
    /// `--gateway` hosts were given, so MX hosts can be judged as gateway or not.
    pub gateways_given: bool,
    pub backend_given: bool,
}

/// The MX set of a domain (`dns.mx`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MxData {
    pub domain: String,
    pub records: Vec<MxRecord>,
    /// RFC 7505 null MX: the domain says it accepts no mail.
    pub null_mx: bool,
    /// No MX record: mail falls back to the domain's A/AAAA record.
    pub implicit_mx: bool,
    /// Some exchange is an IP literal instead of a host name.
    pub ip_literal: bool,
    /// Some exchange is an alias (CNAME), which RFC 5321 forbids.
    pub cname_exchange: bool,
    pub count: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    pub exchange: String,
    pub addresses: Vec<String>,
}

/// One MX host as judged against `--gateway` (`mx.host`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MxHostData {
    pub exchange: String,
    pub preference: u16,
    pub addresses: Vec<String>,
    /// `None` when no `--gateway` was given.
    pub is_gateway: Option<bool>,
    /// Highest preference number: the host spammers pick to dodge the primary.
    pub lowest_priority: bool,
    pub mx_count: usize,
}

/// A plain DNS lookup (`dns.a`, `dns.ptr`, `dns.txt`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DnsData {
    pub name: String,
    pub record_type: String,
    pub answers: Vec<String>,
    /// NXDOMAIN / NODATA, SERVFAIL, ... as the resolver reported it.
    pub response: String,
    pub server: String,
}

/// Connection, banner and EHLO of one SMTP host (`smtp.session`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SessionData {
    pub host: String,
    pub port: u16,
    pub address: String,
    pub role: String,
    pub is_gateway: Option<bool>,
    pub mx_preference: Option<u16>,
    pub connected: bool,
    pub banner: Option<Reply>,
    pub greet_delay_ms: u64,
    pub ehlo: Option<Reply>,
    pub extensions: Vec<String>,
    pub starttls_offered: bool,
    /// MTA family guessed from banner and EHLO: postfix, exim, sendmail, exchange, fortimail, qmail, unknown.
    pub software: String,
    pub transcript: Vec<TranscriptLine>,
}

/// One line of an SMTP dialogue, with the time since connect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TranscriptLine {
    pub at_ms: u64,
    /// `C` for what we sent, `S` for what the server sent.
    pub dir: char,
    pub line: String,
}

/// The STARTTLS handshake and certificate (`tls`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TlsData {
    pub host: String,
    pub offered: bool,
    pub handshake: bool,
    pub verified: bool,
    /// Why verification failed, as the TLS library said it.
    pub verify_error: Option<String>,
    pub expired: bool,
    pub name_mismatch: bool,
    pub self_signed: bool,
    pub reply: Option<Reply>,
}

/// A RCPT-level probe: relay, recipient verification, a valid recipient (`relay`, `recipient.invalid`, `recipient.valid`, `recipient.backend`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RcptData {
    pub host: String,
    pub role: String,
    pub is_gateway: Option<bool>,
    pub mx_preference: Option<u16>,
    pub software: String,
    pub mail_from: String,
    pub rcpt_to: String,
    /// accepted | rejected | deferred | error — how the server answered RCPT (or MAIL, if that failed).
    pub verdict: String,
    /// Which step the decisive reply answered: connect, ehlo, mail, rcpt.
    pub stage: String,
    pub reply: Option<Reply>,
}

/// A greylisting probe: a deferred RCPT retried after a wait (`greylist`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GreylistData {
    pub host: String,
    pub first: Option<Reply>,
    pub retry: Option<Reply>,
    pub waited_secs: u64,
    /// `Some(true)` the retry was accepted; `Some(false)` still refused; `None` not retried.
    pub retry_passed: Option<bool>,
    /// The deferral text itself says greylisting.
    pub text_says_greylist: bool,
}

/// An RFC 5782 list lookup (`dnsbl`, `surbl`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ListingData {
    pub zone: String,
    pub queried: String,
    pub item: String,
    /// `listed` | `not_listed` | `list_error` | `timeout` | `error`
    pub verdict: String,
    pub answers: Vec<String>,
    pub reason: Option<String>,
}

/// An HTTP egress probe, redirects recorded hop by hop (`http.egress`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HttpData {
    pub url: String,
    /// `reachable` | `blocked` | `redirect_loop` | `tls_error` | `error`
    pub verdict: String,
    pub status: Option<u16>,
    pub hops: Vec<HttpHop>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HttpHop {
    pub url: String,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub location: Option<String>,
}

/// A test message sent with `--send-test-message` (`test_message`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TestMessageData {
    pub host: String,
    /// gtube | eicar
    pub sample: String,
    pub rcpt_to: String,
    /// accepted | rejected | deferred | error — the answer to the end of DATA (or earlier step).
    pub verdict: String,
    pub stage: String,
    pub reply: Option<Reply>,
}

/// Queue facts, as the `queue` command derives them (`queue.summary`, `queue.destination`, `queue.hold`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct QueueData {
    pub name: String,
    pub messages: u64,
    pub regular: u64,
    pub slow: u64,
    pub held: u64,
    pub visible: u64,
    pub past_dsn_warn: u64,
    pub past_lifetime: u64,
    pub near_lifetime: u64,
    pub dead_candidates: u64,
    pub oldest_age_secs: u64,
    pub top_reason: Option<String>,
    pub sample_ids: Vec<String>,
}

/// One fact an audited configuration states (`config.*` checks, from `mxdoctor audit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ConfigData {
    /// fortimail | postfix
    pub platform: String,
    /// Firmware release (FortiMail `X.Y`) when the configuration or the user named it.
    pub version: Option<String>,
    /// What the rule found, e.g. `no_catch_all_reject`, `relay_any_sender`, `enabled`.
    pub rule: String,
    /// The configuration object: `policy ip 3`, `smtpd_relay_restrictions`.
    pub object: String,
    /// The setting that decides it: `profile-antispam`, `mynetworks`.
    pub setting: String,
    /// Its value as written (empty when absent).
    pub value: String,
    /// Several values: DNSBL zones, resolver addresses, list entries.
    pub values: Vec<String>,
    /// A duration setting in seconds, when the rule is about one.
    pub seconds: Option<u64>,
    /// The line of the configuration file the fact comes from (0 when it is an absence).
    pub line: usize,
}
