//! `auth.dkim`: the DKIM key record of each `--dkim-selector` (RFC 6376 §3.6.1): present, valid
//! tag syntax, key type and size (RSA below 1024 bits fails, below 2048 warns), the `t=y` testing
//! flag, and revocation (an empty `p=`).

use std::collections::BTreeMap;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::tag_error::TagError;
use super::txt_records;
use crate::dns::DnsClient;
use mxdoctor_model::observation::{Data, DkimData, Observation, Outcome};

/// RSA keys shorter than this are rejected by receivers (RFC 8301 §3.2).
pub const RSA_MIN_BITS: u32 = 1024;
/// RSA keys shorter than this are discouraged (RFC 8301 recommends 2048).
pub const RSA_RECOMMENDED_BITS: u32 = 2048;

/// Probes the key record of `selector` for `domain`.
pub async fn probe(dns: &DnsClient, domain: &str, selector: &str) -> Observation {
    let started = Instant::now();
    let name = format!("{selector}._domainkey.{domain}");
    let mut data = DkimData {
        selector: selector.to_owned(),
        name: name.clone(),
        ..DkimData::default()
    };
    let (outcome, detail) = match txt_records(dns, &name).await {
        Err(failure) if failure.is_negative_answer() => {
            "missing".clone_into(&mut data.verdict);
            (
                Outcome::Fail,
                format!("no DKIM key at {name} ({})", failure.response_label()),
            )
        }
        Err(failure) => {
            "lookup_error".clone_into(&mut data.verdict);
            (
                failure.outcome(),
                format!("TXT lookup for {name} failed: {}", failure.response_label()),
            )
        }
        Ok(texts) => match texts.as_slice() {
            [] => {
                "missing".clone_into(&mut data.verdict);
                (Outcome::Fail, format!("no DKIM key at {name}"))
            }
            [text] => {
                data.record = Some(text.clone());
                judge(&mut data, text)
            }
            many => {
                "syntax_error".clone_into(&mut data.verdict);
                (
                    Outcome::Fail,
                    format!(
                        "{name} has {} TXT records: verifiers cannot tell which key to use",
                        many.len()
                    ),
                )
            }
        },
    };
    Observation::new(
        "auth.dkim",
        name,
        outcome,
        started.elapsed(),
        detail,
        Data::Dkim(data),
    )
}

fn judge(data: &mut DkimData, text: &str) -> (Outcome, String) {
    let name = data.name.clone();
    let tags = match tags(text) {
        Ok(tags) => tags,
        Err(problem) => {
            "syntax_error".clone_into(&mut data.verdict);
            return (Outcome::Fail, format!("{name}: {problem}"));
        }
    };
    if let Some(version) = tags.get("v") {
        if version != "DKIM1" {
            "syntax_error".clone_into(&mut data.verdict);
            return (Outcome::Fail, format!("{name}: v={version} is not DKIM1"));
        }
    }
    data.key_type = tags.get("k").cloned().unwrap_or_else(|| "rsa".into());
    data.testing = tags
        .get("t")
        .is_some_and(|flags| flags.split(':').any(|flag| flag.trim() == "y"));
    let Some(key) = tags.get("p") else {
        "syntax_error".clone_into(&mut data.verdict);
        return (
            Outcome::Fail,
            format!("{name}: the required p= tag is missing"),
        );
    };
    if key.is_empty() {
        "revoked".clone_into(&mut data.verdict);
        return (
            Outcome::Fail,
            format!("{name}: p= is empty, the key is revoked: signatures with it fail"),
        );
    }
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(der) = STANDARD.decode(compact.as_bytes()) else {
        "syntax_error".clone_into(&mut data.verdict);
        return (Outcome::Fail, format!("{name}: p= is not base64"));
    };
    let bits = match data.key_type.as_str() {
        "rsa" => {
            let Some(bits) = rsa_modulus_bits(&der) else {
                "syntax_error".clone_into(&mut data.verdict);
                return (
                    Outcome::Fail,
                    format!("{name}: p= is not an RSA public key"),
                );
            };
            bits
        }
        // RFC 8463: the key is the 32-byte public key itself.
        "ed25519" if der.len() == 32 => 256,
        "ed25519" => {
            "syntax_error".clone_into(&mut data.verdict);
            return (
                Outcome::Fail,
                format!("{name}: an ed25519 key is 32 bytes, not {}", der.len()),
            );
        }
        other => {
            "syntax_error".clone_into(&mut data.verdict);
            return (Outcome::Fail, format!("{name}: unknown key type k={other}"));
        }
    };
    data.key_bits = Some(bits);
    let strength = if data.key_type != "rsa" {
        "valid"
    } else if bits < RSA_MIN_BITS {
        "weak"
    } else if bits < RSA_RECOMMENDED_BITS {
        "short"
    } else {
        "valid"
    };
    strength.clone_into(&mut data.verdict);
    let mut detail = format!("{name}: {} key of {bits} bits", data.key_type);
    if data.testing {
        detail.push_str(", t=y (testing: verifiers treat failures as unsigned)");
    }
    let outcome = if strength == "valid" {
        Outcome::Ok
    } else {
        Outcome::Fail
    };
    (outcome, detail)
}

/// `tag=value` pairs separated by `;` (RFC 6376 §3.2); a repeated tag is an error.
fn tags(text: &str) -> Result<BTreeMap<String, String>, TagError> {
    let mut tags = BTreeMap::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((tag, value)) = part.split_once('=') else {
            return Err(TagError::NotTagValue(part.to_owned()));
        };
        let tag = tag.trim().to_owned();
        if tags.insert(tag.clone(), value.trim().to_owned()).is_some() {
            return Err(TagError::Repeated(tag));
        }
    }
    Ok(tags)
}

/// The modulus size of an RSA key given as SubjectPublicKeyInfo (what RFC 6376 specifies) or,
/// as some signers publish it, a bare PKCS#1 RSAPublicKey.
fn rsa_modulus_bits(der: &[u8]) -> Option<u32> {
    use pkcs1::der::Decode as _;
    let pkcs1_bytes = match spki::SubjectPublicKeyInfoRef::from_der(der) {
        Ok(info) => info.subject_public_key.raw_bytes().to_vec(),
        Err(_) => der.to_vec(),
    };
    let key = pkcs1::RsaPublicKey::from_der(&pkcs1_bytes).ok()?;
    let modulus = key.modulus.as_bytes();
    let leading = modulus.iter().take_while(|byte| **byte == 0).count();
    let significant = &modulus[leading..];
    let first = *significant.first()?;
    Some((significant.len() as u32 - 1) * 8 + (8 - first.leading_zeros()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_2048: &str = include_str!("../../../lab/src/certs/dkim-2048.pub.b64");
    const KEY_1024: &str = include_str!("../../../lab/src/certs/dkim-1024.pub.b64");
    const KEY_512: &str = include_str!("../../../lab/src/certs/dkim-512.pub.b64");

    fn judged(text: &str) -> (DkimData, Outcome) {
        let mut data = DkimData {
            name: "s._domainkey.example.test".into(),
            ..DkimData::default()
        };
        let (outcome, _) = judge(&mut data, text);
        (data, outcome)
    }

    #[test]
    fn key_sizes_are_measured() {
        let (data, outcome) = judged(&format!("v=DKIM1; k=rsa; p={}", KEY_2048.trim()));
        assert_eq!((data.key_bits, outcome), (Some(2048), Outcome::Ok));
        let (data, _) = judged(&format!("v=DKIM1; p={}", KEY_1024.trim()));
        assert_eq!(
            (data.key_bits, data.verdict.as_str()),
            (Some(1024), "short")
        );
        let (data, _) = judged(&format!("p={}", KEY_512.trim()));
        assert_eq!((data.key_bits, data.verdict.as_str()), (Some(512), "weak"));
    }

    #[test]
    fn flags_revocation_and_syntax() {
        let (data, _) = judged(&format!("v=DKIM1; t=y; p={}", KEY_2048.trim()));
        assert!(data.testing);
        let (data, outcome) = judged("v=DKIM1; p=");
        assert_eq!((data.verdict.as_str(), outcome), ("revoked", Outcome::Fail));
        assert_eq!(judged("v=DKIM2; p=abc").0.verdict, "syntax_error");
        assert_eq!(judged("v=DKIM1; p=!!!").0.verdict, "syntax_error");
        assert_eq!(judged("v=DKIM1; k=rsa").0.verdict, "syntax_error");
        // RFC 8463 section 3 example key (ed25519, 32 bytes).
        let (data, outcome) =
            judged("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        assert_eq!((data.key_bits, outcome), (Some(256), Outcome::Ok));
    }
}
