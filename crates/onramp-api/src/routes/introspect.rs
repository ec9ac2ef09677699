//! `GET /api/v1/auth/introspect` (who the caller is, with roles and permissions) and
//! `POST /api/v1/users/introspect` (the caller's own user, as a `UserView`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::principal::Principal;
use crate::routes::search::expanded_view;
use crate::state::AppState;
use crate::wire::mask::ExpandMask;

pub async fn auth_introspect(State(state): State<AppState>, caller: Principal) -> ApiResult<Json<Value>> {
    let permissions = state.core.introspect(&caller)?;
    Ok(Json(json!({
        "principleId": caller.credential_id,
        "userId": caller.user_id,
        "tenantId": caller.tenant_id,
        "roles": caller.roles.iter().map(|role| role.id()).collect::<Vec<_>>(),
        "permissions": permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "features": [],
    })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserIntrospectRequest {
    /// Expands the caller's view as a user search does (`role_ids`, `manager_ids`, `delegated_user_id`,
    /// `directory_ids` or `*`).
    #[serde(default)]
    expand_mask: Option<ExpandMask>,
}

pub async fn user_introspect(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<UserIntrospectRequest>,
) -> ApiResult<Json<Value>> {
    let user = state.core.own_user(&caller).await?;
    let paths = request.expand_mask.and_then(|mask| mask.paths).unwrap_or_default();
    let (view, expanded) = expanded_view(&state, &caller.tenant_id, &user, &paths).await?;
    Ok(Json(json!({ "userView": view, "expanded": expanded })))
}
