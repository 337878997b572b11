//! SPF record syntax (RFC 7208 §4.6, §5, §6): one `v=spf1` TXT record parsed into terms, or a
//! located reason why a receiver would return permerror. Pure: no I/O.

use std::net::IpAddr;

use ipnet::IpNet;

/// What a mechanism's match means (RFC 7208 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Pass => "+",
            Self::Fail => "-",
            Self::SoftFail => "~",
            Self::Neutral => "?",
        }
    }

    pub fn result(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
        }
    }
}

/// The target of `a`, `mx`, `include`, `exists`, `ptr` or `redirect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    pub text: String,
    /// Holds `%{...}` macros: its real name depends on the message, so it is not looked up.
    pub has_macro: bool,
}

/// Prefix lengths of `a`/`mx` (`a/24//64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub v4: u8,
    pub v6: u8,
}

impl Default for Cidr {
    fn default() -> Self {
        Self { v4: 32, v6: 128 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(DomainSpec),
    A(Option<DomainSpec>, Cidr),
    Mx(Option<DomainSpec>, Cidr),
    Ptr(Option<DomainSpec>),
    Ip(IpNet),
    Exists(DomainSpec),
}

impl Mechanism {
    /// Mechanisms that cost a DNS lookup towards the limit of 10 (RFC 7208 §4.6.4).
    pub fn counts_as_lookup(&self) -> bool {
        matches!(
            self,
            Self::Include(_) | Self::A(..) | Self::Mx(..) | Self::Ptr(_) | Self::Exists(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
}

/// A parsed `v=spf1` record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpfRecord {
    pub terms: Vec<Term>,
    pub redirect: Option<DomainSpec>,
}

impl SpfRecord {
    /// The `all` term's qualifier, if the record has one.
    pub fn all(&self) -> Option<Qualifier> {
        self.terms
            .iter()
            .find(|term| term.mechanism == Mechanism::All)
            .map(|term| term.qualifier)
    }
}

/// Why a record is not valid SPF; receivers answer permerror for all of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpfSyntaxError {
    #[error("unknown mechanism {0:?}")]
    UnknownMechanism(String),
    #[error("{mechanism} needs a domain: {term:?}")]
    MissingDomain { mechanism: String, term: String },
    #[error("bad address or network in {0:?}")]
    BadNetwork(String),
    #[error("bad prefix length in {0:?}")]
    BadPrefix(String),
    #[error("bad domain {0:?}")]
    BadDomain(String),
    #[error("modifier {0} appears more than once")]
    DuplicateModifier(String),
}

/// Whether `text` is an SPF record at all: `v=spf1` followed by a space or the end.
pub fn is_spf(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower == "v=spf1" || lower.starts_with("v=spf1 ")
}

/// Parses an SPF record (the text after joining its TXT strings).
pub fn parse(text: &str) -> Result<SpfRecord, SpfSyntaxError> {
    let mut record = SpfRecord::default();
    let mut seen_exp = false;
    for term in text.split_ascii_whitespace().skip(1) {
        if let Some((name, value)) = modifier(term) {
            match name.as_str() {
                "redirect" => {
                    if record.redirect.is_some() {
                        return Err(SpfSyntaxError::DuplicateModifier(name));
                    }
                    record.redirect = Some(domain_spec(value)?);
                }
                "exp" => {
                    if seen_exp {
                        return Err(SpfSyntaxError::DuplicateModifier(name));
                    }
                    seen_exp = true;
                    domain_spec(value)?;
                }
                // Unknown modifiers are ignored (RFC 7208 §6).
                _ => {}
            }
            continue;
        }
        record.terms.push(parse_term(term)?);
    }
    Ok(record)
}

/// `name=value` with a valid modifier name; a mechanism like `ip4:` never has '=' before ':'.
fn modifier(term: &str) -> Option<(String, &str)> {
    let (name, value) = term.split_once('=')?;
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid_name.then(|| (name.to_ascii_lowercase(), value))
}

fn parse_term(term: &str) -> Result<Term, SpfSyntaxError> {
    let (qualifier, rest) = match term.as_bytes().first() {
        Some(b'+') => (Qualifier::Pass, &term[1..]),
        Some(b'-') => (Qualifier::Fail, &term[1..]),
        Some(b'~') => (Qualifier::SoftFail, &term[1..]),
        Some(b'?') => (Qualifier::Neutral, &term[1..]),
        _ => (Qualifier::Pass, term),
    };
    let split_at = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, argument) = rest.split_at(split_at);
    let name = name.to_ascii_lowercase();
    let value = argument.strip_prefix(':');
    let missing = || SpfSyntaxError::MissingDomain {
        mechanism: name.clone(),
        term: term.to_owned(),
    };
    let mechanism = match name.as_str() {
        "all" if argument.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(domain_spec(value.ok_or_else(missing)?)?),
        "exists" => Mechanism::Exists(domain_spec(value.ok_or_else(missing)?)?),
        "a" | "mx" => {
            let (domain, cidr) = match value {
                Some(value) => {
                    let (domain, cidr) = split_dual_cidr(value, term)?;
                    (Some(domain_spec(domain)?), cidr)
                }
                None => (None, dual_cidr(argument, term)?),
            };
            if name == "a" {
                Mechanism::A(domain, cidr)
            } else {
                Mechanism::Mx(domain, cidr)
            }
        }
        "ptr" => Mechanism::Ptr(value.map(domain_spec).transpose()?),
        "ip4" | "ip6" => {
            let value = value.ok_or_else(|| SpfSyntaxError::BadNetwork(term.to_owned()))?;
            Mechanism::Ip(network(value, name == "ip6", term)?)
        }
        _ => return Err(SpfSyntaxError::UnknownMechanism(term.to_owned())),
    };
    Ok(Term {
        qualifier,
        mechanism,
    })
}

/// `example.com/24//64` → the domain and its prefix lengths.
fn split_dual_cidr<'a>(value: &'a str, term: &str) -> Result<(&'a str, Cidr), SpfSyntaxError> {
    match value.find('/') {
        Some(at) => Ok((&value[..at], dual_cidr(&value[at..], term)?)),
        None => Ok((value, Cidr::default())),
    }
}

/// `""`, `/24`, `//64` or `/24//64`.
fn dual_cidr(text: &str, term: &str) -> Result<Cidr, SpfSyntaxError> {
    let bad = || SpfSyntaxError::BadPrefix(term.to_owned());
    let mut cidr = Cidr::default();
    if text.is_empty() {
        return Ok(cidr);
    }
    let (v4, v6) = match text.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (text, None),
    };
    if !v4.is_empty() {
        let digits = v4.strip_prefix('/').ok_or_else(bad)?;
        cidr.v4 = digits.parse().ok().filter(|n| *n <= 32).ok_or_else(bad)?;
    }
    if let Some(v6) = v6 {
        cidr.v6 = v6.parse().ok().filter(|n| *n <= 128).ok_or_else(bad)?;
    }
    Ok(cidr)
}

fn network(value: &str, v6: bool, term: &str) -> Result<IpNet, SpfSyntaxError> {
    let bad = || SpfSyntaxError::BadNetwork(term.to_owned());
    let (address, prefix) = match value.split_once('/') {
        Some((address, prefix)) => (
            address,
            Some(
                prefix
                    .parse::<u8>()
                    .map_err(|_| SpfSyntaxError::BadPrefix(term.to_owned()))?,
            ),
        ),
        None => (value, None),
    };
    let ip: IpAddr = address.parse().map_err(|_| bad())?;
    if ip.is_ipv6() != v6 {
        return Err(bad());
    }
    let max = if v6 { 128 } else { 32 };
    let prefix = prefix.unwrap_or(max);
    if prefix > max {
        return Err(SpfSyntaxError::BadPrefix(term.to_owned()));
    }
    IpNet::new(ip, prefix)
        .map(|net| net.trunc())
        .map_err(|_| bad())
}

fn domain_spec(text: &str) -> Result<DomainSpec, SpfSyntaxError> {
    let has_macro = text.contains('%');
    let bad = || SpfSyntaxError::BadDomain(text.to_owned());
    if text.is_empty() {
        return Err(bad());
    }
    if !has_macro {
        let name = text.trim_end_matches('.');
        let labels_ok = name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        });
        // RFC 7208 §7.1: a domain-spec ends in a top-level label (not all digits).
        let top_ok = name
            .rsplit('.')
            .next()
            .is_some_and(|top| !top.chars().all(|c| c.is_ascii_digit()));
        if !labels_ok || !top_ok || !name.contains('.') {
            return Err(bad());
        }
    }
    Ok(DomainSpec {
        text: text.trim_end_matches('.').to_ascii_lowercase(),
        has_macro,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Records from RFC 7208 Appendix A (the example.com zone) and its §8 examples.
    #[test]
    fn parses_the_rfc_examples() {
        let record = parse("v=spf1 +mx a:colo.example.com/28 -all").unwrap();
        assert_eq!(record.terms.len(), 3);
        assert_eq!(record.all(), Some(Qualifier::Fail));
        assert_eq!(
            record.terms[1].mechanism,
            Mechanism::A(
                Some(DomainSpec {
                    text: "colo.example.com".into(),
                    has_macro: false
                }),
                Cidr { v4: 28, v6: 128 }
            )
        );
        let record = parse("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all").unwrap();
        assert_eq!(record.all(), Some(Qualifier::SoftFail));
        let record = parse("v=spf1 redirect=_spf.example.com").unwrap();
        assert_eq!(record.redirect.unwrap().text, "_spf.example.com");
        let record = parse("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all").unwrap();
        assert!(matches!(&record.terms[0].mechanism, Mechanism::Exists(spec) if spec.has_macro));
        assert!(parse("v=spf1 mx/30 mx:example.org/30 -all").is_ok());
        assert!(parse("v=spf1 a//64 -all").is_ok());
    }

    #[test]
    fn syntax_errors_are_named() {
        assert!(matches!(
            parse("v=spf1 ip4:192.0.2.300 -all"),
            Err(SpfSyntaxError::BadNetwork(_))
        ));
        assert!(matches!(
            parse("v=spf1 ip4:192.0.2.0/33 -all"),
            Err(SpfSyntaxError::BadPrefix(_))
        ));
        assert!(matches!(
            parse("v=spf1 include -all"),
            Err(SpfSyntaxError::MissingDomain { .. })
        ));
        assert!(matches!(
            parse("v=spf1 inclde:example.com -all"),
            Err(SpfSyntaxError::UnknownMechanism(_))
        ));
        assert!(matches!(
            parse("v=spf1 redirect=a.example redirect=b.example"),
            Err(SpfSyntaxError::DuplicateModifier(_))
        ));
        assert!(matches!(
            parse("v=spf1 ip6:192.0.2.1 -all"),
            Err(SpfSyntaxError::BadNetwork(_))
        ));
    }

    #[test]
    fn only_v_spf1_is_spf() {
        assert!(is_spf("v=spf1 -all"));
        assert!(is_spf("V=SPF1"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("google-site-verification=abc"));
    }
}
