//! `dns.ptr`: the reverse name of an address, and the reversed labels DNSBLs and PTR zones use.

use std::net::IpAddr;

use hickory_resolver::proto::rr::{RData, RecordType};

use super::DnsClient;
use super::lookup::DnsLookup;
use mxdoctor_model::observation::{Data, DnsData, Observation, Outcome};

impl<L: DnsLookup> DnsClient<L> {
    /// `dns.ptr`: the reverse name of `ip`; receivers distrust senders without one.
    pub async fn ptr(&self, ip: IpAddr) -> Observation {
        let name = reverse_name(ip);
        let lookup = self.query(&name, RecordType::PTR).await;
        let (outcome, answers, response, detail) = match lookup.result {
            Ok(records) => {
                let answers: Vec<String> = records
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::PTR(ptr) => Some(ptr.0.to_ascii().trim_end_matches('.').to_owned()),
                        _ => None,
                    })
                    .collect();
                let detail = format!("{ip} reverses to {}", answers.join(", "));
                (Outcome::Ok, answers, "NOERROR".to_owned(), detail)
            }
            Err(failure) => {
                let response = failure.response_label();
                let detail = format!("{ip} has no reverse name ({response})");
                (failure.outcome(), Vec::new(), response, detail)
            }
        };
        let data = DnsData {
            name,
            record_type: "PTR".to_owned(),
            answers,
            response,
            server: self.servers_label(),
        };
        Observation::new(
            "dns.ptr",
            ip.to_string(),
            outcome,
            lookup.latency,
            detail,
            Data::Dns(data),
        )
    }
}

/// The labels of `ip` in reverse order, as DNSBLs and PTR zones want them:
/// `192.0.2.1` → `1.2.0.192`, IPv6 one nibble per label.
pub fn reversed_labels(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|byte| [byte >> 4, byte & 0x0f])
                .rev()
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            nibbles.join(".")
        }
    }
}

/// The PTR query name of `ip` (`in-addr.arpa` or `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    let ip = ip.to_canonical();
    let zone = if ip.is_ipv4() {
        "in-addr.arpa"
    } else {
        "ip6.arpa"
    };
    format!("{}.{zone}", reversed_labels(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_ipv4_octets() {
        assert_eq!(reversed_labels("192.0.2.1".parse().unwrap()), "1.2.0.192");
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
    }

    #[test]
    fn reverses_ipv6_nibbles() {
        let labels = reversed_labels("2001:db8::1".parse().unwrap());
        assert_eq!(
            labels,
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        );
    }

    #[test]
    fn mapped_ipv4_reverses_as_ipv4() {
        assert_eq!(
            reversed_labels("::ffff:192.0.2.1".parse().unwrap()),
            "1.2.0.192"
        );
    }
}
