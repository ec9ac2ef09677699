//! The invitee's onboarding pages: `/onboarding/{id}` lists the onboard's steps and offers a form for each
//! step the invitee does (accept the terms, complete the profile).
//!
//! The invitee is known by a session cookie, set when they accept the invitation on its page or when they
//! sign in here with their email and the password they chose. The cookie holds the onboard, the user and
//! an expiry, MACed with the deployment's token secret under its own fingerprint (so that it is no page
//! token, and a page token is no session); it is `HttpOnly`, `SameSite=Strict` and scoped to the onboard's
//! path. Other sites' form posts are refused by `same_origin` before they get here. Signing in is limited as
//! the API's HTTP Basic is (`sign_in.rs`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use onramp_core::error::{Code, CoreError};
use onramp_core::onboard_steps::StepInput;
use onramp_domain::onboarding::{OnboardStatus, ProfileField, StepKind};
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::Onboard;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::paging::fingerprint;
use crate::state::AppState;
use crate::web::form::{Field, FormErrors};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::{branding, refusal_page, with_retry_after};

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

/// The sign-in form of an onboarding page.
#[derive(Template)]
#[template(path = "onboarding_login.html")]
struct LoginPage {
    layout: Layout,
    errors: FormErrors,
    action: String,
    email: Field,
    password: Field,
}

impl Page for LoginPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

fn login_page(layout: Layout, id: &Id, email: &str, errors: FormErrors) -> LoginPage {
    LoginPage {
        layout,
        action: format!("/onboarding/{id}/login"),
        email: Field::text("email", "Email")
            .of_type("email")
            .value(email)
            .autocomplete("username")
            .required()
            .checked(&errors),
        password: Field::text("password", "Password")
            .of_type("password")
            .autocomplete("current-password")
            .required()
            .checked(&errors),
        errors,
    }
}

/// What the page says at the top.
enum Headline {
    Open,
    Completed,
    Failed(String),
}

/// The form of a step the invitee can do now.
enum StepForm {
    None,
    Terms { action: String, paragraphs: Vec<String>, accept: Box<Field> },
    Profile { action: String, fields: Vec<Field>, manager_note: bool },
}

/// One step as the page shows it.
struct StepView {
    anchor: String,
    title: &'static str,
    optional: bool,
    badge_kind: &'static str,
    badge_text: &'static str,
    note: &'static str,
    form: StepForm,
}

/// The steps of an onboard, with a form for each the invitee can do now.
#[derive(Template)]
#[template(path = "onboarding.html")]
struct StepsPage {
    layout: Layout,
    errors: FormErrors,
    headline: Headline,
    steps: Vec<StepView>,
}

impl Page for StepsPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// A refused submit of one step: its key, what was wrong and what was typed.
struct Refused<'a> {
    key: &'a str,
    errors: FormErrors,
    input: &'a StepInput,
}

fn steps_page(layout: Layout, onboard: &Onboard, refused: Option<Refused>) -> StepsPage {
    let headline = match onboard.status {
        OnboardStatus::Completed => Headline::Completed,
        OnboardStatus::Failed => Headline::Failed(onboard.failure_reason.clone()),
        _ => Headline::Open,
    };
    let open = !onboard.status.is_final();
    let none = FormErrors::none();
    let mut summary = FormErrors::none();
    let mut steps = Vec::new();
    for (index, (step, state)) in onboard.steps.iter().zip(&onboard.states).enumerate() {
        let anchor = format!("step-{index}");
        let action = format!("/onboarding/{}/steps/{}", onboard.id, step.key);
        let this = refused.as_ref().filter(|refused| refused.key == step.key);
        let errors = this.map(|refused| &refused.errors).unwrap_or(&none);
        let (badge_kind, badge_text, note, form) = match &step.kind {
            _ if state.done => ("done", "Done", "", StepForm::None),
            StepKind::AcceptTerms { text } if open => {
                let accept = Field::text("accepted", "I accept these terms").id(format!("{anchor}-accepted"));
                let accept = accept.checked(errors);
                let paragraphs = text.split('\n').filter(|line| !line.trim().is_empty()).map(str::to_string).collect();
                ("todo", "To do", "", StepForm::Terms { action, paragraphs, accept: Box::new(accept) })
            }
            StepKind::CompleteProfile { required_fields } if open => {
                let fields = required_fields
                    .iter()
                    .filter(|field| **field != ProfileField::Manager)
                    .map(|field| {
                        let typed = this.and_then(|refused| typed_value(refused.input, *field)).unwrap_or_default();
                        Field::text(field.as_str(), field_label(*field))
                            .id(format!("{anchor}-{}", field.as_str()))
                            .value(typed)
                            .autocomplete(field_autocomplete(*field))
                            .required()
                            .length(None, 256)
                            .checked(errors)
                    })
                    .collect();
                let manager_note = required_fields.contains(&ProfileField::Manager);
                ("todo", "To do", "", StepForm::Profile { action, fields, manager_note })
            }
            kind if kind.is_automatic() => {
                ("automatic", "Automatic", "Done by onramp when the onboarding completes.", StepForm::None)
            }
            _ => ("waiting", "Waiting", "Someone else does this step; there is nothing for you to do.", StepForm::None),
        };
        if let Some(refused) = this {
            summary.list.extend(refused.errors.list.iter().cloned());
        }
        steps.push(StepView {
            anchor,
            title: label(&step.kind),
            optional: !step.required,
            badge_kind,
            badge_text,
            note,
            form,
        });
    }
    // A refusal of a step that has no form any more (done meanwhile, or the onboard ended) still shows.
    if let Some(refused) = refused.filter(|_| summary.is_empty()) {
        summary = refused.errors;
    }
    StepsPage { layout, errors: summary, headline, steps }
}

fn typed_value(input: &StepInput, field: ProfileField) -> Option<String> {
    match field {
        ProfileField::DisplayName => input.display_name.clone(),
        ProfileField::JobTitle => input.job_title.clone(),
        ProfileField::Department => input.department.clone(),
        ProfileField::EmploymentType => input.employment_type.clone(),
        ProfileField::Manager => None,
    }
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

fn field_label(field: ProfileField) -> &'static str {
    match field {
        ProfileField::DisplayName => "Name",
        ProfileField::JobTitle => "Job title",
        ProfileField::Department => "Department",
        ProfileField::EmploymentType => "Employment type",
        ProfileField::Manager => "Manager",
    }
}

fn field_autocomplete(field: ProfileField) -> &'static str {
    match field {
        ProfileField::DisplayName => "name",
        ProfileField::JobTitle => "organization-title",
        _ => "off",
    }
}

/// The onboard of a path and its tenant's layout, or the page that says why there is none.
async fn onboard_of(state: &AppState, raw: &str) -> Result<Onboard, Response> {
    let not_found =
        || async { refusal_page(&CoreError::not_found("this onboarding"), &branding(state, None).await, "onboarding") };
    let Ok(id) = raw.parse::<Id>() else { return Err(not_found().await) };
    match state.core.onboard_for_page(&id).await {
        Ok(onboard) => Ok(onboard),
        Err(_) => Err(not_found().await),
    }
}

async fn layout(state: &AppState, onboard: &Onboard, title: &str) -> Layout {
    Layout::new(title, &branding(state, Some(&onboard.tenant_id)).await)
}

async fn show(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let onboard = match onboard_of(&state, &id).await {
        Ok(onboard) => onboard,
        Err(page) => return page,
    };
    match session_user(&state, &headers, &onboard.id) {
        Some(user) if Some(user) == onboard.user_id => {
            render(StatusCode::OK, &steps_page(layout(&state, &onboard, "Your onboarding").await, &onboard, None))
        }
        _ => {
            let layout = layout(&state, &onboard, "Continue your onboarding").await;
            render(StatusCode::OK, &login_page(layout, &onboard.id, "", FormErrors::none()))
        }
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
            let mut response = see_other(&format!("/onboarding/{}", onboard.id));
            response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &onboard, user.id));
            response
        }
        Err(error) if matches!(error.code, Code::Unauthenticated | Code::ResourceExhausted) => {
            let status = if error.code == Code::Unauthenticated {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            let mut errors = FormErrors::none();
            errors.add("email", crate::web::sentence(&error.message));
            let layout = layout(&state, &onboard, "Continue your onboarding").await;
            with_retry_after(render(status, &login_page(layout, &onboard.id, &form.email, errors)), &error)
        }
        Err(error) => refusal_page(&error, &branding(&state, Some(&onboard.tenant_id)).await, "onboarding"),
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
        let mut errors = FormErrors::none();
        errors.add("email", "Your session has ended; sign in again.");
        let layout = layout(&state, &onboard, "Continue your onboarding").await;
        return render(StatusCode::UNAUTHORIZED, &login_page(layout, &onboard.id, "", errors));
    };
    match state.core.complete_own_step(&onboard, &key, &request).await {
        Ok(_) => see_other(&format!("/onboarding/{}", onboard.id)),
        Err(error) => {
            let current = state.core.onboard_for_page(&onboard.id).await.unwrap_or(onboard);
            let index = current.steps.iter().position(|step| step.key == key);
            let anchor = index.map(|index| format!("step-{index}")).unwrap_or_default();
            let fields: Vec<(String, String, &str)> = ProfileField::ALL
                .iter()
                .map(|field| (field.as_str().to_string(), format!("{anchor}-{}", field.as_str()), field_label(*field)))
                .chain([("accepted".to_string(), format!("{anchor}-accepted"), "Terms")])
                .collect();
            let fields: Vec<(&str, &str, &str)> =
                fields.iter().map(|(name, id, label)| (name.as_str(), id.as_str(), *label)).collect();
            let fallback = first_field_of(&current, index, &anchor);
            let mut errors = FormErrors::from_core(&error, &fields, &fallback);
            // The core's words are the API's ("accepted: must be true"); a person ticks a box.
            for entry in errors.list.iter_mut().filter(|entry| entry.id.ends_with("-accepted")) {
                entry.message = "Tick “I accept these terms” to accept the terms.".to_string();
            }
            let layout = layout(&state, &current, "Your onboarding").await;
            let refused = Refused { key: &key, errors, input: &request };
            render(StatusCode::BAD_REQUEST, &steps_page(layout, &current, Some(refused)))
        }
    }
}

/// The element the error summary leads to when a refusal names no field of the form: the step's first
/// input, or the step itself.
fn first_field_of(onboard: &Onboard, index: Option<usize>, anchor: &str) -> String {
    match index.map(|index| &onboard.steps[index].kind) {
        Some(StepKind::AcceptTerms { .. }) => format!("{anchor}-accepted"),
        Some(StepKind::CompleteProfile { required_fields }) => {
            match required_fields.iter().find(|field| **field != ProfileField::Manager) {
                Some(field) => format!("{anchor}-{}", field.as_str()),
                None => anchor.to_string(),
            }
        }
        _ => anchor.to_string(),
    }
}
