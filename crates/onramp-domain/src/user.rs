//! The user and the enums of its ConductorOne wire form.

use crate::{Email, Id, Timestamp};

/// Generates an enum whose variants map one-to-one to wire strings, with parsing that refuses unknown
/// values (the server rejects unknown enum values on input; clients accept them on output).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(
    /// `status` and `directoryStatus` of a user.
    UserStatus { Unknown => "UNKNOWN", Enabled => "ENABLED", Disabled => "DISABLED", Deleted => "DELETED" }
);

wire_enum!(
    UserType {
        Unspecified => "USER_TYPE_UNSPECIFIED",
        System => "USER_TYPE_SYSTEM",
        Human => "USER_TYPE_HUMAN",
        Service => "USER_TYPE_SERVICE",
        Agent => "USER_TYPE_AGENT",
    }
);

wire_enum!(
    UserOrigin {
        Unspecified => "USER_ORIGIN_UNSPECIFIED",
        Directory => "USER_ORIGIN_DIRECTORY",
        Local => "USER_ORIGIN_LOCAL",
        System => "USER_ORIGIN_SYSTEM",
    }
);

/// Where one attribute value came from: which app account's profile attribute supplied it, through which
/// attribute mapping. Lists of sources are ordered by `priority`, lowest first; `sources[0]` is the winner.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeSource {
    #[serde(default)]
    pub app_id: String,
    #[serde(default)]
    pub app_user_id: String,
    #[serde(default)]
    pub app_user_profile_attribute_key: String,
    #[serde(default)]
    pub user_attribute_mapping_id: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub priority: i32,
}

/// The nine provenance lists of the ConductorOne user, one per mapped attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sources {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub department_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directory_status_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employee_id_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employment_status_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employment_type_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub job_title_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manager_sources: Vec<AttributeSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub username_sources: Vec<AttributeSource>,
}

impl Sources {
    /// Orders every list by priority (stable, so equal priorities keep their given order).
    pub fn normalize(&mut self) {
        for list in [
            &mut self.department_sources,
            &mut self.directory_status_sources,
            &mut self.email_sources,
            &mut self.employee_id_sources,
            &mut self.employment_status_sources,
            &mut self.employment_type_sources,
            &mut self.job_title_sources,
            &mut self.manager_sources,
            &mut self.username_sources,
        ] {
            list.sort_by_key(|source| source.priority);
        }
    }
}

/// A user: the ConductorOne user object in domain terms.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: Id,
    pub tenant_id: Id,
    /// The primary email, always the first of `emails`; unique in the tenant among users that are not
    /// deleted. `None` for a user with no email at all (SCIM makes `emails` optional: a service account, or
    /// a person an HR system provisions before they have an address); such a user cannot sign in by email
    /// or be mailed.
    pub email: Option<Email>,
    /// Every email of the user, the primary first; empty exactly when `email` is `None`.
    pub emails: Vec<Email>,
    pub display_name: String,
    pub status: UserStatus,
    pub directory_status: UserStatus,
    pub user_type: UserType,
    pub origin: UserOrigin,
    pub role_ids: Vec<Id>,
    pub manager_ids: Vec<Id>,
    pub delegated_user_id: Option<Id>,
    pub directory_ids: Vec<Id>,
    pub department: String,
    pub job_title: String,
    pub employment_status: String,
    pub employment_type: String,
    pub usernames: Vec<String>,
    pub employee_ids: Vec<String>,
    /// Free-form profile attributes (a protobuf `Struct`).
    pub profile: serde_json::Map<String, serde_json::Value>,
    pub sources: Sources,
    /// The id a provisioning identity provider gives this user (SCIM `externalId`); unique in the tenant
    /// among users that are not deleted.
    pub external_id: Option<String>,
    /// The SCIM User attributes onramp does not map onto its own fields (`nickName`, `phoneNumbers`, the
    /// enterprise `costCenter`, each email's `type` and `display`, ...), kept as the identity provider sent
    /// them so that SCIM returns what it stored (RFC 7643 §2), and under `$unassigned` the mapped attributes
    /// (`displayName`, `active`) a SCIM PATCH removed. Only the SCIM API reads and writes them; the
    /// ConductorOne API never shows them.
    pub scim_attributes: serde_json::Map<String, serde_json::Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl User {
    /// A new enabled human user with nothing but an email (or none) and a display name.
    pub fn new(
        tenant_id: Id,
        email: impl Into<Option<Email>>,
        display_name: impl Into<String>,
        now: Timestamp,
    ) -> Self {
        let email = email.into();
        User {
            id: Id::new(),
            tenant_id,
            emails: email.iter().cloned().collect(),
            email,
            display_name: display_name.into(),
            status: UserStatus::Enabled,
            directory_status: UserStatus::Enabled,
            user_type: UserType::Human,
            origin: UserOrigin::Unspecified,
            role_ids: Vec::new(),
            manager_ids: Vec::new(),
            delegated_user_id: None,
            directory_ids: Vec::new(),
            department: String::new(),
            job_title: String::new(),
            employment_status: String::new(),
            employment_type: String::new(),
            usernames: Vec::new(),
            employee_ids: Vec::new(),
            profile: serde_json::Map::new(),
            sources: Sources::default(),
            external_id: None,
            scim_attributes: serde_json::Map::new(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    /// The primary email as text, `""` for a user without one (the ConductorOne wire form of an absent
    /// string, and the store's).
    pub fn email_str(&self) -> &str {
        self.email.as_ref().map_or("", Email::as_str)
    }

    /// Makes `emails` the user's emails, the first the primary (none: the user has no email).
    pub fn set_emails(&mut self, emails: Vec<Email>) {
        self.email = emails.first().cloned();
        self.emails = emails;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_unknown_is_refused() {
        for status in UserStatus::ALL {
            assert_eq!(UserStatus::parse(status.as_str()), Some(*status));
        }
        for origin in UserOrigin::ALL {
            assert_eq!(UserOrigin::parse(origin.as_str()), Some(*origin));
        }
        assert_eq!(UserType::parse("USER_TYPE_ROBOT"), None);
        assert_eq!(UserStatus::parse("enabled"), None);
    }

    #[test]
    fn sources_are_ordered_by_priority() {
        let source = |value: &str, priority| AttributeSource {
            app_id: String::new(),
            app_user_id: String::new(),
            app_user_profile_attribute_key: String::new(),
            user_attribute_mapping_id: String::new(),
            value: value.into(),
            priority,
        };
        let mut sources =
            Sources { job_title_sources: vec![source("b", 5), source("a", 1), source("c", 5)], ..Sources::default() };
        sources.normalize();
        let values: Vec<_> = sources.job_title_sources.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(values, ["a", "b", "c"]);
    }
}
