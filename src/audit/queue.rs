//! `queue --from-config FILE`: the audited configuration's queue settings against what the queue
//! listing shows — Postfix lifetimes become the queue's judgement thresholds, and FortiMail mail
//! held in the spam-outbreak queue longer than `outbreak-protection-period` becomes a fact.

use std::time::Duration;

use mxdoctor_model::observation::ConfigData;
use mxdoctor_model::{Data, Observation, Outcome};

use super::Audited;
use crate::diagnose::evaluate;
use crate::playbook::Playbook;
use crate::queue::model::QueueSettings;
use crate::report::Report;

fn config_seconds(audited: &Audited, rule: &str, setting: &str) -> Option<u64> {
    audited.observations.iter().find_map(|o| match &o.data {
        Data::Config(c) if o.check == "config.queue" && c.rule == rule && c.setting == setting => {
            c.seconds
        }
        _ => None,
    })
}

/// Postfix `delay_warning_time` and `maximal_queue_lifetime`, when the configuration sets them,
/// replace `--dsn-warn` and `--max-lifetime`.
pub fn apply_lifetimes(audited: &Audited, settings: &mut QueueSettings) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(warn) = config_seconds(audited, "setting", "delay_warning_time").filter(|s| *s > 0)
    {
        settings.dsn_warn_secs = warn;
        notes.push(format!(
            "DSN warning age from the configuration (delay_warning_time): {warn} s"
        ));
    }
    if let Some(life) =
        config_seconds(audited, "setting", "maximal_queue_lifetime").filter(|s| *s > 0)
    {
        settings.max_lifetime_secs = life;
        notes.push(format!(
            "queue lifetime from the configuration (maximal_queue_lifetime): {life} s"
        ));
    }
    notes
}

/// Adds the configuration's observations to a queue report, plus an `outbreak_hold_exceeded` fact
/// when spam-outbreak mail is older than the configured hold period, and re-evaluates the
/// playbooks whose rules read `config.*` checks.
pub fn cross_check(playbooks: &[Playbook], audited: &Audited, report: &mut Report) {
    let mut extra = audited.observations.clone();
    if let Some(period) = config_seconds(audited, "outbreak_period", "outbreak-protection-period") {
        for observation in &report.observations {
            let Data::Queue(hold) = &observation.data else {
                continue;
            };
            if observation.check != "queue.hold" || hold.name != "spam-outbreak" || hold.held == 0 {
                continue;
            }
            if hold.oldest_age_secs > period {
                extra.push(Observation::new(
                    "config.queue",
                    "spam-outbreak",
                    Outcome::Fail,
                    Duration::ZERO,
                    format!(
                        "the oldest message held for spam outbreak protection is {} min old, longer than outbreak-protection-period {} min: the second FortiGuard query did not release it",
                        hold.oldest_age_secs / 60,
                        period / 60
                    ),
                    Data::Config(ConfigData {
                        platform: "fortimail".into(),
                        version: audited.version.clone(),
                        rule: "outbreak_hold_exceeded".into(),
                        object: "system fortiguard antispam".into(),
                        setting: "outbreak-protection-period".into(),
                        value: (period / 60).to_string(),
                        values: Vec::new(),
                        seconds: Some(hold.oldest_age_secs),
                        line: 0,
                    }),
                ));
            }
        }
    }
    report.observations.extend(extra);
    // Only the queue playbooks: a queue report is about the queue, `audit` reports the rest.
    let reads_config = |p: &&Playbook| {
        let checks = crate::diagnose::needed_checks(std::slice::from_ref(*p));
        checks.iter().any(|c| c.starts_with("config."))
            && checks.iter().any(|c| c.starts_with("queue."))
    };
    for playbook in playbooks.iter().filter(reads_config) {
        let fresh = evaluate(
            std::slice::from_ref(playbook),
            &report.observations,
            audited.platform,
        );
        report.findings.retain(|f| f.playbook != playbook.id);
        report.findings.extend(fresh);
    }
    report.status =
        crate::vocabulary::Status::from_severities(report.findings.iter().map(|f| f.severity));
    crate::diagnose::rank::rank(&mut report.findings);
}
