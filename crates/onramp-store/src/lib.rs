//! onramp's storage: the [`Store`] trait in domain terms and its one SQL implementation, which runs on
//! SQLite (the embedded default) and on PostgreSQL (scale-out).
//!
//! Invariants every implementation keeps:
//! - each method that changes state is one transaction, and writes its audit event in that transaction;
//! - uniqueness and state transitions are enforced by the database (unique indexes, conditional updates),
//!   never by a read followed by a write;
//! - every tenant-owned read and write is scoped by the tenant id it is given.

mod migrations;
mod records;
mod records_apps;
mod sql;

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp, user::User};

pub use records::*;
pub use records_apps::*;
pub use sql::{Backend, open};

/// The small error type of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; `constraint` names the rule (an index name).
    #[error("conflict: {constraint}")]
    Conflict { constraint: &'static str },
    /// The change refers to something that does not exist in the tenant or breaks a rule of the
    /// directory (a manager loop); `field` names the input at fault.
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// The database URL is not one onramp can use.
    #[error("{0}")]
    Config(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The database could not be reached (as opposed to refusing the request): worth a retry by the client.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything onramp persists, in domain terms: the sum of the per-area traits below. Handlers hold an
/// `Arc<dyn Store>`; the SQL implementation serves both backends.
pub trait Store: TenantStore + UserStore + AuthStore + AuditStore + AppStore {}

impl<T: TenantStore + UserStore + AuthStore + AuditStore + AppStore> Store for T {}

/// Tenants, bootstrap and the health of the database.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> Backend;

    /// A round trip to the database.
    async fn ping(&self) -> Result<()>;

    /// The size of the database on disk, in bytes (for benchmarks and operators).
    async fn storage_bytes(&self) -> Result<i64>;

    /// Creates the default tenant, its first super-admin and that admin's first credential, unless a bootstrap
    /// already happened. Returns false, changing nothing, when it had.
    async fn bootstrap(&self, bootstrap: &NewTenant) -> Result<bool>;

    /// Creates another tenant with its first super-admin and credential.
    async fn create_tenant(&self, tenant: &NewTenant) -> Result<()>;

    async fn get_tenant(&self, id: &Id) -> Result<Tenant>;

    /// The tenant made by the bootstrap, if there was one.
    async fn default_tenant(&self) -> Result<Option<Id>>;

    /// A deployment-wide value (such as the page-token secret): the stored one, or `proposed` stored now if
    /// there was none. Every node that asks gets the same value.
    async fn deployment_value(&self, key: &str, proposed: &str) -> Result<String>;
}

/// Users and their role grants.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn get_user(&self, tenant_id: &Id, id: &Id) -> Result<User>;

    /// The live (not deleted) user with this email.
    async fn find_user_by_email(&self, tenant_id: &Id, email: &str) -> Result<User>;

    /// Live users in id order, after `after` if given.
    async fn list_users(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<User>>;

    /// Creates a user with its role grants, managers and directories. A live user with the same email is a
    /// conflict; a manager or delegate that is not a live user of the tenant is invalid.
    async fn create_user(&self, actor: &Actor, user: &User) -> Result<()>;

    /// Replaces `before` with `after` (same id), if the stored user is still `before` (by `updated_at`);
    /// otherwise a conflict on `users_concurrent_update`, and the caller may read again and retry.
    /// Managers and delegate are checked as on create, and a manager loop is refused.
    async fn update_user(&self, actor: &Actor, before: &User, after: &User) -> Result<User>;

    /// Marks a live user DELETED (freeing its email for reuse); an unknown or already deleted user is not found.
    async fn delete_user(&self, actor: &Actor, id: &Id) -> Result<User>;

    /// Inserts many users at once (no managers or delegates), skipping those whose email is taken. Returns
    /// for each input whether it was inserted. One transaction and one audit event per call.
    async fn import_users(&self, actor: &Actor, users: &[User]) -> Result<Vec<bool>>;

    /// Grants roles to a user; roles it already has are left as they are.
    async fn grant_roles(&self, actor: &Actor, user_id: &Id, role_ids: &[Id]) -> Result<()>;

    /// Users of the tenant by id, in the order asked, deleted ones included; ids that name no user of the
    /// tenant are left out.
    async fn get_users(&self, tenant_id: &Id, ids: &[Id]) -> Result<Vec<User>>;

    /// The change feed, across tenants: up to `limit` users written after `after`, in feed order, each with
    /// its position. Reading on from the last position returned never misses a committed write.
    async fn users_changed_after(&self, after: FeedPosition, limit: u32) -> Result<Vec<(FeedPosition, User)>>;
}

/// Client credentials, assertion nonces, API keys and access-token signing keys.
#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    async fn create_credential(&self, actor: &Actor, credential: &Credential) -> Result<()>;

    async fn list_credentials(&self, tenant_id: &Id) -> Result<Vec<Credential>>;

    /// Revokes a credential; revoking a revoked credential changes nothing and succeeds.
    async fn revoke_credential(&self, actor: &Actor, id: &Id) -> Result<()>;

    /// What the token endpoint needs about a client id, across tenants (client ids are globally unique).
    async fn credential_by_client_id(&self, client_id: &str) -> Result<CredentialGrant>;

    /// Records a client-assertion nonce; a nonce seen before and not yet expired is a conflict.
    /// Expired nonces are forgotten on the way.
    async fn use_assertion_nonce(&self, nonce: &str, client_id: &str, expires_at: Timestamp) -> Result<()>;

    async fn create_api_key(&self, actor: &Actor, key: &ApiKey) -> Result<()>;

    async fn list_api_keys(&self, tenant_id: &Id) -> Result<Vec<ApiKey>>;

    /// Revokes an API key; revoking a revoked key changes nothing and succeeds.
    async fn revoke_api_key(&self, actor: &Actor, id: &Id) -> Result<()>;

    /// The live API key with this hash, with its owner as stored now.
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<ApiKeyGrant>;

    /// Signing keys that still verify at `now` (retire_at in the future), newest generation first.
    async fn signing_keys(&self, now: Timestamp) -> Result<Vec<SigningKey>>;

    /// Adds a signing key; another key of the same generation is a conflict (another node rotated first).
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()>;
}

/// The append-only audit log. Events are written by the mutating methods of the other traits.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// A tenant's audit events in id (creation) order, after `after` if given.
    async fn list_audit_events(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<AuditEvent>>;
}

/// Apps and their user owners. An ownership is (app, role slug, user); a user may own one app under several
/// slugs, and the v1 owner API is the slug [`RoleSlug::OWNER`]. A deleted app is not found. A user whose
/// status is DELETED owns nothing: its ownerships are left out of reads, and it cannot be given new ones.
///
/// Errors: an app that is not live in the tenant is [`StoreError::NotFound`]; a user that is not a live user
/// of the tenant, or an ownership that does not exist, is [`StoreError::Invalid`] naming the input at fault;
/// an ownership that exists already is a conflict on `app_owners_app_role_user`.
#[async_trait]
pub trait AppStore: Send + Sync + 'static {
    /// Creates an app, and makes each of `owner_ids` (repeats ignored) an owner under the `owner` slug.
    async fn create_app(&self, actor: &Actor, app: &App, owner_ids: &[Id]) -> Result<()>;

    /// A live app.
    async fn get_app(&self, tenant_id: &Id, id: &Id) -> Result<App>;

    /// Live apps in id order, after `after` if given.
    async fn list_apps(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<App>>;

    /// Replaces `before` with `after` (same id), if the stored app is still `before` (by `updated_at`);
    /// otherwise a conflict on `apps_concurrent_update`, and the caller may read again and retry.
    async fn update_app(&self, actor: &Actor, before: &App, after: &App) -> Result<App>;

    /// Marks a live app deleted and removes all its ownerships, of every slug; returns the deleted app.
    async fn delete_app(&self, actor: &Actor, id: &Id) -> Result<App>;

    /// An app's ownerships in ownership-id (creation) order, of one slug or of all, after `after` if given.
    async fn list_app_owners(
        &self,
        tenant_id: &Id,
        app_id: &Id,
        role_slug: Option<&RoleSlug>,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<AppOwner>>;

    async fn get_app_owner(&self, tenant_id: &Id, app_id: &Id, role_slug: &RoleSlug, user_id: &Id) -> Result<AppOwner>;

    /// Makes a live user an owner of a live app under a slug; an existing ownership is a conflict.
    async fn create_app_owner(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner>;

    /// Removes one ownership and returns it.
    async fn delete_app_owner(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner>;

    /// Makes the app's owners under a slug exactly `user_ids` (repeats ignored), all of which must be live users.
    async fn set_app_owners(&self, actor: &Actor, app_id: &Id, role_slug: &RoleSlug, user_ids: &[Id]) -> Result<()>;

    /// Removes the ownerships under a slug of those of `user_ids` that have one; returns what it removed.
    async fn remove_app_owners(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_ids: &[Id],
    ) -> Result<Vec<AppOwner>>;
}
