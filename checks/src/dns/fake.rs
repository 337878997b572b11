//! A resolver answering from a table, and the DNS probes' unit tests against it: no socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

use super::lookup::{DnsLookup, LookupFailure};
use super::{DnsClient, MAX_MX_EXCHANGES};
use mxdoctor_model::observation::{Data, MxData, Outcome};

/// Answers by (fully qualified name, type); a question not in the table is NXDOMAIN.
#[derive(Default)]
pub struct FakeLookup {
    answers: HashMap<(String, RecordType), Result<Vec<RData>, LookupFailure>>,
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("valid test name")
}

impl FakeLookup {
    fn answer(mut self, owner: &str, record_type: RecordType, data: Vec<RData>) -> Self {
        self.answers
            .insert((format!("{owner}."), record_type), Ok(data));
        self
    }

    fn fail(mut self, owner: &str, record_type: RecordType, failure: LookupFailure) -> Self {
        self.answers
            .insert((format!("{owner}."), record_type), Err(failure));
        self
    }

    fn client(self) -> DnsClient<Self> {
        let server: SocketAddr = "127.0.0.110:53".parse().expect("address");
        DnsClient::with_lookup(self, &[server], Duration::from_secs(2))
    }
}

impl DnsLookup for FakeLookup {
    async fn lookup(
        &self,
        fqdn: &str,
        record_type: RecordType,
    ) -> Result<Vec<Record>, LookupFailure> {
        match self.answers.get(&(fqdn.to_string(), record_type)) {
            None => Err(LookupFailure::NxDomain),
            Some(Err(failure)) => Err(failure.clone()),
            Some(Ok(data)) => Ok(data
                .iter()
                .map(|rdata| Record::from_rdata(name(fqdn), 300, rdata.clone()))
                .collect()),
        }
    }
}

fn mx(preference: u16, exchange: &str) -> RData {
    RData::MX(MX::new(preference, name(exchange)))
}

fn a(address: &str) -> RData {
    RData::A(A(address.parse().expect("IPv4")))
}

fn mx_data(data: &Data) -> &MxData {
    match data {
        Data::Mx(mx) => mx,
        other => panic!("not MX data: {other:?}"),
    }
}

#[tokio::test]
async fn an_mx_set_is_resolved_in_preference_order() {
    let dns = FakeLookup::default()
        .answer(
            "example.test",
            RecordType::MX,
            vec![mx(20, "mx2.example.test."), mx(10, "mx1.example.test.")],
        )
        .answer("mx1.example.test", RecordType::A, vec![a("192.0.2.1")])
        .answer(
            "mx1.example.test",
            RecordType::AAAA,
            vec![RData::AAAA(AAAA("2001:db8::1".parse().expect("IPv6")))],
        )
        .answer("mx2.example.test", RecordType::A, vec![a("192.0.2.2")])
        .answer("mx2.example.test", RecordType::AAAA, vec![])
        .client();
    let (observation, records) = dns.mx("Example.Test.").await;
    assert_eq!(observation.outcome, Outcome::Ok, "{}", observation.detail);
    assert_eq!(observation.subject, "example.test");
    let exchanges: Vec<(u16, &str)> = records
        .iter()
        .map(|r| (r.preference, r.exchange.as_str()))
        .collect();
    assert_eq!(
        exchanges,
        [(10, "mx1.example.test"), (20, "mx2.example.test")]
    );
    assert_eq!(records[0].addresses, ["192.0.2.1", "2001:db8::1"]);
    assert_eq!(mx_data(&observation.data).count, 2);
    assert!(
        observation
            .detail
            .contains("10 mx1.example.test, 20 mx2.example.test")
    );
}

#[tokio::test]
async fn a_null_mx_says_the_domain_takes_no_mail() {
    let dns = FakeLookup::default()
        .answer("example.test", RecordType::MX, vec![mx(0, ".")])
        .client();
    let (observation, _) = dns.mx("example.test").await;
    assert_eq!(observation.outcome, Outcome::Fail);
    assert!(mx_data(&observation.data).null_mx);
}

#[tokio::test]
async fn nxdomain_fails_and_servfail_is_an_error_naming_the_server() {
    let (missing, records) = FakeLookup::default().client().mx("gone.test").await;
    assert_eq!(missing.outcome, Outcome::Fail);
    assert!(
        missing.detail.contains("does not exist"),
        "{}",
        missing.detail
    );
    assert!(records.is_empty());

    let (broken, _) = FakeLookup::default()
        .fail(
            "example.test",
            RecordType::MX,
            LookupFailure::Code(ResponseCode::ServFail),
        )
        .client()
        .mx("example.test")
        .await;
    assert_eq!(broken.outcome, Outcome::Error);
    assert!(
        broken.detail.contains("127.0.0.110:53"),
        "{}",
        broken.detail
    );
    assert!(broken.detail.contains("SERVFAIL"), "{}", broken.detail);
}

#[tokio::test]
async fn no_mx_falls_back_to_the_domains_own_address() {
    let dns = FakeLookup::default()
        .answer("example.test", RecordType::MX, vec![])
        .answer("example.test", RecordType::A, vec![a("192.0.2.7")])
        .answer("example.test", RecordType::AAAA, vec![])
        .client();
    let (observation, records) = dns.mx("example.test").await;
    assert_eq!(observation.outcome, Outcome::Ok);
    assert!(mx_data(&observation.data).implicit_mx);
    assert_eq!(records[0].addresses, ["192.0.2.7"]);
}

#[tokio::test]
async fn a_cname_loop_is_named() {
    let alias = |target: &str| vec![RData::CNAME(CNAME(name(target)))];
    let dns = FakeLookup::default()
        .answer("example.test", RecordType::MX, vec![])
        .answer("example.test", RecordType::A, vec![])
        .answer("example.test", RecordType::AAAA, vec![])
        .answer("example.test", RecordType::CNAME, alias("b.example.test."))
        .answer("b.example.test", RecordType::CNAME, alias("example.test."))
        .client();
    let (observation, _) = dns.mx("example.test").await;
    assert_eq!(observation.outcome, Outcome::Fail);
    assert!(
        observation
            .detail
            .contains("CNAME loop (example.test → b.example.test → example.test)"),
        "{}",
        observation.detail
    );
}

#[tokio::test]
async fn a_huge_mx_set_is_cut_to_the_most_preferred() {
    let records: Vec<RData> = (0..25_u16)
        .map(|n| mx(n, &format!("mx{n}.example.test.")))
        .collect();
    let mut fake = FakeLookup::default().answer("example.test", RecordType::MX, records);
    for n in 0..25 {
        fake = fake.answer(
            &format!("mx{n}.example.test"),
            RecordType::A,
            vec![a("192.0.2.9")],
        );
    }
    let (observation, records) = fake.client().mx("example.test").await;
    assert_eq!(records.len(), MAX_MX_EXCHANGES);
    assert_eq!(records.last().map(|r| r.preference), Some(9));
    assert_eq!(mx_data(&observation.data).count, 25);
    assert!(observation.detail.contains("25 MX records published"));
}

#[tokio::test]
async fn ip_literal_and_unresolvable_exchanges_are_flagged() {
    let dns = FakeLookup::default()
        .answer(
            "example.test",
            RecordType::MX,
            vec![mx(10, "192.0.2.5."), mx(20, "nowhere.example.test.")],
        )
        .client();
    let (observation, records) = dns.mx("example.test").await;
    assert_eq!(observation.outcome, Outcome::Ok, "one exchange resolves");
    assert!(mx_data(&observation.data).ip_literal);
    assert!(records[1].addresses.is_empty());
    assert!(
        observation
            .detail
            .contains("exchange nowhere.example.test has no address (NXDOMAIN)"),
        "{}",
        observation.detail
    );
}

#[tokio::test]
async fn an_error_beats_a_negative_answer_for_a_hosts_addresses() {
    let dns = FakeLookup::default()
        .answer("mx.example.test", RecordType::A, vec![])
        .fail("mx.example.test", RecordType::AAAA, LookupFailure::Timeout)
        .client();
    let (observation, addresses) = dns.addresses("mx.example.test").await;
    assert!(addresses.is_empty());
    assert_eq!(observation.outcome, Outcome::Timeout);
    assert!(
        observation.detail.contains("(timeout)"),
        "{}",
        observation.detail
    );
}

#[tokio::test]
async fn a_reverse_name_is_found_or_its_absence_is_a_failure() {
    let dns = FakeLookup::default()
        .answer(
            "1.2.0.192.in-addr.arpa",
            RecordType::PTR,
            vec![RData::PTR(PTR(name("mx1.example.test.")))],
        )
        .client();
    let found = dns.ptr("192.0.2.1".parse().expect("IP")).await;
    assert_eq!(found.outcome, Outcome::Ok);
    assert_eq!(found.detail, "192.0.2.1 reverses to mx1.example.test");
    let missing = dns.ptr("192.0.2.2".parse().expect("IP")).await;
    assert_eq!(missing.outcome, Outcome::Fail);
    assert!(missing.detail.contains("NXDOMAIN"));
}
