//! The approver's page: `GET /approve/{token}` shows whose onboarding waits for them, into what, with
//! Approve and Reject (with an optional reason); `POST /approve/{token}` decides and redirects back to the
//! same address (post/redirect/get), which then says what was decided. The use cases are the core's
//! (`onramp_core::approvals`): opening never uses the link; deciding uses it, once.
//!
//! Like the invitation page, every answer is `no-store` with `Referrer-Policy: same-origin`, because the
//! URL holds the secret; the form's POST is checked for its origin by `same_origin`, and the secret in the
//! URL is what authorizes it.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use onramp_core::approvals::{ApprovalOpened, ApprovalView};
use onramp_domain::onboarding::OnboardStatus;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::error::{Code, CoreError, status_of};
use crate::routes::approval_views;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/approve/{token}", get(show).post(decide))
}

/// What the page says about a link that cannot decide (any more).
fn refused(error: &CoreError) -> Response {
    let status = match error.code {
        Code::FailedPrecondition => StatusCode::GONE,
        code => status_of(code),
    };
    approval_views::problem(status, error)
}

/// The page of a link as it is now.
fn page_of(opened: &ApprovalOpened, problem: Option<&str>, status: StatusCode) -> Response {
    match opened {
        ApprovalOpened::Open(view) if !view.onboard.status.is_final() => approval_views::decide(view, problem, status),
        ApprovalOpened::Open(view) => approval_views::ended(view),
        ApprovalOpened::Used(view) => approval_views::decided(view, decision_of(view), status),
        ApprovalOpened::Expired(view) => approval_views::expired(view),
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

async fn show(State(state): State<AppState>, ClientAddr(client): ClientAddr, Path(token): Path<String>) -> Response {
    match state.core.open_approval(client, &token).await {
        Ok(opened) => page_of(&opened, None, StatusCode::OK),
        Err(error) => refused(&error),
    }
}

#[derive(Deserialize)]
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
        "approve" => true,
        "reject" => false,
        _ => {
            return match state.core.open_approval(client, &token).await {
                Ok(opened) => page_of(&opened, Some("Choose Approve or Reject."), StatusCode::BAD_REQUEST),
                Err(error) => refused(&error),
            };
        }
    };
    let reason = (!approved).then_some(form.reason);
    match state.core.decide_approval(client, &token, approved, reason).await {
        Ok(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/approve/{token}"))]).into_response(),
        Err(error) if error.code == Code::InvalidArgument => match state.core.open_approval(client, &token).await {
            Ok(opened) => page_of(&opened, Some(&error.message), StatusCode::BAD_REQUEST),
            Err(error) => refused(&error),
        },
        Err(error) => match state.core.open_approval(client, &token).await {
            // Used or expired meanwhile, or the onboard ended: the page as it is now says so.
            Ok(opened) if !matches!(opened, ApprovalOpened::Open(ref view) if !view.onboard.status.is_final()) => {
                page_of(&opened, None, status_of(error.code))
            }
            _ => refused(&error),
        },
    }
}
