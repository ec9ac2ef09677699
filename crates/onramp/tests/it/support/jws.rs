//! Compact JWS made and taken apart by the tests themselves: client assertions with any header and claims,
//! tampered tokens, and access tokens signed with a key read from the server's database.
//!
//! Like `c1_client`, this module does not use `onramp-api`, so that a bug shared by the server's signer and
//! verifier cannot hide itself by being on both sides of a test.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use onramp_domain::Timestamp;
use onramp_store::Store;
use serde_json::{Value, json};

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    Timestamp::now().unix_seconds()
}

/// Signs `claims` under `header` exactly as given: nothing is added, so a test can send any header at all.
pub fn sign(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = format!("{}.{}", encode(header), encode(claims));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// A JSON value as unpadded base64url.
pub fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The decoded header (`index` 0) or claims (`index` 1) of a compact JWS.
pub fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a compact JWS has three parts");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("a JWS part is base64url");
    serde_json::from_slice(&bytes).expect("a JWS part is JSON")
}

/// The token with its claims replaced by `claims` and its original header and signature kept.
pub fn with_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS has three parts");
    format!("{}.{}.{}", parts[0], encode(claims), parts[2])
}

/// The token with one character in the middle of its signature replaced by another base64url character.
/// The middle is chosen because the last character of an encoded signature carries padding bits.
pub fn with_signature_character_changed(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').expect("a compact JWS has a signature");
    let mut characters: Vec<char> = signature.chars().collect();
    let middle = characters.len() / 2;
    characters[middle] = if characters[middle] == 'A' { 'B' } else { 'A' };
    format!("{input}.{}", characters.into_iter().collect::<String>())
}

/// A fresh random Ed25519 key.
pub fn random_key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random number generator must be available");
    SigningKey::from_bytes(&seed)
}

/// The key the server signs access tokens with now (the newest generation in the database), with its kid.
/// The private key is stored as the base64url of the 32-byte Ed25519 seed.
pub async fn server_signing_key(store: &dyn Store) -> (String, SigningKey, i64) {
    let keys = store.signing_keys(Timestamp::now()).await.expect("read signing keys");
    let newest = keys.first().expect("the server made a signing key at start-up");
    let seed = URL_SAFE_NO_PAD.decode(&newest.private_key).expect("the stored private key is base64url");
    let seed: [u8; 32] = seed.as_slice().try_into().expect("the stored private key is a 32-byte seed");
    (newest.id.clone(), SigningKey::from_bytes(&seed), newest.generation)
}

/// The claims of an onramp access token, in the shape the server issues them.
#[derive(Clone, Copy)]
pub struct AccessClaims<'a> {
    pub issuer: &'a str,
    pub user_id: &'a str,
    pub tenant_id: &'a str,
    pub credential_id: &'a str,
    pub roles: &'a [&'a str],
    pub issued_at: i64,
    pub expires_at: i64,
}

/// Signs an access token as the server would: header `{"alg": "EdDSA", "typ": "at+jwt", "kid": ...}`.
pub fn access_token(kid: &str, key: &SigningKey, claims: &AccessClaims<'_>) -> String {
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
    let mut jti = [0u8; 12];
    getrandom::fill(&mut jti).expect("the OS random number generator must be available");
    let claims = json!({
        "iss": claims.issuer,
        "sub": claims.user_id,
        "tid": claims.tenant_id,
        "cid": claims.credential_id,
        "roles": claims.roles,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    });
    sign(&header, &claims, key)
}
