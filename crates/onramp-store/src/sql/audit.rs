//! The audit log: one row per change, written in the transaction of the change, never updated or deleted
//! (triggers on both backends refuse it).

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::rows;
use super::{Dialect, Params, SqlStore};
use crate::{Actor, AuditEvent, AuditFilter, AuditOrder, AuditStore, Result};

/// What a mutating store method tells the audit log about its change.
pub(super) struct Change<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change<'static> {
    /// The change of one object, given its audit forms before and after (None: it did not exist).
    pub fn of(
        action: &'static str,
        object_type: &'static str,
        object_id: impl ToString,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Change { action, object_type, object_id: object_id.to_string(), before, after }
    }
}

/// Appends one event on the given connection, normally the change's own transaction, and queues the
/// webhooks the change raises (`webhooks::raise`) on the same connection: every audited change is the one
/// place its events come from.
pub(super) async fn record<DB>(conn: &mut DB::Connection, actor: &Actor, change: Change<'_>) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    super::webhooks::raise::<DB>(
        &mut *conn,
        &actor.tenant_id,
        change.action,
        change.before.as_ref(),
        change.after.as_ref(),
    )
    .await?;
    sqlx::query(
        "INSERT INTO audit_events (id, tenant_id, actor_user_id, actor_credential_id, action, object_type, \
         object_id, before_json, after_json, request_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(Id::new().to_string())
    .bind(actor.tenant_id.to_string())
    .bind(actor.user_id.map(|id| id.to_string()))
    .bind(actor.credential_id.map(|id| id.to_string()))
    .bind(change.action.to_string())
    .bind(change.object_type.to_string())
    .bind(change.object_id)
    .bind(change.before.map(|v| v.to_string()))
    .bind(change.after.map(|v| v.to_string()))
    .bind(actor.request_id.clone())
    .bind(Timestamp::now().micros())
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl<DB> AuditStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    async fn list_audit_events(
        &self,
        tenant_id: &Id,
        filter: &AuditFilter,
        order: AuditOrder,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        // The same index serves both orders (walked backwards for the newest first).
        let (beyond, direction) = match order {
            AuditOrder::OldestFirst => (">", "ASC"),
            AuditOrder::NewestFirst => ("<", "DESC"),
        };
        let mut params = Params::default();
        let mut conditions = vec![format!("tenant_id = {}", params.text(tenant_id))];
        if let Some(after) = after {
            conditions.push(format!("id {beyond} {}", params.text(after)));
        }
        if let Some(actor) = &filter.actor_user_id {
            conditions.push(format!("actor_user_id = {}", params.text(actor)));
        }
        if let Some(action) = &filter.action {
            conditions.push(format!("action = {}", params.text(action)));
        }
        if let Some(object_type) = &filter.object_type {
            conditions.push(format!("object_type = {}", params.text(object_type)));
        }
        if let Some(object_id) = &filter.object_id {
            conditions.push(format!("object_id = {}", params.text(object_id)));
        }
        if let Some(since) = filter.since {
            conditions.push(format!("created_at >= {}", params.int(since.micros())));
        }
        if let Some(until) = filter.until {
            conditions.push(format!("created_at < {}", params.int(until.micros())));
        }
        let sql = format!(
            "SELECT * FROM audit_events WHERE {} ORDER BY id {direction} LIMIT {}",
            conditions.join(" AND "),
            params.int(i64::from(limit))
        );
        let rows = params.bind(sqlx::query(&sql)).fetch_all(&self.read).await?;
        rows.iter().map(rows::audit_event).collect()
    }

    async fn audit_events_of_user(&self, tenant_id: &Id, user_id: &Id, limit: u32) -> Result<Vec<AuditEvent>> {
        // Two index walks (migration 0017), merged: the events about the user and those by the user.
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM audit_events WHERE tenant_id = $1 AND object_id = $2 \
             UNION SELECT * FROM audit_events WHERE tenant_id = $1 AND actor_user_id = $2) AS trail \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(rows::audit_event).collect()
    }
}
