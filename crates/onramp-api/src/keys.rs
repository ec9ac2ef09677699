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

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onramp_domain::{Id, Timestamp};
use onramp_store::{SigningKey as StoredKey, Store, StoreError};

use crate::auth::access_token::{ACCESS_TOKEN_TTL_SECS, AccessClaims, KeyRing, TokenError};
use crate::auth::client_secret::{public_key_b64, public_key_from_b64};

/// How long a key signs before the next one takes over.
pub const DEFAULT_ROTATION: Duration = Duration::from_secs(24 * 60 * 60);
/// How long after its rotation a key still verifies: a token lifetime and a margin for clock skew.
const RETIRE_AFTER_ROTATION_SECS: i64 = ACCESS_TOKEN_TTL_SECS + 300;
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

pub struct KeyManager {
    store: Arc<dyn Store>,
    rotation: Duration,
    ring: RwLock<Arc<KeyRing>>,
    /// When the keys were last loaded; held across a reload so that waiting requests share it.
    last_reload: tokio::sync::Mutex<Instant>,
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

    /// Verifies an access token; a token signed by a key this node has not seen triggers one reload.
    pub async fn verify(&self, token: &str, issuer: &str) -> Result<AccessClaims, TokenError> {
        let now = Timestamp::now().unix_seconds();
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
