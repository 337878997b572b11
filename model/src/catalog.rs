//! The names of every check and the fields playbooks may test, so a typo in a playbook is caught at load time.

/// Fields every observation has, whatever its check.
pub const COMMON_FIELDS: &[&str] = &["outcome", "latency_ms", "subject", "detail"];

const REPLY: &[&str] = &["code", "class", "enhanced", "text"];

/// One check: its name, the fields of its data, and which of those fields are SMTP replies.
pub struct CheckSpec {
    pub name: &'static str,
    pub about: &'static str,
    pub fields: &'static [&'static str],
    /// Fields holding a [`crate::Reply`]: `FIELD.code`, `FIELD.class`, `FIELD.enhanced`, `FIELD.text` are valid too.
    pub reply_fields: &'static [&'static str],
}

pub const CHECKS: &[CheckSpec] = &[
    CheckSpec {
        name: "run.context",
        about: "what the user said about the run (flags), so playbooks can depend on it",
        fields: &[
            "expect_relay",
            "send_test_message",
            "greylist_wait_secs",
            "gateways_given",
            "backend_given",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "dns.mx",
        about: "the MX set of the target domain",
        fields: &[
            "domain",
            "records",
            "null_mx",
            "implicit_mx",
            "ip_literal",
            "cname_exchange",
            "count",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "dns.resolver",
        about: "whether the resolver in use sees the real DNS tree (root SOA/NS, public suffix, a random name)",
        fields: &[
            "server",
            "verdict",
            "trusted",
            "root_soa",
            "root_ns",
            "parent_zone",
            "parent",
            "canary_name",
            "canary",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "auth.spf",
        about: "the domain's SPF record: count, syntax, lookup limits through includes, the all qualifier",
        fields: &[
            "domain",
            "record",
            "records_found",
            "verdict",
            "all",
            "dns_lookups",
            "void_lookups",
            "problems",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "auth.spf_outbound",
        about: "SPF evaluated for one --outbound-ip",
        fields: &["domain", "ip", "result", "matched", "approximate"],
        reply_fields: &[],
    },
    CheckSpec {
        name: "auth.dmarc",
        about: "the DMARC policy of the domain (or its organisational domain) and its report destinations",
        fields: &[
            "domain",
            "org_domain",
            "record_domain",
            "record",
            "verdict",
            "p",
            "sp",
            "effective_policy",
            "pct",
            "adkim",
            "aspf",
            "rua",
            "ruf",
            "unauthorised_destinations",
            "problems",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "dns.fcrdns",
        about: "forward-confirmed reverse DNS of an MX address or --outbound-ip",
        fields: &["ip", "role", "ptr_names", "forward_confirmed", "verdict"],
        reply_fields: &[],
    },
    CheckSpec {
        name: "auth.dkim",
        about: "the DKIM key record of one --dkim-selector",
        fields: &[
            "selector", "name", "record", "verdict", "key_type", "key_bits", "testing",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "ipv6.mx",
        about: "whether the MX hosts publish AAAA records",
        fields: &[
            "domain",
            "hosts",
            "with_aaaa",
            "without_aaaa",
            "lookup_failed",
            "verdict",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "tls.mta_sts",
        about: "the domain's MTA-STS record and the policy fetched over HTTPS, and whether it covers every MX",
        fields: &[
            "domain",
            "txt_record",
            "txt_records_found",
            "id",
            "verdict",
            "policy_url",
            "http_status",
            "content_type",
            "fetch_error",
            "policy",
            "mode",
            "max_age",
            "mx_patterns",
            "mx_hosts",
            "uncovered_mx",
            "problems",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "ipv6.smtp",
        about: "banner and EHLO of one MX host over IPv4 and over IPv6",
        fields: &[
            "host",
            "port",
            "ipv4_address",
            "ipv6_address",
            "vantage",
            "ipv4",
            "ipv6",
            "ipv4_detail",
            "ipv6_detail",
            "verdict",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "tls.rpt",
        about: "the domain's SMTP TLS reporting record at _smtp._tls",
        fields: &[
            "domain",
            "name",
            "record",
            "records_found",
            "verdict",
            "rua",
            "mta_sts_published",
            "dane_published",
            "problems",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "mx.host",
        about: "one MX host judged against --gateway",
        fields: &[
            "exchange",
            "preference",
            "addresses",
            "is_gateway",
            "lowest_priority",
            "mx_count",
        ],
        reply_fields: &[],
    },
    CheckSpec {
        name: "dns.a",
        about: "address lookup of a host",
        fields: &["name", "record_type", "answers", "response", "server"],
        reply_fields: &[],
    },
    CheckSpec {
        name: "dns.ptr",
        about: "reverse lookup of an MX address",
        fields: &["name", "record_type", "answers", "response", "server"],
        reply_fields: &[],
    },
    CheckSpec {
        name: "smtp.session",
        about: "connect, banner and EHLO of one SMTP host",
        fields: &[
            "host",
            "port",
            "address",
            "role",
            "is_gateway",
            "mx_preference",
            "connected",
            "greet_delay_ms",
            "extensions",
            "starttls_offered",
            "software",
        ],
        reply_fields: &["banner", "ehlo"],
    },
    CheckSpec {
        name: "tls",
        about: "STARTTLS handshake and certificate",
        fields: &[
            "host",
            "offered",
            "handshake",
            "verified",
            "verify_error",
            "expired",
            "name_mismatch",
            "self_signed",
        ],
        reply_fields: &["reply"],
    },
    CheckSpec {
        name: "relay",
        about: "RCPT to an outside domain from an outside sender",
        fields: RCPT_FIELDS,
        reply_fields: &["reply"],
    },
    CheckSpec {
        name: "recipient.invalid",
        about: "RCPT to a user that does not exist",
        fields: RCPT_FIELDS,
        reply_fields: &["reply"],
    },
    CheckSpec {
        name: "recipient.valid",
        about: "RCPT to --rcpt-valid",
        fields: RCPT_FIELDS,
        reply_fields: &["reply"],
    },
    CheckSpec {
        name: "greylist",
        about: "a deferred RCPT retried after --greylist-wait",
        fields: &["host", "waited_secs", "retry_passed", "text_says_greylist"],
        reply_fields: &["first", "retry"],
    },
    CheckSpec {
        name: "dnsbl",
        about: "RFC 5782 lookup of an MX address in a DNSBL zone",
        fields: LISTING_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "surbl",
        about: "RFC 5782 lookup of a domain in a URI blocklist zone",
        fields: LISTING_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "http.egress",
        about: "HTTP GET of a URL the gateway must reach, redirects followed hop by hop",
        fields: &["url", "verdict", "status", "hops", "error"],
        reply_fields: &[],
    },
    CheckSpec {
        name: "test_message",
        about: "GTUBE / EICAR test message (only with --send-test-message)",
        fields: &["host", "sample", "rcpt_to", "verdict", "stage"],
        reply_fields: &["reply"],
    },
    CheckSpec {
        name: "queue.summary",
        about: "the whole mail queue listing",
        fields: QUEUE_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "queue.destination",
        about: "queued mail for one destination domain",
        fields: QUEUE_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "queue.hold",
        about: "one hold queue (spam outbreak, virus outbreak, sandbox, postfix hold)",
        fields: QUEUE_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.ip_policy",
        about: "FortiMail IP policies: catch-all reject at the bottom, antispam/antivirus profiles",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.recipient_policy",
        about: "FortiMail recipient policies: antispam/antivirus profiles",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.access_control",
        about: "FortiMail access-control rules that relay for any sender and client",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.safelist",
        about: "FortiMail safelists covering protected domains or everyone",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.smtp_auth",
        about: "FortiMail: scans bypassed for SMTP-authenticated clients",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.recipient_verification",
        about: "recipient verification: method and the server it asks",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.dnsbl",
        about: "DNSBL / SURBL zones the configuration queries, and the resolvers it queries them through",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.uri_redirect",
        about: "FortiMail URI / URL redirect lookups (need outbound HTTP)",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.queue",
        about: "queue warning, lifetime, dead-mail expiry and outbreak hold settings",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.relay",
        about: "Postfix relay restrictions and mynetworks",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.restrictions",
        about: "Postfix smtpd restriction order",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
    CheckSpec {
        name: "config.milter",
        about: "Postfix milter timeouts and default action",
        fields: CONFIG_FIELDS,
        reply_fields: &[],
    },
];

/// Fields of every `config.*` check (see `ConfigData`).
const CONFIG_FIELDS: &[&str] = &[
    "platform", "version", "rule", "object", "setting", "value", "values", "seconds", "line",
];

const RCPT_FIELDS: &[&str] = &[
    "host",
    "role",
    "is_gateway",
    "mx_preference",
    "software",
    "mail_from",
    "rcpt_to",
    "verdict",
    "stage",
];
const LISTING_FIELDS: &[&str] = &["zone", "queried", "item", "verdict", "answers", "reason"];
const QUEUE_FIELDS: &[&str] = &[
    "name",
    "messages",
    "regular",
    "slow",
    "held",
    "visible",
    "past_dsn_warn",
    "past_lifetime",
    "near_lifetime",
    "dead_candidates",
    "oldest_age_secs",
    "top_reason",
    "sample_ids",
];

/// The health-check groups `check --skip` can leave out, and the checks each one removes from a
/// report. A group whose checks are not written yet lists none; the fleet and `serve` tests read
/// this table, so a new check is covered there once it is added here.
pub const HEALTH_SKIP_GROUPS: &[(&str, &[&str])] = &[
    (
        "auth",
        &["auth.spf", "auth.spf_outbound", "auth.dmarc", "auth.dkim"],
    ),
    ("rdns", &["dns.fcrdns"]),
    ("ipv6", &["ipv6.mx", "ipv6.smtp"]),
    ("tls-policy", &["tls.mta_sts", "tls.rpt"]),
    ("dnssec", &[]),
];

pub fn find(name: &str) -> Option<&'static CheckSpec> {
    CHECKS.iter().find(|spec| spec.name == name)
}

impl CheckSpec {
    /// Whether `path` (`verdict`, `reply.code`, `outcome`) names a field of this check.
    pub fn has_field(&self, path: &str) -> bool {
        if COMMON_FIELDS.contains(&path) || self.fields.contains(&path) {
            return true;
        }
        match path.split_once('.') {
            Some((head, tail)) => self.reply_fields.contains(&head) && REPLY.contains(&tail),
            None => self.reply_fields.contains(&path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HEALTH_SKIP_GROUPS, find};

    #[test]
    fn every_check_a_skip_group_removes_is_in_the_catalog() {
        for (group, checks) in HEALTH_SKIP_GROUPS {
            for check in *checks {
                assert!(find(check).is_some(), "{group}: {check} is not a check");
            }
        }
    }
}
