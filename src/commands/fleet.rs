//! `mxdoctor check --targets FILE`: checks many targets at once, a bounded number at a time, and
//! streams one report per target as each finishes (JSON Lines, or one table row).
//!
//! Memory stays bounded by `--concurrency`, not by the number of targets: targets are read as
//! slots free up and each report is printed and dropped as soon as it is ready.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mxdoctor_checks::dns::DnsClient;
use mxdoctor_checks::progress::Silent;
use mxdoctor_checks::resolver_trust;
use mxdoctor_checks::run::{RunConfig, run_checks};
use mxdoctor_model::observation::ResolverData;
use mxdoctor_model::{Data, Observation, Outcome};
use tokio::task::JoinSet;

use super::check::{run_config, vantage};
use super::{finish_report, library};
use crate::cli::{CheckArgs, Common};
use crate::diagnose::needed_checks;
use crate::diagnose::{Diagnoser, Input};
use crate::error::AppError;
use crate::report::{Format, Report};
use crate::vocabulary::Status;

/// Longest target line read; longer lines are reported as invalid targets, not buffered.
const MAX_TARGET_LINE: u64 = 4096;

pub fn run(common: &Common, args: &CheckArgs, file: &Path) -> Result<u8, AppError> {
    if !args.target.is_empty() {
        return Err(AppError::Usage(
            "give either TARGET or --targets FILE, not both".into(),
        ));
    }
    if common.baseline.is_some() || !common.reports.is_empty() || args.record.is_some() {
        return Err(AppError::Usage(
            "--baseline, --report and --record work on one target; with --targets use --format json and process the lines".into(),
        ));
    }
    if !matches!(common.format, Format::Json | Format::Text) {
        return Err(AppError::Usage(
            "with --targets the output is JSON Lines (--format json) or a text table".into(),
        ));
    }
    let io_error = |source| AppError::Io {
        path: file.display().to_string(),
        source,
    };
    let mut targets = BufReader::new(File::open(file).map_err(io_error)?);
    let started = Instant::now();
    let library = Arc::new(library(common)?);
    let args = Arc::new(args.with_profile(common.profile));
    let needed = Arc::new(needed_checks(&library.playbooks));
    let platform = common.platform;
    let limit = args.concurrency as usize;

    let runtime = super::runtime()?;
    let mut stdout = std::io::stdout().lock();
    let mut tally = Tally::default();
    let mut vantage_label: Option<Arc<String>> = None;
    // Every target uses the same resolver: it is judged once, before the first target runs.
    let mut resolver_trust: Option<Observation> = None;
    runtime.block_on(async {
        let mut running: JoinSet<Report> = JoinSet::new();
        let mut exhausted = false;
        loop {
            while !exhausted && running.len() < limit {
                let Some(target) = next_target(&mut targets).map_err(io_error)? else {
                    exhausted = true;
                    break;
                };
                let (library, args, needed) =
                    (Arc::clone(&library), Arc::clone(&args), Arc::clone(&needed));
                let mut config = {
                    let mut one = (*args).clone();
                    one.target.clone_from(&target);
                    run_config(&one)
                };
                if let Ok(config) = &mut config {
                    if resolver_trust.is_none() {
                        resolver_trust = Some(judge_resolver_once(config).await);
                    }
                    config.resolver_trust.clone_from(&resolver_trust);
                }
                let vantage = match (&config, &vantage_label) {
                    (Ok(config), None) => {
                        let label = Arc::new(vantage(config));
                        vantage_label = Some(Arc::clone(&label));
                        label
                    }
                    (_, Some(label)) => Arc::clone(label),
                    (Err(_), None) => Arc::new(String::new()),
                };
                running.spawn(async move {
                    let target_started = Instant::now();
                    let mut report = match config {
                        Ok(config) => {
                            let observations = run_checks(&config, &needed, Arc::new(Silent)).await;
                            Diagnoser::new(&library.playbooks, platform).diagnose(Input::Probes {
                                command: "check",
                                target: &target,
                                vantage: (*vantage).clone(),
                                observations,
                            })
                        }
                        Err(error) => {
                            let mut report = Report::new("check", target, Vec::new(), Vec::new());
                            report.status = Status::Unknown;
                            report.notes.push(error.to_string());
                            report
                        }
                    };
                    finish_report(&mut report, target_started);
                    report
                });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let report = joined.map_err(AppError::TargetTask)?;
            tally.add(report.status);
            let line = match common.format {
                Format::Json => serde_json::to_string(&report).expect("a report always serialises"),
                _ => table_row(&report),
            };
            if writeln!(stdout, "{line}").is_err() {
                break;
            }
        }
        Ok::<(), AppError>(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = tally.summary(seconds);
    if common.format == Format::Json {
        eprintln!("{summary}");
    } else {
        let _ = writeln!(stdout, "{summary}");
    }
    let _ = stdout.flush();
    Ok(tally.exit_code())
}

/// The resolver trust observation shared by every target of a fleet run (no public suffix: the
/// targets differ; the root zone and the random name judge the resolver alone).
async fn judge_resolver_once(config: &RunConfig) -> Observation {
    match DnsClient::new(&config.dns_servers, config.timeout) {
        Ok(dns) => resolver_trust::probe(&dns, None).await,
        Err(message) => Observation::new(
            "dns.resolver",
            "resolver",
            Outcome::Error,
            std::time::Duration::ZERO,
            format!("this resolver cannot be trusted from here: cannot set up DNS: {message}"),
            Data::Resolver(ResolverData {
                verdict: resolver_trust::UNUSABLE.to_owned(),
                ..ResolverData::default()
            }),
        ),
    }
}

/// The next target: trimmed, blank lines and `#` comments skipped; `None` at the end.
fn next_target<R: BufRead>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    loop {
        line.clear();
        let read = Read::take(&mut *reader, MAX_TARGET_LINE).read_line(&mut line)?;
        if read == 0 {
            return Ok(None);
        }
        if read as u64 == MAX_TARGET_LINE && !line.ends_with('\n') {
            // Skip the rest of an over-long line; it is not a target.
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest)?;
            return Ok(Some("(line too long)".into()));
        }
        let target = line.trim();
        if !target.is_empty() && !target.starts_with('#') {
            return Ok(Some(target.to_string()));
        }
    }
}

/// `STATUS  TARGET  DURATION  top findings`.
fn table_row(report: &Report) -> String {
    let mut row = format!(
        "{:<8} {:<40} {:>6} ms ",
        report.status.as_str().to_uppercase(),
        report.target,
        report.duration_ms
    );
    let top: Vec<&str> = report
        .findings
        .iter()
        .take(3)
        .map(|f| f.playbook.as_str())
        .collect();
    if top.is_empty() {
        row.push_str(report.notes.first().map_or("-", String::as_str));
    } else {
        row.push_str(&top.join(", "));
        if report.findings.len() > 3 {
            let _ = write!(row, " (+{})", report.findings.len() - 3);
        }
    }
    row
}

/// Counts per status, for the summary line and the exit code.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    warning: u64,
    critical: u64,
    unknown: u64,
}

impl Tally {
    fn add(&mut self, status: Status) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Warning => self.warning += 1,
            Status::Critical => self.critical += 1,
            Status::Unknown => self.unknown += 1,
        }
    }

    fn total(&self) -> u64 {
        self.ok + self.warning + self.critical + self.unknown
    }

    fn summary(&self, seconds: f64) -> String {
        format!(
            "{} targets in {seconds:.1} s ({:.0}/s): {} ok, {} warning, {} critical, {} unknown",
            self.total(),
            self.total() as f64 / seconds.max(0.001),
            self.ok,
            self.warning,
            self.critical,
            self.unknown
        )
    }

    /// The worst status: critical, then warning, then unknown, then ok.
    fn exit_code(&self) -> u8 {
        let worst = if self.critical > 0 {
            Status::Critical
        } else if self.warning > 0 {
            Status::Warning
        } else if self.unknown > 0 || self.total() == 0 {
            Status::Unknown
        } else {
            Status::Ok
        };
        worst.exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_skip_comments_and_blank_lines() {
        let mut input = "# fleet\n\nexample.test\n  mx.example.test:2525  \n".as_bytes();
        assert_eq!(
            next_target(&mut input).unwrap().as_deref(),
            Some("example.test")
        );
        assert_eq!(
            next_target(&mut input).unwrap().as_deref(),
            Some("mx.example.test:2525")
        );
        assert_eq!(next_target(&mut input).unwrap(), None);
    }

    #[test]
    fn worst_status_wins_and_unknown_only_beats_ok() {
        let mut tally = Tally::default();
        tally.add(Status::Ok);
        tally.add(Status::Unknown);
        assert_eq!(tally.exit_code(), 3);
        tally.add(Status::Warning);
        assert_eq!(tally.exit_code(), 1);
        tally.add(Status::Critical);
        assert_eq!(tally.exit_code(), 2);
    }
}
