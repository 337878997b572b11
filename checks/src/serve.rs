//! A minimal HTTP/1.1 server for `mxdoctor serve`: GET and HEAD only, one request per connection,
//! request heads bounded in bytes and time, connections bounded in number. What each request answers
//! is the caller's handler: this module only moves bytes.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// A request head larger than this is refused with 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// A client has this long to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Writing the response may take this long.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request is answered 400 Bad Request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request head is not UTF-8")]
    NotUtf8,
    #[error("malformed request line {0:?}")]
    RequestLine(String),
    #[error("unsupported protocol {0:?}")]
    Protocol(String),
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

/// Serves `listener` until an accept error that is not transient.
pub async fn serve(listener: TcpListener, handler: Handler) -> io::Result<()> {
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
            let _ = answer(stream, &handler).await;
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

async fn answer(mut stream: TcpStream, handler: &Handler) -> io::Result<()> {
    let (response, head_only) =
        match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
            Err(_) => (
                HttpResponse::text(408, "request head not received in time"),
                false,
            ),
            Ok(Err(error)) if error.kind() == io::ErrorKind::InvalidData => {
                (HttpResponse::text(431, "request head too large"), false)
            }
            Ok(Err(error)) => return Err(error),
            Ok(Ok(head)) => match parse_request(&head) {
                Err(problem) => (HttpResponse::text(400, problem.to_string()), false),
                Ok(request) if request.method == "GET" || request.method == "HEAD" => {
                    let head_only = request.method == "HEAD";
                    (handler(request).await, head_only)
                }
                Ok(_) => (HttpResponse::text(405, "only GET and HEAD"), false),
            },
        };
    let write = async {
        stream.write_all(&encode(&response, head_only)).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// Reads up to the blank line ending the head; `InvalidData` past [`MAX_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 1024];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..read]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}

/// Parses the request line; headers are not needed and are ignored.
pub fn parse_request(head: &[u8]) -> Result<HttpRequest, RequestError> {
    let text = std::str::from_utf8(head).map_err(|_| RequestError::NotUtf8)?;
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::RequestLine(line.to_string()));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(RequestError::Protocol(version.to_string()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(key)?, percent_decode(value)?))
        })
        .collect::<Result<Vec<_>, RequestError>>()?;
    Ok(HttpRequest {
        method: method.to_string(),
        path: percent_decode(path)?,
        query,
    })
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

fn encode(response: &HttpResponse, head_only: bool) -> Vec<u8> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut bytes = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if !head_only {
        bytes.extend_from_slice(response.body.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_and_query_are_decoded() {
        let request =
            parse_request(b"GET /probe?target=a.example&profile=ci&x=%2Fy+z HTTP/1.1\r\nHost: h")
                .unwrap();
        assert_eq!(request.path, "/probe");
        assert_eq!(request.param("target"), Some("a.example"));
        assert_eq!(request.param("x"), Some("/y z"));
        assert!(parse_request(b"GET /x").is_err());
        assert!(parse_request(b"GET /x?a=%zz HTTP/1.1").is_err());
        assert!(parse_request(b"GET /x HTTP/2").is_err());
    }

    #[tokio::test]
    async fn oversized_heads_are_refused_and_handlers_answer_the_rest() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(|request: HttpRequest| {
            Box::pin(async move { HttpResponse::text(200, format!("path {}", request.path)) })
        });
        let server = tokio::spawn(serve(listener, handler));
        let exchange = |request: Vec<u8>| async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.write_all(&request).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        };
        let answer = exchange(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()).await;
        assert!(
            answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("path /hello\n"),
            "{answer}"
        );
        // Exactly nine 1 KiB reads, all consumed by the server, so closing does not reset the connection.
        let mut huge = b"GET /".to_vec();
        huge.resize(9 * 1024, b'a');
        assert!(exchange(huge).await.starts_with("HTTP/1.1 431"));
        server.abort();
    }
}
