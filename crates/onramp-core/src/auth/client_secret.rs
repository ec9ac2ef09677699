//! The ConductorOne credential formats: client secrets that carry an
//! Ed25519 private key as a JWK, client ids of the form
//! `<adjective>-<creature>-<digits>@<host>/<use case>`, and the text form
//! onramp uses to store a credential's public key.
//!
//! The formats must match what the ConductorOne SDKs expect byte for byte,
//! because unmodified clients parse the secret themselves and derive the
//! token endpoint host from the client id.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::Deserialize;

/// Everything in a client secret before the encoded JWK.
pub const SECRET_PREFIX: &str = "secret-token:conductorone.com:v1:";

/// Why a client secret was refused. None of the variants carries any part
/// of the secret, so the error can be shown or logged safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    /// The secret does not split into exactly four ':'-separated parts.
    #[error("client secret must have exactly four ':'-separated parts")]
    WrongPartCount,
    /// The first three parts are not `secret-token:conductorone.com:v1`.
    #[error("client secret does not start with \"secret-token:conductorone.com:v1:\"")]
    WrongPrefix,
    /// The key part is not unpadded base64url.
    #[error("client secret key is not valid base64url")]
    BadEncoding,
    /// The key part does not decode to a JSON Web Key object.
    #[error("client secret key is not a valid JSON Web Key")]
    BadJwk,
    /// The JWK is not an Ed25519 octet key pair.
    #[error("client secret key is not an Ed25519 OKP key")]
    WrongKeyType,
    /// The JWK has no private part, or it is not 32 bytes.
    #[error("client secret key has no valid 32-byte private part")]
    BadPrivateKey,
    /// The JWK's public part is missing or does not belong to its private part.
    #[error("client secret key's public part does not match its private part")]
    PublicKeyMismatch,
}

/// A stored public key that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored public key is not a valid base64url Ed25519 key")]
pub struct PublicKeyError;

/// The fields of the JWK we look at. Every field is optional so that a
/// missing one produces a specific error instead of a generic JSON failure,
/// and unknown fields such as "kid" are ignored as the SDKs do.
#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    d: Option<String>,
}

/// Creates a fresh client secret and returns it with the public key the
/// server stores. The secret itself is never stored, so it is returned only
/// here, for showing to the user once.
///
/// # Panics
///
/// Panics if the operating system's random number generator is unavailable,
/// since no credential can be issued safely without it.
pub fn generate() -> (String, VerifyingKey) {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random number generator must be available");
    let signing = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let verifying = signing.verifying_key();
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(verifying.as_bytes()),
        "d": URL_SAFE_NO_PAD.encode(signing.as_bytes()),
    });
    let mut secret = SECRET_PREFIX.to_owned();
    URL_SAFE_NO_PAD.encode_string(jwk.to_string().as_bytes(), &mut secret);
    (secret, verifying)
}

/// Parses a client secret the way the ConductorOne SDKs do, and additionally
/// checks that the embedded public key matches the private one, because the
/// SDKs would otherwise sign with a key pair that never verifies.
pub fn parse(secret: &str) -> Result<SigningKey, SecretFormatError> {
    let parts: Vec<&str> = secret.split(':').collect();
    let [scheme, domain, version, encoded] = parts.as_slice() else {
        return Err(SecretFormatError::WrongPartCount);
    };
    if (*scheme, *domain, *version) != ("secret-token", "conductorone.com", "v1") {
        return Err(SecretFormatError::WrongPrefix);
    }
    let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SecretFormatError::BadEncoding)?;
    let jwk: Jwk = serde_json::from_slice(&json).map_err(|_| SecretFormatError::BadJwk)?;
    if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
        return Err(SecretFormatError::WrongKeyType);
    }
    let d = jwk.d.as_deref().and_then(|d| URL_SAFE_NO_PAD.decode(d).ok()).ok_or(SecretFormatError::BadPrivateKey)?;
    let seed: [u8; 32] = d.as_slice().try_into().map_err(|_| SecretFormatError::BadPrivateKey)?;
    let signing = SigningKey::from_bytes(&seed);
    let x =
        jwk.x.as_deref().and_then(|x| URL_SAFE_NO_PAD.decode(x).ok()).ok_or(SecretFormatError::PublicKeyMismatch)?;
    if x.as_slice() != signing.verifying_key().as_bytes() {
        return Err(SecretFormatError::PublicKeyMismatch);
    }
    Ok(signing)
}

/// Encodes a public key for storage as unpadded base64url, the same
/// encoding the JWK "x" member uses.
pub fn public_key_b64(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Decodes a stored public key, refusing weak (small-order) keys because a
/// signature under such a key proves nothing about who made it.
pub fn public_key_from_b64(text: &str) -> Result<VerifyingKey, PublicKeyError> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| PublicKeyError)?;
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| PublicKeyError)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| PublicKeyError)?;
    if key.is_weak() {
        return Err(PublicKeyError);
    }
    Ok(key)
}

/// The three parts of a client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdParts {
    /// The random human-readable name, e.g. `strange-hydra-68836`.
    pub name: String,
    /// The host the SDKs send token requests to.
    pub host: String,
    /// The kind of client the credential is for, e.g. `pcc`.
    pub use_case: String,
}

const ADJECTIVES: [&str; 30] = [
    "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "daring", "eager", "fierce", "gentle",
    "golden", "hidden", "jolly", "keen", "lively", "lucky", "mighty", "misty", "nimble", "proud", "quiet", "rapid",
    "silent", "silver", "strange", "swift", "vivid", "wise",
];

const CREATURES: [&str; 30] = [
    "basilisk", "centaur", "chimera", "cyclops", "djinn", "dragon", "dryad", "golem", "griffin", "harpy", "hydra",
    "kelpie", "kitsune", "kraken", "minotaur", "naga", "nymph", "ogre", "pegasus", "phoenix", "pixie", "roc", "satyr",
    "selkie", "siren", "sphinx", "sprite", "troll", "wyvern", "yeti",
];

/// Creates a client id for a credential. The name is random so that ids do
/// not reveal how many credentials exist; it is not a secret, so the tiny
/// modulo bias in picking words does not matter.
///
/// # Panics
///
/// Panics if the operating system's random number generator is unavailable.
pub fn generate_client_id(host: &str, use_case: &str) -> String {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).expect("the OS random number generator must be available");
    let pick = |i: usize| u32::from_le_bytes([random[i], random[i + 1], random[i + 2], random[i + 3]]);
    let adjective = ADJECTIVES[pick(0) as usize % ADJECTIVES.len()];
    let creature = CREATURES[pick(4) as usize % CREATURES.len()];
    let number = pick(8) % 100_000;
    format!("{adjective}-{creature}-{number:05}@{host}/{use_case}")
}

/// Splits a client id into its parts, or returns `None` when it does not
/// have the shape the SDKs rely on.
pub fn parse_client_id(s: &str) -> Option<ClientIdParts> {
    let (name, rest) = s.split_once('@')?;
    let (host, use_case) = rest.split_once('/')?;
    let is_slug = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    // The host is only restricted as far as needed to split the id back
    // unambiguously and keep it printable; its real validity is a matter of
    // configuration.
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic() && b != b'@');
    (is_slug(name) && host_ok && is_slug(use_case)).then(|| ClientIdParts {
        name: name.to_owned(),
        host: host.to_owned(),
        use_case: use_case.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode_jwk(jwk: &serde_json::Value) -> String {
        format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(jwk.to_string()))
    }

    fn jwk_for(seed: [u8; 32]) -> serde_json::Value {
        let key = SigningKey::from_bytes(&seed);
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            "d": URL_SAFE_NO_PAD.encode(seed),
        })
    }

    #[test]
    fn generated_secret_parses_to_same_key() {
        let (secret, public) = generate();
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(secret.split(':').count(), 4);
        let key = parse(&secret).unwrap();
        assert_eq!(key.verifying_key(), public);
        let (other, _) = generate();
        assert_ne!(secret, other);
    }

    #[test]
    fn hand_built_secret_parses() {
        let seed = [9u8; 32];
        let mut jwk = jwk_for(seed);
        jwk["kid"] = json!("ignored");
        let key = parse(&encode_jwk(&jwk)).unwrap();
        assert_eq!(key.to_bytes(), seed);
    }

    #[test]
    fn format_errors() {
        let good = encode_jwk(&jwk_for([1; 32]));
        let encoded = good.rsplit(':').next().unwrap();
        use SecretFormatError as E;
        let cases: Vec<(String, E)> = vec![
            (format!("secret-token:conductorone.com:v2:{encoded}"), E::WrongPrefix),
            (format!("secret-token:example.com:v1:{encoded}"), E::WrongPrefix),
            (format!("token:conductorone.com:v1:{encoded}"), E::WrongPrefix),
            ("secret-token:conductorone.com:v1".to_owned(), E::WrongPartCount),
            (format!("conductorone.com:v1:{encoded}"), E::WrongPartCount),
            (format!("{good}:extra"), E::WrongPartCount),
            (String::new(), E::WrongPartCount),
            (format!("{SECRET_PREFIX}not*base64"), E::BadEncoding),
            (format!("{good}=="), E::BadEncoding),
            (format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode("[1]")), E::BadJwk),
            (format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode("{")), E::BadJwk),
        ];
        for (secret, want) in cases {
            assert_eq!(parse(&secret), Err(want.clone()), "{want:?}");
        }
    }

    #[test]
    fn jwk_errors() {
        use SecretFormatError as E;
        let base = jwk_for([2; 32]);
        let with = |field: &str, value: serde_json::Value| {
            let mut jwk = base.clone();
            if value.is_null() {
                jwk.as_object_mut().unwrap().remove(field);
            } else {
                jwk[field] = value;
            }
            encode_jwk(&jwk)
        };
        let other_x = URL_SAFE_NO_PAD.encode(SigningKey::from_bytes(&[3; 32]).verifying_key().as_bytes());
        let cases = [
            (with("kty", json!("RSA")), E::WrongKeyType),
            (with("kty", json!("EC")), E::WrongKeyType),
            (with("kty", json!(null)), E::WrongKeyType),
            (with("crv", json!("X25519")), E::WrongKeyType),
            (with("crv", json!(null)), E::WrongKeyType),
            (with("d", json!(null)), E::BadPrivateKey),
            (with("d", json!(URL_SAFE_NO_PAD.encode([2u8; 31]))), E::BadPrivateKey),
            (with("d", json!(URL_SAFE_NO_PAD.encode([2u8; 64]))), E::BadPrivateKey),
            (with("d", json!("!!")), E::BadPrivateKey),
            (with("x", json!(null)), E::PublicKeyMismatch),
            (with("x", json!(other_x)), E::PublicKeyMismatch),
            (with("kty", json!(5)), E::BadJwk),
        ];
        for (secret, want) in cases {
            assert_eq!(parse(&secret), Err(want.clone()), "{want:?}");
        }
    }

    #[test]
    fn errors_never_echo_the_secret() {
        let (secret, _) = generate();
        let broken = format!("{secret}x");
        let err = parse(&broken).unwrap_err();
        let shown = format!("{err} {err:?}");
        let encoded = secret.rsplit(':').next().unwrap();
        assert!(!shown.contains(&encoded[..8]), "{shown}");
    }

    #[test]
    fn public_key_text_round_trip() {
        let key = SigningKey::from_bytes(&[4; 32]).verifying_key();
        let text = public_key_b64(&key);
        assert_eq!(public_key_from_b64(&text), Ok(key));
        assert_eq!(public_key_from_b64("short"), Err(PublicKeyError));
        assert_eq!(public_key_from_b64(&format!("{text}=")), Err(PublicKeyError));
        // The identity point is a valid encoding but a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(public_key_from_b64(&URL_SAFE_NO_PAD.encode(identity)), Err(PublicKeyError));
    }

    #[test]
    fn generated_client_id_matches_parser() {
        for _ in 0..50 {
            let id = generate_client_id("acme.example", "pcc");
            let parts = parse_client_id(&id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!(parts.host, "acme.example");
            assert_eq!(parts.use_case, "pcc");
            let pieces: Vec<&str> = parts.name.split('-').collect();
            assert_eq!(pieces.len(), 3, "{id}");
            assert!(ADJECTIVES.contains(&pieces[0]), "{id}");
            assert!(CREATURES.contains(&pieces[1]), "{id}");
            assert_eq!(pieces[2].len(), 5, "{id}");
            assert!(pieces[2].bytes().all(|b| b.is_ascii_digit()), "{id}");
        }
    }

    #[test]
    fn parse_client_id_examples() {
        let parts = parse_client_id("strange-hydra-68836@acme.example:8443/pcc").unwrap();
        assert_eq!(parts.name, "strange-hydra-68836");
        assert_eq!(parts.host, "acme.example:8443");
        assert_eq!(parts.use_case, "pcc");
        for bad in [
            "",
            "strange-hydra-68836",
            "strange-hydra-68836@acme.example",
            "@acme.example/pcc",
            "strange-hydra-68836@/pcc",
            "strange-hydra-68836@acme.example/",
            "Strange-hydra-68836@acme.example/pcc",
            "strange_hydra@acme.example/pcc",
            "strange-hydra-68836@acme.example/pcc/x",
            "strange-hydra-68836@acme.example/PCC",
            "a@b@c/pcc",
            "a@acme example/pcc",
        ] {
            assert_eq!(parse_client_id(bad), None, "{bad}");
        }
    }
}
