//! `mxdoctor demo`: starts the simulated mail systems on loopback and diagnoses each with the real `check` path.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use colored::Colorize;
use mxdoctor_checks::progress::Silent;
use mxdoctor_checks::run::run_checks;
use mxdoctor_lab::scenarios::{Lab, Scenario};
use mxdoctor_lab::smtp::LAB_CA_PEM;
use tokio::task::JoinSet;

use super::check::{diagnose, run_config};
use super::{library, print_stdout};
use crate::cli::{CheckArgs, Cli, Command, Common};
use crate::diagnose::needed_checks;
use crate::error::AppError;
use crate::playbook::Library;
use crate::report::text::TextOptions;
use crate::report::{Format, Report, render};
use crate::vocabulary::Severity;

/// One scenario's outcome.
struct Diagnosis {
    scenario: Scenario,
    command: String,
    report: Report,
}

impl Diagnosis {
    fn top(&self) -> Option<&str> {
        self.report
            .findings
            .first()
            .filter(|f| f.severity > Severity::Info || self.scenario.expected_top.is_some())
            .map(|f| f.playbook.as_str())
    }

    fn as_expected(&self) -> bool {
        match self.scenario.expected_top {
            Some(expected) => self.top() == Some(expected),
            None => self
                .report
                .findings
                .iter()
                .all(|f| f.severity == Severity::Info),
        }
    }
}

pub fn run(common: &Common) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let runtime = super::runtime()?;
    let ca_file = tempfile_with(LAB_CA_PEM)?;
    let diagnoses = runtime.block_on(diagnose_all(&library, common, ca_file.path()))?;
    drop(ca_file);
    if common.format == Format::Json {
        let rows: Vec<serde_json::Value> = diagnoses
            .iter()
            .map(|d| {
                serde_json::json!({
                    "scenario": d.scenario.name, "about": d.scenario.about, "command": d.command,
                    "expected_top": d.scenario.expected_top, "top": d.top(), "as_expected": d.as_expected(),
                    "report": d.report,
                })
            })
            .collect();
        print_stdout(&(serde_json::to_string_pretty(&rows).expect("json") + "\n"))?;
    } else {
        print_stdout(&render_text(&diagnoses, common, started))?;
    }
    Ok(u8::from(!diagnoses.iter().all(Diagnosis::as_expected)))
}

async fn diagnose_all(
    library: &Library,
    common: &Common,
    ca_file: &std::path::Path,
) -> Result<Vec<Diagnosis>, AppError> {
    let lab = Lab::start().await.map_err(|source| AppError::Io {
        path: "demo lab on 127.0.0.0/8".into(),
        source,
    })?;
    let needed = Arc::new(needed_checks(&library.playbooks));
    let mut tasks = JoinSet::new();
    let mut prepared = Vec::new();
    for (index, scenario) in lab.scenarios.iter().enumerate() {
        let arguments = lab.command_line(scenario, ca_file);
        let args = check_args(&arguments)?;
        let config = run_config(&args)?;
        let needed = Arc::clone(&needed);
        let probe_config = config.clone();
        tasks.spawn(async move {
            let began = Instant::now();
            let observations = run_checks(&probe_config, &needed, Arc::new(Silent)).await;
            (index, observations, began.elapsed())
        });
        prepared.push((
            scenario.clone(),
            format!("mxdoctor {}", arguments.join(" ")),
            args,
            config,
        ));
    }
    let mut observed = vec![(Vec::new(), std::time::Duration::ZERO); prepared.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, observations, took)) = joined {
            observed[index] = (observations, took);
        }
    }
    Ok(prepared
        .into_iter()
        .zip(observed)
        .map(
            |((scenario, command, args, config), (observations, took))| {
                let mut report = diagnose(library, &config, &args, observations, common);
                report.duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
                Diagnosis {
                    scenario,
                    command,
                    report,
                }
            },
        )
        .collect())
}

/// The scenario's command line parsed exactly as a user's would be.
fn check_args(arguments: &[String]) -> Result<CheckArgs, AppError> {
    let cli = Cli::try_parse_from(
        std::iter::once("mxdoctor".to_string()).chain(arguments.iter().cloned()),
    )
    .map_err(AppError::ScenarioCommandLine)?;
    match cli.command {
        Command::Check(args) => Ok(args),
        _ => Err(AppError::ScenarioNotCheck),
    }
}

fn render_text(diagnoses: &[Diagnosis], common: &Common, started: Instant) -> String {
    let options = TextOptions {
        platform: common.platform,
        observations: common.verbose,
        explain: common.verbose,
    };
    let mut out = String::new();
    for diagnosis in diagnoses {
        let _ = writeln!(
            out,
            "{}",
            format!(
                "━━ {} — {}",
                diagnosis.scenario.name, diagnosis.scenario.about
            )
            .bold()
        );
        let _ = writeln!(out, "{}", format!("$ {}", diagnosis.command).dimmed());
        out.push_str(&render(&diagnosis.report, Format::Text, &options));
        out.push('\n');
    }
    let _ = writeln!(out, "{}", "Summary: which playbook fired where".bold());
    let _ = writeln!(
        out,
        "  {:<22} {:<10} {:<36} expected",
        "scenario", "status", "top finding"
    );
    for diagnosis in diagnoses {
        let mark = if diagnosis.as_expected() {
            "✓".green()
        } else {
            "✗".red()
        };
        let _ = writeln!(
            out,
            "  {:<22} {:<10} {:<36} {} {}",
            diagnosis.scenario.name,
            diagnosis.report.status.as_str(),
            diagnosis.top().unwrap_or("(clean bill)"),
            mark,
            diagnosis.scenario.expected_top.unwrap_or("clean")
        );
    }
    let passed = diagnoses.iter().filter(|d| d.as_expected()).count();
    let _ = writeln!(
        out,
        "\n{passed}/{} scenarios diagnosed as expected in {:.1} s (all servers on 127.0.0.0/8, stopped now)",
        diagnoses.len(),
        started.elapsed().as_secs_f64()
    );
    out
}

/// The lab CA in a temporary file, for `--tls-ca`: created exclusively under an unpredictable name
/// (readable by this user only), removed when dropped.
fn tempfile_with(contents: &[u8]) -> Result<tempfile::NamedTempFile, AppError> {
    let io_error = |source| AppError::Io {
        path: std::env::temp_dir().display().to_string(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix("mxdoctor-lab-ca-")
        .suffix(".pem")
        .tempfile()
        .map_err(io_error)?;
    file.write_all(contents).map_err(io_error)?;
    file.flush().map_err(io_error)?;
    Ok(file)
}
