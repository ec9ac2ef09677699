//! Onboarding settings: the `SettingsStore` implementation, one `onboarding_settings` row per tenant.
//!
//! A tenant without a row reads the defaults. A write first makes sure the row exists (`INSERT ... ON
//! CONFLICT DO NOTHING`, so concurrent first writes meet on the primary key), then locks it (`FOR UPDATE` on
//! PostgreSQL; SQLite has one writer), applies the update to what it read, and writes it back with an
//! `UPDATE` conditional on the statuses and `updated_at` it read: a status moves only from the state the
//! transition was checked against. The ensure of the onboarding conversation sets the id only `WHERE
//! conversation_id = ''`, so of concurrent ensures exactly one stores its id and the others read it.

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{
    Actor, McpOnboardingStatus, McpTarget, OnboardingSettings, OnboardingSettingsUpdate, OnboardingStatus, OrgContext,
    Result, SettingsStore, StoreError,
};

/// The audit form of the settings, in the wire's camelCase names.
fn settings_json(settings: &OnboardingSettings) -> Value {
    json!({
        "status": settings.status.wire(),
        "mcpOnboardingStatus": settings.mcp_status.wire(),
        "conversationId": settings.conversation_id,
        "mcpOnboardingGoal": settings.mcp_goal,
        "mcpOnboardingTargets": settings.mcp_targets.iter().map(|target| json!({
            "kind": target.kind.wire(),
            "id": target.id,
            "displayName": target.display_name,
            "mcpServerId": target.mcp_server_id,
            "status": target.status.wire(),
        })).collect::<Vec<_>>(),
        "intents": settings.intents,
        "orgContext": {
            "industry": settings.org_context.industry,
            "organizationSize": settings.org_context.organization_size,
        },
    })
}

fn settings_from_row(row: &impl RowExt) -> Result<OnboardingSettings> {
    let corrupt = |column: &str| StoreError::Corrupt(format!("onboarding_settings.{column} has an unexpected value"));
    let status = row.text("status")?;
    let mcp_status = row.text("mcp_status")?;
    let targets: Vec<McpTarget> =
        serde_json::from_str(&row.text("mcp_targets_json")?).map_err(|_| corrupt("mcp_targets_json"))?;
    let intents: Vec<String> = serde_json::from_str(&row.text("intents_json")?).map_err(|_| corrupt("intents_json"))?;
    Ok(OnboardingSettings {
        tenant_id: row.id("tenant_id")?,
        status: OnboardingStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        mcp_status: McpOnboardingStatus::parse(&mcp_status).ok_or_else(|| corrupt("mcp_status"))?,
        conversation_id: row.text("conversation_id")?,
        mcp_goal: row.text("mcp_goal")?,
        mcp_targets: targets,
        intents,
        org_context: OrgContext { industry: row.text("org_industry")?, organization_size: row.text("org_size")? },
        updated_at: Some(row.time("updated_at")?),
    })
}

/// Inserts the tenant's row with the defaults unless it exists.
async fn ensure_row<DB>(conn: &mut DB::Connection, tenant_id: &Id, now: Timestamp) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let defaults = OnboardingSettings::defaults(*tenant_id);
    sqlx::query(
        "INSERT INTO onboarding_settings (tenant_id, status, mcp_status, conversation_id, mcp_goal, \
         mcp_targets_json, intents_json, org_industry, org_size, created_at, updated_at) \
         VALUES ($1, $2, $3, '', '', '[]', '[]', '', '', $4, $4) ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant_id.to_string())
    .bind(defaults.status.as_str().to_string())
    .bind(defaults.mcp_status.as_str().to_string())
    .bind(now.micros())
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl<DB> SettingsStore for SqlStore<DB>
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
    async fn get_onboarding_settings(&self, tenant_id: &Id) -> Result<OnboardingSettings> {
        let row = sqlx::query("SELECT * FROM onboarding_settings WHERE tenant_id = $1")
            .bind(tenant_id.to_string())
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(row) => settings_from_row(&row),
            None => Ok(OnboardingSettings::defaults(*tenant_id)),
        }
    }

    async fn update_onboarding_settings(
        &self,
        actor: &Actor,
        update: &OnboardingSettingsUpdate,
    ) -> Result<OnboardingSettings> {
        let tenant_id = actor.tenant_id;
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        ensure_row::<DB>(&mut tx, &tenant_id, now).await?;
        let row = sqlx::query(&format!("SELECT * FROM onboarding_settings WHERE tenant_id = $1{}", DB::FOR_UPDATE))
            .bind(tenant_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let before = settings_from_row(&row)?;
        let mut after = update.apply(&before).map_err(|refused| StoreError::WrongState(refused.0))?;
        if after.same_content(&before) {
            // Nothing changes (omitted fields, a status set to itself): no write and no audit event.
            tx.commit().await?;
            return Ok(before);
        }
        let previous = before.updated_at.map_or(0, Timestamp::micros);
        let updated_at = Timestamp::from_micros(now.micros().max(previous + 1));
        after.updated_at = Some(updated_at);
        let updated = sqlx::query(
            "UPDATE onboarding_settings SET status = $1, mcp_status = $2, conversation_id = $3, mcp_goal = $4, \
             mcp_targets_json = $5, intents_json = $6, org_industry = $7, org_size = $8, updated_at = $9 \
             WHERE tenant_id = $10 AND status = $11 AND mcp_status = $12 AND updated_at = $13 RETURNING tenant_id",
        )
        .bind(after.status.as_str().to_string())
        .bind(after.mcp_status.as_str().to_string())
        .bind(after.conversation_id.clone())
        .bind(after.mcp_goal.clone())
        .bind(serde_json::to_string(&after.mcp_targets).expect("targets always serialise"))
        .bind(serde_json::to_string(&after.intents).expect("a list of strings always serialises"))
        .bind(after.org_context.industry.clone())
        .bind(after.org_context.organization_size.clone())
        .bind(updated_at.micros())
        .bind(tenant_id.to_string())
        .bind(before.status.as_str().to_string())
        .bind(before.mcp_status.as_str().to_string())
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?;
        if updated.is_none() {
            // The row is locked, so this means another writer bypassed the lock; refuse rather than guess.
            return Err(StoreError::Conflict { constraint: "onboarding_settings_concurrent_update" });
        }
        let change = Change {
            action: "onboarding_settings.update",
            object_type: "onboarding_settings",
            object_id: tenant_id.to_string(),
            before: Some(settings_json(&before)),
            after: Some(settings_json(&after)),
        };
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn ensure_onboarding_conversation(&self, actor: &Actor, proposed: &Id) -> Result<(String, bool)> {
        let tenant_id = actor.tenant_id;
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        ensure_row::<DB>(&mut tx, &tenant_id, now).await?;
        // Only while no conversation is stored: of concurrent ensures, the first to write wins and the
        // others' conditions fail once they see its committed row.
        let stored = sqlx::query(
            "UPDATE onboarding_settings SET conversation_id = $1, \
             updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at + 1 END \
             WHERE tenant_id = $3 AND conversation_id = '' RETURNING conversation_id",
        )
        .bind(proposed.to_string())
        .bind(now.micros())
        .bind(tenant_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if stored.is_some() {
            let change = Change {
                action: "onboarding_conversation.create",
                object_type: "onboarding_conversation",
                object_id: proposed.to_string(),
                before: None,
                after: Some(json!({ "conversationId": proposed.to_string() })),
            };
            audit::record::<DB>(&mut tx, actor, change).await?;
            tx.commit().await?;
            return Ok((proposed.to_string(), true));
        }
        let row = sqlx::query("SELECT conversation_id FROM onboarding_settings WHERE tenant_id = $1")
            .bind(tenant_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let existing = row.text("conversation_id")?;
        tx.commit().await?;
        Ok((existing, false))
    }
}
