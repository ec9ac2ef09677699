//! onramp's storage: the [`Store`] trait in domain terms and its one SQL implementation, which runs on
//! SQLite (the embedded default) and on PostgreSQL (scale-out).
//!
//! Invariants every implementation keeps:
//! - each method that changes state is one transaction, and writes its audit event in that transaction;
//! - uniqueness and state transitions are enforced by the database (unique indexes, conditional updates),
//!   never by a read followed by a write;
//! - every tenant-owned read and write is scoped by the tenant id it is given.

mod migrations;
mod sql;
pub mod writes;

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp, user::User, user::UserStatus};

// The records the store reads and writes are domain types; they are re-exported so that users of the
// store name them from here as well.
pub use onramp_domain::account::*;
pub use onramp_domain::apps::*;
pub use onramp_domain::branding::{ImageType, Logo, TenantSettings, TenantSettingsUpdate};
pub use onramp_domain::directory::*;
pub use onramp_domain::group::{Group, Membership};
pub use onramp_domain::records::*;
pub use onramp_domain::settings::*;
pub use onramp_domain::webhook::{Subscription, WebhookDelivery, WebhookState};
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
    /// The object is not in a state that allows the change (revoking an accepted invitation); the message
    /// says which state it is in.
    #[error("{0}")]
    WrongState(String),
    /// An invitation secret that cannot be used, and why.
    #[error("invitation secret refused: {0:?}")]
    Refused(SecretRefusal),
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
    /// The database gave up the transaction because a concurrent one conflicted with it (PostgreSQL's
    /// serialization failure or deadlock): the request may simply be retried.
    pub fn is_contention(&self) -> bool {
        match self {
            StoreError::Database(error) => error
                .as_database_error()
                .and_then(|db| db.code())
                .is_some_and(|code| code == "40001" || code == "40P01"),
            _ => false,
        }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything onramp persists, in domain terms: the sum of the per-area traits below. Handlers hold an
/// `Arc<dyn Store>`; the SQL implementation serves both backends.
pub trait Store:
    TenantStore
    + UserStore
    + AuthStore
    + AuditStore
    + AppStore
    + DirectoryStore
    + OutboxStore
    + OnboardingStore
    + SettingsStore
    + BrandingStore
    + PasswordStore
    + AccountStore
    + GaugeStore
    + OverviewStore
    + ScimStore
    + GroupStore
    + WebhookStore
{
}

impl<
    T: TenantStore
        + UserStore
        + AuthStore
        + AuditStore
        + AppStore
        + DirectoryStore
        + OutboxStore
        + OnboardingStore
        + SettingsStore
        + BrandingStore
        + PasswordStore
        + AccountStore
        + GaugeStore
        + OverviewStore
        + ScimStore
        + GroupStore
        + WebhookStore,
> Store for T
{
}

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

    /// The live (not deleted) user with this external id (SCIM `externalId`).
    async fn find_user_by_external_id(&self, tenant_id: &Id, external_id: &str) -> Result<User>;

    /// The live users whose first username is `user_name`, compared without case (SCIM `userName`), in id
    /// order; at most 100.
    async fn find_users_by_user_name(&self, tenant_id: &Id, user_name: &str) -> Result<Vec<User>>;

    /// Live users in id order, after `after` if given.
    async fn list_users(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<User>>;

    /// How many live users the tenant has in each status (statuses without users left out).
    async fn user_counts_by_status(&self, tenant_id: &Id) -> Result<Vec<(UserStatus, i64)>>;

    /// Creates a user with its role grants, managers and directories. A live user with the same email is a
    /// conflict; a manager or delegate that is not a live user of the tenant is invalid.
    async fn create_user(&self, actor: &Actor, user: &User) -> Result<()>;

    /// Replaces `before` with `after` (same id), if the stored user is still `before` (by `updated_at`);
    /// otherwise a conflict on `users_concurrent_update`, and the caller may read again and retry.
    /// Managers and delegate are checked as on create, and a manager loop is refused. Taking away the
    /// tenant's last enabled super-admin (demoting or disabling it) is `WrongState`. A change of status
    /// releases the user from any onboard that held it DISABLED (`Onboard::holds_user_disabled`).
    async fn update_user(&self, actor: &Actor, before: &User, after: &User) -> Result<User>;

    /// [`UserStore::update_user`], with the approval links and emails of `effects` written in the same
    /// transaction (a new manager told of the approvals that wait for them).
    async fn update_user_with(
        &self,
        actor: &Actor,
        before: &User,
        after: &User,
        effects: &OnboardEffects,
    ) -> Result<User>;

    /// [`UserStore::update_user`] for several users in one transaction: all are written or none (a SCIM
    /// group's members gaining or losing its role).
    async fn update_users(&self, actor: &Actor, changes: &[(User, User)]) -> Result<Vec<User>>;

    /// Marks the live user `before` DELETED (freeing its email for reuse), if it is still `before` (by
    /// `updated_at`), else a conflict on `users_concurrent_update`; an unknown or already deleted user is not
    /// found. Deleting the tenant's last enabled super-admin is `WrongState`.
    async fn delete_user(&self, actor: &Actor, before: &User) -> Result<User>;

    /// Inserts many users at once (no managers or delegates), skipping those whose email is taken. Returns
    /// for each input whether it was inserted or, if not, who has its email. One transaction and one audit
    /// event per call.
    async fn import_users(&self, actor: &Actor, users: &[User]) -> Result<Vec<ImportedRow>>;

    /// Grants roles to a user; roles it already has are left as they are.
    async fn grant_roles(&self, actor: &Actor, user_id: &Id, role_ids: &[Id]) -> Result<()>;

    /// Users of the tenant by id, in the order asked, deleted ones included; ids that name no user of the
    /// tenant are left out.
    async fn get_users(&self, tenant_id: &Id, ids: &[Id]) -> Result<Vec<User>>;

    /// The change feed, across tenants: up to `limit` users written after `after`, in feed order, each with
    /// its position. Reading on from the last position returned never misses a committed write.
    async fn users_changed_after(&self, after: FeedPosition, limit: u32) -> Result<Vec<(FeedPosition, User)>>;

    /// The same feed as [`UserStore::users_changed_after`], read as the search index needs it: of each user
    /// only what `onramp_search::Entry` holds (equal to `Entry::from(&user)`), with its tenant.
    async fn index_entries_changed_after(&self, after: FeedPosition, limit: u32) -> Result<Vec<FeedEntry>>;

    /// The last change-feed number taken (0 before the first write): no users row has a greater one.
    async fn feed_head(&self) -> Result<i64>;
}

/// One user of the change feed as the search index reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedEntry {
    pub position: FeedPosition,
    pub tenant_id: Id,
    pub entry: onramp_search::Entry,
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

/// SCIM provisioning connections and their bearer tokens.
#[async_trait]
pub trait ScimStore: Send + Sync + 'static {
    async fn create_scim_token(&self, actor: &Actor, token: &ScimToken) -> Result<()>;

    async fn list_scim_tokens(&self, tenant_id: &Id) -> Result<Vec<ScimToken>>;

    /// Revokes a token; revoking a revoked token changes nothing and succeeds.
    async fn revoke_scim_token(&self, actor: &Actor, id: &Id) -> Result<()>;

    /// The live (unrevoked) token with this hash, across tenants.
    async fn scim_token_by_hash(&self, token_hash: &str) -> Result<ScimToken>;

    /// Records that the token was used at `now`, unless it was recorded after `since` already (one write a
    /// minute for a busy connection, not one per request).
    async fn touch_scim_token(&self, id: &Id, now: Timestamp, since: Timestamp) -> Result<()>;
}

/// A tenant's groups (those SCIM pushes beside the built-in roles) and their members.
///
/// Errors: a group that is not the tenant's is [`StoreError::NotFound`]; a name or `externalId` another
/// group of the tenant has is `Conflict` (`scim_groups_name`, `scim_groups_external_id`); a member that is
/// no live user of the tenant is `Invalid` naming `members`.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Makes `group` with its members; answers it as written (members in id order).
    async fn create_group(&self, actor: &Actor, group: &Group) -> Result<Group>;

    /// A group with its live members, in id order.
    async fn get_group(&self, tenant_id: &Id, id: &Id) -> Result<Group>;

    /// The tenant's groups in id order, after `after`, with their live members.
    async fn list_groups(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<Group>>;

    /// Writes `after` (name, `externalId`, members) over `before` if the stored group is still `before`
    /// (by `updated_at`; `Conflict` `scim_groups_concurrent_update` otherwise); answers it as written, with
    /// a later `updated_at`.
    async fn update_group(&self, actor: &Actor, before: &Group, after: &Group) -> Result<Group>;

    /// Deletes a group and its memberships, if it is still `before` (as `update_group`).
    async fn delete_group(&self, actor: &Actor, before: &Group) -> Result<()>;

    /// The groups the users `user_ids` of the tenant belong to, by user, each user's by name.
    async fn memberships_of(&self, tenant_id: &Id, user_ids: &[Id]) -> Result<Vec<Membership>>;
}

/// The append-only audit log. Events are written by the mutating methods of the other traits.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// A tenant's audit events that `filter` admits, in id (creation) order or its reverse (`order`), after
    /// `after` in that order if given: keyset pages either way.
    async fn list_audit_events(
        &self,
        tenant_id: &Id,
        filter: &AuditFilter,
        order: AuditOrder,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>>;

    /// A user's audit trail, newest first: the events about the user and the events the user acted in, up
    /// to `limit`.
    async fn audit_events_of_user(&self, tenant_id: &Id, user_id: &Id, limit: u32) -> Result<Vec<AuditEvent>>;
}

/// The order of an audit listing. Ids are time-ordered, so id order is the order the log was written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuditOrder {
    /// Oldest first, as the log is kept.
    #[default]
    OldestFirst,
    /// Newest first.
    NewestFirst,
}

/// Which audit events a listing admits: each field given narrows it (all of them together).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The user who acted.
    pub actor_user_id: Option<Id>,
    /// The action, exactly (`user.update`).
    pub action: Option<String>,
    /// The object's type, exactly (`user`).
    pub object_type: Option<String>,
    /// The object's id, exactly.
    pub object_id: Option<String>,
    /// Events at or after this instant.
    pub since: Option<Timestamp>,
    /// Events before this instant.
    pub until: Option<Timestamp>,
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

    /// The live apps a user owns, each with the role slug it is owned under (an app owned under two slugs
    /// is listed twice), in app id order, up to `limit`.
    async fn apps_owned_by(&self, tenant_id: &Id, user_id: &Id, limit: u32) -> Result<Vec<(App, String)>>;

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

/// Local directories and their invitations.
///
/// Errors: a directory that does not exist in the tenant is [`StoreError::NotFound`], as is an invitation
/// that is not in the named directory; a reference (app, sponsor) that is not live in the tenant is
/// [`StoreError::Invalid`] naming the field; changing an invitation that is no longer pending is
/// [`StoreError::WrongState`].
#[async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// Makes a live app a local directory (setting the app's `is_directory`). When the new directory is
    /// the default, the tenant's previous default stops being one in the same transaction. An app that is a
    /// directory already is a conflict on `local_directories_pkey`.
    async fn create_local_directory(&self, actor: &Actor, directory: &LocalDirectory) -> Result<()>;

    async fn get_local_directory(&self, tenant_id: &Id, app_id: &Id) -> Result<LocalDirectory>;

    /// A directory by its app id alone, whatever its tenant (ids are unique across tenants): for the
    /// unauthenticated self-registration, which names only the directory.
    async fn find_local_directory(&self, app_id: &Id) -> Result<LocalDirectory>;

    /// The tenant's directories in app-id order, after `after` if given.
    async fn list_local_directories(
        &self,
        tenant_id: &Id,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<LocalDirectory>>;

    /// The tenant's default directory, if it has one.
    async fn default_local_directory(&self, tenant_id: &Id) -> Result<Option<LocalDirectory>>;

    /// Replaces `before` with `after` if the stored directory is still `before` (by `updated_at`), else a
    /// conflict on `local_directories_concurrent_update`. Becoming the default clears the old default.
    async fn update_local_directory(
        &self,
        actor: &Actor,
        before: &LocalDirectory,
        after: &LocalDirectory,
    ) -> Result<LocalDirectory>;

    /// Removes a directory's configuration (not its app, whose `is_directory` is cleared) and revokes its
    /// pending invitations, cancelling their unsent emails; returns the revoked invitations.
    /// The onboards that revoking fails are told through `notices`, in the same transaction.
    async fn delete_local_directory(
        &self,
        actor: &Actor,
        app_id: &Id,
        notices: &dyn FailureNotices,
    ) -> Result<Vec<Invitation>>;

    /// Stores a new pending invitation with the hash of its secret, and queues its email, in one
    /// transaction. Refused: a directory that does not exist (not found); a live user with the email
    /// (conflict on `users_email_live`); a pending, unexpired invitation for the email in the directory
    /// (conflict on `invitations_pending_email`; an expired one is marked EXPIRED on the way); an initial
    /// role, sponsor or onboarding flow that does not exist (invalid).
    async fn create_invitation(
        &self,
        actor: &Actor,
        invitation: &Invitation,
        secret_hash: &str,
        email: &OutboxMessage,
    ) -> Result<()>;

    /// An invitation of the tenant by id, with its status as stored ([`Invitation::status_at`] gives what
    /// readers see).
    async fn find_invitation(&self, tenant_id: &Id, id: &Id) -> Result<Invitation>;

    /// Invitations in id order, of one directory or all, with one status or all (as of `now`: a pending
    /// invitation past its expiry counts as EXPIRED), after `after` if given.
    async fn search_invitations(
        &self,
        tenant_id: &Id,
        directory_app_id: Option<&Id>,
        status: Option<InvitationStatus>,
        now: Timestamp,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<Invitation>>;

    /// Revokes a pending invitation and cancels its unsent email; its live onboard fails, told through
    /// `notices` in the same transaction.
    async fn revoke_invitation(
        &self,
        actor: &Actor,
        directory_app_id: &Id,
        id: &Id,
        notices: &dyn FailureNotices,
    ) -> Result<Invitation>;

    /// Gives a pending invitation a new secret and expiry, cancels its unsent email and queues `email`:
    /// the old secret stops working in the same transaction.
    async fn resend_invitation(
        &self,
        actor: &Actor,
        directory_app_id: &Id,
        id: &Id,
        secret_hash: &str,
        expires_at: Timestamp,
        email: &OutboxMessage,
    ) -> Result<Invitation>;

    /// The invitation whose secret hash is exactly `secret_hash`, whatever its status (the caller decides
    /// what a used, revoked or expired one opens: [`Invitation::status_at`]); `Refused(Unknown)` when no
    /// invitation has it. Reading never consumes the secret.
    async fn invitation_by_secret(&self, secret_hash: &str) -> Result<Invitation>;

    /// Accepts the pending invitation with this secret: creates its user ([`Invitation::new_user`]) with
    /// the password hash (and `display_name`, or the invitation's when that is blank), marks the invitation ACCEPTED with `acceptedAt` and `createdUserId`, and cancels
    /// its unsent email, in one transaction. Of several concurrent accepts one succeeds and the others are
    /// refused as [`SecretRefusal::Used`]. A live user with the email is a conflict on `users_email_live`.
    ///
    /// When the invitation has an onboarding flow, or an onboard of it was started before, the user is
    /// created DISABLED and the onboard (started now, or the earlier one) gets the user, with its
    /// verify-email steps done; the user is enabled when the onboard completes.
    ///
    /// `effects` says, from the onboard as the acceptance leaves it and the new user, what else the same
    /// transaction writes (the emails and approval links of the approvals the acceptance makes due);
    /// [`NoEffects`] writes nothing more. With `session`, the invitee is signed in by the same transaction:
    /// the session is stored for the new user (its `tenant_id` and `user_id` are set to the user's).
    async fn accept_invitation(
        &self,
        secret_hash: &str,
        display_name: &str,
        password_hash: &str,
        effects: &dyn AcceptEffects,
        session: Option<&Session>,
    ) -> Result<Accepted>;

    /// The approval link with this secret hash, whatever its state; [`StoreError::NotFound`] for none.
    async fn approval_link_by_secret(&self, secret_hash: &str) -> Result<ApprovalLink>;

    /// Writes EXPIRED on up to `limit` pending invitations past their expiry (one audit event each), and
    /// returns how many it changed. Several nodes may run it at once; each invitation is expired once. The
    /// onboards that expiring fails are told through `notices`, in the same transaction.
    async fn expire_invitations(&self, now: Timestamp, limit: u32, notices: &dyn FailureNotices) -> Result<u64>;
}

/// The outbox: messages written in the transaction of the change that causes them, delivered later by a
/// worker. Delivery is at least once; claims keep two workers from sending one message at the same time.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Claims up to `limit` due messages (unsent, not cancelled or given up, `next_attempt_at <= now`):
    /// counts an attempt on each and moves its `next_attempt_at` to `now + lease`, so that a worker that
    /// dies mid-send leaves the message to be retried after the lease. On PostgreSQL the claim skips rows
    /// another node is claiming (`FOR UPDATE SKIP LOCKED`).
    async fn claim_outbox(&self, now: Timestamp, lease: std::time::Duration, limit: u32) -> Result<Vec<OutboxMessage>>;

    /// Marks a message sent and empties its body.
    async fn outbox_sent(&self, id: &Id, now: Timestamp) -> Result<()>;

    /// Records a failed attempt: the message is retried at `retry_at`, or, when `retry_at` is None, given
    /// up (its body emptied).
    async fn outbox_failed(&self, id: &Id, error: &str, retry_at: Option<Timestamp>) -> Result<()>;

    /// The earliest `next_attempt_at` of the messages still to deliver, if any: how long a worker may sleep.
    async fn outbox_next_due(&self) -> Result<Option<Timestamp>>;
}

/// The outcome of accepting an invitation.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub invitation: Invitation,
    pub user: User,
    /// The onboard the user now goes through, if the invitation has one.
    pub onboard: Option<Onboard>,
}

/// What an acceptance writes besides the user and the onboard, decided from them inside its transaction.
#[async_trait]
pub trait AcceptEffects: Send + Sync {
    /// For `onboard` as the acceptance leaves it and its new `user` (neither committed yet): the onboard
    /// to write over it, if it changes (the acceptance did its last required step, so it completes), and
    /// the effects (the user's change, emails, approval links; never a used link).
    async fn effects(&self, onboard: &Onboard, user: &User) -> Result<(Option<Onboard>, OnboardEffects)>;
}

/// The emails that tell of an onboard that ending its invitation (revoked, expired) failed, queued in the
/// transaction that fails it.
#[async_trait]
pub trait FailureNotices: Send + Sync {
    /// The emails for `onboard`, failed with its `failure_reason`, of `invitation`.
    async fn notices(&self, invitation: &Invitation, onboard: &Onboard) -> Result<Vec<OutboxMessage>>;
}

#[async_trait]
impl FailureNotices for NoEffects {
    async fn notices(&self, _: &Invitation, _: &Onboard) -> Result<Vec<OutboxMessage>> {
        Ok(Vec::new())
    }
}

/// An acceptance (or an invitation's end) that writes nothing more.
pub struct NoEffects;

#[async_trait]
impl AcceptEffects for NoEffects {
    async fn effects(&self, _: &Onboard, _: &User) -> Result<(Option<Onboard>, OnboardEffects)> {
        Ok((None, OnboardEffects::default()))
    }
}

/// What a write of an onboard does besides changing it, in the same transaction.
#[derive(Clone, Debug, Default)]
pub struct OnboardEffects {
    /// A change to the onboard's user, `(before, after)`, applied if the user is still `before` (else a
    /// conflict on `users_concurrent_update`): a completed profile, or the user enabled with the flow's roles
    /// when the onboard completes.
    pub user_change: Option<(User, User)>,
    /// Emails to queue: notify emails on completion, approval requests, failure notices.
    pub emails: Vec<OutboxMessage>,
    /// Approval links to store (their emails are among `emails`).
    pub approval_links: Vec<ApprovalLink>,
    /// The approval link this write decides with: marked used if it is still unused (else the write is
    /// refused as [`SecretRefusal::Used`]), and its unsent emails cancelled.
    pub used_link: Option<Id>,
}

/// A local user's password hash and their run of wrong guesses at it.
#[derive(Clone, Debug)]
pub struct StoredPassword {
    /// The argon2id PHC string the user chose on accepting their invitation.
    pub hash: String,
    /// Guesses in a row that were wrong, or not yet found right; 0 after a right one.
    pub failures: u32,
    /// When the last of them was made.
    pub last_failure_at: Option<Timestamp>,
}

/// Local users' passwords, and the count of wrong guesses that the limit on guessing them reads.
#[async_trait]
pub trait PasswordStore: Send + Sync + 'static {
    /// The password of a local user of the tenant; [`StoreError::NotFound`] for a user without one.
    async fn password_of(&self, tenant_id: &Id, user_id: &Id) -> Result<StoredPassword>;

    /// Counts one more guess at the user's password, made `at`, if their count is still `seen` (as
    /// [`PasswordStore::password_of`] read it): true when counted, false when a concurrent guess was counted
    /// first. One statement, in its own transaction; it writes no audit event (a guess changes nothing).
    async fn count_password_guess(&self, tenant_id: &Id, user_id: &Id, seen: u32, at: Timestamp) -> Result<bool>;

    /// Forgets the user's run of guesses, after a right password.
    async fn clear_password_failures(&self, tenant_id: &Id, user_id: &Id) -> Result<()>;
}

/// A local user's own account: browser sessions, password reset links and the TOTP second factor.
/// Reads and writes are scoped by the tenant and user they are given, except the lookups by a secret's
/// hash (a session cookie, a reset link), which find the tenant from the row.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Local users (those with a password) of every tenant whose live account has this email, oldest first.
    async fn local_users_by_email(&self, email: &str) -> Result<Vec<User>>;

    /// The newest onboard of the user that is still under way (created or in progress), if any.
    async fn live_onboard_of_user(&self, tenant_id: &Id, user_id: &Id) -> Result<Option<Onboard>>;

    /// Inserts a session and, in the same transaction, deletes the session whose token hash is `replaces`
    /// (the one a person had before signing in again: a new id at every sign-in).
    async fn create_session(&self, session: &Session, replaces: Option<&str>) -> Result<()>;

    /// The session whose token has this hash.
    async fn session_by_hash(&self, token_hash: &str) -> Result<Session>;

    /// Records a use of the session at `at` (for the idle limit and the list of sessions).
    async fn touch_session(&self, id: &Id, at: Timestamp) -> Result<()>;

    /// Deletes one session of the user; false when there was none.
    async fn delete_session(&self, tenant_id: &Id, user_id: &Id, id: &Id) -> Result<bool>;

    /// Deletes every session of the user but `except`, and returns how many.
    async fn delete_sessions_of(&self, actor: &Actor, user_id: &Id, except: Option<&Id>) -> Result<u64>;

    /// The user's sessions, newest first.
    async fn sessions_of(&self, tenant_id: &Id, user_id: &Id) -> Result<Vec<Session>>;

    /// Replaces the user's password hash (they changed it, knowing the old one), clears their wrong
    /// guesses and deletes their other sessions than `keep`, with a `user.password_change` audit event.
    async fn change_password(&self, actor: &Actor, user_id: &Id, password_hash: &str, keep: &Id) -> Result<()>;

    /// Stores a reset link and queues its email (if it has one: a sign-in link made on the command line is
    /// printed, not emailed), in one transaction; with `made_by` (an admin's or the command line's link, not
    /// the person's own request) a `user.password_reset_link` audit event in it too.
    async fn create_password_reset(
        &self,
        reset: &PasswordReset,
        email: Option<&OutboxMessage>,
        made_by: Option<&Actor>,
    ) -> Result<()>;

    /// The reset link a secret opens, if it can still be used; otherwise [`StoreError::Refused`] saying why
    /// (`Unknown`, `Expired`, `Used`). Reading never consumes it.
    async fn password_reset_by_secret(&self, secret_hash: &str, now: Timestamp) -> Result<PasswordReset>;

    /// Uses a reset link: marks it used (of concurrent uses one wins, the others are `Used`), sets the
    /// password (the user's first, for a user who had none), clears wrong guesses, deletes every session of the user and cancels the link's unsent
    /// email, with a `user.password_reset` audit event, in one transaction.
    async fn use_password_reset(&self, secret_hash: &str, password_hash: &str, now: Timestamp)
    -> Result<PasswordReset>;

    /// The user's TOTP, confirmed or not.
    async fn totp_of(&self, tenant_id: &Id, user_id: &Id) -> Result<Totp>;

    /// Starts (or restarts) an enrolment with a new seed; a confirmed TOTP is `WrongState` (turn it off
    /// first).
    async fn begin_totp(&self, totp: &Totp) -> Result<()>;

    /// Confirms an enrolment whose first right code was for `step`, storing the hashes of its recovery
    /// codes (replacing any), with a `user.totp_enable` audit event. `WrongState` if there is no
    /// unconfirmed enrolment.
    async fn confirm_totp(&self, actor: &Actor, user_id: &Id, step: i64, code_hashes: &[String]) -> Result<()>;

    /// Accepts a code of time step `step` if no code of that step or a later one was accepted: true when
    /// accepted (and the count of wrong codes cleared).
    async fn use_totp_step(&self, tenant_id: &Id, user_id: &Id, step: i64) -> Result<bool>;

    /// Counts a code about to be checked, if the count is still `seen` (as [`AccountStore::totp_of`] read
    /// it): the compare-and-set of [`PasswordStore::count_password_guess`].
    async fn count_totp_guess(&self, tenant_id: &Id, user_id: &Id, seen: u32, at: Timestamp) -> Result<bool>;

    /// Uses a recovery code of the user: true when it was theirs and unused (and the count of wrong codes
    /// cleared).
    async fn use_recovery_code(&self, tenant_id: &Id, user_id: &Id, code_hash: &str, at: Timestamp) -> Result<bool>;

    /// How many unused recovery codes the user has.
    async fn recovery_codes_left(&self, tenant_id: &Id, user_id: &Id) -> Result<u32>;

    /// Removes the user's TOTP and recovery codes, with a `user.totp_disable` audit event.
    async fn remove_totp(&self, actor: &Actor, user_id: &Id) -> Result<()>;
}

/// Onboarding flows and onboards. The built-in minimal flow ([`onramp_domain::onboarding::MINIMAL_FLOW_ID`])
/// is never stored: reads produce it, and changing or deleting it is [`StoreError::WrongState`].
#[async_trait]
pub trait OnboardingStore: Send + Sync + 'static {
    async fn create_flow(&self, actor: &Actor, flow: &onramp_domain::onboarding::Flow) -> Result<()>;

    /// A live flow of the tenant, or the minimal flow.
    async fn get_flow(&self, tenant_id: &Id, id: &Id) -> Result<onramp_domain::onboarding::Flow>;

    /// The tenant's stored flows in id order, after `after` if given (the minimal flow is not among them).
    async fn list_flows(
        &self,
        tenant_id: &Id,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<onramp_domain::onboarding::Flow>>;

    /// Replaces `before` with `after` if the stored flow is still `before` (by `updated_at`), else a
    /// conflict on `onboarding_flows_concurrent_update`. Onboards under way keep the steps they started with.
    async fn update_flow(
        &self,
        actor: &Actor,
        before: &onramp_domain::onboarding::Flow,
        after: &onramp_domain::onboarding::Flow,
    ) -> Result<onramp_domain::onboarding::Flow>;

    /// Deletes a flow that nothing uses: no directory's default, no pending invitation, no onboard under
    /// way; otherwise [`StoreError::WrongState`] saying what uses it.
    async fn delete_flow(&self, actor: &Actor, id: &Id) -> Result<onramp_domain::onboarding::Flow>;

    /// Starts an onboard of an invitation that is pending or accepted (else [`StoreError::WrongState`]);
    /// an unknown invitation is [`StoreError::Invalid`] on `invitation_id`; a second live onboard of one
    /// invitation is a conflict on `onboards_invitation_live`.
    async fn create_onboard(&self, actor: &Actor, onboard: &Onboard) -> Result<Onboard>;

    async fn get_onboard(&self, tenant_id: &Id, id: &Id) -> Result<Onboard>;

    /// The onboards under way (created or in progress) of a user of the tenant.
    async fn onboards_of_user(&self, tenant_id: &Id, user_id: &Id) -> Result<Vec<Onboard>>;

    /// Every onboard of a user, of any status, newest first, up to `limit`.
    async fn onboard_history_of_user(&self, tenant_id: &Id, user_id: &Id, limit: u32) -> Result<Vec<Onboard>>;

    /// An onboard by id alone, whatever its tenant: for the invitee, who names only the onboard.
    async fn find_onboard(&self, id: &Id) -> Result<Onboard>;

    /// The tenant's onboards that `filter` admits, newest (highest id) first, before `after` if given, at
    /// most `limit`, each with when its invitation was accepted (for [`Onboard::turn`]).
    async fn search_onboards(
        &self,
        tenant_id: &Id,
        filter: &OnboardFilter,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<ListedOnboard>>;

    /// Replaces `before` with `after` if the stored onboard is still `before` (by `updated_at`; else a
    /// conflict on `onboards_concurrent_update`), applying `effects` in the same transaction.
    async fn update_onboard(
        &self,
        actor: &Actor,
        before: &Onboard,
        after: &Onboard,
        effects: &OnboardEffects,
    ) -> Result<Onboard>;
}

/// Which onboards a listing admits: each field given narrows it (all of them together).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnboardFilter {
    /// Any of these statuses; empty admits every status.
    pub statuses: Vec<onramp_domain::onboarding::OnboardStatus>,
    pub flow_id: Option<Id>,
    pub invitation_id: Option<Id>,
    pub user_id: Option<Id>,
    /// Onboards started before this instant.
    pub created_before: Option<Timestamp>,
}

/// An onboard as a listing reads it: with when its invitation was accepted (None while pending).
#[derive(Clone, Debug, PartialEq)]
pub struct ListedOnboard {
    pub onboard: Onboard,
    pub accepted_at: Option<Timestamp>,
}

/// The tenant's onboarding settings and its onboarding conversation. A tenant that never wrote them reads
/// [`OnboardingSettings::defaults`].
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    async fn get_onboarding_settings(&self, tenant_id: &Id) -> Result<OnboardingSettings>;

    /// Applies an update ([`OnboardingSettingsUpdate::apply`]) to the actor's tenant in one transaction
    /// with one `onboarding_settings.update` audit event, and returns the settings after it. A core status
    /// move the state machine refuses is [`StoreError::WrongState`] and changes nothing; an update that
    /// changes nothing writes nothing.
    async fn update_onboarding_settings(
        &self,
        actor: &Actor,
        update: &OnboardingSettingsUpdate,
    ) -> Result<OnboardingSettings>;

    /// The tenant's onboarding conversation id and whether this call created it: the stored one, or
    /// `proposed` stored now (with an audit event) when there is none. Concurrent calls agree on one id,
    /// and exactly one of them reports that it created it.
    async fn ensure_onboarding_conversation(&self, actor: &Actor, proposed: &Id) -> Result<(String, bool)>;
}

/// The tenant's settings for its people: display name, accent, logo, user-editable fields
/// ([`TenantSettings`]). A tenant that never wrote them reads [`TenantSettings::defaults`].
#[async_trait]
pub trait BrandingStore: Send + Sync + 'static {
    async fn get_tenant_settings(&self, tenant_id: &Id) -> Result<TenantSettings>;

    /// Applies an update ([`TenantSettings::apply`]) to the actor's tenant in one transaction with one
    /// `tenant_settings.update` audit event (the logo named by its hash), and returns the settings after it.
    /// An update that changes nothing writes nothing.
    async fn update_tenant_settings(&self, actor: &Actor, update: &TenantSettingsUpdate) -> Result<TenantSettings>;

    /// A logo by the hex SHA-256 of its bytes, whichever tenant has it; NotFound when none does.
    async fn logo_by_hash(&self, sha256: &str) -> Result<Logo>;
}

/// How many of a tenant's objects have each status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Users by stored status (deleted ones included).
    pub users: Vec<(onramp_domain::user::UserStatus, i64)>,
    /// Invitations by status as readers see it at the time given (a pending one past its expiry is expired).
    pub invitations: Vec<(InvitationStatus, i64)>,
    pub onboards: Vec<(onramp_domain::onboarding::OnboardStatus, i64)>,
}

/// The reads of the admin console's overview and lists, each scoped by the tenant it is given: counts,
/// what is about to expire, and how outbox deliveries are going (never a message's body).
#[async_trait]
pub trait OverviewStore: Send + Sync + 'static {
    /// Users, invitations (as of `now`) and onboards by status; statuses nothing has are left out.
    async fn status_counts(&self, tenant_id: &Id, now: Timestamp) -> Result<StatusCounts>;

    /// Pending invitations that expire after `now` and no later than `until`, soonest first, at most
    /// `limit`, and how many there are in all.
    async fn expiring_invitations(
        &self,
        tenant_id: &Id,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<(Vec<Invitation>, i64)>;

    /// Messages that are retrying (an attempt failed, another is scheduled) or that failed at or after
    /// `failed_since`, newest first, at most `limit`, and how many of each there are in all
    /// (`(messages, retrying, failed)`).
    async fn troubled_deliveries(
        &self,
        tenant_id: &Id,
        failed_since: Timestamp,
        limit: u32,
    ) -> Result<(Vec<Delivery>, i64, i64)>;

    /// The newest message of kind `invitation` of each of `invitation_ids` that has one.
    async fn invitation_deliveries(&self, tenant_id: &Id, invitation_ids: &[Id]) -> Result<Vec<Delivery>>;

    /// Onboards under way whose turn (`Onboard::turn`) began before `cutoff`, longest waiting first (then
    /// by id), at most `limit`, and how many there are in all: one indexed query on the turn's start, which
    /// every write of an onboard stores.
    async fn waiting_onboards(
        &self,
        tenant_id: &Id,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<(Vec<ListedOnboard>, i64)>;
}

/// Undelivered outbox messages (`GaugeStore::outbox_gauges`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxGauges {
    /// Messages not yet sent, cancelled or given up, due or waiting for a retry.
    pub depth: i64,
    /// When the oldest of them that is due now was queued; None when none is due.
    pub oldest_due_created_at: Option<Timestamp>,
}

/// How many invitations of a tenant have a status, as readers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvitationCount {
    pub tenant_id: Id,
    pub status: InvitationStatus,
    pub count: i64,
}

/// One database connection pool of the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGauge {
    /// `read` and `write` on SQLite, `main` on PostgreSQL (one pool for both).
    pub name: &'static str,
    /// Connections open, in use or idle.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// What an operator watches, read when `GET /metrics` is scraped: one cheap query each (the pools are
/// read from memory). Nothing here names a person.
#[async_trait]
pub trait GaugeStore: Send + Sync + 'static {
    /// The outbox's undelivered messages as of `now`.
    async fn outbox_gauges(&self, now: Timestamp) -> Result<OutboxGauges>;

    /// Invitations by tenant and status as of `now` (a pending invitation past its expiry is EXPIRED);
    /// statuses no invitation has are left out.
    async fn invitation_counts(&self, now: Timestamp) -> Result<Vec<InvitationCount>>;

    /// Users rows written to the change feed after `position`: what an index at `position` has still to
    /// apply.
    async fn users_behind(&self, position: FeedPosition) -> Result<i64>;

    /// The node's connection pools.
    fn pool_gauges(&self) -> Vec<PoolGauge>;
}

/// Webhook subscriptions and their deliveries (the webhook outbox). Deliveries are queued by the writes
/// that raise events, inside their transactions, never through this trait.
///
/// Errors: a subscription or delivery that is not the tenant's is [`StoreError::NotFound`].
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn create_webhook(&self, actor: &Actor, subscription: &Subscription) -> Result<()>;

    /// The tenant's subscriptions in id order, after `after`.
    async fn list_webhooks(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<Subscription>>;

    async fn get_webhook(&self, tenant_id: &Id, id: &Id) -> Result<Subscription>;

    /// Writes `after` over `before` if the stored subscription is still `before` (by `updated_at`);
    /// `Conflict` otherwise.
    async fn update_webhook(&self, actor: &Actor, before: &Subscription, after: &Subscription) -> Result<()>;

    /// Deletes a subscription and its deliveries, pending or not.
    async fn delete_webhook(&self, actor: &Actor, tenant_id: &Id, id: &Id) -> Result<()>;

    /// A subscription's deliveries, newest first (by their order), those before `before_seq`.
    async fn list_webhook_deliveries(
        &self,
        tenant_id: &Id,
        subscription_id: &Id,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>>;

    /// Queues a delivery's event again, at the end of its subscription's queue, with the same `webhook-id`.
    async fn redeliver_webhook(
        &self,
        actor: &Actor,
        tenant_id: &Id,
        subscription_id: &Id,
        delivery_id: &Id,
    ) -> Result<WebhookDelivery>;

    /// Claims up to `limit` deliveries that are due and first in their subscription's queue: counts an
    /// attempt on each and moves `next_attempt_at` to `now + lease`, so a worker that dies mid-send leaves
    /// it to be tried again after the lease (and the deliveries after it waiting). `FOR UPDATE SKIP
    /// LOCKED` on PostgreSQL.
    async fn claim_webhooks(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>>;

    /// Marks a delivery made, with the receiver's status.
    async fn webhook_delivered(&self, id: &Id, status: i64, now: Timestamp) -> Result<()>;

    /// Records a failed attempt: tried again at `retry_at`, or dead-lettered when it is None.
    async fn webhook_failed(
        &self,
        id: &Id,
        status: Option<i64>,
        error: &str,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> Result<()>;

    /// The earliest `next_attempt_at` of the deliveries that are first in their queue, if any.
    async fn webhook_next_due(&self) -> Result<Option<Timestamp>>;
}
