//! Completing an onboard's steps: `POST /api/v1/onboards/{id}/steps/{key}/complete`. The rule of each step
//! is the core's (`onramp_core::onboard_steps`), which the invitee's onboarding pages share.
//!
//! Each step is completed by whom its rule allows: the invitee (HTTP Basic with their email and the password
//! they chose on accepting) accepts terms and completes their profile; staff holding `user:write` (and
//! allowed to change that user) may complete a profile; staff holding `onboarding:write` mark an email
//! verified; only the approver (or one of the user's managers) gives a manager approval, with a bearer token
//! of their own. Steps onramp performs itself (assign roles, notify) run when the onboard completes.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use onramp_core::onboard_steps::{StepActor, StepInput};

use super::onboards::{OnboardBody, object_id, onboard_json};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, BASIC_CHALLENGE, Code};
use crate::extract::ApiJson;
use crate::principal::{OnboardsCaller, Principal};
use crate::state::AppState;

/// Who is completing a step: a bearer token or API key, or the invitee with HTTP Basic `email:password`.
pub(crate) enum StepCaller {
    Principal(Principal),
    Invitee { email: String, password: onramp_domain::Secret<String> },
}

impl FromRequestParts<AppState> for StepCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).unwrap_or_default();
        match onramp_core::auth::api_key::basic_credentials(header) {
            Some((user, password)) if user != "API" => {
                Ok(StepCaller::Invitee { email: user, password: onramp_domain::Secret::new(password) })
            }
            _ => OnboardsCaller::from_request_parts(parts, state).await.map(|caller| StepCaller::Principal(caller.0)),
        }
    }
}

pub(crate) async fn complete_step(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: StepCaller,
    Path((id, key)): Path<(String, String)>,
    ApiJson(request): ApiJson<StepInput>,
) -> ApiResult<Json<OnboardBody>> {
    let id = object_id("id", &id)?;
    let invitee = matches!(caller, StepCaller::Invitee { .. });
    let actor = match caller {
        StepCaller::Principal(principal) => StepActor::Staff(principal),
        StepCaller::Invitee { email, password } => StepActor::Invitee { email, password, client },
    };
    let updated = state.core.complete_step(actor, &id, &key, &request).await.map_err(|error| {
        // The invitee signs in with HTTP Basic, so a refusal of their email and password challenges for Basic.
        let error = ApiError::from(error);
        if invitee && error.code == Code::Unauthenticated { error.with_challenge(BASIC_CHALLENGE) } else { error }
    })?;
    Ok(Json(onboard_json(&state.core.onboard_view(updated).await?)))
}
