//! Onboarding flows over HTTP (issue #6): create with every step kind, get, list (the built-in minimal
//! flow first, in pages), update with and without a mask, step validation naming `steps[i]`, the minimal
//! flow's immutability, deletion refused while a directory, a pending invitation or a live onboard uses a
//! flow, unknown flows and references to them, roles, audit events. The helpers at the top are shared with
//! `onboards` and `onboarding_e2e`.

use onramp_domain::{BuiltinRole, Id};
use serde_json::{Value, json};

use crate::apps::{audit_actions, create_app};
use crate::both_backends;
use crate::directories::{assert_names_field, create_directory, directory_path, get_directory};
use crate::invitations::{invitation_path, invite, post_invitation};
use crate::support::{Backend, TestServer, assert_api_error};

pub const FLOWS: &str = "/api/v1/onboarding-flows";
/// The built-in minimal flow's id, the same in every tenant.
pub const MINIMAL_FLOW: &str = "000000000000000000000101";
pub const DIRECTORY_ADMIN_ROLE: &str = "000000000000000000000004";
pub const BASIC_USER_ROLE: &str = "000000000000000000000005";

/// `/api/v1/onboarding-flows/{id}`.
pub fn flow_path(id: &str) -> String {
    format!("{FLOWS}/{id}")
}

/// Creates a flow named `name` with these steps (a JSON array) and returns the `onboardingFlow`.
pub async fn create_flow(server: &TestServer, token: &str, name: &str, steps: Value) -> Value {
    let (status, body) = server.post(FLOWS, token, &json!({"displayName": name, "steps": steps})).await;
    assert_eq!(status, 200, "create flow {name}: {body}");
    body["onboardingFlow"].clone()
}

/// Creates a flow and returns its id.
pub async fn create_flow_id(server: &TestServer, token: &str, name: &str, steps: Value) -> String {
    create_flow(server, token, name, steps).await["id"].as_str().expect("a flow id").to_string()
}

/// `GET` of a flow that must exist; returns the `onboardingFlow`.
pub async fn get_flow(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, body) = server.get(&flow_path(id), token).await;
    assert_eq!(status, 200, "get flow {id}: {body}");
    body["onboardingFlow"].clone()
}

/// The ids of every flow the list shows, over every page.
async fn listed_ids(server: &TestServer, token: &str) -> Vec<String> {
    let pages = server.all_pages(FLOWS, token, 100).await;
    pages.into_iter().flatten().map(|flow| flow["id"].as_str().unwrap().to_string()).collect()
}

/// Asserts a 400 with code 9 (FAILED_PRECONDITION) whose message contains `text`.
#[track_caller]
pub fn assert_precondition(case: &str, response: &(u16, Value), text: &str) {
    assert_api_error(case, response, 400, 9);
    let message = response.1["message"].as_str().unwrap_or_default();
    assert!(message.to_lowercase().contains(text), "{case}: the message must say {text:?}: {}", response.1);
}

/// One step of each kind; `approver` is the managerApproval step's approver.
fn every_step_kind(approver: &str) -> Value {
    json!([
        {"key": "terms", "required": true, "acceptTerms": {"text": "Be excellent to each other."}},
        {"key": "profile", "completeProfile": {"requiredFields": ["displayName", "jobTitle", "department", "employmentType", "managerIds"]}},
        {"key": "verify-email", "required": false, "verifyEmail": {}},
        {"key": "boss_ok", "required": true, "managerApproval": {"approverUserId": approver}},
        {"key": "any-manager", "required": true, "managerApproval": {}},
        {"key": "roles", "required": true, "assignRoles": {"roleIds": ["basic-user", DIRECTORY_ADMIN_ROLE]}},
        {"key": "tell-sponsor", "required": true, "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "Say hello."}},
        {"key": "tell-manager", "required": false, "notify": {"recipient": "NOTIFY_RECIPIENT_MANAGER", "message": ""}},
    ])
}

// Tests.

/// A flow with every step kind is stored as sent (required defaults to true, role names become ids) and
/// GET answers the same.
async fn create_with_every_step_kind_then_get(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let approver = server.create_user(&token, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    let request =
        json!({"displayName": "Everything", "description": "every kind of step", "steps": every_step_kind(&approver)});
    let (status, created) = server.post(FLOWS, &token, &request).await;
    assert_eq!(status, 200, "{created}");
    let flow = &created["onboardingFlow"];
    let id = flow["id"].as_str().expect("an id");
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()), "a 24-hex id: {created}");
    assert_ne!(id, MINIMAL_FLOW);
    assert_eq!(flow["displayName"], "Everything", "{created}");
    assert_eq!(flow["description"], "every kind of step", "{created}");
    assert_eq!(flow["builtin"], false, "{created}");
    for time in ["createdAt", "updatedAt"] {
        assert!(flow[time].as_str().is_some_and(|t| t.ends_with('Z')), "{time} in UTC: {created}");
    }
    let want_steps = json!([
        {"key": "terms", "required": true, "acceptTerms": {"text": "Be excellent to each other."}},
        {"key": "profile", "required": true, "completeProfile": {"requiredFields": ["displayName", "jobTitle", "department", "employmentType", "managerIds"]}},
        {"key": "verify-email", "required": false, "verifyEmail": {}},
        {"key": "boss_ok", "required": true, "managerApproval": {"approverUserId": approver}},
        {"key": "any-manager", "required": true, "managerApproval": {}},
        {"key": "roles", "required": true, "assignRoles": {"roleIds": [BASIC_USER_ROLE, DIRECTORY_ADMIN_ROLE]}},
        {"key": "tell-sponsor", "required": true, "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "Say hello."}},
        {"key": "tell-manager", "required": false, "notify": {"recipient": "NOTIFY_RECIPIENT_MANAGER", "message": ""}},
    ]);
    assert_eq!(flow["steps"], want_steps, "{created}");
    assert_eq!(get_flow(&server, &token, id).await, *flow, "GET answers what create did");

    // A flow without steps or description is fine too.
    let (status, bare) = server.post(FLOWS, &token, &json!({"displayName": "Bare"})).await;
    assert_eq!(status, 200, "{bare}");
    assert_eq!(bare["onboardingFlow"]["steps"], json!([]), "{bare}");
    assert_eq!(bare["onboardingFlow"]["description"], "", "{bare}");
}
both_backends!(create_with_every_step_kind_then_get);

/// A fresh tenant lists exactly the built-in minimal flow; created flows follow it in creation order, in
/// pages, each exactly once; a tampered page token is refused.
async fn list_starts_with_the_minimal_flow_and_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (status, body) = server.get(FLOWS, &token).await;
    assert_eq!(status, 200, "{body}");
    let list = body["list"].as_array().expect("a list");
    assert_eq!(list.len(), 1, "only the minimal flow: {body}");
    let minimal = &list[0];
    assert_eq!(minimal["id"], MINIMAL_FLOW, "{body}");
    assert_eq!(minimal["builtin"], true, "{body}");
    assert_eq!(
        minimal["steps"],
        json!([{"key": "profile", "required": true, "completeProfile": {"requiredFields": ["displayName"]}}]),
        "{body}"
    );
    assert!(minimal["displayName"].as_str().is_some_and(|name| !name.is_empty()), "{body}");
    assert_eq!(body["nextPageToken"], "", "one page: {body}");
    assert_eq!(get_flow(&server, &token, MINIMAL_FLOW).await, *minimal, "GET of the minimal flow");

    let mut created = vec![MINIMAL_FLOW.to_string()];
    for n in 0..12 {
        let steps = json!([{"key": "terms", "acceptTerms": {"text": format!("terms {n}")}}]);
        created.push(create_flow_id(&server, &token, &format!("Flow {n}"), steps).await);
    }
    let pages = server.all_pages(FLOWS, &token, 10).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 3], "13 flows in pages of 10");
    let ids: Vec<String> = pages.iter().flatten().map(|flow| flow["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, created, "the minimal flow first, then the created ones in creation order");
    assert_eq!(pages[0][0]["builtin"], true);
    assert!(pages.iter().flatten().skip(1).all(|flow| flow["builtin"] == false), "{pages:?}");

    let response = server.get(&format!("{FLOWS}?page_size=10&page_token=garbage"), &token).await;
    assert_api_error("garbage page token", &response, 400, 3);
    // Another tenant's list holds only its own minimal flow.
    let (_, theirs) = server.other_tenant("rival").await;
    assert_eq!(listed_ids(&server, &theirs).await, [MINIMAL_FLOW], "flows are per tenant");
}
both_backends!(list_starts_with_the_minimal_flow_and_pages);

/// An update with a mask changes exactly the masked fields (a masked field left out is cleared); without
/// one, the fields sent; bad masks and bad steps are refused and change nothing.
async fn update_with_and_without_mask(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let steps = json!([{"key": "terms", "acceptTerms": {"text": "v1"}}]);
    let (status, body) =
        server.post(FLOWS, &token, &json!({"displayName": "Start", "description": "first", "steps": steps})).await;
    assert_eq!(status, 200, "{body}");
    let before = body["onboardingFlow"].clone();
    let id = before["id"].as_str().unwrap().to_string();
    let path = flow_path(&id);

    // With a mask: only displayName changes, although description is sent.
    let update =
        json!({"onboardingFlow": {"displayName": "Renamed", "description": "ignored"}, "updateMask": "displayName"});
    let (status, updated) = server.post(&path, &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    let flow = &updated["onboardingFlow"];
    assert_eq!(flow["displayName"], "Renamed", "{updated}");
    assert_eq!(flow["description"], "first", "not in the mask: {updated}");
    assert_eq!(flow["steps"], before["steps"], "{updated}");
    assert_eq!(flow["createdAt"], before["createdAt"], "{updated}");
    assert_ne!(flow["updatedAt"], before["updatedAt"], "{updated}");
    assert_eq!(get_flow(&server, &token, &id).await, *flow, "GET shows the update");

    // Without a mask: what is sent changes.
    let new_steps = json!([
        {"key": "terms", "acceptTerms": {"text": "v2"}},
        {"key": "boss", "required": false, "managerApproval": {}},
    ]);
    let update = json!({"onboardingFlow": {"description": "second", "steps": new_steps}});
    let (status, updated) = server.post(&path, &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    let flow = &updated["onboardingFlow"];
    assert_eq!(flow["displayName"], "Renamed", "{updated}");
    assert_eq!(flow["description"], "second", "{updated}");
    assert_eq!(
        flow["steps"],
        json!([
            {"key": "terms", "required": true, "acceptTerms": {"text": "v2"}},
            {"key": "boss", "required": false, "managerApproval": {}},
        ]),
        "{updated}"
    );
    assert_eq!(get_flow(&server, &token, &id).await, *flow);

    // A masked field the body leaves out is cleared, as protobuf field masks do.
    let update = json!({"onboardingFlow": {}, "updateMask": {"paths": ["description"]}});
    let (status, updated) = server.post(&path, &token, &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["onboardingFlow"]["description"], "", "{updated}");
    let current = get_flow(&server, &token, &id).await;

    for (case, body, field) in [
        ("unknown mask path", json!({"onboardingFlow": {}, "updateMask": "displayName,colour"}), "updateMask"),
        ("builtin in the mask", json!({"onboardingFlow": {}, "updateMask": "builtin"}), "updateMask"),
        ("blank name", json!({"onboardingFlow": {"displayName": " "}, "updateMask": "displayName"}), "displayName"),
        (
            "bad step",
            json!({"onboardingFlow": {"steps": [{"key": "ok", "verifyEmail": {}}, {"key": "BAD", "verifyEmail": {}}]}}),
            "steps[1]",
        ),
        ("no onboardingFlow", json!({"updateMask": "displayName"}), "onboardingFlow"),
    ] {
        assert_names_field(case, &server.post(&path, &token, &body).await, field);
    }
    assert_eq!(get_flow(&server, &token, &id).await, current, "refused updates change nothing");
}
both_backends!(update_with_and_without_mask);

/// Every malformed step is refused with a 400 naming the step (`steps[i]`, or the setting within it), on
/// create and on update; nothing is stored.
async fn invalid_steps_name_the_step(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let gone = server.create_user(&token, &json!({"email": "gone@example.com", "displayName": "Gone"})).await;
    crate::apps::delete_user(&server, &gone).await;
    let (_, theirs) = server.other_tenant("rival").await;
    let (status, me) = server.get("/api/v1/auth/introspect", &theirs).await;
    assert_eq!(status, 200, "{me}");
    let their_user = me["userId"].as_str().unwrap().to_string();
    let unknown = Id::new().to_string();
    let ok = json!({"key": "ok", "verifyEmail": {}});
    let long_key = "k".repeat(65);
    let cases = [
        ("duplicate key", json!([ok, {"key": "ok", "acceptTerms": {"text": "t"}}]), "steps[1]"),
        ("upper-case key", json!([{"key": "Terms", "acceptTerms": {"text": "t"}}]), "steps[0]"),
        ("key with a space", json!([ok, {"key": "a b", "verifyEmail": {}}]), "steps[1]"),
        ("empty key", json!([{"key": "", "verifyEmail": {}}]), "steps[0]"),
        ("key too long", json!([{"key": long_key, "verifyEmail": {}}]), "steps[0]"),
        ("no key", json!([{"verifyEmail": {}}]), "steps[0]"),
        ("empty terms text", json!([ok, {"key": "t", "acceptTerms": {"text": "  "}}]), "steps[1]"),
        ("terms without text", json!([{"key": "t", "acceptTerms": {}}]), "steps[0]"),
        ("no required fields", json!([{"key": "p", "completeProfile": {"requiredFields": []}}]), "steps[0]"),
        (
            "unknown profile field",
            json!([{"key": "p", "completeProfile": {"requiredFields": ["shoeSize"]}}]),
            "steps[0]",
        ),
        (
            "unknown role name",
            json!([ok, {"key": "r", "assignRoles": {"roleIds": ["basic-user", "wizard"]}}]),
            "steps[1].assignRoles.roleIds[1]",
        ),
        (
            "unknown role id",
            json!([{"key": "r", "assignRoles": {"roleIds": [unknown]}}]),
            "steps[0].assignRoles.roleIds[0]",
        ),
        ("no roles", json!([{"key": "r", "assignRoles": {"roleIds": []}}]), "steps[0]"),
        (
            "unknown approver",
            json!([ok, {"key": "m", "managerApproval": {"approverUserId": unknown}}]),
            "steps[1].managerApproval.approverUserId",
        ),
        (
            "deleted approver",
            json!([{"key": "m", "managerApproval": {"approverUserId": gone}}]),
            "steps[0].managerApproval.approverUserId",
        ),
        (
            "another tenant's approver",
            json!([{"key": "m", "managerApproval": {"approverUserId": their_user}}]),
            "steps[0].managerApproval.approverUserId",
        ),
        ("malformed approver", json!([{"key": "m", "managerApproval": {"approverUserId": "nope"}}]), "steps[0]"),
        (
            "unknown recipient",
            json!([{"key": "n", "notify": {"recipient": "NOTIFY_RECIPIENT_CEO", "message": ""}}]),
            "steps[0]",
        ),
        ("no kind", json!([ok, {"key": "nothing", "required": true}]), "steps[1]"),
        ("unknown kind", json!([{"key": "x", "bakeCake": {}}]), "steps[0]"),
        ("null step", json!([ok, null]), "steps[1]"),
    ];
    for (case, steps, field) in &cases {
        let response = server.post(FLOWS, &token, &json!({"displayName": "Bad", "steps": steps})).await;
        assert_names_field(&format!("create: {case}"), &response, field);
    }
    assert_names_field("no displayName", &server.post(FLOWS, &token, &json!({"steps": []})).await, "displayName");
    assert_eq!(listed_ids(&server, &token).await, [MINIMAL_FLOW], "refused creates store nothing");

    let flow = create_flow(&server, &token, "Good", json!([ok])).await;
    let id = flow["id"].as_str().unwrap();
    for (case, steps, field) in &cases {
        let update = json!({"onboardingFlow": {"steps": steps}, "updateMask": "steps"});
        let response = server.post(&flow_path(id), &token, &update).await;
        assert_names_field(&format!("update: {case}"), &response, field);
    }
    assert_eq!(get_flow(&server, &token, id).await, flow, "refused updates change nothing");
}
both_backends!(invalid_steps_name_the_step);

/// A step that is not a JSON object (a string, a number, a list) is a 400 naming it, on create and update,
/// and the server keeps answering.
async fn a_step_that_is_not_an_object_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let flow = create_flow(&server, &token, "Good", json!([])).await;
    let ok = json!({"key": "ok", "verifyEmail": {}});
    for (case, steps, field) in [
        ("a string", json!([ok, "terms"]), "steps[1]"),
        ("a number", json!([7]), "steps[0]"),
        ("a list", json!([ok, ok, ["acceptTerms"]]), "steps[2]"),
    ] {
        let response = server.post(FLOWS, &token, &json!({"displayName": "Bad", "steps": steps})).await;
        assert_names_field(&format!("create: {case}"), &response, field);
        let update = json!({"onboardingFlow": {"steps": steps}, "updateMask": "steps"});
        let response = server.post(&flow_path(flow["id"].as_str().unwrap()), &token, &update).await;
        assert_names_field(&format!("update: {case}"), &response, field);
    }
    assert_eq!(listed_ids(&server, &token).await.len(), 2, "nothing stored");
}
both_backends!(a_step_that_is_not_an_object_is_refused);

/// The built-in minimal flow can be read but neither changed nor deleted (400, code 9).
async fn the_minimal_flow_is_read_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let before = get_flow(&server, &token, MINIMAL_FLOW).await;
    assert_eq!(before["builtin"], true, "{before}");
    let update = json!({"onboardingFlow": {"displayName": "Mine now"}, "updateMask": "displayName"});
    assert_api_error("update the minimal flow", &server.post(&flow_path(MINIMAL_FLOW), &token, &update).await, 400, 9);
    let steps = json!({"onboardingFlow": {"steps": []}});
    assert_api_error("empty the minimal flow", &server.post(&flow_path(MINIMAL_FLOW), &token, &steps).await, 400, 9);
    assert_api_error("delete the minimal flow", &server.delete(&flow_path(MINIMAL_FLOW), &token).await, 400, 9);
    assert_eq!(get_flow(&server, &token, MINIMAL_FLOW).await, before, "unchanged");
    assert_eq!(listed_ids(&server, &token).await, [MINIMAL_FLOW], "still listed");
}
both_backends!(the_minimal_flow_is_read_only);

/// A flow that a directory, a pending invitation or a live onboard uses cannot be deleted (400, code 9,
/// "in use"); once that use ends, it deletes, is gone from GET and the list, and a second delete is 404.
async fn a_flow_in_use_cannot_be_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let steps = json!([{"key": "terms", "acceptTerms": {"text": "t"}}]);

    // Used by a directory as its default.
    let by_directory = create_flow_id(&server, &token, "Directory's", steps.clone()).await;
    let directory = create_directory(&server, &token, "With flow", json!({"onboardingFlowId": by_directory})).await;
    assert_eq!(get_directory(&server, &token, &directory).await["onboardingFlowId"], by_directory);
    assert_precondition("used by a directory", &server.delete(&flow_path(&by_directory), &token).await, "in use");
    let clear = json!({"localDirectoryConfig": {"onboardingFlowId": ""}, "updateMask": "onboardingFlowId"});
    let (status, body) = server.post(&directory_path(&directory), &token, &clear).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["localDirectoryConfig"]["onboardingFlowId"], "", "{body}");
    let (status, body) = server.delete(&flow_path(&by_directory), &token).await;
    assert_eq!((status, &body), (200, &json!({})), "deletes once the directory lets go");

    // Used by a pending invitation.
    let by_invitation = create_flow_id(&server, &token, "Invitation's", steps.clone()).await;
    let invitation =
        invite(&server, &token, &directory, "pending@example.com", json!({"onboardingFlowId": by_invitation})).await;
    assert_eq!(invitation["onboardingFlowId"], by_invitation, "{invitation}");
    let response = server.delete(&flow_path(&by_invitation), &token).await;
    assert_precondition("used by a pending invitation", &response, "in use");
    let revoke = format!("{}/revoke", invitation_path(&directory, invitation["id"].as_str().unwrap()));
    let (status, body) = server.post(&revoke, &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.delete(&flow_path(&by_invitation), &token).await;
    assert_eq!(status, 200, "deletes once the invitation is revoked: {body}");

    // Used by a live onboard (of an invitation that itself names no flow).
    let by_onboard = create_flow_id(&server, &token, "Onboard's", steps.clone()).await;
    let plain = invite(&server, &token, &directory, "plain@example.com", Value::Null).await;
    let onboard = crate::onboards::create_onboard(
        &server,
        &crate::onboards::Auth::Bearer(token.clone()),
        json!({"invitation_id": plain["id"], "flow_id": by_onboard}),
    )
    .await;
    assert_eq!(onboard["flow_id"], by_onboard, "{onboard}");
    assert_precondition("used by a created onboard", &server.delete(&flow_path(&by_onboard), &token).await, "in use");
    let onboard_id = onboard["id"].as_str().unwrap();
    let auth = crate::onboards::Auth::Bearer(token.clone());
    let (status, body) =
        crate::onboards::put_onboard(&server, &auth, onboard_id, json!({"status": "in_progress"})).await;
    assert_eq!(status, 200, "{body}");
    assert_precondition(
        "used by an onboard in progress",
        &server.delete(&flow_path(&by_onboard), &token).await,
        "in use",
    );
    let (status, body) = crate::onboards::put_onboard(&server, &auth, onboard_id, json!({"status": "failed"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.delete(&flow_path(&by_onboard), &token).await;
    assert_eq!(status, 200, "deletes once the onboard failed: {body}");

    for id in [&by_directory, &by_invitation, &by_onboard] {
        assert_api_error("get a deleted flow", &server.get(&flow_path(id), &token).await, 404, 5);
        assert_api_error("delete it again", &server.delete(&flow_path(id), &token).await, 404, 5);
    }
    assert_eq!(listed_ids(&server, &token).await, [MINIMAL_FLOW], "deleted flows are not listed");
    // The deleted onboard's record still names its flow.
    let got = crate::onboards::get_onboard(&server, &auth, onboard_id).await;
    assert_eq!(got["flow_id"], by_onboard, "{got}");
}
both_backends!(a_flow_in_use_cannot_be_deleted);

/// An unknown, malformed or other tenant's flow id: GET, update and delete answer 404 (400 naming the id
/// when it is not 24 hex).
async fn unknown_flows_are_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, theirs) = server.other_tenant("rival").await;
    let their_flow = create_flow_id(&server, &theirs, "Theirs", json!([])).await;
    let update = json!({"onboardingFlow": {"displayName": "x"}, "updateMask": "displayName"});
    for id in [Id::new().to_string(), their_flow.clone()] {
        assert_api_error("get", &server.get(&flow_path(&id), &token).await, 404, 5);
        assert_api_error("update", &server.post(&flow_path(&id), &token, &update).await, 404, 5);
        assert_api_error("delete", &server.delete(&flow_path(&id), &token).await, 404, 5);
    }
    assert_names_field("malformed id", &server.get(&flow_path("not-an-id"), &token).await, "id");
    assert_eq!(get_flow(&server, &theirs, &their_flow).await["displayName"], "Theirs", "untouched");
}
both_backends!(unknown_flows_are_404);

/// A directory or invitation naming an unknown, deleted, malformed or other tenant's flow is refused with a
/// 400 naming onboardingFlowId; the minimal flow may be named.
async fn references_to_unknown_flows_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, theirs) = server.other_tenant("rival").await;
    let their_flow = create_flow_id(&server, &theirs, "Theirs", json!([])).await;
    let deleted = create_flow_id(&server, &token, "Deleted", json!([])).await;
    assert_eq!(server.delete(&flow_path(&deleted), &token).await.0, 200);
    let directory = create_directory(&server, &token, "Plain", Value::Null).await;

    for (case, flow) in [
        ("unknown", Id::new().to_string()),
        ("deleted", deleted),
        ("another tenant's", their_flow),
        ("malformed", "xyz".into()),
    ] {
        let app = create_app(&server, &token, &format!("App {case}")).await;
        let body = json!({"appId": app, "displayName": "D", "onboardingFlowId": flow});
        let response = server.post(crate::directories::DIRECTORIES, &token, &body).await;
        assert_names_field(&format!("create directory, {case} flow"), &response, "onboardingFlowId");

        let update = json!({"localDirectoryConfig": {"onboardingFlowId": flow}, "updateMask": "onboardingFlowId"});
        let response = server.post(&directory_path(&directory), &token, &update).await;
        assert_names_field(&format!("update directory, {case} flow"), &response, "onboardingFlowId");

        let response =
            post_invitation(&server, &token, &directory, "x@example.com", json!({"onboardingFlowId": flow})).await;
        assert_names_field(&format!("invitation, {case} flow"), &response, "onboardingFlowId");
    }
    assert_eq!(
        get_directory(&server, &token, &directory).await["onboardingFlowId"],
        "",
        "refused updates change nothing"
    );

    let update = json!({"localDirectoryConfig": {"onboardingFlowId": MINIMAL_FLOW}, "updateMask": "onboardingFlowId"});
    let (status, body) = server.post(&directory_path(&directory), &token, &update).await;
    assert_eq!(status, 200, "the minimal flow is a flow: {body}");
    let invitation = invite(&server, &token, &directory, "x@example.com", Value::Null).await;
    assert_eq!(invitation["onboardingFlowId"], MINIMAL_FLOW, "inherited from the directory: {invitation}");
}
both_backends!(references_to_unknown_flows_are_refused);

/// A basic user can neither read nor write flows; the read-only admin reads only; admins and directory
/// admins write; no token is 401.
async fn roles_decide_who_reads_and_writes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let flow = create_flow_id(&server, &token, "Guarded", json!([])).await;
    let path = flow_path(&flow);
    let create = json!({"displayName": "New"});
    let update = json!({"onboardingFlow": {"displayName": "Changed"}, "updateMask": "displayName"});

    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("basic user lists", &server.get(FLOWS, &basic).await, 403, 7);
    assert_api_error("basic user gets", &server.get(&path, &basic).await, 403, 7);
    assert_api_error("basic user creates", &server.post(FLOWS, &basic, &create).await, 403, 7);
    assert_api_error("basic user updates", &server.post(&path, &basic, &update).await, 403, 7);
    assert_api_error("basic user deletes", &server.delete(&path, &basic).await, 403, 7);

    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    assert_eq!(server.get(FLOWS, &reader).await.0, 200);
    assert_eq!(server.get(&path, &reader).await.0, 200);
    assert_api_error("reader creates", &server.post(FLOWS, &reader, &create).await, 403, 7);
    assert_api_error("reader updates", &server.post(&path, &reader, &update).await, 403, 7);
    assert_api_error("reader deletes", &server.delete(&path, &reader).await, 403, 7);
    assert_eq!(get_flow(&server, &token, &flow).await["displayName"], "Guarded", "refused writes change nothing");
    assert_eq!(listed_ids(&server, &token).await.len(), 2, "refused creates store nothing");

    for (email, role) in [("dirs@example.com", BuiltinRole::DirectoryAdmin), ("ops@example.com", BuiltinRole::Admin)] {
        let (_, writer) = server.credential_with_roles(email, &[role]).await;
        let made = create_flow_id(&server, &writer, &format!("By {email}"), json!([])).await;
        let (status, body) = server.post(&flow_path(&made), &writer, &update).await;
        assert_eq!(status, 200, "{role:?} updates: {body}");
        let (status, body) = server.delete(&flow_path(&made), &writer).await;
        assert_eq!(status, 200, "{role:?} deletes: {body}");
    }

    // A flow grants roles when an onboard completes, so writing one takes the right to grant them: a
    // directory admin may assign its own role or basic-user, not admin; nobody but a super-admin super-admin.
    let (_, dirs) = server.credential_with_roles("dirs2@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let assign =
        |roles: &[&str]| json!({"displayName": "Grants", "steps": [{"key": "r", "assignRoles": {"roleIds": roles}}]});
    assert_eq!(server.post(FLOWS, &dirs, &assign(&["basic-user", "directory-admin"])).await.0, 200);
    let response = server.post(FLOWS, &dirs, &assign(&["admin"])).await;
    assert_api_error("directory admin assigns admin", &response, 403, 7);
    assert!(response.1["message"].as_str().unwrap().contains("steps[0].assignRoles.roleIds"), "{}", response.1);
    let (_, ops) = server.credential_with_roles("ops2@example.com", &[BuiltinRole::Admin]).await;
    assert_api_error("admin assigns super-admin", &server.post(FLOWS, &ops, &assign(&["super-admin"])).await, 403, 7);
    let update_to_admin = json!({"onboardingFlow": {"steps": [{"key": "r", "assignRoles": {"roleIds": ["admin"]}}]}, "updateMask": "steps"});
    assert_api_error("directory admin updates to admin", &server.post(&path, &dirs, &update_to_admin).await, 403, 7);
    assert_eq!(server.post(FLOWS, &token, &assign(&["super-admin"])).await.0, 200, "the super-admin may");

    let response = crate::support::read(server.http.get(server.url(FLOWS)).send().await.expect("GET")).await;
    assert_api_error("no token", &response, 401, 16);
}
both_backends!(roles_decide_who_reads_and_writes);

/// Create, update and delete each write one audit event on the flow's id; refused changes and an update
/// that changes nothing write none.
async fn every_change_is_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let flow = create_flow_id(&server, &token, "Audited", json!([])).await;
    let path = flow_path(&flow);
    let rename = json!({"onboardingFlow": {"displayName": "Audited 2"}, "updateMask": "displayName"});
    assert_eq!(server.post(&path, &token, &rename).await.0, 200);
    assert_eq!(server.post(&path, &token, &rename).await.0, 200, "the same again: no change");
    let bad = json!({"onboardingFlow": {"steps": [{"key": "X"}]}});
    assert_eq!(server.post(&path, &token, &bad).await.0, 400);
    assert_eq!(server.delete(&flow_path(MINIMAL_FLOW), &token).await.0, 400);
    assert_eq!(server.delete(&path, &token).await.0, 200);

    let actions = audit_actions(&server, &token).await;
    let flow_actions: Vec<(&str, &str)> = actions
        .iter()
        .filter(|(action, _)| action.starts_with("onboarding_flow."))
        .map(|(action, object)| (action.as_str(), object.as_str()))
        .collect();
    assert_eq!(
        flow_actions,
        [
            ("onboarding_flow.create", flow.as_str()),
            ("onboarding_flow.update", flow.as_str()),
            ("onboarding_flow.delete", flow.as_str())
        ],
        "{actions:?}"
    );
}
both_backends!(every_change_is_audited);
