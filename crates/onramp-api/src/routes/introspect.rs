//! `GET /api/v1/auth/introspect` (who the caller is, with roles and permissions) and
//! `POST /api/v1/users/introspect` (the caller's own user, as a `UserView`).

use axum::Json;
use axum::extract::State;
use onramp_domain::Id;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::principal::Principal;
use crate::routes::search::expanded_view;
use crate::state::AppState;
use crate::wire::mask::ExpandMask;

/// `IntrospectResponse`: the calling credential (`principleId`, spelled as in the spec), its user and
/// tenant, role ids and permissions; onramp has no feature flags, so `features` is empty.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntrospectBody {
    features: [String; 0],
    permissions: Vec<&'static str>,
    principle_id: Id,
    roles: Vec<Id>,
    tenant_id: Id,
    user_id: Id,
}

/// `IntrospectUserResponse`: the caller's user view and the objects its expand mask asked for.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserIntrospectBody {
    expanded: Vec<Value>,
    user_view: Value,
}

pub async fn auth_introspect(State(state): State<AppState>, caller: Principal) -> ApiResult<Json<IntrospectBody>> {
    let permissions = state.core.introspect(&caller)?;
    Ok(Json(IntrospectBody {
        features: [],
        permissions: permissions.iter().map(|p| p.as_str()).collect(),
        principle_id: caller.credential_id,
        roles: caller.roles.iter().map(|role| role.id()).collect(),
        tenant_id: caller.tenant_id,
        user_id: caller.user_id,
    }))
}

#[derive(Deserialize, Default, JsonSchema)]
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
) -> ApiResult<Json<UserIntrospectBody>> {
    let user = state.core.own_user(&caller).await?;
    let paths = request.expand_mask.and_then(|mask| mask.paths).unwrap_or_default();
    let (view, expanded) = expanded_view(&state, &caller, &user, &paths).await?;
    Ok(Json(UserIntrospectBody { expanded, user_view: view }))
}
