//! The use cases on roles and the audit log, authorized here for every surface: the five built-in roles
//! (`role:read`; roles live in code, so these read no database) and the tenant's audit events, oldest first
//! (`audit:read`).

use onramp_domain::{BuiltinRole, Id, Permission};
use onramp_store::AuditEvent;

use crate::error::{CoreError, CoreResult};
use crate::{Core, Principal};

impl Core {
    pub fn list_roles(&self, caller: &Principal) -> CoreResult<[BuiltinRole; 5]> {
        caller.require(Permission::RoleRead)?;
        Ok(BuiltinRole::ALL)
    }

    /// A built-in role by id or name.
    pub fn get_role(&self, caller: &Principal, reference: &str) -> CoreResult<BuiltinRole> {
        caller.require(Permission::RoleRead)?;
        BuiltinRole::from_ref(reference).ok_or_else(|| CoreError::not_found(format!("role {reference}")))
    }

    /// The tenant's audit events in id (time) order, after `after`.
    pub async fn list_audit_events(
        &self,
        caller: &Principal,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<AuditEvent>> {
        caller.require(Permission::AuditRead)?;
        Ok(self.store.list_audit_events(&caller.tenant_id, after, limit).await?)
    }
}
