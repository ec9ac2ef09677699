//! What the pages and emails show of a tenant: its name (and, with the tenant settings, its logo and
//! accent colour). Reading it needs no permission: it is what every invitee of the tenant sees.

use onramp_domain::Id;

use crate::Core;
use crate::error::CoreResult;

/// A tenant as its pages and emails present it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    pub tenant_id: Id,
    /// The organisation's name.
    pub name: String,
}

impl Core {
    /// The branding of `tenant`, or of the default tenant when a page does not know whose it is (an unknown
    /// link); a deployment without a default tenant shows onramp's own name.
    pub async fn branding(&self, tenant: Option<&Id>) -> CoreResult<Branding> {
        let id = match tenant {
            Some(id) => Some(*id),
            None => self.store.default_tenant().await?,
        };
        let Some(id) = id else {
            return Ok(Branding { tenant_id: Id::from_bytes([0; 12]), name: "onramp".to_string() });
        };
        let tenant = self.store.get_tenant(&id).await?;
        Ok(Branding { tenant_id: id, name: tenant.name })
    }
}
