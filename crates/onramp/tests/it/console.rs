//! The admin console over HTTP (issue #14), as a browser uses it: getting in (the first start's one-time
//! link, `signin-link`'s refusals, sign-in with and without a second factor, the tenant's second-factor
//! requirement), who is kept out (no session, a non-admin, an expired session), the anti-forgery and
//! cross-site refusals, and the overview's counts.

use onramp_core::Core;
use onramp_domain::BuiltinRole;
use serde_json::json;

use crate::account::{Answer, Browser, local_user};
use crate::both_backends;
use crate::invitations::PASSWORD;
use crate::support::{Backend, TestServer};

pub const ADMIN_PASSWORD: &str = "copper meadow lantern ninety";

/// The path and query of a link printed with the public URL.
fn path_of(server: &TestServer, link: &str) -> String {
    link.strip_prefix(&server.base_url).unwrap_or_else(|| panic!("{link} is not under {}", server.base_url)).to_string()
}

/// Sets a password through a console sign-in link, as the person who received it does.
pub async fn set_password_by_link(browser: &Browser, path: &str, password: &str) -> Answer {
    let action = path.to_string();
    browser.submit(path, &action, &[("password", password), ("passwordConfirm", password)]).await
}

/// Signs in at `/signin` on the way to the console.
pub async fn sign_in_to_console(browser: &Browser, email: &str, password: &str) -> Answer {
    browser
        .submit("/signin?next=%2Fconsole", "/signin", &[("email", email), ("password", password), ("next", "/console")])
        .await
}

/// A user with `roles` (made as `onramp credential create` makes one), given a console password through a
/// `signin-link` link, and a browser signed in to the console as them.
pub async fn console_admin(server: &TestServer, email: &str, roles: &[BuiltinRole]) -> Browser {
    server.credential_with_roles(email, roles).await;
    let link = Core::offline(server.store.clone())
        .console_sign_in_link(&server.bootstrap.tenant_id, email, &server.base_url)
        .await
        .expect("a sign-in link for an admin");
    let path = format!("{}?next=%2Fconsole", path_of(server, link.url.expose()));
    let browser = Browser::new(server, email);
    set_password_by_link(&browser, &path, ADMIN_PASSWORD)
        .await
        .assert_redirect("password set", "/signin?done=reset&next=%2Fconsole");
    sign_in_to_console(&browser, email, ADMIN_PASSWORD).await.assert_redirect("signed in", "/console");
    browser
}

/// The first start prints a one-time link: the bootstrap super-admin (who had no password) sets one,
/// signs in at /signin and lands in the console; the link works once; the console sends anyone not
/// signed in to sign-in and back.
async fn first_start_link(backend: Backend) {
    let server = TestServer::start(backend).await;
    let browser = Browser::new(&server, "admin");
    browser.get("/console").await.assert_redirect("not signed in", "/signin?next=%2Fconsole");

    let path = path_of(&server, &server.console_link);
    assert!(path.starts_with("/reset/") && path.ends_with("?next=%2Fconsole"), "{path}");
    let secret = path.trim_start_matches("/reset/").split('?').next().unwrap().to_string();
    assert_eq!(secret.len(), 43, "256 bits in base64url");
    let stored = server.database.query_text("SELECT secret_hash FROM password_resets").await.unwrap();
    assert!(!stored.contains(&secret), "stored hashed");
    assert_eq!(
        server.database.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM outbox").await.as_deref(),
        Some("0"),
        "not emailed"
    );
    let expires =
        server.database.query_text("SELECT CAST(expires_at - created_at AS TEXT) FROM password_resets").await.unwrap();
    assert_eq!(expires, "3600000000", "one hour");

    let weak = set_password_by_link(&browser, &path, "password").await;
    assert_eq!(weak.status, 400, "{}", weak.html);
    set_password_by_link(&browser, &path, ADMIN_PASSWORD)
        .await
        .assert_redirect("set", "/signin?done=reset&next=%2Fconsole");
    let again = browser.get(&path).await;
    assert!(again.status >= 400 && again.html.contains("used already"), "{}: {}", again.status, again.html);

    let wrong = sign_in_to_console(&browser, "admin@example.com", "not the password at all").await;
    assert_eq!(wrong.status, 401, "{}", wrong.html);
    sign_in_to_console(&browser, "admin@example.com", ADMIN_PASSWORD).await.assert_redirect("in", "/console");
    let overview = browser.get("/console").await;
    assert_eq!(overview.status, 200, "{}", overview.html);
    assert!(overview.html.contains("<h1>Overview</h1>"), "{}", overview.html);
    assert!(overview.html.contains("aria-current=\"page\">Overview</a>"), "{}", overview.html);
    assert!(overview.html.contains("Super Administrator"), "the roles are shown: {}", overview.html);
    // The bootstrap super-admin is the one user, enabled.
    assert!(overview.html.contains("1 user in the directory"), "{}", overview.html);
    let policy = browser.http.get(server.url("/console")).send().await.unwrap();
    let csp = policy.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
}
both_backends!(first_start_link);

/// `onramp signin-link` refuses an unknown email and a user without an admin role, in words; an admin of
/// every admin role gets a link.
async fn sign_in_links(backend: Backend) {
    let server = TestServer::start(backend).await;
    let core = Core::offline(server.store.clone());
    let tenant = server.bootstrap.tenant_id;
    let unknown = core.console_sign_in_link(&tenant, "nobody@example.com", &server.base_url).await.unwrap_err();
    assert_eq!(unknown.code, onramp_core::Code::NotFound);
    assert!(unknown.message.contains("no user has the email \"nobody@example.com\""), "{}", unknown.message);
    server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    let basic = core.console_sign_in_link(&tenant, "basic@example.com", &server.base_url).await.unwrap_err();
    assert!(basic.message.contains("holds no administrator role"), "{}", basic.message);
    assert_eq!(
        server.database.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM password_resets").await.as_deref(),
        Some("1")
    );
    for (email, role) in [
        ("admin2@example.com", BuiltinRole::Admin),
        ("ro@example.com", BuiltinRole::ReadOnlyAdmin),
        ("dir@example.com", BuiltinRole::DirectoryAdmin),
    ] {
        let browser = console_admin(&server, email, &[role]).await;
        let page = browser.get("/console").await;
        assert_eq!(page.status, 200, "{email}: {}", page.html);
        assert!(page.html.contains(role.display_name()), "{email}: {}", page.html);
    }
}
both_backends!(sign_in_links);

/// A signed-in user without an admin role gets the 403 page; so does an admin whose role was taken
/// away since they signed in (roles are read on every request).
async fn non_admins_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    local_user(&server, "pat@example.com").await;
    let browser = Browser::new(&server, "pat");
    browser.sign_in("pat@example.com", PASSWORD).await;
    let refused = browser.get("/console").await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("The console is for administrators"), "{}", refused.html);
    assert!(!refused.html.contains("console-nav"), "no console shown: {}", refused.html);

    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    assert_eq!(admin.get("/console").await.status, 200);
    let token = server.admin_token().await;
    let id = server.database.query_text("SELECT id FROM users WHERE email = 'ada@example.com'").await.unwrap();
    let (status, body) = server
        .post(&format!("/api/v1/users/{id}"), &token, &json!({"user": {"roleIds": []}, "updateMask": "roleIds"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(admin.get("/console").await.status, 403, "the role is gone on the next request");
}
both_backends!(non_admins_are_refused);

/// The tenant's "console requires a second factor": an admin without TOTP sees only the page that leads
/// to setting it up; once set up, the console opens, and signing in again asks for the code on the way.
async fn second_factor_requirement(backend: Backend) {
    let server = TestServer::start(backend).await;
    let browser = console_admin(&server, "sam@example.com", &[BuiltinRole::Admin]).await;
    let token = server.admin_token().await;
    let (status, body) = server.get("/api/v1/settings/tenant", &token).await;
    assert_eq!((status, &body["consoleRequiresSecondFactor"]), (200, &json!(false)), "{body}");
    let (status, body) =
        server.post("/api/v1/settings/tenant", &token, &json!({"consoleRequiresSecondFactor": true})).await;
    assert_eq!((status, &body["consoleRequiresSecondFactor"]), (200, &json!(true)), "{body}");
    let (status, body) =
        server.post("/api/v1/settings/tenant", &token, &json!({"consoleRequiresSecondFactor": "yes"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("consoleRequiresSecondFactor"), "{body}");

    let asked = browser.get("/console").await;
    assert_eq!(asked.status, 403, "{}", asked.html);
    assert!(asked.html.contains("href=\"/account/two-step\""), "{}", asked.html);
    assert!(!asked.html.contains("console-nav"), "nothing of the console: {}", asked.html);

    browser.submit("/account", "/account/two-step/start", &[]).await.assert_redirect("start", "/account/two-step");
    let setup = browser.get("/account/two-step").await;
    let key = crate::account::key_of(&setup.html);
    let code = onramp_core::totp::code_now(&key);
    let shown = browser.submit("/account/two-step", "/account/two-step/confirm", &[("code", &code)]).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    assert_eq!(browser.get("/console").await.status, 200, "with TOTP the console opens");

    browser.submit("/console", "/signout", &[]).await.assert_redirect("out", "/signin?done=signedout");
    let first = sign_in_to_console(&browser, "sam@example.com", ADMIN_PASSWORD).await;
    first.assert_redirect("password", "/signin/code?next=%2Fconsole");
    browser.get("/console").await.assert_redirect("half signed in", "/signin?next=%2Fconsole");
    // The code of the enrolment's time step was used; the next accepted is a later one.
    server.database.execute("UPDATE user_totp SET last_step = 0").await;
    let code = onramp_core::totp::code_now(&key);
    let second =
        browser.submit("/signin/code?next=%2Fconsole", "/signin/code", &[("code", &code), ("next", "/console")]).await;
    second.assert_redirect("code", "/console");
    assert_eq!(browser.get("/console").await.status, 200);
}
both_backends!(second_factor_requirement);

/// Forms in the console carry the anti-forgery token: without it, or from another site, a POST is
/// refused (403) and changes nothing; an expired session leads back to sign-in.
async fn forgery_and_expiry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let browser = console_admin(&server, "kim@example.com", &[BuiltinRole::Admin]).await;
    let page = browser.get("/console").await;
    let csrf = page.csrf();
    let forged = browser.post("/signout", &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    let cross_site = browser
        .http
        .post(server.url("/signout"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status().as_u16(), 403);
    assert_eq!(browser.get("/console").await.status, 200, "still signed in");

    let hour_ago = onramp_domain::Timestamp::now().micros() - 3_601_000_000;
    server.database.execute(&format!("UPDATE sessions SET last_seen_at = {hour_ago}")).await;
    browser.get("/console").await.assert_redirect("idle", "/signin?next=%2Fconsole");
    sign_in_to_console(&browser, "kim@example.com", ADMIN_PASSWORD).await.assert_redirect("again", "/console");
    let past = onramp_domain::Timestamp::now().micros() - 1;
    server.database.execute(&format!("UPDATE sessions SET expires_at = {past}")).await;
    browser.get("/console").await.assert_redirect("past its lifetime", "/signin?next=%2Fconsole");
}
both_backends!(forgery_and_expiry);
