//! Cross-site requests: a POST whose `Origin` (or, without one, `Referer`) is not onramp's public URL is
//! refused with 403 and changes nothing, even when the browser sends the invitee's session cookie along; the
//! same forms posted from onramp's own pages, or by a client that sends neither header, work.

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::account::Browser;
use crate::both_backends;
use crate::directories::create_directory;
use crate::flows::create_flow;
use crate::invitations::{PASSWORD, get_invitation, invite, invite_token};
use crate::onboards::{Auth, get_onboard, list_onboards, step};
use crate::support::{Backend, TestServer, assert_api_error, read};

const EVIL: &str = "https://evil.example";

/// The `Origin` and `Referer` headers of a request; None leaves a header out.
fn from(origin: Option<&str>, referer: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [("origin", origin), ("referer", referer)] {
        if let Some(value) = value {
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        }
    }
    headers
}

/// Where a cross-site request may claim to come from.
fn elsewhere(server: &TestServer) -> Vec<HeaderMap> {
    let other_port = format!("{}1", server.base_url);
    vec![
        from(Some(EVIL), None),
        from(Some(EVIL), Some(&server.url("/invite/x"))),
        // What a browser sends for a page with `Referrer-Policy: no-referrer`, or a sandboxed frame.
        from(Some("null"), None),
        from(Some(&other_port), None),
        from(Some(&server.base_url.replace("http://", "https://")), None),
        from(None, Some(&format!("{EVIL}/phish"))),
    ]
}

async fn cross_site_posts_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = Auth::Bearer(token.clone());
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let steps =
        json!([{"key": "terms", "acceptTerms": {"text": "Be kind."}}, {"key": "approval", "managerApproval": {}}]);
    let flow = create_flow(&server, &token, "Cross-site", steps).await;
    let directory = create_directory(&server, &token, "Web", json!({"onboardingFlowId": flow["id"]})).await;
    let invitation = invite(&server, &token, &directory, "carol@example.com", Value::Null).await;
    let invitation_id = invitation["id"].as_str().unwrap();
    let secret = invite_token(&server, "carol@example.com").await;
    let invite_page = server.url(&format!("/invite/{secret}"));
    // A person's browser, which opened the page (and holds its anti-forgery cookie and token).
    let person = Browser::new(&server, "carol");
    let csrf = person.get(&format!("/invite/{secret}")).await.csrf();
    let accept_form = [("csrf", csrf.as_str()), ("displayName", "Carol"), ("password", PASSWORD)];

    for headers in elsewhere(&server) {
        let response = person.http.post(&invite_page).headers(headers.clone()).form(&accept_form).send().await.unwrap();
        assert_api_error(&format!("accept from {headers:?}"), &read(response).await, 403, 7);
    }
    let pending = get_invitation(&server, &token, &directory, invitation_id).await;
    assert_eq!(pending["status"], "LOCAL_INVITATION_STATUS_PENDING", "{pending}");

    // From the page itself, as a browser sends it: accepted, with a session.
    let accepted = person
        .http
        .post(&invite_page)
        .headers(from(Some(&server.base_url), Some(&invite_page)))
        .form(&accept_form)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let cookie = accepted
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("onramp_session="))
        .expect("accepting signs in")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let onboard = list_onboards(&server, &admin).await.remove(0);
    let id = onboard["id"].as_str().unwrap().to_string();
    let terms = server.url(&format!("/onboarding/{id}/steps/terms"));
    let signin = server.url("/signin");
    let step_csrf = person.get(&format!("/onboarding/{id}")).await.csrf();

    // The session cookie and the right token go along (a browser would send them only if SameSite
    // failed), yet nothing happens.
    for headers in elsewhere(&server) {
        let request = browser.post(&terms).header("cookie", &cookie).headers(headers.clone());
        let response = request.form(&[("csrf", step_csrf.as_str()), ("accepted", "true")]).send().await.unwrap();
        assert_api_error(&format!("terms from {headers:?}"), &read(response).await, 403, 7);
        let request = person.http.post(&signin).headers(headers.clone());
        let response = request.form(&[("email", "carol@example.com"), ("password", PASSWORD)]).send().await.unwrap();
        assert!(response.headers().get("set-cookie").is_none(), "sign-in from {headers:?} opened a session");
        assert_api_error(&format!("sign-in from {headers:?}"), &read(response).await, 403, 7);
    }
    assert_eq!(step(&get_onboard(&server, &admin, &id).await, "terms")["done"], false);
    // Without the token, from the page's own origin: refused by the anti-forgery check.
    let request = browser.post(&terms).header("cookie", &cookie).headers(from(Some(&server.base_url), None));
    let response = request.form(&[("accepted", "true")]).send().await.unwrap();
    assert_eq!(response.status(), 403, "a step without its anti-forgery token");
    assert_eq!(step(&get_onboard(&server, &admin, &id).await, "terms")["done"], false);

    // The JSON API keeps the same rule, and reads are not affected.
    let request = server.http.post(server.url("/api/v1/users")).bearer_auth(&token).headers(from(Some(EVIL), None));
    let response = request.json(&json!({"email": "x@example.com", "displayName": "X"})).send().await.unwrap();
    assert_api_error("create a user from evil.example", &read(response).await, 403, 7);
    let request = server.http.get(server.url("/api/v1/auth/introspect")).bearer_auth(&token);
    assert_eq!(request.headers(from(Some(EVIL), None)).send().await.unwrap().status(), 200);

    // A same-origin Referer without Origin (older browsers) passes, and so does a client sending neither.
    let request = browser.post(&terms).header("cookie", &cookie).headers(from(None, Some(&server.url("/onboarding"))));
    let response = request.form(&[("csrf", step_csrf.as_str()), ("accepted", "true")]).send().await.unwrap();
    assert_eq!(response.status(), 303, "terms from onramp's own page");
    assert_eq!(step(&get_onboard(&server, &admin, &id).await, "terms")["done"], true);
    let signed_in = Browser::new(&server, "elsewhere").sign_in("carol@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "a sign-in without Origin or Referer");
}
both_backends!(cross_site_posts_are_refused);

/// onramp's pages ask browsers to send their origin on the forms' POSTs: with `Referrer-Policy: no-referrer`
/// a browser sends `Origin: null`, which the check above must refuse.
async fn pages_let_browsers_send_their_origin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server.http.get(server.url("/invite/not-a-real-token")).send().await.unwrap();
    let policy = response.headers().get("referrer-policy").map(|value| value.to_str().unwrap().to_string());
    assert_eq!(policy.as_deref(), Some("same-origin"));
}
both_backends!(pages_let_browsers_send_their_origin);
