//! Compact JSON Web Signatures (RFC 7515) restricted to the "EdDSA"
//! algorithm over Ed25519.
//!
//! onramp only ever needs one algorithm, both for the client assertions the
//! ConductorOne SDKs send and for its own access tokens, so this module is a
//! deliberately tiny implementation rather than a general JOSE library: a
//! token that names any other algorithm is refused before any key is touched.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::{Map, Value};

/// The only value of the "alg" header parameter this module accepts.
pub const ALG_EDDSA: &str = "EdDSA";

/// The largest token `parse` will look at, so that a hostile client cannot
/// make the server decode and parse arbitrarily large JSON documents.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a token was refused. The messages are fixed strings so that they can
/// be logged or returned to a client without echoing token content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// The token is not a well-formed compact JWS; the text says which part.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than "EdDSA".
    #[error("unsupported signature algorithm")]
    UnsupportedAlgorithm,
    /// The signature does not verify under the given key.
    #[error("bad signature")]
    BadSignature,
}

/// A syntactically valid token whose signature has not been checked yet.
///
/// The signing input and signature are private so that callers can only get
/// at them through [`Parsed::verify`], which keeps the check in one place.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The decoded protected header.
    pub header: Map<String, Value>,
    /// The decoded payload, always a JSON object.
    pub claims: Value,
    signing_input: String,
    signature: Signature,
}

impl Parsed {
    /// Checks the signature with `verify_strict`, which also rejects weak
    /// public keys and non-canonical signatures that plain verification
    /// would let through.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature).map_err(|_| JoseError::BadSignature)
    }
}

/// Signs `claims` as a compact JWS. The "alg" parameter is always set here,
/// overriding any value in `header`, so a caller cannot produce a token that
/// claims a different algorithm from the one actually used.
///
/// # Panics
///
/// Panics if `claims` cannot be serialized to JSON (for example a map with
/// non-string keys), which is a programming error rather than a runtime
/// condition.
pub fn sign(header: &Map<String, Value>, claims: &impl Serialize, key: &SigningKey) -> String {
    let mut header = header.clone();
    header.insert("alg".to_owned(), Value::String(ALG_EDDSA.to_owned()));
    // Serializing a `Map` of `Value`s cannot fail, so only the claims need
    // the documented panic.
    let header_json = serde_json::to_vec(&header).expect("a JSON map always serializes");
    let claims_json = serde_json::to_vec(claims).expect("token claims must serialize to JSON");
    let mut token = String::with_capacity((header_json.len() + claims_json.len() + Signature::BYTE_SIZE) * 4 / 3 + 8);
    URL_SAFE_NO_PAD.encode_string(&header_json, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims_json, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
    token
}

/// Splits and decodes a compact JWS without verifying it.
///
/// The algorithm check happens here, before the caller can pick a key, so
/// "none", HMAC and every other algorithm are refused up front.
pub fn parse(token: &str) -> Result<Parsed, JoseError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JoseError::Malformed("token too large"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed("expected three dot-separated parts"));
    };

    let header = decode_object(header_b64, "header is not base64url", "header is not a JSON object")?;
    match header.get("alg") {
        None => return Err(JoseError::Malformed("header has no alg")),
        Some(Value::String(alg)) if alg == ALG_EDDSA => {}
        Some(_) => return Err(JoseError::UnsupportedAlgorithm),
    }
    // RFC 7515 requires refusing a token that marks as critical an extension
    // the recipient does not understand, and this implementation understands
    // none.
    if header.contains_key("crit") {
        return Err(JoseError::Malformed("unsupported critical header"));
    }

    let claims = decode_object(claims_b64, "payload is not base64url", "payload is not a JSON object")?;

    let signature_bytes =
        URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| JoseError::Malformed("signature is not base64url"))?;
    let signature =
        Signature::from_slice(&signature_bytes).map_err(|_| JoseError::Malformed("signature has the wrong length"))?;

    Ok(Parsed {
        header,
        claims: Value::Object(claims),
        signing_input: token[..header_b64.len() + 1 + claims_b64.len()].to_owned(),
        signature,
    })
}

/// Decodes one base64url segment that must hold a JSON object.
fn decode_object(
    segment: &str,
    encoding_error: &'static str,
    json_error: &'static str,
) -> Result<Map<String, Value>, JoseError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| JoseError::Malformed(encoding_error))?;
    serde_json::from_slice::<Map<String, Value>>(&bytes).map_err(|_| JoseError::Malformed(json_error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn token_with_header(header: &Value, claims: &Value, key: &SigningKey) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let signature = key.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    #[test]
    fn round_trip() {
        let k = key(1);
        let mut header = Map::new();
        header.insert("kid".into(), json!("k1"));
        // A caller-supplied alg must be overwritten, not trusted.
        header.insert("alg".into(), json!("none"));
        let token = sign(&header, &json!({"sub": "alice", "n": 3}), &k);
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.header["alg"], json!("EdDSA"));
        assert_eq!(parsed.header["kid"], json!("k1"));
        assert_eq!(parsed.claims, json!({"sub": "alice", "n": 3}));
        parsed.verify(&k.verifying_key()).unwrap();
        assert!(!token.contains('='), "base64url must be unpadded");
    }

    #[test]
    fn wrong_key_is_refused() {
        let token = sign(&Map::new(), &json!({"a": 1}), &key(1));
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.verify(&key(2).verifying_key()), Err(JoseError::BadSignature));
    }

    #[test]
    fn tampered_parts_are_refused() {
        let k = key(3);
        let token = sign(&Map::new(), &json!({"role": "user"}), &k);
        let parts: Vec<&str> = token.split('.').collect();

        let evil_claims = b64(json!({"role": "admin"}).to_string().as_bytes());
        let tampered = format!("{}.{}.{}", parts[0], evil_claims, parts[2]);
        let parsed = parse(&tampered).unwrap();
        assert_eq!(parsed.verify(&k.verifying_key()), Err(JoseError::BadSignature));

        let evil_header = b64(json!({"alg": "EdDSA", "kid": "other"}).to_string().as_bytes());
        let tampered = format!("{}.{}.{}", evil_header, parts[1], parts[2]);
        let parsed = parse(&tampered).unwrap();
        assert_eq!(parsed.verify(&k.verifying_key()), Err(JoseError::BadSignature));

        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 0x01;
        let tampered = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
        let parsed = parse(&tampered).unwrap();
        assert_eq!(parsed.verify(&k.verifying_key()), Err(JoseError::BadSignature));
    }

    #[test]
    fn other_algorithms_are_refused() {
        let k = key(4);
        let claims = json!({"sub": "x"});
        for alg in ["none", "HS256", "RS256", "ES256", "eddsa", "Ed25519"] {
            let token = token_with_header(&json!({"alg": alg}), &claims, &k);
            assert_eq!(parse(&token).unwrap_err(), JoseError::UnsupportedAlgorithm, "{alg}");
        }
        let unsigned =
            format!("{}.{}.", b64(json!({"alg": "none"}).to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        assert_eq!(parse(&unsigned).unwrap_err(), JoseError::UnsupportedAlgorithm);
        let token = token_with_header(&json!({"alg": 7}), &claims, &k);
        assert_eq!(parse(&token).unwrap_err(), JoseError::UnsupportedAlgorithm);
        let token = token_with_header(&json!({"typ": "JWT"}), &claims, &k);
        assert!(matches!(parse(&token), Err(JoseError::Malformed(_))));
    }

    #[test]
    fn critical_headers_are_refused() {
        let token = token_with_header(&json!({"alg": "EdDSA", "crit": ["exp"]}), &json!({}), &key(5));
        assert!(matches!(parse(&token), Err(JoseError::Malformed(_))));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = sign(&Map::new(), &json!({"a": 1}), &key(6));
        let parts: Vec<&str> = token.split('.').collect();
        let not_object = b64(b"[1,2]");
        let not_json = b64(b"{nope");
        let cases = [
            String::new(),
            "a.b".to_owned(),
            format!("{token}.extra"),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", parts[0], not_object, parts[2]),
            format!("{}.{}.{}", not_object, parts[1], parts[2]),
            format!("{}.{}.{}", parts[0], not_json, parts[2]),
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..20]),
            format!("{}.{}.{}+", parts[0], parts[1], parts[2]),
        ];
        for case in &cases {
            assert!(matches!(parse(case), Err(JoseError::Malformed(_))), "{case}");
        }
    }

    #[test]
    fn oversized_tokens_are_refused() {
        let big = "x".repeat(MAX_TOKEN_LEN);
        let token = sign(&Map::new(), &json!({"pad": big}), &key(7));
        assert_eq!(parse(&token).unwrap_err(), JoseError::Malformed("token too large"));
        let fits = sign(&Map::new(), &json!({"pad": "x".repeat(4000)}), &key(7));
        assert!(fits.len() <= MAX_TOKEN_LEN);
        parse(&fits).unwrap().verify(&key(7).verifying_key()).unwrap();
    }
}
