//! Local users' passwords and their runs of wrong guesses: the `PasswordStore` implementation.
//!
//! A guess is counted before its password is checked, by a compare-and-set on the count that was read
//! (`ON CONFLICT ... DO UPDATE ... WHERE failures = $seen`), so that of concurrent guesses at one account
//! each is counted once and in turn: the limit built on the count cannot be outrun by sending guesses at once.
//! Each count is one statement, committed by itself, apart from any request's other writes.

use async_trait::async_trait;
use onramp_domain::{Id, Timestamp};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::rows::RowExt;
use super::{Dialect, SqlStore};
use crate::{PasswordStore, Result, StoreError, StoredPassword};

#[async_trait]
impl<DB> PasswordStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Decode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    async fn password_of(&self, tenant_id: &Id, user_id: &Id) -> Result<StoredPassword> {
        let row = sqlx::query(
            "SELECT p.password_hash, f.failures, f.last_failure_at FROM user_passwords p \
             LEFT JOIN password_failures f ON f.user_id = p.user_id \
             WHERE p.tenant_id = $1 AND p.user_id = $2",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        let failures = row.opt_int("failures")?.unwrap_or(0);
        Ok(StoredPassword {
            hash: row.text("password_hash")?,
            failures: u32::try_from(failures)
                .map_err(|_| StoreError::Corrupt(format!("password_failures.failures is {failures}")))?,
            last_failure_at: row.opt_time("last_failure_at")?,
        })
    }

    async fn count_password_guess(&self, tenant_id: &Id, user_id: &Id, seen: u32, at: Timestamp) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let counted = sqlx::query(
            "INSERT INTO password_failures (user_id, tenant_id, failures, last_failure_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (user_id) DO UPDATE SET failures = password_failures.failures + 1, \
             last_failure_at = excluded.last_failure_at \
             WHERE password_failures.tenant_id = $2 AND password_failures.failures = $4 \
             RETURNING failures",
        )
        .bind(user_id.to_string())
        .bind(tenant_id.to_string())
        .bind(at.micros())
        .bind(i64::from(seen))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counted.is_some())
    }

    async fn clear_password_failures(&self, tenant_id: &Id, user_id: &Id) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM password_failures WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
