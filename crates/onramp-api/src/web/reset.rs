//! Forgotten passwords: `GET/POST /forgot` asks for a reset link by email (the same answer whether or not
//! the address has an account), `GET /reset/{token}` opens a link without using it and shows the form for
//! a new password, `POST /reset/{token}` sets it, which signs the person out everywhere. The link's URL
//! holds its secret, so its pages are never stored by a cache and send their referrer to no other site.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use onramp_core::password::PASSWORD_LENGTH;
use onramp_domain::Secret;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::account::{LinkMessagePage, NextQuery, client_info, forged};
use crate::web::form::{CONFIRM_FIELD, Field, FormErrors, NewPassword, confirmation_matches};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::session::{self, local_path};
use crate::web::{MessagePage, branding, refusal_page, with_retry_after};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/forgot",
            forgot_page,
            Doc::page("onramp.pages.ForgotPassword", "Ask for a password reset link").html().redirect(),
        )
        .post(
            "/forgot",
            forgot,
            Doc::page("onramp.pages.ForgotPasswordSend", "Email a reset link (the same answer for any address)")
                .form::<ForgotForm>()
                .redirect(),
        )
        .get(
            "/forgot/sent",
            sent,
            Doc::page("onramp.pages.ForgotPasswordSent", "The answer to asking for a reset link").html().redirect(),
        )
        .get(
            "/reset/{token}",
            reset_page,
            Doc::page("onramp.pages.ResetPassword", "The page of a password reset link (opening never uses it)")
                .query::<NextQuery>()
                .html()
                .redirect(),
        )
        .post(
            "/reset/{token}",
            reset,
            Doc::page("onramp.pages.ResetPasswordSet", "Set a new password with the link, signing out everywhere")
                .query::<NextQuery>()
                .form::<ResetForm>()
                .redirect(),
        )
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    layout: Layout,
    errors: FormErrors,
    csrf: String,
    email: Field,
}

impl Page for ForgotPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

async fn forgot_form(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = session::form_token(state, headers);
    let page = ForgotPage {
        layout: Layout::new("Reset your password", &branding(state, None).await),
        email: Field::text("email", "Email address")
            .of_type("email")
            .hint("We will email a link to choose a new password. It works for one hour.")
            .autocomplete("username")
            .value(email)
            .required()
            .length(None, 320)
            .checked(&errors),
        errors,
        csrf,
    };
    let mut response = render(status, &page);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn forgot_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    forgot_form(&state, &headers, "", FormErrors::none(), StatusCode::OK).await
}

#[derive(Deserialize, JsonSchema)]
struct ForgotForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !session::form_is_genuine(&state, &headers, form.csrf.as_deref()) {
        return forged(&state).await;
    }
    let client = client_info(client, &headers);
    match state.core.request_password_reset(&client, &form.email).await {
        Ok(()) => see_other("/forgot/sent"),
        Err(error) => {
            let errors = FormErrors::from_core(&error, &[("email", "email", "Email address")], "email");
            let status = crate::web::account::refused_status(&error);
            with_retry_after(forgot_form(&state, &headers, form.email.trim(), errors, status).await, &error)
        }
    }
}

async fn sent(State(state): State<AppState>) -> Response {
    let page = MessagePage {
        layout: Layout::new("Check your email", &branding(&state, None).await),
        kind: "success",
        text: "If an account has this email address, we have sent it a link to choose a new password. The link works \
               for one hour."
            .into(),
        next: "No email after a few minutes? Check your spam folder, or ask for a new link.".into(),
    };
    render(StatusCode::OK, &page)
}

/// The page of a reset link that cannot be used: why, and the way to a new link.
async fn dead_link(state: &AppState, error: &onramp_core::error::CoreError) -> Response {
    use onramp_core::error::Code;
    let title = match error.code {
        Code::FailedPrecondition => "This reset link can no longer be used",
        Code::AlreadyExists => "This reset link was used already",
        Code::NotFound => "This reset link was not found",
        Code::ResourceExhausted => "Too many attempts",
        _ => return refusal_page(error, &branding(state, None).await, "reset link"),
    };
    let status =
        if error.code == Code::FailedPrecondition { StatusCode::GONE } else { crate::error::status_of(error.code) };
    let page = LinkMessagePage {
        layout: Layout::new(title, &branding(state, None).await),
        kind: "error",
        text: crate::web::sentence(&error.message),
        next: "A new link works for one hour; only the newest email's link matters.".into(),
        link: "/forgot".into(),
        link_text: "Ask for a new link".into(),
    };
    with_retry_after(render(status, &page), error)
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    layout: Layout,
    errors: FormErrors,
    csrf: String,
    action: String,
    new_password: NewPassword,
}

impl Page for ResetPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

async fn reset_form(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    tenant: onramp_domain::Id,
    next: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = session::form_token(state, headers);
    let rule = format!(
        "{} characters or more, not a common password. A few unrelated words work well.",
        PASSWORD_LENGTH.start()
    );
    let page = ResetPage {
        layout: Layout::new("Choose a new password", &branding(state, Some(&tenant)).await),
        new_password: NewPassword::new(&rule, *PASSWORD_LENGTH.start(), *PASSWORD_LENGTH.end(), &errors),
        errors,
        csrf,
        action: format!("/reset/{token}{}", next_query("?", next)),
    };
    let mut response = render(status, &page);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn reset_page(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(query): Query<NextQuery>,
) -> Response {
    let client = client_info(client, &headers);
    let next = local_path(query.next.as_deref()).unwrap_or_default();
    match state.core.open_password_reset(&client, &token).await {
        Ok(reset) => {
            reset_form(&state, &headers, &token, reset.tenant_id, &next, FormErrors::none(), StatusCode::OK).await
        }
        Err(error) => dead_link(&state, &error).await,
    }
}

#[derive(Deserialize, JsonSchema)]
struct ResetForm {
    csrf: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(rename = "passwordConfirm")]
    password_confirm: Option<String>,
}

async fn reset(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(query): Query<NextQuery>,
    Form(form): Form<ResetForm>,
) -> Response {
    if !session::form_is_genuine(&state, &headers, form.csrf.as_deref()) {
        return forged(&state).await;
    }
    let next = local_path(query.next.as_deref()).unwrap_or_default();
    let client = client_info(client, &headers);
    let reset = match state.core.open_password_reset(&client, &token).await {
        Ok(reset) => reset,
        Err(error) => return dead_link(&state, &error).await,
    };
    if !confirmation_matches(&form.password, form.password_confirm.as_deref()) {
        let mut errors = FormErrors::none();
        errors.add(CONFIRM_FIELD, "The two passwords are not the same. Type the new password twice.");
        return reset_form(&state, &headers, &token, reset.tenant_id, &next, errors, StatusCode::BAD_REQUEST).await;
    }
    match state.core.reset_password(&client, &token, Secret::new(form.password)).await {
        Ok(()) => {
            let mut response = see_other(&format!("/signin?done=reset{}", next_query("&", &next)));
            response.headers_mut().append(header::SET_COOKIE, session::clear_session_cookie(&state));
            response
        }
        Err(error) if error.code == onramp_core::error::Code::InvalidArgument => {
            let errors = FormErrors::from_core(&error, &[("password", "password", "Password")], "password");
            reset_form(&state, &headers, &token, reset.tenant_id, &next, errors, StatusCode::BAD_REQUEST).await
        }
        Err(error) => dead_link(&state, &error).await,
    }
}

/// `next` as a query parameter after `separator` (`?next=%2Fconsole`), or nothing when there is none: a
/// reset link made for the console (`onramp signin-link`) leads to sign-in and on to the console.
fn next_query(separator: &str, next: &str) -> String {
    if next.is_empty() {
        return String::new();
    }
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{separator}next={next}")
}
