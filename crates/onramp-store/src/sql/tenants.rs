//! Tenants and the first-start bootstrap.

use async_trait::async_trait;
use onramp_domain::Id;
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::auth::insert_credential;
use super::rows::RowExt;
use super::user_sql::{insert_user, user_json};
use super::{Backend, Dialect, SqlStore};
use crate::{Actor, NewTenant, Result, StoreError, Tenant, TenantStore};

impl<DB> SqlStore<DB>
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
    /// Inserts a tenant, its admin and the admin's credential on the given connection, with audit events.
    async fn insert_tenant(conn: &mut DB::Connection, new: &NewTenant) -> Result<()> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(new.tenant.id.to_string())
            .bind(new.tenant.name.clone())
            .bind(new.tenant.created_at.micros())
            .execute(&mut *conn)
            .await?;
        insert_user::<DB>(conn, &new.admin).await?;
        insert_credential::<DB>(conn, &new.credential).await?;
        let actor = Actor::system(new.tenant.id);
        let changes = [
            Change {
                action: "tenant.create",
                object_type: "tenant",
                object_id: new.tenant.id.to_string(),
                before: None,
                after: Some(json!({ "id": new.tenant.id, "name": new.tenant.name })),
            },
            Change {
                action: "user.create",
                object_type: "user",
                object_id: new.admin.id.to_string(),
                before: None,
                after: Some(user_json(&new.admin)),
            },
            Change {
                action: "credential.create",
                object_type: "credential",
                object_id: new.credential.id.to_string(),
                before: None,
                after: Some(super::auth::credential_json(&new.credential)),
            },
        ];
        for change in changes {
            audit::record::<DB>(&mut *conn, &actor, change).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl<DB> TenantStore for SqlStore<DB>
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
    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn storage_bytes(&self) -> Result<i64> {
        sqlx::query(DB::SIZE_QUERY).fetch_one(&self.read).await?.int("bytes")
    }

    async fn bootstrap(&self, new: &NewTenant) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        // The marker row is the lock: a second node bootstrapping at the same time waits on the key, then
        // finds it taken and changes nothing.
        let claimed = sqlx::query(
            "INSERT INTO deployment (key, value) VALUES ('default_tenant', $1) ON CONFLICT (key) DO NOTHING \
             RETURNING key",
        )
        .bind(new.tenant.id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_none() {
            return Ok(false);
        }
        Self::insert_tenant(&mut tx, new).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_tenant(&self, new: &NewTenant) -> Result<()> {
        let mut tx = self.write.begin().await?;
        Self::insert_tenant(&mut tx, new).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_tenant(&self, id: &Id) -> Result<Tenant> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Tenant { id: row.id("id")?, name: row.text("name")?, created_at: row.time("created_at")? })
    }

    async fn deployment_value(&self, key: &str, proposed: &str) -> Result<String> {
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO deployment (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key.to_string())
            .bind(proposed.to_string())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT value FROM deployment WHERE key = $1")
            .bind(key.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        row.text("value")
    }

    async fn default_tenant(&self) -> Result<Option<Id>> {
        let row =
            sqlx::query("SELECT value FROM deployment WHERE key = 'default_tenant'").fetch_optional(&self.read).await?;
        row.map(|row| row.id("value")).transpose()
    }
}
