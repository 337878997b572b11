//! Decides when a run says more about where it ran from than about the target (port 25 blocked, resolver down).

use mxdoctor_model::{Data, Observation, Outcome};

/// A run whose failures point at the prober's own network: the status is UNKNOWN, with this note.
pub fn inconclusive_reason(observations: &[Observation]) -> Option<String> {
    let sessions: Vec<&Observation> = observations
        .iter()
        .filter(|o| o.check == "smtp.session")
        .collect();
    let dns: Vec<&Observation> = observations
        .iter()
        .filter(|o| o.check.starts_with("dns."))
        .collect();
    let dns_answered = dns.iter().any(|o| o.outcome.answered());
    if !dns.is_empty() && !dns_answered && sessions.is_empty() {
        return Some("inconclusive — no DNS server answered; probably the resolver or this network, not the target".into());
    }
    let never_connected = |o: &&Observation| match &o.data {
        Data::Session(session) => !session.connected,
        _ => matches!(o.outcome, Outcome::Timeout | Outcome::Error),
    };
    if sessions.len() > 1 && dns_answered && sessions.iter().all(never_connected) {
        return Some(format!(
            "inconclusive — DNS works but none of {} SMTP hosts accepted a connection; probably this network blocks outbound port 25",
            sessions.len()
        ));
    }
    None
}

/// True when no probe got any answer at all (nothing could be probed).
pub fn nothing_answered(observations: &[Observation]) -> bool {
    observations
        .iter()
        .filter(|o| o.check != "run.context")
        .all(|o| !o.outcome.answered())
}

/// The playbook that reports an untrusted resolver; it is the one finding such a run keeps.
pub const RESOLVER_PLAYBOOK: &str = "resolver-untrusted";

/// The `dns.resolver` observation when it says the resolver in use cannot be believed.
pub fn untrusted_resolver(observations: &[Observation]) -> Option<&Observation> {
    observations.iter().find(|o| {
        o.check == "dns.resolver"
            && matches!(&o.data, Data::Resolver(resolver) if !resolver.trusted)
    })
}

/// Checks whose answer comes from the resolver: worthless when the resolver lies.
pub fn rests_on_dns(check: &str) -> bool {
    check.starts_with("dns.")
        || check.starts_with("auth.")
        || matches!(
            check,
            "mx.host" | "dnsbl" | "surbl" | "ipv6.mx" | "tls.mta_sts" | "tls.rpt"
        )
}

/// What an untrusted resolver leaves of a run's findings.
pub struct Withheld {
    /// The note that says why the run is inconclusive.
    pub note: String,
    /// Playbook ids not reported because their evidence came (directly or through the MX set)
    /// from the untrusted resolver.
    pub playbooks: Vec<String>,
    /// False when findings that do not rest on DNS remain (a host target probed by address).
    pub unknown: bool,
}

/// Drops the findings an untrusted resolver makes worthless. For a domain every finding rests on
/// the resolver (it chose the hosts probed); for a host given by address only the DNS-based ones.
pub fn withhold_for_resolver(
    observations: &[Observation],
    domain_target: bool,
    findings: &mut Vec<crate::finding::Finding>,
) -> Option<Withheld> {
    let resolver = untrusted_resolver(observations)?;
    let mut playbooks = Vec::new();
    findings.retain(|finding| {
        let keep = finding.playbook == RESOLVER_PLAYBOOK
            || (!domain_target
                && !finding
                    .evidence
                    .iter()
                    .any(|evidence| rests_on_dns(&evidence.check)));
        if !keep {
            playbooks.push(finding.playbook.clone());
        }
        keep
    });
    let unknown = domain_target || findings.iter().all(|f| f.playbook == RESOLVER_PLAYBOOK);
    Some(Withheld {
        note: format!("inconclusive — {}", resolver.detail),
        playbooks,
        unknown,
    })
}
