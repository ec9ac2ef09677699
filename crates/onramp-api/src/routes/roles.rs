//! Roles: `GET /api/v1/iam/roles` and `GET /api/v1/iam/roles/{role_id}`: the five built-in roles, with the
//! permissions each grants. Roles live in code, so these read no database.

use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::BuiltinRole;
use onramp_domain::Id;
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::paging::{ListParams, page_size};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::ListBody;

/// A built-in role on the wire. Roles live in code: none has service roles, every one is a system builtin
/// and none is API-only.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleBody {
    display_name: &'static str,
    id: Id,
    name: &'static str,
    permissions: Vec<&'static str>,
    service_roles: [String; 0],
    system_api_only: bool,
    system_builtin: bool,
}

/// `{ "role": ... }` of `GET /api/v1/iam/roles/{role_id}`.
#[derive(Serialize, Debug, Clone, JsonSchema)]
pub struct RoleResponse {
    role: RoleBody,
}

pub(crate) fn role_json(role: BuiltinRole) -> RoleBody {
    RoleBody {
        display_name: role.display_name(),
        id: role.id(),
        name: role.name(),
        permissions: role.permissions().map(|p| p.as_str()).collect(),
        service_roles: [],
        system_api_only: false,
        system_builtin: true,
    }
}

pub async fn list_roles(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<RoleBody>>> {
    let roles = state.core.list_roles(&caller)?;
    // Five roles always fit one page: the size is only checked, and a token is never needed.
    page_size("page_size", params.page_size)?;
    if params.page_token.as_deref().is_some_and(|token| !token.is_empty()) {
        return Err(ApiError::invalid_field("page_token", "not a page token of this query"));
    }
    Ok(Json(ListBody { list: roles.into_iter().map(role_json).collect(), next_page_token: String::new() }))
}

pub async fn get_role(
    State(state): State<AppState>,
    caller: Principal,
    Path(role_id): Path<String>,
) -> ApiResult<Json<RoleResponse>> {
    let role = state.core.get_role(&caller, &role_id)?;
    Ok(Json(RoleResponse { role: role_json(role) }))
}
