//! The use cases on the tenant's onboarding settings and its onboarding conversation, authorized here for
//! every surface: reading needs `settings:read`, updating and ensuring `settings:write`. The store checks
//! the status machine under a row lock and writes conditionally (`OnboardingSettingsUpdate`).

use onramp_domain::{Id, Permission};
use onramp_store::{OnboardingSettings, OnboardingSettingsUpdate, StoreError};

use crate::error::{Code, CoreError, CoreResult};
use crate::{Core, Principal};

impl Core {
    pub async fn onboarding_settings(&self, caller: &Principal) -> CoreResult<OnboardingSettings> {
        caller.require(Permission::SettingsRead)?;
        Ok(self.store.get_onboarding_settings(&caller.tenant_id).await?)
    }

    /// Applies `update` to the caller's tenant and answers the settings after it; a move the status machine
    /// refuses is FAILED_PRECONDITION, a concurrent update ABORTED.
    pub async fn update_onboarding_settings(
        &self,
        caller: &Principal,
        update: impl FnOnce() -> CoreResult<OnboardingSettingsUpdate>,
    ) -> CoreResult<OnboardingSettings> {
        caller.require(Permission::SettingsWrite)?;
        let update = update()?;
        self.write(self.store.update_onboarding_settings(&caller.actor(), &update)).await.map_err(|error| match error {
            StoreError::Conflict { .. } => {
                CoreError::new(Code::Aborted, "the onboarding settings changed while this update ran; retry")
            }
            other => other.into(),
        })
    }

    /// The tenant's onboarding conversation id, made now if there is none, and whether this call made it.
    pub async fn ensure_onboarding_conversation(&self, caller: &Principal) -> CoreResult<(String, bool)> {
        caller.require(Permission::SettingsWrite)?;
        Ok(self.write(self.store.ensure_onboarding_conversation(&caller.actor(), &Id::new())).await?)
    }
}
