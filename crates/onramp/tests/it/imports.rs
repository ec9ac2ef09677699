//! Bulk import with bad text and re-runs (issue #11, items 8 and 13), through `POST /api/v1/users/import`
//! and the real `onramp import users` binary, on both backends: a row with a NUL or another control
//! character fails on its own (on PostgreSQL it used to fail the whole import with nothing imported), and an
//! interrupted import can be run again with `--skip-existing` (`skipExisting`), which counts the rows
//! already there as skipped instead of failed.

use std::path::Path;

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::process::{self, Finished, database_args};
use crate::support::{Backend, TestServer};

const IMPORT: &str = "/api/v1/users/import";

/// The errors of an import report as (row, field).
fn row_errors(report: &Value) -> Vec<(u64, String)> {
    let errors = report["errors"].as_array().unwrap_or_else(|| panic!("no errors list: {report}"));
    errors.iter().map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_string())).collect()
}

/// The live user with this email, from the list of users (read from the database, so it also sees what
/// the command line wrote a moment ago); None when there is none.
async fn user_by_email(server: &TestServer, token: &str, email: &str) -> Option<Value> {
    let pages = server.all_pages("/api/v1/users", token, 100).await;
    pages.into_iter().flatten().map(|view| view["user"].clone()).find(|user| user["email"] == email)
}

/// Runs `onramp import users FILE ARGS...` against the server's database.
async fn import_command(server: &TestServer, backend: Backend, file: &Path, extra: &[&str]) -> Finished {
    let file = file.display().to_string();
    let mut args: Vec<String> = ["import", "users", file.as_str()].iter().map(|s| s.to_string()).collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(database_args(&server.database, backend));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    process::run(&args, server.database.dir.path()).await
}

fn shown(finished: &Finished) -> String {
    format!("status {}\nstdout:\n{}\nstderr:\n{}", finished.status, finished.stdout, finished.stderr)
}

async fn the_api_import_refuses_bad_text_row_by_row(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let rows = json!([
        {"email": "one@example.com", "displayName": "One"},
        {"email": "nul@example.com", "displayName": "Nul\u{0}Row"},
        {"email": "two@example.com", "displayName": "Two", "profile": {"address": "1 Main St\nSpringfield"}},
        {"email": "esc@example.com", "displayName": "Esc", "department": "\u{1b}[31mRed"},
        {"email": "three@example.com", "displayName": "Three", "jobTitle": "Engineer"},
    ]);
    let (status, report) = server.post(IMPORT, &token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((&report["importedCount"], &report["skippedCount"]), (&json!("3"), &json!("0")), "{report}");
    assert_eq!(row_errors(&report), [(1, "displayName".to_string()), (3, "department".to_string())], "{report}");
    for email in ["one@example.com", "two@example.com", "three@example.com"] {
        assert!(user_by_email(&server, &token, email).await.is_some(), "{email} was imported");
    }
    for email in ["nul@example.com", "esc@example.com"] {
        assert!(user_by_email(&server, &token, email).await.is_none(), "{email} was not imported");
    }
}
both_backends!(the_api_import_refuses_bad_text_row_by_row);

/// `skipExisting` counts rows whose email a live user has as skipped; a row repeating an earlier row of
/// the same request still fails, and so does every existing row without the option.
async fn the_api_import_skips_existing_users_when_asked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    server.create_user(&token, &json!({"email": "there@example.com", "displayName": "There"})).await;
    let rows = json!([
        {"email": "THERE@example.com", "displayName": "Already there"},
        {"email": "new@example.com", "displayName": "New"},
        {"email": "new@example.com", "displayName": "New again"},
    ]);
    let (status, report) = server.post(IMPORT, &token, &json!({"users": rows, "skipExisting": true})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((&report["importedCount"], &report["skippedCount"]), (&json!("1"), &json!("1")), "{report}");
    assert_eq!(row_errors(&report), [(2, "email".to_string())], "{report}");
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("earlier row"), "{report}");
    let there = user_by_email(&server, &token, "there@example.com").await.unwrap();
    assert_eq!(there["displayName"], "There", "a skipped row changes nothing");

    let (status, report) = server.post(IMPORT, &token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((&report["importedCount"], &report["skippedCount"]), (&json!("0"), &json!("0")), "{report}");
    let fields = [(0, "email".to_string()), (1, "email".to_string()), (2, "email".to_string())];
    assert_eq!(row_errors(&report), fields, "{report}");
}
both_backends!(the_api_import_skips_existing_users_when_asked);

/// A CSV file with a NUL byte in one row: the other rows are imported, the bad one is reported by its
/// number and field, and the exit status is 1.
async fn the_command_line_import_reports_a_nul_row(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let file = server.database.dir.path().join("people.csv");
    let csv = "email,displayName,department\nann@example.com,Ann,Sales\nbob@example.com,Bob\0,Sales\ncy@example.com,Cy,\"Field\nOps\"\ndee@example.com,Dee,Ops\n";
    std::fs::write(&file, csv).unwrap();
    let finished = import_command(&server, backend, &file, &[]).await;
    assert_eq!(finished.status.code(), Some(1), "{}", shown(&finished));
    assert!(finished.stdout.contains(": 2 imported, 0 skipped"), "{}", shown(&finished));
    assert!(finished.stdout.contains("2 failed"), "{}", shown(&finished));
    assert!(finished.stdout.contains("row 2: invalid displayName:"), "{}", shown(&finished));
    assert!(finished.stdout.contains("row 3: invalid department:"), "{}", shown(&finished));
    for (email, imported) in
        [("ann@example.com", true), ("bob@example.com", false), ("cy@example.com", false), ("dee@example.com", true)]
    {
        assert_eq!(user_by_email(&server, &token, email).await.is_some(), imported, "{email}");
    }
}
both_backends!(the_command_line_import_reports_a_nul_row);

/// An import interrupted after its first rows, run again: with `--skip-existing` the rows already there
/// are skipped, the rest imported, and the exit status is 0; without it (the behaviour before the option,
/// kept) every row already there fails and the exit status is 1.
async fn an_interrupted_import_is_run_again(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let lines: Vec<String> = (1..=6)
        .map(|n| json!({"email": format!("p{n}@example.com"), "displayName": format!("Person {n}")}).to_string())
        .collect();
    let dir = server.database.dir.path();
    let (first_half, whole) = (dir.join("first-half.jsonl"), dir.join("people.jsonl"));
    std::fs::write(&first_half, lines[..3].join("\n")).unwrap();
    std::fs::write(&whole, lines.join("\n")).unwrap();

    let interrupted = import_command(&server, backend, &first_half, &[]).await;
    assert!(interrupted.status.success(), "{}", shown(&interrupted));
    assert!(
        interrupted.stdout.contains(": 3 imported, 0 skipped (email already in use), 0 failed."),
        "{}",
        shown(&interrupted)
    );

    let again = import_command(&server, backend, &whole, &["--skip-existing"]).await;
    assert!(again.status.success(), "{}", shown(&again));
    assert!(again.stdout.contains(": 3 imported, 3 skipped (email already in use), 0 failed."), "{}", shown(&again));
    for n in 1..=6 {
        let user = user_by_email(&server, &token, &format!("p{n}@example.com")).await;
        assert_eq!(user.unwrap()["displayName"], format!("Person {n}"));
    }

    let without = import_command(&server, backend, &whole, &[]).await;
    assert_eq!(without.status.code(), Some(1), "{}", shown(&without));
    assert!(
        without.stdout.contains(": 0 imported, 0 skipped (email already in use), 6 failed."),
        "{}",
        shown(&without)
    );
    assert!(without.stdout.contains("row 1: a user with email p1@example.com already exists"), "{}", shown(&without));
    assert!(without.stdout.contains("unless --skip-existing is given"), "{}", shown(&without));
}
both_backends!(an_interrupted_import_is_run_again);
