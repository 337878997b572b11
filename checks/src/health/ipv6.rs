//! `ipv6.mx` and `ipv6.smtp`: whether the MX hosts publish AAAA records, and — when this host can
//! reach IPv6 at all — whether each one greets over IPv6 as it does over IPv4.
//!
//! Whether this host has an IPv6 vantage is decided without sending a packet: the kernel is asked
//! for its route to the MX's IPv6 address (a UDP `connect`, which only picks a route and a source
//! address). A global destination needs a global source; a unique-local or link-local source (a
//! container's private network, an IPv6-less office LAN) cannot reach the internet. No vantage
//! makes the IPv6 half inconclusive, never a failure of the target.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hickory_resolver::proto::rr::{RData, RecordType};

use crate::dns::{DnsClient, LookupFailure};
use crate::smtp::{Greeted, HostTarget, SmtpSettings, banner_and_ehlo};
use mxdoctor_model::observation::{Data, Ipv6MxData, Ipv6SmtpData, MxRecord, Observation, Outcome};

/// Whether to probe IPv6 addresses (`--ipv6-vantage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ipv6Vantage {
    /// Ask the kernel for a route to each address (the default).
    #[default]
    Auto,
    /// Probe over IPv6 whatever the routing table says (`yes`).
    Assume,
    /// Never probe over IPv6: the IPv6 half is inconclusive (`no`).
    Without,
}

/// What the vantage decision said for one IPv6 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VantageVerdict {
    /// The `vantage` field: route | no_route | no_global_source | assumed | disabled
    pub label: &'static str,
    /// Whether to try the address.
    pub usable: bool,
    pub detail: String,
}

/// Decides whether this host can reach `destination` over IPv6.
pub fn vantage_for(destination: Ipv6Addr, setting: Ipv6Vantage) -> VantageVerdict {
    match setting {
        Ipv6Vantage::Assume => VantageVerdict {
            label: "assumed",
            usable: true,
            detail: "--ipv6-vantage yes: probed without asking the routing table".into(),
        },
        Ipv6Vantage::Without => VantageVerdict {
            label: "disabled",
            usable: false,
            detail: "--ipv6-vantage no: not probed over IPv6".into(),
        },
        Ipv6Vantage::Auto => judge_route(destination, &kernel_route(destination)),
    }
}

/// The source address the kernel would use to reach `destination` (no packet is sent: connecting
/// a UDP socket only chooses the route).
fn kernel_route(destination: Ipv6Addr) -> io::Result<Ipv6Addr> {
    let socket = UdpSocket::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))?;
    socket.connect(SocketAddr::from((destination, 25)))?;
    match socket.local_addr()?.ip() {
        IpAddr::V6(source) => Ok(source),
        IpAddr::V4(source) => Err(io::Error::other(format!(
            "the kernel chose an IPv4 source ({source})"
        ))),
    }
}

/// Judges the kernel's answer for `destination` (pure: the tests feed it answers).
pub fn judge_route(destination: Ipv6Addr, route: &io::Result<Ipv6Addr>) -> VantageVerdict {
    match route {
        Err(error) => VantageVerdict {
            label: "no_route",
            usable: false,
            detail: format!("this host has no IPv6 route to {destination} ({error})"),
        },
        Ok(source) if is_global(destination) && !is_global(*source) => VantageVerdict {
            label: "no_global_source",
            usable: false,
            detail: format!(
                "this host would reach {destination} from {source}, which is not a global address: it has no IPv6 internet access"
            ),
        },
        Ok(source) => VantageVerdict {
            label: "route",
            usable: true,
            detail: format!("routed from {source}"),
        },
    }
}

/// A globally routed unicast address: not loopback, unspecified, link-local, unique-local
/// (fc00::/7), multicast, IPv4-mapped or documentation (2001:db8::/32).
fn is_global(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    !(address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || address.is_unicast_link_local()
        || address.is_unique_local()
        || address.to_ipv4_mapped().is_some()
        || (first == 0x2001 && address.segments()[1] == 0x0db8))
}

/// One MX host and the AAAA answer for it.
struct HostAnswer {
    exchange: String,
    ipv4: Option<Ipv4Addr>,
    ipv6: Result<Vec<Ipv6Addr>, LookupFailure>,
}

/// Asks AAAA for every MX host of `records`, summarises (`ipv6.mx`) and, when `smtp` is given,
/// greets every host with an AAAA over both families (`ipv6.smtp`).
pub async fn probe(
    dns: &DnsClient,
    domain: &str,
    records: &[MxRecord],
    port: u16,
    smtp: Option<&SmtpSettings>,
    vantage: Ipv6Vantage,
) -> Vec<Observation> {
    let started = Instant::now();
    let hosts: Vec<&MxRecord> = records.iter().filter(|r| r.exchange != ".").collect();
    let answers = join_all(hosts.iter().map(|record| aaaa_of(dns, record))).await;
    let mut observations = vec![summary(domain, &answers, started.elapsed())];
    if let Some(settings) = smtp {
        let greeted = join_all(
            answers
                .iter()
                .filter_map(|answer| {
                    let ipv6 = answer.ipv6.as_ref().ok()?.first().copied()?;
                    Some((answer, ipv6))
                })
                .map(|(answer, ipv6)| both_families(answer, ipv6, port, settings, vantage)),
        )
        .await;
        observations.extend(greeted);
    }
    observations
}

async fn aaaa_of(dns: &DnsClient, record: &MxRecord) -> HostAnswer {
    let ipv4 = record
        .addresses
        .iter()
        .filter_map(|a| a.parse::<Ipv4Addr>().ok())
        .min();
    let ipv6 = match record.exchange.parse::<IpAddr>() {
        Ok(IpAddr::V6(literal)) => Ok(vec![literal]),
        Ok(IpAddr::V4(_)) => Err(LookupFailure::NoData),
        Err(_) => dns
            .query(&record.exchange, RecordType::AAAA)
            .await
            .result
            .map(|found| {
                let mut addresses: Vec<Ipv6Addr> = found
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::AAAA(aaaa) => Some(aaaa.0),
                        _ => None,
                    })
                    .collect();
                addresses.sort();
                addresses
            }),
    };
    HostAnswer {
        exchange: record.exchange.clone(),
        ipv4,
        ipv6,
    }
}

/// The `ipv6.mx` observation of the domain.
fn summary(domain: &str, answers: &[HostAnswer], latency: Duration) -> Observation {
    let mut data = Ipv6MxData {
        domain: domain.to_owned(),
        hosts: answers.len(),
        ..Ipv6MxData::default()
    };
    for answer in answers {
        match &answer.ipv6 {
            Ok(found) if !found.is_empty() => data.with_aaaa.push(answer.exchange.clone()),
            Ok(_) => data.without_aaaa.push(answer.exchange.clone()),
            Err(failure) if failure.is_negative_answer() => {
                data.without_aaaa.push(answer.exchange.clone());
            }
            Err(_) => data.lookup_failed.push(answer.exchange.clone()),
        }
    }
    let (verdict, outcome, detail) = if data.hosts == 0 {
        (
            "no_hosts",
            Outcome::Skipped,
            format!("{domain} has no MX host to ask for AAAA"),
        )
    } else if data.with_aaaa.len() == data.hosts {
        (
            "all",
            Outcome::Ok,
            format!("every MX host of {domain} has an IPv6 address (AAAA)"),
        )
    } else if !data.with_aaaa.is_empty() {
        (
            "some",
            Outcome::Fail,
            format!(
                "MX hosts of {domain} without an IPv6 address (AAAA): {}",
                data.without_aaaa
                    .iter()
                    .chain(&data.lookup_failed)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else if data.lookup_failed.is_empty() {
        (
            "none",
            Outcome::Fail,
            format!(
                "no MX host of {domain} has an IPv6 address (AAAA): it receives mail over IPv4 only"
            ),
        )
    } else {
        (
            "unknown",
            Outcome::Inconclusive,
            format!(
                "the AAAA lookup failed for {}: whether {domain} receives over IPv6 is unknown",
                data.lookup_failed.join(", ")
            ),
        )
    };
    verdict.clone_into(&mut data.verdict);
    Observation::new(
        "ipv6.mx",
        domain,
        outcome,
        latency,
        detail,
        Data::Ipv6Mx(data),
    )
}

/// Greets one MX host on its first IPv4 and first IPv6 address at the same time.
async fn both_families(
    answer: &HostAnswer,
    ipv6: Ipv6Addr,
    port: u16,
    settings: &SmtpSettings,
    setting: Ipv6Vantage,
) -> Observation {
    let started = Instant::now();
    let target = |address: IpAddr| HostTarget {
        host: answer.exchange.clone(),
        address,
        port,
        role: "mx".into(),
        is_gateway: None,
        mx_preference: None,
    };
    let vantage = vantage_for(ipv6, setting);
    let over_ipv4 = async {
        match answer.ipv4 {
            Some(ipv4) => Some(banner_and_ehlo(&target(IpAddr::V4(ipv4)), settings).await),
            None => None,
        }
    };
    let over_ipv6 = async {
        if vantage.usable {
            Some(banner_and_ehlo(&target(IpAddr::V6(ipv6)), settings).await)
        } else {
            None
        }
    };
    let (ipv4_result, ipv6_result) = tokio::join!(over_ipv4, over_ipv6);
    let mut data = Ipv6SmtpData {
        host: answer.exchange.clone(),
        port,
        ipv4_address: answer.ipv4.map(|a| a.to_string()),
        ipv6_address: Some(ipv6.to_string()),
        vantage: vantage.label.to_owned(),
        ..Ipv6SmtpData::default()
    };
    let (ipv4_word, ipv4_detail) = match &ipv4_result {
        Some((greeted, detail)) => (greeted.as_str(), detail.clone()),
        None => ("no_address", "no A record".to_owned()),
    };
    let (ipv6_word, ipv6_detail) = match &ipv6_result {
        Some((greeted, detail)) => (greeted.as_str(), detail.clone()),
        None => ("not_tried", vantage.detail.clone()),
    };
    let verdict = combine(
        ipv4_result.as_ref().map(|(greeted, _)| *greeted),
        ipv6_result.as_ref().map(|(greeted, _)| *greeted),
    );
    ipv4_word.clone_into(&mut data.ipv4);
    ipv6_word.clone_into(&mut data.ipv6);
    data.ipv4_detail = ipv4_detail;
    data.ipv6_detail = ipv6_detail;
    verdict.as_str().clone_into(&mut data.verdict);
    let subject = format!("{}:{port}", answer.exchange);
    let detail = verdict.describe(&data);
    Observation::new(
        "ipv6.smtp",
        subject,
        verdict.outcome(),
        started.elapsed(),
        detail,
        Data::Ipv6Smtp(data),
    )
}

/// What the two families together say about one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyVerdict {
    Both,
    Ipv4Only,
    Ipv6Only,
    Neither,
    /// IPv6 was not tried (no vantage) or could not be reached from here.
    NoVantage,
}

/// Combines the answers over IPv4 (`None`: no A record) and IPv6 (`None`: not tried).
pub fn combine(ipv4: Option<Greeted>, ipv6: Option<Greeted>) -> FamilyVerdict {
    let takes_mail = |greeted: Option<Greeted>| greeted == Some(Greeted::Banner);
    match ipv6 {
        None | Some(Greeted::Unreachable) => FamilyVerdict::NoVantage,
        Some(_) => match (takes_mail(ipv4), takes_mail(ipv6)) {
            (true, true) => FamilyVerdict::Both,
            (true, false) => FamilyVerdict::Ipv4Only,
            (false, true) => FamilyVerdict::Ipv6Only,
            (false, false) => FamilyVerdict::Neither,
        },
    }
}

impl FamilyVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Both => "both",
            Self::Ipv4Only => "ipv4_only",
            Self::Ipv6Only => "ipv6_only",
            Self::Neither => "neither",
            Self::NoVantage => "no_vantage",
        }
    }

    fn outcome(self) -> Outcome {
        match self {
            Self::Both => Outcome::Ok,
            Self::Ipv4Only | Self::Ipv6Only | Self::Neither => Outcome::Fail,
            Self::NoVantage => Outcome::Inconclusive,
        }
    }

    fn describe(self, data: &Ipv6SmtpData) -> String {
        let host = &data.host;
        let ipv6 = data.ipv6_address.as_deref().unwrap_or_default();
        let ipv4 = data.ipv4_address.as_deref().unwrap_or("no A record");
        match self {
            Self::Both => format!("{host} greets over IPv4 ({ipv4}) and IPv6 ({ipv6})"),
            Self::Ipv4Only => format!(
                "{host} greets over IPv4 ({ipv4}) but not over IPv6 ({ipv6}: {} — {})",
                data.ipv6, data.ipv6_detail
            ),
            Self::Ipv6Only => format!(
                "{host} greets over IPv6 ({ipv6}) but not over IPv4 ({ipv4}: {} — {})",
                data.ipv4, data.ipv4_detail
            ),
            Self::Neither => format!(
                "{host} greets over neither family (IPv4 {ipv4}: {}; IPv6 {ipv6}: {})",
                data.ipv4, data.ipv6
            ),
            Self::NoVantage => format!(
                "{host} publishes {ipv6}, but this host cannot judge IPv6: {}",
                data.ipv6_detail
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::Ipv6Addr;

    use std::time::Duration;

    use super::{
        FamilyVerdict, HostAnswer, Ipv6Vantage, combine, is_global, judge_route, summary,
        vantage_for,
    };
    use crate::dns::LookupFailure;
    use crate::smtp::Greeted;
    use mxdoctor_model::observation::{Data, Outcome};

    fn host(name: &str, ipv6: Result<Vec<Ipv6Addr>, LookupFailure>) -> HostAnswer {
        HostAnswer {
            exchange: name.into(),
            ipv4: Some("192.0.2.1".parse().expect("address")),
            ipv6,
        }
    }

    fn verdict_of(answers: &[HostAnswer]) -> (String, Outcome) {
        let observation = summary("example.test", answers, Duration::ZERO);
        let Data::Ipv6Mx(data) = observation.data else {
            panic!("ipv6.mx data");
        };
        (data.verdict, observation.outcome)
    }

    #[test]
    fn the_aaaa_summary_tells_all_some_none_and_unknown_apart() {
        let with = || host("mx1", Ok(vec![v6("2001:db8::25")]));
        let without = || host("mx2", Err(LookupFailure::NoData));
        let failed = || host("mx3", Err(LookupFailure::Timeout));
        assert_eq!(verdict_of(&[with()]), ("all".into(), Outcome::Ok));
        assert_eq!(
            verdict_of(&[with(), without()]),
            ("some".into(), Outcome::Fail)
        );
        assert_eq!(verdict_of(&[without()]), ("none".into(), Outcome::Fail));
        assert_eq!(
            verdict_of(&[without(), failed()]),
            ("unknown".into(), Outcome::Inconclusive),
            "a failed lookup is not a missing AAAA"
        );
        assert_eq!(verdict_of(&[]), ("no_hosts".into(), Outcome::Skipped));
    }

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().expect("address")
    }

    #[test]
    fn a_global_destination_needs_a_global_source() {
        let google = v6("2001:4860:4860::8888");
        assert_eq!(judge_route(google, &Ok(v6("2a01:4f8::2"))).label, "route");
        let container = judge_route(google, &Ok(v6("fd00::2")));
        assert_eq!(container.label, "no_global_source");
        assert!(!container.usable);
        assert!(!judge_route(google, &Ok(v6("fe80::1"))).usable);
        let unreachable = io::Error::from(io::ErrorKind::NetworkUnreachable);
        let none = judge_route(google, &Err(unreachable));
        assert_eq!((none.label, none.usable), ("no_route", false));
    }

    #[test]
    fn loopback_and_private_destinations_need_only_a_route() {
        assert!(judge_route(Ipv6Addr::LOCALHOST, &Ok(Ipv6Addr::LOCALHOST)).usable);
        assert!(judge_route(v6("fd00::25"), &Ok(v6("fd00::2"))).usable);
    }

    #[test]
    fn global_means_publicly_routed() {
        assert!(is_global(v6("2a00:1450:4001::1a")));
        for private in [
            "::1",
            "::",
            "fe80::1",
            "fd12::1",
            "fc00::1",
            "ff02::1",
            "::ffff:192.0.2.1",
            "2001:db8::1",
        ] {
            assert!(!is_global(v6(private)), "{private}");
        }
    }

    #[test]
    fn the_override_wins_over_the_routing_table() {
        let google = v6("2001:4860:4860::8888");
        assert!(vantage_for(google, Ipv6Vantage::Assume).usable);
        let off = vantage_for(Ipv6Addr::LOCALHOST, Ipv6Vantage::Without);
        assert_eq!((off.label, off.usable), ("disabled", false));
    }

    #[test]
    fn one_family_is_told_from_both_and_from_no_vantage() {
        use Greeted::{Banner, Refused, Rejected, Timeout, Unreachable};
        assert_eq!(combine(Some(Banner), Some(Banner)), FamilyVerdict::Both);
        assert_eq!(
            combine(Some(Banner), Some(Refused)),
            FamilyVerdict::Ipv4Only
        );
        assert_eq!(
            combine(Some(Banner), Some(Rejected)),
            FamilyVerdict::Ipv4Only
        );
        assert_eq!(
            combine(Some(Timeout), Some(Banner)),
            FamilyVerdict::Ipv6Only
        );
        assert_eq!(combine(None, Some(Banner)), FamilyVerdict::Ipv6Only);
        assert_eq!(
            combine(Some(Refused), Some(Timeout)),
            FamilyVerdict::Neither
        );
        assert_eq!(combine(Some(Banner), None), FamilyVerdict::NoVantage);
        assert_eq!(
            combine(Some(Banner), Some(Unreachable)),
            FamilyVerdict::NoVantage
        );
    }
}
