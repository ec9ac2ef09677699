//! Users: get and list (ConductorOne), and onramp's additions in the same style: create, update with a
//! field mask, delete, and bulk import.

use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::{BuiltinRole, Id, Permission, Timestamp};
use onramp_store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::import::{ImportOptions, RowError, field_of, import_users};
use crate::paging::{ListParams, fingerprint, page_size};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::user::{user_view, user_view_response};
use crate::wire::user_input::{UserInput, parse_mask};

/// Most rows one import request may carry; larger imports go through the command line or several requests.
const MAX_IMPORT_ROWS: usize = 10_000;

/// Parses an id from the path, naming the parameter when it is malformed.
pub fn path_id(name: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|error| ApiError::invalid_field(name, error))
}

fn user_not_found(id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |error| match error {
        StoreError::NotFound => ApiError::not_found(format!("user {id}")),
        other => other.into(),
    }
}

/// A user written since the handler read it: the write is refused and the client reads again and retries.
fn concurrent_change(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict { constraint: "users_concurrent_update" } => ApiError::new(
            crate::error::Code::Aborted,
            "the user changed while this request ran; read it again and retry",
        ),
        other => other.into(),
    }
}

/// A caller hands out only roles within their own permissions (see `Principal::may_grant`).
fn check_role_grant(caller: &Principal, role_ids: &[Id]) -> ApiResult<()> {
    caller.require_grantable("roleIds", role_ids)
}

pub async fn get_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserRead)?;
    let id = path_id("id", &id)?;
    let user = state.store.get_user(&caller.tenant_id, &id).await.map_err(user_not_found(&id))?;
    Ok(Json(user_view_response(&user)))
}

pub async fn list_users(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserRead)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["users.list", &caller.tenant_id.to_string()]);
    let after = match state.page_tokens.decode(params.page_token.as_deref(), &query)? {
        Some(key) => Some(
            std::str::from_utf8(&key)
                .ok()
                .and_then(|k| k.parse::<Id>().ok())
                .ok_or_else(|| ApiError::invalid_field("page_token", "not a page token of this query"))?,
        ),
        None => None,
    };
    let mut users = state.store.list_users(&caller.tenant_id, after.as_ref(), size as u32 + 1).await?;
    let next = if users.len() > size {
        users.truncate(size);
        users.last().map(|last| state.page_tokens.encode(&query, last.id.to_string().as_bytes()))
    } else {
        None
    };
    Ok(Json(json!({
        "list": users.iter().map(user_view).collect::<Vec<_>>(),
        "nextPageToken": next.unwrap_or_default(),
        "expanded": [],
    })))
}

pub async fn create_user(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserWrite)?;
    let user = input.into_new_user(caller.tenant_id, Timestamp::now())?;
    check_role_grant(&caller, &user.role_ids)?;
    state.store.create_user(&caller.actor(), &user).await?;
    state.search.catch_up_after_write().await;
    let user = state.store.get_user(&caller.tenant_id, &user.id).await?;
    Ok(Json(user_view_response(&user)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateRequest {
    user: Option<UserInput>,
    update_mask: Value,
}

pub async fn update_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserWrite)?;
    let id = path_id("id", &id)?;
    let input = request.user.ok_or_else(|| ApiError::invalid_field("user", "is required"))?;
    let mut paths = parse_mask(&request.update_mask)?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    let before = state.store.get_user(&caller.tenant_id, &id).await.map_err(user_not_found(&id))?;
    if before.deleted_at.is_some() {
        return Err(ApiError::not_found(format!("user {id}")));
    }
    let mut after = before.clone();
    input.apply(&mut after, &paths)?;
    caller.require_user_change(&before, Some(&after))?;
    // The store writes only over `before` (by `updated_at`), so the check above is about the user replaced.
    let updated = state.store.update_user(&caller.actor(), &before, &after).await.map_err(concurrent_change)?;
    state.search.catch_up_after_write().await;
    Ok(Json(user_view_response(&updated)))
}

pub async fn delete_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserWrite)?;
    let id = path_id("id", &id)?;
    if id == caller.user_id {
        return Err(ApiError::new(crate::error::Code::FailedPrecondition, "a caller cannot delete its own user"));
    }
    let before = state.store.get_user(&caller.tenant_id, &id).await.map_err(user_not_found(&id))?;
    if before.deleted_at.is_some() {
        return Err(ApiError::not_found(format!("user {id}")));
    }
    caller.require_user_change(&before, None)?;
    state.store.delete_user(&caller.actor(), &before).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::not_found(format!("user {id}")),
        other => concurrent_change(other),
    })?;
    state.search.catch_up_after_write().await;
    Ok(Json(json!({})))
}

/// `{"users": [...], "skipExisting": false}`. With `skipExisting`, a row whose email already belongs to a
/// live user is counted in `skippedCount` instead of failing, so an interrupted import can be sent again.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportRequest {
    users: Vec<Value>,
    skip_existing: bool,
}

pub async fn import(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<ImportRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserWrite)?;
    if request.users.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::invalid_field("users", format!("at most {MAX_IMPORT_ROWS} rows per request")));
    }
    let rows =
        request.users.into_iter().enumerate().map(|(row, value)| {
            let input: UserInput = crate::extract::parse_json(value.to_string().as_bytes())
                .map_err(|error| RowError { row, field: field_of(&error.message), message: error.message })?;
            let roles: Vec<Id> =
                input.role_ids.iter().flatten().filter_map(|r| BuiltinRole::from_ref(r)).map(|r| r.id()).collect();
            check_role_grant(&caller, &roles).map_err(|error| RowError {
                row,
                field: "roleIds".into(),
                message: error.message,
            })?;
            Ok(input)
        });
    let rows: Vec<_> = rows.collect();
    let options = ImportOptions { skip_existing: request.skip_existing };
    let report = import_users(state.store.clone(), &caller.actor(), rows, options).await;
    // Batches written before a failure stay written, so the index catches up either way.
    state.search.catch_up_after_write().await;
    let report = report?;
    Ok(Json(json!({
        "importedCount": report.imported_count().to_string(),
        "skippedCount": report.skipped.to_string(),
        "userIds": report.imported.iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>(),
        "errors": report.errors,
    })))
}
