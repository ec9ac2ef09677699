//! The tenant settings (`GET`/`POST /api/v1/settings/tenant`) over HTTP: defaults, an update and what it
//! changes on the pages (name, logo served by onramp at its hash, accent in the page's style and policy),
//! omitted versus cleared fields, every bad input refused naming its field and changing nothing, roles, the
//! tenant wall and the audit event.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::{invite, invite_token};
use crate::support::{Backend, TestServer, assert_api_error};

const SETTINGS: &str = "/api/v1/settings/tenant";

/// A real 1×1 PNG.
pub const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async fn settings(server: &TestServer, token: &str) -> Value {
    let (status, body) = server.get(SETTINGS, token).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn tenant_settings_brand_the_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let defaults = settings(&server, &token).await;
    assert_eq!(
        defaults,
        json!({
            "accentColor": "",
            "accentTextColor": "",
            "consoleRequiresSecondFactor": false,
            "displayName": "",
            "updatedAt": "",
            "userEditableFields": []
        })
    );

    let body = json!({
        "displayName": "Acme <Widgets> & Co",
        "accentColor": "#FFD200",
        "logo": {"contentType": "image/png", "data": PNG_BASE64},
        "userEditableFields": ["jobTitle", "department"],
    });
    let (status, set) = server.post(SETTINGS, &token, &body).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set, settings(&server, &token).await, "the update answers what a read then sees");
    assert_eq!(set["accentColor"], "#ffd200");
    assert_eq!(set["accentTextColor"], "#000000", "white on yellow reads below 4.5:1, so the text is black");
    assert_eq!(set["userEditableFields"], json!(["jobTitle", "department"]));
    assert_eq!(set["logo"]["contentType"], "image/png");
    assert_eq!(set["logo"]["sizeBytes"], "70");
    let logo_url = set["logo"]["url"].as_str().unwrap().to_string();
    assert_eq!(logo_url, format!("/assets/logo-{}.png", set["logo"]["sha256"].as_str().unwrap()));

    let logo = server.http.get(server.url(&logo_url)).send().await.unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["cache-control"], "public, max-age=31536000, immutable");
    let png = base64_decode(PNG_BASE64);
    assert_eq!(logo.bytes().await.unwrap().to_vec(), png);
    let wrong_extension = logo_url.replace(".png", ".jpg");
    assert_eq!(server.http.get(server.url(&wrong_extension)).send().await.unwrap().status(), 404);

    // The invitation page: the organisation's name (escaped), its logo from onramp, its accent.
    let directory = create_directory(&server, &token, "Engineering", Value::Null).await;
    invite(&server, &token, &directory, "new@example.com", Value::Null).await;
    let secret = invite_token(&server, "new@example.com").await;
    let page = server.http.get(server.url(&format!("/invite/{secret}"))).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    let html = page.text().await.unwrap();
    assert!(html.contains("Acme &#60;Widgets&#62; &#38; Co"), "{html}");
    assert!(html.contains(&format!("<img class=\"brand-logo\" src=\"{logo_url}\"")), "{html}");
    assert!(html.contains("--accent:#ffd200;--accent-text:#000000"), "{html}");
    assert!(html.contains("invited you to join Engineering at Acme"), "{html}");
    assert!(policy.contains("style-src 'self' 'sha256-"), "{policy}");

    // Omitted fields stay; "" and a logo without data go back to the defaults.
    let (status, cleared) = server.post(SETTINGS, &token, &json!({"accentColor": "", "logo": {}})).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!((cleared["accentColor"].as_str(), cleared.get("logo")), (Some(""), None), "{cleared}");
    assert_eq!(cleared["displayName"], "Acme <Widgets> & Co", "an omitted field is unchanged");
    assert_eq!(cleared["userEditableFields"], json!(["jobTitle", "department"]));
    assert_eq!(server.http.get(server.url(&logo_url)).send().await.unwrap().status(), 404, "a removed logo");

    let events = server.get("/api/v1/audit-events", &token).await.1;
    let updates: Vec<&Value> =
        events["list"].as_array().unwrap().iter().filter(|e| e["action"] == "tenant_settings.update").collect();
    assert_eq!(updates.len(), 2, "{events}");
}
both_backends!(tenant_settings_brand_the_pages);

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

/// Every bad field is 400 naming it, and the settings stay exactly as they were.
async fn bad_settings_change_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let good = json!({"displayName": "Acme", "accentColor": "#1a56b8", "logo": {"data": PNG_BASE64}});
    assert_eq!(server.post(SETTINGS, &token, &good).await.0, 200);
    let before = settings(&server, &token).await;
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let svg = encode(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
    let huge = encode(&[b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0u8; 300 * 1024]].concat());
    let cases = [
        (json!({"accentColor": "red", "displayName": "Changed"}), "accentColor"),
        (json!({"accentColor": "#12345"}), "accentColor"),
        (json!({"logo": {"data": svg, "contentType": "image/svg+xml"}}), "logo.data"),
        (json!({"logo": {"data": "not base64!"}}), "logo.data"),
        (json!({"logo": {"data": huge}}), "logo.data"),
        (json!({"logo": {"data": PNG_BASE64, "contentType": "image/jpeg"}}), "logo.contentType"),
        (json!({"userEditableFields": ["managerIds"]}), "userEditableFields"),
        (json!({"userEditableFields": ["jobTitle", "jobTitle"]}), "userEditableFields"),
        (json!({"displayName": "two\nlines"}), "displayName"),
        (json!({"logo": "a string"}), "logo"),
    ];
    for (body, field) in cases {
        let response = server.post(SETTINGS, &token, &body).await;
        assert_api_error(&format!("{body}"), &response, 400, 3);
        let message = response.1["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: the message names {field}: {message}");
        assert_eq!(settings(&server, &token).await, before, "{body} changed nothing");
    }
}
both_backends!(bad_settings_change_nothing);

/// Reading needs settings:read, writing settings:write; each tenant sees only its own.
async fn settings_need_their_permissions_and_stay_in_their_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, reader) = server.credential_with_roles("auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_eq!(server.get(SETTINGS, &reader).await.0, 200);
    assert_api_error(
        "read-only admin writes",
        &server.post(SETTINGS, &reader, &json!({"displayName": "X"})).await,
        403,
        7,
    );
    assert_api_error("basic user reads", &server.get(SETTINGS, &basic).await, 403, 7);
    assert_eq!(server.post(SETTINGS, &token, &json!({"displayName": "First"})).await.0, 200);
    let (_, other) = server.other_tenant("Other").await;
    assert_eq!(settings(&server, &other).await["displayName"], "", "another tenant's settings are its own");
}
both_backends!(settings_need_their_permissions_and_stay_in_their_tenant);
