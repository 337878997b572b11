//! The typed payloads of the DNSSEC and DANE checks (`dnssec.zone`, `dane.tlsa`).

use serde::{Deserialize, Serialize};

/// The DNSSEC state of one name, validated from a trust anchor (`dnssec.zone`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DnssecData {
    /// The name whose records were validated: the domain, or an MX host.
    pub name: String,
    /// domain | mx
    pub role: String,
    /// The record type asked for and validated (MX for the domain, A or AAAA for an MX host).
    pub record_type: String,
    /// secure (signed, the chain validates) | insecure (unsigned, provably) | bogus (signed, does not
    /// validate: validating resolvers answer SERVFAIL) | indeterminate (this vantage cannot tell)
    pub verdict: String,
    /// What the validation rests on: `root` (the IANA root keys) or `file` (`--dnssec-trust-anchor`).
    pub trust_anchor: String,
    /// Why the verdict is what it is, in words (the validator's reason for bogus or indeterminate).
    pub reason: String,
}

/// The DANE TLSA records of one MX host and the certificate it presents (`dane.tlsa`, RFC 7672).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DaneData {
    pub host: String,
    /// `_25._tcp.HOST`
    pub tlsa_name: String,
    /// The TLSA records found, in presentation form (`3 1 1 ab12…`).
    pub records: Vec<String>,
    /// The DNSSEC verdict of the TLSA answer: secure | insecure | bogus | indeterminate.
    pub dnssec: String,
    /// match | mismatch | no_tlsa | insecure_tlsa | no_starttls | not_probed | lookup_error |
    /// indeterminate | unusable
    pub verdict: String,
    /// The TLSA record that matched the presented certificate chain.
    pub matched: Option<String>,
    /// Certificates the MX presented over STARTTLS (leaf first) that were compared.
    pub certificates: usize,
    /// Records with usage 0 (PKIX-TA) or 1 (PKIX-EE): RFC 7672 §3.1.3 says SMTP clients treat them
    /// as unusable.
    pub pkix_usages: bool,
    /// Records no DANE client can use (unknown usage, selector or matching type, bad length).
    pub unusable: Vec<String>,
}
