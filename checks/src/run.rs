//! Runs every probe of one `check` concurrently — DNS first, then all hosts, lists and URLs at once.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::dns::DnsClient;
use crate::health::{self, HealthSettings};
use crate::progress::Progress;
use crate::smtp::{
    HostTarget, SmtpProbes, SmtpSettings, TlsTrust, planned_checks, probe_host_streaming,
};
use crate::{dnsbl, http, resolver_trust};
use mxdoctor_model::observation::{Data, MxHostData, MxRecord, Observation, Outcome, RunContext};

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
    /// Limit for the whole run: probes still running then are stopped and reported as Timeout,
    /// next to everything that finished. `None`: each probe is bounded by its own timeouts only.
    pub deadline: Option<Duration>,
    /// Connect to the SMTP hosts found; `false` for a DNS-only run (`check --skip smtp`, fleet scans).
    pub probe_smtp: bool,
    /// The resolver's trust already judged for this run (fleet mode asks once for every target);
    /// `None`: this run asks itself, next to its first lookups.
    pub resolver_trust: Option<Observation>,
    /// The domain health checks (SPF, ...) and what they need.
    pub health: HealthSettings,
}

/// Maximum redirect hops followed by the HTTP egress probe.
const MAX_HTTP_HOPS: usize = 10;

/// Runs the probes whose checks are in `needed` (plus those the user asked for by naming zones/URLs).
///
/// With a [`RunConfig::deadline`], whatever is still running when it passes is stopped (its
/// connections closed) and becomes a Timeout observation; every finished observation is kept.
pub async fn run_checks(
    config: &RunConfig,
    needed: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Vec<Observation> {
    let collected = Collected::default();
    let work = probe_all(config, needed, progress, &collected);
    match config.deadline {
        None => work.await,
        Some(deadline) => {
            if tokio::time::timeout(deadline, work).await.is_err() {
                collected.expire(deadline);
            }
        }
    }
    collected.into_observations()
}

/// Observations as probes report them, and what each running probe still owes.
#[derive(Clone, Default)]
struct Collected {
    inner: Arc<Mutex<CollectedInner>>,
}

#[derive(Default)]
struct CollectedInner {
    observations: Vec<Observation>,
    next_token: u64,
    running: HashMap<u64, Running>,
}

/// (check, subject) pairs: what an observation is about.
type Labels = Vec<(String, String)>;

/// A running probe task: the observations it will report, and those it has.
struct Running {
    planned: Labels,
    reported: Labels,
}

/// One running probe task registered with [`Collected::start`].
#[derive(Clone, Copy)]
struct Token(u64);

impl Collected {
    fn lock(&self) -> std::sync::MutexGuard<'_, CollectedInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a task that will report these (check, subject) pairs.
    fn start(&self, planned: Labels) -> Token {
        let mut inner = self.lock();
        inner.next_token += 1;
        let token = inner.next_token;
        inner.running.insert(
            token,
            Running {
                planned,
                reported: Vec::new(),
            },
        );
        Token(token)
    }

    /// Records an observation made by the task `token` (or by the orchestrator itself, `None`).
    fn add(&self, token: Option<Token>, observation: Observation) {
        let mut inner = self.lock();
        if let Some(Token(token)) = token {
            if let Some(running) = inner.running.get_mut(&token) {
                running
                    .reported
                    .push((observation.check.clone(), observation.subject.clone()));
            }
        }
        inner.observations.push(observation);
    }

    fn finish(&self, Token(token): Token) {
        self.lock().running.remove(&token);
    }

    /// The deadline passed: every planned observation not reported yet becomes a Timeout.
    fn expire(&self, deadline: Duration) {
        let mut inner = self.lock();
        let mut running: Vec<_> = inner.running.drain().collect();
        running.sort_by_key(|(token, _)| *token);
        for (_, Running { planned, reported }) in running {
            for (check, subject) in planned {
                if reported.contains(&(check.clone(), subject.clone())) {
                    continue;
                }
                inner.observations.push(Observation::new(
                    check,
                    subject,
                    Outcome::Timeout,
                    deadline,
                    format!(
                        "still running when the run deadline ({}s) passed: stopped, result unknown",
                        deadline.as_secs_f64()
                    ),
                    Data::None,
                ));
            }
        }
    }

    fn into_observations(self) -> Vec<Observation> {
        std::mem::take(&mut self.lock().observations)
    }
}

fn label(check: &str, subject: impl Into<String>) -> Labels {
    vec![(check.to_string(), subject.into())]
}

async fn probe_all(
    config: &RunConfig,
    needed: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
    collected: &Collected,
) {
    collected.add(
        None,
        Observation::new(
            "run.context",
            config.target.name(),
            Outcome::Ok,
            Duration::ZERO,
            "flags of this run",
            Data::Context(config.context.clone()),
        ),
    );
    let dns = match DnsClient::new(&config.dns_servers, config.timeout) {
        Ok(dns) => Arc::new(dns),
        Err(message) => {
            collected.add(
                None,
                Observation::new(
                    "dns.mx",
                    config.target.name(),
                    Outcome::Error,
                    Duration::ZERO,
                    format!("cannot set up DNS: {message}"),
                    Data::None,
                ),
            );
            return;
        }
    };

    progress.started("DNS");
    let first_lookup = match &config.target {
        Target::Domain(domain) => label("dns.mx", domain.clone()),
        Target::Host { host, .. } => label("dns.a", host.clone()),
    };
    // Dropping this set (when the deadline passes) aborts every probe still running.
    let mut tasks: JoinSet<()> = JoinSet::new();
    // The domain's own records need no MX: they run from the start, beside the MX lookup.
    if let Target::Domain(domain) = &config.target {
        spawn_health(&mut tasks, collected, config, &dns, domain);
    }
    let dns_token = collected.start(first_lookup);
    let trust_token = collected.start(label("dns.resolver", dns.servers_label()));
    let mut observations = Vec::new();
    let trust_target = match &config.target {
        Target::Domain(domain) => Some(domain.as_str()),
        Target::Host { .. } => None,
    };
    let trust = async {
        match &config.resolver_trust {
            Some(judged) => judged.clone(),
            None => resolver_trust::probe(&dns, trust_target).await,
        }
    };
    // Asked at the same time as the target's own lookups, so trust costs no extra round trip.
    let (trust, hosts) = tokio::join!(trust, resolve_hosts(config, &dns, &mut observations));
    collected.add(Some(trust_token), trust);
    collected.finish(trust_token);
    for observation in observations {
        collected.add(Some(dns_token), observation);
    }
    collected.finish(dns_token);
    progress.finished("DNS");

    let settings = Arc::new(smtp_settings(config, needed));
    let mut trust = TlsTrust::system();
    for pem in &config.tls_roots_pem {
        match trust.clone().with_root_pem(pem) {
            Ok(extended) => trust = extended,
            Err(error) => collected.add(
                None,
                Observation::new(
                    "tls",
                    config.target.name(),
                    Outcome::Error,
                    Duration::ZERO,
                    format!("an extra CA certificate could not be read: {error}"),
                    Data::None,
                ),
            ),
        }
    }
    let trust = Arc::new(trust);

    let (addresses, mx_records) = {
        let so_far = collected.lock();
        (
            probed_addresses(&so_far.observations, &hosts),
            mx_records(&so_far.observations),
        )
    };
    for probe in plan(config, hosts, &addresses, &mx_records) {
        let progress = Arc::clone(&progress);
        match probe {
            Probe::SmtpHost(host) => {
                let subject = host.subject();
                let planned = planned_checks(&settings)
                    .into_iter()
                    .map(|check| (check.to_string(), subject.clone()))
                    .collect();
                let token = collected.start(planned);
                let (settings, trust, collected) =
                    (Arc::clone(&settings), Arc::clone(&trust), collected.clone());
                tasks.spawn(async move {
                    let report = |observation: &Observation| {
                        collected.add(Some(token), observation.clone());
                    };
                    probe_host_streaming(&host, &settings, &trust, progress.as_ref(), &report)
                        .await;
                    collected.finish(token);
                });
            }
            Probe::Fcrdns { ip, role } => {
                let dns = Arc::clone(&dns);
                spawn_one(
                    &mut tasks,
                    collected,
                    label("dns.fcrdns", ip.to_canonical().to_string()),
                    async move { health::rdns::probe(&dns, ip, role).await },
                );
            }
            Probe::Ipv6 { domain, records } => {
                let dns = Arc::clone(&dns);
                let smtp = config.probe_smtp.then(|| Arc::clone(&settings));
                let (port, vantage) = (config.smtp_port, config.health.ipv6_vantage);
                let mut planned = label("ipv6.mx", domain.clone());
                if smtp.is_some() {
                    // Hosts the MX lookup found an IPv6 address for are the ones greeted twice.
                    planned.extend(
                        records
                            .iter()
                            .filter(|r| has_ipv6(r))
                            .map(|r| ("ipv6.smtp".to_owned(), format!("{}:{port}", r.exchange))),
                    );
                }
                spawn_many(&mut tasks, collected, planned, async move {
                    health::ipv6::probe(&dns, &domain, &records, port, smtp.as_deref(), vantage)
                        .await
                });
            }
            Probe::Ptr(ip) => {
                let dns = Arc::clone(&dns);
                spawn_one(
                    &mut tasks,
                    collected,
                    label("dns.ptr", ip.to_string()),
                    async move { dns.ptr(ip).await },
                );
            }
            Probe::Dnsbl { zone, ip } => {
                let dns = Arc::clone(&dns);
                spawn_one(
                    &mut tasks,
                    collected,
                    label("dnsbl", zone.clone()),
                    async move {
                        timed(
                            &progress,
                            format!("DNSBL {zone}"),
                            dnsbl::dnsbl(&dns, &zone, ip),
                        )
                        .await
                    },
                );
            }
            Probe::Surbl { zone, domain } => {
                let dns = Arc::clone(&dns);
                spawn_one(
                    &mut tasks,
                    collected,
                    label("surbl", zone.clone()),
                    async move {
                        timed(
                            &progress,
                            format!("SURBL {zone}"),
                            dnsbl::surbl(&dns, &zone, &domain),
                        )
                        .await
                    },
                );
            }
            Probe::HttpEgress { url } => {
                let timeout = config.timeout;
                spawn_one(
                    &mut tasks,
                    collected,
                    label("http.egress", url.clone()),
                    async move {
                        timed(
                            &progress,
                            format!("HTTP {url}"),
                            http::egress(&url, timeout, MAX_HTTP_HOPS),
                        )
                        .await
                    },
                );
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            collected.add(
                None,
                Observation::new(
                    "run.task",
                    config.target.name(),
                    Outcome::Error,
                    Duration::ZERO,
                    format!("a probe task failed: {error}"),
                    Data::None,
                ),
            );
        }
    }
}

/// Spawns the domain health checks the settings ask for, each registered with what it will report.
fn spawn_health(
    tasks: &mut JoinSet<()>,
    collected: &Collected,
    config: &RunConfig,
    dns: &Arc<DnsClient>,
    domain: &str,
) {
    if config.health.auth {
        let mut planned = label("auth.spf", domain);
        for ip in &config.health.outbound_ips {
            planned.extend(label("auth.spf_outbound", ip.to_string()));
        }
        let (spf_dns, spf_domain, outbound) = (
            Arc::clone(dns),
            domain.to_owned(),
            config.health.outbound_ips.clone(),
        );
        spawn_many(tasks, collected, planned, async move {
            health::spf::probe(&spf_dns, &spf_domain, &outbound).await
        });
        let (dmarc_dns, dmarc_domain) = (Arc::clone(dns), domain.to_owned());
        spawn_one(tasks, collected, label("auth.dmarc", domain), async move {
            health::dmarc::probe(&dmarc_dns, &dmarc_domain).await
        });
        for selector in &config.health.dkim_selectors {
            let (dkim_dns, dkim_domain, selector) =
                (Arc::clone(dns), domain.to_owned(), selector.clone());
            let subject = format!("{selector}._domainkey.{domain}");
            spawn_one(tasks, collected, label("auth.dkim", subject), async move {
                health::dkim::probe(&dkim_dns, &dkim_domain, &selector).await
            });
        }
    }
    if config.health.tls_policy {
        let fetch = health::mta_sts::PolicyFetch {
            extra_roots_pem: config.tls_roots_pem.clone(),
            timeout: config.timeout,
            port: config
                .health
                .mta_sts_port
                .unwrap_or(health::mta_sts::POLICY_PORT),
        };
        let (sts_dns, sts_domain) = (Arc::clone(dns), domain.to_owned());
        spawn_one(tasks, collected, label("tls.mta_sts", domain), async move {
            health::mta_sts::probe(&sts_dns, &sts_domain, &fetch).await
        });
        let (rpt_dns, rpt_domain) = (Arc::clone(dns), domain.to_owned());
        spawn_one(tasks, collected, label("tls.rpt", domain), async move {
            health::tls_rpt::probe(&rpt_dns, &rpt_domain).await
        });
    }
}

/// Spawns a probe that makes several observations, registered as `planned` until it reports.
fn spawn_many(
    tasks: &mut JoinSet<()>,
    collected: &Collected,
    planned: Labels,
    probe: impl Future<Output = Vec<Observation>> + Send + 'static,
) {
    let collected = collected.clone();
    let token = collected.start(planned);
    tasks.spawn(async move {
        for observation in probe.await {
            collected.add(Some(token), observation);
        }
        collected.finish(token);
    });
}

/// One probe of the stage after DNS, planned before anything is spawned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    SmtpHost(HostTarget),
    /// Forward-confirmed reverse DNS of an MX address (`mx`) or an `--outbound-ip` (`outbound`).
    Fcrdns {
        ip: IpAddr,
        role: &'static str,
    },
    Ptr(IpAddr),
    /// AAAA of every MX host of the domain, and each host greeted over both families.
    Ipv6 {
        domain: String,
        records: Vec<MxRecord>,
    },
    Dnsbl {
        zone: String,
        ip: IpAddr,
    },
    Surbl {
        zone: String,
        domain: String,
    },
    HttpEgress {
        url: String,
    },
}

/// The run's SMTP settings with only the probes some playbook needs; DATA only when asked for.
fn smtp_settings(config: &RunConfig, needed: &BTreeSet<String>) -> SmtpSettings {
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
    settings
}

/// What to probe once DNS has answered (pure): every SMTP host unless the run is DNS-only, the
/// IPv6 check of the MX set, a PTR lookup and each DNSBL zone per probed address, each SURBL zone
/// once, each egress URL once. Everything planned here runs at the same time.
fn plan(
    config: &RunConfig,
    hosts: Vec<HostTarget>,
    addresses: &[IpAddr],
    mx_records: &[MxRecord],
) -> Vec<Probe> {
    let mut probes: Vec<Probe> = Vec::new();
    if config.probe_smtp {
        probes.extend(hosts.into_iter().map(Probe::SmtpHost));
    }
    if let (true, Target::Domain(domain)) = (config.health.ipv6, &config.target) {
        if !mx_records.is_empty() {
            probes.push(Probe::Ipv6 {
                domain: domain.clone(),
                records: mx_records.to_vec(),
            });
        }
    }
    if config.health.rdns {
        let mx = addresses.iter().map(|&ip| Probe::Fcrdns { ip, role: "mx" });
        let outbound = (config.health.outbound_ips.iter()).map(|&ip| Probe::Fcrdns {
            ip,
            role: "outbound",
        });
        probes.extend(mx.chain(outbound));
    }
    for &ip in addresses {
        probes.push(Probe::Ptr(ip));
        probes.extend(config.dnsbl_zones.iter().map(|zone| Probe::Dnsbl {
            zone: zone.clone(),
            ip,
        }));
    }
    probes.extend(config.surbl_zones.iter().map(|zone| Probe::Surbl {
        zone: zone.clone(),
        domain: config.surbl_domain.clone(),
    }));
    probes.extend(
        config
            .http_egress
            .iter()
            .map(|url| Probe::HttpEgress { url: url.clone() }),
    );
    probes
}

/// Spawns a probe that makes one observation, registered as `planned` until it reports.
fn spawn_one(
    tasks: &mut JoinSet<()>,
    collected: &Collected,
    planned: Labels,
    probe: impl Future<Output = Observation> + Send + 'static,
) {
    let collected = collected.clone();
    let token = collected.start(planned);
    tasks.spawn(async move {
        let observation = probe.await;
        collected.add(Some(token), observation);
        collected.finish(token);
    });
}

async fn timed(
    progress: &Arc<dyn Progress>,
    label: String,
    probe: impl Future<Output = Observation>,
) -> Observation {
    progress.started(&label);
    let observation = probe.await;
    progress.finished(&label);
    observation
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

/// The MX records the MX lookup found (with their addresses), for the IPv6 check.
fn mx_records(observations: &[Observation]) -> Vec<MxRecord> {
    observations
        .iter()
        .find_map(|observation| match &observation.data {
            Data::Mx(mx) if observation.check == "dns.mx" => Some(mx.records.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn has_ipv6(record: &MxRecord) -> bool {
    (record.addresses.iter()).any(|a| a.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()))
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::net::IpAddr;
    use std::time::Duration;

    use super::{Probe, RunConfig, Target, plan, smtp_settings};
    use crate::smtp::{HostTarget, SmtpProbes, SmtpSettings};
    use mxdoctor_model::observation::{MxRecord, RunContext};

    fn config(probe_smtp: bool, send_test_message: bool) -> RunConfig {
        RunConfig {
            target: Target::Domain("example.test".into()),
            gateways: Vec::new(),
            backend: None,
            dns_servers: vec!["127.0.0.1:53".parse().expect("address")],
            smtp_port: 25,
            smtp: SmtpSettings {
                helo: "probe.example.test".into(),
                mail_from: "probe@example.test".into(),
                rcpt_invalid: "nobody@example.test".into(),
                rcpt_valid: Some("postmaster@example.test".into()),
                relay_rcpt: "someone@example.org".into(),
                greylist_wait: Duration::ZERO,
                timeout: Duration::from_secs(5),
                send_test_message,
                probes: SmtpProbes::ALL,
            },
            dnsbl_zones: vec!["zen.example".into(), "bl.example".into()],
            surbl_zones: vec!["multi.surbl.example".into()],
            surbl_domain: "example.test".into(),
            http_egress: vec!["http://127.0.0.1:8080/".into()],
            timeout: Duration::from_secs(5),
            context: RunContext::default(),
            tls_roots_pem: Vec::new(),
            deadline: None,
            probe_smtp,
            resolver_trust: None,
            health: crate::health::HealthSettings::default(),
        }
    }

    fn host(name: &str, address: &str) -> HostTarget {
        HostTarget {
            host: name.into(),
            address: address.parse().expect("address"),
            port: 25,
            role: "mx".into(),
            is_gateway: None,
            mx_preference: Some(10),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn the_plan_has_each_host_and_per_address_lists_then_surbl_and_urls() {
        let hosts = vec![host("mx1", "192.0.2.1"), host("mx2", "192.0.2.2")];
        let addresses = [ip("192.0.2.1"), ip("192.0.2.2")];
        let probes = plan(&config(true, false), hosts.clone(), &addresses, &[]);
        let dnsbl = |zone: &str, at: &str| Probe::Dnsbl {
            zone: zone.into(),
            ip: ip(at),
        };
        assert_eq!(
            probes,
            vec![
                Probe::SmtpHost(hosts[0].clone()),
                Probe::SmtpHost(hosts[1].clone()),
                Probe::Ptr(ip("192.0.2.1")),
                dnsbl("zen.example", "192.0.2.1"),
                dnsbl("bl.example", "192.0.2.1"),
                Probe::Ptr(ip("192.0.2.2")),
                dnsbl("zen.example", "192.0.2.2"),
                dnsbl("bl.example", "192.0.2.2"),
                Probe::Surbl {
                    zone: "multi.surbl.example".into(),
                    domain: "example.test".into()
                },
                Probe::HttpEgress {
                    url: "http://127.0.0.1:8080/".into()
                },
            ]
        );
    }

    #[test]
    fn reverse_dns_is_planned_for_every_mx_address_then_each_outbound_address() {
        let mut with_rdns = config(false, false);
        with_rdns.health.rdns = true;
        with_rdns.health.outbound_ips = vec![ip("198.51.100.7")];
        let probes = plan(&with_rdns, Vec::new(), &[ip("192.0.2.1")], &[]);
        let fcrdns: Vec<&Probe> = (probes.iter())
            .filter(|probe| matches!(probe, Probe::Fcrdns { .. }))
            .collect();
        assert_eq!(
            fcrdns,
            vec![
                &Probe::Fcrdns {
                    ip: ip("192.0.2.1"),
                    role: "mx"
                },
                &Probe::Fcrdns {
                    ip: ip("198.51.100.7"),
                    role: "outbound"
                },
            ]
        );
        let without = plan(&config(false, false), Vec::new(), &[ip("192.0.2.1")], &[]);
        assert!(
            !without
                .iter()
                .any(|probe| matches!(probe, Probe::Fcrdns { .. }))
        );
    }

    #[test]
    fn the_ipv6_check_is_planned_once_for_the_mx_set_unless_skipped() {
        let records = vec![MxRecord {
            preference: 10,
            exchange: "mx1.example.test".into(),
            addresses: vec!["192.0.2.1".into(), "2001:db8::1".into()],
        }];
        let mut with_ipv6 = config(true, false);
        with_ipv6.health.ipv6 = true;
        let probes = plan(&with_ipv6, Vec::new(), &[ip("192.0.2.1")], &records);
        let ipv6: Vec<&Probe> = (probes.iter())
            .filter(|probe| matches!(probe, Probe::Ipv6 { .. }))
            .collect();
        assert_eq!(
            ipv6,
            vec![&Probe::Ipv6 {
                domain: "example.test".into(),
                records: records.clone()
            }]
        );
        let skipped = plan(&config(true, false), Vec::new(), &[], &records);
        assert!(!skipped.iter().any(|p| matches!(p, Probe::Ipv6 { .. })));
        let mut host_target = with_ipv6;
        host_target.target = Target::Host {
            host: "192.0.2.1".into(),
            port: None,
        };
        let for_host = plan(&host_target, Vec::new(), &[], &records);
        assert!(!for_host.iter().any(|p| matches!(p, Probe::Ipv6 { .. })));
    }

    #[test]
    fn a_dns_only_run_plans_no_smtp_host() {
        let probes = plan(
            &config(false, false),
            vec![host("mx1", "192.0.2.1")],
            &[ip("192.0.2.1")],
            &[],
        );
        assert!(!probes.iter().any(|p| matches!(p, Probe::SmtpHost(_))));
        assert_eq!(probes.len(), 1 + 2 + 1 + 1);
    }

    #[test]
    fn only_the_smtp_probes_a_playbook_needs_and_data_only_when_asked() {
        let needed: BTreeSet<String> = ["greylist", "test_message"]
            .into_iter()
            .map(String::from)
            .collect();
        let probes = smtp_settings(&config(true, false), &needed).probes;
        assert_eq!(
            probes,
            SmtpProbes {
                tls: false,
                relay: false,
                recipient: true,
                greylist: true,
                test_message: false,
            }
        );
        assert!(
            smtp_settings(&config(true, true), &needed)
                .probes
                .test_message
        );
        assert!(
            !smtp_settings(&config(true, true), &BTreeSet::new())
                .probes
                .test_message
        );
    }
}
