//! What the console's Overview, Invitations, Onboards and Audit log pages share: links built from values
//! (percent-encoded), the words of statuses and deliveries, people by name, the reading of a GET filter's
//! text (a bad one becomes that field's error on the page, never a 500), and [`Pages`], the keyset paging of
//! every console list ordered by id, through the API's page tokens (`crate::paging`).

use std::collections::HashMap;

use onramp_core::Principal;
use onramp_core::error::CoreResult;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Delivery, DeliveryState, InvitationStatus};

use crate::paging::{PageTokens, fingerprint, next_page_token, page_after};
use crate::state::AppState;
use crate::web::console::Console;
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

/// A console list's keyset pages over ids, by the API's MACed page tokens (`?after=<token>`). A token is
/// bound to its list, the tenant and the list's filters as parsed: one of another list or filter, or one
/// tampered with, is the `after` field's error (the page answers 400), never another query's rows.
pub struct Pages<'a> {
    tokens: &'a PageTokens,
    print: [u8; 16],
    /// The token this page was asked for by (empty on the first page).
    pub token: String,
    /// Where this page starts: after this id; None on the first page.
    pub after: Option<Id>,
    /// A token was given and refused.
    refused: bool,
}

impl<'a> Pages<'a> {
    /// The page `raw` (the `after` parameter) asks for of the list `list` with `filters`.
    pub fn read(
        state: &'a AppState,
        console: &Console,
        list: &str,
        filters: &[(&str, String)],
        raw: &Option<String>,
        errors: &mut FormErrors,
    ) -> Self {
        let print = list_print(console, list, filters);
        let mut token = given(raw).unwrap_or_default().to_string();
        let mut refused = false;
        let after = page_after(&state.page_tokens, Some(&token), &print).unwrap_or_else(|_| {
            errors.add("after", "Page: this is not a page of this list; start again from the first page");
            token.clear();
            refused = true;
            None
        });
        Pages { tokens: &state.page_tokens, print, token, after, refused }
    }

    /// The token of the page of `list` (with `filters`) whose first row is `id`: a link into a list at
    /// one row, as the Overview's link to a failed invitation email. None for the list's first id.
    pub fn starting_at(
        state: &AppState,
        console: &Console,
        list: &str,
        filters: &[(&str, String)],
        id: &Id,
    ) -> Option<String> {
        let before = preceding(id)?;
        Some(state.page_tokens.encode(&list_print(console, list, filters), before.to_string().as_bytes()))
    }

    /// Whether this is the list's first page (else the page links back to it).
    pub fn is_first(&self) -> bool {
        self.after.is_none() && !self.refused
    }

    /// Cuts `rows`, fetched with one row too many, down to `size`; the token of the next page, None on the
    /// last.
    pub fn next<T>(&self, rows: &mut Vec<T>, size: usize, key: impl Fn(&T) -> Id) -> Option<String> {
        let token = next_page_token(self.tokens, &self.print, rows, size, key);
        (!token.is_empty()).then_some(token)
    }
}

/// What a list's page tokens are bound to: the list, the tenant and its filters as parsed.
fn list_print(console: &Console, list: &str, filters: &[(&str, String)]) -> [u8; 16] {
    let tenant = console.principal.tenant_id.to_string();
    let mut parts = vec![list, tenant.as_str()];
    for (name, value) in filters {
        parts.extend([*name, value.as_str()]);
    }
    fingerprint(&parts)
}

/// The id just before `id` as a 96-bit number (what a keyset page starting at `id` comes after); None
/// for the id of all zeros.
fn preceding(id: &Id) -> Option<Id> {
    let mut bytes = *id.as_bytes();
    for byte in bytes.iter_mut().rev() {
        let (less, borrow) = byte.overflowing_sub(1);
        *byte = less;
        if !borrow {
            return Some(Id::from_bytes(bytes));
        }
    }
    None
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
    let name = |user: &onramp_domain::user::User| match &user.email {
        Some(email) => format!("{} ({})", user.display_name, email.as_str()),
        None => format!("{} (no email)", user.display_name),
    };
    Ok(users.iter().map(|user| (user.id, name(user))).collect())
}

/// A person by name when known, else by id.
pub fn name_of(names: &HashMap<Id, String>, id: &Id) -> String {
    names.get(id).cloned().unwrap_or_else(|| format!("user {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preceding_id_borrows_across_bytes() {
        let id: Id = "5f0000000000000000000100".parse().unwrap();
        assert_eq!(preceding(&id).unwrap().to_string(), "5f00000000000000000000ff");
        let id: Id = "5f0000000000000000000001".parse().unwrap();
        assert_eq!(preceding(&id).unwrap().to_string(), "5f0000000000000000000000");
        assert_eq!(preceding(&Id::from_bytes([0; 12])), None);
    }
}
