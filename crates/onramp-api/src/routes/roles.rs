//! Roles: `GET /api/v1/iam/roles` and `GET /api/v1/iam/roles/{role_id}`: the five built-in roles, with the
//! permissions each grants. Roles live in code, so these read no database.

use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::paging::{ListParams, page_size};
use crate::principal::Principal;
use crate::state::AppState;

pub(crate) fn role_json(role: BuiltinRole) -> Value {
    json!({
        "id": role.id(),
        "name": role.name(),
        "displayName": role.display_name(),
        "permissions": role.permissions().map(|p| p.as_str()).collect::<Vec<_>>(),
        "serviceRoles": [],
        "systemBuiltin": true,
        "systemApiOnly": false,
    })
}

pub async fn list_roles(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let roles = state.core.list_roles(&caller)?;
    // Five roles always fit one page: the size is only checked, and a token is never needed.
    page_size("page_size", params.page_size)?;
    if params.page_token.as_deref().is_some_and(|token| !token.is_empty()) {
        return Err(ApiError::invalid_field("page_token", "not a page token of this query"));
    }
    Ok(Json(json!({ "list": roles.map(role_json), "nextPageToken": "" })))
}

pub async fn get_role(
    State(state): State<AppState>,
    caller: Principal,
    Path(role_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let role = state.core.get_role(&caller, &role_id)?;
    Ok(Json(json!({ "role": role_json(role) })))
}
