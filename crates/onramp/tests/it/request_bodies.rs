//! The shape and size of JSON request bodies: a body or a message field that is not a JSON object is 400
//! naming it (serde would otherwise fill a struct from an array), `null` is `{}`, a body over the limit is
//! 413 in the API's error shape, and every response says `X-Content-Type-Options: nosniff`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::directories::{assert_names_field, create_directory, directory_path, get_directory};
use crate::support::{Backend, TestServer, assert_api_error, read};

/// A body posted as is, with a JSON content type.
async fn post_text(server: &TestServer, path: &str, token: &str, body: &str) -> (u16, Value) {
    let request = server.http.post(server.url(path)).bearer_auth(token).header("content-type", "application/json");
    read(request.body(body.to_string()).send().await.expect("POST")).await
}

async fn bodies_that_are_not_objects_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let routes = [
        "/api/v1/users/introspect",
        "/api/v1/search/users",
        "/api/v1/users",
        "/api/v1/conversations/onboarding:ensure",
    ];
    for path in routes {
        for body in ["[null,null]", "[]", "42", "\"x\"", "true"] {
            let response = post_text(&server, path, &token, body).await;
            assert_names_field(&format!("POST {path} {body}"), &response, "body");
        }
    }
    let (status, settings) = server.get("/api/v1/settings/onboarding", &token).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["conversationId"], "", "no refused ensure stored a conversation: {settings}");

    // `null` is the empty message, like an empty body.
    for path in ["/api/v1/users/introspect", "/api/v1/search/users"] {
        let (status, body) = post_text(&server, path, &token, " null ").await;
        assert_eq!(status, 200, "POST {path} null: {body}");
    }
}
both_backends!(bodies_that_are_not_objects_are_refused);

async fn a_message_field_that_is_an_array_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_directory(&server, &token, "Contractors", Value::Null).await;
    let before = get_directory(&server, &token, &app).await;
    let path = directory_path(&app);
    // Read as a struct from a sequence, the second element would be the display name.
    for config in [json!([null, null]), json!([null, "Renamed"])] {
        let body = json!({ "localDirectoryConfig": config });
        let response = server.post(&path, &token, &body).await;
        assert_names_field(&format!("localDirectoryConfig {config}"), &response, "localDirectoryConfig");
    }
    // Deeper down, and in a list, the path names the element.
    let response = server.post("/api/v1/search/users", &token, &json!({"refs": [{"id": "x"}, [null]]})).await;
    assert_names_field("refs[1] an array", &response, "refs[1]");
    let response = server.post("/api/v1/search/users", &token, &json!({"expandMask": [["*"]]})).await;
    assert_names_field("expandMask an array", &response, "expandMask");
    assert_eq!(get_directory(&server, &token, &app).await, before, "nothing changed");
}
both_backends!(a_message_field_that_is_an_array_is_refused);

/// A 50 MB body: the server reads up to its limit, answers 413 in the API's error shape and closes. The
/// request goes over a raw connection, so the test sends only a little past the limit and then reads:
/// a client still writing megabytes might meet the closed connection before it reads the answer.
async fn an_oversized_body_is_413(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let declared = 50 * 1024 * 1024;
    let sent = 3 * 1024 * 1024;
    let mut stream = TcpStream::connect(server.base_url.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: onramp\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut body = vec![b' '; sent];
    body[0] = b'{';
    // The server may stop reading once it has answered; the answer is read below either way.
    let _ = stream.write_all(&body).await;
    let mut response = Vec::new();
    let read_all = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response)).await;
    assert!(read_all.is_ok(), "the server neither answered nor closed");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    let json: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or_default().trim())
        .unwrap_or_else(|_| panic!("the 413 has the JSON error body: {text}"));
    assert_eq!(json["code"], 3, "{json}");
    assert!(json["message"].as_str().unwrap().contains("body"), "{json}");
}
both_backends!(an_oversized_body_is_413);

async fn every_response_is_nosniff(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let requests = [
        ("a success", server.http.get(server.url("/api/v1/auth/introspect")).bearer_auth(&token)),
        ("an error", server.http.post(server.url("/api/v1/users")).bearer_auth(&token).body("{")),
        ("no token", server.http.get(server.url("/api/v1/auth/introspect"))),
        ("an unknown route", server.http.get(server.url("/nowhere"))),
        ("a wrong method", server.http.get(server.url("/auth/v1/token"))),
        ("a token refusal", server.http.post(server.url("/auth/v1/token")).form(&[("grant_type", "password")])),
        ("a page", server.http.get(server.url("/invite/not-a-token"))),
        ("health", server.http.get(server.url("/healthz"))),
    ];
    for (case, request) in requests {
        let response = request.send().await.unwrap();
        let nosniff = response.headers().get("x-content-type-options").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(nosniff.as_deref(), Some("nosniff"), "{case}: status {}", response.status());
    }
    let response = read(server.http.get(server.url("/nowhere")).send().await.unwrap()).await;
    assert_api_error("an unknown route", &response, 404, 5);
}
both_backends!(every_response_is_nosniff);
