//! `mxdoctor check`: probes a live mail system, evaluates every playbook on what it saw, ranks and prints.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mxdoctor_checks::health::HealthSettings;
use mxdoctor_checks::health::ipv6::Ipv6Vantage;
use mxdoctor_checks::progress::{Progress, Silent};
use mxdoctor_checks::run::{RunConfig, Target, run_checks};
use mxdoctor_checks::smtp::{SmtpProbes, SmtpSettings};
use mxdoctor_model::Observation;
use mxdoctor_model::observation::RunContext;

use super::{emit, library, unix_now, write_file};
use crate::bundle::Bundle;
use crate::cli::{CheckArgs, Common, Ipv6VantageArg, ProbeGroup};
use crate::diagnose::needed_checks;
use crate::diagnose::status::vantage_label;
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::playbook::Library;
use crate::profile::{DEFAULT_TIMEOUT_SECS, Profile};
use crate::progress_ui::TerminalProgress;
use crate::report::Report;
use crate::report::output::shell_words;

pub fn run(common: &Common, args: &CheckArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let (args, audited) =
        crate::audit::report::for_check(&args.with_profile(common.profile), common)?;
    let config = run_config(&args)?;
    let no_progress = common.no_progress || Profile::no_progress(common.profile);
    let mut observations = probe(&library, &config, no_progress)?;
    if let Some(audited) = &audited {
        observations.extend(audited.observations.iter().cloned());
    }
    if let Some(path) = &args.record {
        let mut bundle = Bundle::new(
            &config,
            vantage(&config),
            shell_words(std::env::args()),
            observations.clone(),
        );
        bundle.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        bundle.started_unix = unix_now().saturating_sub(bundle.duration_ms / 1000);
        write_file(path, &bundle.to_json())?;
    }
    let mut report = diagnose(&library, &config, &args, observations, common);
    crate::audit::report::select_audited_release(&mut report, audited.as_ref());
    emit(report, common, started)
}

impl CheckArgs {
    /// These flags with the profile's defaults filled in where no flag (or environment variable) gave one.
    #[must_use]
    pub fn with_profile(&self, profile: Option<Profile>) -> Self {
        Self {
            timeout: Some(
                self.timeout
                    .unwrap_or_else(|| Profile::timeout_secs(profile)),
            ),
            greylist_wait: Some(
                self.greylist_wait
                    .unwrap_or_else(|| Profile::greylist_wait_secs(profile)),
            ),
            ..self.clone()
        }
    }
}

/// Runs the probes on a fresh runtime, with a progress display when stderr is a terminal.
pub fn probe(
    library: &Library,
    config: &RunConfig,
    no_progress: bool,
) -> Result<Vec<Observation>, AppError> {
    let needed = needed_checks(&library.playbooks);
    let terminal = (!no_progress && std::io::stderr().is_terminal())
        .then(|| Arc::new(TerminalProgress::new()));
    let progress: Arc<dyn Progress> = match &terminal {
        Some(bar) => Arc::clone(bar) as Arc<dyn Progress>,
        None => Arc::new(Silent),
    };
    let runtime = super::runtime()?;
    let observations = runtime.block_on(run_checks(config, &needed, progress));
    if let Some(bar) = terminal {
        bar.finish();
    }
    Ok(observations)
}

/// The report of a live run's `observations`: `diagnose` with this host as the vantage.
pub fn diagnose(
    library: &Library,
    config: &RunConfig,
    args: &CheckArgs,
    observations: Vec<Observation>,
    common: &Common,
) -> Report {
    Diagnoser::new(&library.playbooks, common.platform).diagnose(Input::Probes {
        command: "check",
        target: &args.target,
        vantage: vantage(config),
        observations,
    })
}

/// Where this run probes from: this host's name and the resolvers it asks.
pub fn vantage(config: &RunConfig) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "this host".to_string(), |h| h.trim().to_string());
    vantage_label(&host, &config.dns_servers)
}

/// Validates the flags into a probe configuration.
pub fn run_config(args: &CheckArgs) -> Result<RunConfig, AppError> {
    let target = Target::parse(&args.target);
    if target.name().is_empty() {
        return Err(AppError::Usage(
            "TARGET is empty (give a domain, HOST[:PORT], or --targets FILE)".into(),
        ));
    }
    let dns_servers = args
        .dns
        .iter()
        .map(|s| parse_dns_server(s))
        .collect::<Result<Vec<_>, _>>()?;
    let timeout_secs = args.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(timeout_secs.is_finite() && timeout_secs > 0.0 && timeout_secs <= 3600.0) {
        return Err(AppError::Usage(format!(
            "--timeout must be between 0 and 3600 seconds, got {timeout_secs}"
        )));
    }
    let timeout = Duration::from_secs_f64(timeout_secs);
    let deadline = match args.deadline {
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => {
            Some(Duration::from_secs_f64(secs))
        }
        Some(secs) => {
            return Err(AppError::Usage(format!(
                "--deadline must be between 0 and 86400 seconds, got {secs}"
            )));
        }
        None => None,
    };
    let greylist_wait_secs = args.greylist_wait.unwrap_or(0);
    for (flag, value) in [
        ("--mail-from", Some(&args.mail_from)),
        ("--rcpt-valid", args.rcpt_valid.as_ref()),
        ("--rcpt-invalid", args.rcpt_invalid.as_ref()),
        ("--relay-rcpt", args.relay_rcpt.as_ref()),
    ] {
        if let Some(value) = value {
            check_address(flag, value)?;
        }
    }
    if args.send_test_message && args.rcpt_valid.is_none() {
        return Err(AppError::Usage(
            "--send-test-message needs --rcpt-valid: test messages go only there".into(),
        ));
    }
    let domain = recipient_domain(&target, args);
    let relay_rcpt = args.relay_rcpt.clone().unwrap_or_else(|| {
        let foreign = if domain.eq_ignore_ascii_case("example.net") {
            "example.com"
        } else {
            "example.net"
        };
        format!("mxdoctor-relay-probe@{foreign}")
    });
    let rcpt_invalid = args
        .rcpt_invalid
        .clone()
        .unwrap_or_else(|| format!("mxdoctor-nobody-{}@{domain}", random_letters(10)));
    let tls_roots_pem = args
        .tls_ca
        .iter()
        .map(|path| {
            std::fs::read(path).map_err(|source| AppError::Io {
                path: path.display().to_string(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backend = args.backend.as_deref().map(Target::parse).map(|t| match t {
        Target::Domain(name) => Target::Host {
            host: name,
            port: None,
        },
        host @ Target::Host { .. } => host,
    });
    Ok(RunConfig {
        context: RunContext {
            expect_relay: args.expect_relay,
            send_test_message: args.send_test_message,
            greylist_wait_secs,
            gateways_given: !args.gateways.is_empty(),
            backend_given: backend.is_some(),
        },
        target,
        gateways: args.gateways.clone(),
        backend,
        dns_servers,
        smtp_port: args.smtp_port,
        smtp: SmtpSettings {
            helo: args.helo.clone(),
            mail_from: args.mail_from.clone(),
            rcpt_invalid,
            rcpt_valid: args.rcpt_valid.clone(),
            relay_rcpt,
            greylist_wait: Duration::from_secs(greylist_wait_secs),
            timeout,
            send_test_message: args.send_test_message,
            probes: SmtpProbes::ALL,
        },
        dnsbl_zones: skipping(args, ProbeGroup::Dnsbl, &args.dnsbls),
        surbl_zones: skipping(args, ProbeGroup::Dnsbl, &args.surbls),
        surbl_domain: args.surbl_domain.clone(),
        http_egress: skipping(args, ProbeGroup::Http, &args.http_egress),
        timeout,
        tls_roots_pem,
        deadline,
        probe_smtp: !args.skip.contains(&ProbeGroup::Smtp),
        resolver_trust: None,
        health: HealthSettings {
            auth: !args.skip.contains(&ProbeGroup::Auth),
            rdns: !args.skip.contains(&ProbeGroup::Rdns),
            tls_policy: !args.skip.contains(&ProbeGroup::TlsPolicy),
            mta_sts_port: args.mta_sts_port,
            dnssec: !args.skip.contains(&ProbeGroup::Dnssec),
            ipv6: !args.skip.contains(&ProbeGroup::Ipv6),
            ipv6_vantage: match args.ipv6_vantage {
                Ipv6VantageArg::Auto => Ipv6Vantage::Auto,
                Ipv6VantageArg::Yes => Ipv6Vantage::Assume,
                Ipv6VantageArg::No => Ipv6Vantage::Without,
            },
            dkim_selectors: args.dkim_selectors.clone(),
            outbound_ips: args.outbound_ips.clone(),
        },
    })
}

/// `values`, or none when `--skip` names `group`.
fn skipping(args: &CheckArgs, group: ProbeGroup, values: &[String]) -> Vec<String> {
    if args.skip.contains(&group) {
        Vec::new()
    } else {
        values.to_vec()
    }
}

fn parse_dns_server(text: &str) -> Result<SocketAddr, AppError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| AppError::Usage(format!("--dns {text:?} is not IP or IP:PORT")))
}

fn check_address(flag: &str, value: &str) -> Result<(), AppError> {
    value
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|error| {
            AppError::Usage(format!("{flag} {value:?} is not an email address: {error}"))
        })
}

/// The domain for the random non-existent recipient: the target domain, else the valid recipient's.
fn recipient_domain(target: &Target, args: &CheckArgs) -> String {
    match target {
        Target::Domain(domain) => domain.clone(),
        Target::Host { host, .. } => args
            .rcpt_valid
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map_or_else(
                || match host.parse::<IpAddr>() {
                    Ok(ip) => format!("[{ip}]"),
                    Err(_) => host.clone(),
                },
                |(_, domain)| domain.to_string(),
            ),
    }
}

/// Letters only: postgrey folds digits, so a fresh probe must differ in letters.
fn random_letters(count: usize) -> String {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        ^ u128::from(std::process::id()) << 64;
    let mut state = seed | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}
