//! The console's pages over HTTP (issue #14), on both backends: each page's actions through the same use
//! case as the API (checked by reading the result back through the API), its form's errors tied to their
//! fields, and a read-only admin who sees no write controls and whose POST is refused (403) and changes
//! nothing.

use onramp_domain::BuiltinRole;
use serde_json::json;

use crate::account::{Answer, Browser};
use crate::apps::create_app;
use crate::both_backends;
use crate::console::console_admin;
use crate::support::{Backend, TestServer};

/// A page's field with `id` is marked invalid and the error summary links to it.
fn assert_field_error(answer: &Answer, id: &str, words: &str) {
    assert!(answer.html.contains(&format!("href=\"#{id}\"")), "the summary links to #{id}: {}", answer.html);
    let at =
        answer.html.find(&format!("id=\"{id}-error\"")).unwrap_or_else(|| panic!("no error on {id}: {}", answer.html));
    assert!(answer.html[at..].contains(words), "{id}'s error says {words:?}: {}", &answer.html[at..]);
}

/// The roles fieldset carries the core's refusal of `role`, tied to it, and the summary links to it.
fn assert_roles_error(answer: &Answer, role: &str) {
    assert!(answer.html.contains("href=\"#role-0\""), "the summary links to the roles: {}", answer.html);
    assert!(answer.html.contains("aria-describedby=\"roles-error\""), "{}", answer.html);
    let at = answer.html.find("id=\"roles-error\"").unwrap_or_else(|| panic!("no roles error: {}", answer.html));
    assert!(answer.html[at..].contains(&format!("the role {role},")), "names {role}: {}", &answer.html[at..]);
}

/// A read-only admin's browser and the anti-forgery token of a console page.
async fn read_only(server: &TestServer) -> (Browser, String) {
    let browser = console_admin(server, "reader@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let csrf = browser.get("/console").await.csrf();
    (browser, csrf)
}

/// Directories: create one on an app (the TTL in hours, domains one per line), a bad domain refused on
/// its field with nothing made, edit it (a TTL out of bounds refused on its field); a read-only admin
/// sees the list without forms and is refused a POST.
async fn directories_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Contractors").await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get("/console/directories").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("There is no directory yet"), "{}", page.html);
    assert!(page.html.contains(&format!("<option value=\"{app}\">Contractors</option>")), "{}", page.html);

    let fields = |domains: &'static str| {
        vec![
            ("appId", app.clone()),
            ("displayName", "Contractors".to_string()),
            ("ttlHours", "48".to_string()),
            ("onboardingFlowId", String::new()),
            ("allowSelfRegistration", "on".to_string()),
            ("domains", domains.to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.submit("/console/directories", "/console/directories", &fields).await
        }
    };
    let bad = post(fields("Example.com\nnot a domain")).await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert_field_error(&bad, "domains", "is not a domain name");
    assert!(bad.html.contains("not a domain</textarea>"), "what was typed comes back: {}", bad.html);
    let (_, list) = server.get("/api/v1/local-directory-configs", &token).await;
    assert_eq!(list["list"], json!([]), "nothing made");

    let made = post(fields("Example.com\nexample.org")).await;
    made.assert_redirect("created", "/console/directories?done=Contractors");
    let (status, body) = server.get(&format!("/api/v1/local-directory-configs/{app}"), &token).await;
    assert_eq!(status, 200, "{body}");
    let config = &body["localDirectoryConfig"];
    assert_eq!(config["invitationTtl"], "172800s");
    assert_eq!(config["allowSelfRegistration"], true);
    assert_eq!(config["selfRegistrationDomains"], json!(["example.com", "example.org"]));
    let listed = admin.get("/console/directories?done=Contractors").await;
    assert!(listed.html.contains("The directory Contractors was created."), "{}", listed.html);
    assert!(listed.html.contains("2 days") && listed.html.contains("example.com, example.org"), "{}", listed.html);

    let edit = format!("/console/directories/{app}");
    let too_long =
        admin.submit(&edit, &edit, &[("displayName", "Contractors"), ("ttlHours", "3000"), ("domains", "")]).await;
    assert_eq!(too_long.status, 400, "{}", too_long.html);
    assert_field_error(&too_long, "ttlHours", "between 1 hour");
    let not_a_number = admin.submit(&edit, &edit, &[("displayName", "Contractors"), ("ttlHours", "a week")]).await;
    assert_eq!(not_a_number.status, 400, "{}", not_a_number.html);
    assert_field_error(&not_a_number, "ttlHours", "whole number of hours");
    let saved =
        admin.submit(&edit, &edit, &[("displayName", "Contract staff"), ("ttlHours", "24"), ("isDefault", "on")]).await;
    saved.assert_redirect("saved", &format!("{edit}?done=saved"));
    let (_, body) = server.get(&format!("/api/v1/local-directory-configs/{app}"), &token).await;
    let config = &body["localDirectoryConfig"];
    assert_eq!((&config["displayName"], &config["invitationTtl"]), (&json!("Contract staff"), &json!("86400s")));
    assert_eq!((&config["isDefault"], &config["allowSelfRegistration"]), (&json!(true), &json!(false)));

    let (reader, csrf) = read_only(&server).await;
    let seen = reader.get("/console/directories").await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(seen.html.contains("Contract staff") && !seen.html.contains("New directory"), "{}", seen.html);
    let seen = reader.get(&edit).await;
    assert!(!seen.html.contains("<form method=\"post\" action=\"/console/directories"), "{}", seen.html);
    let refused = reader.post(&edit, &[("csrf", &csrf), ("displayName", "Mine now"), ("ttlHours", "24")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused = reader
        .post("/console/directories", &[("csrf", &csrf), ("appId", &app), ("displayName", "X"), ("ttlHours", "24")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let (_, body) = server.get(&format!("/api/v1/local-directory-configs/{app}"), &token).await;
    assert_eq!(body["localDirectoryConfig"]["displayName"], "Contract staff", "unchanged");
}
both_backends!(directories_page);

/// A `multipart/form-data` body of text fields and one optional file, as a browser sends a form with a
/// file input, and its content type.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----onrampconsoleform7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((name, file_name, content_type, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts a multipart form from `browser` and reads the answer as an `Answer`.
pub async fn post_multipart(
    server: &TestServer,
    browser: &Browser,
    action: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &str, &[u8])>,
) -> Answer {
    let (content_type, body) = multipart(fields, file);
    let response = browser
        .http
        .post(server.url(action))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    Answer { status, location, set_cookies: Vec::new(), retry_after: None, html: response.text().await.unwrap() }
}

/// Settings: the branding (a bad accent refused on its field, then a name, accent and logo upload saved,
/// as the API reads them), the console's second-factor requirement, the onboarding settings (an intent
/// listed twice refused on its field); a read-only admin sees no forms and is refused both POSTs.
async fn settings_page(backend: Backend) {
    use base64::Engine;
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get("/console/settings").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let csrf = page.csrf();
    let png = base64::engine::general_purpose::STANDARD.decode(crate::tenant_settings::PNG_BASE64).unwrap();

    let bad = post_multipart(
        &server,
        &admin,
        "/console/settings/tenant",
        &[("csrf", &csrf), ("displayName", "Acme Corp"), ("accentColor", "sky blue")],
        Some(("logo", "logo.png", "image/png", &png)),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert_field_error(&bad, "accentColor", "Accent colour");
    assert!(bad.html.contains("value=\"sky blue\""), "{}", bad.html);
    let (_, body) = server.get("/api/v1/settings/tenant", &token).await;
    assert_eq!(body["displayName"], "", "nothing saved: {body}");

    let forged = post_multipart(&server, &admin, "/console/settings/tenant", &[("displayName", "Evil")], None).await;
    assert_eq!(forged.status, 403, "{}", forged.html);

    let saved = post_multipart(
        &server,
        &admin,
        "/console/settings/tenant",
        &[("csrf", &csrf), ("displayName", "Acme Corp"), ("accentColor", "#0B5CAD")],
        Some(("logo", "logo.png", "image/png", &png)),
    )
    .await;
    saved.assert_redirect("saved", "/console/settings?done=tenant");
    let (_, body) = server.get("/api/v1/settings/tenant", &token).await;
    assert_eq!((&body["displayName"], &body["accentColor"]), (&json!("Acme Corp"), &json!("#0b5cad")), "{body}");
    assert_eq!(body["logo"]["contentType"], "image/png", "{body}");
    assert_eq!(body["consoleRequiresSecondFactor"], false);
    let shown = admin.get("/console/settings?done=tenant").await;
    assert!(shown.html.contains("The branding and sign-in settings were saved."), "{}", shown.html);
    assert!(shown.html.contains(body["logo"]["url"].as_str().unwrap()), "the logo is shown: {}", shown.html);

    let onboarding = |intents: &'static str| {
        let admin = &admin;
        async move {
            admin
                .submit(
                    "/console/settings",
                    "/console/settings/onboarding",
                    &[
                        ("status", "ONBOARDING_STATUS_IN_PROGRESS"),
                        ("goal", "Bring the contractors in"),
                        ("intents", intents),
                        ("industry", "Retail"),
                        ("organizationSize", "50-200"),
                    ],
                )
                .await
        }
    };
    let twice = onboarding("invite contractors\ninvite contractors").await;
    assert_eq!(twice.status, 400, "{}", twice.html);
    assert_field_error(&twice, "intents", "listed twice");
    let saved = onboarding("invite contractors\nrun approvals").await;
    saved.assert_redirect("onboarding saved", "/console/settings?done=onboarding");
    let (_, body) = server.get("/api/v1/settings/onboarding", &token).await;
    assert_eq!(body["status"], "ONBOARDING_STATUS_IN_PROGRESS", "{body}");
    assert_eq!(body["intents"], json!(["invite contractors", "run approvals"]), "{body}");
    assert_eq!(body["orgContext"]["industry"], "Retail", "{body}");

    let (reader, csrf) = read_only(&server).await;
    let seen = reader.get("/console/settings").await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(!seen.html.contains("action=\"/console/settings/"), "no forms: {}", seen.html);
    assert!(seen.html.contains("Acme Corp") && seen.html.contains("In progress"), "{}", seen.html);
    let refused = post_multipart(
        &server,
        &reader,
        "/console/settings/tenant",
        &[("csrf", &csrf), ("displayName", "Mine"), ("consoleRequiresSecondFactor", "on")],
        None,
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused = reader
        .post("/console/settings/onboarding", &[("csrf", &csrf), ("status", "ONBOARDING_STATUS_DISMISSED")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let (_, body) = server.get("/api/v1/settings/tenant", &token).await;
    assert_eq!((&body["displayName"], &body["consoleRequiresSecondFactor"]), (&json!("Acme Corp"), &json!(false)));
}
both_backends!(settings_page);

/// Apps and owners: create an app, add owners by email under `owner` and `technical-owner` (an unknown
/// email and a bad slug refused on their fields, a second add of the same ownership refused), the v1 and
/// v2 views name the same `owner`s, remove one; a read-only admin sees no forms and is refused.
async fn apps_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let pat = crate::apps::create_user(&server, "pat@example.com").await;
    let lee = crate::apps::create_user(&server, "lee@example.com").await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;

    let empty = admin.submit("/console/apps", "/console/apps", &[("displayName", "  ")]).await;
    assert_eq!(empty.status, 400, "{}", empty.html);
    assert_field_error(&empty, "displayName", "Name");
    let made =
        admin.submit("/console/apps", "/console/apps", &[("displayName", "Payroll"), ("description", "Pay")]).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let app_page = made.location.unwrap().split('?').next().unwrap().to_string();
    let app = app_page.trim_start_matches("/console/apps/").to_string();
    let (status, body) = server.get(&format!("/api/v1/apps/{app}"), &token).await;
    assert_eq!((status, &body["app"]["displayName"]), (200, &json!("Payroll")), "{body}");

    let owners = format!("{app_page}/owners");
    let add = |email: &'static str, slug: &'static str| {
        let (admin, app_page, owners) = (&admin, &app_page, &owners);
        async move { admin.submit(app_page, owners, &[("email", email), ("roleSlug", slug)]).await }
    };
    let unknown = add("nobody@example.com", "owner").await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);
    assert_field_error(&unknown, "email", "no user has the email");
    let bad_slug = add("pat@example.com", "Tech Owner").await;
    assert_eq!(bad_slug.status, 400, "{}", bad_slug.html);
    assert_field_error(&bad_slug, "roleSlug", "Role");
    add("pat@example.com", "owner").await.assert_redirect("pat", &format!("{app_page}?done=added"));
    add("lee@example.com", "owner").await.assert_redirect("lee", &format!("{app_page}?done=added"));
    add("lee@example.com", "technical-owner").await.assert_redirect("lee tech", &format!("{app_page}?done=added"));
    let again = add("pat@example.com", "owner").await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert_field_error(&again, "email", "already owns");

    let (_, v1) = server.get(&format!("/api/v1/apps/{app}/ownerids"), &token).await;
    let (_, v2) = server.get(&format!("/api/v2/apps/{app}/owners/users?role_slug=owner"), &token).await;
    let v2_ids: Vec<&str> = v2["list"].as_array().unwrap().iter().map(|o| o["user"]["id"].as_str().unwrap()).collect();
    assert_eq!(v1["userIds"], json!([pat, lee]), "{v1}");
    assert_eq!(v2_ids, vec![pat.as_str(), lee.as_str()], "{v2}");
    let shown = admin.get(&app_page).await;
    assert!(shown.html.contains("As <code>owner</code>") && shown.html.contains("As <code>technical-owner</code>"));
    assert!(shown.html.contains("pat@example.com") && shown.html.contains("lee@example.com"), "{}", shown.html);

    let removed =
        admin.submit(&app_page, &format!("{owners}/remove"), &[("userId", &pat), ("roleSlug", "owner")]).await;
    removed.assert_redirect("removed", &format!("{app_page}?done=removed"));
    let (_, v1) = server.get(&format!("/api/v1/apps/{app}/ownerids"), &token).await;
    assert_eq!(v1["userIds"], json!([lee]), "{v1}");

    let (reader, csrf) = read_only(&server).await;
    let seen = reader.get(&app_page).await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(
        seen.html.contains("lee@example.com") && !seen.html.contains("<form method=\"post\" action=\"/console/apps")
    );
    assert!(!reader.get("/console/apps").await.html.contains("New app"));
    let refused = reader.post(&owners, &[("csrf", &csrf), ("email", "pat@example.com"), ("roleSlug", "owner")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused =
        reader.post(&format!("{owners}/remove"), &[("csrf", &csrf), ("userId", &lee), ("roleSlug", "owner")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused = reader.post("/console/apps", &[("csrf", &csrf), ("displayName", "Mine")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let (_, v1) = server.get(&format!("/api/v1/apps/{app}/ownerids"), &token).await;
    assert_eq!(v1["userIds"], json!([lee]), "unchanged: {v1}");
}
both_backends!(apps_page);

/// How many invitations have this email.
async fn invitations_to(server: &TestServer, email: &str) -> String {
    let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM invitations WHERE email = '{email}'");
    server.database.query_text(&sql).await.unwrap()
}

/// Invite: one person (a bad email and a role the admin may not grant refused on their fields, nothing
/// made; then invited with a role), many from a CSV file (each row its own use-case call: two invited, one
/// refused with its reason in its row); a read-only admin sees no form and both POSTs are refused.
async fn invite_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = crate::directories::create_directory(&server, &token, "Staff", json!({"isDefault": true})).await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get("/console/invite").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(&format!("<option value=\"{directory}\" selected>Staff</option>")), "{}", page.html);
    assert!(!page.html.contains("value=\"super-admin\""), "a role the admin may not grant is not offered");

    let one = |email: &'static str, role: &'static str| {
        let (admin, directory) = (&admin, &directory);
        async move {
            let fields = [
                ("email", email),
                ("displayName", "Robin Park"),
                ("directory", directory),
                ("roles", role),
                ("flow", ""),
            ];
            admin.submit("/console/invite", "/console/invite", &fields).await
        }
    };
    let bad = one("robin@", "basic-user").await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert_field_error(&bad, "email", "Email");
    assert!(bad.html.contains("value=\"Robin Park\""), "{}", bad.html);
    let too_high = one("robin@example.com", "super-admin").await;
    assert_eq!(too_high.status, 403, "{}", too_high.html);
    assert_roles_error(&too_high, "super-admin");
    assert!(too_high.html.contains("value=\"Robin Park\""), "the form is kept: {}", too_high.html);
    assert_eq!(invitations_to(&server, "robin@example.com").await, "0");
    // A directory-admin may invite, but not with a role that holds more than theirs.
    let dan = console_admin(&server, "dan@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let fields = [
        ("email", "robin@example.com"),
        ("displayName", "Robin Park"),
        ("directory", directory.as_str()),
        ("roles", "admin"),
        ("flow", ""),
    ];
    let refused = dan.submit("/console/invite", "/console/invite", &fields).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert_roles_error(&refused, "admin");
    assert_eq!(invitations_to(&server, "robin@example.com").await, "0");
    let invited = one("robin@example.com", "basic-user").await;
    assert_eq!(invited.status, 200, "{}", invited.html);
    assert!(invited.html.contains("Robin Park was invited"), "{}", invited.html);
    assert_eq!(invitations_to(&server, "robin@example.com").await, "1");

    let csrf = page.csrf();
    let file = b"email,name,roles\nsam@example.com,Sam Lee,basic-user\nnot-an-email,Nobody\nkai@example.com,Kai Moss,basic-user;read-only-admin\n";
    let directory_field = directory.clone();
    let results = crate::console_pages::post_multipart(
        &server,
        &admin,
        "/console/invite/csv",
        &[("csrf", &csrf), ("csvDirectory", &directory_field)],
        Some(("file", "people.csv", "text/csv", file)),
    )
    .await;
    assert_eq!(results.status, 200, "{}", results.html);
    assert!(results.html.contains("2 of 3 invited."), "{}", results.html);
    let refused_row = results.html.find("not-an-email").unwrap();
    assert!(results.html[refused_row..].contains("Refused"), "{}", results.html);
    assert!(results.html[refused_row..].contains("email"), "the reason names the field: {}", results.html);
    assert_eq!(invitations_to(&server, "sam@example.com").await, "1");
    assert_eq!(invitations_to(&server, "kai@example.com").await, "1");
    let no_file =
        post_multipart(&server, &admin, "/console/invite/csv", &[("csrf", &csrf), ("csvDirectory", &directory)], None)
            .await;
    assert_eq!(no_file.status, 400, "{}", no_file.html);
    assert_field_error(&no_file, "file", "choose a CSV file");

    let (reader, csrf) = read_only(&server).await;
    let seen = reader.get("/console/invite").await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(!seen.html.contains("action=\"/console/invite"), "no forms: {}", seen.html);
    let refused = reader
        .post(
            "/console/invite",
            &[("csrf", &csrf), ("email", "eve@example.com"), ("displayName", "Eve"), ("directory", &directory)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused = post_multipart(
        &server,
        &reader,
        "/console/invite/csv",
        &[("csrf", &csrf), ("csvDirectory", &directory)],
        Some(("file", "people.csv", "text/csv", b"eve@example.com,Eve\n")),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert_eq!(invitations_to(&server, "eve@example.com").await, "0");
}
both_backends!(invite_page);

/// The text of the element with `id` in a page (its first child text).
fn text_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at + id.len() + 6..];
    rest[..rest.find('<').unwrap()].to_string()
}

/// Access: a super-admin makes a client credential (a bad name refused on its field; the secret shown once
/// on the answer, no redirect, and it gets a token), an API key (it opens `/onboards`), and revokes both
/// (the token endpoint and `/onboards` refuse them after); an admin without `credential:manage` is
/// refused the page and its POSTs.
async fn access_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = console_admin(&server, "root@example.com", &[BuiltinRole::SuperAdmin]).await;
    let page = root.get("/console/access").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let bad = root
        .submit(
            "/console/access",
            "/console/access/credentials",
            &[("displayName", "CI Deploy"), ("roles", "super-admin")],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert_field_error(&bad, "credentialName", "lowercase letters");
    let made = root
        .submit(
            "/console/access",
            "/console/access/credentials",
            &[("displayName", "ci-deploy"), ("roles", "super-admin")],
        )
        .await;
    assert_eq!((made.status, made.location.as_deref()), (200, None), "shown on the answer: {}", made.html);
    assert!(made.html.contains("shown only on this page, once"), "{}", made.html);
    let secret = text_of(&made.html, "new-secret");
    let client_id = made
        .html
        .split("Client id: <code class=\"secret-once\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let token = server.token_for(&client_id, &secret).await;
    let (status, _) = server.get("/api/v1/users", &token).await;
    assert_eq!(status, 200, "the credential reads users");
    let stored = server
        .database
        .query_text("SELECT public_key FROM credentials WHERE display_name = 'ci-deploy'")
        .await
        .unwrap();
    assert!(!stored.contains(&secret), "only the public key is kept");
    let again = root.get("/console/access").await;
    assert!(again.html.contains(&client_id) && !again.html.contains(&secret), "listed, the secret never again");

    let key = root
        .submit("/console/access", "/console/access/keys", &[("displayName", "Intake form"), ("roles", "super-admin")])
        .await;
    assert_eq!(key.status, 200, "{}", key.html);
    let api_key = text_of(&key.html, "new-secret");
    let basic = |key: &str| server.http.get(server.url("/onboards")).basic_auth("API", Some(key.to_string())).send();
    assert_eq!(basic(&api_key).await.unwrap().status().as_u16(), 200, "the key opens /onboards");
    let stored =
        server.database.query_text("SELECT key_hash FROM api_keys WHERE display_name = 'Intake form'").await.unwrap();
    assert_ne!(stored, api_key, "only the hash is kept");

    let credential_id =
        server.database.query_text("SELECT id FROM credentials WHERE display_name = 'ci-deploy'").await.unwrap();
    let key_id =
        server.database.query_text("SELECT id FROM api_keys WHERE display_name = 'Intake form'").await.unwrap();
    root.submit("/console/access", &format!("/console/access/credentials/{credential_id}/revoke"), &[])
        .await
        .assert_redirect("credential revoked", "/console/access?done=credential");
    root.submit("/console/access", &format!("/console/access/keys/{key_id}/revoke"), &[])
        .await
        .assert_redirect("key revoked", "/console/access?done=key");
    let form =
        [("grant_type", "client_credentials"), ("client_id", client_id.as_str()), ("client_secret", secret.as_str())];
    let (status, _) = server.token_request(&form).await;
    assert_eq!(status, 401, "a revoked credential gets no token");
    assert_eq!(basic(&api_key).await.unwrap().status().as_u16(), 401, "a revoked key opens nothing");

    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let csrf = admin.get("/console").await.csrf();
    assert!(!admin.get("/console").await.html.contains("href=\"/console/access\""), "not in the navigation");
    assert_eq!(admin.get("/console/access").await.status, 403);
    let refused =
        admin.post("/console/access/keys", &[("csrf", &csrf), ("displayName", "Mine"), ("roles", "admin")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert_eq!(
        server
            .database
            .query_text("SELECT CAST(COUNT(*) AS TEXT) FROM api_keys WHERE display_name = 'Mine'")
            .await
            .as_deref(),
        Some("0")
    );
}
both_backends!(access_page);

/// An app's edit form and its deletion after a confirmation, through the API's app update and delete: the
/// changes read back through the API; a bad value (an empty name, a cost that is no number or negative, a
/// name with a control character) on its field with nothing changed; an app that backs a directory is
/// refused in words; a read-only admin and a directory-admin (no app:write) see no controls and are
/// refused (403) with nothing changed.
async fn app_edit_and_delete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Payroll").await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = format!("/console/apps/{app}");
    let edit = format!("{page}/edit");
    let read = || {
        let (server, token, app) = (&server, &token, &app);
        async move {
            let (status, body) = server.get(&format!("/api/v1/apps/{app}"), token).await;
            assert_eq!(status, 200, "{body}");
            body["app"].clone()
        }
    };
    let shown = admin.get(&page).await;
    assert!(
        shown.html.contains(&format!("href=\"{edit}\"")) && shown.html.contains(&format!("href=\"{page}/delete\""))
    );
    let form = admin.get(&edit).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(
        form.html.contains("id=\"displayName\" name=\"displayName\" type=\"text\" value=\"Payroll\""),
        "{}",
        form.html
    );

    let fields = |name: &'static str, cost: &'static str| {
        vec![
            ("displayName", name),
            ("description", "Pays people.\r\nTwice a month."),
            ("iconUrl", "https://example.com/payroll.png"),
            ("monthlyCostUsd", cost),
            ("instructions", "Ask finance."),
        ]
    };
    let saved = admin.submit(&edit, &edit, &fields("Payroll EU", "120")).await;
    saved.assert_redirect("saved", &format!("{page}?done=saved"));
    let app_json = read().await;
    assert_eq!(app_json["displayName"], json!("Payroll EU"), "{app_json}");
    assert_eq!(app_json["description"], json!("Pays people.\r\nTwice a month."), "{app_json}");
    assert_eq!(app_json["iconUrl"], json!("https://example.com/payroll.png"), "{app_json}");
    assert_eq!(app_json["monthlyCostUsd"], json!(120), "{app_json}");
    assert_eq!(app_json["instructions"], json!("Ask finance."), "{app_json}");
    assert!(admin.get(&format!("{page}?done=saved")).await.html.contains("The changes are saved."));

    for (name, cost, id, words) in [
        ("", "1", "displayName", "Name"),
        ("Pay\u{7}roll", "1", "displayName", "Name"),
        ("Payroll", "a lot", "monthlyCostUsd", "must be a whole number"),
        ("Payroll", "-5", "monthlyCostUsd", "must not be negative"),
    ] {
        let refused = admin.submit(&edit, &edit, &fields(name, cost)).await;
        assert_eq!(refused.status, 400, "{name:?} {cost:?}: {}", refused.html);
        assert_field_error(&refused, id, words);
        assert!(refused.html.contains(&format!("value=\"{cost}\"")), "the form keeps what was typed: {}", refused.html);
        assert_eq!(read().await, app_json, "nothing changed");
    }

    for (email, role) in
        [("lee@example.com", BuiltinRole::ReadOnlyAdmin), ("dan@example.com", BuiltinRole::DirectoryAdmin)]
    {
        let other = console_admin(&server, email, &[role]).await;
        let seen = other.get(&page).await;
        assert_eq!(seen.status, 200, "{email}: {}", seen.html);
        assert!(!seen.html.contains(&format!("href=\"{edit}\"")) && !seen.html.contains("/delete\""), "{email}");
        assert_eq!(other.get(&edit).await.status, 403, "{email}");
        assert_eq!(other.get(&format!("{page}/delete")).await.status, 403, "{email}");
        let csrf = seen.csrf();
        let refused = other.post(&edit, &[("csrf", &csrf), ("displayName", "Mine")]).await;
        assert_eq!(refused.status, 403, "{email}: {}", refused.html);
        let refused = other.post(&format!("{page}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(refused.status, 403, "{email}: {}", refused.html);
        assert_eq!(read().await, app_json, "{email}: nothing changed");
    }

    // An app that backs a directory: the core's refusal, in words; then a plain app is deleted.
    let backing = crate::directories::create_directory(&server, &token, "Staff", serde_json::Value::Null).await;
    let refused =
        admin.submit(&format!("/console/apps/{backing}/delete"), &format!("/console/apps/{backing}/delete"), &[]).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("delete the directory configuration first"), "{}", refused.html);
    assert_eq!(server.get(&format!("/api/v1/apps/{backing}"), &token).await.0, 200);

    let confirm = admin.get(&format!("{page}/delete")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("Delete Payroll EU?"), "{}", confirm.html);
    admin
        .submit(&format!("{page}/delete"), &format!("{page}/delete"), &[])
        .await
        .assert_redirect("deleted", "/console/apps?done=deleted");
    assert_eq!(server.get(&format!("/api/v1/apps/{app}"), &token).await.0, 404);
    let list = admin.get("/console/apps?done=deleted").await;
    assert!(list.html.contains("The app was deleted") && !list.html.contains("Payroll EU"), "{}", list.html);
}
both_backends!(app_edit_and_delete);

/// A directory's ConductorOne fields (default profile type, organization) on its form, and its deletion
/// after a confirmation through the API's delete: its pending invitation revoked, its app kept. A
/// read-only admin sees no Delete and is refused (403) with nothing changed; a directory-admin may delete;
/// deleting it again is the core's 404 in words.
async fn directory_delete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = crate::directories::create_directory(&server, &token, "Temps", serde_json::Value::Null).await;
    let invitation =
        crate::invitations::invite(&server, &token, &app, "tess@example.com", serde_json::Value::Null).await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = format!("/console/directories/{app}");
    let config = || {
        let (server, token, app) = (&server, &token, &app);
        async move { server.get(&format!("/api/v1/local-directory-configs/{app}"), token).await }
    };

    let fields = |profile: &'static str| {
        [("displayName", "Temps"), ("ttlHours", "168"), ("defaultProfileTypeId", profile), ("organizationId", "org-7")]
    };
    let bad = admin.submit(&page, &page, &fields("profile\u{1}")).await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert_field_error(&bad, "defaultProfileTypeId", "Default profile type");
    let (_, before) = config().await;
    assert_eq!(before["localDirectoryConfig"].get("organizationId").and_then(|v| v.as_str()).unwrap_or(""), "");
    admin.submit(&page, &page, &fields("pt-1")).await.assert_redirect("saved", &format!("{page}?done=saved"));
    let (_, body) = config().await;
    let saved = &body["localDirectoryConfig"];
    assert_eq!((&saved["defaultProfileTypeId"], &saved["organizationId"]), (&json!("pt-1"), &json!("org-7")), "{body}");
    assert!(admin.get(&page).await.html.contains("value=\"org-7\""));

    let (reader, csrf) = read_only(&server).await;
    let seen = reader.get(&page).await;
    assert!(!seen.html.contains("/delete\""), "no Delete: {}", seen.html);
    assert!(seen.html.contains("org-7"), "the fields are shown: {}", seen.html);
    assert_eq!(reader.get(&format!("{page}/delete")).await.status, 403);
    let refused = reader.post(&format!("{page}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert_eq!(config().await.0, 200, "nothing changed");

    assert!(admin.get(&page).await.html.contains(&format!("href=\"{page}/delete\"")));
    let dan = console_admin(&server, "dan@example.com", &[BuiltinRole::DirectoryAdmin]).await;
    let confirm = dan.get(&format!("{page}/delete")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("Delete Temps?") && confirm.html.contains("pending invitations are revoked"));
    dan.submit(&format!("{page}/delete"), &format!("{page}/delete"), &[])
        .await
        .assert_redirect("deleted", "/console/directories?done=deleted");
    assert_eq!(config().await.0, 404, "the directory is gone");
    assert_eq!(server.get(&format!("/api/v1/apps/{app}"), &token).await.0, 200, "the app stays");
    let id = invitation["id"].as_str().unwrap();
    let status =
        server.database.query_text(&format!("SELECT status FROM invitations WHERE id = '{id}'")).await.unwrap();
    assert_eq!(status, "REVOKED");
    let listed = dan.get("/console/directories?done=deleted").await;
    assert!(listed.html.contains("The directory was deleted"), "{}", listed.html);
    let again = dan.post(&format!("{page}/delete"), &[("csrf", &listed.csrf())]).await;
    assert_eq!(again.status, 404, "{}", again.html);
    assert!(again.html.contains("not found"), "{}", again.html);
}
both_backends!(directory_delete);

/// Settings: the profile fields people may edit on /account (`userEditableFields`) as checkboxes, saved as
/// the API reads them, all cleared, a field that is not one refused on the fieldset with nothing changed;
/// a read-only admin sees them in words and is refused (403) with nothing changed.
async fn settings_user_editable_fields(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get("/console/settings").await;
    assert!(page.html.contains("name=\"userEditableFields\" value=\"jobTitle\""), "{}", page.html);
    let csrf = page.csrf();
    let editable = || {
        let (server, token) = (&server, &token);
        async move { server.get("/api/v1/settings/tenant", token).await.1["userEditableFields"].clone() }
    };
    let before = editable().await;
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let (server, admin, csrf) = (&server, &admin, csrf.clone());
        async move {
            let mut all = vec![("csrf", csrf.as_str()), ("userEditableFields.shown", "1")];
            all.extend(fields);
            post_multipart(server, admin, "/console/settings/tenant", &all, None).await
        }
    };
    let refused = post(vec![("userEditableFields", "jobTitle"), ("userEditableFields", "managerIds")]).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("href=\"#editable-0\""), "{}", refused.html);
    let at = refused.html.find("id=\"editable-error\"").unwrap_or_else(|| panic!("{}", refused.html));
    assert!(refused.html[at..].contains("managerIds"), "{}", &refused.html[at..]);
    assert_eq!(editable().await, before, "nothing changed");

    post(vec![("userEditableFields", "jobTitle"), ("userEditableFields", "department")])
        .await
        .assert_redirect("saved", "/console/settings?done=tenant");
    assert_eq!(editable().await, json!(["jobTitle", "department"]));
    let shown = admin.get("/console/settings").await;
    assert!(shown.html.contains("name=\"userEditableFields\" value=\"department\" checked"), "{}", shown.html);

    let (reader, csrf) = read_only(&server).await;
    let seen = reader.get("/console/settings").await;
    assert!(seen.html.contains("<dd>Job title, Department</dd>"), "{}", seen.html);
    let refused = post_multipart(
        &server,
        &reader,
        "/console/settings/tenant",
        &[("csrf", &csrf), ("userEditableFields.shown", "1")],
        None,
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert_eq!(editable().await, json!(["jobTitle", "department"]), "nothing changed");

    post(vec![]).await.assert_redirect("cleared", "/console/settings?done=tenant");
    assert_eq!(editable().await, json!([]), "none left");
}
both_backends!(settings_user_editable_fields);

/// Access for another user, picked by email: a credential that acts as them (its token is theirs, with a
/// role they hold), an API key for them; a role they do not hold and an unknown email refused on their
/// fields with nothing made; an admin without `credential:manage` refused (403) with nothing made.
async fn access_for_another_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let pat = server
        .create_user(&token, &json!({"email": "pat@example.com", "displayName": "Pat Quinn", "roleIds": ["admin"]}))
        .await;
    let root = console_admin(&server, "root@example.com", &[BuiltinRole::SuperAdmin]).await;
    let count = |table: &'static str| {
        let (server, pat) = (&server, &pat);
        async move {
            let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE user_id = '{pat}'");
            server.database.query_text(&sql).await.unwrap()
        }
    };
    let post = |action: &'static str, owner: &'static str, role: &'static str| {
        let root = &root;
        async move {
            root.submit("/console/access", action, &[("displayName", "pat-sync"), ("owner", owner), ("roles", role)])
                .await
        }
    };

    let not_held = post("/console/access/credentials", "pat@example.com", "super-admin").await;
    assert_eq!(not_held.status, 400, "{}", not_held.html);
    assert!(not_held.html.contains("href=\"#credential-role-0\""), "{}", not_held.html);
    let at = not_held.html.find("id=\"credential-roles-error\"").unwrap_or_else(|| panic!("{}", not_held.html));
    assert!(not_held.html[at..].contains("pat@example.com does not hold Super Administrator"), "{}", not_held.html);
    let unknown = post("/console/access/keys", "nobody@example.com", "admin").await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);
    assert_field_error(&unknown, "keyOwner", "no user has the email");
    assert!(unknown.html.contains("value=\"nobody@example.com\""), "{}", unknown.html);
    assert_eq!((count("credentials").await, count("api_keys").await), ("0".into(), "0".into()), "nothing made");

    let made = post("/console/access/credentials", "pat@example.com", "admin").await;
    assert_eq!(made.status, 200, "{}", made.html);
    let secret = text_of(&made.html, "new-secret");
    let client_id = made
        .html
        .split("Client id: <code class=\"secret-once\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let theirs = server.token_for(&client_id, &secret).await;
    let (status, me) = server.get("/api/v1/auth/introspect", &theirs).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userId"], json!(pat), "the token acts as Pat: {me}");
    assert_eq!(count("credentials").await, "1");
    let listed = root.get("/console/access").await;
    assert!(
        listed.html.contains("pat-sync<br><span class=\"muted\">for Pat Quinn</span>"),
        "whose it is: {}",
        listed.html
    );

    let key = post("/console/access/keys", "pat@example.com", "admin").await;
    assert_eq!(key.status, 200, "{}", key.html);
    let api_key = text_of(&key.html, "new-secret");
    let answer = server.http.get(server.url("/onboards")).basic_auth("API", Some(api_key)).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200, "the key opens /onboards");
    assert_eq!(count("api_keys").await, "1");

    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let csrf = admin.get("/console").await.csrf();
    for action in ["/console/access/credentials", "/console/access/keys"] {
        let refused = admin
            .post(action, &[("csrf", &csrf), ("displayName", "mine"), ("owner", "pat@example.com"), ("roles", "admin")])
            .await;
        assert_eq!(refused.status, 403, "{action}: {}", refused.html);
    }
    assert_eq!((count("credentials").await, count("api_keys").await), ("1".into(), "1".into()), "nothing made");
}
both_backends!(access_for_another_user);
