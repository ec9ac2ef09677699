//! The web pages: server-rendered HTML from askama templates (`crates/onramp-api/templates/`, compiled in,
//! HTML auto-escaped), one layout, a few components, one stylesheet and one small script of onramp's own
//! (`assets.rs`). Every page works without JavaScript.
//!
//! - `page.rs`: the layout's model, the headers of every page (CSP, `no-store`, referrer policy) and
//!   [`page::render`], the one way a page becomes a response.
//! - `form.rs`: the form model: fields with label, hint and error (`aria-invalid`, `aria-describedby`),
//!   the error summary, new-password pairs.
//! - `invite.rs`: the invitation page at `/invite/{token}`; `onboarding.rs`: the invitee's onboarding pages;
//!   `approval.rs`: the approver's page at `/approve/{token}`.
//! - `session.rs`: the session and anti-forgery cookies and the check of every form POST; `account.rs`:
//!   the account page and what signed-in pages share; `signin.rs`: `GET /`, sign-in (and its second step)
//!   and sign-out; `totp.rs`: setting up and
//!   turning off two-step sign-in; `reset.rs`: forgotten passwords.
//! - `console/`: the admin console at `/console` (its module doc says who gets in and how to add a page).
//!
//! Pages call the application core, never the store.

pub mod account;
pub mod approval;
pub mod assets;
pub mod console;
pub mod form;
pub mod invite;
pub mod onboarding;
pub mod page;
pub mod reset;
pub mod session;
pub mod signin;
pub mod totp;

use crate::openapi::ApiRouter;
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::branding::Branding;
use onramp_core::error::{Code, CoreError};

use crate::error::status_of;
use crate::state::AppState;

/// Every route of the pages and their assets.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .merge(assets::routes())
        .merge(invite::routes())
        .merge(onboarding::routes())
        .merge(account::routes())
        .merge(reset::routes())
        .merge(approval::routes())
        .merge(console::routes())
}

/// A page that only says something: a heading (the title), a notice and what to do next.
#[derive(askama::Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: page::Layout,
    /// `error`, `success` or `info`: the notice's look.
    pub kind: &'static str,
    pub text: String,
    pub next: String,
}

impl page::Page for MessagePage {
    fn layout(&self) -> &page::Layout {
        &self.layout
    }
}

/// The page for a refusal of the core: its message, under a heading that fits it, with the status that
/// fits it (a dead link is 410 Gone) and the `Retry-After` of a refusal by a limit.
pub fn refusal_page(error: &CoreError, branding: &Branding, what: &str) -> Response {
    let (status, title) = match error.code {
        Code::FailedPrecondition => (StatusCode::GONE, format!("This {what} can no longer be used")),
        Code::AlreadyExists | Code::Aborted => (status_of(error.code), format!("This {what} cannot be used")),
        Code::NotFound => (status_of(error.code), format!("This {what} was not found")),
        Code::ResourceExhausted => (status_of(error.code), "Too many attempts".to_string()),
        code => (status_of(code), "Something went wrong".to_string()),
    };
    let page = MessagePage {
        layout: page::Layout::new(title, branding),
        kind: "error",
        text: sentence(&error.message),
        next: String::new(),
    };
    with_retry_after(page::render(status, &page), error)
}

/// `response` with the `Retry-After` of a refusal by a limit, if `error` is one.
pub fn with_retry_after(mut response: Response, error: &CoreError) -> Response {
    if let Some(seconds) = error.retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

/// A message as a sentence: capital first letter, final full stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The branding of `tenant` for a page, or onramp's own when it cannot be read (the page still shows).
pub async fn branding(state: &AppState, tenant: Option<&onramp_domain::Id>) -> Branding {
    match state.core.branding(tenant).await {
        Ok(branding) => branding,
        Err(error) => {
            tracing::warn!(message = %error.message, "the tenant's branding could not be read; the page shows onramp's");
            Branding::onramp()
        }
    }
}
