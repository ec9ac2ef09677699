//! Onboarding flows, onramp's own API in the ConductorOne style: `GET/POST /api/v1/onboarding-flows` (list,
//! create) and `GET/POST/DELETE /api/v1/onboarding-flows/{id}` (get, update with `updateMask`, delete).
//!
//! Wire form: `{"onboardingFlow": {"id", "displayName", "description", "steps": [{"key", "required",
//! "acceptTerms": {"text"}} | {"completeProfile": {"requiredFields": [...]}} | {"verifyEmail": {}} |
//! {"managerApproval": {"approverUserId"}} | {"assignRoles": {"roleIds": [...]}} | {"notify": {"recipient",
//! "message"}}], "builtin", "createdAt", "updatedAt"}}`. The built-in minimal flow is listed first and can be
//! read but not changed; a flow in use cannot be deleted.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use onramp_domain::onboarding::{Flow, FlowStep, MINIMAL_FLOW_ID, StepKind, validate_steps};
use onramp_domain::{BuiltinRole, Id, Permission, Timestamp};
use onramp_store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::mask::parse_mask;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/onboarding-flows", get(list).post(create))
        .route("/api/v1/onboarding-flows/{id}", get(read).post(update).delete(delete))
}

pub fn flow_json(flow: &Flow) -> Value {
    json!({
        "id": flow.id,
        "displayName": flow.display_name,
        "description": flow.description,
        "steps": flow.steps,
        "builtin": flow.builtin,
        "createdAt": flow.created_at,
        "updatedAt": flow.updated_at,
    })
}

fn flow_error(id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |error| match error {
        StoreError::NotFound => ApiError::not_found(format!("onboarding flow {id}")),
        other => other.into(),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FlowInput {
    display_name: Option<String>,
    description: Option<String>,
    /// Parsed step by step, so that an error names the step.
    steps: Option<Vec<Value>>,
}

const UPDATABLE: [&str; 3] = ["displayName", "description", "steps"];

impl FlowInput {
    fn paths_set(&self) -> Vec<&'static str> {
        let set = [self.display_name.is_some(), self.description.is_some(), self.steps.is_some()];
        UPDATABLE.iter().zip(set).filter(|(_, set)| *set).map(|(path, _)| *path).collect()
    }

    fn apply(&self, flow: &mut Flow, paths: &[&'static str]) -> ApiResult<()> {
        if paths.contains(&"displayName") {
            flow.display_name = crate::wire::one_line("displayName", self.display_name.as_deref(), 256)?;
            if flow.display_name.is_empty() {
                return Err(ApiError::invalid_field("displayName", "must not be empty"));
            }
        }
        if paths.contains(&"description") {
            flow.description = crate::wire::multi_line("description", self.description.as_deref(), 4096)?;
        }
        if paths.contains(&"steps") {
            flow.steps = parse_steps(self.steps.as_deref().unwrap_or_default())?;
        }
        Ok(())
    }
}

/// The steps of a request, each parsed and checked; an error names `steps[i]` and what is wrong. Role
/// references must be built-in roles (by id or name; stored as ids).
fn parse_steps(raw: &[Value]) -> ApiResult<Vec<FlowStep>> {
    let mut steps = Vec::with_capacity(raw.len());
    for (index, value) in raw.iter().enumerate() {
        let field = format!("steps[{index}]");
        if !value.is_object() {
            return Err(ApiError::invalid_field(
                &field,
                "must be an object such as {\"key\": \"terms\", \"acceptTerms\": {...}}",
            ));
        }
        let mut value = value.clone();
        // A step's kind is flattened into it, out of `extract::objects`' reach: its proto names are mapped here.
        crate::extract::json_names(&mut value, &field)?;
        if let Some(refs) = value.pointer_mut("/assignRoles/roleIds").and_then(Value::as_array_mut) {
            for (i, reference) in refs.iter_mut().enumerate() {
                let role = reference.as_str().and_then(BuiltinRole::from_ref).ok_or_else(|| {
                    ApiError::invalid_field(&format!("{field}.assignRoles.roleIds[{i}]"), "no such role")
                })?;
                *reference = json!(role.id());
            }
        }
        if value.get("required").is_none() {
            value["required"] = json!(true);
        }
        let step: FlowStep = serde_json::from_value(value).map_err(|error| {
            ApiError::invalid_field(
                &field,
                format!(
                    "{error}; a step is {{\"key\", \"required\", and one of acceptTerms, completeProfile, verifyEmail, \
                     managerApproval, assignRoles, notify}}"
                ),
            )
        })?;
        steps.push(step);
    }
    validate_steps(&steps)
        .map_err(|error| ApiError::invalid_field(&format!("steps[{}]", error.index), error.message))?;
    Ok(steps)
}

/// Refuses roles in assignRoles steps that the caller may not grant.
fn check_grants(caller: &Principal, flow: &Flow) -> ApiResult<()> {
    for (index, step) in flow.steps.iter().enumerate() {
        if let StepKind::AssignRoles { role_ids } = &step.kind {
            caller.require_grantable(&format!("steps[{index}].assignRoles.roleIds"), role_ids)?;
        }
    }
    Ok(())
}

/// Refuses an approver that is not a live user of the tenant.
async fn check_approvers(state: &AppState, tenant_id: &Id, flow: &Flow) -> ApiResult<()> {
    for (index, step) in flow.steps.iter().enumerate() {
        if let StepKind::ManagerApproval { approver_user_id: Some(approver) } = &step.kind {
            let live =
                state.core.store().get_user(tenant_id, approver).await.ok().filter(|user| user.deleted_at.is_none());
            if live.is_none() {
                return Err(ApiError::invalid_field(
                    &format!("steps[{index}].managerApproval.approverUserId"),
                    format!("user {approver} not found"),
                ));
            }
        }
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<FlowInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingWrite)?;
    if input.display_name.is_none() {
        return Err(ApiError::invalid_field("displayName", "is required"));
    }
    let now = Timestamp::now();
    let mut flow = Flow {
        id: Id::new(),
        tenant_id: caller.tenant_id,
        display_name: String::new(),
        description: String::new(),
        steps: Vec::new(),
        builtin: false,
        created_at: now,
        updated_at: now,
    };
    input.apply(&mut flow, &input.paths_set())?;
    check_grants(&caller, &flow)?;
    check_approvers(&state, &caller.tenant_id, &flow).await?;
    state.core.write(state.core.store().create_flow(&caller.actor(), &flow)).await?;
    Ok(Json(json!({ "onboardingFlow": flow_json(&flow) })))
}

async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingRead)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["onboarding_flows.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut flows = Vec::new();
    // The minimal flow's id sorts before every generated id, so it leads the first page.
    if after.is_none() {
        flows.push(Flow::minimal(caller.tenant_id));
    }
    let fetch = (size + 1 - flows.len()) as u32;
    flows.extend(state.core.store().list_flows(&caller.tenant_id, after.as_ref(), fetch).await?);
    let next = next_page_token(&state.page_tokens, &query, &mut flows, size, |flow| flow.id);
    Ok(Json(json!({ "list": flows.iter().map(flow_json).collect::<Vec<_>>(), "nextPageToken": next })))
}

async fn read(State(state): State<AppState>, caller: Principal, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingRead)?;
    let id = path_id("id", &id)?;
    let flow = state.core.store().get_flow(&caller.tenant_id, &id).await.map_err(flow_error(&id))?;
    Ok(Json(json!({ "onboardingFlow": flow_json(&flow) })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct UpdateRequest {
    onboarding_flow: Option<FlowInput>,
    update_mask: Value,
}

async fn update(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingWrite)?;
    let id = path_id("id", &id)?;
    if id == MINIMAL_FLOW_ID {
        return Err(ApiError::new(Code::FailedPrecondition, "the minimal flow is built in and cannot change"));
    }
    let input = request.onboarding_flow.ok_or_else(|| ApiError::invalid_field("onboardingFlow", "is required"))?;
    let mut paths = parse_mask(&request.update_mask, &UPDATABLE, "onboarding flow")?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    let before = state.core.store().get_flow(&caller.tenant_id, &id).await.map_err(flow_error(&id))?;
    let mut after = before.clone();
    input.apply(&mut after, &paths)?;
    check_grants(&caller, &after)?;
    check_approvers(&state, &caller.tenant_id, &after).await?;
    if after == before {
        return Ok(Json(json!({ "onboardingFlow": flow_json(&before) })));
    }
    let updated =
        state.core.write(state.core.store().update_flow(&caller.actor(), &before, &after)).await.map_err(|error| {
            match error {
                StoreError::Conflict { .. } => {
                    ApiError::new(Code::Aborted, "the flow changed while this update ran; read it again and retry")
                }
                other => flow_error(&id)(other),
            }
        })?;
    Ok(Json(json!({ "onboardingFlow": flow_json(&updated) })))
}

async fn delete(State(state): State<AppState>, caller: Principal, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Permission::OnboardingWrite)?;
    let id = path_id("id", &id)?;
    state.core.write(state.core.store().delete_flow(&caller.actor(), &id)).await.map_err(flow_error(&id))?;
    Ok(Json(json!({})))
}
