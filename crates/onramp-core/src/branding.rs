//! What the pages and emails show of a tenant ([`Branding`]: its name, logo and accent colour), and the
//! use cases on the tenant's settings behind it: reading needs `settings:read`, updating `settings:write`.
//! Reading the branding needs no permission: it is what every invitee of the tenant sees.

use onramp_domain::branding::{Accent, Logo, TenantSettings, TenantSettingsUpdate};
use onramp_domain::{Id, Permission};
use onramp_store::StoreError;

use crate::error::{Code, CoreError, CoreResult};
use crate::{Core, Principal};

/// A tenant as its pages and emails present it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    pub tenant_id: Id,
    /// The organisation's name: the settings' display name, or the tenant's own name.
    pub name: String,
    /// The logo's path on onramp (`/assets/logo-<sha256>.<ext>`), if the tenant has one.
    pub logo_path: Option<String>,
    /// The accent and its text colour, if the tenant chose one.
    pub accent: Option<Accent>,
}

impl Branding {
    /// onramp's own, for a page that belongs to no tenant.
    pub fn onramp() -> Branding {
        Branding { tenant_id: Id::from_bytes([0; 12]), name: "onramp".to_string(), logo_path: None, accent: None }
    }
}

/// The path a logo is served at: named by its hash, so it can be cached for good.
pub fn logo_path(logo: &Logo) -> String {
    format!("/assets/logo-{}.{}", logo.sha256, logo.image_type.extension())
}

impl Core {
    /// The branding of `tenant`, or of the default tenant when a page does not know whose it is (an unknown
    /// link); a deployment without a default tenant shows onramp's own name.
    pub async fn branding(&self, tenant: Option<&Id>) -> CoreResult<Branding> {
        let id = match tenant {
            Some(id) => Some(*id),
            None => self.store.default_tenant().await?,
        };
        let Some(id) = id else { return Ok(Branding::onramp()) };
        let tenant = self.store.get_tenant(&id).await?;
        let settings = self.store.get_tenant_settings(&id).await?;
        let name = if settings.display_name.is_empty() { tenant.name } else { settings.display_name };
        let accent = (!settings.accent_color.is_empty()).then(|| Accent::parse(&settings.accent_color).ok()).flatten();
        Ok(Branding { tenant_id: id, name, logo_path: settings.logo.as_ref().map(logo_path), accent })
    }

    /// A logo by the hash in its path, for serving it.
    pub async fn logo(&self, sha256: &str) -> CoreResult<Logo> {
        self.store.logo_by_hash(sha256).await.map_err(|error| match error {
            StoreError::NotFound => CoreError::not_found("logo"),
            other => other.into(),
        })
    }

    pub async fn tenant_settings(&self, caller: &Principal) -> CoreResult<TenantSettings> {
        caller.require(Permission::SettingsRead)?;
        Ok(self.store.get_tenant_settings(&caller.tenant_id).await?)
    }

    /// Applies `update` (validated by the surface) to the caller's tenant and answers the settings after it.
    pub async fn update_tenant_settings(
        &self,
        caller: &Principal,
        update: impl FnOnce() -> CoreResult<TenantSettingsUpdate>,
    ) -> CoreResult<TenantSettings> {
        caller.require(Permission::SettingsWrite)?;
        let update = update()?;
        self.write(self.store.update_tenant_settings(&caller.actor(), &update)).await.map_err(|error| match error {
            StoreError::Conflict { .. } => {
                CoreError::new(Code::Aborted, "the tenant settings changed while this update ran; retry")
            }
            other => other.into(),
        })
    }
}
