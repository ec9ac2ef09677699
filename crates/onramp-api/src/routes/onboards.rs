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

use crate::openapi::{ApiRouter, Doc, Security};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onramp_core::onboards::OnboardView;
use onramp_domain::Id;
use onramp_domain::Timestamp;
use onramp_domain::onboarding::OnboardStatus;
use onramp_store::OnboardFilter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::principal::OnboardsCaller;
use crate::state::AppState;
use crate::wire::one_line;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
"/onboards", list, Doc::api("onramp.onboards.List", "Onboards", "The account's onboards, newest first, filtered and paged")
.describe("onramp's filters and keyset paging keep the answer a JSON array: each filter given narrows the list; `limit` (1 to 1000, default 1000) caps a page, and when more onboards follow, the `Link` header names the next page (`<.../onboards?...&after=ID>; rel=\"next\"`), `after` being the id of the last onboard of this page. A bad parameter is 400 naming it.")
.security(Security::BasicOrBearer)
.query::<ListQuery>()
.ok::<Vec<OnboardBody>>()
.header("200", "Link", "`<URL>; rel=\"next\"` when another page follows.")).post(
"/onboards", create, Doc::api("onramp.onboards.Create", "Onboards", "Start an onboard for an invitation")
.security(Security::BasicOrBearer)
.body::<CreateRequest>()
.json::<OnboardBody>("201", "Created"))
        .get(
"/onboards/{id}", read, Doc::api("onramp.onboards.Get", "Onboards", "Get an onboard")
.security(Security::BasicOrBearer)
.ok::<OnboardBody>()).put(
"/onboards/{id}", update, Doc::api("onramp.onboards.Update", "Onboards", "Set an onboard's status")
.security(Security::BasicOrBearer)
.body::<UpdateRequest>()
.ok::<OnboardBody>())
        .post(
"/api/v1/onboards/{id}/steps/{key}/complete", super::onboard_steps::complete_step, Doc::api("onramp.onboarding.v1.OnboardService.CompleteStep", "Onboard", "Complete a step of an onboard (staff with a bearer token, or the invitee with HTTP Basic email:password)")
.security(Security::ApiOrBasic)
.body::<onramp_core::onboard_steps::StepInput>()
.ok::<OnboardBody>())
}

/// The most onboards a page of `GET /onboards` holds, and the size of a page that names no `limit` (the
/// whole list of a smaller account, as before paging).
const LIST_LIMIT: u32 = 1000;

pub(crate) use onramp_core::onboards::MAX_REASON_CHARS;

/// An onboard in the LeadConduit style (snake_case); `user_id` is `null` until the invitation is accepted.
/// onramp adds whose turn it is: `current_step` (`null` while the invitation is not accepted),
/// `waiting_on` (`invitee`, `approver` or `manager`), `waiting_on_user_id` (who must act; `null` before
/// acceptance, or when the user has no manager to approve) and `waiting_since`; all four are `null` once the
/// onboard has ended.
#[derive(Serialize, Debug, Clone, JsonSchema)]
pub struct OnboardBody {
    account_id: Id,
    connection_id: Id,
    created_at: Timestamp,
    current_step: Option<String>,
    failure_reason: String,
    flow_id: Id,
    id: Id,
    invitation_id: Id,
    status: &'static str,
    steps: Vec<OnboardStepBody>,
    updated_at: Timestamp,
    user_id: Option<Id>,
    waiting_on: Option<&'static str>,
    waiting_on_user_id: Option<Id>,
    waiting_since: Option<Timestamp>,
}

/// One step of an onboard: the flow's step and how far it is; who completed it and when are `null` until
/// it is done.
#[derive(Serialize, Debug, Clone, JsonSchema)]
pub struct OnboardStepBody {
    completed_at: Option<Timestamp>,
    completed_by: Option<Id>,
    done: bool,
    key: String,
    required: bool,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// An onboard in the LeadConduit style, with whose turn it is.
pub fn onboard_json(view: &OnboardView) -> OnboardBody {
    let onboard = &view.onboard;
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
    let turn = view.turn.as_ref();
    OnboardBody {
        account_id: onboard.tenant_id,
        connection_id: onboard.directory_app_id,
        created_at: onboard.created_at,
        current_step: turn.and_then(|turn| turn.step_key.clone()),
        failure_reason: onboard.failure_reason.clone(),
        flow_id: onboard.flow_id,
        id: onboard.id,
        invitation_id: onboard.invitation_id,
        status: onboard.status.as_str(),
        steps,
        updated_at: onboard.updated_at,
        user_id: onboard.user_id,
        waiting_on: turn.map(|turn| turn.waiting_on.as_str()),
        waiting_on_user_id: turn.and_then(|turn| turn.user_id),
        waiting_since: turn.map(|turn| turn.since),
    }
}

/// A 24-hex id of the `/onboards` surface, naming the field when it is not one.
pub(crate) fn object_id(field: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|_| ApiError::invalid_field(field, "must be 24 hexadecimal characters"))
}

#[derive(Deserialize, Default, JsonSchema)]
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
    let view = state.core.onboard_view(onboard).await?;
    Ok((StatusCode::CREATED, Json(onboard_json(&view))))
}

/// The query of `GET /onboards`: filters, and keyset paging by `limit` and `after` (the id of the last
/// onboard of the previous page).
#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct ListQuery {
    status: Option<String>,
    flow_id: Option<String>,
    invitation_id: Option<String>,
    user_id: Option<String>,
    limit: Option<i64>,
    after: Option<String>,
}

/// An optional 24-hex id parameter; empty is absent.
fn optional_id(field: &str, raw: Option<&str>) -> ApiResult<Option<Id>> {
    raw.filter(|raw| !raw.is_empty()).map(|raw| object_id(field, raw)).transpose()
}

/// The parameters of a next page's link, percent-encoded (ids and status names need none, but the link is
/// built from values, not from the request's text).
fn next_link(state: &AppState, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| {
            format!("{name}={}", url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
        })
        .collect();
    format!("<{}/onboards?{}>; rel=\"next\"", state.core.public_url().trim_end_matches('/'), query.join("&"))
}

/// `GET /onboards`: a JSON array, newest first, of the onboards the filters admit (`status`, `flow_id`,
/// `invitation_id`, `user_id`), at most `limit` (1 to 1000, default 1000) after the onboard `after`. When
/// there are more, `Link: <...>; rel="next"` names the next page.
async fn list(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let status = match query.status.as_deref().filter(|raw| !raw.is_empty()) {
        None => None,
        Some(raw) => Some(OnboardStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid_field("status", "must be one of created, in_progress, completed, failed")
        })?),
    };
    let filter = OnboardFilter {
        statuses: status.into_iter().collect(),
        flow_id: optional_id("flow_id", query.flow_id.as_deref())?,
        invitation_id: optional_id("invitation_id", query.invitation_id.as_deref())?,
        user_id: optional_id("user_id", query.user_id.as_deref())?,
        created_before: None,
    };
    let limit = match query.limit {
        None => LIST_LIMIT,
        Some(n) if (1..=i64::from(LIST_LIMIT)).contains(&n) => n as u32,
        Some(_) => return Err(ApiError::invalid_field("limit", format!("must be 1 to {LIST_LIMIT}"))),
    };
    let after = optional_id("after", query.after.as_deref())?;
    let mut views = state.core.list_onboards(&caller, &filter, after.as_ref(), limit + 1).await?;
    let more = views.len() > limit as usize;
    views.truncate(limit as usize);
    let body: Vec<OnboardBody> = views.iter().map(onboard_json).collect();
    let mut response = Json(body).into_response();
    if let (true, Some(last)) = (more, views.last()) {
        let mut pairs = Vec::new();
        if let Some(status) = status {
            pairs.push(("status", status.as_str().to_string()));
        }
        for (name, id) in
            [("flow_id", filter.flow_id), ("invitation_id", filter.invitation_id), ("user_id", filter.user_id)]
        {
            if let Some(id) = id {
                pairs.push((name, id.to_string()));
            }
        }
        pairs.push(("limit", limit.to_string()));
        pairs.push(("after", last.onboard.id.to_string()));
        let link = HeaderValue::from_str(&next_link(&state, &pairs))
            .map_err(|_| ApiError::from(onramp_core::CoreError::internal("a next-page link is not a header value")))?;
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

async fn read(
    State(state): State<AppState>,
    OnboardsCaller(caller): OnboardsCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<OnboardBody>> {
    let id = object_id("id", &id)?;
    let onboard = state.core.get_onboard(&caller, &id).await?;
    Ok(Json(onboard_json(&state.core.onboard_view(onboard).await?)))
}

#[derive(Deserialize, Default, JsonSchema)]
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
    Ok(Json(onboard_json(&state.core.onboard_view(updated).await?)))
}
