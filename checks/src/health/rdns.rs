//! `dns.fcrdns`: forward-confirmed reverse DNS of an MX address or an `--outbound-ip` — the PTR
//! names of the address, and whether one of them resolves back to it (what Gmail's 5.7.25 and
//! Postfix's reject_unknown_client_hostname demand of a sender).

use std::net::IpAddr;
use std::time::Instant;

use futures_util::future::join_all;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::direct_query;
use crate::dns::{DnsClient, LookupFailure, reverse_name};
use mxdoctor_model::observation::{Data, FcrdnsData, Observation, Outcome};

/// Most PTR names followed forward (a host normally has one).
const MAX_NAMES: usize = 5;

/// Checks `ip`'s reverse name and its forward confirmation; `role` is `mx` or `outbound`.
pub async fn probe(dns: &DnsClient, ip: IpAddr, role: &str) -> Observation {
    let started = Instant::now();
    let ip = ip.to_canonical();
    let mut data = FcrdnsData {
        ip: ip.to_string(),
        role: role.to_owned(),
        ..FcrdnsData::default()
    };
    let ptr = match dns.servers().first() {
        // The resolver library answers loopback PTRs itself (RFC 6761): ask the server.
        Some(server) if ip.is_loopback() => {
            direct_query::query(*server, &reverse_name(ip), RecordType::PTR, dns.timeout()).await
        }
        _ => dns.query(&reverse_name(ip), RecordType::PTR).await.result,
    };
    let (outcome, detail) = match ptr {
        Err(failure) if failure.is_negative_answer() => {
            "no_ptr".clone_into(&mut data.verdict);
            (
                Outcome::Fail,
                format!(
                    "{ip} ({role}) has no PTR record ({})",
                    failure.response_label()
                ),
            )
        }
        Err(failure) => {
            "lookup_error".clone_into(&mut data.verdict);
            (
                failure.outcome(),
                format!("PTR lookup of {ip} failed: {}", failure.response_label()),
            )
        }
        Ok(records) => {
            data.ptr_names = records
                .iter()
                .filter_map(|record| match &record.data {
                    RData::PTR(ptr) => Some(ptr.0.to_ascii().trim_end_matches('.').to_owned()),
                    _ => None,
                })
                .take(MAX_NAMES)
                .collect();
            let family = if ip.is_ipv4() {
                RecordType::A
            } else {
                RecordType::AAAA
            };
            let forward = join_all(data.ptr_names.iter().map(|name| dns.query(name, family))).await;
            let undecided = forward
                .iter()
                .filter_map(|lookup| lookup.result.as_ref().err())
                .find(|failure| !failure.is_negative_answer())
                .map(LookupFailure::response_label);
            let confirming = data
                .ptr_names
                .iter()
                .zip(forward)
                .find_map(|(name, lookup)| {
                    let records = lookup.result.ok()?;
                    records
                        .iter()
                        .any(|record| match &record.data {
                            RData::A(a) => IpAddr::V4(a.0) == ip,
                            RData::AAAA(aaaa) => IpAddr::V6(aaaa.0) == ip,
                            _ => false,
                        })
                        .then(|| name.clone())
                });
            data.forward_confirmed = confirming.is_some();
            match confirming {
                Some(name) => {
                    "confirmed".clone_into(&mut data.verdict);
                    (
                        Outcome::Ok,
                        format!("{ip} ({role}) reverses to {name}, which resolves back to it"),
                    )
                }
                None if undecided.is_some() => {
                    "lookup_error".clone_into(&mut data.verdict);
                    (
                        Outcome::Inconclusive,
                        format!(
                            "{ip} ({role}) reverses to {}, whose address lookup failed ({})",
                            data.ptr_names.join(", "),
                            undecided.unwrap_or_default()
                        ),
                    )
                }
                None => {
                    "not_confirmed".clone_into(&mut data.verdict);
                    (
                        Outcome::Fail,
                        format!(
                            "{ip} ({role}) reverses to {}, but no such name resolves back to {ip}",
                            data.ptr_names.join(", ")
                        ),
                    )
                }
            }
        }
    };
    Observation::new(
        "dns.fcrdns",
        ip.to_string(),
        outcome,
        started.elapsed(),
        detail,
        Data::Fcrdns(data),
    )
}
