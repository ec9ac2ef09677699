//! The SQL behind users: inserting a user with its relations, reading users with theirs in one query, and
//! checking manager and delegate references inside the writing transaction.

use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};
use onramp_domain::{Id, Timestamp};
use onramp_search::Entry;
use serde_json::json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::rows::{self, RowExt, UserRelations};
use super::{Dialect, conflict_on, placeholders};
use crate::{FeedEntry, FeedPosition, Result, StoreError};

/// The columns of `users` in the order `bind_user` binds them.
pub(super) const USER_COLUMNS: &str = "id, tenant_id, email, display_name, status, directory_status, user_type, \
    origin, department, job_title, employment_status, employment_type, delegated_user_id, emails_json, \
    usernames_json, employee_ids_json, profile_json, sources_json, created_at, updated_at, deleted_at, change_seq, external_id, user_name, \
    scim_attributes_json";
pub(super) const USER_COLUMN_COUNT: usize = 25;

/// The audit form of a user: its attributes, never a secret.
pub(super) fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email.as_ref().map(|email| email.as_str()),
        "displayName": user.display_name,
        "status": user.status.as_str(),
        "directoryStatus": user.directory_status.as_str(),
        "type": user.user_type.as_str(),
        "origin": user.origin.as_str(),
        "roleIds": user.role_ids,
        "managerIds": user.manager_ids,
        "delegatedUserId": user.delegated_user_id,
        "directoryIds": user.directory_ids,
        "department": user.department,
        "jobTitle": user.job_title,
        "employmentStatus": user.employment_status,
        "employmentType": user.employment_type,
        "externalId": user.external_id,
    })
}

fn text_list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    serde_json::to_string(&items.iter().map(|item| item.to_string()).collect::<Vec<_>>())
        .expect("a list of strings always serialises")
}

/// A user's `users` columns as the values bound for them, in `USER_COLUMNS` order: what [`bind_user`] binds
/// and what the PostgreSQL import gathers into one array per column (`bulk.rs`).
pub(super) struct UserRow {
    pub id: String,
    pub tenant_id: String,
    /// '' for a user without an email: the column is NOT NULL, and the unique index skips ''.
    pub email: String,
    pub display_name: String,
    pub status: &'static str,
    pub directory_status: &'static str,
    pub user_type: &'static str,
    pub origin: &'static str,
    pub department: String,
    pub job_title: String,
    pub employment_status: String,
    pub employment_type: String,
    pub delegated_user_id: Option<String>,
    pub emails_json: String,
    pub usernames_json: String,
    pub employee_ids_json: String,
    pub profile_json: String,
    pub sources_json: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub change_seq: i64,
    pub external_id: Option<String>,
    pub user_name: Option<String>,
    pub scim_attributes_json: String,
}

impl UserRow {
    /// `change_seq` is the writing transaction's number from [`next_change_seq`].
    pub fn of(user: &User, change_seq: i64) -> Self {
        UserRow {
            id: user.id.to_string(),
            tenant_id: user.tenant_id.to_string(),
            email: user.email_str().to_string(),
            display_name: user.display_name.clone(),
            status: user.status.as_str(),
            directory_status: user.directory_status.as_str(),
            user_type: user.user_type.as_str(),
            origin: user.origin.as_str(),
            department: user.department.clone(),
            job_title: user.job_title.clone(),
            employment_status: user.employment_status.clone(),
            employment_type: user.employment_type.clone(),
            delegated_user_id: user.delegated_user_id.map(|id| id.to_string()),
            emails_json: text_list(&user.emails),
            usernames_json: text_list(&user.usernames),
            employee_ids_json: text_list(&user.employee_ids),
            profile_json: json_object(&user.profile),
            sources_json: serde_json::to_string(&user.sources).expect("sources always serialise"),
            created_at: user.created_at.micros(),
            updated_at: user.updated_at.micros(),
            deleted_at: user.deleted_at.map(Timestamp::micros),
            change_seq,
            external_id: user.external_id.clone(),
            user_name: user.usernames.first().map(|name| name.to_lowercase()),
            scim_attributes_json: json_object(&user.scim_attributes),
        }
    }
}

/// A JSON object's text, without copying it into a `Value` first.
fn json_object(map: &serde_json::Map<String, serde_json::Value>) -> String {
    if map.is_empty() { "{}".into() } else { serde_json::to_string(map).expect("a JSON object always serialises") }
}

/// Binds a user's `users` columns, in `USER_COLUMNS` order; `change_seq` is the writing transaction's
/// number from [`next_change_seq`].
pub(super) fn bind_user<'q, DB>(
    query: sqlx::query::Query<'q, DB, DB::Arguments<'q>>,
    user: &User,
    change_seq: i64,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Dialect,
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB>,
    Option<i64>: Encode<'q, DB>,
{
    let row = UserRow::of(user, change_seq);
    query
        .bind(row.id)
        .bind(row.tenant_id)
        .bind(row.email)
        .bind(row.display_name)
        .bind(row.status.to_string())
        .bind(row.directory_status.to_string())
        .bind(row.user_type.to_string())
        .bind(row.origin.to_string())
        .bind(row.department)
        .bind(row.job_title)
        .bind(row.employment_status)
        .bind(row.employment_type)
        .bind(row.delegated_user_id)
        .bind(row.emails_json)
        .bind(row.usernames_json)
        .bind(row.employee_ids_json)
        .bind(row.profile_json)
        .bind(row.sources_json)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(row.deleted_at)
        .bind(row.change_seq)
        .bind(row.external_id)
        .bind(row.user_name)
        .bind(row.scim_attributes_json)
}

/// Takes the change-feed number of the calling transaction: every users row it writes carries it. The
/// feed's one row stays locked until the transaction ends, so numbers become visible in the order they
/// were taken, and an index that has applied every row up to a number has missed none before it.
pub(super) async fn next_change_seq<DB>(conn: &mut DB::Connection) -> Result<i64>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    crate::writes::users();
    let row = sqlx::query("UPDATE change_feed SET seq = seq + 1 WHERE id = 1 RETURNING seq").fetch_one(conn).await?;
    row.int("seq")
}

/// A unique index of `users` broken by a write: the external id's (SCIM `externalId`), the directory
/// username's (SCIM `userName`) or the email's.
pub(super) fn user_conflict(error: sqlx::Error) -> StoreError {
    // PostgreSQL names the index; SQLite names an index's columns ("users.external_id"), or the index itself
    // when a key is an expression, as the username's third is.
    let broken = |index: &str, column: &str| {
        error.as_database_error().is_some_and(|db| {
            db.constraint() == Some(index)
                || db.message().contains(column)
                || db.message().contains(&format!("index '{index}'"))
        })
    };
    let constraint = if broken("users_external_id_live", "users.external_id") {
        "users_external_id_live"
    } else if broken("users_user_name_live", "users.user_name") {
        "users_user_name_live"
    } else {
        "users_email_live"
    };
    conflict_on(constraint)(error)
}

/// Inserts a user and its relations on the given connection (inside the caller's transaction).
pub(super) async fn insert_user<DB>(conn: &mut DB::Connection, user: &User) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let change_seq = next_change_seq::<DB>(conn).await?;
    let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES ({})", placeholders(1, USER_COLUMN_COUNT));
    bind_user::<DB>(sqlx::query(&sql), user, change_seq).execute(&mut *conn).await.map_err(user_conflict)?;
    replace_relations::<DB>(conn, user).await
}

/// Makes the grant, manager and directory rows of a user exactly those of `user`.
pub(super) async fn replace_relations<DB>(conn: &mut DB::Connection, user: &User) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let (tenant, id) = (user.tenant_id.to_string(), user.id.to_string());
    for table in ["role_grants", "user_managers", "user_directories"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1")).bind(id.clone()).execute(&mut *conn).await?;
    }
    let now = Timestamp::now().micros();
    for role_id in &user.role_ids {
        sqlx::query("INSERT INTO role_grants (tenant_id, user_id, role_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant.clone())
            .bind(id.clone())
            .bind(role_id.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    for (position, manager_id) in user.manager_ids.iter().enumerate() {
        sqlx::query("INSERT INTO user_managers (tenant_id, user_id, manager_id, position) VALUES ($1, $2, $3, $4)")
            .bind(tenant.clone())
            .bind(id.clone())
            .bind(manager_id.to_string())
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
    }
    for directory_id in &user.directory_ids {
        sqlx::query("INSERT INTO user_directories (tenant_id, user_id, directory_id) VALUES ($1, $2, $3)")
            .bind(tenant.clone())
            .bind(id.clone())
            .bind(directory_id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Refuses managers and a delegate that are not live users of the tenant, the user itself, or a manager
/// that would close a loop. Runs inside the writing transaction; on PostgreSQL the caller has locked the
/// tenant row first, so two transactions cannot each add half of a loop.
pub(super) async fn check_references<DB>(conn: &mut DB::Connection, user: &User) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    let references = user
        .manager_ids
        .iter()
        .map(|id| ("managerIds", id))
        .chain(user.delegated_user_id.iter().map(|id| ("delegatedUserId", id)));
    for (field, id) in references {
        if *id == user.id {
            return Err(StoreError::Invalid { field, message: "a user cannot refer to itself".into() });
        }
        let live = sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 AND status <> 'DELETED'")
            .bind(user.tenant_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        if live.is_none() {
            return Err(StoreError::Invalid { field, message: format!("no user {id} in this tenant") });
        }
    }
    for manager_id in &user.manager_ids {
        // Walk up from the new manager; meeting the user means the new edge would close a loop.
        let looped = sqlx::query(
            "WITH RECURSIVE chain(id) AS (SELECT manager_id FROM user_managers WHERE user_id = $1 \
             UNION SELECT m.manager_id FROM user_managers m JOIN chain c ON m.user_id = c.id) \
             SELECT id FROM chain WHERE id = $2 LIMIT 1",
        )
        .bind(manager_id.to_string())
        .bind(user.id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        if looped.is_some() {
            return Err(StoreError::Invalid {
                field: "managerIds",
                message: format!("manager {manager_id} would create a management loop"),
            });
        }
    }
    Ok(())
}

/// A SELECT of `users` rows with their relations as comma lists (`role_list`, `manager_list`,
/// `directory_list`), read by [`listed_user`]: one query however many users. Callers append the rest.
pub(super) fn select_users<DB: Dialect>() -> String {
    let list = |table: &str, column: &str, order: &str| {
        format!(
            "(SELECT {}({column}, ',' ORDER BY {order}) FROM {table} WHERE {table}.user_id = users.id)",
            DB::STRING_AGG
        )
    };
    format!(
        "SELECT users.*, {} AS role_list, {} AS manager_list, {} AS directory_list FROM users",
        list("role_grants", "role_id", "role_id"),
        list("user_managers", "manager_id", "position"),
        list("user_directories", "directory_id", "directory_id"),
    )
}

/// A user from a row of [`select_users`].
pub(super) fn listed_user(row: &impl RowExt) -> Result<User> {
    let list = |column: &str| -> Result<Vec<Id>> {
        let text = row.opt_text(column)?.unwrap_or_default();
        text.split(',')
            .filter(|id| !id.is_empty())
            .map(|id| id.parse().map_err(|_| StoreError::Corrupt(format!("{column} holds {id:?}"))))
            .collect()
    };
    let relations = UserRelations {
        role_ids: list("role_list")?,
        manager_ids: list("manager_list")?,
        directory_ids: list("directory_list")?,
    };
    rows::user(row, relations)
}

/// A SELECT of what the search index keeps of `users` rows (see [`index_entry`]), with the row's feed position
/// and tenant, and the relations as comma lists. Callers append the rest.
pub(super) fn select_index_entries<DB: Dialect>() -> String {
    let list = |table: &str, column: &str, order: &str| {
        format!(
            "(SELECT {}({column}, ',' ORDER BY {order}) FROM {table} WHERE {table}.user_id = users.id)",
            DB::STRING_AGG
        )
    };
    format!(
        "SELECT id, change_seq, tenant_id, email, display_name, status, user_type, origin, department, job_title, \
         delegated_user_id, emails_json, usernames_json, sources_json, {} AS role_list, {} AS manager_list, \
         {} AS directory_list FROM users",
        list("role_grants", "role_id", "role_id"),
        list("user_managers", "manager_id", "position"),
        list("user_directories", "directory_id", "directory_id"),
    )
}

/// The app ids of a user's attribute sources, in the order `Entry::from` takes them: the only part of
/// `sources_json` the index keeps.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SourceApps {
    department_sources: Vec<SourceApp>,
    directory_status_sources: Vec<SourceApp>,
    email_sources: Vec<SourceApp>,
    employee_id_sources: Vec<SourceApp>,
    employment_status_sources: Vec<SourceApp>,
    employment_type_sources: Vec<SourceApp>,
    job_title_sources: Vec<SourceApp>,
    manager_sources: Vec<SourceApp>,
    username_sources: Vec<SourceApp>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SourceApp {
    app_id: String,
}

/// An index entry from a row of [`select_index_entries`]: the same as `Entry::from` of the user the row holds,
/// without decoding the rest of the user.
pub(super) fn index_entry(row: &impl RowExt) -> Result<FeedEntry> {
    let corrupt = |column: &str| StoreError::Corrupt(format!("{column} is not valid JSON of its type"));
    let ids = |column: &str| -> Result<Vec<Id>> {
        let text = row.opt_text(column)?.unwrap_or_default();
        text.split(',')
            .filter(|id| !id.is_empty())
            .map(|id| id.parse().map_err(|_| StoreError::Corrupt(format!("{column} holds {id:?}"))))
            .collect()
    };
    let id = row.id("id")?;
    // '' in `email`: a user without one, whose `emails_json` is empty too.
    let mut emails: Vec<String> = Some(row.text("email")?).filter(|email| !email.is_empty()).into_iter().collect();
    for email in serde_json::from_str::<Vec<String>>(&row.text("emails_json")?).map_err(|_| corrupt("emails_json"))? {
        // Stored emails are already in their parsed (lowercase) form.
        if !emails.contains(&email) {
            emails.push(email);
        }
    }
    let sources_json = row.text("sources_json")?;
    let sources: SourceApps = if sources_json == "{}" {
        SourceApps::default()
    } else {
        serde_json::from_str(&sources_json).map_err(|_| corrupt("sources_json"))?
    };
    let mut source_app_ids: Vec<Id> = Vec::new();
    let attribute_apps = [
        sources.department_sources,
        sources.directory_status_sources,
        sources.email_sources,
        sources.employee_id_sources,
        sources.employment_status_sources,
        sources.employment_type_sources,
        sources.job_title_sources,
        sources.manager_sources,
        sources.username_sources,
    ]
    .into_iter()
    .flatten()
    .filter_map(|source| source.app_id.parse::<Id>().ok());
    for app in ids("directory_list")?.into_iter().chain(attribute_apps) {
        if !source_app_ids.contains(&app) {
            source_app_ids.push(app);
        }
    }
    let (status, user_type, origin) = (row.text("status")?, row.text("user_type")?, row.text("origin")?);
    Ok(FeedEntry {
        position: FeedPosition { seq: row.int("change_seq")?, id },
        tenant_id: row.id("tenant_id")?,
        entry: Entry {
            id,
            display_name: row.text("display_name")?,
            emails,
            usernames: serde_json::from_str(&row.text("usernames_json")?).map_err(|_| corrupt("usernames_json"))?,
            status: UserStatus::parse(&status).ok_or_else(|| wire_error("status", &status))?,
            user_type: UserType::parse(&user_type).ok_or_else(|| wire_error("user_type", &user_type))?,
            origin: UserOrigin::parse(&origin).ok_or_else(|| wire_error("origin", &origin))?,
            role_ids: ids("role_list")?,
            manager_ids: ids("manager_list")?,
            delegated_user_id: row.opt_id("delegated_user_id")?,
            source_app_ids,
            department: row.text("department")?,
            job_title: row.text("job_title")?,
        },
    })
}

fn wire_error(column: &str, text: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} holds {text:?}"))
}
