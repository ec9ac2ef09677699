//! App owners over HTTP: every v1 and v2 operation, the 404/409/400 rules, the v1 view (slug `owner`)
//! agreeing with the v2 view after mixed changes, deleted users and apps, tenants, roles and audit events.

use onramp_domain::{BuiltinRole, Id};
use reqwest::Method;
use serde_json::{Value, json};

use crate::apps::{audit_actions, create_app, create_user, delete_user, other_tenant_token, send};
use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error};

/// `GET /api/v1/apps/{app}/ownerids`, sorted.
async fn v1_owner_ids(server: &TestServer, token: &str, app: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/api/v1/apps/{app}/ownerids"), token).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> =
        body["userIds"].as_array().into_iter().flatten().map(|id| id.as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

/// Every page of the v2 user-owner search, as (roleSlug, user id) sorted, optionally for one slug.
async fn v2_owners(server: &TestServer, token: &str, app: &str, slug: Option<&str>) -> Vec<(String, String)> {
    let filter = slug.map(|slug| format!("&role_slug={slug}")).unwrap_or_default();
    let mut owners = Vec::new();
    let mut page_token = String::new();
    loop {
        let path = format!("/api/v2/apps/{app}/owners/users?page_size=10&page_token={page_token}{filter}");
        let (status, body) = server.get(&path, token).await;
        assert_eq!(status, 200, "{body}");
        for owner in body["list"].as_array().into_iter().flatten() {
            assert_eq!(owner["appId"], app, "{owner}");
            owners.push((owner["roleSlug"].as_str().unwrap().into(), owner["user"]["id"].as_str().unwrap().into()));
        }
        page_token = body["nextPageToken"].as_str().unwrap_or_default().to_string();
        if page_token.is_empty() {
            owners.sort();
            return owners;
        }
    }
}

fn v2_path(app: &str, slug: &str, user: &str) -> String {
    format!("/api/v2/apps/{app}/owners/users/{slug}/{user}")
}

async fn v1_operations(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let (ada, bob, cy) = (
        create_user(&server, "ada@example.com").await,
        create_user(&server, "bob@example.com").await,
        create_user(&server, "cy@example.com").await,
    );

    let add = |user: &str| format!("/api/v1/apps/{app}/owners/{user}");
    assert_eq!(server.post(&add(&ada), &token, &json!({})).await, (200, json!({})));
    assert_eq!(server.post(&add(&ada), &token, &json!({})).await, (200, json!({})), "adding again is idempotent");
    assert_eq!(server.post(&add(&bob), &token, &json!({})).await.0, 200);
    let mut expected = vec![ada.clone(), bob.clone()];
    expected.sort();
    assert_eq!(v1_owner_ids(&server, &token, &app).await, expected);

    let (status, list) = server.get(&format!("/api/v1/apps/{app}/owners"), &token).await;
    assert_eq!(status, 200, "{list}");
    let emails: Vec<&str> = list["list"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"], "owners as users, in the order they became owners");

    assert_eq!(send(&server, Method::DELETE, &add(&ada), &token, Some(&json!({}))).await, (200, json!({})));
    assert_api_error("remove a non-owner", &send(&server, Method::DELETE, &add(&ada), &token, None).await, 404, 5);
    assert_eq!(v1_owner_ids(&server, &token, &app).await, std::slice::from_ref(&bob));

    let owners = format!("/api/v1/apps/{app}/owners");
    let set = json!({"userIds": [ada, cy, ada]});
    assert_eq!(send(&server, Method::PUT, &owners, &token, Some(&set)).await, (200, json!({})));
    let mut expected = vec![ada.clone(), cy.clone()];
    expected.sort();
    assert_eq!(v1_owner_ids(&server, &token, &app).await, expected, "set replaces, repeats ignored");

    // Delete removes the listed owners, skips users that are not owners, and leaves other slugs alone.
    assert_eq!(server.post(&v2_path(&app, "technical-owner", &ada), &token, &json!({})).await.0, 200);
    let delete = json!({"userIds": [ada, bob]});
    assert_eq!(send(&server, Method::DELETE, &owners, &token, Some(&delete)).await, (200, json!({})));
    assert_eq!(v1_owner_ids(&server, &token, &app).await, std::slice::from_ref(&cy));
    assert_eq!(
        v2_owners(&server, &token, &app, Some("technical-owner")).await,
        [("technical-owner".to_string(), ada.clone())]
    );
    assert_eq!(send(&server, Method::PUT, &owners, &token, Some(&json!({"userIds": null}))).await.0, 200);
    assert!(v1_owner_ids(&server, &token, &app).await.is_empty(), "set to nothing clears the v1 owners");
}
both_backends!(v1_operations);

async fn v2_operations(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let ada = create_user(&server, "ada@example.com").await;
    let bob = create_user(&server, "bob@example.com").await;

    let body = json!({"userRef": {"id": ada}});
    let (status, created) = server.post(&v2_path(&app, "owner", &ada), &token, &body).await;
    assert_eq!(status, 200, "{created}");
    let owner = &created["appOwnerUser"];
    assert_eq!(owner["appId"], app);
    assert_eq!(owner["roleSlug"], "owner");
    assert_eq!(owner["user"]["id"], ada, "the full user is embedded: {created}");
    assert_eq!(owner["user"]["email"], "ada@example.com");
    assert_eq!(owner["user"]["status"], "ENABLED");
    assert!(owner["createdAt"].as_str().unwrap().ends_with('Z'), "{created}");

    let response = server.post(&v2_path(&app, "owner", &ada), &token, &json!({})).await;
    assert_api_error("an existing ownership", &response, 409, 6);
    let (status, other_slug) = server.post(&v2_path(&app, "technical-owner", &ada), &token, &json!({})).await;
    assert_eq!(status, 200, "the same user under another slug: {other_slug}");

    let (status, got) = server.get(&v2_path(&app, "owner", &ada), &token).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["appOwnerUser"], created["appOwnerUser"]);

    let everyone = v2_owners(&server, &token, &app, None).await;
    assert_eq!(everyone, [("owner".to_string(), ada.clone()), ("technical-owner".to_string(), ada.clone())]);
    assert_eq!(v2_owners(&server, &token, &app, Some("technical-owner")).await.len(), 1);

    let set = json!({"roleSlug": "technical-owner", "userRefs": [{"id": bob}], "appEntitlementRefs": null});
    assert_eq!(
        send(&server, Method::PUT, &format!("/api/v2/apps/{app}/owners"), &token, Some(&set)).await,
        (200, json!({}))
    );
    let everyone = v2_owners(&server, &token, &app, None).await;
    assert_eq!(
        everyone,
        [("owner".to_string(), ada.clone()), ("technical-owner".to_string(), bob.clone())],
        "set touches one slug"
    );

    let response = send(&server, Method::DELETE, &v2_path(&app, "owner", &ada), &token, Some(&json!({}))).await;
    assert_eq!(response, (200, json!({})));
    assert_api_error("get after delete", &server.get(&v2_path(&app, "owner", &ada), &token).await, 404, 5);
    let response = send(&server, Method::DELETE, &v2_path(&app, "owner", &ada), &token, None).await;
    assert_api_error("delete after delete", &response, 404, 5);

    // The entitlement-owner operations are not served.
    let response = server.get(&format!("/api/v2/apps/{app}/owners/entitlements"), &token).await;
    assert_api_error("entitlement owners", &response, 404, 5);
}
both_backends!(v2_operations);

async fn v1_and_v2_views_agree(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(create_user(&server, &format!("user{n}@example.com")).await);
    }
    let owners = format!("/api/v1/apps/{app}/owners");
    assert_eq!(server.post(&format!("{owners}/{}", users[0]), &token, &json!({})).await.0, 200);
    assert_eq!(server.post(&v2_path(&app, "owner", &users[1]), &token, &json!({})).await.0, 200);
    assert_eq!(server.post(&v2_path(&app, "approver", &users[2]), &token, &json!({})).await.0, 200);
    let response = server.post(&v2_path(&app, "owner", &users[0]), &token, &json!({})).await;
    assert_api_error("v2 create of a v1 owner", &response, 409, 6);
    let set = json!({"userIds": [users[1], users[3]]});
    assert_eq!(send(&server, Method::PUT, &owners, &token, Some(&set)).await.0, 200);
    let response = send(&server, Method::DELETE, &v2_path(&app, "owner", &users[3]), &token, None).await;
    assert_eq!(response.0, 200, "v2 delete of a v1 owner: {}", response.1);

    let v1 = v1_owner_ids(&server, &token, &app).await;
    let v2: Vec<String> = v2_owners(&server, &token, &app, Some("owner")).await.into_iter().map(|(_, id)| id).collect();
    assert_eq!(v1, [users[1].clone()]);
    assert_eq!(v1, v2, "the v1 owners are the v2 owners with slug owner");
    let (_, list) = server.get(&owners, &token).await;
    let listed: Vec<&str> = list["list"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [users[1].as_str()]);
    assert_eq!(v2_owners(&server, &token, &app, Some("approver")).await, [("approver".to_string(), users[2].clone())]);
}
both_backends!(v1_and_v2_views_agree);

async fn unknown_and_deleted_things_are_not_found(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let ada = create_user(&server, "ada@example.com").await;
    let gone = create_user(&server, "gone@example.com").await;
    let unknown = Id::new().to_string();

    for (case, method, path) in [
        ("v1 list", Method::GET, format!("/api/v1/apps/{unknown}/owners")),
        ("v1 ownerids", Method::GET, format!("/api/v1/apps/{unknown}/ownerids")),
        ("v1 add", Method::POST, format!("/api/v1/apps/{unknown}/owners/{ada}")),
        ("v1 set", Method::PUT, format!("/api/v1/apps/{unknown}/owners")),
        ("v1 delete", Method::DELETE, format!("/api/v1/apps/{unknown}/owners")),
        ("v2 create", Method::POST, v2_path(&unknown, "owner", &ada)),
        ("v2 get", Method::GET, v2_path(&unknown, "owner", &ada)),
        ("v2 search", Method::GET, format!("/api/v2/apps/{unknown}/owners/users")),
        ("v2 set", Method::PUT, format!("/api/v2/apps/{unknown}/owners")),
        ("v2 create, unknown user", Method::POST, v2_path(&app, "owner", &unknown)),
        ("v1 add, unknown user", Method::POST, format!("/api/v1/apps/{app}/owners/{unknown}")),
        ("v1 set, unknown user", Method::PUT, format!("/api/v1/apps/{app}/owners")),
    ] {
        let body = json!({"userIds": [unknown], "roleSlug": "owner", "userRefs": [{"id": unknown}]});
        let response = send(&server, method, &path, &token, Some(&body)).await;
        assert_api_error(case, &response, 404, 5);
        assert!(response.1["message"].as_str().unwrap().contains(&unknown), "{case} names the id: {}", response.1);
    }

    // A deleted user owns nothing: its ownership vanishes from every read and it cannot be given another.
    assert_eq!(server.post(&v2_path(&app, "owner", &gone), &token, &json!({})).await.0, 200);
    assert_eq!(server.post(&v2_path(&app, "owner", &ada), &token, &json!({})).await.0, 200);
    delete_user(&server, &gone).await;
    assert_eq!(v1_owner_ids(&server, &token, &app).await, std::slice::from_ref(&ada));
    assert_eq!(v2_owners(&server, &token, &app, None).await, [("owner".to_string(), ada.clone())]);
    assert_api_error("get, deleted user", &server.get(&v2_path(&app, "owner", &gone), &token).await, 404, 5);
    let response = server.post(&v2_path(&app, "technical-owner", &gone), &token, &json!({})).await;
    assert_api_error("create, deleted user", &response, 404, 5);
    let response =
        send(&server, Method::PUT, &format!("/api/v1/apps/{app}/owners"), &token, Some(&json!({"userIds": [gone]})))
            .await;
    assert_api_error("set, deleted user", &response, 404, 5);

    // Deleting the app removes its ownerships in the same change, and the app's owners are then not found.
    let (status, _) = send(&server, Method::DELETE, &format!("/api/v1/apps/{app}"), &token, None).await;
    assert_eq!(status, 200);
    assert_api_error(
        "ownerids, deleted app",
        &server.get(&format!("/api/v1/apps/{app}/ownerids"), &token).await,
        404,
        5,
    );
    assert_api_error("v2 get, deleted app", &server.get(&v2_path(&app, "owner", &ada), &token).await, 404, 5);
    let response = server.post(&v2_path(&app, "owner", &ada), &token, &json!({})).await;
    assert_api_error("v2 create, deleted app", &response, 404, 5);
    let actions = audit_actions(&server, &token).await;
    let removed: Vec<&str> = actions.iter().filter(|(a, _)| a == "app_owner.delete").map(|(_, o)| o.as_str()).collect();
    assert!(removed.contains(&format!("{app}/owner/{ada}").as_str()), "{actions:?}");
    assert!(removed.contains(&format!("{app}/owner/{gone}").as_str()), "the hidden ownership goes too: {actions:?}");
}
both_backends!(unknown_and_deleted_things_are_not_found);

async fn bad_input_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let ada = create_user(&server, "ada@example.com").await;
    let cases: Vec<(&str, Method, String, Value, &str)> = vec![
        ("capital slug", Method::POST, v2_path(&app, "Owner", &ada), json!({}), "role_slug"),
        ("punctuated slug", Method::POST, v2_path(&app, "owner!", &ada), json!({}), "role_slug"),
        ("slug on get", Method::GET, v2_path(&app, "-owner", &ada), json!({}), "role_slug"),
        ("bad app id", Method::POST, v2_path("nope", "owner", &ada), json!({}), "app_id"),
        ("bad user id", Method::DELETE, v2_path(&app, "owner", "nope"), json!({}), "user_ref_id"),
        (
            "body names another user",
            Method::POST,
            v2_path(&app, "owner", &ada),
            json!({"userRef": {"id": Id::new()}}),
            "userRef",
        ),
        ("v1 bad app id", Method::GET, "/api/v1/apps/nope/ownerids".into(), json!({}), "app_id"),
        ("v1 bad user id", Method::POST, format!("/api/v1/apps/{app}/owners/nope"), json!({}), "user_id"),
        (
            "v1 set bad id",
            Method::PUT,
            format!("/api/v1/apps/{app}/owners"),
            json!({"userIds": [ada, "x"]}),
            "userIds[1]",
        ),
        (
            "v1 delete bad id",
            Method::DELETE,
            format!("/api/v1/apps/{app}/owners"),
            json!({"userIds": ["x"]}),
            "userIds[0]",
        ),
        (
            "search bad slug",
            Method::GET,
            format!("/api/v2/apps/{app}/owners/users?role_slug=Owner"),
            json!({}),
            "role_slug",
        ),
        ("v2 set no slug", Method::PUT, format!("/api/v2/apps/{app}/owners"), json!({"userRefs": []}), "roleSlug"),
        ("v2 set bad slug", Method::PUT, format!("/api/v2/apps/{app}/owners"), json!({"roleSlug": "a b"}), "roleSlug"),
        (
            "v2 set bad ref",
            Method::PUT,
            format!("/api/v2/apps/{app}/owners"),
            json!({"roleSlug": "owner", "userRefs": [{"id": "x"}]}),
            "userRefs[0].id",
        ),
        (
            "v2 set entitlements",
            Method::PUT,
            format!("/api/v2/apps/{app}/owners"),
            json!({"roleSlug": "owner", "appEntitlementRefs": [{"appId": app, "id": "e"}]}),
            "appEntitlementRefs",
        ),
    ];
    for (case, method, path, body, field) in cases {
        let response = send(&server, method, &path, &token, Some(&body)).await;
        assert_api_error(case, &response, 400, 3);
        assert!(response.1["message"].as_str().unwrap().contains(field), "{case} names {field}: {}", response.1);
    }
    assert!(v2_owners(&server, &token, &app, None).await.is_empty(), "nothing was written");
}
both_backends!(bad_input_is_refused);

async fn search_pages_walk_every_ownership_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let mut expected = Vec::new();
    for n in 0..12 {
        let user = create_user(&server, &format!("user{n}@example.com")).await;
        for slug in ["owner", "approver"].iter().take(if n % 2 == 0 { 2 } else { 1 }) {
            assert_eq!(server.post(&v2_path(&app, slug, &user), &token, &json!({})).await.0, 200);
            expected.push((slug.to_string(), user.clone()));
        }
    }
    expected.sort();
    assert_eq!(expected.len(), 18);
    assert_eq!(v2_owners(&server, &token, &app, None).await, expected, "every ownership exactly once");
    let (_, first) = server.get(&format!("/api/v2/apps/{app}/owners/users?page_size=10&role_slug=owner"), &token).await;
    assert_eq!(first["list"].as_array().unwrap().len(), 10);
    let slug_token = first["nextPageToken"].as_str().unwrap();
    let response = server.get(&format!("/api/v2/apps/{app}/owners/users?page_token={slug_token}"), &token).await;
    assert_api_error("a token of the slug-filtered search on the unfiltered one", &response, 400, 3);
    let response = server.get(&format!("/api/v1/apps/{app}/owners?page_token={slug_token}x"), &token).await;
    assert_api_error("a tampered token", &response, 400, 3);
}
both_backends!(search_pages_walk_every_ownership_once);

async fn roles_tenants_and_audit(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Wiki").await;
    let ada = create_user(&server, "ada@example.com").await;
    assert_eq!(server.post(&v2_path(&app, "owner", &ada), &token, &json!({})).await.0, 200);

    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let theirs = other_tenant_token(&server).await;
    let reads = [
        format!("/api/v1/apps/{app}/owners"),
        format!("/api/v1/apps/{app}/ownerids"),
        format!("/api/v2/apps/{app}/owners/users"),
        v2_path(&app, "owner", &ada),
    ];
    for path in &reads {
        assert_eq!(server.get(path, &reader).await.0, 200, "read-only admin reads {path}");
        assert_api_error(&format!("another tenant reads {path}"), &server.get(path, &theirs).await, 404, 5);
    }
    let writes = [
        (Method::POST, format!("/api/v1/apps/{app}/owners/{ada}")),
        (Method::DELETE, format!("/api/v1/apps/{app}/owners/{ada}")),
        (Method::PUT, format!("/api/v1/apps/{app}/owners")),
        (Method::DELETE, format!("/api/v1/apps/{app}/owners")),
        (Method::POST, v2_path(&app, "approver", &ada)),
        (Method::DELETE, v2_path(&app, "owner", &ada)),
        (Method::PUT, format!("/api/v2/apps/{app}/owners")),
    ];
    let body = json!({"userIds": [], "roleSlug": "owner", "userRefs": []});
    for (method, path) in &writes {
        let response = send(&server, method.clone(), path, &reader, Some(&body)).await;
        assert_api_error(&format!("read-only admin {method} {path}"), &response, 403, 7);
        let response = send(&server, method.clone(), path, &theirs, Some(&body)).await;
        assert_api_error(&format!("another tenant {method} {path}"), &response, 404, 5);
    }
    assert_eq!(v2_owners(&server, &token, &app, None).await, [("owner".to_string(), ada.clone())], "nothing changed");

    // Each change is one audit event per ownership, named like the v2 path of the ownership.
    let set = json!({"roleSlug": "owner", "userRefs": []});
    assert_eq!(send(&server, Method::PUT, &format!("/api/v2/apps/{app}/owners"), &token, Some(&set)).await.0, 200);
    assert_eq!(server.post(&format!("/api/v1/apps/{app}/owners/{ada}"), &token, &json!({})).await.0, 200);
    let actions = audit_actions(&server, &token).await;
    let object = format!("{app}/owner/{ada}");
    let events: Vec<&str> = actions.iter().filter(|(_, o)| *o == object).map(|(a, _)| a.as_str()).collect();
    assert_eq!(events, ["app_owner.create", "app_owner.delete", "app_owner.create"], "{actions:?}");
}
both_backends!(roles_tenants_and_audit);
