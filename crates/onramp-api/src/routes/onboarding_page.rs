//! The invitee's onboarding pages: `/onboarding/{id}` lists the onboard's steps and offers a form for each
//! step the invitee does (accept the terms, complete the profile). Plain HTML without JavaScript.
//!
//! The invitee is known by a session cookie, set when they accept the invitation on its page or when they
//! sign in here with their email and the password they chose. The cookie holds the onboard, the user and
//! an expiry, MACed with the deployment's token secret under its own fingerprint (so that it is no page
//! token, and a page token is no session); it is `HttpOnly`, `SameSite=Strict` and scoped to the onboard's
//! path. Other sites' form posts are refused by `same_origin` before they get here. Signing in is limited as
//! the API's HTTP Basic is (`sign_in.rs`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use onramp_core::onboard_steps::StepInput;
use onramp_domain::onboarding::{OnboardStatus, StepKind};
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::Onboard;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::error::{Code, CoreError};
use crate::paging::fingerprint;
use crate::routes::invite_page::{error_page, escape, page, with_retry_after};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/onboarding/{id}", get(show))
        .route("/onboarding/{id}/login", post(login))
        .route("/onboarding/{id}/steps/{key}", post(submit_step))
}

const COOKIE: &str = "onramp_onboarding";

/// How long a session lasts.
const SESSION_SECONDS: i64 = 3600;

fn session_fingerprint() -> [u8; 16] {
    fingerprint(&["onboarding.session"])
}

/// The `Set-Cookie` value of a new session of `user` on `onboard`.
pub(crate) fn session_cookie(state: &AppState, onboard: &Onboard, user: Id) -> HeaderValue {
    let expires = Timestamp::now().micros() + SESSION_SECONDS * 1_000_000;
    let payload = format!("{}{}{expires}", onboard.id, user);
    let token = state.page_tokens.encode(&session_fingerprint(), payload.as_bytes());
    let secure = if state.core.public_url().starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={token}; Path=/onboarding/{}; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict{secure}",
        onboard.id
    );
    HeaderValue::from_str(&cookie).expect("a cookie of base64url and ASCII is a valid header")
}

/// The user of a valid, unexpired session on onboard `id`, if the request carries one.
fn session_user(state: &AppState, headers: &HeaderMap, id: &Id) -> Option<Id> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)?;
    let payload = state.page_tokens.decode(Some(token), &session_fingerprint()).ok()??;
    let text = String::from_utf8(payload).ok()?;
    let (onboard, rest) = text.split_at_checked(24)?;
    let (user, expires) = rest.split_at_checked(24)?;
    let live = expires.parse::<i64>().ok()? > Timestamp::now().micros();
    (live && onboard == id.to_string()).then(|| user.parse().ok()).flatten()
}

fn login_page(id: &Id, problem: Option<&str>, status: StatusCode) -> Response {
    let problem = problem.map(|p| format!("<p class=\"error\">{}</p>", escape(p))).unwrap_or_default();
    let body = format!(
        "<p>Sign in with your email and the password you chose to continue your onboarding.</p>{problem}\
         <form method=\"post\" action=\"/onboarding/{id}/login\"><label>Email <input name=\"email\" type=\"email\" \
         required autocomplete=\"username\"></label><label>Password <input name=\"password\" type=\"password\" \
         required autocomplete=\"current-password\"></label><button type=\"submit\">Continue</button></form>"
    );
    page(status, "Continue your onboarding", &body)
}

/// The steps of an onboard, with a form for each the invitee can do now.
fn steps_page(onboard: &Onboard, problem: Option<&str>, status: StatusCode) -> Response {
    let problem = problem.map(|p| format!("<p class=\"error\">{}</p>", escape(p))).unwrap_or_default();
    let headline = match onboard.status {
        OnboardStatus::Completed => "<p>Your onboarding is complete and your account is active.</p>".to_string(),
        OnboardStatus::Failed => {
            format!("<p class=\"error\">Your onboarding stopped: {}</p>", escape(&onboard.failure_reason))
        }
        _ => "<p>Your account becomes active when these steps are done.</p>".to_string(),
    };
    let open = !onboard.status.is_final();
    let mut items = String::new();
    for (step, state) in onboard.steps.iter().zip(&onboard.states) {
        let action = format!("/onboarding/{}/steps/{}", onboard.id, escape(&step.key));
        let optional = if step.required { "" } else { " (optional)" };
        let item = match &step.kind {
            _ if state.done => format!("{}{optional}: done", label(&step.kind)),
            StepKind::AcceptTerms { text } if open => format!(
                "Accept the terms{optional}<blockquote>{}</blockquote><form method=\"post\" action=\"{action}\">\
                 <label><input type=\"checkbox\" name=\"accepted\" value=\"true\" required> I accept these terms</label>\
                 <button type=\"submit\">Accept</button></form>",
                escape(text).replace('\n', "<br>")
            ),
            StepKind::CompleteProfile { required_fields } if open => {
                let inputs: String = required_fields
                    .iter()
                    .filter(|field| field.as_str() != "managerIds")
                    .map(|field| {
                        format!(
                            "<label>{} <input name=\"{}\" maxlength=\"256\" required></label>",
                            field_label(field.as_str()),
                            field.as_str()
                        )
                    })
                    .collect();
                let note = if required_fields.iter().any(|f| f.as_str() == "managerIds") {
                    "<p>Your manager is set by an administrator.</p>"
                } else {
                    ""
                };
                format!(
                    "Complete your profile{optional}{note}<form method=\"post\" action=\"{action}\">{inputs}\
                     <button type=\"submit\">Save</button></form>"
                )
            }
            kind if kind.is_automatic() => format!("{}: when the onboarding completes", label(kind)),
            kind => format!("{}{optional}: waiting", label(kind)),
        };
        items.push_str(&format!("<li>{item}</li>"));
    }
    page(status, "Your onboarding", &format!("{headline}{problem}<ol>{items}</ol>"))
}

fn label(kind: &StepKind) -> &'static str {
    match kind {
        StepKind::AcceptTerms { .. } => "Accept the terms",
        StepKind::CompleteProfile { .. } => "Complete your profile",
        StepKind::VerifyEmail {} => "Verify your email",
        StepKind::ManagerApproval { .. } => "Approval by your manager",
        StepKind::AssignRoles { .. } => "Your access is granted",
        StepKind::Notify { .. } => "Your team is told",
    }
}

fn field_label(field: &str) -> &'static str {
    match field {
        "displayName" => "Name",
        "jobTitle" => "Job title",
        "department" => "Department",
        "employmentType" => "Employment type",
        _ => "Value",
    }
}

/// The onboard of a path, or the page that says why there is none.
async fn onboard_of(state: &AppState, raw: &str) -> Result<Onboard, Response> {
    let not_found = || error_page(&CoreError::not_found("this onboarding"));
    let id: Id = raw.parse().map_err(|_| not_found())?;
    state.core.store().find_onboard(&id).await.map_err(|_| not_found())
}

async fn show(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let onboard = match onboard_of(&state, &id).await {
        Ok(onboard) => onboard,
        Err(page) => return page,
    };
    match session_user(&state, &headers, &onboard.id) {
        Some(user) if Some(user) == onboard.user_id => steps_page(&onboard, None, StatusCode::OK),
        _ => login_page(&onboard.id, None, StatusCode::OK),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    Form(form): Form<LoginForm>,
) -> Response {
    let onboard = match onboard_of(&state, &id).await {
        Ok(onboard) => onboard,
        Err(page) => return page,
    };
    match state.core.verify_invitee(client, &onboard, &form.email, Secret::new(form.password)).await {
        Ok(user) => {
            let mut response =
                (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/onboarding/{}", onboard.id))]).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &onboard, user.id));
            response
        }
        Err(error) if error.code == Code::Unauthenticated => {
            login_page(&onboard.id, Some(&error.message), StatusCode::UNAUTHORIZED)
        }
        Err(error) if error.code == Code::ResourceExhausted => {
            with_retry_after(login_page(&onboard.id, Some(&error.message), StatusCode::TOO_MANY_REQUESTS), &error)
        }
        Err(error) => error_page(&error),
    }
}

async fn submit_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, key)): Path<(String, String)>,
    Form(request): Form<StepInput>,
) -> Response {
    let onboard = match onboard_of(&state, &id).await {
        Ok(onboard) => onboard,
        Err(page) => return page,
    };
    let Some(_) = session_user(&state, &headers, &onboard.id).filter(|user| Some(*user) == onboard.user_id) else {
        return login_page(&onboard.id, Some("Your session has ended; sign in again."), StatusCode::UNAUTHORIZED);
    };
    match state.core.complete_own_step(&onboard, &key, &request).await {
        Ok(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/onboarding/{}", onboard.id))]).into_response(),
        Err(error) => {
            let current = state.core.store().find_onboard(&onboard.id).await.unwrap_or(onboard);
            steps_page(&current, Some(&error.message), StatusCode::BAD_REQUEST)
        }
    }
}
