//! The instant a log line was written, from the timestamp it starts with (or from CSV columns).
//!
//! Formats: RFC 3164 syslog and journald `short`/`short-precise` (`Nov  8 06:32:32`, no year: the
//! year is inferred so that the time is not after the file was last written), RFC 5424 and
//! journald `short-iso` (`2024-11-08T06:32:32.123+01:00`, `+0100`), ISO 8601 with a space (Exim,
//! FortiMail 7.6+: `2024-11-08 06:32:32.278`, optionally ` +0100`), FortiMail `date=… time=…` (its
//! `tz="-0400"` field applies when present), each optionally behind a syslog `<PRI>` and version.
//! A time without an offset is local time in the context's zone.

use std::borrow::Cow;

use jiff::civil::DateTime;

use super::dialect::{TimeSource, csv_fields};
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A line's time: the instant, and the text it was read from (as the report shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub instant: Timestamp,
    pub written: Cow<'a, str>,
}

/// How the lines of one input are dated.
#[derive(Debug, Clone)]
pub struct TimeContext {
    zone: TimeZone,
    /// The latest civil time a year-less timestamp may stand for: when the input was last
    /// written (file modification time, or now for a stream), plus a day of clock skew.
    latest: DateTime,
}

impl TimeContext {
    /// Dates zone-less times in `zone`, year-less ones no later than `written_by` (+1 day).
    pub fn new(zone: TimeZone, written_by: Timestamp) -> Self {
        let latest = zone.to_datetime(written_by);
        let latest = latest.checked_add(1.day()).unwrap_or(latest);
        Self { zone, latest }
    }

    /// The system's zone (`TZ` is honoured), year-less times no later than `written_by`.
    pub fn local(written_by: Timestamp) -> Self {
        Self::new(TimeZone::system(), written_by)
    }

    /// The timestamp `line` starts with, if it starts with one this module knows.
    pub fn leading<'a>(&self, line: &'a str) -> Option<Stamp<'a>> {
        let bytes = line.as_bytes();
        let start = syslog_header_end(bytes);
        let rest = &bytes[start..];
        let (end, instant) = if rest.starts_with(b"date=") {
            self.fortimail(line, start)?
        } else if rest.first().is_some_and(u8::is_ascii_digit) {
            let (length, civil, offset) = iso(rest)?;
            (start + length, self.instant(civil, offset)?)
        } else {
            let (length, civil) = self.syslog(rest)?;
            (start + length, self.instant(civil, None)?)
        };
        Some(Stamp {
            instant,
            written: Cow::Borrowed(&line[start..end]),
        })
    }

    /// A date and a time given apart (CSV columns), or one column holding both.
    pub fn columns<'a>(&self, date: &str, time: Option<&str>) -> Option<Stamp<'a>> {
        let joined = match time {
            Some(time) => format!("{} {}", date.trim(), time.trim()),
            None => date.trim().to_string(),
        };
        let (length, civil, offset) = iso(joined.as_bytes())?;
        if length != joined.len() {
            return None;
        }
        let instant = self.instant(civil, offset)?;
        Some(Stamp {
            instant,
            written: Cow::Owned(joined),
        })
    }

    fn instant(&self, civil: DateTime, offset: Option<Offset>) -> Option<Timestamp> {
        match offset {
            Some(offset) => offset.to_timestamp(civil).ok(),
            None => self.zone.to_ambiguous_timestamp(civil).compatible().ok(),
        }
    }

    /// `Nov  8 06:32:32[.123456]`: the year is the latest that does not put it after `latest`.
    fn syslog(&self, text: &[u8]) -> Option<(usize, DateTime)> {
        let month = MONTHS
            .iter()
            .position(|name| text.get(..3) == Some(name.as_slice()))?;
        if text.get(3) != Some(&b' ') {
            return None;
        }
        let mut at = 4;
        if text.get(at) == Some(&b' ') {
            at += 1;
        }
        let (day, used) = digits(&text[at..], 1, 2)?;
        at += used;
        if text.get(at) != Some(&b' ') {
            return None;
        }
        at += 1;
        let (hour, minute, second, nanos, used) = clock(&text[at..])?;
        at += used;
        if text.get(at).is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
        let month = i8::try_from(month + 1).ok()?;
        let day = i8::try_from(day).ok()?;
        let year = self.latest.year();
        let civil = |year: i16| DateTime::new(year, month, day, hour, minute, second, nanos).ok();
        match civil(year) {
            Some(this_year) if this_year <= self.latest => Some((at, this_year)),
            // In the future (or 29 February of a common year): the year before, or the last leap year.
            _ => (1..=4)
                .find_map(|back| civil(year - back))
                .map(|earlier| (at, earlier)),
        }
    }

    /// `date=2024-11-08 time=06:32:32[.123]`, in the offset of the line's `tz="+0100"` field when present.
    fn fortimail(&self, line: &str, start: usize) -> Option<(usize, Timestamp)> {
        let bytes = line.as_bytes();
        let rest = &bytes[start + 5..];
        let (year, month, day) = date(rest)?;
        if rest.get(10..16) != Some(b" time=".as_slice()) {
            return None;
        }
        let (hour, minute, second, nanos, used) = clock(&rest[16..])?;
        let civil = DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
        let offset = memchr::memmem::find(bytes, b" tz=\"").and_then(|at| {
            let value = bytes.get(at + 5..)?;
            let end = memchr::memchr(b'"', value)?;
            parse_offset(&value[..end]).map(|(offset, _)| offset)
        });
        Some((start + 5 + 16 + used, self.instant(civil, offset)?))
    }
}

/// How to date the lines of one input: where the time is, and how to read it.
#[derive(Debug, Clone)]
pub struct LineDating {
    pub context: TimeContext,
    pub source: TimeSource,
}

impl LineDating {
    pub fn stamp<'a>(&self, line: &'a str) -> Option<Stamp<'a>> {
        match self.source {
            TimeSource::Leading => self.context.leading(line),
            TimeSource::Columns { date, time } => {
                let fields = csv_fields(line.as_bytes())?;
                let time = match time {
                    Some(index) => Some(fields.get(index)?.as_str()),
                    None => None,
                };
                self.context.columns(fields.get(date)?, time)
            }
        }
    }
}

/// Where the time starts after an optional `<PRI>` and RFC 5424 version (`<34>1 `).
fn syslog_header_end(bytes: &[u8]) -> usize {
    if bytes.first() != Some(&b'<') {
        return 0;
    }
    let Some(close) = bytes.iter().take(5).position(|&b| b == b'>') else {
        return 0;
    };
    if close < 2 || !bytes[1..close].iter().all(u8::is_ascii_digit) {
        return 0;
    }
    let mut at = close + 1;
    if bytes.get(at).is_some_and(u8::is_ascii_digit) && bytes.get(at + 1) == Some(&b' ') {
        // RFC 5424 VERSION ("1"); a year would be followed by a digit, not a space.
        at += 2;
    }
    at
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±HH:MM|±HHMM| ±HHMM]`: bytes used, civil time, offset if written.
fn iso(text: &[u8]) -> Option<(usize, DateTime, Option<Offset>)> {
    let (year, month, day) = date(text)?;
    if !matches!(text.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let (hour, minute, second, nanos, used) = clock(&text[11..])?;
    let mut at = 11 + used;
    let civil = DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
    let mut offset = None;
    match text.get(at) {
        Some(b'Z' | b'z') => {
            offset = Some(Offset::UTC);
            at += 1;
        }
        Some(b'+' | b'-') => {
            let (found, length) = parse_offset(&text[at..])?;
            offset = Some(found);
            at += length;
        }
        Some(b' ') if matches!(text.get(at + 1), Some(b'+' | b'-')) => {
            // Exim with log_timezone: "2024-11-08 06:32:32 +0100".
            if let Some((found, length)) = parse_offset(&text[at + 1..]) {
                if !text.get(at + 1 + length).is_some_and(u8::is_ascii_digit) {
                    offset = Some(found);
                    at += 1 + length;
                }
            }
        }
        _ => {}
    }
    if text.get(at).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some((at, civil, offset))
}

/// `YYYY-MM-DD` at the start of `text`.
fn date(text: &[u8]) -> Option<(i16, i8, i8)> {
    let (year, _) = exact_digits(text, 4)?;
    if text.get(4) != Some(&b'-') || text.get(7) != Some(&b'-') {
        return None;
    }
    let (month, _) = exact_digits(&text[5..], 2)?;
    let (day, _) = exact_digits(&text[8..], 2)?;
    Some((
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    ))
}

/// `HH:MM:SS[.frac]`: hour, minute, second, nanoseconds and bytes used.
fn clock(text: &[u8]) -> Option<(i8, i8, i8, i32, usize)> {
    let (hour, _) = exact_digits(text, 2)?;
    let (minute, _) = exact_digits(text.get(3..)?, 2)?;
    let (second, _) = exact_digits(text.get(6..)?, 2)?;
    if text.get(2) != Some(&b':') || text.get(5) != Some(&b':') {
        return None;
    }
    let mut used = 8;
    let mut nanos = 0i32;
    if matches!(text.get(8), Some(b'.' | b',')) {
        let fraction = &text[9..];
        let length = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if length == 0 {
            return None;
        }
        let mut scale = 100_000_000;
        for &digit in fraction.iter().take(length.min(9)) {
            nanos += i32::from(digit - b'0') * scale;
            scale /= 10;
        }
        used += 1 + length;
    }
    Some((
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second.min(59)).ok()?,
        nanos,
        used,
    ))
}

/// `+HH:MM`, `+HHMM` or `+HH` (or `-`): the offset and bytes used.
fn parse_offset(text: &[u8]) -> Option<(Offset, usize)> {
    let sign: i32 = match text.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = two_digits(text.get(1..)?)?;
    let (minutes, used) = if text.get(3) == Some(&b':') {
        (two_digits(text.get(4..)?)?, 6)
    } else if let Some(minutes) = text.get(3..).and_then(two_digits) {
        (minutes, 5)
    } else {
        (0, 3)
    };
    if text.get(used).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let seconds = sign * i32::try_from(hours * 3600 + minutes * 60).ok()?;
    Some((Offset::from_seconds(seconds).ok()?, used))
}

/// Two ASCII digits at the start of `text`, whatever follows.
fn two_digits(text: &[u8]) -> Option<u32> {
    match text {
        [tens, ones, ..] if tens.is_ascii_digit() && ones.is_ascii_digit() => {
            Some(u32::from(tens - b'0') * 10 + u32::from(ones - b'0'))
        }
        _ => None,
    }
}

/// Exactly `count` ASCII digits at the start of `text`.
fn exact_digits(text: &[u8], count: usize) -> Option<(u32, usize)> {
    let (value, used) = digits(text, count, count)?;
    (used == count).then_some((value, used))
}

/// Between `min` and `max` ASCII digits at the start of `text`.
fn digits(text: &[u8], min: usize, max: usize) -> Option<(u32, usize)> {
    let used = text
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if used < min || text.get(used).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let value = text[..used]
        .iter()
        .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
    Some((value, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_context(written_by: &str) -> TimeContext {
        TimeContext::new(TimeZone::UTC, written_by.parse().unwrap())
    }

    fn instant(context: &TimeContext, line: &str) -> (String, String) {
        let stamp = context.leading(line).unwrap();
        (stamp.instant.to_string(), stamp.written.into_owned())
    }

    #[test]
    fn rfc3164_takes_the_year_the_file_was_written_in() {
        let context = utc_context("2026-12-01T12:00:00Z");
        assert_eq!(
            instant(&context, "Nov  8 06:32:32 gw postfix/smtpd[1]: connect"),
            ("2026-11-08T06:32:32Z".into(), "Nov  8 06:32:32".into())
        );
        // journald short-precise, zero-padded day
        assert_eq!(
            instant(&context, "Nov 08 06:32:32.250000 gw postfix/smtpd[1]: x").0,
            "2026-11-08T06:32:32.25Z"
        );
        // a December line in a log written in January belongs to the year before
        let january = utc_context("2027-01-02T00:10:00Z");
        assert_eq!(
            instant(&january, "Dec 31 23:59:59 gw x").0,
            "2026-12-31T23:59:59Z"
        );
        assert_eq!(
            instant(&january, "Jan  2 00:05:00 gw x").0,
            "2027-01-02T00:05:00Z"
        );
    }

    #[test]
    fn rfc5424_and_journald_iso_carry_their_offset() {
        let context = utc_context("2026-12-01T12:00:00Z");
        assert_eq!(
            instant(
                &context,
                "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - x"
            ),
            (
                "2003-10-11T22:14:15.003Z".into(),
                "2003-10-11T22:14:15.003Z".into()
            )
        );
        assert_eq!(
            instant(
                &context,
                "2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - x"
            )
            .0,
            "2003-08-24T12:14:15.000003Z"
        );
        assert_eq!(
            instant(&context, "2024-11-08T06:32:32+0100 gw postfix/smtpd[1]: x").0,
            "2024-11-08T05:32:32Z"
        );
        assert_eq!(
            instant(
                &context,
                "<34>Oct 11 22:14:15 mymachine su: 'su root' failed"
            )
            .1,
            "Oct 11 22:14:15"
        );
    }

    #[test]
    fn exim_fortimail_and_zone_less_times() {
        let context = TimeContext::new(
            TimeZone::fixed(jiff::tz::offset(2)),
            "2026-12-01T12:00:00Z".parse().unwrap(),
        );
        assert_eq!(
            instant(&context, "2024-11-08 06:32:32 1tABCD-000123-AB <= a@b.test").0,
            "2024-11-08T04:32:32Z"
        );
        assert_eq!(
            instant(
                &context,
                "2024-11-08 06:32:32 +0000 1tABCD-000123-AB <= a@b.test"
            )
            .0,
            "2024-11-08T06:32:32Z"
        );
        assert_eq!(
            instant(
                &context,
                "date=2013-02-25 time=07:01:34 device_id=FE100C3909600504 log_id=0200025843"
            ),
            (
                "2013-02-25T05:01:34Z".into(),
                "date=2013-02-25 time=07:01:34".into()
            )
        );
        assert_eq!(
            instant(
                &context,
                "date=2024-05-20 time=15:28:32.278 log_id=0701000001 tz=\"-0400\" type=kevent"
            )
            .0,
            "2024-05-20T19:28:32.278Z"
        );
        assert_eq!(
            context
                .columns("2024-11-08", Some("06:32:32"))
                .unwrap()
                .instant
                .to_string(),
            "2024-11-08T04:32:32Z"
        );
    }

    #[test]
    fn text_that_only_looks_like_a_time_is_not_one() {
        let context = utc_context("2026-12-01T12:00:00Z");
        for line in [
            "no time here",
            "Nov 28 6:32:32 x",
            "Nov 288 06:32:32 x",
            "2024-13-08T06:32:32Z x",
            "2024-11-08T25:32:32Z x",
            "2024-11-08X06:32:32 x",
            "12345",
            "<999999>Nov 28 06:32:32",
            "",
        ] {
            assert!(context.leading(line).is_none(), "{line:?}");
        }
    }
}
