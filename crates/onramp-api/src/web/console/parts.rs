//! What the console's Overview, Invitations, Onboards and Audit log pages share: links built from values
//! (percent-encoded), the words of statuses and deliveries, people by name, and the reading of a GET
//! filter's text (a bad one becomes that field's error on the page, never a 500).

use std::collections::HashMap;

use onramp_core::Principal;
use onramp_core::error::CoreResult;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Delivery, DeliveryState, InvitationStatus};

use crate::state::AppState;
use crate::web::form::FormErrors;

/// `path?name=value&...`, the values percent-encoded, empty values left out.
pub fn href(path: &str, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| {
            format!("{name}={}", url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
        })
        .collect();
    if query.is_empty() { path.to_string() } else { format!("{path}?{}", query.join("&")) }
}

/// A GET filter's value: trimmed, empty is absent.
pub fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|raw| !raw.is_empty())
}

/// An id filter, or the field's error.
pub fn id_filter(raw: &Option<String>, field: &str, label: &str, errors: &mut FormErrors) -> Option<Id> {
    let raw = given(raw)?;
    match raw.parse::<Id>() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add(field, format!("{label}: must be an id of 24 hexadecimal characters"));
            None
        }
    }
}

/// An invitation status by the name the page's filter uses.
pub fn invitation_status_name(status: InvitationStatus) -> &'static str {
    match status {
        InvitationStatus::Pending => "pending",
        InvitationStatus::Accepted => "accepted",
        InvitationStatus::Revoked => "revoked",
        InvitationStatus::Expired => "expired",
    }
}

pub fn invitation_status_label(status: InvitationStatus) -> &'static str {
    match status {
        InvitationStatus::Pending => "Pending",
        InvitationStatus::Accepted => "Accepted",
        InvitationStatus::Revoked => "Revoked",
        InvitationStatus::Expired => "Expired",
    }
}

pub fn onboard_status_label(status: onramp_domain::onboarding::OnboardStatus) -> &'static str {
    use onramp_domain::onboarding::OnboardStatus;
    match status {
        OnboardStatus::Created => "Created",
        OnboardStatus::InProgress => "In progress",
        OnboardStatus::Completed => "Completed",
        OnboardStatus::Failed => "Failed",
    }
}

/// The badge class of an onboard status (`in-progress`).
pub fn onboard_status_class(status: onramp_domain::onboarding::OnboardStatus) -> &'static str {
    use onramp_domain::onboarding::OnboardStatus;
    match status {
        OnboardStatus::Created => "pending",
        OnboardStatus::InProgress => "in-progress",
        OnboardStatus::Completed => "completed",
        OnboardStatus::Failed => "failed",
    }
}

/// An email's delivery, as an operator reads it.
pub struct DeliveryWords {
    /// "Sent", "Retrying (attempt 3)", "Failed after 5 attempts"...
    pub state: String,
    /// The badge class.
    pub class: &'static str,
    /// The last error, when an attempt failed.
    pub error: String,
    pub recipient: String,
    pub subject: String,
    pub when: TimeInWords,
}

pub fn delivery_words(delivery: &Delivery, now: Timestamp) -> DeliveryWords {
    let attempts = delivery.attempts;
    let plural = if attempts == 1 { "" } else { "s" };
    let (state, class) = match delivery.state {
        DeliveryState::Queued => ("Queued".to_string(), "waiting"),
        DeliveryState::Retrying => (format!("Retrying after {attempts} failed attempt{plural}"), "waiting"),
        DeliveryState::Sent => ("Sent".to_string(), "done"),
        DeliveryState::Failed => (format!("Failed after {attempts} attempt{plural}"), "failed"),
        DeliveryState::Cancelled => ("Cancelled".to_string(), "todo"),
    };
    DeliveryWords {
        state,
        class,
        error: delivery.last_error.clone(),
        recipient: delivery.recipient.clone(),
        subject: delivery.subject.clone(),
        when: TimeInWords::new(delivery.ended_at.unwrap_or(delivery.created_at), now),
    }
}

/// An age in seconds in words: "3 days", "5 hours", "less than a minute".
pub fn age_in_words(seconds: i64) -> String {
    let (count, unit) = match seconds.max(0) {
        0..60 => return "less than a minute".into(),
        s @ 60..3_600 => (s / 60, "minute"),
        s @ 3_600..86_400 => (s / 3_600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{count} {unit}{}", if count == 1 { "" } else { "s" })
}

/// The people among `ids` by name, when the admin may read users; otherwise nobody (pages then show ids).
pub async fn names(state: &AppState, principal: &Principal, ids: &[Id]) -> CoreResult<HashMap<Id, String>> {
    if ids.is_empty() || principal.require(Permission::UserRead).is_err() {
        return Ok(HashMap::new());
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let users = state.core.users_by_ids(principal, &ids).await?;
    Ok(users.into_iter().map(|user| (user.id, format!("{} ({})", user.display_name, user.email.as_str()))).collect())
}

/// A person by name when known, else by id.
pub fn name_of(names: &HashMap<Id, String>, id: &Id) -> String {
    names.get(id).cloned().unwrap_or_else(|| format!("user {id}"))
}
