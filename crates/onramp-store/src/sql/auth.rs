//! Client credentials, assertion nonces, API keys and signing keys.

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows;
use super::{Dialect, SqlStore, conflict_on, ids_json};
use crate::UserStore;
use crate::{Actor, ApiKey, ApiKeyGrant, AuthStore, Credential, CredentialGrant, Result, SigningKey, StoreError};

/// The audit form of a credential. The public key is not a secret, but it is noise in an audit trail.
pub(super) fn credential_json(credential: &Credential) -> serde_json::Value {
    json!({
        "id": credential.id,
        "clientId": credential.client_id,
        "displayName": credential.display_name,
        "userId": credential.user_id,
        "roleIds": credential.role_ids,
        "revokedAt": credential.revoked_at,
    })
}

fn api_key_json(key: &ApiKey) -> serde_json::Value {
    json!({
        "id": key.id,
        "displayName": key.display_name,
        "userId": key.user_id,
        "roleIds": key.role_ids,
        "revokedAt": key.revoked_at,
    })
}

/// Revokes the tenant's secret-bearing row `id` of `table` (credentials, API keys, SCIM tokens): the row as
/// revoked now, None when it was revoked already (revoking twice is fine), NotFound when the tenant has no
/// such row.
pub(super) async fn revoke_row<DB>(
    conn: &mut DB::Connection,
    table: &'static str,
    tenant_id: &Id,
    id: &Id,
) -> Result<Option<DB::Row>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let revoked = sqlx::query(&format!(
        "UPDATE {table} SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL RETURNING *"
    ))
    .bind(Timestamp::now().micros())
    .bind(tenant_id.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    if revoked.is_some() {
        return Ok(revoked);
    }
    let exists = sqlx::query(&format!("SELECT id FROM {table} WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_some() { Ok(None) } else { Err(StoreError::NotFound) }
}

pub(super) async fn insert_credential<DB>(conn: &mut DB::Connection, credential: &Credential) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
{
    sqlx::query(
        "INSERT INTO credentials (id, tenant_id, user_id, client_id, display_name, public_key, role_ids, \
         created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(credential.id.to_string())
    .bind(credential.tenant_id.to_string())
    .bind(credential.user_id.to_string())
    .bind(credential.client_id.clone())
    .bind(credential.display_name.clone())
    .bind(credential.public_key.clone())
    .bind(ids_json(&credential.role_ids))
    .bind(credential.created_at.micros())
    .bind(credential.revoked_at.map(Timestamp::micros))
    .execute(conn)
    .await
    .map_err(conflict_on("credentials_client_id"))?;
    Ok(())
}

#[async_trait]
impl<DB> AuthStore for SqlStore<DB>
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
    async fn create_credential(&self, actor: &Actor, credential: &Credential) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_credential::<DB>(&mut tx, credential).await?;
        let change = Change {
            action: "credential.create",
            object_type: "credential",
            object_id: credential.id.to_string(),
            before: None,
            after: Some(credential_json(credential)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_credentials(&self, tenant_id: &Id) -> Result<Vec<Credential>> {
        let rows = sqlx::query("SELECT * FROM credentials WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant_id.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rows::credential).collect()
    }

    async fn revoke_credential(&self, actor: &Actor, id: &Id) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let Some(row) = revoke_row::<DB>(&mut tx, "credentials", &actor.tenant_id, id).await? else {
            return Ok(());
        };
        let after = rows::credential(&row)?;
        let change = Change {
            action: "credential.revoke",
            object_type: "credential",
            object_id: id.to_string(),
            before: Some(credential_json(&Credential { revoked_at: None, ..after.clone() })),
            after: Some(credential_json(&after)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn credential_by_client_id(&self, client_id: &str) -> Result<CredentialGrant> {
        let row = sqlx::query("SELECT * FROM credentials WHERE client_id = $1")
            .bind(client_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let credential = rows::credential(&row)?;
        let user = UserStore::get_user(self, &credential.tenant_id, &credential.user_id).await?;
        Ok(CredentialGrant { credential, user })
    }

    async fn use_assertion_nonce(&self, nonce: &str, client_id: &str, expires_at: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM assertion_nonces WHERE expires_at < $1")
            .bind(Timestamp::now().micros())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO assertion_nonces (nonce, client_id, expires_at) VALUES ($1, $2, $3)")
            .bind(nonce.to_string())
            .bind(client_id.to_string())
            .bind(expires_at.micros())
            .execute(&mut *tx)
            .await
            .map_err(conflict_on("assertion_nonces_pkey"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_api_key(&self, actor: &Actor, key: &ApiKey) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, user_id, display_name, key_hash, role_ids, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key.id.to_string())
        .bind(key.tenant_id.to_string())
        .bind(key.user_id.to_string())
        .bind(key.display_name.clone())
        .bind(key.key_hash.clone())
        .bind(ids_json(&key.role_ids))
        .bind(key.created_at.micros())
        .bind(key.revoked_at.map(Timestamp::micros))
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("api_keys_key_hash"))?;
        let change = Change {
            action: "api_key.create",
            object_type: "api_key",
            object_id: key.id.to_string(),
            before: None,
            after: Some(api_key_json(key)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_api_keys(&self, tenant_id: &Id) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query("SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant_id.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(&self, actor: &Actor, id: &Id) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let Some(row) = revoke_row::<DB>(&mut tx, "api_keys", &actor.tenant_id, id).await? else {
            return Ok(());
        };
        let after = rows::api_key(&row)?;
        let change = Change {
            action: "api_key.revoke",
            object_type: "api_key",
            object_id: id.to_string(),
            before: Some(api_key_json(&ApiKey { revoked_at: None, ..after.clone() })),
            after: Some(api_key_json(&after)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<ApiKeyGrant> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let key = rows::api_key(&row)?;
        let user = UserStore::get_user(self, &key.tenant_id, &key.user_id).await?;
        Ok(ApiKeyGrant { key, user })
    }

    async fn signing_keys(&self, now: Timestamp) -> Result<Vec<SigningKey>> {
        let rows = sqlx::query("SELECT * FROM signing_keys WHERE retire_at > $1 ORDER BY generation DESC")
            .bind(now.micros())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rows::signing_key).collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO signing_keys (id, generation, private_key, public_key, created_at, rotate_at, retire_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.clone())
        .bind(key.generation)
        .bind(key.private_key.clone())
        .bind(key.public_key.clone())
        .bind(key.created_at.micros())
        .bind(key.rotate_at.micros())
        .bind(key.retire_at.micros())
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("signing_keys_generation"))?;
        tx.commit().await?;
        Ok(())
    }
}
