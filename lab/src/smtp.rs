//! A scriptable SMTP server on loopback that plays a mail gateway's personality, for tests and `mxdoctor demo`.
//!
//! It speaks enough SMTP (EHLO/HELO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP, QUIT) with Postfix,
//! Exchange or `FortiMail` phrasing to exercise every SMTP probe, records every command it received,
//! and stops when the [`LabSmtp`] handle is dropped.
//!
//! The certificates in `certs/` were generated once by `certs/generate.sh` (openssl CLI): a lab CA
//! (100 years) that signs `valid` (mx.example.test), `expired` (mx.example.test, 2000-2001) and
//! `wrong-name` (wrong-name.example.test), plus a self-signed mx.example.test certificate.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::hostile::ConnectionCounter;
use mxdoctor_checks::smtp::test_message::{EICAR, GTUBE};

/// The lab CA that signs the `Valid`, `Expired` and `WrongName` certificates; trust it with
/// [`mxdoctor_checks::smtp::TlsTrust::with_root_pem`].
pub const LAB_CA_PEM: &[u8] = include_bytes!("certs/lab-ca.pem");

/// Longest command line the lab accepts (RFC 5321 allows 512 octets; leave room for extensions).
const MAX_COMMAND_BYTES: usize = 2048;
/// Largest message body the lab keeps; more is discarded and refused.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Most commands recorded over the server's life, so a flood cannot exhaust memory.
const MAX_RECORDED_COMMANDS: usize = 10_000;

/// Which certificate STARTTLS presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabCert {
    /// mx.example.test, signed by the lab CA: verifies when [`LAB_CA_PEM`] is trusted.
    Valid,
    /// mx.example.test, signed by the lab CA, expired in 2001.
    Expired,
    /// wrong-name.example.test, signed by the lab CA.
    WrongName,
    /// mx.example.test, self-signed.
    SelfSigned,
}

impl LabCert {
    fn pem(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Self::Valid => (
                include_bytes!("certs/valid.pem"),
                include_bytes!("certs/valid.key"),
            ),
            Self::Expired => (
                include_bytes!("certs/expired.pem"),
                include_bytes!("certs/expired.key"),
            ),
            Self::WrongName => (
                include_bytes!("certs/wrong-name.pem"),
                include_bytes!("certs/wrong-name.key"),
            ),
            Self::SelfSigned => (
                include_bytes!("certs/self-signed.pem"),
                include_bytes!("certs/self-signed.key"),
            ),
        }
    }

    fn acceptor(self) -> io::Result<tokio_native_tls::TlsAcceptor> {
        let (cert, key) = self.pem();
        let identity = native_tls::Identity::from_pkcs8(cert, key).map_err(io::Error::other)?;
        let acceptor = native_tls::TlsAcceptor::new(identity).map_err(io::Error::other)?;
        Ok(acceptor.into())
    }
}

/// What happens when a client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnConnect {
    /// Wait `greet_delay`, then send the banner.
    Greet,
    /// Never say anything (a tarpit or a dead service behind a live port).
    Silent,
    /// Send this whole reply line (e.g. `421 4.3.2 Service shutting down`) and close.
    Reject(String),
}

/// How RCPT for a domain that is not local is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayPolicy {
    /// Accepted: an open relay.
    Open,
    /// Refused with this reply.
    Denied(String),
}

/// How RCPT for an unknown user of a local domain is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownUser {
    Reject(String),
    /// Accepted with this reply (no recipient verification).
    Accept(String),
}

/// Greylisting: a (client, sender, recipient) triple first seen less than `window` ago is deferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabGreylist {
    pub window: Duration,
    pub reply: String,
}

/// Replies whose wording differs between MTA families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrasing {
    pub banner: String,
    /// The first line of the EHLO reply.
    pub ehlo_greeting: String,
    /// EHLO keywords, without STARTTLS (added when a certificate is configured).
    pub extensions: Vec<String>,
    pub mail_ok: String,
    pub rcpt_ok: String,
    pub data_go_ahead: String,
    pub data_ok: String,
    pub bye: String,
}

impl Phrasing {
    pub fn postfix(host: &str) -> Self {
        Self {
            banner: format!("220 {host} ESMTP Postfix"),
            ehlo_greeting: host.to_string(),
            extensions: [
                "PIPELINING",
                "SIZE 10240000",
                "ENHANCEDSTATUSCODES",
                "8BITMIME",
            ]
            .map(String::from)
            .to_vec(),
            mail_ok: "250 2.1.0 Ok".to_string(),
            rcpt_ok: "250 2.1.5 Ok".to_string(),
            data_go_ahead: "354 End data with <CR><LF>.<CR><LF>".to_string(),
            data_ok: "250 2.0.0 Ok: queued as 4LabQ1d2x3".to_string(),
            bye: "221 2.0.0 Bye".to_string(),
        }
    }

    pub fn exchange(host: &str) -> Self {
        Self {
            banner: format!(
                "220 {host} Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 09:00:00 +0000"
            ),
            ehlo_greeting: format!("{host} Hello [{{client}}]"),
            extensions: [
                "SIZE 37748736",
                "PIPELINING",
                "DSN",
                "ENHANCEDSTATUSCODES",
                "X-ANONYMOUSTLS",
                "AUTH NTLM",
                "X-EXPS GSSAPI NTLM",
                "8BITMIME",
                "BINARYMIME",
                "CHUNKING",
                "XEXCH50",
            ]
            .map(String::from)
            .to_vec(),
            mail_ok: "250 2.1.0 Sender OK".to_string(),
            rcpt_ok: "250 2.1.5 Recipient OK".to_string(),
            data_go_ahead: "354 Start mail input; end with <CRLF>.<CRLF>".to_string(),
            data_ok: "250 2.6.0 <lab@example.test> Queued mail for delivery".to_string(),
            bye: "221 2.0.0 Service closing transmission channel".to_string(),
        }
    }

    pub fn fortimail(host: &str) -> Self {
        Self {
            banner: format!("220 {host} ESMTP FortiMail Smtpd ready"),
            ehlo_greeting: format!("{host} Hello [{{client}}], pleased to meet you"),
            ..Self::postfix(host)
        }
    }
}

/// Everything the lab server does, as data. Reply texts may contain `{rcpt}`, `{sender}`, `{client}`, `{domain}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabSmtpConfig {
    pub hostname: String,
    pub on_connect: OnConnect,
    pub greet_delay: Duration,
    pub phrasing: Phrasing,
    pub starttls: Option<LabCert>,
    /// Domains this server receives mail for (lower case).
    pub local_domains: Vec<String>,
    /// Existing mailboxes, full addresses (lower case).
    pub valid_users: Vec<String>,
    /// When set, MAIL FROM is refused with this reply (e.g. a sender-reputation block).
    pub mail_from_reply: Option<String>,
    pub relay: RelayPolicy,
    pub unknown_user: UnknownUser,
    /// When set, every local recipient is deferred because this verification backend is unreachable.
    pub dead_verify_backend: Option<String>,
    pub greylist: Option<LabGreylist>,
    /// Reply to end of DATA when the body holds GTUBE; `None` accepts it.
    pub reject_gtube: Option<String>,
    /// Reply to end of DATA when the body holds EICAR; `None` accepts it.
    pub reject_eicar: Option<String>,
    /// A client silent for this long is told 421 and disconnected.
    pub idle_timeout: Duration,
}

impl LabSmtpConfig {
    /// A correctly configured Postfix gateway for `domain`, answering as `mx.DOMAIN`.
    pub fn postfix(domain: &str) -> Self {
        let domain = domain.to_ascii_lowercase();
        let hostname = format!("mx.{domain}");
        Self {
            phrasing: Phrasing::postfix(&hostname),
            hostname,
            on_connect: OnConnect::Greet,
            greet_delay: Duration::ZERO,
            starttls: Some(LabCert::Valid),
            valid_users: vec![format!("postmaster@{domain}"), format!("alice@{domain}")],
            local_domains: vec![domain],
            mail_from_reply: None,
            relay: RelayPolicy::Denied("554 5.7.1 <{rcpt}>: Relay access denied".to_string()),
            unknown_user: UnknownUser::Reject(
                "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table"
                    .to_string(),
            ),
            dead_verify_backend: None,
            greylist: None,
            reject_gtube: Some("554 5.7.1 Spam message rejected (GTUBE)".to_string()),
            reject_eicar: Some(
                "554 5.7.0 Virus found: Eicar-Signature; message rejected".to_string(),
            ),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Ready-made gateways, one per problem mxdoctor diagnoses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    Healthy,
    Greylister,
    VerifyDeadBackend,
    OpenRelay,
    UnfilteredBackup,
    ExchangeLike,
    Silent,
    ReputationBlock,
    RelayDenied,
    NoFilter,
    SpamSafelisted,
}

impl Personality {
    pub const ALL: [Self; 11] = [
        Self::Healthy,
        Self::Greylister,
        Self::VerifyDeadBackend,
        Self::OpenRelay,
        Self::UnfilteredBackup,
        Self::ExchangeLike,
        Self::Silent,
        Self::ReputationBlock,
        Self::RelayDenied,
        Self::NoFilter,
        Self::SpamSafelisted,
    ];

    pub fn config(self, domain: &str) -> LabSmtpConfig {
        let mut config = LabSmtpConfig::postfix(domain);
        let host = config.hostname.clone();
        match self {
            Self::Healthy => {}
            Self::Greylister => {
                config.greylist = Some(LabGreylist {
                    window: Duration::from_secs(1),
                    reply: "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/{domain}.html".to_string(),
                });
            }
            Self::VerifyDeadBackend => {
                config.dead_verify_backend = Some(format!("backend.{domain}[192.0.2.25]:25"));
            }
            Self::OpenRelay => config.relay = RelayPolicy::Open,
            Self::UnfilteredBackup => {
                config.starttls = None;
                config.unknown_user = UnknownUser::Accept("250 2.1.5 Ok".to_string());
                config.reject_gtube = None;
                config.reject_eicar = None;
            }
            Self::ExchangeLike => {
                config.phrasing = Phrasing::exchange(&host);
                config.relay = RelayPolicy::Denied(
                    "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain".to_string(),
                );
                config.unknown_user = UnknownUser::Accept("250 2.1.5 Recipient OK".to_string());
                config.reject_gtube = None;
                config.reject_eicar = None;
            }
            Self::Silent => config.on_connect = OnConnect::Silent,
            Self::ReputationBlock => {
                config.phrasing = Phrasing::fortimail(&host);
                config.mail_from_reply = Some(
                    "550 5.7.1 Connection rejected by sender reputation for client [{client}]"
                        .to_string(),
                );
            }
            Self::RelayDenied => {
                config.phrasing = Phrasing::fortimail(&host);
                config.relay =
                    RelayPolicy::Denied("550 5.7.1 <{rcpt}>... Relay access denied".to_string());
            }
            Self::NoFilter => {
                config.reject_gtube = None;
                config.reject_eicar = None;
            }
            Self::SpamSafelisted => config.reject_gtube = None,
        }
        config
    }
}

/// A running lab SMTP server; dropping it stops the server and every connection.
pub struct LabSmtp {
    addr: SocketAddr,
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

struct Shared {
    config: LabSmtpConfig,
    acceptor: Option<tokio_native_tls::TlsAcceptor>,
    commands: Mutex<Vec<String>>,
    saw_data: AtomicBool,
    greylist_seen: Mutex<HashMap<(IpAddr, String, String), Instant>>,
    connections: Arc<ConnectionCounter>,
}

impl LabSmtp {
    /// Starts serving on `bind` (port 0 picks a free port); refuses addresses outside 127.0.0.0/8 and ::1.
    pub async fn start(config: LabSmtpConfig, bind: SocketAddr) -> io::Result<Self> {
        // ::1 too: the IPv6 scenarios need a loopback address of each family.
        if !bind.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the lab SMTP server binds only to 127.0.0.0/8 or ::1, not {bind}"),
            ));
        }
        let acceptor = config.starttls.map(LabCert::acceptor).transpose()?;
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            acceptor,
            commands: Mutex::new(Vec::new()),
            saw_data: AtomicBool::new(false),
            greylist_seen: Mutex::new(HashMap::new()),
            connections: Arc::new(ConnectionCounter::default()),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self { addr, task, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every command line received so far, in arrival order (message bodies excluded).
    pub fn commands(&self) -> Vec<String> {
        lock(&self.shared.commands).clone()
    }

    /// Whether any client ever sent DATA (or BDAT).
    pub fn saw_data(&self) -> bool {
        self.shared.saw_data.load(Ordering::SeqCst)
    }

    /// How many connections clients opened, and the most open at once.
    pub fn connections(&self) -> &ConnectionCounter {
        &self.shared.connections
    }
}

impl Drop for LabSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Owns every connection task, so aborting this task closes them all.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let open = shared.connections.enter();
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            serve(stream, peer.ip(), shared).await;
            drop(open);
        });
    }
}

async fn serve(stream: TcpStream, client: IpAddr, shared: Arc<Shared>) {
    let config = &shared.config;
    let mut plain = LineIo::new(stream, config.idle_timeout);
    match &config.on_connect {
        OnConnect::Silent => {
            plain.drain_until_closed().await;
            return;
        }
        OnConnect::Reject(line) => {
            let _ = plain.write_line(line).await;
            return;
        }
        OnConnect::Greet => {}
    }
    tokio::time::sleep(config.greet_delay).await;
    let mut dialogue = Dialogue::new(&shared, client);
    if plain.write_line(&config.phrasing.banner).await.is_err() {
        return;
    }
    if dialogue.run(&mut plain).await != Ending::StartTls {
        return;
    }
    let Some(acceptor) = &shared.acceptor else {
        return;
    };
    let idle = config.idle_timeout;
    let Ok(Ok(tls)) = tokio::time::timeout(idle, acceptor.accept(plain.stream)).await else {
        return;
    };
    dialogue.tls = true;
    dialogue.helo = false;
    dialogue.reset();
    let _ = dialogue.run(&mut LineIo::new(tls, idle)).await;
}

/// A stream read line by line with a byte cap and an idle timeout.
struct LineIo<S> {
    stream: S,
    pending: Vec<u8>,
    idle: Duration,
}

enum Line {
    Text(String),
    TooLong,
    Closed,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineIo<S> {
    fn new(stream: S, idle: Duration) -> Self {
        Self {
            stream,
            pending: Vec::new(),
            idle,
        }
    }

    async fn read_line(&mut self, limit: usize) -> Line {
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                if line.len() > limit {
                    return Line::TooLong;
                }
                let text = String::from_utf8_lossy(&line);
                return Line::Text(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.pending.len() > limit {
                return Line::TooLong;
            }
            let mut chunk = [0_u8; 4096];
            match tokio::time::timeout(self.idle, self.stream.read(&mut chunk)).await {
                Ok(Ok(read)) if read > 0 => self.pending.extend_from_slice(&chunk[..read]),
                _ => return Line::Closed,
            }
        }
    }

    async fn write_line(&mut self, line: &str) -> io::Result<()> {
        let bytes = format!("{line}\r\n");
        self.stream.write_all(bytes.as_bytes()).await
    }

    async fn drain_until_closed(&mut self) {
        let mut chunk = [0_u8; 4096];
        while let Ok(Ok(read)) = tokio::time::timeout(self.idle, self.stream.read(&mut chunk)).await
        {
            if read == 0 {
                break;
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ending {
    Closed,
    StartTls,
}

/// The state of one SMTP conversation.
struct Dialogue<'a> {
    shared: &'a Shared,
    config: &'a LabSmtpConfig,
    client: IpAddr,
    tls: bool,
    helo: bool,
    sender: Option<String>,
    recipients: Vec<String>,
}

impl<'a> Dialogue<'a> {
    fn new(shared: &'a Shared, client: IpAddr) -> Self {
        Self {
            shared,
            config: &shared.config,
            client,
            tls: false,
            helo: false,
            sender: None,
            recipients: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
    }

    fn record(&self, line: &str) {
        let mut commands = lock(&self.shared.commands);
        if commands.len() < MAX_RECORDED_COMMANDS {
            commands.push(line.to_string());
        }
    }

    fn fill(&self, template: &str, rcpt: &str) -> String {
        let domain = rcpt.rsplit_once('@').map_or("", |(_, domain)| domain);
        template
            .replace("{rcpt}", rcpt)
            .replace("{sender}", self.sender.as_deref().unwrap_or_default())
            .replace("{client}", &self.client.to_string())
            .replace("{domain}", domain)
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut LineIo<S>) -> Ending {
        loop {
            let line = match io.read_line(MAX_COMMAND_BYTES).await {
                Line::Text(line) => line,
                Line::TooLong => {
                    let _ = io.write_line("500 5.5.0 Error: line too long").await;
                    return Ending::Closed;
                }
                Line::Closed => {
                    let timeout =
                        format!("421 4.4.2 {} Error: timeout exceeded", self.config.hostname);
                    let _ = io.write_line(&timeout).await;
                    return Ending::Closed;
                }
            };
            self.record(&line);
            let (verb, argument) = line
                .split_once(' ')
                .map_or((line.as_str(), ""), |(verb, rest)| (verb, rest.trim()));
            let verb = verb.to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" => {
                    self.helo = true;
                    self.reset();
                    self.ehlo_reply()
                }
                "HELO" => {
                    self.helo = true;
                    self.reset();
                    format!("250 {}", self.config.hostname)
                }
                "STARTTLS" if self.shared.acceptor.is_some() && !self.tls => {
                    if io.write_line("220 2.0.0 Ready to start TLS").await.is_err() {
                        return Ending::Closed;
                    }
                    return Ending::StartTls;
                }
                "STARTTLS" => "454 4.7.0 TLS not available".to_string(),
                "MAIL" => self.mail(argument),
                "RCPT" => self.rcpt(argument),
                "DATA" | "BDAT" => {
                    self.shared.saw_data.store(true, Ordering::SeqCst);
                    match self.data(io).await {
                        Some(reply) => reply,
                        None => return Ending::Closed,
                    }
                }
                "RSET" => {
                    self.reset();
                    "250 2.0.0 Ok".to_string()
                }
                "NOOP" => "250 2.0.0 Ok".to_string(),
                "VRFY" => "252 2.0.0 Send some mail, I'll try my best".to_string(),
                "QUIT" => {
                    let _ = io.write_line(&self.config.phrasing.bye).await;
                    return Ending::Closed;
                }
                _ => "502 5.5.2 Error: command not recognized".to_string(),
            };
            if io.write_line(&reply).await.is_err() {
                return Ending::Closed;
            }
        }
    }

    fn ehlo_reply(&self) -> String {
        let phrasing = &self.config.phrasing;
        let mut lines = vec![self.fill(&phrasing.ehlo_greeting, "")];
        lines.extend(phrasing.extensions.iter().cloned());
        if self.shared.acceptor.is_some() && !self.tls {
            lines.push("STARTTLS".to_string());
        }
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(index, line)| format!("250{}{line}", if index == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    fn mail(&mut self, argument: &str) -> String {
        if !self.helo {
            return "503 5.5.1 Error: send HELO/EHLO first".to_string();
        }
        if self.sender.is_some() {
            return "503 5.5.1 Error: nested MAIL command".to_string();
        }
        let Some(sender) = path_argument(argument, "FROM:") else {
            return "501 5.5.4 Syntax: MAIL FROM:<address>".to_string();
        };
        self.sender = Some(sender);
        if let Some(refusal) = &self.config.mail_from_reply {
            let reply = self.fill(refusal, "");
            self.sender = None;
            return reply;
        }
        self.config.phrasing.mail_ok.clone()
    }

    fn rcpt(&mut self, argument: &str) -> String {
        let Some(sender) = self.sender.clone() else {
            return "503 5.5.1 Error: need MAIL command".to_string();
        };
        let Some(rcpt) = path_argument(argument, "TO:") else {
            return "501 5.5.4 Syntax: RCPT TO:<address>".to_string();
        };
        let lower = rcpt.to_ascii_lowercase();
        let domain = lower.rsplit_once('@').map_or("", |(_, domain)| domain);
        let config = self.config;
        let local = config.local_domains.iter().any(|local| local == domain);
        let refusal = if local {
            self.local_refusal(&sender, &lower)
        } else {
            match &config.relay {
                RelayPolicy::Open => None,
                RelayPolicy::Denied(reply) => Some(reply.clone()),
            }
        };
        if let Some(template) = refusal {
            return self.fill(&template, &rcpt);
        }
        self.recipients.push(rcpt.clone());
        let unknown = local && !config.valid_users.contains(&lower);
        let accepted = match &config.unknown_user {
            UnknownUser::Accept(reply) if unknown => reply,
            _ => &config.phrasing.rcpt_ok,
        };
        self.fill(accepted, &rcpt)
    }

    /// Why a local recipient is refused, in Postfix's order: verification, existence, greylisting.
    fn local_refusal(&self, sender: &str, rcpt: &str) -> Option<String> {
        let config = self.config;
        if let Some(backend) = &config.dead_verify_backend {
            return Some(format!(
                "450 4.1.1 <{{rcpt}}>: Recipient address rejected: unverified address: connect to {backend}: Connection refused"
            ));
        }
        if !config.valid_users.iter().any(|user| user == rcpt) {
            if let UnknownUser::Reject(reply) = &config.unknown_user {
                return Some(reply.clone());
            }
        }
        let greylist = config.greylist.as_ref()?;
        let key = (self.client, sender.to_ascii_lowercase(), rcpt.to_string());
        let mut seen = lock(&self.shared.greylist_seen);
        let first_seen = *seen.entry(key).or_insert_with(Instant::now);
        (first_seen.elapsed() < greylist.window).then(|| greylist.reply.clone())
    }

    /// Reads a message after DATA; `None` when the connection is gone.
    async fn data<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut LineIo<S>,
    ) -> Option<String> {
        if self.recipients.is_empty() {
            return Some("503 5.5.1 Error: need RCPT command".to_string());
        }
        io.write_line(&self.config.phrasing.data_go_ahead)
            .await
            .ok()?;
        let mut body = String::new();
        let mut oversized = false;
        loop {
            let line = match io.read_line(MAX_COMMAND_BYTES).await {
                Line::Text(line) => line,
                Line::TooLong => {
                    oversized = true;
                    continue;
                }
                Line::Closed => return None,
            };
            if line == "." {
                break;
            }
            let unstuffed = line.strip_prefix('.').unwrap_or(&line);
            if body.len() + unstuffed.len() > MAX_MESSAGE_BYTES {
                oversized = true;
            } else {
                body.push_str(unstuffed);
                body.push('\n');
            }
        }
        self.reset();
        let config = self.config;
        let reply = if oversized {
            "552 5.3.4 Error: message file too big".to_string()
        } else if let (true, Some(reply)) = (body.contains(EICAR), &config.reject_eicar) {
            reply.clone()
        } else if let (true, Some(reply)) = (body.contains(GTUBE), &config.reject_gtube) {
            reply.clone()
        } else {
            config.phrasing.data_ok.clone()
        };
        Some(reply)
    }
}

/// The address in `FROM:<a@b> SIZE=1` / `TO:<a@b>`; `None` when the syntax is wrong.
fn path_argument(argument: &str, keyword: &str) -> Option<String> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_arguments() {
        assert_eq!(
            path_argument("FROM:<a@b.test> SIZE=10", "FROM:").as_deref(),
            Some("a@b.test")
        );
        assert_eq!(path_argument("to: <x@y>", "TO:").as_deref(), Some("x@y"));
        assert_eq!(path_argument("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_argument("FROM:a@b", "FROM:"), None);
        assert_eq!(path_argument("é", "FROM:"), None);
    }

    #[tokio::test]
    async fn refuses_to_bind_outside_loopback() {
        let config = Personality::Healthy.config("example.test");
        let error = LabSmtp::start(config, "0.0.0.0:0".parse().unwrap())
            .await
            .err()
            .expect("0.0.0.0 must be refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let config = Personality::Healthy.config("example.test");
        let error = LabSmtp::start(config, "[::]:0".parse().unwrap())
            .await
            .err()
            .expect(":: must be refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
