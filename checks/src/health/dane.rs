//! `dane.tlsa`: the DANE TLSA records of each MX host (`_25._tcp.HOST`, RFC 7672) compared with
//! the certificate the host presented over STARTTLS (the `tls` probe's observation).
//!
//! Supported as RFC 7672 §3.1 asks of SMTP: usages 3 (DANE-EE: the server's own certificate or
//! key, names and dates ignored) and 2 (DANE-TA: a trust anchor in the chain), selectors 0 (the
//! whole certificate) and 1 (its SubjectPublicKeyInfo), matching types 0 (exact), 1 (SHA-256) and
//! 2 (SHA-512). Usages 0 and 1 are unusable in SMTP (§3.1.3) and reported as such. A TLSA answer
//! counts only when it validates: senders ignore TLSA records in unsigned zones.

use std::fmt::Write as _;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::proto::rr::RecordType;
use x509_cert::der::{Decode as _, Encode as _};

use super::dnssec::{DnssecValidator, Validated, VantageError, Verdict};
use crate::dns::LookupFailure;
use mxdoctor_model::observation::{DaneData, Data, Observation, Outcome, TlsData};

/// Why a presented certificate could not be compared with a TLSA record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the presented certificate cannot be parsed: {0}")]
    Parse(String),
    #[error("cannot encode the certificate's public key: {0}")]
    Encode(String),
}

/// The verdicts, as written in [`DaneData::verdict`].
pub const MATCH: &str = "match";
pub const MISMATCH: &str = "mismatch";
pub const NO_TLSA: &str = "no_tlsa";
pub const INSECURE_TLSA: &str = "insecure_tlsa";
pub const NO_STARTTLS: &str = "no_starttls";
pub const NOT_PROBED: &str = "not_probed";
pub const LOOKUP_ERROR: &str = "lookup_error";
pub const INDETERMINATE: &str = "indeterminate";
pub const UNUSABLE: &str = "unusable";

/// One TLSA record's four fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// Presentation form: `3 1 1 2f4a…` (hex, lower case).
    pub fn presentation(&self) -> String {
        let hex = self.data.iter().fold(
            String::with_capacity(self.data.len() * 2),
            |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            },
        );
        format!("{} {} {} {hex}", self.usage, self.selector, self.matching)
    }

    /// Why no DANE client can use this record, or `None` when it can (usage 0/1 aside).
    fn unusable_because(&self) -> Option<String> {
        if self.usage > 3 {
            return Some(format!("unknown certificate usage {}", self.usage));
        }
        if self.selector > 1 {
            return Some(format!("unknown selector {}", self.selector));
        }
        let wanted = match self.matching {
            0 => None,
            1 => Some(32),
            2 => Some(64),
            other => return Some(format!("unknown matching type {other}")),
        };
        match wanted {
            Some(length) if self.data.len() != length => Some(format!(
                "matching type {} needs {length} bytes of digest, the record has {}",
                self.matching,
                self.data.len()
            )),
            _ if self.data.is_empty() => Some("empty certificate association data".to_owned()),
            _ => None,
        }
    }

    /// Whether `certificate` (DER) is what this record describes.
    fn matches(&self, certificate: &[u8]) -> Result<bool, CertificateError> {
        let selected = match self.selector {
            0 => certificate.to_vec(),
            _ => subject_public_key_info(certificate)?,
        };
        let associated = match self.matching {
            0 => selected,
            1 => ring::digest::digest(&ring::digest::SHA256, &selected)
                .as_ref()
                .to_vec(),
            _ => ring::digest::digest(&ring::digest::SHA512, &selected)
                .as_ref()
                .to_vec(),
        };
        Ok(associated == self.data)
    }
}

/// The data of a `3 1 1` TLSA record (DANE-EE, SubjectPublicKeyInfo, SHA-256) for a DER
/// certificate: what an operator publishes for the key the server presents.
pub fn dane_ee_spki_sha256(certificate: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let key = subject_public_key_info(certificate)?;
    Ok(ring::digest::digest(&ring::digest::SHA256, &key)
        .as_ref()
        .to_vec())
}

/// The DER SubjectPublicKeyInfo of a DER certificate.
fn subject_public_key_info(certificate: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let parsed = x509_cert::Certificate::from_der(certificate)
        .map_err(|error| CertificateError::Parse(error.to_string()))?;
    parsed
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|error| CertificateError::Encode(error.to_string()))
}

/// The TLSA answer for one MX host, validated.
#[derive(Debug, Clone)]
pub struct TlsaLookup {
    pub host: String,
    pub name: String,
    pub validated: Validated,
    pub records: Vec<Tlsa>,
}

/// The TLSA owner name of an MX host on port 25.
pub fn tlsa_name(host: &str) -> String {
    format!("_25._tcp.{}", host.trim_end_matches('.'))
}

/// Looks the TLSA records of `host` up through the validating resolver; `vantage` is the
/// validator's own check (an `Err` makes the DNSSEC state indeterminate, records or not).
pub async fn lookup(
    validator: &DnssecValidator,
    vantage: &Result<(), VantageError>,
    host: &str,
) -> TlsaLookup {
    let name = tlsa_name(host);
    // Nothing can be validated from here: no verdict, and no queries spent on finding that out.
    let validated = match vantage {
        Err(why) => Validated {
            verdict: Verdict::Indeterminate(why.to_string()),
            records: Vec::new(),
            failure: None,
        },
        Ok(()) => validator.validate(&name, RecordType::TLSA).await,
    };
    let records = validated
        .records
        .iter()
        .filter_map(|record| match &record.data {
            RData::TLSA(tlsa) => Some(Tlsa {
                usage: u8::from(tlsa.cert_usage),
                selector: u8::from(tlsa.selector),
                matching: u8::from(tlsa.matching),
                data: tlsa.cert_data.clone(),
            }),
            _ => None,
        })
        .collect();
    TlsaLookup {
        host: host.trim_end_matches('.').to_owned(),
        name,
        validated,
        records,
    }
}

/// Judges one MX host: its TLSA answer against what the `tls` probe saw — `None` when it did not
/// run or stopped before STARTTLS (the session failed).
pub fn judge(lookup: &TlsaLookup, tls: Option<&TlsData>) -> Observation {
    let started = Instant::now();
    let mut data = DaneData {
        host: lookup.host.clone(),
        tlsa_name: lookup.name.clone(),
        records: lookup.records.iter().map(Tlsa::presentation).collect(),
        dnssec: lookup.validated.verdict.label().to_owned(),
        pkix_usages: lookup.records.iter().any(|record| record.usage <= 1),
        ..DaneData::default()
    };
    let (verdict, outcome, detail) = decide(lookup, tls, &mut data);
    verdict.clone_into(&mut data.verdict);
    Observation::new(
        "dane.tlsa",
        lookup.host.clone(),
        outcome,
        started.elapsed(),
        detail,
        Data::Dane(data),
    )
}

fn decide(
    lookup: &TlsaLookup,
    tls: Option<&TlsData>,
    data: &mut DaneData,
) -> (&'static str, Outcome, String) {
    let name = &lookup.name;
    if lookup.records.is_empty() {
        return match (&lookup.validated.failure, &lookup.validated.verdict) {
            (_, Verdict::Bogus(why)) => (
                INSECURE_TLSA,
                Outcome::Fail,
                format!("the TLSA lookup for {name} does not validate ({why})"),
            ),
            (Some(failure), Verdict::Secure | Verdict::Insecure)
                if failure.is_negative_answer() =>
            {
                (
                    NO_TLSA,
                    Outcome::Ok,
                    format!("no TLSA record at {name}: DANE is not published for this MX"),
                )
            }
            (Some(failure), _) if failure.is_negative_answer() => (
                NO_TLSA,
                Outcome::Ok,
                format!(
                    "no TLSA record at {name} ({}; DNSSEC not judged from here)",
                    failure.response_label()
                ),
            ),
            (Some(failure), Verdict::Indeterminate(why)) => (
                INDETERMINATE,
                Outcome::Skipped,
                format!(
                    "the TLSA lookup for {name} cannot be judged from here ({}): {why}",
                    failure.response_label()
                ),
            ),
            (Some(failure), verdict) => (
                LOOKUP_ERROR,
                lookup_outcome(failure),
                format!(
                    "the TLSA lookup for {name} failed: {} ({})",
                    failure.response_label(),
                    verdict_reason(verdict)
                ),
            ),
            (None, Verdict::Indeterminate(why)) => (
                INDETERMINATE,
                Outcome::Skipped,
                format!("the TLSA records at {name} were not looked up: {why}"),
            ),
            (None, _) => (NO_TLSA, Outcome::Ok, format!("no TLSA record at {name}")),
        };
    }
    match &lookup.validated.verdict {
        Verdict::Secure => {}
        Verdict::Insecure => {
            return (
                INSECURE_TLSA,
                Outcome::Fail,
                format!(
                    "{name} has {} TLSA record(s) in an unsigned zone: DANE senders ignore them",
                    lookup.records.len()
                ),
            );
        }
        Verdict::Bogus(why) => {
            return (
                INSECURE_TLSA,
                Outcome::Fail,
                format!("the TLSA records at {name} do not validate ({why})"),
            );
        }
        Verdict::Indeterminate(why) => {
            return (
                INDETERMINATE,
                Outcome::Skipped,
                format!(
                    "{name} has TLSA records, but their DNSSEC state cannot be judged from here: {why}"
                ),
            );
        }
    }
    let usable: Vec<&Tlsa> = lookup
        .records
        .iter()
        .filter(|record| record.unusable_because().is_none() && record.usage >= 2)
        .collect();
    data.unusable = lookup
        .records
        .iter()
        .filter_map(|record| {
            let why = match record.unusable_because() {
                Some(why) => why,
                None if record.usage <= 1 => {
                    "usage 0/1 (PKIX) is not used by SMTP clients (RFC 7672 section 3.1.3)"
                        .to_owned()
                }
                None => return None,
            };
            Some(format!("{}: {why}", record.presentation()))
        })
        .collect();
    if usable.is_empty() {
        return (
            UNUSABLE,
            Outcome::Fail,
            format!(
                "no TLSA record at {name} is usable by SMTP clients: {}",
                data.unusable.join("; ")
            ),
        );
    }
    let Some(tls) = tls else {
        return (
            NOT_PROBED,
            Outcome::Skipped,
            format!("{name} has usable TLSA records; the MX was not probed over STARTTLS"),
        );
    };
    if !tls.offered {
        return (
            NO_STARTTLS,
            Outcome::Fail,
            format!(
                "{name} publishes TLSA records but {} does not offer STARTTLS: DANE senders defer the mail",
                lookup.host
            ),
        );
    }
    let certificates: Vec<Vec<u8>> = tls
        .certificates
        .iter()
        .filter_map(|encoded| BASE64.decode(encoded).ok())
        .collect();
    data.certificates = certificates.len();
    if certificates.is_empty() {
        return (
            NOT_PROBED,
            Outcome::Skipped,
            format!(
                "{name} has usable TLSA records; {} offers STARTTLS but the handshake did not complete, so no certificate could be compared",
                lookup.host
            ),
        );
    }
    let mut problems = Vec::new();
    for record in &usable {
        // DANE-EE is about the server's own certificate; DANE-TA about any certificate in its chain.
        let candidates: &[Vec<u8>] = if record.usage == 3 {
            &certificates[..1]
        } else {
            &certificates
        };
        for certificate in candidates {
            match record.matches(certificate) {
                Ok(true) => {
                    data.matched = Some(record.presentation());
                    return (
                        MATCH,
                        Outcome::Ok,
                        format!(
                            "TLSA {} at {name} matches the certificate {} presents",
                            record.presentation(),
                            lookup.host
                        ),
                    );
                }
                Ok(false) => {}
                Err(problem) => problems.push(problem.to_string()),
            }
        }
    }
    let only_trust_anchors = usable.iter().all(|record| record.usage == 2);
    if only_trust_anchors && certificates.len() == 1 {
        return (
            INDETERMINATE,
            Outcome::Skipped,
            format!(
                "{name} has only DANE-TA (usage 2) records; the TLS library hands over the server's own certificate only, not its chain, so they cannot be compared"
            ),
        );
    }
    let mut detail = format!(
        "none of the {} usable TLSA record(s) at {name} matches the certificate {} presents: DANE senders defer the mail",
        usable.len(),
        lookup.host
    );
    if !problems.is_empty() {
        let _ = write!(detail, " ({})", problems.join("; "));
    }
    (MISMATCH, Outcome::Fail, detail)
}

fn lookup_outcome(failure: &LookupFailure) -> Outcome {
    match failure {
        LookupFailure::Timeout => Outcome::Timeout,
        _ => Outcome::Error,
    }
}

fn verdict_reason(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Secure | Verdict::Insecure => verdict.label().to_owned(),
        Verdict::Bogus(why) | Verdict::Indeterminate(why) => why.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab's certificate for `mx.lab.test` (`lab/src/certs/generate.sh`).
    const VALID_PEM: &str = include_str!("../../../lab/src/certs/valid.pem");
    const OTHER_PEM: &str = include_str!("../../../lab/src/certs/self-signed.pem");

    fn der(pem: &str) -> Vec<u8> {
        let body: String = pem
            .lines()
            .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE"))
            .skip(1)
            .take_while(|line| !line.starts_with("-----END"))
            .collect();
        BASE64.decode(body).unwrap()
    }

    fn tls_with(pem: &str) -> TlsData {
        TlsData {
            host: "mx.lab.test".into(),
            offered: true,
            handshake: true,
            certificates: vec![BASE64.encode(der(pem))],
            ..TlsData::default()
        }
    }

    fn secure(records: Vec<Tlsa>) -> TlsaLookup {
        TlsaLookup {
            host: "mx.lab.test".into(),
            name: tlsa_name("mx.lab.test"),
            validated: Validated {
                verdict: Verdict::Secure,
                records: Vec::new(),
                failure: None,
            },
            records,
        }
    }

    fn record(usage: u8, selector: u8, matching: u8, pem: &str) -> Tlsa {
        let certificate = der(pem);
        let selected = if selector == 0 {
            certificate
        } else {
            subject_public_key_info(&certificate).unwrap()
        };
        let data = match matching {
            0 => selected,
            1 => ring::digest::digest(&ring::digest::SHA256, &selected)
                .as_ref()
                .to_vec(),
            _ => ring::digest::digest(&ring::digest::SHA512, &selected)
                .as_ref()
                .to_vec(),
        };
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    fn verdict(lookup: &TlsaLookup, tls: Option<&TlsData>) -> String {
        match &judge(lookup, tls).data {
            Data::Dane(data) => data.verdict.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_selector_and_matching_type_matches_the_leaf() {
        let tls = tls_with(VALID_PEM);
        for selector in [0, 1] {
            for matching in [0, 1, 2] {
                let lookup = secure(vec![record(3, selector, matching, VALID_PEM)]);
                assert_eq!(
                    verdict(&lookup, Some(&tls)),
                    MATCH,
                    "3 {selector} {matching}"
                );
            }
        }
    }

    #[test]
    fn another_key_is_a_mismatch_and_a_later_record_can_still_match() {
        let tls = tls_with(VALID_PEM);
        let wrong = secure(vec![record(3, 1, 1, OTHER_PEM)]);
        assert_eq!(verdict(&wrong, Some(&tls)), MISMATCH);
        // A rollover: the next key published beside the current one.
        let rollover = secure(vec![record(3, 1, 1, OTHER_PEM), record(3, 1, 1, VALID_PEM)]);
        let observation = judge(&rollover, Some(&tls));
        assert_eq!(observation.outcome, Outcome::Ok);
    }

    #[test]
    fn tlsa_needs_dnssec_starttls_and_usable_fields() {
        let tls = tls_with(VALID_PEM);
        let mut unsigned = secure(vec![record(3, 1, 1, VALID_PEM)]);
        unsigned.validated.verdict = Verdict::Insecure;
        assert_eq!(verdict(&unsigned, Some(&tls)), INSECURE_TLSA);
        let mut unknown = unsigned.clone();
        unknown.validated.verdict = Verdict::Indeterminate("resolver strips RRSIG".into());
        assert_eq!(verdict(&unknown, Some(&tls)), INDETERMINATE);

        let plain = TlsData {
            host: "mx.lab.test".into(),
            offered: false,
            reply: None,
            ..TlsData::default()
        };
        let signed = secure(vec![record(3, 1, 1, VALID_PEM)]);
        assert_eq!(verdict(&signed, Some(&plain)), NO_STARTTLS);
        assert_eq!(verdict(&signed, None), NOT_PROBED);

        let pkix_only = secure(vec![record(1, 1, 1, VALID_PEM)]);
        let observation = judge(&pkix_only, Some(&tls));
        let Data::Dane(data) = &observation.data else {
            panic!()
        };
        assert_eq!(data.verdict, UNUSABLE);
        assert!(data.pkix_usages);
        let short_digest = secure(vec![Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![1, 2, 3],
        }]);
        assert_eq!(verdict(&short_digest, Some(&tls)), UNUSABLE);
    }

    #[test]
    fn trust_anchor_records_without_the_chain_are_indeterminate_not_a_mismatch() {
        let tls = tls_with(VALID_PEM);
        let anchors = secure(vec![record(2, 1, 1, OTHER_PEM)]);
        assert_eq!(verdict(&anchors, Some(&tls)), INDETERMINATE);
        // A DANE-TA record that names the presented certificate itself matches.
        let self_anchor = secure(vec![record(2, 0, 1, VALID_PEM)]);
        assert_eq!(verdict(&self_anchor, Some(&tls)), MATCH);
    }

    #[test]
    fn no_tlsa_is_only_information() {
        let lookup = TlsaLookup {
            host: "mx.lab.test".into(),
            name: tlsa_name("mx.lab.test"),
            validated: Validated {
                verdict: Verdict::Insecure,
                records: Vec::new(),
                failure: Some(LookupFailure::NxDomain),
            },
            records: Vec::new(),
        };
        let observation = judge(&lookup, None);
        assert_eq!(observation.outcome, Outcome::Ok);
        let Data::Dane(data) = &observation.data else {
            panic!()
        };
        assert_eq!(data.verdict, NO_TLSA);
    }
}
