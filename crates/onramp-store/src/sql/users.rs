//! Users: the `UserStore` implementation.

use async_trait::async_trait;
use onramp_domain::user::{User, UserStatus};
use onramp_domain::user_change::removes_enabled_super_admin;
use onramp_domain::{BuiltinRole, Id};
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::bulk::Relations;
use super::rows::RowExt;
use super::user_sql::{
    self, USER_COLUMN_COUNT, USER_COLUMNS, bind_user, check_references, insert_user, listed_user, next_change_seq,
    replace_relations, select_users, user_json,
};
use super::{Dialect, SqlStore, onboarding};
use std::collections::{HashMap, HashSet};

use crate::{Actor, FeedEntry, FeedPosition, ImportedRow, Result, StoreError, UserStore};

/// The live users with a username (SCIM's `userName eq`), by `users_user_name_live`. They are sorted by
/// `id || ''`, an expression no index holds: SQLite keeps no statistics here, and asked to sort by `id` it
/// would rather walk every user of the tenant in id order (`users_tenant_and_id`) looking for the name, to
/// spare itself sorting the few the username's index finds (a test reads the plan).
pub(super) const USERS_BY_USER_NAME: &str =
    "WHERE tenant_id = $1 AND user_name = $2 AND status <> 'DELETED' ORDER BY id || '' LIMIT 100";

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
    /// One user by a condition on `users` with two parameters.
    async fn one_user(&self, condition: &str, binds: [String; 2]) -> Result<User> {
        let [a, b] = binds;
        let sql = format!("{} WHERE {condition}", select_users::<DB>());
        let row = sqlx::query(&sql).bind(a).bind(b).fetch_optional(&self.read).await?.ok_or(StoreError::NotFound)?;
        listed_user(&row)
    }

    /// Locks the tenant row so that the changes of users in one tenant are serial on PostgreSQL (SQLite has
    /// one writer): manager changes (see `check_references`), the count of enabled super-admins, and whether
    /// an onboard still holds its user.
    ///
    /// `FOR NO KEY UPDATE`, not `FOR UPDATE`: these lockers still wait for each other, but not for the `KEY
    /// SHARE` lock the foreign key of every inserted user row takes on its tenant. With `FOR UPDATE` a user
    /// update (tenant, then `change_feed`) and a user create (`change_feed`, then the insert's key share on
    /// the tenant) deadlocked.
    pub(super) async fn lock_tenant(conn: &mut DB::Connection, tenant_id: &Id) -> Result<()> {
        sqlx::query(&format!("SELECT id FROM tenants WHERE id = $1{}", DB::FOR_NO_KEY_UPDATE))
            .bind(tenant_id.to_string())
            .fetch_optional(conn)
            .await?;
        Ok(())
    }

    /// Refuses to replace `before` with `after` (None: to delete it) when that takes away the tenant's last
    /// enabled super-admin, who alone could then govern it. The caller has locked the tenant row, so the
    /// count stays true until the write commits: two super-admins demoting each other cannot both succeed.
    async fn keep_a_super_admin(conn: &mut DB::Connection, before: &User, after: Option<&User>) -> Result<()> {
        if !removes_enabled_super_admin(before, after) {
            return Ok(());
        }
        let others = sqlx::query(
            "SELECT COUNT(*) AS n FROM users JOIN role_grants ON role_grants.user_id = users.id \
             WHERE users.tenant_id = $1 AND users.id <> $2 AND users.status = 'ENABLED' AND role_grants.role_id = $3",
        )
        .bind(before.tenant_id.to_string())
        .bind(before.id.to_string())
        .bind(BuiltinRole::SuperAdmin.id().to_string())
        .fetch_one(&mut *conn)
        .await?
        .int("n")?;
        if others == 0 {
            return Err(StoreError::WrongState(format!(
                "{} is the last enabled super-admin of the tenant: it cannot be demoted, disabled or deleted \
                 until another super-admin is enabled",
                before.email.as_ref().map_or(before.display_name.as_str(), |email| email.as_str())
            )));
        }
        Ok(())
    }

    /// The rows of an imported chunk that were not inserted, by offset, each with the live user that has its
    /// email (read in the importing transaction, so possibly a row of the same import).
    async fn taken_rows(conn: &mut DB::Connection, chunk: &[User]) -> Result<Vec<(usize, Option<Id>)>> {
        let in_list = |first: usize, count: usize| (first..first + count).map(DB::param).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT id FROM users WHERE id IN ({})", in_list(1, chunk.len()));
        let query = chunk.iter().fold(sqlx::query(&sql), |query, user| query.bind(user.id.to_string()));
        let present: HashSet<String> =
            query.fetch_all(&mut *conn).await?.iter().map(|row| row.text("id")).collect::<Result<_>>()?;
        let taken: Vec<(usize, &User)> =
            chunk.iter().enumerate().filter(|(_, user)| !present.contains(&user.id.to_string())).collect();
        if taken.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT email, id FROM users WHERE tenant_id = {} AND status <> 'DELETED' AND email IN ({})",
            DB::param(1),
            in_list(2, taken.len())
        );
        let tenant_id = chunk.first().map(|user| user.tenant_id.to_string()).unwrap_or_default();
        let query = taken
            .iter()
            .fold(sqlx::query(&sql).bind(tenant_id), |query, (_, user)| query.bind(user.email_str().to_string()));
        let holders: HashMap<String, Id> = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((row.text("email")?, row.id("id")?)))
            .collect::<Result<_>>()?;
        Ok(taken.into_iter().map(|(offset, user)| (offset, holders.get(user.email_str()).copied())).collect())
    }

    /// Replaces `before` with `after` inside the caller's transaction: what `update_user` does, for other
    /// areas' transactions that change a user (an onboard's completion enables its user).
    pub(super) async fn update_in(
        conn: &mut DB::Connection,
        actor: &Actor,
        before: &User,
        after: &User,
    ) -> Result<User> {
        Self::lock_tenant(&mut *conn, &after.tenant_id).await?;
        check_references::<DB>(&mut *conn, after).await?;
        // Strictly later than before, so that the next optimistic update sees a change even within a microsecond.
        let after = User { updated_at: super::later_than(before.updated_at), ..after.clone() };
        let assignments: Vec<String> =
            USER_COLUMNS.split(", ").enumerate().map(|(i, column)| format!("{column} = ${}", i + 1)).collect();
        let sql = format!(
            "UPDATE users SET {} WHERE tenant_id = ${} AND id = ${} AND updated_at = ${} AND status <> 'DELETED' RETURNING id",
            assignments.join(", "),
            USER_COLUMN_COUNT + 1,
            USER_COLUMN_COUNT + 2,
            USER_COLUMN_COUNT + 3,
        );
        let change_seq = next_change_seq::<DB>(&mut *conn).await?;
        let updated = bind_user::<DB>(sqlx::query(&sql), &after, change_seq)
            .bind(before.tenant_id.to_string())
            .bind(before.id.to_string())
            .bind(before.updated_at.micros())
            .fetch_optional(&mut *conn)
            .await
            .map_err(super::user_sql::user_conflict)?;
        if updated.is_none() {
            return Err(StoreError::Conflict { constraint: "users_concurrent_update" });
        }
        // The write replaced `before` itself (same `updated_at`), so these judge the user as it really was.
        Self::keep_a_super_admin(&mut *conn, before, Some(&after)).await?;
        if after.status != before.status {
            onboarding::release_user::<DB>(&mut *conn, &before.tenant_id, &before.id).await?;
        }
        replace_relations::<DB>(&mut *conn, &after).await?;
        let change = Change::of("user.update", "user", after.id, Some(user_json(before)), Some(user_json(&after)));
        audit::record::<DB>(&mut *conn, actor, change).await?;
        Ok(after)
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
        self.one_user("tenant_id = $1 AND id = $2", [tenant_id.to_string(), id.to_string()]).await
    }

    async fn find_user_by_email(&self, tenant_id: &Id, email: &str) -> Result<User> {
        // A user without an email has '' in the column: no email finds it.
        if email.trim().is_empty() {
            return Err(StoreError::NotFound);
        }
        let sql = "tenant_id = $1 AND email = $2 AND status <> 'DELETED'";
        self.one_user(sql, [tenant_id.to_string(), email.to_ascii_lowercase()]).await
    }

    async fn find_user_by_external_id(&self, tenant_id: &Id, external_id: &str) -> Result<User> {
        let sql = "tenant_id = $1 AND external_id = $2 AND status <> 'DELETED'";
        self.one_user(sql, [tenant_id.to_string(), external_id.to_string()]).await
    }

    async fn find_users_by_user_name(&self, tenant_id: &Id, user_name: &str) -> Result<Vec<User>> {
        let sql = format!("{} {USERS_BY_USER_NAME}", select_users::<DB>());
        let rows =
            sqlx::query(&sql).bind(tenant_id.to_string()).bind(user_name.to_lowercase()).fetch_all(&self.read).await?;
        rows.iter().map(listed_user).collect()
    }

    async fn list_users(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<User>> {
        let sql = format!(
            "{} WHERE tenant_id = $1 AND id > $2 AND status <> 'DELETED' ORDER BY id LIMIT $3",
            select_users::<DB>()
        );
        let rows = sqlx::query(&sql)
            .bind(tenant_id.to_string())
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(listed_user).collect()
    }

    async fn user_counts_by_status(&self, tenant_id: &Id) -> Result<Vec<(UserStatus, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS users FROM users WHERE tenant_id = $1 AND status <> 'DELETED' \
             GROUP BY status ORDER BY status",
        )
        .bind(tenant_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let status = row.text("status")?;
                let status = UserStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("users.status has an unexpected value {status:?}")))?;
                Ok((status, row.int("users")?))
            })
            .collect()
    }

    async fn create_user(&self, actor: &Actor, user: &User) -> Result<()> {
        let mut tx = self.write.begin().await?;
        if !user.manager_ids.is_empty() || user.delegated_user_id.is_some() {
            Self::lock_tenant(&mut tx, &user.tenant_id).await?;
            check_references::<DB>(&mut tx, user).await?;
        }
        insert_user::<DB>(&mut tx, user).await?;
        let change = Change::of("user.create", "user", user.id, None, Some(user_json(user)));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_user(&self, actor: &Actor, before: &User, after: &User) -> Result<User> {
        self.update_user_with(actor, before, after, &crate::OnboardEffects::default()).await
    }

    async fn update_user_with(
        &self,
        actor: &Actor,
        before: &User,
        after: &User,
        effects: &crate::OnboardEffects,
    ) -> Result<User> {
        let mut tx = self.write.begin().await?;
        let after = Self::update_in(&mut tx, actor, before, after).await?;
        onboarding::write_effects::<DB>(&mut tx, effects, after.updated_at).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_users(&self, actor: &Actor, changes: &[(User, User)]) -> Result<Vec<User>> {
        let mut tx = self.write.begin().await?;
        let mut updated = Vec::with_capacity(changes.len());
        for (before, after) in changes {
            updated.push(Self::update_in(&mut tx, actor, before, after).await?);
        }
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_user(&self, actor: &Actor, before: &User) -> Result<User> {
        let id = before.id;
        let now = super::later_than(before.updated_at);
        let mut tx = self.write.begin().await?;
        Self::lock_tenant(&mut tx, &actor.tenant_id).await?;
        let change_seq = next_change_seq::<DB>(&mut tx).await?;
        let deleted = sqlx::query(
            "UPDATE users SET status = 'DELETED', deleted_at = $1, updated_at = $1, change_seq = $4 \
             WHERE tenant_id = $2 AND id = $3 AND updated_at = $5 AND status <> 'DELETED' RETURNING id",
        )
        .bind(now.micros())
        .bind(actor.tenant_id.to_string())
        .bind(id.to_string())
        .bind(change_seq)
        .bind(before.updated_at.micros())
        .fetch_optional(&mut *tx)
        .await?;
        if deleted.is_none() {
            let live = sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 AND status <> 'DELETED'")
                .bind(actor.tenant_id.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match live {
                Some(_) => StoreError::Conflict { constraint: "users_concurrent_update" },
                None => StoreError::NotFound,
            });
        }
        // The write deleted `before` itself (same `updated_at`), so this judges the user as it really was.
        Self::keep_a_super_admin(&mut tx, before, None).await?;
        onboarding::release_user::<DB>(&mut tx, &actor.tenant_id, &id).await?;
        super::groups::leave_all::<DB>(&mut tx, &id, now).await?;
        let after = User {
            status: onramp_domain::user::UserStatus::Deleted,
            deleted_at: Some(now),
            updated_at: now,
            ..before.clone()
        };
        let change = Change::of("user.delete", "user", id, Some(user_json(before)), Some(user_json(&after)));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn grant_roles(&self, actor: &Actor, user_id: &Id, role_ids: &[Id]) -> Result<()> {
        let before = self.get_user(&actor.tenant_id, user_id).await?;
        let mut after = before.clone();
        for role_id in role_ids {
            if !after.role_ids.contains(role_id) {
                after.role_ids.push(*role_id);
            }
        }
        if after.role_ids != before.role_ids {
            self.update_user(actor, &before, &after).await?;
        }
        Ok(())
    }

    async fn get_users(&self, tenant_id: &Id, ids: &[Id]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let in_list = (2..ids.len() + 2).map(DB::param).collect::<Vec<_>>().join(", ");
        let sql = format!("{} WHERE tenant_id = {} AND id IN ({in_list})", select_users::<DB>(), DB::param(1));
        let query = ids.iter().fold(sqlx::query(&sql).bind(tenant_id.to_string()), |q, id| q.bind(id.to_string()));
        let rows = query.fetch_all(&self.read).await?;
        let mut users: HashMap<Id, User> =
            rows.iter().map(|row| listed_user(row).map(|user| (user.id, user))).collect::<Result<_>>()?;
        Ok(ids.iter().filter_map(|id| users.remove(id)).collect())
    }

    async fn users_changed_after(&self, after: FeedPosition, limit: u32) -> Result<Vec<(FeedPosition, User)>> {
        let sql =
            format!("{} WHERE (change_seq, id) > ($1, $2) ORDER BY change_seq, id LIMIT $3", select_users::<DB>());
        let rows = sqlx::query(&sql)
            .bind(after.seq)
            .bind(after.id.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                let user = listed_user(row)?;
                Ok((FeedPosition { seq: super::rows::RowExt::int(row, "change_seq")?, id: user.id }, user))
            })
            .collect()
    }

    async fn index_entries_changed_after(&self, after: FeedPosition, limit: u32) -> Result<Vec<FeedEntry>> {
        let sql = format!(
            "{} WHERE (change_seq, id) > ($1, $2) ORDER BY change_seq, id LIMIT $3",
            user_sql::select_index_entries::<DB>()
        );
        let rows = sqlx::query(&sql)
            .bind(after.seq)
            .bind(after.id.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(user_sql::index_entry).collect()
    }

    async fn feed_head(&self) -> Result<i64> {
        let row = sqlx::query("SELECT seq FROM change_feed WHERE id = 1").fetch_one(&self.read).await?;
        row.int("seq")
    }

    async fn import_users(&self, actor: &Actor, users: &[User]) -> Result<Vec<ImportedRow>> {
        let mut outcomes = vec![ImportedRow::Inserted; users.len()];
        let mut tx = self.write.begin().await?;
        let change_seq = next_change_seq::<DB>(&mut tx).await?;
        // Rows whose email is taken are skipped. Nearly always none is, and each statement's count says so;
        // only then are its inserted ids read back (asking for them with RETURNING costs a row per user),
        // and the holders of the other rows' emails.
        let counts = DB::insert_users(&mut tx, users, change_seq).await?;
        for ((chunk_index, chunk), count) in users.chunks(DB::IMPORT_ROWS).enumerate().zip(counts) {
            if count as usize == chunk.len() {
                continue;
            }
            for (offset, holder) in Self::taken_rows(&mut tx, chunk).await? {
                outcomes[chunk_index * DB::IMPORT_ROWS + offset] = ImportedRow::EmailTaken { holder };
            }
        }
        let inserted = || users.iter().zip(&outcomes).filter(|(_, outcome)| **outcome == ImportedRow::Inserted);
        DB::insert_relations(&mut tx, &Relations::of(inserted().map(|(user, _)| user))).await?;
        let ids: Vec<Id> = inserted().map(|(user, _)| user.id).collect();
        let change = Change {
            action: "user.import",
            object_type: "user",
            object_id: String::new(),
            before: None,
            after: Some(json!({ "count": ids.len(), "userIds": ids })),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}
