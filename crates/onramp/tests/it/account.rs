//! A local user's account over HTTP (issue #13, items 3 to 6), as a browser uses it: sign-in with the
//! anti-forgery token, server-side sessions (only the token's hash stored, cookie attributes, rotation,
//! idle and absolute limits, the list of sessions, signing one out or all), the account page (profile,
//! password change), forgotten passwords (the emailed link, its single use, its distinct refusals, every
//! session ended) and two-step sign-in (enrolment, codes, recovery codes, replay, turning it off).

use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::{PASSWORD, accept, invite, invite_token, mails_to};
use crate::support::{Backend, TestServer};

const NEW_PASSWORD: &str = "lantern orchard violet nineteen";

/// A browser: its own cookies, redirects not followed (each answer is looked at).
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

/// One answer to the browser.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub retry_after: Option<String>,
    pub html: String,
}

impl Answer {
    /// The anti-forgery token of the page's forms.
    pub fn csrf(&self) -> String {
        let mark = "name=\"csrf\" value=\"";
        let at = self.html.find(mark).unwrap_or_else(|| panic!("no csrf field in the page:\n{}", self.html));
        let rest = &self.html[at + mark.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    pub fn assert_redirect(&self, case: &str, to: &str) {
        assert_eq!((self.status, self.location.as_deref()), (303, Some(to)), "{case}: {}", self.html);
    }
}

impl Browser {
    pub fn new(server: &TestServer, user_agent: &str) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent.to_string())
            .build()
            .unwrap();
        Browser { http, base: server.base_url.clone() }
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let header =
            |name| response.headers().get(name).map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_string());
        let location = header(reqwest::header::LOCATION);
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let set_cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        Answer {
            status: response.status().as_u16(),
            location,
            set_cookies,
            retry_after,
            html: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::answer(self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")).await
    }

    /// Posts `fields` to `action` as is (no anti-forgery token added).
    pub async fn post(&self, action: &str, fields: &[(&str, &str)]) -> Answer {
        Self::answer(self.http.post(format!("{}{action}", self.base)).form(fields).send().await.expect("POST")).await
    }

    /// Opens `page`, then posts `fields` to `action` with the page's anti-forgery token, as a person
    /// filling in the form does.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let shown = self.get(page).await;
        assert_eq!(shown.status, 200, "GET {page}: {}", shown.html);
        let csrf = shown.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Signs in with the sign-in form and returns the answer.
    pub async fn sign_in(&self, email: &str, password: &str) -> Answer {
        self.submit("/signin", "/signin", &[("email", email), ("password", password)]).await
    }
}

/// A local user: invited into a new directory without a flow and accepted through the API.
pub async fn local_user(server: &TestServer, email: &str) -> String {
    let token = server.admin_token().await;
    let directory = create_directory(server, &token, "Staff", json!({})).await;
    invite(server, &token, &directory, email, json!({})).await;
    let secret = invite_token(server, email).await;
    let (status, body) = accept(server, &secret, "", PASSWORD).await;
    assert_eq!(status, 200, "accept: {body}");
    body["user"]["id"].as_str().or(body["invitation"]["createdUserId"].as_str()).unwrap().to_string()
}

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1
}

async fn count(server: &TestServer, sql: &str) -> i64 {
    server.database.query_text(&format!("SELECT CAST(({sql}) AS TEXT)")).await.unwrap().parse().unwrap()
}

/// Sign-in with the form: the anti-forgery token is required; a wrong password and an unknown email get
/// the same answer; the session cookie is HttpOnly, SameSite=Lax, Path=/, and the database keeps only the
/// token's SHA-256; `GET /` leads to the account; a new sign-in makes a new session and ends the old one;
/// signing out ends it; `next` leads only to this site.
async fn sign_in_and_sessions(backend: Backend) {
    let server = TestServer::start(backend).await;
    local_user(&server, "ada@example.com").await;
    let browser = Browser::new(&server, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0");

    let home = browser.get("/").await;
    home.assert_redirect("signed out, / leads to sign-in", "/signin");
    let page = browser.get("/signin").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("autocomplete=\"username\"") && page.html.contains("autocomplete=\"current-password\""));
    assert!(
        page.set_cookies.iter().any(|c| c.starts_with("onramp_csrf=") && c.contains("HttpOnly")),
        "{:?}",
        page.set_cookies
    );

    // Without the token, or with another's, nothing is checked.
    let forged = browser.post("/signin", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    let other = Browser::new(&server, "other");
    let other_token = other.get("/signin").await.csrf();
    let foreign =
        browser.post("/signin", &[("csrf", &other_token), ("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(foreign.status, 403, "another browser's token");

    let wrong = browser.sign_in("ada@example.com", "not the password at all").await;
    let unknown = browser.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert!(wrong.html.contains("Wrong email or password") && unknown.html.contains("Wrong email or password"));
    assert!(wrong.html.contains("aria-invalid=\"true\""), "the error is tied to its field");
    assert!(!wrong.html.contains("not the password at all"), "a password is never sent back");

    let signed_in = browser.sign_in("ADA@example.com", PASSWORD).await;
    signed_in.assert_redirect("sign-in", "/");
    let cookie = signed_in.set_cookies.iter().find(|c| c.starts_with("onramp_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http public URL: not Secure");
    let token = cookie_value(cookie).to_string();
    assert_eq!(token.len(), 43);
    let hash = onramp_core::invite::token_hash(&token);
    assert_eq!(count(&server, &format!("SELECT COUNT(*) FROM sessions WHERE token_hash = '{hash}'")).await, 1);
    assert_eq!(count(&server, &format!("SELECT COUNT(*) FROM sessions WHERE token_hash = '{token}'")).await, 0);

    browser.get("/").await.assert_redirect("signed in, / leads to the account", "/account");
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.html.contains("ada@example.com") && account.html.contains("Firefox on Linux"), "{}", account.html);

    // Signing in again: a new token, the old session gone.
    let again = browser.sign_in("ada@example.com", PASSWORD).await;
    let second = cookie_value(again.set_cookies.iter().find(|c| c.starts_with("onramp_session=")).unwrap()).to_string();
    assert_ne!(second, token, "a new session at each sign-in");
    assert_eq!(count(&server, &format!("SELECT COUNT(*) FROM sessions WHERE token_hash = '{hash}'")).await, 0);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM sessions").await, 1);

    // `next` only to this site.
    let elsewhere = browser
        .submit(
            "/signin",
            "/signin",
            &[("email", "ada@example.com"), ("password", PASSWORD), ("next", "//evil.example/")],
        )
        .await;
    elsewhere.assert_redirect("a foreign next", "/");
    let onward = browser
        .submit("/signin", "/signin", &[("email", "ada@example.com"), ("password", PASSWORD), ("next", "/account?x=1")])
        .await;
    onward.assert_redirect("a local next", "/account?x=1");

    let out = browser.submit("/account", "/signout", &[]).await;
    out.assert_redirect("sign out", "/signin?done=signedout");
    assert!(out.set_cookies.iter().any(|c| c.starts_with("onramp_session=;") && c.contains("Max-Age=0")));
    assert_eq!(count(&server, "SELECT COUNT(*) FROM sessions").await, 0);
    browser.get("/account").await.assert_redirect("signed out", "/signin?next=%2Faccount");
}
both_backends!(sign_in_and_sessions);

/// Sessions end by their limits: idle for an hour, or twelve hours after they began (moved into the past
/// in the database, not waited for); the list shows every device and signs one out, or all.
async fn session_limits_and_the_list(backend: Backend) {
    let server = TestServer::start(backend).await;
    local_user(&server, "bea@example.com").await;
    let laptop = Browser::new(&server, "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36");
    let phone = Browser::new(&server, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1");
    laptop.sign_in("bea@example.com", PASSWORD).await.assert_redirect("laptop", "/");
    phone.sign_in("bea@example.com", PASSWORD).await.assert_redirect("phone", "/");

    let account = laptop.get("/account").await;
    assert!(
        account.html.contains("Chrome on Windows") && account.html.contains("Safari on iPhone"),
        "{}",
        account.html
    );
    let phone_id = server
        .database
        .query_text("SELECT id FROM sessions WHERE user_agent LIKE '%iPhone%'")
        .await
        .expect("the phone's session");
    let out = laptop.submit("/account", &format!("/account/sessions/{phone_id}/signout"), &[]).await;
    out.assert_redirect("sign out the phone", "/account?done=session");
    phone.get("/account").await.assert_redirect("the phone is signed out", "/signin?next=%2Faccount");
    laptop.get("/account").await;

    // Another user's session cannot be signed out from here.
    local_user(&server, "cat@example.com").await;
    let cat = Browser::new(&server, "cat");
    cat.sign_in("cat@example.com", PASSWORD).await;
    let cat_id = server.database.query_text("SELECT id FROM sessions WHERE user_agent = 'cat'").await.unwrap();
    let refused = laptop.submit("/account", &format!("/account/sessions/{cat_id}/signout"), &[]).await;
    assert_eq!(refused.status, 404, "{}", refused.html);
    assert_eq!(cat.get("/account").await.status, 200, "cat is still signed in");

    // Idle: last seen over an hour ago.
    let hour_ago = onramp_domain::Timestamp::now().micros() - 3_601_000_000;
    server.database.execute(&format!("UPDATE sessions SET last_seen_at = {hour_ago} WHERE user_agent = 'cat'")).await;
    cat.get("/account").await.assert_redirect("idle", "/signin?next=%2Faccount");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM sessions WHERE user_agent = 'cat'").await, 0, "deleted when met");
    // Absolute: however recently used.
    let past = onramp_domain::Timestamp::now().micros() - 1;
    server.database.execute(&format!("UPDATE sessions SET expires_at = {past}")).await;
    laptop.get("/account").await.assert_redirect("past its lifetime", "/signin?next=%2Faccount");

    laptop.sign_in("bea@example.com", PASSWORD).await;
    phone.sign_in("bea@example.com", PASSWORD).await;
    let everywhere = phone.submit("/account", "/account/sessions/signout-all", &[]).await;
    everywhere.assert_redirect("sign out everywhere", "/signin?done=everywhere");
    laptop.get("/account").await.assert_redirect("the laptop too", "/signin?next=%2Faccount");
}
both_backends!(session_limits_and_the_list);

/// The account page changes the profile and the password: the current password must be right, the new
/// one confirmed and not guessable; a change ends the other sessions and the old password stops working.
async fn profile_and_password_change(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = local_user(&server, "dan@example.com").await;
    let browser = Browser::new(&server, "desk");
    let other = Browser::new(&server, "phone");
    browser.sign_in("dan@example.com", PASSWORD).await;
    other.sign_in("dan@example.com", PASSWORD).await;

    // Only the fields the tenant lets its users edit are offered, and taken.
    let admin = server.admin_token().await;
    let page = browser.get("/account").await;
    assert!(!page.html.contains("name=\"jobTitle\"") && page.html.contains("ask an administrator"), "{}", page.html);
    let refused = browser.submit("/account", "/account/profile", &[("jobTitle", "Pilot")]).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(
        refused.html.contains("You cannot change jobTitle: your organisation does not let its people edit it"),
        "{}",
        refused.html
    );
    let editable = json!({"userEditableFields": ["displayName", "jobTitle", "department"]});
    assert_eq!(server.post("/api/v1/settings/tenant", &admin, &editable).await.0, 200);
    let saved = browser
        .submit(
            "/account",
            "/account/profile",
            &[("displayName", "Dan Dare"), ("jobTitle", "Pilot"), ("department", "Space")],
        )
        .await;
    saved.assert_redirect("profile", "/account?done=profile");
    let not_editable = browser.submit("/account", "/account/profile", &[("employmentType", "Contractor")]).await;
    assert_eq!(not_editable.status, 400, "{}", not_editable.html);
    let (_, user) = server.get(&format!("/api/v1/users/{user_id}"), &admin).await;
    let user = &user["userView"]["user"];
    assert_eq!((user["displayName"].as_str(), user["jobTitle"].as_str()), (Some("Dan Dare"), Some("Pilot")), "{user}");
    let empty = browser.submit("/account", "/account/profile", &[("displayName", "  ")]).await;
    assert_eq!(empty.status, 400);
    assert!(empty.html.contains("href=\"#displayName\""), "the summary leads to the field: {}", empty.html);

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        let browser = &browser;
        async move {
            browser
                .submit(
                    "/account",
                    "/account/password",
                    &[("currentPassword", current), ("password", new), ("passwordConfirm", confirm)],
                )
                .await
        }
    };
    let wrong_current = change("not my password at all", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(wrong_current.status, 400);
    assert!(wrong_current.html.contains("Current password: is not your current password"), "{}", wrong_current.html);
    let weak = change(PASSWORD, "password1234", "password1234").await;
    assert_eq!(weak.status, 400);
    assert!(weak.html.contains("too easy to guess"), "{}", weak.html);
    let mismatch = change(PASSWORD, NEW_PASSWORD, "lantern orchard violet twenty").await;
    assert_eq!(mismatch.status, 400);
    assert!(mismatch.html.contains("not the same"), "{}", mismatch.html);

    change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("change", "/account?done=password");
    assert_eq!(browser.get("/account").await.status, 200, "this session stays");
    other.get("/account").await.assert_redirect("the other session ends", "/signin?next=%2Faccount");
    assert_eq!(other.sign_in("dan@example.com", PASSWORD).await.status, 401, "the old password");
    other.sign_in("dan@example.com", NEW_PASSWORD).await.assert_redirect("the new password", "/");
}
both_backends!(profile_and_password_change);

/// A disabled account is told so only after its password was right; a wrong one gets the usual answer.
async fn disabled_users_cannot_sign_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = local_user(&server, "eve@example.com").await;
    let admin = server.admin_token().await;
    let (status, body) = server
        .post(
            &format!("/api/v1/users/{user_id}"),
            &admin,
            &json!({"user": {"status": "DISABLED"}, "updateMask": "status"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let browser = Browser::new(&server, "b");
    let wrong = browser.sign_in("eve@example.com", "not the password at all").await;
    assert_eq!(wrong.status, 401);
    assert!(!wrong.html.contains("turned off"));
    let right = browser.sign_in("eve@example.com", PASSWORD).await;
    assert_eq!(right.status, 403, "{}", right.html);
    assert!(right.html.contains("turned off"), "{}", right.html);
    assert!(right.set_cookies.iter().all(|c| !c.starts_with("onramp_session=")), "no session");
}
both_backends!(disabled_users_cannot_sign_in);

/// The reset link of the newest reset email to `to`.
pub async fn reset_token(server: &TestServer, to: &str, count: usize) -> String {
    let mails = mails_to(server, to, count).await;
    let newest = mails.last().unwrap();
    let text = &newest.text;
    let at = text.find("/reset/").unwrap_or_else(|| panic!("no reset link:\n{}", newest.raw)) + "/reset/".len();
    text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Forgot password: the same answer for an address with and without an account, one email to the account,
/// the link opened any number of times without being used, a weak or mismatched new password refused, the
/// right one set once (every session ended), then the link is used; unknown and expired links each say so.
async fn password_reset(backend: Backend) {
    let server = TestServer::start(backend).await;
    local_user(&server, "fay@example.com").await;
    let signed_in = Browser::new(&server, "old");
    signed_in.sign_in("fay@example.com", PASSWORD).await;
    let browser = Browser::new(&server, "new");

    let known = browser.submit("/forgot", "/forgot", &[("email", "fay@example.com")]).await;
    let unknown = browser.submit("/forgot", "/forgot", &[("email", "nobody@example.com")]).await;
    known.assert_redirect("known", "/forgot/sent");
    unknown.assert_redirect("unknown: the same answer", "/forgot/sent");
    let forged = browser.post("/forgot", &[("email", "fay@example.com")]).await;
    assert_eq!(forged.status, 403);
    let token = reset_token(&server, "fay@example.com", 1).await;
    assert_eq!(token.len(), 43);
    let mails = crate::support::mail::read_all(server.database.dir.path());
    assert!(mails.iter().all(|mail| !mail.is_to("nobody@example.com")), "no email to an address without account");
    let hash = onramp_core::invite::token_hash(&token);
    assert_eq!(count(&server, &format!("SELECT COUNT(*) FROM password_resets WHERE secret_hash = '{hash}'")).await, 1);

    let path = format!("/reset/{token}");
    for _ in 0..2 {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "opening never uses it: {}", page.html);
        assert!(page.html.contains("autocomplete=\"new-password\""));
    }
    let weak = browser.submit(&path, &path, &[("password", "password1234"), ("passwordConfirm", "password1234")]).await;
    assert_eq!(weak.status, 400);
    let mismatch = browser
        .submit(&path, &path, &[("password", NEW_PASSWORD), ("passwordConfirm", "something else entirely")])
        .await;
    assert_eq!(mismatch.status, 400);
    let done = browser.submit(&path, &path, &[("password", NEW_PASSWORD), ("passwordConfirm", NEW_PASSWORD)]).await;
    done.assert_redirect("reset", "/signin?done=reset");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM sessions").await, 0, "every session ended");
    signed_in.get("/account").await.assert_redirect("the old session", "/signin?next=%2Faccount");
    assert_eq!(browser.sign_in("fay@example.com", PASSWORD).await.status, 401);
    browser.sign_in("fay@example.com", NEW_PASSWORD).await.assert_redirect("new password", "/");

    let used = browser.get(&path).await;
    assert_eq!(used.status, 409, "{}", used.html);
    assert!(used.html.contains("has been used already"), "{}", used.html);
    let unknown = browser.get(&format!("/reset/{}", crate::invitations::random_token())).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.html.contains("is not valid"), "{}", unknown.html);

    browser.submit("/forgot", "/forgot", &[("email", "fay@example.com")]).await;
    let second = reset_token(&server, "fay@example.com", 2).await;
    let past = onramp_domain::Timestamp::now().micros() - 1;
    server.database.execute(&format!("UPDATE password_resets SET expires_at = {past}")).await;
    let expired = browser.get(&format!("/reset/{second}")).await;
    assert_eq!(expired.status, 410, "{}", expired.html);
    assert!(expired.html.contains("has expired"), "{}", expired.html);
}
both_backends!(password_reset);

/// Asking for reset links is limited per client address (429 with Retry-After, whatever the address) and
/// per account (past it, the same answer and no email).
async fn reset_requests_are_limited(backend: Backend) {
    use onramp_core::limits::Bucket;
    let server = TestServer::start_with(backend, |config| {
        config.limits.resets_per_address = Bucket { burst: 3, every: Duration::from_secs(3600) };
        config.limits.resets_per_account = Bucket { burst: 1, every: Duration::from_secs(3600) };
    })
    .await;
    local_user(&server, "gus@example.com").await;
    let browser = Browser::new(&server, "b");
    for email in ["gus@example.com", "gus@example.com", "nobody@example.com"] {
        browser.submit("/forgot", "/forgot", &[("email", email)]).await.assert_redirect("asked", "/forgot/sent");
    }
    let limited = browser.submit("/forgot", "/forgot", &[("email", "somebody@example.com")]).await;
    assert_eq!(limited.status, 429, "{}", limited.html);
    assert!(limited.retry_after.is_some());
    reset_token(&server, "gus@example.com", 1).await;
    let mails = crate::support::mail::mail_to(server.database.dir.path(), "gus@example.com");
    assert_eq!(mails.iter().filter(|m| m.text.contains("/reset/")).count(), 1, "one email past the account's limit");
}
both_backends!(reset_requests_are_limited);

/// The key shown on the two-step setup page.
pub fn key_of(html: &str) -> String {
    let mark = "<code class=\"secret-key\">";
    let at = html.find(mark).unwrap_or_else(|| panic!("no key on the page:\n{html}")) + mark.len();
    html[at..html[at..].find('<').unwrap() + at].replace(' ', "")
}

/// The recovery codes on the page that shows them.
fn recovery_codes_of(html: &str) -> Vec<String> {
    html.split("<li><code>").skip(1).map(|rest| rest[..rest.find('<').unwrap()].to_string()).collect()
}

/// Two-step sign-in: enrolment with a QR code and the key, confirmed by a code; 10 recovery codes shown
/// once and stored hashed; sign-in then asks for a code (the password alone opens nothing); a code is not
/// accepted twice; a recovery code works once; turning it off needs the password and a code.
async fn two_step_sign_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    local_user(&server, "hal@example.com").await;
    let browser = Browser::new(&server, "b");
    browser.sign_in("hal@example.com", PASSWORD).await;
    browser.submit("/account", "/account/two-step/start", &[]).await.assert_redirect("start", "/account/two-step");
    let setup = browser.get("/account/two-step").await;
    assert!(setup.html.contains("<svg class=\"qr\""), "{}", setup.html);
    let key = key_of(&setup.html);
    assert_eq!(key.len(), 32, "160 bits in base32: {key}");

    let wrong = browser.submit("/account/two-step", "/account/two-step/confirm", &[("code", "000000")]).await;
    let wrong = if onramp_core::totp::code_now(&key) == "000000" { return } else { wrong };
    assert_eq!(wrong.status, 400, "{}", wrong.html);
    let code = onramp_core::totp::code_now(&key);
    let shown = browser.submit("/account/two-step", "/account/two-step/confirm", &[("code", &code)]).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    let codes = recovery_codes_of(&shown.html);
    assert_eq!(codes.len(), 10, "{}", shown.html);
    let first_hash = server
        .database
        .query_text("SELECT code_hash FROM totp_recovery_codes ORDER BY code_hash LIMIT 1")
        .await
        .unwrap();
    assert!(codes.iter().all(|code| !first_hash.contains(code.as_str())), "stored hashed");
    assert!(browser.get("/account").await.html.contains("10 unused recovery codes"));

    // Sign in again: the password leads to the code, and the half-done session opens nothing.
    browser.submit("/account", "/signout", &[]).await;
    let first = browser.sign_in("hal@example.com", PASSWORD).await;
    first.assert_redirect("password right", "/signin/code?next=");
    browser.get("/account").await.assert_redirect("not yet signed in", "/signin?next=%2Faccount");
    // A code already used (its step is not later than the last accepted) is refused.
    server.database.execute("UPDATE user_totp SET last_step = 99999999999").await;
    let replay = browser.submit("/signin/code", "/signin/code", &[("code", &onramp_core::totp::code_now(&key))]).await;
    assert_eq!(replay.status, 401, "{}", replay.html);
    assert!(replay.html.contains("used already"), "{}", replay.html);
    server.database.execute("UPDATE user_totp SET last_step = 0").await;
    let good = browser.submit("/signin/code", "/signin/code", &[("code", &onramp_core::totp::code_now(&key))]).await;
    good.assert_redirect("code", "/");
    assert_eq!(browser.get("/account").await.status, 200);

    // A recovery code, once.
    browser.submit("/account", "/signout", &[]).await;
    browser.sign_in("hal@example.com", PASSWORD).await;
    let recovered = browser.submit("/signin/code", "/signin/code", &[("code", &codes[0].to_uppercase())]).await;
    recovered.assert_redirect("recovery code", "/");
    browser.submit("/account", "/signout", &[]).await;
    browser.sign_in("hal@example.com", PASSWORD).await;
    let again = browser.submit("/signin/code", "/signin/code", &[("code", &codes[0])]).await;
    assert_eq!(again.status, 401, "a recovery code works once");
    browser.submit("/signin/code", "/signin/code", &[("code", &codes[1])]).await.assert_redirect("another", "/");
    assert!(browser.get("/account").await.html.contains("8 unused recovery codes"));

    // Off: the password and a code.
    let no_password = browser
        .submit(
            "/account",
            "/account/two-step/off",
            &[("totpPassword", "not the password at all"), ("totpCode", &codes[2])],
        )
        .await;
    assert_eq!(no_password.status, 400, "{}", no_password.html);
    let off = browser
        .submit("/account", "/account/two-step/off", &[("totpPassword", PASSWORD), ("totpCode", &codes[2])])
        .await;
    off.assert_redirect("off", "/account?done=totp-off");
    browser.submit("/account", "/signout", &[]).await;
    browser.sign_in("hal@example.com", PASSWORD).await.assert_redirect("no code asked", "/");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM totp_recovery_codes").await, 0);
}
both_backends!(two_step_sign_in);

/// Wrong passwords at the sign-in page are limited per client address: 429 with Retry-After, and the
/// form again.
async fn sign_in_is_limited(backend: Backend) {
    use onramp_core::limits::Bucket;
    let server = TestServer::start_with(backend, |config| {
        config.limits.passwords_per_address = Bucket { burst: 2, every: Duration::from_secs(3600) };
    })
    .await;
    local_user(&server, "ida@example.com").await;
    let browser = Browser::new(&server, "b");
    for _ in 0..2 {
        assert_eq!(browser.sign_in("ida@example.com", "not the password at all").await.status, 401);
    }
    let limited = browser.sign_in("ida@example.com", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.html);
    assert!(limited.retry_after.is_some() && limited.html.contains("Too many wrong passwords"), "{}", limited.html);
}
both_backends!(sign_in_is_limited);
