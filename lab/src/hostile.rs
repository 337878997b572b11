//! Hostile peers for the hardening suite: a raw TCP server that plays a script (bytes, trickles,
//! floods, pauses, closes) and a raw DNS responder (UDP and TCP) that answers with crafted packets.
//!
//! Unlike the other lab servers these break protocols on purpose, to prove that every probe ends in
//! time, says what it saw and stays small. They bind only to 127.0.0.0/8, count the connections they
//! accept (so tests can check that probes stay polite) and stop when their handle is dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::dns::read_tcp_frame;
use tokio::task::{JoinHandle, JoinSet};

use crate::dns::require_loopback;

/// Longest client line (or request head) a script reads before giving up on the client.
const MAX_CLIENT_BYTES: usize = 64 * 1024;
/// How long a script waits for the client at a read step, and how long [`Step::Hold`] holds.
const CLIENT_PATIENCE: Duration = Duration::from_secs(60);
/// Largest DNS message over TCP (two-byte length prefix).
const MAX_TCP_MESSAGE: usize = 65_535;

/// One step of what the scripted server does on every connection; the connection closes after the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Send these bytes one at a time, `interval` apart (a tarpit).
    Trickle {
        bytes: Vec<u8>,
        interval: Duration,
    },
    /// Send `chunk` again and again until `total` bytes have gone or the client leaves; memory stays
    /// one chunk however large `total` is (`u64::MAX`: forever).
    Flood {
        chunk: Vec<u8>,
        total: u64,
    },
    Pause(Duration),
    /// Wait for one line from the client and discard it.
    ReadLine,
    /// Read and discard until the client has sent `marker` (e.g. the blank line ending an HTTP head).
    ReadUntil(Vec<u8>),
    /// Answer each client line by its first word (case-insensitive; `""` answers anything else),
    /// until the client leaves or an answer closes the connection.
    Converse(Vec<Answer>),
    /// Say nothing; read and discard until the client closes.
    Hold,
}

/// A canned answer for [`Step::Converse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub verb: String,
    pub bytes: Vec<u8>,
    /// Once `bytes` are out, wait this long and send these too (so they arrive as a separate read).
    pub later: Option<(Duration, Vec<u8>)>,
    /// Close the connection after sending `bytes` (and `later`).
    pub close: bool,
}

impl Answer {
    pub fn new(verb: &str, bytes: &[u8]) -> Self {
        Self {
            verb: verb.to_owned(),
            bytes: bytes.to_vec(),
            later: None,
            close: false,
        }
    }

    /// Also sends `bytes` after `pause`, e.g. a TLS alert once the client has started its handshake.
    #[must_use]
    pub fn then_after(mut self, pause: Duration, bytes: &[u8]) -> Self {
        self.later = Some((pause, bytes.to_vec()));
        self
    }

    /// Sends `bytes`, then closes the connection.
    pub fn closing(verb: &str, bytes: &[u8]) -> Self {
        Self {
            close: true,
            ..Self::new(verb, bytes)
        }
    }
}

/// Connection counts of a hostile server, for politeness checks.
#[derive(Debug, Default)]
pub struct ConnectionCounter {
    open: AtomicUsize,
    total: AtomicUsize,
    most_at_once: AtomicUsize,
}

impl ConnectionCounter {
    /// Connections accepted since the server started.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// The most connections that were open at the same time.
    pub fn most_at_once(&self) -> usize {
        self.most_at_once.load(Ordering::SeqCst)
    }

    /// Counts one accepted connection until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> OpenConnection {
        self.total.fetch_add(1, Ordering::SeqCst);
        let now_open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now_open, Ordering::SeqCst);
        OpenConnection(Arc::clone(self))
    }
}

/// One open connection of a [`ConnectionCounter`]; dropping it closes the count.
#[derive(Debug)]
pub struct OpenConnection(Arc<ConnectionCounter>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running scripted TCP server; dropping it stops the server and every connection.
pub struct HostileTcp {
    addr: SocketAddr,
    counter: Arc<ConnectionCounter>,
    task: JoinHandle<()>,
}

impl HostileTcp {
    /// Serves `script` to every client on `bind` (127.0.0.0/8 only; port 0 picks a free port).
    pub async fn start(bind: SocketAddr, script: Vec<Step>) -> io::Result<Self> {
        require_loopback(bind)?;
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let counter = Arc::new(ConnectionCounter::default());
        let task = tokio::spawn(accept_scripted(
            listener,
            Arc::new(script),
            Arc::clone(&counter),
        ));
        Ok(Self {
            addr,
            counter,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn connections(&self) -> &ConnectionCounter {
        &self.counter
    }
}

impl Drop for HostileTcp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Owns every connection task, so aborting this task closes them all.
async fn accept_scripted(
    listener: TcpListener,
    script: Arc<Vec<Step>>,
    counter: Arc<ConnectionCounter>,
) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let open = counter.enter();
        let script = Arc::clone(&script);
        connections.spawn(async move {
            let mut client = Client::new(stream);
            for step in script.iter() {
                if client.play(step).await.is_err() {
                    break;
                }
            }
            let _ = client.stream.shutdown().await;
            drop(open);
        });
    }
}

/// Why a script stops early: the client left, or an answer closed on purpose.
struct Stop;

struct Client {
    stream: TcpStream,
    /// Bytes read but not yet consumed by a read step.
    pending: Vec<u8>,
}

impl Client {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            pending: Vec::new(),
        }
    }

    async fn play(&mut self, step: &Step) -> Result<(), Stop> {
        match step {
            Step::Send(bytes) => self.send(bytes).await,
            Step::Trickle { bytes, interval } => {
                for byte in bytes {
                    self.send(std::slice::from_ref(byte)).await?;
                    tokio::time::sleep(*interval).await;
                }
                Ok(())
            }
            Step::Flood { chunk, total } => {
                let mut sent: u64 = 0;
                while sent < *total && !chunk.is_empty() {
                    let left = usize::try_from(*total - sent).unwrap_or(usize::MAX);
                    let piece = &chunk[..chunk.len().min(left)];
                    self.send(piece).await?;
                    sent += piece.len() as u64;
                }
                Ok(())
            }
            Step::Pause(delay) => {
                tokio::time::sleep(*delay).await;
                Ok(())
            }
            Step::ReadLine => self.read_until(b"\n").await.map(drop),
            Step::ReadUntil(marker) => self.read_until(marker).await.map(drop),
            Step::Converse(answers) => self.converse(answers).await,
            Step::Hold => {
                let mut sink = [0_u8; 4096];
                while let Ok(Ok(read)) =
                    tokio::time::timeout(CLIENT_PATIENCE, self.stream.read(&mut sink)).await
                {
                    if read == 0 {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.stream.write_all(bytes).await.map_err(|_| Stop)
    }

    /// Everything up to and including `marker`, at most [`MAX_CLIENT_BYTES`].
    async fn read_until(&mut self, marker: &[u8]) -> Result<Vec<u8>, Stop> {
        loop {
            if let Some(start) = self
                .pending
                .windows(marker.len())
                .position(|window| window == marker)
            {
                return Ok(self.pending.drain(..start + marker.len()).collect());
            }
            if self.pending.len() > MAX_CLIENT_BYTES {
                return Err(Stop);
            }
            let mut chunk = [0_u8; 4096];
            match tokio::time::timeout(CLIENT_PATIENCE, self.stream.read(&mut chunk)).await {
                Ok(Ok(read)) if read > 0 => self.pending.extend_from_slice(&chunk[..read]),
                _ => return Err(Stop),
            }
        }
    }

    async fn converse(&mut self, answers: &[Answer]) -> Result<(), Stop> {
        loop {
            let line = self.read_until(b"\n").await?;
            let text = String::from_utf8_lossy(&line);
            let verb = text.split_whitespace().next().unwrap_or_default();
            let answer = answers
                .iter()
                .find(|answer| !answer.verb.is_empty() && answer.verb.eq_ignore_ascii_case(verb))
                .or_else(|| answers.iter().find(|answer| answer.verb.is_empty()));
            let Some(answer) = answer else {
                continue;
            };
            self.send(&answer.bytes).await?;
            if let Some((pause, bytes)) = &answer.later {
                tokio::time::sleep(*pause).await;
                self.send(bytes).await?;
            }
            if answer.close {
                return Err(Stop);
            }
        }
    }
}

/// How the hostile DNS responder answers every query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsMisbehaviour {
    /// The question echoed back with SERVFAIL.
    ServFail,
    /// Never answers (UDP dropped, TCP held open in silence).
    Silent,
    /// The TC bit over UDP with no records; over TCP the connection is closed without an answer.
    Truncated,
    /// The query's id and a response header promising records, followed by bytes that are no DNS.
    Malformed,
    /// As many records of the asked type as one TCP message holds (thousands of A, over 1,000 MX);
    /// over UDP the TC bit sends the client to TCP for them.
    Huge,
}

/// A running hostile DNS responder (UDP and TCP on one port); it stops when dropped.
pub struct HostileDns {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl HostileDns {
    /// Answers every query on `bind` (127.0.0.0/8 only; port 0 picks a free port) as `misbehaviour` says.
    pub async fn start(bind: SocketAddr, misbehaviour: DnsMisbehaviour) -> io::Result<Self> {
        require_loopback(bind)?;
        let (udp, tcp) = crate::dns::bind_udp_and_tcp(bind).await?;
        let addr = udp.local_addr()?;
        let queries = Arc::new(AtomicUsize::new(0));
        let tasks = vec![
            tokio::spawn(serve_crafted_udp(udp, misbehaviour, Arc::clone(&queries))),
            tokio::spawn(serve_crafted_tcp(tcp, misbehaviour, Arc::clone(&queries))),
        ];
        Ok(Self {
            addr,
            queries,
            tasks,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received so far, over both transports.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for HostileDns {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn serve_crafted_udp(
    socket: UdpSocket,
    misbehaviour: DnsMisbehaviour,
    queries: Arc<AtomicUsize>,
) {
    let mut buffer = vec![0_u8; 4096];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        queries.fetch_add(1, Ordering::SeqCst);
        if let Some(answer) = crafted_answer(&buffer[..length], misbehaviour, Transport::Udp) {
            let _ = socket.send_to(&answer, peer).await;
        }
    }
}

async fn serve_crafted_tcp(
    listener: TcpListener,
    misbehaviour: DnsMisbehaviour,
    queries: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_crafted_tcp_connection(
            stream,
            misbehaviour,
            Arc::clone(&queries),
        ));
    }
}

async fn serve_crafted_tcp_connection(
    mut stream: TcpStream,
    misbehaviour: DnsMisbehaviour,
    queries: Arc<AtomicUsize>,
) {
    loop {
        let Some(request) = read_tcp_frame(&mut stream, CLIENT_PATIENCE).await else {
            return;
        };
        queries.fetch_add(1, Ordering::SeqCst);
        let Some(answer) = crafted_answer(&request, misbehaviour, Transport::Tcp) else {
            if misbehaviour == DnsMisbehaviour::Silent {
                let mut sink = [0_u8; 512];
                let _ = tokio::time::timeout(CLIENT_PATIENCE, stream.read(&mut sink)).await;
            }
            return;
        };
        let Ok(prefix) = u16::try_from(answer.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend_from_slice(&prefix.to_be_bytes());
        framed.extend_from_slice(&answer);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// Byte offsets and bits of the 12-byte DNS header (RFC 1035 §4.1.1).
const HEADER_BYTES: usize = 12;
const FLAG_RESPONSE: u8 = 0x80;
const FLAG_TRUNCATED: u8 = 0x02;
const RCODE_SERVFAIL: u8 = 2;
/// Records encoded to measure their size before a huge answer is filled.
const SAMPLE: u32 = 256;

/// The bytes sent back for `request`, or `None` to stay silent.
fn crafted_answer(
    request: &[u8],
    misbehaviour: DnsMisbehaviour,
    transport: Transport,
) -> Option<Vec<u8>> {
    if request.len() < HEADER_BYTES {
        return None;
    }
    let question_end = question_end(request)?;
    let echo_question = |flags: u8, rcode: u8| {
        let mut answer = request[..question_end].to_vec();
        answer[2] = FLAG_RESPONSE | (request[2] & 0x79) | flags;
        answer[3] = rcode & 0x0f;
        // One question, nothing else (the request's EDNS record is not echoed).
        answer[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        answer
    };
    match (misbehaviour, transport) {
        (DnsMisbehaviour::Silent, _) | (DnsMisbehaviour::Truncated, Transport::Tcp) => None,
        (DnsMisbehaviour::ServFail, _) => Some(echo_question(0, RCODE_SERVFAIL)),
        (DnsMisbehaviour::Truncated | DnsMisbehaviour::Huge, Transport::Udp) => {
            Some(echo_question(FLAG_TRUNCATED, 0))
        }
        (DnsMisbehaviour::Malformed, _) => {
            let mut answer = echo_question(0, 0);
            // Promise 3 answers and 1 additional record, then send a compression pointer loop and noise.
            answer[6..8].copy_from_slice(&3_u16.to_be_bytes());
            answer[10..12].copy_from_slice(&1_u16.to_be_bytes());
            answer.extend_from_slice(&[0xc0, 0x0c, 0xc0, 0x0c, 0xff, 0xff, 0x00]);
            answer.extend_from_slice(b"\xfe\xed this is not a resource record \x00\x01");
            Some(answer)
        }
        (DnsMisbehaviour::Huge, Transport::Tcp) => huge_answer(request),
    }
}

/// Where the (single) question of a DNS message ends: after its name, type and class.
fn question_end(message: &[u8]) -> Option<usize> {
    let mut at = HEADER_BYTES;
    loop {
        let length = usize::from(*message.get(at)?);
        if length == 0 {
            at += 1;
            break;
        }
        if length & 0xc0 != 0 {
            return None;
        }
        at += 1 + length;
    }
    let end = at + 4;
    (end <= message.len()).then_some(end)
}

/// As many records of the asked type (A or MX; anything else gets A) as fit one TCP message.
fn huge_answer(request: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(request).ok()?;
    let query = request.queries.first()?.clone();
    let owner: Name = query.name().clone();
    let record = |index: u32| -> Option<Record> {
        let data = if query.query_type() == RecordType::MX {
            let exchange = owner.prepend_label(format!("mx{index}")).ok()?;
            RData::MX(MX::new(
                u16::try_from(index % 65_000).unwrap_or(0),
                exchange,
            ))
        } else {
            let [_, b, c, d] = (0x7f00_0000_u32 | (index & 0x00ff_ffff)).to_be_bytes();
            RData::A(A::new(127, b, c, d))
        };
        Some(Record::from_rdata(owner.clone(), 0, data))
    };
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.message_type = MessageType::Response;
    response.metadata.response_code = ResponseCode::NoError;
    response.metadata.authoritative = true;
    response.queries.push(query.clone());
    // Measure SAMPLE records, then fill to about 56 KiB in one go (encoding is slow in debug builds).
    for index in 1..=SAMPLE {
        response.answers.push(record(index)?);
    }
    let per_record = response.to_vec().ok()?.len() / SAMPLE as usize + 1;
    let fitting = u32::try_from((MAX_TCP_MESSAGE - 8 * 1024) / per_record).unwrap_or(SAMPLE);
    for index in SAMPLE + 1..=fitting {
        response.answers.push(record(index)?);
    }
    loop {
        // The encoder drops what does not fit and sets TC itself: shrink until everything fits.
        let encoded = response.to_vec().ok()?;
        if encoded.len() <= MAX_TCP_MESSAGE && encoded[2] & FLAG_TRUNCATED == 0 {
            return Some(encoded);
        }
        let keep = response.answers.len() * 9 / 10;
        response.answers.truncate(keep);
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Query;

    use super::*;

    fn query(name: &str, record_type: RecordType) -> Vec<u8> {
        let mut request = Message::query();
        request.metadata.id = 0x1234;
        request.add_query(Query::query(Name::from_ascii(name).unwrap(), record_type));
        request.to_vec().unwrap()
    }

    #[test]
    fn servfail_echoes_the_question_and_id() {
        let request = query("hostile.test.", RecordType::MX);
        let answer = crafted_answer(&request, DnsMisbehaviour::ServFail, Transport::Udp).unwrap();
        let parsed = Message::from_vec(&answer).unwrap();
        assert_eq!(parsed.metadata.id, 0x1234);
        assert_eq!(parsed.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(parsed.queries.len(), 1);
    }

    #[test]
    fn truncated_sets_tc_and_malformed_does_not_parse() {
        let request = query("hostile.test.", RecordType::A);
        let truncated =
            crafted_answer(&request, DnsMisbehaviour::Truncated, Transport::Udp).unwrap();
        assert!(Message::from_vec(&truncated).unwrap().metadata.truncation);
        let malformed =
            crafted_answer(&request, DnsMisbehaviour::Malformed, Transport::Udp).unwrap();
        assert!(Message::from_vec(&malformed).is_err());
    }

    #[test]
    fn huge_answer_fills_one_tcp_message() {
        for (record_type, least) in [(RecordType::MX, 1_000), (RecordType::A, 1_000)] {
            let request = query("mx1.hostile.test.", record_type);
            let answer = crafted_answer(&request, DnsMisbehaviour::Huge, Transport::Tcp).unwrap();
            assert!(answer.len() <= MAX_TCP_MESSAGE, "{}", answer.len());
            let parsed = Message::from_vec(&answer).unwrap();
            assert!(!parsed.metadata.truncation, "{record_type}");
            assert!(parsed.answers.len() > least, "{}", parsed.answers.len());
        }
    }

    #[test]
    fn scripted_server_refuses_non_loopback() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let refused = runtime.block_on(HostileTcp::start("0.0.0.0:0".parse().unwrap(), vec![]));
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(io::ErrorKind::InvalidInput)
        );
    }
}
