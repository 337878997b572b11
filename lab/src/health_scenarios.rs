//! Lab scenarios for the domain health checks (SPF, ...): what each publishes in DNS beyond its
//! MX set, and the default records every other lab domain publishes so that it is healthy too.
//!
//! Their MX hosts live on 127.0.0.50–59 and, when those are used up, 127.0.0.120–139, apart
//! from the older scenarios' addresses.

/// First address of the health scenarios' MX hosts (127.0.0.50 up to .59).
pub(super) const FIRST_HOST: u8 = 50;
pub(super) const LAST_HOST: u8 = 59;
/// Where the health scenarios' MX hosts continue after `LAST_HOST` (127.0.0.120 up to .139).
pub(super) const OVERFLOW_FIRST_HOST: u8 = 120;
pub(super) const OVERFLOW_LAST_HOST: u8 = 139;

/// The next health-scenario host address after `current`, or `None` when both ranges are used up.
pub(super) fn next_host(current: u8) -> Option<u8> {
    match current {
        LAST_HOST => Some(OVERFLOW_FIRST_HOST),
        OVERFLOW_LAST_HOST => None,
        _ => Some(current + 1),
    }
}

/// A health scenario: one healthy MX host; what matters is what the domain publishes.
pub(crate) struct HealthSpec {
    pub name: &'static str,
    pub about: &'static str,
    pub expected_top: Option<&'static str>,
    pub flags: Vec<String>,
}

fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|flag| (*flag).to_string()).collect()
}

/// What a scenario publishes besides its MX set.
#[derive(Debug, Clone, Default)]
pub(super) struct Published {
    /// TXT records: (owner relative to the domain, "" for the domain itself; text).
    pub txt: Vec<(String, String)>,
    /// Publish the healthy defaults (SPF, DMARC) for whatever `txt` does not set.
    pub defaults: bool,
    /// Pass the first MX address as `--outbound-ip` (the gateway sends from its MX address).
    pub outbound_ip_is_mx: bool,
    /// Publish no PTR record for the MX addresses.
    pub no_ptr: bool,
    /// Publish a `3 1 1` TLSA record for the lab certificate at `_25._tcp.MXHOST`.
    pub tlsa: bool,
}

impl Published {
    pub(super) fn healthy() -> Self {
        Self {
            defaults: true,
            ..Self::default()
        }
    }
}

/// The lab's DKIM public keys (SubjectPublicKeyInfo, base64; `certs/generate.sh` made them).
const DKIM_KEY_2048: &str = include_str!("certs/dkim-2048.pub.b64");
const DKIM_KEY_1024: &str = include_str!("certs/dkim-1024.pub.b64");
/// The selector every lab domain with a key publishes it under.
pub(super) const DKIM_SELECTOR: &str = "lab";

fn dkim_record(key: &str) -> (String, String) {
    txt(
        &format!("{DKIM_SELECTOR}._domainkey"),
        format!("v=DKIM1; k=rsa; p={}", key.trim()),
    )
}

/// What the older scenarios publish: the healthy defaults; `healthy` also names its sending
/// address and publishes a 2048-bit DKIM key.
pub(super) fn published_by(name: &str) -> Published {
    if name == "healthy" {
        return Published {
            txt: vec![dkim_record(DKIM_KEY_2048)],
            outbound_ip_is_mx: true,
            ..Published::healthy()
        };
    }
    Published::healthy()
}

/// The TXT records of a lab domain: its own, then the healthy defaults it does not override
/// (SPF `mx -all`; DMARC `p=reject` with reports to the domain itself).
pub(super) fn default_txt(domain: &str, published: &Published) -> Vec<(String, String)> {
    let mut records: Vec<(String, String)> = published
        .txt
        .iter()
        .map(|(owner, text)| (owner_name(owner, domain), text.clone()))
        .collect();
    let sets = |wanted: &str| published.txt.iter().any(|(owner, _)| owner == wanted);
    if published.defaults && !sets("") {
        records.push((domain.to_owned(), "v=spf1 mx -all".to_owned()));
    }
    if published.defaults && !sets("_dmarc") {
        records.push((
            format!("_dmarc.{domain}"),
            format!("v=DMARC1; p=reject; rua=mailto:dmarc-reports@{domain}"),
        ));
    }
    records
}

fn owner_name(owner: &str, domain: &str) -> String {
    if owner.is_empty() {
        domain.to_owned()
    } else if let Some(absolute) = owner.strip_suffix('.') {
        absolute.to_owned()
    } else {
        format!("{owner}.{domain}")
    }
}

fn txt(owner: &str, text: impl Into<String>) -> (String, String) {
    (owner.to_owned(), text.into())
}

/// A chain of includes one deeper than the limit: `spf1` includes `spf2` ... each costing a lookup.
fn include_chain(links: usize) -> Vec<(String, String)> {
    let mut records = vec![txt("", "v=spf1 mx include:spf1.spf-lookups.lab.test -all")];
    for n in 1..links {
        records.push(txt(
            &format!("spf{n}"),
            format!("v=spf1 include:spf{}.spf-lookups.lab.test", n + 1),
        ));
    }
    records.push(txt(&format!("spf{links}"), "v=spf1 ip4:192.0.2.0/24"));
    records
}

/// The health scenarios, in the order the demo shows them (after the older ones).
pub(crate) fn specs() -> Vec<(HealthSpec, Published)> {
    vec![
        (
            HealthSpec {
                name: "spf-lookups",
                about: "an SPF record whose include chain needs 12 DNS lookups (limit 10)",
                expected_top: Some("spf-lookup-limit"),
                flags: vec![],
            },
            Published {
                txt: include_chain(11),
                ..Published::healthy()
            },
        ),
        (
            HealthSpec {
                name: "spf-outbound",
                about: "the gateway sends from an address the domain's SPF record does not list",
                expected_top: Some("spf-outbound-not-authorised"),
                flags: flags(&["--outbound-ip", "127.0.0.59"]),
            },
            Published {
                txt: vec![txt("", "v=spf1 ip4:192.0.2.0/24 -all")],
                ..Published::healthy()
            },
        ),
        (
            HealthSpec {
                name: "dmarc-rua",
                about: "DMARC reports go to another organisation that never authorised them",
                expected_top: Some("dmarc-report-unauthorised"),
                flags: vec![],
            },
            Published {
                txt: vec![txt(
                    "_dmarc",
                    "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example.net",
                )],
                ..Published::healthy()
            },
        ),
        (
            HealthSpec {
                name: "no-ptr",
                about: "the MX address has no reverse DNS (PTR) record",
                expected_top: Some("reverse-dns-missing"),
                flags: vec![],
            },
            Published {
                no_ptr: true,
                ..Published::healthy()
            },
        ),
        (
            HealthSpec {
                name: "dane-unsigned",
                about: "a DANE TLSA record for the MX in a zone that is not signed: senders ignore it",
                expected_top: Some("dane-tlsa-insecure"),
                flags: vec![],
            },
            Published {
                tlsa: true,
                // DANE senders report failures through TLS-RPT: without it the scenario would
                // break two things.
                txt: vec![txt(
                    "_smtp._tls",
                    "v=TLSRPTv1; rua=mailto:tlsrpt@dane-unsigned.lab.test",
                )],
                ..Published::healthy()
            },
        ),
        (
            HealthSpec {
                name: "dkim-weak",
                about: "the DKIM key is RSA 1024 bits: still verified, but below the recommended 2048",
                expected_top: Some("dkim-key-weak"),
                flags: flags(&["--dkim-selector", DKIM_SELECTOR]),
            },
            Published {
                txt: vec![dkim_record(DKIM_KEY_1024)],
                ..Published::healthy()
            },
        ),
    ]
}

#[cfg(test)]
mod host_range_tests {
    use super::{FIRST_HOST, LAST_HOST, OVERFLOW_FIRST_HOST, OVERFLOW_LAST_HOST, next_host};

    #[test]
    fn health_hosts_continue_in_the_overflow_range_and_then_run_out() {
        assert_eq!(next_host(FIRST_HOST), Some(FIRST_HOST + 1));
        assert_eq!(next_host(LAST_HOST), Some(OVERFLOW_FIRST_HOST));
        assert_eq!(
            next_host(OVERFLOW_FIRST_HOST),
            Some(OVERFLOW_FIRST_HOST + 1)
        );
        assert_eq!(next_host(OVERFLOW_LAST_HOST), None);
        let mut count = 1;
        let mut host = FIRST_HOST;
        while let Some(next) = next_host(host) {
            host = next;
            count += 1;
        }
        assert_eq!(count, 30, "127.0.0.50-59 and 127.0.0.120-139");
    }
}
