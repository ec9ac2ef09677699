//! Local directories and invitations: the `DirectoryStore` implementation.
//!
//! Every change to an invitation is a conditional update of a row read `FOR UPDATE` in the same
//! transaction (on SQLite the single writer serialises transactions instead), so that two accepts, or an
//! accept and a revoke, of one invitation are serial: the second sees the first's outcome and is refused.
//! Emails are queued in the outbox inside the transaction that causes them, and the unsent emails of an
//! invitation are cancelled whenever its secret stops working (resend, revoke, accept, directory deleted).

use async_trait::async_trait;
use onramp_domain::user::UserStatus;
use onramp_domain::{Email, Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::user_sql::{insert_user, user_json};
use super::{Dialect, SqlStore, conflict_on, ids_json, later_than, onboarding, outbox};
use crate::{
    Accepted, Actor, DirectoryStore, Invitation, InvitationStatus, LocalDirectory, Onboard, OutboxMessage, Result,
    SecretRefusal, Session, StoreError,
};

const DIRECTORY_COLUMNS: &str = "app_id, tenant_id, display_name, invitation_ttl_seconds, is_default, \
    onboarding_flow_id, default_profile_type_id, organization_id, allow_self_registration, \
    self_registration_domains_json, created_at, updated_at";

const INVITATION_COLUMNS: &str = "id, tenant_id, directory_app_id, email, display_name, initial_role_ids_json, \
    sponsor_user_id, onboarding_flow_id, purpose, job_id, invited_by_user_id, status, expires_at, accepted_at, \
    created_user_id, created_at, updated_at, secret_hash";

/// The audit form of a directory.
fn directory_json(directory: &LocalDirectory) -> Value {
    json!({
        "appId": directory.app_id,
        "displayName": directory.display_name,
        "invitationTtlSeconds": directory.invitation_ttl_seconds,
        "isDefault": directory.is_default,
        "onboardingFlowId": directory.onboarding_flow_id,
        "defaultProfileTypeId": directory.default_profile_type_id,
        "organizationId": directory.organization_id,
        "allowSelfRegistration": directory.allow_self_registration,
        "selfRegistrationDomains": directory.self_registration_domains,
    })
}

/// The audit form of an invitation: never its secret or the secret's hash.
fn invitation_json(invitation: &Invitation) -> Value {
    json!({
        "id": invitation.id,
        "directoryAppId": invitation.directory_app_id,
        "email": invitation.email.as_str(),
        "displayName": invitation.display_name,
        "initialRoleIds": invitation.initial_role_ids,
        "sponsorUserId": invitation.sponsor_user_id,
        "onboardingFlowId": invitation.onboarding_flow_id,
        "purpose": invitation.purpose,
        "jobId": invitation.job_id,
        "invitedByUserId": invitation.invited_by_user_id,
        "status": invitation.status.as_str(),
        "expiresAt": invitation.expires_at,
        "acceptedAt": invitation.accepted_at,
        "createdUserId": invitation.created_user_id,
    })
}

fn directory_change(
    action: &'static str,
    before: Option<&LocalDirectory>,
    after: Option<&LocalDirectory>,
) -> Change<'static> {
    let id = after.or(before).map(|d| d.app_id.to_string()).unwrap_or_default();
    Change::of(action, "local_directory", id, before.map(directory_json), after.map(directory_json))
}

fn invitation_change(action: &'static str, before: Option<&Invitation>, after: &Invitation) -> Change<'static> {
    Change::of(action, "invitation", after.id, before.map(invitation_json), Some(invitation_json(after)))
}

fn directory_from_row(row: &impl RowExt) -> Result<LocalDirectory> {
    let domains = row.text("self_registration_domains_json")?;
    Ok(LocalDirectory {
        app_id: row.id("app_id")?,
        tenant_id: row.id("tenant_id")?,
        display_name: row.text("display_name")?,
        invitation_ttl_seconds: row.int("invitation_ttl_seconds")?,
        is_default: row.int("is_default")? != 0,
        onboarding_flow_id: row.opt_id("onboarding_flow_id")?,
        default_profile_type_id: row.text("default_profile_type_id")?,
        organization_id: row.text("organization_id")?,
        allow_self_registration: row.int("allow_self_registration")? != 0,
        self_registration_domains: serde_json::from_str(&domains)
            .map_err(|_| StoreError::Corrupt("local_directories.self_registration_domains_json".into()))?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(super) fn invitation_from_row(row: &impl RowExt) -> Result<Invitation> {
    let status = row.text("status")?;
    let email = row.text("email")?;
    Ok(Invitation {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        directory_app_id: row.id("directory_app_id")?,
        email: Email::parse(&email).map_err(|_| StoreError::Corrupt(format!("invitations.email {email:?}")))?,
        display_name: row.text("display_name")?,
        initial_role_ids: row.id_list("initial_role_ids_json")?,
        sponsor_user_id: row.opt_id("sponsor_user_id")?,
        onboarding_flow_id: row.opt_id("onboarding_flow_id")?,
        purpose: row.text("purpose")?,
        job_id: row.text("job_id")?,
        invited_by_user_id: row.opt_id("invited_by_user_id")?,
        status: InvitationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("invitations.status {status:?}")))?,
        expires_at: row.time("expires_at")?,
        accepted_at: row.opt_time("accepted_at")?,
        created_user_id: row.opt_id("created_user_id")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Binds a directory's columns in `DIRECTORY_COLUMNS` order.
fn bind_directory<'q, DB>(
    query: sqlx::query::Query<'q, DB, DB::Arguments<'q>>,
    d: &LocalDirectory,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Dialect,
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB>,
{
    query
        .bind(d.app_id.to_string())
        .bind(d.tenant_id.to_string())
        .bind(d.display_name.clone())
        .bind(d.invitation_ttl_seconds)
        .bind(i64::from(d.is_default))
        .bind(d.onboarding_flow_id.map(|id| id.to_string()))
        .bind(d.default_profile_type_id.clone())
        .bind(d.organization_id.clone())
        .bind(i64::from(d.allow_self_registration))
        .bind(serde_json::to_string(&d.self_registration_domains).expect("a list of strings always serialises"))
        .bind(d.created_at.micros())
        .bind(d.updated_at.micros())
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
    /// Makes the tenant's current default directory (other than `except`) not the default, with its audit
    /// event.
    async fn clear_default(conn: &mut DB::Connection, actor: &Actor, except: &Id) -> Result<()> {
        // Changes of a tenant's default are serial: a concurrent one commits first and is then seen here,
        // rather than both missing each other and one failing on the unique index. The lock is the one every
        // tenant-wide write takes (`lock_tenant`): FOR UPDATE would also hold up, and wait on, every insert of
        // a row referencing the tenant, whose foreign-key check takes a key share lock on PostgreSQL.
        sqlx::query(&format!("SELECT id FROM tenants WHERE id = $1{}", DB::FOR_NO_KEY_UPDATE))
            .bind(actor.tenant_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM local_directories WHERE tenant_id = $1 AND is_default = 1 AND app_id <> $2{}",
            DB::FOR_UPDATE
        ))
        .bind(actor.tenant_id.to_string())
        .bind(except.to_string())
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let before = directory_from_row(row)?;
            let after =
                LocalDirectory { is_default: false, updated_at: later_than(before.updated_at), ..before.clone() };
            sqlx::query("UPDATE local_directories SET is_default = 0, updated_at = $1 WHERE app_id = $2")
                .bind(after.updated_at.micros())
                .bind(after.app_id.to_string())
                .execute(&mut *conn)
                .await?;
            audit::record::<DB>(conn, actor, directory_change("local_directory.update", Some(&before), Some(&after)))
                .await?;
        }
        Ok(())
    }

    /// Sets or clears the `is_directory` mark of a live app.
    async fn mark_app(conn: &mut DB::Connection, tenant_id: &Id, app_id: &Id, is_directory: bool) -> Result<u64> {
        let result = sqlx::query(
            "UPDATE apps SET is_directory = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND deleted_at IS NULL",
        )
        .bind(i64::from(is_directory))
        .bind(Timestamp::now().micros())
        .bind(tenant_id.to_string())
        .bind(app_id.to_string())
        .execute(conn)
        .await?;
        Ok(DB::rows_affected(&result))
    }

    /// An invitation of a directory, locked until the transaction ends.
    async fn lock_invitation(
        conn: &mut DB::Connection,
        tenant_id: &Id,
        directory_app_id: &Id,
        id: &Id,
    ) -> Result<Invitation> {
        let row = sqlx::query(&format!(
            "SELECT * FROM invitations WHERE tenant_id = $1 AND directory_app_id = $2 AND id = $3{}",
            DB::FOR_UPDATE
        ))
        .bind(tenant_id.to_string())
        .bind(directory_app_id.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        invitation_from_row(&row)
    }

    /// Moves a locked, pending invitation to `status`. The condition on the stored status makes the update
    /// a no-op (refused as a wrong state) if the row is not pending after all.
    async fn finish_invitation(
        conn: &mut DB::Connection,
        actor: &Actor,
        before: &Invitation,
        status: InvitationStatus,
        now: Timestamp,
        notices: &dyn crate::FailureNotices,
    ) -> Result<Invitation> {
        let result =
            sqlx::query("UPDATE invitations SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'PENDING'")
                .bind(status.as_str().to_string())
                .bind(now.micros())
                .bind(before.id.to_string())
                .execute(&mut *conn)
                .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(not_pending(before, now));
        }
        outbox::cancel_for::<DB>(&mut *conn, &before.id, now).await?;
        let reason = format!("the invitation was {}", status.as_str().to_ascii_lowercase());
        if let Some(failed) = onboarding::fail_onboard_of::<DB>(&mut *conn, actor, &before.id, &reason).await? {
            for email in notices.notices(before, &failed).await? {
                outbox::insert::<DB>(&mut *conn, &email).await?;
            }
        }
        Ok(Invitation { status, updated_at: now, ..before.clone() })
    }
}

/// The refusal of a change that needs a pending invitation.
fn not_pending(invitation: &Invitation, now: Timestamp) -> StoreError {
    StoreError::WrongState(format!(
        "the invitation is {}; only a pending invitation can change",
        invitation.status_at(now).as_str().to_ascii_lowercase()
    ))
}

/// Why a secret's invitation cannot be accepted now, if it cannot.
fn refusal(invitation: &Invitation, now: Timestamp) -> Option<SecretRefusal> {
    match invitation.status_at(now) {
        InvitationStatus::Pending => None,
        InvitationStatus::Accepted => Some(SecretRefusal::Used),
        InvitationStatus::Revoked => Some(SecretRefusal::Revoked),
        InvitationStatus::Expired => Some(SecretRefusal::Expired),
    }
}

#[async_trait]
impl<DB> DirectoryStore for SqlStore<DB>
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
    async fn create_local_directory(&self, actor: &Actor, directory: &LocalDirectory) -> Result<()> {
        let mut tx = self.write.begin().await?;
        if Self::mark_app(&mut tx, &directory.tenant_id, &directory.app_id, true).await? != 1 {
            return Err(StoreError::NotFound);
        }
        if let Some(flow) = &directory.onboarding_flow_id {
            onboarding::lock_flow::<DB>(&mut tx, &directory.tenant_id, flow, "onboardingFlowId").await?;
        }
        if directory.is_default {
            Self::clear_default(&mut tx, actor, &directory.app_id).await?;
        }
        let sql =
            format!("INSERT INTO local_directories ({DIRECTORY_COLUMNS}) VALUES ({})", super::placeholders(1, 12));
        bind_directory::<DB>(sqlx::query(&sql), directory).execute(&mut *tx).await.map_err(|error| {
            match error.as_database_error().and_then(|db| db.constraint()) {
                Some("local_directories_default") => StoreError::Conflict { constraint: "local_directories_default" },
                _ => conflict_on("local_directories_pkey")(error),
            }
        })?;
        audit::record::<DB>(&mut tx, actor, directory_change("local_directory.create", None, Some(directory))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_local_directory(&self, tenant_id: &Id, app_id: &Id) -> Result<LocalDirectory> {
        let row = sqlx::query("SELECT * FROM local_directories WHERE tenant_id = $1 AND app_id = $2")
            .bind(tenant_id.to_string())
            .bind(app_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        directory_from_row(&row)
    }

    async fn find_local_directory(&self, app_id: &Id) -> Result<LocalDirectory> {
        let row = sqlx::query("SELECT * FROM local_directories WHERE app_id = $1")
            .bind(app_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        directory_from_row(&row)
    }

    async fn list_local_directories(
        &self,
        tenant_id: &Id,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<LocalDirectory>> {
        let rows = sqlx::query(
            "SELECT * FROM local_directories WHERE tenant_id = $1 AND app_id > $2 ORDER BY app_id LIMIT $3",
        )
        .bind(tenant_id.to_string())
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(directory_from_row).collect()
    }

    async fn default_local_directory(&self, tenant_id: &Id) -> Result<Option<LocalDirectory>> {
        let row = sqlx::query("SELECT * FROM local_directories WHERE tenant_id = $1 AND is_default = 1")
            .bind(tenant_id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(directory_from_row).transpose()
    }

    async fn update_local_directory(
        &self,
        actor: &Actor,
        before: &LocalDirectory,
        after: &LocalDirectory,
    ) -> Result<LocalDirectory> {
        let after = LocalDirectory {
            app_id: before.app_id,
            tenant_id: before.tenant_id,
            created_at: before.created_at,
            updated_at: later_than(before.updated_at),
            ..after.clone()
        };
        let mut tx = self.write.begin().await?;
        // The directory row first, as `create_invitation` locks it first: one order, no deadlock.
        sqlx::query(&format!(
            "SELECT app_id FROM local_directories WHERE tenant_id = $1 AND app_id = $2{}",
            DB::FOR_UPDATE
        ))
        .bind(before.tenant_id.to_string())
        .bind(before.app_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(flow) = after.onboarding_flow_id.filter(|flow| Some(*flow) != before.onboarding_flow_id) {
            onboarding::lock_flow::<DB>(&mut tx, &after.tenant_id, &flow, "onboardingFlowId").await?;
        }
        if after.is_default && !before.is_default {
            Self::clear_default(&mut tx, actor, &after.app_id).await?;
        }
        let assignments: Vec<String> =
            DIRECTORY_COLUMNS.split(", ").enumerate().map(|(i, column)| format!("{column} = ${}", i + 1)).collect();
        let sql = format!(
            "UPDATE local_directories SET {} WHERE tenant_id = $13 AND app_id = $14 AND updated_at = $15",
            assignments.join(", ")
        );
        let result = bind_directory::<DB>(sqlx::query(&sql), &after)
            .bind(before.tenant_id.to_string())
            .bind(before.app_id.to_string())
            .bind(before.updated_at.micros())
            .execute(&mut *tx)
            .await
            .map_err(conflict_on("local_directories_default"))?;
        if DB::rows_affected(&result) != 1 {
            let exists = sqlx::query("SELECT app_id FROM local_directories WHERE tenant_id = $1 AND app_id = $2")
                .bind(before.tenant_id.to_string())
                .bind(before.app_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Conflict { constraint: "local_directories_concurrent_update" },
                None => StoreError::NotFound,
            });
        }
        audit::record::<DB>(&mut tx, actor, directory_change("local_directory.update", Some(before), Some(&after)))
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_local_directory(
        &self,
        actor: &Actor,
        app_id: &Id,
        notices: &dyn crate::FailureNotices,
    ) -> Result<Vec<Invitation>> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT * FROM local_directories WHERE tenant_id = $1 AND app_id = $2{}",
            DB::FOR_UPDATE
        ))
        .bind(actor.tenant_id.to_string())
        .bind(app_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let directory = directory_from_row(&row)?;
        let pending = sqlx::query(&format!(
            "SELECT * FROM invitations WHERE tenant_id = $1 AND directory_app_id = $2 AND status = 'PENDING' \
             ORDER BY id{}",
            DB::FOR_UPDATE
        ))
        .bind(actor.tenant_id.to_string())
        .bind(app_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut revoked = Vec::with_capacity(pending.len());
        for row in &pending {
            let before = invitation_from_row(row)?;
            // One already past its expiry is expired, not revoked: the status it has to every reader stays.
            let status = before.status_at(now);
            let status = if status == InvitationStatus::Pending { InvitationStatus::Revoked } else { status };
            let after = Self::finish_invitation(&mut tx, actor, &before, status, now, notices).await?;
            let action = if status == InvitationStatus::Revoked { "invitation.revoke" } else { "invitation.expire" };
            audit::record::<DB>(&mut tx, actor, invitation_change(action, Some(&before), &after)).await?;
            if status == InvitationStatus::Revoked {
                revoked.push(after);
            }
        }
        sqlx::query("DELETE FROM local_directories WHERE app_id = $1")
            .bind(app_id.to_string())
            .execute(&mut *tx)
            .await?;
        Self::mark_app(&mut tx, &actor.tenant_id, app_id, false).await?;
        audit::record::<DB>(&mut tx, actor, directory_change("local_directory.delete", Some(&directory), None)).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn create_invitation(
        &self,
        actor: &Actor,
        invitation: &Invitation,
        secret_hash: &str,
        email: &OutboxMessage,
    ) -> Result<()> {
        let now = invitation.created_at;
        let tenant = invitation.tenant_id.to_string();
        let mut tx = self.write.begin().await?;
        // Locking the directory orders this after a concurrent deletion of it, which would revoke it.
        sqlx::query(&format!(
            "SELECT app_id FROM local_directories WHERE tenant_id = $1 AND app_id = $2{}",
            DB::FOR_UPDATE
        ))
        .bind(tenant.clone())
        .bind(invitation.directory_app_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let taken = sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND email = $2 AND status <> 'DELETED'")
            .bind(tenant.clone())
            .bind(invitation.email.as_str().to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict { constraint: "users_email_live" });
        }
        if let Some(flow) = &invitation.onboarding_flow_id {
            onboarding::lock_flow::<DB>(&mut tx, &invitation.tenant_id, flow, "onboardingFlowId").await?;
        }
        if let Some(sponsor) = &invitation.sponsor_user_id {
            super::app_owners::check_live_user::<DB>(&mut tx, &invitation.tenant_id, sponsor, "sponsorUserId").await?;
        }
        // A pending invitation for this email that is past its expiry is expired now, so that it does not
        // hold the one-pending-invitation rule against the new one.
        let stale = sqlx::query(&format!(
            "SELECT * FROM invitations WHERE tenant_id = $1 AND directory_app_id = $2 AND email = $3 \
             AND status = 'PENDING' AND expires_at <= $4{}",
            DB::FOR_UPDATE
        ))
        .bind(tenant.clone())
        .bind(invitation.directory_app_id.to_string())
        .bind(invitation.email.as_str().to_string())
        .bind(now.micros())
        .fetch_all(&mut *tx)
        .await?;
        for row in &stale {
            let before = invitation_from_row(row)?;
            let system = Actor::system(invitation.tenant_id);
            // The new invitation replaces it, so its onboard's failure is told to nobody: the new email says more.
            let after =
                Self::finish_invitation(&mut tx, &system, &before, InvitationStatus::Expired, now, &crate::NoEffects)
                    .await?;
            audit::record::<DB>(&mut tx, &system, invitation_change("invitation.expire", Some(&before), &after))
                .await?;
        }
        let sql = format!("INSERT INTO invitations ({INVITATION_COLUMNS}) VALUES ({})", super::placeholders(1, 18));
        sqlx::query(&sql)
            .bind(invitation.id.to_string())
            .bind(tenant)
            .bind(invitation.directory_app_id.to_string())
            .bind(invitation.email.as_str().to_string())
            .bind(invitation.display_name.clone())
            .bind(ids_json(&invitation.initial_role_ids))
            .bind(invitation.sponsor_user_id.map(|id| id.to_string()))
            .bind(invitation.onboarding_flow_id.map(|id| id.to_string()))
            .bind(invitation.purpose.clone())
            .bind(invitation.job_id.clone())
            .bind(invitation.invited_by_user_id.map(|id| id.to_string()))
            .bind(invitation.status.as_str().to_string())
            .bind(invitation.expires_at.micros())
            .bind(invitation.accepted_at.map(Timestamp::micros))
            .bind(invitation.created_user_id.map(|id| id.to_string()))
            .bind(invitation.created_at.micros())
            .bind(invitation.updated_at.micros())
            .bind(secret_hash.to_string())
            .execute(&mut *tx)
            .await
            .map_err(conflict_on("invitations_pending_email"))?;
        outbox::insert::<DB>(&mut tx, email).await?;
        audit::record::<DB>(&mut tx, actor, invitation_change("invitation.create", None, invitation)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_invitation(&self, tenant_id: &Id, id: &Id) -> Result<Invitation> {
        let row = sqlx::query("SELECT * FROM invitations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        invitation_from_row(&row)
    }

    async fn search_invitations(
        &self,
        tenant_id: &Id,
        directory_app_id: Option<&Id>,
        status: Option<InvitationStatus>,
        now: Timestamp,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<Invitation>> {
        // $1 tenant, $2 after, $3 limit, $4 now, $5 directory.
        let mut conditions = vec!["tenant_id = $1", "id > $2"];
        conditions.push(match status {
            None => "$4 = $4",
            Some(InvitationStatus::Pending) => "status = 'PENDING' AND expires_at > $4",
            Some(InvitationStatus::Expired) => "(status = 'EXPIRED' OR (status = 'PENDING' AND expires_at <= $4))",
            Some(InvitationStatus::Accepted) => "status = 'ACCEPTED' AND $4 = $4",
            Some(InvitationStatus::Revoked) => "status = 'REVOKED' AND $4 = $4",
        });
        conditions.push(if directory_app_id.is_some() { "directory_app_id = $5" } else { "$5 = $5" });
        let sql = format!("SELECT * FROM invitations WHERE {} ORDER BY id LIMIT $3", conditions.join(" AND "));
        let rows = sqlx::query(&sql)
            .bind(tenant_id.to_string())
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .bind(now.micros())
            .bind(directory_app_id.map(|id| id.to_string()).unwrap_or_default())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn revoke_invitation(
        &self,
        actor: &Actor,
        directory_app_id: &Id,
        id: &Id,
        notices: &dyn crate::FailureNotices,
    ) -> Result<Invitation> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let before = Self::lock_invitation(&mut tx, &actor.tenant_id, directory_app_id, id).await?;
        if before.status_at(now) != InvitationStatus::Pending {
            return Err(not_pending(&before, now));
        }
        let after = Self::finish_invitation(&mut tx, actor, &before, InvitationStatus::Revoked, now, notices).await?;
        audit::record::<DB>(&mut tx, actor, invitation_change("invitation.revoke", Some(&before), &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn resend_invitation(
        &self,
        actor: &Actor,
        directory_app_id: &Id,
        id: &Id,
        secret_hash: &str,
        expires_at: Timestamp,
        email: &OutboxMessage,
    ) -> Result<Invitation> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let before = Self::lock_invitation(&mut tx, &actor.tenant_id, directory_app_id, id).await?;
        if before.status_at(now) != InvitationStatus::Pending {
            return Err(not_pending(&before, now));
        }
        let result = sqlx::query(
            "UPDATE invitations SET secret_hash = $1, expires_at = $2, updated_at = $3 WHERE id = $4 AND status = 'PENDING'",
        )
        .bind(secret_hash.to_string())
        .bind(expires_at.micros())
        .bind(now.micros())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(not_pending(&before, now));
        }
        outbox::cancel_for::<DB>(&mut tx, id, now).await?;
        outbox::insert::<DB>(&mut tx, email).await?;
        let after = Invitation { expires_at, updated_at: now, ..before.clone() };
        audit::record::<DB>(&mut tx, actor, invitation_change("invitation.resend", Some(&before), &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn invitation_by_secret(&self, secret_hash: &str) -> Result<Invitation> {
        let row = sqlx::query("SELECT * FROM invitations WHERE secret_hash = $1")
            .bind(secret_hash.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::Refused(SecretRefusal::Unknown))?;
        invitation_from_row(&row)
    }

    async fn approval_link_by_secret(&self, secret_hash: &str) -> Result<crate::ApprovalLink> {
        onboarding::approval_link_by_secret::<DB>(&self.read, secret_hash).await
    }

    async fn accept_invitation(
        &self,
        secret_hash: &str,
        display_name: &str,
        password_hash: &str,
        effects: &dyn crate::AcceptEffects,
        session: Option<&Session>,
    ) -> Result<Accepted> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT * FROM invitations WHERE secret_hash = $1{}", DB::FOR_UPDATE))
            .bind(secret_hash.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Refused(SecretRefusal::Unknown))?;
        let before = invitation_from_row(&row)?;
        if let Some(refused) = refusal(&before, now) {
            return Err(StoreError::Refused(refused));
        }
        let display_name = if display_name.trim().is_empty() { before.display_name.as_str() } else { display_name };
        let mut user = before.new_user(display_name, now);
        // An onboard started before acceptance, or the invitation's flow, decides whether the user must
        // finish onboarding before it is enabled. Then the onboard records that it holds the user DISABLED
        // (`holds_user_disabled`): the one fact by which completing it may enable the user.
        let earlier = onboarding::live_onboard_of::<DB>(&mut tx, &before.id).await?;
        let flow = match (&earlier, &before.onboarding_flow_id) {
            // A flow without steps has nothing to take the user through.
            (None, Some(flow_id)) => {
                onboarding::load_flow::<DB>(&mut tx, &before.tenant_id, flow_id).await?.filter(|f| !f.steps.is_empty())
            }
            _ => None,
        };
        if earlier.is_some() || flow.is_some() {
            user.status = UserStatus::Disabled;
        }
        insert_user::<DB>(&mut tx, &user).await?;
        sqlx::query(
            "INSERT INTO user_passwords (user_id, tenant_id, password_hash, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.id.to_string())
        .bind(user.tenant_id.to_string())
        .bind(password_hash.to_string())
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        let result = sqlx::query(
            "UPDATE invitations SET status = 'ACCEPTED', accepted_at = $1, created_user_id = $2, updated_at = $1 \
             WHERE id = $3 AND status = 'PENDING'",
        )
        .bind(now.micros())
        .bind(user.id.to_string())
        .bind(before.id.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(StoreError::Refused(SecretRefusal::Used));
        }
        outbox::cancel_for::<DB>(&mut tx, &before.id, now).await?;
        let after = Invitation {
            status: InvitationStatus::Accepted,
            accepted_at: Some(now),
            created_user_id: Some(user.id),
            updated_at: now,
            ..before.clone()
        };
        // The invitee acts for themself: the audit log names the user the acceptance created.
        let invitee =
            Actor { tenant_id: user.tenant_id, user_id: Some(user.id), credential_id: None, request_id: None };
        let created = Change::of("user.create", "user", user.id, None, Some(user_json(&user)));
        audit::record::<DB>(&mut tx, &invitee, created).await?;
        audit::record::<DB>(&mut tx, &invitee, invitation_change("invitation.accept", Some(&before), &after)).await?;
        let onboard = match (earlier, flow) {
            (Some(earlier), _) => {
                let mut attached = Onboard {
                    user_id: Some(user.id),
                    holds_user_disabled: true,
                    updated_at: later_than(earlier.updated_at),
                    ..earlier.clone()
                };
                attached.email_verified(user.id, now);
                attached.start_if_progressed();
                onboarding::write_onboard::<DB>(&mut tx, &invitee, &earlier, &attached).await?;
                Some(attached)
            }
            (None, Some(flow)) => {
                let mut started = Onboard { holds_user_disabled: true, ..Onboard::new(&after, &flow, now) };
                started.email_verified(user.id, now);
                started.start_if_progressed();
                onboarding::insert_onboard::<DB>(&mut tx, &invitee, &started).await?;
                Some(started)
            }
            (None, None) => None,
        };
        let (mut onboard, mut user) = (onboard, user);
        if let Some(current) = onboard.take() {
            let (changed, more) = effects.effects(&current, &user).await?;
            onboard = Some(match changed {
                Some(changed) => {
                    let changed = Onboard { updated_at: later_than(current.updated_at), ..changed };
                    onboarding::write_onboard::<DB>(&mut tx, &invitee, &current, &changed).await?;
                    changed
                }
                None => current,
            });
            if let Some((before_user, after_user)) = &more.user_change {
                user = Self::update_in(&mut tx, &invitee, before_user, after_user).await?;
            }
            onboarding::write_effects::<DB>(&mut tx, &more, now).await?;
        }
        if let Some(session) = session {
            let session = Session { tenant_id: user.tenant_id, user_id: user.id, ..session.clone() };
            super::account::insert_session::<DB>(&mut tx, &session).await?;
        }
        tx.commit().await?;
        Ok(Accepted { invitation: after, user, onboard })
    }

    async fn expire_invitations(&self, now: Timestamp, limit: u32, notices: &dyn crate::FailureNotices) -> Result<u64> {
        let mut tx = self.write.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM invitations WHERE status = 'PENDING' AND expires_at <= $1 ORDER BY expires_at LIMIT $2{}",
            DB::SKIP_LOCKED
        ))
        .bind(now.micros())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = 0;
        for row in &rows {
            let before = invitation_from_row(row)?;
            // Another node may have expired it between our read and lock; then it is not ours to record.
            let system = Actor::system(before.tenant_id);
            match Self::finish_invitation(&mut tx, &system, &before, InvitationStatus::Expired, now, notices).await {
                Ok(after) => {
                    audit::record::<DB>(
                        &mut tx,
                        &system,
                        invitation_change("invitation.expire", Some(&before), &after),
                    )
                    .await?;
                    expired += 1;
                }
                Err(StoreError::WrongState(_)) => {}
                Err(error) => return Err(error),
            }
        }
        tx.commit().await?;
        Ok(expired)
    }
}
