//! The audit log: `GET /api/v1/audit-events`, a tenant's events oldest first (or newest first, with
//! `orderBy=newest`), paged, filtered by actor, action, object and time.

use axum::Json;
use axum::extract::State;
use onramp_domain::{Id, Timestamp};
use onramp_store::{AuditEvent, AuditFilter, AuditOrder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::paging::{fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::{ListBody, one_line};

/// An audit event on the wire; an absent actor, request id or side is `null`.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventBody {
    action: String,
    actor_credential_id: Option<Id>,
    actor_user_id: Option<Id>,
    after: Option<Value>,
    before: Option<Value>,
    created_at: Timestamp,
    id: Id,
    object_id: String,
    object_type: String,
    request_id: Option<String>,
}

fn event_json(event: AuditEvent) -> AuditEventBody {
    AuditEventBody {
        action: event.action,
        actor_credential_id: event.actor_credential_id,
        actor_user_id: event.actor_user_id,
        after: event.after,
        before: event.before,
        created_at: event.created_at,
        id: event.id,
        object_id: event.object_id,
        object_type: event.object_type,
        request_id: event.request_id,
    }
}

/// The query of `GET /api/v1/audit-events`: paging, the order (`orderBy`: `oldest`, the default, or
/// `newest`), and filters by actor (a user id), action, object (type and id) and a time range (`since`
/// inclusive, `until` exclusive, RFC 3339).
#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct AuditQuery {
    page_size: Option<i64>,
    page_token: Option<String>,
    order_by: Option<String>,
    actor_user_id: Option<String>,
    action: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A filter's text: trimmed, one line of at most 256 characters; empty is absent.
fn text_filter(field: &str, raw: Option<&str>) -> ApiResult<Option<String>> {
    let text = one_line(field, raw, 256)?;
    Ok((!text.is_empty()).then_some(text))
}

fn time_filter(field: &str, raw: Option<&str>) -> ApiResult<Option<Timestamp>> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => Timestamp::parse_rfc3339(raw)
            .map(Some)
            .map_err(|_| ApiError::invalid_field(field, "must be an RFC 3339 time, such as 2026-01-31T09:00:00Z")),
    }
}

/// The order a list asks for by its name (`oldest`, `newest`); absent or empty is the log's own order.
pub fn audit_order(field: &str, raw: Option<&str>) -> ApiResult<AuditOrder> {
    match raw.map(str::trim).unwrap_or_default() {
        "" | "oldest" => Ok(AuditOrder::OldestFirst),
        "newest" => Ok(AuditOrder::NewestFirst),
        _ => Err(ApiError::invalid_field(field, "must be oldest or newest")),
    }
}

/// An order's name, as [`audit_order`] reads it.
pub fn audit_order_name(order: AuditOrder) -> &'static str {
    match order {
        AuditOrder::OldestFirst => "oldest",
        AuditOrder::NewestFirst => "newest",
    }
}

impl AuditQuery {
    fn filter(&self) -> ApiResult<AuditFilter> {
        let actor_user_id = match self.actor_user_id.as_deref().map(str::trim).filter(|raw| !raw.is_empty()) {
            None => None,
            Some(raw) => Some(raw.parse::<Id>().map_err(|error| ApiError::invalid_field("actorUserId", error))?),
        };
        Ok(AuditFilter {
            actor_user_id,
            action: text_filter("action", self.action.as_deref())?,
            object_type: text_filter("objectType", self.object_type.as_deref())?,
            object_id: text_filter("objectId", self.object_id.as_deref())?,
            since: time_filter("since", self.since.as_deref())?,
            until: time_filter("until", self.until.as_deref())?,
        })
    }
}

pub async fn list_audit_events(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<ListBody<AuditEventBody>>> {
    let size = page_size("page_size", query.page_size)?;
    let filter = query.filter()?;
    let order = audit_order("orderBy", query.order_by.as_deref())?;
    let micros = |time: Option<Timestamp>| time.map(|time| time.micros().to_string()).unwrap_or_default();
    let actor = filter.actor_user_id.map(|id| id.to_string()).unwrap_or_default();
    let fingerprint = fingerprint(&[
        "audit_events.list",
        &caller.tenant_id.to_string(),
        audit_order_name(order),
        &actor,
        filter.action.as_deref().unwrap_or_default(),
        filter.object_type.as_deref().unwrap_or_default(),
        filter.object_id.as_deref().unwrap_or_default(),
        &micros(filter.since),
        &micros(filter.until),
    ]);
    let after = page_after(&state.page_tokens, query.page_token.as_deref(), &fingerprint)?;
    let mut events = state.core.list_audit_events(&caller, &filter, order, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &fingerprint, &mut events, size, |event| event.id);
    let list = events.into_iter().map(event_json).collect();
    Ok(Json(ListBody { list, next_page_token: next }))
}
