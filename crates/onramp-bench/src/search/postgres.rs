//! The PostgreSQL alternative of `onramp-bench search`: the users in a table with a pg_trgm GIN index on their
//! lowercased, unaccented names and emails and b-tree indexes on the filter columns; substrings asked with
//! `ILIKE`, typos with trigram similarity and word similarity, `LIMIT 10`.

use std::time::Instant;

use onramp_domain::BuiltinRole;
use onramp_domain::user::User;
use sqlx::{ConnectOptions, Connection};

use super::figures::{Alternative, mib};
use super::queries::{COMBINED, FILTERS, SUBSTRING, Sets, TYPO};
use super::sql::{Bind, Dialect, TextMode, Timer, recall_sql, recall_text, search_text};
use crate::Result;

/// Loads the users into the empty database at `url` and runs every query set on it.
pub(super) async fn postgres_alternative(url: &str, users: &[User], sets: &Sets) -> Result<Alternative> {
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    let mut conn = options.disable_statement_logging().connect().await?;
    let started = Instant::now();
    for statement in [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE users (id integer PRIMARY KEY, t text NOT NULL, department text NOT NULL, \
         job_title text NOT NULL, status text NOT NULL, user_type text NOT NULL, origin text NOT NULL)",
        "CREATE TABLE user_roles (role text NOT NULL, user_id integer NOT NULL, PRIMARY KEY (role, user_id))",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    const ROWS: usize = 10_000;
    for (chunk_index, chunk) in users.chunks(ROWS).enumerate() {
        let base = chunk_index * ROWS;
        let ids: Vec<i32> = (0..chunk.len()).map(|offset| (base + offset) as i32).collect();
        let column = |f: &dyn Fn(&User) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO users SELECT * FROM UNNEST($1::integer[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[])",
        )
        .bind(&ids)
        .bind(column(&search_text))
        .bind(column(&|u| u.department.to_lowercase()))
        .bind(column(&|u| u.job_title.to_lowercase()))
        .bind(column(&|u| u.status.as_str().to_string()))
        .bind(column(&|u| u.user_type.as_str().to_string()))
        .bind(column(&|u| u.origin.as_str().to_string()))
        .execute(&mut conn)
        .await?;
        let (roles, role_users): (Vec<String>, Vec<i32>) = chunk
            .iter()
            .enumerate()
            .flat_map(|(offset, user)| {
                user.role_ids
                    .iter()
                    .filter_map(BuiltinRole::from_id)
                    .map(move |r| (r.name().to_string(), (base + offset) as i32))
            })
            .unzip();
        sqlx::query("INSERT INTO user_roles SELECT * FROM UNNEST($1::text[], $2::integer[])")
            .bind(&roles)
            .bind(&role_users)
            .execute(&mut conn)
            .await?;
    }
    let loaded = started.elapsed();
    for statement in [
        "CREATE INDEX users_t ON users USING gin (t gin_trgm_ops)",
        "CREATE INDEX users_department ON users (department)",
        "CREATE INDEX users_job_title ON users (job_title)",
        "CREATE INDEX users_status ON users (status)",
        "CREATE INDEX users_user_type ON users (user_type)",
        "CREATE INDEX users_origin ON users (origin)",
        "VACUUM ANALYZE users",
        "VACUUM ANALYZE user_roles",
        // Plan every execution with its own values, as the planner would for literal SQL: a generic plan
        // cannot see that one pattern is rare and another common.
        "SET plan_cache_mode = force_custom_plan",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    let indexed = started.elapsed() - loaded;
    let (index_bytes, total_bytes): (i64, i64) = sqlx::query_as(
        "SELECT pg_relation_size('users_t'), pg_total_relation_size('users') + pg_total_relation_size('user_roles')",
    )
    .fetch_one(&mut conn)
    .await?;
    let (version,): (String,) = sqlx::query_as("SHOW server_version").fetch_one(&mut conn).await?;
    println!(
        "\nPostgreSQL {version} pg_trgm: {} users loaded in {:.1} s, indexed (GIN gin_trgm_ops + filter b-trees) in {:.1} s; \
         trigram index {:.1} MiB, tables with indexes {:.1} MiB",
        users.len(),
        loaded.as_secs_f64(),
        indexed.as_secs_f64(),
        mib(index_bytes as f64),
        mib(total_bytes as f64)
    );

    let mut rows = Vec::new();
    let plan: [(usize, TextMode, &str); 6] = [
        (SUBSTRING, TextMode::Substring, "substring (ILIKE)"),
        (TYPO, TextMode::Similarity, "one-typo (t % q, similarity)"),
        (TYPO, TextMode::WordSimilarity, "one-typo (q <% t, word sim.)"),
        (TYPO, TextMode::Substring, "one-typo (ILIKE)"),
        (FILTERS, TextMode::Substring, "filter-only (ORDER BY id)"),
        (COMBINED, TextMode::Substring, "query+filters (ILIKE)"),
    ];
    for (s, mode, row_name) in plan {
        let set = &sets.sets[s].1;
        let statements: Vec<(String, Vec<Bind>)> = set.iter().map(|q| Dialect::Postgres.sql(q, mode)).collect();
        let mut timer = Timer::new();
        for (i, timed) in Timer::order(set.len()) {
            let (sql, binds) = &statements[i];
            let query = binds.iter().fold(sqlx::query(sql), |q, bind| match bind {
                Bind::Text(text) => q.bind(text.as_str()),
                Bind::Texts(values) => q.bind(values.as_slice()),
            });
            let started = Instant::now();
            query.fetch_all(&mut conn).await?;
            if timed && !timer.record(started) {
                break;
            }
        }
        let latencies = timer.latencies();
        let recall = if s == TYPO {
            let mut found = 0;
            for search in set {
                let row = sqlx::query(recall_sql(Dialect::Postgres, mode))
                    .bind(search.intended.unwrap_or(0) as i32)
                    .bind(recall_text(Dialect::Postgres, mode, search.text.as_deref().unwrap_or("")))
                    .fetch_optional(&mut conn)
                    .await?;
                found += usize::from(row.is_some());
            }
            Some((found, set.len()))
        } else {
            None
        };
        rows.push((row_name.to_string(), latencies, recall));
    }
    conn.close().await?;
    Ok(Alternative {
        name: "PostgreSQL pg_trgm (GIN on the lowercased text, LIMIT 10)",
        rows,
        build: None,
        disk_bytes: None,
        restart: None,
    })
}
