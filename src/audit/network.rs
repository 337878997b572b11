//! IPv4 networks as configurations write them: `a.b.c.d/n`, `a.b.c.d/m.m.m.m`, `a.b.c.d m.m.m.m`
//! (two words), or a bare address (a /32).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The network in `words` (one or two configuration words); `None` when it is not IPv4.
pub fn parse_ipv4_network(words: &[String]) -> Option<Ipv4Net> {
    let first = words.first()?.trim_matches(['[', ']']);
    if let Some((address, suffix)) = first.split_once('/') {
        let address: Ipv4Addr = address.parse().ok()?;
        return if let Ok(prefix) = suffix.parse::<u8>() {
            Ipv4Net::new(address, prefix).ok()
        } else {
            Ipv4Net::with_netmask(address, suffix.parse().ok()?).ok()
        };
    }
    let address: Ipv4Addr = first.parse().ok()?;
    match words.get(1).and_then(|mask| mask.parse::<Ipv4Addr>().ok()) {
        Some(mask) => Ipv4Net::with_netmask(address, mask).ok(),
        None => Ipv4Net::new(address, 32).ok(),
    }
}

/// Whether a network is under the site's own control: loopback, RFC 1918, link-local, CGNAT.
pub fn is_internal(network: &Ipv4Net) -> bool {
    let internal = [
        (Ipv4Addr::new(127, 0, 0, 0), 8),
        (Ipv4Addr::new(10, 0, 0, 0), 8),
        (Ipv4Addr::new(172, 16, 0, 0), 12),
        (Ipv4Addr::new(192, 168, 0, 0), 16),
        (Ipv4Addr::new(169, 254, 0, 0), 16),
        (Ipv4Addr::new(100, 64, 0, 0), 10),
    ];
    internal
        .into_iter()
        .filter_map(|(address, prefix)| Ipv4Net::new(address, prefix).ok())
        .any(|range| range.contains(network))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn every_mask_form_parses_to_the_same_network() {
        let expected: Ipv4Net = "192.0.2.0/24".parse().expect("net");
        for form in [
            "192.0.2.0/24",
            "192.0.2.0 255.255.255.0",
            "192.0.2.0/255.255.255.0",
        ] {
            assert_eq!(parse_ipv4_network(&words(form)), Some(expected), "{form}");
        }
        assert_eq!(
            parse_ipv4_network(&words("0.0.0.0 0.0.0.0")).map(|n| n.prefix_len()),
            Some(0)
        );
        assert_eq!(
            parse_ipv4_network(&words("192.0.2.7")).map(|n| n.prefix_len()),
            Some(32)
        );
        assert_eq!(parse_ipv4_network(&words("[::1]/128")), None);
        assert_eq!(
            parse_ipv4_network(&words("hash:/etc/postfix/network")),
            None
        );
        assert_eq!(parse_ipv4_network(&words("192.0.2.0 255.0.255.0")), None);
    }

    #[test]
    fn internal_ranges_are_recognised() {
        assert!(is_internal(&"10.20.0.0/16".parse().expect("net")));
        assert!(!is_internal(&"0.0.0.0/0".parse().expect("net")));
        assert!(!is_internal(&"198.51.100.0/24".parse().expect("net")));
    }
}
