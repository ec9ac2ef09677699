//! Users: get and list (ConductorOne), and onramp's additions in the same style: create, update with a
//! field mask, delete, and bulk import.

use axum::Json;
use axum::extract::{Path, State};
use onramp_core::import::ImportOptions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::Empty;
use crate::wire::user::{UserViewBody, UserViewResponse, user_view, user_view_response};
use crate::wire::user_input::{UserInput, parse_mask};

/// Most rows one import request may carry; larger imports go through the command line or several requests.
const MAX_IMPORT_ROWS: usize = 10_000;

pub async fn get_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<UserViewResponse>> {
    let id = path_id("id", &id)?;
    let user = state.core.get_user(&caller, &id).await?;
    Ok(Json(user_view_response(&user)))
}

/// `ListUsers`' answer: a page of user views and `expanded`, which is always empty here (a list expands
/// nothing).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListBody {
    expanded: [Value; 0],
    list: Vec<UserViewBody>,
    next_page_token: String,
}

pub async fn list_users(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<UserListBody>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["users.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut users = state.core.list_users(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut users, size, |user| user.id);
    Ok(Json(UserListBody { expanded: [], list: users.iter().map(user_view).collect(), next_page_token: next }))
}

pub async fn create_user(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<Json<UserViewResponse>> {
    let user = state.core.create_user(&caller, |tenant_id, now| Ok(input.into_new_user(tenant_id, now)?)).await?;
    Ok(Json(user_view_response(&user)))
}

#[derive(Deserialize, Default, JsonSchema)]
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
) -> ApiResult<Json<UserViewResponse>> {
    let id = path_id("id", &id)?;
    let input = request.user.ok_or_else(|| ApiError::invalid_field("user", "is required"))?;
    let mut paths = parse_mask(&request.update_mask)?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    let updated = state.core.update_user(&caller, &id, |user| Ok(input.apply(user, &paths)?)).await?;
    Ok(Json(user_view_response(&updated)))
}

pub async fn delete_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Empty>> {
    let id = path_id("id", &id)?;
    state.core.delete_user(&caller, &id).await?;
    Ok(Json(Empty {}))
}

/// `{"users": [...], "skipExisting": false}`. With `skipExisting`, a row whose email already belongs to a
/// live user is counted in `skippedCount` instead of failing, so an interrupted import can be sent again.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportRequest {
    users: Vec<Value>,
    skip_existing: bool,
}

/// What an import answers: the rows refused, the counts (64-bit integers, so strings) and the new users' ids.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportBody {
    errors: Vec<ImportErrorBody>,
    imported_count: String,
    skipped_count: String,
    user_ids: Vec<String>,
}

/// One refused row of an import, fields in the alphabetical order its bodies have always had.
#[derive(Serialize, JsonSchema)]
pub struct ImportErrorBody {
    field: String,
    message: String,
    row: usize,
}

impl From<onramp_core::import::RowError> for ImportErrorBody {
    fn from(error: onramp_core::import::RowError) -> Self {
        Self { field: error.field, message: error.message, row: error.row }
    }
}

pub async fn import(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<ImportRequest>,
) -> ApiResult<Json<ImportBody>> {
    if request.users.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::invalid_field("users", format!("at most {MAX_IMPORT_ROWS} rows per request")));
    }
    let rows = request.users.into_iter().enumerate().map(|(row, value)| UserInput::parse_row(row, &value));
    let options = ImportOptions { skip_existing: request.skip_existing };
    let report = state.core.import_users(&caller, rows, options).await?;
    Ok(Json(ImportBody {
        errors: report.errors.into_iter().map(ImportErrorBody::from).collect(),
        imported_count: report.imported.len().to_string(),
        skipped_count: report.skipped.to_string(),
        user_ids: report.imported.iter().map(|(_, id)| id.to_string()).collect(),
    }))
}
