//! The token endpoint: both grant forms, and the ways a request is refused.

use onramp_domain::user::{User, UserStatus};
use onramp_domain::{BuiltinRole, Id};
use onramp_store::Actor;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::jws::{self, now_unix};
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

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form of a plain-secret grant.
fn secret_form<'a>(client_id: &'a str, secret: &'a str) -> [(&'static str, &'a str); 3] {
    [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)]
}

/// The form of an assertion grant.
fn assertion_form<'a>(client_id: &'a str, assertion: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]
}

/// Checks an OAuth2 refusal: the status, the `error` code, an `error_description` that contains `reason`
/// (so that each case is known to fail for the reason it was built to test), and no token.
#[track_caller]
fn assert_refused(case: &str, (status, body): (u16, Value), want_status: u16, want_error: &str, reason: &str) {
    assert_eq!(status, want_status, "{case}: status; body {body}");
    assert_eq!(body["error"], want_error, "{case}: error; body {body}");
    let description = body["error_description"].as_str().unwrap_or_default().to_lowercase();
    assert!(description.contains(reason), "{case}: error_description should mention {reason:?}; body {body}");
    assert!(body.get("access_token").is_none(), "{case}: a refusal must not carry a token; body {body}");
}

async fn secret_refusals(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (other, _) = server.credential_with_roles("other@example.com", &[BuiltinRole::BasicUser]).await;
    let id = server.bootstrap.client_id.as_str();
    let secret = server.bootstrap.client_secret.expose().as_str();
    // The right pair works, so each refusal below is caused by the one thing its case changes.
    server.token_for(id, secret).await;

    let unknown = secret_form("strange-hydra-68836@127.0.0.1/pcc", secret);
    assert_refused("unknown client id", server.token_request(&unknown).await, 401, "invalid_client", "unknown");
    let shapeless = secret_form("nobody", secret);
    assert_refused("shapeless client id", server.token_request(&shapeless).await, 401, "invalid_client", "unknown");
    // A secret of the right format, but another credential's.
    let wrong = secret_form(id, other.client_secret.expose());
    assert_refused("another credential's secret", server.token_request(&wrong).await, 401, "invalid_client", "");
    let truncated = &secret[..secret.len() - 5];
    let malformed = [
        "not-a-secret",
        "secret-token:conductorone.com:v1:!!!",
        "secret-token:conductorone.com:v2:e30",
        "secret-token:conductorone.com:v1:e30",
        truncated,
    ];
    for bad in malformed {
        let response = server.token_request(&secret_form(id, bad)).await;
        assert_refused(&format!("malformed secret {bad:?}"), response, 401, "invalid_client", "");
    }
}
both_backends!(secret_refusals);

async fn request_shape_refusals(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = server.bootstrap.client_id.as_str();
    let secret = server.bootstrap.client_secret.expose().as_str();
    let key = c1_client::signing_key_from_secret(secret);
    let assertion = c1_client::client_assertion(id, &key, "127.0.0.1", &c1_client::random_nonce(), now_unix(), 120);

    let no_grant = [("client_id", id), ("client_secret", secret)];
    let response = server.token_request(&no_grant).await;
    assert_refused("missing grant_type", response, 400, "invalid_request", "grant_type");
    let password = [("grant_type", "password"), ("client_id", id), ("client_secret", secret)];
    let response = server.token_request(&password).await;
    assert_refused("grant_type=password", response, 400, "unsupported_grant_type", "");
    let no_client = [("grant_type", "client_credentials"), ("client_secret", secret)];
    let response = server.token_request(&no_client).await;
    assert_refused("missing client_id", response, 400, "invalid_request", "client_id");
    let both = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    assert_refused("secret and assertion", server.token_request(&both).await, 400, "invalid_request", "");
    let neither = [("grant_type", "client_credentials"), ("client_id", id)];
    assert_refused("neither secret nor assertion", server.token_request(&neither).await, 400, "invalid_request", "");
    // The assertion refused above with the secret beside it was never used, so alone it is accepted.
    let (status, body) = server.token_request(&assertion_form(id, &assertion)).await;
    assert_eq!(status, 200, "the assertion on its own: {body}");
}
both_backends!(request_shape_refusals);

async fn revoked_credential_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Getting a token here shows the credential worked before it was revoked.
    let (issued, _) = server.credential_with_roles("ops@example.com", &[BuiltinRole::Admin]).await;
    let actor = Actor::system(server.bootstrap.tenant_id);
    server.store.revoke_credential(&actor, &issued.credential_id).await.expect("revoke");

    let secret = issued.client_secret.expose().as_str();
    let form = secret_form(&issued.client_id, secret);
    assert_refused("revoked, plain secret", server.token_request(&form).await, 401, "invalid_client", "revoked");
    let key = c1_client::signing_key_from_secret(secret);
    let jws =
        c1_client::client_assertion(&issued.client_id, &key, "127.0.0.1", &c1_client::random_nonce(), now_unix(), 120);
    let form = assertion_form(&issued.client_id, &jws);
    assert_refused("revoked, assertion", server.token_request(&form).await, 401, "invalid_client", "revoked");
    // The other credentials of the tenant are not affected.
    server.admin_token().await;
}
both_backends!(revoked_credential_is_refused);

async fn disabled_or_deleted_user_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let actor = Actor::system(server.bootstrap.tenant_id);
    let (ops, token) = server.credential_with_roles("ops@example.com", &[BuiltinRole::Admin]).await;
    let (_, me) = server.get("/api/v1/auth/introspect", &token).await;
    let ops_user: Id = me["userId"].as_str().expect("userId").parse().expect("an id");
    let before = server.store.get_user(&server.bootstrap.tenant_id, &ops_user).await.expect("the user");
    let after = User { status: UserStatus::Disabled, ..before.clone() };
    let disabled = server.store.update_user(&actor, &before, &after).await.expect("disable the user");

    let secret = ops.client_secret.expose().as_str();
    let form = secret_form(&ops.client_id, secret);
    assert_refused(
        "disabled user, plain secret",
        server.token_request(&form).await,
        401,
        "invalid_client",
        "not enabled",
    );
    let key = c1_client::signing_key_from_secret(secret);
    let jws =
        c1_client::client_assertion(&ops.client_id, &key, "127.0.0.1", &c1_client::random_nonce(), now_unix(), 120);
    let response = server.token_request(&assertion_form(&ops.client_id, &jws)).await;
    assert_refused("disabled user, assertion", response, 401, "invalid_client", "not enabled");

    // Enabled again, the same credential works: the refusals were about the user's status.
    let enabled = User { status: UserStatus::Enabled, ..disabled.clone() };
    server.store.update_user(&actor, &disabled, &enabled).await.expect("enable the user");
    server.token_for(&ops.client_id, secret).await;

    let (gone, _) = server.credential_with_roles("gone@example.com", &[BuiltinRole::BasicUser]).await;
    let gone_user = server.store.find_user_by_email(&server.bootstrap.tenant_id, "gone@example.com").await.unwrap();
    server.store.delete_user(&actor, &gone_user).await.expect("delete the user");
    let secret = gone.client_secret.expose().as_str();
    let form = secret_form(&gone.client_id, secret);
    assert_refused("deleted user", server.token_request(&form).await, 401, "invalid_client", "not enabled");
}
both_backends!(disabled_or_deleted_user_is_refused);

/// The claims the Go SDK puts in an assertion, with the times given.
fn assertion_claims(client_id: &str, audience: &str, iat: i64, nbf: i64, exp: i64) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": [audience], "iat": iat, "nbf": nbf, "exp": exp})
}

/// Sends an assertion grant for `client_id`.
async fn send_assertion(server: &TestServer, client_id: &str, jws: String) -> (u16, Value) {
    server.token_request(&assertion_form(client_id, &jws)).await
}

/// Signs assertion claims under the SDK's header with a fresh nonce.
fn sign_assertion(claims: &Value, key: &ed25519_dalek::SigningKey) -> String {
    jws::sign(&json!({"alg": "EdDSA", "nonce": c1_client::random_nonce()}), claims, key)
}

async fn assertion_time_refusals(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = server.bootstrap.client_id.as_str();
    let key = c1_client::signing_key_from_secret(server.bootstrap.client_secret.expose());
    let now = now_unix();
    let send = |claims: Value| send_assertion(&server, id, sign_assertion(&claims, &key));
    // Built the same way with the SDK's times, the assertion is accepted.
    let (status, body) = send(assertion_claims(id, "127.0.0.1", now, now - 120, now + 120)).await;
    assert_eq!(status, 200, "the well-timed control assertion: {body}");

    let expired = send(assertion_claims(id, "127.0.0.1", now - 3600, now - 3720, now - 3480)).await;
    assert_refused("expired", expired, 401, "invalid_client", "expired");
    let early = send(assertion_claims(id, "127.0.0.1", now + 3600, now + 3600, now + 3720)).await;
    assert_refused("not yet valid", early, 401, "invalid_client", "not yet valid");
    let long = send(assertion_claims(id, "127.0.0.1", now, now - 120, now + 3600)).await;
    assert_refused("lifetime of an hour", long, 401, "invalid_client", "lifetime");
}
both_backends!(assertion_time_refusals);

async fn assertion_identity_refusals(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (other, _) = server.credential_with_roles("other@example.com", &[BuiltinRole::BasicUser]).await;
    let id = server.bootstrap.client_id.as_str();
    let key = c1_client::signing_key_from_secret(server.bootstrap.client_secret.expose());
    let other_key = c1_client::signing_key_from_secret(other.client_secret.expose());
    let now = now_unix();
    let good = |client_id: &str| assertion_claims(client_id, "127.0.0.1", now, now - 120, now + 120);

    let evil = assertion_claims(id, "evil.example", now, now - 120, now + 120);
    let response = send_assertion(&server, id, sign_assertion(&evil, &key)).await;
    assert_refused("audience evil.example", response, 401, "invalid_client", "audience");
    // Claims naming another credential, signed with this one's key, sent as this one and as the other.
    let response = send_assertion(&server, id, sign_assertion(&good(&other.client_id), &key)).await;
    assert_refused("iss/sub of another client", response, 401, "invalid_client", "issuer");
    let response = send_assertion(&server, &other.client_id, sign_assertion(&good(&other.client_id), &key)).await;
    assert_refused("another client signed with this key", response, 401, "invalid_client", "signature");
    let response = send_assertion(&server, id, sign_assertion(&good(id), &other_key)).await;
    assert_refused("signed by the wrong key", response, 401, "invalid_client", "signature");
    let signed = sign_assertion(&good(id), &key);
    let payload = signed.split('.').nth(1).unwrap();
    let unsigned = format!("{}.{payload}.", jws::encode(&json!({"alg": "none", "nonce": c1_client::random_nonce()})));
    assert_refused(
        "alg none, unsigned",
        send_assertion(&server, id, unsigned).await,
        401,
        "invalid_client",
        "algorithm",
    );

    let saml = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        ("client_assertion", signed.as_str()),
    ];
    let response = server.token_request(&saml).await;
    assert_refused("wrong client_assertion_type", response, 400, "invalid_request", "client_assertion_type");
    let untyped = [("grant_type", "client_credentials"), ("client_id", id), ("client_assertion", signed.as_str())];
    let response = server.token_request(&untyped).await;
    assert_refused("no client_assertion_type", response, 400, "invalid_request", "client_assertion_type");
    // None of the refusals used up the assertion's nonce, and it is otherwise well-formed.
    let (status, body) = send_assertion(&server, id, signed).await;
    assert_eq!(status, 200, "the control assertion: {body}");
}
both_backends!(assertion_identity_refusals);

/// The audiences an assertion may name come from configuration, never from the request: an assertion made
/// for another service (`aud: evil.example`) is refused even when sent with `Host: evil.example`, while the
/// SDK's assertion for the public URL's host works whatever Host header comes with it.
async fn assertion_audience_comes_from_configuration(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.public_url = Some("https://onramp.acme.example".into());
    })
    .await;
    let id = server.bootstrap.client_id.as_str();
    let key = c1_client::signing_key_from_secret(server.bootstrap.client_secret.expose());
    let now = now_unix();
    let send_with_host = |audience: &str, host: &str| {
        let jws = sign_assertion(&assertion_claims(id, audience, now, now - 120, now + 120), &key);
        let request = server.http.post(server.url("/auth/v1/token")).header("host", host);
        async move {
            let response = request.form(&assertion_form(id, &jws)).send().await.expect("token request");
            (response.status().as_u16(), response.json::<Value>().await.expect("a JSON answer"))
        }
    };
    for (audience, host) in
        [("evil.example", "evil.example"), ("evil.example", "evil.example:443"), ("127.0.0.1", "127.0.0.1")]
    {
        let case = format!("aud {audience} with Host {host}");
        assert_refused(&case, send_with_host(audience, host).await, 401, "invalid_client", "audience");
    }
    for host in ["onramp.acme.example", "127.0.0.1", "evil.example"] {
        let (status, body) = send_with_host("onramp.acme.example", host).await;
        assert_eq!(status, 200, "the SDK's assertion for the public host, with Host {host}: {body}");
    }
}
both_backends!(assertion_audience_comes_from_configuration);
