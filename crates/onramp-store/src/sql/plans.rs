//! The plans SQLite makes for lookups that must be index searches: SQLite keeps no statistics here (no
//! `ANALYZE`), so it guesses, and a guess that walks every user turns a sign-in into a scan of the table.

use sqlx::{Connection, Row, SqliteConnection};

use super::account::LOCAL_USERS_BY_EMAIL;
use super::user_sql::select_users;
use super::users::USERS_BY_USER_NAME;

/// How SQLite reaches `users` for `condition` (a `WHERE ...` after the select of users), on the schema the
/// migrations make.
async fn users_step(condition: &str, binds: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("t.db").display());
    let store = super::open(&url).await.unwrap();
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let sql = format!("EXPLAIN QUERY PLAN {} {condition}", select_users::<sqlx::Sqlite>());
    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let plan: Vec<String> =
        query.fetch_all(&mut conn).await.unwrap().iter().map(|row| row.get::<String, _>("detail")).collect();
    drop(store);
    plan.iter()
        .find(|step| step.starts_with("SEARCH users ") || step.starts_with("SCAN users"))
        .cloned()
        .unwrap_or_else(|| panic!("no step reads users: {plan:#?}"))
}

#[tokio::test]
async fn a_username_is_found_by_its_index_not_by_walking_the_tenant() {
    assert_eq!(
        users_step(USERS_BY_USER_NAME, &["t", "u"]).await,
        "SEARCH users USING INDEX users_user_name_live (tenant_id=? AND user_name=?)"
    );
}

#[tokio::test]
async fn a_sign_in_finds_its_email_by_index_in_each_tenant_not_by_walking_every_user() {
    assert_eq!(
        users_step(LOCAL_USERS_BY_EMAIL, &["a@example.com"]).await,
        "SEARCH users USING INDEX users_email_live (tenant_id=? AND email=?)"
    );
}
