//! `/scim/v2/Groups`: onramp's built-in roles as SCIM groups, and a group's members as the users that hold
//! the role (see ARCHITECTURE.md for why roles rather than directories).
//!
//! The groups are the five roles, so they are not made or unmade: a POST names a role by its name (or id)
//! and binds the IdP's group to it (201 with the role, its members granted), a DELETE takes the role from
//! every member (204; the role stays), and `displayName` cannot change (`mutability`). Membership changes
//! (PATCH add/remove/replace of `members`, or PUT) are one transaction for all the users they touch, each
//! under the core's rule of user changes (a connection grants only roles within its own).

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use onramp_domain::user::User;
use onramp_domain::{BuiltinRole, Id};
use onramp_search::Query as SearchQuery;
use serde_json::{Value, json};

use super::users::{ListQuery, Listing, ProjectionQuery};
use super::{ScimCaller, ScimResponse, base_url, check_if_match, json_body, no_content};
use crate::scim::attributes::{GROUP_RESOURCE, GROUP_SCHEMA};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::state::AppState;

/// How many members the search index answers at a time.
const MEMBER_PAGE: usize = 1000;

fn role_of(raw: &str) -> ScimResult<BuiltinRole> {
    raw.parse::<Id>()
        .ok()
        .and_then(|id| BuiltinRole::from_id(&id))
        .ok_or_else(|| ScimError::not_found(format!("Group {raw} not found")))
}

/// The role a group's `displayName` (or id) names, without case.
fn role_named(name: &str) -> ScimResult<BuiltinRole> {
    BuiltinRole::ALL
        .into_iter()
        .find(|role| role.name().eq_ignore_ascii_case(name.trim()) || role.id().to_string() == name.trim())
        .ok_or_else(|| {
            let names: Vec<&str> = BuiltinRole::ALL.iter().map(|role| role.name()).collect();
            ScimError::invalid_value(format!(
                "displayName {name:?} names no group: onramp's groups are its roles ({})",
                names.join(", ")
            ))
        })
}

/// The live users that hold `role`, in id order.
async fn members_of(state: &AppState, caller: &ScimCaller, role: BuiltinRole) -> ScimResult<Vec<User>> {
    let query = SearchQuery { role_ids: vec![role.id()], ..SearchQuery::default() };
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = state.core.search_users(&caller.0, &query, after, MEMBER_PAGE).await?;
        ids.extend(page.hits.iter().map(|hit| hit.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    ids.sort();
    let users = state.core.users_by_ids(&caller.0, &ids).await?;
    Ok(users.into_iter().filter(|user| user.deleted_at.is_none() && user.role_ids.contains(&role.id())).collect())
}

/// A group's version: a digest of its members, so that a membership change is a new ETag.
fn version_of(members: &[User]) -> String {
    let mut hasher = DefaultHasher::new();
    for member in members {
        member.id.to_string().hash(&mut hasher);
    }
    format!("W/\"{:016x}\"", hasher.finish())
}

fn group_resource(role: BuiltinRole, members: &[User], base: &str) -> Value {
    let listed: Vec<Value> = members
        .iter()
        .map(|user| {
            json!({
                "value": user.id.to_string(),
                "display": user.display_name,
                "type": "User",
                "$ref": format!("{base}/Users/{}", user.id),
            })
        })
        .collect();
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": role.id().to_string(),
        "displayName": role.name(),
        "members": listed,
        "meta": {
            "resourceType": "Group",
            "location": format!("{base}/Groups/{}", role.id()),
            "version": version_of(members),
        },
    })
}

/// The user ids of a group resource's `members`.
fn member_ids(resource: &Value) -> ScimResult<BTreeSet<Id>> {
    let Some(members) = resource.get("members").filter(|members| !members.is_null()) else {
        return Ok(BTreeSet::new());
    };
    let members = members.as_array().ok_or_else(|| ScimError::invalid_value("members must be an array"))?;
    members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            let value = member
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| ScimError::invalid_value(format!("members[{index}].value must be the id of a user")))?;
            value.parse::<Id>().map_err(|_| {
                ScimError::invalid_value(format!("members[{index}].value {value:?} is not the id of a user"))
            })
        })
        .collect()
}

/// The group's `displayName` must stay its role's name.
fn check_display_name(resource: &Value, role: BuiltinRole) -> ScimResult<()> {
    match resource.get("displayName").and_then(Value::as_str) {
        Some(name) if !name.eq_ignore_ascii_case(role.name()) => Err(ScimError::mutability(format!(
            "displayName of the group {} is the role's name and cannot change",
            role.name()
        ))),
        _ => Ok(()),
    }
}

/// Makes the members of `role` exactly `wanted`, in one transaction; answers the group.
async fn set_members(
    state: &AppState,
    caller: &ScimCaller,
    role: BuiltinRole,
    current: &[User],
    wanted: &BTreeSet<Id>,
) -> ScimResult<Value> {
    let held: BTreeSet<Id> = current.iter().map(|user| user.id).collect();
    let touched: Vec<Id> = held.symmetric_difference(wanted).copied().collect();
    if !touched.is_empty() {
        let role_id = role.id();
        state
            .core
            .update_users(&caller.0, "members", &touched, |user| {
                if wanted.contains(&user.id) {
                    if !user.role_ids.contains(&role_id) {
                        user.role_ids.push(role_id);
                    }
                } else {
                    user.role_ids.retain(|id| *id != role_id);
                }
            })
            .await?;
    }
    let members = members_of(state, caller, role).await?;
    Ok(group_resource(role, &members, &base_url(state)))
}

pub async fn list_groups(
    State(state): State<AppState>,
    caller: ScimCaller,
    Query(query): Query<ListQuery>,
) -> ScimResult<ScimResponse> {
    let mut listing = Listing::parse(&query, &GROUP_RESOURCE)?;
    let base = base_url(&state);
    for role in BuiltinRole::ALL {
        let members = members_of(&state, &caller, role).await?;
        listing.offer(&group_resource(role, &members, &base));
    }
    Ok(listing.response())
}

pub async fn get_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    Query(query): Query<ProjectionQuery>,
) -> ScimResult<ScimResponse> {
    let role = role_of(&id)?;
    let members = members_of(&state, &caller, role).await?;
    let projection =
        Projection::parse(query.attributes.as_deref(), query.excluded_attributes.as_deref(), &GROUP_RESOURCE)?;
    Ok(ScimResponse::ok(projection.apply(&group_resource(role, &members, &base_url(&state)), &GROUP_RESOURCE)))
}

pub async fn create_group(State(state): State<AppState>, caller: ScimCaller, body: Bytes) -> ScimResult<ScimResponse> {
    let body = json_body(&body)?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let role = role_named(name)?;
    let current = members_of(&state, &caller, role).await?;
    let mut wanted: BTreeSet<Id> = current.iter().map(|user| user.id).collect();
    wanted.extend(member_ids(&body)?);
    let group = set_members(&state, &caller, role, &current, &wanted).await?;
    Ok(ScimResponse::created(group))
}

pub async fn replace_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<ScimResponse> {
    let role = role_of(&id)?;
    let body = json_body(&body)?;
    let current = members_of(&state, &caller, role).await?;
    check_if_match(&headers, &version_of(&current))?;
    check_display_name(&body, role)?;
    let wanted = member_ids(&body)?;
    Ok(ScimResponse::ok(set_members(&state, &caller, role, &current, &wanted).await?))
}

pub async fn patch_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<ScimResponse> {
    let role = role_of(&id)?;
    let mut body = json_body(&body)?;
    without_null_member_keys(&mut body);
    let current = members_of(&state, &caller, role).await?;
    check_if_match(&headers, &version_of(&current))?;
    let patched = PatchRequest::parse(&body, &GROUP_RESOURCE)?
        .apply(&group_resource(role, &current, &base_url(&state)), &GROUP_RESOURCE)?;
    check_display_name(&patched, role)?;
    let wanted = member_ids(&patched)?;
    Ok(ScimResponse::ok(set_members(&state, &caller, role, &current, &wanted).await?))
}

/// Drops the `null` keys of the member objects an operation lists: Entra ID removes members by listing
/// `{"$ref": null, "value": "<id>"}`, where `null` means "not given" (RFC 7643 §2.5), so only `value`
/// must match.
fn without_null_member_keys(body: &mut Value) {
    let Some(operations) = body.as_object_mut().and_then(|body| {
        body.iter_mut().find(|(key, _)| key.eq_ignore_ascii_case("Operations")).map(|(_, operations)| operations)
    }) else {
        return;
    };
    for operation in operations.as_array_mut().into_iter().flatten() {
        let Some(Value::Array(values)) = operation.get_mut("value") else { continue };
        for member in values.iter_mut().filter_map(Value::as_object_mut) {
            member.retain(|_, value| !value.is_null());
        }
    }
}

pub async fn delete_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let role = role_of(&id)?;
    let current = members_of(&state, &caller, role).await?;
    check_if_match(&headers, &version_of(&current))?;
    set_members(&state, &caller, role, &current, &BTreeSet::new()).await?;
    Ok(no_content())
}
