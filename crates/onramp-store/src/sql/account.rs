//! A local user's own account: the `AccountStore` implementation (sessions, password reset links, TOTP and
//! recovery codes).
//!
//! State changes are conditional updates: a reset link is used by `UPDATE ... WHERE used_at IS NULL`, a
//! TOTP step by `WHERE last_step < $step`, a recovery code by `WHERE used_at IS NULL`, a wrong code is
//! counted by a compare-and-set on the count read. Session reads go to the write pool: a session created
//! by the request before must be found by the next one at once, and SQLite's readers may lag a commit.

use async_trait::async_trait;
use onramp_domain::user::User;
use onramp_domain::{Id, Secret, Timestamp};
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit::{self, Change};
use super::rows::RowExt;
use super::user_sql::{listed_user, select_users};
use super::{Dialect, SqlStore, outbox};
use crate::{
    AccountStore, Actor, Onboard, OnboardingStore, OutboxMessage, PasswordReset, Result, SecretRefusal, Session,
    SessionStage, StoreError, Totp,
};

/// The live users with a password and this email, in any tenant (sign-in and the forgot-password page, both
/// open to anyone). The email's index leads with the tenant, so the tenants are named (`IN`), one lookup
/// each, and `email <> ''` is the index's own condition, which SQLite must see written to use it (callers
/// never ask for ''). Without these, SQLite, which keeps no statistics here, walked every user in id order
/// for each attempt (a test reads its plan).
pub(super) const LOCAL_USERS_BY_EMAIL: &str = "WHERE tenant_id IN (SELECT id FROM tenants) AND email = $1 \
     AND email <> '' AND status <> 'DELETED' \
     AND EXISTS (SELECT 1 FROM user_passwords p WHERE p.user_id = users.id) ORDER BY id LIMIT 10";

fn session_from_row(row: &impl RowExt) -> Result<Session> {
    let stage = row.text("stage")?;
    Ok(Session {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        token_hash: row.text("token_hash")?,
        stage: SessionStage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("sessions.stage has an unknown value {stage:?}")))?,
        user_agent: row.text("user_agent")?,
        client_addr: row.text("client_addr")?,
        created_at: row.time("created_at")?,
        last_seen_at: row.time("last_seen_at")?,
        expires_at: row.time("expires_at")?,
    })
}

fn reset_from_row(row: &impl RowExt) -> Result<PasswordReset> {
    Ok(PasswordReset {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        secret_hash: row.text("secret_hash")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        used_at: row.opt_time("used_at")?,
    })
}

fn totp_from_row(row: &impl RowExt) -> Result<Totp> {
    let failures = row.int("failures")?;
    Ok(Totp {
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        secret: Secret::new(row.text("secret")?),
        created_at: row.time("created_at")?,
        confirmed_at: row.opt_time("confirmed_at")?,
        last_step: row.int("last_step")?,
        failures: u32::try_from(failures)
            .map_err(|_| StoreError::Corrupt(format!("user_totp.failures is {failures}")))?,
        last_failure_at: row.opt_time("last_failure_at")?,
    })
}

/// Why a reset link cannot be used at `now`, if it cannot.
fn reset_refusal(reset: &PasswordReset, now: Timestamp) -> Option<SecretRefusal> {
    if reset.used_at.is_some() {
        Some(SecretRefusal::Used)
    } else if reset.expires_at <= now {
        Some(SecretRefusal::Expired)
    } else {
        None
    }
}

#[async_trait]
impl<DB> AccountStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    async fn local_users_by_email(&self, email: &str) -> Result<Vec<User>> {
        let sql = format!("{} {LOCAL_USERS_BY_EMAIL}", select_users::<DB>());
        let rows = sqlx::query(&sql).bind(email.to_ascii_lowercase()).fetch_all(&self.read).await?;
        rows.iter().map(listed_user).collect()
    }

    async fn live_onboard_of_user(&self, tenant_id: &Id, user_id: &Id) -> Result<Option<Onboard>> {
        let row = sqlx::query(
            "SELECT id FROM onboards WHERE tenant_id = $1 AND user_id = $2 AND status IN ('created', 'in_progress') \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(row) => Ok(Some(self.get_onboard(tenant_id, &row.id("id")?).await?)),
            None => Ok(None),
        }
    }

    async fn create_session(&self, session: &Session, replaces: Option<&str>) -> Result<()> {
        let mut tx = self.write.begin().await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(old.to_string()).execute(&mut *tx).await?;
        }
        insert_session::<DB>(&mut tx, session).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_by_hash(&self, token_hash: &str) -> Result<Session> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        session_from_row(&row)
    }

    async fn touch_session(&self, id: &Id, at: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
            .bind(at.micros())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_session(&self, tenant_id: &Id, user_id: &Id, id: &Id) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
            .bind(tenant_id.to_string())
            .bind(user_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn delete_sessions_of(&self, actor: &Actor, user_id: &Id, except: Option<&Id>) -> Result<u64> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND id <> $3")
            .bind(actor.tenant_id.to_string())
            .bind(user_id.to_string())
            .bind(except.map(Id::to_string).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        let count = DB::rows_affected(&result);
        let change = Change::of("user.sign_out_everywhere", "user", user_id, None, Some(json!({"sessions": count})));
        audit::record::<DB>(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(count)
    }

    async fn sessions_of(&self, tenant_id: &Id, user_id: &Id) -> Result<Vec<Session>> {
        let rows = sqlx::query("SELECT * FROM sessions WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC")
            .bind(tenant_id.to_string())
            .bind(user_id.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn change_password(&self, actor: &Actor, user_id: &Id, password_hash: &str, keep: &Id) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        set_password::<DB>(&mut tx, &actor.tenant_id, user_id, password_hash, now).await?;
        sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND id <> $3")
            .bind(actor.tenant_id.to_string())
            .bind(user_id.to_string())
            .bind(keep.to_string())
            .execute(&mut *tx)
            .await?;
        audit::record::<DB>(&mut tx, actor, Change::of("user.password_change", "user", user_id, None, None)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_password_reset(
        &self,
        reset: &PasswordReset,
        email: Option<&OutboxMessage>,
        made_by: Option<&Actor>,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO password_resets (id, tenant_id, user_id, secret_hash, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(reset.id.to_string())
        .bind(reset.tenant_id.to_string())
        .bind(reset.user_id.to_string())
        .bind(reset.secret_hash.clone())
        .bind(reset.created_at.micros())
        .bind(reset.expires_at.micros())
        .execute(&mut *tx)
        .await?;
        if let Some(email) = email {
            outbox::insert::<DB>(&mut tx, email).await?;
        }
        if let Some(actor) = made_by {
            let after = json!({"resetId": reset.id, "emailed": email.is_some()});
            let change = Change::of("user.password_reset_link", "user", reset.user_id, None, Some(after));
            audit::record::<DB>(&mut tx, actor, change).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn password_reset_by_secret(&self, secret_hash: &str, now: Timestamp) -> Result<PasswordReset> {
        let row = sqlx::query("SELECT * FROM password_resets WHERE secret_hash = $1")
            .bind(secret_hash.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::Refused(SecretRefusal::Unknown))?;
        let reset = reset_from_row(&row)?;
        match reset_refusal(&reset, now) {
            Some(refusal) => Err(StoreError::Refused(refusal)),
            None => Ok(reset),
        }
    }

    async fn use_password_reset(
        &self,
        secret_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<PasswordReset> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT * FROM password_resets WHERE secret_hash = $1{}", DB::FOR_UPDATE))
            .bind(secret_hash.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Refused(SecretRefusal::Unknown))?;
        let reset = reset_from_row(&row)?;
        if let Some(refusal) = reset_refusal(&reset, now) {
            return Err(StoreError::Refused(refusal));
        }
        let result = sqlx::query("UPDATE password_resets SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now.micros())
            .bind(reset.id.to_string())
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(StoreError::Refused(SecretRefusal::Used));
        }
        set_password::<DB>(&mut tx, &reset.tenant_id, &reset.user_id, password_hash, now).await?;
        sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
            .bind(reset.tenant_id.to_string())
            .bind(reset.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        outbox::cancel_for::<DB>(&mut tx, &reset.id, now).await?;
        let actor =
            Actor { tenant_id: reset.tenant_id, user_id: Some(reset.user_id), credential_id: None, request_id: None };
        let change = Change::of("user.password_reset", "user", reset.user_id, None, Some(json!({"resetId": reset.id})));
        audit::record::<DB>(&mut tx, &actor, change).await?;
        tx.commit().await?;
        Ok(PasswordReset { used_at: Some(now), ..reset })
    }

    async fn totp_of(&self, tenant_id: &Id, user_id: &Id) -> Result<Totp> {
        let row = sqlx::query("SELECT * FROM user_totp WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        totp_from_row(&row)
    }

    async fn begin_totp(&self, totp: &Totp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "INSERT INTO user_totp (user_id, tenant_id, secret, created_at, confirmed_at, last_step, failures, \
             last_failure_at) VALUES ($1, $2, $3, $4, NULL, 0, 0, NULL) \
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, \
             last_step = 0, failures = 0, last_failure_at = NULL \
             WHERE user_totp.confirmed_at IS NULL AND user_totp.tenant_id = excluded.tenant_id",
        )
        .bind(totp.user_id.to_string())
        .bind(totp.tenant_id.to_string())
        .bind(totp.secret.expose().clone())
        .bind(totp.created_at.micros())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if DB::rows_affected(&result) == 0 {
            return Err(StoreError::WrongState("two-step sign-in is on already".into()));
        }
        Ok(())
    }

    async fn confirm_totp(&self, actor: &Actor, user_id: &Id, step: i64, code_hashes: &[String]) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "UPDATE user_totp SET confirmed_at = $1, last_step = $2, failures = 0, last_failure_at = NULL \
             WHERE tenant_id = $3 AND user_id = $4 AND confirmed_at IS NULL",
        )
        .bind(now.micros())
        .bind(step)
        .bind(actor.tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) != 1 {
            return Err(StoreError::WrongState("there is no two-step sign-in being set up".into()));
        }
        sqlx::query("DELETE FROM totp_recovery_codes WHERE tenant_id = $1 AND user_id = $2")
            .bind(actor.tenant_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query(
                "INSERT INTO totp_recovery_codes (code_hash, tenant_id, user_id, used_at) VALUES ($1, $2, $3, NULL)",
            )
            .bind(hash.clone())
            .bind(actor.tenant_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        audit::record::<DB>(&mut tx, actor, Change::of("user.totp_enable", "user", user_id, None, None)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_totp_step(&self, tenant_id: &Id, user_id: &Id, step: i64) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "UPDATE user_totp SET last_step = $1, failures = 0, last_failure_at = NULL \
             WHERE tenant_id = $2 AND user_id = $3 AND confirmed_at IS NOT NULL AND last_step < $1",
        )
        .bind(step)
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    async fn count_totp_guess(&self, tenant_id: &Id, user_id: &Id, seen: u32, at: Timestamp) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "UPDATE user_totp SET failures = failures + 1, last_failure_at = $1 \
             WHERE tenant_id = $2 AND user_id = $3 AND failures = $4",
        )
        .bind(at.micros())
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .bind(i64::from(seen))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    async fn use_recovery_code(&self, tenant_id: &Id, user_id: &Id, code_hash: &str, at: Timestamp) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "UPDATE totp_recovery_codes SET used_at = $1 \
             WHERE code_hash = $2 AND tenant_id = $3 AND user_id = $4 AND used_at IS NULL",
        )
        .bind(at.micros())
        .bind(code_hash.to_string())
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        let used = DB::rows_affected(&result) == 1;
        if used {
            sqlx::query(
                "UPDATE user_totp SET failures = 0, last_failure_at = NULL WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(used)
    }

    async fn recovery_codes_left(&self, tenant_id: &Id, user_id: &Id) -> Result<u32> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM totp_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .fetch_one(&self.read)
        .await?;
        let count = row.int("n")?;
        u32::try_from(count).map_err(|_| StoreError::Corrupt(format!("recovery code count {count}")))
    }

    async fn remove_totp(&self, actor: &Actor, user_id: &Id) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for table in ["totp_recovery_codes", "user_totp"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2"))
                .bind(actor.tenant_id.to_string())
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        audit::record::<DB>(&mut tx, actor, Change::of("user.totp_disable", "user", user_id, None, None)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Sets a local user's password hash (inserting the row of a user who had none: an admin setting their
/// first password with a sign-in link) and forgets their wrong guesses.
async fn set_password<DB>(
    conn: &mut DB::Connection,
    tenant_id: &Id,
    user_id: &Id,
    password_hash: &str,
    now: Timestamp,
) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let result = sqlx::query(
        "INSERT INTO user_passwords (user_id, tenant_id, password_hash, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at \
         WHERE user_passwords.tenant_id = excluded.tenant_id",
    )
    .bind(user_id.to_string())
    .bind(tenant_id.to_string())
    .bind(password_hash.to_string())
    .bind(now.micros())
    .execute(&mut *conn)
    .await?;
    if DB::rows_affected(&result) != 1 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM password_failures WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Inserts a session on the given connection (a sign-in's, or an acceptance's transaction).
pub(super) async fn insert_session<DB>(conn: &mut DB::Connection, session: &Session) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO sessions (id, tenant_id, user_id, token_hash, stage, user_agent, client_addr, created_at, \
         last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(session.id.to_string())
    .bind(session.tenant_id.to_string())
    .bind(session.user_id.to_string())
    .bind(session.token_hash.clone())
    .bind(session.stage.as_str().to_string())
    .bind(session.user_agent.clone())
    .bind(session.client_addr.clone())
    .bind(session.created_at.micros())
    .bind(session.last_seen_at.micros())
    .bind(session.expires_at.micros())
    .execute(conn)
    .await?;
    Ok(())
}
