//! `auth.dmarc`: the domain's DMARC policy (RFC 7489): the record at `_dmarc`, else at the
//! organisational domain (Public Suffix List), its tags (p, sp, pct, adkim, aspf, rua, ruf), and
//! whether every external report destination authorises the domain (§7.1).

use std::fmt::Write as _;
use std::time::Instant;

use futures_util::future::join_all;

use super::tag_error::TagError;
use super::txt_records;
use crate::dns::{DnsClient, LookupFailure};
use mxdoctor_model::observation::{Data, DmarcData, Observation, Outcome};

/// Probes the DMARC policy that applies to `domain`.
pub async fn probe(dns: &DnsClient, domain: &str) -> Observation {
    let started = Instant::now();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let org = organisational_domain(&domain);
    let mut data = DmarcData {
        domain: domain.clone(),
        org_domain: org.clone(),
        ..DmarcData::default()
    };
    let (mut found, exists) = tokio::join!(
        fetch(dns, &domain),
        dns.query(&domain, hickory_resolver::proto::rr::RecordType::SOA)
    );
    if exists.result == Err(LookupFailure::NxDomain) {
        "no_such_domain".clone_into(&mut data.verdict);
        return Observation::new(
            "auth.dmarc",
            domain.clone(),
            Outcome::Inconclusive,
            started.elapsed(),
            format!("{domain} does not exist (NXDOMAIN): there is no DMARC policy to judge"),
            Data::Dmarc(data),
        );
    }
    data.record_domain.clone_from(&domain);
    if matches!(found, Fetched::None) && org != domain {
        found = fetch(dns, &org).await;
        data.record_domain.clone_from(&org);
    }
    let (outcome, detail) = match found {
        Fetched::Failed(failure) => {
            "lookup_error".clone_into(&mut data.verdict);
            (
                failure.outcome(),
                format!(
                    "TXT lookup for _dmarc.{} failed: {}",
                    data.record_domain,
                    failure.response_label()
                ),
            )
        }
        Fetched::None => {
            "missing".clone_into(&mut data.verdict);
            let searched = if org == domain {
                format!("_dmarc.{domain}")
            } else {
                format!("_dmarc.{domain} nor _dmarc.{org}")
            };
            (Outcome::Fail, format!("no DMARC record at {searched}"))
        }
        Fetched::Multiple(n) => {
            "multiple".clone_into(&mut data.verdict);
            (
                Outcome::Fail,
                format!(
                    "_dmarc.{} has {n} DMARC records: receivers ignore them all (RFC 7489 §6.6.3)",
                    data.record_domain
                ),
            )
        }
        Fetched::Record(text) => {
            data.record = Some(text.clone());
            match parse(&text) {
                Err(problem) => {
                    "syntax_error".clone_into(&mut data.verdict);
                    data.problems.push(problem.to_string());
                    (
                        Outcome::Fail,
                        format!(
                            "_dmarc.{} \"{text}\" is invalid: {problem}",
                            data.record_domain
                        ),
                    )
                }
                Ok(policy) => judge_policy(dns, &mut data, policy, &text).await,
            }
        }
    };
    Observation::new(
        "auth.dmarc",
        domain,
        outcome,
        started.elapsed(),
        detail,
        Data::Dmarc(data),
    )
}

async fn judge_policy(
    dns: &DnsClient,
    data: &mut DmarcData,
    policy: Policy,
    text: &str,
) -> (Outcome, String) {
    data.p.clone_from(&policy.p);
    data.sp.clone_from(&policy.sp);
    data.pct = policy.pct;
    data.adkim.clone_from(&policy.adkim);
    data.aspf.clone_from(&policy.aspf);
    data.rua.clone_from(&policy.rua);
    data.ruf.clone_from(&policy.ruf);
    data.problems.clone_from(&policy.problems);
    // A subdomain found through its organisational domain gets sp= (RFC 7489 §6.6.3).
    data.effective_policy = if data.record_domain == data.domain {
        policy.p.clone()
    } else {
        policy.sp.clone().unwrap_or_else(|| policy.p.clone())
    };
    let destinations: Vec<String> = policy
        .rua
        .iter()
        .chain(&policy.ruf)
        .filter_map(|uri| mailto_domain(uri))
        .filter(|host| organisational_domain(host) != data.org_domain)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let authorised = join_all(
        destinations
            .iter()
            .map(|host| authorises(dns, &data.record_domain, host)),
    )
    .await;
    for (host, answer) in destinations.iter().zip(authorised) {
        match answer {
            Ok(true) => {}
            Ok(false) => data.unauthorised_destinations.push(host.clone()),
            Err(failure) => data.problems.push(format!(
                "could not check whether {host} accepts reports for {} ({})",
                data.record_domain,
                failure.response_label()
            )),
        }
    }
    "valid".clone_into(&mut data.verdict);
    let mut detail = format!(
        "_dmarc.{} \"{text}\": policy {} for {}, pct {}",
        data.record_domain, data.effective_policy, data.domain, data.pct
    );
    if !data.unauthorised_destinations.is_empty() {
        let _ = write!(
            detail,
            "; report destinations {} publish no {}._report._dmarc authorisation (RFC 7489 §7.1): they get no reports",
            data.unauthorised_destinations.join(", "),
            data.record_domain
        );
    }
    for problem in &data.problems {
        detail.push_str("; ");
        detail.push_str(problem);
    }
    (Outcome::Ok, detail)
}

/// `mail.example.co.uk` → `example.co.uk`; names under an unknown suffix keep their last two labels.
pub(crate) fn organisational_domain(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain(name.as_bytes())
        .and_then(|domain| {
            std::str::from_utf8(domain.as_bytes())
                .ok()
                .map(str::to_owned)
        })
        .unwrap_or(name)
}

enum Fetched {
    Record(String),
    None,
    Multiple(usize),
    Failed(LookupFailure),
}

async fn fetch(dns: &DnsClient, domain: &str) -> Fetched {
    match txt_records(dns, &format!("_dmarc.{domain}")).await {
        Err(failure) if failure.is_negative_answer() => Fetched::None,
        Err(failure) => Fetched::Failed(failure),
        Ok(texts) => {
            let mut records: Vec<String> = texts.into_iter().filter(|t| is_dmarc(t)).collect();
            match records.len() {
                0 => Fetched::None,
                1 => Fetched::Record(records.remove(0)),
                n => Fetched::Multiple(n),
            }
        }
    }
}

/// RFC 7489 §6.6.3: a record starts with `v=DMARC1` (spaces around `=` allowed).
fn is_dmarc(text: &str) -> bool {
    let first = text.split(';').next().unwrap_or_default();
    match first.split_once('=') {
        Some((tag, value)) => tag.trim() == "v" && value.trim() == "DMARC1",
        None => false,
    }
}

/// §7.1: `record_domain._report._dmarc.host` must hold a `v=DMARC1` record.
async fn authorises(
    dns: &DnsClient,
    record_domain: &str,
    host: &str,
) -> Result<bool, LookupFailure> {
    match txt_records(dns, &format!("{record_domain}._report._dmarc.{host}")).await {
        Ok(texts) => Ok(texts.iter().any(|t| is_dmarc(t))),
        Err(failure) if failure.is_negative_answer() => Ok(false),
        Err(failure) => Err(failure),
    }
}

/// The domain of a `mailto:` report URI (`mailto:d@rua.example!10m` → `rua.example`).
fn mailto_domain(uri: &str) -> Option<String> {
    let address = uri.strip_prefix("mailto:")?;
    let address = address.split('!').next()?;
    let (_, host) = address.rsplit_once('@')?;
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// The tags of a DMARC record, with defaults filled in (RFC 7489 §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Policy {
    p: String,
    sp: Option<String>,
    pct: u8,
    adkim: String,
    aspf: String,
    rua: Vec<String>,
    ruf: Vec<String>,
    /// Mistakes that do not void the record.
    problems: Vec<String>,
}

fn parse(text: &str) -> Result<Policy, TagError> {
    let mut policy = Policy {
        p: String::new(),
        sp: None,
        pct: 100,
        adkim: "r".into(),
        aspf: "r".into(),
        rua: Vec::new(),
        ruf: Vec::new(),
        problems: Vec::new(),
    };
    let disposition = |value: &str, tag: &'static str| -> Result<String, TagError> {
        let value = value.to_ascii_lowercase();
        if matches!(value.as_str(), "none" | "quarantine" | "reject") {
            Ok(value)
        } else {
            Err(TagError::Disposition { tag, value })
        }
    };
    let mut seen_p = false;
    for (index, part) in text.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((tag, value)) = part.split_once('=') else {
            return Err(TagError::NotTagValue(part.to_owned()));
        };
        let (tag, value) = (tag.trim().to_ascii_lowercase(), value.trim());
        match tag.as_str() {
            "p" => {
                policy.p = disposition(value, "p")?;
                seen_p = true;
                if index != 1 {
                    policy
                        .problems
                        .push("p= should come right after v=DMARC1 (RFC 7489 §6.4)".into());
                }
            }
            "sp" => policy.sp = Some(disposition(value, "sp")?),
            "pct" => {
                policy.pct = value
                    .parse::<u8>()
                    .ok()
                    .filter(|pct| *pct <= 100)
                    .ok_or_else(|| TagError::Percent(value.to_owned()))?;
            }
            "adkim" | "aspf" => {
                let mode = value.to_ascii_lowercase();
                if mode != "r" && mode != "s" {
                    return Err(TagError::Alignment {
                        tag,
                        value: value.to_owned(),
                    });
                }
                if tag == "adkim" {
                    policy.adkim = mode;
                } else {
                    policy.aspf = mode;
                }
            }
            "rua" | "ruf" => {
                let mut uris = Vec::new();
                for uri in value.split(',').map(str::trim) {
                    if mailto_domain(uri).is_some() || uri.starts_with("https:") {
                        uris.push(uri.to_owned());
                    } else {
                        policy
                            .problems
                            .push(format!("{tag} URI {uri:?} is not a mailto: address"));
                    }
                }
                if tag == "rua" {
                    policy.rua = uris;
                } else {
                    policy.ruf = uris;
                }
            }
            // v= was checked by is_dmarc; report options are not judged.
            "v" | "fo" | "rf" | "ri" => {}
            other => policy
                .problems
                .push(format!("unknown tag {other}= (ignored)")),
        }
    }
    if !seen_p {
        return Err(TagError::MissingPolicy);
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Record forms from RFC 7489 appendix B.2.
    #[test]
    fn parses_the_rfc_examples() {
        let policy = parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com").unwrap();
        assert_eq!(policy.p, "none");
        assert_eq!(policy.pct, 100);
        assert_eq!(policy.rua, ["mailto:dmarc-feedback@example.com"]);
        let policy = parse(
            "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net; pct=25",
        )
        .unwrap();
        assert_eq!(policy.pct, 25);
        assert_eq!(
            mailto_domain(&policy.ruf[0]).as_deref(),
            Some("thirdparty.example.net")
        );
        assert_eq!(
            mailto_domain("mailto:reports@example.com!10m").as_deref(),
            Some("example.com")
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse("v=DMARC1; rua=mailto:a@example.com").is_err());
        assert!(parse("v=DMARC1; p=block").is_err());
        assert!(parse("v=DMARC1; p=reject; pct=150").is_err());
        assert!(parse("v=DMARC1; p=reject; adkim=x").is_err());
        let policy = parse("v=DMARC1; p=reject; rua=dmarc@example.com").unwrap();
        assert!(policy.rua.is_empty());
        assert_eq!(policy.problems.len(), 1);
        assert!(is_dmarc("v=DMARC1; p=none"));
        assert!(!is_dmarc("v=spf1 -all"));
    }

    #[test]
    fn organisational_domains_follow_the_public_suffix_list() {
        assert_eq!(organisational_domain("mail.example.co.uk"), "example.co.uk");
        assert_eq!(organisational_domain("a.b.example.com"), "example.com");
        assert_eq!(organisational_domain("example.com"), "example.com");
    }
}
