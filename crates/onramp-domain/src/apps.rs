//! The records of apps and app ownerships, and the two small value types they need: the identity-matching
//! enum and the validated role slug of an ownership.

use std::collections::BTreeMap;

use crate::{Id, Timestamp};

/// An app (`c1.api.app.v1.App`) as onramp keeps it: the writable attributes of a manual app, without a
/// connector. Policies and the request catalog are opaque references onramp stores but does not resolve.
#[derive(Clone, Debug, PartialEq)]
pub struct App {
    pub id: Id,
    pub tenant_id: Id,
    pub display_name: String,
    pub description: String,
    pub icon_url: String,
    pub monthly_cost_usd: i32,
    pub grant_policy_id: String,
    pub revoke_policy_id: String,
    pub certify_policy_id: String,
    pub default_request_catalog_id: String,
    pub instructions: String,
    pub identity_matching: IdentityMatching,
    pub strict_access_entitlement_provisioning: bool,
    pub is_manually_managed: bool,
    pub revoke_grant_sources: bool,
    pub enable_connector_sourced_ownership: bool,
    /// Set for apps that back a local directory; not writable through the app API.
    pub is_directory: bool,
    pub annotations: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl App {
    /// A new manual app with every optional attribute empty.
    pub fn new(tenant_id: Id, display_name: impl Into<String>, now: Timestamp) -> App {
        App {
            id: Id::new(),
            tenant_id,
            display_name: display_name.into(),
            description: String::new(),
            icon_url: String::new(),
            monthly_cost_usd: 0,
            grant_policy_id: String::new(),
            revoke_policy_id: String::new(),
            certify_policy_id: String::new(),
            default_request_catalog_id: String::new(),
            instructions: String::new(),
            identity_matching: IdentityMatching::Unspecified,
            strict_access_entitlement_provisioning: false,
            is_manually_managed: true,
            revoke_grant_sources: false,
            enable_connector_sourced_ownership: false,
            is_directory: false,
            annotations: BTreeMap::new(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }
}

/// `App.identityMatching`: how app users are matched to directory users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityMatching {
    Unspecified,
    Strict,
    DisplayName,
    Custom,
}

impl IdentityMatching {
    pub const ALL: [IdentityMatching; 4] = [
        IdentityMatching::Unspecified,
        IdentityMatching::Strict,
        IdentityMatching::DisplayName,
        IdentityMatching::Custom,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            IdentityMatching::Unspecified => "APP_USER_IDENTITY_MATCHING_UNSPECIFIED",
            IdentityMatching::Strict => "APP_USER_IDENTITY_MATCHING_STRICT",
            IdentityMatching::DisplayName => "APP_USER_IDENTITY_MATCHING_DISPLAY_NAME",
            IdentityMatching::Custom => "APP_USER_IDENTITY_MATCHING_CUSTOM",
        }
    }

    /// The value with this wire name; None for anything else (the server refuses unknown enum values).
    pub fn parse(wire: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.as_str() == wire)
    }
}

/// The role under which a user owns an app (`owner`, `technical-owner`): 1 to 64 lowercase ASCII letters,
/// digits and dashes, neither starting nor ending with a dash. Slugs appear in URL paths, so the rule keeps
/// them free of anything that would need escaping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 64 lowercase letters, digits and dashes, not starting or ending with a dash")]
pub struct RoleSlugError;

impl RoleSlug {
    /// The slug under which the v1 app-owner API reads and writes owners.
    pub const OWNER: &'static str = "owner";

    pub fn parse(text: &str) -> Result<RoleSlug, RoleSlugError> {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        let valid = (1..=64).contains(&text.len())
            && text.bytes().all(allowed)
            && !text.starts_with('-')
            && !text.ends_with('-');
        if valid { Ok(RoleSlug(text.to_string())) } else { Err(RoleSlugError) }
    }

    /// The `owner` slug of the v1 API.
    pub fn owner() -> RoleSlug {
        RoleSlug(Self::OWNER.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoleSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One user ownership of an app under one role slug (`c1.api.app.v2.AppOwnerUser` without the user).
#[derive(Clone, Debug, PartialEq)]
pub struct AppOwner {
    /// The ownership's own id: owner lists page by it, so they follow creation order.
    pub id: Id,
    pub tenant_id: Id,
    pub app_id: Id,
    pub role_slug: RoleSlug,
    pub user_id: Id,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_slugs() {
        for good in ["owner", "technical-owner", "a", "tier-2", "0"] {
            assert_eq!(RoleSlug::parse(good).unwrap().as_str(), good);
        }
        let too_long = "a".repeat(65);
        for bad in ["", "Owner", "owner!", "-owner", "owner-", "tech owner", "tech_owner", "ö", too_long.as_str()] {
            assert!(RoleSlug::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RoleSlug::owner().as_str(), RoleSlug::OWNER);
    }

    #[test]
    fn identity_matching_round_trips_and_refuses_unknown_values() {
        for value in IdentityMatching::ALL {
            assert_eq!(IdentityMatching::parse(value.as_str()), Some(value));
        }
        assert_eq!(IdentityMatching::parse("STRICT"), None);
    }
}
