//! Runs every probe of one `check` concurrently — DNS first, then all hosts, lists and URLs at once.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::dns::DnsClient;
use crate::observation::{Data, MxHostData, MxRecord, Observation, Outcome, RunContext};
use crate::progress::Progress;
use crate::smtp::{HostTarget, SmtpProbes, SmtpSettings, TlsTrust, probe_host_with_trust};
use crate::{dnsbl, http};

/// What to probe: a domain (its MX set) or one SMTP host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Domain(String),
    Host { host: String, port: Option<u16> },
}

impl Target {
    /// `example.test` is a domain; `host:port`, `[v6]:port` and IP literals are hosts.
    pub fn parse(text: &str) -> Self {
        let text = text.trim().trim_end_matches('.');
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Self::Host {
                host: ip.to_string(),
                port: None,
            };
        }
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Self::Host {
                host: addr.ip().to_string(),
                port: Some(addr.port()),
            };
        }
        if let Some((host, port)) = text.rsplit_once(':') {
            if let Ok(port) = port.parse() {
                return Self::Host {
                    host: host.to_string(),
                    port: Some(port),
                };
            }
        }
        Self::Domain(text.to_ascii_lowercase())
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Domain(domain) => domain,
            Self::Host { host, .. } => host,
        }
    }
}

/// Everything one run needs, already validated by the CLI layer.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub target: Target,
    pub gateways: Vec<String>,
    pub backend: Option<Target>,
    pub dns_servers: Vec<SocketAddr>,
    pub smtp_port: u16,
    pub smtp: SmtpSettings,
    pub dnsbl_zones: Vec<String>,
    pub surbl_zones: Vec<String>,
    pub surbl_domain: String,
    pub http_egress: Vec<String>,
    pub timeout: Duration,
    pub context: RunContext,
    /// Extra trusted root certificates (PEM) for STARTTLS verification, besides the system store.
    pub tls_roots_pem: Vec<Vec<u8>>,
}

/// Maximum redirect hops followed by the HTTP egress probe.
const MAX_HTTP_HOPS: usize = 10;

/// Runs the probes whose checks are in `needed` (plus those the user asked for by naming zones/URLs).
pub async fn run_checks(
    config: &RunConfig,
    needed: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Vec<Observation> {
    let mut observations = vec![Observation::new(
        "run.context",
        config.target.name(),
        Outcome::Ok,
        Duration::ZERO,
        "flags of this run",
        Data::Context(config.context.clone()),
    )];
    let dns = match DnsClient::new(&config.dns_servers, config.timeout) {
        Ok(dns) => Arc::new(dns),
        Err(message) => {
            observations.push(Observation::new(
                "dns.mx",
                config.target.name(),
                Outcome::Error,
                Duration::ZERO,
                format!("cannot set up DNS: {message}"),
                Data::None,
            ));
            return observations;
        }
    };

    progress.started("DNS");
    let hosts = resolve_hosts(config, &dns, &mut observations).await;
    progress.finished("DNS");

    let mut settings = config.smtp.clone();
    settings.probes = SmtpProbes {
        tls: needed.contains("tls"),
        relay: needed.contains("relay"),
        recipient: needed.contains("recipient.invalid")
            || needed.contains("recipient.valid")
            || needed.contains("greylist"),
        greylist: needed.contains("greylist"),
        test_message: config.smtp.send_test_message && needed.contains("test_message"),
    };
    let settings = Arc::new(settings);
    let mut trust = TlsTrust::system();
    for pem in &config.tls_roots_pem {
        match trust.clone().with_root_pem(pem) {
            Ok(extended) => trust = extended,
            Err(error) => observations.push(Observation::new(
                "tls",
                config.target.name(),
                Outcome::Error,
                Duration::ZERO,
                format!("an extra CA certificate could not be read: {error}"),
                Data::None,
            )),
        }
    }
    let trust = Arc::new(trust);

    let addresses = probed_addresses(&observations, &hosts);
    let mut tasks: JoinSet<Vec<Observation>> = JoinSet::new();
    for host in hosts {
        let (settings, trust, progress) = (
            Arc::clone(&settings),
            Arc::clone(&trust),
            Arc::clone(&progress),
        );
        tasks.spawn(async move {
            probe_host_with_trust(&host, &settings, &trust, progress.as_ref()).await
        });
    }
    for ip in &addresses {
        let ip = *ip;
        let ptr_dns = Arc::clone(&dns);
        tasks.spawn(async move { vec![ptr_dns.ptr(ip).await] });
        for zone in &config.dnsbl_zones {
            let (dns, zone, progress) = (Arc::clone(&dns), zone.clone(), Arc::clone(&progress));
            tasks.spawn(async move {
                timed(
                    &progress,
                    format!("DNSBL {zone}"),
                    dnsbl::dnsbl(&dns, &zone, ip),
                )
                .await
            });
        }
    }
    for zone in &config.surbl_zones {
        let (dns, zone, domain, progress) = (
            Arc::clone(&dns),
            zone.clone(),
            config.surbl_domain.clone(),
            Arc::clone(&progress),
        );
        tasks.spawn(async move {
            timed(
                &progress,
                format!("SURBL {zone}"),
                dnsbl::surbl(&dns, &zone, &domain),
            )
            .await
        });
    }
    for url in &config.http_egress {
        let (url, timeout, progress) = (url.clone(), config.timeout, Arc::clone(&progress));
        tasks.spawn(async move {
            timed(
                &progress,
                format!("HTTP {url}"),
                http::egress(&url, timeout, MAX_HTTP_HOPS),
            )
            .await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(found) => observations.extend(found),
            Err(error) => observations.push(Observation::new(
                "run.task",
                config.target.name(),
                Outcome::Error,
                Duration::ZERO,
                format!("a probe task failed: {error}"),
                Data::None,
            )),
        }
    }
    observations
}

async fn timed(
    progress: &Arc<dyn Progress>,
    label: String,
    probe: impl Future<Output = Observation>,
) -> Vec<Observation> {
    progress.started(&label);
    let observation = probe.await;
    progress.finished(&label);
    vec![observation]
}

/// Looks up the target (MX set or host) and the backend; records what DNS said; returns the SMTP hosts to probe.
async fn resolve_hosts(
    config: &RunConfig,
    dns: &DnsClient,
    observations: &mut Vec<Observation>,
) -> Vec<HostTarget> {
    let mut hosts = Vec::new();
    match &config.target {
        Target::Domain(domain) => {
            let (observation, records) = dns.mx(domain).await;
            observations.push(observation);
            let worst_preference = records.iter().map(|r| r.preference).max();
            for record in &records {
                let is_gateway = (!config.gateways.is_empty())
                    .then(|| is_gateway(&config.gateways, &record.exchange, &record.addresses));
                observations.push(mx_host_observation(
                    record,
                    is_gateway,
                    worst_preference,
                    records.len(),
                ));
                if let Some(address) = first_address(&record.addresses) {
                    hosts.push(HostTarget {
                        host: record.exchange.clone(),
                        address,
                        port: config.smtp_port,
                        role: "mx".into(),
                        is_gateway,
                        mx_preference: Some(record.preference),
                    });
                }
            }
        }
        Target::Host { .. } => {
            if let Some(host) = host_target(&config.target, "host", config, dns, observations).await
            {
                hosts.push(host);
            }
        }
    }
    if let Some(backend) = &config.backend {
        if let Some(host) = host_target(backend, "backend", config, dns, observations).await {
            hosts.push(host);
        }
    }
    hosts
}

async fn host_target(
    target: &Target,
    role: &str,
    config: &RunConfig,
    dns: &DnsClient,
    observations: &mut Vec<Observation>,
) -> Option<HostTarget> {
    let (host, port) = match target {
        Target::Domain(name) => (name.clone(), None),
        Target::Host { host, port } => (host.clone(), *port),
    };
    let address = if let Ok(ip) = host.parse::<IpAddr>() {
        ip
    } else {
        let (observation, addresses) = dns.addresses(&host).await;
        observations.push(observation);
        first_address(
            &addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )?
    };
    let is_gateway = (!config.gateways.is_empty())
        .then(|| is_gateway(&config.gateways, &host, &[address.to_string()]));
    Some(HostTarget {
        host,
        address,
        port: port.unwrap_or(config.smtp_port),
        role: role.into(),
        is_gateway,
        mx_preference: None,
    })
}

fn mx_host_observation(
    record: &MxRecord,
    is_gateway: Option<bool>,
    worst: Option<u16>,
    mx_count: usize,
) -> Observation {
    let lowest_priority = mx_count > 1 && Some(record.preference) == worst;
    let role = match is_gateway {
        Some(true) => "a gateway",
        Some(false) => "NOT a gateway",
        None => "not judged (no --gateway)",
    };
    let outcome = if is_gateway == Some(false) {
        Outcome::Fail
    } else {
        Outcome::Ok
    };
    Observation::new(
        "mx.host",
        record.exchange.clone(),
        outcome,
        Duration::ZERO,
        format!(
            "MX {} {} ({}) is {role}",
            record.preference,
            record.exchange,
            record.addresses.join(", ")
        ),
        Data::MxHost(MxHostData {
            exchange: record.exchange.clone(),
            preference: record.preference,
            addresses: record.addresses.clone(),
            is_gateway,
            lowest_priority,
            mx_count,
        }),
    )
}

/// Whether an MX host is one of the gateways, by name (case and trailing dot ignored) or address.
fn is_gateway(gateways: &[String], exchange: &str, addresses: &[String]) -> bool {
    let normal = |name: &str| name.trim_end_matches('.').to_ascii_lowercase();
    gateways.iter().any(|gateway| {
        normal(gateway) == normal(exchange) || addresses.iter().any(|a| a == gateway)
    })
}

fn first_address(addresses: &[String]) -> Option<IpAddr> {
    let parsed: Vec<IpAddr> = addresses.iter().filter_map(|a| a.parse().ok()).collect();
    parsed
        .iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| parsed.first())
        .copied()
}

/// Every distinct address of the MX hosts and the target host (not the backend), for DNSBL and PTR lookups.
fn probed_addresses(observations: &[Observation], hosts: &[HostTarget]) -> Vec<IpAddr> {
    let mut seen: BTreeSet<IpAddr> = hosts
        .iter()
        .filter(|h| h.role != "backend")
        .map(|h| h.address)
        .collect();
    for observation in observations {
        if let Data::MxHost(host) = &observation.data {
            seen.extend(
                host.addresses
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok()),
            );
        }
    }
    seen.into_iter().collect()
}
