//! Access tokens on the API: what a valid one shows through introspection, every way a request without a
//! valid one is refused, and signing keys shared by the nodes of one database.
//!
//! Forged tokens are signed with the server's own key, read from its database, so that a refusal proves the
//! server checked the claim at fault rather than failing to verify a foreign signature.

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::jws::{self, AccessClaims, now_unix};
use crate::support::{Backend, Node, TestServer, assert_api_error, read};

const SUPER_ADMIN_ROLE_ID: &str = "000000000000000000000001";

/// GET /api/v1/auth/introspect with a raw `Authorization` header, or none.
async fn introspect_with(server: &TestServer, authorization: Option<&str>) -> (u16, Value) {
    let mut request = server.http.get(server.url("/api/v1/auth/introspect"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    read(request.send().await.expect("GET")).await
}

/// The bootstrap admin's user id, from introspection with a token the server issued.
async fn admin_user_id(server: &TestServer) -> String {
    let (status, me) = server.get("/api/v1/auth/introspect", &server.admin_token().await).await;
    assert_eq!(status, 200, "{me}");
    me["userId"].as_str().expect("userId").to_string()
}

async fn valid_token_introspects(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;

    let (status, me) = server.get("/api/v1/auth/introspect", &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["principleId"], server.bootstrap.credential_id.to_string(), "{me}");
    assert_eq!(me["tenantId"], server.bootstrap.tenant_id.to_string(), "{me}");
    let user_id = me["userId"].as_str().expect("userId is a string");
    assert_eq!(user_id.len(), 24, "{me}");
    let roles = me["roles"].as_array().expect("roles is a list");
    assert!(roles.contains(&json!(SUPER_ADMIN_ROLE_ID)), "{me}");
    let permissions = me["permissions"].as_array().expect("permissions is a list");
    assert!(permissions.contains(&json!("credential:manage")), "{me}");

    let (status, view) = server.post("/api/v1/users/introspect", &token, &json!({})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["userView"]["userId"], user_id, "{view}");
    let user = &view["userView"]["user"];
    assert_eq!(user["id"], user_id, "{view}");
    assert_eq!(user["email"], "admin@example.com", "{view}");
    assert_eq!(user["status"], "ENABLED", "{view}");
}
both_backends!(valid_token_introspects);

async fn requests_without_a_valid_token_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let refused = |case: &str, response: &(u16, Value)| assert_api_error(case, response, 401, 16);

    refused("no Authorization header", &introspect_with(&server, None).await);
    let basic = format!("Basic {}", "QVBJOnNlY3JldA==");
    refused("Basic scheme", &introspect_with(&server, Some(&basic)).await);
    refused("Bearer and nothing else", &introspect_with(&server, Some("Bearer")).await);
    refused("garbage token", &introspect_with(&server, Some("Bearer not.a.token")).await);
    refused(
        "signature changed",
        &server.get("/api/v1/auth/introspect", &jws::with_signature_character_changed(&token)).await,
    );

    // The payload of a real token with another tenant in it, under the original signature.
    let mut claims = jws::decode_part(&token, 1);
    assert_eq!(claims["tid"], server.bootstrap.tenant_id.to_string(), "the token's tenant claim: {claims}");
    claims["tid"] = json!("0123456789abcdef01234567");
    refused("payload edited", &server.get("/api/v1/auth/introspect", &jws::with_claims(&token, &claims)).await);
    refused(
        "payload edited, users/introspect",
        &server.post("/api/v1/users/introspect", &jws::with_claims(&token, &claims), &json!({})).await,
    );

    // An unsigned token under the server's kid.
    let (kid, _, _) = jws::server_signing_key(server.store.as_ref()).await;
    let header = jws::encode(&json!({"alg": "none", "typ": "at+jwt", "kid": kid}));
    let unsigned = format!("{header}.{}.", token.split('.').nth(1).unwrap());
    refused("alg none", &server.get("/api/v1/auth/introspect", &unsigned).await);

    // The real token still works: nothing above was refused for a reason outside its case.
    let (status, body) = server.get("/api/v1/auth/introspect", &token).await;
    assert_eq!(status, 200, "{body}");
}
both_backends!(requests_without_a_valid_token_are_refused);

async fn forged_tokens_are_checked_for_expiry_and_issuer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = admin_user_id(&server).await;
    let (kid, key, _) = jws::server_signing_key(server.store.as_ref()).await;
    let (tenant_id, credential_id) =
        (server.bootstrap.tenant_id.to_string(), server.bootstrap.credential_id.to_string());
    let now = now_unix();
    let claims = AccessClaims {
        issuer: &server.base_url,
        user_id: &user_id,
        tenant_id: &tenant_id,
        credential_id: &credential_id,
        roles: &["super-admin"],
        issued_at: now,
        expires_at: now + 600,
    };

    // Signed with the server's key and fresh, a token made here works: the forging is right.
    let fresh = jws::access_token(&kid, &key, &claims);
    let (status, me) = server.get("/api/v1/auth/introspect", &fresh).await;
    assert_eq!(status, 200, "a correctly forged token: {me}");
    assert_eq!(me["userId"], user_id, "{me}");

    let expired =
        jws::access_token(&kid, &key, &AccessClaims { issued_at: now - 4200, expires_at: now - 3600, ..claims });
    let response = server.get("/api/v1/auth/introspect", &expired).await;
    assert_api_error("expired", &response, 401, 16);
    assert!(response.1["message"].as_str().unwrap().contains("expired"), "{}", response.1);

    let foreign = jws::access_token(&kid, &key, &AccessClaims { issuer: "https://evil.example", ..claims });
    assert_api_error("another issuer", &server.get("/api/v1/auth/introspect", &foreign).await, 401, 16);
}
both_backends!(forged_tokens_are_checked_for_expiry_and_issuer);

async fn nodes_on_one_database_verify_each_others_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Behind a load balancer every node is configured with the same public URL, which is the tokens' issuer.
    let node = Node::start(&server.database, Some(server.base_url.clone())).await;
    assert!(node.bootstrap.is_none(), "the second node must find the database bootstrapped");

    let from_a = server.admin_token().await;
    let (status, me) = node.get("/api/v1/auth/introspect", &from_a).await;
    assert_eq!(status, 200, "node A's token on node B: {me}");
    assert_eq!(me["principleId"], server.bootstrap.credential_id.to_string(), "{me}");

    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", server.bootstrap.client_id.as_str()),
        ("client_secret", server.bootstrap.client_secret.expose().as_str()),
    ];
    let response = node.http.post(format!("{}/auth/v1/token", node.base_url)).form(&form).send().await.unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "token from node B: {body}");
    let from_b = body["access_token"].as_str().expect("access_token");
    let (status, me) = server.get("/api/v1/auth/introspect", from_b).await;
    assert_eq!(status, 200, "node B's token on node A: {me}");
}
both_backends!(nodes_on_one_database_verify_each_others_tokens);

/// Inserts the next generation of signing key into the database behind the server's back, as another node
/// rotating would, and returns a token for the bootstrap admin signed with it.
async fn token_under_a_new_key(server: &TestServer, user_id: &str) -> String {
    let (_, _, generation) = jws::server_signing_key(server.store.as_ref()).await;
    let key = jws::random_key();
    let now = onramp_domain::Timestamp::now();
    let stored = onramp_store::SigningKey {
        id: onramp_domain::Id::new().to_string(),
        generation: generation + 1,
        private_key: base64_url(key.as_bytes()),
        public_key: base64_url(key.verifying_key().as_bytes()),
        created_at: now,
        rotate_at: now.plus_seconds(86_400),
        retire_at: now.plus_seconds(86_400 + 900),
    };
    server.store.insert_signing_key(&stored).await.expect("insert the next signing key");
    let (tenant_id, credential_id) =
        (server.bootstrap.tenant_id.to_string(), server.bootstrap.credential_id.to_string());
    let now = now_unix();
    let claims = AccessClaims {
        issuer: &server.base_url,
        user_id,
        tenant_id: &tenant_id,
        credential_id: &credential_id,
        roles: &["super-admin"],
        issued_at: now,
        expires_at: now + 600,
    };
    jws::access_token(&stored.id, &key, &claims)
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn a_key_added_after_start_is_loaded_on_first_use(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = admin_user_id(&server).await;
    let token = token_under_a_new_key(&server, &user_id).await;
    // A node started after the insert loads the new key at start-up and accepts the token, which shows the
    // token is good and the key well-formed; the first server must now get there by reloading.
    let fresh_node = Node::start(&server.database, Some(server.base_url.clone())).await;
    let (status, me) = fresh_node.get("/api/v1/auth/introspect", &token).await;
    assert_eq!(status, 200, "a node that loaded the new key at start-up: {me}");
    let (status, me) = server.get("/api/v1/auth/introspect", &token).await;
    assert_eq!(status, 200, "a token signed by a key the server has not loaded yet: {me}");
    assert_eq!(me["userId"], user_id, "{me}");
}
both_backends!(a_key_added_after_start_is_loaded_on_first_use);

async fn an_unknown_kid_does_not_block_the_next_rotation(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = admin_user_id(&server).await;
    // A token under a kid that no node ever made: anyone can send one, and it makes the server reload.
    let stranger = jws::access_token(
        "ffffffffffffffffffffffff",
        &jws::random_key(),
        &AccessClaims {
            issuer: &server.base_url,
            user_id: &user_id,
            tenant_id: &server.bootstrap.tenant_id.to_string(),
            credential_id: &server.bootstrap.credential_id.to_string(),
            roles: &["super-admin"],
            issued_at: now_unix(),
            expires_at: now_unix() + 600,
        },
    );
    assert_api_error("unknown kid", &server.get("/api/v1/auth/introspect", &stranger).await, 401, 16);
    // Right after it, another node rotates and a client presents a token under the new key.
    let token = token_under_a_new_key(&server, &user_id).await;
    let fresh_node = Node::start(&server.database, Some(server.base_url.clone())).await;
    let (status, me) = fresh_node.get("/api/v1/auth/introspect", &token).await;
    assert_eq!(status, 200, "a node that loaded the new key at start-up: {me}");
    let (status, me) = server.get("/api/v1/auth/introspect", &token).await;
    assert_eq!(status, 200, "a token under the newly rotated key, just after a stranger's: {me}");
}
both_backends!(an_unknown_kid_does_not_block_the_next_rotation);
