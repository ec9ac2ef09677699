//! Tenant onboarding settings and the onboarding conversation:
//! `GET /api/v1/settings/onboarding` (`OnboardingSettingsService.Get`), `POST /api/v1/settings/onboarding`
//! (`Update`), and `POST /api/v1/conversations/onboarding:ensure`
//! (`UIConversationsService.EnsureOnboardingSession`); and onramp's tenant settings (display name, logo,
//! accent colour, user-editable fields), `GET`/`POST /api/v1/settings/tenant`, under the same permissions.
//!
//! Reading needs `settings:read`; updating and ensuring need `settings:write` (checked by the core's use
//! cases, `onramp_core::settings`). The store checks the
//! status machine under a row lock and writes conditionally (see `onramp_store::OnboardingSettingsUpdate`);
//! a refused move is 400 FAILED_PRECONDITION naming both states. `onboarding:ensure` is one literal path
//! segment: axum 0.8 captures only `{name}` segments, so the colon needs no escaping.

use crate::openapi::{ApiRouter, Doc};
use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::settings::{SettingsBody, UpdateInput, settings_json};
use crate::wire::tenant_settings::{TenantSettingsBody, TenantSettingsInput, tenant_settings_json};

/// The settings and conversation routes, merged into the main router.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/api/v1/settings/onboarding",
            get_onboarding_settings,
            Doc::c1("c1.api.settings.v1.OnboardingSettingsService.Get").ok::<SettingsBody>(),
        )
        .post(
            "/api/v1/settings/onboarding",
            update_onboarding_settings,
            Doc::c1("c1.api.settings.v1.OnboardingSettingsService.Update").body::<UpdateInput>().ok::<SettingsBody>(),
        )
        .post(
            "/api/v1/conversations/onboarding:ensure",
            ensure_onboarding_session,
            Doc::c1("c1.api.conversations.v1.UIConversationsService.EnsureOnboardingSession")
                .body::<Value>()
                .ok::<EnsureSessionBody>(),
        )
        .get(
            "/api/v1/settings/tenant",
            get_tenant_settings,
            Doc::api(
                "onramp.settings.v1.TenantSettingsService.Get",
                "Tenant Settings",
                "Get the tenant's settings (needs settings:read)",
            )
            .json::<TenantSettingsBody>("200", "The settings"),
        )
        .post(
            "/api/v1/settings/tenant",
            update_tenant_settings,
            Doc::api(
                "onramp.settings.v1.TenantSettingsService.Update",
                "Tenant Settings",
                "Update the tenant's settings (needs settings:write)",
            )
            .body::<TenantSettingsInput>()
            .json::<TenantSettingsBody>("200", "The settings"),
        )
}

pub async fn get_onboarding_settings(
    State(state): State<AppState>,
    caller: Principal,
) -> ApiResult<Json<SettingsBody>> {
    let settings = state.core.onboarding_settings(&caller).await?;
    Ok(Json(settings_json(&settings)))
}

/// Answers the settings after the update: the fields of `UpdateOnboardingSettingsResponse` and the rest of
/// the settings besides.
pub async fn update_onboarding_settings(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<UpdateInput>,
) -> ApiResult<Json<SettingsBody>> {
    let settings = state.core.update_onboarding_settings(&caller, || Ok(input.into_update()?)).await?;
    Ok(Json(settings_json(&settings)))
}

/// `EnsureOnboardingSessionResponse`: the conversation's id, and whether this call created it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnsureSessionBody {
    conversation_id: String,
    created: bool,
}

/// `EnsureOnboardingSessionRequest` has no fields; whatever body comes is ignored (an empty one too).
pub async fn ensure_onboarding_session(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(_): ApiJson<Value>,
) -> ApiResult<Json<EnsureSessionBody>> {
    let (conversation_id, created) = state.core.ensure_onboarding_conversation(&caller).await?;
    Ok(Json(EnsureSessionBody { conversation_id, created }))
}

pub async fn get_tenant_settings(
    State(state): State<AppState>,
    caller: Principal,
) -> ApiResult<Json<TenantSettingsBody>> {
    let settings = state.core.tenant_settings(&caller).await?;
    Ok(Json(tenant_settings_json(&settings)))
}

/// Answers the settings after the update (see `wire::tenant_settings` for what an update means).
pub async fn update_tenant_settings(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<TenantSettingsInput>,
) -> ApiResult<Json<TenantSettingsBody>> {
    let settings = state.core.update_tenant_settings(&caller, || Ok(input.into_update()?)).await?;
    Ok(Json(tenant_settings_json(&settings)))
}
