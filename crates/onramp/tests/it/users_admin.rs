//! Users at the scale of an administrator: paging through the list, page sizes and page tokens, who may
//! read and write users, bulk import with its per-row report, and the audit event every change writes.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error};

const USERS: &str = "/api/v1/users";

/// Imports `count` users named `{prefix}{n}@example.com` in one request and returns their ids.
async fn import_many(server: &TestServer, token: &str, prefix: &str, count: usize) -> Vec<String> {
    let rows: Vec<Value> = (0..count)
        .map(|n| json!({"email": format!("{prefix}{n}@example.com"), "displayName": format!("{prefix} {n}")}))
        .collect();
    let (status, body) = server.post(&format!("{USERS}/import"), token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "import: {body}");
    assert_eq!(body["importedCount"], count.to_string(), "{body}");
    body["userIds"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect()
}

/// The caller's own user id, from introspection.
async fn my_user_id(server: &TestServer, token: &str) -> String {
    let (status, body) = server.get("/api/v1/auth/introspect", token).await;
    assert_eq!(status, 200, "introspect: {body}");
    body["userId"].as_str().unwrap().to_string()
}

fn ids_of(views: &[Value]) -> Vec<String> {
    views.iter().map(|view| view["userId"].as_str().unwrap().to_string()).collect()
}

async fn list_pages_walk_every_live_user_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let mut ids = import_many(&server, &token, "page", 31).await;
    for gone in [ids.remove(3), ids.remove(17)] {
        assert_eq!(server.delete(&format!("{USERS}/{gone}"), &token).await.0, 200);
    }
    ids.push(my_user_id(&server, &token).await);
    ids.sort();
    assert_eq!(ids.len(), 30, "30 live users: 29 imported and the bootstrap admin");

    let mut walked = Vec::new();
    let mut page_token = String::new();
    for page in 1..=3 {
        let (status, body) = server.get(&format!("{USERS}?page_size=10&page_token={page_token}"), &token).await;
        assert_eq!(status, 200, "page {page}: {body}");
        let list = body["list"].as_array().unwrap();
        assert_eq!(list.len(), 10, "page {page} is full");
        walked.extend(ids_of(list));
        page_token = body["nextPageToken"].as_str().unwrap_or_default().to_string();
        assert_eq!(page_token.is_empty(), page == 3, "page {page}: nextPageToken {page_token:?}");
    }
    assert_eq!(walked, ids, "every live user exactly once, in id order");
}
both_backends!(list_pages_walk_every_live_user_once);

async fn page_sizes_follow_the_conductorone_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    import_many(&server, &token, "size", 110).await;
    for (query, want) in [("", 25), ("?page_size=0", 25), ("?page_size=5", 10), ("?page_size=1", 10)] {
        let (status, body) = server.get(&format!("{USERS}{query}"), &token).await;
        assert_eq!((status, body["list"].as_array().map(Vec::len)), (200, Some(want)), "{query}");
    }
    for (query, want) in [("?page_size=57", 57), ("?page_size=100", 100), ("?page_size=1000", 100)] {
        let (status, body) = server.get(&format!("{USERS}{query}"), &token).await;
        assert_eq!((status, body["list"].as_array().map(Vec::len)), (200, Some(want)), "{query}");
        assert!(!body["nextPageToken"].as_str().unwrap_or_default().is_empty(), "{query}: more follow");
    }
}
both_backends!(page_sizes_follow_the_conductorone_rules);

async fn foreign_and_broken_page_tokens_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, other_token) = server.other_tenant("other").await;
    import_many(&server, &token, "tok", 15).await;
    import_many(&server, &other_token, "tok", 15).await;
    for n in 0..10 {
        // Ten single creates make ten audit events, so that the audit log has a second page.
        server.create_user(&token, &json!({"email": format!("single{n}@example.com"), "displayName": "S"})).await;
    }
    let (_, first) = server.get(&format!("{USERS}?page_size=10"), &token).await;
    let good = first["nextPageToken"].as_str().unwrap().to_string();
    let (status, _) = server.get(&format!("{USERS}?page_size=10&page_token={good}"), &token).await;
    assert_eq!(status, 200, "the real token works");

    let middle = good.len() / 2;
    let flipped = if &good[middle..=middle] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &good[..middle], &good[middle + 1..]);
    let (_, audit_page) = server.get("/api/v1/audit-events?page_size=10", &token).await;
    let audit_token = audit_page["nextPageToken"].as_str().unwrap().to_string();
    assert!(!audit_token.is_empty(), "the audit log has more than 10 events: {audit_page}");
    for (case, bad, caller) in [
        ("tampered", tampered.as_str(), &token),
        ("truncated", &good[..good.len() - 3], &token),
        ("another tenant's caller", good.as_str(), &other_token),
        ("a token of another list", audit_token.as_str(), &token),
        ("not base64", "%25%25%25", &token),
        ("too short", "AAAA", &token),
    ] {
        let response = server.get(&format!("{USERS}?page_size=10&page_token={bad}"), caller).await;
        assert_api_error(case, &response, 400, 3);
        let message = response.1["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains("page") && message.contains("token"), "{case}: names the token: {}", response.1);
    }
}
both_backends!(foreign_and_broken_page_tokens_are_refused);

async fn a_read_only_admin_reads_but_never_writes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin_token().await;
    let (_, ro) = server.credential_with_roles("ro@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let id = server.create_user(&admin, &json!({"email": "t@example.com", "displayName": "Target"})).await;
    let path = format!("{USERS}/{id}");
    assert_eq!(server.get(USERS, &ro).await.0, 200, "list");
    assert_eq!(server.get(&path, &ro).await.0, 200, "get");
    let new = json!({"email": "ro-made@example.com", "displayName": "No"});
    assert_api_error("create", &server.post(USERS, &ro, &new).await, 403, 7);
    let update = json!({"user": {"jobTitle": "No"}});
    assert_api_error("update", &server.post(&path, &ro, &update).await, 403, 7);
    assert_api_error("delete", &server.delete(&path, &ro).await, 403, 7);
    let import = json!({"users": [new]});
    assert_api_error("import", &server.post(&format!("{USERS}/import"), &ro, &import).await, 403, 7);
    let user = server.get(&path, &admin).await.1;
    assert_eq!(
        (&user["userView"]["user"]["status"], &user["userView"]["user"]["jobTitle"]),
        (&json!("ENABLED"), &json!(""))
    );
    let emails: Vec<String> = server
        .all_pages(USERS, &admin, 100)
        .await
        .concat()
        .iter()
        .map(|v| v["user"]["email"].as_str().unwrap().to_string())
        .collect();
    assert!(!emails.contains(&"ro-made@example.com".to_string()), "nothing was created: {emails:?}");

    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("basic-user lists", &server.get(USERS, &basic).await, 403, 7);
    assert_api_error("basic-user reads", &server.get(&path, &basic).await, 403, 7);
}
both_backends!(a_read_only_admin_reads_but_never_writes);

async fn only_a_super_admin_grants_super_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, admin) = server.credential_with_roles("admin2@example.com", &[BuiltinRole::Admin]).await;
    let root = json!({"email": "root@example.com", "displayName": "Root", "roleIds": ["super-admin"]});
    assert_api_error("create a super-admin", &server.post(USERS, &admin, &root).await, 403, 7);
    let by_id = json!({"email": "root@example.com", "displayName": "Root", "roleIds": ["000000000000000000000001"]});
    assert_api_error("create a super-admin by id", &server.post(USERS, &admin, &by_id).await, 403, 7);

    let basic = json!({"email": "basic@example.com", "displayName": "Basic", "roleIds": ["basic-user"]});
    let (status, body) = server.post(USERS, &admin, &basic).await;
    assert_eq!(status, 200, "an admin grants basic-user: {body}");
    assert_eq!(body["userView"]["user"]["roleIds"], json!(["000000000000000000000005"]));
    let id = body["userView"]["user"]["id"].as_str().unwrap();
    let promote = json!({"user": {"roleIds": ["basic-user", "super-admin"]}, "updateMask": "roleIds"});
    assert_api_error("promote by update", &server.post(&format!("{USERS}/{id}"), &admin, &promote).await, 403, 7);
    let import = json!({"users": [root]});
    let (status, report) = server.post(&format!("{USERS}/import"), &admin, &import).await;
    assert_eq!((status, &report["importedCount"]), (200, &json!("0")), "{report}");
    assert_eq!(report["errors"][0]["field"], "roleIds", "{report}");

    let super_admin = server.admin_token().await;
    assert_eq!(server.post(USERS, &super_admin, &root).await.0, 200, "a super-admin may");
}
both_backends!(only_a_super_admin_grants_super_admin);

async fn import_reports_each_refused_row(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    server.create_user(&token, &json!({"email": "taken@example.com", "displayName": "Taken"})).await;
    let rows = json!([
        {"email": "one@example.com", "displayName": "One", "jobTitle": "First"},
        {"email": "not-an-email", "displayName": "Bad"},
        {"email": "TAKEN@example.com", "displayName": "Duplicate of an existing user"},
        {"email": "two@example.com", "displayName": "Two", "roleIds": ["basic-user"]},
        {"email": "One@Example.com", "displayName": "Duplicate within the file"},
    ]);
    let (status, report) = server.post(&format!("{USERS}/import"), &token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["importedCount"], "2", "importedCount is an int64, so a string: {report}");
    let ids = report["userIds"].as_array().expect("userIds");
    assert_eq!(ids.len(), 2, "{report}");
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().is_empty(), "every row error explains itself: {e}");
            (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap())
        })
        .collect();
    assert_eq!(errors, [(1, "email"), (2, "email"), (4, "email")], "{report}");

    for (id, email, job) in [(&ids[0], "one@example.com", "First"), (&ids[1], "two@example.com", "")] {
        let (status, body) = server.get(&format!("{USERS}/{}", id.as_str().unwrap()), &token).await;
        assert_eq!(status, 200, "{body}");
        let user = &body["userView"]["user"];
        assert_eq!(
            (&user["email"], &user["jobTitle"], &user["status"]),
            (&json!(email), &json!(job), &json!("ENABLED"))
        );
    }
    let two = server.get(&format!("{USERS}/{}", ids[1].as_str().unwrap()), &token).await.1;
    assert_eq!(two["userView"]["user"]["roleIds"], json!(["000000000000000000000005"]));
    let (status, body) = server.post(&format!("{USERS}/import"), &token, &json!({"users": []})).await;
    assert_eq!((status, &body["importedCount"]), (200, &json!("0")), "an empty import: {body}");
}
both_backends!(import_reports_each_refused_row);

/// An import report's refused rows, as (row, field), in order.
fn refused_rows(report: &Value) -> Vec<(u64, &str)> {
    let errors = report["errors"].as_array().expect("the report's errors");
    errors.iter().map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap())).collect()
}

/// An import report's new user ids, in row order.
fn imported_ids(report: &Value) -> Vec<&str> {
    let ids = report["userIds"].as_array().expect("the report's user ids");
    ids.iter().map(|id| id.as_str().unwrap()).collect()
}

/// An import larger than one bulk statement on either backend (500 users a statement on SQLite, 5,000 on
/// PostgreSQL): every statement's rows are written with their role grants, and a row whose email is taken,
/// in a later statement than the row that took it, fails alone and grants nothing.
async fn a_large_import_writes_every_statement_with_its_grants(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let existing = server.create_user(&token, &json!({"email": "taken@example.com", "displayName": "Taken"})).await;
    let roles_of = |body: &Value| body["userView"]["user"]["roleIds"].clone();
    let before = roles_of(&server.get(&format!("{USERS}/{existing}"), &token).await.1);
    let count = 5_200;
    let rows: Vec<Value> = (0..count)
        .map(|n| {
            let email = match n {
                600 => "TAKEN@example.com".to_string(),
                5_151 => "big3@example.com".to_string(),
                n => format!("big{n}@example.com"),
            };
            let mut row = json!({"email": email, "displayName": format!("Big {n}")});
            if n % 3 == 0 {
                row["roleIds"] = json!(["basic-user"]);
            }
            row
        })
        .collect();
    let (status, report) = server.post(&format!("{USERS}/import"), &token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["importedCount"], (count - 2).to_string(), "{}", report["errors"]);
    let errors = refused_rows(&report);
    assert_eq!(errors, [(600, "email"), (5_151, "email")], "{}", report["errors"]);
    let ids = imported_ids(&report);
    assert_eq!(ids.len(), count - 2);

    // Ids are in row order without the two failed rows: row n is ids[n] before row 600, ids[n - 1] after.
    for (row, id) in
        [(0, ids[0]), (4, ids[4]), (599, ids[599]), (603, ids[602]), (5_100, ids[5_099]), (5_199, ids[5_197])]
    {
        let (status, body) = server.get(&format!("{USERS}/{id}"), &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["userView"]["user"]["email"], format!("big{row}@example.com"), "{body}");
        let granted: &[&str] = if row % 3 == 0 { &["000000000000000000000005"] } else { &[] };
        let roles = roles_of(&body).as_array().cloned().unwrap_or_default();
        assert_eq!(roles, granted.iter().map(|role| json!(role)).collect::<Vec<_>>(), "row {row}: {body}");
    }
    let after = roles_of(&server.get(&format!("{USERS}/{existing}"), &token).await.1);
    assert_eq!(after, before, "the row that failed on the existing user's email granted it nothing");
}
both_backends!(a_large_import_writes_every_statement_with_its_grants);

/// An import whose first statement (5,000 rows on PostgreSQL) has no taken row and whose second has three:
/// the email of a user made before, the email of an earlier row of the same statement, and the username of
/// an earlier directory user (another unique index). On PostgreSQL the second statement is first tried as a
/// plain `INSERT`, fails on a unique index and is run again skipping those rows: the first statement's rows
/// stay, the second's other rows are written once, and the report is as if the rows had been skipped at once.
async fn an_import_after_a_clean_statement_skips_the_taken_rows_of_the_next(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    server.create_user(&token, &json!({"email": "held@example.com", "displayName": "Held"})).await;
    let count = 5_100;
    let rows: Vec<Value> = (0..count)
        .map(|n| {
            let email = match n {
                5_040 => "HELD@example.com".to_string(),
                5_070 => "next5060@example.com".to_string(),
                n => format!("next{n}@example.com"),
            };
            let mut row = json!({"email": email, "displayName": format!("Next {n}")});
            if n == 5_080 || n == 5_090 {
                row["origin"] = json!("USER_ORIGIN_DIRECTORY");
                row["usernames"] = json!(["shared-name"]);
            }
            row
        })
        .collect();
    let (status, report) = server.post(&format!("{USERS}/import"), &token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((&report["importedCount"], &report["skippedCount"]), (&json!("5097"), &json!("0")), "{report}");
    let errors = refused_rows(&report);
    assert_eq!(errors, [(5_040, "email"), (5_070, "email"), (5_090, "email")], "{}", report["errors"]);
    assert!(report["errors"][1]["message"].as_str().unwrap().contains("earlier row"), "{}", report["errors"]);
    let ids = imported_ids(&report);
    // Row n is ids[n] before row 5,040; the rows after each failed row move one place down.
    for (row, id) in [(0, ids[0]), (4_999, ids[4_999]), (5_000, ids[5_000]), (5_060, ids[5_059]), (5_099, ids[5_096])] {
        let (status, body) = server.get(&format!("{USERS}/{id}"), &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["userView"]["user"]["email"], format!("next{row}@example.com"), "{body}");
    }
    // Every imported user is there once: the first statement's were not rolled back with the second's
    // failed attempt, and the second's were not written twice.
    let live = server.all_pages(USERS, &token, 100).await.concat();
    assert_eq!(live.len(), 5_097 + 2, "the imported users, the earlier one and the bootstrap admin");

    // Run again with skipExisting and plain rows: the three that failed are imported now, every other row
    // is skipped (the first statement meets taken rows at once).
    let rows: Vec<Value> = (0..count)
        .map(|n| json!({"email": format!("next{n}@example.com"), "displayName": format!("Next {n}")}))
        .collect();
    let again = json!({"users": rows, "skipExisting": true});
    let (status, report) = server.post(&format!("{USERS}/import"), &token, &again).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((&report["importedCount"], &report["skippedCount"]), (&json!("3"), &json!("5097")), "{report}");
}
both_backends!(an_import_after_a_clean_statement_skips_the_taken_rows_of_the_next);

/// An import writes each user as a create would: every enum value, every list and object, empty or not
/// (the SQLite import binds enums as codes and empty JSON as NULL, and rebuilds the row in SQL).
async fn an_imported_user_reads_back_as_a_created_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let full = |who: &str| {
        json!({
            "email": format!("{who}@example.com"),
            "emails": [format!("{who}@example.com"), format!("{who}.alias@example.com")],
            "displayName": format!("Full {who}"),
            "status": "DISABLED",
            "directoryStatus": "DISABLED",
            "type": "USER_TYPE_SERVICE",
            "origin": "USER_ORIGIN_DIRECTORY",
            "department": "Research",
            "jobTitle": "Analyst",
            "employmentStatus": "Active",
            "employmentType": "Contractor",
            "usernames": [format!("{who}-name")],
            "employeeIds": [format!("{who}-1")],
            "profile": {"shirt": "M", "floor": 3},
            "departmentSources": [{"appId": "hr", "value": "Research", "priority": 1}],
        })
    };
    let minimal = |who: &str| json!({"email": format!("{who}.min@example.com"), "displayName": format!("Min {who}")});
    let rows = json!([full("imported"), minimal("imported")]);
    let (status, report) = server.post(&format!("{USERS}/import"), &token, &json!({"users": rows})).await;
    assert_eq!((status, &report["importedCount"]), (200, &json!("2")), "{report}");
    let imported = report["userIds"].as_array().unwrap().clone();
    let created =
        [server.create_user(&token, &full("created")).await, server.create_user(&token, &minimal("created")).await];
    // A user as read back, without what differs between any two users (id and times) and with the name
    // the rows were made for replaced.
    let read = |body: Value, who: &str| {
        let mut user = body["userView"]["user"].clone();
        for field in ["id", "createdAt", "updatedAt"] {
            user.as_object_mut().unwrap().remove(field);
        }
        user.to_string().replace(who, "WHO")
    };
    for (imported, created) in imported.iter().zip(&created) {
        let (status, body) = server.get(&format!("{USERS}/{}", imported.as_str().unwrap()), &token).await;
        assert_eq!(status, 200, "{body}");
        let imported = read(body, "imported");
        let created = read(server.get(&format!("{USERS}/{created}"), &token).await.1, "created");
        assert_eq!(imported, created);
        assert!(imported.contains("USER_TYPE_SERVICE") || imported.contains("\"Min WHO\""), "{imported}");
    }
}
both_backends!(an_imported_user_reads_back_as_a_created_one);

/// Every audit event of the tenant, oldest first.
async fn audit_events(server: &TestServer, token: &str) -> Vec<Value> {
    server.all_pages("/api/v1/audit-events", token, 100).await.concat()
}

async fn every_change_writes_an_audit_event(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (issued, token) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::Admin]).await;
    let actor_user = my_user_id(&server, &token).await;
    let id = server.create_user(&token, &json!({"email": "aud@example.com", "displayName": "Aud"})).await;
    let refused = server.post(USERS, &token, &json!({"email": "aud@example.com", "displayName": "Dup"})).await;
    assert_eq!(refused.0, 409);
    let update = json!({"user": {"jobTitle": "Auditor"}, "updateMask": "jobTitle"});
    assert_eq!(server.post(&format!("{USERS}/{id}"), &token, &update).await.0, 200);
    assert_eq!(server.delete(&format!("{USERS}/{id}"), &token).await.0, 200);
    let imported = import_many(&server, &token, "audited", 2).await;

    let events = audit_events(&server, &server.admin_token().await).await;
    let mine: Vec<&Value> =
        events.iter().filter(|e| e["actorCredentialId"] == issued.credential_id.to_string()).collect();
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.create", "user.update", "user.delete", "user.import"], "one event per change: {mine:?}");
    for event in &mine {
        assert_eq!(event["actorUserId"], actor_user, "{event}");
        assert_eq!(event["objectType"], "user", "{event}");
        assert!(event["requestId"].as_str().is_some_and(|r| !r.is_empty()), "a request id: {event}");
        assert!(event["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')), "a UTC time: {event}");
    }
    let (create, update, delete, import) = (mine[0], mine[1], mine[2], mine[3]);
    assert_eq!(create["objectId"], id);
    assert_eq!(create["before"], Value::Null, "{create}");
    assert_eq!((&create["after"]["email"], &create["after"]["id"]), (&json!("aud@example.com"), &json!(id)));
    assert_eq!((&update["objectId"], &update["before"]["jobTitle"]), (&json!(id), &json!("")), "{update}");
    assert_eq!(update["after"]["jobTitle"], "Auditor", "{update}");
    assert_eq!(delete["objectId"], id);
    assert_eq!((&delete["before"]["status"], &delete["after"]["status"]), (&json!("ENABLED"), &json!("DELETED")));
    assert_eq!(import["after"]["userIds"], json!(imported), "{import}");
}
both_backends!(every_change_writes_an_audit_event);
