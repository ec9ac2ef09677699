//! The web pages in a real browser: the journeys of `web-tests/journeys/*.test.mjs` (playwright-core driving
//! Debian's Chromium, axe-core on every page, screenshots at 1280×800 and 390×844 in
//! `target/web-tests/<backend>/`) against the real server of this process, once per backend; and the unit
//! tests of the scripts' helper library (`web-tests/lib/*.test.mjs`).
//!
//! Journeys set up what they need through the API with the admin credential of the context
//! (`support::web`); what the API cannot do is prepared here and handed over in `fixtures`.

use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::{expire_now, invite, mails_to};
use crate::support::web::{NodeRun, context_for, run_scripts, test_scripts, web_tests_dir};
use crate::support::{Backend, TestServer};

/// The address of the invitation that [`fixtures`] lets expire.
const EXPIRED_INVITEE: &str = "edith.expired@example.com";

/// What the journeys need and cannot make through the API: `expiredInvitation`, an invitation whose email
/// has been sent and whose expiry then moved into the past (the sweep marks it EXPIRED soon after), and
/// `expiredResetLink`, a password reset link past its hour.
async fn fixtures(server: &TestServer) -> Value {
    let token = server.admin_token().await;
    let directory = create_directory(server, &token, "Expired links", Value::Null).await;
    let invitation = invite(server, &token, &directory, EXPIRED_INVITEE, json!({"displayName": "Edith"})).await;
    let id = invitation["id"].as_str().expect("the invitation has an id");
    mails_to(server, EXPIRED_INVITEE, 1).await;
    expire_now(server, id).await;
    json!({
        "expiredInvitation": {"email": EXPIRED_INVITEE, "directoryId": directory, "invitationId": id},
        "expiredResetLink": expired_reset_link(server).await,
        "console": console_fixtures(server).await,
        "consolePages": console_pages_fixtures(server).await,
        "consoleFlows": console_flows_fixtures(server).await,
        "consoleWebhooks": console_webhooks_fixtures(server).await,
    })
}

/// The path of a `signin-link` link for `email` (an admin), which sets their console password and then
/// leads to the console.
async fn console_link(server: &TestServer, email: &str) -> String {
    let made = onramp_core::Core::offline(server.store.clone())
        .console_sign_in_link(&server.bootstrap.tenant_id, email, &server.base_url)
        .await
        .expect("a console sign-in link");
    format!("{}?next=%2Fconsole", made.url.expose().trim_start_matches(&server.base_url))
}

/// A journey's admin: a user with `role` and the link that sets their console password.
async fn console_admin(server: &TestServer, email: &str, role: onramp_domain::BuiltinRole) -> Value {
    server.credential_with_roles(email, &[role]).await;
    json!({"email": email, "link": console_link(server, email).await})
}

/// The console journey's people: the first start's link (for the bootstrap super-admin), `signin-link`
/// links for a read-only admin and an admin, a user without an admin role, and a console session that has
/// expired (its cookie's value).
async fn console_fixtures(server: &TestServer) -> Value {
    use onramp_domain::BuiltinRole;
    let link = |email: &'static str| console_link(server, email);
    server.credential_with_roles("rory.readonly@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    server.credential_with_roles("tess.twostep@example.com", &[BuiltinRole::Admin]).await;
    // The console board's journey: an admin, and a read-only admin of their own.
    server.credential_with_roles("bea.board@example.com", &[BuiltinRole::Admin]).await;
    server.credential_with_roles("rob.readonly@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let bea = server.database.query_text("SELECT id FROM users WHERE email = 'bea.board@example.com'").await;
    crate::account::local_user(server, "basil.basic@example.com").await;
    // Signed in to the console, then past the session's lifetime: the browser is handed its cookie.
    server.credential_with_roles("eve.expired@example.com", &[BuiltinRole::Admin]).await;
    let browser = crate::account::Browser::new(server, "fixtures");
    crate::console::set_password_by_link(
        &browser,
        &link("eve.expired@example.com").await,
        crate::console::ADMIN_PASSWORD,
    )
    .await;
    let signed_in =
        crate::console::sign_in_to_console(&browser, "eve.expired@example.com", crate::console::ADMIN_PASSWORD).await;
    let cookie = signed_in
        .set_cookies
        .iter()
        .find_map(|cookie| cookie.strip_prefix("onramp_session="))
        .and_then(|rest| rest.split(';').next())
        .expect("a session cookie")
        .to_string();
    let past = onramp_domain::Timestamp::now().micros() - 1;
    server
        .database
        .execute(&format!(
            "UPDATE sessions SET expires_at = {past} WHERE user_id IN \
             (SELECT id FROM users WHERE email = 'eve.expired@example.com')"
        ))
        .await;
    json!({
        "superAdmin": {"email": server.config.admin_email, "link": server.console_link.trim_start_matches(&server.base_url)},
        "readOnly": {"email": "rory.readonly@example.com", "link": link("rory.readonly@example.com").await},
        "twoStep": {"email": "tess.twostep@example.com", "link": link("tess.twostep@example.com").await},
        "board": {"email": "bea.board@example.com", "id": bea, "link": link("bea.board@example.com").await},
        "boardReadOnly": {"email": "rob.readonly@example.com", "link": link("rob.readonly@example.com").await},
        "basic": {"email": "basil.basic@example.com", "password": crate::invitations::PASSWORD},
        "expired": {"email": "eve.expired@example.com", "password": crate::console::ADMIN_PASSWORD, "cookie": cookie},
    })
}

/// The path of a password reset link whose hour is over (moved into the past in the database).
async fn expired_reset_link(server: &TestServer) -> String {
    crate::account::local_user(server, "rhea.expired@example.com").await;
    let browser = crate::account::Browser::new(server, "fixtures");
    browser.submit("/forgot", "/forgot", &[("email", "rhea.expired@example.com")]).await;
    let token = crate::account::reset_token(server, "rhea.expired@example.com", 1).await;
    let past = onramp_domain::Timestamp::now().micros() - 1;
    let rhea = "SELECT id FROM users WHERE email = 'rhea.expired@example.com'";
    server.database.execute(&format!("UPDATE password_resets SET expires_at = {past} WHERE user_id IN ({rhea})")).await;
    format!("/reset/{token}")
}

/// The console pages journey's admins: a super-admin and a read-only admin, each with a `signin-link` link
/// that sets their console password.
async fn console_pages_fixtures(server: &TestServer) -> Value {
    use onramp_domain::BuiltinRole;
    json!({
        "superAdmin": console_admin(server, "pia.pages@example.com", BuiltinRole::SuperAdmin).await,
        "readOnly": console_admin(server, "rex.readonly@example.com", BuiltinRole::ReadOnlyAdmin).await,
    })
}

/// The console flows journey's admins: an admin who edits flows and a read-only admin, each with a
/// `signin-link` link that sets their console password.
async fn console_flows_fixtures(server: &TestServer) -> Value {
    use onramp_domain::BuiltinRole;
    json!({
        "admin": console_admin(server, "fay.flows@example.com", BuiltinRole::Admin).await,
        "readOnly": console_admin(server, "rhys.readonly@example.com", BuiltinRole::ReadOnlyAdmin).await,
    })
}

/// The console webhooks journey's admins: an admin who subscribes and a read-only admin, each with a
/// `signin-link` link that sets their console password.
async fn console_webhooks_fixtures(server: &TestServer) -> Value {
    use onramp_domain::BuiltinRole;
    json!({
        "admin": console_admin(server, "wanda.webhooks@example.com", BuiltinRole::Admin).await,
        "readOnly": console_admin(server, "rudy.readonly@example.com", BuiltinRole::ReadOnlyAdmin).await,
    })
}

/// Every journey on one server of `backend` (only those whose file name contains `ONRAMP_WEB_JOURNEY`,
/// when it is set: for working on one journey).
async fn journeys(backend: Backend) {
    // An account that waits after its wrong passwords waits a minute, so that the journey of the
    // rate-limited sign-in never races the wait. The loopback peer is a trusted proxy, so that the journey
    // of too many unknown links guesses from an address of its own (`X-Forwarded-For`). Webhooks may point
    // at loopback, so that the webhooks journey's deliveries fail on a port nothing listens on.
    let server = TestServer::start_with(backend, |config| {
        config.limits.password_first_delay = std::time::Duration::from_secs(60);
        config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a CIDR range")];
        config.webhooks.allow_private_addresses = true;
    })
    .await;
    let fixtures = fixtures(&server).await;
    let only = std::env::var("ONRAMP_WEB_JOURNEY").unwrap_or_default();
    let scripts: Vec<_> = test_scripts(&web_tests_dir().join("journeys"))
        .into_iter()
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.contains(&only)))
        .collect();
    let output = run_scripts(backend, &scripts, &context_for(&server, backend, fixtures)).await;
    // Shown by `cargo test -- --nocapture`, or with the failure of another assertion.
    println!("{output}");
}

both_backends!(journeys, needs browser);

/// The helper library's own tests (the email parser on multipart and encoded messages, say), which need
/// neither a server nor a browser.
#[tokio::test]
#[cfg_attr(not(onramp_test_browser), ignore = "no node, /usr/bin/chromium or web-tests/node_modules")]
async fn helper_library() {
    let scripts = test_scripts(&web_tests_dir().join("lib"));
    let (success, output) = NodeRun::start(&scripts, &json!({})).finish().await;
    assert!(success, "the helper library's tests failed:\n{output}");
}
