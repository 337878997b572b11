//! The HTTP/1.1 server of `mxdoctor serve`, on hyper: GET and HEAD only, one request per connection,
//! request heads bounded in bytes and time, connections bounded in number. What each request answers
//! is the caller's handler: this module only moves bytes.
//!
//! hyper parses the request and writes the response: it refuses a head over [`MAX_HEAD_BYTES`] or
//! with more than 100 headers (431) and a request it cannot parse (400), and it never reads a body we
//! do not ask for. The limits in time and number stay ours: a client that has not sent its whole
//! head within [`Limits::head_timeout`] gets 408 (hyper would only close the connection), a response
//! must be written within [`Limits::write_timeout`], and at most [`Limits::max_connections`]
//! connections are served at once.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// A request head larger than this is refused with 431 (by hyper).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// A client has this long to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Writing the response may take this long.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits in time and number the server enforces itself (hyper enforces the size of a head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub head_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            head_timeout: HEAD_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Why a request hyper parsed is answered 400 Bad Request (its target does not decode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("bad escape in {0:?}")]
    Escape(String),
    #[error("{0:?} does not decode to UTF-8")]
    DecodedNotUtf8(String),
}

/// A parsed request: method, path and decoded query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl HttpRequest {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl HttpResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }

    /// A plain-text answer (errors, help).
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Self::new(status, "text/plain; charset=utf-8", body)
    }
}

/// What answers each request.
pub type Handler =
    Arc<dyn Fn(HttpRequest) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> + Send + Sync>;

/// Binds `address`, tells `on_listening` the bound address (port 0 picks one), then serves `handler`
/// until `shutdown` completes or an accept error that is not transient.
pub async fn listen_and_serve(
    address: SocketAddr,
    handler: Handler,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listener = TcpListener::bind(address).await?;
    on_listening(listener.local_addr()?);
    tokio::select! {
        result = serve(listener, handler) => result,
        () = shutdown => Ok(()),
    }
}

/// Serves `listener` with the default [`Limits`] until an accept error that is not transient.
pub async fn serve(listener: TcpListener, handler: Handler) -> io::Result<()> {
    serve_with(listener, handler, Limits::default()).await
}

/// Serves `listener` within `limits` until an accept error that is not transient.
pub async fn serve_with(listener: TcpListener, handler: Handler, limits: Limits) -> io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) if is_transient(&error) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(error) => return Err(error),
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = answer(stream, handler, limits).await;
        });
    }
}

/// Out of file descriptors or a connection reset before accept: keep serving.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || error
        .raw_os_error()
        .is_some_and(|code| code == 23 || code == 24)
}

/// Where a connection is: each stage has its own time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the request head: [`Limits::head_timeout`], then 408.
    Head,
    /// The handler runs (a probe may take long): no limit here, the handler has its own.
    Handling,
    /// hyper writes the response: [`Limits::write_timeout`], then the connection is dropped.
    Writing,
}

/// Serves one request on `stream` with hyper, within `limits`.
async fn answer(stream: TcpStream, handler: Handler, limits: Limits) -> io::Result<()> {
    let (stage_sender, mut stage) = watch::channel(Stage::Head);
    let stage_sender = Arc::new(stage_sender);
    let service = service_fn(move |request: Request<Incoming>| {
        let handler = Arc::clone(&handler);
        let stage_sender = Arc::clone(&stage_sender);
        async move {
            stage_sender.send_replace(Stage::Handling);
            let response = respond(&handler, request.method(), request.uri()).await;
            stage_sender.send_replace(Stage::Writing);
            Ok::<_, Infallible>(to_hyper(response))
        }
    });
    let mut connection = http1::Builder::new()
        .keep_alive(false)
        .max_header_size(MAX_HEAD_BYTES)
        // Ours instead (the Head stage), so a slow client is answered 408 rather than cut off.
        .header_read_timeout(None)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service);
    let expired_in = loop {
        let current = *stage.borrow_and_update();
        let limit = match current {
            Stage::Head => Some(limits.head_timeout),
            Stage::Handling => None,
            Stage::Writing => Some(limits.write_timeout),
        };
        let expiry = async move {
            match limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut connection => return result.map_err(io::Error::other),
            changed = stage.changed() => {
                // The sender lives in the service, as long as the connection: an error means it
                // is finishing, so wait for it without a stage.
                if changed.is_err() {
                    return (&mut connection).await.map_err(io::Error::other);
                }
            }
            () = expiry => break current,
        }
    };
    if expired_in != Stage::Head {
        return Err(io::ErrorKind::TimedOut.into());
    }
    let mut stream = connection.into_parts().io.into_inner();
    let late = encode(&HttpResponse::text(
        408,
        "request head not received in time",
    ));
    let write = async {
        stream.write_all(&late).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(limits.write_timeout, write)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// The handler's answer to a GET or HEAD whose target decodes; 400 or 405 otherwise.
async fn respond(handler: &Handler, method: &Method, uri: &Uri) -> HttpResponse {
    match request_from(method, uri) {
        Err(problem) => HttpResponse::text(400, problem.to_string()),
        Ok(request) if *method == Method::GET || *method == Method::HEAD => handler(request).await,
        Ok(_) => HttpResponse::text(405, "only GET and HEAD"),
    }
}

/// The method, decoded path and decoded query parameters of a request hyper has parsed.
pub fn request_from(method: &Method, uri: &Uri) -> Result<HttpRequest, RequestError> {
    let query = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(key)?, percent_decode(value)?))
        })
        .collect::<Result<Vec<_>, RequestError>>()?;
    Ok(HttpRequest {
        method: method.as_str().to_string(),
        path: percent_decode(uri.path())?,
        query,
    })
}

/// Our response as hyper's; hyper adds Content-Length and leaves the body out for HEAD.
fn to_hyper(response: HttpResponse) -> Response<Full<Bytes>> {
    let mut reply = Response::new(Full::new(Bytes::from(response.body)));
    *reply.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = HeaderValue::from_str(&response.content_type)
        .unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
    reply.headers_mut().insert(CONTENT_TYPE, content_type);
    reply
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    reply
}

/// Decodes `%XX` escapes and `+` (a space in a query).
fn percent_decode(text: &str) -> Result<String, RequestError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text
                    .get(index + 1..index + 3)
                    .ok_or_else(|| RequestError::Escape(text.to_string()))?;
                out.push(
                    u8::from_str_radix(hex, 16)
                        .map_err(|_| RequestError::Escape(text.to_string()))?,
                );
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| RequestError::DecodedNotUtf8(text.to_string()))
}

/// A whole response in bytes, for the one answer hyper cannot give: 408 on the raw socket.
fn encode(response: &HttpResponse) -> Vec<u8> {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut bytes = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(response.body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn target_and_query_are_decoded() {
        let uri: Uri = "/probe?target=a.example&profile=ci&x=%2Fy+z"
            .parse()
            .unwrap();
        let request = request_from(&Method::GET, &uri).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/probe");
        assert_eq!(request.param("target"), Some("a.example"));
        assert_eq!(request.param("x"), Some("/y z"));
        let bad: Uri = "/x?a=%zz".parse().unwrap();
        assert_eq!(
            request_from(&Method::GET, &bad).unwrap_err().to_string(),
            "bad escape in \"%zz\""
        );
        let not_utf8: Uri = "/x?a=%ff".parse().unwrap();
        assert!(request_from(&Method::GET, &not_utf8).is_err());
    }

    /// A server on 127.0.0.1 (port 0) answering `path <PATH> <target param>`, within `limits`.
    async fn server(limits: Limits) -> (SocketAddr, tokio::task::JoinHandle<io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(|request: HttpRequest| {
            Box::pin(async move {
                HttpResponse::text(
                    200,
                    format!(
                        "path {} {}",
                        request.path,
                        request.param("target").unwrap_or("-")
                    ),
                )
            })
        });
        (address, tokio::spawn(serve_with(listener, handler, limits)))
    }

    /// Sends `request`, then reads the answer until the server closes (at most 10 s).
    async fn exchange(address: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
        // A server that closes with request bytes unread resets the connection; what arrived counts.
        let _ = read
            .await
            .expect("the server answers and closes within 10 s");
        String::from_utf8_lossy(&answer).into_owned()
    }

    fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
        let (head, _) = answer.split_once("\r\n\r\n")?;
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }

    #[tokio::test]
    async fn get_and_head_are_answered_and_other_methods_refused() {
        let (address, server) = server(Limits::default()).await;
        let answer = exchange(
            address,
            b"GET /hello?target=a%2Eexample HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\npath /hello a.example\n"),
            "{answer}"
        );
        assert_eq!(
            header(&answer, "content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(header(&answer, "content-length"), Some("22"));
        assert_eq!(header(&answer, "connection"), Some("close"));

        let head = exchange(address, b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head}");
        assert_eq!(header(&head, "content-length"), Some("14"));

        let post = exchange(
            address,
            b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        assert!(
            post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{post}"
        );
        assert!(post.ends_with("only GET and HEAD\n"), "{post}");

        let escape = exchange(address, b"GET /x?target=%zz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            escape.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{escape}"
        );
        assert!(escape.ends_with("bad escape in \"%zz\"\n"), "{escape}");

        // HTTP/1.0 without a Host header is still HTTP/1.x.
        let old = exchange(address, b"GET /old HTTP/1.0\r\n\r\n").await;
        assert!(
            old.starts_with("HTTP/1.1 200 OK\r\n") || old.starts_with("HTTP/1.0 200 OK\r\n"),
            "{old}"
        );
        server.abort();
    }

    #[tokio::test]
    async fn oversized_heads_and_garbage_are_refused() {
        let (address, server) = server(Limits::default()).await;
        // One request line longer than the head limit, never ended.
        let mut huge = b"GET /".to_vec();
        huge.resize(MAX_HEAD_BYTES + 1024, b'a');
        let answer = exchange(address, &huge).await;
        assert!(
            answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
            "{answer:?}"
        );
        // Headers that add up past the limit.
        let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for index in 0..200 {
            many.extend_from_slice(format!("X-Filler-{index}: {}\r\n", "b".repeat(40)).as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let answer = exchange(address, &many).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
        // Not HTTP at all: a TLS ClientHello, a bare word, a request line with a bad version.
        for garbage in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"[..],
            b"HELLO\r\n\r\n",
            b"GET /x HTTP/2\r\n\r\n",
            b"GET /x HTTP/1.1\r\nno colon here\r\n\r\n",
        ] {
            let answer = exchange(address, garbage).await;
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request"),
                "{garbage:?}: {answer:?}"
            );
        }
        // The server still answers after all that.
        let answer = exchange(address, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        server.abort();
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_head_gets_408() {
        let limits = Limits {
            head_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let (address, server) = server(limits).await;
        // Silent after half a head.
        let started = std::time::Instant::now();
        let answer = exchange(address, b"GET /slow HTTP/1.1\r\nHost: x\r\n").await;
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{answer:?}"
        );
        assert!(
            answer.ends_with("request head not received in time\n"),
            "{answer:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        // Slowloris: a header line every 100 ms keeps the connection busy, not alive past the limit.
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET /drip HTTP/1.1\r\n").await.unwrap();
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        for index in 0..50 {
            if stream
                .write_all(format!("X-Drip-{index}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
        server.abort();
    }

    #[tokio::test]
    async fn connections_over_the_limit_are_closed_at_once() {
        let limits = Limits {
            head_timeout: Duration::from_secs(5),
            max_connections: 1,
            ..Limits::default()
        };
        let (address, server) = server(limits).await;
        // The first connection holds the only slot while it sends nothing.
        let _holder = TcpStream::connect(address).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answer = exchange(address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(
            answer, "",
            "a connection over the limit is closed unanswered"
        );
        server.abort();
    }
}
