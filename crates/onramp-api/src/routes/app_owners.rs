//! App owners, v1 and v2, over one store of ownerships: (app, role slug, user).
//!
//! How the two views map onto each other:
//! - v2 is the model: a user owns an app under a role slug (`owner`, `technical-owner`), may hold several
//!   slugs on one app, and creating an ownership that exists is a 409 (AlreadyExists).
//! - a v1 "owner" is exactly a v2 ownership with the slug `owner`. v1 list, ownerids, add, remove and set
//!   read and write that slug only, so `GET /api/v1/apps/{app_id}/ownerids` and
//!   `GET /api/v2/apps/{app_id}/owners/users?role_slug=owner` always name the same users.
//! - v1 `DELETE /api/v1/apps/{app_id}/owners` takes `{"userIds": [...]}` ("deletes the owners from a given
//!   app", `DeleteAppOwnersRequest.user_ids`): it removes those users' `owner` ownerships, skipping users
//!   that are not owners, and leaves other slugs alone. It does not clear the app: v1 cannot see other
//!   slugs, so it does not remove them. An empty list removes nothing.
//! - v1 add is idempotent (adding an owner again changes nothing and succeeds, as the v1 API promises only
//!   "a status code indicating success"); v1 remove of a user that is not an owner is a 404, like v2 delete.
//! - v2 set (`PUT /api/v2/apps/{app_id}/owners`) replaces the user owners of the one slug in the body;
//!   entitlement owners are not supported, so a non-empty `appEntitlementRefs` is refused.
//!
//! A user whose status is DELETED owns nothing: it is left out of lists, and naming it is a 404 as for an
//! unknown user. Every change writes one audit event per ownership (`app_owner.create`/`app_owner.delete`).
//! The use cases and their authorization are the core's (`onramp_core::apps`).

use crate::openapi::{ApiRouter, Doc};
use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::Id;
use onramp_domain::user::User;
use onramp_store::{AppOwner, RoleSlug};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

use super::path_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::app::{AppOwnerUserBody, app_owner_user_json};
use crate::wire::user::UserBody;
use crate::wire::user::user_json;
use crate::wire::{Empty, ListBody};

/// The v1 and v2 owner routes, merged into the main router. The v2 entitlement-owner operations are not
/// served.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/api/v1/apps/{app_id}/owners",
            list_v1,
            Doc::c1("c1.api.app.v1.AppOwners.List").ok::<ListBody<UserBody>>(),
        )
        .put(
            "/api/v1/apps/{app_id}/owners",
            set_v1,
            Doc::c1("c1.api.app.v1.AppOwners.Set").body::<UserIdsRequest>().ok::<Empty>(),
        )
        .delete(
            "/api/v1/apps/{app_id}/owners",
            delete_v1,
            Doc::c1("c1.api.app.v1.AppOwners.Delete").body::<UserIdsRequest>().ok::<Empty>(),
        )
        .post("/api/v1/apps/{app_id}/owners/{user_id}", add_v1, Doc::c1("c1.api.app.v1.AppOwners.Add").ok::<Empty>())
        .delete(
            "/api/v1/apps/{app_id}/owners/{user_id}",
            remove_v1,
            Doc::c1("c1.api.app.v1.AppOwners.Remove").ok::<Empty>(),
        )
        .get(
            "/api/v1/apps/{app_id}/ownerids",
            owner_ids,
            Doc::c1("c1.api.app.v1.AppOwners.ListOwnerIDs").ok::<UserIdsBody>(),
        )
        .put(
            "/api/v2/apps/{app_id}/owners",
            set_v2,
            Doc::c1("c1.api.app.v2.AppOwners.Set").body::<SetV2Request>().ok::<Empty>(),
        )
        .get(
            "/api/v2/apps/{app_id}/owners/users",
            search_user_owners,
            Doc::c1("c1.api.app.v2.AppOwners.SearchUserOwners").ok::<ListBody<AppOwnerUserBody>>(),
        )
        .get(
            "/api/v2/apps/{app_id}/owners/users/{role_slug}/{user_ref_id}",
            get_user_owner,
            Doc::c1("c1.api.app.v2.AppOwners.GetUserOwner").ok::<AppOwnerUserResponse>(),
        )
        .post(
            "/api/v2/apps/{app_id}/owners/users/{role_slug}/{user_ref_id}",
            create_user_owner,
            Doc::c1("c1.api.app.v2.AppOwners.CreateUserOwner").body::<UserRefRequest>().ok::<AppOwnerUserResponse>(),
        )
        .delete(
            "/api/v2/apps/{app_id}/owners/users/{role_slug}/{user_ref_id}",
            delete_user_owner,
            Doc::c1("c1.api.app.v2.AppOwners.DeleteUserOwner").body::<UserRefRequest>().ok::<Empty>(),
        )
}

fn parse_slug(name: &str, raw: &str) -> ApiResult<RoleSlug> {
    RoleSlug::parse(raw).map_err(|error| ApiError::invalid_field(name, error))
}

/// The ids of a list field, naming the element at fault (`userIds[2]`).
fn parse_ids(field: &str, raw: &[String]) -> ApiResult<Vec<Id>> {
    raw.iter()
        .enumerate()
        .map(|(i, text)| text.parse().map_err(|error| ApiError::invalid_field(&format!("{field}[{i}]"), error)))
        .collect()
}

/// `{ "userIds": [...] }` of `GET /api/v1/apps/{app_id}/ownerids`.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserIdsBody {
    user_ids: Vec<String>,
}

/// `{ "appOwnerUser": ... }` of the v2 user-owner get and create.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppOwnerUserResponse {
    app_owner_user: AppOwnerUserBody,
}

#[derive(Deserialize, JsonSchema)]
pub struct ListParams {
    page_size: Option<i64>,
    page_token: Option<String>,
    role_slug: Option<String>,
}

/// `GET /api/v1/apps/{app_id}/owners`: the `owner`-slug owners as users, paged.
pub async fn list_v1(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<UserBody>>> {
    let app_id = path_id("app_id", &app_id)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["app_owners.v1.list", &caller.tenant_id.to_string(), &app_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let slug = RoleSlug::owner();
    let mut owners = state.core.list_app_owners(&caller, &app_id, Some(&slug), after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut owners, size, |owner| owner.id);
    let users = state.core.app_owner_users(&caller, &owners).await?;
    Ok(Json(ListBody { list: users.iter().map(user_json).collect(), next_page_token: next }))
}

/// `GET /api/v1/apps/{app_id}/ownerids`: every `owner`-slug owner's id, unpaged as in the spec.
pub async fn owner_ids(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
) -> ApiResult<Json<UserIdsBody>> {
    let app_id = path_id("app_id", &app_id)?;
    let ids = state.core.app_owner_ids(&caller, &app_id).await?;
    Ok(Json(UserIdsBody { user_ids: ids.iter().map(Id::to_string).collect() }))
}

/// `POST /api/v1/apps/{app_id}/owners/{user_id}`: makes the user an `owner`; idempotent.
pub async fn add_v1(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    let user_id = path_id("user_id", &user_id)?;
    state.core.add_app_owner(&caller, &app_id, &user_id).await?;
    Ok(Json(Empty {}))
}

/// `DELETE /api/v1/apps/{app_id}/owners/{user_id}`: removes the user's `owner` ownership.
pub async fn remove_v1(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    let user_id = path_id("user_id", &user_id)?;
    state.core.delete_app_owner(&caller, &app_id, &RoleSlug::owner(), &user_id).await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UserIdsRequest {
    user_ids: Option<Vec<String>>,
}

/// `PUT /api/v1/apps/{app_id}/owners`: the `owner`-slug owners become exactly `userIds`.
pub async fn set_v1(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiJson(request): ApiJson<UserIdsRequest>,
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    let user_ids = parse_ids("userIds", request.user_ids.as_deref().unwrap_or_default())?;
    state.core.set_app_owners(&caller, &app_id, &RoleSlug::owner(), &user_ids).await?;
    Ok(Json(Empty {}))
}

/// `DELETE /api/v1/apps/{app_id}/owners`: removes the listed users' `owner` ownerships (see the module doc).
pub async fn delete_v1(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiJson(request): ApiJson<UserIdsRequest>,
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    let user_ids = parse_ids("userIds", request.user_ids.as_deref().unwrap_or_default())?;
    state.core.remove_app_owners(&caller, &app_id, &RoleSlug::owner(), &user_ids).await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct UserRef {
    id: Option<String>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRefRequest {
    user_ref: Option<UserRef>,
}

/// The three path parameters of a v2 user ownership, parsed and checked against the body's `userRef`, which
/// repeats the user and must agree with the path when given.
fn ownership_path(raw: (String, String, String), body: Option<&UserRefRequest>) -> ApiResult<(Id, RoleSlug, Id)> {
    let (app_id, role_slug, user_ref_id) = raw;
    let app_id = path_id("app_id", &app_id)?;
    let slug = parse_slug("role_slug", &role_slug)?;
    let user_id = path_id("user_ref_id", &user_ref_id)?;
    let body_id = body.and_then(|body| body.user_ref.as_ref()).and_then(|user_ref| user_ref.id.as_deref());
    if body_id.is_some_and(|id| !id.is_empty() && id.parse::<Id>().ok() != Some(user_id)) {
        return Err(ApiError::invalid_field("userRef.id", "must be the user of the path"));
    }
    Ok((app_id, slug, user_id))
}

fn ownership_response((owner, user): (AppOwner, User)) -> ApiResult<Json<AppOwnerUserResponse>> {
    Ok(Json(AppOwnerUserResponse { app_owner_user: app_owner_user_json(&owner, &user) }))
}

/// `POST /api/v2/apps/{app_id}/owners/users/{role_slug}/{user_ref_id}` (CreateUserOwner).
pub async fn create_user_owner(
    State(state): State<AppState>,
    caller: Principal,
    Path(raw): Path<(String, String, String)>,
    ApiJson(request): ApiJson<UserRefRequest>,
) -> ApiResult<Json<AppOwnerUserResponse>> {
    let (app_id, slug, user_id) = ownership_path(raw, Some(&request))?;
    ownership_response(state.core.create_app_owner(&caller, &app_id, &slug, &user_id).await?)
}

/// `GET /api/v2/apps/{app_id}/owners/users/{role_slug}/{user_ref_id}` (GetUserOwner).
pub async fn get_user_owner(
    State(state): State<AppState>,
    caller: Principal,
    Path(raw): Path<(String, String, String)>,
) -> ApiResult<Json<AppOwnerUserResponse>> {
    let (app_id, slug, user_id) = ownership_path(raw, None)?;
    ownership_response(state.core.get_app_owner(&caller, &app_id, &slug, &user_id).await?)
}

/// `DELETE /api/v2/apps/{app_id}/owners/users/{role_slug}/{user_ref_id}` (DeleteUserOwner).
pub async fn delete_user_owner(
    State(state): State<AppState>,
    caller: Principal,
    Path(raw): Path<(String, String, String)>,
    ApiJson(request): ApiJson<UserRefRequest>,
) -> ApiResult<Json<Empty>> {
    let (app_id, slug, user_id) = ownership_path(raw, Some(&request))?;
    state.core.delete_app_owner(&caller, &app_id, &slug, &user_id).await?;
    Ok(Json(Empty {}))
}

/// `GET /api/v2/apps/{app_id}/owners/users` (SearchUserOwners): ownerships of every slug, or of
/// `role_slug`, in creation order, paged.
pub async fn search_user_owners(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<AppOwnerUserBody>>> {
    let app_id = path_id("app_id", &app_id)?;
    let slug = params.role_slug.as_deref().filter(|raw| !raw.is_empty()).map(|raw| parse_slug("role_slug", raw));
    let slug = slug.transpose()?;
    let size = page_size("page_size", params.page_size)?;
    let slug_part = slug.as_ref().map(RoleSlug::as_str).unwrap_or("*");
    let tenant = caller.tenant_id.to_string();
    let query = fingerprint(&["app_owners.v2.search", &tenant, &app_id.to_string(), slug_part]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut owners =
        state.core.list_app_owners(&caller, &app_id, slug.as_ref(), after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut owners, size, |owner| owner.id);
    let users = state.core.app_owner_users(&caller, &owners).await?;
    let list = owners
        .iter()
        .filter_map(|owner| users.iter().find(|user| user.id == owner.user_id).map(|user| (owner, user)))
        .map(|(owner, user)| app_owner_user_json(owner, user))
        .collect();
    Ok(Json(ListBody { list, next_page_token: next }))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SetV2Request {
    role_slug: Option<String>,
    user_refs: Option<Vec<Option<UserRef>>>,
    app_entitlement_refs: Option<Vec<Value>>,
}

/// `PUT /api/v2/apps/{app_id}/owners` (Set): the user owners under `roleSlug` become exactly `userRefs`.
pub async fn set_v2(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiJson(request): ApiJson<SetV2Request>,
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    let slug = match request.role_slug.as_deref() {
        None | Some("") => return Err(ApiError::invalid_field("roleSlug", "is required")),
        Some(raw) => parse_slug("roleSlug", raw)?,
    };
    if request.app_entitlement_refs.as_ref().is_some_and(|refs| !refs.is_empty()) {
        return Err(ApiError::invalid_field("appEntitlementRefs", "entitlement owners are not supported"));
    }
    let user_ids = request
        .user_refs
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, user_ref)| {
            let raw = user_ref.as_ref().and_then(|user_ref| user_ref.id.as_deref()).unwrap_or_default();
            raw.parse().map_err(|error| ApiError::invalid_field(&format!("userRefs[{i}].id"), error))
        })
        .collect::<ApiResult<Vec<Id>>>()?;
    state.core.set_app_owners(&caller, &app_id, &slug, &user_ids).await?;
    Ok(Json(Empty {}))
}
