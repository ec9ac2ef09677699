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
    assert!(asked.html.contains("action=\"/account/two-step/start\""), "{}", asked.html);
    assert!(!asked.html.contains("console-nav"), "nothing of the console: {}", asked.html);

    // Its one button starts the setup.
    let started = browser.post("/account/two-step/start", &[("csrf", &asked.csrf())]).await;
    started.assert_redirect("start", "/account/two-step");
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

/// The path of the console's page of the user with `email`.
async fn user_path(server: &TestServer, email: &str) -> String {
    let id = server.database.query_text(&format!("SELECT id FROM users WHERE email = '{email}'")).await.unwrap();
    format!("/console/users/{id}")
}

/// The users list: the API's search (ranking, a typo forgiven), the filters, keyset pages of 25 whose
/// token continues only its own search, a bad filter named; a read-only admin reads it too.
async fn users_list(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Made first: a user the command line makes reaches the index by its poll (every 500 ms), the API's
    // users below before their creation answers.
    let browser = console_admin(&server, "lee@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let token = server.admin_token().await;
    for n in 0..30 {
        let body = json!({
            "email": format!("person{n:02}@example.com"),
            "displayName": format!("Person {n:02}"),
            "department": if n % 2 == 0 { "Sales" } else { "Ops" },
            "jobTitle": "Clerk",
        });
        server.create_user(&token, &body).await;
    }
    server.create_user(&token, &json!({"email": "margaret@example.com", "displayName": "Margaret Hamilton"})).await;

    let typo = browser.get("/console/users?q=margret").await;
    assert_eq!(typo.status, 200, "{}", typo.html);
    assert!(typo.html.contains("Margaret Hamilton"), "a typo is forgiven: {}", typo.html);
    assert!(!typo.html.contains("Person 01"), "{}", typo.html);

    let sales = browser.get("/console/users?department=Sales&title=Clerk").await;
    assert_eq!(sales.html.matches("class=\"item\"").count(), 15, "{}", sales.html);
    assert!(!sales.html.contains("Ops"), "{}", sales.html);

    // 33 users (30, Margaret, the super-admin, Lee): two pages.
    let first = browser.get("/console/users").await;
    assert_eq!(first.html.matches("class=\"item\"").count(), 25, "{}", first.html);
    let mark = "href=\"/console/users?after=";
    let at = first.html.find(mark).unwrap_or_else(|| panic!("a next page: {}", first.html));
    let next = first.html[at + 6..].split('"').next().unwrap().replace("&amp;", "&");
    let second = browser.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.html);
    assert_eq!(second.html.matches("class=\"item\"").count(), 8, "{}", second.html);
    assert!(!second.html.contains("rel=\"next\""), "the last page: {}", second.html);
    // The token of one search does not continue another.
    let other = browser.get(&format!("{}&department=Sales", next)).await;
    assert_eq!(other.status, 400, "{}", other.html);
    assert!(other.html.contains("is not a page of this search"), "{}", other.html);

    let admins = browser.get("/console/users?role=read-only-admin").await;
    assert_eq!(admins.html.matches("class=\"item\"").count(), 1, "{}", admins.html);
    let bad = browser.get("/console/users?status=sleeping").await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(bad.html.contains("Invalid status: must be active, enabled, disabled or deleted"), "{}", bad.html);
    // A read-only admin sees no write controls on a user's page.
    let page = browser.get(&user_path(&server, "margaret@example.com").await).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Margaret Hamilton") && page.html.contains("Audit trail"), "{}", page.html);
    assert!(!page.html.contains("/status\"") && !page.html.contains("Delete"), "no write controls: {}", page.html);
}
both_backends!(users_list);

/// A user's page and its actions, each through the core with its permission check: disable and enable,
/// edit (a bad value named on its field), reset email, sign out everywhere, delete after confirmation; a
/// read-only admin's POST is 403 and changes nothing; an admin may not act on a super-admin; every action
/// is in the audit trail.
async fn user_actions(backend: Backend) {
    let server = TestServer::start(backend).await;
    local_user(&server, "pat@example.com").await;
    let pat = Browser::new(&server, "pat");
    pat.sign_in("pat@example.com", PASSWORD).await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let reader = console_admin(&server, "lee@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let path = user_path(&server, "pat@example.com").await;

    let page = admin.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Sign out everywhere (1 session)"), "{}", page.html);

    // The read-only admin's forged-by-hand POST (with their own valid token) is refused by the core.
    let shown = reader.get(&path).await;
    let refused = reader.post(&format!("{path}/status"), &[("csrf", &shown.csrf()), ("status", "DISABLED")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("requires user:write"), "{}", refused.html);
    // Without the anti-forgery token: refused before anything.
    let forged = admin.post(&format!("{path}/status"), &[("status", "DISABLED")]).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert_eq!(pat.get("/account").await.status, 200, "nothing changed");

    let disabled = admin.submit(&path, &format!("{path}/status"), &[("status", "DISABLED")]).await;
    disabled.assert_redirect("disabled", &format!("{path}?done=disabled"));
    assert_eq!(pat.get("/account").await.status, 303, "a disabled user is signed out");
    admin.submit(&path, &format!("{path}/status"), &[("status", "ENABLED")]).await;
    assert!(admin.get(&path).await.html.contains(">Enabled</span>"));

    let bad = admin.submit(&format!("{path}/edit"), &format!("{path}/edit"), &[("displayName", "")]).await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(bad.html.contains("id=\"displayName-error\""), "the error is on its field: {}", bad.html);
    let saved = admin
        .submit(&format!("{path}/edit"), &format!("{path}/edit"), &[("displayName", "Pat Q"), ("jobTitle", "Chef")])
        .await;
    saved.assert_redirect("saved", &format!("{path}?done=saved"));
    assert!(admin.get(&path).await.html.contains("Chef"));

    admin
        .submit(&path, &format!("{path}/reset-password"), &[])
        .await
        .assert_redirect("reset", &format!("{path}?done=reset-sent"));
    crate::account::reset_token(&server, "pat@example.com", 1).await;
    pat.sign_in("pat@example.com", PASSWORD).await;
    admin
        .submit(&path, &format!("{path}/sign-out"), &[])
        .await
        .assert_redirect("out", &format!("{path}?done=signed-out"));
    pat.get("/account").await.assert_redirect("signed out", "/signin?next=%2Faccount");

    // An admin may not act on the super-admin.
    let boss = user_path(&server, "admin@example.com").await;
    let refused = admin.submit(&boss, &format!("{boss}/sign-out"), &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);

    let confirm = admin.get(&format!("{path}/delete")).await;
    assert!(confirm.html.contains("Delete Pat Q?"), "{}", confirm.html);
    admin
        .submit(&format!("{path}/delete"), &format!("{path}/delete"), &[])
        .await
        .assert_redirect("deleted", "/console/users?done=deleted");
    let gone = admin.get(&path).await;
    assert!(gone.html.contains(">Deleted</span>") && !gone.html.contains("/status\""), "{}", gone.html);

    let trail = admin.get(&path).await.html;
    for action in ["user.update", "user.password_reset_link", "user.sign_out_everywhere", "user.delete"] {
        assert!(trail.contains(&format!("<code>{action}</code>")), "{action} in the trail: {trail}");
    }
}
both_backends!(user_actions);

/// The user's page's edit form, through the API's user update: emails (another added, one made primary,
/// one removed), roles (checkboxes; a role the admin may not grant is shown but not editable, and a forged
/// one is the roles field's error), managers and the delegate picked by email; each bad value named on its
/// field with nothing changed; a read-only admin and a directory-admin are refused (403) with nothing
/// changed; the audit trail names the admin who acted by display name, linked.
async fn user_edit(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let pat = server
        .create_user(
            &token,
            &json!({"email": "pat@example.com", "displayName": "Pat Quinn", "roleIds": ["basic-user"]}),
        )
        .await;
    let mo = server.create_user(&token, &json!({"email": "mo@example.com", "displayName": "Mo Boss"})).await;
    let del = server.create_user(&token, &json!({"email": "del@example.com", "displayName": "Del Egate"})).await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let path = format!("/console/users/{pat}");
    let edit = format!("{path}/edit");
    let read = || {
        let (server, token, pat) = (&server, &token, &pat);
        async move {
            let (status, body) = server.get(&format!("/api/v1/users/{pat}"), token).await;
            assert_eq!(status, 200, "{body}");
            body["userView"]["user"].clone()
        }
    };

    let form = admin.get(&edit).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("name=\"roleIds\" value=\"basic-user\" checked"), "{}", form.html);
    assert!(form.html.contains("name=\"roleIds\" value=\"directory-admin\">"), "grantable: {}", form.html);
    assert!(
        form.html.contains("id=\"role-0\" disabled> Super Administrator <span class=\"muted\">(you may not grant it)"),
        "super-admin shown, not editable: {}",
        form.html
    );

    let saved = admin
        .submit(
            &edit,
            &edit,
            &[
                ("email", "pat@example.com"),
                ("emails", "pat.q@example.com\nquinn@example.com"),
                ("roleIds.shown", "1"),
                ("roleIds", "basic-user"),
                ("roleIds", "directory-admin"),
                ("managerIds", "mo@example.com"),
                ("delegatedUserId", "del@example.com"),
            ],
        )
        .await;
    saved.assert_redirect("saved", &format!("{path}?done=saved"));
    let user = read().await;
    assert_eq!(user["emails"], json!(["pat@example.com", "pat.q@example.com", "quinn@example.com"]), "{user}");
    assert_eq!(
        user["roleIds"],
        json!([BuiltinRole::DirectoryAdmin.id().to_string(), BuiltinRole::BasicUser.id().to_string()]),
        "in id order: {user}"
    );
    assert_eq!((&user["managerIds"], &user["delegatedUserId"]), (&json!([mo]), &json!(del)), "{user}");
    let page = admin.get(&path).await;
    assert!(page.html.contains("Mo Boss") && page.html.contains("Del Egate"), "{}", page.html);

    // The other address becomes the primary one, one is removed, the delegate cleared.
    let primary = admin
        .submit(&edit, &edit, &[("email", "pat.q@example.com"), ("emails", "pat@example.com"), ("delegatedUserId", "")])
        .await;
    primary.assert_redirect("primary", &format!("{path}?done=saved"));
    let user = read().await;
    assert_eq!(
        (&user["email"], &user["emails"]),
        (&json!("pat.q@example.com"), &json!(["pat.q@example.com", "pat@example.com"]))
    );
    assert!(user.get("delegatedUserId").is_none_or(|d| d.is_null() || d == ""), "{user}");
    assert_eq!(user["managerIds"], json!([mo]), "a field not sent is left as it is: {user}");

    // Bad values: each on its field, nothing changed.
    let before = read().await;
    for (fields, id, words) in [
        (vec![("managerIds", "nobody@example.com")], "managerIds", "no user has the email"),
        (vec![("managerIds", "mo@example.com\npat.q@example.com")], "managerIds", "refer to itself"),
        (vec![("delegatedUserId", "not an email")], "delegatedUserId", "Delegate"),
        (vec![("email", "pat.q@example.com"), ("emails", "not an email")], "emails", "Other emails"),
        (vec![("email", "")], "email", "Primary email"),
        (vec![("displayName", " ")], "displayName", "Name"),
    ] {
        let refused = admin.submit(&edit, &edit, &fields).await;
        assert_eq!(refused.status, 400, "{fields:?}: {}", refused.html);
        assert!(
            refused.html.contains(&format!("href=\"#{id}\"")),
            "{fields:?}: the summary links to {id}: {}",
            refused.html
        );
        let at = refused.html.find(&format!("id=\"{id}-error\"")).unwrap_or_else(|| panic!("{id}: {}", refused.html));
        assert!(refused.html[at..].contains(words), "{id} says {words:?}: {}", &refused.html[at..]);
        assert!(refused.html.contains("aria-invalid=\"true\""), "{}", refused.html);
        assert_eq!(read().await, before, "{fields:?}: nothing changed");
    }
    // A role the admin may not grant, forged into the form: the roles field's error, nothing changed.
    let forged = admin
        .submit(&edit, &edit, &[("roleIds.shown", "1"), ("roleIds", "basic-user"), ("roleIds", "super-admin")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert!(
        forged.html.contains("<form method=\"post\" action=\"/console/users/"),
        "the form, not a page: {}",
        forged.html
    );
    let at = forged.html.find("id=\"roles-error\"").unwrap_or_else(|| panic!("{}", forged.html));
    assert!(forged.html[at..].contains("super-admin"), "{}", &forged.html[at..]);
    assert_eq!(read().await, before, "nothing changed");

    // A read-only admin and a directory-admin (no user:write) are refused; nothing changes.
    for (email, role) in
        [("lee@example.com", BuiltinRole::ReadOnlyAdmin), ("dan@example.com", BuiltinRole::DirectoryAdmin)]
    {
        let other = console_admin(&server, email, &[role]).await;
        let shown = other.get(&path).await;
        assert!(!shown.html.contains(&format!("href=\"{edit}\"")), "{email}: no Edit: {}", shown.html);
        assert_eq!(other.get(&edit).await.status, 403, "{email}");
        let refused =
            other.post(&edit, &[("csrf", &shown.csrf()), ("displayName", "Hijacked"), ("managerIds", "")]).await;
        assert_eq!(refused.status, 403, "{email}: {}", refused.html);
        let refused = other.post(&edit, &[("csrf", &shown.csrf()), ("managerIds", "nobody@example.com")]).await;
        assert_eq!(refused.status, 403, "{email}: refused before the input is read: {}", refused.html);
        assert_eq!(read().await, before, "{email}: nothing changed");
    }

    // The audit trail names the admin who acted, by name, linked to their page.
    let ada = server.database.query_text("SELECT id FROM users WHERE email = 'ada@example.com'").await.unwrap();
    let (_, ada_view) = server.get(&format!("/api/v1/users/{ada}"), &token).await;
    let ada_name = ada_view["userView"]["user"]["displayName"].as_str().unwrap().to_string();
    let trail = admin.get(&path).await.html;
    assert!(
        trail.contains(&format!("<code>user.update</code> by <a href=\"/console/users/{ada}\">{ada_name}</a>")),
        "{trail}"
    );
    assert!(!trail.contains(&format!(">user {ada}<")), "not by id: {trail}");
}
both_backends!(user_edit);
