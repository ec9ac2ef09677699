//! Local directory configs over HTTP (issue #5): create with defaults, get, list in pages, update with and
//! without a field mask, the invitation TTL's bounds, one default per tenant, the backing app, delete
//! revoking pending invitations, self-registration domains, the tenant wall, roles, audit events.
//! The helpers at the top are shared with `invitations`.

use onramp_domain::BuiltinRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::apps::{audit_actions, create_app, send};
use crate::both_backends;
use crate::invitations::{PASSWORD, accept, invitation_by_id, invite, invite_token};
use crate::support::{Backend, TestServer, assert_api_error};

pub const DIRECTORIES: &str = "/api/v1/local-directory-configs";

/// `/api/v1/local-directory-configs/{app_id}`.
pub fn directory_path(app_id: &str) -> String {
    format!("{DIRECTORIES}/{app_id}")
}

/// Creates an app named `name` and makes it a directory; `extra` holds more fields of the create request
/// (an object, or null). Returns the app id, which is the directory's.
pub async fn create_directory(server: &TestServer, token: &str, name: &str, extra: Value) -> String {
    let app = create_app(server, token, name).await;
    let (status, body) = post_directory(server, token, &app, name, extra).await;
    assert_eq!(status, 200, "create directory {name}: {body}");
    app
}

/// `POST /api/v1/local-directory-configs` for an existing app, with `extra` merged into the body.
async fn post_directory(server: &TestServer, token: &str, app: &str, name: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"appId": app, "displayName": name});
    if let Value::Object(fields) = extra {
        body.as_object_mut().unwrap().extend(fields);
    }
    server.post(DIRECTORIES, token, &body).await
}

/// `GET` of a directory that must exist; returns the `localDirectoryConfig`.
pub async fn get_directory(server: &TestServer, token: &str, app: &str) -> Value {
    let (status, body) = server.get(&directory_path(app), token).await;
    assert_eq!(status, 200, "get directory {app}: {body}");
    body["localDirectoryConfig"].clone()
}

/// Asserts a 400 (code 3) whose message names `field`.
#[track_caller]
pub fn assert_names_field(case: &str, response: &(u16, Value), field: &str) {
    assert_api_error(case, response, 400, 3);
    let message = response.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{case}: the message must name {field}: {}", response.1);
}

/// The app's `isDirectory`.
async fn is_directory(server: &TestServer, token: &str, app: &str) -> Value {
    let (status, body) = server.get(&format!("/api/v1/apps/{app}"), token).await;
    assert_eq!(status, 200, "get app {app}: {body}");
    body["app"]["isDirectory"].clone()
}

/// A create names only the app and a display name: the TTL is seven days, the directory is not the
/// default and allows no self-registration; GET answers what create did, and the app becomes a directory.
async fn create_with_defaults_then_get(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Contractors").await;
    assert_eq!(is_directory(&server, &token, &app).await, json!(false));

    let (status, created) = post_directory(&server, &token, &app, "Contractors", Value::Null).await;
    assert_eq!(status, 200, "{created}");
    let directory = &created["localDirectoryConfig"];
    assert_eq!(directory["appId"], app, "{created}");
    assert_eq!(directory["displayName"], "Contractors", "{created}");
    assert_eq!(directory["invitationTtl"], "604800s", "seven days by default: {created}");
    assert_eq!(directory["isDefault"], false, "{created}");
    assert_eq!(directory["allowSelfRegistration"], false, "{created}");
    assert!(
        directory["selfRegistrationDomains"].as_array().is_none_or(|domains| domains.is_empty()),
        "no domains: {created}"
    );
    for time in ["createdAt", "updatedAt"] {
        assert!(directory[time].as_str().is_some_and(|t| t.ends_with('Z')), "{time} in UTC: {created}");
    }
    assert_eq!(get_directory(&server, &token, &app).await, *directory, "get answers what create did");
    assert_eq!(is_directory(&server, &token, &app).await, json!(true), "the app is now a directory");

    // Every field sent is kept.
    let other = create_app(&server, &token, "Partners").await;
    let extra = json!({
        "invitationTtl": "86400s",
        "isDefault": true,
        "allowSelfRegistration": true,
        "selfRegistrationDomains": ["partners.example", "Example.ORG"],
        "defaultProfileTypeId": "profile-type-1",
        "organizationId": "org-7",
    });
    let (status, created) = post_directory(&server, &token, &other, "Partners", extra).await;
    assert_eq!(status, 200, "{created}");
    let directory = &created["localDirectoryConfig"];
    assert_eq!(directory["invitationTtl"], "86400s", "{created}");
    assert_eq!(directory["isDefault"], true, "{created}");
    assert_eq!(directory["allowSelfRegistration"], true, "{created}");
    assert_eq!(
        directory["selfRegistrationDomains"],
        json!(["partners.example", "example.org"]),
        "lowercased: {created}"
    );
    assert_eq!(directory["defaultProfileTypeId"], "profile-type-1", "{created}");
    assert_eq!(directory["organizationId"], "org-7", "{created}");
    assert_eq!(get_directory(&server, &token, &other).await, *directory);
}
both_backends!(create_with_defaults_then_get);

/// The list walks every directory once, in app id order, in pages (page sizes follow the ConductorOne
/// rules: at least 10); a tampered page token is refused.
async fn list_pages_in_app_id_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    // An app that is no directory is not listed.
    create_app(&server, &token, "Not a directory").await;
    let mut created = Vec::new();
    for n in 0..12 {
        created.push(create_directory(&server, &token, &format!("Directory {n}"), Value::Null).await);
    }
    let pages = server.all_pages(DIRECTORIES, &token, 10).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 2], "{pages:?}");
    let seen: Vec<&str> = pages.iter().flatten().map(|d| d["appId"].as_str().unwrap()).collect();
    assert_eq!(seen, created, "every directory once, in app id order");

    let (status, first) = server.get(&format!("{DIRECTORIES}?page_size=10"), &token).await;
    assert_eq!(status, 200, "{first}");
    let mut tampered = first["nextPageToken"].as_str().unwrap().to_string().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response = server.get(&format!("{DIRECTORIES}?page_size=10&page_token={tampered}"), &token).await;
    assert_api_error("tampered page token", &response, 400, 3);
    let response = server.get(&format!("{DIRECTORIES}?page_token=not-a-token"), &token).await;
    assert_api_error("garbage page token", &response, 400, 3);
}
both_backends!(list_pages_in_app_id_order);

/// An update with a mask changes exactly the masked fields; without one, the fields sent; a mask naming an
/// unknown or read-only field is refused, as is a TTL out of bounds, and an unknown directory is 404.
async fn update_with_and_without_mask(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Contractors", json!({"organizationId": "org-1"})).await;
    let before = get_directory(&server, &token, &app).await;
    let path = directory_path(&app);

    let update = json!({
        "localDirectoryConfig": {"displayName": "Vendors", "invitationTtl": "7200s", "organizationId": "ignored"},
        "updateMask": "displayName,invitationTtl",
    });
    let (status, updated) = server.post(&path, &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    let directory = &updated["localDirectoryConfig"];
    assert_eq!(directory["displayName"], "Vendors", "{updated}");
    assert_eq!(directory["invitationTtl"], "7200s", "{updated}");
    assert_eq!(directory["organizationId"], "org-1", "not in the mask, so unchanged: {updated}");
    assert_eq!(directory["appId"], app, "{updated}");
    assert_eq!(directory["createdAt"], before["createdAt"], "{updated}");
    assert_ne!(directory["updatedAt"], before["updatedAt"], "{updated}");
    assert_eq!(get_directory(&server, &token, &app).await, *directory, "GET shows the update");

    // No mask: what is sent changes, the rest stays.
    let update =
        json!({"localDirectoryConfig": {"allowSelfRegistration": true, "selfRegistrationDomains": ["a.example"]}});
    let (status, updated) = server.post(&path, &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    let directory = &updated["localDirectoryConfig"];
    assert_eq!(directory["allowSelfRegistration"], true, "{updated}");
    assert_eq!(directory["selfRegistrationDomains"], json!(["a.example"]), "{updated}");
    assert_eq!(directory["displayName"], "Vendors", "{updated}");
    assert_eq!(directory["invitationTtl"], "7200s", "{updated}");
    assert_eq!(get_directory(&server, &token, &app).await, *directory);

    for (case, body, field) in [
        ("unknown mask path", json!({"localDirectoryConfig": {}, "updateMask": "displayName,colour"}), "updateMask"),
        ("appId in the mask", json!({"localDirectoryConfig": {"appId": app}, "updateMask": "appId"}), "updateMask"),
        ("createdAt in the mask", json!({"localDirectoryConfig": {}, "updateMask": "createdAt"}), "updateMask"),
        (
            "TTL under an hour",
            json!({"localDirectoryConfig": {"invitationTtl": "60s"}, "updateMask": "invitationTtl"}),
            "invitationTtl",
        ),
        (
            "blank display name",
            json!({"localDirectoryConfig": {"displayName": ""}, "updateMask": "displayName"}),
            "displayName",
        ),
    ] {
        assert_names_field(case, &server.post(&path, &token, &body).await, field);
    }
    assert_eq!(get_directory(&server, &token, &app).await["displayName"], "Vendors", "refused updates change nothing");

    let unknown = create_app(&server, &token, "Plain app").await;
    let update = json!({"localDirectoryConfig": {"displayName": "x"}, "updateMask": "displayName"});
    assert_api_error(
        "update an app that is no directory",
        &server.post(&directory_path(&unknown), &token, &update).await,
        404,
        5,
    );
}
both_backends!(update_with_and_without_mask);

/// The invitation TTL is a protojson duration from one hour to ninety days, both ends included.
async fn invitation_ttl_bounds(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for (ttl, ok) in [
        ("3540s", false),    // 59 minutes
        ("3599s", false),    // a second short of an hour
        ("3600s", true),     // one hour
        ("7776000s", true),  // 90 days
        ("7862400s", false), // 91 days
        ("7776001s", false), // a second over 90 days
        ("-3600s", false),
    ] {
        let app = create_app(&server, &token, &format!("ttl {ttl}")).await;
        let response = post_directory(&server, &token, &app, "ttl", json!({"invitationTtl": ttl})).await;
        if ok {
            assert_eq!(response.0, 200, "TTL {ttl}: {}", response.1);
            assert_eq!(response.1["localDirectoryConfig"]["invitationTtl"], ttl, "{}", response.1);
        } else {
            assert_names_field(&format!("TTL {ttl}"), &response, "invitationTtl");
            assert_api_error(
                &format!("no directory after TTL {ttl}"),
                &server.get(&directory_path(&app), &token).await,
                404,
                5,
            );
        }
    }
    for malformed in [json!("7d"), json!("one hour"), json!("3600 s"), json!("s"), json!({"seconds": 3600})] {
        let app = create_app(&server, &token, "malformed").await;
        let response = post_directory(&server, &token, &app, "ttl", json!({"invitationTtl": malformed})).await;
        assert_names_field(&format!("TTL {malformed}"), &response, "invitationTtl");
    }
}
both_backends!(invitation_ttl_bounds);

/// A tenant has at most one default directory: making B the default (by create or by update) clears A,
/// both in the answers and on GET.
async fn one_default_per_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let a = create_directory(&server, &token, "A", json!({"isDefault": true})).await;
    assert_eq!(get_directory(&server, &token, &a).await["isDefault"], true);

    let b_app = create_app(&server, &token, "B").await;
    let (status, b) = post_directory(&server, &token, &b_app, "B", json!({"isDefault": true})).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["localDirectoryConfig"]["isDefault"], true, "{b}");
    assert_eq!(get_directory(&server, &token, &a).await["isDefault"], false, "B's create cleared A");
    assert_eq!(get_directory(&server, &token, &b_app).await["isDefault"], true);

    // Back to A, by update.
    let update = json!({"localDirectoryConfig": {"isDefault": true}, "updateMask": "isDefault"});
    let (status, updated) = server.post(&directory_path(&a), &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["localDirectoryConfig"]["isDefault"], true, "{updated}");
    assert_eq!(get_directory(&server, &token, &b_app).await["isDefault"], false, "A's update cleared B");

    // A non-default directory does not disturb the default.
    let c = create_directory(&server, &token, "C", json!({"isDefault": false})).await;
    let defaults: Vec<String> = server
        .all_pages(DIRECTORIES, &token, 100)
        .await
        .into_iter()
        .flatten()
        .filter(|d| d["isDefault"] == json!(true))
        .map(|d| d["appId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(defaults, std::slice::from_ref(&a), "exactly one default");
    assert_eq!(get_directory(&server, &token, &c).await["isDefault"], false);

    // Clearing the default leaves none.
    let update = json!({"localDirectoryConfig": {"isDefault": false}, "updateMask": "isDefault"});
    assert_eq!(server.post(&directory_path(&a), &token, &update).await.0, 200);
    let pages = server.all_pages(DIRECTORIES, &token, 100).await;
    assert!(pages.iter().flatten().all(|d| d["isDefault"] == json!(false)), "{pages:?}");
}
both_backends!(one_default_per_tenant);

/// Several directories made the default at the same moment leave exactly one default; each request either
/// succeeds or is refused cleanly (409), never with a server error.
async fn concurrent_defaults_leave_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let mut apps = Vec::new();
    for n in 0..6 {
        apps.push(create_directory(&server, &token, &format!("D{n}"), Value::Null).await);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(apps.len()));
    let mut tasks = Vec::new();
    for app in &apps {
        let (http, start, token) = (server.http.clone(), start.clone(), token.clone());
        let url = server.url(&directory_path(app));
        tasks.push(tokio::spawn(async move {
            let body = json!({"localDirectoryConfig": {"isDefault": true}, "updateMask": "isDefault"});
            start.wait().await;
            crate::support::read(http.post(url).bearer_auth(token).json(&body).send().await.expect("update")).await
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("task"));
    }
    for response in &responses {
        if response.0 != 200 {
            assert_eq!(response.0, 409, "a refused update is a conflict: {responses:?}");
            assert!(response.1["message"].as_str().is_some_and(|m| !m.is_empty()), "{responses:?}");
        }
    }
    assert!(responses.iter().any(|(status, _)| *status == 200), "one succeeds: {responses:?}");
    let pages = server.all_pages(DIRECTORIES, &token, 100).await;
    let defaults = pages.iter().flatten().filter(|d| d["isDefault"] == json!(true)).count();
    assert_eq!(defaults, 1, "exactly one default: {pages:?}");
}
both_backends!(concurrent_defaults_leave_one);

/// A directory needs a live app of the tenant that is not a directory already, and a display name.
async fn the_backing_app_is_checked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let unknown = onramp_domain::Id::new().to_string();
    let response = server.post(DIRECTORIES, &token, &json!({"appId": unknown, "displayName": "X"})).await;
    assert_api_error("unknown app", &response, 404, 5);

    let gone = create_app(&server, &token, "Gone").await;
    assert_eq!(send(&server, Method::DELETE, &format!("/api/v1/apps/{gone}"), &token, Some(&json!({}))).await.0, 200);
    let response = server.post(DIRECTORIES, &token, &json!({"appId": gone, "displayName": "X"})).await;
    assert_api_error("deleted app", &response, 404, 5);

    let app = create_directory(&server, &token, "Once", Value::Null).await;
    let response = server.post(DIRECTORIES, &token, &json!({"appId": app, "displayName": "Twice"})).await;
    assert_api_error("app already a directory", &response, 409, 6);
    assert_eq!(get_directory(&server, &token, &app).await["displayName"], "Once", "the first one stands");

    let fresh = create_app(&server, &token, "Fresh").await;
    for (case, body, field) in [
        ("no appId", json!({"displayName": "X"}), "appId"),
        ("malformed appId", json!({"appId": "nope", "displayName": "X"}), "appId"),
        ("no displayName", json!({"appId": fresh}), "displayName"),
        ("blank displayName", json!({"appId": fresh, "displayName": "   "}), "displayName"),
        ("isDefault not a bool", json!({"appId": fresh, "displayName": "X", "isDefault": "yes"}), "isDefault"),
    ] {
        assert_names_field(case, &server.post(DIRECTORIES, &token, &body).await, field);
    }
    assert_eq!(is_directory(&server, &token, &fresh).await, json!(false), "refused creates change nothing");

    assert_api_error("get unknown", &server.get(&directory_path(&unknown), &token).await, 404, 5);
    assert_api_error("get an app that is no directory", &server.get(&directory_path(&fresh), &token).await, 404, 5);
    assert_names_field("get malformed id", &server.get(&directory_path("xyz"), &token).await, "id");
    assert_api_error("delete unknown", &server.delete(&directory_path(&unknown), &token).await, 404, 5);
}
both_backends!(the_backing_app_is_checked);

/// While an app backs a directory it cannot be deleted (FAILED_PRECONDITION); after the directory is
/// deleted the app is still there, no longer a directory, and can be deleted.
async fn the_backing_app_outlives_its_directory(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Backed", Value::Null).await;
    let app_path = format!("/api/v1/apps/{app}");
    let response = send(&server, Method::DELETE, &app_path, &token, Some(&json!({}))).await;
    assert_api_error("delete the app of a directory", &response, 400, 9);
    assert_eq!(server.get(&app_path, &token).await.0, 200, "the app is still there");
    assert_eq!(get_directory(&server, &token, &app).await["appId"], app, "and so is the directory");

    let (status, body) = server.delete(&directory_path(&app), &token).await;
    assert_eq!((status, body), (200, json!({})));
    assert_api_error("get a deleted directory", &server.get(&directory_path(&app), &token).await, 404, 5);
    assert_api_error("delete it again", &server.delete(&directory_path(&app), &token).await, 404, 5);
    assert_eq!(is_directory(&server, &token, &app).await, json!(false), "the app stays, no longer a directory");

    // The app can be made a directory again, and, once that is gone too, deleted.
    create_directory_on(&server, &token, &app).await;
    assert_eq!(server.delete(&directory_path(&app), &token).await.0, 200);
    assert_eq!(send(&server, Method::DELETE, &app_path, &token, Some(&json!({}))).await.0, 200);
}
both_backends!(the_backing_app_outlives_its_directory);

async fn create_directory_on(server: &TestServer, token: &str, app: &str) {
    let (status, body) = post_directory(server, token, app, "Again", Value::Null).await;
    assert_eq!(status, 200, "{body}");
}

/// Deleting a directory revokes its pending invitations (their links stop working) and leaves accepted
/// ones as they were; another directory's invitations are untouched.
async fn delete_revokes_pending_invitations(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Closing", Value::Null).await;
    let other = create_directory(&server, &token, "Staying", Value::Null).await;
    let pending = invite(&server, &token, &app, "pending@example.com", Value::Null).await;
    let accepted = invite(&server, &token, &app, "accepted@example.com", Value::Null).await;
    let elsewhere = invite(&server, &token, &other, "elsewhere@example.com", Value::Null).await;
    let pending_token = invite_token(&server, "pending@example.com").await;
    let accepted_token = invite_token(&server, "accepted@example.com").await;
    let (status, body) = accept(&server, &accepted_token, "Accepted", PASSWORD).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = server.delete(&directory_path(&app), &token).await;
    assert_eq!((status, body), (200, json!({})));

    let pending = invitation_by_id(&server, &token, pending["id"].as_str().unwrap()).await;
    assert_eq!(pending["status"], "LOCAL_INVITATION_STATUS_REVOKED", "{pending}");
    let accepted = invitation_by_id(&server, &token, accepted["id"].as_str().unwrap()).await;
    assert_eq!(accepted["status"], "LOCAL_INVITATION_STATUS_ACCEPTED", "{accepted}");
    assert!(accepted["createdUserId"].as_str().is_some_and(|id| id.len() == 24), "{accepted}");
    let elsewhere = invitation_by_id(&server, &token, elsewhere["id"].as_str().unwrap()).await;
    assert_eq!(elsewhere["status"], "LOCAL_INVITATION_STATUS_PENDING", "{elsewhere}");

    let response = accept(&server, &pending_token, "Too Late", PASSWORD).await;
    assert_api_error("accept after the directory went", &response, 400, 9);
    assert!(response.1["message"].as_str().unwrap().contains("revoked"), "{}", response.1);

    let actions = audit_actions(&server, &token).await;
    let revoked = pending["id"].as_str().unwrap();
    assert!(actions.iter().any(|(action, _)| action == "local_directory.delete"), "{actions:?}");
    assert!(
        actions.iter().any(|(action, object)| action == "invitation.revoke" && object == revoked),
        "the revocation is audited: {actions:?}"
    );
}
both_backends!(delete_revokes_pending_invitations);

/// Self-registration domains must be DNS names; they are stored lowercased.
async fn self_registration_domains_are_validated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for bad in [
        json!(["not a domain"]),
        json!(["@example.com"]),
        json!(["user@example.com"]),
        json!(["-example.com"]),
        json!(["example..com"]),
        json!([""]),
        json!(["example.com", "exa mple.org"]),
        json!("example.com"),
        json!([7]),
    ] {
        let app = create_app(&server, &token, "Domains").await;
        let body = json!({"allowSelfRegistration": true, "selfRegistrationDomains": bad});
        let response = post_directory(&server, &token, &app, "Domains", body).await;
        assert_names_field(&format!("domains {bad}"), &response, "selfRegistrationDomains");
    }
    let app = create_directory(&server, &token, "Good", json!({"allowSelfRegistration": true})).await;
    let update = json!({
        "localDirectoryConfig": {"selfRegistrationDomains": ["Sub.Example.COM", "example.org"]},
        "updateMask": "selfRegistrationDomains",
    });
    let (status, updated) = server.post(&directory_path(&app), &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["localDirectoryConfig"]["selfRegistrationDomains"], json!(["sub.example.com", "example.org"]));
    let update = json!({
        "localDirectoryConfig": {"selfRegistrationDomains": ["no spaces.example"]},
        "updateMask": "selfRegistrationDomains",
    });
    let response = server.post(&directory_path(&app), &token, &update).await;
    assert_names_field("update with a bad domain", &response, "selfRegistrationDomains");
}
both_backends!(self_registration_domains_are_validated);

/// Another tenant can neither see nor change our directories, nor make a directory of our app.
async fn another_tenant_sees_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Ours", Value::Null).await;
    let (_, theirs) = server.other_tenant("rival").await;
    let path = directory_path(&app);
    assert_api_error("their get", &server.get(&path, &theirs).await, 404, 5);
    let update = json!({"localDirectoryConfig": {"displayName": "Theirs"}, "updateMask": "displayName"});
    assert_api_error("their update", &server.post(&path, &theirs, &update).await, 404, 5);
    assert_api_error("their delete", &server.delete(&path, &theirs).await, 404, 5);
    let their_app = create_app(&server, &token, "Ours too").await;
    let response = server.post(DIRECTORIES, &theirs, &json!({"appId": their_app, "displayName": "Theirs"})).await;
    assert_api_error("their create on our app", &response, 404, 5);
    let pages = server.all_pages(DIRECTORIES, &theirs, 10).await;
    assert!(pages.iter().all(Vec::is_empty), "they list nothing: {pages:?}");
    assert_eq!(get_directory(&server, &token, &app).await["displayName"], "Ours", "unchanged");

    // Their own directory does not take our default away.
    let ours = create_directory(&server, &token, "Our default", json!({"isDefault": true})).await;
    let their_app = create_app(&server, &theirs, "Their app").await;
    let (status, body) =
        post_directory(&server, &theirs, &their_app, "Their default", json!({"isDefault": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get_directory(&server, &token, &ours).await["isDefault"], true, "defaults are per tenant");
}
both_backends!(another_tenant_sees_nothing);

/// The read-only admin reads but cannot write; a basic user can do neither; a directory admin writes.
/// Without a token, 401.
async fn roles_decide_who_reads_and_writes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Guarded", Value::Null).await;
    let spare = create_app(&server, &token, "Spare").await;
    let path = directory_path(&app);
    let update = json!({"localDirectoryConfig": {"displayName": "Changed"}, "updateMask": "displayName"});
    let create = json!({"appId": spare, "displayName": "New"});

    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    assert_eq!(server.get(&path, &reader).await.0, 200);
    assert_eq!(server.get(DIRECTORIES, &reader).await.0, 200);
    assert_api_error("reader creates", &server.post(DIRECTORIES, &reader, &create).await, 403, 7);
    assert_api_error("reader updates", &server.post(&path, &reader, &update).await, 403, 7);
    assert_api_error("reader deletes", &server.delete(&path, &reader).await, 403, 7);

    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("basic user gets", &server.get(&path, &basic).await, 403, 7);
    assert_api_error("basic user lists", &server.get(DIRECTORIES, &basic).await, 403, 7);
    assert_api_error("basic user creates", &server.post(DIRECTORIES, &basic, &create).await, 403, 7);
    assert_api_error("basic user deletes", &server.delete(&path, &basic).await, 403, 7);
    assert_eq!(get_directory(&server, &token, &app).await["displayName"], "Guarded", "refused writes change nothing");

    let (_, directory_admin) = server.credential_with_roles("dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let (status, body) = server.post(DIRECTORIES, &directory_admin, &create).await;
    assert_eq!(status, 200, "directory admin creates: {body}");
    let (status, body) = server.post(&path, &directory_admin, &update).await;
    assert_eq!(status, 200, "directory admin updates: {body}");
    assert_eq!(server.get(&path, &directory_admin).await.0, 200);
    let (status, body) = server.delete(&directory_path(&spare), &directory_admin).await;
    assert_eq!(status, 200, "directory admin deletes: {body}");

    let response = read_without_token(&server, DIRECTORIES).await;
    assert_api_error("no token", &response, 401, 16);
}
both_backends!(roles_decide_who_reads_and_writes);

async fn read_without_token(server: &TestServer, path: &str) -> (u16, Value) {
    crate::support::read(server.http.get(server.url(path)).send().await.expect("GET")).await
}

/// Create, update and delete each write an audit event on the directory's app id.
async fn every_change_is_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Audited", Value::Null).await;
    let update = json!({"localDirectoryConfig": {"displayName": "Audited 2"}, "updateMask": "displayName"});
    assert_eq!(server.post(&directory_path(&app), &token, &update).await.0, 200);
    // A refused change writes nothing.
    let bad = json!({"localDirectoryConfig": {"invitationTtl": "1s"}, "updateMask": "invitationTtl"});
    assert_eq!(server.post(&directory_path(&app), &token, &bad).await.0, 400);
    assert_eq!(server.delete(&directory_path(&app), &token).await.0, 200);

    let actions = audit_actions(&server, &token).await;
    let directory_actions: Vec<&str> = actions
        .iter()
        .filter(|(action, _)| action.starts_with("local_directory."))
        .map(|(action, _)| action.as_str())
        .collect();
    assert_eq!(
        directory_actions,
        ["local_directory.create", "local_directory.update", "local_directory.delete"],
        "{actions:?}"
    );
    let on_app: Vec<&str> = actions
        .iter()
        .filter(|(action, object)| action.starts_with("local_directory.") && *object == app)
        .map(|(action, _)| action.as_str())
        .collect();
    assert_eq!(on_app.len(), 3, "each names the directory's app id as its object: {actions:?}");
}
both_backends!(every_change_is_audited);
