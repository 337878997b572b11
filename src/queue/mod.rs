//! Mail-queue diagnosis without I/O: listing parsers (`postqueue -j`, FortiMail CSV), the per-message
//! model, streaming aggregation, and the observations the playbook engine evaluates.
//!
//! The command feeds lines to a [`QueueScan`]; nothing here holds more than one record at a time.

pub mod aggregate;
pub mod bounded;
pub mod error;
pub mod fortimail_csv;
pub mod histogram;
pub mod model;
pub mod observe;
pub mod overview;
pub mod postqueue;
pub mod reason;
pub mod time;

use aggregate::QueueAggregate;
use fortimail_csv::{CsvQueueReader, CsvStep};
use model::QueueSettings;

/// Malformed lines quoted by number in the report; the rest are only counted.
pub const MALFORMED_QUOTED: usize = 10;

/// The listing formats the queue command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    PostqueueJson,
    FortimailCsv,
}

impl InputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostqueueJson => "postqueue-json",
            Self::FortimailCsv => "fortimail-csv",
        }
    }
}

/// The format of a listing judged from its first non-empty line: JSON objects are `postqueue -j`,
/// anything else is read as a CSV export.
pub fn detect_format(first_line: &str) -> InputFormat {
    if first_line
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        InputFormat::PostqueueJson
    } else {
        InputFormat::FortimailCsv
    }
}

/// Lines that could not be read: all counted, the first few quoted with their line numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MalformedLines {
    pub count: u64,
    pub quoted: Vec<(u64, String)>,
}

impl MalformedLines {
    pub fn record(&mut self, line: u64, reason: &impl std::fmt::Display) {
        self.count += 1;
        if self.quoted.len() < MALFORMED_QUOTED {
            self.quoted.push((line, reason.to_string()));
        }
    }

    /// One report note, or `None` when every line was fine.
    pub fn note(&self) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        let quoted: Vec<String> = self
            .quoted
            .iter()
            .map(|(line, reason)| format!("line {line}: {reason}"))
            .collect();
        let more = self.count.saturating_sub(self.quoted.len() as u64);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        Some(format!(
            "{} malformed line{} skipped — {}{tail}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            quoted.join("; ")
        ))
    }
}

/// One pass over a listing, fed line by line.
#[derive(Debug)]
pub struct QueueScan {
    format: Option<InputFormat>,
    csv: CsvQueueReader,
    pub aggregate: QueueAggregate,
    /// Messages read.
    pub records: u64,
    pub malformed: MalformedLines,
}

impl QueueScan {
    /// `format: None` detects it from the first non-empty line.
    pub fn new(
        format: Option<InputFormat>,
        settings: QueueSettings,
        csv_utc_offset_secs: i64,
    ) -> Self {
        Self {
            format,
            csv: CsvQueueReader::new(csv_utc_offset_secs),
            aggregate: QueueAggregate::new(settings),
            records: 0,
            malformed: MalformedLines::default(),
        }
    }

    /// The format in use (`None` until a non-empty line was seen, when detecting).
    pub fn format(&self) -> Option<InputFormat> {
        self.format
    }

    /// Reads line `number` (1-based, without its line ending).
    pub fn feed_line(&mut self, number: u64, line: &str) {
        let format = match self.format {
            Some(format) => format,
            None if line.trim().is_empty() => return,
            None => *self.format.insert(detect_format(line)),
        };
        match format {
            InputFormat::PostqueueJson => {
                if line.trim().is_empty() {
                    return;
                }
                match postqueue::parse_line(line) {
                    Ok(message) => {
                        self.records += 1;
                        self.aggregate.add(&message);
                    }
                    Err(reason) => self.malformed.record(number, &reason),
                }
            }
            InputFormat::FortimailCsv => {
                let step = self.csv.feed(number, line);
                self.apply(step);
            }
        }
    }

    /// Call after the last line.
    pub fn finish(&mut self) {
        if let Some(step) = self.csv.finish() {
            self.apply(step);
        }
    }

    fn apply(&mut self, step: CsvStep) {
        match step {
            CsvStep::Nothing | CsvStep::Incomplete => {}
            CsvStep::Message(_, message) => {
                self.records += 1;
                self.aggregate.add(&message);
            }
            CsvStep::Malformed(line, reason) => self.malformed.record(line, &reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_json_lines_and_csv() {
        assert_eq!(
            detect_format("  {\"queue_name\":\"deferred\"}"),
            InputFormat::PostqueueJson
        );
        assert_eq!(detect_format("\u{feff}{}"), InputFormat::PostqueueJson);
        assert_eq!(detect_format("Type,Client IP"), InputFormat::FortimailCsv);
    }

    #[test]
    fn malformed_lines_are_counted_and_quoted() {
        let mut scan = QueueScan::new(None, QueueSettings::new(2_000_000_000), 0);
        let good = r#"{"queue_name":"deferred","queue_id":"A1","arrival_time":1999990000,"sender":"a@b.example","recipients":[{"address":"x@y.test","delay_reason":"Connection timed out"}]}"#;
        for (number, line) in ["", good, "garbage", good, "{\"queue_name\":\"deferred\"}"]
            .iter()
            .enumerate()
        {
            scan.feed_line(number as u64 + 1, line);
        }
        scan.finish();
        assert_eq!(scan.format(), Some(InputFormat::PostqueueJson));
        assert_eq!(scan.records, 2);
        assert_eq!(scan.malformed.count, 2);
        let note = scan.malformed.note().expect("a note");
        assert!(
            note.starts_with("2 malformed lines skipped — line 3: not a postqueue -j record"),
            "{note}"
        );
        assert!(note.contains("line 5: no queue_id"), "{note}");
    }
}
