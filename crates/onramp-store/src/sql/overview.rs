//! The reads of the admin console ([`OverviewStore`]): counts by status, invitations about to expire and
//! how outbox deliveries are going. Each is one or two queries scoped by the tenant; no message body is
//! ever read.

use async_trait::async_trait;
use onramp_domain::onboarding::OnboardStatus;
use onramp_domain::user::UserStatus;
use onramp_domain::{Id, Timestamp};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::directory::invitation_from_row;
use super::onboarding::{ONBOARD_COLUMNS, onboard_from_row};
use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{
    Delivery, DeliveryState, Invitation, InvitationStatus, ListedOnboard, OverviewStore, Result, StatusCounts,
    StoreError,
};

/// An undelivered message one of whose attempts failed: another is scheduled.
const RETRYING: &str = "sent_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL AND last_error <> ''";

/// The columns a [`Delivery`] is read from (not the bodies).
const DELIVERY_COLUMNS: &str = "id, kind, subject_id, recipient, subject, attempts, last_error, next_attempt_at, \
    created_at, sent_at, cancelled_at, failed_at";

fn delivery_from_row(row: &impl RowExt) -> Result<Delivery> {
    let sent_at = row.opt_time("sent_at")?;
    let failed_at = row.opt_time("failed_at")?;
    let cancelled_at = row.opt_time("cancelled_at")?;
    let last_error = row.text("last_error")?;
    let state = DeliveryState::of(sent_at.is_some(), failed_at.is_some(), cancelled_at.is_some(), &last_error);
    let undelivered = matches!(state, DeliveryState::Queued | DeliveryState::Retrying);
    Ok(Delivery {
        id: row.id("id")?,
        kind: row.text("kind")?,
        subject_id: row.id("subject_id")?,
        recipient: row.text("recipient")?,
        subject: row.text("subject")?,
        state,
        attempts: row.int("attempts")?,
        last_error,
        next_attempt_at: if undelivered { Some(row.time("next_attempt_at")?) } else { None },
        created_at: row.time("created_at")?,
        ended_at: sent_at.or(failed_at).or(cancelled_at),
    })
}

/// `(status, count)` rows decoded by `parse`.
fn counts<S>(rows: &[impl RowExt], table: &str, parse: impl Fn(&str) -> Option<S>) -> Result<Vec<(S, i64)>> {
    rows.iter()
        .map(|row| {
            let status = row.text("status")?;
            let parsed = parse(&status).ok_or_else(|| StoreError::Corrupt(format!("{table}.status {status:?}")))?;
            Ok((parsed, row.int("n")?))
        })
        .collect()
}

#[async_trait]
impl<DB> OverviewStore for SqlStore<DB>
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
    async fn status_counts(&self, tenant_id: &Id, now: Timestamp) -> Result<StatusCounts> {
        let tenant = tenant_id.to_string();
        let users =
            sqlx::query("SELECT status, COUNT(*) AS n FROM users WHERE tenant_id = $1 GROUP BY status ORDER BY status")
                .bind(tenant.clone())
                .fetch_all(&self.read)
                .await?;
        // A pending invitation past its expiry is EXPIRED to every reader before the sweep writes it down.
        let invitations = sqlx::query(
            "SELECT CASE WHEN status = 'PENDING' AND expires_at <= $2 THEN 'EXPIRED' ELSE status END AS status, \
             COUNT(*) AS n FROM invitations WHERE tenant_id = $1 \
             GROUP BY CASE WHEN status = 'PENDING' AND expires_at <= $2 THEN 'EXPIRED' ELSE status END",
        )
        .bind(tenant.clone())
        .bind(now.micros())
        .fetch_all(&self.read)
        .await?;
        let onboards = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM onboards WHERE tenant_id = $1 GROUP BY status ORDER BY status",
        )
        .bind(tenant)
        .fetch_all(&self.read)
        .await?;
        let mut invitations = counts(&invitations, "invitations", InvitationStatus::parse)?;
        invitations.sort_by_key(|(status, _)| InvitationStatus::ALL.iter().position(|s| s == status));
        let mut onboards = counts(&onboards, "onboards", OnboardStatus::parse)?;
        onboards.sort_by_key(|(status, _)| OnboardStatus::ALL.iter().position(|s| s == status));
        let mut users = counts(&users, "users", UserStatus::parse)?;
        users.sort_by_key(|(status, _)| UserStatus::ALL.iter().position(|s| s == status));
        Ok(StatusCounts { users, invitations, onboards })
    }

    async fn expiring_invitations(
        &self,
        tenant_id: &Id,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<(Vec<Invitation>, i64)> {
        const WHERE: &str = "tenant_id = $1 AND status = 'PENDING' AND expires_at > $2 AND expires_at <= $3";
        let rows = sqlx::query(&format!("SELECT * FROM invitations WHERE {WHERE} ORDER BY expires_at, id LIMIT $4"))
            .bind(tenant_id.to_string())
            .bind(now.micros())
            .bind(until.micros())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let total = sqlx::query(&format!("SELECT COUNT(*) AS n FROM invitations WHERE {WHERE}"))
            .bind(tenant_id.to_string())
            .bind(now.micros())
            .bind(until.micros())
            .fetch_one(&self.read)
            .await?
            .int("n")?;
        Ok((rows.iter().map(invitation_from_row).collect::<Result<_>>()?, total))
    }

    async fn troubled_deliveries(
        &self,
        tenant_id: &Id,
        failed_since: Timestamp,
        limit: u32,
    ) -> Result<(Vec<Delivery>, i64, i64)> {
        let troubled = format!("tenant_id = $1 AND (({RETRYING}) OR failed_at >= $2)");
        let rows =
            sqlx::query(&format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE {troubled} ORDER BY id DESC LIMIT $3"))
                .bind(tenant_id.to_string())
                .bind(failed_since.micros())
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await?;
        let totals = sqlx::query(&format!(
            "SELECT COUNT(CASE WHEN failed_at IS NULL THEN 1 END) AS retrying, \
             COUNT(CASE WHEN failed_at IS NOT NULL THEN 1 END) AS failed FROM outbox WHERE {troubled}"
        ))
        .bind(tenant_id.to_string())
        .bind(failed_since.micros())
        .fetch_one(&self.read)
        .await?;
        let deliveries = rows.iter().map(delivery_from_row).collect::<Result<_>>()?;
        Ok((deliveries, totals.int("retrying")?, totals.int("failed")?))
    }

    async fn waiting_onboards(
        &self,
        tenant_id: &Id,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<(Vec<ListedOnboard>, i64)> {
        // The partial index of migration 0021 (tenant, turn_since, id) over the live onboards.
        const WHERE: &str = "o.tenant_id = $1 AND o.status IN ('created', 'in_progress') AND o.turn_since < $2";
        let columns: Vec<String> = ONBOARD_COLUMNS.split(", ").map(|column| format!("o.{column}")).collect();
        let rows = sqlx::query(&format!(
            "SELECT {}, i.accepted_at AS invitation_accepted_at FROM onboards o \
             LEFT JOIN invitations i ON i.id = o.invitation_id AND i.tenant_id = o.tenant_id \
             WHERE {WHERE} ORDER BY o.turn_since, o.id LIMIT $3",
            columns.join(", ")
        ))
        .bind(tenant_id.to_string())
        .bind(cutoff.micros())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let total = sqlx::query(&format!("SELECT COUNT(*) AS n FROM onboards o WHERE {WHERE}"))
            .bind(tenant_id.to_string())
            .bind(cutoff.micros())
            .fetch_one(&self.read)
            .await?
            .int("n")?;
        let onboards = rows
            .iter()
            .map(|row| {
                Ok(ListedOnboard {
                    onboard: onboard_from_row(row)?,
                    accepted_at: row.opt_time("invitation_accepted_at")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((onboards, total))
    }

    async fn invitation_deliveries(&self, tenant_id: &Id, invitation_ids: &[Id]) -> Result<Vec<Delivery>> {
        let mut newest: Vec<Delivery> = Vec::new();
        // Chunks keep the statement's parameters well under both backends' limits.
        for chunk in invitation_ids.chunks(500) {
            let in_list = super::placeholders(2, chunk.len());
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM outbox WHERE tenant_id = $1 AND kind = 'invitation' \
                 AND subject_id IN ({in_list}) ORDER BY id"
            );
            let query =
                chunk.iter().fold(sqlx::query(&sql).bind(tenant_id.to_string()), |q, id| q.bind(id.to_string()));
            for row in query.fetch_all(&self.read).await? {
                let delivery = delivery_from_row(&row)?;
                // Rows come oldest first, so the last one of a subject is its newest message.
                match newest.iter_mut().find(|known| known.subject_id == delivery.subject_id) {
                    Some(known) => *known = delivery,
                    None => newest.push(delivery),
                }
            }
        }
        Ok(newest)
    }
}
