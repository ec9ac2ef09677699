//! Onboarding flows and onboards: the `OnboardingStore` implementation, and the pieces the invitation
//! transactions use (starting an onboard on acceptance, failing one on revocation).

use async_trait::async_trait;
use onramp_domain::onboarding::{Flow, FlowStep, MINIMAL_FLOW_ID, OnboardStatus, StepState};
use onramp_domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, Params, SqlStore, conflict_on, later_than, outbox};
use crate::{Actor, ListedOnboard, Onboard, OnboardEffects, OnboardFilter, OnboardingStore, Result, StoreError};

pub(super) const ONBOARD_COLUMNS: &str = "id, tenant_id, invitation_id, directory_app_id, flow_id, user_id, status, \
    failure_reason, steps_json, states_json, created_at, updated_at, holds_user_disabled";

fn flow_json(flow: &Flow) -> Value {
    json!({ "id": flow.id, "displayName": flow.display_name, "description": flow.description, "steps": flow.steps })
}

fn onboard_json(onboard: &Onboard) -> Value {
    json!({
        "id": onboard.id,
        "invitationId": onboard.invitation_id,
        "flowId": onboard.flow_id,
        "userId": onboard.user_id,
        "holdsUserDisabled": onboard.holds_user_disabled,
        "status": onboard.status.as_str(),
        "failureReason": onboard.failure_reason,
        "steps": onboard.states,
    })
}

fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} has an unexpected value"))
}

fn flow_from_row(row: &impl RowExt) -> Result<Flow> {
    let steps: Vec<FlowStep> =
        serde_json::from_str(&row.text("steps_json")?).map_err(|_| corrupt("onboarding_flows.steps_json"))?;
    Ok(Flow {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        display_name: row.text("display_name")?,
        description: row.text("description")?,
        steps,
        builtin: false,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(super) fn onboard_from_row(row: &impl RowExt) -> Result<Onboard> {
    let status = row.text("status")?;
    let steps: Vec<FlowStep> =
        serde_json::from_str(&row.text("steps_json")?).map_err(|_| corrupt("onboards.steps_json"))?;
    let states: Vec<StepState> =
        serde_json::from_str(&row.text("states_json")?).map_err(|_| corrupt("onboards.states_json"))?;
    Ok(Onboard {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        invitation_id: row.id("invitation_id")?,
        directory_app_id: row.id("directory_app_id")?,
        flow_id: row.id("flow_id")?,
        user_id: row.opt_id("user_id")?,
        holds_user_disabled: row.int("holds_user_disabled")? != 0,
        status: OnboardStatus::parse(&status).ok_or_else(|| corrupt("onboards.status"))?,
        failure_reason: row.text("failure_reason")?,
        steps,
        states,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("onboarding records always serialise")
}

/// A flow of the tenant on the given connection: the minimal flow, or a live stored one; None otherwise.
pub(super) async fn load_flow<DB>(conn: &mut DB::Connection, tenant_id: &Id, id: &Id) -> Result<Option<Flow>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Decode<'q, DB>,
    for<'q> Option<i64>: Decode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    if *id == MINIMAL_FLOW_ID {
        return Ok(Some(Flow::minimal(*tenant_id)));
    }
    let row = sqlx::query("SELECT * FROM onboarding_flows WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(flow_from_row).transpose()
}

/// The live onboard of an invitation, locked until the transaction ends.
pub(super) async fn live_onboard_of<DB>(conn: &mut DB::Connection, invitation_id: &Id) -> Result<Option<Onboard>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Decode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let row = sqlx::query(&format!(
        "SELECT * FROM onboards WHERE invitation_id = $1 AND status <> 'failed'{}",
        DB::FOR_UPDATE
    ))
    .bind(invitation_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(onboard_from_row).transpose()
}

/// When the turn of `onboard` began (`Onboard::turn`), its invitation's acceptance read in this transaction
/// (so an acceptance written before it counts); None once the onboard has ended. Stored as `turn_since` with
/// every write of the onboard, for the overview's waiting onboards.
async fn turn_since<DB>(conn: &mut DB::Connection, onboard: &Onboard) -> Result<Option<i64>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    if onboard.status.is_final() {
        return Ok(None);
    }
    let row = sqlx::query("SELECT accepted_at FROM invitations WHERE id = $1")
        .bind(onboard.invitation_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let accepted_at = row.as_ref().map(|row| row.opt_time("accepted_at")).transpose()?.flatten();
    Ok(onboard.turn(accepted_at).map(|turn| turn.since.micros()))
}

/// Fills in `turn_since` of the live onboards that lack it (written before migration 0021), at open.
pub(super) async fn fill_turn_since<DB>(pool: &sqlx::Pool<DB>) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Decode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query("SELECT * FROM onboards WHERE status IN ('created', 'in_progress') AND turn_since IS NULL")
        .fetch_all(&mut *conn)
        .await?;
    for row in &rows {
        let onboard = onboard_from_row(row)?;
        let since = turn_since::<DB>(&mut conn, &onboard).await?;
        sqlx::query("UPDATE onboards SET turn_since = $1 WHERE id = $2")
            .bind(since)
            .bind(onboard.id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts an onboard with its audit event.
pub(super) async fn insert_onboard<DB>(conn: &mut DB::Connection, actor: &Actor, onboard: &Onboard) -> Result<()>
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
    let since = turn_since::<DB>(&mut *conn, onboard).await?;
    let sql = format!("INSERT INTO onboards ({ONBOARD_COLUMNS}, turn_since) VALUES ({})", super::placeholders(1, 14));
    sqlx::query(&sql)
        .bind(onboard.id.to_string())
        .bind(onboard.tenant_id.to_string())
        .bind(onboard.invitation_id.to_string())
        .bind(onboard.directory_app_id.to_string())
        .bind(onboard.flow_id.to_string())
        .bind(onboard.user_id.map(|id| id.to_string()))
        .bind(onboard.status.as_str().to_string())
        .bind(onboard.failure_reason.clone())
        .bind(to_json(&onboard.steps))
        .bind(to_json(&onboard.states))
        .bind(onboard.created_at.micros())
        .bind(onboard.updated_at.micros())
        .bind(i64::from(onboard.holds_user_disabled))
        .bind(since)
        .execute(&mut *conn)
        .await
        .map_err(conflict_on("onboards_invitation_live"))?;
    let change = Change::of("onboard.create", "onboard", onboard.id, None, Some(onboard_json(onboard)));
    audit::record::<DB>(conn, actor, change).await
}

/// Writes `after` over the stored onboard if it is still `before` (by `updated_at`, and by whether it holds
/// its user, which a change of the user's status clears without touching `updated_at`), with its audit event.
pub(super) async fn write_onboard<DB>(
    conn: &mut DB::Connection,
    actor: &Actor,
    before: &Onboard,
    after: &Onboard,
) -> Result<()>
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
    let since = turn_since::<DB>(&mut *conn, after).await?;
    let result = sqlx::query(
        "UPDATE onboards SET user_id = $1, status = $2, failure_reason = $3, states_json = $4, updated_at = $5, \
         holds_user_disabled = $6, turn_since = $10 WHERE id = $7 AND updated_at = $8 AND holds_user_disabled = $9",
    )
    .bind(after.user_id.map(|id| id.to_string()))
    .bind(after.status.as_str().to_string())
    .bind(after.failure_reason.clone())
    .bind(to_json(&after.states))
    .bind(after.updated_at.micros())
    .bind(i64::from(after.holds_user_disabled))
    .bind(before.id.to_string())
    .bind(before.updated_at.micros())
    .bind(i64::from(before.holds_user_disabled))
    .bind(since)
    .execute(&mut *conn)
    .await?;
    if DB::rows_affected(&result) != 1 {
        return Err(StoreError::Conflict { constraint: "onboards_concurrent_update" });
    }
    let action = match (before.status, after.status) {
        (b, a) if b == a => "onboard.update",
        (_, OnboardStatus::InProgress) => "onboard.start",
        (_, OnboardStatus::Completed) => "onboard.complete",
        (_, OnboardStatus::Failed) => "onboard.fail",
        _ => "onboard.update",
    };
    let change = Change::of(action, "onboard", after.id, Some(onboard_json(before)), Some(onboard_json(after)));
    audit::record::<DB>(conn, actor, change).await
}

/// Fails the live onboard of an invitation, if there is one, with `reason`; returns it failed.
pub(super) async fn fail_onboard_of<DB>(
    conn: &mut DB::Connection,
    actor: &Actor,
    invitation_id: &Id,
    reason: &str,
) -> Result<Option<Onboard>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Decode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    if let Some(before) = live_onboard_of::<DB>(&mut *conn, invitation_id).await? {
        let after = Onboard {
            status: OnboardStatus::Failed,
            failure_reason: reason.to_string(),
            updated_at: later_than(before.updated_at),
            ..before.clone()
        };
        write_onboard::<DB>(conn, actor, &before, &after).await?;
        return Ok(Some(after));
    }
    Ok(None)
}

/// Someone set the status of `user_id` (or deleted the user): from now on no onboard holds the user, so
/// none will enable them on completion, and no new onboard can start for them.
pub(super) async fn release_user<DB>(conn: &mut DB::Connection, tenant_id: &Id, user_id: &Id) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "UPDATE onboards SET holds_user_disabled = 0 WHERE tenant_id = $1 AND user_id = $2 AND holds_user_disabled = 1",
    )
    .bind(tenant_id.to_string())
    .bind(user_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl<DB> OnboardingStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Decode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    async fn create_flow(&self, actor: &Actor, flow: &Flow) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO onboarding_flows (id, tenant_id, display_name, description, steps_json, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(flow.id.to_string())
        .bind(flow.tenant_id.to_string())
        .bind(flow.display_name.clone())
        .bind(flow.description.clone())
        .bind(to_json(&flow.steps))
        .bind(flow.created_at.micros())
        .bind(flow.updated_at.micros())
        .execute(&mut *tx)
        .await?;
        let change = Change::of("onboarding_flow.create", "onboarding_flow", flow.id, None, Some(flow_json(flow)));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_flow(&self, tenant_id: &Id, id: &Id) -> Result<Flow> {
        let mut conn = self.read.acquire().await?;
        load_flow::<DB>(&mut conn, tenant_id, id).await?.ok_or(StoreError::NotFound)
    }

    async fn list_flows(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<Flow>> {
        let rows = sqlx::query(
            "SELECT * FROM onboarding_flows WHERE tenant_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3",
        )
        .bind(tenant_id.to_string())
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(flow_from_row).collect()
    }

    async fn update_flow(&self, actor: &Actor, before: &Flow, after: &Flow) -> Result<Flow> {
        if before.builtin {
            return Err(StoreError::WrongState("the minimal flow is built in and cannot change".into()));
        }
        let after = Flow {
            id: before.id,
            tenant_id: before.tenant_id,
            builtin: false,
            created_at: before.created_at,
            updated_at: later_than(before.updated_at),
            ..after.clone()
        };
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "UPDATE onboarding_flows SET display_name = $1, description = $2, steps_json = $3, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6 AND updated_at = $7 AND deleted_at IS NULL",
        )
        .bind(after.display_name.clone())
        .bind(after.description.clone())
        .bind(to_json(&after.steps))
        .bind(after.updated_at.micros())
        .bind(before.tenant_id.to_string())
        .bind(before.id.to_string())
        .bind(before.updated_at.micros())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(match load_flow::<DB>(&mut tx, &before.tenant_id, &before.id).await? {
                Some(_) => StoreError::Conflict { constraint: "onboarding_flows_concurrent_update" },
                None => StoreError::NotFound,
            });
        }
        let change = Change::of(
            "onboarding_flow.update",
            "onboarding_flow",
            after.id,
            Some(flow_json(before)),
            Some(flow_json(&after)),
        );
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_flow(&self, actor: &Actor, id: &Id) -> Result<Flow> {
        if *id == MINIMAL_FLOW_ID {
            return Err(StoreError::WrongState("the minimal flow is built in and cannot be deleted".into()));
        }
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT * FROM onboarding_flows WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL{}",
            DB::FOR_UPDATE
        ))
        .bind(actor.tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let before = flow_from_row(&row)?;
        // Every new reference locks this row first (see `check_flow` callers), so these counts stay true
        // until the deletion commits.
        let uses = [
            (
                "local directories use it as their default",
                "SELECT COUNT(*) AS n FROM local_directories WHERE onboarding_flow_id = $1",
            ),
            (
                "pending invitations use it",
                "SELECT COUNT(*) AS n FROM invitations WHERE onboarding_flow_id = $1 AND status = 'PENDING'",
            ),
            (
                "onboards under way use it",
                "SELECT COUNT(*) AS n FROM onboards WHERE flow_id = $1 AND status IN ('created', 'in_progress')",
            ),
        ];
        for (what, sql) in uses {
            let count = sqlx::query(sql).bind(id.to_string()).fetch_one(&mut *tx).await?.int("n")?;
            if count > 0 {
                return Err(StoreError::WrongState(format!("the flow is in use: {count} {what}")));
            }
        }
        sqlx::query("UPDATE onboarding_flows SET deleted_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now.micros())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let change = Change::of("onboarding_flow.delete", "onboarding_flow", id, Some(flow_json(&before)), None);
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(before)
    }

    async fn create_onboard(&self, actor: &Actor, onboard: &Onboard) -> Result<Onboard> {
        let now = onboard.created_at;
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT * FROM invitations WHERE tenant_id = $1 AND id = $2{}", DB::FOR_UPDATE))
            .bind(onboard.tenant_id.to_string())
            .bind(onboard.invitation_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid {
                field: "invitation_id",
                message: format!("invitation {} not found", onboard.invitation_id),
            })?;
        let invitation = super::directory::invitation_from_row(&row)?;
        // Whether the accepted invitation's user still waits on an onboard, read under the tenant lock that
        // every change of a user's status takes, so that no status set meanwhile is missed.
        let (user_waiting, user_status) = match invitation.created_user_id {
            Some(user_id) => {
                Self::lock_tenant(&mut tx, &onboard.tenant_id).await?;
                let waiting = sqlx::query(
                    "SELECT id FROM onboards WHERE invitation_id = $1 AND user_id = $2 AND holds_user_disabled = 1",
                )
                .bind(invitation.id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
                let status = sqlx::query("SELECT status FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(onboard.tenant_id.to_string())
                    .bind(user_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.text("status"))
                    .transpose()?;
                (waiting, status.as_deref().and_then(onramp_domain::user::UserStatus::parse))
            }
            None => (false, None),
        };
        invitation.may_start_onboard(now, user_waiting, user_status).map_err(StoreError::WrongState)?;
        lock_flow::<DB>(&mut tx, &onboard.tenant_id, &onboard.flow_id, "flow_id").await?;
        let mut onboard = Onboard {
            directory_app_id: invitation.directory_app_id,
            user_id: invitation.created_user_id,
            holds_user_disabled: user_waiting,
            ..onboard.clone()
        };
        if let Some(user) = invitation.created_user_id {
            onboard.email_verified(user, now);
        }
        insert_onboard::<DB>(&mut tx, actor, &onboard).await?;
        tx.commit().await?;
        Ok(onboard)
    }

    async fn get_onboard(&self, tenant_id: &Id, id: &Id) -> Result<Onboard> {
        let row = sqlx::query("SELECT * FROM onboards WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        onboard_from_row(&row)
    }

    async fn onboards_of_user(&self, tenant_id: &Id, user_id: &Id) -> Result<Vec<Onboard>> {
        let rows = sqlx::query(
            "SELECT * FROM onboards WHERE tenant_id = $1 AND user_id = $2 AND status IN ('created', 'in_progress') \
             ORDER BY id",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(onboard_from_row).collect()
    }

    async fn onboard_history_of_user(&self, tenant_id: &Id, user_id: &Id, limit: u32) -> Result<Vec<Onboard>> {
        let rows =
            sqlx::query("SELECT * FROM onboards WHERE tenant_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3")
                .bind(tenant_id.to_string())
                .bind(user_id.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(onboard_from_row).collect()
    }

    async fn find_onboard(&self, id: &Id) -> Result<Onboard> {
        let row = sqlx::query("SELECT * FROM onboards WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        onboard_from_row(&row)
    }

    async fn search_onboards(
        &self,
        tenant_id: &Id,
        filter: &OnboardFilter,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<ListedOnboard>> {
        let mut params = Params::default();
        let mut conditions = vec![format!("o.tenant_id = {}", params.text(tenant_id))];
        if let Some(after) = after {
            conditions.push(format!("o.id < {}", params.text(after)));
        }
        if !filter.statuses.is_empty() {
            // The statuses are the enum's own names, never the client's text.
            let names: Vec<String> = filter.statuses.iter().map(|status| format!("'{}'", status.as_str())).collect();
            conditions.push(format!("o.status IN ({})", names.join(", ")));
        }
        if let Some(flow_id) = &filter.flow_id {
            conditions.push(format!("o.flow_id = {}", params.text(flow_id)));
        }
        if let Some(invitation_id) = &filter.invitation_id {
            conditions.push(format!("o.invitation_id = {}", params.text(invitation_id)));
        }
        if let Some(user_id) = &filter.user_id {
            conditions.push(format!("o.user_id = {}", params.text(user_id)));
        }
        if let Some(before) = filter.created_before {
            conditions.push(format!("o.created_at < {}", params.int(before.micros())));
        }
        let columns: Vec<String> = ONBOARD_COLUMNS.split(", ").map(|column| format!("o.{column}")).collect();
        let sql = format!(
            "SELECT {}, i.accepted_at AS invitation_accepted_at FROM onboards o \
             LEFT JOIN invitations i ON i.id = o.invitation_id AND i.tenant_id = o.tenant_id \
             WHERE {} ORDER BY o.id DESC LIMIT {}",
            columns.join(", "),
            conditions.join(" AND "),
            params.int(i64::from(limit))
        );
        let rows = params.bind(sqlx::query(&sql)).fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok(ListedOnboard {
                    onboard: onboard_from_row(row)?,
                    accepted_at: row.opt_time("invitation_accepted_at")?,
                })
            })
            .collect()
    }

    async fn update_onboard(
        &self,
        actor: &Actor,
        before: &Onboard,
        after: &Onboard,
        effects: &OnboardEffects,
    ) -> Result<Onboard> {
        let after = Onboard { updated_at: later_than(before.updated_at), ..after.clone() };
        let mut tx = self.write.begin().await?;
        write_onboard::<DB>(&mut tx, actor, before, &after).await?;
        if let Some((user_before, user_after)) = &effects.user_change {
            Self::update_in(&mut tx, actor, user_before, user_after).await?;
        }
        write_effects::<DB>(&mut tx, effects, after.updated_at).await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// Writes what an onboard's write queues and stores besides the onboard and its user: the used link
/// (conditionally, first, so that a used link changes nothing), the new approval links and the emails.
pub(super) async fn write_effects<DB>(conn: &mut DB::Connection, effects: &OnboardEffects, now: Timestamp) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    if let Some(link) = &effects.used_link {
        let result = sqlx::query("UPDATE approval_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now.micros())
            .bind(link.to_string())
            .execute(&mut *conn)
            .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(StoreError::Refused(crate::SecretRefusal::Used));
        }
        outbox::cancel_for::<DB>(&mut *conn, link, now).await?;
    }
    for link in &effects.approval_links {
        sqlx::query(
            "INSERT INTO approval_links (id, tenant_id, onboard_id, step_key, approver_user_id, secret_hash, \
             expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(link.id.to_string())
        .bind(link.tenant_id.to_string())
        .bind(link.onboard_id.to_string())
        .bind(link.step_key.clone())
        .bind(link.approver_user_id.to_string())
        .bind(link.secret_hash.clone())
        .bind(link.expires_at.micros())
        .bind(link.created_at.micros())
        .execute(&mut *conn)
        .await?;
    }
    for email in &effects.emails {
        outbox::insert::<DB>(&mut *conn, email).await?;
    }
    Ok(())
}

fn approval_link_from_row(row: &impl RowExt) -> Result<crate::ApprovalLink> {
    Ok(crate::ApprovalLink {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        onboard_id: row.id("onboard_id")?,
        step_key: row.text("step_key")?,
        approver_user_id: row.id("approver_user_id")?,
        secret_hash: row.text("secret_hash")?,
        expires_at: row.time("expires_at")?,
        used_at: row.opt_time("used_at")?,
        created_at: row.time("created_at")?,
    })
}

/// The approval link with this secret hash, on the read pool.
pub(super) async fn approval_link_by_secret<DB>(pool: &sqlx::Pool<DB>, secret_hash: &str) -> Result<crate::ApprovalLink>
where
    DB: Dialect,
    for<'c> &'c sqlx::Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Decode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let row = sqlx::query("SELECT * FROM approval_links WHERE secret_hash = $1")
        .bind(secret_hash.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound)?;
    approval_link_from_row(&row)
}

/// Share-locks a stored flow's row (so that it cannot be deleted while a new reference to it commits, while
/// other new references proceed), or checks
/// that the id is the minimal flow's; an unknown flow is invalid, naming `field`.
pub(super) async fn lock_flow<DB>(conn: &mut DB::Connection, tenant_id: &Id, id: &Id, field: &'static str) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    if *id == MINIMAL_FLOW_ID {
        return Ok(());
    }
    let found = sqlx::query(&format!(
        "SELECT id FROM onboarding_flows WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL{}",
        DB::FOR_SHARE
    ))
    .bind(tenant_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid { field, message: format!("onboarding flow {id} not found") }),
    }
}
