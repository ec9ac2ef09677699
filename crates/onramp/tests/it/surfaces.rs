//! One application core under every surface (issue #12): a user written through each surface is found by
//! the very next search, with no surface doing anything for it. The core catches the node's index up at the
//! commit of every write that touched users (`onramp_core::Core::write`); these tests go through every
//! surface that writes users: the user API (create, update, delete, import), the invitation API's accept,
//! the invitee's HTML form, `/onboards` (a profile step and completion), and the `onramp import users`
//! command, which writes from another process and reaches the server's index through the change feed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::flows::create_flow_id;
use crate::invitations::{PASSWORD, accept, invite, invite_token};
use crate::onboards::{Auth, complete, onboard_id_of, put_onboard};
use crate::support::process::{self, database_args};
use crate::support::{Backend, TestServer};

const SEARCH: &str = "/api/v1/search/users";

/// The emails the first page of a search for `body` answers (200 required).
async fn found(server: &TestServer, token: &str, body: Value) -> Vec<String> {
    let (status, page) = server.post(SEARCH, token, &body).await;
    assert_eq!(status, 200, "search {body}: {page}");
    let list = page["list"].as_array().unwrap_or_else(|| panic!("no list: {page}"));
    list.iter().map(|view| view["user"]["email"].as_str().expect("an email").to_string()).collect()
}

/// The emails a text search for `words` finds.
async fn found_by_text(server: &TestServer, token: &str, words: &str) -> Vec<String> {
    found(server, token, json!({"query": words, "pageSize": 100})).await
}

async fn the_user_api_writes_show_in_the_next_search(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;

    let id = server.create_user(&token, &json!({"email": "quill@example.com", "displayName": "Quill Zephyr"})).await;
    assert_eq!(found_by_text(&server, &token, "zephyr").await, ["quill@example.com"], "created");

    let update = json!({"user": {"displayName": "Quill Xylophonist"}, "updateMask": "displayName"});
    let (status, body) = server.post(&format!("/api/v1/users/{id}"), &token, &update).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(found_by_text(&server, &token, "xylophonist").await, ["quill@example.com"], "updated");
    let by_title = json!({"user": {"jobTitle": "Harpist"}, "updateMask": "jobTitle"});
    let (status, body) = server.post(&format!("/api/v1/users/{id}"), &token, &by_title).await;
    assert_eq!(status, 200, "{body}");
    let harpists = json!({"jobTitles": ["Harpist"]});
    assert_eq!(found(&server, &token, harpists).await, ["quill@example.com"], "updated, by a filter");

    let (status, body) = server.delete(&format!("/api/v1/users/{id}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(found_by_text(&server, &token, "zephyr").await.is_empty(), "deleted users are not found by default");

    let rows = json!([
        {"email": "ima@example.com", "displayName": "Ima Quokka"},
        {"email": "ivo@example.com", "displayName": "Ivo Quokka"},
    ]);
    let (status, report) = server.post("/api/v1/users/import", &token, &json!({"users": rows})).await;
    assert_eq!(status, 200, "{report}");
    let mut imported = found_by_text(&server, &token, "quokka").await;
    imported.sort();
    assert_eq!(imported, ["ima@example.com", "ivo@example.com"], "imported");
}
both_backends!(the_user_api_writes_show_in_the_next_search);

async fn acceptances_through_the_api_and_the_form_show_in_the_next_search(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Surfaces", Value::Null).await;

    invite(&server, &token, &directory, "api@example.com", Value::Null).await;
    let secret = invite_token(&server, "api@example.com").await;
    let (status, body) = accept(&server, &secret, "Wombat Api", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(found_by_text(&server, &token, "wombat").await, ["api@example.com"], "accepted through the API");

    invite(&server, &token, &directory, "form@example.com", Value::Null).await;
    let secret = invite_token(&server, "form@example.com").await;
    let page = format!("/invite/{secret}");
    let form = [("displayName", "Narwhal Form"), ("password", PASSWORD)];
    let response = crate::account::Browser::new(&server, "form").submit(&page, &page, &form).await;
    assert_eq!(response.status, 200, "{}", response.html);
    assert_eq!(found_by_text(&server, &token, "narwhal").await, ["form@example.com"], "accepted through the form");
}
both_backends!(acceptances_through_the_api_and_the_form_show_in_the_next_search);

async fn onboard_steps_and_completion_show_in_the_next_search(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let steps = json!([{"key": "profile", "completeProfile": {"requiredFields": ["jobTitle"]}}]);
    let flow = create_flow_id(&server, &token, "Profile", steps).await;
    let directory = create_directory(&server, &token, "Onboarding", json!({"onboardingFlowId": flow})).await;
    invite(&server, &token, &directory, "otto@example.com", Value::Null).await;
    let secret = invite_token(&server, "otto@example.com").await;
    let (status, accepted) = accept(&server, &secret, "Otto Onboard", PASSWORD).await;
    assert_eq!(status, 200, "{accepted}");
    let id = onboard_id_of(&accepted);
    let disabled = json!({"query": "otto", "userStatuses": ["DISABLED"]});
    assert_eq!(found(&server, &token, disabled.clone()).await, ["otto@example.com"], "held DISABLED");

    let invitee = Auth::invitee("otto@example.com");
    let profile = json!({"displayName": "Otto Lighthouse", "jobTitle": "Keeper"});
    complete(&server, &invitee, &id, "profile", profile).await;
    assert_eq!(found_by_text(&server, &token, "lighthouse").await, ["otto@example.com"], "the profile step");

    let (status, completed) =
        put_onboard(&server, &Auth::Bearer(token.clone()), &id, json!({"status": "completed"})).await;
    assert_eq!(status, 200, "{completed}");
    let enabled = json!({"query": "otto", "userStatuses": ["ENABLED"]});
    assert_eq!(found(&server, &token, enabled).await, ["otto@example.com"], "enabled by the completion");
    assert!(found(&server, &token, disabled).await.is_empty(), "no longer DISABLED");
}
both_backends!(onboard_steps_and_completion_show_in_the_next_search);

/// The command line writes from its own process, so no core of the server sees the write: the server's
/// feed poll (every 500 ms) brings it in, well within the deadline.
async fn the_command_line_import_reaches_a_live_servers_search(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let file = server.database.dir.path().join("users.jsonl");
    std::fs::write(&file, "{\"email\": \"cli@example.com\", \"displayName\": \"Capybara Cli\"}\n").unwrap();
    let file = file.display().to_string();
    let mut args = vec!["import".to_string(), "users".to_string(), file];
    args.extend(database_args(&server.database, backend));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = process::run(&args, server.database.dir.path()).await;
    assert!(finished.status.success(), "{}\n{}", finished.stdout, finished.stderr);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hits = found_by_text(&server, &token, "capybara").await;
        if hits == ["cli@example.com"] {
            break;
        }
        assert!(Instant::now() < deadline, "the command line's import never reached the index: {hits:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
both_backends!(the_command_line_import_reaches_a_live_servers_search);
