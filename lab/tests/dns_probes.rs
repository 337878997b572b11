//! DNS and DNSBL/SURBL probes against the lab DNS server on loopback; never the system resolver.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mxdoctor_checks::dns::DnsClient;
use mxdoctor_checks::dnsbl::{dnsbl, surbl};
use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
use mxdoctor_model::{Data, Observation, Outcome};

const TIMEOUT: Duration = Duration::from_secs(2);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

async fn lab(config: LabDnsConfig) -> (LabDns, DnsClient) {
    let server = LabDns::start(config, loopback()).await.unwrap();
    let client = DnsClient::new(&[server.addr()], TIMEOUT).unwrap();
    (server, client)
}

fn mx_data(observation: &Observation) -> &mxdoctor_model::observation::MxData {
    match &observation.data {
        Data::Mx(data) => data,
        other => panic!("expected MX data, got {other:?}"),
    }
}

fn listing(observation: &Observation) -> &mxdoctor_model::observation::ListingData {
    match &observation.data {
        Data::Listing(data) => data,
        other => panic!("expected listing data, got {other:?}"),
    }
}

#[tokio::test]
async fn mx_records_come_sorted_by_preference_with_addresses() {
    let mut config = LabDnsConfig::new();
    config
        .add_mx("example.test", 20, "mx2.example.test")
        .add_mx("example.test", 10, "mx1.example.test")
        .add_a("mx1.example.test", ip("127.0.0.11"))
        .add_a("mx1.example.test", ip("::1"))
        .add_a("mx2.example.test", ip("127.0.0.12"));
    let (_server, dns) = lab(config).await;

    let (observation, records) = dns.mx("example.test").await;

    assert_eq!(observation.check, "dns.mx");
    assert_eq!(observation.subject, "example.test");
    assert_eq!(observation.outcome, Outcome::Ok, "{}", observation.detail);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].preference, 10);
    assert_eq!(records[0].exchange, "mx1.example.test");
    assert_eq!(records[0].addresses, ["127.0.0.11", "::1"]);
    assert_eq!(records[1].addresses, ["127.0.0.12"]);
    let data = mx_data(&observation);
    assert_eq!(data.count, 2);
    assert!(!data.null_mx && !data.implicit_mx && !data.cname_exchange && !data.ip_literal);
}

#[tokio::test]
async fn null_mx_is_flagged() {
    let mut config = LabDnsConfig::new();
    config.null_mx("nomail.test");
    let (_server, dns) = lab(config).await;

    let (observation, _) = dns.mx("nomail.test").await;

    assert_eq!(observation.outcome, Outcome::Fail);
    assert!(mx_data(&observation).null_mx);
    assert!(
        observation.detail.contains("null MX"),
        "{}",
        observation.detail
    );
}

#[tokio::test]
async fn no_mx_falls_back_to_the_domain_address() {
    let mut config = LabDnsConfig::new();
    config.add_a("implicit.test", ip("127.0.0.20"));
    let (_server, dns) = lab(config).await;

    let (observation, records) = dns.mx("implicit.test").await;

    assert_eq!(observation.outcome, Outcome::Ok, "{}", observation.detail);
    assert!(mx_data(&observation).implicit_mx);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].preference, 0);
    assert_eq!(records[0].exchange, "implicit.test");
    assert_eq!(records[0].addresses, ["127.0.0.20"]);
}

#[tokio::test]
async fn cname_exchange_and_ip_literal_are_flagged() {
    let mut config = LabDnsConfig::new();
    config
        .add_mx("odd.test", 10, "alias.odd.test")
        .add_mx("odd.test", 20, "127.0.0.31")
        .add_cname("alias.odd.test", "real.odd.test")
        .add_a("real.odd.test", ip("127.0.0.30"));
    let (_server, dns) = lab(config).await;

    let (observation, records) = dns.mx("odd.test").await;

    let data = mx_data(&observation);
    assert!(data.cname_exchange, "{}", observation.detail);
    assert!(data.ip_literal, "{}", observation.detail);
    assert_eq!(records[0].addresses, ["127.0.0.30"]);
    assert_eq!(records[1].exchange, "127.0.0.31");
    assert_eq!(records[1].addresses, ["127.0.0.31"]);
}

#[tokio::test]
async fn nxdomain_servfail_and_timeout_are_outcomes() {
    let mut config = LabDnsConfig::new();
    config
        .zone("gone.test")
        .servfail_zone("broken.test")
        .slow_zone("slow.test", Duration::from_secs(5));
    let server = LabDns::start(config, loopback()).await.unwrap();
    let dns = DnsClient::new(&[server.addr()], Duration::from_millis(500)).unwrap();

    let (missing, _) = dns.mx("nothing.gone.test").await;
    assert_eq!(missing.outcome, Outcome::Fail, "{}", missing.detail);
    assert!(missing.detail.contains("NXDOMAIN"), "{}", missing.detail);

    let (broken, _) = dns.mx("broken.test").await;
    assert_eq!(broken.outcome, Outcome::Error, "{}", broken.detail);
    assert!(broken.detail.contains("SERVFAIL"), "{}", broken.detail);

    let started = Instant::now();
    let (slow, _) = dns.mx("slow.test").await;
    assert_eq!(slow.outcome, Outcome::Timeout, "{}", slow.detail);
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn addresses_and_ptr() {
    let mut config = LabDnsConfig::new();
    config
        .add_a("mx1.example.test", ip("127.0.0.11"))
        // Documentation addresses: resolvers answer 127.in-addr.arpa themselves (RFC 6761).
        .add_ptr(ip("192.0.2.11"), "mx1.example.test");
    let (_server, dns) = lab(config).await;

    let (found, addresses) = dns.addresses("mx1.example.test").await;
    assert_eq!(found.check, "dns.a");
    assert_eq!(found.outcome, Outcome::Ok);
    assert_eq!(addresses, [ip("127.0.0.11")]);

    let (missing, none) = dns.addresses("nope.example.test").await;
    assert_eq!(missing.outcome, Outcome::Fail);
    assert!(none.is_empty());
    match &missing.data {
        Data::Dns(data) => {
            assert_eq!(data.response, "NXDOMAIN");
            assert_eq!(data.server, server_label(&dns));
        }
        other => panic!("expected DNS data, got {other:?}"),
    }

    let reverse = dns.ptr(ip("192.0.2.11")).await;
    assert_eq!(reverse.check, "dns.ptr");
    assert_eq!(reverse.outcome, Outcome::Ok, "{}", reverse.detail);
    assert!(
        reverse.detail.contains("mx1.example.test"),
        "{}",
        reverse.detail
    );

    let no_reverse = dns.ptr(ip("192.0.2.99")).await;
    assert_eq!(no_reverse.outcome, Outcome::Fail, "{}", no_reverse.detail);
}

fn server_label(dns: &DnsClient) -> String {
    dns.servers_label()
}

#[tokio::test]
async fn dnsbl_listed_with_reason() {
    let mut config = LabDnsConfig::new();
    config.listed_with_reason(
        "zen.lab.test",
        "192.0.2.1",
        Ipv4Addr::new(127, 0, 0, 2),
        "listed for testing",
    );
    let (_server, dns) = lab(config).await;

    let observation = dnsbl(&dns, "zen.lab.test", ip("192.0.2.1")).await;

    assert_eq!(observation.check, "dnsbl");
    assert_eq!(observation.subject, "zen.lab.test");
    assert_eq!(observation.outcome, Outcome::Fail);
    let data = listing(&observation);
    assert_eq!(data.verdict, "listed");
    assert_eq!(data.item, "192.0.2.1");
    assert_eq!(data.queried, "1.2.0.192.zen.lab.test");
    assert_eq!(data.answers, ["127.0.0.2"]);
    assert_eq!(data.reason.as_deref(), Some("listed for testing"));
}

#[tokio::test]
async fn dnsbl_not_listed_and_list_error() {
    let mut config = LabDnsConfig::new();
    config.zone("zen.lab.test").listed(
        "refusing.lab.test",
        "192.0.2.1",
        Ipv4Addr::new(127, 255, 255, 254),
    );
    let (_server, dns) = lab(config).await;

    let clean = dnsbl(&dns, "zen.lab.test", ip("192.0.2.1")).await;
    assert_eq!(clean.outcome, Outcome::Ok);
    assert_eq!(listing(&clean).verdict, "not_listed");

    let refused = dnsbl(&dns, "refusing.lab.test", ip("192.0.2.1")).await;
    assert_eq!(refused.outcome, Outcome::Inconclusive);
    assert_eq!(listing(&refused).verdict, "list_error");
}

#[tokio::test]
async fn dnsbl_ipv6_uses_nibbles() {
    let mut config = LabDnsConfig::new();
    config.listed("v6.lab.test", "2001:db8::1", Ipv4Addr::new(127, 0, 0, 3));
    let (_server, dns) = lab(config).await;

    let observation = dnsbl(&dns, "v6.lab.test", ip("2001:db8::1")).await;

    assert_eq!(listing(&observation).verdict, "listed");
    assert!(listing(&observation).queried.starts_with("1.0.0.0.0.0.0.0"));
}

#[tokio::test]
async fn dnsbl_slow_zone_latency_and_timeout() {
    let mut config = LabDnsConfig::new();
    config
        .slow_zone("slow.lab.test", Duration::from_millis(400))
        .slow_zone("dead.lab.test", Duration::from_secs(10));
    let server = LabDns::start(config, loopback()).await.unwrap();
    let dns = DnsClient::new(&[server.addr()], Duration::from_secs(1)).unwrap();

    let slow = dnsbl(&dns, "slow.lab.test", ip("192.0.2.1")).await;
    assert_eq!(slow.outcome, Outcome::Ok, "{}", slow.detail);
    assert!(
        slow.latency >= Duration::from_millis(400),
        "{:?}",
        slow.latency
    );

    let started = Instant::now();
    let dead = dnsbl(&dns, "dead.lab.test", ip("192.0.2.1")).await;
    assert_eq!(dead.outcome, Outcome::Timeout, "{}", dead.detail);
    assert_eq!(listing(&dead).verdict, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn surbl_listed_and_not_listed() {
    let mut config = LabDnsConfig::new();
    config.listed(
        "multi.surbl.lab.test",
        "bad.example",
        Ipv4Addr::new(127, 0, 0, 64),
    );
    let (_server, dns) = lab(config).await;

    let bad = surbl(&dns, "multi.surbl.lab.test", "Bad.Example.").await;
    assert_eq!(bad.check, "surbl");
    assert_eq!(bad.outcome, Outcome::Fail);
    assert_eq!(listing(&bad).queried, "bad.example.multi.surbl.lab.test");

    let good = surbl(&dns, "multi.surbl.lab.test", "good.example").await;
    assert_eq!(good.outcome, Outcome::Ok);
    assert_eq!(listing(&good).verdict, "not_listed");
}

#[tokio::test]
async fn thirty_lookups_run_concurrently() {
    let delay = Duration::from_secs(1);
    let mut config = LabDnsConfig::new();
    config
        .zone("fast.lab.test")
        .slow_zone("slow.lab.test", delay);
    let server = LabDns::start(config, loopback()).await.unwrap();
    let dns = DnsClient::new(&[server.addr()], Duration::from_secs(5)).unwrap();

    let started = Instant::now();
    let lookups = (0..30_u8).map(|n| {
        let zone = if n % 2 == 0 {
            "slow.lab.test"
        } else {
            "fast.lab.test"
        };
        dnsbl(&dns, zone, IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)))
    });
    let observations = futures_util::future::join_all(lookups).await;
    let elapsed = started.elapsed();

    assert!(observations.iter().all(|o| o.outcome == Outcome::Ok));
    assert!(elapsed < delay * 3, "30 lookups took {elapsed:?}");
}

#[tokio::test]
async fn lab_refuses_non_loopback_binds() {
    let result = LabDns::start(LabDnsConfig::new(), "0.0.0.0:0".parse().unwrap()).await;
    assert!(result.is_err());
}

#[tokio::test]
async fn a_server_that_is_not_there_is_an_outcome_not_a_hang() {
    let closed = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let timeout = Duration::from_millis(500);
    let dns = DnsClient::new(&[closed], timeout).unwrap();

    let started = Instant::now();
    let (observation, records) = dns.mx("example.test").await;

    assert!(records.is_empty());
    assert!(
        matches!(observation.outcome, Outcome::Error | Outcome::Timeout),
        "{observation:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
}

/// Regression (hostile suite): a zone publishing over a thousand MX records, each name with thousands
/// of addresses, made `check` resolve and probe every one (98 MiB, 4 s). Now the set is cut.
#[tokio::test]
async fn a_huge_mx_set_is_cut_to_the_most_preferred_hosts() {
    use mxdoctor_checks::dns::{MAX_ADDRESSES_PER_HOST, MAX_MX_EXCHANGES};
    use mxdoctor_lab::hostile::{DnsMisbehaviour, HostileDns};

    let server = HostileDns::start(loopback(), DnsMisbehaviour::Huge)
        .await
        .unwrap();
    // Generous: the crafted 64 KiB answers are slow to build and parse in a debug build.
    let patient = Duration::from_secs(20);
    let dns = DnsClient::new(&[server.addr()], patient).unwrap();

    let started = Instant::now();
    let (observation, records) = dns.mx("hostile.test").await;

    assert!(started.elapsed() < patient, "{:?}", started.elapsed());
    assert_eq!(records.len(), MAX_MX_EXCHANGES, "{}", observation.detail);
    assert!(
        records
            .iter()
            .all(|record| record.addresses.len() <= MAX_ADDRESSES_PER_HOST),
        "{records:?}"
    );
    assert_eq!(records[0].addresses.len(), MAX_ADDRESSES_PER_HOST);
    assert_eq!(records[0].exchange, "mx1.hostile.test");
    assert!(mx_data(&observation).count > 1_000);
    assert!(
        observation.detail.contains("only the 10 most preferred"),
        "{}",
        observation.detail
    );
    let asked = server.queries();
    assert!(
        asked <= 2 + 4 * MAX_MX_EXCHANGES,
        "{asked} queries for one MX set"
    );
}

/// Regression (hostile suite): a CNAME loop was reported as "no MX and no A/AAAA (NODATA)".
#[tokio::test]
async fn a_cname_loop_is_named() {
    let mut config = LabDnsConfig::new();
    config
        .zone("loop.test")
        .add_cname("a.loop.test", "b.loop.test")
        .add_cname("b.loop.test", "a.loop.test");
    let (_server, dns) = lab(config).await;

    let (observation, records) = dns.mx("a.loop.test").await;

    assert!(records.is_empty());
    assert_eq!(observation.outcome, Outcome::Fail, "{}", observation.detail);
    assert!(
        observation
            .detail
            .contains("CNAME loop (a.loop.test → b.loop.test → a.loop.test)"),
        "{}",
        observation.detail
    );
}
