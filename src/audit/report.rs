//! An audited configuration as a report: the playbooks that read `config.*` checks evaluated on its
//! facts, remediation in the audited release's syntax; and the `--from-config` helpers of `check`
//! and `queue`.

use std::io::Read;
use std::path::Path;

use super::error::ConfigFileError;
use super::{Audited, audit_text};
use crate::cli::Common;
use crate::diagnose::{evaluate, needed_checks, rank::rank};
use crate::fortimail_version::select_release;
use crate::playbook::Playbook;
use crate::report::{EvaluatedPlaybook, Report};

/// Larger inputs are refused: a FortiMail backup is a few MB at most.
const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a configuration file (or stdin for `-`) as text, bounded in size.
pub fn read_config(path: &Path) -> Result<String, ConfigFileError> {
    let name = path.display().to_string();
    let io_error = |source| ConfigFileError::Read {
        path: name.clone(),
        source,
    };
    let mut bytes = Vec::new();
    if name == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(io_error)?;
    }
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigFileError::TooLarge {
            path: name,
            mib: MAX_CONFIG_BYTES >> 20,
        });
    }
    String::from_utf8(bytes).map_err(|_| ConfigFileError::NotUtf8 { path: name })
}

/// The playbooks with a rule over a `config.*` check.
pub fn config_playbooks(playbooks: &[Playbook]) -> Vec<&Playbook> {
    playbooks
        .iter()
        .filter(|p| {
            needed_checks(std::slice::from_ref(*p))
                .iter()
                .any(|check| check.starts_with("config."))
        })
        .collect()
}

/// Pure: audited observations in, the report out (remediation chosen for the audited release).
pub fn diagnose(playbooks: &[Playbook], audited: &Audited, target: &str) -> Report {
    let selected = config_playbooks(playbooks);
    let mut findings: Vec<_> = selected
        .iter()
        .flat_map(|p| {
            evaluate(
                std::slice::from_ref(*p),
                &audited.observations,
                audited.platform,
            )
        })
        .collect();
    if let Some(release) = &audited.version {
        for remediation in findings.iter_mut().flat_map(|f| &mut f.remediation) {
            select_release(remediation, release);
        }
    }
    rank(&mut findings);
    let mut report = Report::new("audit", target, findings, audited.observations.clone());
    report.evaluated = selected.iter().map(|p| EvaluatedPlaybook::of(p)).collect();
    report.notes.push(match (&audited.version, audited.version_source) {
        (Some(version), Some(source)) => format!(
            "{} configuration, FortiMail {version} (from {source}): remediation shows that release's syntax",
            audited.platform.as_str()
        ),
        _ if audited.platform == crate::vocabulary::Platform::Fortimail => {
            "fortimail configuration without a version header: remediation lists every release's syntax (give --fortimail-version X.Y)".into()
        }
        _ => format!("{} configuration", audited.platform.as_str()),
    });
    report
}

/// `check --from-config FILE`: the configuration's DNSBL/SURBL zones join `--dnsbl`/`--surbl` (so
/// the live latency probe queries them), and its audited observations join the live ones.
pub fn for_check(
    args: &crate::cli::CheckArgs,
    common: &Common,
) -> Result<(crate::cli::CheckArgs, Option<Audited>), ConfigFileError> {
    let Some(audited) = from_config(args.from_config.as_deref(), common)? else {
        return Ok((args.clone(), None));
    };
    let (dnsbl, surbl) = super::list_zones(&audited.observations);
    let mut args = args.clone();
    for zone in dnsbl {
        if !args.dnsbls.contains(&zone) {
            args.dnsbls.push(zone);
        }
    }
    for zone in surbl {
        if !args.surbls.contains(&zone) {
            args.surbls.push(zone);
        }
    }
    Ok((args, Some(audited)))
}

/// Reads and audits `--from-config FILE` when one was given.
pub fn from_config(
    path: Option<&Path>,
    common: &Common,
) -> Result<Option<Audited>, ConfigFileError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = read_config(path)?;
    audit_text(&text, common.platform, common.fortimail_version.as_deref())
        .map(Some)
        .map_err(|source| ConfigFileError::Audit {
            path: path.display().to_string(),
            source,
        })
}

/// Chooses the audited release's syntax in a report's remediation (when no flag chose one).
pub fn select_audited_release(report: &mut Report, audited: Option<&Audited>) {
    if let Some(release) = audited.and_then(|a| a.version.as_deref()) {
        for remediation in report.findings.iter_mut().flat_map(|f| &mut f.remediation) {
            select_release(remediation, release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Library;
    use crate::vocabulary::Platform;

    fn audited(text: &str) -> Audited {
        audit_text(text, Platform::Generic, None).expect("audits")
    }

    #[test]
    fn no_config_fact_means_no_finding_even_with_live_rules_around() {
        let library = Library::load(&[]).expect("shipped playbooks load");
        let quiet = Audited {
            platform: Platform::Postfix,
            version: None,
            version_source: None,
            observations: Vec::new(),
        };
        assert!(
            diagnose(&library.playbooks, &quiet, "empty")
                .findings
                .is_empty()
        );
        let report = diagnose(
            &library.playbooks,
            &audited("myhostname = mx.example.test\n"),
            "x",
        );
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(!report.evaluated.is_empty());
    }

    #[test]
    fn a_mask_written_either_way_is_the_same_catch_all() {
        for client in ["0.0.0.0/0", "0.0.0.0 0.0.0.0", "0.0.0.0/0.0.0.0"] {
            let text = format!(
                "config policy ip\n edit 1\n  set client {client}\n  set action reject\n next\nend\n"
            );
            let facts = audited(&text);
            assert!(
                !facts
                    .observations
                    .iter()
                    .any(|o| o.check == "config.ip_policy"),
                "{client}: {:?}",
                facts.observations
            );
        }
        let narrow = audited(
            "config policy ip\n edit 1\n  set client 10.0.0.0 255.0.0.0\n  set action reject\n next\nend\n",
        );
        assert!(
            narrow
                .observations
                .iter()
                .any(|o| o.check == "config.ip_policy")
        );
    }
}
