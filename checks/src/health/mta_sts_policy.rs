//! The two texts of MTA-STS (RFC 8461) parsed without any I/O: the `_mta-sts` TXT record (§3.1)
//! and the policy file (§3.2), and how a policy's `mx` patterns match an MX host name (§4.1).

/// Largest `max_age` a policy may give: one year (RFC 8461 §3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// Why the `_mta-sts` TXT record is not one a sender accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    #[error("it does not start with v=STSv1")]
    NotStsV1,
    #[error("the required id= field is missing")]
    MissingId,
    #[error("id={0} is not 1 to 32 letters and digits")]
    BadId(String),
    #[error("the field {0:?} is not name=value")]
    BadField(String),
}

/// The `id=` of a valid `v=STSv1` record.
pub fn parse_txt(record: &str) -> Result<String, TxtError> {
    let mut fields = record.split(';').map(str::trim);
    let version = fields.next().unwrap_or_default();
    let is_v1 = version
        .split_once('=')
        .is_some_and(|(name, value)| name.trim() == "v" && value.trim() == "STSv1");
    if !is_v1 {
        return Err(TxtError::NotStsV1);
    }
    let mut id = None;
    for field in fields {
        // A trailing ";" leaves an empty field, which the grammar allows.
        if field.is_empty() {
            continue;
        }
        let Some((name, value)) = field.split_once('=') else {
            return Err(TxtError::BadField(field.to_owned()));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return Err(TxtError::BadField(field.to_owned()));
        }
        if name == "id" && id.is_none() {
            let valid = (1..=32).contains(&value.len())
                && value.bytes().all(|byte| byte.is_ascii_alphanumeric());
            if !valid {
                return Err(TxtError::BadId(value.to_owned()));
            }
            id = Some(value.to_owned());
        }
    }
    id.ok_or(TxtError::MissingId)
}

/// Whether a TXT record at `_mta-sts` claims to be an MTA-STS record (others are discarded, §3.1).
pub fn is_sts_record(record: &str) -> bool {
    record.starts_with("v=STSv1")
}

/// A policy that parsed: its fields, and what is wrong with it without making it unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: String,
    pub max_age: u64,
    pub mx: Vec<String>,
    pub problems: Vec<String>,
}

/// Why a sender cannot use a policy file (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the version field is missing (must be \"version: STSv1\")")]
    MissingVersion,
    #[error("version {0:?} is not STSv1")]
    BadVersion(String),
    #[error("the mode field is missing")]
    MissingMode,
    #[error("mode {0:?} is not enforce, testing or none")]
    BadMode(String),
    #[error("the max_age field is missing")]
    MissingMaxAge,
    #[error("max_age {0:?} is not a number of seconds from 0 to 31557600")]
    BadMaxAge(String),
    #[error("mode {0} needs at least one mx pattern")]
    NoMx(String),
    #[error("line {0:?} is not \"key: value\"")]
    BadLine(String),
}

/// Parses a policy file: `key: value` lines ended by LF or CRLF; unknown keys are ignored.
pub fn parse_policy(text: &str) -> Result<Policy, PolicyError> {
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    let mut problems = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(PolicyError::BadLine(line.to_owned()));
        };
        let (key, value) = (key.trim(), value.trim());
        let first = |slot: &mut Option<String>, problems: &mut Vec<String>| {
            if slot.is_some() {
                problems.push(format!(
                    "{key} appears more than once; senders use the first"
                ));
            } else {
                *slot = Some(value.to_owned());
            }
        };
        match key {
            "version" => first(&mut version, &mut problems),
            "mode" => first(&mut mode, &mut problems),
            "max_age" => first(&mut max_age, &mut problems),
            "mx" => mx.push(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    match version {
        None => return Err(PolicyError::MissingVersion),
        Some(version) if version != "STSv1" => return Err(PolicyError::BadVersion(version)),
        Some(_) => {}
    }
    let mode = mode.ok_or(PolicyError::MissingMode)?;
    if !matches!(mode.as_str(), "enforce" | "testing" | "none") {
        return Err(PolicyError::BadMode(mode));
    }
    let max_age_text = max_age.ok_or(PolicyError::MissingMaxAge)?;
    let max_age = (max_age_text.len() <= 10 && max_age_text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| max_age_text.parse::<u64>().ok())
        .flatten()
        .filter(|seconds| *seconds <= MAX_AGE_LIMIT)
        .ok_or(PolicyError::BadMaxAge(max_age_text))?;
    if mx.is_empty() && mode != "none" {
        return Err(PolicyError::NoMx(mode));
    }
    for pattern in &mx {
        if !is_valid_pattern(pattern) {
            problems.push(format!(
                "mx pattern {pattern:?} is not a host name or *.domain"
            ));
        }
    }
    Ok(Policy {
        mode,
        max_age,
        mx,
        problems,
    })
}

fn is_valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
}

/// Whether `host` matches `pattern`: equal names, or `*.` standing for exactly one leftmost label
/// (RFC 8461 §4.1: `*.example.com` matches `mx1.example.com`, not `a.mx1.example.com` nor
/// `example.com`). Case and a trailing dot do not matter.
pub fn pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The record and policy of RFC 8461 §3.1 and §3.2 (examples).
    #[test]
    fn the_rfc_examples_parse() {
        assert_eq!(
            parse_txt("v=STSv1; id=20160831085700Z;").unwrap(),
            "20160831085700Z"
        );
        let policy = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
        )
        .unwrap();
        assert_eq!(policy.mode, "enforce");
        assert_eq!(policy.max_age, 604_800);
        assert_eq!(
            policy.mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
        assert!(policy.problems.is_empty());
    }

    #[test]
    fn records_senders_reject_are_named() {
        assert_eq!(parse_txt("v=STSv2; id=1"), Err(TxtError::NotStsV1));
        assert_eq!(parse_txt("v=STSv1;"), Err(TxtError::MissingId));
        assert_eq!(
            parse_txt("v=STSv1; id=2024-01-01"),
            Err(TxtError::BadId("2024-01-01".into()))
        );
        assert!(matches!(
            parse_txt("v=STSv1; id"),
            Err(TxtError::BadField(_))
        ));
        assert_eq!(parse_txt("v = STSv1 ; id = abc ; ext=1").unwrap(), "abc");
        assert!(is_sts_record("v=STSv1; id=1"));
        assert!(!is_sts_record("v=spf1 -all"));
    }

    #[test]
    fn policies_senders_reject_are_named() {
        let policy = |text: &str| parse_policy(text);
        assert_eq!(
            policy("mode: enforce\nmx: a.example\nmax_age: 86400\n"),
            Err(PolicyError::MissingVersion)
        );
        assert_eq!(
            policy("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 86400\n"),
            Err(PolicyError::BadVersion("STSv2".into()))
        );
        assert_eq!(
            policy("version: STSv1\nmode: enforcing\nmx: a.example\nmax_age: 86400\n"),
            Err(PolicyError::BadMode("enforcing".into()))
        );
        assert_eq!(
            policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n"),
            Err(PolicyError::BadMaxAge("31557601".into()))
        );
        assert_eq!(
            policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n"),
            Err(PolicyError::BadMaxAge("-1".into()))
        );
        assert_eq!(
            policy("version: STSv1\nmode: testing\nmax_age: 86400\n"),
            Err(PolicyError::NoMx("testing".into()))
        );
        assert!(matches!(
            policy("<html><body>Not Found</body></html>"),
            Err(PolicyError::BadLine(_))
        ));
        let none = policy("version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert!(none.mx.is_empty());
        let twice =
            policy("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n")
                .unwrap();
        assert_eq!(twice.mode, "enforce");
        assert_eq!(twice.problems.len(), 1);
    }

    #[test]
    fn a_wildcard_matches_exactly_one_leftmost_label() {
        assert!(pattern_matches("*.example.net", "mx1.example.net"));
        assert!(pattern_matches("*.example.net", "MX1.Example.NET."));
        assert!(!pattern_matches("*.example.net", "a.mx1.example.net"));
        assert!(!pattern_matches("*.example.net", "example.net"));
        assert!(pattern_matches("mail.example.com", "mail.example.com."));
        assert!(!pattern_matches("mail.example.com", "mail2.example.com"));
        assert!(!pattern_matches("example.com", "mail.example.com"));
    }
}
