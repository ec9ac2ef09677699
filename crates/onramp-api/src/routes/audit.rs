//! The audit log: `GET /api/v1/audit-events`, a tenant's events oldest first, paged.

use axum::Json;
use axum::extract::State;
use onramp_domain::{Id, Permission};
use onramp_store::AuditEvent;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::paging::{ListParams, fingerprint, page_size};
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
    caller.require(Permission::AuditRead)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["audit_events.list", &caller.tenant_id.to_string()]);
    let after = match state.page_tokens.decode(params.page_token.as_deref(), &query)? {
        Some(key) => Some(
            std::str::from_utf8(&key)
                .ok()
                .and_then(|text| text.parse::<Id>().ok())
                .ok_or_else(|| ApiError::invalid_field("page_token", "not a page token of this query"))?,
        ),
        None => None,
    };
    let mut events = state.core.store().list_audit_events(&caller.tenant_id, after.as_ref(), size as u32 + 1).await?;
    let next = if events.len() > size {
        events.truncate(size);
        events.last().map(|last| state.page_tokens.encode(&query, last.id.to_string().as_bytes()))
    } else {
        None
    };
    Ok(Json(json!({
        "list": events.iter().map(event_json).collect::<Vec<_>>(),
        "nextPageToken": next.unwrap_or_default(),
    })))
}
