//! `/scim/v2/Users`: create, get, replace, patch, delete and list with a filter, over the core's user
//! use cases (so a provisioned user is in the search index at once, and every write is audited and one
//! transaction).
//!
//! A list's `userName eq`, `externalId eq` and `emails eq` (alone, or as one side of an `and`) are index
//! lookups; any other filter is evaluated on the users in id order, a page of the store at a time.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use onramp_domain::user::User;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::user_map::{UserFields, user_resource, version_of};
use super::{ScimCaller, ScimResponse, base_url, check_if_match, json_body, no_content, resource_id};
use crate::scim::attributes::{ResourceSchema, USER_RESOURCE};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::Filter;
use crate::scim::list::{ListResponse, Page, SearchRequest};
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::state::AppState;

/// How many users the store reads at a time when a filter is evaluated on every user.
const SCAN_PAGE: u32 = 1000;

/// The query of a list (RFC 7644 §3.4.2): every parameter as text, parsed by the SCIM parts.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ListQuery {
    /// A SCIM filter (`userName eq "bjensen"`).
    pub filter: Option<String>,
    /// 1-based index of the first result.
    pub start_index: Option<String>,
    /// Most results on the page.
    pub count: Option<String>,
    /// Attributes to return (comma-separated).
    pub attributes: Option<String>,
    /// Attributes to leave out (comma-separated).
    pub excluded_attributes: Option<String>,
    /// Accepted and ignored: results are in id (creation) order.
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
}

/// A list being answered: its query parsed for one resource type, then every resource offered to it in
/// order; it counts the ones the filter matches and keeps, projected, those on the requested page.
pub struct Listing {
    schema: &'static ResourceSchema,
    filter: Option<Filter>,
    page: Page,
    projection: Projection,
    total: usize,
    resources: Vec<Value>,
}

impl Listing {
    pub fn parse(query: &ListQuery, schema: &'static ResourceSchema) -> ScimResult<Listing> {
        Ok(Listing {
            schema,
            filter: query.filter.as_deref().map(|text| Filter::parse_for(text, schema)).transpose()?,
            page: Page::parse(query.start_index.as_deref(), query.count.as_deref(), super::MAX_RESULTS)?,
            projection: Projection::parse(query.attributes.as_deref(), query.excluded_attributes.as_deref(), schema)?,
            total: 0,
            resources: Vec::new(),
        })
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Counts `resource` if the filter matches it, and keeps it if it falls on the page.
    pub fn offer(&mut self, resource: &Value) {
        if self.filter.as_ref().is_some_and(|filter| !filter.matches(resource, self.schema)) {
            return;
        }
        let offset = self.page.offset();
        if (offset..offset.saturating_add(self.page.count)).contains(&self.total) {
            self.resources.push(self.projection.apply(resource, self.schema));
        }
        self.total += 1;
    }

    pub fn response(self) -> ScimResponse {
        ScimResponse::ok(ListResponse::new(self.total, self.page, self.resources).body())
    }
}

impl ListQuery {
    /// The query of a `POST .../.search` (RFC 7644 §3.4.3), whose body carries the list's parameters.
    pub fn of_search(body: &Bytes) -> ScimResult<ListQuery> {
        let request = SearchRequest::parse(&json_body(body)?, super::MAX_RESULTS)?;
        Ok(ListQuery {
            filter: request.filter,
            start_index: Some(request.page.start_index.to_string()),
            count: Some(request.page.count.to_string()),
            attributes: request.attributes,
            excluded_attributes: request.excluded_attributes,
            ..ListQuery::default()
        })
    }
}

/// `POST /Users/.search`: a list of users, its query in the body.
pub async fn search_users(state: State<AppState>, caller: ScimCaller, body: Bytes) -> ScimResult<ScimResponse> {
    list_users(state, caller, Query(ListQuery::of_search(&body)?)).await
}

/// `POST /.search` at the root, which would search Users and Groups at once: not offered (501), as RFC
/// 7644 §3.4.3 allows; `/Users/.search` and `/Groups/.search` are.
pub async fn search_all(_caller: ScimCaller) -> ScimResult<ScimResponse> {
    Err(ScimError::not_implemented(
        "searching several resource types at once is not supported: POST /Users/.search or /Groups/.search",
    ))
}

/// `attributes`/`excludedAttributes` of a single-resource request.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectionQuery {
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

/// The SCIM Users of `users`, each with its `groups` (its role-groups and the tenant's groups it is in).
async fn user_resources(state: &AppState, caller: &ScimCaller, users: &[User]) -> ScimResult<Vec<Value>> {
    let base = base_url(state);
    let mut groups = super::groups::groups_of_users(state, caller, users).await?;
    Ok(users
        .iter()
        .map(|user| {
            let mut resource = user_resource(user, &base);
            if let Some(groups) = groups.remove(&user.id).filter(|groups| !groups.is_empty()) {
                resource["groups"] = Value::Array(groups);
            }
            resource
        })
        .collect())
}

async fn one_user_resource(state: &AppState, caller: &ScimCaller, user: &User) -> ScimResult<Value> {
    let mut resources = user_resources(state, caller, std::slice::from_ref(user)).await?;
    Ok(resources.pop().unwrap_or_default())
}

async fn live_user(state: &AppState, caller: &ScimCaller, raw_id: &str) -> ScimResult<User> {
    let id = resource_id("User", raw_id)?;
    let user = state.core.get_user(&caller.0, &id).await?;
    if user.deleted_at.is_some() {
        return Err(ScimError::not_found(format!("User {raw_id} not found")));
    }
    Ok(user)
}

pub async fn create_user(State(state): State<AppState>, caller: ScimCaller, body: Bytes) -> ScimResult<ScimResponse> {
    let fields = UserFields::parse(&json_body(&body)?)?;
    let connection = caller.0.credential_id;
    let user =
        state.core.create_user(&caller.0, |tenant_id, now| Ok(fields.new_user(tenant_id, now, &connection))).await?;
    Ok(ScimResponse::created(one_user_resource(&state, &caller, &user).await?))
}

pub async fn get_user(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    Query(query): Query<ProjectionQuery>,
) -> ScimResult<ScimResponse> {
    let user = live_user(&state, &caller, &id).await?;
    let resource = one_user_resource(&state, &caller, &user).await?;
    let projection =
        Projection::parse(query.attributes.as_deref(), query.excluded_attributes.as_deref(), &USER_RESOURCE)?;
    Ok(ScimResponse::ok(projection.apply(&resource, &USER_RESOURCE)))
}

/// Replaces the user `id` with `fields`, if `If-Match` (when sent) names its version.
async fn replace(
    state: &AppState,
    caller: &ScimCaller,
    headers: &HeaderMap,
    id: &str,
    fields: impl FnOnce(&User) -> ScimResult<UserFields>,
) -> ScimResult<ScimResponse> {
    let before = live_user(state, caller, id).await?;
    check_if_match(headers, &version_of(&before))?;
    let fields = fields(&before)?;
    let connection = caller.0.credential_id;
    let expected = before.updated_at;
    let updated = state
        .core
        .update_user(&caller.0, &before.id, |user| {
            // The core read the user again: a write in between is the ETag's mismatch.
            if user.updated_at != expected {
                return Err(onramp_core::CoreError::new(onramp_core::Code::Aborted, "precondition"));
            }
            fields.apply(user, &connection);
            Ok(())
        })
        .await
        .map_err(|error| {
            if error.code == onramp_core::Code::Aborted && headers.contains_key(axum::http::header::IF_MATCH) {
                ScimError::precondition_failed("the user changed since the version If-Match names")
            } else {
                ScimError::from(error)
            }
        })?;
    Ok(ScimResponse::ok(one_user_resource(state, caller, &updated).await?))
}

pub async fn replace_user(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<ScimResponse> {
    let body = json_body(&body)?;
    replace(&state, &caller, &headers, &id, |_| UserFields::parse(&body)).await
}

pub async fn patch_user(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<ScimResponse> {
    let body = json_body(&body)?;
    let base = base_url(&state);
    replace(&state, &caller, &headers, &id, |before| {
        let resource =
            PatchRequest::parse(&body, &USER_RESOURCE)?.apply(&user_resource(before, &base), &USER_RESOURCE)?;
        Ok(UserFields::parse(&resource)?.patched())
    })
    .await
}

pub async fn delete_user(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let user = live_user(&state, &caller, &id).await?;
    check_if_match(&headers, &version_of(&user))?;
    state.core.delete_user(&caller.0, &user.id).await?;
    Ok(no_content())
}

/// The `attr eq "value"` an index can answer, on its own or as one side of an `and`.
fn lookup(filter: &Filter) -> Option<(&'static str, &str)> {
    if let Some((path, value)) = filter.equality() {
        let is_email = path.is("emails")
            || (path.name.eq_ignore_ascii_case("emails")
                && path.sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("value")));
        return if path.is("userName") {
            Some(("userName", value))
        } else if path.is("externalId") {
            Some(("externalId", value))
        } else if is_email {
            Some(("emails", value))
        } else {
            None
        };
    }
    match filter {
        Filter::And(left, right) => lookup(left).or_else(|| lookup(right)),
        _ => None,
    }
}

/// The users an index finds for `attribute eq value` (the filter is still applied to them after).
async fn looked_up(state: &AppState, caller: &ScimCaller, attribute: &str, value: &str) -> ScimResult<Vec<User>> {
    let core = &state.core;
    Ok(match attribute {
        "userName" => core.users_by_user_name(&caller.0, value).await?,
        "externalId" => core.user_by_external_id(&caller.0, value).await?.into_iter().collect(),
        _ => core.user_by_primary_email(&caller.0, value).await?.into_iter().collect(),
    })
}

pub async fn list_users(
    State(state): State<AppState>,
    caller: ScimCaller,
    Query(query): Query<ListQuery>,
) -> ScimResult<ScimResponse> {
    let mut listing = Listing::parse(&query, &USER_RESOURCE)?;
    // The email index holds primary emails only: `emails eq` a secondary address finds nobody there and
    // is answered by the scan.
    let found = match listing.filter().and_then(lookup) {
        Some((attribute, value)) => {
            let users = looked_up(&state, &caller, attribute, value).await?;
            (attribute != "emails" || !users.is_empty()).then_some(users)
        }
        None => None,
    };
    if let Some(users) = found {
        for resource in user_resources(&state, &caller, &users).await? {
            listing.offer(&resource);
        }
    } else {
        let mut after = None;
        loop {
            let users = state.core.list_users(&caller.0, after.as_ref(), SCAN_PAGE).await?;
            for resource in user_resources(&state, &caller, &users).await? {
                listing.offer(&resource);
            }
            match users.last() {
                Some(last) if users.len() == SCAN_PAGE as usize => after = Some(last.id),
                _ => break,
            }
        }
    }
    Ok(listing.response())
}
