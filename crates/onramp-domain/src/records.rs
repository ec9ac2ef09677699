//! The records the store reads and writes, beside the domain types it shares with the rest of onramp.

use crate::{Id, Timestamp, user::User};

/// Who made a change, for the audit log. Every mutating store method takes one.
#[derive(Clone, Debug, PartialEq)]
pub struct Actor {
    pub tenant_id: Id,
    /// None for changes made by onramp itself (bootstrap, the command line, background jobs).
    pub user_id: Option<Id>,
    pub credential_id: Option<Id>,
    pub request_id: Option<String>,
}

impl Actor {
    /// onramp itself, acting in a tenant: bootstrap, the command line, background jobs.
    pub fn system(tenant_id: Id) -> Self {
        Actor { tenant_id, user_id: None, credential_id: None, request_id: None }
    }
}

/// What became of one user given to `UserStore::import_users`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportedRow {
    Inserted,
    /// Not inserted: a live user already has the email. `holder` is that user, read in the importing
    /// transaction, so it may be a row inserted earlier by the same call; None if no live user has the email
    /// any more.
    EmailTaken {
        holder: Option<Id>,
    },
}

/// A place in the change feed: the users rows written after it are those with a greater
/// `(change_seq, id)`. The feed orders rows by the number of the transaction that last wrote them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    pub seq: i64,
    pub id: Id,
}

impl FeedPosition {
    /// Before every row.
    pub const START: FeedPosition = FeedPosition { seq: -1, id: Id::from_bytes([0; 12]) };
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub id: Id,
    pub name: String,
    pub created_at: Timestamp,
}

/// A new tenant together with its first super-admin and that admin's first credential.
#[derive(Clone, Debug)]
pub struct NewTenant {
    pub tenant: Tenant,
    pub admin: User,
    pub credential: Credential,
}

/// A client credential. Its secret is an Ed25519 private key that only the client holds; onramp keeps the
/// public key, which verifies both the plain secret (by derivation) and signed assertions.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    pub id: Id,
    pub tenant_id: Id,
    pub user_id: Id,
    pub client_id: String,
    pub display_name: String,
    pub public_key: String,
    pub role_ids: Vec<Id>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A credential with what the token endpoint must know about its user at the time of the request.
#[derive(Clone, Debug)]
pub struct CredentialGrant {
    pub credential: Credential,
    pub user: User,
}

/// An API key for the `/onboards` surface's HTTP Basic auth.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    pub id: Id,
    pub tenant_id: Id,
    pub user_id: Id,
    pub display_name: String,
    /// SHA-256 (lowercase hex) of the key.
    pub key_hash: String,
    pub role_ids: Vec<Id>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct ApiKeyGrant {
    pub key: ApiKey,
    pub user: User,
}

/// A SCIM provisioning connection: an identity provider's bearer token into one tenant, acting with one
/// built-in role. Only the token's SHA-256 is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct ScimToken {
    pub id: Id,
    pub tenant_id: Id,
    pub name: String,
    pub role_id: Id,
    /// SHA-256 (lowercase hex) of the token.
    pub token_hash: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// An access-token signing key. Deployment-wide: every node signs with the newest and verifies with all.
#[derive(Clone, PartialEq)]
pub struct SigningKey {
    pub id: String,
    pub generation: i64,
    /// The Ed25519 seed, base64url. A server secret: it never leaves the database and this process.
    pub private_key: String,
    pub public_key: String,
    pub created_at: Timestamp,
    pub rotate_at: Timestamp,
    pub retire_at: Timestamp,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("private_key", &"[redacted]")
            .field("rotate_at", &self.rotate_at)
            .field("retire_at", &self.retire_at)
            .finish()
    }
}

/// One entry of the append-only audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub id: Id,
    pub tenant_id: Id,
    pub actor_user_id: Option<Id>,
    pub actor_credential_id: Option<Id>,
    /// What happened, as `object.verb`: `user.create`, `credential.revoke`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub created_at: Timestamp,
}
