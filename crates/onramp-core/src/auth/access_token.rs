//! onramp's own access tokens: short-lived EdDSA JWTs that carry everything
//! a request needs to be authorized, so that verifying one never touches the
//! database.
//!
//! Because tokens cannot be revoked individually, their lifetime is kept to
//! ten minutes; disabling a credential takes effect at the next token
//! request. Keys are identified by "kid" so that a key can be rotated while
//! tokens signed by its predecessor are still in flight.

use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::jose;

/// How long an access token is valid for.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 600;

/// The "typ" header of access tokens (RFC 9068), which keeps them from
/// being confused with any other JWS onramp might sign.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Clock skew tolerated on "exp". It is small because issuer and verifier
/// are normally the same process or share a clock.
pub(crate) const EXPIRY_LEEWAY_SECS: i64 = 5;

/// A "kid" longer than this is refused rather than echoed back in
/// [`TokenError::UnknownKey`], so callers never log or look up huge strings.
const MAX_KID_LEN: usize = 128;

/// The claims of an access token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AccessClaims {
    /// The issuer, onramp's own public URL.
    pub iss: String,
    /// The user the token acts for.
    pub sub: String,
    /// The tenant the user belongs to.
    pub tid: String,
    /// The credential the token was obtained with, for auditing.
    pub cid: String,
    /// The names of the roles the user held when the token was issued.
    pub roles: Vec<String>,
    /// Issued at, in Unix seconds.
    pub iat: i64,
    /// Expires at, in Unix seconds.
    pub exp: i64,
    /// A unique token id, for logs.
    pub jti: String,
}

/// Why an access token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not a well-formed onramp access token.
    #[error("malformed access token")]
    Malformed,
    /// The token names a key this ring does not hold; the caller may reload
    /// its keys and try once more.
    #[error("access token signed by an unknown key")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("access token signature invalid")]
    BadSignature,
    /// The token has expired.
    #[error("access token expired")]
    Expired,
    /// The token was issued by someone else.
    #[error("access token issuer mismatch")]
    WrongIssuer,
}

/// The keys used for access tokens: one current signing key, and every key
/// whose tokens are still accepted.
pub struct KeyRing {
    signing_kid: String,
    signing: SigningKey,
    verifying: HashMap<String, VerifyingKey>,
}

impl fmt::Debug for KeyRing {
    // Written by hand so that the private key can never end up in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&str> = self.verifying.keys().map(String::as_str).collect();
        kids.sort_unstable();
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing_kid)
            .field("verifying_kids", &kids)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Builds a ring. The signing key's own public key is always accepted
    /// under `signing_kid`, replacing any entry in `verifying` with the
    /// same kid, so that tokens this ring issues always verify with it.
    pub fn new(
        signing_kid: String,
        signing: SigningKey,
        verifying: impl IntoIterator<Item = (String, VerifyingKey)>,
    ) -> Self {
        let mut verifying: HashMap<String, VerifyingKey> = verifying.into_iter().collect();
        verifying.insert(signing_kid.clone(), signing.verifying_key());
        KeyRing { signing_kid, signing, verifying }
    }

    /// The kid new tokens are signed under.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// Whether tokens signed under `kid` can be verified.
    pub fn knows(&self, kid: &str) -> bool {
        self.verifying.contains_key(kid)
    }

    /// Signs `claims` with the current key. The caller fills in the times,
    /// normally `exp = iat + ACCESS_TOKEN_TTL_SECS`.
    pub fn issue(&self, claims: &AccessClaims) -> String {
        let mut header = Map::new();
        header.insert("kid".to_owned(), Value::String(self.signing_kid.clone()));
        header.insert("typ".to_owned(), Value::String(ACCESS_TOKEN_TYP.to_owned()));
        jose::sign(&header, claims, &self.signing)
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str, expected_issuer: &str, now_unix: i64) -> Result<AccessClaims, TokenError> {
        let parsed = jose::parse(token).map_err(|_| TokenError::Malformed)?;
        if parsed.header.get("typ").and_then(Value::as_str) != Some(ACCESS_TOKEN_TYP) {
            return Err(TokenError::Malformed);
        }
        let kid = header_kid(&parsed.header).ok_or(TokenError::Malformed)?;
        let key = self.verifying.get(kid).ok_or_else(|| TokenError::UnknownKey(kid.to_owned()))?;
        parsed.verify(key).map_err(|_| TokenError::BadSignature)?;
        let claims: AccessClaims = serde_json::from_value(parsed.claims).map_err(|_| TokenError::Malformed)?;
        if now_unix >= claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) {
            return Err(TokenError::Expired);
        }
        if claims.iss != expected_issuer {
            return Err(TokenError::WrongIssuer);
        }
        Ok(claims)
    }
}

/// The kid of a token, read without verifying anything, so the caller can
/// decide to reload keys when it meets one it does not know.
pub fn kid_of(token: &str) -> Option<String> {
    let parsed = jose::parse(token).ok()?;
    header_kid(&parsed.header).map(str::to_owned)
}

fn header_kid(header: &Map<String, Value>) -> Option<&str> {
    header.get("kid").and_then(Value::as_str).filter(|kid| !kid.is_empty() && kid.len() <= MAX_KID_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::Signer as _;
    use serde_json::json;

    const ISS: &str = "https://onramp.example";
    const NOW: i64 = 1_700_000_000;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: ISS.to_owned(),
            sub: "user-1".to_owned(),
            tid: "tenant-1".to_owned(),
            cid: "cred-1".to_owned(),
            roles: vec!["admin".to_owned(), "viewer".to_owned()],
            iat: NOW,
            exp: NOW + ACCESS_TOKEN_TTL_SECS,
            jti: "jti-1".to_owned(),
        }
    }

    fn ring() -> KeyRing {
        KeyRing::new("k2".to_owned(), key(2), [("k1".to_owned(), key(1).verifying_key())])
    }

    fn build(header: &Value, claims: &Value, key: &SigningKey) -> String {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = key.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[test]
    fn round_trip() {
        let ring = ring();
        let token = ring.issue(&claims());
        assert_eq!(kid_of(&token).as_deref(), Some("k2"));
        assert_eq!(ring.verify(&token, ISS, NOW), Ok(claims()));
        let header = jose::parse(&token).unwrap().header;
        assert_eq!(Value::Object(header), json!({"alg": "EdDSA", "kid": "k2", "typ": "at+jwt"}));
    }

    #[test]
    fn ring_contents() {
        let ring = ring();
        assert_eq!(ring.signing_kid(), "k2");
        assert!(ring.knows("k1") && ring.knows("k2") && !ring.knows("k3"));
        let shown = format!("{ring:?}");
        assert!(shown.contains("k1") && shown.contains("k2"), "{shown}");
    }

    #[test]
    fn older_key_still_verifies_after_rotation() {
        let old = KeyRing::new("k1".to_owned(), key(1), []);
        let token = old.issue(&claims());
        assert_eq!(ring().verify(&token, ISS, NOW), Ok(claims()));
    }

    #[test]
    fn signing_key_overrides_a_stale_entry_with_its_kid() {
        let ring = KeyRing::new("k1".to_owned(), key(2), [("k1".to_owned(), key(1).verifying_key())]);
        assert!(ring.verify(&ring.issue(&claims()), ISS, NOW).is_ok());
    }

    #[test]
    fn unknown_kid_is_reported() {
        let stranger = KeyRing::new("k9".to_owned(), key(9), []);
        let token = stranger.issue(&claims());
        assert_eq!(ring().verify(&token, ISS, NOW), Err(TokenError::UnknownKey("k9".to_owned())));
        assert_eq!(kid_of(&token).as_deref(), Some("k9"));
        assert_eq!(kid_of("garbage"), None);
    }

    #[test]
    fn wrong_key_under_known_kid_is_refused() {
        let impostor = KeyRing::new("k1".to_owned(), key(7), []);
        let token = impostor.issue(&claims());
        assert_eq!(ring().verify(&token, ISS, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_claims_are_refused() {
        let token = ring().issue(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let mut evil = serde_json::to_value(claims()).unwrap();
        evil["roles"] = json!(["superuser"]);
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(evil.to_string()), parts[2]);
        assert_eq!(ring().verify(&forged, ISS, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn expiry_has_five_seconds_of_leeway() {
        let ring = ring();
        let token = ring.issue(&claims());
        let exp = NOW + ACCESS_TOKEN_TTL_SECS;
        assert!(ring.verify(&token, ISS, exp + 4).is_ok());
        assert_eq!(ring.verify(&token, ISS, exp + 5), Err(TokenError::Expired));
        assert_eq!(ring.verify(&token, ISS, exp + 3600), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let token = ring().issue(&claims());
        assert_eq!(ring().verify(&token, "https://evil.example", NOW), Err(TokenError::WrongIssuer));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = serde_json::to_value(claims()).unwrap();
        let signer = key(2);
        let cases = [
            build(&json!({"alg": "none", "kid": "k2", "typ": "at+jwt"}), &good, &signer),
            build(&json!({"alg": "HS256", "kid": "k2", "typ": "at+jwt"}), &good, &signer),
            build(&json!({"alg": "EdDSA", "kid": "k2"}), &good, &signer),
            build(&json!({"alg": "EdDSA", "kid": "k2", "typ": "JWT"}), &good, &signer),
            build(&json!({"alg": "EdDSA", "typ": "at+jwt"}), &good, &signer),
            build(&json!({"alg": "EdDSA", "kid": 2, "typ": "at+jwt"}), &good, &signer),
            build(&json!({"alg": "EdDSA", "kid": "k".repeat(129), "typ": "at+jwt"}), &good, &signer),
            build(&json!({"alg": "EdDSA", "kid": "k2", "typ": "at+jwt"}), &json!({"iss": ISS}), &signer),
            "a.b.c".to_owned(),
            String::new(),
        ];
        for token in &cases {
            assert_eq!(ring().verify(token, ISS, NOW), Err(TokenError::Malformed), "{token}");
        }
        // A hand-built token in the right shape is accepted, which shows the
        // cases above fail for the reason they were built to test.
        let header = json!({"alg": "EdDSA", "kid": "k2", "typ": "at+jwt"});
        assert_eq!(ring().verify(&build(&header, &good, &signer), ISS, NOW), Ok(claims()));
    }
}
