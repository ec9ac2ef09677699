//! The use cases on apps and their owners (v1 and v2 views over one store of ownerships, see
//! `onramp-api`'s `routes/app_owners.rs` for how the two map), each authorized here for every surface:
//! reads need `app:read`, changes `app:write`.

use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{App, AppOwner, RoleSlug, StoreError};

use crate::error::{Code, CoreError, CoreResult};
use crate::{Core, Principal};

/// How many times an update re-reads and re-applies itself when another update of the same app came first.
const UPDATE_ATTEMPTS: usize = 3;

/// Rows per store read when [`Core::app_owner_ids`] collects every owner of an app.
const OWNER_IDS_BATCH: u32 = 1_000;

/// The answer to a store error about app `app_id`: an unknown app is not found naming it; an unknown user
/// or ownership (the store's `Invalid`) is not found with the store's message, which names the user.
pub fn app_error(app_id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("app {app_id}")),
        StoreError::Invalid { message, .. } => CoreError::new(Code::NotFound, message),
        other => other.into(),
    }
}

impl Core {
    /// Creates the app `make` builds for the caller's tenant, with its first `owner`-slug owners.
    pub async fn create_app(
        &self,
        caller: &Principal,
        make: impl FnOnce(Id, Timestamp) -> CoreResult<(App, Vec<Id>)>,
    ) -> CoreResult<App> {
        caller.require(Permission::AppWrite)?;
        let (app, owner_ids) = make(caller.tenant_id, Timestamp::now())?;
        self.write(self.store.create_app(&caller.actor(), &app, &owner_ids)).await.map_err(app_error(&app.id))?;
        Ok(app)
    }

    /// Live apps of the caller's tenant in id order, after `after`.
    pub async fn list_apps(&self, caller: &Principal, after: Option<&Id>, limit: u32) -> CoreResult<Vec<App>> {
        caller.require(Permission::AppRead)?;
        Ok(self.store.list_apps(&caller.tenant_id, after, limit).await?)
    }

    pub async fn get_app(&self, caller: &Principal, id: &Id) -> CoreResult<App> {
        caller.require(Permission::AppRead)?;
        self.store.get_app(&caller.tenant_id, id).await.map_err(app_error(id))
    }

    /// Changes the live app `id` by `change`, which is applied again to the newer app when another update
    /// came between the read and the write (a few times, then ABORTED). A change that changes nothing
    /// writes nothing.
    pub async fn update_app(
        &self,
        caller: &Principal,
        id: &Id,
        change: impl Fn(&mut App) -> CoreResult<()>,
    ) -> CoreResult<App> {
        caller.require(Permission::AppWrite)?;
        for attempt in 1..=UPDATE_ATTEMPTS {
            let before = self.store.get_app(&caller.tenant_id, id).await.map_err(app_error(id))?;
            let mut after = before.clone();
            change(&mut after)?;
            if after == before {
                return Ok(before);
            }
            match self.write(self.store.update_app(&caller.actor(), &before, &after)).await {
                Ok(updated) => return Ok(updated),
                Err(StoreError::Conflict { constraint: "apps_concurrent_update" }) if attempt < UPDATE_ATTEMPTS => {}
                Err(StoreError::Conflict { constraint: "apps_concurrent_update" }) => break,
                Err(error) => return Err(app_error(id)(error)),
            }
        }
        Err(CoreError::new(Code::Aborted, "the app kept changing while this update ran; read it again and retry"))
    }

    /// Deletes the live app `id` and every ownership of it.
    pub async fn delete_app(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        caller.require(Permission::AppWrite)?;
        self.write(self.store.delete_app(&caller.actor(), id)).await.map_err(app_error(id))?;
        Ok(())
    }

    /// The app's ownerships in creation order, of `slug` or of every slug, after `after`.
    pub async fn list_app_owners(
        &self,
        caller: &Principal,
        app_id: &Id,
        slug: Option<&RoleSlug>,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<AppOwner>> {
        caller.require(Permission::AppRead)?;
        self.store.list_app_owners(&caller.tenant_id, app_id, slug, after, limit).await.map_err(app_error(app_id))
    }

    /// The live users behind ownerships, in the ownerships' order. A user deleted since the ownership was
    /// read owns nothing, so it is left out.
    pub async fn app_owner_users(&self, caller: &Principal, owners: &[AppOwner]) -> CoreResult<Vec<User>> {
        caller.require(Permission::AppRead)?;
        let mut users = Vec::with_capacity(owners.len());
        for owner in owners {
            match self.store.get_user(&caller.tenant_id, &owner.user_id).await {
                Ok(user) if user.status != UserStatus::Deleted => users.push(user),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(users)
    }

    /// Every `owner`-slug owner's id, unpaged.
    pub async fn app_owner_ids(&self, caller: &Principal, app_id: &Id) -> CoreResult<Vec<Id>> {
        caller.require(Permission::AppRead)?;
        let slug = RoleSlug::owner();
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let batch = self
                .store
                .list_app_owners(&caller.tenant_id, app_id, Some(&slug), after.as_ref(), OWNER_IDS_BATCH)
                .await
                .map_err(app_error(app_id))?;
            ids.extend(batch.iter().map(|owner| owner.user_id));
            match batch.last() {
                Some(last) if batch.len() == OWNER_IDS_BATCH as usize => after = Some(last.id),
                _ => break,
            }
        }
        Ok(ids)
    }

    /// One ownership and its user.
    pub async fn get_app_owner(
        &self,
        caller: &Principal,
        app_id: &Id,
        slug: &RoleSlug,
        user_id: &Id,
    ) -> CoreResult<(AppOwner, User)> {
        caller.require(Permission::AppRead)?;
        let owner =
            self.store.get_app_owner(&caller.tenant_id, app_id, slug, user_id).await.map_err(app_error(app_id))?;
        let user = self.store.get_user(&caller.tenant_id, &owner.user_id).await?;
        Ok((owner, user))
    }

    /// Makes the live user an owner of the app under `slug`; an ownership that exists is ALREADY_EXISTS.
    pub async fn create_app_owner(
        &self,
        caller: &Principal,
        app_id: &Id,
        slug: &RoleSlug,
        user_id: &Id,
    ) -> CoreResult<(AppOwner, User)> {
        caller.require(Permission::AppWrite)?;
        let owner =
            self.write(self.store.create_app_owner(&caller.actor(), app_id, slug, user_id)).await.map_err(|error| {
                match error {
                    StoreError::Conflict { .. } => CoreError::new(
                        Code::AlreadyExists,
                        format!("user {user_id} already owns app {app_id} as {slug}"),
                    ),
                    other => app_error(app_id)(other),
                }
            })?;
        let user = self.store.get_user(&caller.tenant_id, &owner.user_id).await?;
        Ok((owner, user))
    }

    /// Makes the live user an `owner` of the app; one that is already is left as it is (v1's add).
    pub async fn add_app_owner(&self, caller: &Principal, app_id: &Id, user_id: &Id) -> CoreResult<()> {
        caller.require(Permission::AppWrite)?;
        match self.write(self.store.create_app_owner(&caller.actor(), app_id, &RoleSlug::owner(), user_id)).await {
            Ok(_) | Err(StoreError::Conflict { constraint: "app_owners_app_role_user" }) => Ok(()),
            Err(error) => Err(app_error(app_id)(error)),
        }
    }

    /// Removes one ownership; one that does not exist is not found.
    pub async fn delete_app_owner(
        &self,
        caller: &Principal,
        app_id: &Id,
        slug: &RoleSlug,
        user_id: &Id,
    ) -> CoreResult<()> {
        caller.require(Permission::AppWrite)?;
        self.write(self.store.delete_app_owner(&caller.actor(), app_id, slug, user_id))
            .await
            .map_err(app_error(app_id))?;
        Ok(())
    }

    /// The app's owners under `slug` become exactly `user_ids`.
    pub async fn set_app_owners(
        &self,
        caller: &Principal,
        app_id: &Id,
        slug: &RoleSlug,
        user_ids: &[Id],
    ) -> CoreResult<()> {
        caller.require(Permission::AppWrite)?;
        self.write(self.store.set_app_owners(&caller.actor(), app_id, slug, user_ids)).await.map_err(app_error(app_id))
    }

    /// Removes the ownerships under `slug` of those of `user_ids` that have one, skipping the others.
    pub async fn remove_app_owners(
        &self,
        caller: &Principal,
        app_id: &Id,
        slug: &RoleSlug,
        user_ids: &[Id],
    ) -> CoreResult<()> {
        caller.require(Permission::AppWrite)?;
        self.write(self.store.remove_app_owners(&caller.actor(), app_id, slug, user_ids))
            .await
            .map_err(app_error(app_id))?;
        Ok(())
    }
}
