//! Why a configuration could not be audited: each a clear message, exit code 3 (nothing diagnosed).

use std::io;

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

/// A configuration file (`audit FILE`, `--from-config FILE`) that could not be read or audited,
/// named by its path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: larger than {mib} MiB, not a configuration")]
    TooLarge { path: String, mib: u64 },
    #[error("{path}: not UTF-8 text, not a configuration")]
    NotUtf8 { path: String },
    #[error("{path}: {source}")]
    Audit {
        path: String,
        #[source]
        source: AuditError,
    },
}
