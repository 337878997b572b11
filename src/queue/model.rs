//! The queue model: one queued message as every input format describes it, and the facts judged
//! about it as of `--now` (age, tries, regular or slow, visible, DSN state, dead-mail candidate).

use std::borrow::Cow;

/// Postfix's default `minimal_backoff_time`: the wait after a first deferral.
pub const POSTFIX_MIN_BACKOFF_SECS: u64 = 300;
/// Postfix's default `maximal_backoff_time`: the longest wait between attempts.
pub const POSTFIX_MAX_BACKOFF_SECS: u64 = 4000;
/// After this many failed attempts a gateway moves mail to its slow queue (first try + two retries).
pub const SLOW_AFTER_TRIES: u32 = 3;
/// Deferred mail shows in FortiMail's Monitor > Mail Queue only after five minutes.
pub const VISIBLE_AFTER_SECS: u64 = 300;
/// "Near" the lifetime limit: at least this share of `--max-lifetime` (in percent).
pub const NEAR_LIFETIME_PERCENT: u64 = 80;

/// How the listing is judged: the moment and the DSN limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Unix time the queue is judged at.
    pub now: u64,
    /// Age at which a delay warning DSN goes out (Postfix `delay_warning_time`).
    pub dsn_warn_secs: u64,
    /// Age at which mail is returned as undeliverable (Postfix `maximal_queue_lifetime`).
    pub max_lifetime_secs: u64,
}

impl QueueSettings {
    pub const DEFAULT_DSN_WARN_SECS: u64 = 4 * 3600;
    pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 5 * 86_400;

    pub fn new(now: u64) -> Self {
        Self {
            now,
            dsn_warn_secs: Self::DEFAULT_DSN_WARN_SECS,
            max_lifetime_secs: Self::DEFAULT_MAX_LIFETIME_SECS,
        }
    }
}

/// A queue that holds mail on purpose until something releases it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HoldQueue {
    /// Postfix `hold` (an administrator or a `HOLD` action put it there).
    Postfix,
    SpamOutbreak,
    VirusOutbreak,
    Sandbox,
}

impl HoldQueue {
    /// The name `queue.hold` observations carry; playbooks test it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postfix => "hold",
            Self::SpamOutbreak => "spam-outbreak",
            Self::VirusOutbreak => "virus-outbreak",
            Self::Sandbox => "sandbox",
        }
    }
}

/// Where a message sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueKind {
    /// Waiting for its next delivery attempt.
    Deferred,
    /// Being delivered or about to be (Postfix `active`, `incoming`, `maildrop`).
    InFlight,
    Hold(HoldQueue),
    /// FortiMail's dead mail folder: a DSN that could not be delivered either.
    Dead,
}

impl QueueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deferred => "deferred",
            Self::InFlight => "in-flight",
            Self::Hold(hold) => hold.as_str(),
            Self::Dead => "dead-mail",
        }
    }
}

/// One recipient still waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueuedRecipient<'a> {
    pub address: Cow<'a, str>,
    /// Why the last attempt failed, as the MTA wrote it.
    pub delay_reason: Option<Cow<'a, str>>,
}

/// One message of a queue listing, in any input format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage<'a> {
    pub kind: QueueKind,
    /// The queue's own name for it (`deferred`, `Incoming-slow`, ...), for the per-queue counts.
    pub queue_label: Cow<'a, str>,
    pub id: Cow<'a, str>,
    /// Unix time the message arrived (Postfix) or was first processed (FortiMail).
    pub arrival: u64,
    /// Delivery attempts so far, when the listing says.
    pub tries: Option<u32>,
    /// The listing already files it under a slow queue (FortiMail `*-slow`).
    pub listed_slow: bool,
    /// An administrator forced it to expire (`postsuper -e`).
    pub forced_expire: bool,
    /// The envelope sender; empty or `MAILER-DAEMON` for a bounce.
    pub sender: Cow<'a, str>,
    pub recipients: Vec<QueuedRecipient<'a>>,
}

/// Whether a message's DSN could ever be delivered: a null sender (a bounce itself) or a malformed one cannot.
pub fn sender_is_undeliverable(sender: &str) -> bool {
    let sender = sender.trim().trim_start_matches('<').trim_end_matches('>');
    if sender.is_empty() || sender.eq_ignore_ascii_case("MAILER-DAEMON") {
        return true;
    }
    match sender.rsplit_once('@') {
        Some((local, domain)) => local.is_empty() || domain.is_empty() || domain.contains('@'),
        None => true,
    }
}

/// The attempts Postfix has made on a message this old, with its default backoff: the wait after a
/// failure is the message's age clamped to 300..=4000 s, so attempts fall at 0, 5, 10, 20, 40, 80
/// minutes, then every 4000 s. An upper bound: queue scans (`queue_run_delay`) add up to 5 min each.
pub fn postfix_estimated_tries(age_secs: u64) -> u32 {
    let mut attempt_at: u64 = 0;
    let mut tries: u32 = 0;
    while attempt_at <= age_secs {
        tries += 1;
        if attempt_at >= POSTFIX_MAX_BACKOFF_SECS {
            // From here on attempts are evenly spaced: count the rest at once.
            let remaining = (age_secs - attempt_at) / POSTFIX_MAX_BACKOFF_SECS;
            return tries.saturating_add(u32::try_from(remaining).unwrap_or(u32::MAX));
        }
        attempt_at += attempt_at.clamp(POSTFIX_MIN_BACKOFF_SECS, POSTFIX_MAX_BACKOFF_SECS);
    }
    tries
}

/// What the model concludes about one message as of `settings.now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageFacts {
    pub age_secs: u64,
    /// Attempts made: from the listing, or estimated from age (`tries_estimated`).
    pub tries: u32,
    pub tries_estimated: bool,
    /// Waiting for a retry (deferred queue, or an in-flight message that already has a delay reason).
    pub deferred: bool,
    pub slow: bool,
    pub visible: bool,
    pub past_dsn_warn: bool,
    pub near_lifetime: bool,
    pub past_lifetime: bool,
    pub dead_candidate: bool,
}

impl MessageFacts {
    pub fn regular(&self) -> bool {
        self.deferred && !self.slow
    }
}

/// Judges one message.
pub fn assess(message: &QueuedMessage<'_>, settings: &QueueSettings) -> MessageFacts {
    let age_secs = settings.now.saturating_sub(message.arrival);
    let deferred = match message.kind {
        QueueKind::Deferred => true,
        QueueKind::InFlight => message.recipients.iter().any(|r| r.delay_reason.is_some()),
        QueueKind::Hold(_) | QueueKind::Dead => false,
    };
    let (tries, tries_estimated) = match message.tries {
        Some(tries) => (tries, false),
        None if deferred => (postfix_estimated_tries(age_secs), true),
        None => (0, false),
    };
    let lifetime = settings.max_lifetime_secs;
    let near_from =
        lifetime / 100 * NEAR_LIFETIME_PERCENT + lifetime % 100 * NEAR_LIFETIME_PERCENT / 100;
    MessageFacts {
        age_secs,
        tries,
        tries_estimated,
        deferred,
        slow: deferred && (message.listed_slow || tries >= SLOW_AFTER_TRIES),
        visible: deferred && age_secs >= VISIBLE_AFTER_SECS,
        past_dsn_warn: deferred && settings.dsn_warn_secs > 0 && age_secs >= settings.dsn_warn_secs,
        near_lifetime: deferred && age_secs >= near_from && age_secs < lifetime,
        past_lifetime: deferred && (age_secs >= lifetime || message.forced_expire),
        dead_candidate: message.kind == QueueKind::Dead
            || (deferred && sender_is_undeliverable(&message.sender)),
    }
}

/// The domain of a recipient address, lower-cased; `(none)` when it has none.
pub fn destination_of(address: &str) -> Cow<'_, str> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    match address.rsplit_once('@') {
        Some((_, domain)) if !domain.is_empty() => {
            let domain = domain.trim_end_matches('.');
            if domain.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(domain.to_ascii_lowercase())
            } else {
                Cow::Borrowed(domain)
            }
        }
        _ => Cow::Borrowed("(none)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deferred(arrival: u64, sender: &str) -> QueuedMessage<'static> {
        QueuedMessage {
            kind: QueueKind::Deferred,
            queue_label: "deferred".into(),
            id: "ABC123".into(),
            arrival,
            tries: None,
            listed_slow: false,
            forced_expire: false,
            sender: sender.to_string().into(),
            recipients: vec![QueuedRecipient {
                address: "a@dead.test".into(),
                delay_reason: Some("connect to x[192.0.2.7]:25: Connection refused".into()),
            }],
        }
    }

    #[test]
    fn postfix_tries_follow_the_default_backoff() {
        assert_eq!(postfix_estimated_tries(0), 1);
        assert_eq!(postfix_estimated_tries(299), 1);
        assert_eq!(postfix_estimated_tries(300), 2);
        assert_eq!(postfix_estimated_tries(599), 2);
        assert_eq!(postfix_estimated_tries(600), 3);
        assert_eq!(postfix_estimated_tries(1200), 4);
        assert_eq!(postfix_estimated_tries(4799), 5);
        assert_eq!(postfix_estimated_tries(4800), 6);
        assert_eq!(postfix_estimated_tries(8800), 7);
        assert_eq!(postfix_estimated_tries(8800 + 40_000), 17);
    }

    #[test]
    fn slow_starts_at_the_third_failed_attempt() {
        let settings = QueueSettings::new(10_000);
        let young = assess(&deferred(10_000 - 400, "a@b.example"), &settings);
        assert!(young.deferred && young.regular() && !young.slow && young.visible);
        assert_eq!((young.tries, young.tries_estimated), (2, true));
        let older = assess(&deferred(10_000 - 600, "a@b.example"), &settings);
        assert!(older.slow && !older.regular());
        let mut listed = deferred(10_000 - 10, "a@b.example");
        listed.listed_slow = true;
        assert!(assess(&listed, &settings).slow);
        listed.listed_slow = false;
        listed.tries = Some(3);
        assert!(assess(&listed, &settings).slow);
        assert!(!assess(&listed, &settings).visible);
    }

    #[test]
    fn dsn_and_lifetime_limits() {
        let settings = QueueSettings::new(1_000_000);
        let at = |age: u64| assess(&deferred(1_000_000 - age, "a@b.example"), &settings);
        assert!(!at(4 * 3600 - 1).past_dsn_warn);
        assert!(at(4 * 3600).past_dsn_warn);
        assert!(!at(4 * 86_400 - 1).near_lifetime);
        assert!(at(4 * 86_400).near_lifetime);
        assert!(at(5 * 86_400).past_lifetime && !at(5 * 86_400).near_lifetime);
        // Mail in the future (clock skew) is simply new.
        assert_eq!(
            assess(&deferred(2_000_000, "a@b.example"), &settings).age_secs,
            0
        );
    }

    #[test]
    fn bounces_and_bad_senders_are_dead_mail_candidates() {
        let settings = QueueSettings::new(1000);
        assert!(assess(&deferred(0, "MAILER-DAEMON"), &settings).dead_candidate);
        assert!(assess(&deferred(0, ""), &settings).dead_candidate);
        assert!(assess(&deferred(0, "<>"), &settings).dead_candidate);
        assert!(assess(&deferred(0, "nobody"), &settings).dead_candidate);
        assert!(!assess(&deferred(0, "alice@example.org"), &settings).dead_candidate);
        let mut held = deferred(0, "MAILER-DAEMON");
        held.kind = QueueKind::Hold(HoldQueue::Postfix);
        assert!(!assess(&held, &settings).dead_candidate);
        held.kind = QueueKind::Dead;
        assert!(assess(&held, &settings).dead_candidate);
    }

    #[test]
    fn destinations_are_lower_case_domains() {
        assert_eq!(destination_of("Bob@Dead.TEST"), "dead.test");
        assert_eq!(destination_of("<a@x.example.>"), "x.example");
        assert_eq!(destination_of("postmaster"), "(none)");
    }
}
