//! Onboards: one invitee's run through an onboarding flow.
//!
//! The LeadConduit-style surface (`../shared/api/CONVENTIONS.md`, second part): `GET/POST /onboards`,
//! `GET/PUT /onboards/{id}`, snake_case, 24-hex ids, 201 on create, HTTP Basic `API:<key>` or a bearer token.
//! `account_id` is the tenant and `connection_id` the invitation's directory.
//!
//! Steps are completed through onramp's `POST /api/v1/onboards/{id}/steps/{key}/complete`, each by whom
//! its rule allows: the invitee (HTTP Basic with their email and the password they chose on accepting)
//! accepts terms and completes their profile; an admin may complete a profile or mark an email verified;
//! only the approver (or one of the user's managers) gives a manager approval, with a bearer token of
//! their own. Steps onramp performs itself (assign roles, notify) run when the onboard completes.
//!
//! Status moves `created → in_progress → completed`, or to `failed` with a reason (a rejected approval, a
//! revoked or expired invitation, or a PUT). Completing needs the invitation accepted and every required
//! step done; it enables the user (created DISABLED on acceptance), grants the flow's roles and queues the
//! notify emails, in one transaction.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use onramp_domain::onboarding::{NotifyRecipient, OnboardStatus, StepKind};
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Onboard, OnboardEffects, OutboxMessage, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{ApiJson, ClientAddr};
use crate::principal::{OnboardsCaller, Principal};
use crate::state::AppState;
use crate::wire::one_line;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/onboards", get(list).post(create))
        .route("/onboards/{id}", get(read).put(update))
        .route("/api/v1/onboards/{id}/steps/{key}/complete", post(complete_step))
}

/// The most onboards `GET /onboards` returns, newest first.
const LIST_LIMIT: u32 = 1000;

/// The longest failure reason (`PUT` or a rejected approval) onramp keeps, in characters.
const MAX_REASON_CHARS: usize = 1000;

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
fn object_id(field: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|_| ApiError::invalid_field(field, "must be 24 hexadecimal characters"))
}

fn onboard_error(id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
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
            completion(&state, &before).await?
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

/// What completing `onboard` does: its user enabled with the flow's roles, and the notify emails. Refused
/// (400, nothing changed) while the invitation is not accepted or a required step is unfinished.
async fn completion(state: &AppState, onboard: &Onboard) -> ApiResult<OnboardEffects> {
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
    let mut enabled = user.clone();
    enabled.status = UserStatus::Enabled;
    let mut emails = Vec::new();
    let invitation = state.store.find_invitation(&onboard.tenant_id, &onboard.invitation_id).await?;
    for step in &onboard.steps {
        match &step.kind {
            StepKind::AssignRoles { role_ids } => {
                for role in role_ids {
                    if !enabled.role_ids.contains(role) {
                        enabled.role_ids.push(*role);
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
    Ok(OnboardEffects { user_change: Some((user, enabled)), emails })
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

/// Who is completing a step: a bearer token or API key, or the invitee with HTTP Basic `email:password`.
enum StepCaller {
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

/// Checks the invitee's email and password against the onboard's user (argon2id, on a blocking thread).
pub(crate) async fn verify_invitee(
    state: &AppState,
    onboard: &Onboard,
    email: &str,
    password: onramp_domain::Secret<String>,
) -> ApiResult<User> {
    let refused = || ApiError::unauthenticated("wrong email or password");
    let user_id = onboard.user_id.ok_or_else(refused)?;
    let user = state.store.get_user(&onboard.tenant_id, &user_id).await.map_err(|_| refused())?;
    if !user.email.as_str().eq_ignore_ascii_case(email.trim()) {
        return Err(refused());
    }
    let hash = state.store.password_hash(&onboard.tenant_id, &user_id).await.map_err(|_| refused())?;
    let valid = crate::invite::with_hashing_slot(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
        })
    })
    .await?;
    if valid { Ok(user) } else { Err(refused()) }
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
    #[serde(alias = "display_name")]
    display_name: Option<String>,
    #[serde(alias = "job_title")]
    job_title: Option<String>,
    department: Option<String>,
    #[serde(alias = "employment_type")]
    employment_type: Option<String>,
    #[serde(alias = "manager_ids")]
    manager_ids: Option<Vec<String>>,
}

async fn complete_step(
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
            // Wrong passwords count against the client's address, as wrong invitation links do.
            state.guesses.check(client)?;
            let onboard = state.store.find_onboard(&id).await.map_err(onboard_error(&id))?;
            let user = match verify_invitee(&state, &onboard, &email, password).await {
                Ok(user) => user,
                Err(error) => {
                    state.guesses.failed(client);
                    return Err(error);
                }
            };
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
            if staff.is_some() && !is_admin {
                return Err(ApiError::permission_denied("permission denied: this call requires onboarding:write"));
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
