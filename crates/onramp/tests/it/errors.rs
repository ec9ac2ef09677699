//! The API's error shape on routing and input mistakes, and the `x-request-id` every response carries.

use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error, read};

async fn unknown_route_is_not_found(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let response = server.get("/api/v1/no-such-thing", &token).await;
    assert_api_error("unknown route with a token", &response, 404, 5);
    let response = read(server.http.get(server.url("/nowhere")).send().await.unwrap()).await;
    assert_api_error("unknown route without a token", &response, 404, 5);
}
both_backends!(unknown_route_is_not_found);

async fn wrong_method_is_refused_as_json(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server.http.get(server.url("/auth/v1/token")).send().await.unwrap();
    let allow = response.headers().get("allow").map(|value| value.to_str().unwrap().to_string());
    let response = read(response).await;
    // gRPC gateways answer a wrong method with Unimplemented (12) and HTTP 405.
    assert_api_error("GET /auth/v1/token", &response, 405, 12);
    // RFC 9110 section 15.5.6: a 405 response must list the methods the resource supports.
    assert_eq!(allow.as_deref(), Some("POST"), "the Allow header of a 405");
}
both_backends!(wrong_method_is_refused_as_json);

async fn malformed_json_names_the_body(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let response = server.post_raw("/api/v1/users/introspect", &token, "{not json").await;
    assert_api_error("malformed JSON", &response, 400, 3);
    assert!(response.1["message"].as_str().unwrap().contains("body"), "the message names the body: {}", response.1);

    // The Python SDK sends `"expandMask": null`; protojson accepts null for any message field.
    let (status, body) = server.post("/api/v1/users/introspect", &token, &json!({"expandMask": null})).await;
    assert_eq!(status, 200, "expandMask null: {body}");
    assert_eq!(body["userView"]["user"]["email"], "admin@example.com", "{body}");
    let mask = json!({"expandMask": {"paths": ["*"]}});
    let (status, body) = server.post("/api/v1/users/introspect", &token, &mask).await;
    assert_eq!(status, 200, "expandMask with paths: {body}");
}
both_backends!(malformed_json_names_the_body);

async fn an_expand_mask_of_the_wrong_type_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for wrong in [json!(5), json!("role_ids"), json!(["*"]), json!({"paths": "*"})] {
        let body = json!({ "expandMask": wrong });
        let response = server.post("/api/v1/users/introspect", &token, &body).await;
        assert_api_error(&format!("expandMask {wrong}"), &response, 400, 3);
        let message = response.1["message"].as_str().unwrap();
        assert!(message.contains("expandMask"), "the message names expandMask: {}", response.1);
    }
}
both_backends!(an_expand_mask_of_the_wrong_type_is_refused);

async fn every_response_has_a_request_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let requests = [
        ("introspect", server.http.get(server.url("/api/v1/auth/introspect")).bearer_auth(&token)),
        ("no token", server.http.get(server.url("/api/v1/auth/introspect"))),
        ("unknown route", server.http.get(server.url("/nowhere"))),
        ("wrong method", server.http.get(server.url("/auth/v1/token"))),
        ("token refusal", server.http.post(server.url("/auth/v1/token")).form(&[("grant_type", "password")])),
        ("malformed body", server.http.post(server.url("/api/v1/users/introspect")).bearer_auth(&token).body("{")),
        ("health", server.http.get(server.url("/healthz"))),
    ];
    let mut seen = Vec::new();
    for (case, request) in requests {
        let response = request.send().await.unwrap();
        let id = response.headers().get("x-request-id").map(|value| value.to_str().unwrap().to_string());
        let id = id.unwrap_or_else(|| panic!("{case}: no x-request-id header (status {})", response.status()));
        assert!(!id.is_empty(), "{case}: an empty x-request-id");
        assert!(!seen.contains(&id), "{case}: x-request-id {id} was already given to another request");
        seen.push(id);
    }
}
both_backends!(every_response_has_a_request_id);

async fn a_well_formed_request_id_is_echoed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let incoming = "lb-7f3a.2024:req_0001";
    let send = |id: &str| {
        server.http.get(server.url("/api/v1/auth/introspect")).bearer_auth(&token).header("x-request-id", id).send()
    };
    let response = send(incoming).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], incoming, "a well-formed incoming id is kept");

    // An id that could corrupt a log line is replaced by one of the server's own, not echoed.
    for unsafe_id in ["has space", "quote\"d", &"x".repeat(65)] {
        let response = send(unsafe_id).await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(!id.is_empty() && id != unsafe_id, "{unsafe_id:?} came back as {id:?}");
    }
}
both_backends!(a_well_formed_request_id_is_echoed);
