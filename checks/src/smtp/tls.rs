//! The STARTTLS probe: handshake with certificate verification, then without it when verification fails.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::smtp::client::SmtpError;
use crate::smtp::session::{Greeting, open};
use crate::smtp::{HostTarget, SmtpSettings};
use mxdoctor_model::observation::{Data, Observation, Outcome, TlsData};
use mxdoctor_model::reply::Reply;

/// Which certificate authorities the TLS probe trusts: the system's, plus any given here.
#[derive(Clone, Default)]
pub struct TlsTrust {
    extra_roots: Vec<native_tls::Certificate>,
}

impl TlsTrust {
    /// The system trust store only (what `probe_host` uses).
    pub fn system() -> Self {
        Self::default()
    }

    /// The system store plus one PEM root, e.g. the lab CA (`mxdoctor_lab::smtp::LAB_CA_PEM`).
    pub fn with_root_pem(mut self, pem: &[u8]) -> Result<Self, native_tls::Error> {
        self.extra_roots
            .push(native_tls::Certificate::from_pem(pem)?);
        Ok(self)
    }

    fn connector(&self, verify: bool) -> Result<tokio_native_tls::TlsConnector, native_tls::Error> {
        let mut builder = native_tls::TlsConnector::builder();
        for root in &self.extra_roots {
            builder.add_root_certificate(root.clone());
        }
        if !verify {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        Ok(builder.build()?.into())
    }
}

/// What one STARTTLS attempt reached.
enum Handshake {
    Done,
    /// The server answered STARTTLS with something other than 220.
    Refused(Reply),
    /// The TLS library failed the handshake, with its reason.
    Failed(String),
    /// The connection, EHLO or STARTTLS step itself failed.
    Broken(Outcome, String),
}

/// Runs the `tls` probe. `session` is the session probe's result: `Err(why)` when it failed.
pub(crate) async fn probe(
    target: &HostTarget,
    settings: &SmtpSettings,
    session: Result<&Greeting, &str>,
    trust: &TlsTrust,
) -> Observation {
    let started = Instant::now();
    let mut data = TlsData {
        host: target.host.clone(),
        ..TlsData::default()
    };
    let finish = |outcome, detail: String, data: TlsData| {
        Observation::new(
            "tls",
            target.subject(),
            outcome,
            started.elapsed(),
            detail,
            Data::Tls(data),
        )
    };
    let greeting = match session {
        Ok(greeting) => greeting,
        Err(why) => {
            return finish(
                Outcome::Skipped,
                format!("not run: the SMTP session failed ({why})"),
                data,
            );
        }
    };
    if !greeting.starttls_offered() {
        return finish(
            Outcome::Fail,
            "STARTTLS is not offered in the EHLO reply".to_string(),
            data,
        );
    }
    data.offered = true;

    let first = attempt(target, settings, trust, true, &mut data).await;
    match first {
        Handshake::Done => {
            data.handshake = true;
            data.verified = true;
            finish(
                Outcome::Ok,
                format!(
                    "STARTTLS works and the certificate is valid for {}",
                    target.host
                ),
                data,
            )
        }
        Handshake::Refused(reply) => finish(
            Outcome::Fail,
            format!("STARTTLS is offered but refused: {reply}"),
            data,
        ),
        Handshake::Broken(outcome, why) => finish(outcome, why, data),
        Handshake::Failed(verify_error) => {
            classify(&verify_error, &mut data);
            data.verify_error = Some(verify_error.clone());
            let unverified = attempt(target, settings, trust, false, &mut data).await;
            let detail = match unverified {
                Handshake::Done => {
                    data.handshake = true;
                    format!(
                        "the certificate does not verify ({verify_error}); the handshake works without verification"
                    )
                }
                Handshake::Failed(error) => {
                    format!("the TLS handshake fails even without certificate checks: {error}")
                }
                Handshake::Refused(reply) => format!(
                    "the certificate does not verify ({verify_error}); the retry was refused: {reply}"
                ),
                Handshake::Broken(_, why) => format!(
                    "the certificate does not verify ({verify_error}); the unverified retry failed: {why}"
                ),
            };
            finish(Outcome::Fail, detail, data)
        }
    }
}

/// One connection: EHLO, STARTTLS, handshake, EHLO again over TLS, QUIT.
async fn attempt(
    target: &HostTarget,
    settings: &SmtpSettings,
    trust: &TlsTrust,
    verify: bool,
    data: &mut TlsData,
) -> Handshake {
    let connector = match trust.connector(verify) {
        Ok(connector) => connector,
        Err(error) => {
            return Handshake::Broken(Outcome::Error, format!("cannot set up TLS: {error}"));
        }
    };
    let (_, opened) = open(target, settings).await;
    let mut session = match opened {
        Ok(session) => session,
        Err(problem) => return Handshake::Broken(problem.outcome(), problem.describe()),
    };
    let reply = match session.command("STARTTLS").await {
        Ok(reply) => reply,
        Err(error) => return Handshake::Broken(error.outcome(), error.to_string()),
    };
    data.reply = Some(reply.clone());
    if reply.code != 220 {
        session.quit().await;
        return Handshake::Refused(reply);
    }
    let server_name = target.host.trim_end_matches('.');
    match session.start_tls(&connector, server_name).await {
        Ok(()) => {
            if let Some(der) = session.peer_certificate_der() {
                data.certificates = vec![BASE64.encode(der)];
            }
            let _ = session.command(&format!("EHLO {}", settings.helo)).await;
            session.quit().await;
            Handshake::Done
        }
        Err(SmtpError::Tls(reason)) => Handshake::Failed(reason),
        Err(error) => Handshake::Broken(error.outcome(), error.to_string()),
    }
}

/// Reads the TLS library's verification error (OpenSSL wording, with Schannel/Security.framework fallbacks).
fn classify(error: &str, data: &mut TlsData) {
    let lower = error.to_ascii_lowercase();
    data.expired = lower.contains("expired");
    data.name_mismatch = lower.contains("hostname mismatch")
        || lower.contains("name mismatch")
        || lower.contains("does not match")
        || lower.contains("not valid for");
    data.self_signed = lower.contains("self-signed")
        || lower.contains("self signed")
        || lower.contains("untrusted root");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_openssl_verify_errors() {
        let mut data = TlsData::default();
        classify(
            "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (certificate has expired)",
            &mut data,
        );
        assert!(data.expired && !data.name_mismatch && !data.self_signed);
        let mut data = TlsData::default();
        classify("certificate verify failed (hostname mismatch)", &mut data);
        assert!(data.name_mismatch && !data.expired);
        let mut data = TlsData::default();
        classify(
            "certificate verify failed (self-signed certificate)",
            &mut data,
        );
        assert!(data.self_signed);
    }
}
