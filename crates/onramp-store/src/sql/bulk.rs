//! The import's bulk inserts of new users and of their relation rows, by backend (behind
//! [`Dialect::insert_users`](super::Dialect::insert_users) and `insert_relations`).
//!
//! SQLite: multi-row `INSERT ... VALUES` with anonymous `?` parameters, [`SQLITE_IMPORT_ROWS`] users a
//! statement. sqlx runs SQLite on a worker thread of its own, so the parameters of the next statement are
//! bound (on the calling task) while the worker runs the current one.
//!
//! PostgreSQL: one `INSERT ... SELECT * FROM UNNEST($1, $2, ...)` per [`POSTGRES_IMPORT_ROWS`] users, each
//! parameter an array holding one column of every row: 25 parameters a statement however many rows, one
//! plan, and the rows travel in the binary array format (about as fast as `COPY`). Each statement is tried
//! as a plain `INSERT` in a savepoint and, only if a row breaks a unique index, run again with
//! `ON CONFLICT DO NOTHING` (see [`postgres_users`]), so a row whose email a live user has is skipped, not
//! fatal to the whole import, and the caller finds it as on SQLite.
//!
//! Relation rows (role grants, managers, directories) are inserted the same ways after the users, for the
//! users actually inserted: a handful of statements for a batch, not several per user.

use onramp_domain::Timestamp;
use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};

use super::user_sql::{USER_COLUMNS, UserRow};
use crate::Result;

/// Users per SQLite statement: 500 × 23 parameters stays under SQLite's limit of 32,766.
pub const SQLITE_IMPORT_ROWS: usize = 500;
/// Users per PostgreSQL statement. Parameters do not grow with it (one array per column); while the server
/// runs one statement, the next one's arrays are built.
pub const POSTGRES_IMPORT_ROWS: usize = 5_000;
/// Parameters per SQLite statement of relation rows (under its limit of 32,766).
const SQLITE_RELATION_PARAMS: usize = 30_000;

/// The relation rows of new users, as ids in text form.
#[derive(Default)]
pub struct Relations {
    /// `role_grants`: tenant, user, role.
    grants: Vec<[String; 3]>,
    /// `user_managers`: tenant, user, manager, and the manager's position.
    managers: Vec<([String; 3], i64)>,
    /// `user_directories`: tenant, user, directory.
    directories: Vec<[String; 3]>,
    /// The `created_at` of every grant.
    now: i64,
}

impl Relations {
    /// The relation rows of `users`, who have none yet.
    pub fn of<'u>(users: impl IntoIterator<Item = &'u User>) -> Self {
        let mut relations = Relations { now: Timestamp::now().micros(), ..Default::default() };
        for user in users {
            if user.role_ids.is_empty() && user.manager_ids.is_empty() && user.directory_ids.is_empty() {
                continue;
            }
            let (tenant, id) = (user.tenant_id.to_string(), user.id.to_string());
            let row = |other: &onramp_domain::Id| [tenant.clone(), id.clone(), other.to_string()];
            relations.grants.extend(user.role_ids.iter().map(row));
            relations.managers.extend(user.manager_ids.iter().enumerate().map(|(at, m)| (row(m), at as i64)));
            relations.directories.extend(user.directory_ids.iter().map(row));
        }
        relations
    }
}

/// The default of the JSON list columns (`emails_json`, `usernames_json`, `employee_ids_json`), and of the
/// JSON object columns (`profile_json`, `sources_json`, `scim_attributes_json`): what an empty value
/// serialises to.
const EMPTY_LIST: &str = "[]";
const EMPTY_OBJECT: &str = "{}";

/// The SQLite import statement of `rows` users:
/// `INSERT INTO users (...) SELECT ... FROM (VALUES (...), ...) WHERE true ON CONFLICT DO NOTHING`.
///
/// sqlx binds every text with `SQLITE_TRANSIENT`, so SQLite copies each into a buffer of its own (a
/// `malloc`, freed when the statement's bindings are cleared): most of the worker thread's allocation
/// work. So the statement binds as few texts as it can, and the `SELECT` rebuilds the row:
/// - the tenant and the change number are the same for every row: one parameter each, at the head of the
///   statement (anonymous parameters are numbered in the order they appear);
/// - the four enum columns travel as their index in the enum's `ALL`, turned back into text by a `CASE` of
///   literals (which SQLite does not copy);
/// - a JSON column holding its empty value travels as NULL, which `coalesce` turns back into that value.
///
/// The rows and their values are the same as a plain multi-row `INSERT` would write.
fn sqlite_insert_sql(rows: usize) -> String {
    fn case(column: usize, values: impl Iterator<Item = &'static str>) -> String {
        let arms: Vec<String> = values.enumerate().map(|(code, value)| format!("WHEN {code} THEN '{value}'")).collect();
        format!("CASE column{column} {} END", arms.join(" "))
    }
    let statuses = || UserStatus::ALL.iter().map(|status| status.as_str());
    let select = [
        "column1".to_string(),
        "?".into(),
        "column2".into(),
        "column3".into(),
        case(4, statuses()),
        case(5, statuses()),
        case(6, UserType::ALL.iter().map(|kind| kind.as_str())),
        case(7, UserOrigin::ALL.iter().map(|origin| origin.as_str())),
        "column8".into(),
        "column9".into(),
        "column10".into(),
        "column11".into(),
        "column12".into(),
        format!("coalesce(column13, '{EMPTY_LIST}')"),
        format!("coalesce(column14, '{EMPTY_LIST}')"),
        format!("coalesce(column15, '{EMPTY_LIST}')"),
        format!("coalesce(column16, '{EMPTY_OBJECT}')"),
        format!("coalesce(column17, '{EMPTY_OBJECT}')"),
        "column18".into(),
        "column19".into(),
        "column20".into(),
        "?".into(),
        "column21".into(),
        "column22".into(),
        format!("coalesce(column23, '{EMPTY_OBJECT}')"),
    ];
    let row = format!("({})", vec!["?"; SQLITE_ROW_PARAMS].join(", "));
    // `WHERE true` tells SQLite's parser that `ON CONFLICT` is the upsert clause, not part of a join.
    format!(
        "INSERT INTO users ({USER_COLUMNS}) SELECT {} FROM (VALUES {}) WHERE true ON CONFLICT DO NOTHING",
        select.join(", "),
        vec![row.as_str(); rows].join(", ")
    )
}

/// Parameters per row of [`sqlite_insert_sql`]: the 25 columns less the tenant and the change number.
const SQLITE_ROW_PARAMS: usize = 23;

/// The position of `value` in `all`, the code [`sqlite_insert_sql`]'s `CASE` turns back into its text.
fn code<T: PartialEq>(all: &[T], value: &T) -> i64 {
    all.iter().position(|candidate| candidate == value).expect("every value is in ALL") as i64
}

/// NULL for a column's empty value (see [`sqlite_insert_sql`]).
fn unless_empty(text: String, empty: &str) -> Option<String> {
    (text != empty).then_some(text)
}

/// Binds one row of [`sqlite_insert_sql`].
fn bind_sqlite_row<'q>(
    query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    user: &User,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    // The change number is bound once for the statement; any value serves here.
    let row = UserRow::of(user, 0);
    query
        .bind(row.id)
        .bind(row.email)
        .bind(row.display_name)
        .bind(code(UserStatus::ALL, &user.status))
        .bind(code(UserStatus::ALL, &user.directory_status))
        .bind(code(UserType::ALL, &user.user_type))
        .bind(code(UserOrigin::ALL, &user.origin))
        .bind(row.department)
        .bind(row.job_title)
        .bind(row.employment_status)
        .bind(row.employment_type)
        .bind(row.delegated_user_id)
        .bind(unless_empty(row.emails_json, EMPTY_LIST))
        .bind(unless_empty(row.usernames_json, EMPTY_LIST))
        .bind(unless_empty(row.employee_ids_json, EMPTY_LIST))
        .bind(unless_empty(row.profile_json, EMPTY_OBJECT))
        .bind(unless_empty(row.sources_json, EMPTY_OBJECT))
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(row.deleted_at)
        .bind(row.external_id)
        .bind(row.user_name)
        .bind(unless_empty(row.scim_attributes_json, EMPTY_OBJECT))
}

/// Inserts `users` in statements of [`SQLITE_IMPORT_ROWS`] ([`sqlite_insert_sql`]), binding each
/// statement's parameters while the worker thread runs the one before. The users are of one tenant (an
/// import's).
pub async fn sqlite_users(conn: &mut SqliteConnection, users: &[User], change_seq: i64) -> Result<Vec<u64>> {
    let full = sqlite_insert_sql(SQLITE_IMPORT_ROWS);
    let last = sqlite_insert_sql(users.len() % SQLITE_IMPORT_ROWS);
    let chunks: Vec<&[User]> = users.chunks(SQLITE_IMPORT_ROWS).collect();
    let bind = |chunk: &[User]| {
        let sql = if chunk.len() == SQLITE_IMPORT_ROWS { &full } else { &last };
        let tenant_id = chunk.first().map(|user| user.tenant_id.to_string());
        let head = sqlx::query(sql).bind(tenant_id).bind(change_seq);
        chunk.iter().fold(head, bind_sqlite_row)
    };
    let mut counts = Vec::with_capacity(chunks.len());
    let mut next = chunks.first().map(|chunk| bind(chunk));
    for at in 0..chunks.len() {
        let query = next.take().expect("a bound statement for every chunk");
        // Biased: the statement goes to the worker first, then the next is bound while it runs.
        let (done, bound) = tokio::join!(biased; query.execute(&mut *conn), async {
            chunks.get(at + 1).map(|chunk| bind(chunk))
        });
        counts.push(done?.rows_affected());
        next = bound;
    }
    Ok(counts)
}

/// Inserts relation rows on SQLite: multi-row statements of each table.
pub async fn sqlite_relations(conn: &mut SqliteConnection, relations: &Relations) -> Result<()> {
    async fn insert<T>(
        conn: &mut SqliteConnection,
        head: &str,
        width: usize,
        rows: &[T],
        bind: impl for<'q> Fn(
            sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
            &T,
        ) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<()> {
        let row = format!("({})", vec!["?"; width].join(", "));
        for chunk in rows.chunks(SQLITE_RELATION_PARAMS / width) {
            let sql = format!("{head} VALUES {}", vec![row.as_str(); chunk.len()].join(", "));
            chunk.iter().fold(sqlx::query(&sql), &bind).execute(&mut *conn).await?;
        }
        Ok(())
    }
    let now = relations.now;
    let grants = "INSERT INTO role_grants (tenant_id, user_id, role_id, created_at)";
    insert(conn, grants, 4, &relations.grants, |query, [tenant, user, role]| {
        query.bind(tenant.clone()).bind(user.clone()).bind(role.clone()).bind(now)
    })
    .await?;
    let managers = "INSERT INTO user_managers (tenant_id, user_id, manager_id, position)";
    insert(conn, managers, 4, &relations.managers, |query, ([tenant, user, manager], position)| {
        query.bind(tenant.clone()).bind(user.clone()).bind(manager.clone()).bind(*position)
    })
    .await?;
    let directories = "INSERT INTO user_directories (tenant_id, user_id, directory_id)";
    insert(conn, directories, 3, &relations.directories, |query, [tenant, user, directory]| {
        query.bind(tenant.clone()).bind(user.clone()).bind(directory.clone())
    })
    .await
}

/// One array per `users` column, in `USER_COLUMNS` order.
#[derive(Default)]
struct UserColumns {
    id: Vec<String>,
    tenant_id: Vec<String>,
    email: Vec<String>,
    display_name: Vec<String>,
    status: Vec<&'static str>,
    directory_status: Vec<&'static str>,
    user_type: Vec<&'static str>,
    origin: Vec<&'static str>,
    department: Vec<String>,
    job_title: Vec<String>,
    employment_status: Vec<String>,
    employment_type: Vec<String>,
    delegated_user_id: Vec<Option<String>>,
    emails_json: Vec<String>,
    usernames_json: Vec<String>,
    employee_ids_json: Vec<String>,
    profile_json: Vec<String>,
    sources_json: Vec<String>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    deleted_at: Vec<Option<i64>>,
    change_seq: Vec<i64>,
    external_id: Vec<Option<String>>,
    user_name: Vec<Option<String>>,
    scim_attributes_json: Vec<String>,
}

impl UserColumns {
    fn of(users: &[User], change_seq: i64) -> Self {
        let mut columns = UserColumns::default();
        for user in users {
            let row = UserRow::of(user, change_seq);
            columns.id.push(row.id);
            columns.tenant_id.push(row.tenant_id);
            columns.email.push(row.email);
            columns.display_name.push(row.display_name);
            columns.status.push(row.status);
            columns.directory_status.push(row.directory_status);
            columns.user_type.push(row.user_type);
            columns.origin.push(row.origin);
            columns.department.push(row.department);
            columns.job_title.push(row.job_title);
            columns.employment_status.push(row.employment_status);
            columns.employment_type.push(row.employment_type);
            columns.delegated_user_id.push(row.delegated_user_id);
            columns.emails_json.push(row.emails_json);
            columns.usernames_json.push(row.usernames_json);
            columns.employee_ids_json.push(row.employee_ids_json);
            columns.profile_json.push(row.profile_json);
            columns.sources_json.push(row.sources_json);
            columns.created_at.push(row.created_at);
            columns.updated_at.push(row.updated_at);
            columns.deleted_at.push(row.deleted_at);
            columns.change_seq.push(row.change_seq);
            columns.external_id.push(row.external_id);
            columns.user_name.push(row.user_name);
            columns.scim_attributes_json.push(row.scim_attributes_json);
        }
        columns
    }

    /// The statement `sql` with these arrays bound (by reference, so that a statement rolled back can be run
    /// again with the same arrays).
    fn bind<'q>(&'q self, sql: &'q str) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
        sqlx::query(sql)
            .bind(&self.id[..])
            .bind(&self.tenant_id[..])
            .bind(&self.email[..])
            .bind(&self.display_name[..])
            .bind(&self.status[..])
            .bind(&self.directory_status[..])
            .bind(&self.user_type[..])
            .bind(&self.origin[..])
            .bind(&self.department[..])
            .bind(&self.job_title[..])
            .bind(&self.employment_status[..])
            .bind(&self.employment_type[..])
            .bind(&self.delegated_user_id[..])
            .bind(&self.emails_json[..])
            .bind(&self.usernames_json[..])
            .bind(&self.employee_ids_json[..])
            .bind(&self.profile_json[..])
            .bind(&self.sources_json[..])
            .bind(&self.created_at[..])
            .bind(&self.updated_at[..])
            .bind(&self.deleted_at[..])
            .bind(&self.change_seq[..])
            .bind(&self.external_id[..])
            .bind(&self.user_name[..])
            .bind(&self.scim_attributes_json[..])
    }
}

/// The column types of `USER_COLUMNS`, for the casts of the UNNEST.
const USER_COLUMN_TYPES: [&str; 25] = [
    "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text",
    "text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint", "text", "text", "text",
];

/// `INSERT INTO table (columns) SELECT * FROM UNNEST($1::type[], ...)`.
fn unnest_insert(table: &str, columns: &str, types: &[&str]) -> String {
    let arrays: Vec<String> = types.iter().enumerate().map(|(at, kind)| format!("${}::{kind}[]", at + 1)).collect();
    format!("INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({})", arrays.join(", "))
}

/// Inserts `users` in statements of [`POSTGRES_IMPORT_ROWS`], building each statement's arrays while the
/// server runs the one before.
///
/// A statement is first tried as a plain `INSERT` inside a savepoint: `ON CONFLICT DO NOTHING` without a
/// conflict target makes PostgreSQL insert every row speculatively, probing each unique index before the
/// insert and again while inserting, which costs about a third of the statement when no row conflicts (as in
/// nearly every import). If any row breaks a unique index (SQLSTATE 23505: an email a live user has, a row
/// repeating an earlier one, or a row another transaction has just written), the statement fails as a
/// whole, is rolled back to the savepoint and is run again with `ON CONFLICT DO NOTHING`, so the rows written
/// and the counts returned are those of the skipping statement alone. The rest of the call's statements then
/// skip straight to it: an import that meets one taken row (a re-run with `skip_existing`) likely meets more.
pub async fn postgres_users(conn: &mut PgConnection, users: &[User], change_seq: i64) -> Result<Vec<u64>> {
    let plain = unnest_insert("users", USER_COLUMNS, &USER_COLUMN_TYPES);
    let skipping = format!("{plain} ON CONFLICT DO NOTHING");
    let chunks: Vec<&[User]> = users.chunks(POSTGRES_IMPORT_ROWS).collect();
    let mut counts = Vec::with_capacity(chunks.len());
    let mut conflicted = false;
    let mut next = chunks.first().map(|chunk| UserColumns::of(chunk, change_seq));
    for at in 0..chunks.len() {
        let columns = next.take().expect("columns for every chunk");
        let build_next = async { chunks.get(at + 1).map(|chunk| UserColumns::of(chunk, change_seq)) };
        if conflicted {
            let (done, built) = tokio::join!(biased; columns.bind(&skipping).execute(&mut *conn), build_next);
            counts.push(done?.rows_affected());
            next = built;
            continue;
        }
        sqlx::query("SAVEPOINT import_users").execute(&mut *conn).await?;
        let (done, built) = tokio::join!(biased; columns.bind(&plain).execute(&mut *conn), build_next);
        next = built;
        let count = match done {
            Ok(done) => done.rows_affected(),
            Err(error) if error.as_database_error().is_some_and(|db| db.is_unique_violation()) => {
                sqlx::query("ROLLBACK TO SAVEPOINT import_users").execute(&mut *conn).await?;
                conflicted = true;
                columns.bind(&skipping).execute(&mut *conn).await?.rows_affected()
            }
            Err(error) => return Err(error.into()),
        };
        sqlx::query("RELEASE SAVEPOINT import_users").execute(&mut *conn).await?;
        counts.push(count);
    }
    Ok(counts)
}

/// Inserts relation rows on PostgreSQL: one UNNEST statement per table that has any.
pub async fn postgres_relations(conn: &mut PgConnection, relations: &Relations) -> Result<()> {
    let (grants, managers) = (&relations.grants, &relations.managers);
    let created_at = vec![relations.now; grants.len()];
    unnest_ids(conn, "role_grants", "role_id", grants.iter(), Some(("created_at", created_at))).await?;
    let positions = managers.iter().map(|(_, position)| *position).collect();
    let manager_ids = managers.iter().map(|(ids, _)| ids);
    unnest_ids(conn, "user_managers", "manager_id", manager_ids, Some(("position", positions))).await?;
    unnest_ids(conn, "user_directories", "directory_id", relations.directories.iter(), None).await
}

/// Inserts `rows` of (tenant, user, `other`) ids into `table`, with one more integer column when given, by one
/// UNNEST statement; nothing when there are no rows.
async fn unnest_ids<'r>(
    conn: &mut PgConnection,
    table: &str,
    other: &str,
    rows: impl Iterator<Item = &'r [String; 3]> + Clone,
    integers: Option<(&str, Vec<i64>)>,
) -> Result<()> {
    if rows.clone().next().is_none() {
        return Ok(());
    }
    let mut columns = format!("tenant_id, user_id, {other}");
    let mut types = vec!["text", "text", "text"];
    if let Some((name, _)) = &integers {
        columns.push_str(&format!(", {name}"));
        types.push("bigint");
    }
    let sql = unnest_insert(table, &columns, &types);
    let mut query = sqlx::query(&sql);
    for at in 0..3 {
        query = query.bind(rows.clone().map(|ids| ids[at].as_str()).collect::<Vec<_>>());
    }
    if let Some((_, values)) = integers {
        query = query.bind(values);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}
