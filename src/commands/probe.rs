//! `queue --probe` and `triage --probe`: live probes (MX, connect, banner, STARTTLS, and the
//! DNSBL listing of our own outbound address) of the destinations and hosts an input names,
//! through the same `checks` code as `mxdoctor check` and with the same safety: never DATA, every
//! step bounded by `--timeout`, the whole by `--deadline`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use mxdoctor_checks::dns::DnsClient;
use mxdoctor_checks::dnsbl;
use mxdoctor_checks::progress::Silent;
use mxdoctor_checks::run::{RunConfig, Target, run_checks};
use mxdoctor_model::{Data, Observation, Outcome};
use tokio::task::JoinSet;

use super::check::run_config;
use crate::cli::{CheckArgs, ProbeArgs};
use crate::diagnose::causes::join::{Probed, join};
use crate::diagnose::causes::{rank_with_causes, restate};
use crate::diagnose::rank::score;
use crate::diagnose::text::TextMatcher;
use crate::diagnose::text::groups::named_host;
use crate::diagnose::{evaluate, needed_checks};
use crate::error::AppError;
use crate::finding::{Evidence, Finding};
use crate::playbook::Playbook;
use crate::playbook::schema::SharedEvidence;
use crate::report::Report;
use crate::vocabulary::Platform;

/// The checks a `--probe` run makes; only playbooks reading nothing else are evaluated on them.
pub const PROBE_CHECKS: [&str; 8] = [
    "run.context",
    "dns.mx",
    "dns.a",
    "mx.host",
    "smtp.session",
    "tls",
    "dnsbl",
    // Never observed by a probe; listed so playbooks reading `dnsbl` or `surbl` are evaluated.
    "surbl",
];

/// Playbooks about the speed of our own resolver: a slow listing lookup made from here says
/// nothing about a destination, so they are not evaluated on probe observations.
const NOT_ABOUT_THE_TARGET: [&str; 2] = ["dnsbl-slow", "milter-timeout-dnsbl"];

/// What to probe: a destination domain (its MX hosts) or one host (by address, named as in the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    Destination {
        domain: String,
        /// Its deferral reasons point at a block list: look our outbound address up too.
        listing_suspected: bool,
    },
    Host {
        name: String,
        address: IpAddr,
        port: Option<u16>,
    },
}

impl ProbeTarget {
    /// The name the joined findings use: the destination domain or the host name.
    pub fn name(&self) -> &str {
        match self {
            Self::Destination { domain, .. } => domain,
            Self::Host { name, .. } => name,
        }
    }
}

/// Everything `--probe` found: per target, and all the observations for the report.
pub struct ProbeRun {
    pub probed: Vec<Probed>,
    pub observations: Vec<Observation>,
    pub notes: Vec<String>,
}

/// Probes every target at once (bounded by `--deadline`) and evaluates the probe playbooks on each.
pub fn probe(
    targets: &[ProbeTarget],
    args: &ProbeArgs,
    playbooks: &[Playbook],
    platform: Platform,
) -> Result<ProbeRun, AppError> {
    if targets.is_empty() {
        return Ok(ProbeRun {
            probed: Vec::new(),
            observations: Vec::new(),
            notes: vec!["--probe: the input names no destination or remote host to probe".into()],
        });
    }
    let configs = targets
        .iter()
        .map(|target| config_for(target, args))
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = super::runtime()?;
    let listing_lookups = listing_lookups(targets, args);
    let (per_target, listings) = runtime.block_on(probe_all(
        configs,
        listing_lookups,
        args.deadline_duration()?,
    ));
    let mut notes = Vec::new();
    if targets.iter().any(|t| {
        matches!(
            t,
            ProbeTarget::Destination {
                listing_suspected: true,
                ..
            }
        )
    }) && (args.outbound_ips.is_empty() || args.dnsbls.is_empty())
    {
        notes.push(
            "deferral reasons name a block list: give --outbound-ip IP and --dnsbl ZONE to look our own address up"
                .into(),
        );
    }
    let evaluated: Vec<&Playbook> = playbooks
        .iter()
        .filter(|playbook| {
            let checks = needed_checks(std::slice::from_ref(*playbook));
            !checks.is_empty()
                && checks.iter().all(|c| PROBE_CHECKS.contains(&c.as_str()))
                && !NOT_ABOUT_THE_TARGET.contains(&playbook.id.as_str())
        })
        .collect();
    let anything_connected = per_target.iter().flatten().any(connected);
    let mut probed = Vec::new();
    let mut observations = Vec::new();
    for (target, mut seen) in targets.iter().zip(per_target) {
        if matches!(
            target,
            ProbeTarget::Destination {
                listing_suspected: true,
                ..
            }
        ) {
            seen.extend(listings.iter().cloned());
        }
        let findings: Vec<_> = evaluated
            .iter()
            .flat_map(|playbook| evaluate(std::slice::from_ref(*playbook), &seen, platform))
            .collect();
        let timed_out_only = only_timeouts(&seen);
        // Every host silent while nothing anywhere answered: this network, not the target.
        let conclusive = !timed_out_only || anything_connected;
        if !conclusive {
            notes.push(format!(
                "probe of {} inconclusive: no SMTP host answered from here (timeouts); this network may block outbound port 25",
                target.name()
            ));
        }
        probed.push(Probed {
            target: target.name().to_string(),
            summary: summary(target, &seen),
            findings,
            conclusive,
        });
        observations.extend(
            seen.into_iter()
                .filter(|o| o.check != crate::diagnose::evaluate::CONTEXT_CHECK),
        );
    }
    Ok(ProbeRun {
        probed,
        observations,
        notes,
    })
}

impl ProbeArgs {
    /// `--deadline` as a duration, checked like `check --deadline`.
    pub fn deadline_duration(&self) -> Result<Option<Duration>, AppError> {
        match self.deadline {
            None => Ok(None),
            Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => {
                Ok(Some(Duration::from_secs_f64(secs)))
            }
            Some(secs) => Err(AppError::Usage(format!(
                "--deadline must be between 0 and 86400 seconds, got {secs}"
            ))),
        }
    }
}

/// The `check` configuration for one target, validated by the same code as `mxdoctor check`.
fn config_for(target: &ProbeTarget, args: &ProbeArgs) -> Result<RunConfig, AppError> {
    let name = match target {
        ProbeTarget::Destination { domain, .. } => domain.clone(),
        ProbeTarget::Host { address, port, .. } => match (address, port) {
            (IpAddr::V6(v6), Some(port)) => format!("[{v6}]:{port}"),
            (address, Some(port)) => format!("{address}:{port}"),
            (address, None) => address.to_string(),
        },
    };
    let check = CheckArgs {
        target: name,
        dns: args.dns.clone(),
        smtp_port: args.smtp_port,
        helo: args.helo.clone(),
        mail_from: "mxdoctor-probe@example.org".into(),
        surbl_domain: "test.surbl.org".into(),
        timeout: args.timeout,
        deadline: args.deadline,
        concurrency: 1,
        ..CheckArgs::default()
    };
    let mut config = run_config(&check)?;
    // A destination is probed as its MX set; a host named in a log as that one address.
    if let (ProbeTarget::Destination { domain, .. }, Target::Host { .. }) = (target, &config.target)
    {
        config.target = Target::Domain(domain.clone());
    }
    config.smtp.send_test_message = false;
    config.context.send_test_message = false;
    Ok(config)
}

/// (outbound address, zone) pairs to look up, when some destination's reasons point at a listing.
fn listing_lookups(targets: &[ProbeTarget], args: &ProbeArgs) -> Vec<(IpAddr, String)> {
    let suspected = targets.iter().any(|t| {
        matches!(
            t,
            ProbeTarget::Destination {
                listing_suspected: true,
                ..
            }
        )
    });
    if !suspected {
        return Vec::new();
    }
    args.outbound_ips
        .iter()
        .flat_map(|ip| args.dnsbls.iter().map(move |zone| (*ip, zone.clone())))
        .collect()
}

/// Runs each target's probes and the listing lookups concurrently; the deadline stops them all.
async fn probe_all(
    configs: Vec<RunConfig>,
    lookups: Vec<(IpAddr, String)>,
    deadline: Option<Duration>,
) -> (Vec<Vec<Observation>>, Vec<Observation>) {
    let needed: BTreeSet<String> = ["dns.mx", "dns.a", "mx.host", "smtp.session", "tls"]
        .into_iter()
        .map(String::from)
        .collect();
    let mut tasks: JoinSet<(usize, Vec<Observation>)> = JoinSet::new();
    let count = configs.len();
    let first = configs.first().cloned();
    for (index, config) in configs.into_iter().enumerate() {
        let needed = needed.clone();
        // Each run stops itself at the deadline and reports what was still running as timeouts.
        tasks.spawn(async move { (index, run_checks(&config, &needed, Arc::new(Silent)).await) });
    }
    let mut per_target = vec![Vec::new(); count];
    let listing = async {
        let Some(config) = first else {
            return Vec::new();
        };
        let dns = match DnsClient::new(&config.dns_servers, config.timeout) {
            Ok(dns) => dns,
            Err(message) => {
                return vec![Observation::new(
                    "dnsbl",
                    "outbound address",
                    Outcome::Error,
                    Duration::ZERO,
                    format!("cannot set up DNS: {message}"),
                    Data::None,
                )];
            }
        };
        let until = deadline.map(|limit| (tokio::time::Instant::now() + limit, limit));
        let mut found = Vec::new();
        for (ip, zone) in &lookups {
            let lookup = dnsbl::dnsbl(&dns, zone, *ip);
            match until {
                Some((at, limit)) => match tokio::time::timeout_at(at, lookup).await {
                    Ok(observation) => found.push(observation),
                    Err(_) => found.push(Observation::new(
                        "dnsbl",
                        zone.clone(),
                        Outcome::Timeout,
                        limit,
                        format!(
                            "still running when the run deadline ({}s) passed: stopped, result unknown",
                            limit.as_secs_f64()
                        ),
                        Data::None,
                    )),
                },
                None => found.push(lookup.await),
            }
        }
        found
    };
    let listings = listing.await;
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, observations)) = joined {
            per_target[index] = observations;
        }
    }
    (per_target, listings)
}

fn connected(observation: &Observation) -> bool {
    matches!(&observation.data, Data::Session(session) if session.connected)
}

/// True when SMTP hosts were tried and every one timed out (no refusal, no answer).
fn only_timeouts(observations: &[Observation]) -> bool {
    let sessions: Vec<&Observation> = observations
        .iter()
        .filter(|o| o.check == "smtp.session")
        .collect();
    !sessions.is_empty()
        && sessions
            .iter()
            .all(|o| !connected(o) && o.outcome == Outcome::Timeout)
}

/// One line on what the probes of a target saw: its MX set, then each host's session.
fn summary(target: &ProbeTarget, observations: &[Observation]) -> String {
    let mut parts = Vec::new();
    if let ProbeTarget::Destination { .. } = target {
        let hosts = observations.iter().filter(|o| o.check == "mx.host").count();
        match observations.iter().find(|o| o.check == "dns.mx") {
            Some(mx) if !mx.outcome.answered() || hosts == 0 => {
                parts.push(format!("MX lookup: {}", mx.detail));
            }
            _ => {}
        }
        let sessions: Vec<&Observation> = observations
            .iter()
            .filter(|o| o.check == "smtp.session")
            .collect();
        let refused = sessions
            .iter()
            .filter(|o| !connected(o) && o.detail.contains("refused"))
            .count();
        let timed_out = sessions
            .iter()
            .filter(|o| !connected(o) && o.outcome == Outcome::Timeout)
            .count();
        let port = sessions
            .first()
            .and_then(|o| o.subject.rsplit_once(':'))
            .map_or("25", |(_, port)| port);
        for (count, what_one, what_many) in [
            (refused, "refuses", "refuse"),
            (timed_out, "does not answer on", "do not answer on"),
        ] {
            if count > 0 && count == sessions.len() {
                parts.push(match count {
                    1 => format!("its MX {what_one} port {port}"),
                    2 => format!("both MX {what_many} port {port}"),
                    n => format!("all {n} MX {what_many} port {port}"),
                });
            }
        }
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    for observation in observations.iter().filter(|o| {
        o.check == "smtp.session" || (o.check == "tls" && o.outcome != Outcome::Skipped)
    }) {
        parts.push(format!(
            "{} {}: {}",
            observation.check, observation.subject, observation.detail
        ));
    }
    for observation in observations.iter().filter(|o| o.check == "dnsbl") {
        parts.push(format!(
            "dnsbl {}: {}",
            observation.subject, observation.detail
        ));
    }
    if parts.is_empty() {
        "nothing could be probed".into()
    } else {
        parts.join("; ")
    }
}

/// The destinations of a queue report worth probing: its top deferred destinations (the overview
/// lists them by message count), each marked when its delay reason names a block list.
pub fn queue_targets(report: &Report, playbooks: &[Playbook], top: usize) -> Vec<ProbeTarget> {
    let Some(queue) = &report.queue else {
        return Vec::new();
    };
    let matcher = TextMatcher::new(playbooks);
    queue
        .destinations
        .iter()
        .filter(|row| row.messages > 0 && is_domain(&row.name))
        .take(top)
        .map(|row| {
            let reasons = [row.top_reason.as_deref(), row.example.as_deref()];
            let listing_suspected = reasons.into_iter().flatten().any(|reason| {
                matcher
                    .match_line(reason, None)
                    .iter()
                    .any(|hit| LISTING_PLAYBOOKS.contains(&playbooks[hit.playbook].id.as_str()))
            });
            ProbeTarget::Destination {
                domain: row.name.clone(),
                listing_suspected,
            }
        })
        .collect()
}

/// Playbooks whose match on a delay reason means "the receiver refuses us for our reputation".
const LISTING_PLAYBOOKS: [&str; 2] = ["dnsbl-listed", "reputation-rejection"];

/// A destination name `--probe` can look up: letters, digits, dots and dashes, with a dot.
fn is_domain(name: &str) -> bool {
    name.contains('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// The remote hosts the top findings of a log name (`connect to HOST[IP]:PORT`, `relay=HOST[IP]`,
/// `host HOST[IP] said`, Exim's `H=HOST [IP]`), at most `top`, strongest finding first.
pub fn log_targets(findings: &[Finding], top: usize) -> Vec<ProbeTarget> {
    let mut ranked: Vec<&Finding> = findings.iter().filter(|f| f.caused_by.is_none()).collect();
    ranked.sort_by_key(|f| std::cmp::Reverse((score(f.severity, f.confidence), f.severity)));
    let mut targets: Vec<ProbeTarget> = Vec::new();
    for finding in ranked {
        for evidence in &finding.evidence {
            if let Some((name, address, port)) = named_host(&evidence.detail) {
                let target = ProbeTarget::Host {
                    name,
                    address,
                    port,
                };
                if targets.len() < top && !targets.iter().any(|t| t.name() == target.name()) {
                    targets.push(target);
                }
            }
        }
    }
    targets
}

/// Adds a probe run to `report`: its findings joined to those they explain (`kind`: by
/// destination for a queue, by host for a log), its observations and notes; the status follows.
pub fn attach(
    report: &mut Report,
    run: ProbeRun,
    playbooks: &[Playbook],
    kind: SharedEvidence,
    target_of: impl Fn(&Evidence) -> Option<String>,
) {
    let findings = std::mem::take(&mut report.findings);
    report.findings = join(findings, &run.probed, playbooks, kind, target_of);
    report.observations.extend(run.observations);
    if !run.probed.is_empty() {
        report.notes.push(format!(
            "probed {} live ({}): MX, connect, banner, STARTTLS; no DATA sent",
            plural_targets(run.probed.len()),
            run.probed
                .iter()
                .map(|p| p.target.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    report.notes.extend(run.notes);
    restate(report);
    rank_with_causes(&mut report.findings);
}

fn plural_targets(count: usize) -> String {
    format!("{count} target{}", if count == 1 { "" } else { "s" })
}
