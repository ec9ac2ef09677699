//! Local directory configs: `GET/POST /api/v1/local-directory-configs` (list, create) and
//! `GET/POST/DELETE /api/v1/local-directory-configs/{app_id}` (get, update with `updateMask`, delete).
//!
//! A directory is a configuration on an existing app. Deleting it leaves the app and revokes the
//! directory's pending invitations in the same transaction. The use cases and their authorization are the
//! core's (`onramp_core::directories`).

use crate::openapi::{ApiRouter, Doc};
use axum::Json;
use axum::extract::{Path, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::directory::{DIRECTORY_UPDATABLE, DirectoryBody, DirectoryInput, directory_json};
use crate::wire::mask::parse_mask;
use crate::wire::{Empty, ListBody};

/// `{ "localDirectoryConfig": ... }` of create, get and update.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryResponse {
    local_directory_config: DirectoryBody,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/api/v1/local-directory-configs",
            list,
            Doc::c1("c1.api.local_directory.v1.LocalDirectoryConfigService.List").ok::<ListBody<DirectoryBody>>(),
        )
        .post(
            "/api/v1/local-directory-configs",
            create,
            Doc::c1("c1.api.local_directory.v1.LocalDirectoryConfigService.Create")
                .body::<DirectoryInput>()
                .ok::<DirectoryResponse>(),
        )
        .get(
            "/api/v1/local-directory-configs/{app_id}",
            read,
            Doc::c1("c1.api.local_directory.v1.LocalDirectoryConfigService.Get").ok::<DirectoryResponse>(),
        )
        .post(
            "/api/v1/local-directory-configs/{app_id}",
            update,
            Doc::c1("c1.api.local_directory.v1.LocalDirectoryConfigService.Update")
                .body::<UpdateRequest>()
                .ok::<DirectoryResponse>(),
        )
        .delete(
            "/api/v1/local-directory-configs/{app_id}",
            delete,
            Doc::c1("c1.api.local_directory.v1.LocalDirectoryConfigService.Delete").ok::<Empty>(),
        )
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<DirectoryInput>,
) -> ApiResult<Json<DirectoryResponse>> {
    let directory =
        state.core.create_directory(&caller, |tenant_id, now| Ok(input.new_directory(tenant_id, now)?)).await?;
    Ok(Json(DirectoryResponse { local_directory_config: directory_json(&directory) }))
}

async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<DirectoryBody>>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["local_directories.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut directories = state.core.list_directories(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut directories, size, |d| d.app_id);
    Ok(Json(ListBody { list: directories.iter().map(directory_json).collect(), next_page_token: next }))
}

async fn read(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
) -> ApiResult<Json<DirectoryResponse>> {
    let app_id = path_id("app_id", &app_id)?;
    let directory = state.core.get_directory(&caller, &app_id).await?;
    Ok(Json(DirectoryResponse { local_directory_config: directory_json(&directory) }))
}

#[derive(Deserialize, Default, JsonSchema)]
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
) -> ApiResult<Json<DirectoryResponse>> {
    let app_id = path_id("app_id", &app_id)?;
    let input =
        request.local_directory_config.ok_or_else(|| ApiError::invalid_field("localDirectoryConfig", "is required"))?;
    let mut paths = parse_mask(&request.update_mask, &DIRECTORY_UPDATABLE, "local directory config")?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    let directory =
        state.core.update_directory(&caller, &app_id, |directory| Ok(input.apply(directory, &paths)?)).await?;
    Ok(Json(DirectoryResponse { local_directory_config: directory_json(&directory) }))
}

async fn delete(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    state.core.delete_directory(&caller, &app_id).await?;
    Ok(Json(Empty {}))
}
