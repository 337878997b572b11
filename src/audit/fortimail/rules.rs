//! The audit rules for a FortiMail configuration: each turns what the configuration states into
//! `config.*` observations (a `fail` outcome for a risk the seed describes, `ok` for a plain fact).
//!
//! Syntax per release, from the FortiMail CLI Reference of each release:
//! * `config policy ip`: 6.4–7.4 `set client` / `set client-type` / `set server`; 7.6 and later
//!   `set source-type` / `set source-ip` / `set destination-ip`. Both are read, whatever the header says.
//! * access control: `config policy access-control receive` (6.4/7.0) and
//!   `config profile access-control` with nested `config access-control` (7.2 and later).
//! * `config system fortiguard antispam`: `uri-redirect-lookup` (6.4, 7.2), `url-redirect-lookup`
//!   (7.4 and later); `outbreak-protection-period` in minutes.

use std::time::Duration;

use mxdoctor_model::observation::ConfigData;
use mxdoctor_model::{Data, Observation, Outcome};

use super::tree::{Block, ConfigTree, Entry, Setting};
use crate::audit::network::parse_ipv4_network;

/// Resolvers that Spamhaus, SURBL and URIBL refuse (or answer with an error code) for DNSBL queries.
const PUBLIC_RESOLVERS: &[&str] = &[
    "8.8.8.8",
    "8.8.4.4",
    "1.1.1.1",
    "1.0.0.1",
    "9.9.9.9",
    "149.112.112.112",
    "208.67.222.222",
    "208.67.220.220",
];

/// DNSBL / URI list operators that block queries arriving through large public resolvers.
const LISTS_BLOCKING_PUBLIC_RESOLVERS: &[&str] = &["spamhaus.org", "surbl.org", "uribl.com"];

/// Builds observations with the platform and release filled in.
struct Facts {
    version: Option<String>,
    observations: Vec<Observation>,
}

struct Fact<'a> {
    check: &'a str,
    rule: &'a str,
    outcome: Outcome,
    object: String,
    setting: &'a str,
    value: String,
    values: Vec<String>,
    seconds: Option<u64>,
    line: usize,
    detail: String,
}

impl Facts {
    fn push(&mut self, fact: Fact<'_>) {
        self.observations.push(Observation::new(
            fact.check,
            fact.object.clone(),
            fact.outcome,
            Duration::ZERO,
            fact.detail,
            Data::Config(ConfigData {
                platform: "fortimail".into(),
                version: self.version.clone(),
                rule: fact.rule.into(),
                object: fact.object,
                setting: fact.setting.into(),
                value: fact.value,
                values: fact.values,
                seconds: fact.seconds,
                line: fact.line,
            }),
        ));
    }
}

fn fact<'a>(check: &'a str, rule: &'a str, outcome: Outcome, object: String) -> Fact<'a> {
    Fact {
        check,
        rule,
        outcome,
        object,
        setting: "",
        value: String::new(),
        values: Vec::new(),
        seconds: None,
        line: 0,
        detail: String::new(),
    }
}

/// Every rule over one parsed configuration.
pub fn audit(tree: &ConfigTree, version: Option<&str>) -> Vec<Observation> {
    let mut facts = Facts {
        version: version.map(str::to_string),
        observations: Vec::new(),
    };
    let domains = protected_domains(tree);
    ip_policies(tree, &mut facts);
    access_control(tree, &mut facts);
    safelists(tree, &domains, &mut facts);
    smtp_auth_bypass(tree, &mut facts);
    recipient_verification(tree, &mut facts);
    dnsbl(tree, &mut facts);
    fortiguard_antispam(tree, &mut facts);
    queue(tree, &mut facts);
    facts.observations
}

fn enabled(body: &Block) -> bool {
    body.value("status") != Some("disable")
}

fn has_profile(body: &Block, key: &str) -> bool {
    body.value(key).is_some_and(|v| !v.is_empty())
}

/// Whether a policy's client (source) side matches every IPv4 address, in either release syntax.
fn matches_any_client(body: &Block) -> bool {
    let (type_key, address_key) =
        if body.get("source-ip").is_some() || body.get("source-type").is_some() {
            ("source-type", "source-ip")
        } else {
            ("client-type", "client")
        };
    matches_any(body, type_key, address_key)
}

fn matches_any_server(body: &Block) -> bool {
    let (type_key, address_key) =
        if body.get("destination-ip").is_some() || body.get("destination-type").is_some() {
            ("destination-type", "destination-ip")
        } else {
            ("server-type", "server")
        };
    matches_any(body, type_key, address_key)
}

fn matches_any(body: &Block, type_key: &str, address_key: &str) -> bool {
    if body.value(type_key).is_some_and(|t| t != "ip-address") {
        return false;
    }
    body.get(address_key).is_none_or(|setting| {
        parse_ipv4_network(&setting.values).is_some_and(|n| n.prefix_len() == 0)
    })
}

fn address_of(body: &Block) -> (String, &'static str) {
    for key in ["source-ip", "client"] {
        if let Some(setting) = body.get(key) {
            return (
                setting.values.join(" "),
                if key == "client" {
                    "client"
                } else {
                    "source-ip"
                },
            );
        }
    }
    ("0.0.0.0/0".into(), "client")
}

fn ip_policies(tree: &ConfigTree, facts: &mut Facts) {
    let policies: Vec<&Entry> = tree
        .tables("policy ip")
        .flat_map(|t| &t.entries)
        .filter(|e| enabled(&e.body))
        .collect();
    let recipient_policies: Vec<&Entry> = recipient_policies(tree)
        .into_iter()
        .filter(|e| enabled(&e.body))
        .collect();
    let last = policies.last();
    let catch_all = last.is_some_and(|entry| {
        entry.body.value("action") == Some("reject")
            && matches_any_client(&entry.body)
            && matches_any_server(&entry.body)
    });
    if !catch_all {
        let mut item = fact(
            "config.ip_policy",
            "no_catch_all_reject",
            Outcome::Fail,
            "policy ip".into(),
        );
        item.setting = "action";
        match last {
            Some(entry) => {
                let (address, key) = address_of(&entry.body);
                item.value = entry.body.value("action").unwrap_or("scan").to_string();
                item.values = vec![address.clone()];
                item.line = entry.line;
                item.detail = format!(
                    "the last IP policy ({}, {key} {address}, action {}) is not a reject for 0.0.0.0/0: connections no policy matches are accepted unscanned",
                    entry.name, item.value
                );
            }
            None => {
                item.detail = "no IP policy is configured, so no catch-all reject ends the list: connections no policy matches are accepted unscanned".into();
            }
        }
        facts.push(item);
    }
    let recipients_have = |key: &str| recipient_policies.iter().any(|e| has_profile(&e.body, key));
    let ips_have = |key: &str| policies.iter().any(|e| has_profile(&e.body, key));
    for entry in &policies {
        if entry.body.value("action").unwrap_or("scan") != "scan" {
            continue;
        }
        let exclusive = entry.body.value("exclusive") == Some("enable");
        for (key, rule) in [
            ("profile-antispam", "no_antispam_profile"),
            ("profile-antivirus", "no_antivirus_profile"),
        ] {
            if !has_profile(&entry.body, key) && (exclusive || !recipients_have(key)) {
                let mut item = fact(
                    "config.ip_policy",
                    rule,
                    Outcome::Fail,
                    format!("policy ip {}", entry.name),
                );
                item.setting = key;
                item.line = entry.line;
                item.detail = format!(
                    "IP policy {} scans connections but selects no {key}{}",
                    entry.name,
                    if exclusive {
                        " and is exclusive (recipient policies are not consulted)"
                    } else {
                        ", and no recipient policy selects one either"
                    }
                );
                facts.push(item);
            }
        }
    }
    for entry in &recipient_policies {
        for (key, rule) in [
            ("profile-antispam", "no_antispam_profile"),
            ("profile-antivirus", "no_antivirus_profile"),
        ] {
            if !has_profile(&entry.body, key) && !ips_have(key) {
                let mut item = fact(
                    "config.recipient_policy",
                    rule,
                    Outcome::Fail,
                    format!("policy recipient {}", entry.name),
                );
                item.setting = key;
                item.line = entry.line;
                item.detail = format!(
                    "recipient policy {} selects no {key}, and no IP policy selects one either",
                    entry.name
                );
                facts.push(item);
            }
        }
    }
}

/// System-wide recipient policies and those inside protected domains.
fn recipient_policies(tree: &ConfigTree) -> Vec<&Entry> {
    let mut all: Vec<&Entry> = tree
        .tables("policy recipient")
        .flat_map(|t| &t.entries)
        .collect();
    for domain in tree.tables("domain").flat_map(|t| &t.entries) {
        if let Some(table) = domain.body.table("policy recipient") {
            all.extend(&table.entries);
        }
    }
    all
}

fn protected_domains(tree: &ConfigTree) -> Vec<String> {
    tree.tables("domain")
        .flat_map(|t| &t.entries)
        .map(|e| e.name.to_ascii_lowercase())
        .collect()
}

fn is_any_pattern(pattern: &str) -> bool {
    matches!(pattern.trim(), "" | "*" | "*@*" | "*@*.*" | ".*" | "@")
}

fn access_control(tree: &ConfigTree, facts: &mut Facts) {
    let mut rules: Vec<(String, &Entry)> = tree
        .tables("policy access-control receive")
        .flat_map(|t| &t.entries)
        .map(|e| (format!("policy access-control receive {}", e.name), e))
        .collect();
    for profile in tree
        .tables("profile access-control")
        .flat_map(|t| &t.entries)
    {
        if let Some(table) = profile.body.table("access-control") {
            rules.extend(table.entries.iter().map(|e| {
                (
                    format!("profile access-control {} rule {}", profile.name, e.name),
                    e,
                )
            }));
        }
    }
    for (object, entry) in rules {
        let body = &entry.body;
        let action = body.value("action").unwrap_or("reject");
        if !enabled(body) || !matches!(action, "relay" | "safe-relay") {
            continue;
        }
        if body.value("authenticated") == Some("authenticated") {
            continue;
        }
        let sender_is_pattern = body
            .value("sender-pattern-type")
            .is_none_or(|t| t == "default" || t == "regexp");
        let sender = body.value("sender-pattern").unwrap_or("*");
        let any_sender = sender_is_pattern && is_any_pattern(sender);
        let ip_is_mask = body.value("sender-ip-type").is_none_or(|t| t == "ip-mask");
        let ip_setting = ["sender-ip-mask", "sender-ip", "source-ip"]
            .iter()
            .find_map(|key| body.get(key));
        let any_ip = ip_is_mask
            && ip_setting
                .is_none_or(|s| parse_ipv4_network(&s.values).is_some_and(|n| n.prefix_len() == 0));
        let ip_text = ip_setting.map_or_else(|| "0.0.0.0/0".to_string(), |s| s.values.join(" "));
        let rule = match (any_sender, any_ip) {
            (true, true) => "relay_any",
            (false, true) => "relay_any_ip",
            (true, false) => "relay_any_sender",
            (false, false) => continue,
        };
        let mut item = fact("config.access_control", rule, Outcome::Fail, object.clone());
        item.setting = "action";
        item.value = action.to_string();
        item.values = vec![sender.to_string(), ip_text.clone()];
        item.line = entry.line;
        item.detail = format!(
            "{object}: action {action} for sender {sender:?} from {ip_text} without requiring authentication"
        );
        facts.push(item);
    }
}

/// A safelist entry that exempts everyone, or senders claiming a protected domain.
fn risky_safelist_entry(entry: &str, domains: &[String]) -> Option<&'static str> {
    let lower = entry.trim().trim_matches('"').to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    if matches!(lower.as_str(), "*" | "*@*" | "*.*" | "*@*.*" | "@*" | "*@") {
        return Some("wildcard");
    }
    let domain_part = lower.rsplit_once('@').map_or(lower.as_str(), |(_, d)| d);
    let domain_part = domain_part.trim_start_matches("*.").trim_start_matches('.');
    domains
        .iter()
        .any(|d| domain_part == d || domain_part.ends_with(&format!(".{d}")))
        .then_some("protected_domain")
}

/// Safelists: any table whose path names a safe or white list (word lists excluded).
fn safelists(tree: &ConfigTree, domains: &[String], facts: &mut Facts) {
    let mut visit = |path: &str, entries: &[Entry], body: &Block| {
        let lower = path.to_ascii_lowercase();
        let is_list =
            (lower.contains("safelist") || lower.contains("white")) && !lower.contains("words");
        if !is_list {
            return;
        }
        let mut candidates: Vec<(String, usize)> =
            entries.iter().map(|e| (e.name.clone(), e.line)).collect();
        let settings = entries
            .iter()
            .flat_map(|e| &e.body.settings)
            .chain(&body.settings);
        for setting in settings {
            candidates.extend(
                setting
                    .values
                    .iter()
                    .filter(|v| v.contains('@') || v.contains('*'))
                    .map(|v| (v.clone(), setting.line)),
            );
        }
        for (candidate, line) in candidates {
            if let Some(rule) = risky_safelist_entry(&candidate, domains) {
                let mut item = fact("config.safelist", rule, Outcome::Fail, path.to_string());
                item.value.clone_from(&candidate);
                item.line = line;
                item.detail = if rule == "wildcard" {
                    format!(
                        "{path}: {candidate:?} safelists every sender, so antispam scans are skipped for all mail"
                    )
                } else {
                    format!(
                        "{path}: {candidate:?} safelists senders in a protected domain, which spammers forge"
                    )
                };
                facts.push(item);
            }
        }
    };
    walk_tables(tree, &mut |path, entries, body| visit(path, entries, body));
}

/// Visits every table (nested ones too) with its full path.
fn walk_tables(tree: &ConfigTree, visit: &mut dyn FnMut(&str, &[Entry], &Block)) {
    fn walk(
        prefix: &str,
        table: &super::tree::Table,
        visit: &mut dyn FnMut(&str, &[Entry], &Block),
    ) {
        let path = if prefix.is_empty() {
            table.path.clone()
        } else {
            format!("{prefix} / {}", table.path)
        };
        visit(&path, &table.entries, &table.body);
        for nested in &table.body.tables {
            walk(&path, nested, visit);
        }
        for entry in &table.entries {
            let entry_path = format!("{path} {}", entry.name);
            for nested in &entry.body.tables {
                walk(&entry_path, nested, visit);
            }
        }
    }
    for table in &tree.tables {
        walk("", table, visit);
    }
}

/// Every setting in the configuration with the object it belongs to.
fn all_settings(tree: &ConfigTree) -> Vec<(String, Setting)> {
    let mut all = Vec::new();
    walk_tables(tree, &mut |path, entries, body| {
        all.extend(body.settings.iter().map(|s| (path.to_string(), s.clone())));
        for entry in entries {
            all.extend(
                entry
                    .body
                    .settings
                    .iter()
                    .map(|s| (format!("{path} {}", entry.name), s.clone())),
            );
        }
    });
    all
}

/// "Bypass scan on SMTP authentication": any `*bypass*auth*` setting that is enabled.
fn smtp_auth_bypass(tree: &ConfigTree, facts: &mut Facts) {
    for (object, setting) in all_settings(tree) {
        let key = setting.key.to_ascii_lowercase();
        let on = setting.values.first().is_some_and(|v| v == "enable");
        if on && key.contains("bypass") && key.contains("auth") {
            let mut item = fact(
                "config.smtp_auth",
                "bypass_scan",
                Outcome::Fail,
                object.clone(),
            );
            item.setting = "bypass";
            item.value = format!("{} enable", setting.key);
            item.line = setting.line;
            item.detail = format!(
                "{object}: set {} enable — mail from SMTP-authenticated clients is not scanned; a compromised account sends spam unchecked",
                setting.key
            );
            facts.push(item);
        }
    }
}

fn recipient_verification(tree: &ConfigTree, facts: &mut Facts) {
    let mode = tree
        .table("mailsetting smtp-rcpt-verification")
        .and_then(|t| t.body.value("mode"))
        .unwrap_or("regular")
        .to_string();
    for domain in tree.tables("domain").flat_map(|t| &t.entries) {
        let blocks: Vec<&Block> = std::iter::once(&domain.body)
            .chain(domain.body.table("domain-setting").map(|t| &t.body))
            .collect();
        let Some(method) = blocks.iter().find_map(|b| {
            b.settings
                .iter()
                .find(|s| s.key.contains("recipient-verification") && !s.key.contains("background"))
        }) else {
            continue;
        };
        let value = method.values.first().cloned().unwrap_or_default();
        if value != "smtp" {
            continue;
        }
        let target = blocks
            .iter()
            .find_map(|b| {
                [
                    "ip",
                    "host",
                    "relay-host",
                    "relay-ip",
                    "smtp-server",
                    "fallback-host",
                ]
                .iter()
                .find_map(|k| b.value(k))
            })
            .unwrap_or("")
            .to_string();
        let looks_exchange = {
            let t = target.to_ascii_lowercase();
            t.contains("exch") || t.contains("outlook.com") || t.contains("protection.outlook")
        };
        let rule = if looks_exchange {
            "smtp_exchange"
        } else {
            "smtp"
        };
        let mut item = fact(
            "config.recipient_verification",
            rule,
            Outcome::Ok,
            format!("domain {}", domain.name),
        );
        item.setting = "recipient-verification";
        item.value.clone_from(&mode);
        item.values = vec![target.clone()];
        item.line = method.line;
        item.detail = format!(
            "domain {}: recipient verification by SMTP against {} (mode {mode}{})",
            domain.name,
            if target.is_empty() {
                "the domain's SMTP server"
            } else {
                &target
            },
            if mode == "regular" {
                ": when that server is down, every RCPT gets 451"
            } else {
                ""
            }
        );
        facts.push(item);
    }
}

fn dnsbl(tree: &ConfigTree, facts: &mut Facts) {
    let mut dnsbl_zones = Vec::new();
    let mut surbl_zones = Vec::new();
    for profile in tree.tables("profile antispam").flat_map(|t| &t.entries) {
        for (table, zones) in [
            ("dnsbl-server", &mut dnsbl_zones),
            ("surbl-server", &mut surbl_zones),
        ] {
            if let Some(servers) = profile.body.table(table) {
                for entry in &servers.entries {
                    let zone = entry.name.to_ascii_lowercase();
                    if !zones.contains(&zone) {
                        zones.push(zone);
                    }
                }
            }
        }
    }
    let resolvers: Vec<String> = tree
        .table("system dns")
        .map(|t| {
            ["primary", "secondary"]
                .iter()
                .filter_map(|k| t.body.value(k))
                .filter(|v| !v.is_empty() && *v != "0.0.0.0")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for (check_rule, zones) in [("dnsbl", &dnsbl_zones), ("surbl", &surbl_zones)] {
        if zones.is_empty() {
            continue;
        }
        let mut item = fact(
            "config.dnsbl",
            check_rule,
            Outcome::Ok,
            "profile antispam".into(),
        );
        item.setting = if check_rule == "dnsbl" {
            "dnsbl-server"
        } else {
            "surbl-server"
        };
        item.values.clone_from(zones);
        item.detail = format!(
            "{} zones queried: {}",
            check_rule.to_uppercase(),
            zones.join(", ")
        );
        facts.push(item);
    }
    let public: Vec<&String> = resolvers
        .iter()
        .filter(|r| PUBLIC_RESOLVERS.contains(&r.as_str()))
        .collect();
    let blocked: Vec<&String> = dnsbl_zones
        .iter()
        .chain(&surbl_zones)
        .filter(|z| {
            LISTS_BLOCKING_PUBLIC_RESOLVERS
                .iter()
                .any(|op| *z == op || z.ends_with(&format!(".{op}")))
        })
        .collect();
    if !public.is_empty() && !blocked.is_empty() {
        let mut item = fact(
            "config.dnsbl",
            "public_resolver",
            Outcome::Fail,
            "system dns".into(),
        );
        item.setting = "primary";
        item.value = public
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        item.values = blocked.iter().map(|s| (*s).clone()).collect();
        item.line = tree
            .table("system dns")
            .and_then(|t| t.body.get("primary"))
            .map_or(0, |s| s.line);
        item.detail = format!(
            "DNS queries go to public resolver(s) {} while querying {}: these lists refuse or error on queries from public resolvers",
            item.value,
            item.values.join(", ")
        );
        facts.push(item);
    }
}

fn fortiguard_antispam(tree: &ConfigTree, facts: &mut Facts) {
    let table = tree.table("system fortiguard antispam");
    let body = table.map(|t| &t.body);
    let setting = body.and_then(|b| {
        b.get("url-redirect-lookup")
            .or_else(|| b.get("uri-redirect-lookup"))
    });
    let value = setting
        .and_then(|s| s.values.first().cloned())
        .unwrap_or_else(|| "enable".into());
    let mut item = fact(
        "config.uri_redirect",
        if value == "disable" {
            "disabled"
        } else {
            "enabled"
        },
        Outcome::Ok,
        "system fortiguard antispam".into(),
    );
    item.setting = setting.map_or("url-redirect-lookup", |s| {
        if s.key == "uri-redirect-lookup" {
            "uri-redirect-lookup"
        } else {
            "url-redirect-lookup"
        }
    });
    item.value.clone_from(&value);
    item.line = setting.map_or(0, |s| s.line);
    item.detail = format!(
        "{} is {value}{}",
        item.setting,
        if setting.is_none() {
            " (not set: the default)"
        } else {
            ""
        }
    );
    facts.push(item);
    if let Some(period) = body.and_then(|b| b.get("outbreak-protection-period")) {
        let minutes = period.values.first().and_then(|v| v.parse::<u64>().ok());
        let mut item = fact(
            "config.queue",
            "outbreak_period",
            Outcome::Ok,
            "system fortiguard antispam".into(),
        );
        item.setting = "outbreak-protection-period";
        item.value = period.values.join(" ");
        item.seconds = minutes.map(|m| m * 60);
        item.line = period.line;
        item.detail = format!(
            "spam outbreak protection holds suspicious mail for {} minutes",
            item.value
        );
        facts.push(item);
    }
}

fn queue(tree: &ConfigTree, facts: &mut Facts) {
    let Some(table) = tree.table("system mailserver") else {
        return;
    };
    let mut blocks: Vec<(String, &Block)> = vec![("system mailserver".into(), &table.body)];
    if let Some(queues) = table.body.table("mail-queue") {
        blocks.extend(
            queues
                .entries
                .iter()
                .map(|e| (format!("system mailserver mail-queue {}", e.name), &e.body)),
        );
    }
    for (object, block) in blocks {
        for key in [
            "queue-warning",
            "queue-timeout",
            "queue-dsn-timeout",
            "deadmail-expiry",
        ] {
            if let Some(setting) = block.get(key) {
                let mut item = fact("config.queue", "setting", Outcome::Ok, object.clone());
                item.setting = key;
                item.value = setting.values.join(" ");
                item.line = setting.line;
                item.detail = format!("{object}: {key} {}", item.value);
                facts.push(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    fn failed(text: &str) -> Vec<(String, String)> {
        audit(&parse(text).expect("parses"), None)
            .into_iter()
            .filter(|o| o.outcome == Outcome::Fail)
            .map(|o| match o.data {
                Data::Config(c) => (o.check, c.rule),
                _ => (o.check, String::new()),
            })
            .collect()
    }

    #[test]
    fn profiles_on_recipient_policies_cover_a_profileless_ip_policy() {
        let text = "config policy ip\n edit 1\n  set client 0.0.0.0/0\n  set action scan\n next\n edit 2\n  set action reject\n next\nend\n\
config domain\n edit \"example.test\"\n  config policy recipient\n   edit 1\n    set profile-antispam \"AS\"\n    set profile-antivirus \"AV\"\n   next\n  end\n next\nend\n";
        assert!(failed(text).is_empty(), "{:?}", failed(text));
        let exclusive = text.replace("set action scan", "set action scan\n  set exclusive enable");
        assert!(
            failed(&exclusive).contains(&("config.ip_policy".into(), "no_antispam_profile".into()))
        );
    }

    #[test]
    fn older_receive_rules_and_disabled_entries_are_judged_by_their_fields() {
        let open = "config policy access-control receive\n edit 3\n  set sender-pattern *\n  set sender-ip-mask 0.0.0.0 0.0.0.0\n  set action relay\n next\nend\n";
        assert!(failed(open).contains(&("config.access_control".into(), "relay_any".into())));
        let disabled = open.replace("set action relay", "set action relay\n  set status disable");
        assert!(
            !failed(&disabled)
                .iter()
                .any(|(c, _)| c == "config.access_control")
        );
        let internal = open.replace("0.0.0.0 0.0.0.0", "10.0.0.0 255.0.0.0");
        assert!(
            failed(&internal)
                .contains(&("config.access_control".into(), "relay_any_sender".into()))
        );
        let authenticated = open.replace(
            "set action relay",
            "set action relay\n  set authenticated authenticated",
        );
        assert!(
            !failed(&authenticated)
                .iter()
                .any(|(c, _)| c == "config.access_control")
        );
    }

    #[test]
    fn a_disabled_catch_all_does_not_count() {
        let text = "config policy ip\n edit 9\n  set status disable\n  set source-ip 0.0.0.0/0\n  set action reject\n next\nend\n";
        assert!(failed(text).contains(&("config.ip_policy".into(), "no_catch_all_reject".into())));
        let enabled = text.replace("set status disable", "set status enable");
        assert!(failed(&enabled).is_empty(), "{:?}", failed(&enabled));
    }
}
