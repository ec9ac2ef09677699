//! The use cases on local directory configs: create, list, get, update and delete, each authorized here
//! for every surface (`directory:read`, `directory:write`). A directory is a configuration on an existing
//! app; deleting it leaves the app and revokes its pending invitations in the same transaction.

use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{LocalDirectory, StoreError};

use crate::error::{Code, CoreError, CoreResult};
use crate::invitations::directory_error;
use crate::{Core, Principal};

/// How many times an update re-reads and re-applies itself when another update came first.
const UPDATE_ATTEMPTS: usize = 3;

impl Core {
    /// Makes the app of the directory `make` builds (for the caller's tenant) a local directory.
    pub async fn create_directory(
        &self,
        caller: &Principal,
        make: impl FnOnce(Id, Timestamp) -> CoreResult<LocalDirectory>,
    ) -> CoreResult<LocalDirectory> {
        caller.require(Permission::DirectoryWrite)?;
        let directory = make(caller.tenant_id, Timestamp::now())?;
        self.require_flow_grantable(caller, directory.onboarding_flow_id, "onboardingFlowId").await?;
        self.write(self.store.create_local_directory(&caller.actor(), &directory)).await.map_err(
            |error| match error {
                StoreError::NotFound => CoreError::not_found(format!("app {}", directory.app_id)),
                other => other.into(),
            },
        )?;
        Ok(directory)
    }

    /// The tenant's directories in app id order, after `after`.
    pub async fn list_directories(
        &self,
        caller: &Principal,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<LocalDirectory>> {
        caller.require(Permission::DirectoryRead)?;
        Ok(self.store.list_local_directories(&caller.tenant_id, after, limit).await?)
    }

    pub async fn get_directory(&self, caller: &Principal, app_id: &Id) -> CoreResult<LocalDirectory> {
        caller.require(Permission::DirectoryRead)?;
        self.store.get_local_directory(&caller.tenant_id, app_id).await.map_err(directory_error(app_id))
    }

    /// Changes the directory of `app_id` by `change`, applied again to the newer directory when another
    /// update came between the read and the write (a few times, then ABORTED). A change that changes
    /// nothing writes nothing.
    pub async fn update_directory(
        &self,
        caller: &Principal,
        app_id: &Id,
        change: impl Fn(&mut LocalDirectory) -> CoreResult<()>,
    ) -> CoreResult<LocalDirectory> {
        caller.require(Permission::DirectoryWrite)?;
        for attempt in 1..=UPDATE_ATTEMPTS {
            let before =
                self.store.get_local_directory(&caller.tenant_id, app_id).await.map_err(directory_error(app_id))?;
            let mut after = before.clone();
            change(&mut after)?;
            if after == before {
                return Ok(before);
            }
            if after.onboarding_flow_id != before.onboarding_flow_id {
                self.require_flow_grantable(caller, after.onboarding_flow_id, "onboardingFlowId").await?;
            }
            match self.write(self.store.update_local_directory(&caller.actor(), &before, &after)).await {
                Ok(updated) => return Ok(updated),
                Err(StoreError::Conflict { constraint: "local_directories_concurrent_update" })
                    if attempt < UPDATE_ATTEMPTS => {}
                Err(StoreError::Conflict { constraint: "local_directories_concurrent_update" }) => break,
                Err(error) => return Err(directory_error(app_id)(error)),
            }
        }
        Err(CoreError::new(Code::Aborted, "the directory kept changing while this update ran; read it again and retry"))
    }

    /// Deletes the directory of `app_id`, revoking its pending invitations.
    pub async fn delete_directory(&self, caller: &Principal, app_id: &Id) -> CoreResult<()> {
        caller.require(Permission::DirectoryWrite)?;
        self.write(self.store.delete_local_directory(&caller.actor(), app_id, &crate::approvals::FailureHook(self)))
            .await
            .map_err(directory_error(app_id))?;
        Ok(())
    }
}
