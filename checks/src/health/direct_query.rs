//! One DNS query sent straight to a configured server, bypassing the resolver library's RFC 6761
//! special-use handling: hickory answers every `127.in-addr.arpa` PTR with `localhost` itself,
//! which would make reverse DNS of a loopback MX (the lab's, or a misconfigured one) unknowable.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;

use crate::dns::LookupFailure;

/// Largest UDP answer accepted (a PTR or address answer is far smaller).
const MAX_ANSWER: usize = 4096;

/// Asks `server` for `name`/`record_type` over UDP, once, within `timeout`.
pub(crate) async fn query(
    server: SocketAddr,
    name: &str,
    record_type: RecordType,
    timeout: Duration,
) -> Result<Vec<Record>, LookupFailure> {
    let exchange = async {
        let mut parsed =
            Name::from_ascii(name).map_err(|error| LookupFailure::Other(error.to_string()))?;
        parsed.set_fqdn(true);
        let mut request = Message::query();
        request.metadata.id = rand::random();
        request.metadata.recursion_desired = true;
        request.add_query(Query::query(parsed, record_type));
        let bytes = request
            .to_vec()
            .map_err(|error| LookupFailure::Other(error.to_string()))?;
        let bind = if server.is_ipv4() {
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
        };
        let io = |error: std::io::Error| LookupFailure::Other(error.to_string());
        let socket = UdpSocket::bind(bind).await.map_err(io)?;
        socket.connect(server).await.map_err(io)?;
        socket.send(&bytes).await.map_err(io)?;
        let mut buffer = vec![0_u8; MAX_ANSWER];
        loop {
            let length = socket.recv(&mut buffer).await.map_err(io)?;
            let Ok(response) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            if response.metadata.id != request.metadata.id {
                continue;
            }
            return match response.metadata.response_code {
                ResponseCode::NXDomain => Err(LookupFailure::NxDomain),
                ResponseCode::NoError => {
                    let answers: Vec<Record> = response
                        .answers
                        .into_iter()
                        .filter(|record| record.record_type() == record_type)
                        .collect();
                    if answers.is_empty() {
                        Err(LookupFailure::NoData)
                    } else {
                        Ok(answers)
                    }
                }
                code => Err(LookupFailure::Code(code)),
            };
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(LookupFailure::Timeout))
}
