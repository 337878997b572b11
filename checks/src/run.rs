//! Runs every probe of one `check` concurrently — DNS first, then all hosts, lists and URLs at once.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::dns::DnsClient;
use crate::progress::Progress;
use crate::smtp::{
    HostTarget, SmtpProbes, SmtpSettings, TlsTrust, planned_checks, probe_host_streaming,
};
use crate::{dnsbl, http};
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
    let dns_token = collected.start(first_lookup);
    let mut observations = Vec::new();
    let hosts = resolve_hosts(config, &dns, &mut observations).await;
    for observation in observations {
        collected.add(Some(dns_token), observation);
    }
    collected.finish(dns_token);
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

    let addresses = {
        let so_far = collected.lock();
        probed_addresses(&so_far.observations, &hosts)
    };
    // Dropping this set (when the deadline passes) aborts every probe still running.
    let mut tasks: JoinSet<()> = JoinSet::new();
    for host in hosts.into_iter().filter(|_| config.probe_smtp) {
        let subject = host.subject();
        let planned = planned_checks(&settings)
            .into_iter()
            .map(|check| (check.to_string(), subject.clone()))
            .collect();
        let token = collected.start(planned);
        let (settings, trust, progress, collected) = (
            Arc::clone(&settings),
            Arc::clone(&trust),
            Arc::clone(&progress),
            collected.clone(),
        );
        tasks.spawn(async move {
            let report = |observation: &Observation| {
                collected.add(Some(token), observation.clone());
            };
            probe_host_streaming(&host, &settings, &trust, progress.as_ref(), &report).await;
            collected.finish(token);
        });
    }
    for ip in &addresses {
        let ip = *ip;
        let ptr_dns = Arc::clone(&dns);
        spawn_one(
            &mut tasks,
            collected,
            label("dns.ptr", ip.to_string()),
            async move { ptr_dns.ptr(ip).await },
        );
        for zone in &config.dnsbl_zones {
            let (dns, zone, progress) = (Arc::clone(&dns), zone.clone(), Arc::clone(&progress));
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
    }
    for zone in &config.surbl_zones {
        let (dns, zone, domain, progress) = (
            Arc::clone(&dns),
            zone.clone(),
            config.surbl_domain.clone(),
            Arc::clone(&progress),
        );
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
    for url in &config.http_egress {
        let (url, timeout, progress) = (url.clone(), config.timeout, Arc::clone(&progress));
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
