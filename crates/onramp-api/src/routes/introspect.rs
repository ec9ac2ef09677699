//! `GET /api/v1/auth/introspect` (who the caller is, with roles and permissions) and
//! `POST /api/v1/users/introspect` (the caller's own user, as a `UserView`).

use axum::Json;
use axum::extract::State;
use onramp_domain::Permission;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::mask::ExpandMask;
use crate::wire::user::user_view_response;

pub async fn auth_introspect(caller: Principal) -> ApiResult<Json<Value>> {
    caller.require(Permission::SelfRead)?;
    Ok(Json(json!({
        "principleId": caller.credential_id,
        "userId": caller.user_id,
        "tenantId": caller.tenant_id,
        "roles": caller.roles.iter().map(|role| role.id()).collect::<Vec<_>>(),
        "permissions": caller.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "features": [],
    })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserIntrospectRequest {
    /// Checked for shape; the caller's own view is returned unexpanded (`expanded` stays empty).
    #[serde(default, alias = "expand_mask")]
    #[allow(dead_code)]
    expand_mask: Option<ExpandMask>,
}

pub async fn user_introspect(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(_request): ApiJson<UserIntrospectRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::SelfRead)?;
    let user = state.core.store().get_user(&caller.tenant_id, &caller.user_id).await?;
    Ok(Json(user_view_response(&user)))
}
