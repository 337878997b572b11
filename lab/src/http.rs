//! A tiny HTTP/1.1 server on loopback with the failure modes an egress probe must recognise:
//! redirect chains, loops, redirects to other schemes, a black hole and a stalled body.
//!
//! Routes: `/ok` 200; `/redirect/N` N redirects ending at `/ok`; `/loop` ↔ `/loop-back`;
//! `/to-ftp` redirects to `ftp://`; `/status/NNN` answers NNN; `/blackhole` never answers;
//! `/slow-body` sends headers then stalls; anything else 404. A TLS `ClientHello` gets a plain
//! `400` so an `https://` probe fails its handshake at once.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::dns::require_loopback;

/// Longest request head read before giving up on a client.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `/blackhole` and `/slow-body` hold a connection (the server is usually dropped first).
const STALL: Duration = Duration::from_secs(3600);
/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// A running lab HTTP server; it stops when dropped.
pub struct LabHttp {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LabHttp {
    /// Binds `bind` (127.0.0.0/8 only; port 0 picks a free port) and starts serving.
    pub async fn start(bind: SocketAddr) -> io::Result<Self> {
        require_loopback(bind)?;
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener));
        Ok(Self { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for LabHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener) {
    // Owned here so aborting this task (on drop) closes held connections too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(stream));
    }
}

/// What the server does with one request.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Respond {
        status: u16,
        location: Option<String>,
        body: &'static str,
    },
    NeverAnswer,
    StallBody,
}

fn route(path: &str) -> Reply {
    let redirect = |location: String| Reply::Respond {
        status: 302,
        location: Some(location),
        body: "",
    };
    let ok = Reply::Respond {
        status: 200,
        location: None,
        body: "ok\n",
    };
    let not_found = Reply::Respond {
        status: 404,
        location: None,
        body: "not found\n",
    };
    match path {
        "/ok" => ok,
        "/loop" => redirect("/loop-back".to_owned()),
        "/loop-back" => redirect("/loop".to_owned()),
        "/to-ftp" => redirect("ftp://127.0.0.1/pub/file".to_owned()),
        "/blackhole" => Reply::NeverAnswer,
        "/slow-body" => Reply::StallBody,
        _ => {
            if let Some(count) = path.strip_prefix("/redirect/") {
                match count.parse::<u32>() {
                    Ok(0) => ok,
                    Ok(1) => redirect("/ok".to_owned()),
                    Ok(n) => redirect(format!("/redirect/{}", n - 1)),
                    Err(_) => not_found,
                }
            } else if let Some(code) = path.strip_prefix("/status/") {
                match code.parse::<u16>() {
                    Ok(status @ 200..=599) => Reply::Respond {
                        status,
                        location: None,
                        body: "status\n",
                    },
                    _ => not_found,
                }
            } else {
                not_found
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn serve_connection(mut stream: TcpStream) {
    let Ok(Ok(Some(head))) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await
    else {
        return;
    };
    if head.first() == Some(&TLS_HANDSHAKE) {
        let _ = stream
            .write_all(&response_bytes(400, None, "this is plain HTTP\n"))
            .await;
        return;
    }
    let request_line = String::from_utf8_lossy(&head);
    let path = request_line
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("/");
    match route(path) {
        Reply::Respond {
            status,
            location,
            body,
        } => {
            let _ = stream
                .write_all(&response_bytes(status, location.as_deref(), body))
                .await;
            let _ = stream.shutdown().await;
        }
        Reply::NeverAnswer => tokio::time::sleep(STALL).await,
        Reply::StallBody => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\nthe rest never comes";
            let _ = stream.write_all(head.as_bytes()).await;
            tokio::time::sleep(STALL).await;
        }
    }
}

/// Reads until the blank line ending the head, a TLS record start, EOF, or [`MAX_HEAD`] bytes.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 1024];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..read]);
        if head.first() == Some(&TLS_HANDSHAKE)
            || head.windows(4).any(|window| window == b"\r\n\r\n")
        {
            return Ok(Some(head));
        }
        if head.len() >= MAX_HEAD {
            return Ok(None);
        }
    }
}

fn response_bytes(status: u16, location: Option<&str>, body: &str) -> Vec<u8> {
    let location = location
        .map(|location| format!("Location: {location}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {}\r\n{location}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_chain_counts_down_to_ok() {
        assert_eq!(
            route("/redirect/3"),
            Reply::Respond {
                status: 302,
                location: Some("/redirect/2".to_owned()),
                body: ""
            }
        );
        assert_eq!(
            route("/redirect/1"),
            Reply::Respond {
                status: 302,
                location: Some("/ok".to_owned()),
                body: ""
            }
        );
    }

    #[test]
    fn unknown_paths_are_404() {
        assert!(matches!(
            route("/nothing"),
            Reply::Respond { status: 404, .. }
        ));
        assert!(matches!(
            route("/status/503"),
            Reply::Respond { status: 503, .. }
        ));
    }
}
