//! `tls.rpt`: the domain's SMTP TLS reporting record (RFC 8460) at `_smtp._tls.DOMAIN` — exactly
//! one `v=TLSRPTv1` record whose `rua=` lists `mailto:` or `https:` destinations — and whether the
//! domain publishes a transport policy (MTA-STS or DANE) whose failures those reports would reveal.

use std::time::Instant;

use futures_util::future::join_all;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::mta_sts_policy::is_sts_record;
use super::txt_records;
use crate::dns::{DnsClient, MAX_MX_EXCHANGES};
use mxdoctor_model::observation::{Data, Observation, Outcome, TlsRptData};

/// Why a `_smtp._tls` record is not one senders accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RptError {
    #[error("it does not start with v=TLSRPTv1")]
    NotTlsRptV1,
    #[error("the required rua= field is missing")]
    MissingRua,
    #[error("rua URI {0:?} is neither mailto: nor https:")]
    BadUri(String),
    #[error("the field {0:?} is not name=value")]
    BadField(String),
}

/// Whether a TXT record at `_smtp._tls` claims to be a TLS-RPT record (others are discarded).
pub fn is_tls_rpt_record(record: &str) -> bool {
    record.starts_with("v=TLSRPTv1")
}

/// The `rua=` destinations of a valid record (RFC 8460 §3).
pub fn parse(record: &str) -> Result<Vec<String>, RptError> {
    let mut fields = record.split(';').map(str::trim);
    let is_v1 = fields
        .next()
        .and_then(|version| version.split_once('='))
        .is_some_and(|(name, value)| name.trim() == "v" && value.trim() == "TLSRPTv1");
    if !is_v1 {
        return Err(RptError::NotTlsRptV1);
    }
    let mut rua = None;
    for field in fields.filter(|field| !field.is_empty()) {
        let Some((name, value)) = field.split_once('=') else {
            return Err(RptError::BadField(field.to_owned()));
        };
        if name.trim() != "rua" || rua.is_some() {
            continue;
        }
        let mut uris = Vec::new();
        for uri in value.split(',').map(str::trim) {
            let lower = uri.to_ascii_lowercase();
            let valid = lower
                .strip_prefix("mailto:")
                .is_some_and(|address| address.contains('@') && !address.ends_with('@'))
                || lower
                    .strip_prefix("https://")
                    .is_some_and(|rest| !rest.is_empty());
            if !valid {
                return Err(RptError::BadUri(uri.to_owned()));
            }
            uris.push(uri.to_owned());
        }
        rua = Some(uris);
    }
    rua.filter(|uris| !uris.is_empty())
        .ok_or(RptError::MissingRua)
}

/// Probes the TLS-RPT record of `domain`.
pub async fn probe(dns: &DnsClient, domain: &str) -> Observation {
    let started = Instant::now();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let name = format!("_smtp._tls.{domain}");
    let mut data = TlsRptData {
        domain: domain.clone(),
        name: name.clone(),
        ..TlsRptData::default()
    };
    let (found, (mta_sts, dane)) = tokio::join!(txt_records(dns, &name), policies(dns, &domain));
    data.mta_sts_published = mta_sts;
    data.dane_published = dane;
    let records = match found {
        Ok(texts) => texts
            .into_iter()
            .filter(|text| is_tls_rpt_record(text))
            .collect(),
        Err(failure) if failure.is_negative_answer() => Vec::new(),
        Err(failure) => {
            "lookup_error".clone_into(&mut data.verdict);
            let detail = format!("TXT lookup for {name} failed: {}", failure.response_label());
            return Observation::new(
                "tls.rpt",
                domain,
                failure.outcome(),
                started.elapsed(),
                detail,
                Data::TlsRpt(data),
            );
        }
    };
    data.records_found = records.len();
    let (outcome, detail) = match records.as_slice() {
        [] => {
            "missing".clone_into(&mut data.verdict);
            let protected = match (mta_sts, dane) {
                (true, true) => " although the domain publishes MTA-STS and DANE",
                (true, false) => " although the domain publishes MTA-STS",
                (false, true) => " although the domain publishes DANE (TLSA)",
                (false, false) => "",
            };
            (
                Outcome::Ok,
                format!(
                    "no TLS-RPT record at {name}{protected}: senders cannot report failed TLS deliveries to the domain"
                ),
            )
        }
        [record] => {
            data.record = Some(record.clone());
            match parse(record) {
                Ok(rua) => {
                    let detail =
                        format!("{name} \"{record}\": TLS reports go to {}", rua.join(", "));
                    data.rua = rua;
                    "valid".clone_into(&mut data.verdict);
                    (Outcome::Ok, detail)
                }
                Err(problem) => {
                    "syntax_error".clone_into(&mut data.verdict);
                    data.problems.push(problem.to_string());
                    (
                        Outcome::Fail,
                        format!(
                            "{name} \"{record}\" is invalid: {problem}; senders send no reports"
                        ),
                    )
                }
            }
        }
        many => {
            "multiple".clone_into(&mut data.verdict);
            (
                Outcome::Fail,
                format!(
                    "{name} has {} v=TLSRPTv1 records: senders treat the domain as having none (RFC 8460 §3)",
                    many.len()
                ),
            )
        }
    };
    Observation::new(
        "tls.rpt",
        domain,
        outcome,
        started.elapsed(),
        detail,
        Data::TlsRpt(data),
    )
}

/// Whether the domain publishes an MTA-STS record, and a TLSA record at `_25._tcp` of some MX.
async fn policies(dns: &DnsClient, domain: &str) -> (bool, bool) {
    let sts_name = format!("_mta-sts.{domain}");
    let (sts, mx) = tokio::join!(
        txt_records(dns, &sts_name),
        dns.query(domain, RecordType::MX)
    );
    let mta_sts = sts.is_ok_and(|texts| texts.iter().any(|text| is_sts_record(text)));
    let exchanges: Vec<String> = mx
        .result
        .map(|records| {
            records
                .iter()
                .filter_map(|record| match &record.data {
                    RData::MX(mx) => Some(mx.exchange.to_ascii().trim_end_matches('.').to_owned()),
                    _ => None,
                })
                .filter(|exchange| !exchange.is_empty())
                .take(MAX_MX_EXCHANGES)
                .collect()
        })
        .unwrap_or_default();
    let tlsa_names: Vec<String> = exchanges
        .iter()
        .map(|exchange| format!("_25._tcp.{exchange}"))
        .collect();
    let tlsa = join_all(
        tlsa_names
            .iter()
            .map(|name| dns.query(name, RecordType::TLSA)),
    )
    .await;
    (mta_sts, tlsa.iter().any(|lookup| lookup.result.is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The record of RFC 8460 §3 (examples).
    #[test]
    fn the_rfc_examples_parse() {
        assert_eq!(
            parse("v=TLSRPTv1;rua=mailto:reports@example.com").unwrap(),
            ["mailto:reports@example.com"]
        );
        assert_eq!(
            parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").unwrap(),
            ["https://reporting.example.com/v1/tlsrpt"]
        );
        assert_eq!(
            parse("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x;").unwrap(),
            ["mailto:a@example.com", "https://r.example.com/x"]
        );
    }

    #[test]
    fn records_senders_reject_are_named() {
        assert_eq!(
            parse("v=TLSRPTv2; rua=mailto:a@example.com"),
            Err(RptError::NotTlsRptV1)
        );
        assert_eq!(parse("v=TLSRPTv1;"), Err(RptError::MissingRua));
        assert_eq!(
            parse("v=TLSRPTv1; rua=reports@example.com"),
            Err(RptError::BadUri("reports@example.com".into()))
        );
        assert_eq!(
            parse("v=TLSRPTv1; rua=http://r.example.com/"),
            Err(RptError::BadUri("http://r.example.com/".into()))
        );
        assert!(is_tls_rpt_record("v=TLSRPTv1; rua=mailto:a@example.com"));
        assert!(!is_tls_rpt_record("v=spf1 -all"));
    }
}
