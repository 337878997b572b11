//! The HTTPS client of the MTA-STS policy fetch, shared by every run of the process.
//!
//! Building a client makes OpenSSL parse the system trust store, which costs hundreds of
//! milliseconds of CPU under OpenSSL 3: once per domain is too much for fleet mode and the demo.
//! So one client is built per set of extra roots (`--tls-ca`) and kept. It never uses the system
//! resolver: a policy host is connected to only at the addresses the run's own resolver gave,
//! pinned here just before the request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Certificate, Client, redirect};

/// Host names and the addresses the run's resolver gave for them.
#[derive(Default)]
struct PinnedAddresses {
    pins: Mutex<HashMap<String, Vec<SocketAddr>>>,
}

/// A name nobody pinned: the client would otherwise fall back to no resolver at all.
#[derive(Debug, thiserror::Error)]
#[error("{0} was not resolved through the run's resolver")]
struct NotPinned(String);

impl Resolve for PinnedAddresses {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let found = self
            .pins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&host)
            .cloned();
        Box::pin(async move {
            match found {
                Some(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                None => Err(Box::new(NotPinned(host)) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

struct Shared {
    pinned: Arc<PinnedAddresses>,
    /// Held while a client is built, so concurrent runs wait for it instead of building their own.
    clients: tokio::sync::Mutex<HashMap<Vec<Vec<u8>>, Client>>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        pinned: Arc::new(PinnedAddresses::default()),
        clients: tokio::sync::Mutex::new(HashMap::new()),
    })
}

/// Pins `host` to `addresses` (later fetches of the same host in this process see the latest).
pub(super) fn pin(host: &str, addresses: Vec<SocketAddr>) {
    shared()
        .pinned
        .pins
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(host.to_ascii_lowercase(), addresses);
}

/// The client trusting the system store plus `extra_roots_pem`: no redirects, no proxy, the
/// pinned addresses only. Built once per set of roots, on a blocking thread.
pub(super) async fn client(extra_roots_pem: &[Vec<u8>]) -> Result<Client, reqwest::Error> {
    let key = extra_roots_pem.to_vec();
    let mut clients = shared().clients.lock().await;
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    let roots_pem = key.clone();
    let resolver = Arc::clone(&shared().pinned);
    let built = tokio::task::spawn_blocking(move || {
        let mut roots = Vec::new();
        for pem in &roots_pem {
            // An unreadable --tls-ca is reported once by the run; here it only adds nothing.
            if let Ok(certificates) = Certificate::from_pem_bundle(pem) {
                roots.extend(certificates);
            }
        }
        Client::builder()
            .redirect(redirect::Policy::none())
            .no_proxy()
            .tls_certs_merge(roots)
            .dns_resolver(resolver)
            .build()
    })
    .await;
    let client = match built {
        Ok(result) => result?,
        // The blocking task panicked or was cancelled: build here rather than fail the probe.
        Err(_) => Client::builder()
            .redirect(redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::clone(&shared().pinned))
            .build()?,
    };
    clients.insert(key, client.clone());
    Ok(client)
}
