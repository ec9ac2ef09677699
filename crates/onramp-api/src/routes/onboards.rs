//! Onboards: one invitee's run through an onboarding flow.
//!
//! The LeadConduit-style surface (`../shared/api/CONVENTIONS.md`, second part): `GET/POST /onboards`,
//! `GET/PUT /onboards/{id}`, snake_case, 24-hex ids, 201 on create, HTTP Basic `API:<key>` or a bearer token.
//! `account_id` is the tenant and `connection_id` the invitation's directory.
//!
//! Steps are completed through onramp's `POST /api/v1/onboards/{id}/steps/{key}/complete`
//! (`onboard_steps.rs`). An onboard starts only for a pending invitation, or for an accepted one whose user
//! still waits on an onboard (the store decides, in the transaction that inserts it).
//!
//! Status moves `created → in_progress → completed`, or to `failed` with a reason (a rejected approval, a
//! revoked or expired invitation, or a PUT). Completing needs the invitation accepted and every required
//! step done; it grants the flow's roles, enables the user if the onboard holds them DISABLED since the
//! acceptance (never a user whose status someone else set) and queues the notify emails, in one
//! transaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use onramp_domain::Id;
use onramp_domain::Timestamp;
use onramp_domain::onboarding::OnboardStatus;
use onramp_store::Onboard;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::principal::OnboardsCaller;
use crate::state::AppState;
use crate::wire::one_line;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/onboards", get(list).post(create))
        .route("/onboards/{id}", get(read).put(update))
        .route("/api/v1/onboards/{id}/steps/{key}/complete", post(super::onboard_steps::complete_step))
}

/// The most onboards `GET /onboards` returns, newest first.
const LIST_LIMIT: u32 = 1000;

pub(crate) use onramp_core::onboards::MAX_REASON_CHARS;

/// An onboard in the LeadConduit style (snake_case); `user_id` is `null` until the invitation is accepted.
#[derive(Serialize, Debug, Clone)]
pub struct OnboardBody {
    account_id: Id,
    connection_id: Id,
    created_at: Timestamp,
    failure_reason: String,
    flow_id: Id,
    id: Id,
    invitation_id: Id,
    status: &'static str,
    steps: Vec<OnboardStepBody>,
    updated_at: Timestamp,
    user_id: Option<Id>,
}

/// One step of an onboard: the flow's step and how far it is; who completed it and when are `null` until
/// it is done.
#[derive(Serialize, Debug, Clone)]
pub struct OnboardStepBody {
    completed_at: Option<Timestamp>,
    completed_by: Option<Id>,
    done: bool,
    key: String,
    required: bool,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// An onboard in the LeadConduit style.
pub fn onboard_json(onboard: &Onboard) -> OnboardBody {
    let steps = onboard
        .steps
        .iter()
        .zip(&onboard.states)
        .map(|(step, state)| OnboardStepBody {
            completed_at: state.completed_at,
            completed_by: state.completed_by,
            done: state.done,
            key: step.key.clone(),
            required: step.required,
            kind: step.kind.name(),
        })
        .collect();
    OnboardBody {
        account_id: onboard.tenant_id,
        connection_id: onboard.directory_app_id,
        created_at: onboard.created_at,
        failure_reason: onboard.failure_reason.clone(),
        flow_id: onboard.flow_id,
        id: onboard.id,
        invitation_id: onboard.invitation_id,
        status: onboard.status.as_str(),
        steps,
        updated_at: onboard.updated_at,
        user_id: onboard.user_id,
    }
}

/// A 24-hex id of the `/onboards` surface, naming the field when it is not one.
pub(crate) fn object_id(field: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|_| ApiError::invalid_field(field, "must be 24 hexadecimal characters"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateRequest {
    invitation_id: Option<String>,
    flow_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
    ApiJson(request): ApiJson<CreateRequest>,
) -> ApiResult<(StatusCode, Json<OnboardBody>)> {
    let invitation_id = match request.invitation_id.as_deref() {
        None | Some("") => return Err(ApiError::invalid_field("invitation_id", "is required")),
        Some(raw) => object_id("invitation_id", raw)?,
    };
    let requested_flow = match request.flow_id.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(object_id("flow_id", raw)?),
    };
    let onboard = state.core.start_onboard(&caller, &invitation_id, requested_flow).await?;
    Ok((StatusCode::CREATED, Json(onboard_json(&onboard))))
}

async fn list(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
) -> ApiResult<Json<Vec<OnboardBody>>> {
    let onboards = state.core.list_onboards(&caller, LIST_LIMIT).await?;
    Ok(Json(onboards.iter().map(onboard_json).collect()))
}

async fn read(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<OnboardBody>> {
    let id = object_id("id", &id)?;
    let onboard = state.core.get_onboard(&caller, &id).await?;
    Ok(Json(onboard_json(&onboard)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateRequest {
    status: Option<String>,
    failure_reason: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> ApiResult<Json<OnboardBody>> {
    let id = object_id("id", &id)?;
    let failure_reason = match request.failure_reason.as_deref() {
        Some(reason) => one_line("failure_reason", Some(reason), MAX_REASON_CHARS)?,
        None => String::new(),
    };
    let next = match request.status.as_deref().filter(|raw| !raw.is_empty()) {
        None => None,
        Some(raw) => Some(OnboardStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid_field("status", "must be one of created, in_progress, completed, failed")
        })?),
    };
    let updated = state.core.set_onboard_status(&caller, &id, next, failure_reason).await?;
    Ok(Json(onboard_json(&updated)))
}
