//! FortiMail-style mail queue export (Monitor > Mail Queue columns as CSV): a header row naming the
//! columns, then one row per queued message. Fed line by line: a quoted field may span lines.
//! The accepted format is documented in `docs/queue.md`.

use std::borrow::Cow;

use super::error::QueueError;
use super::model::{HoldQueue, QueueKind, QueuedMessage, QueuedRecipient};

/// A quoted field may span at most this many lines before the record is called malformed.
pub const MAX_RECORD_LINES: usize = 32;

/// Column positions, found from the header row (or the documented order when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Columns {
    queue_type: Option<usize>,
    queue_id: Option<usize>,
    envelope_from: Option<usize>,
    envelope_to: Option<usize>,
    first_processed: Option<usize>,
    tries: Option<usize>,
    reason: Option<usize>,
}

impl Columns {
    /// The documented order: Type, Client IP, Location, Envelope From, Envelope To, Subject,
    /// First Processed, Last Processed, Tries, Reason.
    fn documented_order() -> Self {
        Self {
            queue_type: Some(0),
            queue_id: None,
            envelope_from: Some(3),
            envelope_to: Some(4),
            first_processed: Some(6),
            tries: Some(8),
            reason: Some(9),
        }
    }

    /// Columns named by `fields`, or `None` when they do not look like a header at all.
    fn from_header(fields: &[String]) -> Option<Self> {
        let mut columns = Self::default();
        let mut known = 0;
        for (index, name) in fields.iter().enumerate() {
            let key: String = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            let slot = match key.as_str() {
                "type" | "queuetype" | "queue" => &mut columns.queue_type,
                "queueid" | "id" => &mut columns.queue_id,
                "envelopefrom" | "from" | "sender" => &mut columns.envelope_from,
                "envelopeto" | "to" | "recipient" | "recipients" => &mut columns.envelope_to,
                "firstprocessed" => &mut columns.first_processed,
                "tries" | "attempts" => &mut columns.tries,
                "reason" | "lasterror" | "error" | "status" => &mut columns.reason,
                "clientip" | "location" | "subject" | "lastprocessed" => {
                    known += 1;
                    continue;
                }
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(index);
            }
            known += 1;
        }
        (known >= 2).then_some(columns)
    }
}

/// What one input line amounted to.
#[derive(Debug)]
pub enum CsvStep {
    /// A blank line or the header row.
    Nothing,
    /// Inside a quoted field that continues on the next line.
    Incomplete,
    /// A row, starting at this line number.
    Message(u64, QueuedMessage<'static>),
    /// A row that could not be read, starting at this line number.
    Malformed(u64, QueueError),
}

/// Reassembles rows from lines and turns them into queued messages.
#[derive(Debug)]
pub struct CsvQueueReader {
    /// Seconds east of UTC of times written without a zone.
    utc_offset_secs: i64,
    delimiter: Option<char>,
    columns: Option<Columns>,
    pending: Option<PendingRecord>,
}

#[derive(Debug)]
struct PendingRecord {
    first_line: u64,
    lines: usize,
    text: String,
}

impl CsvQueueReader {
    pub fn new(utc_offset_secs: i64) -> Self {
        Self {
            utc_offset_secs,
            delimiter: None,
            columns: None,
            pending: None,
        }
    }

    /// Feeds line `number` (without its line ending).
    pub fn feed(&mut self, number: u64, line: &str) -> CsvStep {
        let (first_line, text, lines) = match self.pending.take() {
            Some(mut pending) => {
                pending.text.push('\n');
                pending.text.push_str(line);
                (
                    pending.first_line,
                    Cow::Owned(pending.text),
                    pending.lines + 1,
                )
            }
            None if line.trim().is_empty() => return CsvStep::Nothing,
            None => (
                number,
                Cow::Borrowed(line.trim_start_matches('\u{feff}')),
                1,
            ),
        };
        let delimiter = *self.delimiter.get_or_insert_with(|| guess_delimiter(&text));
        let Some(fields) = split_fields(&text, delimiter) else {
            if lines >= MAX_RECORD_LINES {
                return CsvStep::Malformed(
                    first_line,
                    QueueError::QuoteNotClosedWithin(MAX_RECORD_LINES),
                );
            }
            self.pending = Some(PendingRecord {
                first_line,
                lines,
                text: text.into_owned(),
            });
            return CsvStep::Incomplete;
        };
        if self.columns.is_none() {
            if let Some(columns) = Columns::from_header(&fields) {
                self.columns = Some(columns);
                return CsvStep::Nothing;
            }
            self.columns = Some(Columns::documented_order());
        }
        let columns = self.columns.as_ref().expect("columns were just set");
        match row_to_message(columns, &fields, first_line, self.utc_offset_secs) {
            Ok(message) => CsvStep::Message(first_line, message),
            Err(reason) => CsvStep::Malformed(first_line, reason),
        }
    }

    /// Call at the end of input: a row still open is malformed.
    pub fn finish(&mut self) -> Option<CsvStep> {
        self.pending
            .take()
            .map(|pending| CsvStep::Malformed(pending.first_line, QueueError::QuoteNotClosedAtEnd))
    }
}

/// `,` unless the first row has more `;` or tabs (spreadsheet exports in some locales).
fn guess_delimiter(first_row: &str) -> char {
    let count = |c: char| first_row.matches(c).count();
    [',', ';', '\t']
        .into_iter()
        .max_by_key(|&c| (count(c), c == ','))
        .unwrap_or(',')
}

/// The fields of one record, split by the csv crate's parser (`csv-core`, which the `csv` crate
/// runs on): RFC 4180 quoting, `""` inside quotes is a quote, a quoted field may hold the delimiter
/// and line breaks. `None` while a quoted field is still open, so the caller can append the next line.
///
/// The reader is line-fed (each line already capped in length) rather than handed the whole input,
/// so one runaway quoted field costs at most [`MAX_RECORD_LINES`] lines of memory.
fn split_fields(text: &str, delimiter: char) -> Option<Vec<String>> {
    let mut reader = csv_core::ReaderBuilder::new()
        .delimiter(u8::try_from(delimiter).unwrap_or(b','))
        .terminator(csv_core::Terminator::Any(b'\n'))
        .build();
    // Unescaping only shrinks a field and a record has at most one field more than it has bytes,
    // so these buffers are never too small.
    let mut output = vec![0_u8; text.len() + 1];
    let mut ends = vec![0_usize; text.len() + 2];
    // The record is complete only if a line break outside quotes ends it: feed the text, then one.
    let (mut written, mut fields) = (0, 0);
    let mut complete = false;
    for chunk in [text.as_bytes(), b"\n"] {
        let (result, _, wrote, ended) =
            reader.read_record(chunk, &mut output[written..], &mut ends[fields..]);
        written += wrote;
        fields += ended;
        match result {
            csv_core::ReadRecordResult::Record => {
                complete = true;
                break;
            }
            csv_core::ReadRecordResult::InputEmpty => {}
            // Never with the buffers sized above; treated as a record that cannot be read yet.
            _ => return None,
        }
    }
    if !complete {
        return None;
    }
    // Field ends are offsets into `output` from the record's first byte, across calls.
    let mut start = 0;
    Some(
        ends[..fields]
            .iter()
            .map(|&end| {
                let field = String::from_utf8_lossy(&output[start..end])
                    .trim()
                    .to_string();
                start = end;
                field
            })
            .collect(),
    )
}

/// FortiMail queue type names, in any case or spacing: `Incoming`, `Outgoing-slow`, `Spam Outbreak`,
/// `Virus Outbreak`, `FortiSandbox`, `Dead Mail`. Returns the kind and whether it is a slow queue.
pub fn queue_type(text: &str) -> Option<(QueueKind, bool)> {
    let key: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if key.contains("dead") {
        return Some((QueueKind::Dead, false));
    }
    if key.contains("sandbox") {
        return Some((QueueKind::Hold(HoldQueue::Sandbox), false));
    }
    if key.contains("outbreak") && key.contains("spam") {
        return Some((QueueKind::Hold(HoldQueue::SpamOutbreak), false));
    }
    if key.contains("outbreak") && key.contains("virus") {
        return Some((QueueKind::Hold(HoldQueue::VirusOutbreak), false));
    }
    let deferred = [
        "incoming", "outgoing", "ibe", "regular", "slow", "deferred", "default",
    ]
    .iter()
    .any(|prefix| key.starts_with(prefix));
    deferred.then(|| (QueueKind::Deferred, key.contains("slow")))
}

fn row_to_message(
    columns: &Columns,
    fields: &[String],
    line: u64,
    utc_offset_secs: i64,
) -> Result<QueuedMessage<'static>, QueueError> {
    let field = |index: Option<usize>| {
        index
            .and_then(|i| fields.get(i))
            .map(String::as_str)
            .unwrap_or_default()
    };
    let type_text = field(columns.queue_type);
    if type_text.is_empty() {
        return Err(QueueError::NoQueueType);
    }
    let (kind, listed_slow) =
        queue_type(type_text).ok_or_else(|| QueueError::UnknownQueueType(type_text.to_string()))?;
    let first_processed = field(columns.first_processed);
    if first_processed.is_empty() {
        return Err(QueueError::NoFirstProcessed);
    }
    let arrival = parse_time(first_processed, utc_offset_secs)?;
    let tries_text = field(columns.tries);
    let tries = if tries_text.is_empty() {
        None
    } else {
        Some(
            tries_text
                .parse::<u32>()
                .map_err(|_| QueueError::Tries(tries_text.to_string()))?,
        )
    };
    let reason = field(columns.reason);
    let recipients: Vec<QueuedRecipient<'static>> = field(columns.envelope_to)
        .split([';', ',', ' ', '\t', '\n'])
        .filter(|address| !address.is_empty())
        .map(|address| QueuedRecipient {
            address: Cow::Owned(address.to_string()),
            delay_reason: (!reason.is_empty()).then(|| Cow::Owned(reason.to_string())),
        })
        .collect();
    if recipients.is_empty() {
        return Err(QueueError::NoEnvelopeTo);
    }
    let id = match field(columns.queue_id) {
        "" => format!("line {line}"),
        id => id.to_string(),
    };
    Ok(QueuedMessage {
        kind,
        queue_label: Cow::Owned(type_text.to_string()),
        id: Cow::Owned(id),
        arrival,
        tries,
        listed_slow,
        forced_expire: false,
        sender: Cow::Owned(field(columns.envelope_from).to_string()),
        recipients,
    })
}

/// `2024-03-05 14:22:10`, `2024/03/05 14:22`, `2024-03-05T14:22:10Z`, `... +02:00`, or Unix seconds.
/// Times without a zone are taken at `utc_offset_secs`.
pub fn parse_time(text: &str, utc_offset_secs: i64) -> Result<u64, QueueError> {
    let text = text.trim();
    let invalid = || QueueError::Time(text.to_string());
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| invalid());
    }
    let bytes = text.as_bytes();
    if bytes.len() < 16
        || !matches!((bytes[4], bytes[7]), (b'-', b'-') | (b'/', b'/'))
        || !matches!(bytes[10], b' ' | b'T')
    {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32, QueueError> {
        let part = text.get(range).ok_or_else(invalid)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute) = (number(11..13)?, number(14..16)?);
    if bytes[13] != b':' {
        return Err(invalid());
    }
    let mut rest = &text[16..];
    let mut second = 0;
    if let Some(after) = rest.strip_prefix(':') {
        second = number(17..19)?;
        rest = after.get(2..).ok_or_else(invalid)?;
    }
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest.trim() {
        "" => utc_offset_secs,
        zone => super::time::parse_utc_offset(
            zone.strip_prefix("UTC")
                .filter(|z| !z.is_empty())
                .unwrap_or(zone),
        )
        .map_err(|_| invalid())?,
    };
    // jiff refuses dates that do not exist (2024-02-31, 2023-02-29); a leap second (:60) is read
    // as :59, one second early, rather than refusing the whole listing.
    let small = |n: u32| i8::try_from(n).map_err(|_| invalid());
    let local = jiff::civil::DateTime::new(
        i16::try_from(year).map_err(|_| invalid())?,
        small(month)?,
        small(day)?,
        small(hour)?,
        small(minute)?,
        if second == 60 { 59 } else { small(second)? },
        0,
    )
    .and_then(|date_time| jiff::tz::Offset::UTC.to_timestamp(date_time))
    .map_err(|_| invalid())?
    .as_second();
    u64::try_from(local - offset).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<CsvStep> {
        let mut reader = CsvQueueReader::new(0);
        let mut steps: Vec<CsvStep> = text
            .lines()
            .enumerate()
            .map(|(index, line)| reader.feed(index as u64 + 1, line))
            .filter(|step| !matches!(step, CsvStep::Nothing | CsvStep::Incomplete))
            .collect();
        steps.extend(reader.finish());
        steps
    }

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split_fields(r#"a,"b, c","say ""hi""",,  d "#, ','),
            Some(vec![
                "a".into(),
                "b, c".into(),
                "say \"hi\"".into(),
                String::new(),
                "d".into()
            ])
        );
        assert_eq!(split_fields(r#"a,"open"#, ','), None);
        assert_eq!(guess_delimiter("Type;Envelope From;Envelope To"), ';');
        assert_eq!(guess_delimiter("Type,Subject"), ',');
    }

    #[test]
    fn quoted_delimiters_quotes_and_line_breaks_stay_in_their_field() {
        // Reason and Subject as a gateway writes them: a reply quoting the recipient, commas,
        // doubled quotes and a line break inside the quotes; Envelope To lists two recipients.
        let text = "Type,Envelope From,Envelope To,Subject,First Processed,Tries,Reason\r\n\
                    Outgoing,\"billing, accounts\"@corp.example,\"a@dead.example, b@dead.example\",\
                    \"Re: \"\"Invoice 4411\"\", March\nsecond line\",2024-03-06 02:10:00,9,\
                    \"host mx.dead.example[203.0.113.25] said: 550 5.1.1 <a@dead.example>: \
                    Recipient address rejected: \"\"User unknown\"\", \"\"see, here\"\"\"\n";
        let steps = messages(text);
        let [CsvStep::Message(2, message)] = steps.as_slice() else {
            panic!("one message expected, got {steps:?}");
        };
        assert_eq!(message.sender, "billing, accounts@corp.example");
        let recipients: Vec<&str> = message
            .recipients
            .iter()
            .map(|r| r.address.as_ref())
            .collect();
        assert_eq!(recipients, ["a@dead.example", "b@dead.example"]);
        assert_eq!(message.tries, Some(9));
        assert_eq!(
            message.recipients[0].delay_reason.as_deref(),
            Some(
                "host mx.dead.example[203.0.113.25] said: 550 5.1.1 <a@dead.example>: \
                 Recipient address rejected: \"User unknown\", \"see, here\""
            )
        );
    }

    #[test]
    fn semicolon_and_tab_exports_quote_their_delimiter() {
        for delimiter in [";", "\t"] {
            let text = format!(
                "Type{delimiter}Envelope To{delimiter}First Processed{delimiter}Reason\n\
                 Incoming{delimiter}\"x@corp.example{delimiter}y@corp.example\"{delimiter}\
                 2024-03-06 11:52:00{delimiter}\"451 4.3.0 busy{delimiter} try later\"\n"
            );
            let steps = messages(&text);
            let [CsvStep::Message(2, message)] = steps.as_slice() else {
                panic!("one message expected with {delimiter:?}, got {steps:?}");
            };
            assert_eq!(message.recipients.len(), 2, "{delimiter:?}");
            assert_eq!(
                message.recipients[0].delay_reason.as_deref(),
                Some(format!("451 4.3.0 busy{delimiter} try later").as_str())
            );
        }
    }

    #[test]
    fn a_quote_left_open_is_malformed_after_the_line_limit() {
        let mut text = String::from("Type,Envelope To,First Processed,Subject\n");
        text.push_str("Outgoing,a@dead.example,2024-03-06 11:52:00,\"never closed\n");
        for _ in 0..MAX_RECORD_LINES {
            text.push_str("more, text\n");
        }
        text.push_str("Outgoing,b@dead.example,2024-03-06 11:52:00,fine\n");
        let steps = messages(&text);
        assert!(
            matches!(&steps[0], CsvStep::Malformed(2, reason) if reason.to_string() == "quoted field not closed within 32 lines"),
            "{steps:?}"
        );
        // The lines after the limit are read again as rows of their own.
        assert!(
            steps.iter().any(|step| matches!(step, CsvStep::Message(_, m) if m.recipients[0].address == "b@dead.example")),
            "{steps:?}"
        );
    }

    #[test]
    fn reads_rows_by_header_names() {
        let text = "\u{feff}Type,Envelope From,Envelope To,Subject,First Processed,Last Processed,Tries,Reason\n\
                    Incoming-slow,a@b.example,\"x@dead.test; y@dead.test\",\"Hello, world\",2024-03-05 14:22:10,2024-03-05 16:00:00,5,connect to mx.dead.test[192.0.2.7]:25: Connection refused\n";
        let steps = messages(text);
        let [CsvStep::Message(2, message)] = steps.as_slice() else {
            panic!("one message expected, got {steps:?}");
        };
        assert_eq!(message.kind, QueueKind::Deferred);
        assert!(message.listed_slow);
        assert_eq!(message.tries, Some(5));
        assert_eq!(message.arrival, 1_709_648_530);
        assert_eq!(message.recipients.len(), 2);
        assert_eq!(message.id, "line 2");
        assert!(
            message.recipients[1]
                .delay_reason
                .as_deref()
                .is_some_and(|r| r.contains("refused"))
        );
    }

    #[test]
    fn quoted_fields_may_span_lines_and_bad_rows_are_reported() {
        let text = "Type,Envelope From,Envelope To,Subject,First Processed,Tries\n\
                    Outgoing,a@b.example,c@d.example,\"two\nlines\",2024-03-05 14:22:10,1\n\
                    Bogus Queue,a@b.example,c@d.example,s,2024-03-05 14:22:10,1\n\
                    Outgoing,a@b.example,c@d.example,s,yesterday,1\n\
                    Outgoing,a@b.example,c@d.example,\"never closed,2024-03-05 14:22:10,1\n";
        let steps = messages(text);
        assert!(matches!(steps[0], CsvStep::Message(2, _)));
        assert!(
            matches!(&steps[1], CsvStep::Malformed(4, reason) if reason.to_string() == "unknown queue type \"Bogus Queue\"")
        );
        assert!(
            matches!(&steps[2], CsvStep::Malformed(5, reason) if reason.to_string().contains("yesterday"))
        );
        assert!(
            matches!(&steps[3], CsvStep::Malformed(6, reason) if reason.to_string() == "quoted field not closed at end of input")
        );
    }

    #[test]
    fn rows_without_a_header_use_the_documented_order() {
        let text = "Spam Outbreak,198.51.100.9,US,spam@bulk.test,bob@example.com,Offer,2024-03-05 14:22:10,2024-03-05 14:22:10,0,\n";
        let steps = messages(text);
        assert!(
            matches!(&steps[0], CsvStep::Message(1, m) if m.kind == QueueKind::Hold(HoldQueue::SpamOutbreak))
        );
    }

    #[test]
    fn queue_types_and_times() {
        assert_eq!(queue_type("Outgoing"), Some((QueueKind::Deferred, false)));
        assert_eq!(
            queue_type("outgoing_slow"),
            Some((QueueKind::Deferred, true))
        );
        assert_eq!(
            queue_type("Virus Outbreak"),
            Some((QueueKind::Hold(HoldQueue::VirusOutbreak), false))
        );
        assert_eq!(
            queue_type("FortiSandbox"),
            Some((QueueKind::Hold(HoldQueue::Sandbox), false))
        );
        assert_eq!(queue_type("Dead Mail"), Some((QueueKind::Dead, false)));
        assert_eq!(queue_type("Quarantine"), None);
        assert_eq!(
            parse_time("2024-03-05 14:22:10", 0).ok(),
            Some(1_709_648_530)
        );
        assert_eq!(parse_time("2024/03/05 14:22", 0).ok(), Some(1_709_648_520));
        assert_eq!(
            parse_time("2024-03-05T16:22:10+02:00", 0).ok(),
            Some(1_709_648_530)
        );
        assert_eq!(
            parse_time("2024-03-05 16:22:10", 7200).ok(),
            Some(1_709_648_530)
        );
        assert_eq!(
            parse_time("2024-03-05 14:22:10.250Z", 3600).ok(),
            Some(1_709_648_530)
        );
        assert_eq!(
            parse_time("2024-03-05 14:22:10 UTC", 3600).ok(),
            Some(1_709_648_530)
        );
        assert_eq!(parse_time("1709648530", 0).ok(), Some(1_709_648_530));
        assert!(parse_time("2024-13-05 14:22:10", 0).is_err());
        // Days that do not exist are refused, not carried into the next month.
        assert!(parse_time("2024-02-31 10:00:00", 0).is_err());
        assert!(parse_time("2023-02-29 10:00:00", 0).is_err());
        assert!(parse_time("2024-04-31 10:00", 0).is_err());
        assert!(parse_time("2024-03-05 24:00:00", 0).is_err());
        assert_eq!(
            parse_time("2024-02-29 00:00:00", 0).ok(),
            Some(1_709_164_800)
        );
        assert_eq!(
            parse_time("2016-12-31 23:59:60", 0).ok(),
            Some(1_483_228_799)
        );
        assert!(parse_time("05/03/2024 14:22", 0).is_err());
    }
}
