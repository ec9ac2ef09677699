//! Apps: the `AppStore` implementation. App rows live here; ownerships are in `app_owners.rs`, and the trait
//! methods about them delegate there.
//!
//! An app is soft-deleted: `deleted_at` is set, every read ignores it, and its ownerships are removed in the
//! same transaction. Writes that touch an app's ownerships first lock the live app row (see
//! `app_owners::lock_live_app`), so a deletion and an ownership change of one app never interleave.

use std::collections::BTreeMap;

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::app_owners::{self, owner_change};
use super::audit::{self, Change};
use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{Actor, App, AppOwner, AppStore, IdentityMatching, Result, RoleSlug, StoreError};

/// The columns of `apps` in the order `bind_app` binds them.
const APP_COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "display_name",
    "description",
    "icon_url",
    "monthly_cost_usd",
    "grant_policy_id",
    "revoke_policy_id",
    "certify_policy_id",
    "default_request_catalog_id",
    "instructions",
    "identity_matching",
    "strict_access_entitlement_provisioning",
    "is_manually_managed",
    "revoke_grant_sources",
    "enable_connector_sourced_ownership",
    "is_directory",
    "annotations_json",
    "created_at",
    "updated_at",
    "deleted_at",
];

/// The audit form of an app: its attributes in the wire's camelCase names.
pub(super) fn app_json(app: &App) -> Value {
    json!({
        "id": app.id,
        "displayName": app.display_name,
        "description": app.description,
        "iconUrl": app.icon_url,
        "monthlyCostUsd": app.monthly_cost_usd,
        "grantPolicyId": app.grant_policy_id,
        "revokePolicyId": app.revoke_policy_id,
        "certifyPolicyId": app.certify_policy_id,
        "defaultRequestCatalogId": app.default_request_catalog_id,
        "instructions": app.instructions,
        "identityMatching": app.identity_matching.as_str(),
        "strictAccessEntitlementProvisioning": app.strict_access_entitlement_provisioning,
        "isManuallyManaged": app.is_manually_managed,
        "revokeGrantSources": app.revoke_grant_sources,
        "enableConnectorSourcedOwnership": app.enable_connector_sourced_ownership,
        "isDirectory": app.is_directory,
        "annotations": app.annotations,
        "deletedAt": app.deleted_at,
    })
}

/// Binds an app's columns, in `APP_COLUMNS` order.
fn bind_app<'q, DB>(
    query: sqlx::query::Query<'q, DB, DB::Arguments<'q>>,
    app: &App,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Dialect,
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB>,
{
    query
        .bind(app.id.to_string())
        .bind(app.tenant_id.to_string())
        .bind(app.display_name.clone())
        .bind(app.description.clone())
        .bind(app.icon_url.clone())
        .bind(i64::from(app.monthly_cost_usd))
        .bind(app.grant_policy_id.clone())
        .bind(app.revoke_policy_id.clone())
        .bind(app.certify_policy_id.clone())
        .bind(app.default_request_catalog_id.clone())
        .bind(app.instructions.clone())
        .bind(app.identity_matching.as_str().to_string())
        .bind(i64::from(app.strict_access_entitlement_provisioning))
        .bind(i64::from(app.is_manually_managed))
        .bind(i64::from(app.revoke_grant_sources))
        .bind(i64::from(app.enable_connector_sourced_ownership))
        .bind(i64::from(app.is_directory))
        .bind(serde_json::to_string(&app.annotations).expect("a map of strings always serialises"))
        .bind(app.created_at.micros())
        .bind(app.updated_at.micros())
        .bind(app.deleted_at.map(Timestamp::micros))
}

/// An app from an `apps` row.
fn app_from_row(row: &impl RowExt) -> Result<App> {
    let corrupt = |column: &str| StoreError::Corrupt(format!("apps.{column} has an unexpected value"));
    let matching = row.text("identity_matching")?;
    let annotations: BTreeMap<String, String> =
        serde_json::from_str(&row.text("annotations_json")?).map_err(|_| corrupt("annotations_json"))?;
    Ok(App {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        display_name: row.text("display_name")?,
        description: row.text("description")?,
        icon_url: row.text("icon_url")?,
        monthly_cost_usd: i32::try_from(row.int("monthly_cost_usd")?).map_err(|_| corrupt("monthly_cost_usd"))?,
        grant_policy_id: row.text("grant_policy_id")?,
        revoke_policy_id: row.text("revoke_policy_id")?,
        certify_policy_id: row.text("certify_policy_id")?,
        default_request_catalog_id: row.text("default_request_catalog_id")?,
        instructions: row.text("instructions")?,
        identity_matching: IdentityMatching::parse(&matching).ok_or_else(|| corrupt("identity_matching"))?,
        strict_access_entitlement_provisioning: row.int("strict_access_entitlement_provisioning")? != 0,
        is_manually_managed: row.int("is_manually_managed")? != 0,
        revoke_grant_sources: row.int("revoke_grant_sources")? != 0,
        enable_connector_sourced_ownership: row.int("enable_connector_sourced_ownership")? != 0,
        is_directory: row.int("is_directory")? != 0,
        annotations,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        deleted_at: row.opt_time("deleted_at")?,
    })
}

fn app_change(action: &'static str, before: Option<&App>, after: Option<&App>) -> Change<'static> {
    let id = after.or(before).map(|app| app.id.to_string()).unwrap_or_default();
    Change { action, object_type: "app", object_id: id, before: before.map(app_json), after: after.map(app_json) }
}

#[async_trait]
impl<DB> AppStore for SqlStore<DB>
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
    async fn create_app(&self, actor: &Actor, app: &App, owner_ids: &[Id]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let placeholders: Vec<String> = (1..=APP_COLUMNS.len()).map(|n| format!("${n}")).collect();
        let sql = format!("INSERT INTO apps ({}) VALUES ({})", APP_COLUMNS.join(", "), placeholders.join(", "));
        bind_app::<DB>(sqlx::query(&sql), app).execute(&mut *tx).await?;
        audit::record::<DB>(&mut tx, actor, app_change("app.create", None, Some(app))).await?;
        let mut seen = Vec::with_capacity(owner_ids.len());
        for user_id in owner_ids {
            // A repeated id in the request is one owner, not a conflict with itself.
            if seen.contains(user_id) {
                continue;
            }
            seen.push(*user_id);
            app_owners::check_live_user::<DB>(&mut tx, &app.tenant_id, user_id, "owners").await?;
            let owner = AppOwner {
                id: Id::new(),
                tenant_id: app.tenant_id,
                app_id: app.id,
                role_slug: RoleSlug::owner(),
                user_id: *user_id,
                created_at: app.created_at,
            };
            app_owners::insert_owner::<DB>(&mut tx, &owner).await?;
            audit::record::<DB>(&mut tx, actor, owner_change("app_owner.create", &owner)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_app(&self, tenant_id: &Id, id: &Id) -> Result<App> {
        let row = sqlx::query("SELECT * FROM apps WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        app_from_row(&row)
    }

    async fn apps_owned_by(&self, tenant_id: &Id, user_id: &Id, limit: u32) -> Result<Vec<(App, String)>> {
        let rows = sqlx::query(
            "SELECT apps.*, app_owners.role_slug AS owned_as FROM app_owners JOIN apps \
             ON apps.tenant_id = app_owners.tenant_id AND apps.id = app_owners.app_id \
             WHERE app_owners.tenant_id = $1 AND app_owners.user_id = $2 AND apps.deleted_at IS NULL \
             ORDER BY apps.id, app_owners.role_slug LIMIT $3",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((app_from_row(row)?, row.text("owned_as")?))).collect()
    }

    async fn list_apps(&self, tenant_id: &Id, after: Option<&Id>, limit: u32) -> Result<Vec<App>> {
        let rows = sqlx::query(
            "SELECT * FROM apps WHERE tenant_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3",
        )
        .bind(tenant_id.to_string())
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(app_from_row).collect()
    }

    async fn update_app(&self, actor: &Actor, before: &App, after: &App) -> Result<App> {
        // Strictly later than before, so that the next optimistic update sees a change even within a microsecond.
        let updated_at = super::later_than(before.updated_at);
        let after = App {
            id: before.id,
            tenant_id: before.tenant_id,
            created_at: before.created_at,
            deleted_at: None,
            updated_at,
            ..after.clone()
        };
        let count = APP_COLUMNS.len();
        let assignments: Vec<String> =
            APP_COLUMNS.iter().enumerate().map(|(i, column)| format!("{column} = ${}", i + 1)).collect();
        let sql = format!(
            "UPDATE apps SET {} WHERE tenant_id = ${} AND id = ${} AND updated_at = ${} AND deleted_at IS NULL \
             RETURNING id",
            assignments.join(", "),
            count + 1,
            count + 2,
            count + 3,
        );
        let mut tx = self.write.begin().await?;
        let updated = bind_app::<DB>(sqlx::query(&sql), &after)
            .bind(before.tenant_id.to_string())
            .bind(before.id.to_string())
            .bind(before.updated_at.micros())
            .fetch_optional(&mut *tx)
            .await?;
        if updated.is_none() {
            // Either the app is gone (not found) or another update came first (the caller may retry).
            let live = sqlx::query("SELECT id FROM apps WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(before.tenant_id.to_string())
                .bind(before.id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match live {
                Some(_) => StoreError::Conflict { constraint: "apps_concurrent_update" },
                None => StoreError::NotFound,
            });
        }
        audit::record::<DB>(&mut tx, actor, app_change("app.update", Some(before), Some(&after))).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_app(&self, actor: &Actor, id: &Id) -> Result<App> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT * FROM apps WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL{}",
            DB::FOR_UPDATE
        ))
        .bind(actor.tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let before = app_from_row(&row)?;
        if before.is_directory {
            return Err(StoreError::WrongState(
                "the app backs a local directory; delete the directory configuration first".into(),
            ));
        }
        sqlx::query("UPDATE apps SET deleted_at = $1, updated_at = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(now.micros())
            .bind(actor.tenant_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let after = App { deleted_at: Some(now), updated_at: now, ..before.clone() };
        let removed = app_owners::delete_all_owners::<DB>(&mut tx, &actor.tenant_id, id).await?;
        for owner in &removed {
            audit::record::<DB>(&mut tx, actor, owner_change("app_owner.delete", owner)).await?;
        }
        audit::record::<DB>(&mut tx, actor, app_change("app.delete", Some(&before), Some(&after))).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn list_app_owners(
        &self,
        tenant_id: &Id,
        app_id: &Id,
        role_slug: Option<&RoleSlug>,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<AppOwner>> {
        self.list_owners(tenant_id, app_id, role_slug, after, limit).await
    }

    async fn get_app_owner(&self, tenant_id: &Id, app_id: &Id, role_slug: &RoleSlug, user_id: &Id) -> Result<AppOwner> {
        self.get_owner(tenant_id, app_id, role_slug, user_id).await
    }

    async fn create_app_owner(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner> {
        self.create_owner(actor, app_id, role_slug, user_id).await
    }

    async fn delete_app_owner(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_id: &Id,
    ) -> Result<AppOwner> {
        self.delete_owner(actor, app_id, role_slug, user_id).await
    }

    async fn set_app_owners(&self, actor: &Actor, app_id: &Id, role_slug: &RoleSlug, user_ids: &[Id]) -> Result<()> {
        self.set_owners(actor, app_id, role_slug, user_ids).await
    }

    async fn remove_app_owners(
        &self,
        actor: &Actor,
        app_id: &Id,
        role_slug: &RoleSlug,
        user_ids: &[Id],
    ) -> Result<Vec<AppOwner>> {
        self.remove_owners(actor, app_id, role_slug, user_ids).await
    }
}
