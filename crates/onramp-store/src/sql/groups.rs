//! Groups: the `GroupStore` implementation, and the one change users make to them (a deleted user leaves
//! its groups, in the transaction of its deletion).
//!
//! A group's writes lock the tenant row, as users' writes do, so that on PostgreSQL a member added by one
//! transaction cannot be a user another is deleting: the member is checked live in the same transaction
//! that adds it.

use std::collections::HashMap;

use async_trait::async_trait;
use onramp_domain::group::{Group, Membership};
use onramp_domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, SqlStore, conflict_on, later_than};
use crate::{Actor, GroupStore, Result, StoreError};

/// Ids per `IN (...)` list when members are read for many groups or users at once.
const IN_CHUNK: usize = 500;

/// The audit form of a group.
fn group_json(group: &Group) -> Value {
    json!({
        "id": group.id,
        "displayName": group.display_name,
        "externalId": group.external_id,
        "memberIds": group.member_ids,
    })
}

/// A group's row's uniqueness conflicts, by the index they break.
fn group_conflict(error: sqlx::Error) -> StoreError {
    let message = error.as_database_error().map(|db| db.message().to_string()).unwrap_or_default();
    let constraint = if message.contains("external_id") { "scim_groups_external_id" } else { "scim_groups_name" };
    conflict_on(constraint)(error)
}

fn group_from_row(row: &impl RowExt) -> Result<Group> {
    Ok(Group {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        display_name: row.text("display_name")?,
        external_id: row.opt_text("external_id")?,
        member_ids: Vec::new(),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
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
    /// Fills in the live members of `groups`, in id order.
    async fn with_members(&self, mut groups: Vec<Group>) -> Result<Vec<Group>> {
        let ids: Vec<Id> = groups.iter().map(|group| group.id).collect();
        let position: HashMap<Id, usize> = ids.iter().enumerate().map(|(at, id)| (*id, at)).collect();
        for chunk in ids.chunks(IN_CHUNK) {
            let in_list = (1..=chunk.len()).map(DB::param).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT m.group_id, m.user_id FROM scim_group_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_id IN ({in_list}) AND u.status <> 'DELETED' ORDER BY m.group_id, m.user_id"
            );
            let query = chunk.iter().fold(sqlx::query(&sql), |query, id| query.bind(id.to_string()));
            for row in query.fetch_all(&self.read).await? {
                if let Some(at) = position.get(&row.id("group_id")?) {
                    groups[*at].member_ids.push(row.id("user_id")?);
                }
            }
        }
        Ok(groups)
    }

    /// Adds `user_ids` to the group `group_id` on `conn`: each must be a live user of the tenant
    /// (`Invalid` naming `members` otherwise).
    async fn add_members(conn: &mut DB::Connection, tenant_id: &Id, group_id: &Id, user_ids: &[Id]) -> Result<()> {
        for user_id in user_ids {
            let result = sqlx::query(
                "INSERT INTO scim_group_members (group_id, user_id) SELECT $1, id FROM users \
                 WHERE tenant_id = $2 AND id = $3 AND status <> 'DELETED'",
            )
            .bind(group_id.to_string())
            .bind(tenant_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *conn)
            .await?;
            if DB::rows_affected(&result) != 1 {
                return Err(StoreError::Invalid { field: "members", message: format!("no user has the id {user_id}") });
            }
        }
        Ok(())
    }

    /// Why a write of the group `id` as it was read touched no row: it changed since (a conflict), or it is
    /// gone (not found).
    async fn missed(conn: &mut DB::Connection, tenant_id: &Id, id: &Id) -> StoreError {
        let exists = sqlx::query("SELECT id FROM scim_groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(conn)
            .await;
        match exists {
            Ok(Some(_)) => StoreError::Conflict { constraint: "scim_groups_concurrent_update" },
            Ok(None) => StoreError::NotFound,
            Err(error) => error.into(),
        }
    }
}

/// Takes the user `user_id` out of every group on `conn` (its deletion's transaction), each group's
/// `updated_at` moving on, so that its version changes with its members.
pub(super) async fn leave_all<DB>(conn: &mut DB::Connection, user_id: &Id, now: Timestamp) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "UPDATE scim_groups SET updated_at = CASE WHEN updated_at < $1 THEN $1 ELSE updated_at + 1 END \
         WHERE id IN (SELECT group_id FROM scim_group_members WHERE user_id = $2)",
    )
    .bind(now.micros())
    .bind(user_id.to_string())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM scim_group_members WHERE user_id = $1").bind(user_id.to_string()).execute(conn).await?;
    Ok(())
}

#[async_trait]
impl<DB> GroupStore for SqlStore<DB>
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
    async fn create_group(&self, actor: &Actor, group: &Group) -> Result<Group> {
        let mut group = group.clone();
        group.member_ids.sort();
        group.member_ids.dedup();
        let mut tx = self.write.begin().await?;
        Self::lock_tenant(&mut tx, &actor.tenant_id).await?;
        sqlx::query(
            "INSERT INTO scim_groups (id, tenant_id, display_name, name_key, external_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(group.id.to_string())
        .bind(actor.tenant_id.to_string())
        .bind(group.display_name.clone())
        .bind(Group::name_key(&group.display_name))
        .bind(group.external_id.clone())
        .bind(group.created_at.micros())
        .bind(group.updated_at.micros())
        .execute(&mut *tx)
        .await
        .map_err(group_conflict)?;
        Self::add_members(&mut tx, &actor.tenant_id, &group.id, &group.member_ids).await?;
        let change = Change::of("group.create", "group", group.id, None, Some(group_json(&group)));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn get_group(&self, tenant_id: &Id, id: &Id) -> Result<Group> {
        let row = sqlx::query("SELECT * FROM scim_groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let groups = self.with_members(vec![group_from_row(&row)?]).await?;
        groups.into_iter().next().ok_or(StoreError::NotFound)
    }

    async fn list_groups(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT * FROM scim_groups WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(tenant_id.to_string())
            .bind(after.map(Id::to_string).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let groups = rows.iter().map(group_from_row).collect::<Result<Vec<_>>>()?;
        self.with_members(groups).await
    }

    async fn update_group(&self, actor: &Actor, before: &Group, after: &Group) -> Result<Group> {
        let mut after = after.clone();
        after.member_ids.sort();
        after.member_ids.dedup();
        after.updated_at = later_than(before.updated_at);
        let mut tx = self.write.begin().await?;
        Self::lock_tenant(&mut tx, &actor.tenant_id).await?;
        let updated = sqlx::query(
            "UPDATE scim_groups SET display_name = $1, name_key = $2, external_id = $3, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6 AND updated_at = $7",
        )
        .bind(after.display_name.clone())
        .bind(Group::name_key(&after.display_name))
        .bind(after.external_id.clone())
        .bind(after.updated_at.micros())
        .bind(actor.tenant_id.to_string())
        .bind(before.id.to_string())
        .bind(before.updated_at.micros())
        .execute(&mut *tx)
        .await
        .map_err(group_conflict)?;
        if DB::rows_affected(&updated) != 1 {
            return Err(Self::missed(&mut tx, &actor.tenant_id, &before.id).await);
        }
        // Every row of the group goes, the wanted ones come back: members deleted since `before` was
        // read are not written again, as each is checked live.
        sqlx::query("DELETE FROM scim_group_members WHERE group_id = $1")
            .bind(before.id.to_string())
            .execute(&mut *tx)
            .await?;
        Self::add_members(&mut tx, &actor.tenant_id, &before.id, &after.member_ids).await?;
        let change = Change::of("group.update", "group", before.id, Some(group_json(before)), Some(group_json(&after)));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_group(&self, actor: &Actor, before: &Group) -> Result<()> {
        let mut tx = self.write.begin().await?;
        Self::lock_tenant(&mut tx, &actor.tenant_id).await?;
        sqlx::query("DELETE FROM scim_group_members WHERE group_id = $1")
            .bind(before.id.to_string())
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM scim_groups WHERE tenant_id = $1 AND id = $2 AND updated_at = $3")
            .bind(actor.tenant_id.to_string())
            .bind(before.id.to_string())
            .bind(before.updated_at.micros())
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&deleted) != 1 {
            return Err(Self::missed(&mut tx, &actor.tenant_id, &before.id).await);
        }
        let change = Change::of("group.delete", "group", before.id, Some(group_json(before)), None);
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn memberships_of(&self, tenant_id: &Id, user_ids: &[Id]) -> Result<Vec<Membership>> {
        let mut memberships = Vec::new();
        for chunk in user_ids.chunks(IN_CHUNK) {
            let in_list = (2..chunk.len() + 2).map(DB::param).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT m.user_id, g.id, g.display_name FROM scim_group_members m \
                 JOIN scim_groups g ON g.id = m.group_id \
                 WHERE g.tenant_id = {} AND m.user_id IN ({in_list}) ORDER BY m.user_id, g.name_key, g.id",
                DB::param(1)
            );
            let query = chunk
                .iter()
                .fold(sqlx::query(&sql).bind(tenant_id.to_string()), |query, id| query.bind(id.to_string()));
            for row in query.fetch_all(&self.read).await? {
                memberships.push(Membership {
                    user_id: row.id("user_id")?,
                    group_id: row.id("id")?,
                    display_name: row.text("display_name")?,
                });
            }
        }
        Ok(memberships)
    }
}
