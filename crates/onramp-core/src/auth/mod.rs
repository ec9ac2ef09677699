//! Authentication primitives: compact JWS, the ConductorOne credential formats, client assertion
//! verification, onramp's own short-lived access tokens, API keys, and host names without ports.

pub mod access_token;
pub mod api_key;
pub mod assertion;
pub mod client_secret;
pub mod jose;

/// `example.com:8080` → `example.com`, `[::1]:8080` → `::1`.
pub fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(
        host,
        |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) { name } else { host }
        },
    )
}

/// The host of a URL, without scheme, port or path.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    host_without_port(authority).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_of_urls() {
        assert_eq!(super::host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(super::host_of("https://acme.example/base/"), "acme.example");
        assert_eq!(super::host_of("http://[::1]:80/x"), "::1");
        assert_eq!(super::host_of("acme.example"), "acme.example");
    }

    #[test]
    fn strips_ports() {
        assert_eq!(super::host_without_port("example.com:8080"), "example.com");
        assert_eq!(super::host_without_port("example.com"), "example.com");
        assert_eq!(super::host_without_port("[::1]:8080"), "::1");
        assert_eq!(super::host_without_port("127.0.0.1:1"), "127.0.0.1");
    }
}
