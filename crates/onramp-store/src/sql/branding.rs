//! Tenant settings (display name, accent, logo, user-editable fields, the console's second factor): the `BrandingStore`
//! implementation, one `tenant_settings` row per tenant.
//!
//! A tenant without a row reads the defaults. An update makes sure the row exists (`INSERT ... ON CONFLICT
//! DO NOTHING`), locks it (`FOR UPDATE` on PostgreSQL; SQLite has one writer), applies the update to what it
//! read and writes the whole row back conditionally on the `updated_at` it read, with one audit event.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onramp_domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{Actor, BrandingStore, ImageType, Logo, Result, StoreError, TenantSettings, TenantSettingsUpdate};

/// The audit form of the settings, in the wire's names; the logo by its type and hash, not its bytes.
fn settings_json(settings: &TenantSettings) -> Value {
    json!({
        "displayName": settings.display_name,
        "accentColor": settings.accent_color,
        "logo": settings.logo.as_ref().map(|logo| json!({
            "contentType": logo.image_type.content_type(),
            "sha256": logo.sha256,
            "bytes": logo.bytes.len(),
        })),
        "userEditableFields": settings.user_editable_fields,
        "consoleRequiresSecondFactor": settings.console_requires_second_factor,
    })
}

fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("tenant_settings.{column} has an unexpected value"))
}

fn logo_from_row(row: &impl RowExt) -> Result<Option<Logo>> {
    let content_type = row.text("logo_content_type")?;
    if content_type.is_empty() {
        return Ok(None);
    }
    let image_type = ImageType::from_content_type(&content_type).ok_or_else(|| corrupt("logo_content_type"))?;
    let bytes = STANDARD.decode(row.text("logo_base64")?).map_err(|_| corrupt("logo_base64"))?;
    Ok(Some(Logo { image_type, bytes, sha256: row.text("logo_sha256")? }))
}

fn settings_from_row(row: &impl RowExt) -> Result<TenantSettings> {
    let fields: Vec<String> = serde_json::from_str(&row.text("user_editable_fields_json")?)
        .map_err(|_| corrupt("user_editable_fields_json"))?;
    Ok(TenantSettings {
        tenant_id: row.id("tenant_id")?,
        display_name: row.text("display_name")?,
        accent_color: row.text("accent_color")?,
        logo: logo_from_row(row)?,
        user_editable_fields: fields,
        console_requires_second_factor: row.int("console_second_factor")? != 0,
        updated_at: Some(row.time("updated_at")?),
    })
}

#[async_trait]
impl<DB> BrandingStore for SqlStore<DB>
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
    async fn get_tenant_settings(&self, tenant_id: &Id) -> Result<TenantSettings> {
        let row = sqlx::query("SELECT * FROM tenant_settings WHERE tenant_id = $1")
            .bind(tenant_id.to_string())
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(row) => settings_from_row(&row),
            None => Ok(TenantSettings::defaults(*tenant_id)),
        }
    }

    async fn update_tenant_settings(&self, actor: &Actor, update: &TenantSettingsUpdate) -> Result<TenantSettings> {
        let tenant_id = actor.tenant_id;
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO tenant_settings (tenant_id, display_name, accent_color, logo_content_type, logo_sha256, \
             logo_base64, user_editable_fields_json, created_at, updated_at) \
             VALUES ($1, '', '', '', '', '', '[]', $2, $2) ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant_id.to_string())
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!("SELECT * FROM tenant_settings WHERE tenant_id = $1{}", DB::FOR_UPDATE))
            .bind(tenant_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let before = settings_from_row(&row)?;
        let mut after = before.apply(update);
        if after.same_content(&before) {
            tx.commit().await?;
            return Ok(before);
        }
        let previous = before.updated_at.map_or(0, Timestamp::micros);
        let updated_at = Timestamp::from_micros(now.micros().max(previous + 1));
        after.updated_at = Some(updated_at);
        let logo = after.logo.as_ref();
        let updated = sqlx::query(
            "UPDATE tenant_settings SET display_name = $1, accent_color = $2, logo_content_type = $3, \
             logo_sha256 = $4, logo_base64 = $5, user_editable_fields_json = $6, updated_at = $7, \
             console_second_factor = $8 WHERE tenant_id = $9 AND updated_at = $10 RETURNING tenant_id",
        )
        .bind(after.display_name.clone())
        .bind(after.accent_color.clone())
        .bind(logo.map(|logo| logo.image_type.content_type().to_string()).unwrap_or_default())
        .bind(logo.map(|logo| logo.sha256.clone()).unwrap_or_default())
        .bind(logo.map(|logo| STANDARD.encode(&logo.bytes)).unwrap_or_default())
        .bind(serde_json::to_string(&after.user_editable_fields).expect("a list of strings always serialises"))
        .bind(updated_at.micros())
        .bind(i64::from(after.console_requires_second_factor))
        .bind(tenant_id.to_string())
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?;
        if updated.is_none() {
            // The row is locked, so this means another writer bypassed the lock; refuse rather than guess.
            return Err(StoreError::Conflict { constraint: "tenant_settings_concurrent_update" });
        }
        let change = Change::of(
            "tenant_settings.update",
            "tenant_settings",
            tenant_id,
            Some(settings_json(&before)),
            Some(settings_json(&after)),
        );
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn logo_by_hash(&self, sha256: &str) -> Result<Logo> {
        let row = sqlx::query(
            "SELECT logo_content_type, logo_sha256, logo_base64 FROM tenant_settings WHERE logo_sha256 = $1 LIMIT 1",
        )
        .bind(sha256.to_string())
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(row) => logo_from_row(&row)?.ok_or(StoreError::NotFound),
            None => Err(StoreError::NotFound),
        }
    }
}
