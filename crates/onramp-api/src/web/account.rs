//! The account page (profile, password, sessions, two-step sign-in) and what every page of a signed-in
//! person shares: who is asking, the session of a request (or the way to sign-in), the refusal of a forged
//! form. Sign-in and sign-out are in `signin.rs`, two-step sign-in's setup in `totp.rs`.
//!
//! Every page here calls a use case of the core; a page that needs a signed-in person sends anyone else
//! to `/signin?next=<this page>`. Every POST checks the anti-forgery token (`session.rs`) first and answers
//! a success with a redirect (post/redirect/get); a refused form comes back with its errors, never with a
//! password.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use onramp_core::account::{AccountSession, ClientInfo, ProfileEdit};
use onramp_core::error::{Code, CoreError};
use onramp_core::password::PASSWORD_LENGTH;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Id, Secret, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::form::{CONFIRM_FIELD, Field, FormErrors, NewPassword, confirmation_matches};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::session;
use crate::web::{MessagePage, branding, refusal_page, with_retry_after};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .merge(crate::web::signin::routes())
        .get(
            "/account",
            account_page,
            Doc::page("onramp.pages.Account", "The signed-in person's account page")
                .query::<NextQuery>()
                .html()
                .redirect(),
        )
        .post(
            "/account/profile",
            update_profile,
            Doc::page("onramp.pages.AccountProfile", "Save the profile fields the person may edit")
                .form::<ProfileForm>()
                .redirect(),
        )
        .post(
            "/account/password",
            change_password,
            Doc::page("onramp.pages.AccountPassword", "Change the password with the current one")
                .form::<PasswordForm>()
                .redirect(),
        )
        .post(
            "/account/sessions/{id}/signout",
            sign_out_session,
            Doc::page("onramp.pages.AccountSignOutSession", "Sign out one of the person's sessions")
                .form::<CsrfOnly>()
                .redirect(),
        )
        .post(
            "/account/sessions/signout-all",
            sign_out_everywhere,
            Doc::page("onramp.pages.AccountSignOutEverywhere", "Sign out every session of the person")
                .form::<CsrfOnly>()
                .redirect(),
        )
        .merge(crate::web::totp::routes())
}

/// Who is asking, for the core (kept on a new session for the list of sessions).
pub fn client_info(client: ClientAddr, headers: &HeaderMap) -> ClientInfo {
    let user_agent = headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    ClientInfo { address: client.0, user_agent: user_agent.to_string() }
}

/// The signed-in person of a request, or the redirect to sign-in that comes back to `here`.
pub async fn signed_in(state: &AppState, headers: &HeaderMap, here: &str) -> Result<AccountSession, Response> {
    let session = match session::session_token(state, headers) {
        Some(token) => state.core.session(token).await,
        None => Ok(None),
    };
    match session {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(to_sign_in(here)),
        Err(error) => Err(refusal_page(&error, &branding(state, None).await, "page")),
    }
}

/// The redirect to the sign-in page that leads back to `here` afterwards.
pub fn to_sign_in(here: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    see_other(&format!("/signin?next={next}"))
}

/// The answer to a POST whose anti-forgery token is missing or wrong.
pub async fn forged(state: &AppState) -> Response {
    let page = MessagePage {
        layout: Layout::new("This form has expired", &branding(state, None).await),
        kind: "error",
        text: "This form could not be accepted: it was shown in another session, or too long ago.".into(),
        next: "Go back, reload the page and try again.".into(),
    };
    render(StatusCode::FORBIDDEN, &page)
}

/// A page that says something and leads on by one link (a used invitation: to sign-in).
#[derive(Template)]
#[template(path = "message_link.html")]
pub struct LinkMessagePage {
    pub layout: Layout,
    /// `error`, `success` or `info`: the notice's look.
    pub kind: &'static str,
    pub text: String,
    pub next: String,
    pub link: String,
    pub link_text: String,
}

impl Page for LinkMessagePage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// `response` with a header added.
pub(crate) fn with_header(mut response: Response, name: header::HeaderName, value: Option<HeaderValue>) -> Response {
    if let Some(value) = value {
        response.headers_mut().append(name, value);
    }
    response
}

#[derive(Deserialize, Default, JsonSchema)]
pub(crate) struct NextQuery {
    pub(crate) next: Option<String>,
    pub(crate) done: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct CsrfOnly {
    pub(crate) csrf: Option<String>,
}

/// One row of the list of sessions.
pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub address: String,
    pub started: TimeInWords,
    pub last_seen: TimeInWords,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
    pub csrf: String,
    pub name: String,
    pub email: String,
    pub onboarding: Option<String>,
    pub profile: Vec<Field>,
    pub current_password: Field,
    pub new_password: NewPassword,
    pub sessions: Vec<SessionRow>,
    pub totp_enabled: bool,
    pub recovery_codes_left: u32,
    pub totp_password: Field,
    pub totp_code: Field,
}

impl Page for AccountPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// What a `done` parameter says on the account page.
fn account_notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "profile" => Some("Your profile is saved."),
        "password" => Some("Your password is changed. Your other sessions are signed out."),
        "session" => Some("That session is signed out."),
        "totp-on" => Some("Two-step sign-in is on."),
        "totp-off" => Some("Two-step sign-in is off."),
        _ => None,
    }
}

/// A browser's name from its user agent, roughly: enough to tell one's own devices apart.
fn device_of(user_agent: &str) -> String {
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"].iter().find(|name| user_agent.contains(*name)).map(
        |name| match *name {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        },
    );
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(key, _)| user_agent.contains(key))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) if user_agent.is_empty() => "Unknown device".to_string(),
        (None, None) => user_agent.chars().take(60).collect(),
    }
}

/// The account page of `session`, with `errors` from a refused form and the values typed in it.
pub async fn account_response(
    state: &AppState,
    headers: &HeaderMap,
    session: &AccountSession,
    errors: FormErrors,
    notice: Option<&'static str>,
    typed: Option<&ProfileEdit>,
    status: StatusCode,
) -> Response {
    let account = match state.core.account(session).await {
        Ok(account) => account,
        Err(error) => return refusal_page(&error, &branding(state, Some(&session.user().tenant_id)).await, "page"),
    };
    let (csrf, cookie) = session::form_token(state, headers);
    let user = &account.user;
    let now = Timestamp::now();
    let value = |typed_value: Option<&Option<String>>, stored: &str| match typed_value {
        Some(Some(typed)) => typed.clone(),
        _ => stored.to_string(),
    };
    let editable = |field: &str| account.editable_fields.iter().any(|name| name == field);
    let mut profile = Vec::new();
    if editable("displayName") {
        profile.push(
            Field::text("displayName", "Name")
                .hint("As others see it.")
                .autocomplete("name")
                .value(value(typed.map(|t| &t.display_name), &user.display_name))
                .required()
                .length(None, 256)
                .checked(&errors),
        );
    }
    if editable("jobTitle") {
        profile.push(
            Field::text("jobTitle", "Job title")
                .autocomplete("organization-title")
                .value(value(typed.map(|t| &t.job_title), &user.job_title))
                .length(None, 256)
                .checked(&errors),
        );
    }
    if editable("department") {
        profile.push(
            Field::text("department", "Department")
                .value(value(typed.map(|t| &t.department), &user.department))
                .length(None, 256)
                .checked(&errors),
        );
    }
    if editable("employmentType") {
        profile.push(
            Field::text("employmentType", "Employment type")
                .value(value(typed.map(|t| &t.employment_type), &user.employment_type))
                .length(None, 256)
                .checked(&errors),
        );
    }
    let rule = format!(
        "{} characters or more, not a common password. A few unrelated words work well.",
        PASSWORD_LENGTH.start()
    );
    let page = AccountPage {
        layout: Layout::new("Your account", &branding(state, Some(&user.tenant_id)).await),
        notice,
        csrf,
        name: user.display_name.clone(),
        email: user.email_str().to_string(),
        onboarding: account.onboard.as_ref().map(|onboard| format!("/onboarding/{}", onboard.id)),
        profile,
        current_password: Field::text("currentPassword", "Current password")
            .of_type("password")
            .autocomplete("current-password")
            .required()
            .checked(&errors),
        new_password: {
            let mut pair = NewPassword::new(&rule, *PASSWORD_LENGTH.start(), *PASSWORD_LENGTH.end(), &errors);
            pair.password.label = "New password".into();
            pair.confirm.label = "Confirm your new password".into();
            pair
        },
        sessions: account
            .sessions
            .iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                device: device_of(&s.user_agent),
                address: s.client_addr.clone(),
                started: TimeInWords::new(s.created_at, now),
                last_seen: TimeInWords::new(s.last_seen_at, now),
                current: s.id == session.session().id,
            })
            .collect(),
        totp_enabled: account.totp_enabled,
        recovery_codes_left: account.recovery_codes_left,
        totp_password: Field::text("totpPassword", "Your password")
            .of_type("password")
            .autocomplete("current-password")
            .required()
            .checked(&errors),
        totp_code: Field::text("totpCode", "A code from your app, or a recovery code")
            .autocomplete("one-time-code")
            .required()
            .length(None, 32)
            .checked(&errors),
        errors,
    };
    with_header(render(status, &page), header::SET_COOKIE, cookie)
}

async fn account_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<NextQuery>) -> Response {
    let session = match signed_in(&state, &headers, "/account").await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let notice = account_notice(query.done.as_deref());
    account_response(&state, &headers, &session, FormErrors::none(), notice, None, StatusCode::OK).await
}

/// The signed-in session of a form POST on the account page, once its anti-forgery token is checked.
pub async fn account_post(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<AccountSession, Response> {
    if !session::form_is_genuine(state, headers, csrf) {
        return Err(forged(state).await);
    }
    signed_in(state, headers, "/account").await
}

/// The status of a refused form: a limit's 429, else 400.
pub fn refused_status(error: &CoreError) -> StatusCode {
    if error.code == Code::ResourceExhausted { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::BAD_REQUEST }
}

#[derive(Deserialize, JsonSchema)]
struct ProfileForm {
    csrf: Option<String>,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    #[serde(rename = "jobTitle")]
    job_title: Option<String>,
    department: Option<String>,
    #[serde(rename = "employmentType")]
    employment_type: Option<String>,
}

async fn update_profile(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<ProfileForm>) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let edit = ProfileEdit {
        display_name: form.display_name,
        job_title: form.job_title,
        department: form.department,
        employment_type: form.employment_type,
    };
    match state.core.update_own_profile(&session, &edit).await {
        Ok(_) => see_other("/account?done=profile"),
        Err(error) => {
            let fields = [
                ("displayName", "displayName", "Name"),
                ("jobTitle", "jobTitle", "Job title"),
                ("department", "department", "Department"),
                ("employmentType", "employmentType", "Employment type"),
            ];
            let errors = FormErrors::from_core(&error, &fields, "profile-title");
            account_response(&state, &headers, &session, errors, None, Some(&edit), refused_status(&error)).await
        }
    }
}

#[derive(Deserialize, JsonSchema)]
struct PasswordForm {
    csrf: Option<String>,
    #[serde(rename = "currentPassword", default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(rename = "passwordConfirm")]
    password_confirm: Option<String>,
}

async fn change_password(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if !confirmation_matches(&form.password, form.password_confirm.as_deref()) {
        let mut errors = FormErrors::none();
        errors.add(CONFIRM_FIELD, "The two passwords are not the same. Type the new password twice.");
        return account_response(&state, &headers, &session, errors, None, None, StatusCode::BAD_REQUEST).await;
    }
    let client = client_info(client, &headers);
    let outcome = state
        .core
        .change_password(&client, &session, Secret::new(form.current_password), Secret::new(form.password))
        .await;
    match outcome {
        Ok(()) => see_other("/account?done=password"),
        Err(error) => {
            let fields =
                [("currentPassword", "currentPassword", "Current password"), ("password", "password", "New password")];
            let errors = FormErrors::from_core(&error, &fields, "currentPassword");
            let response =
                account_response(&state, &headers, &session, errors, None, None, refused_status(&error)).await;
            with_retry_after(response, &error)
        }
    }
}

async fn sign_out_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let outcome = match id.parse::<Id>() {
        Ok(id) => state.core.sign_out_session(&session, &id).await,
        Err(_) => Err(CoreError::not_found("this session")),
    };
    match outcome {
        Ok(()) if id == session.session().id.to_string() => with_header(
            see_other("/signin?done=signedout"),
            header::SET_COOKIE,
            Some(session::clear_session_cookie(&state)),
        ),
        Ok(()) => see_other("/account?done=session"),
        Err(error) => refusal_page(&error, &branding(&state, Some(&session.user().tenant_id)).await, "session"),
    }
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match state.core.sign_out_everywhere(&session).await {
        Ok(_) => with_header(
            see_other("/signin?done=everywhere"),
            header::SET_COOKIE,
            Some(session::clear_session_cookie(&state)),
        ),
        Err(error) => refusal_page(&error, &branding(&state, Some(&session.user().tenant_id)).await, "session"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_from_their_user_agent() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_of(chrome), "Chrome on Linux");
        assert_eq!(device_of(""), "Unknown device");
        assert_eq!(device_of("curl/8.0"), "curl/8.0");
    }
}
