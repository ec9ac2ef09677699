//! App ownerships: one `app_owners` row per (app, role slug, user), for `AppStore`'s ownership methods.
//!
//! Rules kept here, for every caller:
//! - every write first locks the live app row (`lock_live_app`), so that it is serial with the app's deletion
//!   (which removes all ownerships) and with other ownership writes of the same app;
//! - a user whose status is DELETED owns nothing: reads skip its rows (a join on `users`) and writes refuse
//!   it, exactly as they refuse an id that is no user of the tenant;
//! - a duplicate ownership is refused by the unique index `app_owners_app_role_user`.
//!
//! Unknown apps are [`StoreError::NotFound`]; an unknown user, or an ownership that does not exist, is
//! [`StoreError::Invalid`] naming the input at fault, so that callers can tell which was missing.

use onramp_domain::{Id, Timestamp};
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, SqlStore, conflict_on};
use crate::{Actor, AppOwner, Result, RoleSlug, StoreError};

/// The audit event of one ownership created or deleted. The object id reads like the v2 path of the
/// ownership, `app/role/user`, which says more in a log than the ownership's own id.
pub(super) fn owner_change(action: &'static str, owner: &AppOwner) -> Change<'static> {
    let value = json!({
        "id": owner.id,
        "appId": owner.app_id,
        "roleSlug": owner.role_slug.as_str(),
        "userId": owner.user_id,
        "createdAt": owner.created_at,
    });
    let (before, after) = if action.ends_with(".delete") { (Some(value), None) } else { (None, Some(value)) };
    Change {
        action,
        object_type: "app_owner",
        object_id: format!("{}/{}/{}", owner.app_id, owner.role_slug, owner.user_id),
        before,
        after,
    }
}

fn owner_from_row(row: &impl RowExt) -> Result<AppOwner> {
    let slug = row.text("role_slug")?;
    Ok(AppOwner {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        app_id: row.id("app_id")?,
        role_slug: RoleSlug::parse(&slug)
            .map_err(|_| StoreError::Corrupt(format!("app_owners.role_slug is not a slug: {slug:?}")))?,
        user_id: row.id("user_id")?,
        created_at: row.time("created_at")?,
    })
}

/// Refuses the change unless the app is live in the tenant, and (on PostgreSQL) locks its row until the
/// transaction ends.
pub(super) async fn lock_live_app<DB>(conn: &mut DB::Connection, tenant_id: &Id, app_id: &Id) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(&format!(
        "SELECT id FROM apps WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL{}",
        DB::FOR_UPDATE
    ))
    .bind(tenant_id.to_string())
    .bind(app_id.to_string())
    .fetch_optional(conn)
    .await?
    .map(|_| ())
    .ok_or(StoreError::NotFound)
}

/// Refuses a user id that is not a live (not DELETED) user of the tenant, naming `field`.
pub(super) async fn check_live_user<DB>(
    conn: &mut DB::Connection,
    tenant_id: &Id,
    user_id: &Id,
    field: &'static str,
) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let live = sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 AND status <> 'DELETED'")
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(conn)
        .await?;
    match live {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid { field, message: format!("user {user_id} not found") }),
    }
}

pub(super) async fn insert_owner<DB>(conn: &mut DB::Connection, owner: &AppOwner) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO app_owners (id, tenant_id, app_id, role_slug, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(owner.id.to_string())
    .bind(owner.tenant_id.to_string())
    .bind(owner.app_id.to_string())
    .bind(owner.role_slug.as_str().to_string())
    .bind(owner.user_id.to_string())
    .bind(owner.created_at.micros())
    .execute(conn)
    .await
    .map_err(conflict_on("app_owners_app_role_user"))?;
    Ok(())
}

/// Deletes every ownership of an app, of every slug and every user, and returns them (for the audit log).
pub(super) async fn delete_all_owners<DB>(
    conn: &mut DB::Connection,
    tenant_id: &Id,
    app_id: &Id,
) -> Result<Vec<AppOwner>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query("DELETE FROM app_owners WHERE tenant_id = $1 AND app_id = $2 RETURNING *")
        .bind(tenant_id.to_string())
        .bind(app_id.to_string())
        .fetch_all(conn)
        .await?;
    let mut owners: Vec<AppOwner> = rows.iter().map(owner_from_row).collect::<Result<_>>()?;
    owners.sort_by_key(|owner| owner.id);
    Ok(owners)
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
    /// Whether the app is live in the tenant, on the read pool.
    async fn app_is_live(&self, tenant_id: &Id, app_id: &Id) -> Result<()> {
        sqlx::query("SELECT id FROM apps WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(tenant_id.to_string())
            .bind(app_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    pub(super) async fn list_owners(
        &self,
        tenant_id: &Id,
        app_id: &Id,
        role_slug: Option<&RoleSlug>,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<AppOwner>> {
        self.app_is_live(tenant_id, app_id).await?;
        let slug_filter = if role_slug.is_some() { "AND o.role_slug = $5" } else { "" };
        let sql = format!(
            "SELECT o.* FROM app_owners o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id \
             WHERE o.tenant_id = $1 AND o.app_id = $2 AND o.id > $3 AND u.status <> 'DELETED' {slug_filter} \
             ORDER BY o.id LIMIT $4"
        );
        let mut query = sqlx::query(&sql)
            .bind(tenant_id.to_string())
            .bind(app_id.to_string())
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit));
        if let Some(slug) = role_slug {
            query = query.bind(slug.as_str().to_string());
        }
        query.fetch_all(&self.read).await?.iter().map(owner_from_row).collect()
    }

    pub(super) async fn get_owner(
        &self,
        tenant_id: &Id,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner> {
        self.app_is_live(tenant_id, app_id).await?;
        let row = sqlx::query(
            "SELECT o.* FROM app_owners o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id \
             WHERE o.tenant_id = $1 AND o.app_id = $2 AND o.role_slug = $3 AND o.user_id = $4 \
             AND u.status <> 'DELETED'",
        )
        .bind(tenant_id.to_string())
        .bind(app_id.to_string())
        .bind(role_slug.as_str().to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(row) => owner_from_row(&row),
            None => Err(not_an_owner(role_slug, user_id)),
        }
    }

    pub(super) async fn create_owner(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner> {
        let mut tx = self.write.begin().await?;
        lock_live_app::<DB>(&mut tx, &actor.tenant_id, app_id).await?;
        check_live_user::<DB>(&mut tx, &actor.tenant_id, user_id, "userId").await?;
        let owner = AppOwner {
            id: Id::new(),
            tenant_id: actor.tenant_id,
            app_id: *app_id,
            role_slug: role_slug.clone(),
            user_id: *user_id,
            created_at: Timestamp::now(),
        };
        insert_owner::<DB>(&mut tx, &owner).await?;
        audit::record::<DB>(&mut tx, actor, owner_change("app_owner.create", &owner)).await?;
        tx.commit().await?;
        Ok(owner)
    }

    pub(super) async fn delete_owner(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner> {
        let mut tx = self.write.begin().await?;
        lock_live_app::<DB>(&mut tx, &actor.tenant_id, app_id).await?;
        // A deleted user's ownership is not found, like any other of its ownerships.
        check_live_user::<DB>(&mut tx, &actor.tenant_id, user_id, "userId").await?;
        let row = sqlx::query(
            "DELETE FROM app_owners WHERE tenant_id = $1 AND app_id = $2 AND role_slug = $3 AND user_id = $4 \
             RETURNING *",
        )
        .bind(actor.tenant_id.to_string())
        .bind(app_id.to_string())
        .bind(role_slug.as_str().to_string())
        .bind(user_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| not_an_owner(role_slug, user_id))?;
        let owner = owner_from_row(&row)?;
        audit::record::<DB>(&mut tx, actor, owner_change("app_owner.delete", &owner)).await?;
        tx.commit().await?;
        Ok(owner)
    }

    /// Makes the app's owners under `role_slug` exactly `user_ids`: ownerships that stay keep their id and
    /// creation time, and only real changes are written and audited.
    pub(super) async fn set_owners(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_ids: &[Id],
    ) -> Result<()> {
        let tenant_id = actor.tenant_id;
        let mut tx = self.write.begin().await?;
        lock_live_app::<DB>(&mut tx, &tenant_id, app_id).await?;
        let mut wanted: Vec<Id> = Vec::with_capacity(user_ids.len());
        for user_id in user_ids {
            if !wanted.contains(user_id) {
                check_live_user::<DB>(&mut tx, &tenant_id, user_id, "userIds").await?;
                wanted.push(*user_id);
            }
        }
        let current: Vec<AppOwner> =
            sqlx::query("SELECT * FROM app_owners WHERE tenant_id = $1 AND app_id = $2 AND role_slug = $3 ORDER BY id")
                .bind(tenant_id.to_string())
                .bind(app_id.to_string())
                .bind(role_slug.as_str().to_string())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(owner_from_row)
                .collect::<Result<_>>()?;
        for owner in current.iter().filter(|owner| !wanted.contains(&owner.user_id)) {
            sqlx::query("DELETE FROM app_owners WHERE id = $1").bind(owner.id.to_string()).execute(&mut *tx).await?;
            audit::record::<DB>(&mut tx, actor, owner_change("app_owner.delete", owner)).await?;
        }
        let now = Timestamp::now();
        for user_id in wanted.iter().filter(|id| !current.iter().any(|owner| owner.user_id == **id)) {
            let owner = AppOwner {
                id: Id::new(),
                tenant_id,
                app_id: *app_id,
                role_slug: role_slug.clone(),
                user_id: *user_id,
                created_at: now,
            };
            insert_owner::<DB>(&mut tx, &owner).await?;
            audit::record::<DB>(&mut tx, actor, owner_change("app_owner.create", &owner)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes the ownerships of `user_ids` under `role_slug` that exist; the others are skipped.
    pub(super) async fn remove_owners(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_ids: &[Id],
    ) -> Result<Vec<AppOwner>> {
        let mut tx = self.write.begin().await?;
        lock_live_app::<DB>(&mut tx, &actor.tenant_id, app_id).await?;
        let mut removed = Vec::new();
        for user_id in user_ids {
            let row = sqlx::query(
                "DELETE FROM app_owners WHERE tenant_id = $1 AND app_id = $2 AND role_slug = $3 AND user_id = $4 \
                 RETURNING *",
            )
            .bind(actor.tenant_id.to_string())
            .bind(app_id.to_string())
            .bind(role_slug.as_str().to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let owner = owner_from_row(&row)?;
                audit::record::<DB>(&mut tx, actor, owner_change("app_owner.delete", &owner)).await?;
                removed.push(owner);
            }
        }
        tx.commit().await?;
        Ok(removed)
    }
}

fn not_an_owner(role_slug: &RoleSlug, user_id: &Id) -> StoreError {
    StoreError::Invalid {
        field: "userId",
        message: format!("user {user_id} is not an owner of this app as {role_slug}"),
    }
}
