//! DNS probes (`dns.mx`, `dns.a`, `dns.ptr`): what a sending MTA would learn about the target from DNS.
//!
//! Every lookup is bounded by the client's timeout and comes back as an [`Observation`]; a resolver
//! failure (NXDOMAIN, SERVFAIL, timeout) is data, never an early exit. By concern: the resolver
//! seam (`lookup`), the MX set (`mx`), host addresses (`address`), reverse names (`reverse`).
//!
//! [`Observation`]: mxdoctor_model::Observation

mod address;
#[cfg(test)]
mod fake;
mod lookup;
mod mx;
mod reverse;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::proto::rr::RecordType;

pub(crate) use lookup::resolver_builder;
pub use lookup::{DnsLookup, DnsSetupError, HickoryLookup, Lookup, LookupFailure};
pub use reverse::{reverse_name, reversed_labels};

/// Slack on top of the resolver's own timeout before we give up on it ourselves, so a resolver bug
/// or an unexpected retry can never make a probe hang.
const GUARD_SLACK: Duration = Duration::from_millis(250);
/// Most MX exchanges resolved and probed: a hostile or broken zone can publish over a thousand, and
/// each one costs two lookups and an SMTP host probe. The most preferred are kept (Postfix itself
/// tries at most 5 addresses per delivery by default: `smtp_mx_address_limit`).
pub const MAX_MX_EXCHANGES: usize = 10;
/// Most addresses kept per host name (A and AAAA together), lowest first.
pub const MAX_ADDRESSES_PER_HOST: usize = 8;
/// Most aliases followed when looking for a CNAME loop.
const MAX_CNAME_WALK: usize = 8;

/// The DNS probes over one resolver (`L`: hickory in a run, a fake in unit tests), with the
/// servers it asks (for reports) and the timeout of each query.
pub struct DnsClient<L = HickoryLookup> {
    lookup: L,
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl DnsClient<HickoryLookup> {
    /// `servers` empty → the system resolver configuration (real users); tests always pass servers.
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Result<Self, DnsSetupError> {
        Ok(Self::with_lookup(
            HickoryLookup::new(servers, timeout)?,
            servers,
            timeout,
        ))
    }
}

impl<L: DnsLookup> DnsClient<L> {
    /// The probes over `lookup`, reporting `servers` as the servers asked.
    pub fn with_lookup(lookup: L, servers: &[SocketAddr], timeout: Duration) -> Self {
        Self {
            lookup,
            servers: servers.to_vec(),
            timeout,
        }
    }

    /// The servers asked, for reports: `127.0.0.1:5353` or `system resolver`.
    pub fn servers_label(&self) -> String {
        if self.servers.is_empty() {
            "system resolver".to_owned()
        } else {
            self.servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The servers given with `--dns` (empty: the system resolver).
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// One query for `name` (made fully qualified), bounded by the client's timeout. An answer
    /// without a record of the asked type is NODATA.
    pub(crate) async fn query(&self, name: &str, record_type: RecordType) -> Lookup {
        let fqdn = fully_qualified(name);
        let started = Instant::now();
        let answer = tokio::time::timeout(
            self.timeout + GUARD_SLACK,
            self.lookup.lookup(&fqdn, record_type),
        )
        .await;
        let latency = started.elapsed();
        let result = match answer {
            Err(_elapsed) => Err(LookupFailure::Timeout),
            Ok(Err(failure)) => Err(failure),
            Ok(Ok(records)) => {
                if records
                    .iter()
                    .any(|record| record.record_type() == record_type)
                {
                    Ok(records)
                } else {
                    Err(LookupFailure::NoData)
                }
            }
        };
        Lookup { result, latency }
    }
}

/// `name` with exactly one trailing dot, so no search domain is ever appended.
pub(crate) fn fully_qualified(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}
