//! onramp's additions for the admin console, in the ConductorOne API's style (camelCase, int64 as strings,
//! keyset pages with MACed tokens), over the core's read models:
//!
//! - `GET /api/v1/onramp/overview?waitingDays=N`: counts of users, invitations and onboards by status, and
//!   what needs someone (onboards waiting longer than N days, invitations expiring within 48 hours, emails
//!   failed or retrying); each part only when the caller may read it (`onramp_core::overview`).
//! - `GET /api/v1/onramp/invitations?directoryAppId=&status=&pageSize=&pageToken=`: the invitations of
//!   `POST /api/v1/search/local-directory-invitations`, each with its sponsor and sender by name, its age
//!   and the delivery of its email. The ConductorOne search keeps ConductorOne's response form; this list
//!   is the same core search with what the console shows beside it.

use crate::openapi::{ApiRouter, Doc};
use schemars::JsonSchema;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use onramp_core::invitations::{InvitationListing, Person};
use onramp_core::overview::{Bounded, Overview};
use onramp_domain::onboarding::OnboardStatus;
use onramp_domain::user::UserStatus;
use onramp_domain::{Id, Timestamp};
use onramp_store::{Delivery, InvitationStatus};
use serde::{Deserialize, Serialize};

use super::onboards::{OnboardBody, onboard_json};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::paging::{fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::state::AppState;
use crate::wire::ListBody;
use crate::wire::directory::{InvitationBody, invitation_json};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/api/v1/onramp/overview",
            overview,
            Doc::api(
                "onramp.console.v1.ConsoleService.Overview",
                "Console",
                "The tenant's overview: counts by status and what needs someone",
            )
            .query::<OverviewQuery>()
            .ok::<OverviewBody>(),
        )
        .get(
            "/api/v1/onramp/invitations",
            invitations,
            Doc::api(
                "onramp.console.v1.ConsoleService.ListInvitations",
                "Console",
                "Invitations with sponsor, age and the delivery of their email",
            )
            .query::<InvitationsQuery>()
            .ok::<ListBody<InvitationListingBody>>(),
        )
}

/// The waiting threshold when the request names none, in days.
const DEFAULT_WAITING_DAYS: u32 = 3;

/// An outbox message's delivery on the wire (never its body).
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    attempts: String,
    created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<Timestamp>,
    id: Id,
    kind: String,
    last_error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<Timestamp>,
    recipient: String,
    state: &'static str,
    subject: String,
    subject_id: Id,
}

fn delivery_json(delivery: &Delivery) -> DeliveryBody {
    DeliveryBody {
        attempts: delivery.attempts.to_string(),
        created_at: delivery.created_at,
        ended_at: delivery.ended_at,
        id: delivery.id,
        kind: delivery.kind.clone(),
        last_error: delivery.last_error.clone(),
        next_attempt_at: delivery.next_attempt_at,
        recipient: delivery.recipient.clone(),
        state: delivery.state.as_str(),
        subject: delivery.subject.clone(),
        subject_id: delivery.subject_id,
    }
}

/// The first items of a list and how many there are in all.
#[derive(Serialize, Debug, Clone, JsonSchema)]
pub struct BoundedBody<T> {
    list: Vec<T>,
    total: String,
}

fn bounded<T, B>(bounded: &Bounded<T>, json: impl Fn(&T) -> B) -> BoundedBody<B> {
    BoundedBody { list: bounded.items.iter().map(json).collect(), total: bounded.total.to_string() }
}

#[derive(Serialize, Debug, Clone, JsonSchema)]
pub struct EmailsBody {
    failed: String,
    list: Vec<DeliveryBody>,
    retrying: String,
}

/// The overview; a part the caller may not read is omitted.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    emails: Option<EmailsBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiring_invitations: Option<BoundedBody<InvitationBody>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invitations: Option<BTreeMap<&'static str, String>>,
    now: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    onboards: Option<BTreeMap<&'static str, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<BTreeMap<&'static str, String>>,
    waiting_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_onboards: Option<BoundedBody<OnboardBody>>,
}

/// Counts by status under each status's wire name, every status present (0 when none has it).
fn counts<S: PartialEq + Copy>(
    all: &[S],
    counted: &[(S, i64)],
    name: impl Fn(S) -> &'static str,
) -> BTreeMap<&'static str, String> {
    all.iter()
        .map(|status| {
            let count = counted.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
            (name(*status), count.to_string())
        })
        .collect()
}

fn overview_json(overview: &Overview) -> OverviewBody {
    let now = overview.now;
    OverviewBody {
        emails: overview.emails.as_ref().map(|emails| EmailsBody {
            failed: emails.failed.to_string(),
            list: emails.items.iter().map(delivery_json).collect(),
            retrying: emails.retrying.to_string(),
        }),
        expiring_invitations: overview
            .expiring_invitations
            .as_ref()
            .map(|list| bounded(list, |invitation| invitation_json(invitation, now))),
        invitations: overview.invitations.as_ref().map(|c| counts(&InvitationStatus::ALL, c, InvitationStatus::wire)),
        now,
        onboards: overview.onboards.as_ref().map(|c| counts(&OnboardStatus::ALL, c, OnboardStatus::as_str)),
        users: overview.users.as_ref().map(|c| {
            let statuses: Vec<UserStatus> =
                UserStatus::ALL.iter().copied().filter(|status| *status != UserStatus::Unknown).collect();
            counts(&statuses, c, UserStatus::as_str)
        }),
        waiting_days: overview.waiting_days,
        waiting_onboards: overview.waiting_onboards.as_ref().map(|list| bounded(list, onboard_json)),
    }
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct OverviewQuery {
    waiting_days: Option<i64>,
}

async fn overview(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<OverviewQuery>,
) -> ApiResult<Json<OverviewBody>> {
    let days = match query.waiting_days {
        None => DEFAULT_WAITING_DAYS,
        Some(days) => u32::try_from(days)
            .map_err(|_| ApiError::invalid_field("waitingDays", "must be a whole number of days, 0 or more"))?,
    };
    let overview = state.core.overview(&caller, days).await?;
    Ok(Json(overview_json(&overview)))
}

#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonBody {
    display_name: String,
    email: String,
    id: Id,
}

fn person_json(person: &Person) -> PersonBody {
    PersonBody { display_name: person.display_name.clone(), email: person.email.clone(), id: person.id }
}

/// An invitation as the console lists it.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationListingBody {
    age_seconds: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<DeliveryBody>,
    invitation: InvitationBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    invited_by: Option<PersonBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sponsor: Option<PersonBody>,
}

fn listing_json(listing: &InvitationListing, now: Timestamp) -> InvitationListingBody {
    InvitationListingBody {
        age_seconds: listing.age_seconds.to_string(),
        delivery: listing.delivery.as_ref().map(delivery_json),
        invitation: invitation_json(&listing.invitation, now),
        invited_by: listing.invited_by.as_ref().map(person_json),
        sponsor: listing.sponsor.as_ref().map(person_json),
    }
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct InvitationsQuery {
    directory_app_id: Option<String>,
    status: Option<String>,
    page_size: Option<i64>,
    page_token: Option<String>,
}

/// An invitation status by its short name (`pending`, any case) or its ConductorOne enum name.
fn parse_status(raw: &str) -> ApiResult<InvitationStatus> {
    InvitationStatus::from_wire(raw).or_else(|| InvitationStatus::parse(&raw.to_ascii_uppercase())).ok_or_else(|| {
        ApiError::invalid_field(
            "status",
            "must be one of pending, accepted, revoked, expired (or LOCAL_INVITATION_STATUS_*)",
        )
    })
}

async fn invitations(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<InvitationsQuery>,
) -> ApiResult<Json<ListBody<InvitationListingBody>>> {
    let directory = match query.directory_app_id.as_deref().map(str::trim).filter(|raw| !raw.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<Id>().map_err(|error| ApiError::invalid_field("directoryAppId", error))?),
    };
    let status = match query.status.as_deref().map(str::trim).filter(|raw| !raw.is_empty()) {
        None => None,
        Some(raw) => Some(parse_status(raw)?),
    };
    let size = page_size("pageSize", query.page_size)?;
    let directory_text = directory.map(|id| id.to_string()).unwrap_or_default();
    let status_text = status.map(|status| status.as_str()).unwrap_or_default();
    let fingerprint = fingerprint(&["onramp.invitations", &caller.tenant_id.to_string(), &directory_text, status_text]);
    let after = page_after(&state.page_tokens, query.page_token.as_deref(), &fingerprint)?;
    let now = Timestamp::now();
    let mut listed =
        state.core.list_invitations(&caller, directory.as_ref(), status, now, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &fingerprint, &mut listed, size, |item| item.invitation.id);
    let list = listed.iter().map(|item| listing_json(item, now)).collect();
    Ok(Json(ListBody { list, next_page_token: next }))
}
