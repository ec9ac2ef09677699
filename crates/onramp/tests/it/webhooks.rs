//! Webhooks (issue #16) against a real receiver (`support::webhook_receiver`, which verifies every
//! signature with the `standardwebhooks` library): every event type arrives, signed, in the order of the
//! subscription's deliveries; a wrong secret is refused by the receiver and retried until the right one
//! verifies; a receiver down for a minute gets everything once it is back; one that always fails has the
//! delivery dead-lettered after the bound, then redelivered by hand; a `kill -9` of onramp in the
//! middle of a delivery loses no event; loopback and private URLs are refused at subscribe time and at
//! delivery unless the operator allows them; the API's refusals name the field and change nothing.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use onramp_domain::webhook::RetryPolicy;
use onramp_domain::{BuiltinRole, Timestamp};
use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::{expire_now, invitation_path, invite};
use crate::onboards::{Auth, accept_mailed, complete, create_onboard, id_of, onboard_id_of};
use crate::support::process::{Serve, database_args};
use crate::support::webhook_receiver::{Inbox, Receiver};
use crate::support::{Backend, TestDatabase, TestServer, assert_api_error};

const WEBHOOKS: &str = "/api/v1/onramp/webhooks";

const ALL_TYPES: [&str; 14] = [
    "user.created",
    "user.updated",
    "user.disabled",
    "user.deleted",
    "invitation.created",
    "invitation.accepted",
    "invitation.revoked",
    "invitation.expired",
    "onboard.started",
    "onboard.step_completed",
    "onboard.completed",
    "onboard.failed",
    "app_owner.added",
    "app_owner.removed",
];

async fn allowing_private(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| config.webhooks.allow_private_addresses = true).await
}

/// Subscribes `url` to `types`; returns (webhook, secret).
async fn subscribe(server: &TestServer, token: &str, url: &str, types: &[&str]) -> (Value, String) {
    let body = json!({"url": url, "eventTypes": types, "description": "the test's receiver"});
    let (status, created) = server.post(WEBHOOKS, token, &body).await;
    assert_eq!(status, 200, "create webhook: {created}");
    let secret = created["secret"].as_str().expect("the secret, shown at create").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (created["webhook"].clone(), secret)
}

/// Every delivery of a subscription, oldest first.
async fn deliveries(server: &TestServer, token: &str, webhook: &str) -> Vec<Value> {
    let mut all: Vec<Value> =
        server.all_pages(&format!("{WEBHOOKS}/{webhook}/deliveries"), token, 10).await.into_iter().flatten().collect();
    all.reverse();
    all
}

/// Waits until every delivery of the subscription is delivered; returns them oldest first.
async fn all_delivered(server: &TestServer, token: &str, webhook: &str, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let list = deliveries(server, token, webhook).await;
        if list.iter().all(|d| d["state"] == "delivered") {
            return list;
        }
        assert!(Instant::now() < deadline, "not all delivered within {within:?}: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `webhook-id` a delivery goes out with.
fn message_id(delivery: &Value) -> String {
    format!("msg_{}", delivery["eventId"].as_str().unwrap())
}

async fn every_event_arrives_signed_in_order(backend: Backend) {
    let server = allowing_private(backend).await;
    let token = server.admin_token().await;
    let inbox = Inbox::new();
    let receiver = Receiver::start(0, inbox.path()).await;
    let (webhook, secret) = subscribe(&server, &token, &receiver.url(), &ALL_TYPES).await;
    inbox.set_secret(&secret);
    let webhook_id = id_of(&webhook);
    assert_eq!(webhook["eventTypes"], json!(ALL_TYPES), "{webhook}");
    let (status, read) = server.get(&format!("{WEBHOOKS}/{webhook_id}"), &token).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["webhook"], webhook);
    assert!(read.get("secret").is_none() && !read.to_string().contains(&secret), "the secret is shown once");
    let stored = server.database.query_text("SELECT url || event_types FROM webhook_subscriptions").await.unwrap();
    assert!(!stored.contains("whsec_"), "nothing that signs is stored: {stored}");

    // Users: created, updated and disabled, deleted.
    let user = server.create_user(&token, &json!({"email": "ada@example.com", "displayName": "Ada"})).await;
    let update = json!({"user": {"status": "DISABLED"}, "updateMask": "status"});
    let (status, body) = server.post(&format!("/api/v1/users/{user}"), &token, &update).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.delete(&format!("/api/v1/users/{user}"), &token).await;
    assert_eq!(status, 200, "{body}");
    // An invitation accepted into an onboard that completes.
    let directory = create_directory(&server, &token, "Staff", Value::Null).await;
    let auth = Auth::Bearer(token.clone());
    let early = invite(&server, &token, &directory, "early@example.com", Value::Null).await;
    let onboard = create_onboard(&server, &auth, json!({"invitation_id": early["id"]})).await;
    let accepted = accept_mailed(&server, "early@example.com", "Eddie Early").await;
    assert_eq!(onboard_id_of(&accepted), id_of(&onboard));
    let done = complete(&server, &Auth::invitee("early@example.com"), &id_of(&onboard), "profile", json!({})).await;
    assert_eq!(done["status"], "completed", "{done}");
    // An invitation revoked, failing its onboard; one expired.
    let revoked = invite(&server, &token, &directory, "revoked@example.com", Value::Null).await;
    create_onboard(&server, &auth, json!({"invitation_id": revoked["id"]})).await;
    let (status, body) =
        server.post(&format!("{}/revoke", invitation_path(&directory, &id_of(&revoked))), &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let expiring = invite(&server, &token, &directory, "expiring@example.com", Value::Null).await;
    expire_now(&server, &id_of(&expiring)).await;
    // App owners added and removed.
    let owner = server.create_user(&token, &json!({"email": "owner@example.com", "displayName": "Owner"})).await;
    let (status, body) = server.post(&format!("/api/v1/apps/{directory}/owners/{owner}"), &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.delete(&format!("/api/v1/apps/{directory}/owners/{owner}"), &token).await;
    assert_eq!(status, 200, "{body}");

    // Every type arrives, verified; the receiver got exactly the subscription's deliveries, in their order.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let received = inbox.received();
        let types: HashSet<&str> = received.iter().map(|r| r.event_type()).collect();
        if ALL_TYPES.iter().all(|t| types.contains(t)) {
            break;
        }
        assert!(Instant::now() < deadline, "not every type arrived: {types:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = all_delivered(&server, &token, &webhook_id, Duration::from_secs(30)).await;
    let received = inbox.wait_for(list.len(), Duration::from_secs(10)).await;
    assert_eq!(inbox.rejected(), 0, "every signature verified");
    let sent: Vec<String> = list.iter().map(message_id).collect();
    let got: Vec<String> = received.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, sent, "each delivery once, in the subscription's order");
    for (delivery, arrived) in list.iter().zip(&received) {
        assert_eq!(delivery["payload"], arrived.payload, "the body sent is the body verified");
        assert_eq!(delivery["attempts"], 1, "{delivery}");
        assert_eq!(delivery["lastStatus"], 204, "{delivery}");
    }
    let position = |event_type: &str, id: &str| {
        received
            .iter()
            .position(|r| r.event_type() == event_type && r.payload["data"]["id"] == id)
            .unwrap_or_else(|| panic!("no {event_type} of {id}"))
    };
    assert!(position("user.created", &user) < position("user.updated", &user));
    assert!(position("user.updated", &user) < position("user.disabled", &user));
    assert!(position("user.disabled", &user) < position("user.deleted", &user));
    let onboard_id = id_of(&onboard);
    assert!(position("onboard.started", &onboard_id) < position("onboard.step_completed", &onboard_id));
    assert!(position("onboard.step_completed", &onboard_id) < position("onboard.completed", &onboard_id));
    assert!(position("invitation.created", &id_of(&early)) < position("invitation.accepted", &id_of(&early)));
    assert!(position("invitation.created", &id_of(&revoked)) < position("invitation.revoked", &id_of(&revoked)));
    position("invitation.expired", &id_of(&expiring));
    let first = &received[0].payload;
    assert_eq!(first["type"], "user.created");
    assert_eq!(first["data"]["email"], "ada@example.com", "the data is the object: {first}");
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'), "{first}");

    // Rotation: the old secret verifies nothing more. The receiver refuses the next event until it has the
    // new secret, and onramp retries until it verifies.
    let (status, rotated) = server.post(&format!("{WEBHOOKS}/{webhook_id}/rotate-secret"), &token, &json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret, "{rotated}");
    let before = inbox.received().len();
    server.create_user(&token, &json!({"email": "bob@example.com", "displayName": "Bob"})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while inbox.rejected() < 2 {
        assert!(Instant::now() < deadline, "the receiver never refused the old secret's signature");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retrying = deliveries(&server, &token, &webhook_id).await.pop().unwrap();
    assert_eq!(retrying["state"], "retrying", "{retrying}");
    assert_eq!(retrying["lastStatus"], 400, "{retrying}");
    assert!(retrying["lastError"].as_str().unwrap().starts_with("HTTP 400: not verified"), "{retrying}");
    assert_eq!(inbox.received().len(), before, "nothing unverified is kept");
    inbox.set_secret(&new_secret);
    let received = inbox.wait_for(before + 1, Duration::from_secs(20)).await;
    assert_eq!(received.last().unwrap().payload["data"]["email"], "bob@example.com");

    // Redelivery: the same event again, with the same webhook-id, after everything before it.
    let list = all_delivered(&server, &token, &webhook_id, Duration::from_secs(20)).await;
    let again = &list[0];
    let path = format!("{WEBHOOKS}/{webhook_id}/deliveries/{}/redeliver", id_of(again));
    let (status, body) = server.post(&path, &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let received = inbox.wait_for(before + 2, Duration::from_secs(20)).await;
    assert_eq!(received.last().unwrap().id, message_id(again), "a redelivery keeps the webhook-id");
    let unknown = format!("{WEBHOOKS}/{webhook_id}/deliveries/{}/redeliver", "0".repeat(24));
    assert_api_error("unknown delivery", &server.post(&unknown, &token, &json!({})).await, 404, 5);
    drop(receiver);
}
both_backends!(every_event_arrives_signed_in_order, needs webhooks);

async fn a_receiver_down_for_a_minute_gets_everything_after(backend: Backend) {
    let server = allowing_private(backend).await;
    let token = server.admin_token().await;
    let inbox = Inbox::new();
    let receiver = Receiver::start(0, inbox.path()).await;
    let port = receiver.port;
    let (webhook, secret) = subscribe(&server, &token, &receiver.url(), &["user.created", "user.updated"]).await;
    inbox.set_secret(&secret);
    server.create_user(&token, &json!({"email": "first@example.com", "displayName": "First"})).await;
    inbox.wait_for(1, Duration::from_secs(20)).await;

    receiver.stop().await;
    let mut emails = Vec::new();
    for n in 0..6 {
        let email = format!("while-down-{n}@example.com");
        server.create_user(&token, &json!({"email": email, "displayName": format!("Down {n}")})).await;
        emails.push(email);
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    let list = deliveries(&server, &token, &id_of(&webhook)).await;
    let head = &list[1];
    assert_eq!(head["state"], "retrying", "{head}");
    assert!(head["attempts"].as_i64().unwrap() >= 3, "retried while down: {head}");
    assert!(head["lastError"].as_str().unwrap().contains("cannot connect"), "{head}");
    assert!(head.get("lastStatus").is_none(), "no answer, no status: {head}");
    assert!(list[2..].iter().all(|d| d["attempts"] == 0), "the later ones wait behind it: {list:#?}");
    assert_eq!(inbox.received().len(), 1);

    let _back = Receiver::start(port, inbox.path()).await;
    let received = inbox.wait_for(7, Duration::from_secs(30)).await;
    let arrived: Vec<&str> = received[1..].iter().map(|r| r.payload["data"]["email"].as_str().unwrap()).collect();
    assert_eq!(arrived, emails, "everything, in order, once");
    all_delivered(&server, &token, &id_of(&webhook), Duration::from_secs(10)).await;
}
both_backends!(a_receiver_down_for_a_minute_gets_everything_after, needs webhooks);

/// A receiver that answers every request 500: the head delivery is retried, each wait longer than the one
/// before, until it is `dead_after` old (shortened by the setting, as tests shorten the other timings), then
/// dead-lettered, and the subscription's next delivery goes ahead. The API and the console show it failed with
/// its attempts, last status and last error; once the receiver works again, a redelivery through the API
/// arrives, once, with the event's `webhook-id`.
async fn a_failing_delivery_is_dead_lettered_then_redelivered(backend: Backend) {
    let (first_wait, longest_wait, dead_after) =
        (Duration::from_millis(200), Duration::from_millis(1600), Duration::from_secs(5));
    let server = TestServer::start_with(backend, |config| {
        config.webhooks.allow_private_addresses = true;
        config.webhooks.retry = RetryPolicy { base: first_wait, max_delay: longest_wait, dead_after };
    })
    .await;
    let token = server.admin_token().await;
    let inbox = Inbox::new();
    inbox.set_failing(Some(500));
    let receiver = Receiver::start(0, inbox.path()).await;
    let (webhook, secret) = subscribe(&server, &token, &receiver.url(), &["user.created"]).await;
    inbox.set_secret(&secret);
    let webhook_id = id_of(&webhook);
    server.create_user(&token, &json!({"email": "first@example.com", "displayName": "First"})).await;
    server.create_user(&token, &json!({"email": "second@example.com", "displayName": "Second"})).await;

    let deadline = Instant::now() + dead_after + Duration::from_secs(20);
    let (first, second) = loop {
        let list = deliveries(&server, &token, &webhook_id).await;
        assert_eq!(list.len(), 2, "{list:#?}");
        if list[0]["state"] == "failed" && list[1]["attempts"].as_i64() > Some(0) {
            break (list[0].clone(), list[1].clone());
        }
        assert!(list[1]["attempts"] == 0, "the second waits while the first is retrying: {list:#?}");
        assert!(Instant::now() < deadline, "not dead-lettered: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(first["payload"]["data"]["email"], "first@example.com");
    assert_eq!(first["lastStatus"], 500, "{first}");
    assert_eq!(first["lastError"], "HTTP 500: failing on purpose", "{first}");
    assert!(first.get("nextAttemptAt").is_none() && first.get("deliveredAt").is_none(), "{first}");
    let attempts = first["attempts"].as_i64().unwrap();
    assert!(attempts >= 4, "retried before giving up: {first}");
    let (created, failed) = (timestamp(&first["createdAt"]), timestamp(&first["failedAt"]));
    let lived = failed - created;
    assert!(lived <= dead_after.as_secs_f64() + 1.0, "dead-lettered once {dead_after:?} old, not later: {lived}s");
    let earliest = (dead_after - longest_wait).as_secs_f64() - 0.2;
    assert!(lived >= earliest, "not before its next wait would end past the bound: {lived}s");
    // The receiver saw the second delivery's attempts after the first's, each of the first's waits longer
    // than the one before until the longest.
    let times = inbox.failures();
    let gaps: Vec<f64> = times.windows(2).take(attempts as usize - 1).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 3, "{times:?}");
    assert!(gaps[0] >= first_wait.as_secs_f64() * 0.9, "the first wait: {gaps:?}");
    assert!(gaps[2] > gaps[0] * 2.0, "growing delays: {gaps:?}");
    let longest = longest_wait.as_secs_f64();
    assert!(gaps.iter().all(|gap| *gap < longest + 0.6), "at most the longest wait: {gaps:?}");
    assert!(gaps.last().is_some_and(|gap| *gap >= longest * 0.9), "up to the longest wait: {gaps:?}");
    assert_eq!(second["payload"]["data"]["email"], "second@example.com", "the next one went ahead: {second}");

    // The console shows the dead-lettered delivery as the API does.
    let admin = crate::console::console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get(&format!("/console/webhooks/{webhook_id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let item = page.html.split("<li class=\"item\"").find(|item| item.contains(&id_of(&first))).expect("its item");
    for shown in [
        ">failed<",
        &format!("<dt>Attempts</dt><dd>{attempts}</dd>"),
        "<dt>Last status</dt><dd>500</dd>",
        "HTTP 500: failing on purpose",
    ] {
        assert!(item.contains(shown), "{shown} in {item}");
    }
    assert!(!item.contains("Next attempt"), "a dead letter is not tried again: {item}");

    // Both dead-lettered, the receiver mended: the first, redelivered, arrives once with its webhook-id.
    let deadline = Instant::now() + dead_after + Duration::from_secs(20);
    while deliveries(&server, &token, &webhook_id).await.iter().any(|d| d["state"] != "failed") {
        assert!(Instant::now() < deadline, "the second was not dead-lettered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    inbox.set_failing(None);
    let path = format!("{WEBHOOKS}/{webhook_id}/deliveries/{}/redeliver", id_of(&first));
    let (status, body) = server.post(&path, &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let received = inbox.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received[0].id, message_id(&first));
    assert_eq!(received[0].payload["data"]["email"], "first@example.com");
    let list = all_delivered_or_failed(&server, &token, &webhook_id).await;
    let copy = list.last().unwrap();
    assert_eq!((copy["state"].as_str(), copy["attempts"].as_i64()), (Some("delivered"), Some(1)), "{copy}");
    assert_eq!(list[0]["state"], "failed", "the dead letter stays as it was: {list:#?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inbox.received().len(), 1, "once");
    assert_eq!(inbox.rejected(), 0);
    drop(receiver);
}
both_backends!(a_failing_delivery_is_dead_lettered_then_redelivered, needs webhooks);

/// Seconds since the epoch of an RFC 3339 timestamp in an answer.
fn timestamp(value: &Value) -> f64 {
    let text = value.as_str().unwrap_or_else(|| panic!("a timestamp: {value}"));
    Timestamp::parse_rfc3339(text).expect("RFC 3339").micros() as f64 / 1e6
}

/// The subscription's deliveries once none is pending or retrying, oldest first.
async fn all_delivered_or_failed(server: &TestServer, token: &str, webhook: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = deliveries(server, token, webhook).await;
        if list.iter().all(|d| d["state"] == "delivered" || d["state"] == "failed") {
            return list;
        }
        assert!(Instant::now() < deadline, "still being sent: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Many transactions at once raising events for the same subscriptions, which want overlapping sets of
/// types: on PostgreSQL each locks the subscription rows it numbers its deliveries on, and two that lock
/// them in different orders deadlock (one of them fails). Locked in id order, every write succeeds, and
/// each subscription's deliveries are numbered 1, 2, 3... without a gap or a repeat.
async fn concurrent_raises_do_not_deadlock(backend: Backend) {
    let server = allowing_private(backend).await;
    let token = server.admin_token().await;
    let wants: [&[&str]; 6] = [
        &["user.created", "user.updated"],
        &["user.updated"],
        &["user.created"],
        &["user.updated", "user.disabled"],
        &["user.created", "user.disabled"],
        &["user.created", "user.updated", "user.disabled"],
    ];
    let mut webhooks = Vec::new();
    for types in wants {
        let (webhook, _) = subscribe(&server, &token, "http://127.0.0.1:9/nobody-listens", types).await;
        webhooks.push(id_of(&webhook));
    }
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (base_url, token) = (server.base_url.clone(), token.clone());
        writers.spawn(async move {
            let http = reqwest::Client::new();
            let mut failures = Vec::new();
            for n in 0..12 {
                let body = json!({"email": format!("w{writer}-{n}@example.com"), "displayName": "Writer"});
                let (status, created) = post_to(&base_url, "/api/v1/users", &token, &body).await;
                if status != 200 {
                    failures.push(format!("create: {status} {created}"));
                    continue;
                }
                let user = created["userView"]["user"]["id"].as_str().unwrap().to_string();
                let status_value = if n % 2 == 0 { "DISABLED" } else { "ENABLED" };
                let update = json!({"user": {"displayName": format!("Writer {n}"), "status": status_value},
                    "updateMask": "displayName,status"});
                let request = http.post(format!("{base_url}/api/v1/users/{user}")).bearer_auth(&token).json(&update);
                let (status, body) = crate::support::read(request.send().await.expect("POST")).await;
                if status != 200 {
                    failures.push(format!("update: {status} {body}"));
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = writers.join_next().await {
        failures.extend(result.expect("a writer"));
    }
    assert!(failures.is_empty(), "{} writes failed: {failures:#?}", failures.len());
    for (webhook, types) in webhooks.iter().zip(wants) {
        let numbers = server
            .database
            .query_text(&format!(
                "SELECT CAST(COUNT(*) AS TEXT) || ' ' || CAST(COUNT(DISTINCT seq) AS TEXT) || ' ' || \
                 CAST(MIN(seq) AS TEXT) || ' ' || CAST(MAX(seq) AS TEXT) FROM webhook_deliveries \
                 WHERE subscription_id = '{webhook}'"
            ))
            .await;
        let expected: usize = types
            .iter()
            .map(|t| match *t {
                "user.created" | "user.updated" => 8 * 12,
                _ => 8 * 6,
            })
            .sum();
        let want = format!("{expected} {expected} 1 {expected}");
        assert_eq!(
            numbers.as_deref(),
            Some(want.as_str()),
            "count, distinct, first and last seq of {webhook} ({types:?})"
        );
    }
}
both_backends!(concurrent_raises_do_not_deadlock);

/// A POST with a bearer token to a server started from the binary.
async fn post_to(base_url: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let request = reqwest::Client::new().post(format!("{base_url}{path}")).bearer_auth(token).json(body);
    crate::support::read(request.send().await.expect("POST")).await
}

async fn kill_9_mid_delivery_loses_no_event(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let mut args = database_args(&database, backend);
    args.extend(["--webhooks-allow-private-addresses".to_string(), "true".to_string()]);
    let serve = Serve::start(&args, database.dir.path()).await;
    let stdout = serve.stdout();
    let label = |label: &str| {
        let line = stdout.lines().find(|line| line.contains(label)).unwrap_or_else(|| panic!("no {label}: {stdout}"));
        line.split_once(label).unwrap().1.trim().to_string()
    };
    let (client_id, client_secret) = (label("client id:"), label("client secret:"));
    let form = [("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &client_secret)];
    let response = reqwest::Client::new().post(format!("{}/auth/v1/token", serve.base_url())).form(&form).send().await;
    let (status, body) = crate::support::read(response.expect("token request")).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();

    let inbox = Inbox::new();
    let _receiver = Receiver::start(0, inbox.path()).await;
    inbox.set_slow(1.5);
    let url = format!("http://127.0.0.1:{}/hook", _receiver.port);
    let (status, created) =
        post_to(&serve.base_url(), WEBHOOKS, &token, &json!({"url": url, "eventTypes": ["user.created"]})).await;
    assert_eq!(status, 200, "{created}");
    inbox.set_secret(created["secret"].as_str().unwrap());
    let emails: Vec<String> = (0..5).map(|n| format!("user{n}@example.com")).collect();
    for email in &emails {
        let (status, body) =
            post_to(&serve.base_url(), "/api/v1/users", &token, &json!({"email": email, "displayName": "U"})).await;
        assert_eq!(status, 200, "{body}");
    }
    // The first is in; the second is being answered, slowly, when onramp dies.
    inbox.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    serve.kill().await;
    let before_restart = inbox.received().len();
    assert!(before_restart < emails.len(), "killed mid-way: {before_restart} arrived");

    inbox.set_slow(0.0);
    let again = Serve::start(&args, database.dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let firsts = loop {
        let received = inbox.received();
        let mut seen = HashSet::new();
        let firsts: Vec<(String, String)> = received
            .iter()
            .filter(|r| seen.insert(r.id.clone()))
            .map(|r| (r.id.clone(), r.payload["data"]["email"].as_str().unwrap().to_string()))
            .collect();
        if firsts.len() == emails.len() {
            break firsts;
        }
        assert!(Instant::now() < deadline, "after the restart only {firsts:?} arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let arrived: Vec<&String> = firsts.iter().map(|(_, email)| email).collect();
    assert_eq!(arrived, emails.iter().collect::<Vec<_>>(), "every event, in order; a repeat only of one sent before");
    let ids: HashSet<&String> = firsts.iter().map(|(id, _)| id).collect();
    assert!(inbox.received().iter().all(|r| ids.contains(&r.id)), "a repeat carries its original webhook-id");
    assert_eq!(inbox.rejected(), 0);
    assert_eq!(again.terminate().await.code(), Some(0));
}
both_backends!(kill_9_mid_delivery_loses_no_event, needs webhooks);

/// With the operator's setting off (the default), URLs inside a network are refused at subscribe time,
/// naming `url`, and nothing is created; a subscription that points inside anyway (written behind the
/// server's back, as one made under another setting would be) gets no request: the delivery records the
/// refusal. Bad event types, descriptions and permissions are refused too.
async fn private_addresses_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "not a url",
    ] {
        let response = server.post(WEBHOOKS, &token, &json!({"url": url, "eventTypes": ["user.created"]})).await;
        assert_api_error(url, &response, 400, 3);
        assert!(response.1["message"].as_str().unwrap().starts_with("invalid url:"), "{url}: {}", response.1);
    }
    let public = "https://93.184.216.34/hook";
    for (body, field) in [
        (json!({"url": public, "eventTypes": ["user.nope"]}), "eventTypes"),
        (json!({"url": public, "eventTypes": []}), "eventTypes"),
        (json!({"url": public}), "eventTypes"),
        (json!({"eventTypes": ["user.created"]}), "url"),
        (json!({"url": public, "eventTypes": ["user.created"], "description": "a\u{7}b"}), "description"),
    ] {
        let response = server.post(WEBHOOKS, &token, &body).await;
        assert_api_error(&body.to_string(), &response, 400, 3);
        assert!(response.1["message"].as_str().unwrap().starts_with(&format!("invalid {field}")), "{}", response.1);
    }
    let (_, reader) = server.credential_with_roles("reader@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let response = server.post(WEBHOOKS, &reader, &json!({"url": public, "eventTypes": ["user.created"]})).await;
    assert_api_error("read-only admin", &response, 403, 7);
    let (status, list) = server.get(WEBHOOKS, &token).await;
    assert_eq!((status, list["list"].as_array().map_or(0, Vec::len)), (200, 0), "nothing created: {list}");

    // A public URL is taken; updating it to a private one is refused and changes nothing.
    let (status, created) =
        server.post(WEBHOOKS, &token, &json!({"url": public, "eventTypes": ["user.created"]})).await;
    assert_eq!(status, 200, "{created}");
    let id = id_of(&created["webhook"]);
    let update = json!({"webhook": {"url": "http://127.0.0.1/x"}, "updateMask": "url"});
    assert_api_error("update to loopback", &server.post(&format!("{WEBHOOKS}/{id}"), &token, &update).await, 400, 3);
    let (_, read) = server.get(&format!("{WEBHOOKS}/{id}"), &token).await;
    assert_eq!(read["webhook"]["url"], public);

    // Behind the server's back the URL points at loopback: delivery refuses to connect there.
    let inbox = Inbox::new();
    let changed = server
        .database
        .execute(&format!("UPDATE webhook_subscriptions SET url = 'http://127.0.0.1:9/hook' WHERE id = '{id}'"))
        .await;
    assert_eq!(changed, 1);
    server.create_user(&token, &json!({"email": "x@example.com", "displayName": "X"})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = deliveries(&server, &token, &id).await;
        if let Some(error) = list.first().and_then(|d| d["lastError"].as_str()).filter(|e| !e.is_empty()) {
            assert!(error.starts_with("refused: its host 127.0.0.1 is a loopback address"), "{error}");
            assert!(list[0].get("lastStatus").is_none());
            break;
        }
        assert!(Instant::now() < deadline, "no refusal recorded: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(inbox);

    // Delete removes it and its deliveries.
    let (status, body) = server.delete(&format!("{WEBHOOKS}/{id}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_api_error("deleted", &server.get(&format!("{WEBHOOKS}/{id}"), &token).await, 404, 5);
    let left = server.database.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM webhook_deliveries").await;
    assert_eq!(left.as_deref(), Some("0"));
}
both_backends!(private_addresses_are_refused);

/// The console's Webhooks pages: an admin subscribes a URL (the secret shown once on the answer, in no
/// URL), a bad URL comes back on its field with the values kept, a read-only admin sees but cannot write,
/// and the webhook's page shows its deliveries with Redeliver, Turn off and Delete doing what the API does.
async fn console_webhook_pages(backend: Backend) {
    let server = allowing_private(backend).await;
    let token = server.admin_token().await;
    let admin = crate::console::console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get("/console/webhooks").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("There is no webhook yet"), "{}", page.html);
    let csrf = page.csrf();

    let refused = admin
        .post(
            "/console/webhooks",
            &[("csrf", &csrf), ("url", "ftp://nowhere"), ("description", "kept"), ("eventTypes", "user.created")],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("must be an http or https URL") && refused.html.contains("aria-invalid=\"true\""));
    assert!(refused.html.contains("value=\"kept\"") && refused.html.contains("value=\"user.created\" checked"));

    let url = "http://127.0.0.1:9/console-hook";
    let made = admin
        .post(
            "/console/webhooks",
            &[("csrf", &csrf), ("url", url), ("eventTypes", "user.created"), ("eventTypes", "user.deleted")],
        )
        .await;
    assert_eq!(made.status, 200, "the secret is on the answer, not behind a redirect: {}", made.html);
    assert!(made.html.contains("whsec_") && made.html.contains("shown only on this page"), "{}", made.html);
    let (_, list) = server.get(WEBHOOKS, &token).await;
    let webhook = &list["list"][0];
    assert_eq!(webhook["eventTypes"], json!(["user.created", "user.deleted"]), "{list}");
    let id = id_of(webhook);
    assert!(!admin.get("/console/webhooks").await.html.contains("whsec_"), "shown once");

    server.create_user(&token, &json!({"email": "x@example.com", "displayName": "X"})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let list = deliveries(&server, &token, &id).await;
        if list.first().is_some_and(|d| d["attempts"].as_i64() > Some(0) && d["lastError"] != "") {
            break list[0].clone();
        }
        assert!(Instant::now() < deadline, "no attempt: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let page = admin.get(&format!("/console/webhooks/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("user.created") && page.html.contains("retrying"), "{}", page.html);
    let redeliver = format!("/console/webhooks/{id}/deliveries/{}/redeliver", id_of(&delivery));
    admin
        .post(&redeliver, &[("csrf", &csrf)])
        .await
        .assert_redirect("redeliver", &format!("/console/webhooks/{id}?done=redelivered"));
    assert_eq!(deliveries(&server, &token, &id).await.len(), 2, "queued again");
    admin
        .post(&format!("/console/webhooks/{id}/enabled"), &[("csrf", &csrf)])
        .await
        .assert_redirect("turn off", &format!("/console/webhooks/{id}?done=disabled"));
    let (_, read) = server.get(&format!("{WEBHOOKS}/{id}"), &token).await;
    assert_eq!(read["webhook"]["enabled"], false, "{read}");

    let reader = crate::console::console_admin(&server, "ro@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let page = reader.get(&format!("/console/webhooks/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(!page.html.contains("/redeliver\"") && !page.html.contains("New webhook"), "{}", page.html);
    let refused =
        reader.post(&format!("/console/webhooks/{id}/delete"), &[("csrf", &reader.get("/console").await.csrf())]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused = reader.get(&format!("/console/webhooks/{id}/delete")).await;
    assert_eq!(refused.status, 403, "no confirmation for a reader: {}", refused.html);

    // The page's Delete asks first, saying what goes with the webhook; asking deletes nothing.
    let page = admin.get(&format!("/console/webhooks/{id}")).await;
    assert!(page.html.contains(&format!("href=\"/console/webhooks/{id}/delete\"")), "{}", page.html);
    let confirm = admin.get(&format!("/console/webhooks/{id}/delete")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("with its 2 deliveries on record"), "{}", confirm.html);
    assert!(confirm.html.contains(&format!("action=\"/console/webhooks/{id}/delete\"")), "{}", confirm.html);
    assert_eq!(server.get(&format!("{WEBHOOKS}/{id}"), &token).await.0, 200, "still there after asking");
    let missing = admin.get(&format!("/console/webhooks/{}/delete", onramp_domain::Id::new())).await;
    assert_eq!(missing.status, 404, "{}", missing.html);

    admin
        .post(&format!("/console/webhooks/{id}/delete"), &[("csrf", &csrf)])
        .await
        .assert_redirect("delete", "/console/webhooks?done=deleted");
    assert_api_error("deleted", &server.get(&format!("{WEBHOOKS}/{id}"), &token).await, 404, 5);
}
both_backends!(console_webhook_pages);
