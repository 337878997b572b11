//! Which system wrote a log (Postfix, Exim, Sendmail, FortiMail, Exchange), judged from a sample of
//! its first lines, and where each line's time is (leading timestamp or CSV columns).
//!
//! The verdict decides whose remediation is shown first when the user gave no `--platform`, so it
//! comes with the reason it was reached ("postfix/… process names on 180 of 200 lines").

use crate::vocabulary::Platform;

/// Lines of the sample that are looked at.
const SAMPLE_LINES: usize = 400;

/// The kind of log, as far as the sample shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dialect {
    Postfix,
    Exim,
    Sendmail,
    /// FortiMail `date=… time=… log_id=… type=…` lines (local disk, syslog, FortiAnalyzer), or its
    /// sendmail-based MTA lines that name its milters (`fas_milter`, `mailfilterd`).
    FortimailKv,
    /// A log table exported from the FortiMail GUI as CSV (history, event, antispam …).
    FortimailCsv,
    /// An Exchange message tracking log: CSV under a `#Fields:` header.
    ExchangeTracking,
    /// Syslog lines from programs this module does not know.
    Syslog,
    Unknown,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postfix => "Postfix",
            Self::Exim => "Exim",
            Self::Sendmail => "Sendmail",
            Self::FortimailKv => "FortiMail log",
            Self::FortimailCsv => "FortiMail GUI log export (CSV)",
            Self::ExchangeTracking => "Exchange message tracking log",
            Self::Syslog => "syslog",
            Self::Unknown => "unrecognised",
        }
    }

    /// Whose remediation fits this log; `Generic` where mxdoctor has no platform of its own.
    pub fn platform(self) -> Platform {
        match self {
            Self::Postfix => Platform::Postfix,
            Self::FortimailKv | Self::FortimailCsv => Platform::Fortimail,
            Self::ExchangeTracking => Platform::Exchange,
            Self::Exim | Self::Sendmail | Self::Syslog | Self::Unknown => Platform::Generic,
        }
    }
}

/// Where a line's time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// At the start of the line (syslog, ISO 8601, FortiMail `date= time=`).
    Leading,
    /// In CSV columns: one holding the date (or date and time), maybe one holding the time.
    Columns { date: usize, time: Option<usize> },
}

/// The verdict on one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub dialect: Dialect,
    pub time: TimeSource,
    /// Why, in words, for the report.
    pub why: String,
    /// Sampled lines that voted for `dialect` (0 for header-based verdicts).
    pub votes: usize,
}

/// Judges the first bytes of an input (already decompressed).
pub fn detect(sample: &[u8]) -> Detection {
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    let lines = || {
        sample
            .split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.is_empty())
            .take(SAMPLE_LINES)
    };
    if let Some(detection) = exchange_header(lines()) {
        return detection;
    }
    if let Some(first) = lines().next() {
        if let Some(detection) = csv_header(first) {
            return detection;
        }
    }
    let mut votes = [0usize; 5];
    let mut sampled = 0;
    for line in lines() {
        if line.starts_with(b"-- ") {
            continue; // journalctl's "-- Boot …" / "-- Logs begin at …" separators
        }
        sampled += 1;
        if let Some(dialect) = line_dialect(line) {
            votes[vote_index(dialect)] += 1;
        }
    }
    let (index, &count) = votes
        .iter()
        .enumerate()
        .max_by_key(|&(index, &count)| (count, std::cmp::Reverse(index)))
        .unwrap_or((0, &0));
    if count == 0 {
        let dialect =
            if sampled > 0 && lines().any(|l| l.starts_with(b"<") || starts_like_syslog(l)) {
                Dialect::Syslog
            } else {
                Dialect::Unknown
            };
        return Detection {
            dialect,
            time: TimeSource::Leading,
            why: format!("no line of {sampled} sampled names a known mail system"),
            votes: 0,
        };
    }
    let dialect = VOTERS[index];
    let what = match dialect {
        Dialect::Postfix => "come from postfix/… processes",
        Dialect::Exim => {
            "are Exim main-log entries (message ids like 1tABCD-000123-AB, or exim[pid])"
        }
        Dialect::Sendmail => "come from sendmail/sm-mta processes",
        _ => "carry FortiMail log_id=/type= fields or name its milters (fas_milter, mailfilterd)",
    };
    Detection {
        dialect,
        time: TimeSource::Leading,
        why: format!("{count} of {sampled} sampled lines {what}"),
        votes: count,
    }
}

const VOTERS: [Dialect; 5] = [
    Dialect::FortimailKv,
    Dialect::Postfix,
    Dialect::Exim,
    Dialect::Sendmail,
    Dialect::Syslog,
];

fn vote_index(dialect: Dialect) -> usize {
    VOTERS.iter().position(|&d| d == dialect).unwrap_or(4)
}

/// The mail system one log line comes from, when it says.
fn line_dialect(line: &[u8]) -> Option<Dialect> {
    let has = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
    if (has(b"log_id=") && has(b"type=")) || has(b"fas_milter") || has(b"mailfilterd") {
        return Some(Dialect::FortimailKv);
    }
    if postfix_tag(line) {
        return Some(Dialect::Postfix);
    }
    if has(b" exim[") || exim_main_log(line) {
        return Some(Dialect::Exim);
    }
    if has(b" sendmail[") || has(b" sm-mta[") || has(b" sm-msp-queue[") {
        return Some(Dialect::Sendmail);
    }
    None
}

/// `postfix/smtpd[`, `postfix/submission/smtpd[`, `postfix-out/smtp[`, `postfix[`, or the RFC 5424
/// framing `postfix/smtpd 4501` (APP-NAME, then PROCID).
fn postfix_tag(line: &[u8]) -> bool {
    memchr::memmem::find_iter(line, b"postfix").any(|at| {
        let before_ok = at == 0 || matches!(line[at - 1], b' ' | b':');
        let after = &line[at + 7..];
        let tag_end = after
            .iter()
            .position(|&b| b == b'[' || b == b':' || b == b' ')
            .unwrap_or(after.len());
        let process_id = match after.get(tag_end) {
            Some(b'[') => true,
            Some(b' ') => {
                after[..tag_end].contains(&b'/')
                    && after.get(tag_end + 1).is_some_and(u8::is_ascii_digit)
            }
            _ => false,
        };
        before_ok && matches!(after.first(), Some(b'/' | b'-' | b'[')) && process_id
    })
}

/// `2024-11-08 06:32:32 [+0100 ][[pid] ]1tABCD-000123-AB …` or an Exim reject without a message id
/// (`H=… F=<…> rejected RCPT`).
fn exim_main_log(line: &[u8]) -> bool {
    let Some(rest) = line.get(20..) else {
        return false;
    };
    if !(line[..4].iter().all(u8::is_ascii_digit)
        && line[4] == b'-'
        && line[10] == b' '
        && line[13] == b':')
    {
        return false;
    }
    let mut rest = rest;
    if rest.first().is_some_and(|&b| b == b'+' || b == b'-') && rest.get(5) == Some(&b' ') {
        rest = &rest[6..];
    }
    if rest.first() == Some(&b'[') {
        if let Some(close) = rest.iter().position(|&b| b == b']') {
            rest = rest.get(close + 2..).unwrap_or_default();
        }
    }
    let token = rest.split(|&b| b == b' ').next().unwrap_or_default();
    let parts: Vec<&[u8]> = token.split(|&b| b == b'-').collect();
    let exim_id = parts.len() == 3
        && parts[0].len() == 6
        && (6..=11).contains(&parts[1].len())
        && (2..=4).contains(&parts[2].len())
        && parts
            .iter()
            .all(|p| p.iter().all(u8::is_ascii_alphanumeric));
    exim_id || (rest.starts_with(b"H=") && memchr::memmem::find(rest, b" rejected ").is_some())
}

fn starts_like_syslog(line: &[u8]) -> bool {
    line.len() > 15
        && line[..3].iter().all(u8::is_ascii_alphabetic)
        && line[3] == b' '
        && line[9] == b':'
}

/// An Exchange message tracking log: `#Software: Microsoft Exchange…`, `#Log-type: Message
/// Tracking Log`, `#Fields: date-time,…`.
fn exchange_header<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Option<Detection> {
    let mut tracking = false;
    for line in lines.take(8) {
        if !line.starts_with(b"#") {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if text.starts_with("#Software: Microsoft Exchange")
            || text.starts_with("#Log-type: Message Tracking Log")
        {
            tracking = true;
        }
        if let Some(fields) = text.strip_prefix("#Fields:") {
            let names: Vec<&str> = fields.split(',').map(str::trim).collect();
            let date = names
                .iter()
                .position(|n| n.eq_ignore_ascii_case("date-time"))?;
            if tracking || names.iter().any(|n| n.eq_ignore_ascii_case("event-id")) {
                return Some(Detection {
                    dialect: Dialect::ExchangeTracking,
                    time: TimeSource::Columns { date, time: None },
                    why: "a #Fields: header with date-time and event-id columns (message tracking log)"
                        .into(),
                    votes: 0,
                });
            }
        }
    }
    None
}

/// A CSV header row naming date and time columns and FortiMail log fields.
fn csv_header(line: &[u8]) -> Option<Detection> {
    memchr::memchr(b',', line)?;
    let names = csv_fields(line)?;
    let key = |name: &str| name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
    let position = |wanted: &[&str]| keys.iter().position(|k| wanted.contains(&k.as_str()));
    let both = position(&[
        "date/time",
        "date_time",
        "datetime",
        "timestamp",
        "received",
    ]);
    let date = position(&["date"]);
    let time = position(&["time"]);
    let source = match (both, date, time) {
        (_, Some(date), Some(time)) => TimeSource::Columns {
            date,
            time: Some(time),
        },
        (Some(date), _, _) | (None, Some(date), None) => TimeSource::Columns { date, time: None },
        _ => return None,
    };
    let markers: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| {
            [
                "log_id",
                "session_id",
                "classifier",
                "disposition",
                "device_id",
                "devname",
            ]
            .contains(k)
        })
        .collect();
    let dialect = if markers.is_empty() {
        Dialect::Unknown
    } else {
        Dialect::FortimailCsv
    };
    let why = if markers.is_empty() {
        "a CSV header with date/time columns but no FortiMail fields".to_string()
    } else {
        format!(
            "a CSV header with date/time columns and FortiMail fields ({})",
            markers.join(", ")
        )
    };
    Some(Detection {
        dialect,
        time: source,
        why,
        votes: 0,
    })
}

/// The fields of one CSV line (RFC 4180 quoting), or `None` when it is not one.
pub fn csv_fields(line: &[u8]) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    let record = reader.records().next()?.ok()?;
    Some(record.iter().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(sample: &str) -> Dialect {
        detect(sample.as_bytes()).dialect
    }

    #[test]
    fn syslog_lines_vote_by_program() {
        assert_eq!(
            dialect("Nov 28 06:30:01 gw postfix/smtpd[4501]: connect from x[192.0.2.10]\n"),
            Dialect::Postfix
        );
        assert_eq!(
            dialect(
                "Nov 28 06:30:01 gw postfix-out/smtp[4501]: x\nNov 28 06:30:01 gw cron[1]: y\n"
            ),
            Dialect::Postfix
        );
        assert_eq!(
            dialect("Nov 28 06:30:01 mta sendmail[123]: x: from=<a@b>\n"),
            Dialect::Sendmail
        );
        assert_eq!(
            dialect(
                "Nov 28 06:30:01 fm1 mail: 06:30:01.1 fm1 sendmail[1]: x: Milter (fas_milter): timeout\n"
            ),
            Dialect::FortimailKv
        );
        assert_eq!(
            dialect("2024-11-08 06:32:32 1tABCD-000123-AB <= a@b.test H=x [192.0.2.1]\n"),
            Dialect::Exim
        );
        assert_eq!(
            dialect("2024-11-08 06:32:32 [1234] 1tABCD-0001234567-ABCD => a@b.test\n"),
            Dialect::Exim
        );
        assert_eq!(
            dialect("Nov 28 06:30:01 gw cron[1]: job\n"),
            Dialect::Syslog
        );
        assert_eq!(dialect("just text\n"), Dialect::Unknown);
        assert_eq!(dialect(""), Dialect::Unknown);
    }

    #[test]
    fn csv_headers_name_their_time_columns() {
        let exchange = detect(
            b"#Software: Microsoft Exchange Server\n#Version: 15.02.1118.007\n#Log-type: Message Tracking Log\n#Date: 2024-11-08T00:00:00.000Z\n#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id\n",
        );
        assert_eq!(exchange.dialect, Dialect::ExchangeTracking);
        assert_eq!(
            exchange.time,
            TimeSource::Columns {
                date: 0,
                time: None
            }
        );
        let fortimail = detect(b"Date,Time,Log ID,Type,Subtype,Level,Message\n2024-11-08,06:00:00,1,event,smtp,information,x\n");
        assert_eq!(fortimail.dialect, Dialect::FortimailCsv);
        assert_eq!(
            fortimail.time,
            TimeSource::Columns {
                date: 0,
                time: Some(1)
            }
        );
        assert_eq!(detect(b"a,b,c\n").dialect, Dialect::Unknown);
    }

    #[test]
    fn a_postfix_mention_is_not_a_postfix_process() {
        assert_eq!(
            line_dialect(b"Nov 28 06:30:01 gw cron[1]: restarting postfix now"),
            None
        );
        assert_eq!(line_dialect(b"2024-11-08 06:32:32"), None);
    }
}
