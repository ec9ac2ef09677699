//! A tenant's groups: those an identity provider pushes by SCIM beside the built-in roles (which SCIM
//! lists as groups of their own, read from the users that hold them). Reading needs `user:read`; making,
//! changing and deleting a group, whose members are users, needs `user:write`. A group confers nothing:
//! only roles do, so changing a group's members is not a change of any user's access.

use onramp_domain::group::{Group, MAX_GROUP_NAME, Membership};
use onramp_domain::{BuiltinRole, Id, Permission, Timestamp};
use onramp_store::StoreError;

use crate::error::{CoreError, CoreResult};
use crate::invitations::one_line;
use crate::{Code, Core, Principal};

/// The answer to a store error about group `id`.
fn group_error(id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("group {id}")),
        StoreError::Conflict { constraint: "scim_groups_concurrent_update" } => {
            CoreError::new(Code::Aborted, "the group changed while this request ran; read it again and retry")
        }
        other => other.into(),
    }
}

/// A group's name and `externalId`, checked: one line each, the name not empty and not a role's name
/// (which names the role's group).
fn checked(mut group: Group) -> CoreResult<Group> {
    group.display_name = one_line("displayName", Some(&group.display_name), MAX_GROUP_NAME)?;
    if group.display_name.is_empty() {
        return Err(CoreError::invalid_field("displayName", "must not be empty"));
    }
    if let Some(role) = BuiltinRole::ALL.into_iter().find(|role| role.name().eq_ignore_ascii_case(&group.display_name))
    {
        return Err(CoreError::new(
            Code::AlreadyExists,
            format!("displayName {:?} is the name of the built-in role's group", role.name()),
        ));
    }
    group.external_id = match group.external_id.as_deref() {
        Some(external_id) => Some(one_line("externalId", Some(external_id), MAX_GROUP_NAME)?),
        None => None,
    }
    .filter(|external_id| !external_id.is_empty());
    Ok(group)
}

impl Core {
    /// The caller's tenant's group `id`, with its live members (`user:read`).
    pub async fn group(&self, caller: &Principal, id: &Id) -> CoreResult<Group> {
        caller.require(Permission::UserRead)?;
        self.store.get_group(&caller.tenant_id, id).await.map_err(group_error(id))
    }

    /// The caller's tenant's groups in id order, after `after` (`user:read`).
    pub async fn list_groups(&self, caller: &Principal, after: Option<&Id>, limit: u32) -> CoreResult<Vec<Group>> {
        caller.require(Permission::UserRead)?;
        Ok(self.store.list_groups(&caller.tenant_id, after, limit).await?)
    }

    /// Makes a group of the caller's tenant named `display_name` with the members `member_ids`, live users
    /// of the tenant (`user:write`). A name or `externalId` another group has is ALREADY_EXISTS.
    pub async fn create_group(
        &self,
        caller: &Principal,
        display_name: &str,
        external_id: Option<String>,
        member_ids: Vec<Id>,
    ) -> CoreResult<Group> {
        caller.require(Permission::UserWrite)?;
        let now = Timestamp::now();
        let group = checked(Group {
            id: Id::new(),
            tenant_id: caller.tenant_id,
            display_name: display_name.to_string(),
            external_id,
            member_ids,
            created_at: now,
            updated_at: now,
        })?;
        let id = group.id;
        self.write(self.store.create_group(&caller.actor(), &group)).await.map_err(group_error(&id))
    }

    /// Writes `after` (name, `externalId`, members) over the group `before` (`user:write`), if nobody
    /// changed it since `before` was read (ABORTED otherwise). Answers it as written.
    pub async fn update_group(&self, caller: &Principal, before: &Group, after: Group) -> CoreResult<Group> {
        caller.require(Permission::UserWrite)?;
        let after =
            checked(Group { id: before.id, tenant_id: before.tenant_id, created_at: before.created_at, ..after })?;
        self.write(self.store.update_group(&caller.actor(), before, &after)).await.map_err(group_error(&before.id))
    }

    /// Deletes the group `before` and its memberships (`user:write`), if nobody changed it since it was
    /// read (ABORTED otherwise).
    pub async fn delete_group(&self, caller: &Principal, before: &Group) -> CoreResult<()> {
        caller.require(Permission::UserWrite)?;
        self.write(self.store.delete_group(&caller.actor(), before)).await.map_err(group_error(&before.id))
    }

    /// The groups the users `user_ids` of the caller's tenant belong to, by user (`user:read`).
    pub async fn memberships_of(&self, caller: &Principal, user_ids: &[Id]) -> CoreResult<Vec<Membership>> {
        caller.require(Permission::UserRead)?;
        Ok(self.store.memberships_of(&caller.tenant_id, user_ids).await?)
    }
}
