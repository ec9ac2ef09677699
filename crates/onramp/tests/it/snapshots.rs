//! Snapshots of the JSON bodies of every served endpoint, so that a change in the wire form shows up in
//! review. Ids, times, tokens and client ids are redacted; both backends compare against the same snapshot
//! file, so SQLite and PostgreSQL must answer byte for byte alike.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test it snapshots`, read every changed `.snap` file
//! against `api/CONVENTIONS.md`, and commit them; CI (`CI=true`) never writes snapshots.

use reqwest::Method;
use serde_json::{Value, json};

use crate::apps::send;
use crate::both_backends;
use crate::support::{Backend, TestServer};

/// A well-formed id that no row has; error messages that name it stay stable.
const UNKNOWN_ID: &str = "0123456789abcdef01234567";

/// Whether `text` is a 24-hex id.
fn is_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The built-in roles' ids (`000000000000000000000001`…) are the same in every deployment: kept.
fn is_role_id(text: &str) -> bool {
    is_id(text) && text.starts_with("0000000000000000000000")
}

/// Whether `text` is an RFC 3339 UTC time such as `2023-11-07T05:31:56.123456Z`.
fn is_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    text.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && digits(17..19)
        && text.ends_with('Z')
}

/// Replaces what differs from run to run: every id but the roles' with `[id]`, every time with `[time]`,
/// access tokens with `[token]`, page tokens with `[page-token]` and client ids with `[client-id]`.
fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let redacted = match (key.as_str(), value) {
                        ("access_token", Value::String(_)) => json!("[token]"),
                        ("nextPageToken", Value::String(text)) if !text.is_empty() => json!("[page-token]"),
                        ("clientId", Value::String(_)) => json!("[client-id]"),
                        _ => redact(value),
                    };
                    (key.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(text) if is_id(text) && !is_role_id(text) => json!("[id]"),
        Value::String(text) if is_time(text) => json!("[time]"),
        other => other.clone(),
    }
}

/// Snapshots a response that must have succeeded with 200.
macro_rules! snapshot_ok {
    ($name:literal, $response:expr) => {{
        let (status, body) = $response;
        assert_eq!(status, 200, "{}: {body}", $name);
        insta::assert_json_snapshot!($name, redact(&body));
    }};
}

/// Snapshots an error response together with its HTTP status.
macro_rules! snapshot_error {
    ($name:literal, $response:expr) => {{
        let (status, body) = $response;
        insta::assert_json_snapshot!($name, json!({ "status": status, "body": redact(&body) }));
    }};
}

fn full_user() -> Value {
    let source = |value: &str, priority: i32| {
        json!({"appId": "app-1", "appUserId": "app-user-1", "appUserProfileAttributeKey": "dept",
               "userAttributeMappingId": "mapping-1", "value": value, "priority": priority})
    };
    json!({
        "email": "Grace@Example.com",
        "emails": ["grace@navy.example"],
        "displayName": "Grace Hopper",
        "type": "USER_TYPE_HUMAN",
        "usernames": ["ghopper"],
        "employeeIds": ["E-1906"],
        "department": "Research",
        "jobTitle": "Rear Admiral",
        "employmentStatus": "Active",
        "employmentType": "Full time",
        "profile": {"floor": 3, "shell": "cobol"},
        "roleIds": ["basic-user"],
        "directoryIds": ["65a1b2c3d4e5f60718293a4b"],
        "departmentSources": [source("Navy", 2), source("Research", 1)],
    })
}

async fn user_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let manager = server.create_user(&token, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    let mut body = full_user();
    body["managerIds"] = json!([manager]);
    let created = server.post("/api/v1/users", &token, &body).await;
    let id = created.1["userView"]["user"]["id"].as_str().unwrap_or_default().to_string();
    snapshot_ok!("users_create", created);
    snapshot_ok!("users_get", server.get(&format!("/api/v1/users/{id}"), &token).await);
    let update = json!({"user": {"jobTitle": "Commodore", "status": "DISABLED"}, "updateMask": "jobTitle,status"});
    snapshot_ok!("users_update", server.post(&format!("/api/v1/users/{id}"), &token, &update).await);
    snapshot_ok!("users_list", server.get("/api/v1/users?page_size=2", &token).await);
    snapshot_ok!("users_delete", server.delete(&format!("/api/v1/users/{manager}"), &token).await);
    snapshot_ok!("users_get_deleted", server.get(&format!("/api/v1/users/{manager}"), &token).await);
}
both_backends!(user_endpoints);

async fn import_endpoint(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let rows = json!({"users": [
        {"email": "one@example.com", "displayName": "One"},
        {"email": "broken", "displayName": "Broken"},
        {"email": "admin@example.com", "displayName": "Taken"},
        {"email": "two@example.com", "displayName": "Two", "status": "ACTIVE"},
        {"email": "three@example.com", "displayName": "Three"},
    ]});
    snapshot_ok!("users_import", server.post("/api/v1/users/import", &token, &rows).await);
}
both_backends!(import_endpoint);

async fn role_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    snapshot_ok!("roles_list", server.get("/api/v1/iam/roles", &token).await);
    snapshot_ok!("roles_get", server.get("/api/v1/iam/roles/000000000000000000000002", &token).await);
    let (status, by_slug) = server.get("/api/v1/iam/roles/admin", &token).await;
    assert_eq!((status, by_slug), server.get("/api/v1/iam/roles/000000000000000000000002", &token).await);
}
both_backends!(role_endpoints);

async fn introspect_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    snapshot_ok!("auth_introspect", server.get("/api/v1/auth/introspect", &token).await);
    let body = json!({"expandMask": null});
    snapshot_ok!("users_introspect", server.post("/api/v1/users/introspect", &token, &body).await);
}
both_backends!(introspect_endpoints);

async fn audit_endpoint(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let id = server.create_user(&token, &json!({"email": "aud@example.com", "displayName": "Aud"})).await;
    let update = json!({"user": {"department": "Audit"}, "updateMask": "department"});
    assert_eq!(server.post(&format!("/api/v1/users/{id}"), &token, &update).await.0, 200);
    assert_eq!(server.delete(&format!("/api/v1/users/{id}"), &token).await.0, 200);
    let rows = json!({"users": [{"email": "imp@example.com", "displayName": "Imp"}]});
    assert_eq!(server.post("/api/v1/users/import", &token, &rows).await.0, 200);
    snapshot_ok!("audit_events_list", server.get("/api/v1/audit-events", &token).await);
}
both_backends!(audit_endpoint);

/// Names the ids inside error messages (`user 6b04… already owns app 6b05… as owner` becomes
/// `user [ada] already owns app [app] as owner`), so that a message naming fresh ids stays stable; whole-string
/// ids are named too, before `redact` would make them `[id]`.
fn name_ids(response: (u16, Value), names: &[(&str, &str)]) -> (u16, Value) {
    fn walk(value: &Value, names: &[(&str, &str)]) -> Value {
        match value {
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(v, names))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, names)).collect()),
            Value::String(text) => {
                Value::String(names.iter().fold(text.clone(), |text, (id, name)| text.replace(id, name)))
            }
            other => other.clone(),
        }
    }
    (response.0, walk(&response.1, names))
}

async fn app_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let ada = server.create_user(&token, &json!({"email": "ada@example.com", "displayName": "Ada"})).await;
    let create = json!({
        "displayName": "Wiki",
        "description": "the team wiki",
        "iconUrl": "https://wiki.example/icon.png",
        "monthlyCostUsd": 7,
        "grantPolicyId": "grant-1",
        "revokePolicyId": "revoke-1",
        "certifyPolicyId": "certify-1",
        "identityMatching": "APP_USER_IDENTITY_MATCHING_STRICT",
        "strictAccessEntitlementProvisioning": true,
        "annotations": {"managed_by": "terraform"},
        "owners": [ada],
        "appEntitlementOwnerRefs": null,
        "matchBatonRef": null,
    });
    let created = server.post("/api/v1/apps", &token, &create).await;
    let id = created.1["app"]["id"].as_str().unwrap_or_default().to_string();
    snapshot_ok!("apps_create", created);
    snapshot_ok!("apps_get", server.get(&format!("/api/v1/apps/{id}"), &token).await);
    let update = json!({
        "app": {"displayName": "Wiki 2", "description": "ignored: not in the mask", "monthlyCostUsd": 9,
                "strictAccessEntitlementProvisioning": false},
        "updateMask": "displayName,monthlyCostUsd,strictAccessEntitlementProvisioning",
    });
    snapshot_ok!("apps_update", server.post(&format!("/api/v1/apps/{id}"), &token, &update).await);
    let (status, chat) = server.post("/api/v1/apps", &token, &json!({"displayName": "Chat"})).await;
    assert_eq!(status, 200, "{chat}");
    snapshot_ok!("apps_list", server.get("/api/v1/apps?page_size=10", &token).await);
    snapshot_ok!("apps_delete", server.delete(&format!("/api/v1/apps/{id}"), &token).await);
}
both_backends!(app_endpoints);

async fn app_owner_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (status, app) = server.post("/api/v1/apps", &token, &json!({"displayName": "Wiki"})).await;
    assert_eq!(status, 200, "{app}");
    let app = app["app"]["id"].as_str().unwrap_or_default().to_string();
    let ada = server.create_user(&token, &json!({"email": "ada@example.com", "displayName": "Ada"})).await;
    let bob =
        json!({"email": "bob@example.com", "displayName": "Bob", "department": "Ops", "roleIds": ["read-only-admin"]});
    let bob = server.create_user(&token, &bob).await;

    // v1: the owners of the `owner` slug.
    let v1 = format!("/api/v1/apps/{app}/owners");
    snapshot_ok!("app_owners_add", server.post(&format!("{v1}/{ada}"), &token, &json!({})).await);
    assert_eq!(server.post(&format!("{v1}/{bob}"), &token, &json!({})).await.0, 200);
    snapshot_ok!("app_owners_list", server.get(&v1, &token).await);
    snapshot_ok!("app_owners_list_owner_ids", server.get(&format!("/api/v1/apps/{app}/ownerids"), &token).await);
    snapshot_ok!("app_owners_remove", server.delete(&format!("{v1}/{bob}"), &token).await);
    let set = json!({"userIds": [ada, bob]});
    snapshot_ok!("app_owners_set", send(&server, Method::PUT, &v1, &token, Some(&set)).await);
    let delete = json!({"userIds": [bob]});
    snapshot_ok!("app_owners_delete", send(&server, Method::DELETE, &v1, &token, Some(&delete)).await);

    // v2: ownerships under any role slug, each with its user in full.
    let v2 = |slug: &str, user: &str| format!("/api/v2/apps/{app}/owners/users/{slug}/{user}");
    let body = json!({"userRef": {"id": bob}});
    snapshot_ok!("app_owners_v2_create_user_owner", server.post(&v2("technical-owner", &bob), &token, &body).await);
    snapshot_ok!("app_owners_v2_get_user_owner", server.get(&v2("technical-owner", &bob), &token).await);
    let search = format!("/api/v2/apps/{app}/owners/users");
    snapshot_ok!("app_owners_v2_search_user_owners", server.get(&format!("{search}?page_size=10"), &token).await);
    let set = json!({"roleSlug": "technical-owner", "userRefs": [{"id": ada}], "appEntitlementRefs": null});
    let put = send(&server, Method::PUT, &format!("/api/v2/apps/{app}/owners"), &token, Some(&set)).await;
    snapshot_ok!("app_owners_v2_set", put);
    let body = json!({"userRef": {"id": ada}});
    let deleted = send(&server, Method::DELETE, &v2("technical-owner", &ada), &token, Some(&body)).await;
    snapshot_ok!("app_owners_v2_delete_user_owner", deleted);

    // The refusals: a malformed slug, an ownership that exists, a user that was deleted.
    let names = [(app.as_str(), "[app]"), (ada.as_str(), "[ada]"), (bob.as_str(), "[bob]")];
    let response = server.post(&v2("Owner", &ada), &token, &json!({})).await;
    snapshot_error!("error_app_owner_invalid_role_slug", name_ids(response, &names));
    let response = server.post(&v2("owner", &ada), &token, &json!({})).await;
    snapshot_error!("error_app_owner_already_exists", name_ids(response, &names));
    assert_eq!(server.delete(&format!("/api/v1/users/{bob}"), &token).await.0, 200);
    let response = server.post(&v2("owner", &bob), &token, &json!({})).await;
    snapshot_error!("error_app_owner_deleted_user", name_ids(response, &names));
}
both_backends!(app_owner_endpoints);

async fn token_and_error_bodies(backend: Backend) {
    let server = TestServer::start(backend).await;
    let secret = server.bootstrap.client_secret.expose().clone();
    let form =
        [("grant_type", "client_credentials"), ("client_id", &server.bootstrap.client_id), ("client_secret", &secret)];
    snapshot_ok!("token_response", server.token_request(&form).await);
    snapshot_error!("error_token_refused", server.token_request(&[("grant_type", "password")]).await);

    let token = server.admin_token().await;
    snapshot_error!("error_not_found", server.get(&format!("/api/v1/users/{UNKNOWN_ID}"), &token).await);
    let bad = json!({"email": "e@example.com", "displayName": "E", "status": "ACTIVE"});
    snapshot_error!("error_invalid_argument", server.post("/api/v1/users", &token, &bad).await);
    let dup = json!({"email": "admin@example.com", "displayName": "Again"});
    snapshot_error!("error_already_exists", server.post("/api/v1/users", &token, &dup).await);
    snapshot_error!("error_unauthenticated", server.get("/api/v1/users", "not-a-token").await);
    let (_, basic) = server.credential_with_roles("basic@example.com", &[onramp_domain::BuiltinRole::BasicUser]).await;
    snapshot_error!("error_permission_denied", server.get("/api/v1/users", &basic).await);
}
both_backends!(token_and_error_bodies);

#[test]
fn redaction_keeps_what_is_stable() {
    let body = json!({
        "id": "6b0412e7fedfe34a4ca8df34", "roleIds": ["000000000000000000000002"], "createdAt": "2026-11-23T10:18:15.451614Z",
        "access_token": "eyJ", "nextPageToken": "", "message": "user 6b0412e7fedfe34a4ca8df34 not found", "count": "12",
    });
    let want = json!({
        "id": "[id]", "roleIds": ["000000000000000000000002"], "createdAt": "[time]", "access_token": "[token]",
        "nextPageToken": "", "message": "user 6b0412e7fedfe34a4ca8df34 not found", "count": "12",
    });
    assert_eq!(redact(&body), want);
}
