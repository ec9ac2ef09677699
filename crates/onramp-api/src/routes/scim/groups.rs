//! `/scim/v2/Groups`: onramp's built-in roles as SCIM groups, and beside them the tenant's own groups,
//! which an identity provider makes, renames, fills and deletes (see ARCHITECTURE.md for why both).
//!
//! The five role-groups have the roles' fixed ids and names, and their members are the users that hold the
//! role; they are not made or unmade: a POST whose `displayName` is a role's name (or id) binds the IdP's
//! group to the role (201 with the role, its members granted), a DELETE takes the role from every member
//! (204; the role stays), and their `displayName` cannot change (`mutability`). A POST with any other
//! name makes a group of the tenant's (201), whose name and `externalId` are unique in the tenant (409
//! `uniqueness`), which PUT and PATCH rename and re-member, and DELETE deletes with its memberships.
//! Membership changes (PATCH add/remove/replace of `members`, or PUT) are one transaction for all the
//! users they touch; a role-group's are each under the core's rule of user changes (a connection grants
//! only roles within its own).
//!
//! A user's `groups` (readOnly) lists its role-groups and its groups, by [`groups_of_users`].

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::IF_MATCH;
use axum::response::Response;
use onramp_core::Code;
use onramp_domain::group::Group;
use onramp_domain::user::User;
use onramp_domain::{BuiltinRole, Id};
use onramp_search::Query as SearchQuery;
use serde_json::{Value, json};

use super::users::{ListQuery, Listing, ProjectionQuery};
use super::{ScimCaller, ScimResponse, base_url, check_if_match, json_body, no_content, resource_id};
use crate::scim::attributes::{GROUP_RESOURCE, GROUP_SCHEMA};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::state::AppState;

/// How many members the search index answers at a time.
const MEMBER_PAGE: usize = 1000;

/// How many groups, or users, are read from the store at a time.
const STORE_PAGE: usize = 500;

/// How many times a change without `If-Match` is tried again when another request changed the group
/// between its read and its write.
const RETRIES: usize = 3;

/// The group a path names: a role's, or one of the tenant's.
enum Target {
    Role(BuiltinRole),
    Group(Group),
}

async fn target(state: &AppState, caller: &ScimCaller, raw: &str) -> ScimResult<Target> {
    let id = resource_id("Group", raw)?;
    if let Some(role) = BuiltinRole::from_id(&id) {
        return Ok(Target::Role(role));
    }
    match state.core.group(&caller.0, &id).await {
        Ok(group) => Ok(Target::Group(group)),
        Err(error) if error.code == Code::NotFound => Err(ScimError::not_found(format!("Group {raw} not found"))),
        Err(error) => Err(error.into()),
    }
}

/// The role a group's `displayName` (or id) names, without case, if any.
fn role_named(name: &str) -> Option<BuiltinRole> {
    BuiltinRole::ALL
        .into_iter()
        .find(|role| role.name().eq_ignore_ascii_case(name.trim()) || role.id().to_string() == name.trim())
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
    let users = users_by_ids(state, caller, &ids).await?;
    Ok(users.into_iter().filter(|user| user.deleted_at.is_none() && user.role_ids.contains(&role.id())).collect())
}

/// The users `ids`, a store page at a time.
async fn users_by_ids(state: &AppState, caller: &ScimCaller, ids: &[Id]) -> ScimResult<Vec<User>> {
    let mut users = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(STORE_PAGE) {
        users.extend(state.core.users_by_ids(&caller.0, chunk).await?);
    }
    Ok(users)
}

/// A role-group's version: a digest of its members, so that a membership change is a new ETag.
fn role_version(members: &[User]) -> String {
    let mut hasher = DefaultHasher::new();
    for member in members {
        member.id.to_string().hash(&mut hasher);
    }
    format!("W/\"{:016x}\"", hasher.finish())
}

/// A group's version: its `updatedAt`, which every change of the group (and of its members) moves on.
fn group_version(group: &Group) -> String {
    format!("W/\"{}\"", group.updated_at.micros())
}

/// A group's `members`: `value`, `$ref` and `type`, the sub-attributes of RFC 7643 §8.7.1 (a `display`
/// that a client sends is not kept).
fn member_values<'a>(members: impl IntoIterator<Item = &'a Id>, base: &str) -> Vec<Value> {
    members
        .into_iter()
        .map(|id| json!({"value": id.to_string(), "type": "User", "$ref": format!("{base}/Users/{id}")}))
        .collect()
}

fn role_resource(role: BuiltinRole, members: &[User], base: &str) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": role.id().to_string(),
        "displayName": role.name(),
        "members": member_values(members.iter().map(|user| &user.id), base),
        "meta": {
            "resourceType": "Group",
            "location": format!("{base}/Groups/{}", role.id()),
            "version": role_version(members),
        },
    })
}

/// The SCIM Group of one of the tenant's groups.
fn group_resource(group: &Group, base: &str) -> Value {
    let mut resource = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id.to_string(),
        "displayName": group.display_name,
        "members": member_values(&group.member_ids, base),
        "meta": {
            "resourceType": "Group",
            "created": group.created_at.to_rfc3339(),
            "lastModified": group.updated_at.to_rfc3339(),
            "location": format!("{base}/Groups/{}", group.id),
            "version": group_version(group),
        },
    });
    if let Some(external_id) = &group.external_id {
        resource["externalId"] = json!(external_id);
    }
    resource
}

/// The groups of each of `users`, as their SCIM `groups`: the role-groups of the roles each holds, then
/// the tenant's groups it belongs to, by name.
pub async fn groups_of_users(
    state: &AppState,
    caller: &ScimCaller,
    users: &[User],
) -> ScimResult<HashMap<Id, Vec<Value>>> {
    let base = base_url(state);
    let reference = |id: &Id, display: &str| {
        let location = format!("{base}/Groups/{id}");
        json!({"value": id.to_string(), "display": display, "type": "direct", "$ref": location})
    };
    let mut groups: HashMap<Id, Vec<Value>> = users
        .iter()
        .map(|user| {
            let roles = BuiltinRole::ALL
                .into_iter()
                .filter(|role| user.role_ids.contains(&role.id()))
                .map(|role| reference(&role.id(), role.name()))
                .collect();
            (user.id, roles)
        })
        .collect();
    let ids: Vec<Id> = users.iter().map(|user| user.id).collect();
    for membership in state.core.memberships_of(&caller.0, &ids).await? {
        if let Some(listed) = groups.get_mut(&membership.user_id) {
            listed.push(reference(&membership.group_id, &membership.display_name));
        }
    }
    Ok(groups)
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

/// A group resource's `displayName`, which a group must have.
fn display_name(resource: &Value) -> ScimResult<&str> {
    match resource.get("displayName") {
        Some(Value::String(name)) => Ok(name),
        None | Some(Value::Null) => Err(ScimError::invalid_value("displayName is required")),
        Some(_) => Err(ScimError::invalid_value("displayName must be a string")),
    }
}

/// A group resource's `externalId`, if it has one.
fn external_id(resource: &Value) -> ScimResult<Option<String>> {
    match resource.get("externalId") {
        Some(Value::String(external_id)) => Ok(Some(external_id.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(ScimError::invalid_value("externalId must be a string")),
    }
}

/// A role-group's `displayName` must stay its role's name.
fn check_role_name(resource: &Value, role: BuiltinRole) -> ScimResult<()> {
    match resource.get("displayName").and_then(Value::as_str) {
        Some(name) if !name.eq_ignore_ascii_case(role.name()) => Err(ScimError::mutability(format!(
            "displayName of the group {} is the role's name and cannot change",
            role.name()
        ))),
        _ => Ok(()),
    }
}

/// Makes the members of `role` exactly `wanted`, in one transaction; answers the group.
async fn set_role_members(
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
    Ok(role_resource(role, &members, &base_url(state)))
}

/// Writes over the group `id` the resource `change` makes of its current one, if `If-Match` (when sent)
/// names its version. Without `If-Match`, a change that lost a race with another request's is made again
/// on the group as that one left it.
async fn change_group(
    state: &AppState,
    caller: &ScimCaller,
    headers: &HeaderMap,
    mut before: Group,
    change: impl Fn(&Value) -> ScimResult<Value>,
) -> ScimResult<ScimResponse> {
    let base = base_url(state);
    let mut attempts = 0;
    loop {
        check_if_match(headers, &group_version(&before))?;
        let changed = change(&group_resource(&before, &base))?;
        let after = Group {
            display_name: display_name(&changed)?.to_string(),
            external_id: external_id(&changed)?,
            member_ids: member_ids(&changed)?.into_iter().collect(),
            ..before.clone()
        };
        match state.core.update_group(&caller.0, &before, after).await {
            Ok(group) => return Ok(ScimResponse::ok(group_resource(&group, &base_url(state)))),
            Err(error) if error.code == Code::Aborted && headers.contains_key(IF_MATCH) => {
                return Err(ScimError::precondition_failed("the group changed since the version If-Match names"));
            }
            Err(error) if error.code == Code::Aborted && attempts < RETRIES => {
                attempts += 1;
                before = match target(state, caller, &before.id.to_string()).await? {
                    Target::Group(group) => group,
                    Target::Role(_) => return Err(ScimError::not_found(format!("Group {} not found", before.id))),
                };
            }
            Err(error) => return Err(error.into()),
        }
    }
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
        listing.offer(&role_resource(role, &members, &base));
    }
    let mut after = None;
    loop {
        let groups = state.core.list_groups(&caller.0, after.as_ref(), STORE_PAGE as u32).await?;
        for group in &groups {
            listing.offer(&group_resource(group, &base));
        }
        match groups.last() {
            Some(last) if groups.len() == STORE_PAGE => after = Some(last.id),
            _ => break,
        }
    }
    Ok(listing.response())
}

/// `POST /Groups/.search`: a list of groups, its query in the body.
pub async fn search_groups(state: State<AppState>, caller: ScimCaller, body: Bytes) -> ScimResult<ScimResponse> {
    list_groups(state, caller, Query(ListQuery::of_search(&body)?)).await
}

pub async fn get_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    Query(query): Query<ProjectionQuery>,
) -> ScimResult<ScimResponse> {
    let projection =
        Projection::parse(query.attributes.as_deref(), query.excluded_attributes.as_deref(), &GROUP_RESOURCE)?;
    let resource = match target(&state, &caller, &id).await? {
        Target::Role(role) => role_resource(role, &members_of(&state, &caller, role).await?, &base_url(&state)),
        Target::Group(group) => group_resource(&group, &base_url(&state)),
    };
    Ok(ScimResponse::ok(projection.apply(&resource, &GROUP_RESOURCE)))
}

pub async fn create_group(State(state): State<AppState>, caller: ScimCaller, body: Bytes) -> ScimResult<ScimResponse> {
    let body = json_body(&body)?;
    let name = display_name(&body)?;
    let Some(role) = role_named(name) else {
        let members = member_ids(&body)?.into_iter().collect();
        let group = state.core.create_group(&caller.0, name, external_id(&body)?, members).await?;
        return Ok(ScimResponse::created(group_resource(&group, &base_url(&state))));
    };
    let current = members_of(&state, &caller, role).await?;
    let mut wanted: BTreeSet<Id> = current.iter().map(|user| user.id).collect();
    wanted.extend(member_ids(&body)?);
    let group = set_role_members(&state, &caller, role, &current, &wanted).await?;
    Ok(ScimResponse::created(group))
}

pub async fn replace_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<ScimResponse> {
    let body = json_body(&body)?;
    match target(&state, &caller, &id).await? {
        Target::Role(role) => {
            let current = members_of(&state, &caller, role).await?;
            check_if_match(&headers, &role_version(&current))?;
            check_role_name(&body, role)?;
            let wanted = member_ids(&body)?;
            Ok(ScimResponse::ok(set_role_members(&state, &caller, role, &current, &wanted).await?))
        }
        Target::Group(group) => change_group(&state, &caller, &headers, group, |_| Ok(body.clone())).await,
    }
}

pub async fn patch_group(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<ScimResponse> {
    let mut body = json_body(&body)?;
    without_null_member_keys(&mut body);
    let patch = PatchRequest::parse(&body, &GROUP_RESOURCE)?;
    match target(&state, &caller, &id).await? {
        Target::Role(role) => {
            let current = members_of(&state, &caller, role).await?;
            check_if_match(&headers, &role_version(&current))?;
            let patched = patch.apply(&role_resource(role, &current, &base_url(&state)), &GROUP_RESOURCE)?;
            check_role_name(&patched, role)?;
            let wanted = member_ids(&patched)?;
            Ok(ScimResponse::ok(set_role_members(&state, &caller, role, &current, &wanted).await?))
        }
        Target::Group(group) => {
            change_group(&state, &caller, &headers, group, |current| patch.apply(current, &GROUP_RESOURCE)).await
        }
    }
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
    match target(&state, &caller, &id).await? {
        Target::Role(role) => {
            let current = members_of(&state, &caller, role).await?;
            check_if_match(&headers, &role_version(&current))?;
            set_role_members(&state, &caller, role, &current, &BTreeSet::new()).await?;
        }
        Target::Group(group) => {
            check_if_match(&headers, &group_version(&group))?;
            state.core.delete_group(&caller.0, &group).await.map_err(|error| {
                if error.code == Code::Aborted && headers.contains_key(IF_MATCH) {
                    ScimError::precondition_failed("the group changed since the version If-Match names")
                } else {
                    ScimError::from(error)
                }
            })?;
        }
    }
    Ok(no_content())
}
