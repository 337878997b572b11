//! HTTP egress probe against the lab HTTP server on loopback.

use std::time::{Duration, Instant};

use mxdoctor_checks::http::egress;
use mxdoctor_lab::http::LabHttp;
use mxdoctor_model::observation::HttpData;
use mxdoctor_model::{Data, Observation, Outcome};

const TIMEOUT: Duration = Duration::from_secs(3);

async fn lab() -> LabHttp {
    LabHttp::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn http(observation: &Observation) -> &HttpData {
    match &observation.data {
        Data::Http(data) => data,
        other => panic!("expected HTTP data, got {other:?}"),
    }
}

#[tokio::test]
async fn ok_is_reachable() {
    let server = lab().await;
    let url = server.url("/ok");

    let observation = egress(&url, TIMEOUT, 5).await;

    assert_eq!(observation.check, "http.egress");
    assert_eq!(observation.subject, url);
    assert_eq!(observation.outcome, Outcome::Ok, "{}", observation.detail);
    let data = http(&observation);
    assert_eq!(data.verdict, "reachable");
    assert_eq!(data.status, Some(200));
    assert_eq!(data.hops.len(), 1);
}

#[tokio::test]
async fn not_found_is_still_reachable() {
    let server = lab().await;

    let observation = egress(&server.url("/status/404"), TIMEOUT, 5).await;

    assert_eq!(observation.outcome, Outcome::Ok);
    assert_eq!(http(&observation).status, Some(404));
}

#[tokio::test]
async fn redirect_chain_is_recorded_hop_by_hop() {
    let server = lab().await;

    let observation = egress(&server.url("/redirect/3"), TIMEOUT, 5).await;

    assert_eq!(observation.outcome, Outcome::Ok, "{}", observation.detail);
    let data = http(&observation);
    let urls: Vec<&str> = data.hops.iter().map(|hop| hop.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            server.url("/redirect/3"),
            server.url("/redirect/2"),
            server.url("/redirect/1"),
            server.url("/ok"),
        ]
    );
    assert_eq!(data.hops[0].status, Some(302));
    assert_eq!(data.hops[0].location.as_deref(), Some("/redirect/2"));
    assert_eq!(data.hops[3].status, Some(200));
    assert_eq!(data.hops[3].location, None);
}

#[tokio::test]
async fn too_many_redirects_stop_at_max_hops() {
    let server = lab().await;

    let observation = egress(&server.url("/redirect/4"), TIMEOUT, 3).await;

    assert_eq!(observation.outcome, Outcome::Inconclusive);
    assert_eq!(http(&observation).verdict, "error");
    assert_eq!(http(&observation).hops.len(), 4);
}

#[tokio::test]
async fn loop_is_detected() {
    let server = lab().await;

    let observation = egress(&server.url("/loop"), TIMEOUT, 10).await;

    assert_eq!(observation.outcome, Outcome::Fail);
    let data = http(&observation);
    assert_eq!(data.verdict, "redirect_loop");
    assert_eq!(data.hops.len(), 2);
}

#[tokio::test]
async fn redirect_to_ftp_names_the_scheme() {
    let server = lab().await;

    let observation = egress(&server.url("/to-ftp"), TIMEOUT, 5).await;

    assert_eq!(observation.outcome, Outcome::Error);
    let data = http(&observation);
    assert_eq!(data.verdict, "error");
    assert!(
        data.error.as_deref().unwrap_or("").contains("ftp"),
        "{data:?}"
    );
}

#[tokio::test]
async fn blackhole_is_blocked_within_the_timeout() {
    let server = lab().await;
    let timeout = Duration::from_secs(1);

    let started = Instant::now();
    let observation = egress(&server.url("/blackhole"), timeout, 5).await;

    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    assert_eq!(
        observation.outcome,
        Outcome::Timeout,
        "{}",
        observation.detail
    );
    assert_eq!(http(&observation).verdict, "blocked");
}

#[tokio::test]
async fn stalled_body_does_not_hold_the_probe() {
    let server = lab().await;
    let timeout = Duration::from_secs(1);

    let started = Instant::now();
    let observation = egress(&server.url("/slow-body"), timeout, 5).await;

    assert!(started.elapsed() < timeout);
    assert_eq!(observation.outcome, Outcome::Ok, "{}", observation.detail);
}

#[tokio::test]
async fn refused_connection_is_blocked() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let observation = egress(&format!("http://127.0.0.1:{port}/"), TIMEOUT, 5).await;

    assert_eq!(
        observation.outcome,
        Outcome::Error,
        "{}",
        observation.detail
    );
    assert_eq!(http(&observation).verdict, "blocked");
}

#[tokio::test]
async fn tls_to_a_plain_server_is_a_tls_error() {
    let server = lab().await;

    let observation = egress(&format!("https://{}/ok", server.addr()), TIMEOUT, 5).await;

    assert_eq!(observation.outcome, Outcome::Fail, "{}", observation.detail);
    assert_eq!(
        http(&observation).verdict,
        "tls_error",
        "{}",
        observation.detail
    );
}

#[tokio::test]
async fn non_http_url_is_an_error() {
    let observation = egress("ftp://127.0.0.1/file", TIMEOUT, 5).await;

    assert_eq!(observation.outcome, Outcome::Error);
    assert!(observation.detail.contains("ftp"));
}
