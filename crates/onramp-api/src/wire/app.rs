//! The `c1.api.app.v1.App` wire form, the app input of create and update with its field mask, and the
//! `c1.api.app.v2.AppOwnerUser` form of an ownership.
//!
//! Input is checked field by field at this boundary; a refusal names the field. Unknown input fields are
//! ignored (as everywhere on this surface), and read-only fields a client echoes back from a read (`id`,
//! `createdAt`, `userCount`, ...) are ignored too, but naming one in an update mask is refused.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use onramp_domain::text::TextKind;
use onramp_domain::user::User;
use onramp_domain::{Id, Timestamp};
use onramp_store::{App, AppOwner, IdentityMatching};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::wire::checked_text;
use crate::wire::enums::{EnumName, IdentityMatchingEnum};
use crate::wire::user::{UserBody, user_json};

/// `c1.api.app.v1.App` in protojson. Scalars are always present, as in the user form; the 64-bit
/// `userCount` is a string. onramp records no grants, so `userCount` is always "0"; owners are read through
/// the owner API, so `appOwners` is left out. Fields are in the order of their JSON names.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppBody {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub app_account_id: &'static str,
    pub app_account_name: &'static str,
    pub certify_policy_id: String,
    pub created_at: Timestamp,
    pub default_request_catalog_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub description: String,
    pub display_name: String,
    pub enable_connector_sourced_ownership: bool,
    pub grant_policy_id: String,
    pub icon_url: String,
    pub id: Id,
    pub identity_matching: &'static str,
    pub instructions: String,
    pub is_directory: bool,
    pub is_manually_managed: bool,
    pub logo_uri: &'static str,
    pub monthly_cost_usd: i32,
    pub parent_app_id: &'static str,
    pub revoke_grant_sources: bool,
    pub revoke_policy_id: String,
    pub strict_access_entitlement_provisioning: bool,
    pub updated_at: Timestamp,
    /// An int64, so a string.
    #[schemars(extend("format" = "int64"))]
    pub user_count: &'static str,
}

/// The app in protojson.
pub fn app_json(app: &App) -> AppBody {
    AppBody {
        annotations: app.annotations.clone(),
        app_account_id: "",
        app_account_name: "",
        certify_policy_id: app.certify_policy_id.clone(),
        created_at: app.created_at,
        default_request_catalog_id: app.default_request_catalog_id.clone(),
        deleted_at: app.deleted_at,
        description: app.description.clone(),
        display_name: app.display_name.clone(),
        enable_connector_sourced_ownership: app.enable_connector_sourced_ownership,
        grant_policy_id: app.grant_policy_id.clone(),
        icon_url: app.icon_url.clone(),
        id: app.id,
        identity_matching: app.identity_matching.as_str(),
        instructions: app.instructions.clone(),
        is_directory: app.is_directory,
        is_manually_managed: app.is_manually_managed,
        logo_uri: "",
        monthly_cost_usd: app.monthly_cost_usd,
        parent_app_id: "",
        revoke_grant_sources: app.revoke_grant_sources,
        revoke_policy_id: app.revoke_policy_id.clone(),
        strict_access_entitlement_provisioning: app.strict_access_entitlement_provisioning,
        updated_at: app.updated_at,
        user_count: "0",
    }
}

/// `c1.api.app.v2.AppOwnerUser`: one user ownership with the owning user in full.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppOwnerUserBody {
    pub app_id: Id,
    pub created_at: Timestamp,
    pub role_slug: String,
    pub user: UserBody,
}

/// One user ownership with the owning user in full.
pub fn app_owner_user_json(owner: &AppOwner, user: &User) -> AppOwnerUserBody {
    AppOwnerUserBody {
        app_id: owner.app_id,
        created_at: owner.created_at,
        role_slug: owner.role_slug.as_str().to_string(),
        user: user_json(user),
    }
}

/// The writable app fields of `CreateAppRequest` and of the `app` of `UpdateAppRequest`, plus the create-only
/// owner lists. Absent and `null` are both None; the protobuf proto names (snake_case) are accepted too.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AppInput {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon_url: Option<String>,
    pub monthly_cost_usd: Option<i32>,
    pub grant_policy_id: Option<String>,
    pub revoke_policy_id: Option<String>,
    pub certify_policy_id: Option<String>,
    pub default_request_catalog_id: Option<String>,
    pub instructions: Option<String>,
    pub identity_matching: Option<EnumName<IdentityMatchingEnum>>,
    pub strict_access_entitlement_provisioning: Option<bool>,
    pub is_manually_managed: Option<bool>,
    pub revoke_grant_sources: Option<bool>,
    pub enable_connector_sourced_ownership: Option<bool>,
    pub annotations: Option<BTreeMap<String, String>>,
    /// Create only: the initial owners (user ids), under the `owner` slug.
    pub owners: Option<Vec<String>>,
    /// Create only: entitlement owners, which onramp does not support; refused when not empty.
    pub app_entitlement_owner_refs: Option<Vec<Value>>,
    /// Create only: connector matching, which onramp does not support; refused when set.
    pub match_baton_ref: Option<Value>,
}

/// A text field: its wire name, its input, its place in the app, whether it may span lines, and its longest
/// allowed length in characters.
type TextField = (&'static str, fn(&AppInput) -> &Option<String>, fn(&mut App) -> &mut String, TextKind, usize);

fn text_fields() -> [TextField; 8] {
    use TextKind::{MultiLine, OneLine};
    [
        ("displayName", |i| &i.display_name, |a| &mut a.display_name, OneLine, 256),
        ("description", |i| &i.description, |a| &mut a.description, MultiLine, 4096),
        ("iconUrl", |i| &i.icon_url, |a| &mut a.icon_url, OneLine, 2048),
        ("grantPolicyId", |i| &i.grant_policy_id, |a| &mut a.grant_policy_id, OneLine, 128),
        ("revokePolicyId", |i| &i.revoke_policy_id, |a| &mut a.revoke_policy_id, OneLine, 128),
        ("certifyPolicyId", |i| &i.certify_policy_id, |a| &mut a.certify_policy_id, OneLine, 128),
        (
            "defaultRequestCatalogId",
            |i| &i.default_request_catalog_id,
            |a| &mut a.default_request_catalog_id,
            OneLine,
            128,
        ),
        ("instructions", |i| &i.instructions, |a| &mut a.instructions, MultiLine, 8192),
    ]
}

type BoolField = (&'static str, fn(&AppInput) -> Option<bool>, fn(&mut App) -> &mut bool);

fn bool_fields() -> [BoolField; 4] {
    [
        (
            "strictAccessEntitlementProvisioning",
            |i| i.strict_access_entitlement_provisioning,
            |a| &mut a.strict_access_entitlement_provisioning,
        ),
        ("isManuallyManaged", |i| i.is_manually_managed, |a| &mut a.is_manually_managed),
        ("revokeGrantSources", |i| i.revoke_grant_sources, |a| &mut a.revoke_grant_sources),
        (
            "enableConnectorSourcedOwnership",
            |i| i.enable_connector_sourced_ownership,
            |a| &mut a.enable_connector_sourced_ownership,
        ),
    ]
}

/// Every path an update mask may name.
const UPDATABLE: [&str; 15] = [
    "displayName",
    "description",
    "iconUrl",
    "monthlyCostUsd",
    "grantPolicyId",
    "revokePolicyId",
    "certifyPolicyId",
    "defaultRequestCatalogId",
    "instructions",
    "identityMatching",
    "strictAccessEntitlementProvisioning",
    "isManuallyManaged",
    "revokeGrantSources",
    "enableConnectorSourcedOwnership",
    "annotations",
];

impl AppInput {
    /// The new app a create request describes, in `tenant_id`.
    pub fn into_new_app(&self, tenant_id: Id, now: Timestamp) -> ApiResult<App> {
        if self.display_name.as_deref().is_none_or(|name| name.trim().is_empty()) {
            return Err(ApiError::invalid_field("displayName", "is required"));
        }
        if self.app_entitlement_owner_refs.as_ref().is_some_and(|refs| !refs.is_empty()) {
            return Err(ApiError::invalid_field("appEntitlementOwnerRefs", "entitlement owners are not supported"));
        }
        if self.match_baton_ref.as_ref().is_some_and(|value| !value.is_null()) {
            return Err(ApiError::invalid_field("matchBatonRef", "connector matching is not supported"));
        }
        let mut app = App::new(tenant_id, "", now);
        self.apply(&mut app, &self.paths_set())?;
        Ok(app)
    }

    /// The initial owners of a create request, as ids.
    pub fn owner_ids(&self) -> ApiResult<Vec<Id>> {
        let owners = self.owners.iter().flatten().enumerate();
        owners.map(|(i, raw)| raw.parse().map_err(|e| ApiError::invalid_field(&format!("owners[{i}]"), e))).collect()
    }

    /// The updatable paths this input sets: what an update with an empty mask changes.
    pub fn paths_set(&self) -> Vec<&'static str> {
        let mut paths: Vec<&'static str> =
            text_fields().into_iter().filter(|(_, input, ..)| input(self).is_some()).map(|(name, ..)| name).collect();
        paths.extend(bool_fields().into_iter().filter(|(_, input, _)| input(self).is_some()).map(|(name, ..)| name));
        let others = [
            ("monthlyCostUsd", self.monthly_cost_usd.is_some()),
            ("identityMatching", self.identity_matching.is_some()),
            ("annotations", self.annotations.is_some()),
        ];
        paths.extend(others.into_iter().filter(|(_, set)| *set).map(|(name, _)| name));
        paths
    }

    /// Writes the masked fields into `app`. A masked field absent from the input is reset to its default, as
    /// protobuf field masks do; annotations merge instead (an empty value removes a key).
    pub fn apply(&self, app: &mut App, paths: &[&'static str]) -> ApiResult<()> {
        for (name, input, place, kind, max) in text_fields() {
            if paths.contains(&name) {
                let value = input(self).clone().unwrap_or_default();
                checked_text(name, &value, kind, max)?;
                *place(app) = value;
            }
        }
        if app.display_name.trim().is_empty() {
            return Err(ApiError::invalid_field("displayName", "must not be empty"));
        }
        for (name, input, place) in bool_fields() {
            if paths.contains(&name) {
                *place(app) = input(self).unwrap_or_default();
            }
        }
        if paths.contains(&"monthlyCostUsd") {
            app.monthly_cost_usd = self.monthly_cost_usd.unwrap_or_default();
            if app.monthly_cost_usd < 0 {
                return Err(ApiError::invalid_field("monthlyCostUsd", "must not be negative"));
            }
        }
        if paths.contains(&"identityMatching") {
            app.identity_matching = match self.identity_matching.as_deref() {
                None => IdentityMatching::Unspecified,
                Some(wire) => IdentityMatching::parse(wire)
                    .ok_or_else(|| ApiError::invalid_field("identityMatching", format!("unknown value {wire:?}")))?,
            };
        }
        if paths.contains(&"annotations") {
            for (key, value) in self.annotations.iter().flatten() {
                check_annotation(key, value)?;
                if value.is_empty() {
                    app.annotations.remove(key);
                } else {
                    app.annotations.insert(key.clone(), value.clone());
                }
            }
            check_annotations(&app.annotations)?;
        }
        Ok(())
    }
}

/// One annotation: the key `^[A-Za-z][A-Za-z0-9._/-]{0,127}$` and not under the reserved `c1/` prefix, the
/// value at most 256 characters of URL-safe ASCII.
fn check_annotation(key: &str, value: &str) -> ApiResult<()> {
    let field = format!("annotations[{key:?}]");
    let key_ok = key.len() <= 128
        && key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
    if !key_ok {
        return Err(ApiError::invalid_field(&field, "keys are a letter then up to 127 letters, digits or ._/-"));
    }
    if key.starts_with("c1/") {
        return Err(ApiError::invalid_field(&field, "keys starting with c1/ are reserved"));
    }
    let value_ok = value.len() <= 256
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b));
    if !value_ok {
        return Err(ApiError::invalid_field(&field, "values are up to 256 characters of URL-safe ASCII"));
    }
    Ok(())
}

/// The limits on the whole map, checked after a merge: at most 16 entries and 4096 bytes of JSON.
fn check_annotations(annotations: &BTreeMap<String, String>) -> ApiResult<()> {
    if annotations.len() > 16 {
        return Err(ApiError::invalid_field("annotations", "at most 16 entries"));
    }
    if serde_json::to_string(annotations).map_or(true, |text| text.len() > 4096) {
        return Err(ApiError::invalid_field("annotations", "at most 4096 bytes in all"));
    }
    Ok(())
}

/// The paths of an app update mask (see [`crate::wire::mask::parse_mask`]).
pub fn parse_mask(mask: &Value) -> ApiResult<Vec<&'static str>> {
    crate::wire::mask::parse_mask(mask, &UPDATABLE, "app")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A request body read as the server reads it (`extract::parse_json`: proto names too).
    fn input(value: Value) -> AppInput {
        crate::extract::parse_json(value.to_string().as_bytes()).unwrap()
    }

    fn id(n: u8) -> Id {
        format!("{n:024x}").parse().unwrap()
    }

    #[test]
    fn apps_and_owners_in_protojson() {
        let mut app = App::new(id(1), "Wiki", Timestamp::from_micros(0));
        app.id = id(2);
        app.monthly_cost_usd = 12;
        app.is_directory = true;
        app.identity_matching = IdentityMatching::Strict;
        let expected = json!({
            "id": "000000000000000000000002", "displayName": "Wiki", "description": "", "iconUrl": "",
            "logoUri": "", "monthlyCostUsd": 12, "grantPolicyId": "", "revokePolicyId": "", "certifyPolicyId": "",
            "defaultRequestCatalogId": "", "instructions": "",
            "identityMatching": "APP_USER_IDENTITY_MATCHING_STRICT", "strictAccessEntitlementProvisioning": false,
            "isManuallyManaged": app.is_manually_managed, "revokeGrantSources": false,
            "enableConnectorSourcedOwnership": false, "isDirectory": true, "appAccountId": "",
            "appAccountName": "", "parentAppId": "", "userCount": "0",
            "createdAt": "1970-01-01T00:00:00Z", "updatedAt": "1970-01-01T00:00:00Z",
        });
        assert_eq!(
            serde_json::to_string(&app_json(&app)).unwrap(),
            expected.to_string(),
            "no annotations, not deleted"
        );
        app.annotations.insert("managed_by".into(), "terraform".into());
        app.deleted_at = Some(Timestamp::from_micros(3_000_000));
        let mut expected = expected;
        expected["annotations"] = json!({"managed_by": "terraform"});
        expected["deletedAt"] = json!("1970-01-01T00:00:03Z");
        assert_eq!(serde_json::to_string(&app_json(&app)).unwrap(), expected.to_string());

        let user =
            User::new(id(1), onramp_domain::Email::parse("o@example.com").unwrap(), "O", Timestamp::from_micros(0));
        let owner = AppOwner {
            id: id(9),
            tenant_id: id(1),
            app_id: id(2),
            role_slug: onramp_store::RoleSlug::owner(),
            user_id: user.id,
            created_at: Timestamp::from_micros(4_000_000),
        };
        let expected = json!({
            "appId": "000000000000000000000002", "roleSlug": "owner",
            "user": crate::wire::user::user_json(&user), "createdAt": "1970-01-01T00:00:04Z",
        });
        assert_eq!(serde_json::to_string(&app_owner_user_json(&owner, &user)).unwrap(), expected.to_string());
    }

    #[test]
    fn masks() {
        assert_eq!(parse_mask(&json!("displayName, icon_url")).unwrap(), vec!["displayName", "iconUrl"]);
        assert_eq!(parse_mask(&json!({"paths": ["description"]})).unwrap(), vec!["description"]);
        assert!(parse_mask(&json!(null)).unwrap().is_empty());
        for bad in [json!("id"), json!("userCount"), json!("displayName,nope"), json!(5), json!({"paths": "x"})] {
            assert!(parse_mask(&bad).unwrap_err().message.contains("updateMask"), "{bad}");
        }
    }

    #[test]
    fn create_validates_field_by_field() {
        let now = Timestamp::now();
        let app = input(json!({"display_name": "Wiki", "monthlyCostUsd": 3, "identityMatching": "APP_USER_IDENTITY_MATCHING_STRICT", "annotations": {"managed_by": "terraform", "gone": ""}}))
            .into_new_app(Id::new(), now)
            .unwrap();
        assert_eq!(app.display_name, "Wiki");
        assert_eq!(app.monthly_cost_usd, 3);
        assert_eq!(app.identity_matching, IdentityMatching::Strict);
        assert_eq!(app.annotations.len(), 1, "an empty value is no annotation");
        for (body, field) in [
            (json!({}), "displayName"),
            (json!({"displayName": " "}), "displayName"),
            (json!({"displayName": "a", "identityMatching": "STRICT"}), "identityMatching"),
            (json!({"displayName": "a", "monthlyCostUsd": -1}), "monthlyCostUsd"),
            (json!({"displayName": "a", "annotations": {"c1/x": "y"}}), "annotations"),
            (json!({"displayName": "a", "annotations": {"1x": "y"}}), "annotations"),
            (json!({"displayName": "a", "annotations": {"x": "a b"}}), "annotations"),
            (json!({"displayName": "a", "appEntitlementOwnerRefs": [{}]}), "appEntitlementOwnerRefs"),
            (json!({"displayName": "x".repeat(257)}), "displayName"),
            (json!({"displayName": "Wiki\u{0}"}), "displayName"),
            (json!({"displayName": "Wiki", "iconUrl": "https://x.example/\n"}), "iconUrl"),
            (json!({"displayName": "Wiki", "description": "a\u{0}b"}), "description"),
            (json!({"displayName": "Wiki", "instructions": "a\rb"}), "instructions"),
        ] {
            let error = input(body.clone()).into_new_app(Id::new(), now).unwrap_err();
            assert!(error.message.contains(field), "{body}: {}", error.message);
        }
        let many: BTreeMap<String, String> = (0..17).map(|i| (format!("k{i}"), "v".to_string())).collect();
        assert!(input(json!({"displayName": "a", "annotations": many})).into_new_app(Id::new(), now).is_err());
    }

    #[test]
    fn update_resets_masked_absent_fields_and_merges_annotations() {
        let mut app = input(json!({"displayName": "Wiki", "description": "old", "annotations": {"a": "1", "b": "2"}}))
            .into_new_app(Id::new(), Timestamp::now())
            .unwrap();
        let change = input(json!({"displayName": "New", "annotations": {"a": "", "c": "3"}}));
        change.apply(&mut app, &["displayName", "description", "annotations"]).unwrap();
        assert_eq!(app.display_name, "New");
        assert_eq!(app.description, "", "masked but absent: reset");
        assert_eq!(app.annotations.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(change.paths_set(), vec!["displayName", "annotations"]);
    }
}
