//! Who may change a user through onboarding (issue #11, privilege item 1): an onboard starts only for a
//! pending invitation or for a user still waiting on an onboard; completing one enables only the user its
//! acceptance created DISABLED, never one whose status someone else set; a profile step writes a user only
//! for the invitee themself or for a caller who may write that user.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::flows::{assert_precondition, create_flow_id};
use crate::invitations::invite;
use crate::onboards::{
    Auth, accept_mailed, api_key, complete, complete_step, create_onboard, get_onboard, get_user, id_of, list_onboards,
    onboard_id_of, post_onboard, put_onboard, step,
};
use crate::support::{Backend, TestServer, assert_api_error};

/// Sets a user's status with `POST /api/v1/users/{id}`; any answer but 200 fails the test.
async fn set_status(server: &TestServer, token: &str, user: &str, status: &str) {
    let update = json!({"user": {"status": status}, "updateMask": "status"});
    let (code, body) = server.post(&format!("/api/v1/users/{user}"), token, &update).await;
    assert_eq!(code, 200, "set {user} {status}: {body}");
}

/// PUT `{"status": status}` on an onboard; any answer but 200 fails the test.
async fn move_onboard(server: &TestServer, auth: &Auth, id: &str, status: &str) -> Value {
    let (code, body) = put_onboard(server, auth, id, json!({"status": status})).await;
    assert_eq!(code, 200, "onboard {id} → {status}: {body}");
    body
}

/// The exploit of the issue, step by step, with a directory admin's token: X, an admin whose invitation was
/// accepted long ago and whom a super-admin then disabled, is not onboarded again (the first step is 400
/// naming the invitation's state), so nothing enables X or rewrites X's profile.
async fn a_directory_admin_cannot_revive_a_disabled_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let directory = create_directory(&server, &root, "Staff", Value::Null).await;
    let invitation = invite(&server, &root, &directory, "x@example.com", json!({"initialRoleIds": ["admin"]})).await;
    let accepted = accept_mailed(&server, "x@example.com", "Xavier").await;
    let x = accepted["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(accepted["user"]["status"], "ENABLED", "no flow: enabled at once: {accepted}");
    set_status(&server, &root, &x, "DISABLED").await;
    let disabled = get_user(&server, &root, &x).await;

    let (_, directory_admin) = server.credential_with_roles("dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let by_key = Auth::api_key(&api_key(&server, "dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await);
    for (case, auth) in [("token", Auth::Bearer(directory_admin.clone())), ("API key", by_key)] {
        let response = post_onboard(&server, &auth, json!({"invitation_id": invitation["id"]})).await;
        assert_precondition(&format!("onboard a long-accepted invitation ({case})"), &response, "accepted");
        assert!(response.1["message"].as_str().unwrap().contains("not waiting"), "says why: {}", response.1);
    }
    assert!(list_onboards(&server, &Auth::Bearer(root.clone())).await.is_empty(), "no onboard was stored");
    let after = get_user(&server, &root, &x).await;
    assert_eq!(after, disabled, "X is as the super-admin left it");
    assert_eq!(after["status"], "DISABLED");
}
both_backends!(a_directory_admin_cannot_revive_a_disabled_admin);

/// An onboard starts for a pending invitation, or for an accepted one whose user still waits on an onboard
/// (its first one failed); a revoked, expired, or accepted invitation whose user is active, or whose status
/// an admin has set since, is 400 naming the state, and stores nothing. An onboard started for a waiting
/// user completes like the first would have: the user is enabled.
async fn an_onboard_starts_only_for_a_pending_invitation_or_a_waiting_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let auth = Auth::Bearer(root.clone());
    let terms = create_flow_id(&server, &root, "Terms", json!([{"key": "terms", "acceptTerms": {"text": "t"}}])).await;
    let directory = create_directory(&server, &root, "Starts", Value::Null).await;

    let revoked = invite(&server, &root, &directory, "revoked@example.com", Value::Null).await;
    let revoke = format!("{}/revoke", crate::invitations::invitation_path(&directory, &id_of(&revoked)));
    assert_eq!(server.post(&revoke, &root, &json!({})).await.0, 200);
    let response = post_onboard(&server, &auth, json!({"invitation_id": revoked["id"]})).await;
    assert_precondition("revoked", &response, "revoked");
    let active = invite(&server, &root, &directory, "active@example.com", Value::Null).await;
    accept_mailed(&server, "active@example.com", "Active").await;
    let response = post_onboard(&server, &auth, json!({"invitation_id": active["id"]})).await;
    assert_precondition("accepted, its user active", &response, "accepted");
    assert!(response.1["message"].as_str().unwrap().contains("ENABLED"), "names the user's status: {}", response.1);
    assert!(list_onboards(&server, &auth).await.is_empty(), "refusals store nothing");

    // Waiting: the first onboard failed, the user is still DISABLED by the acceptance.
    let flowed = json!({"onboardingFlowId": terms});
    let waiting = invite(&server, &root, &directory, "wait@example.com", flowed.clone()).await;
    let accepted = accept_mailed(&server, "wait@example.com", "Walt").await;
    let user = accepted["user"]["id"].as_str().unwrap().to_string();
    move_onboard(&server, &auth, &onboard_id_of(&accepted), "failed").await;
    let again = create_onboard(&server, &auth, json!({"invitation_id": waiting["id"]})).await;
    assert_eq!(again["user_id"], user, "{again}");
    complete(&server, &Auth::invitee("wait@example.com"), &id_of(&again), "terms", json!({"accepted": true})).await;
    move_onboard(&server, &auth, &id_of(&again), "completed").await;
    assert_eq!(get_user(&server, &root, &user).await["status"], "ENABLED", "the new onboard enabled the user");

    // No longer waiting: an admin set the user's status after the acceptance.
    let decided = invite(&server, &root, &directory, "decided@example.com", flowed).await;
    let accepted = accept_mailed(&server, "decided@example.com", "Dee").await;
    let decided_user = accepted["user"]["id"].as_str().unwrap().to_string();
    set_status(&server, &root, &decided_user, "ENABLED").await;
    set_status(&server, &root, &decided_user, "DISABLED").await;
    move_onboard(&server, &auth, &onboard_id_of(&accepted), "failed").await;
    let response = post_onboard(&server, &auth, json!({"invitation_id": decided["id"]})).await;
    assert_precondition("accepted, its status set by an admin since", &response, "not waiting");
    assert!(response.1["message"].as_str().unwrap().contains("DISABLED"), "names the user's status: {}", response.1);
    assert_eq!(get_user(&server, &root, &decided_user).await["status"], "DISABLED");
}
both_backends!(an_onboard_starts_only_for_a_pending_invitation_or_a_waiting_user);

/// Completing an onboard never changes the status of a user whose status someone else set meanwhile: an
/// admin who disabled the user (after enabling them) keeps them disabled, and one who enabled them keeps
/// them enabled; completion still grants the flow's roles. An untouched invitee is enabled as before.
async fn completion_leaves_a_status_someone_else_set(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let auth = Auth::Bearer(root.clone());
    let flow = create_flow_id(
        &server,
        &root,
        "Terms and a role",
        json!([{"key": "terms", "acceptTerms": {"text": "t"}}, {"key": "role", "assignRoles": {"roleIds": ["basic-user"]}}]),
    )
    .await;
    let directory = create_directory(&server, &root, "Decisions", json!({"onboardingFlowId": flow})).await;
    let mut onboarded = Vec::new();
    for email in ["off@example.com", "on@example.com", "plain@example.com"] {
        invite(&server, &root, &directory, email, Value::Null).await;
        let accepted = accept_mailed(&server, email, "Someone").await;
        let user = accepted["user"]["id"].as_str().unwrap().to_string();
        complete(&server, &Auth::invitee(email), &onboard_id_of(&accepted), "terms", json!({"accepted": true})).await;
        onboarded.push((onboard_id_of(&accepted), user));
    }
    let [(off_onboard, off), (on_onboard, on), (plain_onboard, plain)] = onboarded.try_into().unwrap();
    set_status(&server, &root, &off, "ENABLED").await;
    set_status(&server, &root, &off, "DISABLED").await;
    set_status(&server, &root, &on, "ENABLED").await;

    for (id, user, want) in
        [(&off_onboard, &off, "DISABLED"), (&on_onboard, &on, "ENABLED"), (&plain_onboard, &plain, "ENABLED")]
    {
        let completed = move_onboard(&server, &auth, id, "completed").await;
        assert_eq!(completed["status"], "completed", "{completed}");
        let after = get_user(&server, &root, user).await;
        assert_eq!(after["status"], want, "{after}");
        assert_eq!(after["roleIds"], json!([crate::flows::BASIC_USER_ROLE]), "the flow's role: {after}");
    }
}
both_backends!(completion_leaves_a_status_someone_else_set);

/// A profile step writes the user, so staff complete it only if they may write that user: a directory admin
/// (user:read) is 403 with a token or an API key and changes nothing; an admin may, except for a super-admin
/// invitee, whose profile only a super-admin (or the invitee) writes.
async fn a_profile_step_is_written_only_by_who_may_write_the_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = server.admin_token().await;
    let auth = Auth::Bearer(root.clone());
    let flow = create_flow_id(
        &server,
        &root,
        "Profile",
        json!([{"key": "profile", "completeProfile": {"requiredFields": ["jobTitle"]}}]),
    )
    .await;
    let directory = create_directory(&server, &root, "Profiles", json!({"onboardingFlowId": flow})).await;
    invite(&server, &root, &directory, "pia@example.com", Value::Null).await;
    invite(&server, &root, &directory, "sam@example.com", json!({"initialRoleIds": ["super-admin"]})).await;
    let pia = accept_mailed(&server, "pia@example.com", "Pia").await;
    let sam = accept_mailed(&server, "sam@example.com", "Sam").await;
    let (pia_onboard, pia_user) = (onboard_id_of(&pia), pia["user"]["id"].as_str().unwrap().to_string());
    let (sam_onboard, sam_user) = (onboard_id_of(&sam), sam["user"]["id"].as_str().unwrap().to_string());

    let (_, dirs) = server.credential_with_roles("dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let dirs_key = Auth::api_key(&api_key(&server, "dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await);
    let (_, ops) = server.credential_with_roles("ops@example.com", &[BuiltinRole::Admin]).await;
    let profile = json!({"displayName": "Renamed", "jobTitle": "Puppet"});
    let pia_before = (get_user(&server, &root, &pia_user).await, get_onboard(&server, &auth, &pia_onboard).await);
    for (case, staff) in [("directory admin's token", Auth::Bearer(dirs)), ("directory admin's key", dirs_key)] {
        let response = complete_step(&server, &staff, &pia_onboard, "profile", profile.clone()).await;
        assert_api_error(case, &response, 403, 7);
        assert!(response.1["message"].as_str().unwrap().contains("user:write"), "{case}: {}", response.1);
    }
    let pia_after = (get_user(&server, &root, &pia_user).await, get_onboard(&server, &auth, &pia_onboard).await);
    assert_eq!(pia_after, pia_before, "refusals change nothing");

    let sam_before = get_user(&server, &root, &sam_user).await;
    let response = complete_step(&server, &Auth::Bearer(ops.clone()), &sam_onboard, "profile", profile.clone()).await;
    assert_api_error("an admin writes a super-admin's profile", &response, 403, 7);
    assert!(response.1["message"].as_str().unwrap().contains("super-admin"), "{}", response.1);
    assert_eq!(get_user(&server, &root, &sam_user).await, sam_before, "unchanged");

    let done = complete(&server, &Auth::Bearer(ops), &pia_onboard, "profile", profile.clone()).await;
    assert_eq!(step(&done, "profile")["done"], true, "an admin may write Pia's: {done}");
    assert_eq!(get_user(&server, &root, &pia_user).await["jobTitle"], "Puppet");
    let done = complete(&server, &Auth::invitee("sam@example.com"), &sam_onboard, "profile", profile).await;
    assert_eq!(step(&done, "profile")["done"], true, "the invitee writes their own: {done}");
}
both_backends!(a_profile_step_is_written_only_by_who_may_write_the_user);
