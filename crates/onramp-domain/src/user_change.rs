//! Who may change a user: the one rule every write of an existing user by a caller obeys (the user API's
//! update and delete, an onboarding step that writes the profile, an onboard's completion granting roles).
//!
//! The principle is that nobody changes what they could not have set:
//! - a role is added or removed only by a caller who may grant it ([`BuiltinRole::grantable_by`]), so an
//!   admin can neither make nor unmake a super-admin;
//! - a user who holds super-admin is changed, disabled or deleted only by a super-admin, since anything
//!   else would let a lesser caller undo (or rename, or re-enable) what only a super-admin could set up.
//!
//! A separate rule keeps a tenant governable: its last enabled super-admin cannot be demoted, disabled or
//! deleted. That one depends on every other user of the tenant, so the store enforces it inside the writing
//! transaction; [`removes_enabled_super_admin`] tells it when to look.

use crate::role::BuiltinRole;
use crate::user::{User, UserStatus};

/// Why a caller may not make a change to a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserChangeRefusal {
    /// The user holds super-admin and the caller is not a super-admin.
    SuperAdminTarget,
    /// The change adds a role the caller may not grant.
    RoleAdded(BuiltinRole),
    /// The change removes a role the caller may not grant.
    RoleRemoved(BuiltinRole),
}

impl UserChangeRefusal {
    /// The sentence a refused caller reads.
    pub fn message(self) -> String {
        match self {
            UserChangeRefusal::SuperAdminTarget => {
                "permission denied: only a super-admin may change, disable or delete a super-admin".into()
            }
            UserChangeRefusal::RoleAdded(role) => format!(
                "permission denied: roleIds adds the role {}, which has permissions you do not have",
                role.name()
            ),
            UserChangeRefusal::RoleRemoved(role) => format!(
                "permission denied: roleIds removes the role {}, which has permissions you do not have",
                role.name()
            ),
        }
    }
}

/// Whether the user holds `role`.
pub fn holds(user: &User, role: BuiltinRole) -> bool {
    user.role_ids.contains(&role.id())
}

/// Checks that a caller holding `caller` may replace `before` with `after`, or delete it when `after` is
/// None. An update that changes nothing is always allowed. Which permission the operation itself needs
/// (user:write, onboarding:write) is the caller's to check; this is the rule about the user.
pub fn check_user_change(caller: &[BuiltinRole], before: &User, after: Option<&User>) -> Result<(), UserChangeRefusal> {
    if after == Some(before) {
        return Ok(());
    }
    if holds(before, BuiltinRole::SuperAdmin) && !caller.contains(&BuiltinRole::SuperAdmin) {
        return Err(UserChangeRefusal::SuperAdminTarget);
    }
    let Some(after) = after else { return Ok(()) };
    let roles = |user: &User| user.role_ids.iter().filter_map(BuiltinRole::from_id).collect::<Vec<_>>();
    let (old, new) = (roles(before), roles(after));
    if let Some(added) = new.iter().find(|role| !old.contains(role) && !role.grantable_by(caller)) {
        return Err(UserChangeRefusal::RoleAdded(*added));
    }
    if let Some(removed) = old.iter().find(|role| !new.contains(role) && !role.grantable_by(caller)) {
        return Err(UserChangeRefusal::RoleRemoved(*removed));
    }
    Ok(())
}

/// Whether `user` is an enabled super-admin.
pub fn is_enabled_super_admin(user: &User) -> bool {
    user.status == UserStatus::Enabled && holds(user, BuiltinRole::SuperAdmin)
}

/// Whether replacing `before` with `after` (None: deleting it) leaves one enabled super-admin fewer; then
/// the writer must make sure another enabled super-admin remains in the tenant.
pub fn removes_enabled_super_admin(before: &User, after: Option<&User>) -> bool {
    is_enabled_super_admin(before) && !after.is_some_and(is_enabled_super_admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Email, Id, Timestamp};

    fn user(roles: &[BuiltinRole]) -> User {
        let mut user = User::new(Id::new(), Email::parse("u@example.com").unwrap(), "U", Timestamp::now());
        user.role_ids = roles.iter().map(|role| role.id()).collect();
        user
    }

    #[test]
    fn a_super_admin_is_changed_only_by_a_super_admin() {
        let root = user(&[BuiltinRole::SuperAdmin]);
        let mut renamed = root.clone();
        renamed.display_name = "Renamed".into();
        let admin = [BuiltinRole::Admin];
        assert_eq!(check_user_change(&admin, &root, Some(&renamed)), Err(UserChangeRefusal::SuperAdminTarget));
        assert_eq!(check_user_change(&admin, &root, None), Err(UserChangeRefusal::SuperAdminTarget));
        assert_eq!(check_user_change(&admin, &root, Some(&root)), Ok(()), "no change, nothing to refuse");
        assert_eq!(check_user_change(&[BuiltinRole::SuperAdmin], &root, None), Ok(()));
    }

    #[test]
    fn removing_a_role_obeys_the_rule_of_granting_it() {
        let admin_user = user(&[BuiltinRole::Admin, BuiltinRole::BasicUser]);
        let demoted = user(&[BuiltinRole::BasicUser]);
        let demoted = User { id: admin_user.id, ..demoted };
        let directory_admin = [BuiltinRole::DirectoryAdmin];
        assert_eq!(
            check_user_change(&directory_admin, &admin_user, Some(&demoted)),
            Err(UserChangeRefusal::RoleRemoved(BuiltinRole::Admin))
        );
        assert_eq!(check_user_change(&[BuiltinRole::Admin], &admin_user, Some(&demoted)), Ok(()));
        let promoted = User { role_ids: vec![BuiltinRole::SuperAdmin.id()], ..demoted.clone() };
        assert_eq!(
            check_user_change(&[BuiltinRole::Admin], &demoted, Some(&promoted)),
            Err(UserChangeRefusal::RoleAdded(BuiltinRole::SuperAdmin))
        );
    }

    #[test]
    fn what_takes_an_enabled_super_admin_away() {
        let root = user(&[BuiltinRole::SuperAdmin]);
        let disabled = User { status: UserStatus::Disabled, ..root.clone() };
        let demoted = User { role_ids: Vec::new(), ..root.clone() };
        let renamed = User { display_name: "R".into(), ..root.clone() };
        assert!(removes_enabled_super_admin(&root, Some(&disabled)));
        assert!(removes_enabled_super_admin(&root, Some(&demoted)));
        assert!(removes_enabled_super_admin(&root, None));
        assert!(!removes_enabled_super_admin(&root, Some(&renamed)));
        assert!(!removes_enabled_super_admin(&disabled, None), "a disabled one is not counted");
    }
}
