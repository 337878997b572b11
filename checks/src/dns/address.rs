//! `dns.a`: the A and AAAA addresses of a host, asked at once; also what the MX probe resolves
//! each exchange with.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::proto::rr::{RData, RecordType};

use super::lookup::{DnsLookup, LookupFailure};
use super::{DnsClient, MAX_ADDRESSES_PER_HOST, fully_qualified};
use mxdoctor_model::observation::{Data, DnsData, Observation, Outcome};

impl<L: DnsLookup> DnsClient<L> {
    /// A and AAAA of `host`, asked at the same time.
    pub(super) async fn resolve_both(&self, host: &str) -> Resolution {
        let (v4, v6) = tokio::join!(
            self.query(host, RecordType::A),
            self.query(host, RecordType::AAAA)
        );
        let mut resolution = Resolution {
            latency: v4.latency.max(v6.latency),
            ..Resolution::default()
        };
        let owner = fully_qualified(host);
        for lookup in [v4, v6] {
            match lookup.result {
                Ok(records) => {
                    for record in records {
                        match &record.data {
                            RData::A(a) => resolution.addresses.push(IpAddr::V4(a.0)),
                            RData::AAAA(aaaa) => resolution.addresses.push(IpAddr::V6(aaaa.0)),
                            RData::CNAME(target)
                                if record.name.to_ascii().eq_ignore_ascii_case(&owner) =>
                            {
                                resolution.cname_target =
                                    Some(target.0.to_ascii().trim_end_matches('.').to_owned());
                            }
                            _ => {}
                        }
                    }
                }
                Err(failure) => resolution.failures.push(failure),
            }
        }
        resolution.addresses.sort();
        resolution.addresses.dedup();
        resolution.addresses.truncate(MAX_ADDRESSES_PER_HOST);
        resolution
    }

    /// `dns.a`: the A and AAAA addresses of `host`.
    pub async fn addresses(&self, host: &str) -> (Observation, Vec<IpAddr>) {
        let host = host.trim_end_matches('.');
        let data = |answers: Vec<String>, response: String| {
            Data::Dns(DnsData {
                name: host.to_owned(),
                record_type: "A/AAAA".to_owned(),
                answers,
                response,
                server: self.servers_label(),
            })
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            let observation = Observation::new(
                "dns.a",
                host,
                Outcome::Ok,
                Duration::ZERO,
                format!("{host} is an address already"),
                data(vec![ip.to_string()], "IP literal".to_owned()),
            );
            return (observation, vec![ip]);
        }
        let resolution = self.resolve_both(host).await;
        let answers = resolution.address_strings();
        let (outcome, response, detail) = if answers.is_empty() {
            let response = resolution.failure_label();
            let detail = format!("{host} has no address ({response})");
            (resolution.failure_outcome(), response, detail)
        } else {
            let detail = format!("{host} has address {}", answers.join(", "));
            (Outcome::Ok, "NOERROR".to_owned(), detail)
        };
        let observation = Observation::new(
            "dns.a",
            host,
            outcome,
            resolution.latency,
            detail,
            data(answers, response),
        );
        (observation, resolution.addresses)
    }
}

#[derive(Default)]
pub(super) struct Resolution {
    pub(super) addresses: Vec<IpAddr>,
    pub(super) cname_target: Option<String>,
    failures: Vec<LookupFailure>,
    latency: Duration,
}

impl Resolution {
    pub(super) fn address_strings(&self) -> Vec<String> {
        self.addresses.iter().map(ToString::to_string).collect()
    }

    /// The most telling failure of the A and AAAA queries: an error beats a negative answer.
    fn worst_failure(&self) -> Option<&LookupFailure> {
        self.failures
            .iter()
            .find(|failure| !failure.is_negative_answer())
            .or_else(|| {
                self.failures
                    .iter()
                    .find(|failure| **failure == LookupFailure::NxDomain)
            })
            .or_else(|| self.failures.first())
    }

    pub(super) fn failure_label(&self) -> String {
        self.worst_failure()
            .map_or_else(|| "NODATA".to_owned(), LookupFailure::response_label)
    }

    fn failure_outcome(&self) -> Outcome {
        self.worst_failure()
            .map_or(Outcome::Fail, LookupFailure::outcome)
    }
}
