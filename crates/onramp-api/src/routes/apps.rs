//! Apps: `POST /api/v1/apps` (create), `GET /api/v1/apps` (list, paged), `GET /api/v1/apps/{id}`, and the
//! update and delete that the ConductorOne SDKs call although the published spec lacks them:
//! `POST /api/v1/apps/{id}` with `{"app": {...}, "updateMask": "displayName,description"}` answering
//! `{"app": ...}`, and `DELETE /api/v1/apps/{id}` answering `{}` (the Python SDK 0.17.2 sends exactly these).
//!
//! Deleted apps vanish from every read; deleting an app removes its owners in the same transaction. The
//! helpers at the bottom are shared with the owner routes.

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
use crate::wire::app::{AppInput, app_json, parse_mask};

/// The app routes, merged into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/apps", get(list_apps).post(create_app))
        .route("/api/v1/apps/{id}", get(get_app).post(update_app).delete(delete_app))
}

/// How many times an update re-reads and re-applies itself when another update of the same app came first.
const UPDATE_ATTEMPTS: usize = 3;

pub async fn create_app(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::AppWrite)?;
    let app = input.into_new_app(caller.tenant_id, Timestamp::now())?;
    let owner_ids = input.owner_ids()?;
    state
        .core
        .write(state.core.store().create_app(&caller.actor(), &app, &owner_ids))
        .await
        .map_err(app_error(&app.id))?;
    Ok(Json(json!({ "app": app_json(&app) })))
}

pub async fn list_apps(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::AppRead)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["apps.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut apps = state.core.store().list_apps(&caller.tenant_id, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut apps, size, |app| app.id);
    Ok(Json(json!({ "list": apps.iter().map(app_json).collect::<Vec<_>>(), "nextPageToken": next })))
}

pub async fn get_app(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::AppRead)?;
    let id = path_id("id", &id)?;
    let app = state.core.store().get_app(&caller.tenant_id, &id).await.map_err(app_error(&id))?;
    Ok(Json(json!({ "app": app_json(&app) })))
}

#[derive(Deserialize, Default)]
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
) -> ApiResult<Json<Value>> {
    caller.require(Permission::AppWrite)?;
    let id = path_id("id", &id)?;
    let input = request.app.ok_or_else(|| ApiError::invalid_field("app", "is required"))?;
    let mut paths = parse_mask(&request.update_mask)?;
    if paths.is_empty() {
        // Without a mask, the fields the client sent are the fields it means to change.
        paths = input.paths_set();
    }
    for attempt in 1..=UPDATE_ATTEMPTS {
        let before = state.core.store().get_app(&caller.tenant_id, &id).await.map_err(app_error(&id))?;
        let mut after = before.clone();
        input.apply(&mut after, &paths)?;
        if after == before {
            return Ok(Json(json!({ "app": app_json(&before) })));
        }
        match state.core.write(state.core.store().update_app(&caller.actor(), &before, &after)).await {
            Ok(updated) => return Ok(Json(json!({ "app": app_json(&updated) }))),
            // Another update came between the read and the write: apply the mask again to the new state.
            Err(StoreError::Conflict { constraint: "apps_concurrent_update" }) if attempt < UPDATE_ATTEMPTS => {}
            Err(StoreError::Conflict { constraint: "apps_concurrent_update" }) => break,
            Err(error) => return Err(app_error(&id)(error)),
        }
    }
    Err(ApiError::new(Code::Aborted, "the app kept changing while this update ran; read it again and retry"))
}

pub async fn delete_app(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::AppWrite)?;
    let id = path_id("id", &id)?;
    state.core.write(state.core.store().delete_app(&caller.actor(), &id)).await.map_err(app_error(&id))?;
    Ok(Json(json!({})))
}

/// The answer to a store error of the app routes: an unknown app is 404 naming it; an unknown user or
/// ownership (the store's `Invalid`) is 404 with the store's message, which names the user.
pub(crate) fn app_error(app_id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |error| match error {
        StoreError::NotFound => ApiError::not_found(format!("app {app_id}")),
        StoreError::Invalid { message, .. } => ApiError::new(Code::NotFound, message),
        other => other.into(),
    }
}
