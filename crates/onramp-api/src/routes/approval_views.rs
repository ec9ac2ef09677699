//! What the approver's page (`approval_page.rs`) shows in each state of its link.

use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::approvals::ApprovalView;
use onramp_domain::onboarding::OnboardStatus;

use crate::error::CoreError;
use crate::routes::invite_page::{escape, page, with_retry_after};

/// "Zoe Zimmermann (zoe@example.com) is onboarding into Engineering", escaped.
fn who(view: &ApprovalView) -> String {
    format!(
        "<strong>{}</strong> ({}) is onboarding into <strong>{}</strong>",
        escape(&view.invitee.display_name),
        escape(view.invitee.email.as_str()),
        escape(&view.into)
    )
}

/// The form: Approve, or Reject with an optional reason.
pub fn decide(view: &ApprovalView, problem: Option<&str>, status: StatusCode) -> Response {
    let problem = problem.map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p))).unwrap_or_default();
    let body = format!(
        "<p>Hello {approver},</p><p>{who} and waits for your approval. Their account stays inactive until you \
         decide.</p>{problem}<form method=\"post\"><input type=\"hidden\" name=\"decision\" value=\"approve\">\
         <button type=\"submit\">Approve</button></form><form method=\"post\"><input type=\"hidden\" \
         name=\"decision\" value=\"reject\"><label for=\"reason\">Reason for rejecting (optional)</label>\
         <input id=\"reason\" name=\"reason\" maxlength=\"1000\"><button type=\"submit\">Reject</button></form>",
        approver = escape(&view.approver.display_name),
        who = who(view),
    );
    page(status, "Approve an onboarding", &body)
}

/// The onboard ended before this link decided.
pub fn ended(view: &ApprovalView) -> Response {
    let state = match view.onboard.status {
        OnboardStatus::Completed => "has completed already".to_string(),
        _ => format!("has stopped: {}", escape(&view.onboard.failure_reason)),
    };
    let body = format!("<p>{} — this onboarding {state}. Nothing is waiting for you.</p>", who(view));
    page(StatusCode::GONE, "Approve an onboarding", &body)
}

/// The link has decided: what it decided.
pub fn decided(view: &ApprovalView, approved: Option<bool>, status: StatusCode) -> Response {
    let name = escape(&view.invitee.display_name);
    let text = match (approved, view.onboard.status) {
        (Some(true), OnboardStatus::Completed) => {
            format!("<p>You approved {name}'s onboarding into {}. Their account is now active.</p>", escape(&view.into))
        }
        (Some(true), _) => format!(
            "<p>You approved {name}'s onboarding into {}. Their account becomes active when the rest of their \
             onboarding is done.</p>",
            escape(&view.into)
        ),
        (Some(false), _) => format!(
            "<p>You rejected {name}'s onboarding into {}. {name} and their sponsor have been told.</p>",
            escape(&view.into)
        ),
        (None, _) => "<p>This approval link has been used already.</p>".to_string(),
    };
    page(status, "Approve an onboarding", &text)
}

/// The link expired before it decided.
pub fn expired(view: &ApprovalView) -> Response {
    let body = format!(
        "<p class=\"error\">This approval link expired on {}.</p><p>{} and still waits for an approval. Ask an \
         administrator of onramp to record your decision.</p>",
        escape(&view.link.expires_at.to_rfc3339()),
        who(view)
    );
    page(StatusCode::GONE, "Approve an onboarding", &body)
}

/// A link that opens nothing (unknown, or refused by the limit on wrong links).
pub fn problem(status: StatusCode, error: &CoreError) -> Response {
    let body = format!("<p class=\"error\">{}</p>", escape(&error.message));
    with_retry_after(page(status, "Approve an onboarding", &body), error)
}
