//! What a directory-admin sees and may do in the console (issue #14: "a directory-admin sees what their role
//! allows"), on both backends. The role reads users, apps, directories, invitations and onboards, and
//! writes directories, invitations and onboards (and so flows); it neither writes users nor apps, nor reads the audit log,
//! the settings or the access page. The console offers exactly the controls of the use cases the core
//! lets it call, and what it posts anyway is refused 403 with nothing changed.

use onramp_domain::BuiltinRole;
use serde_json::json;

use crate::both_backends;
use crate::console::console_admin;
use crate::support::{Backend, TestServer};

/// The labels of the console's navigation in a page, in order.
fn navigation(html: &str) -> Vec<String> {
    let nav = html.split("<nav class=\"console-nav\"").nth(1).and_then(|rest| rest.split("</nav>").next());
    let nav = nav.unwrap_or_else(|| panic!("no console navigation in {html}"));
    nav.split("<li><a href=\"")
        .skip(1)
        .filter_map(|item| item.split('>').nth(1).and_then(|label| label.split('<').next()))
        .map(str::to_string)
        .collect()
}

async fn directory_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = crate::directories::create_directory(&server, &token, "Staff", json!({"isDefault": true})).await;
    let app = crate::apps::create_app(&server, &token, "Payroll").await;
    let pat = crate::apps::create_user(&server, "pat@example.com").await;
    let dana = console_admin(&server, "dana@example.com", &[BuiltinRole::DirectoryAdmin]).await;

    let overview = dana.get("/console").await;
    assert_eq!(overview.status, 200, "{}", overview.html);
    assert_eq!(
        navigation(&overview.html),
        ["Overview", "Users", "Invite", "Invitations", "Onboards", "Flows", "Apps", "Directories"],
        "the navigation offers what the role reads"
    );
    for path in ["/console/audit", "/console/settings", "/console/access"] {
        let page = dana.get(path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.html);
    }
    let csrf = overview.csrf();

    // Users: read, never written.
    let user_page = dana.get(&format!("/console/users/{pat}")).await;
    assert_eq!(user_page.status, 200, "{}", user_page.html);
    assert!(user_page.html.contains("pat@example.com"), "{}", user_page.html);
    assert!(
        !user_page.html.contains(&format!("action=\"/console/users/{pat}/")),
        "no user actions: {}",
        user_page.html
    );
    let refused = dana.post(&format!("/console/users/{pat}/status"), &[("csrf", &csrf), ("status", "DISABLED")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let (_, body) = server.get(&format!("/api/v1/users/{pat}"), &token).await;
    assert_eq!(body["userView"]["user"]["status"], "ENABLED", "unchanged: {body}");

    // Apps: read, never written.
    let apps = dana.get("/console/apps").await;
    assert_eq!(apps.status, 200, "{}", apps.html);
    assert!(apps.html.contains("Payroll") && !apps.html.contains("New app"), "{}", apps.html);
    let refused = dana.post("/console/apps", &[("csrf", &csrf), ("displayName", "Mine")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let owners = format!("/console/apps/{app}/owners");
    let refused = dana.post(&owners, &[("csrf", &csrf), ("email", "pat@example.com"), ("roleSlug", "owner")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let (_, listed) = server.get("/api/v1/apps", &token).await;
    let names: Vec<&str> =
        listed["list"].as_array().unwrap().iter().filter_map(|a| a["displayName"].as_str()).collect();
    assert!(!names.contains(&"Mine"), "no app made: {names:?}");
    let (_, ids) = server.get(&format!("/api/v1/apps/{app}/ownerids"), &token).await;
    assert_eq!(ids["userIds"], json!([]), "no owner added: {ids}");

    // Directories and invitations: written.
    let directories = dana.get("/console/directories").await;
    assert!(directories.html.contains("action=\"/console/directories"), "{}", directories.html);
    let fields = [
        ("email", "robin@example.com"),
        ("displayName", "Robin Park"),
        ("directory", directory.as_str()),
        ("roles", "basic-user"),
        ("flow", ""),
    ];
    let invited = dana.submit("/console/invite", "/console/invite", &fields).await;
    assert_eq!(invited.status, 200, "{}", invited.html);
    assert!(invited.html.contains("Robin Park was invited"), "{}", invited.html);
    let (_, invitations) = server.get("/api/v1/onramp/invitations", &token).await;
    assert!(invitations.to_string().contains("robin@example.com"), "the invitation exists: {invitations}");
}
both_backends!(directory_admin);
