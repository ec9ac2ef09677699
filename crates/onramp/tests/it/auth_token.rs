//! The token endpoint: both grant forms, and the ways a request is refused.

use crate::both_backends;
use crate::support::{Backend, TestServer, c1_client};

async fn plain_secret_grant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", server.bootstrap.client_id.as_str()),
        ("client_secret", server.bootstrap.client_secret.expose().as_str()),
    ];
    let (status, body) = server.token_request(&form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    let token = body["access_token"].as_str().unwrap();
    let (status, me) = server.get("/api/v1/auth/introspect", token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tenantId"], server.bootstrap.tenant_id.to_string());
}
both_backends!(plain_secret_grant);

async fn signed_assertion_grant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let key = c1_client::signing_key_from_secret(server.bootstrap.client_secret.expose());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let assertion = c1_client::client_assertion(
        &server.bootstrap.client_id,
        &key,
        "127.0.0.1",
        &c1_client::random_nonce(),
        now,
        120,
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", server.bootstrap.client_id.as_str()),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, body) = server.token_request(&form).await;
    assert_eq!(status, 200, "{body}");

    // The same assertion again is a replay.
    let (status, body) = server.token_request(&form).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "assertion replayed");
}
both_backends!(signed_assertion_grant);
