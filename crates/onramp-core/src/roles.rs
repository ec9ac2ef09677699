//! The use cases on roles and the audit log, authorized here for every surface: the five built-in roles
//! (`role:read`; roles live in code, so these read no database) and the tenant's audit events, oldest or
//! newest first, filtered by actor, action, object and time (`audit:read`).

use onramp_domain::{BuiltinRole, Id, Permission};
use onramp_store::{AuditEvent, AuditFilter, AuditOrder};

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

    /// The tenant's audit events that `filter` admits (by actor, action, object and time), in id (time)
    /// order or newest first (`order`), after `after` in that order. A time range that ends before it
    /// starts is refused, naming `until`.
    pub async fn list_audit_events(
        &self,
        caller: &Principal,
        filter: &AuditFilter,
        order: AuditOrder,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<AuditEvent>> {
        caller.require(Permission::AuditRead)?;
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until < since
        {
            return Err(CoreError::invalid_field("until", "must not be before since"));
        }
        Ok(self.store.list_audit_events(&caller.tenant_id, filter, order, after, limit).await?)
    }
}
