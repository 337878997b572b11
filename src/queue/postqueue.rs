//! `postqueue -j` (Postfix 3.1+): one JSON object per queued message. Fields other Postfix versions
//! add are ignored; the ones the model needs are checked and a line without them is malformed.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use super::error::QueueError;
use super::model::{HoldQueue, QueueKind, QueuedMessage, QueuedRecipient};

#[derive(Debug, Deserialize)]
struct PostqueueRecord<'a> {
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    queue_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    queue_id: Option<Cow<'a, str>>,
    #[serde(default)]
    arrival_time: Option<f64>,
    #[serde(default)]
    forced_expire: bool,
    #[serde(borrow, default)]
    sender: Cow<'a, str>,
    #[serde(borrow, default)]
    recipients: Vec<PostqueueRecipient<'a>>,
}

#[derive(Debug, Deserialize)]
struct PostqueueRecipient<'a> {
    #[serde(borrow, default)]
    address: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    delay_reason: Option<Cow<'a, str>>,
}

/// A string borrowed from the line when it has no escapes (serde's derive borrows a bare `Cow<str>`
/// field, but an `Option<Cow<str>>` would always be copied into a `String`).
#[derive(Deserialize)]
struct BorrowedStr<'a>(#[serde(borrow)] Cow<'a, str>);

fn optional_borrowed<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<BorrowedStr<'a>>::deserialize(deserializer)?.map(|text| text.0))
}

/// Which of our queue kinds a Postfix queue name is.
fn kind_of(queue_name: &str) -> Option<QueueKind> {
    match queue_name {
        "deferred" => Some(QueueKind::Deferred),
        "active" | "incoming" | "maildrop" => Some(QueueKind::InFlight),
        "hold" => Some(QueueKind::Hold(HoldQueue::Postfix)),
        _ => None,
    }
}

/// One `postqueue -j` line as a queued message; the error says what is wrong with it.
pub fn parse_line(line: &str) -> Result<QueuedMessage<'_>, QueueError> {
    let record: PostqueueRecord<'_> =
        serde_json::from_str(line).map_err(QueueError::NotPostqueueRecord)?;
    let queue_name = record.queue_name.ok_or(QueueError::NoQueueName)?;
    let kind =
        kind_of(&queue_name).ok_or_else(|| QueueError::UnknownQueueName(queue_name.to_string()))?;
    let id = record
        .queue_id
        .filter(|id| !id.is_empty())
        .ok_or(QueueError::NoQueueId)?;
    let arrival = record
        .arrival_time
        .filter(|time| time.is_finite() && *time >= 0.0)
        .ok_or(QueueError::NoArrivalTime)?;
    Ok(QueuedMessage {
        kind,
        queue_label: queue_name,
        id,
        arrival: arrival as u64,
        tries: None,
        listed_slow: false,
        forced_expire: record.forced_expire,
        sender: record.sender,
        recipients: record
            .recipients
            .into_iter()
            .map(|recipient| QueuedRecipient {
                address: recipient.address,
                delay_reason: recipient.delay_reason,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_postfix_3_7_record_and_ignores_unknown_fields() {
        let line = r#"{"queue_name": "deferred", "queue_id": "4VXz0k1rTgz9sbx", "arrival_time": 1714000000, "message_size": 1204, "forced_expire": false, "sender": "alice@example.org", "recipients": [{"address": "bob@dead.test", "delay_reason": "connect to mx.dead.test[192.0.2.7]:25: Connection refused"}, {"address": "carol@dead.test"}], "future_field": {"x": 1}}"#;
        let message = parse_line(line).expect("valid record");
        assert_eq!(message.kind, QueueKind::Deferred);
        assert_eq!(message.id, "4VXz0k1rTgz9sbx");
        assert_eq!(message.arrival, 1_714_000_000);
        assert_eq!(message.recipients.len(), 2);
        assert!(message.recipients[1].delay_reason.is_none());
        assert!(
            matches!(message.recipients[0].address, Cow::Borrowed(_))
                && matches!(message.recipients[0].delay_reason, Some(Cow::Borrowed(_)))
                && matches!(message.id, Cow::Borrowed(_))
                && matches!(message.queue_label, Cow::Borrowed(_)),
            "no copy for plain strings"
        );
        let escaped = parse_line(
            r#"{"queue_name":"deferred","queue_id":"A1","arrival_time":1,"recipients":[{"address":"a@b.test","delay_reason":"said \"no\""}]}"#,
        )
        .expect("valid record");
        assert_eq!(
            escaped.recipients[0].delay_reason.as_deref(),
            Some("said \"no\"")
        );
        assert!(
            parse_line(r#"{"queue_name":null,"queue_id":"A1","arrival_time":1}"#)
                .is_err_and(|error| error.to_string() == "no queue_name")
        );
    }

    #[test]
    fn maps_queue_names() {
        let line = |queue: &str| {
            format!(
                r#"{{"queue_name":"{queue}","queue_id":"A1","arrival_time":1,"sender":"MAILER-DAEMON","recipients":[]}}"#
            )
        };
        assert_eq!(
            parse_line(&line("hold"))
                .map(|m| m.kind)
                .map_err(|e| e.to_string()),
            Ok(QueueKind::Hold(HoldQueue::Postfix))
        );
        assert_eq!(
            parse_line(&line("active"))
                .map(|m| m.kind)
                .map_err(|e| e.to_string()),
            Ok(QueueKind::InFlight)
        );
        assert_eq!(
            parse_line(&line("corrupt"))
                .map(|m| m.kind)
                .map_err(|e| e.to_string()),
            Err("unknown queue_name \"corrupt\"".into())
        );
    }

    #[test]
    fn says_what_is_missing() {
        assert_eq!(
            parse_line(r#"{"queue_name":"deferred","arrival_time":1}"#)
                .map(|m| m.kind)
                .map_err(|e| e.to_string()),
            Err("no queue_id".into())
        );
        assert_eq!(
            parse_line(r#"{"queue_name":"deferred","queue_id":"A"}"#)
                .map(|m| m.kind)
                .map_err(|e| e.to_string()),
            Err("no arrival_time".into())
        );
        assert!(
            parse_line("{\"queue_name\": \"deferred\", ")
                .unwrap_err()
                .to_string()
                .starts_with("not a postqueue -j record")
        );
    }
}
