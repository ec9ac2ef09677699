//! The limits on guessing invitees' passwords and invitation links (issue #11, brute force items 3 and 5):
//! per account, a growing wait after five wrong passwords in a row, in which guesses are refused unchecked;
//! per client address, a bucket that slows spraying across accounts without shutting out a person who
//! shares the address; and a valid invitation link that is never refused because of wrong ones.
//!
//! The memory of concurrent acceptances (item 5) is measured by `onramp-bench accept-memory`.

use std::time::Duration;

use reqwest::RequestBuilder;
use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::flows::create_flow_id;
use crate::invitations::{ACCEPT, PASSWORD, invite, invite_token};
use crate::onboards::{accept_mailed, onboard_id_of};
use crate::support::{Backend, TestServer};

/// A response's status, `Retry-After` (seconds) and body text.
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("status {}: not JSON: {}", self.status, self.text))
    }

    /// A 429 in the API's error shape with `Retry-After` of at most `longest` seconds and a RetryInfo
    /// detail saying the same; returns the wait.
    #[track_caller]
    pub fn assert_too_many(&self, case: &str, longest: u64) -> u64 {
        assert_eq!(self.status, 429, "{case}: {}", self.text);
        let wait = self.retry_after.unwrap_or_else(|| panic!("{case}: no Retry-After: {}", self.text));
        assert!((1..=longest).contains(&wait), "{case}: Retry-After {wait}, expected 1 to {longest}");
        let body = self.json();
        assert_eq!(body["code"], 8, "{case}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("try again in")), "{case}: {body}");
        let retry = &body["details"][0];
        assert_eq!(retry["@type"], "type.googleapis.com/google.rpc.RetryInfo", "{case}: {body}");
        assert_eq!(retry["retryDelay"], format!("{wait}s"), "{case}: {body}");
        wait
    }
}

/// Sends a request and reads its reply.
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().ok().and_then(|text| text.parse().ok()).expect("Retry-After is whole seconds"));
    Reply { status, retry_after, text: response.text().await.expect("body") }
}

/// Invites and accepts each of `emails` into a directory whose flow has an acceptTerms step `terms`; returns
/// their onboard ids, in order.
async fn invitees(server: &TestServer, emails: &[&str]) -> Vec<String> {
    let token = server.admin_token().await;
    let flow = create_flow_id(server, &token, "Terms", json!([{"key": "terms", "acceptTerms": {"text": "t"}}])).await;
    let directory = create_directory(server, &token, "Staff", json!({"onboardingFlowId": flow})).await;
    let mut onboards = Vec::new();
    for email in emails {
        invite(server, &token, &directory, email, Value::Null).await;
        onboards.push(onboard_id_of(&accept_mailed(server, email, "Someone").await));
    }
    onboards
}

/// The invitee `email` (with `password`) completing the terms of their onboard: 200 with the right
/// password, 401 with a wrong one, 429 when limited.
async fn sign_in(server: &TestServer, onboard: &str, email: &str, password: &str) -> Reply {
    send(sign_in_request(server, onboard, email, password)).await
}

fn sign_in_request(server: &TestServer, onboard: &str, email: &str, password: &str) -> RequestBuilder {
    let path = format!("/api/v1/onboards/{onboard}/steps/terms/complete");
    server.http.post(server.url(&path)).basic_auth(email, Some(password)).json(&json!({"accepted": true}))
}

/// The count of wrong passwords the database holds for the user of an email, if any.
async fn failures_of(server: &TestServer, email: &str) -> Option<String> {
    let sql = format!(
        "SELECT CAST(f.failures AS TEXT) FROM password_failures f JOIN users u ON u.id = f.user_id \
         WHERE u.email = '{email}'"
    );
    server.database.query_text(&sql).await
}

/// Someone guessing at one account from an address does not keep another person on that address from
/// signing in with their right password: the guesser's account waits, the address is not locked.
async fn a_right_password_works_beside_another_accounts_failures(backend: Backend) {
    let server = TestServer::start(backend).await;
    let onboards = invitees(&server, &["ann@example.com", "bob@example.com"]).await;
    for guess in 1..=12 {
        let reply = sign_in(&server, &onboards[0], "ann@example.com", &format!("wrong password {guess:02}")).await;
        assert!([401, 429].contains(&reply.status), "guess {guess}: {} {}", reply.status, reply.text);
    }
    let reply = sign_in(&server, &onboards[1], "bob@example.com", PASSWORD).await;
    assert_eq!(reply.status, 200, "Bob, from the same address, with his password: {}", reply.text);
    // The sign-in page is the same rule.
    let browser = crate::account::Browser::new(&server, "bob");
    assert_eq!(browser.sign_in("bob@example.com", PASSWORD).await.status, 303, "signed in on the page");
}
both_backends!(a_right_password_works_beside_another_accounts_failures);

/// After five wrong passwords the sixth guess waits: 429 with Retry-After, the password not checked (the
/// right one is refused as well, and the count does not move); when the wait is over the right password
/// works and clears the count. The first wait is 60 s here, so that the test never races it; the wait is
/// ended by moving the last failure back in the database.
async fn wrong_passwords_make_their_account_wait(backend: Backend) {
    let server =
        TestServer::start_with(backend, |config| config.limits.password_first_delay = Duration::from_secs(60)).await;
    let onboard = &invitees(&server, &["ann@example.com"]).await[0];
    for guess in 1..=5 {
        let reply = sign_in(&server, onboard, "ann@example.com", &format!("wrong password {guess:02}")).await;
        assert_eq!(reply.status, 401, "guess {guess}: {}", reply.text);
    }
    let sixth = sign_in(&server, onboard, "ann@example.com", "wrong password 06").await;
    let wait = sixth.assert_too_many("the sixth guess", 60);
    assert!(sixth.json()["message"].as_str().unwrap().contains("this account"), "{}", sixth.text);
    assert!(wait > 30, "the first wait is 60 s: {wait}");
    let right = sign_in(&server, onboard, "ann@example.com", PASSWORD).await;
    right.assert_too_many("the right password while waiting", 60);
    let on_page = crate::account::Browser::new(&server, "ann").sign_in("ann@example.com", PASSWORD).await;
    assert_eq!((on_page.status, on_page.retry_after.is_some()), (429, true), "the page waits too: {}", on_page.html);
    assert_eq!(failures_of(&server, "ann@example.com").await.as_deref(), Some("5"), "refused guesses are not counted");

    let moved =
        server.database.execute("UPDATE password_failures SET last_failure_at = last_failure_at - 61000000").await;
    assert_eq!(moved, 1);
    let right = sign_in(&server, onboard, "ann@example.com", PASSWORD).await;
    assert_eq!(right.status, 200, "the right password after the wait: {}", right.text);
    assert_eq!(failures_of(&server, "ann@example.com").await, None, "a right password clears the count");
    let wrong = sign_in(&server, onboard, "ann@example.com", "wrong password 07").await;
    assert_eq!(wrong.status, 401, "the count starts over: {}", wrong.text);
}
both_backends!(wrong_passwords_make_their_account_wait);

/// Wrong passwords spread over accounts (each below its own limit) are limited per address: after ten, the
/// address is slowed to one guess per few seconds (429 with a Retry-After of at most 6 s), not locked out.
async fn password_spraying_is_slowed_per_address(backend: Backend) {
    let server = TestServer::start(backend).await;
    let emails = ["a1@example.com", "a2@example.com", "a3@example.com", "a4@example.com"];
    let onboards = invitees(&server, &emails).await;
    let mut limited = None;
    'spraying: for round in 1..=5 {
        for (onboard, email) in onboards.iter().zip(emails) {
            let reply = sign_in(&server, onboard, email, &format!("sprayed password {round:02}")).await;
            if reply.status == 429 {
                limited = Some(reply);
                break 'spraying;
            }
            assert_eq!(reply.status, 401, "round {round}, {email}: {}", reply.text);
        }
    }
    let reply = limited.expect("20 wrong passwords from one address were never limited");
    reply.assert_too_many("spraying", 6);
    assert!(reply.json()["message"].as_str().unwrap().contains("this address"), "{}", reply.text);
}
both_backends!(password_spraying_is_slowed_per_address);

/// A valid invitation link works, on the page and through the API, after more than ten wrong links from
/// the same address (which are answered 404 and then 429 with Retry-After).
async fn a_valid_link_works_after_wrong_links_from_its_address(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Staff", Value::Null).await;
    invite(&server, &token, &directory, "ann@example.com", Value::Null).await;
    let secret = invite_token(&server, "ann@example.com").await;
    let mut refused = Vec::new();
    for guess in 0..12 {
        let wrong = crate::invitations::random_token();
        let reply = if guess % 2 == 0 {
            send(server.http.get(server.url(&format!("/invite/{wrong}")))).await
        } else {
            let body = json!({"token": wrong, "displayName": "Guesser", "password": PASSWORD});
            send(server.http.post(server.url(ACCEPT)).json(&body)).await
        };
        assert!([404, 429].contains(&reply.status), "wrong link {guess}: {} {}", reply.status, reply.text);
        refused.push(reply);
    }

    let page = send(server.http.get(server.url(&format!("/invite/{secret}")))).await;
    assert_eq!(page.status, 200, "the valid link's page: {}", page.text);
    let body = json!({"token": secret, "displayName": "Ann", "password": PASSWORD});
    let accepted = send(server.http.post(server.url(ACCEPT)).json(&body)).await;
    assert_eq!(accepted.status, 200, "accepting with the valid link: {}", accepted.text);
    let last = refused.last().unwrap();
    assert_eq!((last.status, last.retry_after.is_some()), (429, true), "past the limit: {}", last.text);
}
both_backends!(a_valid_link_works_after_wrong_links_from_its_address);

/// Guesses sent at once cannot outrun the count: of ten concurrent wrong passwords at one account, at most
/// five are checked (401) and the rest wait (429), and the database counts exactly the checked ones.
async fn concurrent_guesses_are_counted_in_turn(backend: Backend) {
    let server =
        TestServer::start_with(backend, |config| config.limits.password_first_delay = Duration::from_secs(60)).await;
    let onboard = &invitees(&server, &["ann@example.com"]).await[0];
    let guesses: Vec<_> = (0..10)
        .map(|n| sign_in_request(&server, onboard, "ann@example.com", &format!("concurrent guess {n:02}")))
        .map(|request| tokio::spawn(send(request)))
        .collect();
    let mut replies = Vec::new();
    for guess in guesses {
        replies.push(guess.await.expect("a guess"));
    }
    let checked = replies.iter().filter(|reply| reply.status == 401).count();
    for reply in replies.iter().filter(|reply| reply.status != 401) {
        reply.assert_too_many("a concurrent guess past the free ones", 60);
    }
    assert!((1..=5).contains(&checked), "{checked} of 10 concurrent guesses were checked");
    assert_eq!(failures_of(&server, "ann@example.com").await, Some(checked.to_string()));
}
both_backends!(concurrent_guesses_are_counted_in_turn);
