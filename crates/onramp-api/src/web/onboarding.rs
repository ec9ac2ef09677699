//! The invitee's onboarding pages: `/onboarding/{id}` lists the onboard's steps and offers a form for each
//! step the invitee does (accept the terms, complete the profile).
//!
//! The invitee is known by their session (`session.rs`, the core's `account.rs`): accepting the invitation
//! signs them in, and anyone without a session is sent to the sign-in page, which leads back here. A
//! session of another person than the onboard's gets a page saying so. Every step's form carries the
//! anti-forgery token.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use onramp_core::account::AccountSession;
use onramp_core::error::CoreError;
use onramp_core::onboard_steps::StepInput;
use onramp_domain::Id;
use onramp_domain::onboarding::{OnboardStatus, ProfileField, StepKind};
use onramp_store::Onboard;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::account::{LinkMessagePage, forged, signed_in};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::session;
use crate::web::{branding, refusal_page};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get("/onboarding/{id}", show, Doc::page("onramp.pages.Onboarding", "The invitee's onboarding page").html())
        .post(
            "/onboarding/{id}/steps/{key}",
            submit_step,
            Doc::page("onramp.pages.OnboardingStep", "Submit a step from the onboarding page")
                .form::<CsrfField>()
                .html(),
        )
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
    title: String,
    optional: bool,
    badge_kind: &'static str,
    badge_text: &'static str,
    note: String,
    form: StepForm,
}

/// Who the page names for the steps others do: each approval step's approver (None: nobody can approve
/// it), and the sponsor who is told when nobody can.
#[derive(Default)]
struct Others {
    approvers: Vec<onramp_core::approvals::Waiting>,
    sponsor: Option<String>,
}

impl Others {
    async fn of(state: &AppState, onboard: &Onboard) -> Others {
        let approvers = state.core.waiting_on(onboard).await.unwrap_or_default();
        let sponsor = match approvers.iter().any(|waiting| waiting.approver.is_none()) {
            true => state.core.sponsor_of_onboard(onboard).await.ok().flatten().map(|user| user.display_name),
            false => None,
        };
        Others { approvers, sponsor }
    }

    /// The title and the note of approval step `key` that is still to do.
    fn approval(&self, key: &str) -> (String, String) {
        match self.approvers.iter().find(|waiting| waiting.step_key == key).map(|waiting| &waiting.approver) {
            Some(Some(approver)) => (
                format!("Approval by {}", approver.display_name),
                format!("Waiting for approval by {}.", approver.display_name),
            ),
            Some(None) => {
                let told = match &self.sponsor {
                    Some(sponsor) => format!("{sponsor}, who invited you, has been told."),
                    None => "Ask whoever invited you to have your manager set in onramp.".to_string(),
                };
                (
                    "Approval by your manager".to_string(),
                    format!("Nobody can approve this yet: you have no manager in onramp. {told}"),
                )
            }
            None => ("Approval by your manager".to_string(), "Waiting for your manager's approval.".to_string()),
        }
    }
}

/// The steps of an onboard, with a form for each the invitee can do now.
#[derive(Template)]
#[template(path = "onboarding.html")]
struct StepsPage {
    layout: Layout,
    /// The anti-forgery token of the steps' forms.
    csrf: String,
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

fn steps_page(layout: Layout, csrf: String, onboard: &Onboard, others: &Others, refused: Option<Refused>) -> StepsPage {
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
        let mut title = label(&step.kind).to_string();
        let (badge_kind, badge_text, note, form) = match &step.kind {
            _ if state.done => ("done", "Done", String::new(), StepForm::None),
            StepKind::AcceptTerms { text } if open => {
                let accept = Field::text("accepted", "I accept these terms").id(format!("{anchor}-accepted"));
                let accept = accept.checked(errors);
                let paragraphs = text.split('\n').filter(|line| !line.trim().is_empty()).map(str::to_string).collect();
                ("todo", "To do", String::new(), StepForm::Terms { action, paragraphs, accept: Box::new(accept) })
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
                ("todo", "To do", String::new(), StepForm::Profile { action, fields, manager_note })
            }
            kind if kind.is_automatic() => {
                ("automatic", "Automatic", "Done by onramp when the onboarding completes.".to_string(), StepForm::None)
            }
            StepKind::ManagerApproval { .. } if open => {
                let (named, note) = others.approval(&step.key);
                title = named;
                ("waiting", "Waiting", note, StepForm::None)
            }
            _ if !open => ("todo", "Not done", String::new(), StepForm::None),
            _ => (
                "waiting",
                "Waiting",
                "Someone else does this step; there is nothing for you to do.".to_string(),
                StepForm::None,
            ),
        };
        if let Some(refused) = this {
            summary.list.extend(refused.errors.list.iter().cloned());
        }
        steps.push(StepView { anchor, title, optional: !step.required, badge_kind, badge_text, note, form });
    }
    // A refusal of a step that has no form any more (done meanwhile, or the onboard ended) still shows.
    if let Some(refused) = refused.filter(|_| summary.is_empty()) {
        summary = refused.errors;
    }
    StepsPage { layout, csrf, errors: summary, headline, steps }
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
        StepKind::ManagerApproval { .. } => "Approval",
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

/// The onboard's own user signed in on this request, or the page to show instead: sign-in for nobody,
/// a refusal for someone else.
async fn invitee(state: &AppState, headers: &HeaderMap, onboard: &Onboard) -> Result<AccountSession, Response> {
    let here = format!("/onboarding/{}", onboard.id);
    let session = signed_in(state, headers, &here).await?;
    if Some(session.user().id) == onboard.user_id {
        return Ok(session);
    }
    let page = LinkMessagePage {
        layout: layout(state, onboard, "This onboarding is someone else's").await,
        kind: "error",
        text: format!(
            "You are signed in as {}, and this onboarding belongs to another account.",
            session.user().email_str()
        ),
        next: "Sign out from your account page, then sign in with the account this onboarding is for.".into(),
        link: "/account".into(),
        link_text: "Go to your account".into(),
    };
    Err(render(StatusCode::FORBIDDEN, &page))
}

async fn show(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let onboard = match onboard_of(&state, &id).await {
        Ok(onboard) => onboard,
        Err(page) => return page,
    };
    if let Err(page) = invitee(&state, &headers, &onboard).await {
        return page;
    }
    let (csrf, _) = session::form_token(&state, &headers);
    let others = Others::of(&state, &onboard).await;
    let layout = layout(&state, &onboard, "Your onboarding").await;
    render(StatusCode::OK, &steps_page(layout, csrf, &onboard, &others, None))
}

#[derive(Deserialize, JsonSchema)]
struct CsrfField {
    csrf: Option<String>,
}

async fn submit_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let csrf = serde_urlencoded::from_bytes::<CsrfField>(&body).ok().and_then(|form| form.csrf);
    if !session::form_is_genuine(&state, &headers, csrf.as_deref()) {
        return forged(&state).await;
    }
    let Ok(request) = serde_urlencoded::from_bytes::<StepInput>(&body) else {
        let error = CoreError::invalid_field("form", "is not a form of this page");
        return refusal_page(&error, &branding(&state, None).await, "form");
    };
    let onboard = match onboard_of(&state, &id).await {
        Ok(onboard) => onboard,
        Err(page) => return page,
    };
    if let Err(page) = invitee(&state, &headers, &onboard).await {
        return page;
    }
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
            let others = Others::of(&state, &current).await;
            let (csrf, _) = session::form_token(&state, &headers);
            render(StatusCode::BAD_REQUEST, &steps_page(layout, csrf, &current, &others, Some(refused)))
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
