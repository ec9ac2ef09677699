//! Onboards over HTTP (issue #6): the LeadConduit-style `/onboards` surface (bearer tokens and HTTP Basic
//! `API:<key>`, snake_case, 201 on create), the flow an onboard follows (request, invitation, directory,
//! minimal), refusals, the tenant wall, status transitions, acceptance starting an onboard with the user
//! DISABLED, the rule of each step (`POST /api/v1/onboards/{id}/steps/{key}/complete`), and completion
//! enabling the user, granting roles and mailing the notify steps' recipients. The helpers at the top are
//! shared with `flows` and `onboarding_e2e`.

use std::time::{Duration, Instant};

use onramp_domain::{BuiltinRole, Id, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::apps::audit_actions;
use crate::both_backends;
use crate::directories::{assert_names_field, create_directory, directory_path};
use crate::flows::{BASIC_USER_ROLE, DIRECTORY_ADMIN_ROLE, MINIMAL_FLOW, assert_precondition, create_flow_id};
use crate::invitations::{PASSWORD, accept, invitation_path, invite, invite_token, mails_to};
use crate::support::{Backend, TestServer, assert_api_error, read};

/// How an onboards request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    Bearer(String),
    /// HTTP Basic: `API:<key>`, or an invitee's `email:password`.
    Basic(String, String),
    None,
}

impl Auth {
    /// HTTP Basic `API:<key>`.
    pub fn api_key(key: &str) -> Auth {
        Auth::Basic("API".into(), key.into())
    }

    /// HTTP Basic with an invitee's email and the password they chose on accepting ([`PASSWORD`]).
    pub fn invitee(email: &str) -> Auth {
        Auth::Basic(email.into(), PASSWORD.into())
    }
}

/// Any request with this authentication and an optional JSON body; returns (status, JSON body).
pub async fn call(server: &TestServer, method: Method, path: &str, auth: &Auth, body: Option<&Value>) -> (u16, Value) {
    let mut request = server.http.request(method, server.url(path));
    request = match auth {
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
        Auth::None => request,
    };
    if let Some(body) = body {
        request = request.json(body);
    }
    read(request.send().await.expect("request")).await
}

/// `POST /onboards`.
pub async fn post_onboard(server: &TestServer, auth: &Auth, body: Value) -> (u16, Value) {
    call(server, Method::POST, "/onboards", auth, Some(&body)).await
}

/// `POST /onboards` that must answer 201; returns the onboard.
pub async fn create_onboard(server: &TestServer, auth: &Auth, body: Value) -> Value {
    let (status, onboard) = post_onboard(server, auth, body.clone()).await;
    assert_eq!(status, 201, "create onboard {body}: {onboard}");
    onboard
}

/// `GET /onboards/{id}` that must answer 200.
pub async fn get_onboard(server: &TestServer, auth: &Auth, id: &str) -> Value {
    let (status, onboard) = call(server, Method::GET, &format!("/onboards/{id}"), auth, None).await;
    assert_eq!(status, 200, "get onboard {id}: {onboard}");
    onboard
}

/// `GET /onboards` that must answer 200 with an array; returns its items.
pub async fn list_onboards(server: &TestServer, auth: &Auth) -> Vec<Value> {
    let (status, list) = call(server, Method::GET, "/onboards", auth, None).await;
    assert_eq!(status, 200, "list onboards: {list}");
    list.as_array().unwrap_or_else(|| panic!("GET /onboards must answer a JSON array: {list}")).clone()
}

/// `PUT /onboards/{id}`.
pub async fn put_onboard(server: &TestServer, auth: &Auth, id: &str, body: Value) -> (u16, Value) {
    call(server, Method::PUT, &format!("/onboards/{id}"), auth, Some(&body)).await
}

/// `POST /api/v1/onboards/{id}/steps/{key}/complete`.
pub async fn complete_step(server: &TestServer, auth: &Auth, id: &str, key: &str, body: Value) -> (u16, Value) {
    call(server, Method::POST, &format!("/api/v1/onboards/{id}/steps/{key}/complete"), auth, Some(&body)).await
}

/// Completes a step that must succeed; returns the onboard.
pub async fn complete(server: &TestServer, auth: &Auth, id: &str, key: &str, body: Value) -> Value {
    let (status, onboard) = complete_step(server, auth, id, key, body.clone()).await;
    assert_eq!(status, 200, "complete step {key} of {id} with {body}: {onboard}");
    onboard
}

/// The state of the step `key` of an onboard.
#[track_caller]
pub fn step<'a>(onboard: &'a Value, key: &str) -> &'a Value {
    onboard["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["key"] == key))
        .unwrap_or_else(|| panic!("no step {key} in {onboard}"))
}

/// An API key of the default tenant for the user with `email` (created if needed) with these roles.
pub async fn api_key(server: &TestServer, email: &str, roles: &[BuiltinRole]) -> String {
    let (_, key) =
        onramp::admin::create_api_key(server.store.as_ref(), server.bootstrap.tenant_id, email, roles, "test")
            .await
            .expect("an API key");
    key.expose().to_string()
}

/// The user with this id, by `GET /api/v1/users/{id}`.
pub async fn get_user(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, body) = server.get(&format!("/api/v1/users/{id}"), token).await;
    assert_eq!(status, 200, "get user {id}: {body}");
    body["userView"]["user"].clone()
}

/// The caller's user id, by introspection.
pub async fn my_user_id(server: &TestServer, token: &str) -> String {
    let (status, me) = server.get("/api/v1/auth/introspect", token).await;
    assert_eq!(status, 200, "{me}");
    me["userId"].as_str().expect("userId").to_string()
}

/// Sets a user's managers with `POST /api/v1/users/{id}` and an update mask.
pub async fn set_managers(server: &TestServer, token: &str, user: &str, managers: &[&str]) {
    let update = json!({"user": {"managerIds": managers}, "updateMask": "managerIds"});
    let (status, body) = server.post(&format!("/api/v1/users/{user}"), token, &update).await;
    assert_eq!(status, 200, "set the managers of {user}: {body}");
}

/// Accepts the invitation mailed to `email` through the API with this display name and [`PASSWORD`]; any
/// status but 200 fails the test. Returns the response (`invitation`, `user`, and `onboardId` when an
/// onboard started).
pub async fn accept_mailed(server: &TestServer, email: &str, display_name: &str) -> Value {
    let secret = invite_token(server, email).await;
    let (status, body) = accept(server, &secret, display_name, PASSWORD).await;
    assert_eq!(status, 200, "accept the invitation of {email}: {body}");
    body
}

/// The `onboardId` of an acceptance that started (or attached to) an onboard.
#[track_caller]
pub fn onboard_id_of(accepted: &Value) -> String {
    accepted["onboardId"]
        .as_str()
        .unwrap_or_else(|| panic!("the acceptance names no onboardId: {accepted}"))
        .to_string()
}

/// The id of a JSON object.
#[track_caller]
pub fn id_of(object: &Value) -> String {
    object["id"].as_str().unwrap_or_else(|| panic!("no id in {object}")).to_string()
}

/// The audit actions on one object, oldest first, as (action, actorUserId).
pub async fn audit_of(server: &TestServer, token: &str, object: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut page_token = String::new();
    loop {
        let (status, body) =
            server.get(&format!("/api/v1/audit-events?page_size=100&page_token={page_token}"), token).await;
        assert_eq!(status, 200, "{body}");
        for event in body["list"].as_array().unwrap() {
            if event["objectId"] == object {
                found.push((
                    event["action"].as_str().unwrap().to_string(),
                    event["actorUserId"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        page_token = body["nextPageToken"].as_str().unwrap_or_default().to_string();
        if page_token.is_empty() {
            return found;
        }
    }
}

/// Just the actions of [`audit_of`].
pub async fn audit_actions_of(server: &TestServer, token: &str, object: &str) -> Vec<String> {
    audit_of(server, token, object).await.into_iter().map(|(action, _)| action).collect()
}

/// Revokes a pending invitation.
async fn revoke(server: &TestServer, token: &str, directory: &str, invitation: &str) {
    let path = format!("{}/revoke", invitation_path(directory, invitation));
    let (status, body) = server.post(&path, token, &json!({})).await;
    assert_eq!(status, 200, "revoke {invitation}: {body}");
}

/// Moves an invitation's expiry into the past, behind the server's back.
async fn expire_now(server: &TestServer, id: &str) {
    let past = Timestamp::now().micros() - 60_000_000;
    let changed =
        server.database.execute(&format!("UPDATE invitations SET expires_at = {past} WHERE id = '{id}'")).await;
    assert_eq!(changed, 1, "one invitation row {id}");
}

/// The number of outbox messages about an onboard.
async fn onboard_emails_queued(server: &TestServer, onboard: &str) -> String {
    let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE kind = 'onboard' AND subject_id = '{onboard}'");
    server.database.query_text(&sql).await.unwrap_or_default()
}

/// A flow with one acceptTerms step keyed `terms`.
fn terms_only() -> Value {
    json!([{"key": "terms", "acceptTerms": {"text": "Be kind."}}])
}

// Tests.

/// POST /onboards with a bearer token and with HTTP Basic `API:<key>` both answer 201 with the onboard in
/// snake_case: account_id the tenant, connection_id the invitation's directory, the minimal flow's steps.
async fn create_with_bearer_and_api_key_in_snake_case(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Contractors", Value::Null).await;
    let first = invite(&server, &token, &directory, "ann@example.com", Value::Null).await;
    let second = invite(&server, &token, &directory, "bob@example.com", Value::Null).await;

    let (status, onboard) =
        post_onboard(&server, &Auth::Bearer(token.clone()), json!({"invitation_id": first["id"]})).await;
    assert_eq!(status, 201, "{onboard}");
    let mut keys: Vec<&str> = onboard.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "account_id",
            "connection_id",
            "created_at",
            "current_step",
            "failure_reason",
            "flow_id",
            "id",
            "invitation_id",
            "status",
            "steps",
            "updated_at",
            "user_id",
            "waiting_on",
            "waiting_on_user_id",
            "waiting_since"
        ],
        "snake_case fields (LeadConduit's, and onramp's whose turn it is): {onboard}"
    );
    let id = id_of(&onboard);
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()), "a 24-hex id: {onboard}");
    assert_eq!(onboard["invitation_id"], first["id"], "{onboard}");
    assert_eq!(onboard["account_id"], server.bootstrap.tenant_id.to_string(), "the tenant: {onboard}");
    assert_eq!(onboard["connection_id"], directory, "the directory: {onboard}");
    assert_eq!(onboard["flow_id"], MINIMAL_FLOW, "no flow anywhere: the minimal one: {onboard}");
    assert!(onboard["user_id"].is_null(), "not accepted yet: {onboard}");
    assert_eq!(onboard["status"], "created", "{onboard}");
    assert_eq!(onboard["failure_reason"], "", "{onboard}");
    assert_eq!(
        onboard["steps"],
        json!([{"key": "profile", "type": "completeProfile", "required": true, "done": false, "completed_by": null, "completed_at": null}]),
        "{onboard}"
    );
    for time in ["created_at", "updated_at"] {
        assert!(onboard[time].as_str().is_some_and(|t| t.ends_with('Z')), "{time}: {onboard}");
    }

    let key = api_key(&server, "integration@example.com", &[BuiltinRole::Admin]).await;
    let by_key = create_onboard(&server, &Auth::api_key(&key), json!({"invitation_id": second["id"]})).await;
    assert_eq!(by_key["invitation_id"], second["id"], "{by_key}");
    assert_eq!(by_key["account_id"], onboard["account_id"], "{by_key}");
    assert_eq!(by_key["connection_id"], directory, "{by_key}");
    assert_eq!(get_onboard(&server, &Auth::api_key(&key), &id).await, onboard, "the key reads the bearer's onboard");
    assert_eq!(get_onboard(&server, &Auth::Bearer(token), &id_of(&by_key)).await, by_key);
}
both_backends!(create_with_bearer_and_api_key_in_snake_case);

/// Who may call /onboards: a wrong or malformed key and no credentials are 401; a basic user's key is 403;
/// a read-only admin's key and token read but do not write; a directory admin writes; a disabled user's key
/// is 401; another tenant's key sees none of this tenant's onboards.
async fn who_may_use_the_onboards_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Guarded", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "ann@example.com", Value::Null).await;
    let other = invite(&server, &token, &directory, "bob@example.com", Value::Null).await;
    let create = json!({"invitation_id": invitation["id"]});
    let onboard = create_onboard(&server, &Auth::Bearer(token.clone()), create.clone()).await;
    let id = id_of(&onboard);
    let get_path = format!("/onboards/{id}");

    for (case, auth) in [
        ("wrong key", Auth::api_key("not-the-key")),
        ("empty key", Auth::api_key("")),
        ("not API:", Auth::Basic("admin".into(), "secret".into())),
        ("no credentials", Auth::None),
        ("bad bearer", Auth::Bearer("garbage".into())),
    ] {
        assert_api_error(
            &format!("{case}: list"),
            &call(&server, Method::GET, "/onboards", &auth, None).await,
            401,
            16,
        );
        assert_api_error(
            &format!("{case}: create"),
            &post_onboard(&server, &auth, json!({"invitation_id": other["id"]})).await,
            401,
            16,
        );
        assert_api_error(&format!("{case}: get"), &call(&server, Method::GET, &get_path, &auth, None).await, 401, 16);
        assert_api_error(
            &format!("{case}: put"),
            &put_onboard(&server, &auth, &id, json!({"status": "in_progress"})).await,
            401,
            16,
        );
    }
    let garbage = read(
        server.http.get(server.url("/onboards")).header("authorization", "Basic !!!not-base64").send().await.unwrap(),
    )
    .await;
    assert_api_error("undecodable Basic", &garbage, 401, 16);

    let basic = Auth::api_key(&api_key(&server, "basic@example.com", &[BuiltinRole::BasicUser]).await);
    assert_api_error("basic user's key lists", &call(&server, Method::GET, "/onboards", &basic, None).await, 403, 7);
    assert_api_error("basic user's key gets", &call(&server, Method::GET, &get_path, &basic, None).await, 403, 7);
    assert_api_error(
        "basic user's key creates",
        &post_onboard(&server, &basic, json!({"invitation_id": other["id"]})).await,
        403,
        7,
    );

    let reader_key = Auth::api_key(&api_key(&server, "auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await);
    let (_, reader_token) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    for (case, reader) in [("reader's key", reader_key), ("reader's token", Auth::Bearer(reader_token))] {
        assert_eq!(list_onboards(&server, &reader).await.len(), 1, "{case} lists");
        assert_eq!(get_onboard(&server, &reader, &id).await, onboard, "{case} gets");
        let response = post_onboard(&server, &reader, json!({"invitation_id": other["id"]})).await;
        assert_api_error(&format!("{case} creates"), &response, 403, 7);
        let response = put_onboard(&server, &reader, &id, json!({"status": "failed"})).await;
        assert_api_error(&format!("{case} updates"), &response, 403, 7);
    }
    assert_eq!(get_onboard(&server, &Auth::Bearer(token.clone()), &id).await, onboard, "refused writes change nothing");
    assert_eq!(list_onboards(&server, &Auth::Bearer(token.clone())).await.len(), 1, "refused creates store nothing");

    let (_, directory_admin) = server.credential_with_roles("dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    create_onboard(&server, &Auth::Bearer(directory_admin), json!({"invitation_id": other["id"]})).await;

    // A key whose user is disabled stops working.
    let ops_key = Auth::api_key(&api_key(&server, "ops@example.com", &[BuiltinRole::Admin]).await);
    assert_eq!(list_onboards(&server, &ops_key).await.len(), 2);
    let ops =
        server.store.find_user_by_email(&server.bootstrap.tenant_id, "ops@example.com").await.expect("the key's user");
    let ops_id = ops.id.to_string();
    let disable = json!({"user": {"status": "DISABLED"}, "updateMask": "status"});
    let (status, body) = server.post(&format!("/api/v1/users/{ops_id}"), &token, &disable).await;
    assert_eq!(status, 200, "{body}");
    assert_api_error("disabled user's key", &call(&server, Method::GET, "/onboards", &ops_key, None).await, 401, 16);

    // Another tenant's key and token see nothing of this tenant.
    let (theirs, their_token) = server.other_tenant("rival").await;
    let (_, their_key) = onramp::admin::create_api_key(
        server.store.as_ref(),
        theirs.tenant_id,
        "boss@rival.example",
        &[BuiltinRole::Admin],
        "k",
    )
    .await
    .expect("their key");
    for (case, auth) in [("their key", Auth::api_key(their_key.expose())), ("their token", Auth::Bearer(their_token))] {
        assert_eq!(list_onboards(&server, &auth).await, Vec::<Value>::new(), "{case}: an empty list");
        assert_api_error(&format!("{case} gets"), &call(&server, Method::GET, &get_path, &auth, None).await, 404, 5);
        assert_api_error(
            &format!("{case} puts"),
            &put_onboard(&server, &auth, &id, json!({"status": "failed"})).await,
            404,
            5,
        );
        let response = post_onboard(&server, &auth, json!({"invitation_id": other["id"]})).await;
        assert_api_error(&format!("{case} creates on our invitation"), &response, 404, 5);
        let response = complete_step(&server, &auth, &id, "profile", json!({"displayName": "X"})).await;
        assert_api_error(&format!("{case} completes a step"), &response, 404, 5);
    }
    assert_eq!(get_onboard(&server, &Auth::Bearer(token), &id).await, onboard, "untouched by the other tenant");
}
both_backends!(who_may_use_the_onboards_api);

/// The flow of a new onboard is the request's, else the invitation's, else the directory's default (set
/// after the invitation was made), else the minimal flow; steps are copied from that flow.
async fn flow_resolution_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let request_flow = create_flow_id(&server, &token, "Request's", json!([{"key": "r", "verifyEmail": {}}])).await;
    let invitation_flow =
        create_flow_id(&server, &token, "Invitation's", json!([{"key": "i", "verifyEmail": {}}])).await;
    let directory_flow = create_flow_id(&server, &token, "Directory's", json!([{"key": "d", "verifyEmail": {}}])).await;
    let directory = create_directory(&server, &token, "Late default", Value::Null).await;
    let bare = create_directory(&server, &token, "No default", Value::Null).await;

    let named = json!({"onboardingFlowId": invitation_flow});
    let first = invite(&server, &token, &directory, "first@example.com", named.clone()).await;
    let second = invite(&server, &token, &directory, "second@example.com", named).await;
    let third = invite(&server, &token, &directory, "third@example.com", Value::Null).await;
    let fourth = invite(&server, &token, &bare, "fourth@example.com", Value::Null).await;
    let fifth = invite(&server, &token, &bare, "fifth@example.com", Value::Null).await;
    assert_eq!(third["onboardingFlowId"], "", "no flow when it was made: {third}");
    let set = json!({"localDirectoryConfig": {"onboardingFlowId": directory_flow}, "updateMask": "onboardingFlowId"});
    let (status, body) = server.post(&directory_path(&directory), &token, &set).await;
    assert_eq!(status, 200, "{body}");

    for (case, body, want, key) in [
        ("the request's", json!({"invitation_id": first["id"], "flow_id": request_flow}), &request_flow, "r"),
        ("the invitation's", json!({"invitation_id": second["id"], "flow_id": ""}), &invitation_flow, "i"),
        ("the directory's", json!({"invitation_id": third["id"]}), &directory_flow, "d"),
        ("the minimal", json!({"invitation_id": fourth["id"], "flow_id": null}), &MINIMAL_FLOW.to_string(), "profile"),
        (
            "the minimal, by name",
            json!({"invitation_id": fifth["id"], "flow_id": MINIMAL_FLOW}),
            &MINIMAL_FLOW.to_string(),
            "profile",
        ),
    ] {
        let onboard = create_onboard(&server, &auth, body).await;
        assert_eq!(onboard["flow_id"], *want, "{case} flow: {onboard}");
        let keys: Vec<&str> = onboard["steps"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, [key], "{case} flow's steps: {onboard}");
    }
}
both_backends!(flow_resolution_order);

/// Bad ids name their field (400), an unknown or other tenant's invitation is 404, a revoked or expired one
/// 400 code 9, a second live onboard 409 (a new one is fine once the first failed), an accepted invitation
/// whose user is active 400 code 9 (`onboard_privilege` has the rest of that rule); refusals store nothing.
async fn bad_requests_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let directory = create_directory(&server, &token, "Strict", Value::Null).await;
    let pending = invite(&server, &token, &directory, "pending@example.com", Value::Null).await;
    let pending_id = id_of(&pending);

    for (case, body, field) in [
        ("no invitation_id", json!({}), "invitation_id"),
        ("empty invitation_id", json!({"invitation_id": ""}), "invitation_id"),
        ("invitation_id not hex", json!({"invitation_id": "not-an-id"}), "invitation_id"),
        ("invitation_id too short", json!({"invitation_id": "0123456789abcdef"}), "invitation_id"),
        ("invitation_id too long", json!({"invitation_id": format!("{pending_id}00")}), "invitation_id"),
        ("flow_id not hex", json!({"invitation_id": pending_id, "flow_id": "zzz"}), "flow_id"),
        ("unknown flow_id", json!({"invitation_id": pending_id, "flow_id": Id::new().to_string()}), "flow_id"),
    ] {
        assert_names_field(case, &post_onboard(&server, &auth, body).await, field);
    }
    let unknown = post_onboard(&server, &auth, json!({"invitation_id": Id::new().to_string()})).await;
    assert_api_error("unknown invitation", &unknown, 404, 5);
    let (_, theirs) = server.other_tenant("rival").await;
    let their_directory = create_directory(&server, &theirs, "Theirs", Value::Null).await;
    let their_invitation = invite(&server, &theirs, &their_directory, "x@rival.example", Value::Null).await;
    let response = post_onboard(&server, &auth, json!({"invitation_id": their_invitation["id"]})).await;
    assert_api_error("another tenant's invitation", &response, 404, 5);

    let revoked = invite(&server, &token, &directory, "revoked@example.com", Value::Null).await;
    revoke(&server, &token, &directory, &id_of(&revoked)).await;
    assert_precondition(
        "revoked invitation",
        &post_onboard(&server, &auth, json!({"invitation_id": revoked["id"]})).await,
        "revoked",
    );
    let expired = invite(&server, &token, &directory, "expired@example.com", Value::Null).await;
    expire_now(&server, &id_of(&expired)).await;
    assert_precondition(
        "expired invitation",
        &post_onboard(&server, &auth, json!({"invitation_id": expired["id"]})).await,
        "expired",
    );
    assert!(list_onboards(&server, &auth).await.is_empty(), "refusals store nothing");

    let first = create_onboard(&server, &auth, json!({"invitation_id": pending_id})).await;
    let response = post_onboard(&server, &auth, json!({"invitation_id": pending_id})).await;
    assert_api_error("second live onboard", &response, 409, 6);
    let (status, body) = put_onboard(&server, &auth, &id_of(&first), json!({"status": "in_progress"})).await;
    assert_eq!(status, 200, "{body}");
    assert_api_error(
        "second onboard, first in progress",
        &post_onboard(&server, &auth, json!({"invitation_id": pending_id})).await,
        409,
        6,
    );
    let (status, body) = put_onboard(&server, &auth, &id_of(&first), json!({"status": "failed"})).await;
    assert_eq!(status, 200, "{body}");
    let again = create_onboard(&server, &auth, json!({"invitation_id": pending_id})).await;
    assert_ne!(again["id"], first["id"]);

    // An accepted invitation (no flow: its user is ENABLED, no onboard started) is not onboarded again:
    // completing an onboard would write the status of a user nobody holds for it.
    let accepted = invite(&server, &token, &directory, "accepted@example.com", Value::Null).await;
    let body = accept_mailed(&server, "accepted@example.com", "Accepted").await;
    assert!(body.get("onboardId").is_none(), "no flow, no onboard: {body}");
    let response = post_onboard(&server, &auth, json!({"invitation_id": accepted["id"]})).await;
    assert_precondition("accepted, its user active", &response, "accepted");
    assert_eq!(list_onboards(&server, &auth).await.len(), 2);
}
both_backends!(bad_requests_are_refused);

/// GET /onboards is a JSON array, newest first, of the tenant's onboards; GET /onboards/{id} answers the
/// same object; a malformed id is 400 naming id, an unknown one 404.
async fn list_and_get(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    assert!(list_onboards(&server, &auth).await.is_empty(), "none yet");
    let directory = create_directory(&server, &token, "Listed", Value::Null).await;
    let mut created = Vec::new();
    for n in 0..3 {
        let invitation = invite(&server, &token, &directory, &format!("n{n}@example.com"), Value::Null).await;
        created.push(create_onboard(&server, &auth, json!({"invitation_id": invitation["id"]})).await);
    }
    let list = list_onboards(&server, &auth).await;
    let ids: Vec<String> = list.iter().map(id_of).collect();
    let newest_first: Vec<String> = created.iter().rev().map(id_of).collect();
    assert_eq!(ids, newest_first, "newest first");
    for onboard in &list {
        assert_eq!(get_onboard(&server, &auth, &id_of(onboard)).await, *onboard, "GET by id answers the listed object");
    }
    let response = call(&server, Method::GET, "/onboards/not-an-id", &auth, None).await;
    assert_names_field("malformed id", &response, "id");
    let response = call(&server, Method::GET, &format!("/onboards/{}", Id::new()), &auth, None).await;
    assert_api_error("unknown id", &response, 404, 5);
    let response = put_onboard(&server, &auth, &Id::new().to_string(), json!({"status": "failed"})).await;
    assert_api_error("put unknown id", &response, 404, 5);
    let response = put_onboard(&server, &auth, "xyz", json!({"status": "failed"})).await;
    assert_names_field("put malformed id", &response, "id");
}
both_backends!(list_and_get);

/// PUT moves created → in_progress → failed (with the reason given, or a default), and refuses going back
/// or leaving failed (400 code 9); an unknown status is 400 naming status; the same status or none changes
/// nothing; completing before acceptance is 400 naming status.
async fn status_transitions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let directory = create_directory(&server, &token, "Moves", Value::Null).await;
    let first = invite(&server, &token, &directory, "first@example.com", Value::Null).await;
    let second = invite(&server, &token, &directory, "second@example.com", Value::Null).await;
    let onboard = create_onboard(&server, &auth, json!({"invitation_id": first["id"]})).await;
    let id = id_of(&onboard);

    assert_names_field("unknown status", &put_onboard(&server, &auth, &id, json!({"status": "done"})).await, "status");
    assert_names_field(
        "upper case",
        &put_onboard(&server, &auth, &id, json!({"status": "IN_PROGRESS"})).await,
        "status",
    );
    let (status, same) = put_onboard(&server, &auth, &id, json!({})).await;
    assert_eq!((status, &same), (200, &onboard), "no status: nothing changes");
    let (status, same) = put_onboard(&server, &auth, &id, json!({"status": "created"})).await;
    assert_eq!((status, &same), (200, &onboard), "the same status: nothing changes");

    let (status, started) = put_onboard(&server, &auth, &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "in_progress", "{started}");
    assert_ne!(started["updated_at"], onboard["updated_at"], "{started}");
    assert_precondition(
        "back to created",
        &put_onboard(&server, &auth, &id, json!({"status": "created"})).await,
        "cannot",
    );
    let response = put_onboard(&server, &auth, &id, json!({"status": "completed"})).await;
    assert_names_field("completed before acceptance", &response, "status");
    assert_eq!(get_onboard(&server, &auth, &id).await, started, "refused PUTs change nothing");

    let (status, failed) =
        put_onboard(&server, &auth, &id, json!({"status": "failed", "failure_reason": "budget cut"})).await;
    assert_eq!(status, 200, "{failed}");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failure_reason"], "budget cut", "{failed}");
    for next in ["created", "in_progress", "completed"] {
        let response = put_onboard(&server, &auth, &id, json!({"status": next})).await;
        assert_precondition(&format!("failed → {next}"), &response, "cannot");
    }
    let (status, same) = put_onboard(&server, &auth, &id, json!({"status": "failed", "failure_reason": "other"})).await;
    assert_eq!((status, &same), (200, &failed), "failing again changes nothing");
    assert_eq!(get_onboard(&server, &auth, &id).await, failed);

    // created → failed directly, without a reason: a default reason.
    let other = create_onboard(&server, &auth, json!({"invitation_id": second["id"]})).await;
    let (status, failed) = put_onboard(&server, &auth, &id_of(&other), json!({"status": "failed"})).await;
    assert_eq!(status, 200, "{failed}");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["failure_reason"].as_str().is_some_and(|r| !r.is_empty()), "a reason: {failed}");
}
both_backends!(status_transitions);

/// The contract's transitions are created → in_progress → completed: an admin cannot move a created onboard
/// to completed (400 code 9). An onboard whose flow has only onramp's own steps has nothing for a person to
/// do: the acceptance completes it by itself, granting the flow's roles and enabling the user.
async fn created_cannot_jump_to_completed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let directory = create_directory(&server, &token, "Jump", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "jump@example.com", Value::Null).await;
    let flow = create_flow_id(
        &server,
        &token,
        "Roles only",
        json!([{"key": "roles", "assignRoles": {"roleIds": ["basic-user"]}}]),
    )
    .await;
    let onboard = create_onboard(&server, &auth, json!({"invitation_id": invitation["id"], "flow_id": flow})).await;
    let response = put_onboard(&server, &auth, &id_of(&onboard), json!({"status": "completed"})).await;
    assert_precondition("created → completed", &response, "cannot");
    assert_eq!(get_onboard(&server, &auth, &id_of(&onboard)).await, onboard, "nothing changed");
    // With nothing for a person to do, the acceptance itself completes it (through in_progress).
    let accepted = accept_mailed(&server, "jump@example.com", "Jumper").await;
    assert_eq!(onboard_id_of(&accepted), id_of(&onboard), "{accepted}");
    let attached = get_onboard(&server, &auth, &id_of(&onboard)).await;
    assert_eq!(attached["status"], "completed", "{attached}");
    assert_eq!(attached["user_id"], accepted["user"]["id"], "{attached}");
    let user = get_user(&server, &token, accepted["user"]["id"].as_str().unwrap()).await;
    assert_eq!(user["status"], "ENABLED", "{user}");
    assert_eq!(user["roleIds"], json!([BASIC_USER_ROLE]), "the flow's role: {user}");
}
both_backends!(created_cannot_jump_to_completed);

/// Completing while a required person-step is unfinished is 400 naming status and the step, and changes
/// nothing (the onboard, its user still DISABLED); optional and automatic steps do not hold completion up.
async fn completing_with_an_unfinished_step_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(
        &server,
        &token,
        "Terms first",
        json!([
            {"key": "terms", "acceptTerms": {"text": "t"}},
            {"key": "optional-boss", "required": false, "managerApproval": {}},
            {"key": "roles", "assignRoles": {"roleIds": ["basic-user"]}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Unfinished", Value::Null).await;
    invite(&server, &token, &directory, "una@example.com", json!({"onboardingFlowId": flow})).await;
    let accepted = accept_mailed(&server, "una@example.com", "Una").await;
    let id = onboard_id_of(&accepted);
    let user = accepted["user"]["id"].as_str().unwrap().to_string();
    let (status, started) = put_onboard(&server, &auth, &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, 200, "{started}");

    let response = put_onboard(&server, &auth, &id, json!({"status": "completed"})).await;
    assert_names_field("terms unfinished", &response, "status");
    assert!(response.1["message"].as_str().unwrap().contains("terms"), "names the step: {}", response.1);
    assert!(
        !response.1["message"].as_str().unwrap().contains("optional-boss"),
        "not the optional step: {}",
        response.1
    );
    assert_eq!(get_onboard(&server, &auth, &id).await, started, "nothing changed");
    assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED");

    complete(&server, &Auth::invitee("una@example.com"), &id, "terms", json!({"accepted": true})).await;
    let (status, completed) = put_onboard(&server, &auth, &id, json!({"status": "completed"})).await;
    assert_eq!(status, 200, "the optional approval does not hold completion up: {completed}");
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(step(&completed, "optional-boss")["done"], false, "{completed}");
    assert_eq!(get_user(&server, &token, &user).await["status"], "ENABLED");
}
both_backends!(completing_with_an_unfinished_step_changes_nothing);

/// Revoking a pending invitation fails its onboard with the reason "the invitation was revoked"; the expiry
/// sweep fails an expired invitation's onboard likewise; both transitions are audited.
async fn revoking_or_expiring_fails_the_onboard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let directory = create_directory(&server, &token, "Ending", Value::Null).await;
    let revoked = invite(&server, &token, &directory, "revoked@example.com", Value::Null).await;
    let expiring = invite(&server, &token, &directory, "expiring@example.com", Value::Null).await;
    let first = create_onboard(&server, &auth, json!({"invitation_id": revoked["id"]})).await;
    let second = create_onboard(&server, &auth, json!({"invitation_id": expiring["id"]})).await;
    let (status, body) = put_onboard(&server, &auth, &id_of(&second), json!({"status": "in_progress"})).await;
    assert_eq!(status, 200, "{body}");

    revoke(&server, &token, &directory, &id_of(&revoked)).await;
    let failed = get_onboard(&server, &auth, &id_of(&first)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failure_reason"], "the invitation was revoked", "{failed}");
    assert_precondition(
        "step after revocation",
        &complete_step(&server, &auth, &id_of(&first), "profile", json!({})).await,
        "failed",
    );
    assert_eq!(audit_actions_of(&server, &token, &id_of(&first)).await, ["onboard.create", "onboard.fail"]);

    expire_now(&server, &id_of(&expiring)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let expired = loop {
        let onboard = get_onboard(&server, &auth, &id_of(&second)).await;
        if onboard["status"] != "in_progress" {
            break onboard;
        }
        assert!(Instant::now() < deadline, "the sweep never failed the expired invitation's onboard: {onboard}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(expired["status"], "failed", "{expired}");
    assert!(expired["failure_reason"].as_str().unwrap().contains("expired"), "{expired}");
    assert_eq!(
        audit_actions_of(&server, &token, &id_of(&second)).await,
        ["onboard.create", "onboard.start", "onboard.fail"]
    );
}
both_backends!(revoking_or_expiring_fails_the_onboard);

/// Accepting an invitation with a flow (its own or its directory's) creates the user DISABLED and starts an
/// onboard (the answer's onboardId) with the user and the verifyEmail step done by them; search finds the
/// user DISABLED. Without a flow, no onboard and the user is ENABLED.
async fn accepting_with_a_flow_starts_the_onboard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(
        &server,
        &token,
        "Verify and terms",
        json!([{"key": "verify", "verifyEmail": {}}, {"key": "terms", "acceptTerms": {"text": "t"}}]),
    )
    .await;
    let plain = create_directory(&server, &token, "Plain", Value::Null).await;
    let defaulted = create_directory(&server, &token, "Defaulted", json!({"onboardingFlowId": flow})).await;
    let own = invite(&server, &token, &plain, "own@example.com", json!({"onboardingFlowId": flow})).await;
    let inherited = invite(&server, &token, &defaulted, "inherited@example.com", Value::Null).await;
    let none = invite(&server, &token, &plain, "none@example.com", Value::Null).await;

    for (email, name, invitation, directory) in [
        ("own@example.com", "Owen Own", &own, &plain),
        ("inherited@example.com", "Ingrid Inherit", &inherited, &defaulted),
    ] {
        let accepted = accept_mailed(&server, email, name).await;
        let id = onboard_id_of(&accepted);
        let user = accepted["user"]["id"].as_str().unwrap().to_string();
        assert_eq!(accepted["user"]["status"], "DISABLED", "{email}: {accepted}");
        assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED", "{email}");
        let onboard = get_onboard(&server, &auth, &id).await;
        assert_eq!(onboard["invitation_id"], invitation["id"], "{onboard}");
        assert_eq!(onboard["connection_id"], *directory, "{onboard}");
        assert_eq!(onboard["flow_id"], flow, "{onboard}");
        assert_eq!(onboard["user_id"], user, "{onboard}");
        let verify = step(&onboard, "verify");
        assert_eq!(verify["done"], true, "following the link verified the email: {onboard}");
        assert_eq!(verify["completed_by"], user, "{onboard}");
        assert!(verify["completed_at"].as_str().is_some(), "{onboard}");
        assert_eq!(step(&onboard, "terms")["done"], false, "{onboard}");
        assert!(["created", "in_progress"].contains(&onboard["status"].as_str().unwrap()), "a live onboard: {onboard}");
        let (status, found) =
            server.post("/api/v1/search/users", &token, &json!({"query": name, "pageSize": 10})).await;
        assert_eq!(status, 200, "{found}");
        let hits: Vec<&Value> = found["list"].as_array().unwrap().iter().filter(|v| v["user"]["id"] == user).collect();
        assert_eq!(hits.len(), 1, "search finds {name}: {found}");
        assert_eq!(hits[0]["user"]["status"], "DISABLED", "{found}");
        let audit = audit_of(&server, &token, &id).await;
        assert_eq!(audit, [("onboard.create".to_string(), user.clone())], "the invitee started it");
    }

    let accepted = accept_mailed(&server, "none@example.com", "Nora None").await;
    assert!(accepted.get("onboardId").is_none(), "no flow, no onboard: {accepted}");
    assert_eq!(accepted["user"]["status"], "ENABLED", "{accepted}");
    let onboards = list_onboards(&server, &auth).await;
    assert!(onboards.iter().all(|onboard| onboard["invitation_id"] != none["id"]), "{onboards:?}");
    assert_eq!(onboards.len(), 2);
}
both_backends!(accepting_with_a_flow_starts_the_onboard);

/// Accepting an invitation that has an onboard already (made with POST /onboards, the invitation itself
/// naming no flow) attaches the user to that onboard, DISABLED; the minimal flow then completes with the
/// name given at acceptance, and the user is ENABLED.
async fn accepting_attaches_to_an_earlier_onboard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let directory = create_directory(&server, &token, "Early", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "early@example.com", Value::Null).await;
    let onboard = create_onboard(&server, &auth, json!({"invitation_id": invitation["id"]})).await;
    let id = id_of(&onboard);

    let accepted = accept_mailed(&server, "early@example.com", "Eddie Early").await;
    assert_eq!(onboard_id_of(&accepted), id, "the earlier onboard: {accepted}");
    let user = accepted["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED");
    let attached = get_onboard(&server, &auth, &id).await;
    assert_eq!(attached["user_id"], user, "{attached}");
    assert_eq!(list_onboards(&server, &auth).await.len(), 1, "no second onboard");

    let done = complete(&server, &Auth::invitee("early@example.com"), &id, "profile", json!({})).await;
    assert_eq!(step(&done, "profile")["done"], true, "the name from the acceptance is there: {done}");
    assert_eq!(done["status"], "completed", "its only step completes it: {done}");
    assert_eq!(get_onboard(&server, &auth, &id).await, done);
    let enabled = get_user(&server, &token, &user).await;
    assert_eq!(enabled["status"], "ENABLED", "{enabled}");
    assert_eq!(enabled["displayName"], "Eddie Early", "{enabled}");
}
both_backends!(accepting_attaches_to_an_earlier_onboard);

/// The issue: "Accepting an invitation whose flow is not empty starts its onboard automatically". A flow
/// without steps starts none, and the user, having nothing to do, is ENABLED.
async fn an_empty_flow_starts_no_onboard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let empty = create_flow_id(&server, &token, "Empty", json!([])).await;
    let directory = create_directory(&server, &token, "Empty flow", Value::Null).await;
    invite(&server, &token, &directory, "empty@example.com", json!({"onboardingFlowId": empty})).await;
    let accepted = accept_mailed(&server, "empty@example.com", "Emma Empty").await;
    assert!(accepted.get("onboardId").is_none(), "an empty flow starts no onboard: {accepted}");
    assert_eq!(accepted["user"]["status"], "ENABLED", "{accepted}");
}
both_backends!(an_empty_flow_starts_no_onboard);

/// acceptTerms is completed only by the invitee (HTTP Basic email:password) with accepted: true; a wrong
/// password or another invitee is 401, staff 403; it is done once; an unknown step is 404.
async fn accept_terms_only_by_the_invitee(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(
        &server,
        &token,
        "Terms",
        json!([
            {"key": "terms", "acceptTerms": {"text": "t"}},
            {"key": "verify", "verifyEmail": {}},
            {"key": "later", "completeProfile": {"requiredFields": ["jobTitle"]}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Terms", Value::Null).await;
    let extra = json!({"onboardingFlowId": flow});
    invite(&server, &token, &directory, "tia@example.com", extra.clone()).await;
    invite(&server, &token, &directory, "uma@example.com", extra.clone()).await;
    let pending = invite(&server, &token, &directory, "later@example.com", extra).await;
    let tia = accept_mailed(&server, "tia@example.com", "Tia").await;
    accept_mailed(&server, "uma@example.com", "Uma").await;
    let id = onboard_id_of(&tia);
    let tia_user = tia["user"]["id"].as_str().unwrap().to_string();
    let invitee = Auth::invitee("tia@example.com");
    let before = get_onboard(&server, &auth, &id).await;

    assert_names_field("no accepted", &complete_step(&server, &invitee, &id, "terms", json!({})).await, "accepted");
    let response = complete_step(&server, &invitee, &id, "terms", json!({"accepted": false})).await;
    assert_names_field("accepted false", &response, "accepted");
    for (case, wrong) in [
        ("wrong password", Auth::Basic("tia@example.com".into(), "not her password at all".into())),
        ("another invitee", Auth::invitee("uma@example.com")),
        ("unknown email", Auth::invitee("nobody@example.com")),
        ("no credentials", Auth::None),
    ] {
        let response = complete_step(&server, &wrong, &id, "terms", json!({"accepted": true})).await;
        assert_api_error(case, &response, 401, 16);
    }
    let key = Auth::api_key(&api_key(&server, "ops@example.com", &[BuiltinRole::Admin]).await);
    for (case, staff) in [("admin token", auth.clone()), ("admin key", key)] {
        let response = complete_step(&server, &staff, &id, "terms", json!({"accepted": true})).await;
        assert_api_error(case, &response, 403, 7);
    }
    assert_eq!(get_onboard(&server, &auth, &id).await, before, "refusals change nothing");

    let done = complete(&server, &invitee, &id, "terms", json!({"accepted": true, "ignored": 1})).await;
    let terms = step(&done, "terms");
    assert_eq!(terms["done"], true, "{done}");
    assert_eq!(terms["completed_by"], tia_user, "{done}");
    assert!(terms["completed_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{done}");
    assert_eq!(done["status"], "in_progress", "the first step a person completes starts it: {done}");
    assert_eq!(get_onboard(&server, &auth, &id).await, done);

    let again = complete_step(&server, &invitee, &id, "terms", json!({"accepted": true})).await;
    assert_precondition("done already", &again, "done already");
    assert_api_error("unknown step", &complete_step(&server, &invitee, &id, "nope", json!({})).await, 404, 5);
    let response = complete_step(&server, &invitee, "not-an-id", "terms", json!({"accepted": true})).await;
    assert_names_field("malformed onboard id", &response, "id");
    let response = complete_step(&server, &invitee, &Id::new().to_string(), "terms", json!({"accepted": true})).await;
    assert_api_error("unknown onboard", &response, 404, 5);

    // Before acceptance there is no invitee to be.
    let early = create_onboard(&server, &auth, json!({"invitation_id": pending["id"]})).await;
    let response =
        complete_step(&server, &Auth::invitee("later@example.com"), &id_of(&early), "terms", json!({"accepted": true}))
            .await;
    assert_api_error("invitee before acceptance", &response, 401, 16);
}
both_backends!(accept_terms_only_by_the_invitee);

/// completeProfile writes the fields sent onto the user and then needs every required field: one missing
/// is 400 naming it and changes nothing; only an admin sets the manager; the invitee or an admin completes it, a read-only admin or basic
/// user may not; search sees the new fields.
async fn complete_profile_checks_required_fields(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(
        &server,
        &token,
        "Profile",
        json!([{"key": "profile", "completeProfile": {"requiredFields": ["jobTitle", "department"]}}]),
    )
    .await;
    let directory = create_directory(&server, &token, "Profiles", json!({"onboardingFlowId": flow})).await;
    invite(&server, &token, &directory, "pat@example.com", Value::Null).await;
    invite(&server, &token, &directory, "quinn@example.com", Value::Null).await;
    let pat = accept_mailed(&server, "pat@example.com", "Pat Profile").await;
    let quinn = accept_mailed(&server, "quinn@example.com", "Quinn Profile").await;
    let (pat_onboard, pat_user) = (onboard_id_of(&pat), pat["user"]["id"].as_str().unwrap().to_string());
    let (quinn_onboard, quinn_user) = (onboard_id_of(&quinn), quinn["user"]["id"].as_str().unwrap().to_string());
    let invitee = Auth::invitee("pat@example.com");
    let user_before = get_user(&server, &token, &pat_user).await;
    let onboard_before = get_onboard(&server, &auth, &pat_onboard).await;

    assert_names_field(
        "nothing sent",
        &complete_step(&server, &invitee, &pat_onboard, "profile", json!({})).await,
        "jobTitle",
    );
    let response = complete_step(&server, &invitee, &pat_onboard, "profile", json!({"jobTitle": "Engineer"})).await;
    assert_names_field("department missing", &response, "department");
    let response =
        complete_step(&server, &invitee, &pat_onboard, "profile", json!({"jobTitle": "  ", "department": "R&D"})).await;
    assert_names_field("blank job title", &response, "jobTitle");
    // The manager approves onboarding, so only an admin sets it.
    let response = complete_step(
        &server,
        &invitee,
        &pat_onboard,
        "profile",
        json!({"jobTitle": "Engineer", "department": "R&D", "managerIds": [user_before["id"]]}),
    )
    .await;
    assert_api_error("the invitee picks a manager", &response, 403, 7);
    let response = complete_step(
        &server,
        &auth,
        &pat_onboard,
        "profile",
        json!({"jobTitle": "Engineer", "department": "R&D", "managerIds": ["nope"]}),
    )
    .await;
    assert_names_field("malformed manager", &response, "managerIds");
    let response = complete_step(
        &server,
        &auth,
        &pat_onboard,
        "profile",
        json!({"jobTitle": "Engineer", "department": "R&D", "managerIds": [Id::new().to_string()]}),
    )
    .await;
    assert_names_field("unknown manager", &response, "managerIds");
    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    let full = json!({"jobTitle": "Engineer", "department": "R&D"});
    let response = complete_step(&server, &Auth::Bearer(reader), &pat_onboard, "profile", full.clone()).await;
    assert_api_error("read-only admin", &response, 403, 7);
    // A basic user may not read onboards and approves nothing here: for them there is no such onboard.
    let response = complete_step(&server, &Auth::Bearer(basic), &pat_onboard, "profile", full.clone()).await;
    assert_api_error("basic user", &response, 404, 5);
    assert_eq!(get_user(&server, &token, &pat_user).await, user_before, "refusals leave the user as it was");
    assert_eq!(get_onboard(&server, &auth, &pat_onboard).await, onboard_before, "and the onboard");

    let body = json!({"jobTitle": "Engineer", "department": "R&D", "employmentType": "contractor"});
    let done = complete(&server, &invitee, &pat_onboard, "profile", body).await;
    assert_eq!(step(&done, "profile")["done"], true, "{done}");
    assert_eq!(step(&done, "profile")["completed_by"], pat_user, "{done}");
    assert_eq!(done["status"], "completed", "the flow's last step completes the onboard: {done}");
    let user = get_user(&server, &token, &pat_user).await;
    assert_eq!(user["jobTitle"], "Engineer", "{user}");
    assert_eq!(user["department"], "R&D", "{user}");
    assert_eq!(user["employmentType"], "contractor", "{user}");
    assert_eq!(user["status"], "ENABLED", "the completed onboard enabled the user: {user}");
    let (status, found) = server.post("/api/v1/search/users", &token, &json!({"jobTitles": ["Engineer"]})).await;
    assert_eq!(status, 200, "{found}");
    let ids: Vec<&Value> = found["list"].as_array().unwrap().iter().map(|view| &view["user"]["id"]).collect();
    assert_eq!(ids, [&json!(pat_user)], "search sees the new job title: {found}");

    // An admin completes Quinn's profile.
    let admin_id = my_user_id(&server, &token).await;
    let done =
        complete(&server, &auth, &quinn_onboard, "profile", json!({"jobTitle": "Analyst", "department": "Finance"}))
            .await;
    assert_eq!(step(&done, "profile")["completed_by"], admin_id, "{done}");
    assert_eq!(get_user(&server, &token, &quinn_user).await["jobTitle"], "Analyst");
}
both_backends!(complete_profile_checks_required_fields);

/// managerApproval without an approver is given only by one of the user's managers, with their own bearer
/// token; with an approver, only by that approver. Anyone else who may read onboards (an admin) is 403, the
/// invitee as well; someone who may not read onboards and approves none of its steps finds no onboard (404);
/// approved is required.
async fn manager_approval_only_by_the_manager(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let (_, manager) = server.credential_with_roles("manager@example.com", &[BuiltinRole::BasicUser]).await;
    let manager_id = my_user_id(&server, &manager).await;
    let (_, approver) = server.credential_with_roles("approver@example.com", &[BuiltinRole::BasicUser]).await;
    let approver_id = my_user_id(&server, &approver).await;
    let (_, bystander) = server.credential_with_roles("bystander@example.com", &[BuiltinRole::BasicUser]).await;
    let any_manager =
        create_flow_id(&server, &token, "Any manager", json!([{"key": "approval", "managerApproval": {}}])).await;
    let named = create_flow_id(
        &server,
        &token,
        "Named approver",
        json!([{"key": "approval", "managerApproval": {"approverUserId": approver_id}}]),
    )
    .await;
    let directory = create_directory(&server, &token, "Approvals", Value::Null).await;
    invite(&server, &token, &directory, "ivy@example.com", json!({"onboardingFlowId": any_manager})).await;
    invite(&server, &token, &directory, "jay@example.com", json!({"onboardingFlowId": named})).await;
    let ivy = accept_mailed(&server, "ivy@example.com", "Ivy").await;
    let jay = accept_mailed(&server, "jay@example.com", "Jay").await;
    let (ivy_onboard, ivy_user) = (onboard_id_of(&ivy), ivy["user"]["id"].as_str().unwrap().to_string());
    let jay_onboard = onboard_id_of(&jay);
    let yes = json!({"approved": true});

    let response = complete_step(&server, &Auth::Bearer(manager.clone()), &ivy_onboard, "approval", yes.clone()).await;
    assert_api_error("not yet her manager", &response, 404, 5);
    set_managers(&server, &token, &ivy_user, &[&manager_id]).await;
    for (case, who, status, code) in [
        ("an admin", auth.clone(), 403, 7),
        ("a bystander", Auth::Bearer(bystander.clone()), 404, 5),
        ("another step's approver", Auth::Bearer(approver.clone()), 404, 5),
        ("the invitee", Auth::invitee("ivy@example.com"), 403, 7),
    ] {
        let response = complete_step(&server, &who, &ivy_onboard, "approval", yes.clone()).await;
        assert_api_error(case, &response, status, code);
    }
    let response = complete_step(&server, &Auth::Bearer(manager.clone()), &ivy_onboard, "approval", json!({})).await;
    assert_names_field("approved missing", &response, "approved");
    let done = complete(&server, &Auth::Bearer(manager.clone()), &ivy_onboard, "approval", yes.clone()).await;
    assert_eq!(step(&done, "approval")["done"], true, "{done}");
    assert_eq!(step(&done, "approval")["completed_by"], manager_id, "{done}");
    assert_eq!(done["status"], "completed", "approving the only step completes the onboard: {done}");

    for (case, who, status, code) in [
        ("an admin", auth.clone(), 403, 7),
        ("a bystander", Auth::Bearer(bystander), 404, 5),
        ("the invitee", Auth::invitee("jay@example.com"), 403, 7),
    ] {
        let response = complete_step(&server, &who, &jay_onboard, "approval", yes.clone()).await;
        assert_api_error(&format!("named approver: {case}"), &response, status, code);
    }
    let done = complete(&server, &Auth::Bearer(approver), &jay_onboard, "approval", yes).await;
    assert_eq!(step(&done, "approval")["completed_by"], approver_id, "{done}");
}
both_backends!(manager_approval_only_by_the_manager);

/// A manager's refusal (approved: false) fails the onboard with their reason; the user stays DISABLED and
/// the onboard takes no more steps or transitions.
async fn a_rejected_approval_fails_the_onboard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let (_, manager) = server.credential_with_roles("manager@example.com", &[BuiltinRole::BasicUser]).await;
    let manager_id = my_user_id(&server, &manager).await;
    let flow = create_flow_id(
        &server,
        &token,
        "Approval",
        json!([{"key": "terms", "acceptTerms": {"text": "t"}}, {"key": "approval", "managerApproval": {}}]),
    )
    .await;
    let directory = create_directory(&server, &token, "Rejections", json!({"onboardingFlowId": flow})).await;
    invite(&server, &token, &directory, "rex@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "rex@example.com", "Rex").await;
    let (id, user) = (onboard_id_of(&accepted), accepted["user"]["id"].as_str().unwrap().to_string());
    set_managers(&server, &token, &user, &[&manager_id]).await;

    let no = json!({"approved": false, "reason": "no headcount this quarter"});
    let failed = complete(&server, &Auth::Bearer(manager), &id, "approval", no).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["failure_reason"].as_str().unwrap().contains("no headcount this quarter"), "{failed}");
    assert_eq!(step(&failed, "approval")["done"], false, "{failed}");
    assert_eq!(get_onboard(&server, &auth, &id).await, failed);
    assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED");

    let response =
        complete_step(&server, &Auth::invitee("rex@example.com"), &id, "terms", json!({"accepted": true})).await;
    assert_precondition("a step after the rejection", &response, "failed");
    assert_precondition(
        "complete after the rejection",
        &put_onboard(&server, &auth, &id, json!({"status": "completed"})).await,
        "cannot",
    );
    assert_eq!(audit_actions_of(&server, &token, &id).await, ["onboard.create", "onboard.fail"]);
}
both_backends!(a_rejected_approval_fails_the_onboard);

/// assignRoles and notify are onramp's own steps (400 code 9 to complete by hand); verifyEmail is marked by
/// an admin only, with verified: true, and starts the onboard.
async fn automatic_steps_and_verify_email(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(
        &server,
        &token,
        "Automatic",
        json!([
            {"key": "verify", "verifyEmail": {}},
            {"key": "roles", "assignRoles": {"roleIds": ["basic-user"]}},
            {"key": "tell", "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "hi"}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Automatic", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "auto@example.com", Value::Null).await;
    let onboard = create_onboard(&server, &auth, json!({"invitation_id": invitation["id"], "flow_id": flow})).await;
    let id = id_of(&onboard);
    for key in ["roles", "tell"] {
        assert_precondition(key, &complete_step(&server, &auth, &id, key, json!({})).await, "performed by onramp");
    }
    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let response = complete_step(&server, &Auth::Bearer(reader), &id, "verify", json!({"verified": true})).await;
    assert_api_error("read-only admin verifies", &response, 403, 7);
    assert_names_field("verified missing", &complete_step(&server, &auth, &id, "verify", json!({})).await, "verified");
    assert_eq!(get_onboard(&server, &auth, &id).await, onboard, "refusals change nothing");

    let done = complete(&server, &auth, &id, "verify", json!({"verified": true})).await;
    assert_eq!(step(&done, "verify")["done"], true, "{done}");
    assert_eq!(step(&done, "verify")["completed_by"], my_user_id(&server, &token).await, "{done}");
    assert_eq!(done["status"], "in_progress", "{done}");
    assert_eq!(step(&done, "roles")["done"], false, "automatic steps run at completion: {done}");
}
both_backends!(automatic_steps_and_verify_email);

/// The invitee's last step completes the onboard by itself, in its transaction: it enables the user, grants
/// the assignRoles roles on top of the invitation's, and queues one email per notify step to the sponsor
/// and the manager, which the file transport delivers; the step's answer and the reads say completed; a
/// completed onboard takes no more steps or transitions, and an admin's PUT completed (here with an API key)
/// changes nothing.
async fn completion_enables_grants_and_notifies(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let key = Auth::api_key(&api_key(&server, "integration@example.com", &[BuiltinRole::Admin]).await);
    let sponsor =
        server.create_user(&token, &json!({"email": "sponsor@example.com", "displayName": "Sam Sponsor"})).await;
    let manager =
        server.create_user(&token, &json!({"email": "manager@example.com", "displayName": "Mia Manager"})).await;
    let flow = create_flow_id(
        &server,
        &token,
        "Full",
        json!([
            {"key": "terms", "acceptTerms": {"text": "t"}},
            {"key": "roles", "assignRoles": {"roleIds": ["directory-admin"]}},
            {"key": "hello-sponsor", "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "Please say hello."}},
            {"key": "hello-manager", "notify": {"recipient": "NOTIFY_RECIPIENT_MANAGER", "message": "Your report is here."}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Complete", Value::Null).await;
    let extra = json!({"onboardingFlowId": flow, "sponsorUserId": sponsor, "initialRoleIds": ["basic-user"]});
    invite(&server, &token, &directory, "nina@example.com", extra).await;
    let accepted = accept_mailed(&server, "nina@example.com", "Nina New").await;
    let (id, user) = (onboard_id_of(&accepted), accepted["user"]["id"].as_str().unwrap().to_string());
    set_managers(&server, &token, &user, &[&manager]).await;
    assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED", "until completion");
    assert!(mail_count(&server, "sponsor@example.com") == 0, "no notify email before completion");

    let completed =
        complete(&server, &Auth::invitee("nina@example.com"), &id, "terms", json!({"accepted": true})).await;
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(get_onboard(&server, &key, &id).await, completed, "the reads say so too");
    assert_eq!(completed["failure_reason"], "", "{completed}");
    let enabled = get_user(&server, &token, &user).await;
    assert_eq!(enabled["status"], "ENABLED", "{enabled}");
    let mut roles: Vec<&str> = enabled["roleIds"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, [DIRECTORY_ADMIN_ROLE, BASIC_USER_ROLE], "the invitation's role and the flow's: {enabled}");

    let to_sponsor = mails_to(&server, "sponsor@example.com", 1).await;
    assert_eq!(to_sponsor.len(), 1, "one email to the sponsor");
    assert!(to_sponsor[0].subject.contains("Nina New"), "{}", to_sponsor[0].raw);
    assert!(to_sponsor[0].text.contains("Please say hello."), "the step's message: {}", to_sponsor[0].text);
    assert!(to_sponsor[0].text.contains("nina@example.com"), "{}", to_sponsor[0].text);
    let to_manager = mails_to(&server, "manager@example.com", 1).await;
    assert_eq!(to_manager.len(), 1, "one email to the manager");
    assert!(to_manager[0].text.contains("Your report is here."), "{}", to_manager[0].text);
    assert_eq!(onboard_emails_queued(&server, &id).await, "2", "two notify emails through the outbox");

    let (status, again) = put_onboard(&server, &key, &id, json!({"status": "completed"})).await;
    assert_eq!((status, &again), (200, &completed), "completing again changes nothing");
    for next in ["in_progress", "failed", "created"] {
        assert_precondition(
            &format!("completed → {next}"),
            &put_onboard(&server, &key, &id, json!({"status": next})).await,
            "cannot",
        );
    }
    let response = complete_step(&server, &key, &id, "roles", json!({})).await;
    assert_precondition("a step after completion", &response, "completed");
    assert_eq!(onboard_emails_queued(&server, &id).await, "2", "no more emails");
    assert_eq!(audit_actions_of(&server, &token, &id).await, ["onboard.create", "onboard.complete"]);
}
both_backends!(completion_enables_grants_and_notifies);

/// The number of delivered emails to `to` right now.
fn mail_count(server: &TestServer, to: &str) -> usize {
    crate::support::mail::mail_to(server.database.dir.path(), to).len()
}

/// An onboard keeps the steps its flow had when it started: editing the flow later changes new onboards
/// only.
async fn a_running_onboard_keeps_its_steps(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(&server, &token, "Changing", terms_only()).await;
    let directory = create_directory(&server, &token, "Keeps", json!({"onboardingFlowId": flow})).await;
    let first = invite(&server, &token, &directory, "first@example.com", Value::Null).await;
    let second = invite(&server, &token, &directory, "second@example.com", Value::Null).await;
    let before = create_onboard(&server, &auth, json!({"invitation_id": first["id"]})).await;
    let update = json!({"onboardingFlow": {"steps": [{"key": "verify", "verifyEmail": {}}]}, "updateMask": "steps"});
    let (status, body) = server.post(&crate::flows::flow_path(&flow), &token, &update).await;
    assert_eq!(status, 200, "the flow may change while in use: {body}");
    assert_eq!(get_onboard(&server, &auth, &id_of(&before)).await, before, "the running onboard keeps its steps");
    let after = create_onboard(&server, &auth, json!({"invitation_id": second["id"]})).await;
    assert_eq!(after["steps"][0]["key"], "verify", "a new onboard follows the flow as it is: {after}");
}
both_backends!(a_running_onboard_keeps_its_steps);

/// Every transition of one onboard writes one audit event on it, by whoever caused it: create (the API
/// caller), attach on acceptance (the invitee), start (the invitee's first step), complete (the invitee's
/// last step, which completes it by itself); an admin's PUT completed afterwards changes nothing.
async fn every_transition_is_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin_id = my_user_id(&server, &token).await;
    let auth = Auth::Bearer(token.clone());
    let steps = json!([
        {"key": "terms", "acceptTerms": {"text": "t"}},
        {"key": "profile", "completeProfile": {"requiredFields": ["jobTitle"]}},
    ]);
    let flow = create_flow_id(&server, &token, "Audited", steps).await;
    let directory = create_directory(&server, &token, "Audited", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "audit@example.com", Value::Null).await;
    let onboard = create_onboard(&server, &auth, json!({"invitation_id": invitation["id"], "flow_id": flow})).await;
    let id = id_of(&onboard);
    let accepted = accept_mailed(&server, "audit@example.com", "Audrey").await;
    let user = accepted["user"]["id"].as_str().unwrap().to_string();
    let invitee = Auth::invitee("audit@example.com");
    complete(&server, &invitee, &id, "terms", json!({"accepted": true})).await;
    // Refusals write nothing.
    assert_eq!(put_onboard(&server, &auth, &id, json!({"status": "created"})).await.0, 400);
    assert_eq!(complete_step(&server, &auth, &id, "terms", json!({"accepted": true})).await.0, 400);
    let done = complete(&server, &invitee, &id, "profile", json!({"jobTitle": "Auditor"})).await;
    assert_eq!(done["status"], "completed", "the last step completes the onboard: {done}");
    let (status, body) = put_onboard(&server, &auth, &id, json!({"status": "completed"})).await;
    assert_eq!((status, &body), (200, &done), "completing again changes nothing");
    let audit = audit_of(&server, &token, &id).await;
    let want = [
        ("onboard.create", admin_id.as_str()),
        ("onboard.update", user.as_str()),
        ("onboard.start", user.as_str()),
        ("onboard.complete", user.as_str()),
    ];
    let got: Vec<(&str, &str)> = audit.iter().map(|(a, u)| (a.as_str(), u.as_str())).collect();
    assert_eq!(got, want, "{audit:?}");
    let all = audit_actions(&server, &token).await;
    assert!(
        all.iter().any(|(action, object)| action == "user.update" && *object == user),
        "enabling the user is audited too: {all:?}"
    );
}
both_backends!(every_transition_is_audited);
