//! DNS probes (`dns.mx`, `dns.a`, `dns.ptr`): what a sending MTA would learn about the target from DNS.
//!
//! Every lookup is bounded by the client's timeout and comes back as an [`Observation`]; a resolver
//! failure (NXDOMAIN, SERVFAIL, timeout) is data, never an early exit.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, Record, RecordType};

use mxdoctor_model::observation::{Data, DnsData, MxData, MxRecord, Observation, Outcome};

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

/// A resolver with fixed servers and timeout; each client has its own cache, so tests never share answers.
pub struct DnsClient {
    resolver: TokioResolver,
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

/// How one DNS query ended when it produced no records of the asked type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LookupFailure {
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no record of the asked type.
    NoData,
    /// The server answered with an error code (SERVFAIL, REFUSED, ...).
    Code(ResponseCode),
    Timeout,
    /// Anything else: transport error, malformed name, ...
    Other(String),
}

impl LookupFailure {
    /// The label recorded as [`DnsData::response`].
    pub(crate) fn response_label(&self) -> String {
        match self {
            Self::NxDomain => "NXDOMAIN".to_owned(),
            Self::NoData => "NODATA".to_owned(),
            Self::Code(code) => format!("{code:?}").to_uppercase(),
            Self::Timeout => "timeout".to_owned(),
            Self::Other(message) => format!("error: {message}"),
        }
    }

    /// Name-level negative answers: the DNS worked and said "nothing here".
    pub(crate) fn is_negative_answer(&self) -> bool {
        matches!(self, Self::NxDomain | Self::NoData)
    }

    fn outcome(&self) -> Outcome {
        match self {
            Self::NxDomain | Self::NoData => Outcome::Fail,
            Self::Timeout => Outcome::Timeout,
            Self::Code(_) | Self::Other(_) => Outcome::Error,
        }
    }
}

/// The answer to one query and how long it took.
pub(crate) struct Lookup {
    pub(crate) result: Result<Vec<Record>, LookupFailure>,
    pub(crate) latency: Duration,
}

impl DnsClient {
    /// `servers` empty → the system resolver configuration (real users); tests always pass servers.
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Result<Self, String> {
        let mut builder = if servers.is_empty() {
            TokioResolver::builder_tokio().map_err(|error| {
                format!("cannot read the system resolver configuration: {error}")
            })?
        } else {
            let name_servers = servers
                .iter()
                .map(|server| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = server.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = server.port();
                    NameServerConfig::new(server.ip(), true, vec![udp, tcp])
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(name_servers),
                TokioRuntimeProvider::default(),
            )
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.timeout = timeout;
        options.attempts = 1;
        options.num_concurrent_reqs = 1;
        // DNSBL checks fire many lookups at once at one server.
        options.max_active_requests = 512;
        options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
        options.preserve_intermediates = true;
        if !servers.is_empty() {
            options.use_hosts_file = ResolveHosts::Never;
        }
        let resolver = builder
            .build()
            .map_err(|error| format!("cannot build the DNS resolver: {error}"))?;
        Ok(Self {
            resolver,
            servers: servers.to_vec(),
            timeout,
        })
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

    /// One query for `name` (made fully qualified), bounded by the client's timeout.
    pub(crate) async fn query(&self, name: &str, record_type: RecordType) -> Lookup {
        let fqdn = fully_qualified(name);
        let started = Instant::now();
        let answer = tokio::time::timeout(
            self.timeout + GUARD_SLACK,
            self.resolver.lookup(fqdn.as_str(), record_type),
        )
        .await;
        let latency = started.elapsed();
        let result = match answer {
            Err(_elapsed) => Err(LookupFailure::Timeout),
            Ok(Err(error)) => Err(classify(&error)),
            Ok(Ok(lookup)) => {
                let records = lookup.answers().to_vec();
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

    /// `dns.mx`: the MX set of `domain` with every exchange resolved to its A/AAAA addresses.
    ///
    /// Null MX, implicit MX (no MX, mail goes to the domain's own address), CNAME and IP-literal
    /// exchanges are flagged in [`MxData`]. The observation's latency is the MX query's own.
    pub async fn mx(&self, domain: &str) -> (Observation, Vec<MxRecord>) {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let lookup = self.query(&domain, RecordType::MX).await;
        let mut data = MxData {
            domain: domain.clone(),
            ..MxData::default()
        };
        let answered_mx = match lookup.result {
            Ok(records) => records,
            Err(LookupFailure::NoData) => {
                return self.implicit_mx(&domain, data, lookup.latency).await;
            }
            Err(failure) => {
                let detail = match &failure {
                    LookupFailure::NxDomain => {
                        format!("{domain} does not exist (NXDOMAIN): nobody can mail it")
                    }
                    LookupFailure::Timeout => format!(
                        "MX lookup for {domain} timed out after {} ms at {}",
                        self.timeout.as_millis(),
                        self.servers_label()
                    ),
                    other => format!(
                        "MX lookup for {domain} failed at {}: {}",
                        self.servers_label(),
                        other.response_label()
                    ),
                };
                let observation = Observation::new(
                    "dns.mx",
                    &domain,
                    failure.outcome(),
                    lookup.latency,
                    detail,
                    Data::Mx(data),
                );
                return (observation, Vec::new());
            }
        };

        let mut exchanges: Vec<(u16, String)> = answered_mx
            .iter()
            .filter_map(|record| match &record.data {
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect();
        exchanges.sort();
        exchanges.dedup();
        let published = exchanges.len();
        exchanges.truncate(MAX_MX_EXCHANGES);

        if exchanges.len() == 1 && exchanges[0].1 == "." {
            data.null_mx = true;
            data.count = 1;
            data.records = vec![MxRecord {
                preference: exchanges[0].0,
                exchange: ".".to_owned(),
                addresses: Vec::new(),
            }];
            let observation = Observation::new(
                "dns.mx",
                &domain,
                Outcome::Fail,
                lookup.latency,
                format!("{domain} publishes a null MX (RFC 7505): it accepts no mail"),
                Data::Mx(data.clone()),
            );
            return (observation, data.records);
        }

        let resolved = join_all(
            exchanges
                .iter()
                .map(|(preference, exchange)| self.resolve_exchange(*preference, exchange)),
        )
        .await;
        let mut notes = Vec::new();
        if published > exchanges.len() {
            notes.push(format!(
                "{published} MX records published: only the {} most preferred are resolved and probed",
                exchanges.len()
            ));
        }
        let mut records = Vec::with_capacity(resolved.len());
        for exchange in resolved {
            if exchange.ip_literal {
                data.ip_literal = true;
                notes.push(format!(
                    "exchange {} is an IP literal, not a host name",
                    exchange.record.exchange
                ));
            }
            if let Some(target) = &exchange.cname_target {
                data.cname_exchange = true;
                notes.push(format!(
                    "exchange {} is an alias (CNAME to {target}), which RFC 5321 forbids",
                    exchange.record.exchange
                ));
            }
            if let Some(failure) = &exchange.failure {
                notes.push(format!(
                    "exchange {} has no address ({failure})",
                    exchange.record.exchange
                ));
            }
            records.push(exchange.record);
        }
        data.count = published;
        data.records.clone_from(&records);

        let resolvable = records.iter().filter(|r| !r.addresses.is_empty()).count();
        let listing = records
            .iter()
            .map(|r| format!("{} {}", r.preference, r.exchange))
            .collect::<Vec<_>>()
            .join(", ");
        let (outcome, mut detail) = if resolvable == 0 {
            (
                Outcome::Fail,
                format!("{domain} MX {listing}: no exchange resolves to an address"),
            )
        } else {
            (Outcome::Ok, format!("{domain} MX {listing}"))
        };
        for note in notes {
            let _ = write!(detail, "; {note}");
        }
        let observation = Observation::new(
            "dns.mx",
            &domain,
            outcome,
            lookup.latency,
            detail,
            Data::Mx(data),
        );
        (observation, records)
    }

    /// No MX record: RFC 5321 §5.1 says mail goes to the domain's own A/AAAA.
    async fn implicit_mx(
        &self,
        domain: &str,
        mut data: MxData,
        mx_latency: Duration,
    ) -> (Observation, Vec<MxRecord>) {
        let resolution = self.resolve_both(domain).await;
        data.implicit_mx = true;
        if resolution.addresses.is_empty() {
            let (outcome, detail) = match self.cname_loop(domain).await {
                // The zone answered; its answer is the problem (like NXDOMAIN).
                Some(chain) => (
                    Outcome::Fail,
                    format!("{domain} is a CNAME loop ({chain}): it cannot receive mail"),
                ),
                None => (
                    Outcome::Fail,
                    format!(
                        "{domain} has no MX and no A/AAAA ({}): it cannot receive mail",
                        resolution.failure_label()
                    ),
                ),
            };
            let observation = Observation::new(
                "dns.mx",
                domain,
                outcome,
                mx_latency,
                detail,
                Data::Mx(data),
            );
            return (observation, Vec::new());
        }
        let record = MxRecord {
            preference: 0,
            exchange: domain.to_owned(),
            addresses: resolution.address_strings(),
        };
        data.count = 1;
        data.records = vec![record.clone()];
        let observation = Observation::new(
            "dns.mx",
            domain,
            Outcome::Ok,
            mx_latency,
            format!(
                "{domain} has no MX: mail falls back to its own address {} (implicit MX)",
                record.addresses.join(", ")
            ),
            Data::Mx(data),
        );
        (observation, vec![record])
    }

    /// Follows `name`'s aliases one CNAME query at a time; `Some("a → b → a")` when they loop.
    ///
    /// Only asked when a name turned out to have no data (the resolver does not say why), and
    /// bounded as a whole by one timeout.
    async fn cname_loop(&self, name: &str) -> Option<String> {
        let walk = async {
            let mut chain = vec![name.trim_end_matches('.').to_ascii_lowercase()];
            for _ in 0..MAX_CNAME_WALK {
                let current = chain.last()?.clone();
                let records = self.query(&current, RecordType::CNAME).await.result.ok()?;
                let target = records.iter().find_map(|record| match &record.data {
                    RData::CNAME(target) => Some(
                        target
                            .0
                            .to_ascii()
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    ),
                    _ => None,
                })?;
                let looped = chain.contains(&target);
                chain.push(target);
                if looped {
                    return Some(chain.join(" → "));
                }
            }
            None
        };
        tokio::time::timeout(self.timeout, walk)
            .await
            .ok()
            .flatten()
    }

    async fn resolve_exchange(&self, preference: u16, exchange: &str) -> ResolvedExchange {
        let host = exchange.trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return ResolvedExchange {
                record: MxRecord {
                    preference,
                    exchange: host.to_owned(),
                    addresses: vec![ip.to_string()],
                },
                ip_literal: true,
                cname_target: None,
                failure: None,
            };
        }
        let resolution = self.resolve_both(host).await;
        let failure = resolution
            .addresses
            .is_empty()
            .then(|| resolution.failure_label());
        ResolvedExchange {
            record: MxRecord {
                preference,
                exchange: host.to_owned(),
                addresses: resolution.address_strings(),
            },
            ip_literal: false,
            cname_target: resolution.cname_target,
            failure,
        }
    }

    /// A and AAAA of `host`, asked at the same time.
    async fn resolve_both(&self, host: &str) -> Resolution {
        let (v4, v6) = tokio::join!(
            self.query(host, RecordType::A),
            self.query(host, RecordType::AAAA)
        );
        let mut resolution = Resolution {
            latency: v4.latency.max(v6.latency),
            ..Resolution::default()
        };
        let owner = fully_qualified(host);
        for lookup in [v4, v6] {
            match lookup.result {
                Ok(records) => {
                    for record in records {
                        match &record.data {
                            RData::A(a) => resolution.addresses.push(IpAddr::V4(a.0)),
                            RData::AAAA(aaaa) => resolution.addresses.push(IpAddr::V6(aaaa.0)),
                            RData::CNAME(target)
                                if record.name.to_ascii().eq_ignore_ascii_case(&owner) =>
                            {
                                resolution.cname_target =
                                    Some(target.0.to_ascii().trim_end_matches('.').to_owned());
                            }
                            _ => {}
                        }
                    }
                }
                Err(failure) => resolution.failures.push(failure),
            }
        }
        resolution.addresses.sort();
        resolution.addresses.dedup();
        resolution.addresses.truncate(MAX_ADDRESSES_PER_HOST);
        resolution
    }

    /// `dns.a`: the A and AAAA addresses of `host`.
    pub async fn addresses(&self, host: &str) -> (Observation, Vec<IpAddr>) {
        let host = host.trim_end_matches('.');
        let data = |answers: Vec<String>, response: String| {
            Data::Dns(DnsData {
                name: host.to_owned(),
                record_type: "A/AAAA".to_owned(),
                answers,
                response,
                server: self.servers_label(),
            })
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            let observation = Observation::new(
                "dns.a",
                host,
                Outcome::Ok,
                Duration::ZERO,
                format!("{host} is an address already"),
                data(vec![ip.to_string()], "IP literal".to_owned()),
            );
            return (observation, vec![ip]);
        }
        let resolution = self.resolve_both(host).await;
        let answers = resolution.address_strings();
        let (outcome, response, detail) = if answers.is_empty() {
            let response = resolution.failure_label();
            let detail = format!("{host} has no address ({response})");
            (resolution.failure_outcome(), response, detail)
        } else {
            let detail = format!("{host} has address {}", answers.join(", "));
            (Outcome::Ok, "NOERROR".to_owned(), detail)
        };
        let observation = Observation::new(
            "dns.a",
            host,
            outcome,
            resolution.latency,
            detail,
            data(answers, response),
        );
        (observation, resolution.addresses)
    }

    /// `dns.ptr`: the reverse name of `ip`; receivers distrust senders without one.
    pub async fn ptr(&self, ip: IpAddr) -> Observation {
        let name = reverse_name(ip);
        let lookup = self.query(&name, RecordType::PTR).await;
        let (outcome, answers, response, detail) = match lookup.result {
            Ok(records) => {
                let answers: Vec<String> = records
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::PTR(ptr) => Some(ptr.0.to_ascii().trim_end_matches('.').to_owned()),
                        _ => None,
                    })
                    .collect();
                let detail = format!("{ip} reverses to {}", answers.join(", "));
                (Outcome::Ok, answers, "NOERROR".to_owned(), detail)
            }
            Err(failure) => {
                let response = failure.response_label();
                let detail = format!("{ip} has no reverse name ({response})");
                (failure.outcome(), Vec::new(), response, detail)
            }
        };
        let data = DnsData {
            name,
            record_type: "PTR".to_owned(),
            answers,
            response,
            server: self.servers_label(),
        };
        Observation::new(
            "dns.ptr",
            ip.to_string(),
            outcome,
            lookup.latency,
            detail,
            Data::Dns(data),
        )
    }
}

struct ResolvedExchange {
    record: MxRecord,
    ip_literal: bool,
    cname_target: Option<String>,
    failure: Option<String>,
}

#[derive(Default)]
struct Resolution {
    addresses: Vec<IpAddr>,
    cname_target: Option<String>,
    failures: Vec<LookupFailure>,
    latency: Duration,
}

impl Resolution {
    fn address_strings(&self) -> Vec<String> {
        self.addresses.iter().map(ToString::to_string).collect()
    }

    /// The most telling failure of the A and AAAA queries: an error beats a negative answer.
    fn worst_failure(&self) -> Option<&LookupFailure> {
        self.failures
            .iter()
            .find(|failure| !failure.is_negative_answer())
            .or_else(|| {
                self.failures
                    .iter()
                    .find(|failure| **failure == LookupFailure::NxDomain)
            })
            .or_else(|| self.failures.first())
    }

    fn failure_label(&self) -> String {
        self.worst_failure()
            .map_or_else(|| "NODATA".to_owned(), LookupFailure::response_label)
    }

    fn failure_outcome(&self) -> Outcome {
        self.worst_failure()
            .map_or(Outcome::Fail, LookupFailure::outcome)
    }
}

fn classify(error: &NetError) -> LookupFailure {
    match error {
        NetError::Timeout => LookupFailure::Timeout,
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
            if no_records.response_code == ResponseCode::NXDomain {
                LookupFailure::NxDomain
            } else {
                LookupFailure::NoData
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => LookupFailure::Code(*code),
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => LookupFailure::Timeout,
        other => LookupFailure::Other(other.to_string()),
    }
}

/// `name` with exactly one trailing dot, so no search domain is ever appended.
pub(crate) fn fully_qualified(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// The labels of `ip` in reverse order, as DNSBLs and PTR zones want them:
/// `192.0.2.1` → `1.2.0.192`, IPv6 one nibble per label.
pub fn reversed_labels(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|byte| [byte >> 4, byte & 0x0f])
                .rev()
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            nibbles.join(".")
        }
    }
}

/// The PTR query name of `ip` (`in-addr.arpa` or `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    let ip = ip.to_canonical();
    let zone = if ip.is_ipv4() {
        "in-addr.arpa"
    } else {
        "ip6.arpa"
    };
    format!("{}.{zone}", reversed_labels(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_ipv4_octets() {
        assert_eq!(reversed_labels("192.0.2.1".parse().unwrap()), "1.2.0.192");
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
    }

    #[test]
    fn reverses_ipv6_nibbles() {
        let labels = reversed_labels("2001:db8::1".parse().unwrap());
        assert_eq!(
            labels,
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        );
    }

    #[test]
    fn mapped_ipv4_reverses_as_ipv4() {
        assert_eq!(
            reversed_labels("::ffff:192.0.2.1".parse().unwrap()),
            "1.2.0.192"
        );
    }
}
