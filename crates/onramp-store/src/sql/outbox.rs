//! The outbox: the `OutboxStore` implementation, and the insert and cancel that the directory's
//! transactions call.

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{OutboxMessage, OutboxStore, Result};

/// The condition of a message still to deliver.
const UNDELIVERED: &str = "sent_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL";

/// Queues a message on the given connection, normally the transaction of the change that causes it.
pub(super) async fn insert<DB>(conn: &mut DB::Connection, message: &OutboxMessage) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    crate::writes::outbox();
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, kind, subject_id, recipient, subject, body, html_body, attempts, \
         next_attempt_at, last_error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, '', $10)",
    )
    .bind(message.id.to_string())
    .bind(message.tenant_id.to_string())
    .bind(message.kind.clone())
    .bind(message.subject_id.to_string())
    .bind(message.recipient.clone())
    .bind(message.subject.clone())
    .bind(message.body.clone())
    .bind(message.html_body.clone())
    .bind(message.next_attempt_at.micros())
    .bind(message.created_at.micros())
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the undelivered messages about an object and empties their bodies (text and HTML).
pub(super) async fn cancel_for<DB>(conn: &mut DB::Connection, subject_id: &Id, now: Timestamp) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(&format!(
        "UPDATE outbox SET cancelled_at = $1, body = '', html_body = '' WHERE subject_id = $2 AND {UNDELIVERED}"
    ))
    .bind(now.micros())
    .bind(subject_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

fn message_from_row(row: &impl RowExt) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        kind: row.text("kind")?,
        subject_id: row.id("subject_id")?,
        recipient: row.text("recipient")?,
        subject: row.text("subject")?,
        body: row.text("body")?,
        html_body: row.text("html_body")?,
        attempts: row.int("attempts")?,
        next_attempt_at: row.time("next_attempt_at")?,
        created_at: row.time("created_at")?,
    })
}

#[async_trait]
impl<DB> OutboxStore for SqlStore<DB>
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
    async fn claim_outbox(&self, now: Timestamp, lease: std::time::Duration, limit: u32) -> Result<Vec<OutboxMessage>> {
        let lease_until = now.micros() + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        // The inner SELECT locks the rows it picks and skips those another node's claim holds (PostgreSQL);
        // SQLite's single writer makes the whole statement exclusive anyway.
        let sql = format!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 WHERE id IN (\
             SELECT id FROM outbox WHERE {UNDELIVERED} AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3{}) RETURNING *",
            DB::SKIP_LOCKED
        );
        let mut tx = self.write.begin().await?;
        let rows =
            sqlx::query(&sql).bind(lease_until).bind(now.micros()).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn outbox_sent(&self, id: &Id, now: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE outbox SET sent_at = $1, body = '', html_body = '', last_error = '' WHERE id = $2")
            .bind(now.micros())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_failed(&self, id: &Id, error: &str, retry_at: Option<Timestamp>) -> Result<()> {
        let error: String = error.chars().take(1000).collect();
        let query = match retry_at {
            Some(at) => sqlx::query("UPDATE outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3")
                .bind(error)
                .bind(at.micros()),
            None => sqlx::query(
                "UPDATE outbox SET last_error = $1, failed_at = $2, body = '', html_body = '' WHERE id = $3",
            )
            .bind(error)
            .bind(Timestamp::now().micros()),
        };
        let mut tx = self.write.begin().await?;
        query.bind(id.to_string()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_next_due(&self) -> Result<Option<Timestamp>> {
        let row = sqlx::query(&format!("SELECT MIN(next_attempt_at) AS due FROM outbox WHERE {UNDELIVERED}"))
            .fetch_one(&self.read)
            .await?;
        row.opt_time("due")
    }
}
