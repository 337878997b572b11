//! `tls.mta_sts`: the domain's MTA-STS deployment as a sending MTA discovers it (RFC 8461): the
//! `_mta-sts` TXT record, the policy fetched from `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
//! (certificate verified, no redirect followed, `text/plain`, size and time capped), its syntax,
//! and whether its `mx` patterns cover every MX of the domain.
//!
//! The policy host is resolved through the run's resolver (`--dns`), never the system's, and
//! always reached on port 443 as the RFC fixes it. A fetch that fails because this host cannot get
//! out (timeout, no route) is inconclusive, not the domain's fault.

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::proto::rr::{RData, RecordType};
use reqwest::StatusCode;

use super::mta_sts_client;
use super::mta_sts_policy::{self, Policy, is_sts_record, parse_policy, parse_txt};
use super::txt_records;
use crate::dns::{DnsClient, LookupFailure};
use mxdoctor_model::observation::{Data, MtaStsData, Observation, Outcome};

/// Largest policy body read; senders cap it too (RFC 8461 §3.3 suggests 64 KiB).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// The port of the policy host: fixed by RFC 8461 §3.3 (HTTPS on its default port).
pub const POLICY_PORT: u16 = 443;
/// Most addresses of the policy host tried.
const MAX_POLICY_ADDRESSES: usize = 4;

/// What the policy fetch needs besides DNS: trusted roots (the system store plus `--tls-ca`) and
/// the time the whole fetch may take.
#[derive(Debug, Clone)]
pub struct PolicyFetch {
    pub extra_roots_pem: Vec<Vec<u8>>,
    pub timeout: Duration,
    /// [`POLICY_PORT`], except in test labs that cannot bind it.
    pub port: u16,
}

/// Probes the MTA-STS record and policy of `domain`.
pub async fn probe(dns: &DnsClient, domain: &str, fetch: &PolicyFetch) -> Observation {
    let started = Instant::now();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let policy_host = format!("mta-sts.{domain}");
    let mut data = MtaStsData {
        domain: domain.clone(),
        policy_url: format!("https://{policy_host}/.well-known/mta-sts.txt"),
        ..MtaStsData::default()
    };
    let txt_name = format!("_mta-sts.{domain}");
    // The policy host's addresses are asked at once too: one round trip less before the fetch.
    let (txt, mx, addresses) = tokio::join!(
        txt_records(dns, &txt_name),
        dns.query(&domain, RecordType::MX),
        policy_host_addresses(dns, &policy_host)
    );
    if mx.result == Err(LookupFailure::NxDomain) {
        "no_such_domain".clone_into(&mut data.verdict);
        return finish(
            data,
            Outcome::Inconclusive,
            format!("{domain} does not exist (NXDOMAIN): there is no MTA-STS policy to judge"),
            started,
        );
    }
    let mx_hosts = match mx.result {
        Ok(records) => Ok(records
            .iter()
            .filter_map(|record| match &record.data {
                RData::MX(mx) => Some(mx.exchange.to_ascii().trim_end_matches('.').to_owned()),
                _ => None,
            })
            // A null MX (".") accepts no mail: there is nothing to cover.
            .filter(|exchange| !exchange.is_empty())
            .collect::<Vec<_>>()),
        Err(failure) if failure.is_negative_answer() => Ok(Vec::new()),
        Err(failure) => Err(failure),
    };
    let records = match txt {
        Ok(texts) => texts.into_iter().filter(|t| is_sts_record(t)).collect(),
        Err(failure) if failure.is_negative_answer() => Vec::new(),
        Err(failure) => {
            "lookup_error".clone_into(&mut data.verdict);
            let detail = format!(
                "TXT lookup for _mta-sts.{domain} failed: {}",
                failure.response_label()
            );
            return finish(data, failure.outcome(), detail, started);
        }
    };
    data.txt_records_found = records.len();
    match records.as_slice() {
        [] => without_txt(data, &policy_host, fetch, addresses, started).await,
        [record] => {
            data.txt_record = Some(record.clone());
            match parse_txt(record) {
                Err(problem) => {
                    "txt_syntax_error".clone_into(&mut data.verdict);
                    data.problems.push(problem.to_string());
                    let detail = format!(
                        "_mta-sts.{domain} \"{record}\" is invalid: {problem}; senders ignore MTA-STS for {domain}"
                    );
                    finish(data, Outcome::Fail, detail, started)
                }
                Ok(id) => {
                    data.id = Some(id);
                    with_txt(data, &policy_host, fetch, addresses, mx_hosts, started).await
                }
            }
        }
        many => {
            "multiple_txt".clone_into(&mut data.verdict);
            let detail = format!(
                "_mta-sts.{domain} has {} v=STSv1 records: senders treat the domain as having no policy (RFC 8461 §3.1)",
                many.len()
            );
            finish(data, Outcome::Fail, detail, started)
        }
    }
}

fn finish(data: MtaStsData, outcome: Outcome, detail: String, started: Instant) -> Observation {
    Observation::new(
        "tls.mta_sts",
        data.domain.clone(),
        outcome,
        started.elapsed(),
        detail,
        Data::MtaSts(data),
    )
}

/// No TXT record: MTA-STS is not deployed, unless a policy is served that senders never look for.
async fn without_txt(
    mut data: MtaStsData,
    policy_host: &str,
    fetch: &PolicyFetch,
    addresses: Result<Vec<IpAddr>, FetchFailure>,
    started: Instant,
) -> Observation {
    let domain = data.domain.clone();
    if let Ok(body) = fetch_policy(policy_host, fetch, addresses, &mut data).await {
        if let Ok(policy) = parse_policy(&body) {
            data.policy = Some(body);
            data.mode = Some(policy.mode.clone());
            data.max_age = Some(policy.max_age);
            data.mx_patterns = policy.mx;
            "policy_without_txt".clone_into(&mut data.verdict);
            let detail = format!(
                "{} serves a policy (mode {}) but _mta-sts.{domain} has no v=STSv1 record: senders never fetch it",
                data.policy_url, policy.mode
            );
            return finish(data, Outcome::Fail, detail, started);
        }
    }
    // Whatever the attempt found is no evidence of a policy: forget it.
    data.http_status = None;
    data.content_type = None;
    data.fetch_error = None;
    "missing".clone_into(&mut data.verdict);
    let detail = format!(
        "no MTA-STS record at _mta-sts.{domain}: senders use opportunistic TLS, which an attacker on the path can strip"
    );
    finish(data, Outcome::Ok, detail, started)
}

/// A valid TXT record: the policy must be fetchable, valid, and cover every MX.
async fn with_txt(
    mut data: MtaStsData,
    policy_host: &str,
    fetch: &PolicyFetch,
    addresses: Result<Vec<IpAddr>, FetchFailure>,
    mx_hosts: Result<Vec<String>, LookupFailure>,
    started: Instant,
) -> Observation {
    let body = match fetch_policy(policy_host, fetch, addresses, &mut data).await {
        Ok(body) => body,
        Err(failure) => {
            let (verdict, outcome) = failure.verdict();
            verdict.clone_into(&mut data.verdict);
            let detail = failure.detail(&data);
            data.fetch_error = Some(failure.to_string());
            return finish(data, outcome, detail, started);
        }
    };
    data.policy = Some(body.clone());
    let policy = match parse_policy(&body) {
        Ok(policy) => policy,
        Err(problem) => {
            "policy_syntax_error".clone_into(&mut data.verdict);
            data.problems.push(problem.to_string());
            let detail = format!(
                "the policy at {} is invalid: {problem}; senders cannot use it",
                data.policy_url
            );
            return finish(data, Outcome::Fail, detail, started);
        }
    };
    judge_policy(data, policy, mx_hosts, started)
}

fn judge_policy(
    mut data: MtaStsData,
    policy: Policy,
    mx_hosts: Result<Vec<String>, LookupFailure>,
    started: Instant,
) -> Observation {
    data.mode = Some(policy.mode.clone());
    data.max_age = Some(policy.max_age);
    data.mx_patterns.clone_from(&policy.mx);
    data.problems.extend(policy.problems);
    match mx_hosts {
        Ok(hosts) => {
            data.uncovered_mx = hosts
                .iter()
                .filter(|host| {
                    !policy
                        .mx
                        .iter()
                        .any(|pattern| mta_sts_policy::pattern_matches(pattern, host))
                })
                .cloned()
                .collect();
            data.mx_hosts = hosts;
        }
        Err(failure) => data.problems.push(format!(
            "the MX lookup failed ({}): which MX the policy covers was not judged",
            failure.response_label()
        )),
    }
    "valid".clone_into(&mut data.verdict);
    let mut detail = format!(
        "{} (id {}): mode {}, max_age {} s, mx {}",
        data.policy_url,
        data.id.clone().unwrap_or_default(),
        policy.mode,
        policy.max_age,
        if policy.mx.is_empty() {
            "none".to_owned()
        } else {
            policy.mx.join(", ")
        }
    );
    let mut outcome = Outcome::Ok;
    if !data.uncovered_mx.is_empty() {
        let _ = write!(
            detail,
            "; no mx pattern matches {}",
            data.uncovered_mx.join(", ")
        );
        if policy.mode == "enforce" {
            detail.push_str(": senders that apply the policy refuse to deliver there");
            outcome = Outcome::Fail;
        }
    }
    for problem in &data.problems {
        detail.push_str("; ");
        detail.push_str(problem);
    }
    finish(data, outcome, detail, started)
}

/// Why no policy body came back.
#[derive(Debug, thiserror::Error)]
enum FetchFailure {
    #[error("{host} has no address ({label})")]
    NoAddress { host: String, label: String },
    #[error("the address lookup of {host} failed ({label})")]
    AddressLookup { host: String, label: String },
    #[error("the certificate of {host} does not verify: {message}")]
    Certificate { host: String, message: String },
    #[error("could not reach {host} from here: {message}")]
    Vantage { host: String, message: String },
    #[error("{host} refused the connection or the TLS handshake: {message}")]
    Refused { host: String, message: String },
    #[error(
        "answered {status} with a redirect to {location} (senders follow no redirect, RFC 8461 §3.3)"
    )]
    Redirect { status: u16, location: String },
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("served the policy as {0:?}, not text/plain")]
    MediaType(String),
    #[error("the body is larger than {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    #[error("the body is not UTF-8 text")]
    NotText,
    #[error("the HTTPS client could not be set up: {0}")]
    Client(String),
}

impl FetchFailure {
    /// The verdict and outcome: what this host's own network or resolver caused is inconclusive.
    fn verdict(&self) -> (&'static str, Outcome) {
        match self {
            Self::Certificate { .. } => ("certificate_invalid", Outcome::Fail),
            Self::Vantage { .. } => ("unreachable", Outcome::Inconclusive),
            Self::AddressLookup { .. } => ("lookup_error", Outcome::Inconclusive),
            Self::Client(_) => ("unreachable", Outcome::Error),
            _ => ("policy_unavailable", Outcome::Fail),
        }
    }

    fn detail(&self, data: &MtaStsData) -> String {
        let domain = &data.domain;
        match self.verdict().0 {
            "certificate_invalid" => format!(
                "_mta-sts.{domain} announces a policy, but {self}: senders must not use the policy (RFC 8461 §3.3)"
            ),
            "policy_unavailable" => format!(
                "_mta-sts.{domain} announces a policy, but {} {self}",
                data.policy_url
            ),
            _ => format!(
                "_mta-sts.{domain} announces a policy, but fetching {} was inconclusive: {self}",
                data.policy_url
            ),
        }
    }
}

/// GETs the policy and returns its body, recording status and media type in `data`.
async fn fetch_policy(
    host: &str,
    fetch: &PolicyFetch,
    addresses: Result<Vec<IpAddr>, FetchFailure>,
    data: &mut MtaStsData,
) -> Result<String, FetchFailure> {
    let addresses = addresses?;
    let sockets: Vec<SocketAddr> = addresses
        .iter()
        .map(|&ip| SocketAddr::new(ip, fetch.port))
        .collect();
    mta_sts_client::pin(host, sockets);
    let client = mta_sts_client::client(&fetch.extra_roots_pem)
        .await
        .map_err(|error| FetchFailure::Client(error.to_string()))?;
    // The URL names the port only when a lab overrides it, so the Host header stays as senders send it.
    let url = if fetch.port == POLICY_PORT {
        format!("https://{host}/.well-known/mta-sts.txt")
    } else {
        format!("https://{host}:{}/.well-known/mta-sts.txt", fetch.port)
    };
    let mut response = client
        .get(&url)
        .timeout(fetch.timeout)
        .send()
        .await
        .map_err(|error| classify(host, &error))?;
    let status = response.status();
    data.http_status = Some(status.as_u16());
    data.content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("nowhere")
            .to_owned();
        return Err(FetchFailure::Redirect {
            status: status.as_u16(),
            location,
        });
    }
    if status != StatusCode::OK {
        return Err(FetchFailure::Status(status.as_u16()));
    }
    let media_type = data
        .content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media_type != "text/plain" {
        return Err(FetchFailure::MediaType(
            data.content_type.clone().unwrap_or_default(),
        ));
    }
    if response
        .content_length()
        .is_some_and(|length| length > MAX_POLICY_BYTES as u64)
    {
        return Err(FetchFailure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| classify(host, &error))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_POLICY_BYTES {
            return Err(FetchFailure::TooLarge);
        }
    }
    String::from_utf8(body).map_err(|_| FetchFailure::NotText)
}

/// The A and AAAA addresses of the policy host, through the run's resolver.
async fn policy_host_addresses(dns: &DnsClient, host: &str) -> Result<Vec<IpAddr>, FetchFailure> {
    let (a, aaaa) = tokio::join!(
        dns.query(host, RecordType::A),
        dns.query(host, RecordType::AAAA)
    );
    let mut addresses = Vec::new();
    let mut worst: Option<LookupFailure> = None;
    for lookup in [a, aaaa] {
        match lookup.result {
            Ok(records) => {
                addresses.extend(records.iter().filter_map(|record| match &record.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                    _ => None,
                }));
            }
            Err(failure) => {
                if worst.as_ref().is_none_or(LookupFailure::is_negative_answer) {
                    worst = Some(failure);
                }
            }
        }
    }
    addresses.truncate(MAX_POLICY_ADDRESSES);
    match worst {
        _ if !addresses.is_empty() => Ok(addresses),
        Some(failure) if !failure.is_negative_answer() => Err(FetchFailure::AddressLookup {
            host: host.to_owned(),
            label: failure.response_label(),
        }),
        failure => Err(FetchFailure::NoAddress {
            host: host.to_owned(),
            label: failure.map_or_else(|| "NODATA".to_owned(), |f| f.response_label()),
        }),
    }
}

/// Sorts a failed request into the target's fault (refused, bad certificate) or this host's
/// (timeout, no route).
fn classify(host: &str, error: &reqwest::Error) -> FetchFailure {
    let mut message = error.to_string();
    let mut io_kind = None;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        if let Some(io_error) = cause.downcast_ref::<io::Error>() {
            io_kind = io_kind.or(Some(io_error.kind()));
        }
        source = cause.source();
    }
    let host = host.to_owned();
    let lower = message.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("hostname mismatch") {
        return FetchFailure::Certificate { host, message };
    }
    if error.is_timeout()
        || matches!(
            io_kind,
            Some(
                io::ErrorKind::TimedOut
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::AddrNotAvailable
                    | io::ErrorKind::PermissionDenied
            )
        )
    {
        return FetchFailure::Vantage { host, message };
    }
    FetchFailure::Refused { host, message }
}
