//! The invitee's web page: `GET /invite/{token}` shows the accept form, `POST /invite/{token}` submits it.
//! Plain HTML that works without JavaScript.
//!
//! Opening the link never consumes it (mail scanners open links before people do); only submitting the
//! form does. Every page is sent with `no-store` and `Referrer-Policy: same-origin`, because its URL holds
//! the secret: the URL goes to no other site, while the form's POST still carries the page's `Origin`
//! (under `no-referrer` a browser sends `Origin: null`, which `same_origin` refuses).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use onramp_domain::Secret;
use serde::Deserialize;

use onramp_core::invite;
use onramp_core::password::PASSWORD_LENGTH;

use crate::client_addr::ClientAddr;
use crate::error::{Code, CoreError, status_of};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/invite/{token}", get(show).post(submit))
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page; `body` is HTML already escaped where it holds data. On a phone nothing may scroll sideways
/// (the browser journeys in `web-tests/` check it at 390 px): inputs are sized `border-box`, so that at full
/// width their padding and border stay inside the screen, and long words such as email addresses wrap
/// anywhere.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5;\
         overflow-wrap:anywhere}}\
         label{{display:block;margin-top:1rem}}input{{box-sizing:border-box;width:100%;padding:.5rem;font-size:1rem}}\
         button{{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}}.error{{color:#a00}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n",
        title = escape(title),
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    ];
    (status, headers, html).into_response()
}

/// The page for a refusal: its own message, and the status that fits it (a dead link is 410 Gone).
pub(crate) fn error_page(error: &CoreError) -> Response {
    // A dead link (expired or revoked) is gone for good; any other refusal has the API's status.
    let status = if error.code == Code::FailedPrecondition { StatusCode::GONE } else { status_of(error.code) };
    let response = page(status, "Invitation", &format!("<p class=\"error\">{}</p>", escape(&error.message)));
    with_retry_after(response, error)
}

/// `response` with the `Retry-After` of a refusal by a limit, if `error` is one.
pub(crate) fn with_retry_after(mut response: Response, error: &CoreError) -> Response {
    if let Some(seconds) = error.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

fn form(email: &str, display_name: &str, problem: Option<&str>) -> String {
    let problem = problem.map(|p| format!("<p class=\"error\">{}</p>", escape(p))).unwrap_or_default();
    format!(
        "<p>You are joining as <strong>{email}</strong>. Choose the name others will see and a password.</p>{problem}\
         <form method=\"post\"><label>Name <input name=\"displayName\" value=\"{name}\" maxlength=\"256\" required></label>\
         <label>Password ({min} characters or more) <input name=\"password\" type=\"password\" minlength=\"{min}\" \
         maxlength=\"{max}\" autocomplete=\"new-password\" required></label><button type=\"submit\">Create my account</button>\
         </form>",
        email = escape(email),
        name = escape(display_name),
        min = PASSWORD_LENGTH.start(),
        max = PASSWORD_LENGTH.end(),
    )
}

async fn show(State(state): State<AppState>, ClientAddr(client): ClientAddr, Path(token): Path<String>) -> Response {
    match state.core.open_invitation(client, &token).await {
        Ok(invitation) => page(
            StatusCode::OK,
            "Accept your invitation",
            &form(invitation.email.as_str(), &invitation.display_name, None),
        ),
        Err(error) => error_page(&error),
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(rename = "displayName", default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(token): Path<String>,
    Form(input): Form<AcceptForm>,
) -> Response {
    let password = Secret::new(input.password);
    match state.core.accept_invitation(client, &token, &input.display_name, password).await {
        Ok(onramp_store::Accepted { invitation, user, onboard }) => {
            let next = match &onboard {
                Some(onboard) => format!(
                    " It becomes active once your onboarding is done: <a href=\"/onboarding/{}\">continue to your \
                     onboarding</a>.",
                    onboard.id
                ),
                None => " You can sign in now.".to_string(),
            };
            let body = format!(
                "<p>Welcome, {}. Your account for <strong>{}</strong> has been created.{next}</p>",
                escape(&user.display_name),
                escape(invitation.email.as_str())
            );
            let mut response = page(StatusCode::OK, "Your account is created", &body);
            if let Some(onboard) = &onboard {
                let cookie = crate::routes::onboarding_page::session_cookie(&state, onboard, user.id);
                response.headers_mut().insert(axum::http::header::SET_COOKIE, cookie);
            }
            response
        }
        // A bad field: show the form again with the problem, keeping the name typed.
        Err(error) if error.code == Code::InvalidArgument => {
            match state.core.store().invitation_by_secret(&invite::token_hash(&token)).await {
                Ok(invitation) => {
                    let body = form(invitation.email.as_str(), &input.display_name, Some(&error.message));
                    page(StatusCode::BAD_REQUEST, "Accept your invitation", &body)
                }
                Err(other) => error_page(&other.into()),
            }
        }
        Err(error) => error_page(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">O'Hara & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Hara &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn form_escapes_what_it_shows() {
        let html = form("a@example.com", "<script>", Some("bad <b>"));
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("name=\"displayName\"") && html.contains("name=\"password\""));
    }
}
