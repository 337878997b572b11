//! Turns the aggregated queue into observations (`queue.summary`, `queue.destination`, `queue.hold`)
//! so the same playbook engine that judges live probes judges the queue.

use std::fmt::Write as _;
use std::time::Duration;

use mxdoctor_model::Observation;
use mxdoctor_model::observation::{Data, Outcome, QueueData};

use super::aggregate::{DestinationStats, GroupStats, QueueAggregate};
use super::bounded::OTHER_KEY;
use super::time::{format_age, format_duration};

pub const SUMMARY_CHECK: &str = "queue.summary";
pub const DESTINATION_CHECK: &str = "queue.destination";
pub const HOLD_CHECK: &str = "queue.hold";

/// The observations of a queue listing: one summary (subject: the listing), one per destination with
/// deferred mail (the `top` busiest), one per hold queue with messages.
pub fn observations(aggregate: &QueueAggregate, listing: &str, top: usize) -> Vec<Observation> {
    let mut observations = vec![summary(aggregate, listing)];
    observations.extend(
        aggregate
            .destinations
            .ranked()
            .into_iter()
            .filter(|(domain, stats)| *domain != OTHER_KEY && stats.group.messages > 0)
            .take(top)
            .map(|(domain, stats)| destination(aggregate, domain, stats)),
    );
    observations.extend(
        aggregate
            .holds
            .iter()
            .filter(|(_, group)| group.messages > 0)
            .map(|(hold, group)| {
                let name = hold.as_str();
                let ids = group.oldest.ids();
                let detail = format!(
                    "{} held, oldest {}{}",
                    group.messages,
                    format_age(group.oldest_age_secs),
                    ids_suffix(&ids)
                );
                let data = QueueData {
                    held: group.messages,
                    ..queue_data(name, group, None)
                };
                observation(HOLD_CHECK, name, Outcome::Fail, detail, data)
            }),
    );
    observations
}

fn summary(aggregate: &QueueAggregate, listing: &str) -> Observation {
    let total = &aggregate.total;
    let deferred = &aggregate.deferred;
    let settings = &aggregate.settings;
    let top_reason = aggregate
        .reasons
        .ranked()
        .into_iter()
        .find(|(reason, _)| *reason != OTHER_KEY);
    let mut detail = format!(
        "{} message{}: {} deferred ({} slow, {} regular), {} held, {} in flight",
        total.messages,
        if total.messages == 1 { "" } else { "s" },
        deferred.messages,
        deferred.slow,
        deferred.regular,
        aggregate.held(),
        aggregate.in_flight
    );
    if deferred.messages > 0 {
        let _ = write!(
            detail,
            "; {} past the DSN warning ({}), {} near and {} past the lifetime ({}); oldest deferred {}",
            deferred.past_dsn_warn,
            format_duration(settings.dsn_warn_secs),
            deferred.near_lifetime,
            deferred.past_lifetime,
            format_duration(settings.max_lifetime_secs),
            format_age(deferred.oldest_age_secs)
        );
    }
    if let Some((reason, stats)) = top_reason {
        let _ = write!(detail, "; top reason ({}): {reason}", stats.group.messages);
    }
    if total.dead_candidates > 0 {
        let examples: Vec<String> = aggregate
            .dead_examples
            .iter()
            .map(|dead| {
                let sender = if dead.sender.is_empty() {
                    "<>"
                } else {
                    dead.sender.as_str()
                };
                format!("{} {sender} → {} ({})", dead.id, dead.recipient, dead.queue)
            })
            .collect();
        let _ = write!(
            detail,
            "; {} dead-mail candidate{} (DSN cannot be delivered), e.g. {}",
            total.dead_candidates,
            if total.dead_candidates == 1 { "" } else { "s" },
            examples.join(", ")
        );
    }
    let sample = if deferred.messages > 0 {
        deferred
    } else {
        total
    };
    let data = QueueData {
        held: aggregate.held(),
        oldest_age_secs: total.oldest_age_secs,
        sample_ids: sample.oldest.ids(),
        ..queue_data("all", total, top_reason.map(|(reason, _)| reason))
    };
    let healthy = deferred.messages == 0 && total.dead_candidates == 0 && aggregate.held() == 0;
    let outcome = if healthy { Outcome::Ok } else { Outcome::Fail };
    observation(SUMMARY_CHECK, listing, outcome, detail, data)
}

fn destination(aggregate: &QueueAggregate, domain: &str, stats: &DestinationStats) -> Observation {
    let group = &stats.group;
    let settings = &aggregate.settings;
    let mut detail = format!(
        "{} deferred ({} slow, {} regular), oldest {}",
        group.messages,
        group.slow,
        group.regular,
        format_age(group.oldest_age_secs)
    );
    if group.past_dsn_warn > 0 {
        let _ = write!(
            detail,
            ", {} past the DSN warning ({})",
            group.past_dsn_warn,
            format_duration(settings.dsn_warn_secs)
        );
    }
    if group.near_lifetime + group.past_lifetime > 0 {
        let _ = write!(
            detail,
            ", {} near and {} past the lifetime ({})",
            group.near_lifetime,
            group.past_lifetime,
            format_duration(settings.max_lifetime_secs)
        );
    }
    let top_reason = stats.top_reason();
    match top_reason {
        Some((reason, count))
            if count.example.is_empty() || normalised_equals(reason, &count.example) =>
        {
            let _ = write!(detail, "; reason ({}): {reason}", count.messages);
        }
        Some((reason, count)) => {
            let _ = write!(
                detail,
                "; reason ({}): {reason} — e.g. \"{}\"",
                count.messages,
                count.example.trim()
            );
        }
        None => detail.push_str("; no delay reason listed"),
    }
    let ids = group.oldest.ids();
    detail.push_str(&ids_suffix(&ids));
    let outcome =
        if group.slow + group.past_dsn_warn + group.near_lifetime + group.past_lifetime > 0 {
            Outcome::Fail
        } else {
            Outcome::Ok
        };
    let data = queue_data(domain, group, top_reason.map(|(reason, _)| reason));
    observation(DESTINATION_CHECK, domain, outcome, detail, data)
}

fn normalised_equals(normalised: &str, example: &str) -> bool {
    normalised == example.trim()
}

fn ids_suffix(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!("; oldest ids: {}", ids.join(" "))
    }
}

fn queue_data(name: &str, group: &GroupStats, top_reason: Option<&str>) -> QueueData {
    QueueData {
        name: name.to_string(),
        messages: group.messages,
        regular: group.regular,
        slow: group.slow,
        held: 0,
        visible: group.visible,
        past_dsn_warn: group.past_dsn_warn,
        past_lifetime: group.past_lifetime,
        near_lifetime: group.near_lifetime,
        dead_candidates: group.dead_candidates,
        oldest_age_secs: group.oldest_age_secs,
        top_reason: top_reason.map(str::to_string),
        sample_ids: group.oldest.ids(),
    }
}

fn observation(
    check: &str,
    subject: &str,
    outcome: Outcome,
    detail: String,
    data: QueueData,
) -> Observation {
    Observation::new(
        check,
        subject,
        outcome,
        Duration::ZERO,
        detail,
        Data::Queue(data),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::model::{
        HoldQueue, QueueKind, QueueSettings, QueuedMessage, QueuedRecipient,
    };

    fn queued(
        kind: QueueKind,
        id: &str,
        age: u64,
        sender: &str,
        to: &str,
        reason: Option<&str>,
    ) -> QueuedMessage<'static> {
        QueuedMessage {
            kind,
            queue_label: kind.as_str().to_string().into(),
            id: id.to_string().into(),
            arrival: 1_000_000 - age,
            tries: None,
            listed_slow: false,
            forced_expire: false,
            sender: sender.to_string().into(),
            recipients: vec![QueuedRecipient {
                address: to.to_string().into(),
                delay_reason: reason.map(|r| r.to_string().into()),
            }],
        }
    }

    fn data(observation: &Observation) -> &QueueData {
        match &observation.data {
            Data::Queue(data) => data,
            other => panic!("queue data expected, got {other:?}"),
        }
    }

    #[test]
    fn summary_destination_and_hold_observations() {
        let mut aggregate = QueueAggregate::new(QueueSettings::new(1_000_000));
        let refused = "connect to mx.dead.test[192.0.2.7]:25: Connection refused";
        aggregate.add(&queued(
            QueueKind::Deferred,
            "D1",
            5 * 3600,
            "a@ok.example",
            "x@dead.test",
            Some(refused),
        ));
        aggregate.add(&queued(
            QueueKind::Deferred,
            "D2",
            120,
            "a@ok.example",
            "y@dead.test",
            Some(refused),
        ));
        aggregate.add(&queued(
            QueueKind::Deferred,
            "B1",
            4 * 86_400 + 10,
            "MAILER-DAEMON",
            "z@harvest.test",
            Some("Host not found"),
        ));
        aggregate.add(&queued(
            QueueKind::Hold(HoldQueue::VirusOutbreak),
            "V1",
            900,
            "a@ok.example",
            "b@ok.example",
            None,
        ));
        let observations = observations(&aggregate, "sample.jsonl", 10);
        let checks: Vec<(&str, &str)> = observations
            .iter()
            .map(|o| (o.check.as_str(), o.subject.as_str()))
            .collect();
        assert_eq!(
            checks,
            [
                (SUMMARY_CHECK, "sample.jsonl"),
                (DESTINATION_CHECK, "dead.test"),
                (DESTINATION_CHECK, "harvest.test"),
                (HOLD_CHECK, "virus-outbreak")
            ]
        );
        let summary = data(&observations[0]);
        assert_eq!(
            (
                summary.messages,
                summary.slow,
                summary.regular,
                summary.held
            ),
            (4, 2, 1, 1)
        );
        assert_eq!(
            (
                summary.past_dsn_warn,
                summary.near_lifetime,
                summary.dead_candidates
            ),
            (2, 1, 1)
        );
        assert_eq!(summary.sample_ids, ["B1", "D1", "D2"]);
        assert!(
            observations[0].detail.contains("1 dead-mail candidate"),
            "{}",
            observations[0].detail
        );
        let dead = data(&observations[1]);
        assert_eq!(
            (
                dead.name.as_str(),
                dead.messages,
                dead.slow,
                dead.past_dsn_warn
            ),
            ("dead.test", 2, 1, 1)
        );
        assert_eq!(
            dead.top_reason.as_deref(),
            Some("connect to mx.dead.test[<ip>]:<n>: Connection refused")
        );
        assert!(
            observations[1].detail.contains(refused),
            "{}",
            observations[1].detail
        );
        assert_eq!(observations[1].outcome, Outcome::Fail);
        let hold = data(&observations[3]);
        assert_eq!(
            (hold.name.as_str(), hold.held, hold.messages),
            ("virus-outbreak", 1, 1)
        );
    }

    #[test]
    fn an_empty_queue_is_one_healthy_summary() {
        let aggregate = QueueAggregate::new(QueueSettings::new(1));
        let observations = observations(&aggregate, "-", 10);
        assert_eq!(observations.len(), 1);
        assert_eq!(observations[0].outcome, Outcome::Ok);
    }
}
