//! Why a DKIM key record or a DMARC record (both `tag=value` lists) is invalid: one enum for the
//! tag-list records of the health checks. The message goes into the observation's detail.

/// A syntax problem that voids a `tag=value` record (RFC 6376 §3.2, RFC 7489 §6.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("{0:?} is not tag=value")]
    NotTagValue(String),
    #[error("tag {0}= appears twice")]
    Repeated(String),
    #[error("{tag}={value} is not none, quarantine or reject")]
    Disposition { tag: &'static str, value: String },
    #[error("pct={0} is not 0-100")]
    Percent(String),
    #[error("{tag}={value} is not r or s")]
    Alignment { tag: String, value: String },
    #[error("the required p= tag is missing")]
    MissingPolicy,
}
