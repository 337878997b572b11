//! HTTP egress probe (`http.egress`): can this host reach a URL the gateway depends on (signature
//! updates, URL reputation, a sandbox), following redirects one hop at a time so the report shows
//! where the path breaks.
//!
//! Proxies from the environment are ignored on purpose: the probe measures direct egress, the way
//! an MTA or appliance on this network connects. No body is ever read.

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode, Url, redirect};

use mxdoctor_model::observation::{Data, HttpData, HttpHop, Observation, Outcome};

/// Why a probe stopped before a final answer.
struct Stop {
    verdict: &'static str,
    outcome: Outcome,
    error: String,
}

impl Stop {
    fn new(verdict: &'static str, outcome: Outcome, error: impl Into<String>) -> Self {
        Self {
            verdict,
            outcome,
            error: error.into(),
        }
    }
}

/// `http.egress`: GET `url`, following at most `max_hops` redirects, all within `timeout`.
///
/// A final answer of any status is `reachable` (the path works even when the page is a 404).
pub async fn egress(url: &str, timeout: Duration, max_hops: usize) -> Observation {
    let started = Instant::now();
    let mut data = HttpData {
        url: url.to_owned(),
        ..HttpData::default()
    };
    let result = follow(url, timeout, max_hops, &mut data).await;
    let (verdict, outcome, detail) = match result {
        Ok(status) => {
            data.status = Some(status.as_u16());
            let redirects = data.hops.len().saturating_sub(1);
            let via = if redirects == 0 {
                String::new()
            } else {
                format!(" after {redirects} redirect(s)")
            };
            (
                "reachable",
                Outcome::Ok,
                format!("{url} answered {status}{via}"),
            )
        }
        Err(stop) => {
            data.status = data.hops.last().and_then(|hop| hop.status);
            let detail = stop.error.clone();
            data.error = Some(stop.error);
            (stop.verdict, stop.outcome, detail)
        }
    };
    data.verdict = String::from(verdict);
    Observation::new(
        "http.egress",
        url,
        outcome,
        started.elapsed(),
        detail,
        Data::Http(data),
    )
}

async fn follow(
    url: &str,
    timeout: Duration,
    max_hops: usize,
    data: &mut HttpData,
) -> Result<StatusCode, Stop> {
    let mut current = Url::parse(url).map_err(|error| {
        Stop::new(
            "error",
            Outcome::Error,
            format!("{url:?} is not a URL: {error}"),
        )
    })?;
    require_http(&current, "URL")?;
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("mxdoctor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| {
            Stop::new(
                "error",
                Outcome::Error,
                format!("cannot build HTTP client: {error}"),
            )
        })?;
    let deadline = Instant::now() + timeout;
    let mut visited: Vec<Url> = Vec::new();
    loop {
        if visited.contains(&current) {
            return Err(Stop::new(
                "redirect_loop",
                Outcome::Fail,
                format!("redirect loop: {current} was already visited"),
            ));
        }
        visited.push(current.clone());
        let remaining = deadline.saturating_duration_since(Instant::now());
        let hop_started = Instant::now();
        let answer = tokio::time::timeout(remaining, client.get(current.clone()).send()).await;
        let mut hop = HttpHop {
            url: current.to_string(),
            latency_ms: hop_started.elapsed().as_millis() as u64,
            ..HttpHop::default()
        };
        let response = match answer {
            Err(_elapsed) => {
                data.hops.push(hop);
                return Err(Stop::new(
                    "blocked",
                    Outcome::Timeout,
                    format!("no answer from {current} within {} ms", timeout.as_millis()),
                ));
            }
            Ok(Err(error)) => {
                data.hops.push(hop);
                return Err(classify(&current, &error, timeout));
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        hop.status = Some(status.as_u16());
        hop.location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        // Dropped unread: the probe never downloads a body.
        drop(response);
        let location = hop.location.clone();
        data.hops.push(hop);

        let Some(location) = location.filter(|_| status.is_redirection()) else {
            return Ok(status);
        };
        if visited.len() > max_hops {
            return Err(Stop::new(
                "error",
                Outcome::Inconclusive,
                format!("stopped after {max_hops} redirects, at {current}"),
            ));
        }
        let next = current.join(&location).map_err(|error| {
            Stop::new(
                "error",
                Outcome::Error,
                format!("{current} redirects to an invalid location {location:?}: {error}"),
            )
        })?;
        require_http(&next, "redirect target")?;
        current = next;
    }
}

fn require_http(url: &Url, what: &str) -> Result<(), Stop> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(Stop::new(
            "error",
            Outcome::Error,
            format!("{what} {url} uses the {other}: scheme, which an HTTP probe cannot follow"),
        )),
    }
}

/// Sorts a transport error into the verdicts a playbook can act on.
fn classify(url: &Url, error: &reqwest::Error, timeout: Duration) -> Stop {
    let chain = error_chain(error);
    if error.is_timeout() || chain_has_io_kind(error, std::io::ErrorKind::TimedOut) {
        return Stop::new(
            "blocked",
            Outcome::Timeout,
            format!(
                "no answer from {url} within {} ms ({chain})",
                timeout.as_millis()
            ),
        );
    }
    if chain_has_io_kind(error, std::io::ErrorKind::ConnectionRefused) {
        return Stop::new(
            "blocked",
            Outcome::Error,
            format!("connection to {url} refused ({chain})"),
        );
    }
    if is_tls_error(error) {
        return Stop::new(
            "tls_error",
            Outcome::Fail,
            format!("TLS with {url} failed: {chain}"),
        );
    }
    if error.is_dns() {
        return Stop::new(
            "error",
            Outcome::Error,
            format!("cannot resolve {}: {chain}", url.host_str().unwrap_or("")),
        );
    }
    if error.is_connect() {
        return Stop::new(
            "blocked",
            Outcome::Error,
            format!("cannot connect to {url}: {chain}"),
        );
    }
    Stop::new("error", Outcome::Error, format!("{url}: {chain}"))
}

/// The causes under reqwest's own "error sending request for url (...)", which only repeats the URL.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}

fn chain_has_io_kind(error: &reqwest::Error, kind: std::io::ErrorKind) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn is_tls_error(error: &reqwest::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.downcast_ref::<native_tls::Error>().is_some() {
            return true;
        }
        let text = cause.to_string().to_ascii_lowercase();
        if ["tls", "ssl", "certificate", "handshake"]
            .iter()
            .any(|word| text.contains(word))
        {
            return true;
        }
        source = cause.source();
    }
    false
}
