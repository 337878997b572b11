//! One SMTP client connection: bounded, timed reads and writes, a timestamped transcript, STARTTLS.
//!
//! Every probe talks SMTP through [`Session`]; nothing else in the crate reads or writes SMTP bytes.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_native_tls::TlsStream;

use crate::smtp::SmtpSettings;
use mxdoctor_model::observation::{Outcome, TranscriptLine};
use mxdoctor_model::reply::{Reply, ReplyBuilder, ReplyError};

/// Proof that the user asked for test messages: the only key to DATA.
#[derive(Debug)]
pub struct DataPermit {
    _private: (),
}

impl DataPermit {
    /// `Some` only when `send_test_message` is set and there is a valid recipient to send to.
    pub fn from_settings(settings: &SmtpSettings) -> Option<Self> {
        (settings.send_test_message && settings.rcpt_valid.is_some())
            .then_some(Self { _private: () })
    }
}

/// Longest reply line accepted; a longer one is reported, never buffered further.
pub const MAX_LINE_BYTES: usize = 4096;
/// Most lines in one reply, against servers that send `250-` forever.
pub const MAX_REPLY_LINES: usize = 100;
/// Most transcript lines kept per connection, so a chatty server cannot grow a report without bound.
const MAX_TRANSCRIPT_LINES: usize = 400;

/// Why an SMTP step did not produce a reply.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("connect failed: {0}")]
    Connect(io::Error),
    #[error("no answer within {}s while waiting for {step}", .timeout.as_secs_f64())]
    Timeout { step: String, timeout: Duration },
    #[error("connection error during {step}: {source}")]
    Io { step: String, source: io::Error },
    #[error("server closed the connection during {step}")]
    Closed { step: String },
    #[error("reply line longer than {MAX_LINE_BYTES} bytes during {step}")]
    LineTooLong { step: String },
    #[error("reply longer than {MAX_REPLY_LINES} lines during {step}")]
    TooManyLines { step: String },
    #[error("not an SMTP reply during {step}: {error}; received {received:?}")]
    Garbage {
        step: String,
        error: ReplyError,
        received: String,
    },
    #[error("server sent data before the TLS handshake (possible STARTTLS injection)")]
    PipelinedBeforeTls,
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error(
        "refusing to send {0:?}: DATA only goes through a DataPermit, and a command is one line"
    )]
    Forbidden(String),
}

impl SmtpError {
    /// The observation outcome this error stands for.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Timeout { .. } => Outcome::Timeout,
            _ => Outcome::Error,
        }
    }
}

enum Stream<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
}

/// An open SMTP connection over any byte stream: a TCP connection in a run, an in-memory
/// `tokio::io::duplex` pipe in unit tests.
pub struct Session<S = TcpStream> {
    /// `None` only while STARTTLS swaps the plain stream for the TLS one.
    stream: Option<Stream<S>>,
    /// Bytes read but not yet consumed as a line.
    pending: Vec<u8>,
    connected_at: Instant,
    timeout: Duration,
    transcript: Vec<TranscriptLine>,
}

impl Session<TcpStream> {
    /// Opens a TCP connection within `timeout`; the transcript clock starts here.
    pub async fn connect(address: SocketAddr, timeout: Duration) -> Result<Self, SmtpError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(SmtpError::Connect(error)),
            Err(_) => {
                return Err(SmtpError::Timeout {
                    step: format!("the TCP connection to {address}"),
                    timeout,
                });
            }
        };
        Ok(Self::over(stream, timeout))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// A session over an already open stream; the transcript clock starts here.
    pub fn over(stream: S, timeout: Duration) -> Self {
        Self {
            stream: Some(Stream::Plain(stream)),
            pending: Vec::new(),
            connected_at: Instant::now(),
            timeout,
            transcript: Vec::new(),
        }
    }

    /// Time since the TCP connection was established.
    pub fn elapsed(&self) -> Duration {
        self.connected_at.elapsed()
    }

    pub fn transcript(&self) -> &[TranscriptLine] {
        &self.transcript
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Some(Stream::Tls(_)))
    }

    /// The DER certificate the server presented in the TLS handshake (the TLS library gives the
    /// leaf only), or `None` before STARTTLS or when it cannot be read.
    pub fn peer_certificate_der(&self) -> Option<Vec<u8>> {
        let Some(Stream::Tls(tls)) = &self.stream else {
            return None;
        };
        let certificate = tls.get_ref().peer_certificate().ok()??;
        certificate.to_der().ok()
    }

    /// Reads one complete reply (all continuation lines) within the timeout.
    pub async fn read_reply(&mut self, step: &str) -> Result<Reply, SmtpError> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.read_reply_untimed(step)).await {
            Ok(result) => result,
            Err(_) => Err(SmtpError::Timeout {
                step: step.to_string(),
                timeout,
            }),
        }
    }

    /// Sends one command line and reads its reply.
    ///
    /// `DATA`/`BDAT` and lines with an embedded CR or LF (which could smuggle a second command) are
    /// refused: message content goes only through [`Session::send_message`].
    pub async fn command(&mut self, line: &str) -> Result<Reply, SmtpError> {
        let verb = line.split_whitespace().next().unwrap_or_default();
        let smuggles_a_line = line.contains(['\r', '\n']);
        if smuggles_a_line || verb.eq_ignore_ascii_case("DATA") || verb.eq_ignore_ascii_case("BDAT")
        {
            return Err(SmtpError::Forbidden(line.to_string()));
        }
        self.send_line(line).await?;
        self.read_reply(line).await
    }

    /// Sends QUIT and waits briefly for its reply; a peer that is already gone is fine.
    pub async fn quit(mut self) {
        let _ = self.command("QUIT").await;
        if let Some(stream) = self.stream.as_mut() {
            let _ = tokio::time::timeout(self.timeout, stream.shutdown()).await;
        }
    }

    /// Upgrades the connection after the server answered `STARTTLS` with 220.
    pub async fn start_tls(
        &mut self,
        connector: &tokio_native_tls::TlsConnector,
        server_name: &str,
    ) -> Result<(), SmtpError> {
        if !self.pending.is_empty() {
            return Err(SmtpError::PipelinedBeforeTls);
        }
        let Some(Stream::Plain(plain)) = self.stream.take() else {
            return Err(SmtpError::Tls("the connection is already TLS".to_string()));
        };
        let handshake = tokio::time::timeout(self.timeout, connector.connect(server_name, plain));
        match handshake.await {
            Ok(Ok(tls)) => {
                self.stream = Some(Stream::Tls(Box::new(tls)));
                self.note('C', "[TLS handshake complete]".to_string());
                Ok(())
            }
            Ok(Err(error)) => {
                let text = error.to_string();
                self.note('C', format!("[TLS handshake failed: {text}]"));
                Err(SmtpError::Tls(text))
            }
            Err(_) => Err(SmtpError::Timeout {
                step: "the TLS handshake".to_string(),
                timeout: self.timeout,
            }),
        }
    }

    /// Sends `DATA`, the message and the final dot; only callable with a [`DataPermit`].
    pub async fn send_message(
        &mut self,
        _permit: &DataPermit,
        message: &[u8],
    ) -> Result<Reply, SmtpError> {
        self.send_line("DATA").await?;
        let go_ahead = self.read_reply("DATA").await?;
        if go_ahead.code != 354 {
            return Ok(go_ahead);
        }
        let body = dot_stuff(message);
        self.note('C', format!("[message body, {} bytes]", body.len()));
        self.write_all(&body, "the message body").await?;
        self.send_line(".").await?;
        self.read_reply("the end of DATA").await
    }

    async fn send_line(&mut self, line: &str) -> Result<(), SmtpError> {
        self.note('C', line.to_string());
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write_all(&bytes, line).await
    }

    async fn write_all(&mut self, bytes: &[u8], step: &str) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let Some(stream) = self.stream.as_mut() else {
            return Err(SmtpError::Closed {
                step: step.to_string(),
            });
        };
        match tokio::time::timeout(timeout, stream.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(SmtpError::Io {
                step: step.to_string(),
                source,
            }),
            Err(_) => Err(SmtpError::Timeout {
                step: format!("sending {step}"),
                timeout,
            }),
        }
    }

    async fn read_reply_untimed(&mut self, step: &str) -> Result<Reply, SmtpError> {
        let mut builder = ReplyBuilder::new();
        loop {
            if builder.line_count() >= MAX_REPLY_LINES {
                return Err(SmtpError::TooManyLines {
                    step: step.to_string(),
                });
            }
            let line = self.read_line(step).await?;
            self.note('S', line.clone());
            match builder.push(&line) {
                Ok(Some(reply)) => return Ok(reply),
                Ok(None) => {}
                Err(error) => {
                    return Err(SmtpError::Garbage {
                        step: step.to_string(),
                        error,
                        received: line.chars().take(200).collect(),
                    });
                }
            }
        }
    }

    /// One line without its ending, decoded lossily; at most [`MAX_LINE_BYTES`].
    async fn read_line(&mut self, step: &str) -> Result<String, SmtpError> {
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.pending.len() > MAX_LINE_BYTES {
                return Err(SmtpError::LineTooLong {
                    step: step.to_string(),
                });
            }
            let Some(stream) = self.stream.as_mut() else {
                return Err(SmtpError::Closed {
                    step: step.to_string(),
                });
            };
            let mut chunk = [0_u8; 1024];
            let read = stream
                .read(&mut chunk)
                .await
                .map_err(|source| SmtpError::Io {
                    step: step.to_string(),
                    source,
                })?;
            if read == 0 {
                return Err(SmtpError::Closed {
                    step: step.to_string(),
                });
            }
            self.pending.extend_from_slice(&chunk[..read]);
        }
    }

    fn note(&mut self, dir: char, line: String) {
        if self.transcript.len() < MAX_TRANSCRIPT_LINES {
            self.transcript.push(TranscriptLine {
                at_ms: self.connected_at.elapsed().as_millis() as u64,
                dir,
                line,
            });
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream<S> {
    async fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buffer).await,
            Self::Tls(stream) => stream.read(buffer).await,
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.write_all(bytes).await,
            Self::Tls(stream) => stream.write_all(bytes).await,
        }
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.shutdown().await,
            Self::Tls(stream) => stream.shutdown().await,
        }
    }
}

/// CRLF line endings and RFC 5321 §4.5.2 transparency: a line starting with `.` gets another `.`.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let mut out = String::with_capacity(message.len() + 64);
    for line in text.lines() {
        if line.starts_with('.') {
            out.push('.');
        }
        let _ = write!(out, "{line}\r\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::{DataPermit, MAX_LINE_BYTES, MAX_REPLY_LINES, Session, SmtpError, dot_stuff};
    use crate::smtp::{SmtpProbes, SmtpSettings};

    const STEP: Duration = Duration::from_secs(5);

    /// A session over an in-memory pipe whose far end already holds `server_says`.
    async fn session_hearing(server_says: &[u8]) -> (Session<DuplexStream>, DuplexStream) {
        let (client, mut server) = duplex(64 * 1024);
        server.write_all(server_says).await.expect("pipe write");
        (Session::over(client, STEP), server)
    }

    /// Everything the client wrote, once it is gone.
    async fn written_by_client(session: Session<DuplexStream>, mut server: DuplexStream) -> String {
        drop(session);
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.expect("pipe read");
        String::from_utf8(received).expect("ASCII")
    }

    fn settings(send_test_message: bool) -> SmtpSettings {
        SmtpSettings {
            helo: "probe.example.test".into(),
            mail_from: "probe@example.test".into(),
            rcpt_invalid: "nobody@example.test".into(),
            rcpt_valid: Some("postmaster@example.test".into()),
            relay_rcpt: "someone@example.org".into(),
            greylist_wait: Duration::ZERO,
            timeout: STEP,
            send_test_message,
            probes: SmtpProbes::ALL,
        }
    }

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_uses_crlf() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n".to_vec());
    }

    #[tokio::test]
    async fn reads_a_multiline_reply_and_writes_the_command_with_crlf() {
        let (mut session, server) = session_hearing(
            b"220 mx.example.test ESMTP\r\n250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
        )
        .await;
        let banner = session.read_reply("the banner").await.expect("banner");
        assert_eq!(banner.code, 220);
        let ehlo = session
            .command("EHLO probe.example.test")
            .await
            .expect("EHLO");
        assert_eq!(ehlo.code, 250);
        assert_eq!(ehlo.lines, ["mx.example.test", "PIPELINING", "STARTTLS"]);
        let directions: String = session.transcript().iter().map(|l| l.dir).collect();
        assert_eq!(directions, "SCSSS");
        assert!(!session.is_tls());
        assert_eq!(
            written_by_client(session, server).await,
            "EHLO probe.example.test\r\n"
        );
    }

    #[tokio::test]
    async fn a_reply_split_across_reads_is_joined() {
        let (client, mut server) = duplex(16);
        let mut session = Session::over(client, STEP);
        let writer = tokio::spawn(async move {
            for piece in [&b"25"[..], b"0-first\r", b"\n250 second\n"] {
                server.write_all(piece).await.expect("pipe write");
                tokio::task::yield_now().await;
            }
            server
        });
        let reply = session.read_reply("a split reply").await.expect("reply");
        assert_eq!(reply.lines, ["first", "second"]);
        drop(writer.await.expect("writer"));
    }

    #[tokio::test]
    async fn data_bdat_and_embedded_line_breaks_are_refused_without_writing() {
        let (mut session, server) = session_hearing(b"").await;
        for line in [
            "DATA",
            "data",
            "BDAT 10 LAST",
            "RCPT TO:<a@b>\r\nDATA",
            "NOOP\nDATA",
        ] {
            let error = session.command(line).await.expect_err(line);
            assert!(matches!(error, SmtpError::Forbidden(_)), "{line}: {error}");
        }
        assert_eq!(written_by_client(session, server).await, "");
    }

    #[tokio::test]
    async fn a_line_longer_than_the_limit_is_an_error_not_a_buffer() {
        let mut long = b"220 ".to_vec();
        long.resize(MAX_LINE_BYTES + 2000, b'x');
        let (mut session, _server) = session_hearing(&long).await;
        let error = session
            .read_reply("the banner")
            .await
            .expect_err("too long");
        assert!(matches!(error, SmtpError::LineTooLong { .. }), "{error}");
    }

    #[tokio::test]
    async fn an_endless_continuation_is_cut_at_the_line_limit() {
        let endless = "250-more\r\n".repeat(MAX_REPLY_LINES + 5);
        let (mut session, _server) = session_hearing(endless.as_bytes()).await;
        let error = session.read_reply("EHLO").await.expect_err("too many");
        assert!(matches!(error, SmtpError::TooManyLines { .. }), "{error}");
    }

    #[tokio::test]
    async fn garbage_a_closed_peer_and_silence_are_errors_with_their_outcome() {
        let (mut session, _server) = session_hearing(b"HTTP/1.1 400 Bad Request\r\n").await;
        let garbage = session.read_reply("the banner").await.expect_err("garbage");
        assert!(matches!(garbage, SmtpError::Garbage { .. }), "{garbage}");

        let (mut session, server) = session_hearing(b"220 partial line without end").await;
        drop(server);
        let closed = session.read_reply("the banner").await.expect_err("closed");
        assert!(matches!(closed, SmtpError::Closed { .. }), "{closed}");
        assert_eq!(closed.outcome(), mxdoctor_model::Outcome::Error);

        let (client, _server) = duplex(1024);
        let mut session = Session::over(client, Duration::from_millis(50));
        let silent = session.read_reply("the banner").await.expect_err("timeout");
        assert!(matches!(silent, SmtpError::Timeout { .. }), "{silent}");
        assert_eq!(silent.outcome(), mxdoctor_model::Outcome::Timeout);
    }

    #[tokio::test]
    async fn the_message_goes_only_after_354_dot_stuffed_and_ended_by_a_dot() {
        let permit = DataPermit::from_settings(&settings(true)).expect("asked for");
        let (mut session, server) = session_hearing(b"354 go ahead\r\n250 2.0.0 queued\r\n").await;
        let reply = session
            .send_message(&permit, b"Subject: t\n\n.hidden\nend")
            .await
            .expect("sent");
        assert_eq!(reply.code, 250);
        assert_eq!(
            written_by_client(session, server).await,
            "DATA\r\nSubject: t\r\n\r\n..hidden\r\nend\r\n.\r\n"
        );
    }

    #[tokio::test]
    async fn a_refused_data_command_sends_no_message() {
        let permit = DataPermit::from_settings(&settings(true)).expect("asked for");
        let (mut session, server) = session_hearing(b"554 no valid recipients\r\n").await;
        let reply = session.send_message(&permit, b"body").await.expect("reply");
        assert_eq!(reply.code, 554);
        assert_eq!(written_by_client(session, server).await, "DATA\r\n");
    }

    #[test]
    fn no_permit_without_send_test_message_or_a_valid_recipient() {
        assert!(DataPermit::from_settings(&settings(false)).is_none());
        let mut without_rcpt = settings(true);
        without_rcpt.rcpt_valid = None;
        assert!(DataPermit::from_settings(&without_rcpt).is_none());
    }

    #[tokio::test]
    async fn bytes_pipelined_before_the_tls_handshake_are_refused() {
        let (mut session, _server) =
            session_hearing(b"220 ready for TLS\r\n250 injected\r\n").await;
        let reply = session.read_reply("STARTTLS").await.expect("220");
        assert_eq!(reply.code, 220);
        let connector = tokio_native_tls::TlsConnector::from(
            native_tls::TlsConnector::new().expect("TLS connector"),
        );
        let error = session
            .start_tls(&connector, "mx.example.test")
            .await
            .expect_err("injection");
        assert!(matches!(error, SmtpError::PipelinedBeforeTls), "{error}");
    }
}
