//! Local directory configs: `GET/POST /api/v1/local-directory-configs` (list, create) and
//! `GET/POST/DELETE /api/v1/local-directory-configs/{app_id}` (get, update with `updateMask`, delete).
//!
//! A directory is a configuration on an existing app. Deleting it leaves the app and revokes the
//! directory's pending invitations in the same transaction.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::directory::{DIRECTORY_UPDATABLE, DirectoryInput, directory_json};
use crate::wire::mask::parse_mask;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/local-directory-configs", get(list).post(create))
        .route("/api/v1/local-directory-configs/{app_id}", get(read).post(update).delete(delete))
}

/// How many times an update re-reads and re-applies itself when another update came first.
const UPDATE_ATTEMPTS: usize = 3;

/// The answer to a store error about directory `app_id`.
pub(crate) fn directory_error(app_id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |error| onramp_core::invitations::directory_error(app_id)(error).into()
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<DirectoryInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::DirectoryWrite)?;
    let directory = input.new_directory(caller.tenant_id, Timestamp::now())?;
    state.core.write(state.core.store().create_local_directory(&caller.actor(), &directory)).await.map_err(
        |error| match error {
            StoreError::NotFound => ApiError::not_found(format!("app {}", directory.app_id)),
            other => other.into(),
        },
    )?;
    Ok(Json(json!({ "localDirectoryConfig": directory_json(&directory) })))
}

async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::DirectoryRead)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["local_directories.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut directories =
        state.core.store().list_local_directories(&caller.tenant_id, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut directories, size, |d| d.app_id);
    Ok(Json(json!({ "list": directories.iter().map(directory_json).collect::<Vec<_>>(), "nextPageToken": next })))
}

async fn read(State(state): State<AppState>, caller: Principal, Path(app_id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Permission::DirectoryRead)?;
    let app_id = path_id("app_id", &app_id)?;
    let directory =
        state.core.store().get_local_directory(&caller.tenant_id, &app_id).await.map_err(directory_error(&app_id))?;
    Ok(Json(json!({ "localDirectoryConfig": directory_json(&directory) })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct UpdateRequest {
    local_directory_config: Option<DirectoryInput>,
    update_mask: Value,
}

async fn update(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::DirectoryWrite)?;
    let app_id = path_id("app_id", &app_id)?;
    let input =
        request.local_directory_config.ok_or_else(|| ApiError::invalid_field("localDirectoryConfig", "is required"))?;
    let mut paths = parse_mask(&request.update_mask, &DIRECTORY_UPDATABLE, "local directory config")?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    for attempt in 1..=UPDATE_ATTEMPTS {
        let before = state
            .core
            .store()
            .get_local_directory(&caller.tenant_id, &app_id)
            .await
            .map_err(directory_error(&app_id))?;
        let mut after = before.clone();
        input.apply(&mut after, &paths)?;
        if after == before {
            return Ok(Json(json!({ "localDirectoryConfig": directory_json(&before) })));
        }
        match state.core.write(state.core.store().update_local_directory(&caller.actor(), &before, &after)).await {
            Ok(updated) => return Ok(Json(json!({ "localDirectoryConfig": directory_json(&updated) }))),
            Err(StoreError::Conflict { constraint: "local_directories_concurrent_update" })
                if attempt < UPDATE_ATTEMPTS => {}
            Err(StoreError::Conflict { constraint: "local_directories_concurrent_update" }) => break,
            Err(error) => return Err(directory_error(&app_id)(error)),
        }
    }
    Err(ApiError::new(Code::Aborted, "the directory kept changing while this update ran; read it again and retry"))
}

async fn delete(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::DirectoryWrite)?;
    let app_id = path_id("app_id", &app_id)?;
    state
        .core
        .write(state.core.store().delete_local_directory(&caller.actor(), &app_id))
        .await
        .map_err(directory_error(&app_id))?;
    Ok(Json(json!({})))
}
