//! The one-shot health checks of a domain that standards-following receivers apply today:
//! SPF, DMARC, DKIM, forward-confirmed reverse DNS, IPv6, MTA-STS and TLS-RPT (more to come in files of their own). Each check is its own file and returns observations.

mod direct_query;
pub mod dkim;
pub mod dmarc;
pub mod ipv6;
pub mod mta_sts;
mod mta_sts_client;
pub mod mta_sts_policy;
pub mod rdns;
pub mod spf;
pub mod spf_record;
pub mod tag_error;
pub mod tls_rpt;

use std::net::IpAddr;

use hickory_resolver::proto::rr::{RData, RecordType};

use crate::dns::{DnsClient, LookupFailure};

/// Which health checks a run does, and what they need from the command line.
#[derive(Debug, Clone, Default)]
pub struct HealthSettings {
    /// Sender authentication: SPF, DMARC, DKIM (`--skip auth` turns it off).
    pub auth: bool,
    /// DKIM selectors whose keys are checked (`--dkim-selector`); none: DKIM is not checked.
    pub dkim_selectors: Vec<String>,
    /// Forward-confirmed reverse DNS of every MX address and `--outbound-ip` (`--skip rdns`).
    pub rdns: bool,
    /// The gateway's sending addresses (`--outbound-ip`): SPF must pass for them.
    pub outbound_ips: Vec<IpAddr>,
    /// MTA-STS policy and TLS-RPT record of the domain (`--skip tls-policy`).
    pub tls_policy: bool,
    /// The port of the MTA-STS policy hosts; `None`: 443, as RFC 8461 fixes it (labs override it).
    pub mta_sts_port: Option<u16>,
    /// DNSSEC of the domain and the MX zones, and DANE TLSA records (`--skip dnssec`).
    pub dnssec: bool,
    /// AAAA records of the MX hosts and reachability over IPv6 (`--skip ipv6`).
    pub ipv6: bool,
    /// Whether this host may probe over IPv6 (`--ipv6-vantage`; by default the routing table says).
    pub ipv6_vantage: ipv6::Ipv6Vantage,
}

/// The TXT records at `name`, each record's character-strings joined (RFC 7208 §3.3).
pub(crate) async fn txt_records(dns: &DnsClient, name: &str) -> Result<Vec<String>, LookupFailure> {
    let records = dns.query(name, RecordType::TXT).await.result?;
    Ok(records
        .iter()
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect())
}
