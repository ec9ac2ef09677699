//! Paging: the page-size rules of the ConductorOne API and opaque, tamper-proof page tokens.
//!
//! A token is base64url of `version (1 byte) | query fingerprint (16 bytes) | sort key of the last row |
//! MAC (16 bytes)`, the MAC being HMAC-SHA256 under a deployment secret kept in the database (so every node
//! accepts every node's tokens). The fingerprint covers the tenant and everything that shapes the result, so
//! a token is refused for another query or another tenant. A forged, truncated or re-encoded token is a 400,
//! never a 500 and never another query's rows. Pages are keyset pages on the sort key: rows inserted while
//! a client pages never make it repeat or skip a row that was there from the start.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use sha2::{Digest, Sha256};

use onramp_domain::Id;

use crate::error::ApiError;

const VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 16;
const MAC_LEN: usize = 16;
/// The deployment-table key of the MAC secret.
pub const SECRET_KEY: &str = "page_token_secret";

/// The paging parameters of every `GET` list (`?page_size=&page_token=`, or by their JSON names), taken
/// through [`crate::extract::ApiQuery`].
#[derive(serde::Deserialize, Default, Debug, JsonSchema)]
#[serde(default)]
pub struct ListParams {
    pub page_size: Option<i64>,
    pub page_token: Option<String>,
}

/// The page size a request gets: 0 or absent → 25; 1–9 → 10; above 100 → 100. A negative size is refused,
/// naming `field` (`page_size` in a query, `pageSize` in a body).
pub fn page_size(field: &str, requested: Option<i64>) -> Result<usize, ApiError> {
    Ok(match requested.unwrap_or(0) {
        ..0 => return Err(ApiError::invalid_field(field, "must not be negative")),
        0 => 25,
        1..=9 => 10,
        n @ 10..=100 => n as usize,
        _ => 100,
    })
}

/// The fingerprint of a query: its kind, the tenant, and a canonical description of its filters.
pub fn fingerprint<P: AsRef<[u8]>>(parts: &[P]) -> [u8; FINGERPRINT_LEN] {
    let mut hasher = Sha256::new();
    for part in parts {
        let part = part.as_ref();
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

// The one keyset-paging helper of the lists ordered by id: `page_after` reads where a page starts,
// `next_page_token` cuts the page and says where the next one starts.

/// The id a page token continues after; None for the first page. A token of another query is a 400.
pub fn page_after(tokens: &PageTokens, token: Option<&str>, query: &[u8; 16]) -> Result<Option<Id>, ApiError> {
    let Some(key) = tokens.decode(token, query)? else { return Ok(None) };
    let id = std::str::from_utf8(&key).ok().and_then(|text| text.parse::<Id>().ok());
    id.map(Some).ok_or_else(|| ApiError::invalid_field("page_token", "not a page token of this query"))
}

/// Cuts a page fetched with one row too many down to `size`, and returns the token of the next page (empty
/// on the last page).
pub fn next_page_token<T>(
    tokens: &PageTokens,
    query: &[u8; 16],
    rows: &mut Vec<T>,
    size: usize,
    key: impl Fn(&T) -> Id,
) -> String {
    if rows.len() <= size {
        return String::new();
    }
    rows.truncate(size);
    rows.last().map(|last| tokens.encode(query, key(last).to_string().as_bytes())).unwrap_or_default()
}

/// The deployment secret as an HMAC keyed once (its key schedule is done at start, not per token), shared by
/// every clone of the state.
#[derive(Clone)]
pub struct PageTokens {
    keyed: Arc<Hmac<Sha256>>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens([redacted])")
    }
}

impl PageTokens {
    pub fn new(secret: Vec<u8>) -> Self {
        let keyed = Hmac::<Sha256>::new_from_slice(&secret).expect("HMAC takes keys of any length");
        PageTokens { keyed: Arc::new(keyed) }
    }

    /// A new random secret in the text form the deployment table stores.
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        URL_SAFE_NO_PAD.decode(text).ok().filter(|bytes| bytes.len() >= 32).map(PageTokens::new)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::clone(&self.keyed);
        mac.update(payload);
        mac
    }

    /// A MAC of `data` for `purpose` under the deployment secret, as base64url: what an anti-forgery token
    /// is (`web::session`). `purpose` keeps it from being any page token's MAC.
    pub fn tag(&self, purpose: &str, data: &[u8]) -> String {
        let mut payload = Vec::with_capacity(purpose.len() + 1 + data.len());
        payload.extend_from_slice(purpose.as_bytes());
        payload.push(0);
        payload.extend_from_slice(data);
        URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes())
    }

    /// The token that continues `fingerprint`'s query after the row whose sort key is `last_key`.
    pub fn encode(&self, fingerprint: &[u8; FINGERPRINT_LEN], last_key: &[u8]) -> String {
        let mut payload = Vec::with_capacity(1 + FINGERPRINT_LEN + last_key.len() + MAC_LEN);
        payload.push(VERSION);
        payload.extend_from_slice(fingerprint);
        payload.extend_from_slice(last_key);
        let tag = self.mac(&payload).finalize().into_bytes();
        payload.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// The sort key a token continues after; None for an absent or empty token (the first page).
    pub fn decode(
        &self,
        token: Option<&str>,
        fingerprint: &[u8; FINGERPRINT_LEN],
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        let invalid = || ApiError::invalid_field("pageToken", "not a page token of this query");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        // Base64 has several spellings of the same bytes; accept only the canonical one.
        if URL_SAFE_NO_PAD.encode(&bytes) != token || bytes.len() < 1 + FINGERPRINT_LEN + MAC_LEN {
            return Err(invalid());
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        self.mac(payload).verify_truncated_left(tag).map_err(|_| invalid())?;
        if payload[0] != VERSION || payload[1..1 + FINGERPRINT_LEN] != fingerprint[..] {
            return Err(invalid());
        }
        Ok(Some(payload[1 + FINGERPRINT_LEN..].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> PageTokens {
        PageTokens::new(vec![7; 32])
    }

    #[test]
    fn page_size_rules() {
        let size = |requested| page_size("pageSize", requested).unwrap();
        assert_eq!(size(None), 25);
        assert_eq!(size(Some(0)), 25);
        assert_eq!(size(Some(1)), 10);
        assert_eq!(size(Some(9)), 10);
        assert_eq!(size(Some(10)), 10);
        assert_eq!(size(Some(57)), 57);
        assert_eq!(size(Some(100)), 100);
        assert_eq!(size(Some(101)), 100);
        assert_eq!(page_size("page_size", Some(-3)).unwrap_err().message, "invalid page_size: must not be negative");
    }

    #[test]
    fn round_trip_and_binding_to_the_query() {
        let query = fingerprint(&["users.list", "tenant-a"]);
        let token = tokens().encode(&query, b"6b040bd491253d395dd0a6d9");
        assert_eq!(tokens().decode(Some(&token), &query).unwrap(), Some(b"6b040bd491253d395dd0a6d9".to_vec()));
        assert_eq!(tokens().decode(None, &query).unwrap(), None);
        assert_eq!(tokens().decode(Some(""), &query).unwrap(), None);
        let other_tenant = fingerprint(&["users.list", "tenant-b"]);
        assert!(tokens().decode(Some(&token), &other_tenant).is_err());
        assert!(PageTokens::new(vec![8; 32]).decode(Some(&token), &query).is_err(), "another deployment's token");
    }

    #[test]
    fn tampering_is_refused() {
        let query = fingerprint(&["q"]);
        let token = tokens().encode(&query, b"key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert!(tokens().decode(Some(&URL_SAFE_NO_PAD.encode(&bytes)), &query).is_err(), "flipped byte {i}");
            bytes[i] ^= 1;
        }
        assert!(tokens().decode(Some(&token[..token.len() - 2]), &query).is_err(), "truncated");
        assert!(tokens().decode(Some(&format!("{token}=")), &query).is_err(), "re-encoded with padding");
        assert!(tokens().decode(Some("%%%"), &query).is_err());
        assert!(tokens().decode(Some("AA"), &query).is_err());
    }
}
