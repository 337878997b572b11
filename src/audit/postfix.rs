//! Postfix `postconf -n` output (or a main.cf): the parameters, and the audit rules over them.
//!
//! Defaults and units are those of postconf(5): `smtpd_relay_restrictions` defaults to
//! `permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination` (Postfix 2.10 and
//! later), `milter_command_timeout` 30s, `milter_content_timeout` 300s, `milter_default_action`
//! tempfail, `maximal_queue_lifetime` and `bounce_queue_lifetime` 5d, `delay_warning_time` 0h (off).

use std::collections::BTreeMap;
use std::time::Duration;

use mxdoctor_model::observation::ConfigData;
use mxdoctor_model::{Data, Observation, Outcome};

use super::error::AuditError;
use super::network::{is_internal, parse_ipv4_network};

/// One `name = value` parameter and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub value: String,
    pub line: usize,
}

/// The parameters of a `postconf -n` listing, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostconfN {
    pub parameters: BTreeMap<String, Parameter>,
}

fn is_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `text` looks like `postconf -n` output: its first meaningful line is `name = value`.
pub fn looks_like_postconf(text: &str) -> bool {
    text.lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .and_then(|l| l.split_once('='))
        .is_some_and(|(name, _)| is_parameter_name(name.trim()))
}

/// Parses `name = value` lines; indented lines continue the previous value (main.cf style).
pub fn parse(text: &str) -> Result<PostconfN, AuditError> {
    let mut parsed = PostconfN::default();
    let mut last: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            let Some(name) = &last else {
                return Err(AuditError::Syntax {
                    line: number,
                    message: "a continuation line before any parameter".into(),
                });
            };
            if let Some(parameter) = parsed.parameters.get_mut(name) {
                parameter.value.push(' ');
                parameter.value.push_str(raw.trim());
            }
            continue;
        }
        let Some((name, value)) = raw.split_once('=') else {
            return Err(AuditError::Syntax {
                line: number,
                message: format!(
                    "{:?} is not `name = value` (postconf -n output)",
                    raw.trim()
                ),
            });
        };
        let name = name.trim();
        if !is_parameter_name(name) {
            return Err(AuditError::Syntax {
                line: number,
                message: format!("{name:?} is not a Postfix parameter name"),
            });
        }
        parsed.parameters.insert(
            name.to_string(),
            Parameter {
                value: value.trim().to_string(),
                line: number,
            },
        );
        last = Some(name.to_string());
    }
    if parsed.parameters.is_empty() {
        return Err(AuditError::Unrecognised(
            "no `name = value` parameter found".into(),
        ));
    }
    Ok(parsed)
}

impl PostconfN {
    fn get(&self, name: &str) -> Option<&Parameter> {
        self.parameters.get(name)
    }

    /// The restriction list of a parameter, split on commas and white space.
    fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|p| split_list(&p.value))
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A Postfix time value in seconds; a bare number takes `default_unit` (s, m, h, d, w).
pub fn parse_time(value: &str, default_unit: char) -> Option<u64> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, unit)) if at + unit.len_utf8() == value.len() => (&value[..at], unit),
        Some(_) => return None,
        None => (value, default_unit),
    };
    let number: u64 = digits.parse().ok()?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    number.checked_mul(factor)
}

struct Facts {
    observations: Vec<Observation>,
}

impl Facts {
    // One call per fact reads best with every field named at the call site in order.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        check: &str,
        rule: &str,
        outcome: Outcome,
        setting: &str,
        parameter: Option<&Parameter>,
        seconds: Option<u64>,
        detail: String,
    ) {
        self.observations.push(Observation::new(
            check,
            setting,
            outcome,
            Duration::ZERO,
            detail,
            Data::Config(ConfigData {
                platform: "postfix".into(),
                version: None,
                rule: rule.into(),
                object: setting.into(),
                setting: setting.into(),
                value: parameter.map(|p| p.value.clone()).unwrap_or_default(),
                values: parameter.map(|p| split_list(&p.value)).unwrap_or_default(),
                seconds,
                line: parameter.map_or(0, |p| p.line),
            }),
        ));
    }
}

const UNAUTH_DESTINATION: &[&str] = &["reject_unauth_destination", "defer_unauth_destination"];
const DEFAULT_RELAY_RESTRICTIONS: &str =
    "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination";
/// Restrictions that refuse a client for what it is, which must come after the permits for the
/// site's own users (or those users are refused too).
const CLIENT_REJECTS: &[&str] = &[
    "reject_rbl_client",
    "reject_rhsbl_client",
    "reject_unknown_client_hostname",
    "reject_unknown_reverse_client_hostname",
    "reject_unknown_helo_hostname",
    "reject_invalid_helo_hostname",
    "reject_non_fqdn_helo_hostname",
    "reject_unknown_sender_domain",
    "reject_rhsbl_sender",
];
const OWN_USER_PERMITS: &[&str] = &["permit_mynetworks", "permit_sasl_authenticated"];

/// Every rule over one `postconf -n` listing.
pub fn audit(config: &PostconfN) -> Vec<Observation> {
    let mut facts = Facts {
        observations: Vec::new(),
    };
    relay(config, &mut facts);
    mynetworks(config, &mut facts);
    restriction_order(config, &mut facts);
    recipient_verification(config, &mut facts);
    milter(config, &mut facts);
    queue_lifetimes(config, &mut facts);
    facts.observations
}

fn relay(config: &PostconfN, facts: &mut Facts) {
    let relay_list = config
        .list("smtpd_relay_restrictions")
        .unwrap_or_else(|| split_list(DEFAULT_RELAY_RESTRICTIONS));
    let recipient_list = config
        .list("smtpd_recipient_restrictions")
        .unwrap_or_default();
    let guarded = |list: &[String]| {
        let first_guard = list
            .iter()
            .position(|r| UNAUTH_DESTINATION.contains(&r.as_str()));
        let first_permit = list.iter().position(|r| r == "permit");
        match (first_guard, first_permit) {
            (Some(guard), Some(permit)) => guard < permit,
            (Some(_), None) => true,
            (None, _) => false,
        }
    };
    let has_permit_first = |list: &[String]| {
        let guard = list
            .iter()
            .position(|r| UNAUTH_DESTINATION.contains(&r.as_str()));
        let permit = list.iter().position(|r| r == "permit");
        match (guard, permit) {
            (Some(g), Some(p)) => p < g,
            (None, Some(_)) => true,
            (_, None) => false,
        }
    };
    let relay_parameter = config.get("smtpd_relay_restrictions");
    let recipient_parameter = config.get("smtpd_recipient_restrictions");
    if !guarded(&relay_list) && !guarded(&recipient_list) {
        let permit_first = has_permit_first(&relay_list) || has_permit_first(&recipient_list);
        let (name, parameter) = if relay_parameter.is_some() || recipient_parameter.is_none() {
            ("smtpd_relay_restrictions", relay_parameter)
        } else {
            ("smtpd_recipient_restrictions", recipient_parameter)
        };
        facts.push(
            "config.relay",
            if permit_first { "permit_before_unauth_destination" } else { "no_unauth_destination" },
            Outcome::Fail,
            name,
            parameter,
            None,
            if permit_first {
                format!("{name}: an unconditional `permit` comes before any reject_unauth_destination, so any client may relay")
            } else {
                "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions ends relaying with reject_unauth_destination (or defer_unauth_destination): any client may relay".to_string()
            },
        );
    }
}

fn mynetworks(config: &PostconfN, facts: &mut Facts) {
    let Some(parameter) = config.get("mynetworks") else {
        if let Some(style) = config
            .get("mynetworks_style")
            .filter(|s| s.value == "class")
        {
            facts.push(
                "config.relay",
                "mynetworks_wide",
                Outcome::Fail,
                "mynetworks_style",
                Some(style),
                None,
                "mynetworks_style = class trusts the whole class A/B/C network of every interface to relay".into(),
            );
        }
        return;
    };
    let mut widest: Option<(ipnet::Ipv4Net, String)> = None;
    for word in split_list(&parameter.value) {
        let Some(network) = parse_ipv4_network(std::slice::from_ref(&word)) else {
            continue;
        };
        let too_wide =
            network.prefix_len() < 8 || (!is_internal(&network) && network.prefix_len() < 24);
        if too_wide
            && widest
                .as_ref()
                .is_none_or(|(w, _)| network.prefix_len() < w.prefix_len())
        {
            widest = Some((network, word));
        }
    }
    if let Some((network, word)) = widest {
        let rule = if network.prefix_len() == 0 {
            "mynetworks_any"
        } else {
            "mynetworks_wide"
        };
        facts.push(
            "config.relay",
            rule,
            Outcome::Fail,
            "mynetworks",
            Some(parameter),
            None,
            format!(
                "mynetworks trusts {word} ({} addresses) to relay without authentication",
                if network.prefix_len() == 0 {
                    "every IPv4 address".to_string()
                } else {
                    format!("2^{}", 32 - u32::from(network.prefix_len()))
                }
            ),
        );
    }
}

fn restriction_order(config: &PostconfN, facts: &mut Facts) {
    for name in ["smtpd_recipient_restrictions", "smtpd_relay_restrictions"] {
        let Some(list) = config.list(name) else {
            continue;
        };
        let first_reject = list
            .iter()
            .position(|r| CLIENT_REJECTS.contains(&r.as_str()));
        let last_permit = list
            .iter()
            .rposition(|r| OWN_USER_PERMITS.contains(&r.as_str()));
        if let (Some(reject), Some(permit)) = (first_reject, last_permit) {
            if reject < permit {
                facts.push(
                    "config.restrictions",
                    "reject_before_permit",
                    Outcome::Fail,
                    name,
                    config.get(name),
                    None,
                    format!(
                        "{name}: {} comes before {}, so the site's own clients are refused when they match it",
                        list[reject], list[permit]
                    ),
                );
            }
        }
    }
}

fn recipient_verification(config: &PostconfN, facts: &mut Facts) {
    let restrictions: Vec<String> = ["smtpd_recipient_restrictions", "smtpd_relay_restrictions"]
        .iter()
        .filter_map(|n| config.list(n))
        .flatten()
        .collect();
    let verifies = restrictions
        .iter()
        .any(|r| r == "reject_unverified_recipient");
    let relay_domains = config
        .get("relay_domains")
        .filter(|p| !p.value.is_empty() && p.value != "$mydestination");
    let has_recipient_map = config
        .get("relay_recipient_maps")
        .is_some_and(|p| !p.value.is_empty());
    if verifies {
        let code = config.get("unverified_recipient_reject_code");
        facts.push(
            "config.recipient_verification",
            "smtp",
            Outcome::Ok,
            "reject_unverified_recipient",
            code,
            None,
            format!(
                "recipients are verified by probing the next hop (reject_unverified_recipient, reject code {})",
                code.map_or("450", |c| c.value.as_str())
            ),
        );
    } else if let (Some(domains), false) = (relay_domains, has_recipient_map) {
        facts.push(
            "config.recipient_verification",
            "accepts_all",
            Outcome::Fail,
            "relay_domains",
            Some(domains),
            None,
            "relay_domains is set without relay_recipient_maps or reject_unverified_recipient: mail to any address in those domains is accepted and bounced later (backscatter)".into(),
        );
    }
}

fn milter(config: &PostconfN, facts: &mut Facts) {
    let uses_milters = ["smtpd_milters", "non_smtpd_milters"]
        .iter()
        .any(|n| config.get(n).is_some_and(|p| !p.value.is_empty()));
    if !uses_milters {
        return;
    }
    for (name, default_secs) in [
        ("milter_command_timeout", 30),
        ("milter_content_timeout", 300),
    ] {
        if let Some(parameter) = config.get(name) {
            if let Some(seconds) = parse_time(&parameter.value, 's').filter(|s| *s < default_secs) {
                facts.push(
                    "config.milter",
                    "timeout_below_default",
                    Outcome::Fail,
                    name,
                    Some(parameter),
                    Some(seconds),
                    format!("{name} = {} is below the default {default_secs}s: a milter waiting on slow DNSBL/URI lookups is cut off", parameter.value),
                );
            }
        }
    }
    if let Some(action) = config
        .get("milter_default_action")
        .filter(|p| p.value == "accept")
    {
        facts.push(
            "config.milter",
            "default_accept",
            Outcome::Fail,
            "milter_default_action",
            Some(action),
            None,
            "milter_default_action = accept: when a milter fails or times out, mail is delivered unscanned".into(),
        );
    }
}

fn queue_lifetimes(config: &PostconfN, facts: &mut Facts) {
    let lifetime = config.get("maximal_queue_lifetime");
    let lifetime_secs = lifetime.map_or(Some(5 * 86_400), |p| parse_time(&p.value, 'd'));
    let warning = config.get("delay_warning_time");
    let warning_secs = warning.and_then(|p| parse_time(&p.value, 'h'));
    for (name, parameter, seconds) in [
        ("maximal_queue_lifetime", lifetime, lifetime_secs),
        ("delay_warning_time", warning, warning_secs),
    ] {
        if let (Some(parameter), Some(seconds)) = (parameter, seconds) {
            facts.push(
                "config.queue",
                "setting",
                Outcome::Ok,
                name,
                Some(parameter),
                Some(seconds),
                format!("{name} = {}", parameter.value),
            );
        }
    }
    if let Some(seconds) = lifetime_secs.filter(|s| *s > 0 && *s < 86_400) {
        facts.push(
            "config.queue",
            "lifetime_short",
            Outcome::Fail,
            "maximal_queue_lifetime",
            lifetime,
            Some(seconds),
            format!(
                "maximal_queue_lifetime = {}: mail is returned after less than a day, so a remote outage over a night bounces it",
                lifetime.map_or("", |p| p.value.as_str())
            ),
        );
    }
    if let (Some(warn), Some(life)) = (warning_secs.filter(|w| *w > 0), lifetime_secs) {
        if warn >= life {
            facts.push(
                "config.queue",
                "warning_after_lifetime",
                Outcome::Fail,
                "delay_warning_time",
                warning,
                Some(warn),
                "delay_warning_time is not shorter than maximal_queue_lifetime: senders never get a delay warning before the bounce".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<String> {
        audit(&parse(text).expect("parses"))
            .iter()
            .filter(|o| o.outcome == Outcome::Fail)
            .map(|o| match &o.data {
                Data::Config(c) => c.rule.clone(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn times_take_postconf_units() {
        assert_eq!(parse_time("5d", 'd'), Some(432_000));
        assert_eq!(parse_time("5", 'd'), Some(432_000));
        assert_eq!(parse_time("300s", 's'), Some(300));
        assert_eq!(parse_time("4h", 'd'), Some(14_400));
        assert_eq!(parse_time("1x", 'd'), None);
        assert_eq!(parse_time("1h2m", 'd'), None);
    }

    #[test]
    fn defaults_are_safe_and_open_relays_are_not() {
        assert!(rules("myhostname = mx.example.test\n").is_empty());
        assert_eq!(
            rules("smtpd_relay_restrictions = permit_mynetworks, permit\n"),
            ["permit_before_unauth_destination"]
        );
        assert_eq!(
            rules("smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks\n"),
            ["no_unauth_destination"]
        );
        assert!(rules("smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n").is_empty());
        assert_eq!(
            rules("mynetworks = 127.0.0.0/8 0.0.0.0/0\n"),
            ["mynetworks_any"]
        );
        assert_eq!(
            rules("mynetworks = 127.0.0.0/8 198.51.0.0/16\n"),
            ["mynetworks_wide"]
        );
        assert!(rules("mynetworks = 127.0.0.0/8 [::1]/128 10.0.0.0/8 192.0.2.0/24\n").is_empty());
    }

    #[test]
    fn bad_lines_are_errors_with_their_number() {
        assert!(matches!(
            parse("myhostname = a\nthis is not postconf\n"),
            Err(AuditError::Syntax { line: 2, .. })
        ));
        assert!(matches!(parse("\n\n"), Err(AuditError::Unrecognised(_))));
    }
}
