//! The typed payloads of the one-shot health checks (resolver trust, sender authentication,
//! reverse DNS, IPv6, transport policy), kept apart from the probe payloads in `observation`.

use serde::{Deserialize, Serialize};

/// Whether the resolver in use can be believed (`dns.resolver`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResolverData {
    pub server: String,
    /// trusted | rewrites | blind | unreachable | unusable
    pub verdict: String,
    pub trusted: bool,
    /// What it said for the root zone's SOA and NS.
    pub root_soa: String,
    pub root_ns: String,
    /// The target's public suffix (when the Public Suffix List knows it) and what it said for its SOA.
    pub parent_zone: Option<String>,
    pub parent: Option<String>,
    /// A random name that cannot exist, and what it said for it (NXDOMAIN is right).
    pub canary_name: String,
    pub canary: String,
}
