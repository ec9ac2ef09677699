//! SCIM provisioning connections: their bearer tokens, kept as SHA-256.

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows;
use super::{Dialect, SqlStore, conflict_on};
use crate::{Actor, Result, ScimStore, ScimToken, StoreError};

/// The audit form of a token: never its hash.
fn scim_token_json(token: &ScimToken) -> serde_json::Value {
    json!({
        "id": token.id,
        "name": token.name,
        "roleId": token.role_id,
        "revokedAt": token.revoked_at,
    })
}

#[async_trait]
impl<DB> ScimStore for SqlStore<DB>
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
    async fn create_scim_token(&self, actor: &Actor, token: &ScimToken) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO scim_tokens (id, tenant_id, name, role_id, token_hash, created_at, last_used_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id.to_string())
        .bind(token.tenant_id.to_string())
        .bind(token.name.clone())
        .bind(token.role_id.to_string())
        .bind(token.token_hash.clone())
        .bind(token.created_at.micros())
        .bind(token.last_used_at.map(Timestamp::micros))
        .bind(token.revoked_at.map(Timestamp::micros))
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("scim_tokens_token_hash"))?;
        let change = Change {
            action: "scim_token.create",
            object_type: "scim_token",
            object_id: token.id.to_string(),
            before: None,
            after: Some(scim_token_json(token)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_scim_tokens(&self, tenant_id: &Id) -> Result<Vec<ScimToken>> {
        let rows = sqlx::query("SELECT * FROM scim_tokens WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant_id.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rows::scim_token).collect()
    }

    async fn revoke_scim_token(&self, actor: &Actor, id: &Id) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let Some(row) = super::auth::revoke_row::<DB>(&mut tx, "scim_tokens", &actor.tenant_id, id).await? else {
            return Ok(());
        };
        let after = rows::scim_token(&row)?;
        let change = Change {
            action: "scim_token.revoke",
            object_type: "scim_token",
            object_id: id.to_string(),
            before: Some(scim_token_json(&ScimToken { revoked_at: None, ..after.clone() })),
            after: Some(scim_token_json(&after)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn scim_token_by_hash(&self, token_hash: &str) -> Result<ScimToken> {
        let row = sqlx::query("SELECT * FROM scim_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        rows::scim_token(&row)
    }

    async fn touch_scim_token(&self, id: &Id, now: Timestamp, since: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now.micros())
        .bind(id.to_string())
        .bind(since.micros())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
