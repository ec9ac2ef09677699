//! API keys for the `/onboards` surface, sent as HTTP Basic `API:<key>` as LeadConduit does.
//!
//! A key is 256 random bits written as 64 hex characters. It is shown once and stored only as its SHA-256:
//! for a random key of that length one fast hash is as strong as a slow one, and lookups stay cheap.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// A new key and its hash.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = hash(&key);
    (key, hash)
}

/// The stored form of a key: lowercase hex SHA-256.
pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The user and password of an `Authorization: Basic base64("<user>:<password>")` header value.
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The key in an `Authorization: Basic base64("API:<key>")` header value, if that is what it holds.
pub fn from_basic_header(value: &str) -> Option<String> {
    basic_credentials(value).filter(|(user, key)| user == "API" && !key.is_empty()).map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_hash_to_their_hash() {
        let (key, hash_of_key) = generate();
        assert_eq!(key.len(), 64);
        assert_eq!(hash(&key), hash_of_key);
        assert_ne!(generate().0, key);
    }

    #[test]
    fn reads_basic_api_credentials() {
        let header = format!("Basic {}", STANDARD.encode("API:abc123"));
        assert_eq!(from_basic_header(&header), Some("abc123".to_string()));
        assert_eq!(from_basic_header(&format!("Basic {}", STANDARD.encode("admin:abc123"))), None);
        assert_eq!(from_basic_header(&format!("Basic {}", STANDARD.encode("API:"))), None);
        assert_eq!(from_basic_header("Bearer abc"), None);
        assert_eq!(from_basic_header("Basic !!!"), None);
    }
}
