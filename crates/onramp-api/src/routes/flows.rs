//! Onboarding flows, onramp's own API in the ConductorOne style: `GET/POST /api/v1/onboarding-flows` (list,
//! create) and `GET/POST/DELETE /api/v1/onboarding-flows/{id}` (get, update with `updateMask`, delete).
//!
//! Wire form: `{"onboardingFlow": {"id", "displayName", "description", "steps": [{"key", "required",
//! "acceptTerms": {"text"}} | {"completeProfile": {"requiredFields": [...]}} | {"verifyEmail": {}} |
//! {"managerApproval": {"approverUserId"}} | {"assignRoles": {"roleIds": [...]}} | {"notify": {"recipient",
//! "message"}}], "builtin", "createdAt", "updatedAt"}}`. The built-in minimal flow is listed first and can be
//! read but not changed; a flow in use cannot be deleted. The use cases, their authorization and the rules
//! on a flow's roles and approvers are the core's (`onramp_core::flows`).

use crate::openapi::{ApiRouter, Doc};
use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::BuiltinRole;
use onramp_domain::onboarding::{Flow, FlowStep, StepKind, validate_steps};
use onramp_domain::{Id, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::mask::parse_mask;
use crate::wire::{Empty, ListBody};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/api/v1/onboarding-flows",
            list,
            Doc::api("onramp.onboarding.v1.OnboardingFlowService.List", "OnboardingFlow", "List onboarding flows")
                .query::<ListParams>()
                .ok::<ListBody<FlowBody>>(),
        )
        .post(
            "/api/v1/onboarding-flows",
            create,
            Doc::api(
                "onramp.onboarding.v1.OnboardingFlowService.Create",
                "OnboardingFlow",
                "Create an onboarding flow",
            )
            .body::<FlowInput>()
            .ok::<FlowResponse>(),
        )
        .get(
            "/api/v1/onboarding-flows/{id}",
            read,
            Doc::api("onramp.onboarding.v1.OnboardingFlowService.Get", "OnboardingFlow", "Get an onboarding flow")
                .ok::<FlowResponse>(),
        )
        .post(
            "/api/v1/onboarding-flows/{id}",
            update,
            Doc::api(
                "onramp.onboarding.v1.OnboardingFlowService.Update",
                "OnboardingFlow",
                "Update an onboarding flow",
            )
            .body::<UpdateRequest>()
            .ok::<FlowResponse>(),
        )
        .delete(
            "/api/v1/onboarding-flows/{id}",
            delete,
            Doc::api(
                "onramp.onboarding.v1.OnboardingFlowService.Delete",
                "OnboardingFlow",
                "Delete an onboarding flow",
            )
            .ok::<Empty>(),
        )
}

/// An onboarding flow on the wire, fields in the alphabetical order its bodies have always had.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowBody {
    builtin: bool,
    created_at: Timestamp,
    description: String,
    display_name: String,
    id: Id,
    /// The steps as a JSON value, whose object keys are sorted: a step's kind is flattened into it, so its
    /// own field order (`key`, `required`, then the kind) is not the order its bodies have always had.
    steps: Value,
    updated_at: Timestamp,
}

/// `{ "onboardingFlow": ... }` of flow create, get and update.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowResponse {
    onboarding_flow: FlowBody,
}

pub fn flow_json(flow: &Flow) -> FlowBody {
    FlowBody {
        builtin: flow.builtin,
        created_at: flow.created_at,
        description: flow.description.clone(),
        display_name: flow.display_name.clone(),
        id: flow.id,
        steps: serde_json::to_value(&flow.steps).expect("flow steps are JSON objects with string keys"),
        updated_at: flow.updated_at,
    }
}

fn flow_response(flow: &Flow) -> Json<FlowResponse> {
    Json(FlowResponse { onboarding_flow: flow_json(flow) })
}

/// A flow as a request gives it (create, and update under its mask); the console's flow editor builds one too.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct FlowInput {
    pub(crate) display_name: Option<String>,
    pub(crate) description: Option<String>,
    /// Parsed step by step, so that an error names the step.
    pub(crate) steps: Option<Vec<Value>>,
}

pub(crate) const UPDATABLE: [&str; 3] = ["displayName", "description", "steps"];

impl FlowInput {
    pub(crate) fn paths_set(&self) -> Vec<&'static str> {
        let set = [self.display_name.is_some(), self.description.is_some(), self.steps.is_some()];
        UPDATABLE.iter().zip(set).filter(|(_, set)| *set).map(|(path, _)| *path).collect()
    }

    /// Sets the fields of `paths` from this input, refusing the first bad value (naming its field).
    pub(crate) fn apply(&self, flow: &mut Flow, paths: &[&'static str]) -> ApiResult<()> {
        if paths.contains(&"displayName") {
            flow.display_name = display_name(self.display_name.as_deref())?;
        }
        if paths.contains(&"description") {
            flow.description = description(self.description.as_deref())?;
        }
        if paths.contains(&"steps") {
            flow.steps = parse_steps(self.steps.as_deref().unwrap_or_default())?;
        }
        Ok(())
    }

    /// Every bad value of this input, each as the error [`FlowInput::apply`] would give were it the first:
    /// by the same checks, for a page that shows each problem beside its field. A step is checked against
    /// the earlier steps' keys, as `validate_steps` checks them.
    pub(crate) fn problems(&self) -> Vec<ApiError> {
        let mut problems = Vec::new();
        problems.extend(display_name(self.display_name.as_deref()).err());
        problems.extend(description(self.description.as_deref()).err());
        // The earlier steps with a good key, each as a step whose settings pass, so that a step is checked
        // against their keys (and their number) alone.
        let mut earlier: Vec<FlowStep> = Vec::new();
        for (index, value) in self.steps.as_deref().unwrap_or_default().iter().enumerate() {
            let step = match parse_step(index, value) {
                Ok(step) => step,
                Err(error) => {
                    problems.push(error);
                    continue;
                }
            };
            let stand_in = FlowStep { key: step.key.clone(), required: step.required, kind: StepKind::VerifyEmail {} };
            earlier.push(step);
            let result = validate_steps(&earlier);
            earlier.pop();
            match result {
                Ok(()) => earlier.push(stand_in),
                Err(error) => {
                    if !error.message.starts_with("key ") {
                        earlier.push(stand_in);
                    }
                    problems.push(ApiError::invalid_field(&format!("steps[{index}]"), error.message));
                }
            }
        }
        problems
    }
}

fn display_name(raw: Option<&str>) -> ApiResult<String> {
    let name = crate::wire::one_line("displayName", raw, 256)?;
    if name.is_empty() {
        return Err(ApiError::invalid_field("displayName", "must not be empty"));
    }
    Ok(name)
}

fn description(raw: Option<&str>) -> ApiResult<String> {
    crate::wire::multi_line("description", raw, 4096)
}

/// The steps of a request, each parsed and checked; an error names `steps[i]` and what is wrong. Role
/// references must be built-in roles (by id or name; stored as ids).
fn parse_steps(raw: &[Value]) -> ApiResult<Vec<FlowStep>> {
    let steps = raw.iter().enumerate().map(|(index, value)| parse_step(index, value)).collect::<ApiResult<Vec<_>>>()?;
    validate_steps(&steps)
        .map_err(|error| ApiError::invalid_field(&format!("steps[{}]", error.index), error.message))?;
    Ok(steps)
}

/// The step at `index` of a request, parsed alone (its settings are checked with the others', by
/// `validate_steps`).
fn parse_step(index: usize, value: &Value) -> ApiResult<FlowStep> {
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
            let role = reference
                .as_str()
                .and_then(BuiltinRole::from_ref)
                .ok_or_else(|| ApiError::invalid_field(&format!("{field}.assignRoles.roleIds[{i}]"), "no such role"))?;
            *reference = json!(role.id());
        }
    }
    if value.get("required").is_none() {
        value["required"] = json!(true);
    }
    serde_json::from_value(value).map_err(|error| {
        ApiError::invalid_field(
            &field,
            format!(
                "{error}; a step is {{\"key\", \"required\", and one of acceptTerms, completeProfile, verifyEmail, \
                 managerApproval, assignRoles, notify}}"
            ),
        )
    })
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(input): ApiJson<FlowInput>,
) -> ApiResult<Json<FlowResponse>> {
    let flow = state
        .core
        .create_flow(&caller, |flow| {
            if input.display_name.is_none() {
                return Err(ApiError::invalid_field("displayName", "is required").into());
            }
            Ok(input.apply(flow, &input.paths_set())?)
        })
        .await?;
    Ok(flow_response(&flow))
}

async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<FlowBody>>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["onboarding_flows.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut flows = state.core.list_flows(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut flows, size, |flow| flow.id);
    Ok(Json(ListBody { list: flows.iter().map(flow_json).collect(), next_page_token: next }))
}

async fn read(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<FlowResponse>> {
    let id = path_id("id", &id)?;
    let flow = state.core.get_flow(&caller, &id).await?;
    Ok(flow_response(&flow))
}

#[derive(Deserialize, Default, JsonSchema)]
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
) -> ApiResult<Json<FlowResponse>> {
    let id = path_id("id", &id)?;
    let input = request.onboarding_flow.ok_or_else(|| ApiError::invalid_field("onboardingFlow", "is required"))?;
    let mut paths = parse_mask(&request.update_mask, &UPDATABLE, "onboarding flow")?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    let flow = state.core.update_flow(&caller, &id, |flow| Ok(input.apply(flow, &paths)?)).await?;
    Ok(flow_response(&flow))
}

async fn delete(State(state): State<AppState>, caller: Principal, Path(id): Path<String>) -> ApiResult<Json<Empty>> {
    let id = path_id("id", &id)?;
    state.core.delete_flow(&caller, &id).await?;
    Ok(Json(Empty {}))
}
