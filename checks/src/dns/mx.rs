//! `dns.mx`: the MX set of a domain, each exchange resolved; null MX, implicit MX, CNAME and
//! IP-literal exchanges and CNAME loops flagged.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::join_all;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::lookup::{DnsLookup, LookupFailure};
use super::{DnsClient, MAX_CNAME_WALK, MAX_MX_EXCHANGES};
use mxdoctor_model::observation::{Data, MxData, MxRecord, Observation, Outcome};

impl<L: DnsLookup> DnsClient<L> {
    /// `dns.mx`: the MX set of `domain` with every exchange resolved to its A/AAAA addresses.
    ///
    /// Null MX, implicit MX (no MX, mail goes to the domain's own address), CNAME and IP-literal
    /// exchanges are flagged in [`MxData`]. The observation's latency is the MX query's own.
    pub async fn mx(&self, domain: &str) -> (Observation, Vec<MxRecord>) {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let lookup = self.query(&domain, RecordType::MX).await;
        let mut data = MxData {
            domain: domain.clone(),
            ..MxData::default()
        };
        let answered_mx = match lookup.result {
            Ok(records) => records,
            Err(LookupFailure::NoData) => {
                return self.implicit_mx(&domain, data, lookup.latency).await;
            }
            Err(failure) => {
                let detail = match &failure {
                    LookupFailure::NxDomain => {
                        format!("{domain} does not exist (NXDOMAIN): nobody can mail it")
                    }
                    LookupFailure::Timeout => format!(
                        "MX lookup for {domain} timed out after {} ms at {}",
                        self.timeout.as_millis(),
                        self.servers_label()
                    ),
                    other => format!(
                        "MX lookup for {domain} failed at {}: {}",
                        self.servers_label(),
                        other.response_label()
                    ),
                };
                let observation = Observation::new(
                    "dns.mx",
                    &domain,
                    failure.outcome(),
                    lookup.latency,
                    detail,
                    Data::Mx(data),
                );
                return (observation, Vec::new());
            }
        };

        let mut exchanges: Vec<(u16, String)> = answered_mx
            .iter()
            .filter_map(|record| match &record.data {
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect();
        exchanges.sort();
        exchanges.dedup();
        let published = exchanges.len();
        exchanges.truncate(MAX_MX_EXCHANGES);

        if exchanges.len() == 1 && exchanges[0].1 == "." {
            data.null_mx = true;
            data.count = 1;
            data.records = vec![MxRecord {
                preference: exchanges[0].0,
                exchange: ".".to_owned(),
                addresses: Vec::new(),
            }];
            let observation = Observation::new(
                "dns.mx",
                &domain,
                Outcome::Fail,
                lookup.latency,
                format!("{domain} publishes a null MX (RFC 7505): it accepts no mail"),
                Data::Mx(data.clone()),
            );
            return (observation, data.records);
        }

        let resolved = join_all(
            exchanges
                .iter()
                .map(|(preference, exchange)| self.resolve_exchange(*preference, exchange)),
        )
        .await;
        let mut notes = Vec::new();
        if published > exchanges.len() {
            notes.push(format!(
                "{published} MX records published: only the {} most preferred are resolved and probed",
                exchanges.len()
            ));
        }
        let mut records = Vec::with_capacity(resolved.len());
        for exchange in resolved {
            if exchange.ip_literal {
                data.ip_literal = true;
                notes.push(format!(
                    "exchange {} is an IP literal, not a host name",
                    exchange.record.exchange
                ));
            }
            if let Some(target) = &exchange.cname_target {
                data.cname_exchange = true;
                notes.push(format!(
                    "exchange {} is an alias (CNAME to {target}), which RFC 5321 forbids",
                    exchange.record.exchange
                ));
            }
            if let Some(failure) = &exchange.failure {
                notes.push(format!(
                    "exchange {} has no address ({failure})",
                    exchange.record.exchange
                ));
            }
            records.push(exchange.record);
        }
        data.count = published;
        data.records.clone_from(&records);

        let resolvable = records.iter().filter(|r| !r.addresses.is_empty()).count();
        let listing = records
            .iter()
            .map(|r| format!("{} {}", r.preference, r.exchange))
            .collect::<Vec<_>>()
            .join(", ");
        let (outcome, mut detail) = if resolvable == 0 {
            (
                Outcome::Fail,
                format!("{domain} MX {listing}: no exchange resolves to an address"),
            )
        } else {
            (Outcome::Ok, format!("{domain} MX {listing}"))
        };
        for note in notes {
            let _ = write!(detail, "; {note}");
        }
        let observation = Observation::new(
            "dns.mx",
            &domain,
            outcome,
            lookup.latency,
            detail,
            Data::Mx(data),
        );
        (observation, records)
    }

    /// No MX record: RFC 5321 §5.1 says mail goes to the domain's own A/AAAA.
    async fn implicit_mx(
        &self,
        domain: &str,
        mut data: MxData,
        mx_latency: Duration,
    ) -> (Observation, Vec<MxRecord>) {
        let resolution = self.resolve_both(domain).await;
        data.implicit_mx = true;
        if resolution.addresses.is_empty() {
            let (outcome, detail) = match self.cname_loop(domain).await {
                // The zone answered; its answer is the problem (like NXDOMAIN).
                Some(chain) => (
                    Outcome::Fail,
                    format!("{domain} is a CNAME loop ({chain}): it cannot receive mail"),
                ),
                None => (
                    Outcome::Fail,
                    format!(
                        "{domain} has no MX and no A/AAAA ({}): it cannot receive mail",
                        resolution.failure_label()
                    ),
                ),
            };
            let observation = Observation::new(
                "dns.mx",
                domain,
                outcome,
                mx_latency,
                detail,
                Data::Mx(data),
            );
            return (observation, Vec::new());
        }
        let record = MxRecord {
            preference: 0,
            exchange: domain.to_owned(),
            addresses: resolution.address_strings(),
        };
        data.count = 1;
        data.records = vec![record.clone()];
        let observation = Observation::new(
            "dns.mx",
            domain,
            Outcome::Ok,
            mx_latency,
            format!(
                "{domain} has no MX: mail falls back to its own address {} (implicit MX)",
                record.addresses.join(", ")
            ),
            Data::Mx(data),
        );
        (observation, vec![record])
    }

    /// Follows `name`'s aliases one CNAME query at a time; `Some("a → b → a")` when they loop.
    ///
    /// Only asked when a name turned out to have no data (the resolver does not say why), and
    /// bounded as a whole by one timeout.
    async fn cname_loop(&self, name: &str) -> Option<String> {
        let walk = async {
            let mut chain = vec![name.trim_end_matches('.').to_ascii_lowercase()];
            for _ in 0..MAX_CNAME_WALK {
                let current = chain.last()?.clone();
                let records = self.query(&current, RecordType::CNAME).await.result.ok()?;
                let target = records.iter().find_map(|record| match &record.data {
                    RData::CNAME(target) => Some(
                        target
                            .0
                            .to_ascii()
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    ),
                    _ => None,
                })?;
                let looped = chain.contains(&target);
                chain.push(target);
                if looped {
                    return Some(chain.join(" → "));
                }
            }
            None
        };
        tokio::time::timeout(self.timeout, walk)
            .await
            .ok()
            .flatten()
    }

    async fn resolve_exchange(&self, preference: u16, exchange: &str) -> ResolvedExchange {
        let host = exchange.trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return ResolvedExchange {
                record: MxRecord {
                    preference,
                    exchange: host.to_owned(),
                    addresses: vec![ip.to_string()],
                },
                ip_literal: true,
                cname_target: None,
                failure: None,
            };
        }
        let resolution = self.resolve_both(host).await;
        let failure = resolution
            .addresses
            .is_empty()
            .then(|| resolution.failure_label());
        ResolvedExchange {
            record: MxRecord {
                preference,
                exchange: host.to_owned(),
                addresses: resolution.address_strings(),
            },
            ip_literal: false,
            cname_target: resolution.cname_target,
            failure,
        }
    }
}

struct ResolvedExchange {
    record: MxRecord,
    ip_literal: bool,
    cname_target: Option<String>,
    failure: Option<String>,
}
