//! The audit log: `GET /api/v1/audit-events`, a tenant's events oldest first, paged.

use axum::Json;
use axum::extract::State;
use onramp_domain::{Id, Timestamp};
use onramp_store::AuditEvent;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::ListBody;

/// An audit event on the wire; an absent actor, request id or side is `null`.
#[derive(Serialize, Debug, Clone)]
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

pub async fn list_audit_events(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<AuditEventBody>>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["audit_events.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut events = state.core.list_audit_events(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut events, size, |event| event.id);
    let list = events.into_iter().map(event_json).collect();
    Ok(Json(ListBody { list, next_page_token: next }))
}
