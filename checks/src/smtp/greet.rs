//! The shortest SMTP exchange that proves a host serves mail on one address: connect, banner,
//! EHLO, QUIT. The IPv6 check asks it once per address family.

use std::io::ErrorKind;

use super::client::SmtpError;
use super::session::{self, Problem};
use super::{HostTarget, SmtpSettings};

/// How one address answered the banner and EHLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeted {
    /// A 2xx banner and a 2xx EHLO (or HELO): this address takes mail.
    Banner,
    /// The server spoke, but refused the session with a 4xx/5xx banner or EHLO.
    Rejected,
    /// Nothing listens: the connection was refused (a TCP reset).
    Refused,
    /// No connection or no banner within the timeout.
    Timeout,
    /// This host has no route to the address (network or host unreachable from here).
    Unreachable,
    /// Anything else: the connection broke, the reply was garbage.
    Error,
}

impl Greeted {
    /// The word recorded in the `ipv6.smtp` data (`banner`, `refused`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Banner => "banner",
            Self::Rejected => "rejected",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
            Self::Error => "error",
        }
    }
}

/// Opens a session to `target.address`, says EHLO and QUIT; never sends MAIL.
pub async fn banner_and_ehlo(target: &HostTarget, settings: &SmtpSettings) -> (Greeted, String) {
    let (greeting, opened) = session::open(target, settings).await;
    match opened {
        Ok(session) => {
            session.quit().await;
            let banner = greeting
                .banner
                .map(|reply| reply.to_string())
                .unwrap_or_default();
            (Greeted::Banner, banner)
        }
        Err(problem) => {
            let greeted = match &problem {
                Problem::Refused { .. } => Greeted::Rejected,
                Problem::Broken { error, .. } => match error {
                    SmtpError::Timeout { .. } => Greeted::Timeout,
                    SmtpError::Connect(io) => match io.kind() {
                        ErrorKind::ConnectionRefused => Greeted::Refused,
                        ErrorKind::NetworkUnreachable
                        | ErrorKind::HostUnreachable
                        | ErrorKind::AddrNotAvailable => Greeted::Unreachable,
                        ErrorKind::TimedOut => Greeted::Timeout,
                        _ => Greeted::Error,
                    },
                    _ => Greeted::Error,
                },
            };
            (greeted, problem.describe())
        }
    }
}
