//! `dnssec.zone`: whether the domain's MX records and each MX host's addresses are signed and
//! validate, checked by hickory's DNSSEC validator from a trust anchor — the IANA root keys, or the
//! DNSKEY records of `--dnssec-trust-anchor` — never by believing the resolver's AD bit.
//!
//! Before any verdict counts against the target, the trust anchor's own zone must validate
//! through the resolver in use (its DNSKEY set, signed by the anchor): a resolver that strips
//! RRSIGs, or a network that drops large answers, would otherwise make every signed domain look
//! bogus. When that fails, every name is `indeterminate`, with the reason.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Record, RecordType};

use crate::dns::{DnsSetupError, LookupFailure, resolver_builder};
use mxdoctor_model::observation::{Data, DnssecData, Observation, Outcome};

/// How many more times a bogus answer is validated before the verdict stands.
const BOGUS_RECHECKS: usize = 2;

/// The verdicts, as written in [`DnssecData::verdict`].
pub const SECURE: &str = "secure";
pub const INSECURE: &str = "insecure";
pub const BOGUS: &str = "bogus";
pub const INDETERMINATE: &str = "indeterminate";

/// Why a validating resolver could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DnssecSetupError {
    #[error("cannot read the DNSSEC trust anchor file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the DNSSEC trust anchor file {path} cannot be used: {reason}")]
    Anchor { path: PathBuf, reason: String },
    #[error(transparent)]
    Dns(#[from] DnsSetupError),
}

/// Why this vantage cannot validate at all (then no name gets a verdict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VantageError {
    #[error(
        "the resolver returned no validated DNSKEY records for the trust anchor zone {zone} (it strips DNSSEC records, or does not pass them on)"
    )]
    NoKeys { zone: String },
    #[error("the trust anchor zone {zone} does not validate through this resolver ({why})")]
    AnchorInvalid { zone: String, why: String },
}

/// Where validation starts: the root keys built into hickory, or DNSKEY records from a file.
#[derive(Debug, Clone)]
struct Anchor {
    /// `root` or `file`, as reported in [`DnssecData::trust_anchor`].
    label: &'static str,
    /// The zones whose DNSKEY sets the anchor holds (`.` for the root keys).
    zones: Vec<String>,
}

/// A resolver over the run's servers that validates every answer from the trust anchor.
pub struct DnssecValidator {
    resolver: TokioResolver,
    anchor: Anchor,
    timeout: Duration,
}

/// A DNSSEC verdict on one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Secure,
    Insecure,
    Bogus(String),
    Indeterminate(String),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Secure => SECURE,
            Self::Insecure => INSECURE,
            Self::Bogus(_) => BOGUS,
            Self::Indeterminate(_) => INDETERMINATE,
        }
    }
}

/// One validated lookup: the verdict, and the records of the asked type (empty on a negative).
#[derive(Debug, Clone)]
pub struct Validated {
    pub verdict: Verdict,
    pub records: Vec<Record>,
    /// Why no records came back, when none did.
    pub failure: Option<LookupFailure>,
}

impl DnssecValidator {
    /// A validating resolver over `servers` (empty: the system configuration); `anchor_file`
    /// replaces the root keys with the DNSKEY records it holds.
    pub fn new(
        servers: &[std::net::SocketAddr],
        timeout: Duration,
        anchor_file: Option<&Path>,
    ) -> Result<Self, DnssecSetupError> {
        let (anchors, anchor) = match anchor_file {
            None => (
                TrustAnchors::default(),
                Anchor {
                    label: "root",
                    zones: vec![".".to_owned()],
                },
            ),
            Some(path) => read_anchor_file(path)?,
        };
        let mut builder = resolver_builder(servers, timeout)?.with_trust_anchor(Arc::new(anchors));
        let options = builder.options_mut();
        options.validate = true;
        // Validation asks for DNSKEY and DS sets along the chain: allow TCP for large answers.
        options.try_tcp_on_error = true;
        let resolver = builder.build().map_err(DnsSetupError::Build)?;
        Ok(Self {
            resolver,
            anchor,
            timeout,
        })
    }

    /// Looks `name` up and validates the answer. A bogus verdict is looked at again before it
    /// stands: hickory reports a DS or DNSKEY query along the chain that timed out or was lost the
    /// same way as a bad signature, and a busy network must not make a zone look broken.
    pub async fn validate(&self, name: &str, record_type: RecordType) -> Validated {
        let mut validated = self.validate_once(name, record_type).await;
        for _ in 0..BOGUS_RECHECKS {
            if !matches!(validated.verdict, Verdict::Bogus(_)) {
                break;
            }
            validated = self.validate_once(name, record_type).await;
        }
        validated
    }

    /// One lookup and validation, bounded by a few resolver timeouts: validation makes several
    /// queries one after the other.
    async fn validate_once(&self, name: &str, record_type: RecordType) -> Validated {
        let fqdn = if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        };
        let guard = self.timeout * 6;
        let Ok(result) = tokio::time::timeout(guard, self.resolver.lookup(fqdn, record_type)).await
        else {
            return Validated {
                verdict: Verdict::Indeterminate(format!(
                    "validation did not finish within {} s",
                    guard.as_secs()
                )),
                records: Vec::new(),
                failure: Some(LookupFailure::Timeout),
            };
        };
        match result {
            Ok(lookup) => {
                let records: Vec<Record> = lookup
                    .answers()
                    .iter()
                    .filter(|record| record.record_type() == record_type)
                    .cloned()
                    .collect();
                let verdict = verdict_of(records.iter().map(|record| record.proof));
                Validated {
                    verdict,
                    records,
                    failure: None,
                }
            }
            Err(error) => validated_failure(&error),
        }
    }

    /// Whether this vantage can validate at all: the anchor zones' DNSKEY sets must come back
    /// signed and validate. `Err` says why not.
    pub async fn vantage(&self) -> Result<(), VantageError> {
        for zone in &self.anchor.zones {
            let keys = self.validate(zone, RecordType::DNSKEY).await;
            match keys.verdict {
                Verdict::Secure if !keys.records.is_empty() => {}
                Verdict::Secure | Verdict::Insecure => {
                    return Err(VantageError::NoKeys { zone: zone.clone() });
                }
                Verdict::Bogus(why) | Verdict::Indeterminate(why) => {
                    return Err(VantageError::AnchorInvalid {
                        zone: zone.clone(),
                        why,
                    });
                }
            }
        }
        Ok(())
    }

    /// `root` or `file`.
    pub fn anchor_label(&self) -> &'static str {
        self.anchor.label
    }
}

/// The verdict of an answer from its records' proofs: one bogus record makes it bogus.
fn verdict_of(proofs: impl Iterator<Item = Proof>) -> Verdict {
    let proofs: Vec<Proof> = proofs.collect();
    if proofs.is_empty() {
        return Verdict::Indeterminate("the answer held no records to validate".to_owned());
    }
    if proofs.iter().any(Proof::is_bogus) {
        return Verdict::Bogus("a signature in the answer does not validate".to_owned());
    }
    if proofs.iter().all(Proof::is_secure) {
        return Verdict::Secure;
    }
    if proofs.iter().any(Proof::is_insecure) {
        return Verdict::Insecure;
    }
    Verdict::Indeterminate("the validator could not decide".to_owned())
}

fn validated_failure(error: &NetError) -> Validated {
    let (verdict, failure) = match error {
        NetError::Dns(DnsError::DnssecBogus) => (
            Verdict::Bogus("the answer's signatures do not validate".to_owned()),
            LookupFailure::Other("DNSSEC validation failed".to_owned()),
        ),
        NetError::Dns(DnsError::Nsec { proof, .. }) => {
            let verdict = match proof {
                Proof::Secure => Verdict::Secure,
                Proof::Insecure => Verdict::Insecure,
                Proof::Bogus => {
                    Verdict::Bogus("the proof that the record does not exist fails".to_owned())
                }
                Proof::Indeterminate => Verdict::Indeterminate(
                    "the proof that the record does not exist is incomplete".to_owned(),
                ),
            };
            (verdict, LookupFailure::NoData)
        }
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
            let failure = if no_records.response_code == ResponseCode::NXDomain {
                LookupFailure::NxDomain
            } else {
                LookupFailure::NoData
            };
            let proofs = no_records
                .authorities
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|record| record.proof);
            let verdict = match verdict_of(proofs) {
                Verdict::Indeterminate(_) => Verdict::Indeterminate(format!(
                    "{} without a validated denial of existence",
                    failure.response_label()
                )),
                other => other,
            };
            (verdict, failure)
        }
        NetError::Dns(DnsError::ResponseCode(code)) => (
            Verdict::Indeterminate(format!(
                "the resolver answered {}",
                format!("{code:?}").to_uppercase()
            )),
            LookupFailure::Code(*code),
        ),
        NetError::Timeout => (
            Verdict::Indeterminate("the resolver did not answer in time".to_owned()),
            LookupFailure::Timeout,
        ),
        other => {
            let text = other.to_string();
            // hickory reports a chain it could not follow (a DS or DNSKEY query that failed) as
            // an error naming the proof; anything else is our side's failure to ask.
            if text.contains("Bogus") || text.contains("bogus") {
                (Verdict::Bogus(text.clone()), LookupFailure::Other(text))
            } else {
                (
                    Verdict::Indeterminate(text.clone()),
                    LookupFailure::Other(text),
                )
            }
        }
    };
    Validated {
        verdict,
        records: Vec::new(),
        failure: Some(failure),
    }
}

/// Checks that `path` holds DNSKEY records usable as trust anchors (for the command line, before
/// a run starts).
pub fn read_trust_anchor(path: &Path) -> Result<(), DnssecSetupError> {
    read_anchor_file(path).map(|_| ())
}

/// Reads DNSKEY records (zone-file syntax, e.g. an `ldns-keygen` `.key` file) as trust anchors.
fn read_anchor_file(path: &Path) -> Result<(TrustAnchors, Anchor), DnssecSetupError> {
    let text = std::fs::read_to_string(path).map_err(|source| DnssecSetupError::Read {
        path: path.to_owned(),
        source,
    })?;
    let anchor_error = |reason: String| DnssecSetupError::Anchor {
        path: path.to_owned(),
        reason,
    };
    let mut zones: Vec<String> = Vec::new();
    for line in text.lines() {
        let content = line.split(';').next().unwrap_or_default();
        let fields: Vec<&str> = content.split_whitespace().collect();
        let Some(owner) = fields.first() else {
            continue;
        };
        if fields.iter().any(|field| field.eq_ignore_ascii_case("DS")) {
            return Err(anchor_error(
                "it holds a DS record; give the zone's DNSKEY records instead".to_owned(),
            ));
        }
        if !fields
            .iter()
            .any(|field| field.eq_ignore_ascii_case("DNSKEY"))
        {
            return Err(anchor_error(format!(
                "{:?} is not a DNSKEY record",
                content.trim()
            )));
        }
        let zone = if owner.ends_with('.') {
            (*owner).to_ascii_lowercase()
        } else {
            format!("{}.", owner.to_ascii_lowercase())
        };
        if !zones.contains(&zone) {
            zones.push(zone);
        }
    }
    if zones.is_empty() {
        return Err(anchor_error("it holds no DNSKEY record".to_owned()));
    }
    let anchors = TrustAnchors::from_str(&text).map_err(|error| anchor_error(error.to_string()))?;
    Ok((
        anchors,
        Anchor {
            label: "file",
            zones,
        },
    ))
}

/// Probes one name: `role` is `domain` (its MX set is validated) or `mx` (its address records).
pub async fn probe(
    validator: &DnssecValidator,
    vantage: &Result<(), VantageError>,
    name: &str,
    role: &str,
) -> Observation {
    let started = Instant::now();
    let record_type = if role == "domain" {
        RecordType::MX
    } else {
        RecordType::A
    };
    let mut data = DnssecData {
        name: name.to_owned(),
        role: role.to_owned(),
        record_type: record_type.to_string(),
        trust_anchor: validator.anchor_label().to_owned(),
        ..DnssecData::default()
    };
    let verdict = match vantage {
        Err(why) => Verdict::Indeterminate(why.to_string()),
        Ok(()) => validator.validate(name, record_type).await.verdict,
    };
    verdict.label().clone_into(&mut data.verdict);
    let (outcome, detail) = match &verdict {
        Verdict::Secure => (
            Outcome::Ok,
            format!("{name} {record_type}: signed, and the chain from the trust anchor validates"),
        ),
        Verdict::Insecure => {
            "no DS record delegates to a signed zone: the answer is unsigned"
                .clone_into(&mut data.reason);
            (
                Outcome::Fail,
                format!(
                    "{name} {record_type}: unsigned (the zone is not signed, or its parent holds no DS)"
                ),
            )
        }
        Verdict::Bogus(why) => {
            why.clone_into(&mut data.reason);
            (
                Outcome::Fail,
                format!(
                    "{name} {record_type}: BOGUS, signed but does not validate ({why}): validating resolvers answer SERVFAIL"
                ),
            )
        }
        Verdict::Indeterminate(why) => {
            why.clone_into(&mut data.reason);
            (
                Outcome::Skipped,
                format!("{name} {record_type}: DNSSEC cannot be judged from here: {why}"),
            )
        }
    };
    Observation::new(
        "dnssec.zone",
        name,
        outcome,
        started.elapsed(),
        detail,
        Data::Dnssec(data),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the file when dropped.
    struct TempFile(PathBuf);

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn write_anchor(text: &str) -> (TempFile, PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "mxdoctor-anchor-{}-{:016x}.key",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::write(&path, text).unwrap();
        (TempFile(path.clone()), path)
    }

    #[test]
    fn one_bogus_proof_makes_the_answer_bogus() {
        let proofs = [Proof::Secure, Proof::Bogus];
        assert!(matches!(verdict_of(proofs.into_iter()), Verdict::Bogus(_)));
        assert_eq!(
            verdict_of([Proof::Secure, Proof::Secure].into_iter()),
            Verdict::Secure
        );
        assert_eq!(verdict_of([Proof::Insecure].into_iter()), Verdict::Insecure);
        assert!(matches!(
            verdict_of(std::iter::empty()),
            Verdict::Indeterminate(_)
        ));
    }

    #[test]
    fn anchor_files_name_their_zones_and_refuse_what_they_cannot_use() {
        // An ldns-keygen .key file (RFC 8080 ed25519 example key).
        let (_dir, path) = write_anchor(
            "; a comment\nexample.test.\tIN\tDNSKEY\t257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n",
        );
        let (_, anchor) = read_anchor_file(&path).unwrap();
        assert_eq!(anchor.zones, ["example.test."]);
        assert_eq!(anchor.label, "file");
        let (_dir, ds) = write_anchor(
            "example.test. IN DS 3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b\n",
        );
        let error = read_anchor_file(&ds).err().unwrap().to_string();
        assert!(error.contains("DS record"), "{error}");
        let (_dir, empty) = write_anchor("; nothing\n");
        assert!(read_anchor_file(&empty).is_err());
        let missing = read_anchor_file(Path::new("/nonexistent/anchor.key"))
            .err()
            .unwrap();
        assert!(
            matches!(missing, DnssecSetupError::Read { .. }),
            "{missing}"
        );
    }
}
