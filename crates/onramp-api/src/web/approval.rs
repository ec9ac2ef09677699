//! The approver's page: `GET /approve/{token}` shows whose onboarding waits for them, into what, with
//! Approve and Reject (with an optional reason); `POST /approve/{token}` decides and redirects back to the
//! same address (post/redirect/get), which then says what was decided. The use cases are the core's
//! (`onramp_core::approvals`): opening never uses the link; deciding uses it, once. Expired, used and
//! unknown links each have their own page.
//!
//! Like the invitation page, the URL holds the secret, so the page is `no-store` with `Referrer-Policy:
//! same-origin` (`page::render`); the form's POST is checked for its origin by `same_origin`, and the
//! secret in the URL is what authorizes it.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::approvals::{ApprovalOpened, ApprovalView};
use onramp_core::error::{Code, CoreError};
use onramp_core::onboards::MAX_REASON_CHARS;
use onramp_domain::Timestamp;
use onramp_domain::onboarding::OnboardStatus;
use onramp_domain::time_words::TimeInWords;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::error::status_of;
use crate::state::AppState;
use crate::web::form::{Field, FormErrors};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::{branding, refusal_page};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/approve/{token}",
            show,
            Doc::page(
                "onramp.pages.Approval",
                "The approver's page for an approval link: whose onboarding waits, into what, with Approve and Reject",
            )
            .html(),
        )
        .post(
            "/approve/{token}",
            decide,
            Doc::page(
                "onramp.pages.DecideApproval",
                "Approve or reject from the approval page; answered by a redirect back to it",
            )
            .form::<DecisionForm>()
            .html(),
        )
}

/// What the page shows: the decision's forms, or a message.
enum Shown {
    Open { expires: TimeInWords, reason: Box<Field> },
    Message { kind: &'static str, text: String, next: String },
}

#[derive(Template)]
#[template(path = "approval.html")]
struct ApprovalPage {
    layout: Layout,
    errors: FormErrors,
    approver: String,
    invitee: String,
    invitee_email: String,
    into: String,
    state: Shown,
}

impl Page for ApprovalPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// What was decided with a used link: approved when its step is done, rejected when the onboard failed
/// without it.
fn decision_of(view: &ApprovalView) -> Option<bool> {
    let state = view.onboard.states.iter().find(|state| state.key == view.link.step_key)?;
    if state.done {
        Some(true)
    } else if view.onboard.status == OnboardStatus::Failed {
        Some(false)
    } else {
        None
    }
}

fn message(kind: &'static str, text: String, next: &str) -> Shown {
    Shown::Message { kind, text, next: next.to_string() }
}

/// The page of a link as it is now, with `errors` of a refused decision, answered with `status`.
async fn page_of(state: &AppState, opened: &ApprovalOpened, errors: FormErrors, status: StatusCode) -> Response {
    let (view, title, shown, status) = match opened {
        ApprovalOpened::Open(view) if !view.onboard.status.is_final() => {
            let reason = Field::text("reason", "Reason (optional)")
                .hint(format!("{} sees it when you reject.", view.invitee.display_name))
                .length(None, MAX_REASON_CHARS)
                .checked(&errors);
            let expires = TimeInWords::new(view.link.expires_at, Timestamp::now());
            (view, "Approve an onboarding", Shown::Open { expires, reason: Box::new(reason) }, status)
        }
        ApprovalOpened::Open(view) => {
            let text = match view.onboard.status {
                OnboardStatus::Completed => {
                    format!("{}'s onboarding has completed already.", view.invitee.display_name)
                }
                _ => format!("{}'s onboarding has stopped: {}", view.invitee.display_name, view.onboard.failure_reason),
            };
            (view, "Nothing to approve", message("info", text, "Nothing is waiting for you."), StatusCode::GONE)
        }
        ApprovalOpened::Used(view) => {
            let name = &view.invitee.display_name;
            let shown = match (decision_of(view), view.onboard.status) {
                (Some(true), OnboardStatus::Completed) => message(
                    "success",
                    format!("You approved {name}'s onboarding into {}.", view.into),
                    "Their account is now active.",
                ),
                (Some(true), _) => message(
                    "success",
                    format!("You approved {name}'s onboarding into {}.", view.into),
                    "Their account becomes active when the rest of their onboarding is done.",
                ),
                (Some(false), _) => message(
                    "info",
                    format!("You rejected {name}'s onboarding into {}.", view.into),
                    "They and their sponsor have been told.",
                ),
                (None, _) => message("info", "This approval link has been used already.".to_string(), ""),
            };
            (view, "Your decision", shown, status)
        }
        ApprovalOpened::Expired(view) => {
            let expired = TimeInWords::new(view.link.expires_at, Timestamp::now());
            let text = format!("This approval link expired on {}.", expired.date);
            let next = format!(
                "{}'s onboarding still waits for an approval: ask an administrator of {} to record your decision.",
                view.invitee.display_name, view.into
            );
            (view, "This link has expired", message("error", text, &next), StatusCode::GONE)
        }
    };
    let page = ApprovalPage {
        layout: Layout::new(title, &branding(state, Some(&view.onboard.tenant_id)).await),
        errors,
        approver: view.approver.display_name.clone(),
        invitee: view.invitee.display_name.clone(),
        invitee_email: view.invitee.email_str().to_string(),
        into: view.into.clone(),
        state: shown,
    };
    render(status, &page)
}

/// The page of a link that opens nothing (unknown, malformed, or refused by the limit on wrong links).
async fn refused(state: &AppState, error: &CoreError) -> Response {
    refusal_page(error, &branding(state, None).await, "approval link")
}

async fn show(State(state): State<AppState>, ClientAddr(client): ClientAddr, Path(token): Path<String>) -> Response {
    match state.core.open_approval(client, &token).await {
        Ok(opened) => page_of(&state, &opened, FormErrors::none(), StatusCode::OK).await,
        Err(error) => refused(&state, &error).await,
    }
}

#[derive(Deserialize, JsonSchema)]
struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(token): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let approved = match form.decision.as_str() {
        "approve" => Some(true),
        "reject" => Some(false),
        _ => None,
    };
    let outcome = match approved {
        Some(approved) => {
            let reason = (!approved).then_some(form.reason);
            state.core.decide_approval(client, &token, approved, reason).await
        }
        None => Err(CoreError::invalid_field("decision", "must be approve or reject")),
    };
    let error = match outcome {
        Ok(_) => return see_other(&format!("/approve/{token}")),
        Err(error) => error,
    };
    let opened = match state.core.open_approval(client, &token).await {
        Ok(opened) => opened,
        Err(error) => return refused(&state, &error).await,
    };
    if error.code == Code::InvalidArgument {
        let fields = [("reason", "reason", "Reason")];
        let errors = FormErrors::from_core(&error, &fields, "reason");
        return page_of(&state, &opened, errors, StatusCode::BAD_REQUEST).await;
    }
    // Used or expired meanwhile, or the onboard ended: the page as it is now says so, with the refusal's
    // status.
    page_of(&state, &opened, FormErrors::none(), status_of(error.code)).await
}
