//! Tenant onboarding settings and the onboarding conversation over HTTP: the defaults, every core status
//! move allowed and refused (a refused request changes nothing), the MCP briefing's restart, omitted versus
//! empty fields, enum validation naming the field, roles, the tenant wall, the ensure of the conversation
//! (once, also under concurrent calls), and the audit events.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error, read};

const SETTINGS: &str = "/api/v1/settings/onboarding";
const ENSURE: &str = "/api/v1/conversations/onboarding:ensure";

const CORE: [&str; 4] = ["NOT_STARTED", "IN_PROGRESS", "COMPLETE", "DISMISSED"];

fn core(status: &str) -> String {
    format!("ONBOARDING_STATUS_{status}")
}

fn mcp(status: &str) -> String {
    format!("MCP_ONBOARDING_STATUS_{status}")
}

fn defaults() -> Value {
    json!({
        "status": "ONBOARDING_STATUS_NOT_STARTED",
        "mcpOnboardingStatus": "MCP_ONBOARDING_STATUS_NOT_STARTED",
        "conversationId": "",
        "mcpOnboardingGoal": "",
        "mcpOnboardingTargets": [],
        "intents": [],
        "orgContext": {"industry": "", "organizationSize": ""},
    })
}

fn target(kind: &str, id: &str, status: &str) -> Value {
    json!({
        "kind": format!("MCP_ONBOARDING_TARGET_KIND_{kind}"),
        "id": id,
        "displayName": format!("{kind} {id}"),
        "mcpServerId": "",
        "status": format!("MCP_ONBOARDING_TARGET_STATUS_{status}"),
    })
}

async fn settings(server: &TestServer, token: &str) -> Value {
    let (status, body) = server.get(SETTINGS, token).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Posts an update that must succeed; checks that its answer is what a read then sees.
async fn update(server: &TestServer, token: &str, body: Value) -> Value {
    let (status, answer) = server.post(SETTINGS, token, &body).await;
    assert_eq!(status, 200, "update {body}: {answer}");
    assert_eq!(answer, settings(server, token).await, "the update answers the settings a read then sees");
    answer
}

/// The audit events of the caller's tenant with this action, oldest first.
async fn audit_events(server: &TestServer, token: &str, action: &str) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/audit-events?page_size=100", token).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["nextPageToken"].as_str().unwrap_or_default().is_empty(), "one page is enough here");
    body["list"].as_array().unwrap().iter().filter(|event| event["action"] == action).cloned().collect()
}

async fn defaults_for_a_fresh_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    assert_eq!(settings(&server, &token).await, defaults());
    // An update that changes nothing answers the defaults and writes no event.
    let (status, body) = server.post_raw(SETTINGS, &token, "").await;
    assert_eq!((status, &body), (200, &defaults()));
    let body =
        json!({"status": "ONBOARDING_STATUS_UNSPECIFIED", "mcpOnboardingStatus": "MCP_ONBOARDING_STATUS_NOT_STARTED"});
    assert_eq!(update(&server, &token, body).await, defaults());
    assert!(audit_events(&server, &token, "onboarding_settings.update").await.is_empty());
}
both_backends!(defaults_for_a_fresh_tenant);

/// Every (from, to) pair of core statuses, each in a tenant of its own brought to `from` by allowed moves.
async fn core_status_moves(backend: Backend) {
    let server = TestServer::start(backend).await;
    let allowed = [
        ("NOT_STARTED", "IN_PROGRESS"),
        ("IN_PROGRESS", "COMPLETE"),
        ("NOT_STARTED", "DISMISSED"),
        ("IN_PROGRESS", "DISMISSED"),
        ("COMPLETE", "DISMISSED"),
        ("DISMISSED", "IN_PROGRESS"),
    ];
    let path_to = |status: &str| -> &[&str] {
        match status {
            "NOT_STARTED" => &[],
            "IN_PROGRESS" => &["IN_PROGRESS"],
            "COMPLETE" => &["IN_PROGRESS", "COMPLETE"],
            _ => &["DISMISSED"],
        }
    };
    for (n, from) in CORE.into_iter().enumerate() {
        for (m, to) in CORE.into_iter().enumerate() {
            let case = format!("{from} -> {to}");
            let (_, token) = server.other_tenant(&format!("moves{n}{m}")).await;
            for step in path_to(from) {
                update(&server, &token, json!({"status": core(step)})).await;
            }
            let before = settings(&server, &token).await;
            assert_eq!(before["status"], core(from), "{case}");
            // The same request sets other settings too: they apply only with the move.
            let body = json!({"status": core(to), "mcpOnboardingGoal": "with the move", "intents": ["x"]});
            let response = server.post(SETTINGS, &token, &body).await;
            if from == to || allowed.contains(&(from, to)) {
                assert_eq!(response.0, 200, "{case}: {}", response.1);
                assert_eq!(response.1["status"], core(to), "{case}");
                assert_eq!(response.1["mcpOnboardingGoal"], "with the move", "{case}");
            } else {
                assert_api_error(&case, &response, 400, 9);
                let message = response.1["message"].as_str().unwrap();
                assert!(message.contains(&core(from)) && message.contains(&core(to)), "{case}: {message}");
                assert_eq!(settings(&server, &token).await, before, "{case}: a refused update changes nothing");
            }
        }
    }
}
both_backends!(core_status_moves);

async fn mcp_briefing_restarts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    update(&server, &token, json!({"status": core("IN_PROGRESS")})).await;
    let targets = json!([target("APP", "a1", "DONE"), target("CATALOG_ENTRY", "c1", "PENDING")]);
    let briefed = update(
        &server,
        &token,
        json!({"mcpOnboardingStatus": mcp("IN_PROGRESS"), "mcpOnboardingGoal": "govern our MCP servers",
               "mcpOnboardingTargets": {"targets": targets}}),
    )
    .await;
    assert_eq!(briefed["mcpOnboardingTargets"], targets);

    // Every MCP move is allowed, in any order; only NOT_STARTED clears, and the core status never moves.
    for to in ["COMPLETE", "IN_PROGRESS", "DISMISSED", "COMPLETE", "IN_PROGRESS"] {
        let after = update(&server, &token, json!({"mcpOnboardingStatus": mcp(to)})).await;
        assert_eq!(after["mcpOnboardingStatus"], mcp(to));
        assert_eq!(after["mcpOnboardingGoal"], "govern our MCP servers", "{to}");
        assert_eq!(after["mcpOnboardingTargets"], targets, "{to}");
        assert_eq!(after["status"], core("IN_PROGRESS"));
    }
    let restarted = update(&server, &token, json!({"mcpOnboardingStatus": mcp("NOT_STARTED")})).await;
    assert_eq!(restarted["mcpOnboardingGoal"], "");
    assert_eq!(restarted["mcpOnboardingTargets"], json!([]));
    assert_eq!(restarted["status"], core("IN_PROGRESS"));

    // A restart that sets the goal keeps it and clears the targets, and the other way round.
    let body = json!({"mcpOnboardingGoal": "g", "mcpOnboardingTargets": {"targets": targets}, "mcpOnboardingStatus": mcp("COMPLETE")});
    update(&server, &token, body).await;
    let after =
        update(&server, &token, json!({"mcpOnboardingStatus": mcp("NOT_STARTED"), "mcpOnboardingGoal": "new goal"}))
            .await;
    assert_eq!((&after["mcpOnboardingGoal"], &after["mcpOnboardingTargets"]), (&json!("new goal"), &json!([])));
    update(&server, &token, json!({"mcpOnboardingTargets": {"targets": targets}})).await;
    let one = json!([target("MCP_SERVER", "s1", "SKIPPED")]);
    let after = update(
        &server,
        &token,
        json!({"mcp_onboarding_status": mcp("NOT_STARTED"), "mcp_onboarding_targets": {"targets": one}}),
    )
    .await;
    assert_eq!((&after["mcpOnboardingGoal"], &after["mcpOnboardingTargets"]), (&json!(""), &one));
    // Restarting a briefing that has not started clears too.
    let after = update(&server, &token, json!({"mcpOnboardingStatus": mcp("NOT_STARTED")})).await;
    assert_eq!(after["mcpOnboardingTargets"], json!([]));
}
both_backends!(mcp_briefing_restarts);

async fn omitted_versus_empty(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let targets = json!([target("APP", "a1", "PENDING"), target("APP", "a2", "DONE")]);
    let full = update(
        &server,
        &token,
        json!({"mcpOnboardingGoal": "goal", "mcpOnboardingTargets": {"targets": targets},
               "intents": ["governance", "access reviews"], "conversationId": "conv-1",
               "orgContext": {"industry": "retail", "organizationSize": "51-200"}}),
    )
    .await;
    assert_eq!(full["orgContext"], json!({"industry": "retail", "organizationSize": "51-200"}));
    assert_eq!(full["conversationId"], "conv-1");

    // Omitted or null: unchanged. An empty conversationId is proto3's unset string: unchanged too.
    for body in [
        json!({}),
        json!({"mcpOnboardingGoal": null, "mcpOnboardingTargets": null, "intents": null, "orgContext": null,
               "status": null, "mcpOnboardingStatus": null, "conversationId": ""}),
    ] {
        assert_eq!(update(&server, &token, body).await, full);
    }
    // A target without a status starts PENDING.
    let after = update(
        &server,
        &token,
        json!({"mcpOnboardingTargets": {"targets": [{"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a3"}]}}),
    )
    .await;
    assert_eq!(
        after["mcpOnboardingTargets"],
        json!([{"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a3", "displayName": "", "mcpServerId": "", "status": "MCP_ONBOARDING_TARGET_STATUS_PENDING"}])
    );
    assert_eq!(after["mcpOnboardingGoal"], "goal");

    // Present but empty: cleared, each on its own.
    for (body, field, empty) in [
        (json!({"mcpOnboardingGoal": ""}), "mcpOnboardingGoal", json!("")),
        (json!({"mcpOnboardingTargets": {"targets": targets}}), "mcpOnboardingTargets", targets.clone()),
        (json!({"mcpOnboardingTargets": {}}), "mcpOnboardingTargets", json!([])),
        (json!({"mcpOnboardingTargets": {"targets": targets}}), "mcpOnboardingTargets", targets.clone()),
        (json!({"mcpOnboardingTargets": {"targets": []}}), "mcpOnboardingTargets", json!([])),
        (json!({"intents": []}), "intents", json!([])),
        (
            json!({"orgContext": {"industry": "health"}}),
            "orgContext",
            json!({"industry": "health", "organizationSize": ""}),
        ),
        (json!({"orgContext": {}}), "orgContext", json!({"industry": "", "organizationSize": ""})),
    ] {
        let before = settings(&server, &token).await;
        let after = update(&server, &token, body.clone()).await;
        assert_eq!(after[field], empty, "{body}");
        let mut expected = before.clone();
        expected[field] = empty;
        assert_eq!(after, expected, "{body} changes {field} alone");
    }
    assert_eq!(settings(&server, &token).await["conversationId"], "conv-1");
}
both_backends!(omitted_versus_empty);

async fn invalid_input_names_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    update(&server, &token, json!({"mcpOnboardingGoal": "kept"})).await;
    let before = settings(&server, &token).await;
    let app = |id: &str| json!({"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": id});
    for (body, field) in [
        (json!({"status": "ONBOARDING_STATUS_FINISHED"}), "status"),
        (json!({"status": "MCP_ONBOARDING_STATUS_COMPLETE"}), "status"),
        // protojson reads an enum by number too (2 is IN_PROGRESS, `wire::protojson_leniency_on_input`); 9 is none.
        (json!({"status": 9}), "status"),
        (json!({"mcpOnboardingStatus": "ONBOARDING_STATUS_COMPLETE"}), "mcpOnboardingStatus"),
        (
            json!({"mcpOnboardingTargets": {"targets": [app("a"), {"kind": "MCP_ONBOARDING_TARGET_KIND_ROBOT", "id": "b"}]}}),
            "mcpOnboardingTargets.targets[1].kind",
        ),
        (json!({"mcpOnboardingTargets": {"targets": [app("a"), {"id": "b"}]}}), "mcpOnboardingTargets.targets[1].kind"),
        (
            json!({"mcpOnboardingTargets": {"targets": [{"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a", "status": "DONE"}]}}),
            "mcpOnboardingTargets.targets[0].status",
        ),
        (json!({"mcpOnboardingTargets": {"targets": [app("a"), app("")]}}), "mcpOnboardingTargets.targets[1].id"),
        (json!({"mcpOnboardingTargets": {"targets": [app("a"), app("a")]}}), "mcpOnboardingTargets.targets[1].id"),
        (json!({"mcpOnboardingTargets": {"targets": "a"}}), "mcpOnboardingTargets.targets"),
        (json!({"mcpOnboardingGoal": "x".repeat(5000)}), "mcpOnboardingGoal"),
        (json!({"intents": ["a", ""]}), "intents[1]"),
        (json!({"orgContext": {"industry": 5}}), "orgContext.industry"),
        (json!({"conversationId": "has space"}), "conversationId"),
    ] {
        // A valid status move in the same request does not happen either.
        let mut body = body;
        if body.get("status").is_none() {
            body["status"] = json!(core("IN_PROGRESS"));
        }
        let response = server.post(SETTINGS, &token, &body).await;
        assert_api_error(&body.to_string(), &response, 400, 3);
        let message = response.1["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("invalid {field}:")), "{body}: {message}");
        assert_eq!(response.1["details"][0]["fieldViolations"][0]["field"], field, "{body}");
    }
    let response = server.post_raw(SETTINGS, &token, "{not json").await;
    assert_api_error("malformed body", &response, 400, 3);
    assert_eq!(settings(&server, &token).await, before, "refused requests change nothing");
}
both_backends!(invalid_input_names_the_field);

/// Reading needs settings:read (read-only admin and up), writing and ensuring settings:write (admin and up).
async fn roles_gate_reads_and_writes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    let (_, directory_admin) = server.credential_with_roles("dir@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let (_, admin) = server.credential_with_roles("admin@corp.example.com", &[BuiltinRole::Admin]).await;

    assert_eq!(settings(&server, &reader).await, defaults());
    let write = json!({"status": core("IN_PROGRESS")});
    assert_api_error("read-only admin updates", &server.post(SETTINGS, &reader, &write).await, 403, 7);
    assert_api_error("read-only admin ensures", &server.post(ENSURE, &reader, &json!({})).await, 403, 7);
    assert_api_error("basic user reads", &server.get(SETTINGS, &basic).await, 403, 7);
    assert_api_error("basic user updates", &server.post(SETTINGS, &basic, &write).await, 403, 7);
    assert_api_error("basic user ensures", &server.post(ENSURE, &basic, &json!({})).await, 403, 7);
    assert_eq!(settings(&server, &reader).await, defaults(), "refused writes change nothing");

    // Tenant settings are settings:read / settings:write, which a directory admin does not have.
    assert_api_error("directory admin reads", &server.get(SETTINGS, &directory_admin).await, 403, 7);
    assert_api_error("directory admin updates", &server.post(SETTINGS, &directory_admin, &write).await, 403, 7);
    assert_api_error("directory admin ensures", &server.post(ENSURE, &directory_admin, &json!({})).await, 403, 7);
    update(&server, &admin, write).await;
    update(&server, &admin, json!({"status": core("COMPLETE")})).await;
    let (status, body) = server.post(ENSURE, &admin, &json!({})).await;
    assert_eq!((status, &body["created"]), (200, &json!(true)), "{body}");

    let anonymous = read(server.http.get(server.url(SETTINGS)).send().await.unwrap()).await;
    assert_api_error("no token", &anonymous, 401, 16);
    let anonymous = read(server.http.post(server.url(ENSURE)).send().await.unwrap()).await;
    assert_api_error("no token", &anonymous, 401, 16);
}
both_backends!(roles_gate_reads_and_writes);

async fn tenants_have_their_own_settings(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, other) = server.other_tenant("other").await;
    let mine =
        update(&server, &token, json!({"status": core("DISMISSED"), "mcpOnboardingGoal": "mine", "intents": ["a"]}))
            .await;
    let (_, body) = server.post(ENSURE, &token, &json!({})).await;
    let my_conversation = body["conversationId"].clone();
    assert_eq!(settings(&server, &other).await, defaults(), "another tenant's settings are its own");

    let theirs = update(&server, &other, json!({"status": core("IN_PROGRESS"), "orgContext": {"industry": "x"}})).await;
    let (status, body) = server.post(ENSURE, &other, &json!({})).await;
    assert_eq!((status, &body["created"]), (200, &json!(true)), "{body}");
    assert_ne!(body["conversationId"], my_conversation);
    let mut expected = mine;
    expected["conversationId"] = my_conversation;
    assert_eq!(settings(&server, &token).await, expected, "another tenant's writes leave mine alone");
    assert_eq!(settings(&server, &other).await["orgContext"], theirs["orgContext"]);
    assert_eq!(audit_events(&server, &other, "onboarding_settings.update").await.len(), 1);
    assert_eq!(audit_events(&server, &token, "onboarding_settings.update").await.len(), 1);
}
both_backends!(tenants_have_their_own_settings);

async fn ensure_creates_the_conversation_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (status, first) = server.post(ENSURE, &token, &json!({})).await;
    assert_eq!(status, 200, "{first}");
    let id = first["conversationId"].as_str().unwrap().to_string();
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{first}");
    assert_eq!(first["created"], true);
    // No body at all, as a client may send.
    let (status, second) = server.post_raw(ENSURE, &token, "").await;
    assert_eq!((status, second), (200, json!({"conversationId": id, "created": false})));
    assert_eq!(settings(&server, &token).await["conversationId"], id);
    let created = audit_events(&server, &token, "onboarding_conversation.create").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["objectId"], id);

    // The colon is part of one literal segment, not a capture: neighbours are unknown routes.
    for path in [
        "/api/v1/conversations/onboarding",
        "/api/v1/conversations/other:ensure",
        "/api/v1/conversations/onboarding:start",
    ] {
        assert_api_error(path, &server.post(path, &token, &json!({})).await, 404, 5);
    }
    let (status, _) = server.get(ENSURE, &token).await;
    assert_eq!(status, 405, "only POST is served");

    // A conversation associated by an update is the one ensure returns.
    let (_, other) = server.other_tenant("associated").await;
    update(&server, &other, json!({"conversationId": "conversation-from-c1"})).await;
    let (status, body) = server.post(ENSURE, &other, &json!({})).await;
    assert_eq!((status, body), (200, json!({"conversationId": "conversation-from-c1", "created": false})));
}
both_backends!(ensure_creates_the_conversation_once);

async fn concurrent_ensures_agree(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let calls = (0..10).map(|_| {
        let request = server.http.post(server.url(ENSURE)).bearer_auth(&token).json(&json!({}));
        tokio::spawn(async move { read(request.send().await.expect("POST")).await })
    });
    let mut answers = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 200, "{body}");
        answers.push(body);
    }
    let id = &answers[0]["conversationId"];
    assert!(answers.iter().all(|answer| &answer["conversationId"] == id), "{answers:?}");
    assert_eq!(answers.iter().filter(|answer| answer["created"] == true).count(), 1, "{answers:?}");
    assert_eq!(&settings(&server, &token).await["conversationId"], id);
    assert_eq!(audit_events(&server, &token, "onboarding_conversation.create").await.len(), 1);
}
both_backends!(concurrent_ensures_agree);

/// Concurrent updates are serialised by the row lock and the conditional write: ten requests to start the
/// wizard all succeed, one of them moves it, and the other nine find nothing to change.
async fn concurrent_updates_move_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let calls = (0..10).map(|_| {
        let body = json!({"status": core("IN_PROGRESS"), "intents": ["start"], "mcpOnboardingGoal": "goal"});
        let request = server.http.post(server.url(SETTINGS)).bearer_auth(&token).json(&body);
        tokio::spawn(async move { read(request.send().await.expect("POST")).await })
    });
    for call in calls.collect::<Vec<_>>() {
        let (status, body) = call.await.unwrap();
        assert_eq!((status, &body["status"]), (200, &json!(core("IN_PROGRESS"))), "{body}");
    }
    assert_eq!(audit_events(&server, &token, "onboarding_settings.update").await.len(), 1);
}
both_backends!(concurrent_updates_move_once);

async fn updates_are_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    update(&server, &token, json!({"status": core("IN_PROGRESS"), "mcpOnboardingGoal": "g"})).await;
    // Refused and no-op updates write nothing.
    let refused = server.post(SETTINGS, &token, &json!({"status": core("NOT_STARTED")})).await;
    assert_api_error("back to NOT_STARTED", &refused, 400, 9);
    update(&server, &token, json!({"status": core("IN_PROGRESS"), "mcpOnboardingGoal": "g"})).await;
    update(&server, &token, json!({"status": core("COMPLETE")})).await;

    let events = audit_events(&server, &token, "onboarding_settings.update").await;
    assert_eq!(events.len(), 2, "{events:?}");
    let tenant = server.bootstrap.tenant_id.to_string();
    let started = json!({"status": core("IN_PROGRESS"), "mcpOnboardingGoal": "g"});
    let completed = json!({"status": core("COMPLETE"), "mcpOnboardingGoal": "g"});
    let with = |changes: &Value| {
        let mut settings = defaults();
        for (key, value) in changes.as_object().unwrap() {
            settings[key] = value.clone();
        }
        settings
    };
    for (event, before, after) in
        [(&events[0], defaults(), with(&started)), (&events[1], with(&started), with(&completed))]
    {
        assert_eq!(event["objectType"], "onboarding_settings");
        assert_eq!(event["objectId"], tenant);
        assert_eq!(event["before"], before, "{event}");
        assert_eq!(event["after"], after, "{event}");
        assert!(event["actorUserId"].is_string(), "{event}");
    }
}
both_backends!(updates_are_audited);
