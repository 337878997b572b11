//! The queue section of a report: qshape-style age histograms of the deferred queue, its top
//! destinations and top delay reasons. Serialised as the report's optional `queue` member.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::aggregate::{GroupStats, QueueAggregate};
use super::histogram::BUCKET_LABELS;

/// One row of the shape table: a destination, a reason, or the whole deferred queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRow {
    pub name: String,
    pub messages: u64,
    pub slow: u64,
    pub past_dsn_warn: u64,
    pub oldest_age_secs: u64,
    /// Messages per age bucket, as [`QueueOverview::buckets_minutes`] labels them.
    pub histogram: Vec<u64>,
    /// The destination's most frequent normalised delay reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_reason: Option<String>,
    /// One original text of the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

impl QueueRow {
    fn new(name: &str, group: &GroupStats) -> Self {
        Self {
            name: name.to_string(),
            messages: group.messages,
            slow: group.slow,
            past_dsn_warn: group.past_dsn_warn,
            oldest_age_secs: group.oldest_age_secs,
            histogram: group.histogram.buckets.to_vec(),
            top_reason: None,
            example: None,
        }
    }
}

/// What the queue command saw, beyond findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueOverview {
    /// `postqueue-json` or `fortimail-csv`.
    pub input: String,
    /// The moment the queue was judged at (Unix seconds).
    pub now_unix: u64,
    pub dsn_warn_secs: u64,
    pub max_lifetime_secs: u64,
    pub records: u64,
    pub malformed: u64,
    /// Messages per queue, as the listing names them.
    pub queues: BTreeMap<String, u64>,
    /// Upper bounds of the histogram buckets in minutes (`1280+`: older).
    pub buckets_minutes: Vec<String>,
    /// The whole deferred queue.
    pub deferred: QueueRow,
    /// Busiest destinations first.
    pub destinations: Vec<QueueRow>,
    /// Most frequent normalised delay reasons first.
    pub reasons: Vec<QueueRow>,
}

/// The overview of `aggregate`, with the `top` destinations and reasons.
pub fn overview(
    aggregate: &QueueAggregate,
    input: &str,
    records: u64,
    malformed: u64,
    top: usize,
) -> QueueOverview {
    let destinations = aggregate
        .destinations
        .ranked()
        .into_iter()
        .take(top)
        .map(|(domain, stats)| {
            let mut row = QueueRow::new(domain, &stats.group);
            if let Some((reason, count)) = stats.top_reason() {
                row.top_reason = Some(reason.to_string());
                row.example =
                    Some(count.example.clone()).filter(|e| !e.is_empty() && e.trim() != reason);
            }
            row
        })
        .collect();
    let reasons = aggregate
        .reasons
        .ranked()
        .into_iter()
        .take(top)
        .map(|(reason, stats)| {
            let mut row = QueueRow::new(reason, &stats.group);
            row.example =
                Some(stats.example.clone()).filter(|e| !e.is_empty() && e.trim() != reason);
            row
        })
        .collect();
    QueueOverview {
        input: input.to_string(),
        now_unix: aggregate.settings.now,
        dsn_warn_secs: aggregate.settings.dsn_warn_secs,
        max_lifetime_secs: aggregate.settings.max_lifetime_secs,
        records,
        malformed,
        queues: aggregate.by_queue.clone(),
        buckets_minutes: BUCKET_LABELS.iter().map(ToString::to_string).collect(),
        deferred: QueueRow::new("TOTAL", &aggregate.deferred),
        destinations,
        reasons,
    }
}
