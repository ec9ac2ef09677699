//! The official ConductorOne Python SDK as a real client: `tests/python/sdk_users_roles.py` drives users,
//! roles and introspection through it against a running server, `tests/python/sdk_apps_owners.py` apps
//! and app owners (v1), and `tests/python/sdk_search.py` user search paged with the SDK's `.next()`; each
//! checks the typed objects the SDK returns.
//!
//! The interpreter is `ONRAMP_TEST_PYTHON` or `python3`, with `conductorone-sdk==0.17.2` installed. Without
//! the SDK these tests are ignored, with the reason in `cargo test`'s summary (see `build.rs`); CI must run
//! them, so there a missing SDK fails the build.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::python::python;
use crate::support::{Backend, TestServer};

async fn python_sdk_reads_users_and_roles(backend: Backend) {
    let python = python();
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let boss = server.create_user(&token, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    let mut specs = vec![
        json!({"email": "boss@example.com", "displayName": "Boss"}),
        json!({"email": "svc@example.com", "displayName": "Service", "type": "USER_TYPE_SERVICE",
               "status": "DISABLED", "roleIds": ["read-only-admin", "basic-user"], "managerIds": [boss]}),
    ];
    // Twelve more, so that the SDK pages: 15 users with the admin, ten to a page.
    specs.extend((0..12).map(|n| json!({"email": format!("user{n}@example.com"), "displayName": format!("User {n}")})));
    let mut expected = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let id = if i == 0 { boss.clone() } else { server.create_user(&token, spec).await };
        let (status, body) = server.get(&format!("/api/v1/users/{id}"), &token).await;
        assert_eq!(status, 200, "{body}");
        let user = &body["userView"]["user"];
        expected.push(json!({
            "id": id,
            "email": spec["email"],
            "displayName": spec["displayName"],
            "status": spec.get("status").cloned().unwrap_or(json!("ENABLED")),
            "type": spec.get("type").cloned().unwrap_or(json!("USER_TYPE_HUMAN")),
            "roleIds": user.get("roleIds").cloned().unwrap_or(json!([])),
            "managerIds": spec.get("managerIds").cloned().unwrap_or(json!([])),
        }));
    }
    // And a user an IdP provisioned without an email: the SDK parses its `"email": ""` and absent emails.
    let scim_token = crate::scim::scim_token(&server, onramp_domain::BuiltinRole::Admin).await;
    let body = json!({"schemas": [crate::scim::USER_SCHEMA], "userName": "svc-sdk", "displayName": "No Mail"});
    let created = crate::scim::scim(&server, &scim_token, "POST", "/scim/v2/Users", Some(&body), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    expected.push(json!({
        "id": created.body["id"], "email": "", "displayName": "No Mail", "status": "ENABLED",
        "type": "USER_TYPE_HUMAN", "roleIds": [],
    }));
    let svc_roles = &expected[1]["roleIds"];
    assert_eq!(svc_roles.as_array().map(Vec::len), Some(2), "the service user has two roles: {svc_roles}");

    let expected = Value::Array(expected).to_string();
    let env = [("ONRAMP_ADMIN_EMAIL", "admin@example.com"), ("ONRAMP_EXPECTED_USERS", expected.as_str())];
    let stdout = run_script_ok(&server, &python, "sdk_users_roles.py", &env).await;
    assert!(stdout.contains("ok: 15 users"), "the script reports its checks: {stdout}");

    // The script is no rubber stamp: a wrong expectation makes it fail, saying what differed.
    let env = [("ONRAMP_ADMIN_EMAIL", "someone-else@example.com"), ("ONRAMP_EXPECTED_USERS", expected.as_str())];
    let output = run_script(&server, &python, "sdk_users_roles.py", &env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a mismatch exits 1: {stderr}");
    assert!(stderr.contains("mismatch: user introspect: email"), "the mismatch is named: {stderr}");
}
both_backends!(python_sdk_reads_users_and_roles, needs python_sdk);

async fn python_sdk_drives_apps_and_owners(backend: Backend) {
    let python = python();
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let mut users = Vec::new();
    for (email, name) in [("ada@example.com", "Ada"), ("bob@example.com", "Bob"), ("cy@example.com", "Cy")] {
        let id = server.create_user(&token, &json!({"email": email, "displayName": name})).await;
        users.push(json!({"id": id, "email": email, "displayName": name}));
    }
    let owners = Value::Array(users.clone()).to_string();
    let stdout = run_script_ok(&server, &python, "sdk_apps_owners.py", &[("ONRAMP_OWNER_USERS", &owners)]).await;
    assert!(stdout.contains("ok: 23 apps"), "the script reports its checks: {stdout}");

    // What the SDK did is on the server: every app it created but the one it deleted.
    let pages = server.all_pages("/api/v1/apps", &token, 100).await;
    let names: Vec<&str> = pages.iter().flatten().map(|app| app["displayName"].as_str().unwrap_or_default()).collect();
    let want: Vec<String> = (0..22).map(|n| format!("App {n}")).collect();
    assert_eq!(names, want, "the SDK's apps, without the one it deleted");

    // The script is no rubber stamp: a wrong expectation makes it fail, saying what differed. Run on a fresh
    // server, as the script expects a tenant without apps.
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let mut wrong = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let email = user["email"].as_str().unwrap_or_default();
        let id = server.create_user(&token, &json!({"email": email, "displayName": user["displayName"]})).await;
        let display_name = if i == 1 { "Not Bob" } else { user["displayName"].as_str().unwrap_or_default() };
        wrong.push(json!({"id": id, "email": email, "displayName": display_name}));
    }
    let wrong = Value::Array(wrong).to_string();
    let output = run_script(&server, &python, "sdk_apps_owners.py", &[("ONRAMP_OWNER_USERS", &wrong)]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a mismatch exits 1: {stderr}");
    assert!(stderr.contains("mismatch: app_owners.list: (id, email, display_name)"), "the mismatch is named: {stderr}");
}
both_backends!(python_sdk_drives_apps_and_owners, needs python_sdk);

async fn python_sdk_pages_a_search_with_next(backend: Backend) {
    let python = python();
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let boss = server.create_user(&token, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    // 23 users match `harbor`: exact words first, then prefixes, each group in id order (creation order).
    let mut exact = Vec::new();
    let mut prefix = Vec::new();
    for n in 0..23 {
        let (name, group) = if n % 3 == 0 { ("Harbormaster", &mut prefix) } else { ("Harbor", &mut exact) };
        let body = json!({"email": format!("h{n}@example.com"), "displayName": format!("{name} {n}"),
                          "department": "Docks", "managerIds": [boss]});
        group.push(server.create_user(&token, &body).await);
    }
    let ids: Vec<String> = exact.iter().chain(&prefix).cloned().collect();
    let mut department_ids = ids.clone();
    department_ids.sort();
    let spec = json!({"query": "harbor", "ids": ids, "department": "Docks", "departmentIds": department_ids,
                      "managerId": boss});
    let stdout = run_script_ok(&server, &python, "sdk_search.py", &[("ONRAMP_SEARCH", &spec.to_string())]).await;
    assert!(stdout.contains("ok: 23 users over 3 pages"), "the script reports its checks: {stdout}");

    // A wrong expectation fails the script: the order is checked, not only the set.
    let mut swapped = spec.clone();
    swapped["ids"].as_array_mut().unwrap().swap(0, 1);
    let output = run_script(&server, &python, "sdk_search.py", &[("ONRAMP_SEARCH", &swapped.to_string())]).await;
    assert_eq!(output.status.code(), Some(1), "a swapped order must fail: {}", String::from_utf8_lossy(&output.stderr));
}
both_backends!(python_sdk_pages_a_search_with_next, needs python_sdk);

/// Runs a script as [`run_script`] does and returns its standard output, failing the test (with both outputs)
/// unless it exits 0.
async fn run_script_ok(server: &TestServer, python: &str, script: &str, env: &[(&str, &str)]) -> String {
    let output = run_script(server, python, script, env).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{script} failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    stdout.into_owned()
}

/// Runs `tests/python/<script>` against `server` with the bootstrap credential and `env`, off the runtime's
/// worker threads. No bytecode is written next to the scripts.
async fn run_script(server: &TestServer, python: &str, script: &str, env: &[(&str, &str)]) -> std::process::Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let mut command = Command::new(python);
    command
        .arg(script)
        .env("ONRAMP_URL", &server.base_url)
        .env("ONRAMP_CLIENT_ID", &server.bootstrap.client_id)
        .env("ONRAMP_CLIENT_SECRET", server.bootstrap.client_secret.expose())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("ONRAMP_TOKEN")
        .envs(env.iter().copied());
    tokio::task::spawn_blocking(move || command.output().expect("the Python interpreter runs"))
        .await
        .expect("the script's thread")
}
