//! The timestamp a log line starts with (syslog, ISO 8601, FortiMail `date= time=`), kept as written.

use std::sync::LazyLock;

use regex::Regex;

static LEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}",
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
        r"|date=[0-9]{4}-[0-9]{2}-[0-9]{2} time=[0-9]{2}:[0-9]{2}:[0-9]{2}",
        r")"
    ))
    .expect("static regex")
});

pub fn leading_timestamp(line: &str) -> Option<&str> {
    LEADING.find(line).map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            leading_timestamp("Nov  8 06:32:32 gw postfix"),
            Some("Nov  8 06:32:32")
        );
        assert_eq!(
            leading_timestamp("2026-11-28T06:32:32.123+00:00 gw"),
            Some("2026-11-28T06:32:32.123+00:00")
        );
        assert_eq!(
            leading_timestamp("date=2026-11-28 time=06:32:32 devname=fm"),
            Some("date=2026-11-28 time=06:32:32")
        );
        assert_eq!(leading_timestamp("no time here"), None);
    }
}
