//! Why a configuration could not be audited: each a clear message, exit code 3 (nothing diagnosed).

/// A configuration mxdoctor cannot read whole; never audited by guesswork.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("the configuration is truncated: {what} (line {line}) is never closed with `end`")]
    Truncated { what: String, line: usize },
    #[error(
        "not a configuration mxdoctor can audit: {0} (expected FortiMail `show full-configuration` / a backup, or Postfix `postconf -n`; --platform fortimail|postfix)"
    )]
    Unrecognised(String),
    #[error("--platform {0} has no configuration audit: use fortimail or postfix")]
    UnsupportedPlatform(String),
}
