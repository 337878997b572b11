//! Why a queue listing record, a queue duration or a UTC offset could not be read: one enum for the
//! queue area. A record's error becomes a "malformed line" note; a flag's error is clap's usage error.

/// A problem with one queue listing record (`postqueue -j` or the FortiMail CSV export) or with a
/// queue flag's value (`--warn-age 4h`, `--csv-utc-offset +02:00`).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    // postqueue -j records
    #[error("not a postqueue -j record: {0}")]
    NotPostqueueRecord(#[source] serde_json::Error),
    #[error("no queue_name")]
    NoQueueName,
    #[error("unknown queue_name {0:?}")]
    UnknownQueueName(String),
    #[error("no queue_id")]
    NoQueueId,
    #[error("no arrival_time")]
    NoArrivalTime,

    #[error("line longer than {0} MiB")]
    LineTooLong(usize),

    // FortiMail CSV rows
    #[error("no queue type")]
    NoQueueType,
    #[error("unknown queue type {0:?}")]
    UnknownQueueType(String),
    #[error("no First Processed time")]
    NoFirstProcessed,
    #[error("time {0:?} is not YYYY-MM-DD HH:MM[:SS] (or Unix seconds)")]
    Time(String),
    #[error("Tries {0:?} is not a number")]
    Tries(String),
    #[error("no Envelope To")]
    NoEnvelopeTo,
    #[error("quoted field not closed within {0} lines")]
    QuoteNotClosedWithin(usize),
    #[error("quoted field not closed at end of input")]
    QuoteNotClosedAtEnd,

    // Durations (`4h`, `1d12h`) and UTC offsets (`+02:00`)
    #[error("empty duration")]
    EmptyDuration,
    #[error("{0:?} is too large")]
    DurationTooLarge(String),
    #[error("{text:?}: unknown unit {unit:?} (use s, m, h, d or w)")]
    UnknownUnit { text: String, unit: char },
    #[error("{text:?}: a number must come before {unit:?}")]
    NumberBeforeUnit { text: String, unit: char },
    #[error("{0:?}: the last number has no unit")]
    LastNumberWithoutUnit(String),
    #[error("{0:?}: a UTC offset looks like +02:00 or -05:30")]
    UtcOffsetForm(String),
    #[error("{0:?}: offset out of range")]
    UtcOffsetRange(String),
}
