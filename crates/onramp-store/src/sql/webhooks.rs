//! Webhooks: subscriptions, and their deliveries, which are the webhook outbox.
//!
//! Events are raised in one place, [`raise`], which `audit::record` calls for every audited change, inside
//! the change's transaction: a change is written, audited and its webhooks queued together or not at all.
//! Raising numbers the delivery in its subscription's order by incrementing `last_seq` on the subscription
//! row, which on PostgreSQL is locked (with the tenant's other enabled subscriptions, in id order) until
//! the transaction ends; so a subscription's deliveries are numbered in the order their transactions
//! commit, and the worker, which only takes the lowest-numbered pending delivery of each subscription,
//! sends them in that order.

use async_trait::async_trait;
use onramp_domain::webhook::{self, Subscription, WebhookDelivery};
use onramp_domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{Actor, Result, StoreError, WebhookStore};

/// The condition of a delivery `d` that may go now: still to make, and the first of its subscription's
/// (a delivery waits while an earlier one of its subscription is pending: retrying, or claimed by a worker).
const HEAD: &str = "d.delivered_at IS NULL AND d.failed_at IS NULL AND NOT EXISTS (SELECT 1 FROM \
     webhook_deliveries e WHERE e.subscription_id = d.subscription_id AND e.seq < d.seq \
     AND e.delivered_at IS NULL AND e.failed_at IS NULL)";

const DELIVERY_COLUMNS: &str = "id, tenant_id, subscription_id, seq, event_id, event_type, payload, attempts, \
     next_attempt_at, last_attempt_at, last_status, last_error, created_at, delivered_at, failed_at";

/// Queues the events an audited change raises, one delivery per enabled subscription of the tenant that
/// asked for the event's type, on the change's own connection.
///
/// - A change whose events no subscription wants (most changes, and every change of a tenant without
///   subscriptions) costs one read of the tenant's subscriptions and writes nothing.
/// - Otherwise the subscriptions are locked (PostgreSQL) in the order of their ids, all of the tenant's
///   enabled ones at once, and each wanted one's `last_seq` moves on by the number of events it gets. One
///   order for every transaction, and all the locks a transaction will need taken by its first raise (a
///   transaction that records several changes, as accepting an invitation does, asks for none later), is
///   what keeps two transactions raising for the same subscriptions from deadlocking.
pub(super) async fn raise<DB>(
    conn: &mut DB::Connection,
    tenant_id: &Id,
    action: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let events = webhook::events_of_change(action, before, after);
    if events.is_empty() {
        return Ok(());
    }
    let subscribers = |rows: &[DB::Row]| -> Result<Vec<(Id, Vec<usize>)>> {
        let mut wanted = Vec::new();
        for row in rows {
            let types = row.text("event_types")?;
            let wants: Vec<usize> = events
                .iter()
                .enumerate()
                .filter(|(_, (event_type, _))| types.contains(&format!(",{event_type},")))
                .map(|(n, _)| n)
                .collect();
            if !wants.is_empty() {
                wanted.push((row.id("id")?, wants));
            }
        }
        Ok(wanted)
    };
    let enabled = "SELECT id, event_types FROM webhook_subscriptions WHERE tenant_id = $1 AND enabled = 1 ORDER BY id";
    let rows = sqlx::query(enabled).bind(tenant_id.to_string()).fetch_all(&mut *conn).await?;
    let mut wanted = subscribers(&rows)?;
    if wanted.is_empty() {
        return Ok(());
    }
    if !DB::FOR_UPDATE.is_empty() {
        // Locked in id order, read again as they are now (a subscription changed since the read above
        // counts as it is once locked).
        let rows = sqlx::query(&format!("{enabled}{}", DB::FOR_UPDATE))
            .bind(tenant_id.to_string())
            .fetch_all(&mut *conn)
            .await?;
        wanted = subscribers(&rows)?;
    }
    let now = Timestamp::now();
    let raised: Vec<(Id, String)> =
        events.iter().map(|(event_type, data)| (Id::new(), webhook::payload(event_type, now, data))).collect();
    for (subscription_id, wants) in wanted {
        let count = i64::try_from(wants.len()).unwrap_or(i64::MAX);
        let row =
            sqlx::query("UPDATE webhook_subscriptions SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq")
                .bind(count)
                .bind(subscription_id.to_string())
                .fetch_one(&mut *conn)
                .await?;
        let first_seq = row.int("last_seq")? - count + 1;
        for (seq, n) in (first_seq..).zip(wants) {
            let (event_id, payload) = &raised[n];
            crate::writes::webhook();
            insert_delivery::<DB>(
                &mut *conn,
                &WebhookDelivery {
                    id: Id::new(),
                    tenant_id: *tenant_id,
                    subscription_id,
                    seq,
                    event_id: *event_id,
                    event_type: events[n].0.to_string(),
                    payload: payload.clone(),
                    attempts: 0,
                    next_attempt_at: now,
                    last_attempt_at: None,
                    last_status: None,
                    last_error: String::new(),
                    created_at: now,
                    delivered_at: None,
                    failed_at: None,
                },
            )
            .await?;
        }
    }
    Ok(())
}

async fn insert_delivery<DB>(conn: &mut DB::Connection, delivery: &WebhookDelivery) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, subscription_id, seq, event_id, event_type, payload, \
         attempts, next_attempt_at, last_error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, '', $9)",
    )
    .bind(delivery.id.to_string())
    .bind(delivery.tenant_id.to_string())
    .bind(delivery.subscription_id.to_string())
    .bind(delivery.seq)
    .bind(delivery.event_id.to_string())
    .bind(delivery.event_type.clone())
    .bind(delivery.payload.clone())
    .bind(delivery.next_attempt_at.micros())
    .bind(delivery.created_at.micros())
    .execute(conn)
    .await?;
    Ok(())
}

fn subscription_from_row(row: &impl RowExt) -> Result<Subscription> {
    Ok(Subscription {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        url: row.text("url")?,
        event_types: webhook::parse_stored_event_types(&row.text("event_types")?),
        description: row.text("description")?,
        enabled: row.int("enabled")? != 0,
        secret_version: row.int("secret_version")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn delivery_from_row(row: &impl RowExt) -> Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        subscription_id: row.id("subscription_id")?,
        seq: row.int("seq")?,
        event_id: row.id("event_id")?,
        event_type: row.text("event_type")?,
        payload: row.text("payload")?,
        attempts: row.int("attempts")?,
        next_attempt_at: row.time("next_attempt_at")?,
        last_attempt_at: row.opt_time("last_attempt_at")?,
        last_status: row.opt_int("last_status")?,
        last_error: row.text("last_error")?,
        created_at: row.time("created_at")?,
        delivered_at: row.opt_time("delivered_at")?,
        failed_at: row.opt_time("failed_at")?,
    })
}

/// The audit form of a subscription: everything but a secret, which it does not hold.
fn subscription_json(subscription: &Subscription) -> Value {
    json!({
        "id": subscription.id,
        "url": subscription.url,
        "eventTypes": subscription.event_types,
        "description": subscription.description,
        "enabled": subscription.enabled,
        "secretVersion": subscription.secret_version,
    })
}

#[async_trait]
impl<DB> WebhookStore for SqlStore<DB>
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
    async fn create_webhook(&self, actor: &Actor, subscription: &Subscription) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_subscriptions (id, tenant_id, url, event_types, description, enabled, \
             secret_version, last_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)",
        )
        .bind(subscription.id.to_string())
        .bind(subscription.tenant_id.to_string())
        .bind(subscription.url.clone())
        .bind(webhook::stored_event_types(&subscription.event_types))
        .bind(subscription.description.clone())
        .bind(i64::from(subscription.enabled))
        .bind(subscription.secret_version)
        .bind(subscription.created_at.micros())
        .bind(subscription.updated_at.micros())
        .execute(&mut *tx)
        .await?;
        let change =
            Change::of("webhook.create", "webhook", subscription.id, None, Some(subscription_json(subscription)));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_webhooks(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<Subscription>> {
        let after = after.map(ToString::to_string).unwrap_or_default();
        let rows =
            sqlx::query("SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(tenant_id.to_string())
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    async fn get_webhook(&self, tenant_id: &Id, id: &Id) -> Result<Subscription> {
        let row = sqlx::query("SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        subscription_from_row(&row)
    }

    async fn update_webhook(&self, actor: &Actor, before: &Subscription, after: &Subscription) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "UPDATE webhook_subscriptions SET url = $1, event_types = $2, description = $3, enabled = $4, \
             secret_version = $5, updated_at = $6 WHERE tenant_id = $7 AND id = $8 AND updated_at = $9",
        )
        .bind(after.url.clone())
        .bind(webhook::stored_event_types(&after.event_types))
        .bind(after.description.clone())
        .bind(i64::from(after.enabled))
        .bind(after.secret_version)
        .bind(after.updated_at.micros())
        .bind(before.tenant_id.to_string())
        .bind(before.id.to_string())
        .bind(before.updated_at.micros())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(StoreError::Conflict { constraint: "webhook_subscriptions_concurrent_update" });
        }
        let change = Change::of(
            "webhook.update",
            "webhook",
            after.id,
            Some(subscription_json(before)),
            Some(subscription_json(after)),
        );
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_webhook(&self, actor: &Actor, tenant_id: &Id, id: &Id) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2{}",
            DB::FOR_UPDATE
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let before = subscription_from_row(&row)?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE subscription_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        let change = Change::of("webhook.delete", "webhook", id, Some(subscription_json(&before)), None);
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_webhook_deliveries(
        &self,
        tenant_id: &Id,
        subscription_id: &Id,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 \
             AND seq < $3 ORDER BY seq DESC LIMIT $4"
        ))
        .bind(tenant_id.to_string())
        .bind(subscription_id.to_string())
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn redeliver_webhook(
        &self,
        actor: &Actor,
        tenant_id: &Id,
        subscription_id: &Id,
        delivery_id: &Id,
    ) -> Result<WebhookDelivery> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 AND id = $3"
        ))
        .bind(tenant_id.to_string())
        .bind(subscription_id.to_string())
        .bind(delivery_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let original = delivery_from_row(&row)?;
        let seq_row = sqlx::query(
            "UPDATE webhook_subscriptions SET last_seq = last_seq + 1 WHERE tenant_id = $1 AND id = $2 RETURNING last_seq",
        )
        .bind(tenant_id.to_string())
        .bind(subscription_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let now = Timestamp::now();
        let copy = WebhookDelivery {
            id: Id::new(),
            seq: seq_row.int("last_seq")?,
            attempts: 0,
            next_attempt_at: now,
            last_attempt_at: None,
            last_status: None,
            last_error: String::new(),
            created_at: now,
            delivered_at: None,
            failed_at: None,
            ..original
        };
        crate::writes::webhook();
        insert_delivery::<DB>(&mut tx, &copy).await?;
        let after = json!({"id": copy.id, "eventId": copy.event_id, "redelivers": delivery_id});
        let change = Change::of("webhook.redeliver", "webhook", subscription_id, None, Some(after));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(copy)
    }

    async fn claim_webhooks(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let lease_until = now.micros() + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        // Only the head of each subscription's queue may go. On PostgreSQL the inner SELECT locks the heads
        // it picks and skips those another node's claim holds; a head claimed by another node is pending,
        // so the delivery after it is no head either.
        let sql = format!(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1 WHERE id IN (\
             SELECT d.id FROM webhook_deliveries d WHERE {HEAD} AND d.next_attempt_at <= $2 \
             ORDER BY d.next_attempt_at LIMIT $3{}) RETURNING {DELIVERY_COLUMNS}",
            DB::SKIP_LOCKED,
        );
        let mut tx = self.write.begin().await?;
        let rows =
            sqlx::query(&sql).bind(lease_until).bind(now.micros()).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn webhook_delivered(&self, id: &Id, status: i64, now: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET delivered_at = $1, last_attempt_at = $1, last_status = $2, last_error = '' \
             WHERE id = $3",
        )
        .bind(now.micros())
        .bind(status)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_failed(
        &self,
        id: &Id,
        status: Option<i64>,
        error: &str,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        let sql = match retry_at {
            Some(_) => {
                "UPDATE webhook_deliveries SET last_attempt_at = $1, last_status = $2, last_error = $3, \
                 next_attempt_at = $4 WHERE id = $5"
            }
            None => {
                "UPDATE webhook_deliveries SET last_attempt_at = $1, last_status = $2, last_error = $3, \
                 failed_at = $4 WHERE id = $5"
            }
        };
        let mut tx = self.write.begin().await?;
        sqlx::query(sql)
            .bind(now.micros())
            .bind(status)
            .bind(error)
            .bind(retry_at.unwrap_or(now).micros())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_next_due(&self) -> Result<Option<Timestamp>> {
        let row = sqlx::query(&format!("SELECT MIN(d.next_attempt_at) AS due FROM webhook_deliveries d WHERE {HEAD}"))
            .fetch_one(&self.read)
            .await?;
        row.opt_time("due")
    }
}
