//! Apps over HTTP: create, get, list with paging, update with a field mask, soft delete; validation; the
//! tenant wall; the read-only admin; audit events. The helpers at the top are shared with `app_owners`.

use onramp_domain::user::User;
use onramp_domain::{BuiltinRole, Email, Id, Timestamp};
use onramp_store::Actor;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error, read};

/// Any request with a bearer token and an optional JSON body; returns (status, JSON body).
pub async fn send(server: &TestServer, method: Method, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = server.http.request(method, server.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    read(request.send().await.expect("request")).await
}

/// Creates an app named `name` and returns its id.
pub async fn create_app(server: &TestServer, token: &str, name: &str) -> String {
    let (status, body) = server.post("/api/v1/apps", token, &json!({ "displayName": name })).await;
    assert_eq!(status, 200, "create app {name}: {body}");
    body["app"]["id"].as_str().expect("app.id").to_string()
}

/// Creates an enabled user in the default tenant, through the store, and returns its id.
pub async fn create_user(server: &TestServer, email: &str) -> String {
    let tenant = server.bootstrap.tenant_id;
    let user = User::new(tenant, Email::parse(email).unwrap(), email.split('@').next().unwrap(), Timestamp::now());
    server.store.create_user(&Actor::system(tenant), &user).await.expect("user created");
    user.id.to_string()
}

/// Marks a user of the default tenant DELETED, through the store.
pub async fn delete_user(server: &TestServer, id: &str) {
    let tenant = server.bootstrap.tenant_id;
    let user = server.store.get_user(&tenant, &id.parse::<Id>().unwrap()).await.expect("the user");
    server.store.delete_user(&Actor::system(tenant), &user).await.expect("user deleted");
}

/// A second tenant and a super-admin token in it.
pub async fn other_tenant_token(server: &TestServer) -> String {
    let (tenant, issued) = onramp::admin::new_tenant("other", "admin@other.example", "127.0.0.1").unwrap();
    server.store.create_tenant(&tenant).await.expect("tenant created");
    server.token_for(&issued.client_id, issued.client_secret.expose()).await
}

/// Every audit event of the default tenant as (action, objectId), oldest first.
pub async fn audit_actions(server: &TestServer, token: &str) -> Vec<(String, String)> {
    let mut actions = Vec::new();
    let mut page_token = String::new();
    loop {
        let (status, body) =
            server.get(&format!("/api/v1/audit-events?page_size=100&page_token={page_token}"), token).await;
        assert_eq!(status, 200, "{body}");
        for event in body["list"].as_array().unwrap() {
            actions.push((event["action"].as_str().unwrap().into(), event["objectId"].as_str().unwrap().into()));
        }
        page_token = body["nextPageToken"].as_str().unwrap_or_default().to_string();
        if page_token.is_empty() {
            return actions;
        }
    }
}

async fn create_get_update_delete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let create = json!({
        "displayName": "Wiki",
        "description": "the team wiki",
        "monthlyCostUsd": 7,
        "identityMatching": "APP_USER_IDENTITY_MATCHING_STRICT",
        "grantPolicyId": "grant-1",
        "annotations": {"managed_by": "terraform"},
        "owners": null,
        "matchBatonRef": null,
    });
    let (status, created) = server.post("/api/v1/apps", &token, &create).await;
    assert_eq!(status, 200, "{created}");
    let app = &created["app"];
    let id = app["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 24, "{created}");
    assert_eq!(app["displayName"], "Wiki");
    assert_eq!(app["monthlyCostUsd"], 7);
    assert_eq!(app["identityMatching"], "APP_USER_IDENTITY_MATCHING_STRICT");
    assert_eq!(app["userCount"], "0", "64-bit integers are strings: {created}");
    assert_eq!(app["annotations"]["managed_by"], "terraform");
    assert!(app["createdAt"].as_str().unwrap().ends_with('Z'), "{created}");
    assert!(app.get("deletedAt").is_none(), "{created}");

    let (status, got) = server.get(&format!("/api/v1/apps/{id}"), &token).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["app"], created["app"], "get answers what create did");

    // The mask names what changes: the description in the body is not in it and stays.
    let update = json!({"app": {"displayName": "Wiki 2", "description": "ignored", "iconUrl": "https://x.example/i.png"},
        "updateMask": "displayName,iconUrl"});
    let (status, updated) = server.post(&format!("/api/v1/apps/{id}"), &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["app"]["displayName"], "Wiki 2");
    assert_eq!(updated["app"]["iconUrl"], "https://x.example/i.png");
    assert_eq!(updated["app"]["description"], "the team wiki");
    assert_eq!(updated["app"]["monthlyCostUsd"], 7);
    assert_ne!(updated["app"]["updatedAt"], created["app"]["updatedAt"]);

    // The mask as {"paths": [...]}, snake_case accepted; a masked field absent from the body is cleared.
    let update = json!({"app": {"monthly_cost_usd": 9}, "update_mask": {"paths": ["monthly_cost_usd", "description"]}});
    let (status, updated) = server.post(&format!("/api/v1/apps/{id}"), &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["app"]["monthlyCostUsd"], 9);
    assert_eq!(updated["app"]["description"], "");

    // No mask: the fields sent are the fields changed.
    let (status, updated) = server
        .post(&format!("/api/v1/apps/{id}"), &token, &json!({"app": {"description": "again"}, "updateMask": null}))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["app"]["description"], "again");
    assert_eq!(updated["app"]["displayName"], "Wiki 2");

    for (case, body) in [
        ("unknown mask path", json!({"app": {}, "updateMask": "displayName,colour"})),
        ("read-only mask path", json!({"app": {}, "updateMask": "userCount"})),
        ("empty display name", json!({"app": {"displayName": ""}, "updateMask": "displayName"})),
        ("no app", json!({"updateMask": "displayName"})),
        ("unknown enum value", json!({"app": {"identityMatching": "FUZZY"}, "updateMask": "identityMatching"})),
    ] {
        let response = server.post(&format!("/api/v1/apps/{id}"), &token, &body).await;
        assert_api_error(case, &response, 400, 3);
    }

    let (status, body) = send(&server, Method::DELETE, &format!("/api/v1/apps/{id}"), &token, Some(&json!({}))).await;
    assert_eq!((status, body), (200, json!({})));
    let response = server.get(&format!("/api/v1/apps/{id}"), &token).await;
    assert_api_error("get a deleted app", &response, 404, 5);
    let response = server.post(&format!("/api/v1/apps/{id}"), &token, &json!({"app": {"displayName": "x"}})).await;
    assert_api_error("update a deleted app", &response, 404, 5);
    let response = send(&server, Method::DELETE, &format!("/api/v1/apps/{id}"), &token, None).await;
    assert_api_error("delete a deleted app", &response, 404, 5);
    let (status, list) = server.get("/api/v1/apps", &token).await;
    assert_eq!(status, 200, "{list}");
    assert!(list["list"].as_array().is_none_or(|apps| apps.is_empty()), "a deleted app is not listed: {list}");

    let actions = audit_actions(&server, &token).await;
    let for_app: Vec<&str> = actions.iter().filter(|(_, object)| *object == id).map(|(a, _)| a.as_str()).collect();
    assert_eq!(for_app, ["app.create", "app.update", "app.update", "app.update", "app.delete"], "{actions:?}");
}
both_backends!(create_get_update_delete);

async fn list_pages_walk_every_app_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let mut created = Vec::new();
    for n in 0..23 {
        created.push(create_app(&server, &token, &format!("app {n}")).await);
    }
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = Vec::new();
    loop {
        let (status, body) = server.get(&format!("/api/v1/apps?page_size=10&page_token={page_token}"), &token).await;
        assert_eq!(status, 200, "{body}");
        let list = body["list"].as_array().unwrap();
        pages.push(list.len());
        seen.extend(list.iter().map(|app| app["id"].as_str().unwrap().to_string()));
        page_token = body["nextPageToken"].as_str().unwrap().to_string();
        if page_token.is_empty() {
            break;
        }
        assert!(pages.len() < 5, "paging does not end");
    }
    assert_eq!(pages, [10, 10, 3]);
    assert_eq!(seen, created, "every app exactly once, in creation order");

    // A token changed by one character, or one of another query, is refused.
    let (_, first) = server.get("/api/v1/apps?page_size=10", &token).await;
    let good = first["nextPageToken"].as_str().unwrap().to_string();
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response = server.get(&format!("/api/v1/apps?page_size=10&page_token={tampered}"), &token).await;
    assert_api_error("tampered page token", &response, 400, 3);
    let response = server.get(&format!("/api/v1/audit-events?page_token={good}"), &token).await;
    assert_api_error("a page token of another query", &response, 400, 3);
}
both_backends!(list_pages_walk_every_app_once);

async fn bad_input_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for (case, body, field) in [
        ("no display name", json!({"description": "x"}), "displayName"),
        ("unknown enum", json!({"displayName": "a", "identityMatching": "FUZZY"}), "identityMatching"),
        ("reserved annotation", json!({"displayName": "a", "annotations": {"c1/x": "y"}}), "annotations"),
        ("bad owner id", json!({"displayName": "a", "owners": ["nope"]}), "owners[0]"),
        (
            "entitlement owners",
            json!({"displayName": "a", "appEntitlementOwnerRefs": [{"id": "x"}]}),
            "appEntitlementOwnerRefs",
        ),
        ("a string for a number", json!({"displayName": "a", "monthlyCostUsd": "x"}), "monthlyCostUsd"),
    ] {
        let response = server.post("/api/v1/apps", &token, &body).await;
        assert_api_error(case, &response, 400, 3);
        assert!(response.1["message"].as_str().unwrap().contains(field), "{case}: {}", response.1);
    }
    for (method, path) in
        [(Method::GET, "/api/v1/apps/nope"), (Method::POST, "/api/v1/apps/123"), (Method::DELETE, "/api/v1/apps/x")]
    {
        let response = send(&server, method, path, &token, Some(&json!({"app": {}}))).await;
        assert_api_error(path, &response, 400, 3);
        assert!(response.1["message"].as_str().unwrap().contains("id"), "{path}: {}", response.1);
    }
    let unknown = Id::new();
    let response = server.get(&format!("/api/v1/apps/{unknown}"), &token).await;
    assert_api_error("unknown app", &response, 404, 5);
    assert!(response.1["message"].as_str().unwrap().contains(&unknown.to_string()), "{}", response.1);

    // An owner that is no user refuses the whole create: no app is left behind.
    let response =
        server.post("/api/v1/apps", &token, &json!({"displayName": "a", "owners": [unknown.to_string()]})).await;
    assert_api_error("unknown owner", &response, 404, 5);
    let (_, list) = server.get("/api/v1/apps", &token).await;
    assert!(list["list"].as_array().is_none_or(|apps| apps.is_empty()), "{list}");
}
both_backends!(bad_input_is_refused);

async fn another_tenant_sees_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let id = create_app(&server, &token, "Ours").await;
    let theirs = other_tenant_token(&server).await;
    let path = format!("/api/v1/apps/{id}");
    assert_api_error("their get", &server.get(&path, &theirs).await, 404, 5);
    let update = json!({"app": {"displayName": "Theirs"}, "updateMask": "displayName"});
    assert_api_error("their update", &server.post(&path, &theirs, &update).await, 404, 5);
    assert_api_error("their delete", &send(&server, Method::DELETE, &path, &theirs, None).await, 404, 5);
    let (status, list) = server.get("/api/v1/apps", &theirs).await;
    assert_eq!(status, 200, "{list}");
    assert!(list["list"].as_array().is_none_or(|apps| apps.is_empty()), "{list}");
    let (status, ours) = server.get(&path, &token).await;
    assert_eq!((status, ours["app"]["displayName"].as_str()), (200, Some("Ours")), "unchanged: {ours}");
}
both_backends!(another_tenant_sees_nothing);

async fn read_only_admin_reads_but_cannot_write(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let id = create_app(&server, &token, "Wiki").await;
    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let path = format!("/api/v1/apps/{id}");
    assert_eq!(server.get(&path, &reader).await.0, 200);
    assert_eq!(server.get("/api/v1/apps", &reader).await.0, 200);
    assert_api_error("create", &server.post("/api/v1/apps", &reader, &json!({"displayName": "x"})).await, 403, 7);
    let update = json!({"app": {"displayName": "x"}, "updateMask": "displayName"});
    assert_api_error("update", &server.post(&path, &reader, &update).await, 403, 7);
    assert_api_error("delete", &send(&server, Method::DELETE, &path, &reader, None).await, 403, 7);
    // A basic user may not even read apps.
    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("basic user reads", &server.get(&path, &basic).await, 403, 7);
}
both_backends!(read_only_admin_reads_but_cannot_write);
