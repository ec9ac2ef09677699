//! A stand-in for the ConductorOne SDKs' client side of authentication, for
//! integration tests: it turns a client secret into an Ed25519 key and signs
//! client assertions the way the Go SDK does.
//!
//! It deliberately does not use `onramp-api`, so that a bug shared by the
//! server's parser and signer cannot hide itself by being on both sides of
//! a test.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};

/// How far before "now" the Go SDK puts "nbf", to absorb clock skew.
const NOT_BEFORE_SKEW_SECS: i64 = 120;

/// Parses `secret-token:conductorone.com:v1:<base64url JWK>` into the key
/// it carries, checking the embedded public key as well so a broken secret
/// fails here rather than as a puzzling signature error on the server.
///
/// # Panics
///
/// Panics on any malformed secret; this is test code.
pub fn signing_key_from_secret(secret: &str) -> SigningKey {
    let parts: Vec<&str> = secret.split(':').collect();
    assert_eq!(parts.len(), 4, "client secret must have four ':'-separated parts");
    assert_eq!(parts[..3], ["secret-token", "conductorone.com", "v1"], "client secret has the wrong prefix");
    let jwk_json = URL_SAFE_NO_PAD.decode(parts[3]).expect("client secret key must be unpadded base64url");
    let jwk: Value = serde_json::from_slice(&jwk_json).expect("client secret key must be JSON");
    assert_eq!(jwk["kty"], "OKP", "client secret key must be an OKP key");
    assert_eq!(jwk["crv"], "Ed25519", "client secret key must be Ed25519");
    let field = |name: &str| {
        let text = jwk[name].as_str().unwrap_or_else(|| panic!("client secret key has no {name:?}"));
        let bytes =
            URL_SAFE_NO_PAD.decode(text).unwrap_or_else(|_| panic!("client secret key {name:?} is not base64url"));
        <[u8; 32]>::try_from(bytes.as_slice()).unwrap_or_else(|_| panic!("client secret key {name:?} is not 32 bytes"))
    };
    let key = SigningKey::from_bytes(&field("d"));
    assert_eq!(
        key.verifying_key().to_bytes(),
        field("x"),
        "client secret key's public part does not match its private part"
    );
    key
}

/// Signs a client assertion as the Go SDK does: header `alg` and `nonce`,
/// claims `iss = sub = client_id`, `aud` as a one-element array, `iat` now,
/// `nbf` two minutes ago and `exp` after `lifetime_secs` (the SDK uses 120).
pub fn client_assertion(
    client_id: &str,
    key: &SigningKey,
    audience: &str,
    nonce: &str,
    now_unix: i64,
    lifetime_secs: i64,
) -> String {
    let header = json!({"alg": "EdDSA", "nonce": nonce});
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": [audience],
        "iat": now_unix,
        "nbf": now_unix - NOT_BEFORE_SKEW_SECS,
        "exp": now_unix + lifetime_secs,
    });
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// A fresh nonce in the SDK's format: 16 random bytes as 32 hex characters.
pub fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random number generator must be available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
