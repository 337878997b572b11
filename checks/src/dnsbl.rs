//! RFC 5782 list lookups (`dnsbl`, `surbl`): is an MX address or a domain on a block list, and does
//! the list answer us at all (public resolvers are often refused by Spamhaus and friends).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_resolver::proto::rr::{RData, RecordType};

use crate::dns::{DnsClient, LookupFailure, reversed_labels};
use mxdoctor_model::observation::{Data, ListingData, Observation, Outcome};

/// Answers slower than this carry their latency in the evidence text: it is what milter timeouts are about.
const SLOW_ANSWER: Duration = Duration::from_millis(500);

/// How long the best-effort TXT (listing reason) lookup may take at most.
const REASON_BUDGET: Duration = Duration::from_secs(2);

/// `dnsbl`: looks `ip` up in the IP block list `zone` (`2.0.0.127.zen.example`).
pub async fn dnsbl(dns: &DnsClient, zone: &str, ip: IpAddr) -> Observation {
    let zone = normalise(zone);
    let ip = ip.to_canonical();
    let queried = format!("{}.{zone}", reversed_labels(ip));
    lookup("dnsbl", dns, &zone, ip.to_string(), queried).await
}

/// `surbl`: looks `domain` up in the URI block list `zone` (`example.com.multi.surbl.example`).
///
/// An IP address given as the domain is reversed, as URI lists list IPs.
pub async fn surbl(dns: &DnsClient, zone: &str, domain: &str) -> Observation {
    let zone = normalise(zone);
    let item = normalise(domain);
    let queried = match item.parse::<IpAddr>() {
        Ok(ip) => format!("{}.{zone}", reversed_labels(ip)),
        Err(_) => format!("{item}.{zone}"),
    };
    lookup("surbl", dns, &zone, item, queried).await
}

/// What one 127.0.0.0/8 answer means, per RFC 5782 and the conventions of the big lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnswerMeaning {
    Listed,
    /// 127.255.255.x (Spamhaus: query refused, public resolver, over quota) or 127.0.0.1 (SURBL: blocked).
    ListError,
    /// Outside 127.0.0.0/8: a hijacking resolver or a wildcard, not a list answer.
    Bogus,
}

fn meaning(answer: Ipv4Addr) -> AnswerMeaning {
    let [a, b, c, d] = answer.octets();
    match (a, b, c, d) {
        (127, 255, 255, _) | (127, 0, 0, 0 | 1) => AnswerMeaning::ListError,
        (127, ..) => AnswerMeaning::Listed,
        _ => AnswerMeaning::Bogus,
    }
}

async fn lookup(
    check: &str,
    dns: &DnsClient,
    zone: &str,
    item: String,
    queried: String,
) -> Observation {
    let answer = dns.query(&queried, RecordType::A).await;
    let mut answers = Vec::new();
    let mut reason = None;
    let (verdict, outcome, detail) = match answer.result {
        Ok(records) => {
            let addresses: Vec<Ipv4Addr> = records
                .iter()
                .filter_map(|record| match &record.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            answers = addresses.iter().map(ToString::to_string).collect();
            let meanings: Vec<AnswerMeaning> = addresses.iter().copied().map(meaning).collect();
            let shown = answers.join(", ");
            if meanings.contains(&AnswerMeaning::ListError) {
                (
                    "list_error",
                    Outcome::Inconclusive,
                    format!(
                        "{zone} refused to answer for {item} ({shown}): the list blocks queries from this resolver ({}) or it is over quota",
                        dns.servers_label()
                    ),
                )
            } else if meanings.contains(&AnswerMeaning::Bogus) {
                (
                    "list_error",
                    Outcome::Inconclusive,
                    format!(
                        "{zone} answered {shown} for {item}, outside 127.0.0.0/8: the resolver ({}) rewrites answers or the zone is not a list",
                        dns.servers_label()
                    ),
                )
            } else {
                reason = listing_reason(dns, &queried).await;
                let because = reason
                    .as_deref()
                    .map(|reason| format!(": {reason}"))
                    .unwrap_or_default();
                (
                    "listed",
                    Outcome::Fail,
                    format!("{item} is listed in {zone} ({shown}){because}"),
                )
            }
        }
        Err(failure) if failure.is_negative_answer() => (
            "not_listed",
            Outcome::Ok,
            format!("{item} is not listed in {zone}"),
        ),
        Err(LookupFailure::Timeout) => (
            "timeout",
            Outcome::Timeout,
            format!(
                "{zone} did not answer for {item} within {} ms ({})",
                dns.timeout().as_millis(),
                dns.servers_label()
            ),
        ),
        Err(failure) => (
            "error",
            Outcome::Error,
            format!(
                "lookup of {item} in {zone} failed: {}",
                failure.response_label()
            ),
        ),
    };
    let detail = if verdict != "timeout" && answer.latency >= SLOW_ANSWER {
        format!(
            "{detail} (answered after {} ms)",
            answer.latency.as_millis()
        )
    } else {
        detail
    };
    let data = ListingData {
        zone: zone.to_owned(),
        queried,
        item,
        verdict: verdict.to_owned(),
        answers,
        reason,
    };
    Observation::new(
        check,
        zone,
        outcome,
        answer.latency,
        detail,
        Data::Listing(data),
    )
}

/// The TXT record lists publish next to a listing, usually a URL explaining it; best effort.
async fn listing_reason(dns: &DnsClient, queried: &str) -> Option<String> {
    let budget = dns.timeout().min(REASON_BUDGET);
    let answer = tokio::time::timeout(budget, dns.query(queried, RecordType::TXT))
        .await
        .ok()?;
    let texts: Vec<String> = answer
        .result
        .ok()?
        .iter()
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    (!texts.is_empty()).then(|| texts.join(" | "))
}

fn normalise(name: &str) -> String {
    name.trim().trim_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_meanings_follow_rfc_5782_and_spamhaus() {
        assert_eq!(meaning(Ipv4Addr::new(127, 0, 0, 2)), AnswerMeaning::Listed);
        assert_eq!(meaning(Ipv4Addr::new(127, 0, 0, 11)), AnswerMeaning::Listed);
        assert_eq!(meaning(Ipv4Addr::new(127, 0, 1, 2)), AnswerMeaning::Listed);
        assert_eq!(meaning(Ipv4Addr::LOCALHOST), AnswerMeaning::ListError);
        assert_eq!(
            meaning(Ipv4Addr::new(127, 255, 255, 254)),
            AnswerMeaning::ListError
        );
        assert_eq!(meaning(Ipv4Addr::new(192, 0, 2, 1)), AnswerMeaning::Bogus);
    }
}
