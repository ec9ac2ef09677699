//! Invitations into local directories over HTTP (issue #5): create, get, revoke, resend, search with
//! filters and pages, expiry (read-time and the sweep), accepting through the API and the web page,
//! concurrency (50 accepts of one invitation, a revoke racing an accept), self-registration, the secret's
//! hygiene, the tenant wall, roles, audit events, and the rate limit on wrong guesses.
//!
//! The secret of an invitation is read only where a person would read it: in the email the file transport
//! writes under the server's data folder (`support::mail`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_domain::time_words::TimeInWords;
use onramp_domain::{BuiltinRole, Id, Timestamp};
use serde_json::{Value, json};

use crate::apps::{audit_actions, create_app};
use crate::both_backends;
use crate::directories::{assert_names_field, create_directory, directory_path};
use crate::support::mail::{self, Mail};
use crate::support::{Backend, TestServer, assert_api_error, read};

/// A password the server accepts (at least 12 characters).
pub const PASSWORD: &str = "correct horse battery staple";
pub const SEARCH: &str = "/api/v1/search/local-directory-invitations";
pub const ACCEPT: &str = "/api/v1/local-directory-invitations/accept";
/// How long to wait for the delivery worker to write an email.
const MAIL_WAIT: Duration = Duration::from_secs(15);

const BASIC_USER_ROLE: &str = "000000000000000000000005";
const DIRECTORY_ADMIN_ROLE: &str = "000000000000000000000004";

const PENDING: &str = "LOCAL_INVITATION_STATUS_PENDING";
const ACCEPTED: &str = "LOCAL_INVITATION_STATUS_ACCEPTED";
const REVOKED: &str = "LOCAL_INVITATION_STATUS_REVOKED";
const EXPIRED: &str = "LOCAL_INVITATION_STATUS_EXPIRED";

// Helpers, shared with `directories`.

/// `/api/v1/local-directory-configs/{directory}/invitations`.
pub fn invitations_path(directory: &str) -> String {
    format!("{}/invitations", directory_path(directory))
}

/// `/api/v1/local-directory-configs/{directory}/invitations/{id}`.
pub fn invitation_path(directory: &str, id: &str) -> String {
    format!("{}/{id}", invitations_path(directory))
}

/// `POST .../invitations` with `{"email", "displayName"}` and the fields of `extra` (an object, or null).
pub async fn post_invitation(
    server: &TestServer,
    token: &str,
    directory: &str,
    email: &str,
    extra: Value,
) -> (u16, Value) {
    let mut body = json!({"email": email, "displayName": display_name_of(email)});
    if let Value::Object(fields) = extra {
        body.as_object_mut().unwrap().extend(fields);
    }
    server.post(&invitations_path(directory), token, &body).await
}

/// Invites `email` into `directory` and returns the `invitation`; anything but 200 fails the test.
pub async fn invite(server: &TestServer, token: &str, directory: &str, email: &str, extra: Value) -> Value {
    let (status, body) = post_invitation(server, token, directory, email, extra).await;
    assert_eq!(status, 200, "invite {email}: {body}");
    body["invitation"].clone()
}

/// "ada@example.com" → "Ada".
fn display_name_of(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    let mut chars = local.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Waits for `count` emails to `to` and returns them, oldest first.
pub async fn mails_to(server: &TestServer, to: &str, count: usize) -> Vec<Mail> {
    mail::wait_for_mail(server.database.dir.path(), to, count, MAIL_WAIT).await
}

/// The token of the newest invitation email to `to`, waiting for the first if none has come yet.
pub async fn invite_token(server: &TestServer, to: &str) -> String {
    let mails = mails_to(server, to, 1).await;
    let newest = mails.last().unwrap();
    newest.invite_token().unwrap_or_else(|| panic!("no /invite/<token> link in the email to {to}:\n{}", newest.raw))
}

/// `POST /api/v1/local-directory-invitations/accept`, without authentication.
pub async fn accept(server: &TestServer, token: &str, display_name: &str, password: &str) -> (u16, Value) {
    let body = json!({"token": token, "displayName": display_name, "password": password});
    read(server.http.post(server.url(ACCEPT)).json(&body).send().await.expect("accept")).await
}

/// `GET` of an invitation that must exist; returns the `invitation`.
pub async fn get_invitation(server: &TestServer, token: &str, directory: &str, id: &str) -> Value {
    let (status, body) = server.get(&invitation_path(directory, id), token).await;
    assert_eq!(status, 200, "get invitation {id}: {body}");
    body["invitation"].clone()
}

/// `POST /api/v1/search/local-directory-invitations`.
pub async fn search(server: &TestServer, token: &str, body: &Value) -> (u16, Value) {
    server.post(SEARCH, token, body).await
}

/// Every page of an invitation search, following `nextPageToken`; the pages' lists in order.
pub async fn search_pages(server: &TestServer, token: &str, body: &Value, page_size: u32) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let mut request = body.clone();
        request["pageSize"] = json!(page_size);
        request["pageToken"] = json!(page_token);
        let (status, page) = search(server, token, &request).await;
        assert_eq!(status, 200, "search {request}: {page}");
        pages.push(page["list"].as_array().cloned().unwrap_or_default());
        page_token = page["nextPageToken"].as_str().unwrap_or_default().to_string();
        if page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1000, "the search never reached its last page");
    }
}

/// An invitation found by id through the search (it works also after its directory is deleted).
pub async fn invitation_by_id(server: &TestServer, token: &str, id: &str) -> Value {
    let pages = search_pages(server, token, &json!({}), 100).await;
    pages
        .into_iter()
        .flatten()
        .find(|invitation| invitation["id"] == id)
        .unwrap_or_else(|| panic!("no invitation {id}"))
}

/// The ids of the invitations of a search, over every page.
async fn search_ids(server: &TestServer, token: &str, body: &Value) -> Vec<String> {
    let pages = search_pages(server, token, body, 100).await;
    pages.into_iter().flatten().map(|invitation| invitation["id"].as_str().unwrap().to_string()).collect()
}

/// The users of the tenant with this email, from `GET /api/v1/users` (every page).
async fn users_with_email(server: &TestServer, token: &str, email: &str) -> Vec<Value> {
    let pages = server.all_pages("/api/v1/users", token, 100).await;
    pages.into_iter().flatten().map(|view| view["user"].clone()).filter(|user| user["email"] == email).collect()
}

/// The ids of the users `POST /api/v1/search/users {"query": email}` finds with exactly this email.
async fn search_users(server: &TestServer, token: &str, email: &str) -> Vec<String> {
    let (status, body) = server.post("/api/v1/search/users", token, &json!({"query": email, "pageSize": 100})).await;
    assert_eq!(status, 200, "search users {email}: {body}");
    body["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|view| view["user"]["email"] == email)
        .map(|view| view["user"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// The caller's user id, by introspection.
async fn my_user_id(server: &TestServer, token: &str) -> String {
    let (status, me) = server.get("/api/v1/auth/introspect", token).await;
    assert_eq!(status, 200, "{me}");
    me["userId"].as_str().expect("userId").to_string()
}

/// A well-formed token that no invitation has: 32 random bytes as base64url.
pub fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator must be available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Microseconds since the epoch of an RFC 3339 time in a response.
#[track_caller]
fn micros(time: &Value) -> i64 {
    Timestamp::parse_rfc3339(time.as_str().unwrap_or_else(|| panic!("not a time: {time}")))
        .unwrap_or_else(|_| panic!("not an RFC 3339 time: {time}"))
        .micros()
}

/// Moves an invitation's expiry into the past, behind the server's back.
pub async fn expire_now(server: &TestServer, id: &str) {
    let past = Timestamp::now().micros() - 60_000_000;
    let changed =
        server.database.execute(&format!("UPDATE invitations SET expires_at = {past} WHERE id = '{id}'")).await;
    assert_eq!(changed, 1, "one invitation row {id}");
}

/// The stored status of an invitation (`PENDING`, `EXPIRED`, ...), read with SQL.
async fn stored_status(server: &TestServer, id: &str) -> Option<String> {
    server.database.query_text(&format!("SELECT status FROM invitations WHERE id = '{id}'")).await
}

/// A web page: (status, content type, body).
async fn web(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.text().await.expect("page body"))
}

async fn get_page(server: &TestServer, token: &str) -> (u16, String, String) {
    web(server.http.get(server.url(&format!("/invite/{token}"))).send().await.expect("GET /invite")).await
}

/// Posts the accept form as a browser does: with the anti-forgery token its cookie calls for (the token of
/// any of onramp's forms in this browser; a used or revoked link shows no form).
async fn post_page(server: &TestServer, token: &str, display_name: &str, password: &str) -> (u16, String, String) {
    let browser = crate::account::Browser::new(server, "invitee");
    let csrf = browser.get("/signin").await.csrf();
    let form = [("csrf", csrf.as_str()), ("displayName", display_name), ("password", password)];
    let response = browser.http.post(server.url(&format!("/invite/{token}"))).form(&form).send().await;
    web(response.expect("POST /invite")).await
}

#[track_caller]
fn assert_html(case: &str, (status, content_type, body): &(u16, String, String), want_status: u16, contains: &[&str]) {
    assert_eq!(*status, want_status, "{case}: status; page {body}");
    assert!(content_type.starts_with("text/html"), "{case}: content type {content_type}");
    for text in contains {
        assert!(body.contains(text), "{case}: the page must contain {text:?}: {body}");
    }
}

/// Asserts the page of an expired or withdrawn invitation: 410, `sentence` ("This invitation expired on")
/// with the date in words in a `<time>` holding the exact instant `at` (an RFC 3339 field of the
/// invitation), then whom to ask (`next`), and no accept form.
#[track_caller]
fn assert_ended_page(case: &str, page: &(u16, String, String), sentence: &str, at: &Value, next: &str) {
    let at = Timestamp::parse_rfc3339(at.as_str().unwrap()).unwrap();
    let words = TimeInWords::new(at, Timestamp::now());
    let time = format!(r#"<time datetime="{}" title="{}">{}</time>."#, words.datetime, words.exact, words.date);
    assert_html(case, page, 410, &[&format!("{sentence} {time}"), next]);
    assert!(!page.2.contains("<form"), "{case}: no form on a dead link: {}", page.2);
}

/// Asserts a refusal with this status and code whose message contains `text`.
#[track_caller]
fn assert_refused(case: &str, response: &(u16, Value), status: u16, code: i64, text: &str) {
    assert_api_error(case, response, status, code);
    let message = response.1["message"].as_str().unwrap();
    assert!(message.to_lowercase().contains(text), "{case}: the message must say {text:?}: {}", response.1);
}

// Tests.

/// An invitation records every field given, the caller as `invitedByUserId`, PENDING, and an expiry of
/// creation plus the directory's TTL; GET answers the same. The email goes to the invitee with a link
/// under the public URL; the token in it appears in no API answer, and the database keeps only its hash.
async fn create_records_every_field_and_hides_the_secret(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let me = my_user_id(&server, &token).await;
    let directory = create_directory(&server, &token, "Contractors", json!({"invitationTtl": "7200s"})).await;
    let sponsor = server.create_user(&token, &json!({"email": "sponsor@example.com", "displayName": "Sponsor"})).await;
    let extra = json!({
        "displayName": "Ada Lovelace",
        "initialRoleIds": ["basic-user", DIRECTORY_ADMIN_ROLE],
        "sponsorUserId": sponsor,
        "purpose": "Q3 audit",
        "jobId": "job-42",
    });
    let (status, created) = post_invitation(&server, &token, &directory, "ada@example.com", extra).await;
    assert_eq!(status, 200, "{created}");
    let invitation = &created["invitation"];
    let id = invitation["id"].as_str().expect("an id");
    assert_eq!(id.len(), 24, "{created}");
    assert_eq!(invitation["directoryAppId"], directory, "{created}");
    assert_eq!(invitation["email"], "ada@example.com", "{created}");
    assert_eq!(invitation["displayName"], "Ada Lovelace", "{created}");
    let mut roles: Vec<&str> =
        invitation["initialRoleIds"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, [DIRECTORY_ADMIN_ROLE, BASIC_USER_ROLE], "role names become ids: {created}");
    assert_eq!(invitation["sponsorUserId"], sponsor, "{created}");
    assert_eq!(invitation["purpose"], "Q3 audit", "{created}");
    assert_eq!(invitation["jobId"], "job-42", "{created}");
    assert_eq!(invitation["invitedByUserId"], me, "the caller: {created}");
    assert_eq!(invitation["status"], PENDING, "{created}");
    assert!(invitation["acceptedAt"].is_null(), "{created}");
    assert_eq!(invitation["createdUserId"], "", "{created}");
    assert_eq!(
        micros(&invitation["expiresAt"]) - micros(&invitation["createdAt"]),
        7200 * 1_000_000,
        "expiresAt = createdAt + the directory's TTL: {created}"
    );
    let got = get_invitation(&server, &token, &directory, id).await;
    assert_eq!(got, *invitation, "GET answers what create did");
    // A later invitation takes the directory's TTL as it is then.
    let update = json!({"localDirectoryConfig": {"invitationTtl": "3600s"}, "updateMask": "invitationTtl"});
    assert_eq!(server.post(&directory_path(&directory), &token, &update).await.0, 200);
    let later = invite(&server, &token, &directory, "later@example.com", Value::Null).await;
    assert_eq!(micros(&later["expiresAt"]) - micros(&later["createdAt"]), 3600 * 1_000_000, "{later}");
    assert_eq!(get_invitation(&server, &token, &directory, id).await["expiresAt"], invitation["expiresAt"]);

    // The email: to the invitee, with a link under the server's public URL.
    let mails = mails_to(&server, "ada@example.com", 1).await;
    assert_eq!(mails.len(), 1, "one email");
    let secret = mails[0].invite_token().unwrap_or_else(|| panic!("no link in:\n{}", mails[0].raw));
    assert!(
        mails[0].text.contains(&format!("{}/invite/{secret}", server.base_url)),
        "the link is under the public URL {}: {}",
        server.base_url,
        mails[0].text
    );
    assert!(!mails[0].subject.is_empty(), "a subject: {}", mails[0].raw);

    // The secret is in no answer of the API...
    let searched = search(&server, &token, &json!({"directoryAppId": directory})).await;
    assert_eq!(searched.0, 200, "{}", searched.1);
    for (what, body) in [("create", &created), ("get", &json!({"invitation": got})), ("search", &searched.1)] {
        assert!(!body.to_string().contains(&secret), "{what} must not show the secret: {body}");
    }
    // ... and the database holds only a hash of it, and the sent email's body no longer.
    let hash = server.database.query_text(&format!("SELECT secret_hash FROM invitations WHERE id = '{id}'")).await;
    let hash = hash.expect("a stored hash");
    assert!(!hash.contains(&secret) && !hash.is_empty(), "the secret is stored hashed: {hash}");
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let sql = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE body LIKE '%{secret}%' OR html_body LIKE '%{secret}%'"
        );
        if server.database.query_text(&sql).await.as_deref() == Some("0") {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox still holds the link after the email was sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
both_backends!(create_records_every_field_and_hides_the_secret);

/// Names outside ASCII make the email's subject and body use MIME encodings; the link still arrives whole
/// and accepts, and the decoded text reads as written.
async fn a_non_ascii_email_still_carries_its_link(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Équipe Café", Value::Null).await;
    invite(&server, &token, &directory, "zoe@example.com", json!({"displayName": "Zoë Ångström"})).await;
    let mails = mails_to(&server, "zoe@example.com", 1).await;
    let mail = &mails[0];
    assert!(!mail.subject.contains("=?"), "the subject's encoded words are decoded: {:?}", mail.subject);
    assert!(
        mail.text.contains("Zoë") || mail.text.contains("Équipe") || mail.subject.contains("Équipe"),
        "the decoded text reads as written: {:?} / {}",
        mail.subject,
        mail.text
    );
    let secret = mail.invite_token().unwrap_or_else(|| panic!("no link in:\n{}", mail.raw));
    let (status, body) = accept(&server, &secret, "", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["displayName"], "Zoë Ångström", "{body}");
}
both_backends!(a_non_ascii_email_still_carries_its_link);

/// Bad input is refused with a 400 that names the field, and leaves no invitation behind; an unknown
/// directory is 404.
async fn bad_invitations_name_their_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Strict", Value::Null).await;
    let gone = server.create_user(&token, &json!({"email": "gone@example.com", "displayName": "Gone"})).await;
    crate::apps::delete_user(&server, &gone).await;
    let (_, theirs) = server.other_tenant("rival").await;
    let their_user = my_user_id(&server, &theirs).await;
    let path = invitations_path(&directory);
    let long_name = "x".repeat(257);
    for (case, body, field) in [
        ("malformed email", json!({"email": "not-an-email", "displayName": "X"}), "email"),
        ("two at signs", json!({"email": "a@b@example.com", "displayName": "X"}), "email"),
        ("no email", json!({"displayName": "X"}), "email"),
        ("no display name", json!({"email": "x@example.com"}), "displayName"),
        ("blank display name", json!({"email": "x@example.com", "displayName": "   "}), "displayName"),
        ("display name too long", json!({"email": "x@example.com", "displayName": long_name}), "displayName"),
        (
            "unknown role name",
            json!({"email": "x@example.com", "displayName": "X", "initialRoleIds": ["basic-user", "wizard"]}),
            "initialRoleIds[1]",
        ),
        (
            "unknown role id",
            json!({"email": "x@example.com", "displayName": "X", "initialRoleIds": [BASIC_USER_ROLE, Id::new().to_string()]}),
            "initialRoleIds[1]",
        ),
        (
            "unknown sponsor",
            json!({"email": "x@example.com", "displayName": "X", "sponsorUserId": Id::new().to_string()}),
            "sponsorUserId",
        ),
        (
            "unknown onboarding flow",
            json!({"email": "x@example.com", "displayName": "X", "onboardingFlowId": Id::new().to_string()}),
            "onboardingFlowId",
        ),
        (
            "malformed sponsor",
            json!({"email": "x@example.com", "displayName": "X", "sponsorUserId": "nope"}),
            "sponsorUserId",
        ),
        (
            "deleted sponsor",
            json!({"email": "x@example.com", "displayName": "X", "sponsorUserId": gone}),
            "sponsorUserId",
        ),
        (
            "another tenant's sponsor",
            json!({"email": "x@example.com", "displayName": "X", "sponsorUserId": their_user}),
            "sponsorUserId",
        ),
    ] {
        assert_names_field(case, &server.post(&path, &token, &body).await, field);
    }
    assert!(search_ids(&server, &token, &json!({})).await.is_empty(), "refused creates leave nothing");

    let body = json!({"email": "x@example.com", "displayName": "X"});
    let unknown = Id::new().to_string();
    assert_api_error("unknown directory", &server.post(&invitations_path(&unknown), &token, &body).await, 404, 5);
    let plain_app = create_app(&server, &token, "Not a directory").await;
    assert_api_error(
        "an app that is no directory",
        &server.post(&invitations_path(&plain_app), &token, &body).await,
        404,
        5,
    );
    assert_api_error("get unknown", &server.get(&invitation_path(&directory, &unknown), &token).await, 404, 5);
}
both_backends!(bad_invitations_name_their_field);

/// One pending invitation per email and directory (409); the same email in another directory is fine, and
/// so is a new one once the first is revoked; the email of a live user is 409, of a deleted one fine.
async fn duplicates_and_existing_users_conflict(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let a = create_directory(&server, &token, "A", Value::Null).await;
    let b = create_directory(&server, &token, "B", Value::Null).await;
    let first = invite(&server, &token, &a, "dup@example.com", Value::Null).await;
    let response = post_invitation(&server, &token, &a, "dup@example.com", Value::Null).await;
    assert_api_error("second pending invitation", &response, 409, 6);
    let response = post_invitation(&server, &token, &a, "DUP@Example.com", Value::Null).await;
    assert_api_error("second pending invitation, other case", &response, 409, 6);
    invite(&server, &token, &b, "dup@example.com", Value::Null).await;

    let path = format!("{}/revoke", invitation_path(&a, first["id"].as_str().unwrap()));
    assert_eq!(server.post(&path, &token, &json!({})).await.0, 200);
    let again = invite(&server, &token, &a, "dup@example.com", Value::Null).await;
    assert_ne!(again["id"], first["id"]);

    server.create_user(&token, &json!({"email": "taken@example.com", "displayName": "Taken"})).await;
    let response = post_invitation(&server, &token, &a, "taken@example.com", Value::Null).await;
    assert_api_error("email of a live user", &response, 409, 6);
    // The bootstrap admin is a live user too.
    let response = post_invitation(&server, &token, &a, "admin@example.com", Value::Null).await;
    assert_api_error("email of the admin", &response, 409, 6);

    let gone = server.create_user(&token, &json!({"email": "gone@example.com", "displayName": "Gone"})).await;
    crate::apps::delete_user(&server, &gone).await;
    invite(&server, &token, &a, "gone@example.com", Value::Null).await;

    let ids = search_ids(&server, &token, &json!({"directoryAppId": a, "statusFilter": PENDING})).await;
    assert_eq!(ids.len(), 2, "dup (again) and gone: {ids:?}");
}
both_backends!(duplicates_and_existing_users_conflict);

/// Ten simultaneous invitations of one email into one directory: the database lets exactly one be made
/// (the others 409), and one email is sent.
async fn concurrent_duplicate_invitations_make_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Busy", Value::Null).await;
    let start = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, start, token) = (server.http.clone(), start.clone(), token.clone());
        let url = server.url(&invitations_path(&directory));
        tasks.push(tokio::spawn(async move {
            let body = json!({"email": "once@example.com", "displayName": "Once"});
            start.wait().await;
            read(http.post(url).bearer_auth(token).json(&body).send().await.expect("invite")).await
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("task"));
    }
    assert_eq!(responses.iter().filter(|(status, _)| *status == 200).count(), 1, "{responses:?}");
    for response in responses.iter().filter(|(status, _)| *status != 200) {
        assert_api_error("a duplicate", response, 409, 6);
    }
    assert_eq!(search_ids(&server, &token, &json!({"directoryAppId": directory})).await.len(), 1);
    mails_to(&server, "once@example.com", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail::mail_to(server.database.dir.path(), "once@example.com").len(), 1, "one email");
}
both_backends!(concurrent_duplicate_invitations_make_one);

/// Revoke ends a pending invitation (its link refused as revoked); a second revoke, or a resend of it, is a
/// failed precondition naming the status. Resend gives a new expiry and a new email with a new secret: the
/// old one is then unknown and the new one accepts. Every transition is audited.
async fn revoke_and_resend(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Churn", Value::Null).await;

    let revoked = invite(&server, &token, &directory, "revoked@example.com", Value::Null).await;
    let revoked_id = revoked["id"].as_str().unwrap();
    let revoked_secret = invite_token(&server, "revoked@example.com").await;
    let (status, body) =
        server.post(&format!("{}/revoke", invitation_path(&directory, revoked_id)), &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["invitation"]["status"], REVOKED, "{body}");
    assert_eq!(get_invitation(&server, &token, &directory, revoked_id).await["status"], REVOKED);
    let response =
        server.post(&format!("{}/revoke", invitation_path(&directory, revoked_id)), &token, &json!({})).await;
    assert_refused("revoke twice", &response, 400, 9, "revoked");
    let response =
        server.post(&format!("{}/resend", invitation_path(&directory, revoked_id)), &token, &json!({})).await;
    assert_refused("resend a revoked invitation", &response, 400, 9, "revoked");
    assert_refused(
        "accept a revoked invitation",
        &accept(&server, &revoked_secret, "R", PASSWORD).await,
        400,
        9,
        "revoked",
    );
    // The link's page says when it was withdrawn (the revocation's time) and who sent it.
    let revoked_at = &get_invitation(&server, &token, &directory, revoked_id).await["updatedAt"];
    assert_ended_page(
        "the page of a revoked invitation",
        &get_page(&server, &revoked_secret).await,
        "This invitation was withdrawn on",
        revoked_at,
        "Administrator (admin@example.com) invited you: ask them whether you should still join.",
    );
    let unknown = Id::new().to_string();
    let response = server.post(&format!("{}/revoke", invitation_path(&directory, &unknown)), &token, &json!({})).await;
    assert_api_error("revoke unknown", &response, 404, 5);

    let invitation = invite(&server, &token, &directory, "resent@example.com", Value::Null).await;
    let id = invitation["id"].as_str().unwrap();
    let old_secret = invite_token(&server, "resent@example.com").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (status, body) = server.post(&format!("{}/resend", invitation_path(&directory, id)), &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let resent = &body["invitation"];
    assert_eq!(resent["status"], PENDING, "{body}");
    assert_eq!(resent["id"], id, "{body}");
    assert!(
        micros(&resent["expiresAt"]) >= micros(&invitation["expiresAt"]),
        "a new expiry: {body} after {invitation}"
    );
    let mails = mails_to(&server, "resent@example.com", 2).await;
    let secrets: Vec<String> = mails.iter().map(|mail| mail.invite_token().expect("a link")).collect();
    let new_secret =
        secrets.iter().find(|secret| **secret != old_secret).expect("a second email with a new secret").clone();
    assert!(!body.to_string().contains(&new_secret), "the resend answer hides the new secret: {body}");
    assert_eq!(get_invitation(&server, &token, &directory, id).await["expiresAt"], resent["expiresAt"]);

    let response = accept(&server, &old_secret, "Resent", PASSWORD).await;
    assert_api_error("the old secret after a resend", &response, 404, 5);
    let (status, accepted) = accept(&server, &new_secret, "Resent", PASSWORD).await;
    assert_eq!(status, 200, "the new secret accepts: {accepted}");
    let user_id = accepted["user"]["id"].as_str().unwrap().to_string();
    let response = server.post(&format!("{}/resend", invitation_path(&directory, id)), &token, &json!({})).await;
    assert_refused("resend an accepted invitation", &response, 400, 9, "accepted");
    let response = server.post(&format!("{}/revoke", invitation_path(&directory, id)), &token, &json!({})).await;
    assert_refused("revoke an accepted invitation", &response, 400, 9, "accepted");

    let actions = audit_actions(&server, &token).await;
    let on = |object: &str| -> Vec<String> {
        actions.iter().filter(|(_, o)| o == object).map(|(action, _)| action.clone()).collect()
    };
    assert_eq!(on(revoked_id), ["invitation.create", "invitation.revoke"], "{actions:?}");
    assert_eq!(on(id), ["invitation.create", "invitation.resend", "invitation.accept"], "{actions:?}");
    assert!(on(&user_id).contains(&"user.create".to_string()), "the user's creation is audited: {actions:?}");
}
both_backends!(revoke_and_resend);

/// The search filters by directory and status and pages in creation order; a bad status filter, a
/// tampered page token and another query's token are refused.
async fn search_filters_and_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let a = create_directory(&server, &token, "A", Value::Null).await;
    let b = create_directory(&server, &token, "B", Value::Null).await;
    let mut in_a = Vec::new();
    for n in 0..12 {
        let invitation = invite(&server, &token, &a, &format!("a{n}@example.com"), Value::Null).await;
        in_a.push(invitation["id"].as_str().unwrap().to_string());
    }
    let mut in_b = Vec::new();
    for n in 0..2 {
        let invitation = invite(&server, &token, &b, &format!("b{n}@example.com"), Value::Null).await;
        in_b.push(invitation["id"].as_str().unwrap().to_string());
    }
    for id in [&in_a[1], &in_a[4]] {
        assert_eq!(server.post(&format!("{}/revoke", invitation_path(&a, id)), &token, &json!({})).await.0, 200);
    }

    // Pages of 10 (the smallest page size) over A: 10 then 2, in creation order.
    let pages = search_pages(&server, &token, &json!({"directoryAppId": a}), 10).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 2]);
    let ids: Vec<&str> = pages.iter().flatten().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, in_a, "every invitation of A once, in creation order");
    assert!(pages.iter().flatten().all(|i| i["directoryAppId"] == a));

    let all: Vec<String> = in_a.iter().chain(&in_b).cloned().collect();
    assert_eq!(search_ids(&server, &token, &json!({})).await, all, "no filter: everything");
    assert_eq!(search_ids(&server, &token, &json!({"directoryAppId": b})).await, in_b);
    let revoked = search_ids(&server, &token, &json!({"directoryAppId": a, "statusFilter": REVOKED})).await;
    assert_eq!(revoked, [in_a[1].clone(), in_a[4].clone()]);
    let pending = search_ids(&server, &token, &json!({"directoryAppId": a, "statusFilter": PENDING})).await;
    let want: Vec<String> =
        in_a.iter().enumerate().filter(|(n, _)| *n != 1 && *n != 4).map(|(_, id)| id.clone()).collect();
    assert_eq!(pending, want);
    let pending_everywhere = search_ids(&server, &token, &json!({"statusFilter": PENDING})).await;
    assert_eq!(pending_everywhere.len(), 12, "{pending_everywhere:?}");
    assert!(search_ids(&server, &token, &json!({"statusFilter": ACCEPTED})).await.is_empty());
    let unspecified =
        search_ids(&server, &token, &json!({"statusFilter": "LOCAL_INVITATION_STATUS_UNSPECIFIED"})).await;
    assert_eq!(unspecified, all, "UNSPECIFIED is no filter");

    let response = search(&server, &token, &json!({"statusFilter": "OPEN"})).await;
    assert_names_field("bad status filter", &response, "statusFilter");
    let response = search(&server, &token, &json!({"directoryAppId": "nope"})).await;
    assert_names_field("malformed directory id", &response, "directoryAppId");

    let (_, first) = search(&server, &token, &json!({"directoryAppId": a, "pageSize": 10})).await;
    let good = first["nextPageToken"].as_str().expect("a next page").to_string();
    assert!(!good.is_empty(), "{first}");
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response = search(&server, &token, &json!({"directoryAppId": a, "pageSize": 10, "pageToken": tampered})).await;
    assert_api_error("tampered page token", &response, 400, 3);
    let response = search(&server, &token, &json!({"directoryAppId": b, "pageSize": 10, "pageToken": good})).await;
    assert_api_error("a page token of another query", &response, 400, 3);
}
both_backends!(search_filters_and_pages);

/// A pending invitation past its expiry is EXPIRED to every reader at once (GET, search, accept, the web
/// page, revoke and resend), a new invitation for the email may be made, and the background sweep writes
/// EXPIRED to the row with an `invitation.expire` audit event.
async fn expired_invitations_read_as_expired_and_are_swept(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Short", json!({"invitationTtl": "3600s"})).await;
    let invitation = invite(&server, &token, &directory, "late@example.com", Value::Null).await;
    let id = invitation["id"].as_str().unwrap().to_string();
    let secret = invite_token(&server, "late@example.com").await;
    expire_now(&server, &id).await;

    assert_eq!(get_invitation(&server, &token, &directory, &id).await["status"], EXPIRED);
    let expired = search_ids(&server, &token, &json!({"statusFilter": EXPIRED})).await;
    assert_eq!(expired, std::slice::from_ref(&id));
    assert!(search_ids(&server, &token, &json!({"statusFilter": PENDING})).await.is_empty());
    assert_refused(
        "accept an expired invitation",
        &accept(&server, &secret, "Late", PASSWORD).await,
        400,
        9,
        "expired",
    );
    let expires_at = &get_invitation(&server, &token, &directory, &id).await["expiresAt"];
    let ask = "Ask Administrator (admin@example.com) to send you a new one.";
    let page = get_page(&server, &secret).await;
    assert_ended_page("the page of an expired invitation", &page, "This invitation expired on", expires_at, ask);
    // Submitting the form of an invitation that expired since it was shown: the same words.
    let page = post_page(&server, &secret, "Late", PASSWORD).await;
    assert_ended_page("the form of an expired invitation", &page, "This invitation expired on", expires_at, ask);
    let response = server.post(&format!("{}/resend", invitation_path(&directory, &id)), &token, &json!({})).await;
    assert_refused("resend an expired invitation", &response, 400, 9, "expired");
    let response = server.post(&format!("{}/revoke", invitation_path(&directory, &id)), &token, &json!({})).await;
    assert_refused("revoke an expired invitation", &response, 400, 9, "expired");
    assert!(users_with_email(&server, &token, "late@example.com").await.is_empty(), "no user");

    // The sweep persists it, once, with an audit event.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored_status(&server, &id).await.as_deref() != Some("EXPIRED") {
        assert!(Instant::now() < deadline, "the sweep never wrote EXPIRED: {:?}", stored_status(&server, &id).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let actions = audit_actions(&server, &token).await;
    let expires: Vec<_> = actions.iter().filter(|(action, _)| action == "invitation.expire").collect();
    assert_eq!(expires.len(), 1, "one invitation.expire event: {actions:?}");
    assert_eq!(expires[0].1, id, "{actions:?}");
    assert_eq!(get_invitation(&server, &token, &directory, &id).await["status"], EXPIRED, "still expired");

    // The email may be invited again.
    let again = invite(&server, &token, &directory, "late@example.com", Value::Null).await;
    assert_eq!(again["status"], PENDING, "{again}");
}
both_backends!(expired_invitations_read_as_expired_and_are_swept);

/// Accepting creates the user (origin LOCAL, in the directory, with the initial roles and the sponsor,
/// enabled, findable by search) and marks the invitation ACCEPTED with when and whom; the secret is
/// single-use. Bad passwords and unknown tokens are refused without consuming anything.
async fn accept_creates_the_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Guests", Value::Null).await;
    let sponsor = server.create_user(&token, &json!({"email": "sponsor@example.com", "displayName": "Sponsor"})).await;
    let extra = json!({"displayName": "Invited Name", "initialRoleIds": ["basic-user"], "sponsorUserId": sponsor});
    let invitation = invite(&server, &token, &directory, "newbie@example.com", extra).await;
    let id = invitation["id"].as_str().unwrap().to_string();
    let secret = invite_token(&server, "newbie@example.com").await;

    assert_names_field("short password", &accept(&server, &secret, "N", "elevenchars").await, "password");
    assert_names_field("long password", &accept(&server, &secret, "N", &"p".repeat(1025)).await, "password");
    assert_api_error("unknown token", &accept(&server, &random_token(), "N", PASSWORD).await, 404, 5);
    assert_eq!(get_invitation(&server, &token, &directory, &id).await["status"], PENDING, "nothing consumed");
    assert!(search_users(&server, &token, "newbie@example.com").await.is_empty(), "no user yet");

    let (status, body) = accept(&server, &secret, "Chosen Name", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains(PASSWORD), "the password is not echoed: {body}");
    assert!(!body.to_string().contains(&secret), "nor the secret: {body}");
    let user = &body["user"];
    let user_id = user["id"].as_str().expect("the user's id").to_string();
    assert_eq!(user["email"], "newbie@example.com", "{body}");
    assert_eq!(user["displayName"], "Chosen Name", "{body}");
    assert_eq!(user["origin"], "USER_ORIGIN_LOCAL", "{body}");
    assert_eq!(user["directoryIds"], json!([directory]), "{body}");
    assert_eq!(user["roleIds"], json!([BASIC_USER_ROLE]), "{body}");
    assert_eq!(user["status"], "ENABLED", "{body}");
    assert_eq!(user["profile"]["sponsorUserId"], sponsor, "{body}");
    let accepted = &body["invitation"];
    assert_eq!(accepted["id"], id, "{body}");
    assert_eq!(accepted["status"], ACCEPTED, "{body}");
    assert_eq!(accepted["createdUserId"], user_id, "{body}");
    let accepted_at = micros(&accepted["acceptedAt"]);
    assert!(accepted_at >= micros(&accepted["createdAt"]), "{body}");

    let got = get_invitation(&server, &token, &directory, &id).await;
    assert_eq!((&got["status"], &got["createdUserId"]), (&json!(ACCEPTED), &json!(user_id)), "{got}");
    assert_eq!(micros(&got["acceptedAt"]), accepted_at, "{got}");
    let (status, stored) = server.get(&format!("/api/v1/users/{user_id}"), &token).await;
    assert_eq!(status, 200, "{stored}");
    let stored = &stored["userView"]["user"];
    for field in ["email", "displayName", "origin", "directoryIds", "roleIds", "status", "profile"] {
        assert_eq!(stored[field], user[field], "{field}: GET {stored} vs accept {user}");
    }
    assert_eq!(
        search_users(&server, &token, "newbie@example.com").await,
        std::slice::from_ref(&user_id),
        "search finds the user"
    );

    let response = accept(&server, &secret, "Again", PASSWORD).await;
    assert_refused("accept twice", &response, 409, 6, "already been accepted");
    assert_eq!(users_with_email(&server, &token, "newbie@example.com").await.len(), 1, "still one user");

    // An empty display name takes the invitation's; no roles, no sponsor.
    let plain =
        invite(&server, &token, &directory, "plain@example.com", json!({"displayName": "From Invitation"})).await;
    let secret = invite_token(&server, "plain@example.com").await;
    let (status, body) = accept(&server, &secret, "", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["displayName"], "From Invitation", "{body}");
    assert!(body["user"]["roleIds"].as_array().is_none_or(|roles| roles.is_empty()), "{body}");
    assert!(body["user"]["profile"].get("sponsorUserId").is_none(), "{body}");
    assert_eq!(body["invitation"]["id"], plain["id"]);
}
both_backends!(accept_creates_the_user);

/// An email taken by a live user after the invitation was made refuses the accept with 409, and the
/// invitation stays PENDING: once the user is gone, the same secret accepts.
async fn accept_refuses_an_email_taken_since(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Racy", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "taken@example.com", Value::Null).await;
    let id = invitation["id"].as_str().unwrap();
    let secret = invite_token(&server, "taken@example.com").await;
    let squatter = server.create_user(&token, &json!({"email": "taken@example.com", "displayName": "Squatter"})).await;

    assert_api_error("email taken since", &accept(&server, &secret, "Late", PASSWORD).await, 409, 6);
    assert_eq!(get_invitation(&server, &token, &directory, id).await["status"], PENDING);
    assert_eq!(users_with_email(&server, &token, "taken@example.com").await.len(), 1, "only the squatter");

    crate::apps::delete_user(&server, &squatter).await;
    let (status, body) = accept(&server, &secret, "Late", PASSWORD).await;
    assert_eq!(status, 200, "the secret still works: {body}");
    assert_eq!(get_invitation(&server, &token, &directory, id).await["status"], ACCEPTED);
}
both_backends!(accept_refuses_an_email_taken_since);

/// Fifty simultaneous accepts of one invitation: exactly one succeeds and creates the one user; the
/// others get 409 saying it has already been accepted.
async fn fifty_concurrent_accepts_make_one_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Popular", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "crowd@example.com", Value::Null).await;
    let secret = invite_token(&server, "crowd@example.com").await;

    let start = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for n in 0..50 {
        let (http, url, start) = (server.http.clone(), server.url(ACCEPT), start.clone());
        let body = json!({"token": secret, "displayName": format!("Racer {n}"), "password": PASSWORD});
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            read(http.post(url).json(&body).send().await.expect("accept")).await
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("task"));
    }
    let winners: Vec<&Value> = responses.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
    assert_eq!(winners.len(), 1, "exactly one accept succeeds: {responses:?}");
    for response in responses.iter().filter(|(status, _)| *status != 200) {
        assert_refused("a losing accept", response, 409, 6, "already been accepted");
    }
    let users = users_with_email(&server, &token, "crowd@example.com").await;
    assert_eq!(users.len(), 1, "one user: {users:?}");
    assert_eq!(users[0]["id"], winners[0]["user"]["id"]);
    assert_eq!(users[0]["displayName"], winners[0]["user"]["displayName"]);
    let got = get_invitation(&server, &token, &directory, invitation["id"].as_str().unwrap()).await;
    assert_eq!((&got["status"], &got["createdUserId"]), (&json!(ACCEPTED), &users[0]["id"]), "{got}");
}
both_backends!(fifty_concurrent_accepts_make_one_user);

/// A revoke racing an accept leaves one of two consistent outcomes: revoked with no user (the accept
/// refused as revoked), or accepted with the user (the revoke refused as not pending).
///
/// An accept spends most of its time hashing the password, so a revoke sent at the same moment would
/// always win. The rounds therefore start the revoke later and later, from at once to past the time an
/// accept takes (measured first), so that some land inside the accept — between its reading the
/// invitation and its commit — which is the race that matters. Which outcome each round has is timing
/// and is only printed; every round must be one of the two.
async fn revoke_racing_accept_has_one_outcome(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Contested", Value::Null).await;
    invite(&server, &token, &directory, "calibration@example.com", Value::Null).await;
    let secret = invite_token(&server, "calibration@example.com").await;
    let started = Instant::now();
    assert_eq!(accept(&server, &secret, "Calibration", PASSWORD).await.0, 200);
    let accept_takes = started.elapsed();
    let rounds: u32 = 12;
    let mut outcomes = Vec::new();
    for round in 0..rounds {
        let revoke_delay = accept_takes * 3 / 2 * round / rounds;
        let email = format!("race{round}@example.com");
        let invitation = invite(&server, &token, &directory, &email, Value::Null).await;
        let id = invitation["id"].as_str().unwrap().to_string();
        let secret = invite_token(&server, &email).await;
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let revoke = {
            let (http, start) = (server.http.clone(), start.clone());
            let url = server.url(&format!("{}/revoke", invitation_path(&directory, &id)));
            let token = token.clone();
            tokio::spawn(async move {
                start.wait().await;
                tokio::time::sleep(revoke_delay).await;
                read(http.post(url).bearer_auth(token).json(&json!({})).send().await.expect("revoke")).await
            })
        };
        let accept = {
            let (http, start) = (server.http.clone(), start.clone());
            let body = json!({"token": secret, "displayName": "Racer", "password": PASSWORD});
            let url = server.url(ACCEPT);
            tokio::spawn(async move {
                start.wait().await;
                read(http.post(url).json(&body).send().await.expect("accept")).await
            })
        };
        let (revoked, accepted) = (revoke.await.unwrap(), accept.await.unwrap());
        let users = users_with_email(&server, &token, &email).await;
        let status = get_invitation(&server, &token, &directory, &id).await["status"].clone();
        let case = format!("round {round}: revoke {revoked:?}, accept {accepted:?}");
        if revoked.0 == 200 {
            assert_refused(&case, &accepted, 400, 9, "revoked");
            assert!(users.is_empty(), "{case}: no user, found {users:?}");
            assert_eq!(status, REVOKED, "{case}");
            outcomes.push(format!("{revoke_delay:?}: revoked"));
        } else {
            assert_eq!(accepted.0, 200, "{case}: one of the two must win");
            assert_refused(&case, &revoked, 400, 9, "accepted");
            assert_eq!(users.len(), 1, "{case}: the user exists");
            assert_eq!(users[0]["id"], accepted.1["user"]["id"], "{case}");
            assert_eq!(status, ACCEPTED, "{case}");
            outcomes.push(format!("{revoke_delay:?}: accepted"));
        }
    }
    eprintln!("an accept takes {accept_takes:?}; revoke delay and outcome per round: {outcomes:?}");
}
both_backends!(revoke_racing_accept_has_one_outcome);

/// The web page: GET shows a form (and consumes nothing, so it can be opened twice); posting the form
/// accepts; a used, revoked or unknown link shows its own message with its own status.
async fn web_page_accepts_with_a_form(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Web", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "web@example.com", json!({"displayName": "Web Person"})).await;
    let id = invitation["id"].as_str().unwrap();
    let secret = invite_token(&server, "web@example.com").await;

    for open in ["first", "second"] {
        let page = get_page(&server, &secret).await;
        assert_html(&format!("{open} GET"), &page, 200, &["<form", "name=\"displayName\"", "name=\"password\""]);
        let lower = page.2.to_lowercase();
        assert!(lower.contains("method=\"post\""), "{open} GET: the form posts: {}", page.2);
    }
    assert_eq!(get_invitation(&server, &token, &directory, id).await["status"], PENDING, "opening consumes nothing");

    assert_html("bad password", &post_page(&server, &secret, "Web", "short").await, 400, &[]);
    assert_eq!(get_invitation(&server, &token, &directory, id).await["status"], PENDING);

    let page = post_page(&server, &secret, "Web Chosen", PASSWORD).await;
    assert_html("POST the form", &page, 200, &[]);
    let got = get_invitation(&server, &token, &directory, id).await;
    assert_eq!(got["status"], ACCEPTED, "{got}");
    let users = users_with_email(&server, &token, "web@example.com").await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["displayName"], "Web Chosen");
    assert_eq!(users[0]["origin"], "USER_ORIGIN_LOCAL");

    assert_html(
        "GET a used link",
        &get_page(&server, &secret).await,
        409,
        &["already been accepted", "href=\"/signin?next=%2F\""],
    );
    assert_html(
        "POST a used link",
        &post_page(&server, &secret, "Again", PASSWORD).await,
        409,
        &["already been accepted"],
    );

    let revoked = invite(&server, &token, &directory, "gone@example.com", Value::Null).await;
    let revoked_secret = invite_token(&server, "gone@example.com").await;
    let path = format!("{}/revoke", invitation_path(&directory, revoked["id"].as_str().unwrap()));
    assert_eq!(server.post(&path, &token, &json!({})).await.0, 200);
    let withdrawn = ["This invitation was withdrawn on", "Administrator (admin@example.com) invited you"];
    assert_html("GET a revoked link", &get_page(&server, &revoked_secret).await, 410, &withdrawn);
    assert_html("POST a revoked link", &post_page(&server, &revoked_secret, "X", PASSWORD).await, 410, &withdrawn);

    // An unknown link reveals nothing: no form, no inviter, no date.
    let unknown = get_page(&server, &random_token()).await;
    assert_html("GET an unknown link", &unknown, 404, &["not valid"]);
    assert!(!unknown.2.contains("name=\"password\""), "no form for an unknown link: {}", unknown.2);
    assert!(!unknown.2.contains("admin@example.com") && !unknown.2.contains("<time"), "{}", unknown.2);
}
both_backends!(web_page_accepts_with_a_form);

/// A directory that allows self-registration takes an email of an allowed domain without
/// authentication, sends it an invitation (invited by no one), and the user exists only once it is
/// accepted; other domains are 400 naming email, and a directory that does not allow it is 403.
async fn self_registration_within_allowed_domains(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let open = json!({"allowSelfRegistration": true, "selfRegistrationDomains": ["example.org"]});
    let directory = create_directory(&server, &token, "Open", open).await;
    let closed = create_directory(&server, &token, "Closed", Value::Null).await;
    let register = |directory: &str, email: &str| {
        let url = server.url(&format!("{}/self-registrations", directory_path(directory)));
        let body = json!({"email": email, "displayName": "Self Registered"});
        let request = server.http.post(url).json(&body);
        async move { read(request.send().await.expect("self-registration")).await }
    };

    let (status, body) = register(&directory, "a@example.org").await;
    assert_eq!((status, &body), (200, &json!({})), "{body}");
    let secret = invite_token(&server, "a@example.org").await;
    assert!(users_with_email(&server, &token, "a@example.org").await.is_empty(), "no user before accepting");
    let invitations = search_pages(&server, &token, &json!({"directoryAppId": directory}), 100).await;
    let invitation = invitations.into_iter().flatten().next().expect("an invitation");
    assert_eq!(invitation["email"], "a@example.org", "{invitation}");
    assert_eq!(invitation["status"], PENDING, "{invitation}");
    assert_eq!(invitation["invitedByUserId"].as_str().unwrap_or_default(), "", "invited by no one: {invitation}");

    let (status, body) = accept(&server, &secret, "Self Made", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["directoryIds"], json!([directory]), "{body}");
    assert_eq!(body["user"]["origin"], "USER_ORIGIN_LOCAL", "{body}");
    assert_eq!(users_with_email(&server, &token, "a@example.org").await.len(), 1);

    assert_names_field("another domain", &register(&directory, "a@other.com").await, "email");
    assert_names_field("a subdomain is another domain", &register(&directory, "a@sub.example.org").await, "email");
    assert_names_field("malformed email", &register(&directory, "not-an-email").await, "email");
    assert_api_error("a closed directory", &register(&closed, "a@example.org").await, 403, 7);
    assert_api_error("an unknown directory", &register(&Id::new().to_string(), "b@example.org").await, 404, 5);
}
both_backends!(self_registration_within_allowed_domains);

/// Another tenant cannot see, change or search our invitations; the read-only admin reads but cannot
/// write; a basic user can do neither; a directory admin invites and is recorded as the inviter.
async fn tenants_and_roles(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Walled", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "walled@example.com", Value::Null).await;
    let id = invitation["id"].as_str().unwrap();
    let path = invitation_path(&directory, id);

    let (_, theirs) = server.other_tenant("rival").await;
    assert_api_error("their get", &server.get(&path, &theirs).await, 404, 5);
    assert_api_error("their revoke", &server.post(&format!("{path}/revoke"), &theirs, &json!({})).await, 404, 5);
    assert_api_error("their resend", &server.post(&format!("{path}/resend"), &theirs, &json!({})).await, 404, 5);
    let response = post_invitation(&server, &theirs, &directory, "intruder@example.com", Value::Null).await;
    assert_api_error("their invite into our directory", &response, 404, 5);
    assert!(search_ids(&server, &theirs, &json!({})).await.is_empty(), "they find nothing");
    assert!(search_ids(&server, &theirs, &json!({"directoryAppId": directory})).await.is_empty());

    // Under another directory of ours, the invitation is not found either.
    let elsewhere = create_directory(&server, &token, "Elsewhere", Value::Null).await;
    let wrong_path = invitation_path(&elsewhere, id);
    assert_api_error("get under another directory", &server.get(&wrong_path, &token).await, 404, 5);
    let response = server.post(&format!("{wrong_path}/revoke"), &token, &json!({})).await;
    assert_api_error("revoke under another directory", &response, 404, 5);
    let response = server.post(&format!("{wrong_path}/resend"), &token, &json!({})).await;
    assert_api_error("resend under another directory", &response, 404, 5);

    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    assert_eq!(server.get(&path, &reader).await.0, 200);
    assert_eq!(search(&server, &reader, &json!({})).await.0, 200);
    let response = post_invitation(&server, &reader, &directory, "r@example.com", Value::Null).await;
    assert_api_error("reader invites", &response, 403, 7);
    assert_api_error("reader revokes", &server.post(&format!("{path}/revoke"), &reader, &json!({})).await, 403, 7);
    assert_api_error("reader resends", &server.post(&format!("{path}/resend"), &reader, &json!({})).await, 403, 7);

    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("basic user gets", &server.get(&path, &basic).await, 403, 7);
    assert_api_error("basic user searches", &search(&server, &basic, &json!({})).await, 403, 7);
    let response = post_invitation(&server, &basic, &directory, "b@example.com", Value::Null).await;
    assert_api_error("basic user invites", &response, 403, 7);
    assert_eq!(
        get_invitation(&server, &token, &directory, id).await["status"],
        PENDING,
        "refused writes change nothing"
    );

    let (_, directory_admin) = server.credential_with_roles("dirs@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let inviter = my_user_id(&server, &directory_admin).await;
    let theirs_now = invite(&server, &directory_admin, &directory, "invited@example.com", Value::Null).await;
    assert_eq!(theirs_now["invitedByUserId"], inviter, "{theirs_now}");
    let path = invitation_path(&directory, theirs_now["id"].as_str().unwrap());
    let (status, body) = server.post(&format!("{path}/resend"), &directory_admin, &json!({})).await;
    assert_eq!(status, 200, "directory admin resends: {body}");
    let (status, body) = server.post(&format!("{path}/revoke"), &directory_admin, &json!({})).await;
    assert_eq!(status, 200, "directory admin revokes: {body}");

    // Nobody hands out more than they hold: a directory admin invites basic users and directory admins, not
    // admins; an admin invites admins, not super-admins; only a super-admin invites super-admins.
    let roles = |names: &[&str]| json!({"initialRoleIds": names});
    let ok =
        invite(&server, &directory_admin, &directory, "peer@example.com", roles(&["basic-user", "directory-admin"]))
            .await;
    assert_eq!(ok["initialRoleIds"].as_array().unwrap().len(), 2, "{ok}");
    let response = post_invitation(&server, &directory_admin, &directory, "boss@example.com", roles(&["admin"])).await;
    assert_api_error("directory admin invites an admin", &response, 403, 7);
    assert!(response.1["message"].as_str().unwrap().contains("initialRoleIds"), "{}", response.1);
    let (_, admin) = server.credential_with_roles("admin2@example.com", &[BuiltinRole::Admin]).await;
    invite(&server, &admin, &directory, "second-admin@example.com", roles(&["admin", "read-only-admin"])).await;
    let response = post_invitation(&server, &admin, &directory, "root@example.com", roles(&["super-admin"])).await;
    assert_api_error("admin invites a super-admin", &response, 403, 7);
    invite(&server, &token, &directory, "root@example.com", roles(&["super-admin"])).await;

    let unauthenticated = read(server.http.post(server.url(SEARCH)).json(&json!({})).send().await.unwrap()).await;
    assert_api_error("search without a token", &unauthenticated, 401, 16);
}
both_backends!(tenants_and_roles);

/// Names and purposes go into emails and pages on one line: a line break or other control character is
/// refused naming the field, on invitations, self-registrations and acceptance.
async fn names_are_one_line(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let open = json!({"allowSelfRegistration": true});
    let directory = create_directory(&server, &token, "Lines", open).await;
    let phishing = "Hi\nYour account is locked: visit https://evil.example/unlock";
    for (field, extra) in
        [("displayName", json!({"displayName": phishing})), ("purpose", json!({"purpose": "a\u{7}b"}))]
    {
        let response = post_invitation(&server, &token, &directory, "lines@example.com", extra).await;
        assert_names_field(field, &response, field);
    }
    let url = server.url(&format!("{}/self-registrations", directory_path(&directory)));
    let body = json!({"email": "self@example.com", "displayName": phishing});
    let response = read(server.http.post(&url).json(&body).send().await.unwrap()).await;
    assert_names_field("self-registration", &response, "displayName");

    // A self-registration's name, typed by anyone, is not repeated in the email it sends.
    let body = json!({"email": "self@example.com", "displayName": "Visit evil.example now"});
    assert_eq!(read(server.http.post(&url).json(&body).send().await.unwrap()).await.0, 200);
    let mail = mails_to(&server, "self@example.com", 1).await.remove(0);
    assert!(!mail.text.contains("evil.example"), "{}", mail.text);

    invite(&server, &token, &directory, "lines@example.com", Value::Null).await;
    let secret = invite_token(&server, "lines@example.com").await;
    let response = accept(&server, &secret, "Two\nLines", PASSWORD).await;
    assert_names_field("accept", &response, "displayName");
    assert_eq!(accept(&server, &secret, "One Line", PASSWORD).await.0, 200, "the refusal did not use the link");
}
both_backends!(names_are_one_line);

/// Guessing tokens is limited: wrong guesses from one address are answered 404 until, after some number
/// of them, 429 (RESOURCE_EXHAUSTED). Kept in its own test, with its own server, since the limit is the
/// server's.
async fn wrong_guesses_are_rate_limited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut refused_after = None;
    for attempt in 1..=1000 {
        let response = accept(&server, &random_token(), "Guesser", PASSWORD).await;
        if response.0 == 429 {
            assert_api_error("a guess over the limit", &response, 429, 8);
            refused_after = Some(attempt);
            break;
        }
        assert_api_error(&format!("wrong guess {attempt}"), &response, 404, 5);
    }
    let attempts = refused_after.expect("1000 wrong guesses were never limited");
    eprintln!("wrong guesses limited after {attempts} attempts");
    let response = accept(&server, &random_token(), "Guesser", PASSWORD).await;
    assert_api_error("the next guess", &response, 429, 8);
}
both_backends!(wrong_guesses_are_rate_limited);
