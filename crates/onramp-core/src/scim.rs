//! SCIM 2.0 provisioning: the connections an identity provider pushes users through, and the lookups of
//! the SCIM surface that the ConductorOne surface does not need (a user by its `externalId`).
//!
//! A connection is a bearer token scoped to one tenant and one built-in role. Its caller is a
//! [`Principal`] of that tenant with that role, so every SCIM write goes through the same use cases and
//! authorization as the API's. A connection is not a user: the principal's `user_id` is the connection's
//! id (no user has it), so the audit log names the connection as the actor, and "the caller's own user"
//! rules never match a provisioned user.

use onramp_domain::user::User;
use onramp_domain::{BuiltinRole, Id, Permission, Secret, Timestamp};
use onramp_store::{Actor, ScimToken, StoreError};

use crate::auth::api_key;
use crate::error::{CoreError, CoreResult};
use crate::{Core, Principal};

/// How stale a token's `last_used_at` may get before a request writes it again, in microseconds.
const LAST_USED_GRANULARITY_MICROS: i64 = 60_000_000;

impl Core {
    /// Makes a provisioning connection for `tenant_id` acting as `role`, on the command line's behalf
    /// (`onramp scim-token create`, which holds the database). Answers the record and the token, which
    /// exists only here: the store keeps its SHA-256.
    pub async fn create_scim_token_as_system(
        &self,
        tenant_id: Id,
        name: &str,
        role: BuiltinRole,
    ) -> CoreResult<(ScimToken, Secret<String>)> {
        onramp_domain::check_text(name, onramp_domain::TextKind::OneLine, 256)
            .map_err(|problem| CoreError::invalid_field("name", problem))?;
        if name.trim().is_empty() {
            return Err(CoreError::invalid_field("name", "must not be empty"));
        }
        let (token, token_hash) = api_key::generate();
        let record = ScimToken {
            id: Id::new(),
            tenant_id,
            name: name.to_string(),
            role_id: role.id(),
            token_hash,
            created_at: Timestamp::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.write(self.store.create_scim_token(&Actor::system(tenant_id), &record)).await?;
        Ok((record, Secret::new(token)))
    }

    /// The caller a SCIM bearer token stands for, or None when no live connection has it (the surface
    /// answers 401). Records the use at most once a minute.
    pub async fn scim_caller(&self, token: &str, request_id: Option<String>) -> CoreResult<Option<Principal>> {
        let connection = match self.store.scim_token_by_hash(&api_key::hash(token)).await {
            Ok(connection) => connection,
            Err(StoreError::NotFound) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let now = Timestamp::now();
        let since = Timestamp::from_micros(now.micros() - LAST_USED_GRANULARITY_MICROS);
        if connection.last_used_at.is_none_or(|used| used < since) {
            self.store.touch_scim_token(&connection.id, now, since).await?;
        }
        Ok(Some(Principal {
            tenant_id: connection.tenant_id,
            user_id: connection.id,
            credential_id: connection.id,
            roles: BuiltinRole::from_id(&connection.role_id).into_iter().collect(),
            request_id,
        }))
    }

    /// The live user of the caller's tenant whose `externalId` is `external_id` (`user:read`), if any.
    pub async fn user_by_external_id(&self, caller: &Principal, external_id: &str) -> CoreResult<Option<User>> {
        caller.require(Permission::UserRead)?;
        match self.store.find_user_by_external_id(&caller.tenant_id, external_id).await {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// The live user of the caller's tenant whose primary email is `email` (`user:read`), if any; an
    /// address that is not one finds nobody.
    pub async fn user_by_primary_email(&self, caller: &Principal, email: &str) -> CoreResult<Option<User>> {
        caller.require(Permission::UserRead)?;
        let Ok(email) = onramp_domain::Email::parse(email.trim()) else { return Ok(None) };
        match self.store.find_user_by_email(&caller.tenant_id, email.as_str()).await {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// The live users of the caller's tenant whose first username is `user_name`, without case
    /// (`user:read`): SCIM's `userName`.
    pub async fn users_by_user_name(&self, caller: &Principal, user_name: &str) -> CoreResult<Vec<User>> {
        caller.require(Permission::UserRead)?;
        Ok(self.store.find_users_by_user_name(&caller.tenant_id, user_name).await?)
    }

    /// Changes the live users `ids` of the caller's tenant by `change`, all in one transaction, each under
    /// the rule of every user change (`user:write`, roles added or removed grantable by the caller, only a
    /// super-admin changes a super-admin). An id that names no live user is INVALID_ARGUMENT naming
    /// `field`; a concurrent change of any of them is ABORTED and nothing is written. Answers the users as
    /// written, those `change` left as they were included.
    pub async fn update_users(
        &self,
        caller: &Principal,
        field: &str,
        ids: &[Id],
        change: impl Fn(&mut User),
    ) -> CoreResult<Vec<User>> {
        caller.require(Permission::UserWrite)?;
        let found = self.store.get_users(&caller.tenant_id, ids).await?;
        let mut changes = Vec::new();
        let mut unchanged = Vec::new();
        for id in ids {
            let before = found
                .iter()
                .find(|user| user.id == *id && user.deleted_at.is_none())
                .ok_or_else(|| CoreError::invalid_field(field, format!("no user has the id {id}")))?;
            let mut after = before.clone();
            change(&mut after);
            if after == *before {
                unchanged.push(after);
                continue;
            }
            caller.require_user_change(before, Some(&after))?;
            changes.push((before.clone(), after));
        }
        if changes.is_empty() {
            return Ok(unchanged);
        }
        let mut written =
            self.write(self.store.update_users(&caller.actor(), &changes)).await.map_err(|error| match error {
                StoreError::Conflict { constraint: "users_concurrent_update" } => CoreError::new(
                    crate::Code::Aborted,
                    "a user changed while this request ran; read it again and retry",
                ),
                other => other.into(),
            })?;
        written.extend(unchanged);
        Ok(written)
    }
}
