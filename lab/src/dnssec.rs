//! A signed root zone for the lab DNS, so the DNSSEC check can reach verdicts against the lab: the
//! root's DNSKEY set is signed with a key made at start (its DNSKEY record is the trust anchor the
//! lab passes as `--dnssec-trust-anchor`), and every DS question is answered the way a signed
//! parent answers for an unsigned child — NODATA with a signed NSEC record saying "a delegation
//! here, no DS" (RFC 4035 §5.2). Every lab zone is therefore provably *insecure* (unsigned), which
//! is what the lab's unsigned and TLSA-without-DNSSEC scenarios need; signed zones are tested
//! against real nsd zones signed by ldns in the interop suite.

use std::io;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hickory_proto::dnssec::crypto::Ed25519SigningKey;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, NSEC, RRSIG};
use hickory_proto::dnssec::{DnssecSigner, PublicKey as _, SigningKey as _};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordSet, RecordType};

/// How long the lab's signatures are valid: the lab lives for one test or demo.
const SIGNATURE_LIFETIME: Duration = Duration::from_secs(2 * 86_400);
/// Signatures start an hour in the past, so a clock slightly behind still accepts them.
const CLOCK_SLACK: time::Duration = time::Duration::hours(1);

/// The lab root's signing key and the records it signs.
pub(crate) struct RootSigner {
    signer: DnssecSigner,
    dnskey: DNSKEY,
}

impl std::fmt::Debug for RootSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("RootSigner")
    }
}

fn dnssec_error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("lab DNSSEC key: {error}"))
}

impl RootSigner {
    /// A fresh Ed25519 key-signing key for the root.
    pub(crate) fn generate() -> io::Result<Self> {
        let pkcs8 = Ed25519SigningKey::generate_pkcs8().map_err(dnssec_error)?;
        let key = Ed25519SigningKey::from_pkcs8(&pkcs8).map_err(dnssec_error)?;
        let public_key = key.to_public_key().map_err(dnssec_error)?;
        let dnskey = DNSKEY::new(true, true, false, public_key);
        let signer = DnssecSigner::new(
            dnskey.clone(),
            Box::new(key),
            Name::root(),
            SIGNATURE_LIFETIME,
        );
        Ok(Self { signer, dnskey })
    }

    /// The root's DNSKEY record in zone-file form: what `--dnssec-trust-anchor` reads.
    pub(crate) fn anchor_text(&self) -> String {
        let key = self.dnskey.public_key();
        format!(
            "; the lab's root key, made at start\n. IN DNSKEY {} 3 {} {}\n",
            self.dnskey.flags(),
            u8::from(key.algorithm()),
            BASE64.encode(key.public_bytes())
        )
    }

    /// The root DNSKEY set and its signature.
    pub(crate) fn dnskey_answer(&self) -> Vec<Record> {
        let record = Record::from_rdata(
            Name::root(),
            0,
            RData::DNSSEC(DNSSECRData::DNSKEY(self.dnskey.clone())),
        );
        self.with_signature(vec![record])
    }

    /// The authority section of a DS question for `child`: a signed NSEC record at `child`
    /// listing NS but no DS (an insecure delegation), and the root's SOA, signed.
    pub(crate) fn no_ds_proof(&self, child: &Name, root_soa: Record) -> Vec<Record> {
        let next = child.prepend_label("_").unwrap_or_else(|_| child.clone());
        let nsec = Record::from_rdata(
            child.clone(),
            0,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new_cover_self(
                next,
                [RecordType::NS],
            ))),
        );
        let mut authorities = self.with_signature(vec![nsec]);
        authorities.extend(self.with_signature(vec![root_soa]));
        authorities
    }

    /// `records` (one RRset) followed by their RRSIG; unsigned when signing fails.
    pub(crate) fn with_signature(&self, records: Vec<Record>) -> Vec<Record> {
        let Some(first) = records.first() else {
            return records;
        };
        let mut rrset = RecordSet::with_ttl(first.name.clone(), first.record_type(), first.ttl);
        rrset.set_records(records.clone());
        let inception = time::OffsetDateTime::now_utc() - CLOCK_SLACK;
        let mut signed = records;
        if let Ok(rrsig) = RRSIG::from_rrset(&rrset, DNSClass::IN, inception, &self.signer) {
            signed.push(Record::from_rdata(
                rrset.name().clone(),
                0,
                RData::DNSSEC(DNSSECRData::RRSIG(rrsig)),
            ));
        }
        signed
    }
}
