//! A tenant's groups: the groups an identity provider pushes by SCIM (Okta's "Push groups", Entra ID's
//! group assignment) beside onramp's built-in roles, which SCIM also lists as groups.
//!
//! A group is a name and a set of users. Its name is unique in its tenant without case (and is never a
//! role's name: that name binds the IdP's group to the role), its `externalId` unique when it has one.

use crate::{Id, Timestamp};

/// The longest group name.
pub const MAX_GROUP_NAME: usize = 256;

/// A tenant's group and its members (live users of the tenant, in id order).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: Id,
    pub tenant_id: Id,
    pub display_name: String,
    /// The identity provider's own id of the group (SCIM `externalId`).
    pub external_id: Option<String>,
    pub member_ids: Vec<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Group {
    /// The form of a name its uniqueness is judged by: trimmed, without case.
    pub fn name_key(name: &str) -> String {
        name.trim().to_lowercase()
    }
}

/// A group a user belongs to, as the user's SCIM `groups` attribute and the console list it.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub user_id: Id,
    pub group_id: Id,
    pub display_name: String,
}
