//! Verification of the OAuth2 client assertion (RFC 7523, "private_key_jwt")
//! that the ConductorOne SDKs send to the token endpoint.
//!
//! The SDKs sign a compact JWS with the Ed25519 key from the client secret.
//! Its header carries a random "nonce", its claims name the client id as
//! both issuer and subject, the token host as audience, and a validity
//! window of two minutes either side of the signing time. This module checks
//! all of that except replay: the caller remembers `(nonce, expires_at)`
//! pairs, because only it has somewhere to keep them.

use ed25519_dalek::VerifyingKey;
use serde_json::{Map, Value};

use super::jose::{self, JoseError};

/// Clock skew tolerated between the client and this server.
pub const LEEWAY_SECS: i64 = 30;

/// The longest validity window accepted, so that a leaked assertion cannot
/// be replayed for long after the caller's nonce memory has forgotten it.
pub const MAX_LIFETIME_SECS: i64 = 10 * 60;

/// How far back the SDKs put "nbf"; used as the start of the window when an
/// assertion states no start of its own.
const DEFAULT_START_OFFSET_SECS: i64 = 120;

/// A verified assertion: what the caller needs for replay protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The header nonce, unique per assertion.
    pub nonce: String,
    /// The "exp" claim; the nonce must be remembered until then (plus leeway).
    pub expires_at: i64,
}

/// Why an assertion was refused. Each message is short, fixed text fit for
/// an OAuth2 `error_description`; none of them quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// The assertion is not a well-formed compact JWS or a claim has the wrong type.
    #[error("assertion malformed: {0}")]
    Malformed(&'static str),
    /// The assertion is signed with something other than EdDSA.
    #[error("assertion algorithm not supported")]
    UnsupportedAlgorithm,
    /// The signature does not verify under the credential's public key.
    #[error("assertion signature invalid")]
    BadSignature,
    /// The header nonce is missing or not of the accepted shape.
    #[error("assertion nonce missing or invalid")]
    BadNonce,
    /// "iss" is not the client id.
    #[error("assertion issuer mismatch")]
    IssuerMismatch,
    /// "sub" is not the client id.
    #[error("assertion subject mismatch")]
    SubjectMismatch,
    /// "aud" does not name this server.
    #[error("assertion audience mismatch")]
    AudienceMismatch,
    /// "exp" is absent.
    #[error("assertion has no expiry")]
    MissingExpiry,
    /// "exp" has passed.
    #[error("assertion expired")]
    Expired,
    /// "nbf" or "iat" is in the future.
    #[error("assertion not yet valid")]
    NotYetValid,
    /// The validity window is longer than [`MAX_LIFETIME_SECS`].
    #[error("assertion lifetime too long")]
    LifetimeTooLong,
}

impl From<JoseError> for AssertionError {
    fn from(err: JoseError) -> Self {
        match err {
            JoseError::Malformed(what) => AssertionError::Malformed(what),
            JoseError::UnsupportedAlgorithm => AssertionError::UnsupportedAlgorithm,
            JoseError::BadSignature => AssertionError::BadSignature,
        }
    }
}

/// The audiences an assertion for `client_id` may name: onramp's public host (the host of the configured
/// public URL, which the SDKs put in `aud`), and the host written in the client id when onramp issued it
/// (the Go SDK derives its token URL, and so its audience, from the client id). Both come from onramp's
/// configuration. Never a request header: a `Host` the client chose would let an assertion made for
/// another service be replayed here.
pub fn accepted_audiences(public_host: &str, client_id: &str) -> Vec<String> {
    let mut audiences = vec![public_host.to_string()];
    if let Some(parts) = super::client_secret::parse_client_id(client_id) {
        audiences.push(super::host_without_port(&parts.host).to_string());
    }
    audiences
}

/// Verifies a client assertion for `client_id` against the credential's
/// public key. `accepted_audiences` are host names without port; `now_unix`
/// is passed in so the checks are deterministic under test.
pub fn verify(
    jws: &str,
    client_id: &str,
    key: &VerifyingKey,
    accepted_audiences: &[String],
    now_unix: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    let parsed = jose::parse(jws)?;
    // The signature is checked before any claim so that nothing an
    // unauthenticated party wrote influences which error is reported.
    parsed.verify(key)?;

    let nonce = match parsed.header.get("nonce") {
        Some(Value::String(nonce)) if is_valid_nonce(nonce) => nonce.clone(),
        _ => return Err(AssertionError::BadNonce),
    };

    let Value::Object(claims) = &parsed.claims else {
        return Err(AssertionError::Malformed("claims are not an object"));
    };
    if string_claim(claims, "iss")? != Some(client_id) {
        return Err(AssertionError::IssuerMismatch);
    }
    if string_claim(claims, "sub")? != Some(client_id) {
        return Err(AssertionError::SubjectMismatch);
    }
    check_audience(claims.get("aud"), accepted_audiences)?;

    let exp = time_claim(claims, "exp")?.ok_or(AssertionError::MissingExpiry)?;
    let nbf = time_claim(claims, "nbf")?;
    let iat = time_claim(claims, "iat")?;
    if exp <= now_unix.saturating_sub(LEEWAY_SECS) {
        return Err(AssertionError::Expired);
    }
    let latest_start = now_unix.saturating_add(LEEWAY_SECS);
    if nbf.is_some_and(|nbf| nbf > latest_start) || iat.is_some_and(|iat| iat > latest_start) {
        return Err(AssertionError::NotYetValid);
    }
    // The window is measured from the latest start the assertion admits to,
    // but never from earlier than the SDK's own "two minutes ago", so a
    // client cannot dodge the limit by back-dating "nbf".
    let floor = now_unix.saturating_sub(DEFAULT_START_OFFSET_SECS);
    let start = nbf.into_iter().chain(iat).fold(floor, i64::max);
    if i128::from(exp) - i128::from(start) > i128::from(MAX_LIFETIME_SECS) {
        return Err(AssertionError::LifetimeTooLong);
    }

    Ok(VerifiedAssertion { nonce, expires_at: exp })
}

/// The SDKs send 32 hex characters; a wider range is accepted so that other
/// clients may use longer random strings, but short or odd nonces are not,
/// because the caller's replay protection depends on them being unique.
fn is_valid_nonce(nonce: &str) -> bool {
    (16..=128).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reads an optional string claim; present but not a string is malformed.
fn string_claim<'a>(claims: &'a Map<String, Value>, name: &'static str) -> Result<Option<&'a str>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AssertionError::Malformed("a claim has the wrong type")),
    }
}

/// Reads an optional NumericDate claim. RFC 7519 allows fractional seconds,
/// so those are accepted and rounded down.
fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, AssertionError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let wrong = AssertionError::Malformed("a time claim is not a number");
    let Value::Number(number) = value else {
        return Err(wrong);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        // The bounds keep the cast exact; anything outside them is nonsense.
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
        _ => Err(wrong),
    }
}

/// "aud" may be one string or an array of strings (RFC 7519 §4.1.3); one of
/// them must be an accepted host. Hosts are case-insensitive, so the
/// comparison is too.
fn check_audience(aud: Option<&Value>, accepted: &[String]) -> Result<(), AssertionError> {
    let matches = |candidate: &str| accepted.iter().any(|a| a.eq_ignore_ascii_case(candidate));
    let found = match aud {
        None => false,
        Some(Value::String(one)) => matches(one),
        Some(Value::Array(many)) => {
            let mut found = false;
            for item in many {
                let Value::String(candidate) = item else {
                    return Err(AssertionError::Malformed("aud contains a non-string"));
                };
                found |= matches(candidate);
            }
            found
        }
        Some(_) => return Err(AssertionError::Malformed("aud has the wrong type")),
    };
    found.then_some(()).ok_or(AssertionError::AudienceMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::{Signer as _, SigningKey};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const CLIENT: &str = "strange-hydra-68836@acme.example/pcc";
    const NONCE: &str = "0123456789abcdef0123456789abcdef";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    fn audiences() -> Vec<String> {
        vec!["acme.example".to_owned(), "onramp.internal".to_owned()]
    }

    /// Builds a token by hand rather than with `jose::sign`, so the tests
    /// also cover headers that `sign` would never produce.
    fn build(header: &Value, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = key().sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn run(token: &str) -> Result<VerifiedAssertion, AssertionError> {
        verify(token, CLIENT, &key().verifying_key(), &audiences(), NOW)
    }

    /// Verifies the SDK's usual claims with `changes` applied (`null`
    /// removes a claim). Malformed reasons are blanked so that tables can
    /// list the expected outcome compactly.
    fn outcome(changes: &[(&str, Value)]) -> Result<(), AssertionError> {
        let mut claims = json!({
            "iss": CLIENT, "sub": CLIENT, "aud": ["acme.example"],
            "iat": NOW, "nbf": NOW - 120, "exp": NOW + 120,
        });
        for (name, value) in changes {
            match value {
                Value::Null => drop(claims.as_object_mut().unwrap().remove(*name)),
                _ => claims[*name] = value.clone(),
            }
        }
        match run(&build(&json!({"alg": "EdDSA", "nonce": NONCE}), &claims)) {
            Ok(_) => Ok(()),
            Err(AssertionError::Malformed(_)) => Err(AssertionError::Malformed("")),
            Err(other) => Err(other),
        }
    }

    /// Claim changes and the outcome they must lead to.
    type Case = (Vec<(&'static str, Value)>, Result<(), AssertionError>);

    /// Mirrors what the Go SDK does, written out independently of this
    /// module and of `jose`: random hex nonce, audience as an array, and a
    /// window of two minutes either side of now.
    #[test]
    fn accepts_assertion_built_like_the_go_sdk() {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).unwrap();
        let nonce: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let header = serde_json::to_vec(&json!({"alg": "EdDSA", "nonce": nonce})).unwrap();
        let now = 1_750_000_000_i64;
        let claims = serde_json::to_vec(&json!({
            "iss": CLIENT, "sub": CLIENT, "aud": ["acme.example"],
            "exp": now + 120, "iat": now, "nbf": now - 120,
        }))
        .unwrap();
        let header = URL_SAFE_NO_PAD.encode(&header);
        let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(&claims));
        let signature = key().sign(signing_input.as_bytes()).to_bytes();
        let jws = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        let verified = verify(&jws, CLIENT, &key().verifying_key(), &audiences(), now).unwrap();
        assert_eq!(verified.nonce, nonce);
        assert_eq!(verified.expires_at, now + 120);
    }

    #[test]
    fn claim_rules() {
        use AssertionError as E;
        let other = "other-imp-00001@acme.example/pcc";
        let bad = Err(E::Malformed(""));
        let cases: Vec<Case> = vec![
            (vec![], Ok(())),
            (vec![("iss", json!(other))], Err(E::IssuerMismatch)),
            (vec![("iss", Value::Null)], Err(E::IssuerMismatch)),
            (vec![("sub", json!(other))], Err(E::SubjectMismatch)),
            (vec![("sub", Value::Null)], Err(E::SubjectMismatch)),
            (vec![("sub", json!(1))], bad.clone()),
            (vec![("exp", Value::Null)], Err(E::MissingExpiry)),
            (vec![("exp", json!(NOW - 30))], Err(E::Expired)),
            (vec![("exp", json!(NOW - 29))], Ok(())),
            (vec![("nbf", json!(NOW + 31))], Err(E::NotYetValid)),
            (vec![("nbf", json!(NOW + 30)), ("iat", Value::Null)], Ok(())),
            (vec![("iat", json!(NOW + 31))], Err(E::NotYetValid)),
            (vec![("nbf", Value::Null), ("iat", Value::Null)], Ok(())),
            (vec![("exp", json!(NOW + 600))], Ok(())),
            (vec![("exp", json!(NOW + 601))], Err(E::LifetimeTooLong)),
            // Back-dating nbf and iat must not stretch the allowed lifetime.
            (
                vec![("nbf", json!(NOW - 86_400)), ("iat", Value::Null), ("exp", json!(NOW + 481))],
                Err(E::LifetimeTooLong),
            ),
            (vec![("exp", json!(i64::MAX)), ("nbf", json!(i64::MIN))], Err(E::LifetimeTooLong)),
            (vec![("exp", json!(NOW as f64 + 60.5))], Ok(())),
            (vec![("exp", json!("soon"))], bad.clone()),
            (vec![("nbf", json!(1e300))], bad.clone()),
        ];
        for (changes, want) in cases {
            assert_eq!(outcome(&changes), want, "{changes:?}");
        }
        let mismatch = Err(E::AudienceMismatch);
        let audiences = [
            (json!("acme.example"), Ok(())),
            (json!("ACME.Example"), Ok(())),
            (json!(["x.example", "onramp.internal"]), Ok(())),
            (json!(["acme.example", "x.example"]), Ok(())),
            (json!("other.example"), mismatch.clone()),
            (json!(["other.example"]), mismatch.clone()),
            (json!("acme.example:443"), mismatch.clone()),
            (json!([]), mismatch.clone()),
            (Value::Null, mismatch),
            (json!(5), bad.clone()),
            (json!(["acme.example", 1]), bad.clone()),
        ];
        for (aud, want) in audiences {
            assert_eq!(outcome(&[("aud", aud.clone())]), want, "{aud}");
        }
    }

    #[test]
    fn verification_does_not_track_replay() {
        // Replay protection is the caller's job; verifying twice must give
        // the same nonce and expiry so the caller can detect the repeat.
        let claims = json!({"iss": CLIENT, "sub": CLIENT, "aud": "acme.example", "exp": NOW + 60});
        let token = build(&json!({"alg": "EdDSA", "nonce": NONCE}), &claims);
        let first = run(&token).unwrap();
        assert_eq!(run(&token).unwrap(), first);
        assert_eq!((first.nonce.as_str(), first.expires_at), (NONCE, NOW + 60));
    }

    #[test]
    fn nonce_rules() {
        let claims = json!({"iss": CLIENT, "sub": CLIENT, "aud": "acme.example", "exp": NOW + 60});
        let too_long = "a".repeat(129);
        let bad = [json!(""), json!("short"), json!("0123456789abcde"), json!(too_long)];
        let more_bad = [json!("0123456789abcdef/"), json!(12345678901234567_i64)];
        for nonce in bad.iter().chain(&more_bad) {
            let token = build(&json!({"alg": "EdDSA", "nonce": nonce}), &claims);
            assert_eq!(run(&token), Err(AssertionError::BadNonce), "{nonce}");
        }
        let token = build(&json!({"alg": "EdDSA"}), &claims);
        assert_eq!(run(&token), Err(AssertionError::BadNonce));
        for nonce in ["0123456789abcdef", "A-b_C-d_E-f_0123", &"z".repeat(128)] {
            let token = build(&json!({"alg": "EdDSA", "nonce": nonce}), &claims);
            assert_eq!(run(&token).unwrap().nonce, nonce);
        }
    }

    #[test]
    fn signature_and_algorithm() {
        let claims = json!({"iss": CLIENT, "sub": CLIENT, "aud": "acme.example", "exp": NOW + 60});
        let token = build(&json!({"alg": "EdDSA", "nonce": NONCE}), &claims);
        let stranger = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let got = verify(&token, CLIENT, &stranger, &audiences(), NOW);
        assert_eq!(got, Err(AssertionError::BadSignature));
        let got = verify(&token, "other", &key().verifying_key(), &audiences(), NOW);
        assert_eq!(got, Err(AssertionError::IssuerMismatch));
        for alg in ["none", "HS256"] {
            let token = build(&json!({"alg": alg, "nonce": NONCE}), &claims);
            assert_eq!(run(&token), Err(AssertionError::UnsupportedAlgorithm));
        }
        let Err(err) = run("not.a.token") else { panic!("accepted garbage") };
        assert!(!err.to_string().contains("not.a.token"));
    }
}
