//! Users: `GET /api/v1/users/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::{Id, Permission};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::user::user_view;

/// Parses an id from the path, naming the parameter when it is malformed.
pub fn path_id(name: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|error| ApiError::invalid_field(name, error))
}

pub async fn get_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UserRead)?;
    let id = path_id("id", &id)?;
    let user = state.store.get_user(&caller.tenant_id, &id).await.map_err(|error| match error {
        onramp_store::StoreError::NotFound => ApiError::not_found(format!("user {id}")),
        other => other.into(),
    })?;
    Ok(Json(json!({ "userView": user_view(&user), "expanded": [] })))
}
