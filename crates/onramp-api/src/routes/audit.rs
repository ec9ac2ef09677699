//! The audit log: `GET /api/v1/audit-events`, a tenant's events oldest first, paged.

use axum::Json;
use axum::extract::State;
use onramp_store::AuditEvent;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::state::AppState;

fn event_json(event: &AuditEvent) -> Value {
    json!({
        "id": event.id,
        "action": event.action,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "actorUserId": event.actor_user_id,
        "actorCredentialId": event.actor_credential_id,
        "requestId": event.request_id,
        "before": event.before,
        "after": event.after,
        "createdAt": event.created_at,
    })
}

pub async fn list_audit_events(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["audit_events.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut events = state.core.list_audit_events(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut events, size, |event| event.id);
    Ok(Json(json!({
        "list": events.iter().map(event_json).collect::<Vec<_>>(),
        "nextPageToken": next,
    })))
}
