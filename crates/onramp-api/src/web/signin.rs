//! Signing in and out: `GET /` (where a person goes), `/signin` (email and password), `/signin/code` (the
//! second step when two-step sign-in is on) and `/signout`. A sign-in sets a new session cookie (the core
//! makes a new session and ends the one the browser had); `next` leads back only to a path on this site.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use onramp_core::account::Account;
use onramp_core::error::Code;
use onramp_core::password::PASSWORD_LENGTH;
use onramp_domain::Secret;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::account::{CsrfOnly, NextQuery, client_info, forged, with_header};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::session::{self, local_path};
use crate::web::{branding, refusal_page, sentence, with_retry_after};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/",
            home,
            Doc::page("onramp.pages.Home", "Where a person goes: their account, their onboarding, or sign-in")
                .redirect(),
        )
        .get(
            "/signin",
            sign_in_page,
            Doc::page("onramp.pages.SignInPage", "The sign-in page").query::<NextQuery>().html().redirect(),
        )
        .post(
            "/signin",
            sign_in,
            Doc::page("onramp.pages.SignIn", "Sign in with email and password").form::<SignInForm>().html().redirect(),
        )
        .get(
            "/signin/code",
            code_page,
            Doc::page("onramp.pages.SignInCodePage", "The second step of signing in (a TOTP or recovery code)")
                .query::<NextQuery>()
                .html()
                .redirect(),
        )
        .post(
            "/signin/code",
            submit_code,
            Doc::page("onramp.pages.SignInCode", "Give the code of the second step")
                .form::<CodeForm>()
                .html()
                .redirect(),
        )
        .post(
            "/signout",
            sign_out,
            Doc::page("onramp.pages.SignOut", "Sign out this session").form::<CsrfOnly>().redirect(),
        )
}

/// `GET /`: the account page when signed in (the onboarding page while onboarding), else sign-in.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match session::session_token(&state, &headers) {
        Some(token) => state.core.session(token).await.ok().flatten(),
        None => None,
    };
    let Some(session) = session else { return see_other("/signin") };
    match state.core.account(&session).await {
        Ok(Account { onboard: Some(onboard), .. }) => see_other(&format!("/onboarding/{}", onboard.id)),
        _ => see_other("/account"),
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    layout: Layout,
    errors: FormErrors,
    notice: Option<&'static str>,
    csrf: String,
    next: String,
    email: Field,
    password: Field,
}

impl Page for SignInPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// What a `done` parameter says on the sign-in page.
fn sign_in_notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "signedout" => Some("You are signed out."),
        "everywhere" => Some("You are signed out on every device."),
        "reset" => Some("Your password is changed and you are signed out everywhere. Sign in with your new password."),
        "expired" => Some("Your sign-in took too long. Sign in again."),
        _ => None,
    }
}

async fn sign_in_form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    email: &str,
    errors: FormErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = session::form_token(state, headers);
    let page = SignInPage {
        layout: Layout::new("Sign in", &branding(state, None).await),
        email: Field::text("email", "Email address")
            .of_type("email")
            .autocomplete("username")
            .value(email)
            .required()
            .length(None, 320)
            .checked(&errors),
        password: Field::text("password", "Password")
            .of_type("password")
            .autocomplete("current-password")
            .required()
            .length(None, *PASSWORD_LENGTH.end())
            .checked(&errors),
        errors,
        notice,
        csrf,
        next: next.to_string(),
    };
    with_header(render(status, &page), header::SET_COOKIE, cookie)
}

async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<NextQuery>) -> Response {
    let next = local_path(query.next.as_deref()).unwrap_or_default();
    // Someone signed in already, sent here on the way somewhere (a used invitation link, a page that needs
    // a session), goes on; without a `next` the form shows, to sign in as someone else.
    if !next.is_empty()
        && let Some(token) = session::session_token(&state, &headers)
        && let Ok(Some(_)) = state.core.session(token).await
    {
        return see_other(&next);
    }
    let notice = sign_in_notice(query.done.as_deref());
    sign_in_form(&state, &headers, &next, "", FormErrors::none(), notice, StatusCode::OK).await
}

#[derive(Deserialize, JsonSchema)]
struct SignInForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::form_is_genuine(&state, &headers, form.csrf.as_deref()) {
        return forged(&state).await;
    }
    let next = local_path(form.next.as_deref()).unwrap_or_default();
    let client = client_info(client, &headers);
    let replaces = session::session_token(&state, &headers);
    match state.core.sign_in(&client, &form.email, Secret::new(form.password), replaces).await {
        Ok(signed_in) => {
            let location = if signed_in.second_factor {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                format!("/signin/code?next={next}")
            } else if next.is_empty() {
                "/".to_string()
            } else {
                next
            };
            let cookie = session::session_cookie(&state, signed_in.token.expose());
            with_header(see_other(&location), header::SET_COOKIE, Some(cookie))
        }
        Err(error) => {
            let status = match error.code {
                Code::Unauthenticated => StatusCode::UNAUTHORIZED,
                Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
                Code::FailedPrecondition => StatusCode::FORBIDDEN,
                _ => return refusal_page(&error, &branding(&state, None).await, "sign-in"),
            };
            let mut errors = FormErrors::none();
            errors
                .add(if error.code == Code::Unauthenticated { "password" } else { "email" }, sentence(&error.message));
            let page = sign_in_form(&state, &headers, &next, form.email.trim(), errors, None, status).await;
            with_retry_after(page, &error)
        }
    }
}

#[derive(Template)]
#[template(path = "signin_code.html")]
struct CodePage {
    layout: Layout,
    errors: FormErrors,
    csrf: String,
    next: String,
    code: Field,
}

impl Page for CodePage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

async fn code_form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = session::form_token(state, headers);
    let mut code = Field::text("code", "Code")
        .hint("The 6-digit code your authenticator app shows now, or one of your recovery codes.")
        .autocomplete("one-time-code")
        .required()
        .length(None, 32)
        .checked(&errors);
    code.inputmode = None;
    let page = CodePage {
        layout: Layout::new("Enter your code", &branding(state, None).await),
        errors,
        csrf,
        next: next.to_string(),
        code,
    };
    with_header(render(status, &page), header::SET_COOKIE, cookie)
}

async fn code_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<NextQuery>) -> Response {
    let next = local_path(query.next.as_deref()).unwrap_or_default();
    let pending = match session::session_token(&state, &headers) {
        Some(token) => state.core.pending_second_factor(token).await.ok().flatten(),
        None => None,
    };
    if pending.is_none() {
        return see_other("/signin?done=expired");
    }
    code_form(&state, &headers, &next, FormErrors::none(), StatusCode::OK).await
}

#[derive(Deserialize, JsonSchema)]
struct CodeForm {
    csrf: Option<String>,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn submit_code(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if !session::form_is_genuine(&state, &headers, form.csrf.as_deref()) {
        return forged(&state).await;
    }
    let next = local_path(form.next.as_deref()).unwrap_or_default();
    let client = client_info(client, &headers);
    let token = session::session_token(&state, &headers).unwrap_or_default();
    match state.core.second_factor(&client, token, &form.code).await {
        Ok(signed_in) => {
            let cookie = session::session_cookie(&state, signed_in.token.expose());
            let location = if next.is_empty() { "/".to_string() } else { next };
            with_header(see_other(&location), header::SET_COOKIE, Some(cookie))
        }
        Err(error) if error.code == Code::Unauthenticated && error.message.contains("too long") => {
            see_other("/signin?done=expired")
        }
        Err(error) => {
            let status = match error.code {
                Code::Unauthenticated => StatusCode::UNAUTHORIZED,
                Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
                code => crate::error::status_of(code),
            };
            let mut errors = FormErrors::none();
            errors.add("code", sentence(&error.message));
            with_retry_after(code_form(&state, &headers, &next, errors, status).await, &error)
        }
    }
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfOnly>) -> Response {
    if !session::form_is_genuine(&state, &headers, form.csrf.as_deref()) {
        return forged(&state).await;
    }
    if let Some(token) = session::session_token(&state, &headers)
        && let Err(error) = state.core.sign_out(token).await
    {
        return refusal_page(&error, &branding(&state, None).await, "sign-out");
    }
    with_header(see_other("/signin?done=signedout"), header::SET_COOKIE, Some(session::clear_session_cookie(&state)))
}
