//! The SQL implementation of the store, written once and run on both backends.
//!
//! `SqlStore<DB>` is generic over the sqlx driver, and the SQL text is shared: both backends accept `$N`
//! placeholders, `ON CONFLICT`, `RETURNING` and partial indexes, and every column is TEXT or BIGINT. What
//! differs by backend lives in [`Dialect`]. Each area of the store (tenants, users, auth, audit) has its own
//! file holding its trait implementation.
//!
//! SQLite runs with one writer connection (WAL, `synchronous=FULL`, foreign keys on, a busy timeout) and a
//! pool of read-only connections; PostgreSQL uses one pool for both. Every write goes through
//! [`writer::Writer`]: `self.write.begin()`, the writes on the `Write` it returns, `commit()`; on SQLite
//! concurrent requests' writes are committed together (group commit, see `writer.rs`).

mod account;
mod app_owners;
mod apps;
mod audit;
mod auth;
mod branding;
mod bulk;
mod directory;
mod gauges;
mod groups;
mod onboarding;
mod outbox;
mod overview;
mod passwords;
mod rows;
mod scim;
mod settings;
mod tenants;
mod user_sql;
mod users;
mod webhooks;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, Pool, Postgres, Sqlite};

use crate::{Result, Store, StoreError};

/// The two storage backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The backend a database URL selects: `postgres://` or `postgresql://` for PostgreSQL, `sqlite:` for
    /// SQLite, anything else refused.
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::Config(
                "unsupported database URL: use sqlite:PATH (the embedded default) or postgres://USER@HOST/DB".into(),
            ))
        }
    }
}

/// What differs between the backends, beyond what sqlx hides.
pub trait Dialect: Database {
    const BACKEND: Backend;
    /// Appended to a SELECT that must lock the rows it reads until the transaction ends. SQLite has one
    /// writer, so its write transactions are serial already and it needs (and accepts) no such clause.
    const FOR_UPDATE: &'static str;
    /// As [`Dialect::FOR_UPDATE`], but without excluding the `KEY SHARE` lock a foreign key takes on the
    /// row it points at (PostgreSQL's `FOR NO KEY UPDATE`). Empty on SQLite.
    const FOR_NO_KEY_UPDATE: &'static str;
    /// Appended to the SELECT of a job claim: lock the rows picked, skipping rows another transaction has
    /// locked, so that several nodes never claim the same job. Empty on SQLite (one writer).
    const SKIP_LOCKED: &'static str;
    /// Appended to a SELECT that keeps the rows it reads from being changed or deleted until the
    /// transaction ends, without excluding other readers that do the same. Empty on SQLite (one writer).
    const FOR_SHARE: &'static str;
    /// A query whose one row and column is the database's size in bytes.
    const SIZE_QUERY: &'static str;
    /// The placeholder of the `n`th parameter (from 1) in bulk statements. sqlx's SQLite driver looks up
    /// the name of every parameter it binds, and SQLite finds a named parameter (`$n`) by a linear scan, so
    /// a statement with thousands of `$n` costs quadratic time; anonymous `?` parameters have no name to
    /// scan. PostgreSQL has only `$n`.
    fn param(n: usize) -> String;
    /// How many rows a statement inserted, updated or deleted.
    fn rows_affected(result: &Self::QueryResult) -> u64;
    /// The aggregate that joins strings with a separator, in an `ORDER BY` given inside its parentheses.
    const STRING_AGG: &'static str;
    /// Users per statement of [`Dialect::insert_users`].
    const IMPORT_ROWS: usize;
    /// Inserts new users (an import's), each stamped `change_seq`, in statements of [`Dialect::IMPORT_ROWS`]
    /// rows that skip a row breaking a unique index (an email a live user has): the count inserted by each
    /// statement, in order. See `bulk.rs`.
    fn insert_users<'a>(
        conn: &'a mut Self::Connection,
        users: &'a [onramp_domain::user::User],
        change_seq: i64,
    ) -> impl Future<Output = Result<Vec<u64>>> + Send + 'a;
    /// Inserts the grant, manager and directory rows of new users (who have none yet), in bulk.
    fn insert_relations<'a>(
        conn: &'a mut Self::Connection,
        relations: &'a bulk::Relations,
    ) -> impl Future<Output = Result<()>> + Send + 'a;
}

impl Dialect for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
    const FOR_UPDATE: &'static str = "";
    const FOR_NO_KEY_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const FOR_SHARE: &'static str = "";
    const SIZE_QUERY: &'static str =
        "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()";
    const STRING_AGG: &'static str = "group_concat";
    fn param(_: usize) -> String {
        "?".into()
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    const IMPORT_ROWS: usize = bulk::SQLITE_IMPORT_ROWS;
    fn insert_users<'a>(
        conn: &'a mut Self::Connection,
        users: &'a [onramp_domain::user::User],
        change_seq: i64,
    ) -> impl Future<Output = Result<Vec<u64>>> + Send + 'a {
        bulk::sqlite_users(conn, users, change_seq)
    }
    fn insert_relations<'a>(
        conn: &'a mut Self::Connection,
        relations: &'a bulk::Relations,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        bulk::sqlite_relations(conn, relations)
    }
}

impl Dialect for Postgres {
    const BACKEND: Backend = Backend::Postgres;
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_NO_KEY_UPDATE: &'static str = " FOR NO KEY UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const FOR_SHARE: &'static str = " FOR SHARE";
    const SIZE_QUERY: &'static str = "SELECT pg_database_size(current_database()) AS bytes";
    const STRING_AGG: &'static str = "string_agg";
    fn param(n: usize) -> String {
        format!("${n}")
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    const IMPORT_ROWS: usize = bulk::POSTGRES_IMPORT_ROWS;
    fn insert_users<'a>(
        conn: &'a mut Self::Connection,
        users: &'a [onramp_domain::user::User],
        change_seq: i64,
    ) -> impl Future<Output = Result<Vec<u64>>> + Send + 'a {
        bulk::postgres_users(conn, users, change_seq)
    }
    fn insert_relations<'a>(
        conn: &'a mut Self::Connection,
        relations: &'a bulk::Relations,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        bulk::postgres_relations(conn, relations)
    }
}

/// The store on one SQL database. Reads go to `read`, every write to `write` ([`writer::Writer`]: a
/// transaction each on PostgreSQL, whose pool is also `read`; group commit on SQLite's one writer).
pub struct SqlStore<DB: Database> {
    read: Pool<DB>,
    write: writer::Writer<DB>,
}

/// Opens the database a URL names, applies pending migrations, and returns the store.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    match Backend::of_url(url)? {
        Backend::Postgres => {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
            crate::migrations::migrator(Backend::Postgres).await?.run(&pool).await?;
            onboarding::fill_turn_since(&pool).await?;
            Ok(Arc::new(SqlStore { read: pool.clone(), write: writer::Writer::each(pool) }))
        }
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // The readers' sort trees and temporary tables stay in memory.
                .pragma("temp_store", "MEMORY");
            // One writer: SQLite serialises writers anyway, and a single connection means a write transaction
            // never meets SQLITE_BUSY from another of ours.
            // The writer keeps a 64 MiB page cache: index inserts land in random pages (emails, ids from
            // several processes), and a cache that holds the hot part of the indexes keeps imports fast.
            // It checkpoints the WAL every 16384 pages (64 MiB) rather than every 1000: a bulk write dirties
            // the same index pages commit after commit, and a later checkpoint copies each of them once.
            // Its temp_store is FILE, not MEMORY: with MEMORY, SQLite keeps a statement journal (a multi-row
            // insert's copy of every page it changes) in 1 KiB pieces, each malloc'd and freed, about a sixth
            // of an import's writer thread; with FILE it keeps it in one piece of up to
            // SQLITE_STMTJRNL_SPILL bytes (16 MiB, set for the bundled SQLite in .cargo/config.toml), and
            // only a larger one goes to a temporary file.
            let writer_options = options
                .clone()
                .pragma("temp_store", "FILE")
                .pragma("cache_size", "-65536")
                .pragma("wal_autocheckpoint", "16384");
            let write = SqlitePoolOptions::new().max_connections(1).connect_with(writer_options).await?;
            crate::migrations::migrator(Backend::Sqlite).await?.run(&write).await?;
            onboarding::fill_turn_since(&write).await?;
            let read = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
            Ok(Arc::new(SqlStore { read, write: writer::Writer::group(write) }))
        }
    }
}

/// Maps a unique violation to [`StoreError::Conflict`] naming the rule the caller knows the statement can
/// break; any other error passes through.
fn conflict_on(constraint: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict { constraint },
        _ => StoreError::Database(error),
    }
}

/// A strictly later time than `before`: the `updated_at` of an optimistic update, so that the next one sees
/// the change even within a microsecond.
fn later_than(before: onramp_domain::Timestamp) -> onramp_domain::Timestamp {
    let now = onramp_domain::Timestamp::now().micros();
    onramp_domain::Timestamp::from_micros(now.max(before.micros() + 1))
}

/// `$first, $first+1, ...` for `count` parameters, for IN lists and multi-row inserts.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// The parameters of a statement built from the parts a request asks for (filters): each pushed value
/// answers its placeholder, numbered in the order pushed, and [`Params::bind`] binds them in that order.
#[derive(Default)]
pub(super) struct Params(Vec<Param>);

pub(super) enum Param {
    Text(String),
    Int(i64),
}

impl Params {
    pub fn text(&mut self, value: impl ToString) -> String {
        self.0.push(Param::Text(value.to_string()));
        format!("${}", self.0.len())
    }

    pub fn int(&mut self, value: i64) -> String {
        self.0.push(Param::Int(value));
        format!("${}", self.0.len())
    }

    pub fn bind<'q, DB>(
        self,
        query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    ) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
    where
        DB: Database,
        String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        self.0.into_iter().fold(query, |query, param| match param {
            Param::Text(text) => query.bind(text),
            Param::Int(int) => query.bind(int),
        })
    }
}

/// The JSON text of a list of ids, as stored in `role_ids` columns.
fn ids_json(ids: &[onramp_domain::Id]) -> String {
    serde_json::to_string(ids).expect("a list of ids always serialises")
}

#[cfg(test)]
mod plans;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_selects_backend() {
        assert_eq!(Backend::of_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of_url("sqlite:./data/onramp.db").unwrap(), Backend::Sqlite);
        let refused = Backend::of_url("mysql://u@h/db").unwrap_err().to_string();
        assert!(refused.contains("unsupported database URL"), "{refused}");
    }
}
