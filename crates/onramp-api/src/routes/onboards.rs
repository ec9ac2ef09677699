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
use onramp_domain::onboarding::{NotifyRecipient, OnboardStatus, StepKind};
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Onboard, OnboardEffects, OutboxMessage, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::ApiJson;
use crate::principal::{OnboardsCaller, Principal};
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

/// The longest failure reason (`PUT` or a rejected approval) onramp keeps, in characters.
pub(crate) const MAX_REASON_CHARS: usize = 1000;

/// An onboard in the LeadConduit style.
pub fn onboard_json(onboard: &Onboard) -> Value {
    let steps: Vec<Value> = onboard
        .steps
        .iter()
        .zip(&onboard.states)
        .map(|(step, state)| {
            json!({
                "key": step.key,
                "type": step.kind.name(),
                "required": step.required,
                "done": state.done,
                "completed_by": state.completed_by,
                "completed_at": state.completed_at,
            })
        })
        .collect();
    json!({
        "id": onboard.id,
        "invitation_id": onboard.invitation_id,
        "account_id": onboard.tenant_id,
        "connection_id": onboard.directory_app_id,
        "flow_id": onboard.flow_id,
        "user_id": onboard.user_id,
        "status": onboard.status.as_str(),
        "failure_reason": onboard.failure_reason,
        "steps": steps,
        "created_at": onboard.created_at,
        "updated_at": onboard.updated_at,
    })
}

/// A 24-hex id of the `/onboards` surface, naming the field when it is not one.
pub(crate) fn object_id(field: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|_| ApiError::invalid_field(field, "must be 24 hexadecimal characters"))
}

pub(crate) fn onboard_error(id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |error| match error {
        StoreError::NotFound => ApiError::not_found(format!("onboard {id}")),
        StoreError::Conflict { constraint: "onboards_concurrent_update" | "users_concurrent_update" } => {
            ApiError::new(Code::Aborted, "the onboard changed while this request ran; read it again and retry")
        }
        StoreError::Conflict { constraint: "onboards_invitation_live" } => {
            ApiError::new(Code::AlreadyExists, "this invitation has an onboard under way already")
        }
        other => other.into(),
    }
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
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Permission::OnboardingWrite)?;
    let invitation_id = match request.invitation_id.as_deref() {
        None | Some("") => return Err(ApiError::invalid_field("invitation_id", "is required")),
        Some(raw) => object_id("invitation_id", raw)?,
    };
    let requested_flow = match request.flow_id.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(object_id("flow_id", raw)?),
    };
    let invitation =
        state.store.find_invitation(&caller.tenant_id, &invitation_id).await.map_err(|error| match error {
            StoreError::NotFound => ApiError::not_found(format!("invitation {invitation_id}")),
            other => other.into(),
        })?;
    // The request's flow, else the invitation's (which defaults to its directory's), else the directory's
    // default, else the minimal flow.
    let directory_flow = match state.store.get_local_directory(&caller.tenant_id, &invitation.directory_app_id).await {
        Ok(directory) => directory.onboarding_flow_id,
        Err(StoreError::NotFound) => None,
        Err(error) => return Err(error.into()),
    };
    let flow_id = requested_flow
        .or(invitation.onboarding_flow_id)
        .or(directory_flow)
        .unwrap_or(onramp_domain::onboarding::MINIMAL_FLOW_ID);
    let flow = state.store.get_flow(&caller.tenant_id, &flow_id).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::invalid_field("flow_id", format!("onboarding flow {flow_id} not found")),
        other => other.into(),
    })?;
    let onboard = Onboard::new(&invitation, &flow, Timestamp::now());
    let onboard = state.store.create_onboard(&caller.actor(), &onboard).await.map_err(onboard_error(&onboard.id))?;
    Ok((StatusCode::CREATED, Json(onboard_json(&onboard))))
}

async fn list(State(state): State<AppState>, OnboardsCaller(caller): OnboardsCaller) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingRead)?;
    let onboards = state.store.list_onboards(&caller.tenant_id, LIST_LIMIT).await?;
    Ok(Json(Value::Array(onboards.iter().map(onboard_json).collect())))
}

async fn read(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingRead)?;
    let id = object_id("id", &id)?;
    let onboard = state.store.get_onboard(&caller.tenant_id, &id).await.map_err(onboard_error(&id))?;
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
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingWrite)?;
    let id = object_id("id", &id)?;
    let failure_reason = match request.failure_reason.as_deref() {
        Some(reason) => one_line("failure_reason", Some(reason), MAX_REASON_CHARS)?,
        None => String::new(),
    };
    let before = state.store.get_onboard(&caller.tenant_id, &id).await.map_err(onboard_error(&id))?;
    let Some(raw) = request.status.as_deref().filter(|raw| !raw.is_empty()) else {
        return Ok(Json(onboard_json(&before)));
    };
    let next = OnboardStatus::parse(raw)
        .ok_or_else(|| ApiError::invalid_field("status", "must be one of created, in_progress, completed, failed"))?;
    if next == before.status {
        return Ok(Json(onboard_json(&before)));
    }
    if !before.status.may_become(next) {
        return Err(ApiError::new(
            Code::FailedPrecondition,
            format!("an onboard that is {} cannot become {}", before.status.as_str(), next.as_str()),
        ));
    }
    let mut after = Onboard { status: next, ..before.clone() };
    let effects = match next {
        OnboardStatus::Completed => {
            for step in &before.steps {
                if let StepKind::AssignRoles { role_ids } = &step.kind {
                    caller.require_grantable(&format!("the step {:?}", step.key), role_ids)?;
                }
            }
            // Completed, the onboard holds its user no longer, whether or not it enabled them.
            after.holds_user_disabled = false;
            completion(&state, &caller, &before).await?
        }
        OnboardStatus::Failed => {
            after.failure_reason =
                if failure_reason.is_empty() { "failed through the API".into() } else { failure_reason };
            OnboardEffects::default()
        }
        _ => OnboardEffects::default(),
    };
    let updated =
        state.store.update_onboard(&caller.actor(), &before, &after, &effects).await.map_err(onboard_error(&id))?;
    if effects.user_change.is_some() {
        state.search.catch_up_after_write().await;
    }
    if !effects.emails.is_empty() {
        state.mail_wake.notify_one();
    }
    Ok(Json(onboard_json(&updated)))
}

/// What completing `onboard` does for `caller`: the flow's roles granted to its user, the user enabled if
/// (and only if) the onboard holds them DISABLED since the acceptance, and the notify emails. A user whose
/// status someone else has set keeps it: an onboard never enables (or re-enables) a user it did not hold.
/// The roles are the caller's grant, so they obey the rule of every user change (`require_user_change`);
/// enabling a held user is the acceptance's doing, which the inviter authorized. Refused (400, nothing
/// changed) while the invitation is not accepted or a required step is unfinished.
async fn completion(state: &AppState, caller: &Principal, onboard: &Onboard) -> ApiResult<OnboardEffects> {
    let Some(user_id) = onboard.user_id else {
        return Err(ApiError::invalid_field("status", "the invitation has not been accepted yet"));
    };
    let unfinished = onramp_domain::onboarding::unfinished_required(&onboard.steps, &onboard.states);
    if !unfinished.is_empty() {
        return Err(ApiError::invalid_field(
            "status",
            format!("required steps are unfinished: {}", unfinished.join(", ")),
        ));
    }
    let user = state.store.get_user(&onboard.tenant_id, &user_id).await?;
    if user.status == UserStatus::Deleted {
        return Err(ApiError::new(Code::FailedPrecondition, "the onboard's user was deleted"));
    }
    let mut changed = user.clone();
    let mut emails = Vec::new();
    let invitation = state.store.find_invitation(&onboard.tenant_id, &onboard.invitation_id).await?;
    for step in &onboard.steps {
        match &step.kind {
            StepKind::AssignRoles { role_ids } => {
                for role in role_ids {
                    if !changed.role_ids.contains(role) {
                        changed.role_ids.push(*role);
                    }
                }
            }
            StepKind::Notify { recipient, message } => {
                let to = match recipient {
                    NotifyRecipient::Sponsor => invitation.sponsor_user_id,
                    NotifyRecipient::Manager => user.manager_ids.first().copied(),
                };
                // A flow may notify a sponsor or manager the invitee does not have; then nobody is written to.
                let Some(to) = to else { continue };
                let Ok(recipient) = state.store.get_user(&onboard.tenant_id, &to).await else { continue };
                if recipient.status == UserStatus::Deleted {
                    continue;
                }
                emails.push(notify_email(onboard, &user, &recipient, message));
            }
            _ => {}
        }
    }
    caller.require_user_change(&user, Some(&changed))?;
    if onboard.holds_user_disabled {
        changed.status = UserStatus::Enabled;
    }
    let user_change = (changed != user).then_some((user, changed));
    Ok(OnboardEffects { user_change, emails })
}

fn notify_email(onboard: &Onboard, user: &User, recipient: &User, message: &str) -> OutboxMessage {
    let subject = format!("{} has finished onboarding", user.display_name);
    let mut body = format!(
        "Hello {},\n\n{} ({}) has finished onboarding and their account is now active.\n",
        recipient.display_name,
        user.display_name,
        user.email.as_str()
    );
    if !message.trim().is_empty() {
        body.push_str(&format!("\n{}\n", message.trim()));
    }
    OutboxMessage::new(onboard.tenant_id, "onboard", onboard.id, recipient.email.as_str(), &subject, body)
}
