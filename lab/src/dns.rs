//! A small authoritative DNS server on loopback: MX sets, addresses, block-list zones, slow and broken
//! zones, so DNS and DNSBL probes are tested (and demonstrated) without the internet.
//!
//! Built on hickory-proto's message codec only. Every record has TTL 0, so resolvers never cache
//! across tests; negative answers carry an SOA with minimum 0 for the same reason.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

use crate::dnssec::RootSigner;
use mxdoctor_checks::dns::reverse_name;

/// EDNS payload size we advertise and honour (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;
/// A TCP client that sends nothing for this long is dropped.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// CNAME chains longer than this are answered as far as they got.
const MAX_CNAME_HOPS: usize = 8;

/// Refuses any address outside 127.0.0.0/8: the lab must never listen on a real network.
pub(crate) fn require_loopback(bind: SocketAddr) -> io::Result<()> {
    match bind.ip() {
        IpAddr::V4(v4) if v4.is_loopback() => Ok(()),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("lab servers bind to 127.0.0.0/8 only, not {other}"),
        )),
    }
}

#[derive(Debug, Clone)]
enum LabData {
    Address(IpAddr),
    Mx(u16, String),
    Cname(String),
    Txt(String),
    Ptr(String),
    /// usage, selector, matching type, certificate association data
    Tlsa(u8, u8, u8, Vec<u8>),
}

/// A resolver that lies, the way sandboxes, captive portals and ISPs do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lie {
    /// NXDOMAIN for every name, the root zone included.
    NxDomainForEverything,
    /// The lab's real answers, but every NXDOMAIN for an A query becomes this address.
    RewriteNxDomain(Ipv4Addr),
}

/// What the lab DNS server knows: records, zones, and zones that misbehave on purpose.
///
/// It serves the root zone too (SOA and NS at `.`, NXDOMAIN for names no zone holds), so it looks
/// like a resolver that sees a real DNS tree — what `check` asks before it believes any negative.
#[derive(Debug, Clone, Default)]
pub struct LabDnsConfig {
    records: Vec<(String, LabData)>,
    zones: Vec<String>,
    slow: Vec<(String, Duration)>,
    servfail: Vec<String>,
    lie: Option<Lie>,
    signed_root: bool,
}

impl LabDnsConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a zone: unknown names under it get NXDOMAIN instead of REFUSED.
    ///
    /// Zones are also implied by records: a record's owner minus its first label (or the owner
    /// itself when it has two labels or fewer), an MX owner, a listing zone, a slow or failing suffix.
    /// `in-addr.arpa` and `ip6.arpa` are always zones.
    pub fn zone(&mut self, apex: &str) -> &mut Self {
        self.zones.push(apex.to_owned());
        self
    }

    pub fn add_mx(&mut self, domain: &str, preference: u16, exchange: &str) -> &mut Self {
        self.zones.push(domain.to_owned());
        self.records.push((
            domain.to_owned(),
            LabData::Mx(preference, exchange.to_owned()),
        ));
        self
    }

    /// RFC 7505 null MX: `domain MX 0 .`.
    pub fn null_mx(&mut self, domain: &str) -> &mut Self {
        self.add_mx(domain, 0, ".")
    }

    /// An A or AAAA record, by the address family of `ip`.
    pub fn add_a(&mut self, name: &str, ip: IpAddr) -> &mut Self {
        self.records.push((name.to_owned(), LabData::Address(ip)));
        self
    }

    pub fn add_cname(&mut self, name: &str, target: &str) -> &mut Self {
        self.records
            .push((name.to_owned(), LabData::Cname(target.to_owned())));
        self
    }

    pub fn add_txt(&mut self, name: &str, text: &str) -> &mut Self {
        self.records
            .push((name.to_owned(), LabData::Txt(text.to_owned())));
        self
    }

    /// A TLSA record (RFC 6698), e.g. at `_25._tcp.MXHOST`.
    pub fn add_tlsa(
        &mut self,
        name: &str,
        usage: u8,
        selector: u8,
        matching: u8,
        data: Vec<u8>,
    ) -> &mut Self {
        self.records.push((
            name.to_owned(),
            LabData::Tlsa(usage, selector, matching, data),
        ));
        self
    }

    pub fn add_ptr(&mut self, ip: IpAddr, name: &str) -> &mut Self {
        self.records
            .push((reverse_name(ip), LabData::Ptr(name.to_owned())));
        self
    }

    /// Lists `item` (an IP address, reversed as RFC 5782 says, or a domain) in list `zone` with `answer`.
    pub fn listed(&mut self, zone: &str, item: &str, answer: Ipv4Addr) -> &mut Self {
        let owner = listing_name(zone, item);
        self.zones.push(zone.to_owned());
        self.records
            .push((owner, LabData::Address(IpAddr::V4(answer))));
        self
    }

    /// [`Self::listed`] plus the TXT record lists publish to explain a listing.
    pub fn listed_with_reason(
        &mut self,
        zone: &str,
        item: &str,
        answer: Ipv4Addr,
        reason: &str,
    ) -> &mut Self {
        self.listed(zone, item, answer);
        self.records
            .push((listing_name(zone, item), LabData::Txt(reason.to_owned())));
        self
    }

    /// Every answer under `suffix` is sent only after `delay` (other queries are not held up).
    pub fn slow_zone(&mut self, suffix: &str, delay: Duration) -> &mut Self {
        self.zones.push(suffix.to_owned());
        self.slow.push((suffix.to_owned(), delay));
        self
    }

    /// Every query under `suffix` gets SERVFAIL.
    pub fn servfail_zone(&mut self, suffix: &str) -> &mut Self {
        self.zones.push(suffix.to_owned());
        self.servfail.push(suffix.to_owned());
        self
    }

    /// Signs the root zone with a key made at start ([`LabDns::trust_anchor`]) and answers every DS
    /// question with a signed proof that the child is unsigned: every lab zone validates as
    /// insecure from that anchor (`crate::dnssec`).
    pub fn sign_root(&mut self) -> &mut Self {
        self.signed_root = true;
        self
    }

    /// Answers NXDOMAIN for every name, even the root zone: a resolver that sees no public DNS.
    pub fn nxdomain_for_everything(&mut self) -> &mut Self {
        self.lie = Some(Lie::NxDomainForEverything);
        self
    }

    /// Answers `address` for every A query that would be NXDOMAIN: an NXDOMAIN-rewriting resolver.
    pub fn rewrite_nxdomain(&mut self, address: Ipv4Addr) -> &mut Self {
        self.lie = Some(Lie::RewriteNxDomain(address));
        self
    }

    fn compile(&self) -> io::Result<Authority> {
        let mut records = Vec::with_capacity(self.records.len());
        let mut zones = vec![
            Name::root(),
            parse_name("in-addr.arpa")?,
            parse_name("ip6.arpa")?,
        ];
        for apex in &self.zones {
            zones.push(parse_name(apex)?);
        }
        for (owner, data) in &self.records {
            let owner = parse_name(owner)?;
            let rdata = match data {
                LabData::Address(IpAddr::V4(v4)) => RData::A(A(*v4)),
                LabData::Address(IpAddr::V6(v6)) => RData::AAAA(AAAA(*v6)),
                LabData::Mx(preference, exchange) => {
                    RData::MX(MX::new(*preference, parse_name(exchange)?))
                }
                LabData::Cname(target) => RData::CNAME(CNAME(parse_name(target)?)),
                LabData::Txt(text) => RData::TXT(TXT::new(split_txt(text))),
                LabData::Ptr(target) => RData::PTR(PTR(parse_name(target)?)),
                LabData::Tlsa(usage, selector, matching, data) => RData::TLSA(TLSA::new(
                    (*usage).into(),
                    (*selector).into(),
                    (*matching).into(),
                    data.clone(),
                )),
            };
            let implied_zone = if owner.num_labels() > 2 {
                owner.base_name()
            } else {
                owner.clone()
            };
            zones.push(implied_zone);
            records.push(Record::from_rdata(owner, 0, rdata));
        }
        zones.sort();
        zones.dedup();
        let mut by_owner: HashMap<Name, Vec<usize>> = HashMap::new();
        let mut names_in_use: HashSet<Name> = HashSet::new();
        for (index, record) in records.iter().enumerate() {
            by_owner.entry(record.name.clone()).or_default().push(index);
            let mut name = record.name.clone();
            while name.num_labels() > 0 && names_in_use.insert(name.clone()) {
                name = name.base_name();
            }
        }
        Ok(Authority {
            records,
            zones: zones.into_iter().collect(),
            by_owner,
            names_in_use,
            slow: self
                .slow
                .iter()
                .map(|(suffix, delay)| Ok((parse_name(suffix)?, *delay)))
                .collect::<io::Result<_>>()?,
            servfail: self
                .servfail
                .iter()
                .map(|suffix| parse_name(suffix))
                .collect::<io::Result<_>>()?,
            lie: self.lie,
            root_signer: if self.signed_root {
                Some(RootSigner::generate()?)
            } else {
                None
            },
        })
    }
}

fn listing_name(zone: &str, item: &str) -> String {
    let zone = zone.trim_matches('.');
    match item.parse::<IpAddr>() {
        Ok(ip) => format!("{}.{zone}", mxdoctor_checks::dns::reversed_labels(ip)),
        Err(_) => format!("{}.{zone}", item.trim_matches('.')),
    }
}

fn parse_name(name: &str) -> io::Result<Name> {
    let mut parsed = Name::from_utf8(name.trim_end_matches('.')).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad DNS name {name:?}: {error}"),
        )
    })?;
    parsed.set_fqdn(true);
    Ok(parsed.to_lowercase())
}

/// TXT character-strings hold at most 255 bytes each; longer texts are split.
fn split_txt(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for character in text.chars() {
        if current.len() + character.len_utf8() > 255 {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(character);
    }
    chunks.push(current);
    chunks
}

/// The compiled configuration; answers queries without I/O.
#[derive(Debug)]
struct Authority {
    records: Vec<Record>,
    /// Indexed so a lab of 10,000 domains (the fleet bench) answers as fast as one of ten.
    zones: HashSet<Name>,
    /// Record indices by owner name.
    by_owner: HashMap<Name, Vec<usize>>,
    /// Every record owner and every ancestor of one: names that exist (NODATA, not NXDOMAIN).
    names_in_use: HashSet<Name>,
    slow: Vec<(Name, Duration)>,
    servfail: Vec<Name>,
    lie: Option<Lie>,
    root_signer: Option<RootSigner>,
}

impl Authority {
    /// The response to `request` and how long to hold it back, after the configured lie if any.
    fn answer(&self, request: &Message) -> (Message, Option<Duration>) {
        let (mut response, delay) = self.answer_truthfully(request);
        match (self.lie, request.queries.as_slice()) {
            (Some(Lie::NxDomainForEverything), [_]) => {
                response.answers.clear();
                response.authorities = vec![soa_for(&Name::root())];
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            (Some(Lie::RewriteNxDomain(address)), [query])
                if response.metadata.response_code == ResponseCode::NXDomain
                    && query.query_type() == RecordType::A =>
            {
                response.authorities.clear();
                response.answers = vec![Record::from_rdata(
                    query.name().clone(),
                    0,
                    RData::A(A(address)),
                )];
                response.metadata.response_code = ResponseCode::NoError;
            }
            _ => {}
        }
        (response, delay)
    }

    /// The response to `request` from the configured data, and how long to hold it back.
    fn answer_truthfully(&self, request: &Message) -> (Message, Option<Duration>) {
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.authoritative = true;
        response.queries.clone_from(&request.queries);
        if request.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_PAYLOAD);
            response.edns = Some(edns);
        }
        if request.metadata.message_type != MessageType::Query
            || request.metadata.op_code != OpCode::Query
        {
            response.metadata.response_code = ResponseCode::NotImp;
            return (response, None);
        }
        let [query] = request.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return (response, None);
        };
        let qname = query.name().to_lowercase();
        let qtype = query.query_type();

        let delay = self
            .slow
            .iter()
            .filter(|(suffix, _)| suffix.zone_of(&qname))
            .map(|(_, delay)| *delay)
            .max();
        if self.servfail.iter().any(|suffix| suffix.zone_of(&qname)) {
            response.metadata.response_code = ResponseCode::ServFail;
            return (response, delay);
        }
        if let Some(signer) = &self.root_signer {
            if qtype == RecordType::DS && !qname.is_root() {
                response.authorities = signer.no_ds_proof(&qname, soa_for(&Name::root()));
                return (response, delay);
            }
            if qtype == RecordType::DNSKEY && qname.is_root() {
                response.answers = signer.dnskey_answer();
                return (response, delay);
            }
        }
        let Some(zone) = self.deepest_zone(&qname) else {
            response.metadata.response_code = ResponseCode::Refused;
            return (response, delay);
        };

        let mut current = qname.clone();
        for _ in 0..MAX_CNAME_HOPS {
            let at_name: Vec<&Record> = self
                .by_owner
                .get(&current)
                .map(|indices| indices.iter().map(|&i| &self.records[i]).collect())
                .unwrap_or_default();
            let matching: Vec<&Record> = at_name
                .iter()
                .copied()
                .filter(|record| qtype == RecordType::ANY || record.record_type() == qtype)
                .collect();
            if !matching.is_empty() {
                response.answers.extend(matching.into_iter().cloned());
                break;
            }
            let alias = at_name.iter().find_map(|record| match &record.data {
                RData::CNAME(target) if qtype != RecordType::CNAME => {
                    Some(((*record).clone(), target.0.clone()))
                }
                _ => None,
            });
            let Some((alias_record, target)) = alias else {
                break;
            };
            response.answers.push(alias_record);
            current = target.to_lowercase();
        }

        if response.answers.is_empty() && zone == qname {
            match qtype {
                RecordType::SOA => response.answers.push(soa_for(&zone)),
                RecordType::NS => response.answers.push(ns_for(&zone)),
                _ => {}
            }
        }
        if response.answers.is_empty() {
            let name_exists = zone == qname || self.names_in_use.contains(&qname);
            if !name_exists {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            response.authorities.push(soa_for(&zone));
        }
        (response, delay)
    }

    /// The longest declared zone that `name` is in.
    fn deepest_zone(&self, name: &Name) -> Option<Name> {
        let mut candidate = name.clone();
        loop {
            if self.zones.contains(&candidate) {
                return Some(candidate);
            }
            if candidate.num_labels() == 0 {
                return None;
            }
            candidate = candidate.base_name();
        }
    }
}

fn soa_for(zone: &Name) -> Record {
    let server = zone.prepend_label("ns").unwrap_or_else(|_| zone.clone());
    let mailbox = zone
        .prepend_label("hostmaster")
        .unwrap_or_else(|_| zone.clone());
    Record::from_rdata(
        zone.clone(),
        0,
        RData::SOA(SOA::new(server, mailbox, 1, 3600, 600, 86_400, 0)),
    )
}

fn ns_for(zone: &Name) -> Record {
    let server = zone.prepend_label("ns").unwrap_or_else(|_| zone.clone());
    Record::from_rdata(zone.clone(), 0, RData::NS(NS(server)))
}

/// The encoded response, truncated (TC bit) when it exceeds what the client can take over UDP.
fn encode_for_udp(response: &Message, request: &Message) -> Option<Vec<u8>> {
    let limit = request
        .edns
        .as_ref()
        .map_or(512, |edns| edns.max_payload().clamp(512, EDNS_PAYLOAD));
    let bytes = response.to_vec().ok()?;
    if bytes.len() <= usize::from(limit) {
        Some(bytes)
    } else {
        response.truncate().to_vec().ok()
    }
}

/// A running lab DNS server (UDP and TCP on the same port); it stops when dropped.
pub struct LabDns {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    trust_anchor: Option<String>,
}

impl LabDns {
    /// Binds `bind` (127.0.0.0/8 only; port 0 picks a free port) and starts answering.
    pub async fn start(config: LabDnsConfig, bind: SocketAddr) -> io::Result<Self> {
        require_loopback(bind)?;
        let authority = Arc::new(config.compile()?);
        let trust_anchor = authority.root_signer.as_ref().map(RootSigner::anchor_text);
        let (udp, tcp) = bind_udp_and_tcp(bind).await?;
        let addr = udp.local_addr()?;
        let tasks = vec![
            tokio::spawn(serve_udp(udp, Arc::clone(&authority))),
            tokio::spawn(serve_tcp(tcp, authority)),
        ];
        Ok(Self {
            addr,
            tasks,
            trust_anchor,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// With [`LabDnsConfig::sign_root`]: the root's DNSKEY record (zone-file line), to be passed
    /// as `--dnssec-trust-anchor`.
    pub fn trust_anchor(&self) -> Option<&str> {
        self.trust_anchor.as_deref()
    }
}

impl Drop for LabDns {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// UDP and TCP on one port; with port 0 the OS picks the UDP port, and TCP may find it taken.
pub(crate) async fn bind_udp_and_tcp(bind: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let attempts = if bind.port() == 0 { 16 } else { 1 };
    let mut last_error = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(bind).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("could not bind the lab DNS server")))
}

async fn serve_udp(socket: UdpSocket, authority: Arc<Authority>) {
    let socket = Arc::new(socket);
    // Owned here so aborting this task (on drop) aborts the delayed answers too.
    let mut in_flight = JoinSet::new();
    let mut buffer = vec![0_u8; 4096];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        while in_flight.try_join_next().is_some() {}
        let Ok(request) = Message::from_vec(&buffer[..length]) else {
            continue;
        };
        let (response, delay) = authority.answer(&request);
        let Some(bytes) = encode_for_udp(&response, &request) else {
            continue;
        };
        let socket = Arc::clone(&socket);
        in_flight.spawn(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let _ = socket.send_to(&bytes, peer).await;
        });
    }
}

async fn serve_tcp(listener: TcpListener, authority: Arc<Authority>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_tcp_connection(stream, Arc::clone(&authority)));
    }
}

/// One length-prefixed DNS message from a TCP client (RFC 1035 §4.2.2); `None` when the client is
/// silent for `patience` at either step or the connection ends.
pub(crate) async fn read_tcp_frame(stream: &mut TcpStream, patience: Duration) -> Option<Vec<u8>> {
    let Ok(Ok(length)) = tokio::time::timeout(patience, stream.read_u16()).await else {
        return None;
    };
    let mut frame = vec![0_u8; usize::from(length)];
    match tokio::time::timeout(patience, stream.read_exact(&mut frame)).await {
        Ok(Ok(_)) => Some(frame),
        _ => None,
    }
}

async fn serve_tcp_connection(mut stream: TcpStream, authority: Arc<Authority>) {
    loop {
        let Some(request_bytes) = read_tcp_frame(&mut stream, TCP_IDLE).await else {
            return;
        };
        let Ok(request) = Message::from_vec(&request_bytes) else {
            return;
        };
        let (response, delay) = authority.answer(&request);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let Ok(bytes) = response.to_vec() else {
            return;
        };
        let Ok(length) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(&bytes);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Query;

    use super::*;

    fn ask(authority: &Authority, name: &str, record_type: RecordType) -> Message {
        let mut request = Message::query();
        request.add_query(Query::query(parse_name(name).unwrap(), record_type));
        authority.answer(&request).0
    }

    fn lab() -> Authority {
        let mut config = LabDnsConfig::new();
        config
            .add_mx("example.test", 10, "mx1.example.test")
            .add_a("mx1.example.test", "127.0.0.1".parse().unwrap())
            .add_cname("alias.example.test", "mx1.example.test")
            .slow_zone("slow.test", Duration::from_secs(1))
            .servfail_zone("broken.test");
        config.compile().unwrap()
    }

    #[test]
    fn answers_known_records_with_ttl_zero() {
        let response = ask(&lab(), "example.test", RecordType::MX);
        assert_eq!(response.metadata.response_code, ResponseCode::NoError);
        assert_eq!(response.answers.len(), 1);
        assert_eq!(response.answers[0].ttl, 0);
    }

    #[test]
    fn nodata_nxdomain_and_refused_are_told_apart() {
        let authority = lab();
        let nodata = ask(&authority, "mx1.example.test", RecordType::AAAA);
        assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
        assert!(nodata.answers.is_empty());
        assert_eq!(nodata.authorities.len(), 1);
        let missing = ask(&authority, "nope.example.test", RecordType::A);
        assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
        let outside = ask(&authority, "example.org", RecordType::A);
        assert_eq!(outside.metadata.response_code, ResponseCode::NXDomain);
    }

    #[test]
    fn the_root_zone_is_served_like_a_real_tree() {
        let authority = lab();
        for record_type in [RecordType::SOA, RecordType::NS] {
            let root = ask(&authority, ".", record_type);
            assert_eq!(root.metadata.response_code, ResponseCode::NoError);
            assert_eq!(root.answers[0].record_type(), record_type);
        }
        let canary = ask(&authority, "mxdoctor-canary-1234", RecordType::A);
        assert_eq!(canary.metadata.response_code, ResponseCode::NXDomain);
    }

    #[test]
    fn lying_resolvers() {
        let mut config = LabDnsConfig::new();
        config.add_a("mx1.example.test", "127.0.0.1".parse().unwrap());
        let mut nx = config.clone();
        let nx = nx.nxdomain_for_everything().compile().unwrap();
        for name in [".", "mx1.example.test"] {
            let response = ask(&nx, name, RecordType::SOA);
            assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
            assert!(response.answers.is_empty());
        }
        let rewriting = config
            .rewrite_nxdomain(Ipv4Addr::new(127, 0, 0, 53))
            .compile()
            .unwrap();
        let invented = ask(&rewriting, "no-such-name.example.org", RecordType::A);
        assert_eq!(invented.metadata.response_code, ResponseCode::NoError);
        assert_eq!(invented.answers.len(), 1);
        let real = ask(&rewriting, ".", RecordType::SOA);
        assert_eq!(real.answers[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn cname_is_followed_inside_the_data() {
        let response = ask(&lab(), "alias.example.test", RecordType::A);
        let types: Vec<RecordType> = response.answers.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::CNAME, RecordType::A]);
    }

    #[test]
    fn misbehaving_zones() {
        let authority = lab();
        let mut request = Message::query();
        request.add_query(Query::query(
            parse_name("x.slow.test").unwrap(),
            RecordType::A,
        ));
        assert_eq!(authority.answer(&request).1, Some(Duration::from_secs(1)));
        let broken = ask(&authority, "x.broken.test", RecordType::A);
        assert_eq!(broken.metadata.response_code, ResponseCode::ServFail);
    }

    #[test]
    fn a_signed_root_proves_every_child_unsigned() {
        let mut config = LabDnsConfig::new();
        config
            .add_mx("example.test", 10, "mx1.example.test")
            .sign_root();
        let authority = config.compile().unwrap();
        let keys = ask(&authority, ".", RecordType::DNSKEY);
        let types: Vec<RecordType> = keys.answers.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::DNSKEY, RecordType::RRSIG]);
        let no_ds = ask(&authority, "example.test", RecordType::DS);
        assert_eq!(no_ds.metadata.response_code, ResponseCode::NoError);
        assert!(no_ds.answers.is_empty());
        let types: Vec<RecordType> = no_ds.authorities.iter().map(Record::record_type).collect();
        assert_eq!(
            types,
            [
                RecordType::NSEC,
                RecordType::RRSIG,
                RecordType::SOA,
                RecordType::RRSIG
            ]
        );
        for response in [&keys, &no_ds] {
            let bytes = response.to_vec().expect("the signed answer encodes");
            assert!(Message::from_vec(&bytes).is_ok());
        }
        let anchor = authority.root_signer.as_ref().unwrap().anchor_text();
        assert!(anchor.contains(". IN DNSKEY 257 3 15 "), "{anchor}");
    }

    #[test]
    fn refuses_non_loopback_binds() {
        assert!(require_loopback("0.0.0.0:53".parse().unwrap()).is_err());
        assert!(require_loopback("127.0.0.9:0".parse().unwrap()).is_ok());
    }

    #[test]
    fn long_txt_is_split_into_character_strings() {
        let chunks = split_txt(&"x".repeat(600));
        assert_eq!(
            chunks.iter().map(String::len).collect::<Vec<_>>(),
            [255, 255, 90]
        );
    }
}
