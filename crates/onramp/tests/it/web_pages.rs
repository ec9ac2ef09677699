//! The pages' foundation over HTTP: the headers every page carries (a policy that allows no inline script
//! and no framing, `no-store`), the stylesheet and script at content-hashed URLs with a long cache, and a
//! refused accept form whose errors are tied to their fields.

use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::{PASSWORD, invite, invite_token};
use crate::support::{Backend, TestServer};

/// The value of `attribute` on the first element whose text starts with `start` (`<link rel="stylesheet"`).
fn attribute_after(html: &str, start: &str, attribute: &str) -> String {
    let element = html.split(start).nth(1).unwrap_or_else(|| panic!("no {start} in {html}"));
    let value = element.split(&format!("{attribute}=\"")).nth(1).expect("the attribute");
    value.split('"').next().unwrap().to_string()
}

async fn pages_carry_their_headers_and_assets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Pages", Value::Null).await;
    invite(&server, &token, &directory, "page@example.com", json!({"displayName": "Page"})).await;
    let secret = invite_token(&server, "page@example.com").await;

    let page = server.http.get(server.url(&format!("/invite/{secret}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| page.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let policy = header("content-security-policy");
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("referrer-policy"), "same-origin");
    let html = page.text().await.unwrap();

    for (start, attribute, content_type) in
        [("<link rel=\"stylesheet\"", "href", "text/css"), ("<script", "src", "text/javascript")]
    {
        let url = attribute_after(&html, start, attribute);
        assert!(url.starts_with("/assets/onramp-"), "{url}");
        let asset = server.http.get(server.url(&url)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{url}");
        let got = |name: &str| asset.headers()[name].to_str().unwrap().to_string();
        assert!(got("content-type").starts_with(content_type), "{url}: {}", got("content-type"));
        assert_eq!(got("cache-control"), "public, max-age=31536000, immutable", "{url}");
        assert!(!asset.bytes().await.unwrap().is_empty());
    }
    let stale = server.http.get(server.url("/assets/onramp-0000000000000000.css")).send().await.unwrap();
    assert_eq!(stale.status(), 404, "an asset of another build's hash is not served");

    // A refused submit: the summary links to the field, which says what is wrong; nothing is accepted.
    let form = [("displayName", "Page Person"), ("password", PASSWORD), ("passwordConfirm", "something else!")];
    let path = format!("/invite/{secret}");
    let refused = crate::account::Browser::new(&server, "page").submit(&path, &path, &form).await;
    assert_eq!(refused.status, 400);
    let html = refused.html;
    assert!(html.contains("href=\"#passwordConfirm\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"passwordConfirm-hint passwordConfirm-error\""));
    assert!(html.contains("value=\"Page Person\""), "the name typed is kept: {html}");
    assert!(!html.contains(PASSWORD), "a password is never sent back");
    let again = server.http.get(server.url(&format!("/invite/{secret}"))).send().await.unwrap();
    assert_eq!(again.status(), 200, "the invitation is still pending");
}
both_backends!(pages_carry_their_headers_and_assets);
