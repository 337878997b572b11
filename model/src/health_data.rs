//! The typed payloads of the one-shot health checks (resolver trust, sender authentication,
//! reverse DNS, IPv6, transport policy), kept apart from the probe payloads in `observation`.

use serde::{Deserialize, Serialize};

/// Whether the resolver in use can be believed (`dns.resolver`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResolverData {
    pub server: String,
    /// trusted | rewrites | blind | unreachable | unusable
    pub verdict: String,
    pub trusted: bool,
    /// What it said for the root zone's SOA and NS.
    pub root_soa: String,
    pub root_ns: String,
    /// The target's public suffix (when the Public Suffix List knows it) and what it said for its SOA.
    pub parent_zone: Option<String>,
    pub parent: Option<String>,
    /// A random name that cannot exist, and what it said for it (NXDOMAIN is right).
    pub canary_name: String,
    pub canary: String,
}

/// The domain's SPF policy as a receiver would evaluate it (`auth.spf`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SpfData {
    pub domain: String,
    pub record: Option<String>,
    pub records_found: usize,
    /// valid | missing | no_such_domain | multiple | syntax_error | broken_reference | too_many_lookups |
    /// too_many_void_lookups | lookup_error
    pub verdict: String,
    /// `-all`, `~all`, `?all`, `+all`, `redirect` (the policy is elsewhere) or `none` (no `all`: neutral).
    pub all: String,
    /// Terms that query DNS, counted through every include and redirect (limit 10).
    pub dns_lookups: usize,
    /// Of those, lookups that found nothing (limit 2).
    pub void_lookups: usize,
    pub problems: Vec<String>,
}

/// SPF evaluated for one `--outbound-ip` (`auth.spf_outbound`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SpfOutboundData {
    pub domain: String,
    pub ip: String,
    /// pass | fail | softfail | neutral | none | permerror | temperror (RFC 7208 §2.6)
    pub result: String,
    /// The term that decided, e.g. `~all`.
    pub matched: Option<String>,
    /// A term with macros (or `ptr`) was skipped: the result may differ for a real message.
    pub approximate: bool,
}

/// The DMARC policy that applies to the domain (`auth.dmarc`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DmarcData {
    pub domain: String,
    /// The organisational domain (Public Suffix List), where a missing record is looked for next.
    pub org_domain: String,
    /// Where the record was found (or last looked for).
    pub record_domain: String,
    pub record: Option<String>,
    /// valid | missing | no_such_domain | multiple | syntax_error | lookup_error
    pub verdict: String,
    pub p: String,
    pub sp: Option<String>,
    /// What applies to this domain: p, or sp for a subdomain that inherits the record.
    pub effective_policy: String,
    pub pct: u8,
    pub adkim: String,
    pub aspf: String,
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
    /// External report destinations without the RFC 7489 §7.1 authorisation record.
    pub unauthorised_destinations: Vec<String>,
    pub problems: Vec<String>,
}

/// Forward-confirmed reverse DNS of one address (`dns.fcrdns`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FcrdnsData {
    pub ip: String,
    /// mx | outbound
    pub role: String,
    pub ptr_names: Vec<String>,
    pub forward_confirmed: bool,
    /// confirmed | no_ptr | not_confirmed | lookup_error
    pub verdict: String,
}

/// The DKIM key record of one selector (`auth.dkim`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DkimData {
    pub selector: String,
    /// `SELECTOR._domainkey.DOMAIN`
    pub name: String,
    pub record: Option<String>,
    /// valid | short (RSA < 2048) | weak (RSA < 1024) | revoked | missing | syntax_error | lookup_error
    pub verdict: String,
    /// rsa | ed25519
    pub key_type: String,
    pub key_bits: Option<u32>,
    /// `t=y`: verifiers treat failures as unsigned.
    pub testing: bool,
}

/// Whether the MX hosts of a domain publish IPv6 addresses (`ipv6.mx`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ipv6MxData {
    pub domain: String,
    /// MX hosts asked for AAAA (a null MX or an MX without hosts has none).
    pub hosts: usize,
    pub with_aaaa: Vec<String>,
    pub without_aaaa: Vec<String>,
    /// Hosts whose AAAA lookup failed (timeout, SERVFAIL): neither with nor without.
    pub lookup_failed: Vec<String>,
    /// all | some | none | unknown (a lookup failed and no host has AAAA) | no_hosts
    pub verdict: String,
}

/// One MX host's banner and EHLO over IPv4 and over IPv6 (`ipv6.smtp`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ipv6SmtpData {
    pub host: String,
    pub port: u16,
    /// The addresses tried, the first of each family the DNS gave.
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    /// Whether this host can reach the IPv6 address at all, decided without sending a packet:
    /// route (the kernel routes it from a usable source) | no_route | no_global_source |
    /// assumed (`--ipv6-vantage yes`) | disabled (`--ipv6-vantage no`) | not_needed (no AAAA)
    pub vantage: String,
    /// banner (the server greeted and answered EHLO) | refused | timeout | error | rejected (a 4xx/5xx
    /// banner or EHLO) | no_address | not_tried
    pub ipv4: String,
    pub ipv6: String,
    pub ipv4_detail: String,
    pub ipv6_detail: String,
    /// both | ipv4_only | ipv6_only | neither | no_aaaa | no_vantage
    pub verdict: String,
}

/// The domain's MTA-STS policy (RFC 8461) as a sending MTA would discover and apply it (`tls.mta_sts`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MtaStsData {
    pub domain: String,
    /// The `v=STSv1` record at `_mta-sts.DOMAIN`, when exactly one was found.
    pub txt_record: Option<String>,
    pub txt_records_found: usize,
    /// The record's `id=`: senders refetch the policy when it changes.
    pub id: Option<String>,
    /// valid | missing | no_such_domain | multiple_txt | txt_syntax_error | policy_unavailable |
    /// certificate_invalid | policy_syntax_error | policy_without_txt | unreachable | lookup_error
    pub verdict: String,
    /// `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
    pub policy_url: String,
    /// What fetching the policy gave: the HTTP status, the media type, the error.
    pub http_status: Option<u16>,
    pub content_type: Option<String>,
    pub fetch_error: Option<String>,
    /// The policy as published (capped), when one was fetched.
    pub policy: Option<String>,
    /// enforce | testing | none
    pub mode: Option<String>,
    /// Seconds senders may cache the policy (at most 31557600).
    pub max_age: Option<u64>,
    pub mx_patterns: Vec<String>,
    /// The domain's MX hosts, and those no `mx` pattern matches.
    pub mx_hosts: Vec<String>,
    pub uncovered_mx: Vec<String>,
    pub problems: Vec<String>,
}

/// The domain's SMTP TLS reporting record (RFC 8460) (`tls.rpt`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TlsRptData {
    pub domain: String,
    /// `_smtp._tls.DOMAIN`
    pub name: String,
    pub record: Option<String>,
    pub records_found: usize,
    /// valid | missing | no_such_domain | multiple | syntax_error | lookup_error
    pub verdict: String,
    /// Report destinations (`mailto:` or `https:` URIs).
    pub rua: Vec<String>,
    /// The domain publishes an MTA-STS record or a TLSA record for an MX: TLS failures matter,
    /// so receiving their reports matters too.
    pub mta_sts_published: bool,
    pub dane_published: bool,
    pub problems: Vec<String>,
}
