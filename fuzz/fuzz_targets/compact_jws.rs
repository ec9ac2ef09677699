//! Compact JWS (`onramp_core::auth::jose`) and the two verifiers built on it: client assertions (`assertion`)
//! and access tokens (`access_token::KeyRing`).
//!
//! The first byte picks the mode. Even: the rest is a token as a client sends it; nothing may panic.
//! Odd: the rest is a JSON object of claims (and header members under `"header"`), signed here with a fixed
//! key so that the claim checks behind the signature check are reached with arbitrary claim values; a token
//! onramp signed must parse again.

#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use onramp_core::auth::access_token::{KeyRing, kid_of};
use onramp_core::auth::{assertion, jose};
use serde_json::{Map, Value};

const CLIENT_ID: &str = "swift-golem-00042@onramp.example/fuzz";
const ISSUER: &str = "https://onramp.example";
/// Times a verifier may be asked about, extremes included.
const NOWS: [i64; 4] = [0, 1_700_000_000, i64::MIN, i64::MAX];

fn verify_everywhere(token: &str, ring: &KeyRing, key: &SigningKey) {
    let _ = kid_of(token);
    let audiences = vec!["onramp.example".to_string()];
    for now in NOWS {
        let _ = ring.verify(token, ISSUER, now);
        let _ = assertion::verify(token, CLIENT_ID, &key.verifying_key(), &audiences, now);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let key = SigningKey::from_bytes(&[7; 32]);
    let ring = KeyRing::new("k1".to_string(), key.clone(), []);
    if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else { return };
        if let Ok(parsed) = jose::parse(token) {
            assert!(parsed.claims.is_object(), "parsed claims are always an object");
            let _ = parsed.verify(&key.verifying_key());
        }
        verify_everywhere(token, &ring, &key);
        return;
    }
    let Ok(Value::Object(mut claims)) = serde_json::from_slice::<Value>(rest) else { return };
    let header = match claims.remove("header") {
        Some(Value::Object(header)) => header,
        _ => {
            let mut header = Map::new();
            header.insert("kid".into(), Value::String("k1".into()));
            header.insert("nonce".into(), Value::String("0123456789abcdef0123456789abcdef".into()));
            header
        }
    };
    let token = jose::sign(&header, &claims, &key);
    if token.len() <= jose::MAX_TOKEN_LEN && !header.contains_key("crit") {
        let parsed = jose::parse(&token).expect("a token onramp signed parses");
        parsed.verify(&key.verifying_key()).expect("and its signature verifies");
    }
    verify_everywhere(&token, &ring, &key);
});
