//! The one seam between the DNS probes and a resolver: [`DnsLookup`], answered by hickory in a run
//! ([`HickoryLookup`]) and by a table of answers in unit tests.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Record, RecordType};
use hickory_resolver::{ResolverBuilder, TokioResolver};

use mxdoctor_model::observation::Outcome;

/// Asks one question of the DNS.
pub trait DnsLookup: Send + Sync {
    /// The answer records for the fully qualified `fqdn` (CNAMEs followed by the resolver may come
    /// first), or why there are none. Unbounded in time: the caller adds the timeout.
    fn lookup(
        &self,
        fqdn: &str,
        record_type: RecordType,
    ) -> impl Future<Output = Result<Vec<Record>, LookupFailure>> + Send;
}

/// How one DNS query ended when it produced no records of the asked type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupFailure {
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no record of the asked type.
    NoData,
    /// The server answered with an error code (SERVFAIL, REFUSED, ...).
    Code(ResponseCode),
    Timeout,
    /// Anything else: transport error, malformed name, ...
    Other(String),
}

impl LookupFailure {
    /// The label recorded as [`DnsData::response`].
    pub fn response_label(&self) -> String {
        match self {
            Self::NxDomain => "NXDOMAIN".to_owned(),
            Self::NoData => "NODATA".to_owned(),
            Self::Code(code) => format!("{code:?}").to_uppercase(),
            Self::Timeout => "timeout".to_owned(),
            Self::Other(message) => format!("error: {message}"),
        }
    }

    /// Name-level negative answers: the DNS worked and said "nothing here".
    pub fn is_negative_answer(&self) -> bool {
        matches!(self, Self::NxDomain | Self::NoData)
    }

    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::NxDomain | Self::NoData => Outcome::Fail,
            Self::Timeout => Outcome::Timeout,
            Self::Code(_) | Self::Other(_) => Outcome::Error,
        }
    }
}

/// The answer to one query and how long it took.
pub struct Lookup {
    pub result: Result<Vec<Record>, LookupFailure>,
    pub latency: Duration,
}

/// Why no resolver could be set up for a run.
#[derive(Debug, thiserror::Error)]
pub enum DnsSetupError {
    #[error("cannot read the system resolver configuration: {0}")]
    SystemConfig(NetError),
    #[error("cannot build the DNS resolver: {0}")]
    Build(NetError),
}

/// A hickory resolver with fixed servers; each has its own cache, so tests never share answers.
pub struct HickoryLookup {
    resolver: TokioResolver,
}

impl HickoryLookup {
    /// `servers` empty → the system resolver configuration (real users); tests always pass servers.
    /// `timeout` bounds each query.
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Result<Self, DnsSetupError> {
        let resolver = resolver_builder(servers, timeout)?
            .build()
            .map_err(DnsSetupError::Build)?;
        Ok(Self { resolver })
    }
}

/// The resolver every lookup of a run uses, before it is built: `servers`, or the system
/// configuration when empty; one attempt of `timeout` per query. The DNSSEC check adds validation.
pub(crate) fn resolver_builder(
    servers: &[SocketAddr],
    timeout: Duration,
) -> Result<ResolverBuilder<TokioRuntimeProvider>, DnsSetupError> {
    let mut builder = if servers.is_empty() {
        TokioResolver::builder_tokio().map_err(DnsSetupError::SystemConfig)?
    } else {
        let name_servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        )
    };
    let options: &mut ResolverOpts = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    options.num_concurrent_reqs = 1;
    // DNSBL checks fire many lookups at once at one server.
    options.max_active_requests = 512;
    options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    options.preserve_intermediates = true;
    if !servers.is_empty() {
        options.use_hosts_file = ResolveHosts::Never;
    }
    Ok(builder)
}

impl DnsLookup for HickoryLookup {
    async fn lookup(
        &self,
        fqdn: &str,
        record_type: RecordType,
    ) -> Result<Vec<Record>, LookupFailure> {
        match self.resolver.lookup(fqdn, record_type).await {
            Ok(lookup) => Ok(lookup.answers().to_vec()),
            Err(error) => Err(classify(&error)),
        }
    }
}

fn classify(error: &NetError) -> LookupFailure {
    match error {
        NetError::Timeout => LookupFailure::Timeout,
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
            if no_records.response_code == ResponseCode::NXDomain {
                LookupFailure::NxDomain
            } else {
                LookupFailure::NoData
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => LookupFailure::Code(*code),
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => LookupFailure::Timeout,
        other => LookupFailure::Other(other.to_string()),
    }
}
