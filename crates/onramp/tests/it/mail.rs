//! Mail delivery through SMTP: invitation emails reach an SMTP server (the aiosmtpd sink of
//! `support::smtp`), failed deliveries are retried with backoff until the server is there, each message
//! arrives once, and a recipient the server refuses for good is given up at once.
//!
//! The outbox is read with SQL on the test database: `attempts` counts delivery attempts, `sent_at` and
//! `failed_at` record the outcome, and the body (which holds the secret link) is emptied by either.

use std::time::{Duration, Instant};

use onramp_domain::Secret;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::smtp::{SmtpSink, free_port};
use crate::support::{Backend, TestServer};

/// A server whose mail goes to `smtp://127.0.0.1:{port}`.
async fn server_mailing_to(backend: Backend, port: u16) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
    })
    .await
}

/// Creates an app, makes it a local directory, invites `email` into it, and returns the invitation.
async fn invite(server: &TestServer, token: &str, email: &str) -> Value {
    let (status, body) = server.post("/api/v1/apps", token, &json!({"displayName": "Wiki"})).await;
    assert_eq!(status, 200, "create app: {body}");
    let app_id = body["app"]["id"].as_str().expect("app id").to_string();
    let directory = json!({"appId": app_id, "displayName": "Contractors"});
    let (status, body) = server.post("/api/v1/local-directory-configs", token, &directory).await;
    assert_eq!(status, 200, "create directory: {body}");
    let path = format!("/api/v1/local-directory-configs/{app_id}/invitations");
    let (status, body) = server.post(&path, token, &json!({"email": email, "displayName": "Ada Lovelace"})).await;
    assert_eq!(status, 200, "create invitation: {body}");
    body["invitation"].clone()
}

/// One column of the invitation's outbox row, as text (None for NULL).
async fn outbox(server: &TestServer, invitation_id: &str, column: &str) -> Option<String> {
    let sql = format!("SELECT CAST({column} AS TEXT) FROM outbox WHERE subject_id = '{invitation_id}'");
    server.database.query_text(&sql).await
}

async fn attempts(server: &TestServer, invitation_id: &str) -> i64 {
    outbox(server, invitation_id, "attempts").await.and_then(|n| n.parse().ok()).expect("the invitation's outbox row")
}

async fn invitations_are_delivered_by_smtp(backend: Backend) {
    let sink = SmtpSink::start(0).await;
    let server = server_mailing_to(backend, sink.port).await;
    let token = server.admin_token().await;
    let invitation = invite(&server, &token, "ada@example.com").await;
    let id = invitation["id"].as_str().expect("invitation id");

    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.rcpt_tos, ["ada@example.com"], "the envelope recipient");
    // The public URL's host is an IP address, which is no mail domain: the default sender is localhost's.
    assert_eq!(message.mail_from, "noreply@localhost", "the envelope sender is the From address");
    let mail = &message.mail;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(mail.header("from"), Some("onramp <noreply@localhost>"));
    // Who invites you to what, in the subject.
    assert!(
        mail.subject.starts_with("Administrator invited you to join Contractors at "),
        "the subject names the inviter and the directory: {}",
        mail.subject
    );
    // Both parts arrive, from the same model: the link in each, the HTML escaped and in the tenant's look.
    let html = mail.html.as_deref().expect("an HTML part beside the text");
    assert!(mail.header("content-type").is_some_and(|t| t.starts_with("multipart/alternative")), "{}", mail.raw);
    assert!(html.contains("Administrator (admin@example.com) invited you to join Contractors"), "{html}");
    assert!(mail.text.contains("Administrator (admin@example.com) invited you to join Contractors"), "{}", mail.text);
    assert!(html.contains("border-top:6px solid #1a56b8"), "onramp's accent without the tenant's: {html}");
    let outbox_id = outbox(&server, id, "id").await.expect("the outbox row");
    assert_eq!(mail.header("message-id"), Some(format!("<{outbox_id}@onramp>").as_str()));
    let link_prefix = format!("{}/invite/", server.base_url);
    assert!(mail.text.contains(&link_prefix), "the body links to {link_prefix}: {}", mail.text);
    let invite_token = mail.invite_token().expect("the body holds the token");
    assert!(mail.text.contains(&format!("{link_prefix}{invite_token}")));
    assert!(html.contains(&format!("href=\"{link_prefix}{invite_token}\"")), "the HTML links too: {html}");

    // The outbox keeps that it was sent, and no longer the body with its secret.
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox(&server, id, "sent_at").await.is_none() {
        assert!(Instant::now() < deadline, "the message is never marked sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox(&server, id, "body").await.as_deref(), Some(""));
    assert_eq!(outbox(&server, id, "html_body").await.as_deref(), Some(""), "the HTML part held the link too");
    assert_eq!(attempts(&server, id).await, 1);

    // The emailed link works.
    let accept = json!({"token": invite_token, "displayName": "", "password": "correct horse battery staple"});
    let response = server
        .http
        .post(server.url("/api/v1/local-directory-invitations/accept"))
        .json(&accept)
        .send()
        .await
        .expect("POST accept");
    let (status, body) = crate::support::read(response).await;
    assert_eq!(status, 200, "accept: {body}");
    assert_eq!(body["invitation"]["status"], "LOCAL_INVITATION_STATUS_ACCEPTED", "{body}");
    assert_eq!(body["invitation"]["id"], id);
}
both_backends!(invitations_are_delivered_by_smtp, needs smtp);

async fn delivery_is_retried_until_the_smtp_server_answers(backend: Backend) {
    // Nothing listens on the port yet: every attempt is refused.
    let port = free_port();
    let server = server_mailing_to(backend, port).await;
    let token = server.admin_token().await;
    let invitation = invite(&server, &token, "ada@example.com").await;
    let id = invitation["id"].as_str().expect("invitation id");

    let deadline = Instant::now() + Duration::from_secs(15);
    while attempts(&server, id).await < 2 {
        assert!(Instant::now() < deadline, "the worker does not retry a failed delivery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox(&server, id, "sent_at").await, None);
    assert_eq!(outbox(&server, id, "failed_at").await, None, "a refused connection is no reason to give up");
    let last_error = outbox(&server, id, "last_error").await.unwrap_or_default();
    assert!(last_error.starts_with("SMTP:"), "the failure is recorded: {last_error}");
    assert_ne!(outbox(&server, id, "body").await.as_deref(), Some(""), "the body waits for the retry");

    // The server comes up; the next retry (at most a few backoff periods away) delivers the message.
    let sink = SmtpSink::start(port).await;
    let received = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received[0].rcpt_tos, ["ada@example.com"]);
    assert!(received[0].mail.invite_token().is_some(), "the retried message is whole");

    // Several retry periods later it has still arrived once, and the outbox says it was sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages().len(), 1, "delivered exactly once");
    assert!(outbox(&server, id, "sent_at").await.is_some(), "marked sent");
    assert_eq!(outbox(&server, id, "body").await.as_deref(), Some(""), "the secret link is no longer stored");
    assert_eq!(outbox(&server, id, "html_body").await.as_deref(), Some(""), "in neither part");
    assert_eq!(outbox(&server, id, "failed_at").await, None);
    assert_eq!(outbox(&server, id, "last_error").await.as_deref(), Some(""));
}
both_backends!(delivery_is_retried_until_the_smtp_server_answers, needs smtp);

async fn a_recipient_refused_for_good_is_given_up_at_once(backend: Backend) {
    let sink = SmtpSink::start(0).await;
    let server = server_mailing_to(backend, sink.port).await;
    let token = server.admin_token().await;
    // The sink refuses `bounce*` recipients with 550, as a server refuses an unknown mailbox.
    let invitation = invite(&server, &token, "bounce@example.com").await;
    let id = invitation["id"].as_str().expect("invitation id");

    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox(&server, id, "failed_at").await.is_none() {
        assert!(Instant::now() < deadline, "a 550 refusal is never given up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last_error = outbox(&server, id, "last_error").await.unwrap_or_default();
    assert!(last_error.contains("550"), "the refusal is recorded: {last_error}");
    assert!(!last_error.contains("bounce@example.com"), "the recorded error keeps only the domain: {last_error}");
    assert_eq!(outbox(&server, id, "body").await.as_deref(), Some(""), "a given-up message keeps no secret");
    assert_eq!(outbox(&server, id, "html_body").await.as_deref(), Some(""), "in neither part");
    // Not retried: several retry periods later it is still one attempt, and nothing arrived.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(attempts(&server, id).await, 1);
    assert!(sink.messages().is_empty());
}
both_backends!(a_recipient_refused_for_good_is_given_up_at_once, needs smtp);
