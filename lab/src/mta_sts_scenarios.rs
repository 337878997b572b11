//! Lab scenarios for MTA-STS and TLS-RPT: what each domain publishes at `_mta-sts` and
//! `_smtp._tls`, and what its policy host `mta-sts.DOMAIN` serves. The `healthy` scenario gets a
//! complete, enforced deployment; each `sts-*` scenario breaks one thing.
//!
//! Their MX hosts are the health scenarios' (127.0.0.55–59 after the older health scenarios);
//! the policy host is one HTTPS server on 127.0.0.1 with a free port (see `policy_https`).

use std::net::{IpAddr, Ipv4Addr};

use crate::health_scenarios::{HealthSpec, Published};
use crate::policy_https::PolicyReply;

/// Where every lab `mta-sts.DOMAIN` name points: the policy server listens there.
pub(super) const POLICY_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// What one scenario domain publishes for MTA-STS and TLS-RPT.
pub(super) struct Site {
    /// TXT records: (owner relative to the domain, text).
    pub txt: Vec<(String, String)>,
    /// What `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` answers (`None`: 404).
    pub reply: Option<PolicyReply>,
    /// The policy server's certificate names `mta-sts.DOMAIN`.
    pub certified: bool,
}

/// An enforced policy for `mx` patterns, cached for a week.
fn enforced(mx: &[&str]) -> PolicyReply {
    let mut body = String::from("version: STSv1\r\nmode: enforce\r\n");
    for pattern in mx {
        body.push_str("mx: ");
        body.push_str(pattern);
        body.push_str("\r\n");
    }
    body.push_str("max_age: 604800\r\n");
    PolicyReply::policy(body)
}

fn sts_txt() -> (String, String) {
    (
        "_mta-sts".to_owned(),
        "v=STSv1; id=20261201120000".to_owned(),
    )
}

fn tls_rpt_txt(domain: &str) -> (String, String) {
    (
        "_smtp._tls".to_owned(),
        format!("v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"),
    )
}

/// The MTA-STS deployment of the scenario `name` (domain `domain`), if it has one.
pub(super) fn site(name: &str, domain: &str) -> Option<Site> {
    let full = |reply: Option<PolicyReply>, certified: bool| Site {
        txt: vec![sts_txt(), tls_rpt_txt(domain)],
        reply,
        certified,
    };
    // The MX hosts are NAME-mx1.lab.test: "*.lab.test" covers them (one label), the rest do not.
    match name {
        "healthy" | "sts-bad-cert" => {
            Some(full(Some(enforced(&["*.lab.test"])), name == "healthy"))
        }
        "sts-uncovered" => Some(full(
            Some(enforced(&[
                "mail.sts-uncovered.lab.test",
                "*.sts-uncovered.lab.test",
            ])),
            true,
        )),
        "sts-no-policy" => Some(full(None, true)),
        "sts-bad-syntax" => Some(full(
            Some(PolicyReply::policy(
                "version: STSv1\nmode: enforcing\nmx: *.lab.test\nmax_age: 604800\n",
            )),
            true,
        )),
        "sts-no-tlsrpt" => Some(Site {
            txt: vec![sts_txt()],
            reply: Some(enforced(&["*.lab.test"])),
            certified: true,
        }),
        _ => None,
    }
}

/// The scenarios, in the order the demo shows them (after the other health scenarios).
pub(crate) fn specs() -> Vec<(HealthSpec, Published)> {
    let spec = |name, about, expected_top| {
        (
            HealthSpec {
                name,
                about,
                expected_top: Some(expected_top),
                flags: vec![],
            },
            Published::healthy(),
        )
    };
    vec![
        spec(
            "sts-uncovered",
            "an enforced MTA-STS policy whose mx patterns miss the domain's MX (a stale policy after an MX change)",
            "mta-sts-mx-not-covered",
        ),
        spec(
            "sts-no-policy",
            "an _mta-sts record announcing a policy the policy host answers 404 for",
            "mta-sts-policy-unavailable",
        ),
        spec(
            "sts-bad-cert",
            "the MTA-STS policy host presents a certificate that is not valid for its name",
            "mta-sts-certificate-invalid",
        ),
        spec(
            "sts-bad-syntax",
            "an MTA-STS policy with \"mode: enforcing\", which senders cannot parse",
            "mta-sts-invalid",
        ),
        spec(
            "sts-no-tlsrpt",
            "MTA-STS enforced but no TLS-RPT record: failures reach nobody",
            "tls-rpt-missing",
        ),
    ]
}
