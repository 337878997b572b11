//! The lab's MTA-STS policy host: an HTTPS server on loopback answering
//! `GET /.well-known/mta-sts.txt` per `Host` header, with a certificate made at start by a CA made
//! at start ("mxdoctor lab MTA-STS CA"), valid for the names the lab chooses to certify.
//!
//! RFC 8461 fixes the policy port at 443. Labs run side by side (several tests in one process, the
//! demo in another, other checkouts on the same host), and only one of them could hold port 443 on
//! an address, so this server takes a free port and the lab passes it with the hidden
//! `check --mta-sts-port` override. The interop suite serves policies on the real port 443.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509Name, X509NameBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::dns::require_loopback;

/// The only path a policy host serves (RFC 8461 §3.3).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";
/// Longest request head read before giving up on a client.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to finish its TLS handshake and send its request head.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server answers for one host name's policy URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyReply {
    pub status: u16,
    pub content_type: &'static str,
    /// A `Location` header (for a redirect, which senders must not follow).
    pub location: Option<String>,
    pub body: String,
}

impl PolicyReply {
    /// A policy served as RFC 8461 wants it: 200, text/plain.
    pub fn policy(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type: "text/plain",
            location: None,
            body: body.into(),
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: 404,
            content_type: "text/html",
            location: None,
            body: "<html><body><h1>404 Not Found</h1></body></html>\n".to_owned(),
        }
    }

    /// A 301 to `location`, as a web host that moves everything to `https://www.` answers.
    pub fn redirect(location: impl Into<String>) -> Self {
        Self {
            status: 301,
            content_type: "text/html",
            location: Some(location.into()),
            body: String::new(),
        }
    }
}

/// A running policy host; it stops when dropped.
pub struct PolicyHttps {
    addr: SocketAddr,
    ca_pem: Vec<u8>,
    task: JoinHandle<()>,
}

impl PolicyHttps {
    /// Binds `bind` (127.0.0.0/8 only; port 0 picks a free port) and serves `sites` (host name →
    /// reply) with a certificate for `certified` names only: a site outside it fails verification.
    pub async fn start(
        bind: SocketAddr,
        sites: HashMap<String, PolicyReply>,
        certified: &[String],
    ) -> io::Result<Self> {
        require_loopback(bind)?;
        let authority = Authority::new(certified).map_err(io::Error::other)?;
        let identity =
            native_tls::Identity::from_pkcs8(&authority.leaf_pem, &authority.leaf_key_pkcs8)
                .map_err(io::Error::other)?;
        let acceptor: tokio_native_tls::TlsAcceptor = native_tls::TlsAcceptor::new(identity)
            .map_err(io::Error::other)?
            .into();
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let sites = Arc::new(
            sites
                .into_iter()
                .map(|(host, reply)| (host.to_ascii_lowercase(), reply))
                .collect::<HashMap<_, _>>(),
        );
        let task = tokio::spawn(serve(listener, acceptor, sites));
        Ok(Self {
            addr,
            ca_pem: authority.ca_pem,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM of the CA that signed this server's certificate (for `--tls-ca`).
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }
}

impl Drop for PolicyHttps {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A CA and one server certificate it signed, made fresh for each lab (nothing kept on disk).
struct Authority {
    ca_pem: Vec<u8>,
    leaf_pem: Vec<u8>,
    leaf_key_pkcs8: Vec<u8>,
}

impl Authority {
    fn new(names: &[String]) -> Result<Self, ErrorStack> {
        let ca_key = new_key()?;
        let ca_name = common_name("mxdoctor lab MTA-STS CA")?;
        let mut ca = X509Builder::new()?;
        ca.set_version(2)?;
        let serial = random_serial()?;
        ca.set_serial_number(&serial)?;
        ca.set_subject_name(&ca_name)?;
        ca.set_issuer_name(&ca_name)?;
        ca.set_pubkey(&ca_key)?;
        set_validity(&mut ca)?;
        ca.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        ca.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&ca.x509v3_context(None, None))?;
        ca.append_extension(ski)?;
        ca.sign(&ca_key, MessageDigest::sha256())?;
        let ca = ca.build();

        let leaf_key = new_key()?;
        let mut leaf = X509Builder::new()?;
        leaf.set_version(2)?;
        let serial = random_serial()?;
        leaf.set_serial_number(&serial)?;
        let first = names.first().map_or("mta-sts.invalid", String::as_str);
        let subject = common_name(first)?;
        leaf.set_subject_name(&subject)?;
        leaf.set_issuer_name(ca.subject_name())?;
        leaf.set_pubkey(&leaf_key)?;
        set_validity(&mut leaf)?;
        leaf.append_extension(BasicConstraints::new().build()?)?;
        leaf.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
        leaf.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
        let mut san = SubjectAlternativeName::new();
        for name in names {
            san.dns(name);
        }
        let san = san.build(&leaf.x509v3_context(Some(&ca), None))?;
        leaf.append_extension(san)?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&leaf.x509v3_context(Some(&ca), None))?;
        leaf.append_extension(aki)?;
        leaf.sign(&ca_key, MessageDigest::sha256())?;
        let leaf: X509 = leaf.build();
        Ok(Self {
            ca_pem: ca.to_pem()?,
            leaf_pem: leaf.to_pem()?,
            leaf_key_pkcs8: leaf_key.private_key_to_pem_pkcs8()?,
        })
    }
}

fn new_key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn common_name(name: &str) -> Result<X509Name, ErrorStack> {
    let mut builder = X509NameBuilder::new()?;
    builder.append_entry_by_nid(Nid::COMMONNAME, name)?;
    Ok(builder.build())
}

fn random_serial() -> Result<Asn1Integer, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    serial.to_asn1_integer()
}

/// From a day ago (clock skew between the lab and the client does not matter) to a year ahead.
fn set_validity(builder: &mut X509Builder) -> Result<(), ErrorStack> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let day_ago = i64::try_from(now.saturating_sub(86_400)).unwrap_or(i64::MAX);
    let (not_before, not_after) = (Asn1Time::from_unix(day_ago)?, Asn1Time::days_from_now(365)?);
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    Ok(())
}

async fn serve(
    listener: TcpListener,
    acceptor: tokio_native_tls::TlsAcceptor,
    sites: Arc<HashMap<String, PolicyReply>>,
) {
    // Owned here so aborting this task (on drop) closes held connections too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(
            stream,
            acceptor.clone(),
            Arc::clone(&sites),
        ));
    }
}

async fn serve_connection(
    stream: TcpStream,
    acceptor: tokio_native_tls::TlsAcceptor,
    sites: Arc<HashMap<String, PolicyReply>>,
) {
    let handshake_and_head = async {
        let mut tls = acceptor.accept(stream).await.ok()?;
        let head = read_head(&mut tls).await?;
        Some((tls, head))
    };
    // A client that fails the handshake (it rejected the certificate) just goes away.
    let Ok(Some((mut tls, head))) = tokio::time::timeout(CLIENT_TIMEOUT, handshake_and_head).await
    else {
        return;
    };
    let reply = answer(&head, &sites);
    let reason = match reply.status {
        200 => "OK",
        301 => "Moved Permanently",
        _ => "Not Found",
    };
    let location = reply
        .location
        .as_ref()
        .map(|location| format!("Location: {location}\r\n"))
        .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        reply.status,
        reply.content_type,
        reply.body.len(),
        reply.body
    );
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

async fn read_head(tls: &mut tokio_native_tls::TlsStream<TcpStream>) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = tls.read(&mut buffer).await.ok()?;
        if read == 0 || head.len() + read > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8(head).ok()
}

/// The reply for a request head: the site's policy at [`POLICY_PATH`], 404 for anything else.
fn answer(head: &str, sites: &HashMap<String, PolicyReply>) -> PolicyReply {
    let mut lines = head.lines();
    let path = lines
        .next()
        .and_then(|request| request.split_whitespace().nth(1))
        .unwrap_or_default();
    let host = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| {
            let value = value.trim();
            value
                .rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|byte| byte.is_ascii_digit()))
                .map_or(value, |(host, _)| host)
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match sites.get(&host) {
        Some(reply) if path == POLICY_PATH => reply.clone(),
        _ => PolicyReply::not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_answered_per_host_and_only_at_the_policy_path() {
        let sites = HashMap::from([(
            "mta-sts.a.test".to_owned(),
            PolicyReply::policy("version: STSv1\n"),
        )]);
        let get = |path: &str, host: &str| {
            answer(
                &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                &sites,
            )
        };
        assert_eq!(get(POLICY_PATH, "mta-sts.a.test").status, 200);
        assert_eq!(get(POLICY_PATH, "MTA-STS.A.TEST:8443").status, 200);
        assert_eq!(get("/", "mta-sts.a.test").status, 404);
        assert_eq!(get(POLICY_PATH, "mta-sts.b.test").status, 404);
    }

    #[test]
    fn the_certificate_names_exactly_the_certified_hosts() {
        let authority = Authority::new(&["mta-sts.a.test".to_owned()]).unwrap();
        let leaf = X509::from_pem(&authority.leaf_pem).unwrap();
        let ca = X509::from_pem(&authority.ca_pem).unwrap();
        let names: Vec<String> = leaf
            .subject_alt_names()
            .unwrap()
            .iter()
            .filter_map(|name| name.dnsname().map(str::to_owned))
            .collect();
        assert_eq!(names, ["mta-sts.a.test"]);
        assert!(leaf.verify(&ca.public_key().unwrap()).unwrap());
    }
}
