//! Users and role grants.

use async_trait::async_trait;
use onramp_domain::user::User;
use onramp_domain::{Id, Timestamp};
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::{self, RowExt};
use super::{Dialect, SqlStore, conflict_on};
use crate::{Actor, Result, StoreError, UserStore};

/// The audit form of a user: what changed hands, never a secret.
pub(super) fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email.as_str(),
        "displayName": user.display_name,
        "status": user.status.as_str(),
        "type": user.user_type.as_str(),
        "origin": user.origin.as_str(),
        "roleIds": user.role_ids,
    })
}

/// Inserts a user and its grants on the given connection (inside the caller's transaction).
pub(super) async fn insert_user<DB>(conn: &mut DB::Connection, user: &User) -> Result<()>
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
        "INSERT INTO users (id, tenant_id, email, display_name, status, user_type, origin, created_at, updated_at, \
         deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(user.id.to_string())
    .bind(user.tenant_id.to_string())
    .bind(user.email.as_str().to_string())
    .bind(user.display_name.clone())
    .bind(user.status.as_str().to_string())
    .bind(user.user_type.as_str().to_string())
    .bind(user.origin.as_str().to_string())
    .bind(user.created_at.micros())
    .bind(user.updated_at.micros())
    .bind(user.deleted_at.map(Timestamp::micros))
    .execute(&mut *conn)
    .await
    .map_err(conflict_on("users_email_live"))?;
    insert_grants::<DB>(conn, &user.tenant_id, &user.id, &user.role_ids).await
}

async fn insert_grants<DB>(conn: &mut DB::Connection, tenant_id: &Id, user_id: &Id, role_ids: &[Id]) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
{
    let now = Timestamp::now().micros();
    for role_id in role_ids {
        sqlx::query(
            "INSERT INTO role_grants (tenant_id, user_id, role_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, role_id) DO NOTHING",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .bind(role_id.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

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
    /// Loads the user a `users` row describes, with its role grants.
    pub(super) async fn user_from_row(&self, row: &DB::Row) -> Result<User> {
        let id = row.text("id")?;
        let grants = sqlx::query("SELECT role_id FROM role_grants WHERE user_id = $1 ORDER BY role_id")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        let role_ids = grants.iter().map(|grant| grant.id("role_id")).collect::<Result<Vec<_>>>()?;
        rows::user(row, role_ids)
    }
}

#[async_trait]
impl<DB> UserStore for SqlStore<DB>
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
    async fn get_user(&self, tenant_id: &Id, id: &Id) -> Result<User> {
        let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.user_from_row(&row).await
    }

    async fn find_user_by_email(&self, tenant_id: &Id, email: &str) -> Result<User> {
        let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND email = $2 AND status <> 'DELETED'")
            .bind(tenant_id.to_string())
            .bind(email.to_ascii_lowercase())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.user_from_row(&row).await
    }

    async fn create_user(&self, actor: &Actor, user: &User) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_user::<DB>(&mut tx, user).await?;
        let change = Change {
            action: "user.create",
            object_type: "user",
            object_id: user.id.to_string(),
            before: None,
            after: Some(user_json(user)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grant_roles(&self, actor: &Actor, user_id: &Id, role_ids: &[Id]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(actor.tenant_id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        insert_grants::<DB>(&mut tx, &actor.tenant_id, user_id, role_ids).await?;
        let change = Change {
            action: "user.grant_roles",
            object_type: "user",
            object_id: user_id.to_string(),
            before: None,
            after: Some(json!({ "grantedRoleIds": role_ids })),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }
}
