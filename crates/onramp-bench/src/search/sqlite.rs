//! The SQLite alternative of `onramp-bench search`: the users in a table with an FTS5 trigram index of their
//! lowercased, unaccented names and emails and b-tree indexes on the filter columns; each query a `MATCH` of
//! the quoted phrase with the filters, `LIMIT 10`.

use std::path::Path;
use std::time::Instant;

use onramp_domain::BuiltinRole;
use onramp_domain::user::User;
use onramp_search::normalize;
use sqlx::{ConnectOptions, Connection};

use super::figures::{Alternative, mib};
use super::queries::{FILTERS, Search, Sets, TYPO};
use super::sql::{Bind, Dialect, TextMode, Timer, recall_sql, recall_text};
use crate::Result;

/// Loads the users into a new database at `path` and runs every query set on it.
pub(super) async fn sqlite_alternative(users: &[User], sets: &Sets, path: &Path) -> Result<Alternative> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "MEMORY")
        // Slow statements are what this measures; sqlx's warnings about them would only be noise.
        .disable_statement_logging();
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let started = Instant::now();
    for statement in [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, department TEXT NOT NULL, job_title TEXT NOT NULL, \
         status TEXT NOT NULL, user_type TEXT NOT NULL, origin TEXT NOT NULL)",
        "CREATE TABLE user_roles (role TEXT NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (role, user_id)) \
         WITHOUT ROWID",
        "CREATE VIRTUAL TABLE fts USING fts5(display_name, emails, tokenize = 'trigram')",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    let mut tx = conn.begin().await?;
    const ROWS: usize = 500;
    for (chunk_index, chunk) in users.chunks(ROWS).enumerate() {
        let base = chunk_index * ROWS;
        let sql = format!("INSERT INTO users VALUES {}", vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", "));
        let mut query = sqlx::query(&sql);
        for (offset, user) in chunk.iter().enumerate() {
            query = query
                .bind((base + offset) as i64)
                .bind(user.department.to_lowercase())
                .bind(user.job_title.to_lowercase())
                .bind(user.status.as_str())
                .bind(user.user_type.as_str())
                .bind(user.origin.as_str());
        }
        query.execute(&mut *tx).await?;
        let sql = format!(
            "INSERT INTO fts (rowid, display_name, emails) VALUES {}",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (offset, user) in chunk.iter().enumerate() {
            let emails: Vec<&str> = user.emails.iter().map(|e| e.as_str()).collect();
            query = query
                .bind((base + offset) as i64)
                .bind(normalize(&user.display_name))
                .bind(normalize(&emails.join(" ")));
        }
        query.execute(&mut *tx).await?;
        let roles: Vec<(String, i64)> = chunk
            .iter()
            .enumerate()
            .flat_map(|(offset, user)| {
                user.role_ids
                    .iter()
                    .filter_map(BuiltinRole::from_id)
                    .map(move |r| (r.name().to_string(), (base + offset) as i64))
            })
            .collect();
        if !roles.is_empty() {
            let sql = format!("INSERT INTO user_roles VALUES {}", vec!["(?, ?)"; roles.len()].join(", "));
            let query = roles.into_iter().fold(sqlx::query(&sql), |q, (role, id)| q.bind(role).bind(id));
            query.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    for statement in [
        "CREATE INDEX users_department ON users (department)",
        "CREATE INDEX users_job_title ON users (job_title)",
        "CREATE INDEX users_status ON users (status)",
        "CREATE INDEX users_user_type ON users (user_type)",
        "CREATE INDEX users_origin ON users (origin)",
        "INSERT INTO fts (fts) VALUES ('optimize')",
        "ANALYZE",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    let load = started.elapsed();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let name = "SQLite FTS5 trigram";
    println!(
        "\n{name}: {} users loaded and indexed in {:.1} s; database file {:.1} MiB",
        users.len(),
        load.as_secs_f64(),
        mib(size as f64)
    );

    let mut rows = Vec::new();
    for (s, (set_name, set)) in sets.sets.iter().enumerate() {
        let statements: Vec<(String, Vec<Bind>)> =
            set.iter().map(|q| Dialect::Sqlite.sql(q, TextMode::Substring)).collect();
        let mut timer = Timer::new();
        for (i, timed) in Timer::order(set.len()) {
            let (sql, binds) = &statements[i];
            let query = binds.iter().fold(sqlx::query(sql), |q, bind| match bind {
                Bind::Text(text) => q.bind(text.as_str()),
                Bind::Texts(_) => unreachable!("SQLite lists are bound value by value"),
            });
            let started = Instant::now();
            query.fetch_all(&mut conn).await?;
            if timed && !timer.record(started) {
                break;
            }
        }
        let latencies = timer.latencies();
        let recall = if s == TYPO { Some(sqlite_recall(&mut conn, set).await?) } else { None };
        let how = if s == FILTERS { "ORDER BY id" } else { "MATCH" };
        rows.push((format!("{set_name} ({how})"), latencies, recall));
    }
    conn.close().await?;
    // A restart: the database opened again, to the first answer (a typo query, as for tantivy).
    let started = Instant::now();
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    if let Some(first) = sets.sets[TYPO].1.first() {
        let (sql, binds) = Dialect::Sqlite.sql(first, TextMode::Substring);
        let query = binds.iter().fold(sqlx::query(&sql), |q, bind| match bind {
            Bind::Text(text) => q.bind(text.as_str()),
            Bind::Texts(_) => unreachable!("SQLite lists are bound value by value"),
        });
        query.fetch_all(&mut conn).await?;
    }
    let restart = started.elapsed();
    conn.close().await?;
    Ok(Alternative {
        name: "SQLite FTS5 trigram (MATCH on the quoted phrase, LIMIT 10)",
        rows,
        build: Some(load),
        disk_bytes: Some(size),
        restart: Some(restart),
    })
}

async fn sqlite_recall(conn: &mut sqlx::SqliteConnection, set: &[Search]) -> Result<(usize, usize)> {
    let mut found = 0;
    for search in set {
        let row = sqlx::query(recall_sql(Dialect::Sqlite, TextMode::Substring))
            .bind(search.intended.unwrap_or(0) as i64)
            .bind(recall_text(Dialect::Sqlite, TextMode::Substring, search.text.as_deref().unwrap_or("")))
            .fetch_optional(&mut *conn)
            .await?;
        found += usize::from(row.is_some());
    }
    Ok((found, set.len()))
}
