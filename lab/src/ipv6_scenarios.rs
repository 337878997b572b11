//! Lab scenarios for the IPv6 check: an MX with an A record on 127.0.0.90 and an AAAA record ::1
//! whose server listens on IPv4 only (one family), and one on 127.0.0.91 listening on both (clean).
//!
//! Both publish ::1, and the probe uses one SMTP port for every host of a run, so the two cannot
//! share a port: the dual-stack scenario gets its own port, picked free on ::1, and the lab holds
//! the main port on ::1 bound but not listening, so the one-family MX is refused over IPv6 whatever
//! else runs on this machine. Machines without ::1 (containers started without IPv6) get neither
//! scenario, and [`Availability`] says why.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpSocket;

use crate::dns::LabDnsConfig;
use crate::smtp::{LabSmtp, Personality};

/// The one-family scenario's MX address (the range 127.0.0.90–99 is the IPv6 check's).
const ONE_FAMILY_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 90);
/// The dual-stack scenario's MX address.
const DUAL_STACK_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 91);

/// Whether this machine can run the IPv6 scenarios.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Available,
    /// ::1 cannot be bound here: the reason, for the tests to print when they skip.
    Unavailable(String),
}

/// One IPv6 scenario, for `scenarios` to list with the others.
pub(crate) struct Ipv6Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub domain: String,
    pub expected_top: Option<&'static str>,
    pub smtp_port: u16,
}

/// What the IPv6 scenarios keep running: their servers and the main port's hold on ::1.
pub(crate) struct Ipv6Lab {
    pub smtp: Vec<(String, LabSmtp)>,
    pub scenarios: Vec<Ipv6Scenario>,
    /// The shared port on ::1, bound and never listening: connecting to it is refused.
    pub hold: TcpSocket,
}

/// Whether ::1 can be bound on this machine at all.
pub fn availability() -> Availability {
    match std::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))) {
        Ok(_) => Availability::Available,
        Err(error) => Availability::Unavailable(format!("cannot bind [::1]: {error}")),
    }
}

/// Starts the IPv6 scenarios next to the others, under `zone` (`port`: the lab's shared SMTP
/// port); `None` when ::1 is unavailable.
pub(crate) async fn start(
    dns: &mut LabDnsConfig,
    zone: &str,
    port: u16,
) -> io::Result<Option<Ipv6Lab>> {
    if availability() != Availability::Available {
        return Ok(None);
    }
    let hold = TcpSocket::new_v6()?;
    hold.bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))?;
    let dual_port = std::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)))?
        .local_addr()?
        .port();
    let mut smtp = Vec::new();
    let mut scenarios = Vec::new();
    for (name, about, expected_top, address, listen_v6, scenario_port) in [
        (
            "ipv6-one-family",
            "an MX with an AAAA record whose server listens on IPv4 only",
            Some("ipv6-one-family"),
            ONE_FAMILY_ADDRESS,
            false,
            port,
        ),
        (
            "ipv6-dual-stack",
            "an MX greeting over IPv4 and IPv6 alike",
            None,
            DUAL_STACK_ADDRESS,
            true,
            dual_port,
        ),
    ] {
        let domain = format!("{name}.{zone}");
        let exchange = format!("{name}-mx1.{zone}");
        let config = Personality::Healthy.config(&domain);
        let v4 = LabSmtp::start(config.clone(), SocketAddr::from((address, scenario_port))).await?;
        smtp.push((exchange.clone(), v4));
        if listen_v6 {
            let v6 = LabSmtp::start(
                config,
                SocketAddr::from((Ipv6Addr::LOCALHOST, scenario_port)),
            )
            .await?;
            smtp.push((exchange.clone(), v6));
        }
        dns.add_mx(&domain, 10, &exchange)
            .add_a(&exchange, IpAddr::V4(address))
            .add_a(&exchange, IpAddr::V6(Ipv6Addr::LOCALHOST))
            .add_ptr(IpAddr::V4(address), &exchange)
            .add_ptr(IpAddr::V6(Ipv6Addr::LOCALHOST), &exchange)
            .add_txt(&domain, "v=spf1 mx -all")
            .add_txt(
                &format!("_dmarc.{domain}"),
                &format!("v=DMARC1; p=reject; rua=mailto:dmarc-reports@{domain}"),
            );
        scenarios.push(Ipv6Scenario {
            name,
            about,
            domain,
            expected_top,
            smtp_port: scenario_port,
        });
    }
    Ok(Some(Ipv6Lab {
        smtp,
        scenarios,
        hold,
    }))
}
