//! The client's address, which the limits on guessing count by, and the proxies whose word for it is
//! believed.
//!
//! The address is the TCP peer's, unless the peer is one of the configured trusted proxies
//! (`--trusted-proxies`, CIDR ranges). Then `X-Forwarded-For` is read from the right, where each proxy
//! appends the address it received the request from: entries that are themselves trusted proxies are
//! skipped, and the first that is not is the client. Everything left of it was written by the client and
//! could be anything, so it is never used. Anyone who is not a trusted proxy can send the header too, which is
//! why it is ignored from everyone else. This is the one place that decides; every route takes
//! [`ClientAddr`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

/// A range of addresses in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                masked(u128::from(u32::from(address)), self.prefix, 32) == u128::from(u32::from(network))
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                masked(u128::from(address), self.prefix, 128) == u128::from(network)
            }
            _ => false,
        }
    }
}

/// `bits` (an address of `width` bits) with all but the first `prefix` bits cleared.
fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    let host_bits = u32::from(width - prefix);
    if host_bits >= 128 { 0 } else { bits >> host_bits << host_bits }
}

impl FromStr for IpNet {
    type Err = String;

    /// Host bits after the prefix are cleared (`10.1.2.3/8` is `10.0.0.0/8`), as routers read it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let invalid = || format!("{text:?} is not an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8");
        let (address, prefix) = text.split_once('/').map_or((text, None), |(address, prefix)| (address, Some(prefix)));
        let address = IpAddr::from_str(address).map_err(|_| invalid())?.to_canonical();
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix.parse::<u8>().ok().filter(|prefix| *prefix <= width).ok_or_else(invalid)?,
        };
        let network = match address {
            IpAddr::V4(v4) => IpAddr::V4((masked(u128::from(u32::from(v4)), prefix, 32) as u32).into()),
            IpAddr::V6(v6) => IpAddr::V6(masked(u128::from(v6), prefix, 128).into()),
        };
        Ok(IpNet { network, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> Self {
        TrustedProxies(ranges)
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }

    /// The client of a request from `peer` whose `X-Forwarded-For` headers are `forwarded` (every value in
    /// order; each a comma-separated list). An entry that is no address stops the reading: the nearest
    /// trusted hop is then as far as the chain can be believed.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl IntoIterator<Item = &'a str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let mut entries: Vec<&str> = Vec::new();
        for value in forwarded {
            entries.extend(value.split(','));
        }
        for entry in entries.iter().rev() {
            let Some(address) = forwarded_address(entry) else { return client };
            client = address.to_canonical();
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    IpAddr::from_str(entry)
        .ok()
        .or_else(|| SocketAddr::from_str(entry).ok().map(|socket| socket.ip()))
        .or_else(|| entry.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|v6| v6.parse().ok()))
}

/// The client's address (see the module doc); None when the server runs without connection info.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()) else {
            return Ok(ClientAddr(None));
        };
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
        Ok(ClientAddr(Some(state.trusted_proxies.client(peer, forwarded))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_contain() {
        let range: IpNet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(range.to_string(), "10.0.0.0/8");
        assert!(range.contains(ip("10.200.0.1")) && !range.contains(ip("11.0.0.1")));
        assert!(range.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped IPv6 is IPv4");
        let single: IpNet = "192.0.2.7".parse().unwrap();
        assert!(single.contains(ip("192.0.2.7")) && !single.contains(ip("192.0.2.8")));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains(ip("203.0.113.1")));
        assert!(!"0.0.0.0/0".parse::<IpNet>().unwrap().contains(ip("2001:db8::1")));
        assert!("::/0".parse::<IpNet>().unwrap().contains(ip("2001:db8::1")));
        for bad in ["10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/", "10.0.0/8", ""] {
            let error = bad.parse::<IpNet>().unwrap_err();
            assert!(error.contains("CIDR"), "{bad}: {error}");
        }
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_and_only_from_trusted_peers() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        let client = |peer: &str, headers: &[&str]| proxies.client(ip(peer), headers.iter().copied());
        // Untrusted peers: the header is ignored.
        assert_eq!(client("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
        // A trusted proxy: the right-most entry that is not a trusted proxy.
        assert_eq!(client("10.0.0.1", &["198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(client("10.0.0.1", &["6.6.6.6, 198.51.100.1, 10.0.0.2"]), ip("198.51.100.1"));
        assert_eq!(client("10.0.0.1", &["6.6.6.6", "198.51.100.1", "10.0.0.2"]), ip("198.51.100.1"));
        assert_eq!(client("10.0.0.1", &["198.51.100.1:4711", "[fd00::1]:443"]), ip("198.51.100.1"));
        assert_eq!(client("::ffff:10.0.0.1", &["2001:db8::5"]), ip("2001:db8::5"));
        // No header, only proxies, or garbage: the nearest hop that can be believed.
        assert_eq!(client("10.0.0.1", &[]), ip("10.0.0.1"));
        assert_eq!(client("10.0.0.1", &["10.0.0.3, 10.0.0.2"]), ip("10.0.0.3"));
        assert_eq!(client("10.0.0.1", &["198.51.100.1, unknown, 10.0.0.2"]), ip("10.0.0.2"));
    }
}
