//! Who may change a super-admin (issue #11, privilege item 2): removing a role obeys the rule of granting
//! it, only a super-admin changes, disables or deletes a super-admin, and the last enabled super-admin of a
//! tenant cannot be demoted, disabled or deleted, even by two super-admins at once.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error, read};

const USERS: &str = "/api/v1/users";

fn user_path(id: &str) -> String {
    format!("{USERS}/{id}")
}

/// The caller's own user id, by introspection.
async fn my_user_id(server: &TestServer, token: &str) -> String {
    let (status, body) = server.get("/api/v1/auth/introspect", token).await;
    assert_eq!(status, 200, "introspect: {body}");
    body["userId"].as_str().unwrap().to_string()
}

/// The user as `GET /api/v1/users/{id}` answers it.
async fn read_user(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, body) = server.get(&user_path(id), token).await;
    assert_eq!(status, 200, "get {id}: {body}");
    body["userView"]["user"].clone()
}

/// The four writes that take a super-admin away or change one: demote, rename, disable, delete.
async fn demote(server: &TestServer, token: &str, id: &str) -> (u16, Value) {
    let body = json!({"user": {"roleIds": []}, "updateMask": "roleIds"});
    server.post(&user_path(id), token, &body).await
}

async fn rename(server: &TestServer, token: &str, id: &str) -> (u16, Value) {
    let body = json!({"user": {"displayName": "Renamed"}, "updateMask": "displayName"});
    server.post(&user_path(id), token, &body).await
}

async fn set_status(server: &TestServer, token: &str, id: &str, status: &str) -> (u16, Value) {
    let body = json!({"user": {"status": status}, "updateMask": "status"});
    server.post(&user_path(id), token, &body).await
}

/// Asserts a 400 FAILED_PRECONDITION that says the user is the last enabled super-admin.
#[track_caller]
fn assert_last_super_admin(case: &str, response: &(u16, Value)) {
    assert_api_error(case, response, 400, 9);
    let message = response.1["message"].as_str().unwrap_or_default();
    assert!(message.contains("last enabled super-admin"), "{case}: the message says why: {}", response.1);
}

/// An admin (who may not grant super-admin) cannot demote, rename, disable, re-enable or delete a
/// super-admin (403, nothing changes), while it still changes admins and basic users; a super-admin can.
async fn only_a_super_admin_changes_a_super_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let root_id = my_user_id(&server, &root).await;
    let (_, admin) = server.credential_with_roles("ops@example.com", &[BuiltinRole::Admin]).await;
    let second = json!({"email": "second@example.com", "displayName": "Second", "roleIds": ["super-admin"]});
    let second = server.create_user(&root, &second).await;
    let colleague = json!({"email": "peer@example.com", "displayName": "Peer", "roleIds": ["admin"]});
    let colleague = server.create_user(&root, &colleague).await;

    for target in [&root_id, &second] {
        let before = read_user(&server, &root, target).await;
        assert_api_error("an admin demotes a super-admin", &demote(&server, &admin, target).await, 403, 7);
        assert_api_error("an admin renames a super-admin", &rename(&server, &admin, target).await, 403, 7);
        let response = set_status(&server, &admin, target, "DISABLED").await;
        assert_api_error("an admin disables a super-admin", &response, 403, 7);
        assert!(response.1["message"].as_str().unwrap().contains("super-admin"), "says why: {}", response.1);
        let response = server.delete(&user_path(target), &admin).await;
        assert_api_error("an admin deletes a super-admin", &response, 403, 7);
        assert_eq!(read_user(&server, &root, target).await, before, "refusals change nothing");
    }
    // A super-admin disabled by a super-admin stays so: an admin cannot enable them again.
    assert_eq!(set_status(&server, &root, &second, "DISABLED").await.0, 200);
    assert_api_error(
        "an admin re-enables a super-admin",
        &set_status(&server, &admin, &second, "ENABLED").await,
        403,
        7,
    );
    assert_eq!(read_user(&server, &root, &second).await["status"], "DISABLED");

    assert_eq!(rename(&server, &admin, &colleague).await.0, 200, "an admin renames an admin");
    assert_eq!(demote(&server, &admin, &colleague).await.0, 200, "an admin removes a role it may grant");
    assert_eq!(server.delete(&user_path(&colleague), &admin).await.0, 200, "and deletes a basic user");
    assert_eq!(rename(&server, &root, &second).await.0, 200, "a super-admin renames a super-admin");
    assert_eq!(demote(&server, &root, &second).await.0, 200, "and demotes a disabled one");
}
both_backends!(only_a_super_admin_changes_a_super_admin);

/// The last enabled super-admin of a tenant cannot demote or disable itself, nor be demoted, disabled or
/// deleted by another super-admin (whose own user was disabled but whose token still runs): 400 naming why.
/// Once a second super-admin is enabled, each of those is allowed.
async fn the_last_enabled_super_admin_stays(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let root_id = my_user_id(&server, &root).await;
    assert_last_super_admin("demote itself", &demote(&server, &root, &root_id).await);
    assert_last_super_admin("disable itself", &set_status(&server, &root, &root_id, "DISABLED").await);

    let (_, other) = server.credential_with_roles("other@example.com", &[BuiltinRole::SuperAdmin]).await;
    let other_id = my_user_id(&server, &other).await;
    assert_eq!(set_status(&server, &root, &other_id, "DISABLED").await.0, 200, "one of two may be disabled");
    let before = read_user(&server, &root, &root_id).await;
    assert_last_super_admin("demote the last", &demote(&server, &other, &root_id).await);
    assert_last_super_admin("disable the last", &set_status(&server, &other, &root_id, "DISABLED").await);
    assert_last_super_admin("delete the last", &server.delete(&user_path(&root_id), &other).await);
    assert_eq!(read_user(&server, &root, &root_id).await, before, "refusals change nothing");
    assert_eq!(rename(&server, &other, &root_id).await.0, 200, "renaming takes nothing away");

    assert_eq!(set_status(&server, &root, &other_id, "ENABLED").await.0, 200);
    assert_eq!(demote(&server, &other, &root_id).await.0, 200, "with a second super-admin, demoting is allowed");
    assert_last_super_admin("the other is now the last", &set_status(&server, &root, &other_id, "DISABLED").await);
    assert_eq!(server.delete(&user_path(&root_id), &other).await.0, 200, "deleting a former super-admin");
}
both_backends!(the_last_enabled_super_admin_stays);

/// Two super-admins disabling each other at the same moment: at most one succeeds, and the tenant keeps an
/// enabled super-admin. The other answers 400 (last super-admin) or 409 (retry).
async fn two_super_admins_cannot_disable_each_other_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let root_id = my_user_id(&server, &root).await;
    let (_, first) = server.credential_with_roles("first@example.com", &[BuiltinRole::SuperAdmin]).await;
    let (_, second) = server.credential_with_roles("second@example.com", &[BuiltinRole::SuperAdmin]).await;
    let tokens = [first, second];
    let ids = [my_user_id(&server, &tokens[0]).await, my_user_id(&server, &tokens[1]).await];
    // The bootstrap super-admin steps aside, leaving exactly two.
    assert_eq!(demote(&server, &tokens[0], &root_id).await.0, 200);
    for round in 0..5 {
        let disable = |token: &str, id: &str| {
            let body = json!({"user": {"status": "DISABLED"}, "updateMask": "status"});
            server.http.post(server.url(&user_path(id))).bearer_auth(token).json(&body).send()
        };
        let (a, b) = tokio::join!(disable(&tokens[0], &ids[1]), disable(&tokens[1], &ids[0]));
        let (a, b) = (read(a.expect("POST")).await, read(b.expect("POST")).await);
        assert!([a.0, b.0].iter().filter(|s| **s == 200).count() <= 1, "round {round}: both won: {a:?} {b:?}");
        for (case, response) in [("first", &a), ("second", &b)] {
            assert!([200, 400, 409].contains(&response.0), "round {round}, {case}: {response:?}");
        }
        let mut enabled = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            if read_user(&server, &tokens[0], id).await["status"] == "ENABLED" {
                enabled.push(index);
            }
        }
        assert!(!enabled.is_empty(), "round {round}: no enabled super-admin left: {a:?} {b:?}");
        // The one left enabled brings the other back for the next round.
        let keeper = &tokens[enabled[0]];
        for id in &ids {
            let (status, body) = set_status(&server, keeper, id, "ENABLED").await;
            assert_eq!(status, 200, "round {round}: enable {id} again: {body}");
        }
    }
}
both_backends!(two_super_admins_cannot_disable_each_other_at_once);
