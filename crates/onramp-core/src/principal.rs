//! Who is calling, as a surface authenticated them, and the authorization rules every use case checks:
//! permissions, who may grant a role, and who may change a user.

use onramp_domain::user::User;
use onramp_domain::user_change::check_user_change;
use onramp_domain::{BuiltinRole, Id, Permission, role::permissions_of};
use onramp_store::Actor;

use crate::error::CoreError;

/// The authenticated caller of a use case (from an access token, an API key, or a bearer token on
/// `/onboards`).
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant_id: Id,
    pub user_id: Id,
    /// The credential (or API key) the caller authenticated with.
    pub credential_id: Id,
    pub roles: Vec<BuiltinRole>,
    pub request_id: Option<String>,
}

impl Principal {
    /// Refuses the call with PERMISSION_DENIED unless one of the caller's roles grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<&Self, CoreError> {
        if self.roles.iter().any(|role| role.allows(permission)) {
            Ok(self)
        } else {
            Err(CoreError::permission_denied(format!("permission denied: this call requires {}", permission.as_str())))
        }
    }

    /// Whether the caller may hand `role` to someone (directly, through an invitation, or through an
    /// onboarding flow): only a role whose every permission the caller has, so that nobody can give
    /// more than they hold; the super-admin role only by a super-admin.
    pub fn may_grant(&self, role: BuiltinRole) -> bool {
        role.grantable_by(&self.roles)
    }

    /// Refuses unless the caller may replace the user `before` with `after`, or delete it when `after` is
    /// None ([`check_user_change`]: roles added or removed must be grantable, and only a super-admin changes
    /// a super-admin). Every write of an existing user on a caller's behalf checks it.
    pub fn require_user_change(&self, before: &User, after: Option<&User>) -> Result<(), CoreError> {
        check_user_change(&self.roles, before, after).map_err(|refusal| CoreError::permission_denied(refusal.message()))
    }

    /// Refuses unless the caller may grant every role of `role_ids` ([`Principal::may_grant`]); `field`
    /// names the input the roles came from.
    pub fn require_grantable(&self, field: &str, role_ids: &[Id]) -> Result<(), CoreError> {
        for role in role_ids.iter().filter_map(BuiltinRole::from_id) {
            if !self.may_grant(role) {
                return Err(CoreError::permission_denied(format!(
                    "permission denied: {field} names the role {}, which has permissions you do not have",
                    role.name()
                )));
            }
        }
        Ok(())
    }

    pub fn permissions(&self) -> Vec<Permission> {
        permissions_of(&self.roles)
    }

    /// The caller as the audit log records it.
    pub fn actor(&self) -> Actor {
        Actor {
            tenant_id: self.tenant_id,
            user_id: Some(self.user_id),
            credential_id: Some(self.credential_id),
            request_id: self.request_id.clone(),
        }
    }
}
