//! Time arithmetic of the queue model: Postfix-style durations (`4h`, `5d`), UTC offsets, Unix
//! seconds as calendar dates (jiff), and short ages for humans (`2d 3h`).

use super::error::QueueError;

/// Seconds in a Postfix time unit: `s`, `m`, `h`, `d`, `w`.
fn unit_secs(unit: char) -> Option<u64> {
    match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        'w' => Some(604_800),
        _ => None,
    }
}

/// `300`, `300s`, `30m`, `4h`, `5d`, `1w`, or sums such as `1d12h` (as Postfix `*_time` parameters).
pub fn parse_duration_secs(text: &str) -> Result<u64, QueueError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QueueError::EmptyDuration);
    }
    let too_large = || QueueError::DurationTooLarge(text.to_string());
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| too_large());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        let unit =
            unit_secs(character.to_ascii_lowercase()).ok_or_else(|| QueueError::UnknownUnit {
                text: text.to_string(),
                unit: character,
            })?;
        let amount: u64 = digits.parse().map_err(|_| QueueError::NumberBeforeUnit {
            text: text.to_string(),
            unit: character,
        })?;
        total = amount
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(too_large)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(QueueError::LastNumberWithoutUnit(text.to_string()));
    }
    Ok(total)
}

/// `+02:00`, `-0530`, `Z` → seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i64, QueueError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(QueueError::UtcOffsetForm(text.to_string())),
    };
    // `HH`, `HHMM` or `HH:MM`: a colon anywhere else (`+1:0`) would shift the digits into hours.
    let colon_in_place = !rest.contains(':') || (rest.len() == 5 && rest.as_bytes()[2] == b':');
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let valid = colon_in_place
        && matches!(digits.len(), 2 | 4)
        && digits.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(QueueError::UtcOffsetForm(text.to_string()));
    }
    let hours: i64 = digits[..2].parse().unwrap_or(0);
    let minutes: i64 = digits.get(2..).map_or(0, |m| m.parse().unwrap_or(0));
    if hours > 18 || minutes > 59 {
        return Err(QueueError::UtcOffsetRange(text.to_string()));
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

/// `2024-03-05 14:22:10 UTC`.
pub fn format_utc(epoch: u64) -> String {
    i64::try_from(epoch)
        .ok()
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
        .map_or_else(
            || format!("{epoch} (Unix seconds)"),
            |at| at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// A short age for humans: `45s`, `12m`, `3h 20m`, `2d 3h`.
pub fn format_age(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A duration the way a user would type it back: `4h`, `5d`, `90m`, `45s`.
pub fn format_duration(secs: u64) -> String {
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_postfix_units() {
        assert_eq!(parse_duration_secs("4h").ok(), Some(14_400));
        assert_eq!(parse_duration_secs("5d").ok(), Some(432_000));
        assert_eq!(parse_duration_secs("1d12h").ok(), Some(129_600));
        assert_eq!(parse_duration_secs("300").ok(), Some(300));
        assert!(parse_duration_secs("4x").is_err());
        assert!(parse_duration_secs("h").is_err());
        assert!(parse_duration_secs("12h3").is_err());
        assert_eq!(format_duration(14_400), "4h");
        assert_eq!(format_duration(432_000), "5d");
        assert_eq!(format_duration(90), "90s");
    }

    #[test]
    fn duration_and_offset_errors_say_what_is_wrong() {
        let duration = |text: &str| parse_duration_secs(text).unwrap_err().to_string();
        assert_eq!(duration(" "), "empty duration");
        assert_eq!(
            duration("4x"),
            "\"4x\": unknown unit 'x' (use s, m, h, d or w)"
        );
        assert_eq!(duration("h"), "\"h\": a number must come before 'h'");
        assert_eq!(duration("12h3"), "\"12h3\": the last number has no unit");
        assert_eq!(
            duration("99999999999999999999"),
            "\"99999999999999999999\" is too large"
        );
        assert_eq!(
            duration("99999999999999999w"),
            "\"99999999999999999w\" is too large"
        );
        let offset = |text: &str| parse_utc_offset(text).unwrap_err().to_string();
        assert_eq!(
            offset("02:00"),
            "\"02:00\": a UTC offset looks like +02:00 or -05:30"
        );
        assert_eq!(
            offset("+2:0"),
            "\"+2:0\": a UTC offset looks like +02:00 or -05:30"
        );
        assert_eq!(offset("+25:00"), "\"+25:00\": offset out of range");
    }

    #[test]
    fn offsets_parse_both_spellings() {
        assert_eq!(parse_utc_offset("+02:00").ok(), Some(7200));
        assert_eq!(parse_utc_offset("-0530").ok(), Some(-19_800));
        assert_eq!(parse_utc_offset("Z").ok(), Some(0));
        assert!(parse_utc_offset("02:00").is_err());
        assert!(parse_utc_offset("+25:00").is_err());
    }

    #[test]
    fn utc_times_print_as_calendar_dates() {
        assert_eq!(format_utc(1_709_648_530), "2024-03-05 14:22:10 UTC");
        assert_eq!(format_utc(1_709_164_800), "2024-02-29 00:00:00 UTC");
        assert_eq!(format_utc(u64::MAX), "18446744073709551615 (Unix seconds)");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(format_age(45), "45s");
        assert_eq!(format_age(720), "12m");
        assert_eq!(format_age(12_000), "3h 20m");
        assert_eq!(format_age(183_600), "2d 3h");
    }
}
