//! The built-in roles and the permission table that gates every endpoint.
//!
//! Roles are fixed in code, not rows: a deployment cannot drift from what the documentation says a role
//! may do, and an access token that names its roles can be authorized without a database read. Each role has
//! a stable 24-hex id (the same in every deployment) and a slug name used by the CLI and the token.

use crate::Id;

/// What a caller may do. Every endpoint declares exactly one of these.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Permission {
    /// See oneself: introspection. Every role has it.
    SelfRead,
    UserRead,
    UserWrite,
    AppRead,
    AppWrite,
    RoleRead,
    DirectoryRead,
    DirectoryWrite,
    InvitationRead,
    InvitationWrite,
    OnboardingRead,
    OnboardingWrite,
    SettingsRead,
    SettingsWrite,
    AuditRead,
    /// Create and revoke client credentials and API keys, and grant roles.
    CredentialManage,
}

impl Permission {
    pub const ALL: [Permission; 16] = [
        Permission::SelfRead,
        Permission::UserRead,
        Permission::UserWrite,
        Permission::AppRead,
        Permission::AppWrite,
        Permission::RoleRead,
        Permission::DirectoryRead,
        Permission::DirectoryWrite,
        Permission::InvitationRead,
        Permission::InvitationWrite,
        Permission::OnboardingRead,
        Permission::OnboardingWrite,
        Permission::SettingsRead,
        Permission::SettingsWrite,
        Permission::AuditRead,
        Permission::CredentialManage,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::SelfRead => "self:read",
            Permission::UserRead => "user:read",
            Permission::UserWrite => "user:write",
            Permission::AppRead => "app:read",
            Permission::AppWrite => "app:write",
            Permission::RoleRead => "role:read",
            Permission::DirectoryRead => "directory:read",
            Permission::DirectoryWrite => "directory:write",
            Permission::InvitationRead => "invitation:read",
            Permission::InvitationWrite => "invitation:write",
            Permission::OnboardingRead => "onboarding:read",
            Permission::OnboardingWrite => "onboarding:write",
            Permission::SettingsRead => "settings:read",
            Permission::SettingsWrite => "settings:write",
            Permission::AuditRead => "audit:read",
            Permission::CredentialManage => "credential:manage",
        }
    }

    const fn is_read(self) -> bool {
        matches!(
            self,
            Permission::SelfRead
                | Permission::UserRead
                | Permission::AppRead
                | Permission::RoleRead
                | Permission::DirectoryRead
                | Permission::InvitationRead
                | Permission::OnboardingRead
                | Permission::SettingsRead
                | Permission::AuditRead
        )
    }
}

/// The five built-in roles.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum BuiltinRole {
    SuperAdmin,
    Admin,
    ReadOnlyAdmin,
    DirectoryAdmin,
    BasicUser,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::SuperAdmin,
        BuiltinRole::Admin,
        BuiltinRole::ReadOnlyAdmin,
        BuiltinRole::DirectoryAdmin,
        BuiltinRole::BasicUser,
    ];

    /// The slug: the role's `name` on the wire, in tokens and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            BuiltinRole::SuperAdmin => "super-admin",
            BuiltinRole::Admin => "admin",
            BuiltinRole::ReadOnlyAdmin => "read-only-admin",
            BuiltinRole::DirectoryAdmin => "directory-admin",
            BuiltinRole::BasicUser => "basic-user",
        }
    }

    pub const fn display_name(self) -> &'static str {
        match self {
            BuiltinRole::SuperAdmin => "Super Administrator",
            BuiltinRole::Admin => "Administrator",
            BuiltinRole::ReadOnlyAdmin => "Read-Only Administrator",
            BuiltinRole::DirectoryAdmin => "Directory Administrator",
            BuiltinRole::BasicUser => "Basic User",
        }
    }

    /// A stable id, `000000000000000000000001` and so on, identical in every deployment.
    pub const fn id(self) -> Id {
        let mut bytes = [0u8; 12];
        bytes[11] = self as u8 + 1;
        Id::from_bytes(bytes)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.name() == name)
    }

    pub fn from_id(id: &Id) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.id() == *id)
    }

    /// Accepts either the id or the slug.
    pub fn from_ref(reference: &str) -> Option<Self> {
        Self::from_name(reference).or_else(|| reference.parse().ok().and_then(|id| Self::from_id(&id)))
    }

    pub fn allows(self, permission: Permission) -> bool {
        match self {
            BuiltinRole::SuperAdmin => true,
            // An admin runs the directory but cannot mint credentials or hand out roles to itself.
            BuiltinRole::Admin => permission != Permission::CredentialManage,
            BuiltinRole::ReadOnlyAdmin => permission.is_read(),
            BuiltinRole::DirectoryAdmin => matches!(
                permission,
                Permission::SelfRead
                    | Permission::UserRead
                    | Permission::AppRead
                    | Permission::RoleRead
                    | Permission::DirectoryRead
                    | Permission::DirectoryWrite
                    | Permission::InvitationRead
                    | Permission::InvitationWrite
                    | Permission::OnboardingRead
                    | Permission::OnboardingWrite
            ),
            BuiltinRole::BasicUser => permission == Permission::SelfRead,
        }
    }

    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.allows(*p))
    }

    /// Whether a caller holding `holder` may hand this role to someone, or take it away: only a role whose
    /// every permission the caller has, so that nobody gives (or removes) more than they hold; the
    /// super-admin role only by a super-admin.
    pub fn grantable_by(self, holder: &[BuiltinRole]) -> bool {
        let holds = |permission: Permission| holder.iter().any(|held| held.allows(permission));
        (self != BuiltinRole::SuperAdmin || holder.contains(&BuiltinRole::SuperAdmin)) && self.permissions().all(holds)
    }
}

/// The union of the permissions of the given roles, sorted and without repeats.
pub fn permissions_of(roles: &[BuiltinRole]) -> Vec<Permission> {
    let mut all: Vec<Permission> = roles.iter().flat_map(|r| r.permissions()).collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_resolve() {
        for role in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::from_name(role.name()), Some(role));
            assert_eq!(BuiltinRole::from_ref(&role.id().to_string()), Some(role));
        }
        assert_eq!(BuiltinRole::SuperAdmin.id().to_string(), "000000000000000000000001");
        assert_eq!(BuiltinRole::from_ref("root"), None);
    }

    #[test]
    fn permission_table() {
        assert!(Permission::ALL.iter().all(|p| BuiltinRole::SuperAdmin.allows(*p)));
        assert!(!BuiltinRole::Admin.allows(Permission::CredentialManage));
        assert!(BuiltinRole::ReadOnlyAdmin.allows(Permission::UserRead));
        assert!(!BuiltinRole::ReadOnlyAdmin.allows(Permission::UserWrite));
        assert!(BuiltinRole::DirectoryAdmin.allows(Permission::InvitationWrite));
        assert!(!BuiltinRole::DirectoryAdmin.allows(Permission::AppWrite));
        assert_eq!(BuiltinRole::BasicUser.permissions().collect::<Vec<_>>(), vec![Permission::SelfRead]);
        assert!(BuiltinRole::ALL.iter().all(|r| r.allows(Permission::SelfRead)));
    }

    #[test]
    fn union_of_permissions() {
        let union = permissions_of(&[BuiltinRole::BasicUser, BuiltinRole::ReadOnlyAdmin]);
        assert!(union.contains(&Permission::AuditRead));
        assert!(!union.contains(&Permission::UserWrite));
    }
}
