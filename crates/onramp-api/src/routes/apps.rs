//! Apps: `POST /api/v1/apps` (create), `GET /api/v1/apps` (list, paged), `GET /api/v1/apps/{id}`, and the
//! update and delete that the ConductorOne SDKs call although the published spec lacks them:
//! `POST /api/v1/apps/{id}` with `{"app": {...}, "updateMask": "displayName,description"}` answering
//! `{"app": ...}`, and `DELETE /api/v1/apps/{id}` answering `{}` (the Python SDK 0.17.2 sends exactly these).
//!
//! Deleted apps vanish from every read; deleting an app removes its owners in the same transaction. The
//! use cases and their authorization are the core's (`onramp_core::apps`).

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
use crate::wire::app::{AppBody, AppInput, app_json, parse_mask};
use crate::wire::{Empty, ListBody};

/// `{ "app": ... }` of create, get and update.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppResponse {
    app: AppBody,
}

/// The app routes, merged into the main router.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get("/api/v1/apps", list_apps, Doc::c1("c1.api.app.v1.Apps.List").ok::<ListBody<AppBody>>())
        .post("/api/v1/apps", create_app, Doc::c1("c1.api.app.v1.Apps.Create").body::<AppInput>().ok::<AppResponse>())
        .get("/api/v1/apps/{id}", get_app, Doc::c1("c1.api.app.v1.Apps.Get").ok::<AppResponse>())
        .post(
            "/api/v1/apps/{id}",
            update_app,
            Doc::api("onramp.app.v1.Apps.Update", "App", "Update an app").body::<UpdateRequest>().ok::<AppResponse>(),
        )
        .delete(
            "/api/v1/apps/{id}",
            delete_app,
            Doc::api("onramp.app.v1.Apps.Delete", "App", "Delete an app").ok::<Empty>(),
        )
}

pub async fn create_app(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult<Json<AppResponse>> {
    let app = state
        .core
        .create_app(&caller, |tenant_id, now| Ok((input.into_new_app(tenant_id, now)?, input.owner_ids()?)))
        .await?;
    Ok(Json(AppResponse { app: app_json(&app) }))
}

pub async fn list_apps(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<AppBody>>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["apps.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut apps = state.core.list_apps(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut apps, size, |app| app.id);
    Ok(Json(ListBody { list: apps.iter().map(app_json).collect(), next_page_token: next }))
}

pub async fn get_app(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<AppResponse>> {
    let id = path_id("id", &id)?;
    let app = state.core.get_app(&caller, &id).await?;
    Ok(Json(AppResponse { app: app_json(&app) }))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateRequest {
    app: Option<AppInput>,
    update_mask: Value,
}

pub async fn update_app(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> ApiResult<Json<AppResponse>> {
    let id = path_id("id", &id)?;
    let input = request.app.ok_or_else(|| ApiError::invalid_field("app", "is required"))?;
    let mut paths = parse_mask(&request.update_mask)?;
    if paths.is_empty() {
        // Without a mask, the fields the client sent are the fields it means to change.
        paths = input.paths_set();
    }
    let app = state.core.update_app(&caller, &id, |app| Ok(input.apply(app, &paths)?)).await?;
    Ok(Json(AppResponse { app: app_json(&app) }))
}

pub async fn delete_app(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Empty>> {
    let id = path_id("id", &id)?;
    state.core.delete_app(&caller, &id).await?;
    Ok(Json(Empty {}))
}
