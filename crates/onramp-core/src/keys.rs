//! Access-token signing keys: loaded from the database, rotated, and shared by every node.
//!
//! Every node signs with the newest key and verifies with every key that has not retired, so a token made by
//! one node verifies on any other. A key signs for one rotation period and keeps verifying for a token
//! lifetime (plus a margin) after that. When the newest key is due, whichever node notices first inserts the
//! next generation; the unique generation index makes a second insert fail harmlessly. A node that meets a
//! token signed by a key it has not loaded yet reloads and tries again: that is the only time verification
//! reads the database. Reloads happen at most once a second; requests that meet an unknown key meanwhile
//! wait for the next reload and share it, rather than being refused, so a flood of made-up key ids costs
//! the database one read a second and cannot make a real new key fail.
//!
//! A client uses one token for its whole lifetime, so each node remembers the tokens it has verified (until
//! each one's expiry, and at most [`VERIFIED_CAPACITY`] of them): a repeated token costs a map lookup instead
//! of a signature check. A key verifies longer than any token it signed lives, so a remembered token is
//! never one its key would no longer verify.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onramp_domain::{Id, Timestamp};
use onramp_store::{SigningKey as StoredKey, Store, StoreError};

use crate::auth::access_token::{ACCESS_TOKEN_TTL_SECS, AccessClaims, EXPIRY_LEEWAY_SECS, KeyRing, TokenError};
use crate::auth::client_secret::{public_key_b64, public_key_from_b64};

/// How long a key signs before the next one takes over.
pub const DEFAULT_ROTATION: Duration = Duration::from_secs(24 * 60 * 60);
/// How long after its rotation a key still verifies: a token lifetime and a margin for clock skew.
const RETIRE_AFTER_ROTATION_SECS: i64 = ACCESS_TOKEN_TTL_SECS + 300;
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// Most verified tokens a node remembers.
pub const VERIFIED_CAPACITY: usize = 10_000;

pub struct KeyManager {
    store: Arc<dyn Store>,
    rotation: Duration,
    ring: RwLock<Arc<KeyRing>>,
    /// When the keys were last loaded; held across a reload so that waiting requests share it.
    last_reload: tokio::sync::Mutex<Instant>,
    verified: Mutex<VerifiedTokens>,
}

impl KeyManager {
    /// Loads the keys, creating the first (or the next, if the newest is due) as needed.
    pub async fn start(store: Arc<dyn Store>, rotation: Duration) -> Result<Self, StoreError> {
        let ring = load_ring(store.as_ref(), rotation).await?;
        Ok(KeyManager {
            store,
            rotation,
            ring: RwLock::new(Arc::new(ring)),
            last_reload: tokio::sync::Mutex::new(Instant::now()),
            verified: Mutex::default(),
        })
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().expect("key ring lock poisoned").clone()
    }

    /// Reloads keys from the database and rotates if the newest is due. Run periodically by the server.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let mut last_reload = self.last_reload.lock().await;
        self.reload(&mut last_reload).await
    }

    async fn reload(&self, last_reload: &mut Instant) -> Result<(), StoreError> {
        let ring = load_ring(self.store.as_ref(), self.rotation).await?;
        *self.ring.write().expect("key ring lock poisoned") = Arc::new(ring);
        *last_reload = Instant::now();
        Ok(())
    }

    pub fn issue(&self, claims: &AccessClaims) -> String {
        self.ring().issue(claims)
    }

    /// Verifies an access token: a token verified lately by its claims alone, any other by its signature.
    pub async fn verify(&self, token: &str, issuer: &str) -> Result<AccessClaims, TokenError> {
        let now = Timestamp::now().unix_seconds();
        if let Some(known) = self.verified.lock().unwrap_or_else(|p| p.into_inner()).get(token, issuer, now) {
            return known;
        }
        let claims = self.verify_signed(token, issuer, now).await?;
        self.verified.lock().unwrap_or_else(|p| p.into_inner()).insert(token, &claims, now);
        Ok(claims)
    }

    /// Checks a token's signature and claims; a token signed by a key this node has not seen triggers one
    /// reload.
    async fn verify_signed(&self, token: &str, issuer: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let met_unknown_key = Instant::now();
        match self.ring().verify(token, issuer, now) {
            Err(TokenError::UnknownKey(_)) => {
                let mut last_reload = self.last_reload.lock().await;
                // A reload that finished after this request met the unknown key has answered it already.
                if *last_reload < met_unknown_key {
                    let next_allowed = *last_reload + MIN_RELOAD_INTERVAL;
                    tokio::time::sleep_until(next_allowed.into()).await;
                    if let Err(error) = self.reload(&mut last_reload).await {
                        tracing::warn!(%error, "could not reload signing keys");
                    }
                }
                drop(last_reload);
                self.ring().verify(token, issuer, now)
            }
            other => other,
        }
    }
}

/// Tokens verified lately, with their claims (see the module doc).
#[derive(Default)]
struct VerifiedTokens(HashMap<Box<str>, AccessClaims>);

impl VerifiedTokens {
    /// What verifying a remembered token would answer at `now`; None for a token not remembered.
    fn get(&self, token: &str, issuer: &str, now: i64) -> Option<Result<AccessClaims, TokenError>> {
        let claims = self.0.get(token)?;
        Some(if now >= claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) {
            Err(TokenError::Expired)
        } else if claims.iss != issuer {
            Err(TokenError::WrongIssuer)
        } else {
            Ok(claims.clone())
        })
    }

    /// Remembers a token that verified; when full, forgets the expired ones first, and all if none has.
    fn insert(&mut self, token: &str, claims: &AccessClaims, now: i64) {
        if self.0.len() >= VERIFIED_CAPACITY {
            self.0.retain(|_, claims| now < claims.exp.saturating_add(EXPIRY_LEEWAY_SECS));
            if self.0.len() >= VERIFIED_CAPACITY {
                self.0.clear();
            }
        }
        self.0.insert(token.into(), claims.clone());
    }
}

async fn load_ring(store: &dyn Store, rotation: Duration) -> Result<KeyRing, StoreError> {
    let now = Timestamp::now();
    let mut keys = store.signing_keys(now).await?;
    if keys.first().is_none_or(|newest| newest.rotate_at <= now) {
        let generation = keys.first().map_or(1, |newest| newest.generation + 1);
        match store.insert_signing_key(&new_key(generation, now, rotation)).await {
            Ok(()) => tracing::info!(generation, "created a new access-token signing key"),
            // Another node rotated first; its key is as good as ours.
            Err(StoreError::Conflict { .. }) => {}
            Err(error) => return Err(error),
        }
        keys = store.signing_keys(now).await?;
    }
    let newest = keys.first().ok_or_else(|| StoreError::Corrupt("no signing key after rotation".into()))?;
    let signing = decode_private(newest)?;
    let verifying = keys
        .iter()
        .map(|key| {
            public_key_from_b64(&key.public_key)
                .map(|public| (key.id.clone(), public))
                .map_err(|_| StoreError::Corrupt(format!("signing key {} has a bad public key", key.id)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(KeyRing::new(newest.id.clone(), signing, verifying))
}

fn new_key(generation: i64, now: Timestamp, rotation: Duration) -> StoredKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source failed");
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let rotate_at = now.plus_seconds(rotation.as_secs() as i64);
    StoredKey {
        id: Id::new().to_string(),
        generation,
        private_key: URL_SAFE_NO_PAD.encode(seed),
        public_key: public_key_b64(&signing.verifying_key()),
        created_at: now,
        rotate_at,
        retire_at: rotate_at.plus_seconds(RETIRE_AFTER_ROTATION_SECS),
    }
}

fn decode_private(key: &StoredKey) -> Result<ed25519_dalek::SigningKey, StoreError> {
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&key.private_key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("signing key {} has a bad private key", key.id)))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "http://127.0.0.1:8080".into(),
            sub: "u".into(),
            tid: "t".into(),
            cid: "c".into(),
            roles: vec!["admin".into()],
            iat: exp - ACCESS_TOKEN_TTL_SECS,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn remembered_tokens_still_expire_and_keep_their_issuer() {
        let mut verified = VerifiedTokens::default();
        assert!(verified.get("t1", "http://127.0.0.1:8080", 1_000).is_none(), "an unknown token is not remembered");
        verified.insert("t1", &claims(1_600), 1_000);
        assert_eq!(verified.get("t1", "http://127.0.0.1:8080", 1_000), Some(Ok(claims(1_600))));
        let expired = verified.get("t1", "http://127.0.0.1:8080", 1_600 + EXPIRY_LEEWAY_SECS);
        assert!(matches!(expired, Some(Err(TokenError::Expired))), "{expired:?}");
        let elsewhere = verified.get("t1", "http://other.example", 1_000);
        assert!(matches!(elsewhere, Some(Err(TokenError::WrongIssuer))), "{elsewhere:?}");
    }

    #[test]
    fn a_full_memory_forgets_expired_tokens_first() {
        let mut verified = VerifiedTokens::default();
        for n in 0..VERIFIED_CAPACITY {
            let exp = if n % 2 == 0 { 500 } else { 5_000 };
            verified.insert(&format!("t{n}"), &claims(exp), 100);
        }
        verified.insert("new", &claims(5_000), 1_000);
        assert_eq!(verified.0.len(), VERIFIED_CAPACITY / 2 + 1, "the expired half went");
        assert!(verified.get("t1", "http://127.0.0.1:8080", 1_000).is_some_and(|r| r.is_ok()));
        assert!(verified.get("t0", "http://127.0.0.1:8080", 1_000).is_none());
    }
}
