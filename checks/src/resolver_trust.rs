//! `dns.resolver`: proves the resolver in use sees the real DNS tree before any negative answer
//! (NXDOMAIN, no MX, no record) is allowed to count against the target.
//!
//! Three questions whose right answers are known in advance: the root zone's SOA and NS (they
//! always exist), the target's public suffix (`com`, `co.uk`: it exists when the Public Suffix List
//! knows it), and a random top-level label that cannot exist (it must be NXDOMAIN — any answer means
//! the resolver rewrites NXDOMAIN or answers every name). A resolver that fails one is not believed.

use std::time::{Duration, Instant};

use hickory_resolver::proto::rr::{RData, Record, RecordType};

use crate::dns::{DnsClient, LookupFailure};
use mxdoctor_model::observation::{Data, Observation, Outcome, ResolverData};

/// The verdicts a resolver can get, as written in [`ResolverData::verdict`].
pub const TRUSTED: &str = "trusted";
/// It answers names that cannot exist: NXDOMAIN rewriting, a captive portal, a wildcard.
pub const REWRITES: &str = "rewrites";
/// It denies names that always exist: NXDOMAIN (or empty answers) for everything, a private-only view.
pub const BLIND: &str = "blind";
/// Nothing came back from it.
pub const UNREACHABLE: &str = "unreachable";
/// It answered with errors (SERVFAIL, REFUSED) or only partly: no verdict either way.
pub const UNUSABLE: &str = "unusable";

/// Asks the trust questions at once and judges the resolver; `target` adds its public suffix.
pub async fn probe(dns: &DnsClient, target: Option<&str>) -> Observation {
    let started = Instant::now();
    let canary_name = format!("mxdoctor-canary-{:016x}", rand::random::<u64>());
    let parent_zone = target.and_then(known_public_suffix);
    let parent_query = async {
        match &parent_zone {
            Some(zone) => Some(dns.query(zone, RecordType::SOA).await),
            None => None,
        }
    };
    let (root_soa, root_ns, canary, parent) = tokio::join!(
        dns.query(".", RecordType::SOA),
        dns.query(".", RecordType::NS),
        dns.query(&canary_name, RecordType::A),
        parent_query,
    );
    let latency = started.elapsed();
    let root_soa = Answer::of(root_soa.result, RecordType::SOA);
    let root_ns = Answer::of(root_ns.result, RecordType::NS);
    let canary = Answer::of(canary.result, RecordType::A);
    let parent = parent.map(|lookup| Answer::of(lookup.result, RecordType::SOA));
    judge(
        &dns.servers_label(),
        &Questions {
            root_soa,
            root_ns,
            canary_name,
            canary,
            parent_zone,
            parent,
        },
        latency,
    )
}

/// The target's public suffix when the Public Suffix List knows it (`gmail.com` → `com`); `None`
/// for names under a private or unknown top-level domain, whose absence proves nothing.
fn known_public_suffix(target: &str) -> Option<String> {
    let name = target.trim_end_matches('.').to_ascii_lowercase();
    if name.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let suffix = psl::suffix(name.as_bytes())?;
    if !suffix.is_known() {
        return None;
    }
    std::str::from_utf8(suffix.as_bytes())
        .ok()
        .map(str::to_owned)
}

/// One trust question's answer, reduced to what the verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// Records of the asked type, shown as text.
    Records(Vec<String>),
    Failed(LookupFailure),
}

impl Answer {
    fn of(result: Result<Vec<Record>, LookupFailure>, wanted: RecordType) -> Self {
        match result {
            Ok(records) => Self::Records(
                records
                    .iter()
                    .filter(|record| record.record_type() == wanted)
                    .map(|record| show(&record.data))
                    .collect(),
            ),
            Err(failure) => Self::Failed(failure),
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Records(records) => {
                let mut shown: Vec<String> = records.iter().take(3).cloned().collect();
                if records.len() > 3 {
                    shown.push(format!("… ({} records)", records.len()));
                }
                shown.join(", ")
            }
            Self::Failed(failure) => failure.response_label(),
        }
    }

    fn denies(&self) -> bool {
        matches!(self, Self::Failed(failure) if failure.is_negative_answer())
    }

    fn timed_out(&self) -> bool {
        matches!(self, Self::Failed(LookupFailure::Timeout))
    }
}

fn show(data: &RData) -> String {
    match data {
        RData::SOA(soa) => format!("SOA {} {}", soa.mname, soa.serial),
        RData::NS(ns) => format!("NS {}", ns.0),
        RData::A(a) => format!("A {}", a.0),
        other => other.to_string(),
    }
}

struct Questions {
    root_soa: Answer,
    root_ns: Answer,
    canary_name: String,
    canary: Answer,
    parent_zone: Option<String>,
    parent: Option<Answer>,
}

fn judge(server: &str, questions: &Questions, latency: Duration) -> Observation {
    let server = server.to_owned();
    let canary_rewritten =
        !matches!(questions.canary, Answer::Failed(ref f) if is_error_or_nxdomain(f));
    let root_denied = questions.root_soa.denies() || questions.root_ns.denies();
    let parent_denied = questions.parent.as_ref().is_some_and(Answer::denies);
    let all_timed_out = questions.root_soa.timed_out()
        && questions.root_ns.timed_out()
        && questions.canary.timed_out();
    let root_seen = matches!(questions.root_soa, Answer::Records(ref r) if !r.is_empty())
        && matches!(questions.root_ns, Answer::Records(ref r) if !r.is_empty());
    let canary_nxdomain = questions.canary == Answer::Failed(LookupFailure::NxDomain);

    let (verdict, outcome, reason) = if all_timed_out {
        (
            UNREACHABLE,
            Outcome::Timeout,
            format!("{server} did not answer"),
        )
    } else if canary_rewritten {
        (
            REWRITES,
            Outcome::Fail,
            format!(
                "{server} answered {} for {}., a name that cannot exist: it rewrites NXDOMAIN or answers every name",
                questions.canary.label(),
                questions.canary_name
            ),
        )
    } else if root_denied || parent_denied {
        let what = if root_denied {
            format!(
                "the root zone (SOA: {}; NS: {})",
                questions.root_soa.label(),
                questions.root_ns.label()
            )
        } else {
            format!(
                "{} (SOA: {})",
                questions.parent_zone.as_deref().unwrap_or_default(),
                questions
                    .parent
                    .as_ref()
                    .map(Answer::label)
                    .unwrap_or_default()
            )
        };
        (
            BLIND,
            Outcome::Fail,
            format!("{server} denies {what}, which always exists: it does not see the public DNS"),
        )
    } else if root_seen && canary_nxdomain {
        (
            TRUSTED,
            Outcome::Ok,
            format!(
                "{server} sees the root zone ({}) and says NXDOMAIN for a random name",
                questions.root_soa.label()
            ),
        )
    } else {
        (
            UNUSABLE,
            Outcome::Inconclusive,
            format!(
                "{server} gave no usable answer (root SOA: {}; root NS: {}; random name: {})",
                questions.root_soa.label(),
                questions.root_ns.label(),
                questions.canary.label()
            ),
        )
    };
    let detail = if verdict == TRUSTED {
        reason
    } else {
        format!("this resolver cannot be trusted from here: {reason}")
    };
    Observation::new(
        "dns.resolver",
        server.clone(),
        outcome,
        latency,
        detail,
        Data::Resolver(ResolverData {
            server,
            verdict: verdict.to_owned(),
            trusted: verdict == TRUSTED,
            root_soa: questions.root_soa.label(),
            root_ns: questions.root_ns.label(),
            parent_zone: questions.parent_zone.clone(),
            parent: questions.parent.as_ref().map(Answer::label),
            canary_name: format!("{}.", questions.canary_name),
            canary: questions.canary.label(),
        }),
    )
}

/// A random name may come back NXDOMAIN (right) or fail outright (no verdict); anything else —
/// records or an empty NOERROR — claims the name exists.
fn is_error_or_nxdomain(failure: &LookupFailure) -> bool {
    !matches!(failure, LookupFailure::NoData)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions(root: Answer, canary: Answer, parent: Option<Answer>) -> Questions {
        Questions {
            root_soa: root.clone(),
            root_ns: root,
            canary_name: "mxdoctor-canary-0".into(),
            canary,
            parent_zone: parent.as_ref().map(|_| "com".to_owned()),
            parent,
        }
    }

    fn verdict(questions: &Questions) -> (String, Outcome) {
        let observation = judge("192.0.2.53:53", questions, Duration::ZERO);
        let Data::Resolver(data) = observation.data else {
            panic!("resolver data")
        };
        assert_eq!(data.trusted, data.verdict == TRUSTED);
        (data.verdict, observation.outcome)
    }

    fn records() -> Answer {
        Answer::Records(vec!["SOA a.root-servers.net. 1".into()])
    }

    #[test]
    fn a_resolver_that_sees_the_tree_is_trusted() {
        let healthy = questions(
            records(),
            Answer::Failed(LookupFailure::NxDomain),
            Some(records()),
        );
        assert_eq!(verdict(&healthy), (TRUSTED.to_owned(), Outcome::Ok));
    }

    #[test]
    fn nxdomain_for_everything_is_blind() {
        let nx = Answer::Failed(LookupFailure::NxDomain);
        assert_eq!(
            verdict(&questions(nx.clone(), nx, None)),
            (BLIND.to_owned(), Outcome::Fail)
        );
    }

    #[test]
    fn an_answer_for_a_random_name_is_rewriting() {
        let lie = Answer::Records(vec!["A 192.0.2.80".into()]);
        assert_eq!(
            verdict(&questions(records(), lie, None)),
            (REWRITES.to_owned(), Outcome::Fail)
        );
        let empty = Answer::Failed(LookupFailure::NoData);
        assert_eq!(verdict(&questions(records(), empty, None)).0, REWRITES);
    }

    #[test]
    fn a_missing_public_suffix_is_blind() {
        let parent = Answer::Failed(LookupFailure::NxDomain);
        let found = questions(
            records(),
            Answer::Failed(LookupFailure::NxDomain),
            Some(parent),
        );
        assert_eq!(verdict(&found).0, BLIND);
    }

    #[test]
    fn silence_and_errors_give_no_verdict_on_the_target() {
        let silent = Answer::Failed(LookupFailure::Timeout);
        assert_eq!(
            verdict(&questions(silent.clone(), silent, None)),
            (UNREACHABLE.to_owned(), Outcome::Timeout)
        );
        let servfail = Answer::Failed(LookupFailure::Code(
            hickory_resolver::proto::op::ResponseCode::ServFail,
        ));
        assert_eq!(
            verdict(&questions(servfail.clone(), servfail, None)),
            (UNUSABLE.to_owned(), Outcome::Inconclusive)
        );
    }

    #[test]
    fn public_suffix_only_when_the_list_knows_it() {
        assert_eq!(known_public_suffix("gmail.com").as_deref(), Some("com"));
        assert_eq!(
            known_public_suffix("mail.example.co.uk.").as_deref(),
            Some("co.uk")
        );
        assert_eq!(known_public_suffix("healthy.lab.test"), None);
        assert_eq!(known_public_suffix("192.0.2.1"), None);
    }
}
