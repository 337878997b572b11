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
