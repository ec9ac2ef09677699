//! Client addresses behind proxies, and the limits on wrong client secrets and API keys (issue #11, brute
//! force items 3 and 4): `X-Forwarded-For` is believed only from `--trusted-proxies`; the token endpoint
//! limits failures per address and per client id, `/onboards` wrong API keys per address, each answering
//! 429 with Retry-After and the API's error body.

use onramp_domain::BuiltinRole;
use serde_json::json;

use crate::abuse_passwords::{Reply, send};
use crate::both_backends;
use crate::invitations::{ACCEPT, PASSWORD, random_token};
use crate::onboards::api_key;
use crate::support::{Backend, TestServer};

/// The tests connect from 127.0.0.1; trusting it as a proxy lets them speak for any client address.
fn trust_loopback(config: &mut onramp::config::Config) {
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
}

/// A wrong invitation link sent with `X-Forwarded-For: forwarded`.
async fn wrong_link(server: &TestServer, forwarded: &str) -> Reply {
    let body = json!({"token": random_token(), "displayName": "Guesser", "password": PASSWORD});
    send(server.http.post(server.url(ACCEPT)).header("x-forwarded-for", forwarded).json(&body)).await
}

/// From a peer that is not a trusted proxy, `X-Forwarded-For` changes nothing: wrong links under ever new
/// forwarded addresses are all counted against the peer. From a trusted proxy, the right-most forwarded
/// address that is not itself a trusted proxy is the client, and what the client wrote left of it is not.
async fn forwarded_for_is_believed_only_from_trusted_proxies(backend: Backend) {
    let behind_proxy = TestServer::start_with(backend, trust_loopback).await;
    for n in 0..10 {
        let reply = wrong_link(&behind_proxy, "198.51.100.7").await;
        assert_eq!(reply.status, 404, "wrong link {n}: {}", reply.text);
    }
    for (case, forwarded) in [
        ("another client", "198.51.100.8"),
        ("another client naming the limited one first", "198.51.100.7, 198.51.100.9"),
    ] {
        let reply = wrong_link(&behind_proxy, forwarded).await;
        assert_eq!(reply.status, 404, "{case}: {}", reply.text);
    }
    for (case, forwarded) in [
        ("the same client", "198.51.100.7"),
        ("the same client through two trusted proxies", "198.51.100.7, 127.0.0.5"),
        ("the same client with a spoofed address left of it", "203.0.113.66, 198.51.100.7"),
    ] {
        wrong_link(&behind_proxy, forwarded).await.assert_too_many(case, 6);
    }
    drop(behind_proxy);

    let untrusting = TestServer::start(backend).await;
    for n in 0..10 {
        let reply = wrong_link(&untrusting, &format!("198.51.100.{n}")).await;
        assert_eq!(reply.status, 404, "wrong link {n}: {}", reply.text);
    }
    wrong_link(&untrusting, "198.51.100.99").await.assert_too_many("a new forwarded address, untrusted peer", 6);
}
both_backends!(forwarded_for_is_believed_only_from_trusted_proxies);

/// A token request from `forwarded` for `client_id` with a plain secret.
async fn token_request(server: &TestServer, forwarded: &str, client_id: &str, secret: &str) -> Reply {
    let form = [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
    send(server.http.post(server.url("/auth/v1/token")).header("x-forwarded-for", forwarded).form(&form)).await
}

/// The token endpoint limits failed sign-ins per address (a flood from one address is refused before it is
/// checked, the right secret included) and wrong secrets per client id (across addresses; past the limit
/// they are answered 429, while the right secret still gets its token).
async fn the_token_endpoint_limits_failures(backend: Backend) {
    let server = TestServer::start_with(backend, trust_loopback).await;
    let (client_id, secret) = (server.bootstrap.client_id.clone(), server.bootstrap.client_secret.expose().clone());
    let (other, _) = server.credential_with_roles("other@example.com", &[BuiltinRole::BasicUser]).await;
    let wrong_secret = other.client_secret.expose().clone();

    // Per address: unknown clients from one address.
    for n in 0..20 {
        let reply = token_request(&server, "198.51.100.1", &format!("nobody-{n}@example.com/x"), &wrong_secret).await;
        assert_eq!(reply.status, 401, "failure {n}: {}", reply.text);
    }
    let limited = token_request(&server, "198.51.100.1", "nobody@example.com/x", &wrong_secret).await;
    limited.assert_too_many("past the address's limit", 3);
    let right = token_request(&server, "198.51.100.1", &client_id, &secret).await;
    right.assert_too_many("the right secret from the limited address", 3);
    assert_eq!(token_request(&server, "198.51.100.2", &client_id, &secret).await.status, 200, "another address");

    // Per client id: wrong secrets from ever new addresses.
    for n in 0..10 {
        let reply = token_request(&server, &format!("203.0.113.{n}"), &client_id, &wrong_secret).await;
        assert_eq!(reply.status, 401, "wrong secret {n}: {}", reply.text);
        assert_eq!(reply.json()["error"], "invalid_client", "{}", reply.text);
    }
    let limited = token_request(&server, "203.0.113.100", &client_id, &wrong_secret).await;
    limited.assert_too_many("past the client's limit", 6);
    assert!(limited.json()["message"].as_str().unwrap().contains("this client"), "{}", limited.text);
    let right = token_request(&server, "203.0.113.101", &client_id, &secret).await;
    assert_eq!(right.status, 200, "the right secret is never refused for its client's failures: {}", right.text);
}
both_backends!(the_token_endpoint_limits_failures);

/// `GET /onboards` with wrong API keys from one address: 401 twenty times, then 429 with Retry-After for
/// every key from that address (checked before the lookup), while the right key works from another address.
async fn wrong_api_keys_are_limited_per_address(backend: Backend) {
    let server = TestServer::start_with(backend, trust_loopback).await;
    let key = api_key(&server, "ops@example.com", &[BuiltinRole::Admin]).await;
    let onboards = |forwarded: &'static str, key: String| {
        send(server.http.get(server.url("/onboards")).header("x-forwarded-for", forwarded).basic_auth("API", Some(key)))
    };
    for n in 0..20 {
        let reply = onboards("198.51.100.1", format!("{n:064x}")).await;
        assert_eq!(reply.status, 401, "wrong key {n}: {}", reply.text);
    }
    onboards("198.51.100.1", "f".repeat(64)).await.assert_too_many("past the address's limit", 3);
    onboards("198.51.100.1", key.clone()).await.assert_too_many("the right key from the limited address", 3);
    let right = onboards("198.51.100.2", key).await;
    assert_eq!(right.status, 200, "the right key from another address: {}", right.text);
}
both_backends!(wrong_api_keys_are_limited_per_address);
