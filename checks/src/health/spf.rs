//! `auth.spf` and `auth.spf_outbound`: the domain's SPF policy as a receiver would evaluate it
//! (RFC 7208): exactly one record, valid syntax, at most 10 DNS-querying terms and 2 void lookups
//! counted through every include and redirect, the `all` qualifier, and whether each
//! `--outbound-ip` passes.
//!
//! The DNS is read once (every record in the include/redirect tree and every name that `a`, `mx`
//! and `exists` ask about, concurrently, level by level); counting and evaluation are then pure.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hickory_resolver::proto::rr::{RData, RecordType};
use ipnet::IpNet;

use super::spf_record::{self, DomainSpec, Mechanism, Qualifier, SpfRecord};
use super::txt_records;
use crate::dns::{DnsClient, LookupFailure};
use mxdoctor_model::observation::{Data, Observation, Outcome, SpfData, SpfOutboundData};

/// RFC 7208 §4.6.4: at most 10 terms that query DNS, and at most 2 of those finding nothing.
pub const LOOKUP_LIMIT: usize = 10;
pub const VOID_LIMIT: usize = 2;
/// RFC 7208 §4.6.4: an `mx` mechanism looks at no more than 10 exchanges.
const MX_LIMIT: usize = 10;
/// Most SPF records fetched for one domain: past the limit a receiver has long given up.
const MAX_RECORDS: usize = 3 * LOOKUP_LIMIT;
/// Deepest include/redirect nesting followed (a loop is cut here).
const MAX_DEPTH: usize = 12;

/// What a domain published at its name: the SPF view of one TXT query.
#[derive(Debug, Clone)]
enum Published {
    Record {
        text: String,
        record: SpfRecord,
    },
    None,
    /// The name does not exist at all (NXDOMAIN).
    NoSuchName,
    Multiple(usize),
    Invalid {
        text: String,
        error: String,
    },
    Failed(LookupFailure),
}

/// Addresses a name stands for under `a` (A+AAAA), `mx` (its exchanges' addresses) or `exists` (A).
#[derive(Debug, Clone, Default)]
struct Resolved {
    addresses: Vec<IpAddr>,
    void: bool,
    failure: Option<String>,
    too_many_mx: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Ask {
    A,
    Mx,
    Exists,
}

/// Everything the DNS said that SPF evaluation of one domain can need.
#[derive(Debug, Default)]
struct Tree {
    records: HashMap<String, Published>,
    names: HashMap<(Ask, String), Resolved>,
    truncated: bool,
}

/// Probes `domain`'s SPF policy, and evaluates it for each of `outbound`.
pub async fn probe(dns: &DnsClient, domain: &str, outbound: &[IpAddr]) -> Vec<Observation> {
    let started = Instant::now();
    let tree = read_tree(dns, domain).await;
    let latency = started.elapsed();
    let mut observations = vec![policy_observation(domain, &tree, latency)];
    for ip in outbound {
        observations.push(outbound_observation(domain, *ip, &tree));
    }
    observations
}

async fn read_tree(dns: &DnsClient, domain: &str) -> Tree {
    let mut tree = Tree::default();
    let mut level = vec![domain.to_owned()];
    while !level.is_empty() {
        let fetched = join_all(level.iter().map(|name| fetch_record(dns, name))).await;
        let mut next = BTreeSet::new();
        let mut asks = BTreeSet::new();
        for (name, published) in level.iter().zip(fetched) {
            if let Published::Record { record, .. } = &published {
                for term in &record.terms {
                    match &term.mechanism {
                        Mechanism::Include(spec) if !spec.has_macro => {
                            next.insert(spec.text.clone());
                        }
                        Mechanism::A(spec, _) => {
                            asks.insert((Ask::A, target(spec.as_ref(), name)));
                        }
                        Mechanism::Mx(spec, _) => {
                            asks.insert((Ask::Mx, target(spec.as_ref(), name)));
                        }
                        Mechanism::Exists(spec) if !spec.has_macro => {
                            asks.insert((Ask::Exists, spec.text.clone()));
                        }
                        _ => {}
                    }
                }
                if let Some(spec) = record.redirect.as_ref().filter(|s| !s.has_macro) {
                    next.insert(spec.text.clone());
                }
            }
            tree.records.insert(name.clone(), published);
        }
        let asks: Vec<(Ask, String)> = asks
            .into_iter()
            .filter(|(_, name)| !name.is_empty())
            .filter(|key| !tree.names.contains_key(key))
            .collect();
        let resolved = join_all(asks.iter().map(|(ask, name)| resolve(dns, *ask, name))).await;
        for (key, resolved) in asks.into_iter().zip(resolved) {
            tree.names.insert(key, resolved);
        }
        level = next
            .into_iter()
            .filter(|name| !tree.records.contains_key(name))
            .collect();
        let room = MAX_RECORDS.saturating_sub(tree.records.len());
        if level.len() > room {
            level.truncate(room);
            tree.truncated = true;
        }
    }
    tree
}

/// The name a mechanism asks about: its own domain-spec, else the domain being evaluated.
/// A macro name cannot be known without a message: it becomes "" and is not looked up.
fn target(spec: Option<&DomainSpec>, current: &str) -> String {
    match spec {
        Some(spec) if spec.has_macro => String::new(),
        Some(spec) => spec.text.clone(),
        None => current.to_owned(),
    }
}

async fn fetch_record(dns: &DnsClient, name: &str) -> Published {
    match txt_records(dns, name).await {
        Err(LookupFailure::NxDomain) => Published::NoSuchName,
        Err(failure) if failure.is_negative_answer() => Published::None,
        Err(failure) => Published::Failed(failure),
        Ok(texts) => {
            let spf: Vec<String> = texts
                .into_iter()
                .filter(|t| spf_record::is_spf(t))
                .collect();
            match spf.as_slice() {
                [] => Published::None,
                [text] => match spf_record::parse(text) {
                    Ok(record) => Published::Record {
                        text: text.clone(),
                        record,
                    },
                    Err(error) => Published::Invalid {
                        text: text.clone(),
                        error: error.to_string(),
                    },
                },
                many => Published::Multiple(many.len()),
            }
        }
    }
}

async fn resolve(dns: &DnsClient, ask: Ask, name: &str) -> Resolved {
    let mut resolved = Resolved::default();
    let mut failures = Vec::new();
    match ask {
        Ask::A => {
            let (v4, v6) = tokio::join!(
                dns.query(name, RecordType::A),
                dns.query(name, RecordType::AAAA)
            );
            absorb(v4.result, &mut resolved, &mut failures);
            absorb(v6.result, &mut resolved, &mut failures);
        }
        Ask::Exists => absorb(
            dns.query(name, RecordType::A).await.result,
            &mut resolved,
            &mut failures,
        ),
        Ask::Mx => match dns.query(name, RecordType::MX).await.result {
            Ok(records) => {
                let exchanges: Vec<String> = records
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::MX(mx) => Some(mx.exchange.to_ascii()),
                        _ => None,
                    })
                    .collect();
                resolved.too_many_mx = exchanges.len() > MX_LIMIT;
                let lookups = join_all(exchanges.iter().take(MX_LIMIT).flat_map(|exchange| {
                    [
                        dns.query(exchange, RecordType::A),
                        dns.query(exchange, RecordType::AAAA),
                    ]
                }))
                .await;
                // The exchanges' own address lookups are not void lookups of the mechanism.
                let mut ignored = Vec::new();
                for lookup in lookups {
                    absorb(lookup.result, &mut resolved, &mut ignored);
                }
            }
            Err(failure) => failures.push(failure),
        },
    }
    resolved.addresses.sort();
    resolved.addresses.dedup();
    if resolved.addresses.is_empty() && !failures.is_empty() {
        if failures.iter().all(LookupFailure::is_negative_answer) {
            resolved.void = true;
        } else {
            resolved.failure = failures
                .iter()
                .find(|f| !f.is_negative_answer())
                .map(LookupFailure::response_label);
        }
    }
    resolved
}

fn absorb(
    lookup: Result<Vec<hickory_resolver::proto::rr::Record>, LookupFailure>,
    resolved: &mut Resolved,
    failures: &mut Vec<LookupFailure>,
) {
    match lookup {
        Ok(records) => {
            for record in records {
                match record.data {
                    RData::A(a) => resolved.addresses.push(IpAddr::V4(a.0)),
                    RData::AAAA(aaaa) => resolved.addresses.push(IpAddr::V6(aaaa.0)),
                    _ => {}
                }
            }
        }
        Err(failure) => failures.push(failure),
    }
}

/// Lookup and void-lookup counts over the whole tree, and the problems met on the way.
#[derive(Debug, Default)]
struct Count {
    lookups: usize,
    voids: usize,
    problems: Vec<String>,
    /// A referenced domain has no record or an invalid one: receivers return permerror.
    broken_reference: bool,
    temporary: bool,
}

fn count(tree: &Tree, domain: &str, depth: usize, total: &mut Count) {
    if depth > MAX_DEPTH {
        total.problems.push(format!(
            "include/redirect nesting deeper than {MAX_DEPTH} (a loop?)"
        ));
        total.broken_reference = true;
        return;
    }
    let Some(Published::Record { record, .. }) = tree.records.get(domain) else {
        return;
    };
    for term in &record.terms {
        if term.mechanism.counts_as_lookup() {
            total.lookups += 1;
        }
        match &term.mechanism {
            Mechanism::Include(spec) if !spec.has_macro => {
                follow(tree, &spec.text, "include", depth, total);
            }
            Mechanism::A(spec, _) | Mechanism::Mx(spec, _) => {
                let ask = if matches!(term.mechanism, Mechanism::A(..)) {
                    Ask::A
                } else {
                    Ask::Mx
                };
                note_resolution(tree, ask, &target(spec.as_ref(), domain), total);
            }
            Mechanism::Exists(spec) if !spec.has_macro => {
                note_resolution(tree, Ask::Exists, &spec.text, total);
            }
            Mechanism::Ptr(_) => total.problems.push(format!(
                "{domain} uses the ptr mechanism, which RFC 7208 §5.5 says not to use"
            )),
            _ => {}
        }
    }
    if record.all().is_none() {
        if let Some(spec) = record.redirect.as_ref() {
            total.lookups += 1;
            if !spec.has_macro {
                follow(tree, &spec.text, "redirect", depth, total);
            }
        }
    }
}

fn follow(tree: &Tree, name: &str, via: &str, depth: usize, total: &mut Count) {
    match tree.records.get(name) {
        Some(Published::Record { .. }) => count(tree, name, depth + 1, total),
        Some(Published::None | Published::NoSuchName) => {
            total.voids += 1;
            total.broken_reference = true;
            total
                .problems
                .push(format!("{via}:{name} has no SPF record (permerror)"));
        }
        Some(Published::Multiple(n)) => {
            total.broken_reference = true;
            total.problems.push(format!(
                "{via}:{name} publishes {n} SPF records (permerror)"
            ));
        }
        Some(Published::Invalid { error, .. }) => {
            total.broken_reference = true;
            total
                .problems
                .push(format!("{via}:{name} is invalid: {error} (permerror)"));
        }
        Some(Published::Failed(failure)) => {
            total.temporary = true;
            total.problems.push(format!(
                "{via}:{name} could not be read ({})",
                failure.response_label()
            ));
        }
        None => total.problems.push(format!(
            "{via}:{name} not read (more than {MAX_RECORDS} records)"
        )),
    }
}

fn note_resolution(tree: &Tree, ask: Ask, name: &str, total: &mut Count) {
    if let Some(resolved) = tree.names.get(&(ask, name.to_owned())) {
        if resolved.void {
            total.voids += 1;
        }
        if resolved.too_many_mx {
            total.broken_reference = true;
            total.problems.push(format!(
                "mx:{name} has more than {MX_LIMIT} exchanges (permerror)"
            ));
        }
    }
}

fn policy_observation(domain: &str, tree: &Tree, latency: Duration) -> Observation {
    let mut data = SpfData {
        domain: domain.to_owned(),
        ..SpfData::default()
    };
    let (outcome, detail) = match tree.records.get(domain) {
        Some(Published::Record { text, record }) => {
            data.record = Some(text.clone());
            data.records_found = 1;
            data.all = match (record.all(), &record.redirect) {
                (Some(qualifier), _) => format!("{}all", qualifier.symbol()),
                (None, Some(_)) => "redirect".to_owned(),
                (None, None) => "none".to_owned(),
            };
            let mut total = Count::default();
            count(tree, domain, 0, &mut total);
            data.dns_lookups = total.lookups;
            data.void_lookups = total.voids;
            data.problems.clone_from(&total.problems);
            let verdict = if total.lookups > LOOKUP_LIMIT {
                "too_many_lookups"
            } else if total.voids > VOID_LIMIT {
                "too_many_void_lookups"
            } else if total.broken_reference {
                "broken_reference"
            } else if total.temporary {
                "lookup_error"
            } else {
                "valid"
            };
            verdict.clone_into(&mut data.verdict);
            let summary = format!(
                "{domain} SPF \"{text}\": {} DNS lookups (limit {LOOKUP_LIMIT}), {} void (limit {VOID_LIMIT}), {}",
                total.lookups, total.voids, data.all
            );
            let outcome = match data.verdict.as_str() {
                "valid" => Outcome::Ok,
                "lookup_error" => Outcome::Inconclusive,
                _ => Outcome::Fail,
            };
            let mut detail = summary;
            for problem in &total.problems {
                detail.push_str("; ");
                detail.push_str(problem);
            }
            (outcome, detail)
        }
        Some(Published::NoSuchName) => {
            "no_such_domain".clone_into(&mut data.verdict);
            (
                Outcome::Inconclusive,
                format!("{domain} does not exist (NXDOMAIN): there is no SPF policy to judge"),
            )
        }
        Some(Published::None) => {
            "missing".clone_into(&mut data.verdict);
            (
                Outcome::Fail,
                format!("{domain} publishes no SPF record (no TXT starting v=spf1)"),
            )
        }
        Some(Published::Multiple(n)) => {
            "multiple".clone_into(&mut data.verdict);
            data.records_found = *n;
            (
                Outcome::Fail,
                format!(
                    "{domain} publishes {n} SPF records: receivers return permerror (RFC 7208 §4.5)"
                ),
            )
        }
        Some(Published::Invalid { text, error }) => {
            "syntax_error".clone_into(&mut data.verdict);
            data.record = Some(text.clone());
            data.records_found = 1;
            data.problems.push(error.clone());
            (
                Outcome::Fail,
                format!("{domain} SPF \"{text}\" is invalid: {error} (permerror)"),
            )
        }
        Some(Published::Failed(failure)) => {
            "lookup_error".clone_into(&mut data.verdict);
            (
                failure.outcome(),
                format!(
                    "TXT lookup for {domain} failed: {}",
                    failure.response_label()
                ),
            )
        }
        None => {
            "lookup_error".clone_into(&mut data.verdict);
            (Outcome::Error, format!("{domain}: SPF not read"))
        }
    };
    Observation::new(
        "auth.spf",
        domain,
        outcome,
        latency,
        detail,
        Data::Spf(data),
    )
}

/// The result of `check_host()` for one address, and whether a macro term was skipped on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Evaluation {
    result: &'static str,
    matched: Option<String>,
    approximate: bool,
}

fn outbound_observation(domain: &str, ip: IpAddr, tree: &Tree) -> Observation {
    let mut lookups = 0;
    let evaluation = evaluate(tree, domain, ip, 0, &mut lookups);
    let outcome = match evaluation.result {
        "pass" => Outcome::Ok,
        "temperror" => Outcome::Error,
        _ if evaluation.approximate => Outcome::Inconclusive,
        _ => Outcome::Fail,
    };
    let mut detail = format!("SPF of {domain} for {ip}: {}", evaluation.result);
    if let Some(matched) = &evaluation.matched {
        let _ = write!(detail, " (matched {matched})");
    }
    if evaluation.approximate {
        detail.push_str("; terms with macros were not evaluated");
    }
    Observation::new(
        "auth.spf_outbound",
        ip.to_string(),
        outcome,
        Duration::ZERO,
        detail,
        Data::SpfOutbound(SpfOutboundData {
            domain: domain.to_owned(),
            ip: ip.to_string(),
            result: evaluation.result.to_owned(),
            matched: evaluation.matched,
            approximate: evaluation.approximate,
        }),
    )
}

/// RFC 7208 §4 `check_host()` over the records already read.
fn evaluate(
    tree: &Tree,
    domain: &str,
    ip: IpAddr,
    depth: usize,
    lookups: &mut usize,
) -> Evaluation {
    let done = |result: &'static str| Evaluation {
        result,
        matched: None,
        approximate: false,
    };
    if depth > MAX_DEPTH {
        return done("permerror");
    }
    let record = match tree.records.get(domain) {
        Some(Published::Record { record, .. }) => record,
        Some(Published::None | Published::NoSuchName) => return done("none"),
        Some(Published::Failed(_)) | None => return done("temperror"),
        Some(Published::Multiple(_) | Published::Invalid { .. }) => return done("permerror"),
    };
    let mut approximate = false;
    for term in &record.terms {
        if term.mechanism.counts_as_lookup() {
            *lookups += 1;
            if *lookups > LOOKUP_LIMIT {
                return done("permerror");
            }
        }
        let matched = match &term.mechanism {
            Mechanism::All => true,
            Mechanism::Ip(net) => net.contains(&ip.to_canonical()),
            Mechanism::A(spec, cidr) | Mechanism::Mx(spec, cidr) => {
                if spec.as_ref().is_some_and(|s| s.has_macro) {
                    approximate = true;
                    false
                } else {
                    let ask = if matches!(term.mechanism, Mechanism::A(..)) {
                        Ask::A
                    } else {
                        Ask::Mx
                    };
                    match tree.names.get(&(ask, target(spec.as_ref(), domain))) {
                        Some(resolved) if resolved.failure.is_some() => {
                            return done("temperror");
                        }
                        Some(resolved) if resolved.too_many_mx => return done("permerror"),
                        Some(resolved) => resolved
                            .addresses
                            .iter()
                            .any(|address| within(*address, ip, *cidr)),
                        None => false,
                    }
                }
            }
            Mechanism::Exists(spec) => {
                if spec.has_macro {
                    approximate = true;
                    false
                } else {
                    tree.names
                        .get(&(Ask::Exists, spec.text.clone()))
                        .is_some_and(|resolved| !resolved.addresses.is_empty())
                }
            }
            Mechanism::Include(spec) => {
                if spec.has_macro {
                    approximate = true;
                    false
                } else {
                    let inner = evaluate(tree, &spec.text, ip, depth + 1, lookups);
                    approximate |= inner.approximate;
                    match inner.result {
                        "pass" => true,
                        "temperror" => return inner,
                        "permerror" | "none" => return done("permerror"),
                        _ => false,
                    }
                }
            }
            // Not evaluated: ptr needs the client's validated reverse names (and is deprecated).
            Mechanism::Ptr(_) => {
                approximate = true;
                false
            }
        };
        if matched {
            let shown = describe(term.qualifier, &term.mechanism);
            return Evaluation {
                result: term.qualifier.result(),
                matched: Some(shown),
                approximate,
            };
        }
    }
    if let Some(spec) = &record.redirect {
        *lookups += 1;
        if *lookups > LOOKUP_LIMIT {
            return done("permerror");
        }
        if spec.has_macro {
            return Evaluation {
                result: "neutral",
                matched: None,
                approximate: true,
            };
        }
        let inner = evaluate(tree, &spec.text, ip, depth + 1, lookups);
        return match inner.result {
            "none" => done("permerror"),
            _ => Evaluation {
                approximate: inner.approximate || approximate,
                ..inner
            },
        };
    }
    Evaluation {
        result: "neutral",
        matched: None,
        approximate,
    }
}

fn within(address: IpAddr, ip: IpAddr, cidr: spf_record::Cidr) -> bool {
    let ip = ip.to_canonical();
    let prefix = if address.is_ipv4() { cidr.v4 } else { cidr.v6 };
    IpNet::new(address, prefix).is_ok_and(|net| net.contains(&ip))
}

fn describe(qualifier: Qualifier, mechanism: &Mechanism) -> String {
    let spec = |s: &Option<DomainSpec>| {
        s.as_ref()
            .map(|s| format!(":{}", s.text))
            .unwrap_or_default()
    };
    let body = match mechanism {
        Mechanism::All => "all".to_owned(),
        Mechanism::Include(s) => format!("include:{}", s.text),
        Mechanism::A(s, _) => format!("a{}", spec(s)),
        Mechanism::Mx(s, _) => format!("mx{}", spec(s)),
        Mechanism::Ptr(s) => format!("ptr{}", spec(s)),
        Mechanism::Ip(net) => {
            let kind = if net.addr().is_ipv4() { "ip4" } else { "ip6" };
            format!("{kind}:{net}")
        }
        Mechanism::Exists(s) => format!("exists:{}", s.text),
    };
    format!("{}{body}", qualifier.symbol())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(records: &[(&str, &str)]) -> Tree {
        let mut tree = Tree::default();
        for (name, text) in records {
            let published = match spf_record::parse(text) {
                Ok(record) => Published::Record {
                    text: (*text).to_owned(),
                    record,
                },
                Err(error) => Published::Invalid {
                    text: (*text).to_owned(),
                    error: error.to_string(),
                },
            };
            tree.records.insert((*name).to_owned(), published);
        }
        tree
    }

    fn counted(tree: &Tree, domain: &str) -> Count {
        let mut total = Count::default();
        count(tree, domain, 0, &mut total);
        total
    }

    #[test]
    fn lookups_are_counted_through_includes_and_redirects() {
        let chain = tree(&[
            ("example.test", "v=spf1 include:a.example.test mx -all"),
            ("a.example.test", "v=spf1 include:b.example.test a ptr"),
            ("b.example.test", "v=spf1 redirect=c.example.test"),
            (
                "c.example.test",
                "v=spf1 ip4:192.0.2.0/24 exists:x.example.test -all",
            ),
        ]);
        // include, mx, include, a, ptr, redirect, exists
        assert_eq!(counted(&chain, "example.test").lookups, 7);
    }

    #[test]
    fn an_include_of_a_domain_without_spf_is_a_broken_reference() {
        let broken = tree(&[("example.test", "v=spf1 include:gone.example.test -all")]);
        let mut with_none = broken;
        with_none
            .records
            .insert("gone.example.test".into(), Published::None);
        let total = counted(&with_none, "example.test");
        assert!(total.broken_reference);
        assert_eq!(total.voids, 1);
    }

    #[test]
    fn check_host_follows_the_rfc_order() {
        let policy = tree(&[
            (
                "example.test",
                "v=spf1 ip4:192.0.2.0/24 include:esp.example.test ~all",
            ),
            ("esp.example.test", "v=spf1 ip6:2001:db8::/32 -all"),
        ]);
        let eval = |ip: &str| {
            let mut lookups = 0;
            evaluate(
                &policy,
                "example.test",
                ip.parse().unwrap(),
                0,
                &mut lookups,
            )
        };
        assert_eq!(eval("192.0.2.25").result, "pass");
        assert_eq!(eval("2001:db8::25").result, "pass");
        let outside = eval("198.51.100.7");
        assert_eq!(outside.result, "softfail");
        assert_eq!(outside.matched.as_deref(), Some("~all"));
    }

    #[test]
    fn more_than_ten_lookups_is_permerror_when_reached() {
        let mut records = vec![(
            "example.test".to_owned(),
            "v=spf1 include:i0.example.test -all".to_owned(),
        )];
        for n in 0..11 {
            records.push((
                format!("i{n}.example.test"),
                format!("v=spf1 include:i{}.example.test", n + 1),
            ));
        }
        records.push(("i11.example.test".into(), "v=spf1 ip4:192.0.2.1".into()));
        let as_refs: Vec<(&str, &str)> = records
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let chain = tree(&as_refs);
        assert_eq!(counted(&chain, "example.test").lookups, 12);
        let mut lookups = 0;
        let result = evaluate(
            &chain,
            "example.test",
            "192.0.2.1".parse().unwrap(),
            0,
            &mut lookups,
        );
        assert_eq!(result.result, "permerror");
    }
}
