//! `--since` / `--until`: the time window a diagnosis of logs is limited to.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A bound the user wrote that is not a time this module reads.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0:?} is not a time: use RFC 3339 (2024-11-08T06:00:00Z), a local date and time \
     (2024-11-08 06:00[:00]), a date (2024-11-08) or an age (90m, 36h, 7d)"
)]
pub struct BadBound(pub String);

/// Instants from `since` (inclusive) to `until` (exclusive); an absent bound is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl TimeWindow {
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    pub fn contains(&self, instant: Timestamp) -> bool {
        self.since.is_none_or(|since| instant >= since)
            && self.until.is_none_or(|until| instant < until)
    }
}

/// Reads a bound written by the user; local times are in `zone`, ages count back from `now`.
pub fn parse_bound(text: &str, zone: &TimeZone, now: Timestamp) -> Result<Timestamp, BadBound> {
    let bad = || BadBound(text.to_string());
    let trimmed = text.trim();
    if let Some(age) = parse_age(trimmed) {
        return now.checked_sub(age).map_err(|_| bad());
    }
    if let Ok(instant) = trimmed.parse::<Timestamp>() {
        return Ok(instant);
    }
    let civil = if let Ok(civil) = trimmed.parse::<DateTime>() {
        civil
    } else if let Ok(day) = trimmed.parse::<Date>() {
        day.to_datetime(jiff::civil::Time::midnight())
    } else {
        return Err(bad());
    };
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|_| bad())
}

/// `90s`, `90m`, `36h`, `7d`, `2w`.
fn parse_age(text: &str) -> Option<SignedDuration> {
    let unit = text.chars().last()?;
    let seconds: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let amount: i64 = text[..text.len() - 1].parse().ok()?;
    if amount < 0 {
        return None;
    }
    Some(SignedDuration::from_secs(amount.checked_mul(seconds)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_in_every_accepted_form() {
        let now: Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let zone = TimeZone::fixed(jiff::tz::offset(1));
        let read = |text: &str| parse_bound(text, &zone, now).unwrap().to_string();
        assert_eq!(read("2024-11-08T06:00:00Z"), "2024-11-08T06:00:00Z");
        assert_eq!(read("2024-11-08T06:00:00+02:00"), "2024-11-08T04:00:00Z");
        assert_eq!(read("2024-11-08 06:00"), "2024-11-08T05:00:00Z");
        assert_eq!(read("2024-11-08"), "2024-11-07T23:00:00Z");
        assert_eq!(read("36h"), "2026-11-30T00:00:00Z");
        assert_eq!(read("7d"), "2026-11-24T12:00:00Z");
        for wrong in ["yesterday", "", "-5h", "2024-02-30", "5y"] {
            assert!(parse_bound(wrong, &zone, now).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_window_includes_since_and_excludes_until() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        let window = TimeWindow {
            since: Some(at("2024-01-01T00:00:00Z")),
            until: Some(at("2024-01-02T00:00:00Z")),
        };
        assert!(window.contains(at("2024-01-01T00:00:00Z")));
        assert!(!window.contains(at("2024-01-02T00:00:00Z")));
        assert!(!window.contains(at("2023-12-31T23:59:59Z")));
        assert!(TimeWindow::default().is_open());
    }
}
