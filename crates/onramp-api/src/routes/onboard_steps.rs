//! Completing an onboard's steps: `POST /api/v1/onboards/{id}/steps/{key}/complete`, and the rule of each
//! step, which the invitee's onboarding pages (`onboarding_page.rs`) share.
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
use onramp_domain::onboarding::{OnboardStatus, StepKind};
use onramp_domain::user::User;
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Onboard, OnboardEffects, StoreError};
use serde::Deserialize;
use serde_json::Value;

use super::onboards::{MAX_REASON_CHARS, object_id, onboard_error, onboard_json};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::ApiJson;
use crate::principal::{OnboardsCaller, Principal};
use crate::sign_in::verify_invitee;
use crate::state::AppState;
use crate::wire::one_line;

/// Who is completing a step: a bearer token or API key, or the invitee with HTTP Basic `email:password`.
pub(crate) enum StepCaller {
    Principal(Principal),
    Invitee { email: String, password: onramp_domain::Secret<String> },
}

impl FromRequestParts<AppState> for StepCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).unwrap_or_default();
        match crate::auth::api_key::basic_credentials(header) {
            Some((user, password)) if user != "API" => {
                Ok(StepCaller::Invitee { email: user, password: onramp_domain::Secret::new(password) })
            }
            _ => OnboardsCaller::from_request_parts(parts, state).await.map(|caller| StepCaller::Principal(caller.0)),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct StepRequest {
    /// acceptTerms
    accepted: Option<bool>,
    /// managerApproval
    approved: Option<bool>,
    reason: Option<String>,
    /// verifyEmail (admins)
    verified: Option<bool>,
    /// completeProfile: values to set on the user before the step's fields are checked.
    display_name: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    employment_type: Option<String>,
    manager_ids: Option<Vec<String>>,
}

pub(crate) async fn complete_step(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: StepCaller,
    Path((id, key)): Path<(String, String)>,
    ApiJson(request): ApiJson<StepRequest>,
) -> ApiResult<Json<Value>> {
    let id = object_id("id", &id)?;
    // The invitee names only the onboard; staff are confined to their tenant.
    let (before, actor_user, staff) = match caller {
        StepCaller::Principal(principal) => {
            let onboard = state.store.get_onboard(&principal.tenant_id, &id).await.map_err(onboard_error(&id))?;
            // Someone who may not read onboards learns nothing of one they do not approve.
            if principal.require(Permission::OnboardingRead).is_err()
                && !approves(&state, &onboard, principal.user_id).await?
            {
                return Err(onboard_error(&id)(StoreError::NotFound));
            }
            (onboard, principal.user_id, Some(principal))
        }
        StepCaller::Invitee { email, password } => {
            let onboard = state.store.find_onboard(&id).await.map_err(onboard_error(&id))?;
            let user = verify_invitee(&state, client, &onboard, &email, password).await?;
            (onboard, user.id, None)
        }
    };
    let updated = apply_step(&state, &before, &key, actor_user, staff.as_ref(), &request).await?;
    Ok(Json(onboard_json(&updated)))
}

/// Whether `user` may give an approval naming `approver_user_id`: that approver, or, when the step names
/// none, one of the onboard's user's `managers`.
fn may_approve(approver_user_id: Option<Id>, managers: &[Id], user: Id) -> bool {
    match approver_user_id {
        Some(approver) => approver == user,
        None => managers.contains(&user),
    }
}

/// The managers of the onboard's user; none before the invitation is accepted.
async fn managers_of(state: &AppState, onboard: &Onboard) -> ApiResult<Vec<Id>> {
    match onboard.user_id {
        Some(id) => Ok(state.store.get_user(&onboard.tenant_id, &id).await?.manager_ids),
        None => Ok(Vec::new()),
    }
}

/// Whether `user` may give one of the onboard's manager approvals.
async fn approves(state: &AppState, onboard: &Onboard, user: Id) -> ApiResult<bool> {
    let managers = managers_of(state, onboard).await?;
    Ok(onboard.steps.iter().any(|step| {
        matches!(&step.kind, StepKind::ManagerApproval { approver_user_id }
            if may_approve(*approver_user_id, &managers, user))
    }))
}

/// Completes step `key` of `before` for `actor_user` — staff (`staff` is their principal) or, when `staff`
/// is None, the onboard's own invitee, already authenticated — if the step's rule allows it.
pub(crate) async fn apply_step(
    state: &AppState,
    before: &Onboard,
    key: &str,
    actor_user: Id,
    staff: Option<&Principal>,
    request: &StepRequest,
) -> ApiResult<Onboard> {
    let id = before.id;
    if before.status.is_final() {
        return Err(ApiError::new(Code::FailedPrecondition, format!("the onboard is {}", before.status.as_str())));
    }
    let index = before
        .steps
        .iter()
        .position(|step| step.key == key)
        .ok_or_else(|| ApiError::not_found(format!("step {key:?} of onboard {id}")))?;
    let step = &before.steps[index];
    if before.states[index].done {
        return Err(ApiError::new(Code::FailedPrecondition, format!("step {key:?} is done already")));
    }
    let is_admin = staff.as_ref().is_some_and(|p| p.require(Permission::OnboardingWrite).is_ok());
    let actor = match &staff {
        Some(principal) => principal.actor(),
        None => onramp_store::Actor {
            tenant_id: before.tenant_id,
            user_id: Some(actor_user),
            credential_id: None,
            request_id: None,
        },
    };
    let mut after = before.clone();
    let mut effects = OnboardEffects::default();
    let mut rejected = None;
    match &step.kind {
        StepKind::AcceptTerms { .. } => {
            if staff.is_some() {
                return Err(ApiError::permission_denied("only the invitee can accept the terms"));
            }
            if request.accepted != Some(true) {
                return Err(ApiError::invalid_field("accepted", "must be true to accept the terms"));
            }
        }
        StepKind::CompleteProfile { required_fields } => {
            // The step writes the user: staff need the right to write users at all, checked before anything
            // about the user is read.
            if let Some(principal) = staff {
                principal.require(Permission::UserWrite)?;
            }
            let user_id = before
                .user_id
                .ok_or_else(|| ApiError::new(Code::FailedPrecondition, "the invitation has not been accepted yet"))?;
            // A manager approves the onboarding, so the invitee cannot choose their own.
            if staff.is_none() && request.manager_ids.is_some() {
                return Err(ApiError::permission_denied("only an admin can set the manager of an onboarding user"));
            }
            let user = state.store.get_user(&before.tenant_id, &user_id).await?;
            let mut changed = user.clone();
            apply_profile(request, &mut changed)?;
            // The invitee writes their own profile (`actor_user` is the onboard's user, authenticated); staff
            // write it only as they could through the user API (a super-admin's only as a super-admin).
            match staff {
                Some(principal) => principal.require_user_change(&user, Some(&changed))?,
                None if actor_user == user_id => {}
                None => return Err(ApiError::permission_denied("only the invitee completes their own profile")),
            }
            if let Some(missing) = required_fields.iter().find(|field| !field.present(&changed)) {
                return Err(ApiError::invalid_field(missing.as_str(), "is required by this step"));
            }
            if changed != user {
                effects.user_change = Some((user, changed));
            }
        }
        StepKind::VerifyEmail {} => {
            if !is_admin {
                return Err(ApiError::permission_denied("an email is verified by following the invitation link"));
            }
            if request.verified != Some(true) {
                return Err(ApiError::invalid_field("verified", "must be true"));
            }
        }
        StepKind::ManagerApproval { approver_user_id } => {
            let Some(principal) = &staff else {
                return Err(ApiError::permission_denied("the invitee cannot approve their own onboarding"));
            };
            if before.user_id.is_none() {
                return Err(ApiError::new(Code::FailedPrecondition, "the invitation has not been accepted yet"));
            }
            if !may_approve(*approver_user_id, &managers_of(state, before).await?, principal.user_id) {
                return Err(ApiError::permission_denied(
                    "only the approver named by the step, or the user's manager, can approve",
                ));
            }
            match request.approved {
                Some(true) => {}
                Some(false) => {
                    let reason = one_line("reason", request.reason.as_deref(), MAX_REASON_CHARS)?;
                    let reason = if reason.is_empty() { "no reason given" } else { &reason };
                    rejected = Some(format!("step {key:?} rejected by the manager: {reason}"));
                }
                None => return Err(ApiError::invalid_field("approved", "is required (true or false)")),
            }
        }
        StepKind::AssignRoles { .. } | StepKind::Notify { .. } => {
            return Err(ApiError::new(
                Code::FailedPrecondition,
                format!("step {key:?} is performed by onramp when the onboard completes"),
            ));
        }
    }
    let now = Timestamp::now();
    match rejected {
        Some(reason) => {
            after.status = OnboardStatus::Failed;
            after.failure_reason = reason;
        }
        None => {
            let state_of = &mut after.states[index];
            state_of.done = true;
            state_of.completed_by = Some(actor_user);
            state_of.completed_at = Some(now);
            after.start_if_progressed();
        }
    }
    let updated = state.store.update_onboard(&actor, before, &after, &effects).await.map_err(onboard_error(&id))?;
    if effects.user_change.is_some() {
        state.search.catch_up_after_write().await;
    }
    Ok(updated)
}

/// Writes the profile fields a complete-profile request carries into `user`.
fn apply_profile(request: &StepRequest, user: &mut User) -> ApiResult<()> {
    let text =
        |field: &str, value: &Option<String>| value.as_deref().map(|v| one_line(field, Some(v), 256)).transpose();
    if let Some(name) = text("displayName", &request.display_name)? {
        if name.is_empty() {
            return Err(ApiError::invalid_field("displayName", "must not be empty"));
        }
        user.display_name = name;
    }
    if let Some(title) = text("jobTitle", &request.job_title)? {
        user.job_title = title;
    }
    if let Some(department) = text("department", &request.department)? {
        user.department = department;
    }
    if let Some(kind) = text("employmentType", &request.employment_type)? {
        user.employment_type = kind;
    }
    if let Some(managers) = &request.manager_ids {
        user.manager_ids = managers
            .iter()
            .enumerate()
            .map(|(i, raw)| raw.parse().map_err(|e| ApiError::invalid_field(&format!("managerIds[{i}]"), e)))
            .collect::<ApiResult<_>>()?;
    }
    Ok(())
}
