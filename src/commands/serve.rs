//! `mxdoctor serve`: a Prometheus multi-target exporter (the blackbox_exporter pattern).
//! `GET /probe?target=DOMAIN[&profile=ci]` runs a check and answers its metrics; `/metrics` answers the
//! exporter's own. The socket side is `mxdoctor_checks::serve`; this is the handler.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::ValueEnum;
use mxdoctor_checks::progress::Silent;
use mxdoctor_checks::run::run_checks;
use mxdoctor_checks::serve::{Handler, HttpRequest, HttpResponse, listen_and_serve};
use tokio::sync::Semaphore;

use super::check::{diagnose, run_config};
use super::{finish_report, library};
use crate::cli::{CheckArgs, Common, ServeArgs};
use crate::diagnose::needed_checks;
use crate::error::AppError;
use crate::playbook::Library;
use crate::profile::Profile;
use crate::report::prometheus::{self, Exposition, MetricKind};
use crate::vocabulary::Status;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn run(common: &Common, args: &ServeArgs) -> Result<u8, AppError> {
    if args.probe.record.is_some() {
        return Err(AppError::Usage(
            "--record is for `check`; serve answers metrics only".into(),
        ));
    }
    let address: SocketAddr = args
        .listen
        .parse()
        .map_err(|_| AppError::Usage(format!("--listen {:?} is not IP:PORT", args.listen)))?;
    let exporter = Arc::new(Exporter::new(library(common)?, common, args));
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let handler: Handler = Arc::new(move |request| {
            let exporter = Arc::clone(&exporter);
            Box::pin(async move { exporter.answer(&request).await })
        });
        let announce = |bound| {
            eprintln!(
                "mxdoctor serve: listening on http://{bound}/ (GET /probe?target=DOMAIN, GET /metrics)"
            );
        };
        // Ctrl-C ends the exporter cleanly; if the signal cannot be watched, serve until killed.
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        listen_and_serve(address, handler, announce, ctrl_c)
            .await
            .map_err(|source| AppError::Io {
                path: format!("listen {address}"),
                source,
            })?;
        Ok(0)
    })
}

/// The exporter's own counters (`/metrics`).
#[derive(Debug, Default)]
struct Counters {
    /// Probes run, by resulting status: ok, warning, critical, unknown.
    by_status: [AtomicU64; 4],
    forbidden: AtomicU64,
    busy: AtomicU64,
    bad_request: AtomicU64,
    in_flight: AtomicU64,
    probe_millis: AtomicU64,
}

struct Exporter {
    library: Library,
    needed: BTreeSet<String>,
    common: Common,
    defaults: CheckArgs,
    allow_targets: Vec<String>,
    probes: Semaphore,
    max_concurrent: u32,
    counters: Counters,
}

impl Exporter {
    fn new(library: Library, common: &Common, args: &ServeArgs) -> Self {
        Self {
            needed: needed_checks(&library.playbooks),
            library,
            common: common.clone(),
            defaults: args.probe.clone(),
            allow_targets: args.allow_targets.clone(),
            probes: Semaphore::new(args.max_concurrent as usize),
            max_concurrent: args.max_concurrent,
            counters: Counters::default(),
        }
    }

    async fn answer(&self, request: &HttpRequest) -> HttpResponse {
        match request.path.as_str() {
            "/probe" => self.probe(request).await,
            "/metrics" => HttpResponse::new(200, PROMETHEUS_TEXT, self.own_metrics()),
            "/" => HttpResponse::text(
                200,
                "mxdoctor exporter\n  GET /probe?target=DOMAIN[&profile=health|ci|triage]  run a check, answer its metrics\n  GET /metrics  the exporter's own metrics",
            ),
            _ => HttpResponse::text(404, "not found: try /probe?target=DOMAIN or /metrics"),
        }
    }

    async fn probe(&self, request: &HttpRequest) -> HttpResponse {
        let refuse = |counter: &AtomicU64, status: u16, message: String| {
            counter.fetch_add(1, Ordering::Relaxed);
            HttpResponse::text(status, message)
        };
        let Some(target) = request
            .param("target")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return refuse(&self.counters.bad_request, 400, "missing ?target=".into());
        };
        if !target_allowed(&self.allow_targets, target) {
            return refuse(
                &self.counters.forbidden,
                403,
                format!("target {target:?} is not allowed by --allow-target"),
            );
        }
        let profile = match request
            .param("profile")
            .map(|name| Profile::from_str(name, true))
        {
            None => self.common.profile,
            Some(Ok(profile)) => Some(profile),
            Some(Err(_)) => {
                return refuse(
                    &self.counters.bad_request,
                    400,
                    "profile must be health, ci or triage".into(),
                );
            }
        };
        let mut args = self.defaults.clone();
        args.target = target.to_string();
        let args = args.with_profile(profile);
        let config = match run_config(&args) {
            Ok(config) => config,
            Err(error) => return refuse(&self.counters.bad_request, 400, error.to_string()),
        };
        let Ok(_permit) = self.probes.try_acquire() else {
            return refuse(
                &self.counters.busy,
                503,
                format!(
                    "{} probes already running (--max-concurrent)",
                    self.max_concurrent
                ),
            );
        };
        self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let observations = run_checks(&config, &self.needed, Arc::new(Silent)).await;
        let mut report = diagnose(&self.library, &config, &args, observations, &self.common);
        finish_report(&mut report, started);
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.counters
            .probe_millis
            .fetch_add(report.duration_ms, Ordering::Relaxed);
        self.counters.by_status[usize::from(report.status.exit_code())]
            .fetch_add(1, Ordering::Relaxed);
        HttpResponse::new(200, PROMETHEUS_TEXT, prometheus::render(&report))
    }

    fn own_metrics(&self) -> String {
        let counters = &self.counters;
        let mut exposition = Exposition::default();
        exposition.family(
            "mxdoctor_exporter_probes_total",
            MetricKind::Counter,
            "Probes run, by the status of their diagnosis.",
        );
        for status in [
            Status::Ok,
            Status::Warning,
            Status::Critical,
            Status::Unknown,
        ] {
            let count = counters.by_status[usize::from(status.exit_code())].load(Ordering::Relaxed);
            exposition.sample(
                "mxdoctor_exporter_probes_total",
                &[("status", status.as_str())],
                count as f64,
            );
        }
        exposition.family(
            "mxdoctor_exporter_requests_refused_total",
            MetricKind::Counter,
            "Probe requests refused, by reason.",
        );
        for (reason, counter) in [
            ("forbidden", &counters.forbidden),
            ("busy", &counters.busy),
            ("bad_request", &counters.bad_request),
        ] {
            exposition.sample(
                "mxdoctor_exporter_requests_refused_total",
                &[("reason", reason)],
                counter.load(Ordering::Relaxed) as f64,
            );
        }
        exposition
            .family(
                "mxdoctor_exporter_probes_in_flight",
                MetricKind::Gauge,
                "Probes running now.",
            )
            .sample(
                "mxdoctor_exporter_probes_in_flight",
                &[],
                counters.in_flight.load(Ordering::Relaxed) as f64,
            );
        exposition
            .family(
                "mxdoctor_exporter_probe_seconds_total",
                MetricKind::Counter,
                "Time spent probing.",
            )
            .sample(
                "mxdoctor_exporter_probe_seconds_total",
                &[],
                counters.probe_millis.load(Ordering::Relaxed) as f64 / 1000.0,
            );
        exposition
            .family(
                "mxdoctor_exporter_max_concurrent_probes",
                MetricKind::Gauge,
                "The --max-concurrent limit.",
            )
            .sample(
                "mxdoctor_exporter_max_concurrent_probes",
                &[],
                f64::from(self.max_concurrent),
            );
        exposition.finish()
    }
}

/// Whether `target` matches one of `patterns` (none given: everything is allowed). `*` matches any
/// run of characters; case and a trailing dot are ignored.
pub fn target_allowed(patterns: &[String], target: &str) -> bool {
    let normal = |text: &str| text.trim_end_matches('.').to_ascii_lowercase();
    patterns.is_empty()
        || patterns
            .iter()
            .any(|pattern| wildcard_match(&normal(pattern), &normal(target)))
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_patterns_match_whole_names() {
        let patterns = vec![
            "*.lab.test".to_string(),
            "mx?.example.com".to_string(),
            "a*b*c".to_string(),
        ];
        assert!(target_allowed(&patterns, "open-relay.lab.test"));
        assert!(target_allowed(&patterns, "Open-Relay.LAB.test."));
        assert!(!target_allowed(&patterns, "lab.test.evil.example"));
        assert!(
            !target_allowed(&patterns, "mx1.example.com"),
            "? is literal"
        );
        assert!(
            target_allowed(&patterns, "abxc")
                && target_allowed(&patterns, "abc")
                && !target_allowed(&patterns, "acb")
        );
        assert!(target_allowed(&[], "anything.example"));
    }
}
