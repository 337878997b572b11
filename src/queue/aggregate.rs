//! Streaming aggregation of judged messages: totals, per destination domain, per normalised delay
//! reason and per hold queue. Memory depends on the caps, never on the number of messages.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::bounded::{BoundedTally, Mergeable};
use super::histogram::AgeHistogram;
use super::model::{
    HoldQueue, MessageFacts, QueueKind, QueueSettings, QueuedMessage, QueuedRecipient, assess,
    destination_of,
};
use super::reason::{normalise_reason, normalise_reason_into};

/// Queue ids kept per group: the oldest messages, the ones worth `postqueue -i` or `postcat -q`.
pub const SAMPLE_IDS: usize = 5;
/// Distinct destination domains kept apart before folding into `(other)`.
pub const DESTINATION_CAPACITY: usize = 1000;
/// Distinct normalised delay reasons kept apart before folding into `(other)`.
pub const REASON_CAPACITY: usize = 1000;
/// Distinct reasons kept per destination (for its top reason).
pub const REASONS_PER_DESTINATION: usize = 8;
/// Distinct queue names counted apart (they are a handful in practice).
const QUEUE_LABEL_CAPACITY: usize = 64;
/// Dead-mail candidates quoted in the evidence.
pub const DEAD_EXAMPLES: usize = 3;

/// The oldest few queue ids of a group, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldestIds {
    entries: Vec<(u64, String)>,
}

impl OldestIds {
    pub fn offer(&mut self, age_secs: u64, id: &str) {
        // Kept oldest first, so the last entry is the youngest: most offers stop here.
        let full_of_older = self.entries.len() >= SAMPLE_IDS
            && self.entries.last().is_some_and(|(age, _)| *age >= age_secs);
        if id.is_empty() || full_of_older {
            return;
        }
        if self.entries.len() < SAMPLE_IDS {
            self.entries.push((age_secs, id.to_string()));
        } else if let Some(youngest) = self.entries.iter_mut().min_by_key(|(age, _)| *age)
            && youngest.0 < age_secs
        {
            // Reuse the evicted id's allocation.
            youngest.0 = age_secs;
            youngest.1.clear();
            youngest.1.push_str(id);
        } else {
            return;
        }
        self.entries
            .sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    }

    pub fn ids(&self) -> Vec<String> {
        self.entries.iter().map(|(_, id)| id.clone()).collect()
    }

    fn merge(&mut self, other: &Self) {
        for (age, id) in &other.entries {
            self.offer(*age, id);
        }
    }
}

/// Counts and ages of a group of messages (the whole queue, one destination, one reason, one hold queue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub messages: u64,
    pub deferred: u64,
    pub regular: u64,
    pub slow: u64,
    pub visible: u64,
    pub past_dsn_warn: u64,
    pub near_lifetime: u64,
    pub past_lifetime: u64,
    pub dead_candidates: u64,
    pub oldest_age_secs: u64,
    pub histogram: AgeHistogram,
    pub oldest: OldestIds,
}

impl GroupStats {
    pub fn record(&mut self, facts: &MessageFacts, id: &str) {
        self.messages += 1;
        self.deferred += u64::from(facts.deferred);
        self.regular += u64::from(facts.regular());
        self.slow += u64::from(facts.slow);
        self.visible += u64::from(facts.visible);
        self.past_dsn_warn += u64::from(facts.past_dsn_warn);
        self.near_lifetime += u64::from(facts.near_lifetime);
        self.past_lifetime += u64::from(facts.past_lifetime);
        self.dead_candidates += u64::from(facts.dead_candidate);
        self.oldest_age_secs = self.oldest_age_secs.max(facts.age_secs);
        self.histogram.record(facts.age_secs);
        self.oldest.offer(facts.age_secs, id);
    }
}

impl Mergeable for GroupStats {
    fn merge(&mut self, other: &Self) {
        self.messages += other.messages;
        self.deferred += other.deferred;
        self.regular += other.regular;
        self.slow += other.slow;
        self.visible += other.visible;
        self.past_dsn_warn += other.past_dsn_warn;
        self.near_lifetime += other.near_lifetime;
        self.past_lifetime += other.past_lifetime;
        self.dead_candidates += other.dead_candidates;
        self.oldest_age_secs = self.oldest_age_secs.max(other.oldest_age_secs);
        self.histogram.merge(&other.histogram);
        self.oldest.merge(&other.oldest);
    }

    fn weight(&self) -> u64 {
        self.messages
    }
}

/// How often a normalised reason was seen, with one original text to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonCount {
    pub messages: u64,
    pub example: String,
}

impl Mergeable for ReasonCount {
    fn merge(&mut self, other: &Self) {
        self.messages += other.messages;
        if self.example.is_empty() {
            self.example.clone_from(&other.example);
        }
    }

    fn weight(&self) -> u64 {
        self.messages
    }
}

/// One normalised delay reason across the queue.
#[derive(Debug, Clone, Default)]
pub struct ReasonStats {
    pub group: GroupStats,
    pub example: String,
}

impl Mergeable for ReasonStats {
    fn merge(&mut self, other: &Self) {
        self.group.merge(&other.group);
        if self.example.is_empty() {
            self.example.clone_from(&other.example);
        }
    }

    fn weight(&self) -> u64 {
        self.group.messages
    }
}

/// Deferred mail for one destination domain.
#[derive(Debug, Clone)]
pub struct DestinationStats {
    pub group: GroupStats,
    pub reasons: BoundedTally<ReasonCount>,
}

impl Default for DestinationStats {
    fn default() -> Self {
        Self {
            group: GroupStats::default(),
            reasons: BoundedTally::new(REASONS_PER_DESTINATION),
        }
    }
}

impl DestinationStats {
    /// The most frequent normalised reason, its count and an original text.
    pub fn top_reason(&self) -> Option<(&str, &ReasonCount)> {
        self.reasons.ranked().into_iter().next()
    }
}

impl Mergeable for DestinationStats {
    fn merge(&mut self, other: &Self) {
        self.group.merge(&other.group);
        for (reason, count) in other.reasons.ranked() {
            self.reasons.entry(reason).merge(count);
        }
    }

    fn weight(&self) -> u64 {
        self.group.messages
    }
}

/// A message whose DSN has nowhere to go, quoted in the dead-mail evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadExample {
    pub id: String,
    pub queue: String,
    pub sender: String,
    pub recipient: String,
}

/// Everything the queue command learns from one listing.
#[derive(Debug, Clone)]
pub struct QueueAggregate {
    pub settings: QueueSettings,
    /// Every message, whatever its queue.
    pub total: GroupStats,
    /// Messages waiting for a retry: the shape of the deferred queue.
    pub deferred: GroupStats,
    /// Messages being delivered right now, with no failure recorded yet.
    pub in_flight: u64,
    pub forced_expire: u64,
    /// Some tries were estimated from age (Postfix lists none).
    pub tries_estimated: bool,
    /// Messages per queue, as the listing names them (`deferred`, `Incoming-slow`, ...).
    pub by_queue: BTreeMap<String, u64>,
    pub destinations: BoundedTally<DestinationStats>,
    pub reasons: BoundedTally<ReasonStats>,
    pub holds: BTreeMap<HoldQueue, GroupStats>,
    pub dead_examples: Vec<DeadExample>,
    /// Reused buffer for the normalised reason of a single-recipient message (no allocation per message).
    scratch_reason: String,
}

impl QueueAggregate {
    pub fn new(settings: QueueSettings) -> Self {
        Self {
            settings,
            total: GroupStats::default(),
            deferred: GroupStats::default(),
            in_flight: 0,
            forced_expire: 0,
            tries_estimated: false,
            by_queue: BTreeMap::new(),
            destinations: BoundedTally::new(DESTINATION_CAPACITY),
            reasons: BoundedTally::new(REASON_CAPACITY),
            holds: BTreeMap::new(),
            dead_examples: Vec::new(),
            scratch_reason: String::new(),
        }
    }

    /// Judges `message` and adds it to every group it belongs to.
    pub fn add(&mut self, message: &QueuedMessage<'_>) {
        let facts = assess(message, &self.settings);
        self.total.record(&facts, &message.id);
        self.tries_estimated |= facts.tries_estimated;
        self.forced_expire += u64::from(message.forced_expire);
        self.count_queue(&message.queue_label);
        match message.kind {
            QueueKind::Hold(hold) => self
                .holds
                .entry(hold)
                .or_default()
                .record(&facts, &message.id),
            QueueKind::InFlight if !facts.deferred => self.in_flight += 1,
            _ => {}
        }
        if facts.dead_candidate && self.dead_examples.len() < DEAD_EXAMPLES {
            self.dead_examples.push(DeadExample {
                id: message.id.to_string(),
                queue: message.queue_label.to_string(),
                sender: message.sender.to_string(),
                recipient: message
                    .recipients
                    .first()
                    .map(|r| r.address.to_string())
                    .unwrap_or_default(),
            });
        }
        if facts.deferred {
            self.deferred.record(&facts, &message.id);
            self.add_deferred(message, &facts);
        }
    }

    /// Held messages in all hold queues.
    pub fn held(&self) -> u64 {
        self.holds.values().map(|group| group.messages).sum()
    }

    fn count_queue(&mut self, label: &str) {
        if let Some(count) = self.by_queue.get_mut(label) {
            *count += 1;
        } else if self.by_queue.len() < QUEUE_LABEL_CAPACITY {
            self.by_queue.insert(label.to_string(), 1);
        } else {
            *self.by_queue.entry("(other)".to_string()).or_default() += 1;
        }
    }

    fn add_deferred(&mut self, message: &QueuedMessage<'_>, facts: &MessageFacts) {
        if let [recipient] = message.recipients.as_slice() {
            self.add_deferred_single(message, recipient, facts);
            return;
        }
        // Each message counts once per destination, once per normalised reason, and once per
        // (destination, reason) pair; each distinct raw reason is normalised once.
        let mut domains: Vec<Cow<'_, str>> = Vec::with_capacity(1);
        let mut normalised: Vec<String> = Vec::with_capacity(1);
        let mut raw_reasons: Vec<(&str, usize)> = Vec::with_capacity(1);
        let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(1);
        for recipient in &message.recipients {
            let domain = destination_of(&recipient.address);
            let domain_index = index_of_or_push(&mut domains, domain);
            let Some(raw) = recipient
                .delay_reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
            else {
                continue;
            };
            let known = raw_reasons
                .iter()
                .find(|(known, _)| *known == raw)
                .map(|&(_, index)| index);
            let reason_index = known.unwrap_or_else(|| {
                let index = index_of_or_push(&mut normalised, normalise_reason(raw));
                raw_reasons.push((raw, index));
                index
            });
            if !pairs.contains(&(domain_index, reason_index)) {
                pairs.push((domain_index, reason_index));
            }
        }
        let example_of = |reason_index: usize| -> &str {
            raw_reasons
                .iter()
                .find(|(_, index)| *index == reason_index)
                .map_or("", |(raw, _)| raw)
        };
        for (domain_index, domain) in domains.iter().enumerate() {
            let destination = self.destinations.entry(domain);
            destination.group.record(facts, &message.id);
            for &(_, reason_index) in pairs.iter().filter(|(index, _)| *index == domain_index) {
                let count = destination.reasons.entry(&normalised[reason_index]);
                count.messages += 1;
                if count.example.is_empty() {
                    count.example = example_of(reason_index).to_string();
                }
            }
        }
        for (reason_index, reason) in normalised.iter().enumerate() {
            let stats = self.reasons.entry(reason);
            stats.group.record(facts, &message.id);
            if stats.example.is_empty() {
                stats.example = example_of(reason_index).to_string();
            }
        }
    }
}

impl QueueAggregate {
    /// [`Self::add_deferred`] for the common one-recipient message: the same counts, without the
    /// per-message vectors, and the reason normalised into a reused buffer.
    fn add_deferred_single(
        &mut self,
        message: &QueuedMessage<'_>,
        recipient: &QueuedRecipient<'_>,
        facts: &MessageFacts,
    ) {
        let domain = destination_of(&recipient.address);
        let raw = recipient
            .delay_reason
            .as_deref()
            .filter(|r| !r.trim().is_empty());
        let destination = self.destinations.entry(&domain);
        destination.group.record(facts, &message.id);
        let Some(raw) = raw else {
            return;
        };
        let reason = &mut self.scratch_reason;
        normalise_reason_into(raw, reason);
        let count = destination.reasons.entry(reason);
        count.messages += 1;
        if count.example.is_empty() {
            count.example = raw.to_string();
        }
        let stats = self.reasons.entry(reason);
        stats.group.record(facts, &message.id);
        if stats.example.is_empty() {
            stats.example = raw.to_string();
        }
    }
}

/// The index of `item` in `items`, appending it first when absent (a message has few recipients).
fn index_of_or_push<T: PartialEq>(items: &mut Vec<T>, item: T) -> usize {
    items
        .iter()
        .position(|known| *known == item)
        .unwrap_or_else(|| {
            items.push(item);
            items.len() - 1
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, age: u64, recipients: &[(&str, Option<&str>)]) -> QueuedMessage<'static> {
        QueuedMessage {
            kind: QueueKind::Deferred,
            queue_label: "deferred".into(),
            id: id.to_string().into(),
            arrival: 100_000 - age,
            tries: None,
            listed_slow: false,
            forced_expire: false,
            sender: "alice@example.org".into(),
            recipients: recipients
                .iter()
                .map(|(address, reason)| QueuedRecipient {
                    address: address.to_string().into(),
                    delay_reason: reason.map(|r| r.to_string().into()),
                })
                .collect(),
        }
    }

    #[test]
    fn counts_each_message_once_per_destination_and_reason() {
        let mut aggregate = QueueAggregate::new(QueueSettings::new(100_000));
        let refused_a = "connect to mx.dead.test[192.0.2.7]:25: Connection refused";
        let refused_b = "connect to mx.dead.test[192.0.2.8]:25: Connection refused";
        aggregate.add(&message(
            "A1",
            7200,
            &[
                ("a@dead.test", Some(refused_a)),
                ("b@dead.test", Some(refused_b)),
                ("c@ok.test", None),
            ],
        ));
        aggregate.add(&message("B2", 60, &[("d@dead.test", Some(refused_b))]));
        let destinations = aggregate.destinations.ranked();
        assert_eq!(destinations[0].0, "dead.test");
        let dead = destinations[0].1;
        assert_eq!(
            (dead.group.messages, dead.group.slow, dead.group.regular),
            (2, 1, 1)
        );
        assert_eq!(dead.group.oldest_age_secs, 7200);
        assert_eq!(dead.group.oldest.ids(), vec!["A1", "B2"]);
        let (top, count) = dead.top_reason().expect("a reason");
        assert_eq!(top, "connect to mx.dead.test[<ip>]:<n>: Connection refused");
        assert_eq!(count.messages, 2);
        assert_eq!(count.example, refused_a);
        let reasons = aggregate.reasons.ranked();
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].1.group.messages, 2);
        assert_eq!(aggregate.total.messages, 2);
        assert_eq!(aggregate.by_queue.get("deferred"), Some(&2));
    }

    #[test]
    fn holds_and_in_flight_are_not_destinations() {
        let mut aggregate = QueueAggregate::new(QueueSettings::new(100_000));
        let mut held = message("H1", 600, &[("x@y.test", None)]);
        held.kind = QueueKind::Hold(HoldQueue::SpamOutbreak);
        aggregate.add(&held);
        let mut active = message("F1", 5, &[("x@y.test", None)]);
        active.kind = QueueKind::InFlight;
        aggregate.add(&active);
        assert_eq!(aggregate.held(), 1);
        assert_eq!(aggregate.in_flight, 1);
        assert!(aggregate.destinations.is_empty());
        assert_eq!(aggregate.total.messages, 2);
    }

    #[test]
    fn oldest_ids_keep_the_oldest_few() {
        let mut oldest = OldestIds::default();
        for age in 0..20 {
            oldest.offer(age, &format!("ID{age}"));
        }
        assert_eq!(oldest.ids(), vec!["ID19", "ID18", "ID17", "ID16", "ID15"]);
    }
}
