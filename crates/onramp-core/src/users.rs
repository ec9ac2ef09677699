//! The use cases on users: create, update, delete and import, each authorized here for every surface.

use onramp_domain::user::User;
use onramp_domain::{Id, Permission, Timestamp};

use onramp_search::{Cursor, Page, Query};
use onramp_store::{App, StoreError};

use crate::error::{Code, CoreError, CoreResult};
use crate::import::{ImportOptions, ImportReport, ImportRow, RowError};
use crate::{Core, Principal};

fn user_not_found(id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("user {id}")),
        other => other.into(),
    }
}

/// A user written since it was read: the write is refused and the client reads again and retries.
fn concurrent_change(error: StoreError) -> CoreError {
    match error {
        StoreError::Conflict { constraint: "users_concurrent_update" } => {
            CoreError::new(Code::Aborted, "the user changed while this request ran; read it again and retry")
        }
        other => other.into(),
    }
}

impl Core {
    /// A user of the caller's tenant, deleted or not.
    pub async fn get_user(&self, caller: &Principal, id: &Id) -> CoreResult<User> {
        caller.require(Permission::UserRead)?;
        self.store.get_user(&caller.tenant_id, id).await.map_err(user_not_found(id))
    }

    /// The users of the caller's tenant with these ids (`user:read`), as the store orders them; ids that
    /// name no user are left out. For the pages of a search, whose hits are ids.
    pub async fn users_by_ids(&self, caller: &Principal, ids: &[Id]) -> CoreResult<Vec<User>> {
        caller.require(Permission::UserRead)?;
        Ok(self.store.get_users(&caller.tenant_id, ids).await?)
    }

    /// The managers and delegates of `users` among `ids`, for the expansion of users the caller has read
    /// (a search's hits, or their own user on introspection): each of `users` must be readable by the
    /// caller (`user:read`, or `self:read` for their own), and ids that none of them points to are left out.
    pub async fn related_users(&self, caller: &Principal, users: &[User], ids: &[Id]) -> CoreResult<Vec<User>> {
        for user in users {
            require_read_of(caller, user)?;
        }
        let pointed: Vec<Id> = ids
            .iter()
            .filter(|id| {
                users.iter().any(|user| user.manager_ids.contains(id) || user.delegated_user_id.as_ref() == Some(id))
            })
            .copied()
            .collect();
        Ok(self.store.get_users(&caller.tenant_id, &pointed).await?)
    }

    /// One of the directories of a user the caller may read (`user:read`, or `self:read` for their own),
    /// for its expansion; None when `user` names no such app or it no longer exists.
    pub async fn directory_of_user(&self, caller: &Principal, user: &User, app_id: &Id) -> CoreResult<Option<App>> {
        require_read_of(caller, user)?;
        if !user.directory_ids.contains(app_id) {
            return Ok(None);
        }
        match self.store.get_app(&caller.tenant_id, app_id).await {
            Ok(app) => Ok(Some(app)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// The tenant's users in id order, after `after`.
    pub async fn list_users(&self, caller: &Principal, after: Option<&Id>, limit: u32) -> CoreResult<Vec<User>> {
        caller.require(Permission::UserRead)?;
        Ok(self.store.list_users(&caller.tenant_id, after, limit).await?)
    }

    /// The live user of the tenant with this email (`user:read`): how a page's user picker finds the
    /// person typed. An address that is not one is INVALID_ARGUMENT naming `field`; no such user, NOT_FOUND.
    pub async fn user_by_email(&self, caller: &Principal, field: &str, email: &str) -> CoreResult<User> {
        caller.require(Permission::UserRead)?;
        let email =
            onramp_domain::Email::parse(email.trim()).map_err(|error| CoreError::invalid_field(field, error))?;
        match self.store.find_user_by_email(&caller.tenant_id, email.as_str()).await {
            Ok(user) if user.status != onramp_domain::user::UserStatus::Deleted => Ok(user),
            Ok(_) | Err(onramp_store::StoreError::NotFound) => {
                Err(CoreError::invalid_field(field, format!("no user has the email {:?}", email.as_str())))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// One page of the tenant's users that match `query`, after `after`, from the node's search index
    /// (`user:read`); a query the index refuses is INVALID_ARGUMENT naming its field.
    pub async fn search_users(
        &self,
        caller: &Principal,
        query: &Query,
        after: Option<Cursor>,
        limit: usize,
    ) -> CoreResult<Page> {
        caller.require(Permission::UserRead)?;
        let found = self.search()?.search(&caller.tenant_id, query, after, limit).await?;
        found.map_err(|error| CoreError::invalid_field(&error.field, error.message))
    }

    /// The caller's permissions, if it may read about itself (`self:read`).
    pub fn introspect(&self, caller: &Principal) -> CoreResult<Vec<Permission>> {
        caller.require(Permission::SelfRead)?;
        Ok(caller.permissions())
    }

    /// The caller's own user (`self:read`).
    pub async fn own_user(&self, caller: &Principal) -> CoreResult<User> {
        caller.require(Permission::SelfRead)?;
        Ok(self.store.get_user(&caller.tenant_id, &caller.user_id).await?)
    }

    /// Creates the user `make` builds for the caller's tenant; the caller hands out only roles within their
    /// own permissions. Answers the user as stored.
    pub async fn create_user(
        &self,
        caller: &Principal,
        make: impl FnOnce(Id, Timestamp) -> CoreResult<User>,
    ) -> CoreResult<User> {
        caller.require(Permission::UserWrite)?;
        let user = make(caller.tenant_id, Timestamp::now())?;
        caller.require_grantable("roleIds", &user.role_ids)?;
        self.write(self.store.create_user(&caller.actor(), &user)).await?;
        Ok(self.store.get_user(&caller.tenant_id, &user.id).await?)
    }

    /// Changes the live user `id` by `change`, if the caller may make that change (the rule of every user
    /// change). The store writes only over the user read here (by `updated_at`), so the check is about the
    /// user replaced; a concurrent change is ABORTED.
    pub async fn update_user(
        &self,
        caller: &Principal,
        id: &Id,
        change: impl FnOnce(&mut User) -> CoreResult<()>,
    ) -> CoreResult<User> {
        caller.require(Permission::UserWrite)?;
        let before = self.live_user(&caller.tenant_id, id).await?;
        let mut after = before.clone();
        change(&mut after)?;
        caller.require_user_change(&before, Some(&after))?;
        // A new manager is told of the approvals that wait for them, in the same transaction.
        let effects = if after.manager_ids.first() != before.manager_ids.first() {
            crate::approvals::new_manager_effects(self, &after).await?
        } else {
            onramp_store::OnboardEffects::default()
        };
        self.write(self.store.update_user_with(&caller.actor(), &before, &after, &effects))
            .await
            .map_err(concurrent_change)
    }

    /// Deletes the live user `id`; nobody deletes their own user.
    pub async fn delete_user(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        caller.require(Permission::UserWrite)?;
        if *id == caller.user_id {
            return Err(CoreError::new(Code::FailedPrecondition, "a caller cannot delete its own user"));
        }
        let before = self.live_user(&caller.tenant_id, id).await?;
        caller.require_user_change(&before, None)?;
        self.write(self.store.delete_user(&caller.actor(), &before)).await.map_err(|error| match error {
            StoreError::NotFound => CoreError::not_found(format!("user {id}")),
            other => concurrent_change(other),
        })?;
        Ok(())
    }

    /// Imports `rows` into the caller's tenant (`crate::import`); a row naming a role the caller may not
    /// grant fails on its own.
    pub async fn import_users<R: ImportRow>(
        &self,
        caller: &Principal,
        rows: impl IntoIterator<Item = Result<R, RowError>>,
        options: ImportOptions,
    ) -> CoreResult<ImportReport> {
        caller.require(Permission::UserWrite)?;
        let rows = rows.into_iter().enumerate().map(|(row, parsed)| {
            let parsed = parsed?;
            caller.require_grantable("roleIds", &parsed.role_ids()).map_err(|error| RowError {
                row,
                field: "roleIds".into(),
                message: error.message,
            })?;
            Ok(parsed)
        });
        self.import_as_system(&caller.actor(), rows, options).await
    }

    /// Imports `rows` on the command line's behalf (`onramp import users`), which holds the database itself
    /// and so every permission.
    pub async fn import_as_system<R: ImportRow>(
        &self,
        actor: &onramp_store::Actor,
        rows: impl IntoIterator<Item = Result<R, RowError>>,
        options: ImportOptions,
    ) -> CoreResult<ImportReport> {
        Ok(self.write(crate::import::import_users(self.store.clone(), actor, rows, options)).await?)
    }

    async fn live_user(&self, tenant_id: &Id, id: &Id) -> CoreResult<User> {
        let user = self.store.get_user(tenant_id, id).await.map_err(user_not_found(id))?;
        if user.deleted_at.is_some() {
            return Err(CoreError::not_found(format!("user {id}")));
        }
        Ok(user)
    }
}

/// Refuses unless the caller may read `user`: any user with `user:read`, their own with `self:read`.
fn require_read_of(caller: &Principal, user: &User) -> CoreResult<()> {
    if user.tenant_id == caller.tenant_id && user.id == caller.user_id {
        caller.require(Permission::SelfRead).or_else(|_| caller.require(Permission::UserRead))?;
    } else {
        caller.require(Permission::UserRead)?;
    }
    Ok(())
}
