//! The lab world: one DNS server, one HTTP server and a set of simulated mail systems, each a scenario
//! with the command line that diagnoses it and the playbook that must come out on top.
//!
//! `mxdoctor demo` and the integration tests both start this; there is one implementation.

use std::collections::HashMap;
use std::io;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use crate::dns::{LabDns, LabDnsConfig};
use crate::health_scenarios;
use crate::http::LabHttp;
use crate::ipv6_scenarios;
use crate::mta_sts_scenarios;
use crate::policy_https::PolicyHttps;
use crate::smtp::{LabCert, LabSmtp, LabSmtpConfig, Personality};

/// Every scenario domain lives under this zone; MX hosts are `NAME-mxN.lab.test`.
pub const LAB_ZONE: &str = "lab.test";
/// A DNSBL zone listing the `dnsbl-listed` scenario's MX.
pub const LISTING_ZONE: &str = "bl.lab.test";
/// A DNSBL zone that answers only after [`SLOW_ZONE_DELAY`].
pub const SLOW_ZONE: &str = "slow-bl.lab.test";
pub const SLOW_ZONE_DELAY: Duration = Duration::from_secs(3);
/// Short timeout for scenarios whose point is that something never answers.
const SHORT_TIMEOUT: &str = "2";

/// One simulated mail system and how to diagnose it.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub domain: String,
    /// The playbook that must rank first; `None`: nothing above info.
    pub expected_top: Option<&'static str>,
    /// Flags beyond target, --dns, --smtp-port and --tls-ca.
    pub flags: Vec<String>,
    /// The `--smtp-port` of its command line: the lab's shared port, or its own.
    pub smtp_port: u16,
}

pub(super) struct Mx {
    preference: u16,
    personality: Personality,
    cert: Option<LabCert>,
}

pub(super) struct Spec {
    pub(super) name: &'static str,
    pub(super) about: &'static str,
    pub(super) expected_top: Option<&'static str>,
    pub(super) mx: Vec<Mx>,
    pub(super) flags: Vec<String>,
}

pub(super) fn mx(preference: u16, personality: Personality) -> Mx {
    Mx {
        preference,
        personality,
        cert: Some(LabCert::Valid),
    }
}

pub(super) fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|flag| (*flag).to_string()).collect()
}

/// The scenarios, in the order the demo shows them.
fn specs(http: &LabHttp) -> Vec<Spec> {
    let ok_url = http.url("/ok");
    let blackhole_url = http.url("/blackhole");
    vec![
        Spec {
            name: "healthy",
            about: "a correctly configured gateway: relay denied, unknown users rejected, valid STARTTLS",
            expected_top: None,
            mx: vec![mx(10, Personality::Healthy)],
            flags: vec![
                "--dkim-selector".into(),
                "lab".into(),
                "--gateway".into(),
                "healthy-mx1.lab.test".into(),
                "--dnsbl".into(),
                LISTING_ZONE.into(),
                "--http-egress".into(),
                ok_url,
            ],
        },
        Spec {
            name: "open-relay",
            about: "a gateway that relays for anyone",
            expected_top: Some("open-relay"),
            mx: vec![mx(10, Personality::OpenRelay)],
            flags: vec![],
        },
        Spec {
            name: "relay-denied",
            about: "an internal client (--expect-relay) refused with 5.7.1 Relay access denied",
            expected_top: Some("relay-access-denied"),
            mx: vec![mx(10, Personality::RelayDenied)],
            flags: flags(&["--expect-relay"]),
        },
        Spec {
            name: "reputation",
            about: "an internal client refused with a 5.7.1 that is about sender reputation, not relaying",
            expected_top: Some("reputation-rejection"),
            mx: vec![mx(10, Personality::ReputationBlock)],
            flags: flags(&["--expect-relay"]),
        },
        Spec {
            name: "bypass",
            about: "a backup MX that is not the gateway and accepts what the gateway rejects",
            expected_top: Some("gateway-bypass-mx"),
            mx: vec![
                mx(10, Personality::Healthy),
                mx(20, Personality::UnfilteredBackup),
            ],
            flags: flags(&["--gateway", "bypass-mx1.lab.test"]),
        },
        Spec {
            name: "greylist",
            about: "a greylisting gateway: first RCPT deferred, the retry after the window passes",
            expected_top: Some("greylisting"),
            mx: vec![mx(10, Personality::Greylister)],
            flags: flags(&[
                "--greylist-wait",
                "2",
                "--rcpt-valid",
                "alice@greylist.lab.test",
            ]),
        },
        Spec {
            name: "verify-backend-down",
            about: "recipient verification against a backend that refuses connections",
            expected_top: Some("recipient-verification-unavailable"),
            mx: vec![mx(10, Personality::VerifyDeadBackend)],
            flags: vec![],
        },
        Spec {
            name: "dnsbl-slow",
            about: "a DNSBL zone that takes 3 s to answer, eating the gateway's milter window",
            // The slow list is the cause; the milter timeout it predicts is folded under it.
            expected_top: Some("dnsbl-slow"),
            mx: vec![mx(10, Personality::Healthy)],
            flags: flags(&["--dnsbl", SLOW_ZONE, "--dnsbl", LISTING_ZONE]),
        },
        Spec {
            name: "dnsbl-listed",
            about: "the gateway's own address is listed in a DNSBL",
            expected_top: Some("dnsbl-listed"),
            mx: vec![mx(10, Personality::Healthy)],
            flags: flags(&["--dnsbl", LISTING_ZONE]),
        },
        Spec {
            name: "uri-redirect-blocked",
            about: "HTTP egress for URL-redirect lookups is black-holed by a firewall",
            expected_top: Some("milter-timeout-uri-redirect"),
            mx: vec![mx(10, Personality::Healthy)],
            flags: vec![
                "--http-egress".into(),
                blackhole_url,
                "--timeout".into(),
                SHORT_TIMEOUT.into(),
            ],
        },
        Spec {
            name: "exchange",
            about: "Exchange accepting every recipient: recipient filtering is off",
            expected_top: Some("exchange-recipient-filter"),
            mx: vec![mx(10, Personality::ExchangeLike)],
            flags: vec![],
        },
        Spec {
            name: "no-policy",
            about: "no policy matches: GTUBE and EICAR both accepted (test messages to a lab mailbox)",
            expected_top: Some("scan-bypass-no-policy"),
            mx: vec![mx(10, Personality::NoFilter)],
            flags: flags(&[
                "--send-test-message",
                "--rcpt-valid",
                "alice@no-policy.lab.test",
            ]),
        },
        Spec {
            name: "safelisted",
            about: "antivirus works but antispam is skipped: GTUBE accepted, EICAR rejected",
            expected_top: Some("antispam-bypass-safelist"),
            mx: vec![mx(10, Personality::SpamSafelisted)],
            flags: flags(&[
                "--send-test-message",
                "--rcpt-valid",
                "alice@safelisted.lab.test",
            ]),
        },
        Spec {
            name: "expired-cert",
            about: "STARTTLS presents an expired certificate",
            expected_top: Some("tls-certificate-invalid"),
            mx: vec![Mx {
                preference: 10,
                personality: Personality::Healthy,
                cert: Some(LabCert::Expired),
            }],
            flags: vec![],
        },
        Spec {
            name: "silent",
            about: "the port accepts connections but no banner ever comes",
            expected_top: Some("smtp-no-banner"),
            mx: vec![mx(10, Personality::Silent)],
            flags: flags(&["--timeout", SHORT_TIMEOUT]),
        },
    ]
}

/// The running lab: stop it by dropping it.
pub struct Lab {
    pub dns: LabDns,
    pub http: LabHttp,
    pub smtp: Vec<(String, LabSmtp)>,
    pub smtp_port: u16,
    pub scenarios: Vec<Scenario>,
    /// The lab root's DNSKEY record, for `--dnssec-trust-anchor`; removed with the lab.
    dnssec_anchor: Option<AnchorFile>,
    /// Whether the IPv6 scenarios run here (they need ::1).
    pub ipv6: ipv6_scenarios::Availability,
    /// The shared port held on ::1 (bound, not listening) for the IPv6 one-family scenario.
    _ipv6_hold: Option<tokio::net::TcpSocket>,
    /// The MTA-STS policy host of every scenario that has one, and its CA written to a file.
    pub policy: PolicyHttps,
    policy_ca: tempfile::NamedTempFile,
}

/// A trust anchor file in the temporary directory, deleted when dropped.
struct AnchorFile(std::path::PathBuf);

impl AnchorFile {
    fn write(text: &str) -> io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "mxdoctor-lab-anchor-{}-{}.key",
            std::process::id(),
            free_port()?
        ));
        std::fs::write(&path, text)?;
        Ok(Self(path))
    }
}

impl Drop for AnchorFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Lab {
    /// Starts every server on 127.0.0.0/8: SMTP servers share one free port on distinct addresses.
    pub async fn start() -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..5 {
            match Self::try_start().await {
                Ok(lab) => return Ok(lab),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("lab did not start")))
    }

    async fn try_start() -> io::Result<Self> {
        let http = LabHttp::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let port = free_port()?;
        let mut dns_config = LabDnsConfig::new();
        dns_config
            .zone(LAB_ZONE)
            .slow_zone(SLOW_ZONE, SLOW_ZONE_DELAY)
            .sign_root();
        let mut smtp = Vec::new();
        let mut scenarios = Vec::new();
        let mut next_host: u8 = 10;
        let mut next_health_host = health_scenarios::FIRST_HOST;
        let older = specs(&http).into_iter().map(|spec| {
            let published = health_scenarios::published_by(spec.name);
            (spec, published, false)
        });
        let health = health_scenarios::specs()
            .into_iter()
            .chain(mta_sts_scenarios::specs())
            .map(|(spec, published)| {
                let spec = Spec {
                    name: spec.name,
                    about: spec.about,
                    expected_top: spec.expected_top,
                    mx: vec![mx(10, Personality::Healthy)],
                    flags: spec.flags,
                };
                (spec, published, true)
            });
        let mut policy_sites = HashMap::new();
        let mut certified = Vec::new();
        for (mut spec, published, in_health_range) in older.chain(health) {
            let domain = format!("{}.{LAB_ZONE}", spec.name);
            for (owner, text) in health_scenarios::default_txt(&domain, &published) {
                dns_config.add_txt(&owner, &text);
            }
            if let Some(site) = mta_sts_scenarios::site(spec.name, &domain) {
                for (owner, text) in &site.txt {
                    dns_config.add_txt(&format!("{owner}.{domain}"), text);
                }
                let host = format!("mta-sts.{domain}");
                dns_config.add_a(&host, mta_sts_scenarios::POLICY_ADDRESS);
                if let Some(reply) = site.reply {
                    policy_sites.insert(host.clone(), reply);
                }
                if site.certified {
                    certified.push(host);
                }
            }
            for (index, host) in spec.mx.iter().enumerate() {
                let exchange = format!("{}-mx{}.{LAB_ZONE}", spec.name, index + 1);
                let counter = if in_health_range {
                    &mut next_health_host
                } else {
                    &mut next_host
                };
                if *counter == 0 {
                    return Err(io::Error::other(
                        "more health scenario hosts than 127.0.0.50-59 and 127.0.0.120-139",
                    ));
                }
                let address = Ipv4Addr::new(127, 0, 0, *counter);
                *counter = if in_health_range {
                    // 0 marks both ranges as used up; the next health host reports it.
                    health_scenarios::next_host(*counter).unwrap_or(0)
                } else {
                    *counter + 1
                };
                if index == 0 && published.outbound_ip_is_mx {
                    spec.flags
                        .extend(["--outbound-ip".to_owned(), address.to_string()]);
                }
                let mut config: LabSmtpConfig = host.personality.config(&domain);
                if config.starttls.is_some() {
                    config.starttls = host.cert;
                }
                let server = LabSmtp::start(config, SocketAddr::from((address, port))).await?;
                smtp.push((exchange.clone(), server));
                dns_config
                    .add_mx(&domain, host.preference, &exchange)
                    .add_a(&exchange, IpAddr::V4(address));
                if !published.no_ptr {
                    dns_config.add_ptr(IpAddr::V4(address), &exchange);
                }
                if published.tlsa {
                    let presented = host.cert.unwrap_or(LabCert::Valid).certificate_der()?;
                    let digest = mxdoctor_checks::health::dane::dane_ee_spki_sha256(&presented)
                        .map_err(io::Error::other)?;
                    dns_config.add_tlsa(&format!("_25._tcp.{exchange}"), 3, 1, 1, digest);
                }
                if spec.name == "dnsbl-listed" {
                    dns_config.listed_with_reason(
                        LISTING_ZONE,
                        &address.to_string(),
                        Ipv4Addr::new(127, 0, 0, 2),
                        "Listed in the lab blocklist: demo listing",
                    );
                }
            }
            scenarios.push(Scenario {
                name: spec.name,
                about: spec.about,
                domain,
                expected_top: spec.expected_top,
                flags: spec.flags,
                smtp_port: port,
            });
        }
        let ipv6 = ipv6_scenarios::start(&mut dns_config, LAB_ZONE, port).await?;
        let (ipv6_hold, ipv6_available) = match ipv6 {
            Some(started) => {
                smtp.extend(started.smtp);
                scenarios.extend(started.scenarios.into_iter().map(|s| Scenario {
                    name: s.name,
                    about: s.about,
                    domain: s.domain,
                    expected_top: s.expected_top,
                    flags: Vec::new(),
                    smtp_port: s.smtp_port,
                }));
                (Some(started.hold), ipv6_scenarios::Availability::Available)
            }
            None => (None, ipv6_scenarios::availability()),
        };
        let dns = LabDns::start(dns_config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let policy = PolicyHttps::start(
            SocketAddr::new(mta_sts_scenarios::POLICY_ADDRESS, 0),
            policy_sites,
            &certified,
        )
        .await?;
        let mut policy_ca = tempfile::Builder::new()
            .prefix("mxdoctor-lab-mta-sts-ca-")
            .suffix(".pem")
            .tempfile()?;
        policy_ca.write_all(policy.ca_pem())?;
        policy_ca.flush()?;
        let dnssec_anchor = match dns.trust_anchor() {
            Some(text) => Some(AnchorFile::write(text)?),
            None => None,
        };
        Ok(Self {
            dns,
            http,
            smtp,
            smtp_port: port,
            scenarios,
            dnssec_anchor,
            ipv6: ipv6_available,
            _ipv6_hold: ipv6_hold,
            policy,
            policy_ca,
        })
    }

    /// The full `mxdoctor` argument list that diagnoses `scenario` (`ca_file` holds the lab CA).
    pub fn command_line(&self, scenario: &Scenario, ca_file: &Path) -> Vec<String> {
        let mut args = vec![
            "check".to_string(),
            scenario.domain.clone(),
            "--dns".into(),
            self.dns.addr().to_string(),
            "--smtp-port".into(),
            scenario.smtp_port.to_string(),
            "--tls-ca".into(),
            ca_file.display().to_string(),
        ];
        args.extend(self.policy_flags());
        if let Some(anchor) = &self.dnssec_anchor {
            args.extend([
                "--dnssec-trust-anchor".to_string(),
                anchor.0.display().to_string(),
            ]);
        }
        args.extend(scenario.flags.iter().cloned());
        args
    }

    /// The flags that let a check reach the lab's MTA-STS policy host: its CA, and its port in
    /// place of 443 (`--mta-sts-port`, a hidden override for labs that cannot all hold port 443).
    pub fn policy_flags(&self) -> Vec<String> {
        vec![
            "--tls-ca".into(),
            self.policy_ca.path().display().to_string(),
            "--mta-sts-port".into(),
            self.policy.addr().port().to_string(),
        ]
    }

    /// The lab server answering as `exchange`, to inspect what it received.
    pub fn server(&self, exchange: &str) -> Option<&LabSmtp> {
        self.smtp
            .iter()
            .find(|(name, _)| name == exchange)
            .map(|(_, server)| server)
    }
}

/// A port free on 127.0.0.1 now; the lab binds it on other loopback addresses too.
fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
