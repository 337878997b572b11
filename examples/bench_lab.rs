//! Bench lab: starts the lab servers (`mxdoctor_lab`) on 127.0.0.0/8 in the shape a bench
//! needs, prints what it started as one JSON line on stdout, and serves until stdin closes.
//!
//! ```text
//! bench_lab check          # P1: 2 MX hosts (one also on ::1), 30 DNSBL/SURBL zones (one answers
//!                          #     after 3 s), HTTP, and the health records: SPF (whose include is
//!                          #     in the slow zone), DMARC, a DKIM key, PTRs
//! bench_lab fleet N FILE   # P4: N domains with one MX each, a DNSBL listing every 10th; targets in FILE
//! ```
//! A bench helper rather than a `mxdoctor lab` subcommand: its shapes (10,000 generated zones, one
//! slow list among 30) exist to be measured, and `mxdoctor demo` already shows the lab to users.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
use mxdoctor_lab::http::LabHttp;
use mxdoctor_lab::scenarios::SLOW_ZONE_DELAY;
use mxdoctor_lab::smtp::{LAB_CA_PEM, LabSmtp, Personality};
use serde_json::json;

/// DNSBL plus SURBL zones of the P1 lab; the first DNSBL zone is the slow one.
const DNSBL_ZONES: usize = 20;
const SURBL_ZONES: usize = 10;
const CHECK_DOMAIN: &str = "bench.lab.test";
/// The DKIM selector the P1 lab publishes a key under.
const DKIM_SELECTOR: &str = "bench";
/// The lab's 2048-bit DKIM public key (SubjectPublicKeyInfo, base64).
const DKIM_KEY: &str = include_str!("../lab/src/certs/dkim-2048.pub.b64");
const FLEET_ZONE: &str = "fleet.test";
const FLEET_LIST: &str = "bl.fleet.test";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = match args.first().map(String::as_str) {
        Some("check") => runtime.block_on(check_lab()),
        Some("fleet") => {
            let count = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
            let Some(file) = args.get(2) else {
                eprintln!("usage: bench_lab fleet N TARGETS_FILE");
                return ExitCode::from(2);
            };
            runtime.block_on(fleet_lab(count, file))
        }
        _ => {
            eprintln!("usage: bench_lab check | bench_lab fleet N TARGETS_FILE");
            return ExitCode::from(2);
        }
    };
    let (description, _servers) = match started {
        Ok(started) => started,
        Err(error) => {
            eprintln!("bench_lab: {error}");
            return ExitCode::from(1);
        }
    };
    println!("{description}");
    // Serve until whoever started us closes our stdin (or exits).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    ExitCode::SUCCESS
}

/// Everything that must stay alive while the lab serves.
struct Servers {
    _dns: LabDns,
    _http: Option<LabHttp>,
    _smtp: Vec<LabSmtp>,
    temp_dir: Option<std::path::PathBuf>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn check_lab() -> std::io::Result<(String, Servers)> {
    let http = LabHttp::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    let mut dns = LabDnsConfig::new();
    let mut smtp = Vec::new();
    for index in 1..=2u8 {
        let exchange = format!("bench-mx{index}.lab.test");
        let address = Ipv4Addr::new(127, 0, 2, index);
        let server = LabSmtp::start(
            Personality::Healthy.config(CHECK_DOMAIN),
            SocketAddr::from((address, port)),
        )
        .await?;
        smtp.push(server);
        dns.add_mx(CHECK_DOMAIN, u16::from(index) * 10, &exchange)
            .add_a(&exchange, IpAddr::V4(address))
            .add_ptr(IpAddr::V4(address), &exchange);
    }
    let dnsbl: Vec<String> = (0..DNSBL_ZONES)
        .map(|i| format!("dnsbl{i}.lists.test"))
        .collect();
    let surbl: Vec<String> = (0..SURBL_ZONES)
        .map(|i| format!("surbl{i}.lists.test"))
        .collect();
    for zone in dnsbl.iter().chain(&surbl) {
        dns.zone(zone);
    }
    dns.slow_zone(&dnsbl[0], SLOW_ZONE_DELAY);
    // The health checks get real work, and SPF the slowest of it: its include sits in the slow
    // zone, so a run where they waited for (or blocked) the other probes would take twice as long.
    let spf_include = format!("spf.{}", dnsbl[0]);
    dns.add_txt(
        CHECK_DOMAIN,
        &format!("v=spf1 mx include:{spf_include} -all"),
    )
    .add_txt(&spf_include, "v=spf1 ip4:127.0.2.0/24 -all")
    .add_txt(
        &format!("_dmarc.{CHECK_DOMAIN}"),
        &format!("v=DMARC1; p=reject; rua=mailto:dmarc@{CHECK_DOMAIN}"),
    )
    .add_txt(
        &format!("{DKIM_SELECTOR}._domainkey.{CHECK_DOMAIN}"),
        &format!("v=DKIM1; k=rsa; p={}", DKIM_KEY.trim()),
    );
    // The first MX greets over IPv6 too, where this machine has ::1.
    let ipv6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    if let Ok(server) = LabSmtp::start(Personality::Healthy.config(CHECK_DOMAIN), ipv6).await {
        smtp.push(server);
        dns.add_a("bench-mx1.lab.test", IpAddr::V6(Ipv6Addr::LOCALHOST))
            .add_ptr(IpAddr::V6(Ipv6Addr::LOCALHOST), "bench-mx1.lab.test");
    }
    let dns = LabDns::start(dns, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let dir = std::env::temp_dir().join(format!("mxdoctor-bench-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ca_file = dir.join("lab-ca.pem");
    std::fs::write(&ca_file, LAB_CA_PEM)?;
    let description = json!({
        "domain": CHECK_DOMAIN,
        "dns": dns.addr().to_string(),
        "smtp_port": port,
        "tls_ca": ca_file.display().to_string(),
        "http": http.url("/ok"),
        "dnsbl": dnsbl,
        "surbl": surbl,
        "slow_zone": dnsbl[0],
        "slow_zone_delay_ms": SLOW_ZONE_DELAY.as_millis(),
        "dkim_selector": DKIM_SELECTOR,
        "outbound_ip": "127.0.2.1",
    });
    Ok((
        description.to_string(),
        Servers {
            _dns: dns,
            _http: Some(http),
            _smtp: smtp,
            temp_dir: Some(dir),
        },
    ))
}

async fn fleet_lab(count: u32, targets_file: &str) -> std::io::Result<(String, Servers)> {
    let mut dns = LabDnsConfig::new();
    dns.zone(FLEET_ZONE).zone(FLEET_LIST);
    let mut targets = String::new();
    for index in 0..count {
        let domain = format!("d{index}.{FLEET_ZONE}");
        let exchange = format!("mx.{domain}");
        let [_, a, b, c] = (index + 1).to_be_bytes();
        let address = Ipv4Addr::new(127, a, b, c);
        dns.add_mx(&domain, 10, &exchange)
            .add_a(&exchange, IpAddr::V4(address))
            .add_ptr(IpAddr::V4(address), &exchange);
        if index % 10 == 0 {
            dns.listed(
                FLEET_LIST,
                &address.to_string(),
                Ipv4Addr::new(127, 0, 0, 2),
            );
        }
        targets.push_str(&domain);
        targets.push('\n');
    }
    std::fs::write(targets_file, targets)?;
    let dns = LabDns::start(dns, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let description = json!({
        "dns": dns.addr().to_string(),
        "targets": targets_file,
        "domains": count,
        "dnsbl": FLEET_LIST,
    });
    Ok((
        description.to_string(),
        Servers {
            _dns: dns,
            _http: None,
            _smtp: Vec::new(),
            temp_dir: None,
        },
    ))
}
