//! The figures `GET /metrics` reads from the database at scrape time ([`GaugeStore`]): one query each,
//! every one served by an index or a small table, so a scrape costs little however often it comes.

use async_trait::async_trait;
use onramp_domain::Timestamp;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{FeedPosition, GaugeStore, InvitationCount, InvitationStatus, OutboxGauges, PoolGauge, Result, StoreError};

/// The condition of a message still to deliver (the `outbox_due` partial index's).
const UNDELIVERED: &str = "sent_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL";

#[async_trait]
impl<DB> GaugeStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    async fn outbox_gauges(&self, now: Timestamp) -> Result<OutboxGauges> {
        let sql = format!(
            "SELECT COUNT(*) AS depth, MIN(CASE WHEN next_attempt_at <= $1 THEN created_at END) AS oldest_due \
             FROM outbox WHERE {UNDELIVERED}"
        );
        let row = sqlx::query(&sql).bind(now.micros()).fetch_one(&self.read).await?;
        Ok(OutboxGauges { depth: row.int("depth")?, oldest_due_created_at: row.opt_time("oldest_due")? })
    }

    async fn invitation_counts(&self, now: Timestamp) -> Result<Vec<InvitationCount>> {
        // A pending invitation past its expiry is EXPIRED to every reader before the sweep writes it down.
        let rows = sqlx::query(
            "SELECT tenant_id, CASE WHEN status = 'PENDING' AND expires_at <= $1 THEN 'EXPIRED' ELSE status END \
             AS seen, COUNT(*) AS n FROM invitations GROUP BY tenant_id, seen ORDER BY tenant_id, seen",
        )
        .bind(now.micros())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let seen = row.text("seen")?;
                let status = InvitationStatus::parse(&seen)
                    .ok_or_else(|| StoreError::Corrupt(format!("invitations.status {seen:?}")))?;
                Ok(InvitationCount { tenant_id: row.id("tenant_id")?, status, count: row.int("n")? })
            })
            .collect()
    }

    async fn users_behind(&self, position: FeedPosition) -> Result<i64> {
        // A range of the users_change_seq index: empty, and so free, while the node is caught up.
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE (change_seq, id) > ($1, $2)")
            .bind(position.seq)
            .bind(position.id.to_string())
            .fetch_one(&self.read)
            .await?
            .int("n")
    }

    fn pool_gauges(&self) -> Vec<PoolGauge> {
        let gauge = |name, pool: &sqlx::Pool<DB>| PoolGauge {
            name,
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        };
        match DB::BACKEND {
            super::Backend::Sqlite => vec![gauge("read", &self.read), gauge("write", self.write.pool())],
            // One pool serves reads and writes.
            super::Backend::Postgres => vec![gauge("main", &self.read)],
        }
    }
}
