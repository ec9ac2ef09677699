//! Control characters in text (issue #11, item 8): a NUL, an escape or a stray line break in any text field
//! of any object is a 400 naming the field, and nothing is stored, on both backends (a NUL cannot be stored
//! in a PostgreSQL TEXT column, so before this rule it was a 500 there and stored on SQLite). Multi-line
//! fields (descriptions, terms, the MCP goal, profile values) keep their line breaks and tabs.

use serde_json::{Value, json};

use crate::apps::{audit_actions, create_app};
use crate::both_backends;
use crate::directories::{DIRECTORIES, assert_names_field, create_directory};
use crate::flows::{FLOWS, create_flow_id};
use crate::invitations::{invitations_path, invite};
use crate::onboards::{Auth, accept_mailed, complete_step, get_onboard, my_user_id, onboard_id_of, put_onboard};
use crate::support::{Backend, TestServer};

const USERS: &str = "/api/v1/users";
const SETTINGS: &str = "/api/v1/settings/onboarding";

/// `base` with the fields of `extra` (an object) added.
fn with(base: &Value, extra: Value) -> Value {
    let mut body = base.clone();
    if let Value::Object(fields) = extra {
        body.as_object_mut().expect("an object").extend(fields);
    }
    body
}

/// POSTs each (body, field) to `path` and asserts a 400 naming the field.
async fn refused_each(server: &TestServer, token: &str, path: &str, cases: Vec<(Value, &str)>) {
    for (body, field) in cases {
        let response = server.post(path, token, &body).await;
        assert_names_field(&format!("POST {path} {body}"), &response, field);
    }
}

/// The users the list shows, by email.
async fn user_emails(server: &TestServer, token: &str) -> Vec<String> {
    let pages = server.all_pages(USERS, token, 100).await;
    pages.into_iter().flatten().map(|view| view["user"]["email"].as_str().unwrap().to_string()).collect()
}

async fn users_and_apps_refuse_control_characters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let ada = json!({"email": "ada@example.com", "displayName": "Ada"});
    let kept = server.create_user(&token, &json!({"email": "kept@example.com", "displayName": "Kept"})).await;
    let app = create_app(&server, &token, "Wiki").await;
    let (users_before, events_before) = (user_emails(&server, &token).await, audit_actions(&server, &token).await);

    let user_cases = vec![
        (json!({"email": "ada@example.com", "displayName": "Ada\u{0}Lovelace"}), "displayName"),
        (with(&ada, json!({"department": "R&D\u{0}"})), "department"),
        (with(&ada, json!({"jobTitle": "Engineer\u{1b}[31m"})), "jobTitle"),
        (with(&ada, json!({"employmentStatus": "active\u{7}"})), "employmentStatus"),
        (with(&ada, json!({"employmentType": "full\ntime"})), "employmentType"),
        (with(&ada, json!({"usernames": ["ada", "a\u{0}"]})), "usernames[1]"),
        (with(&ada, json!({"employeeIds": ["e\u{0}1"]})), "employeeIds[0]"),
        (with(&ada, json!({"profile": {"note": "x\u{0}"}})), "profile.note"),
        (with(&ada, json!({"jobTitleSources": [{"value": "a\u{0}", "priority": 1}]})), "jobTitleSources[0].value"),
    ];
    refused_each(&server, &token, USERS, user_cases).await;
    let update = json!({"user": {"displayName": "Kept\u{0}"}, "updateMask": "displayName"});
    let response = server.post(&format!("{USERS}/{kept}"), &token, &update).await;
    assert_names_field("update a user's name", &response, "displayName");

    let app_cases = vec![
        (json!({"displayName": "Wiki\u{0}"}), "displayName"),
        (json!({"displayName": "Wiki", "description": "the\u{0}wiki"}), "description"),
        (json!({"displayName": "Wiki", "instructions": "ask \u{1b}[2J"}), "instructions"),
        (json!({"displayName": "Wiki", "iconUrl": "https://x.example/i.png\r\n"}), "iconUrl"),
        (json!({"displayName": "Wiki", "grantPolicyId": "p\u{0}"}), "grantPolicyId"),
    ];
    refused_each(&server, &token, "/api/v1/apps", app_cases).await;
    let update = json!({"app": {"description": "new\u{0}"}, "updateMask": "description"});
    let response = server.post(&format!("/api/v1/apps/{app}"), &token, &update).await;
    assert_names_field("update an app's description", &response, "description");

    assert_eq!(user_emails(&server, &token).await, users_before, "no user was stored");
    assert_eq!(server.get(&format!("{USERS}/{kept}"), &token).await.1["userView"]["user"]["displayName"], "Kept");
    assert_eq!(server.get(&format!("/api/v1/apps/{app}"), &token).await.1["app"]["description"], "");
    assert_eq!(audit_actions(&server, &token).await, events_before, "no change was recorded");

    // Multi-line fields keep their line breaks and tabs; one-line fields are trimmed as before.
    let prose = "Line one\nLine two\r\n\tindented";
    let (status, body) =
        server.post("/api/v1/apps", &token, &json!({"displayName": "Docs", "description": prose})).await;
    assert_eq!((status, &body["app"]["description"]), (200, &json!(prose)), "{body}");
    let profile = with(&ada, json!({"displayName": " Ada \n", "profile": {"address": "1 Main St\nSpringfield"}}));
    let (status, body) = server.post(USERS, &token, &profile).await;
    assert_eq!(status, 200, "{body}");
    let user = &body["userView"]["user"];
    assert_eq!((&user["displayName"], &user["profile"]["address"]), (&json!("Ada"), &json!("1 Main St\nSpringfield")));
}
both_backends!(users_and_apps_refuse_control_characters);

async fn onboarding_objects_refuse_control_characters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let events_before = audit_actions(&server, &token).await;
    let terms = |text: &str| json!([{"key": "terms", "acceptTerms": {"text": text}}]);
    let flow_cases = vec![
        (json!({"displayName": "Join\u{0}", "steps": terms("t")}), "displayName"),
        (json!({"displayName": "Join", "description": "d\u{0}", "steps": terms("t")}), "description"),
        (json!({"displayName": "Join", "steps": terms("Be kind.\u{0}")}), "steps[0]"),
        (
            json!({"displayName": "Join", "steps": [{"key": "tell", "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "hi\u{1b}[2J"}}]}),
            "steps[0]",
        ),
    ];
    refused_each(&server, &token, FLOWS, flow_cases).await;
    let app = create_app(&server, &token, "Staff").await;
    let directory_body = json!({"appId": app, "displayName": "Staff\u{0}"});
    assert_names_field("directory", &server.post(DIRECTORIES, &token, &directory_body).await, "displayName");
    let setting_cases = vec![
        (json!({"mcpOnboardingGoal": "connect\u{0}"}), "mcpOnboardingGoal"),
        (json!({"intents": ["two\nlines"]}), "intents[0]"),
        (json!({"orgContext": {"industry": "retail\u{0}"}}), "orgContext.industry"),
    ];
    refused_each(&server, &token, SETTINGS, setting_cases).await;
    let after_events = audit_actions(&server, &token).await;
    assert_eq!(after_events.len(), events_before.len() + 1, "only the app was stored: {after_events:?}");
    let (_, settings) = server.get(SETTINGS, &token).await;
    assert_eq!((&settings["mcpOnboardingGoal"], &settings["intents"]), (&json!(""), &json!([])), "{settings}");
    let goal = json!({"mcpOnboardingGoal": "Connect:\n\t- the wiki"});
    assert_eq!(server.post(SETTINGS, &token, &goal).await.0, 200, "the goal is multi-line text");

    // An onboard: the approver's rejection reason and a failure reason set through the API.
    let admin_id = my_user_id(&server, &token).await;
    let steps = json!([{"key": "approval", "managerApproval": {"approverUserId": admin_id}}]);
    let flow = create_flow_id(&server, &token, "Approval", steps).await;
    let directory = create_directory(&server, &token, "Approvals", json!({"onboardingFlowId": flow})).await;
    let invitation_cases = vec![
        (json!({"email": "x@example.com", "displayName": "X", "purpose": "p\u{0}"}), "purpose"),
        (json!({"email": "x@example.com", "displayName": "X", "jobId": "j\u{0}"}), "jobId"),
    ];
    refused_each(&server, &token, &invitations_path(&directory), invitation_cases).await;
    invite(&server, &token, &directory, "rex@example.com", Value::Null).await;
    let onboard_id = onboard_id_of(&accept_mailed(&server, "rex@example.com", "Rex").await);
    let auth = Auth::Bearer(token.clone());
    let before = get_onboard(&server, &auth, &onboard_id).await;
    let no = json!({"approved": false, "reason": "no\u{0}headcount"});
    assert_names_field("rejection reason", &complete_step(&server, &auth, &onboard_id, "approval", no).await, "reason");
    let fail = json!({"status": "failed", "failure_reason": "budget\u{0}cut"});
    assert_names_field("failure reason", &put_onboard(&server, &auth, &onboard_id, fail).await, "failure_reason");
    assert_eq!(get_onboard(&server, &auth, &onboard_id).await, before, "the onboard did not change");
    let fail = json!({"status": "failed", "failure_reason": "budget cut"});
    let (status, failed) = put_onboard(&server, &auth, &onboard_id, fail).await;
    assert_eq!((status, &failed["failure_reason"]), (200, &json!("budget cut")), "{failed}");
}
both_backends!(onboarding_objects_refuse_control_characters);
