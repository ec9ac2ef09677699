//! Authorization and tenancy over HTTP: every built-in role against one endpoint per permission, tenants
//! that cannot see each other, and API keys stored only as hashes.

use onramp_domain::BuiltinRole;
use onramp_store::Actor;
use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error};

/// One call per permission the API checks today, with the roles that must be allowed it.
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    allowed: &'static [BuiltinRole],
}

const ALL: &[BuiltinRole] = &BuiltinRole::ALL;
const READERS: &[BuiltinRole] =
    &[BuiltinRole::SuperAdmin, BuiltinRole::Admin, BuiltinRole::ReadOnlyAdmin, BuiltinRole::DirectoryAdmin];
const AUDITORS: &[BuiltinRole] = &[BuiltinRole::SuperAdmin, BuiltinRole::Admin, BuiltinRole::ReadOnlyAdmin];
const WRITERS: &[BuiltinRole] = &[BuiltinRole::SuperAdmin, BuiltinRole::Admin];

const CASES: &[Case] = &[
    Case { name: "introspect (self:read)", method: "GET", path: "/api/v1/auth/introspect", allowed: ALL },
    Case { name: "list users (user:read)", method: "GET", path: "/api/v1/users", allowed: READERS },
    Case { name: "list roles (role:read)", method: "GET", path: "/api/v1/iam/roles", allowed: READERS },
    Case { name: "audit log (audit:read)", method: "GET", path: "/api/v1/audit-events", allowed: AUDITORS },
    Case { name: "search users (user:read)", method: "POST", path: "/api/v1/search/users", allowed: READERS },
    Case { name: "create user (user:write)", method: "POST", path: "/api/v1/users", allowed: WRITERS },
];

async fn every_role_gets_exactly_its_permissions(backend: Backend) {
    let server = TestServer::start(backend).await;
    for (index, role) in BuiltinRole::ALL.into_iter().enumerate() {
        let (_, token) = server.credential_with_roles(&format!("{}@example.com", role.name()), &[role]).await;
        for case in CASES {
            let response = match case.method {
                "GET" => server.get(case.path, &token).await,
                _ => {
                    let body = json!({"email": format!("new{index}@example.com"), "displayName": "New"});
                    server.post(case.path, &token, &body).await
                }
            };
            let what = format!("{} as {}", case.name, role.name());
            if case.allowed.contains(&role) {
                assert_eq!(response.0, 200, "{what} must be allowed: {}", response.1);
            } else {
                assert_api_error(&what, &response, 403, 7);
                let message = response.1["message"].as_str().unwrap();
                assert!(message.contains("permission denied"), "{what}: {message}");
            }
        }
    }
    // A refused write changed nothing: only the users made by the allowed roles exist.
    let admin = server.admin_token().await;
    let users = server.get("/api/v1/users?page_size=100", &admin).await.1;
    let created: Vec<&str> = users["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|view| view["user"]["email"].as_str())
        .filter(|email| email.starts_with("new"))
        .collect();
    assert_eq!(created, ["new0@example.com", "new1@example.com"], "{users}");
}
both_backends!(every_role_gets_exactly_its_permissions);

async fn tenants_do_not_see_each_other(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (tenant, issued) = onramp::admin::new_tenant("other", "boss@other.example", "127.0.0.1").unwrap();
    server.store.create_tenant(&tenant).await.unwrap();
    let theirs = server.token_for(&issued.client_id, issued.client_secret.expose()).await;
    let ours = server.admin_token().await;
    let (status, created) =
        server.post("/api/v1/users", &ours, &json!({"email": "ada@example.com", "displayName": "Ada"})).await;
    assert_eq!(status, 200, "{created}");
    let ada = created["userView"]["user"]["id"].as_str().unwrap().to_string();

    let path = format!("/api/v1/users/{ada}");
    assert_api_error("another tenant's user", &server.get(&path, &theirs).await, 404, 5);
    assert_eq!(server.get(&path, &ours).await.0, 200);

    // Each tenant lists only its own users and its own audit events.
    let their_users = server.get("/api/v1/users", &theirs).await.1;
    let emails: Vec<_> = their_users["list"].as_array().unwrap().iter().map(|v| v["user"]["email"].clone()).collect();
    assert_eq!(emails, [json!("boss@other.example")]);
    let their_events = server.get("/api/v1/audit-events?page_size=100", &theirs).await.1;
    let events = their_events["list"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|event| event["objectId"] != json!(ada)), "{their_events}");

    // The same email may exist once in each tenant.
    let (status, body) =
        server.post("/api/v1/users", &theirs, &json!({"email": "ada@example.com", "displayName": "Ada"})).await;
    assert_eq!(status, 200, "{body}");
}
both_backends!(tenants_do_not_see_each_other);

async fn api_keys_are_stored_hashed_and_revocable(backend: Backend) {
    let server = TestServer::start(backend).await;
    let tenant = server.bootstrap.tenant_id;
    let (id, key) = onramp::admin::create_api_key(
        server.store.as_ref(),
        tenant,
        "intake@example.com",
        &[BuiltinRole::DirectoryAdmin],
        "intake",
    )
    .await
    .unwrap();
    let key = key.expose().clone();
    assert_eq!(key.len(), 64, "256 bits as hex");
    let stored = server.store.list_api_keys(&tenant).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].key_hash, key, "the key itself is never stored");
    assert_eq!(stored[0].key_hash, onramp_core::auth::api_key::hash(&key));
    let grant = server.store.api_key_by_hash(&stored[0].key_hash).await.unwrap();
    assert_eq!(grant.user.email_str(), "intake@example.com");

    server.store.revoke_api_key(&Actor::system(tenant), &id).await.unwrap();
    assert!(matches!(server.store.api_key_by_hash(&stored[0].key_hash).await, Err(onramp_store::StoreError::NotFound)));
    let events = server.get("/api/v1/audit-events?page_size=100", &server.admin_token().await).await.1;
    let actions: Vec<_> = events["list"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"api_key.create") && actions.contains(&"api_key.revoke"), "{actions:?}");
}
both_backends!(api_keys_are_stored_hashed_and_revocable);
