//! Invitations into local directories.
//!
//! ConductorOne's operations: create (`POST .../local-directory-configs/{app_id}/invitations`), get,
//! revoke, and `POST /api/v1/search/local-directory-invitations`. onramp's additions in the same style:
//! `POST .../invitations/{id}/resend` (a new secret and expiry), `POST /api/v1/local-directory-invitations/accept`
//! (unauthenticated, bound to the secret) and `POST .../local-directory-configs/{app_id}/self-registrations`
//! (unauthenticated; an invitation the person sends themself, which proves they own the email before any
//! user exists).
//!
//! The secret leaves onramp only inside the email, which is queued in the outbox by the same transaction
//! that stores the secret's hash; the worker is woken when the transaction commits.

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use onramp_domain::{Id, Permission, Secret, Timestamp};
use onramp_store::{Invitation, InvitationStatus, LocalDirectory, OutboxMessage, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::ApiJson;
use crate::invite::{self, invitation_email, new_token, token_hash};
use crate::limits::too_many;
use crate::paging::{fingerprint, page_size};
use crate::password::hash_password;
use crate::principal::Principal;
use crate::routes::apps::{next_page_token, page_after, path_id};
use crate::routes::directories::directory_error;
use crate::state::AppState;
use crate::wire::directory::{InvitationInput, invitation_json, parse_email};
use crate::wire::enums::{EnumName, InvitationStatusEnum};
use crate::wire::one_line;
use crate::wire::user::user_json;

pub fn routes() -> Router<AppState> {
    let base = "/api/v1/local-directory-configs/{app_id}";
    Router::new()
        .route(&format!("{base}/invitations"), post(create))
        .route(&format!("{base}/invitations/{{id}}"), axum::routing::get(read))
        .route(&format!("{base}/invitations/{{id}}/revoke"), post(revoke))
        .route(&format!("{base}/invitations/{{id}}/resend"), post(resend))
        .route(&format!("{base}/self-registrations"), post(self_register))
        .route("/api/v1/search/local-directory-invitations", post(search))
        .route("/api/v1/local-directory-invitations/accept", post(accept))
}

/// The answer to a store error about invitation `id`.
fn invitation_error(id: &Id) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |error| match error {
        StoreError::NotFound => ApiError::not_found(format!("invitation {id}")),
        other => other.into(),
    }
}

/// A new secret for `invitation`: its hash, which the store keeps, and the email carrying its link.
fn new_secret(state: &AppState, directory: &LocalDirectory, invitation: &Invitation) -> (String, OutboxMessage) {
    let (token, hash) = new_token();
    (hash, invitation_email(directory, invitation, &invite::link(&state.issuer, &token)))
}

/// Stores a new `invitation` into `directory` with a new secret and queues its email; wakes the delivery
/// worker.
async fn store_new(
    state: &AppState,
    caller: &onramp_store::Actor,
    directory: &LocalDirectory,
    invitation: &Invitation,
) -> ApiResult<()> {
    let (hash, email) = new_secret(state, directory, invitation);
    state
        .store
        .create_invitation(caller, invitation, &hash, &email)
        .await
        .map_err(directory_error(&invitation.directory_app_id))?;
    state.mail_wake.notify_one();
    Ok(())
}

/// An invitation of directory `app_id` in the tenant; one of another directory is not found.
async fn invitation_in(state: &AppState, tenant_id: &Id, app_id: &Id, id: &Id) -> ApiResult<Invitation> {
    match state.store.find_invitation(tenant_id, id).await {
        Ok(invitation) if invitation.directory_app_id == *app_id => Ok(invitation),
        Ok(_) => Err(invitation_error(id)(StoreError::NotFound)),
        Err(error) => Err(invitation_error(id)(error)),
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InvitationWrite)?;
    let app_id = path_id("directory_app_id", &app_id)?;
    let directory =
        state.store.get_local_directory(&caller.tenant_id, &app_id).await.map_err(directory_error(&app_id))?;
    let now = Timestamp::now();
    let invitation = input.new_invitation(&directory, Some(caller.user_id), now)?;
    caller.require_grantable("initialRoleIds", &invitation.initial_role_ids)?;
    store_new(&state, &caller.actor(), &directory, &invitation).await?;
    Ok(Json(json!({ "invitation": invitation_json(&invitation, now) })))
}

async fn read(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InvitationRead)?;
    let (app_id, id) = (path_id("directory_app_id", &app_id)?, path_id("id", &id)?);
    let invitation = invitation_in(&state, &caller.tenant_id, &app_id, &id).await?;
    Ok(Json(json!({ "invitation": invitation_json(&invitation, Timestamp::now()) })))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InvitationWrite)?;
    let (app_id, id) = (path_id("directory_app_id", &app_id)?, path_id("id", &id)?);
    let invitation =
        state.store.revoke_invitation(&caller.actor(), &app_id, &id).await.map_err(invitation_error(&id))?;
    Ok(Json(json!({ "invitation": invitation_json(&invitation, Timestamp::now()) })))
}

async fn resend(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InvitationWrite)?;
    let (app_id, id) = (path_id("directory_app_id", &app_id)?, path_id("id", &id)?);
    let directory =
        state.store.get_local_directory(&caller.tenant_id, &app_id).await.map_err(directory_error(&app_id))?;
    let current = invitation_in(&state, &caller.tenant_id, &app_id, &id).await?;
    let expires_at = directory.expiry_from(Timestamp::now());
    let (hash, email) = new_secret(&state, &directory, &Invitation { expires_at, ..current });
    let invitation = state
        .store
        .resend_invitation(&caller.actor(), &app_id, &id, &hash, expires_at, &email)
        .await
        .map_err(invitation_error(&id))?;
    state.mail_wake.notify_one();
    Ok(Json(json!({ "invitation": invitation_json(&invitation, Timestamp::now()) })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SearchRequest {
    directory_app_id: Option<String>,
    status_filter: Option<EnumName<InvitationStatusEnum>>,
    page_size: Option<i64>,
    page_token: Option<String>,
}

async fn search(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<SearchRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InvitationRead)?;
    let directory = match request.directory_app_id.as_deref().filter(|raw| !raw.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<Id>().map_err(|error| ApiError::invalid_field("directoryAppId", error))?),
    };
    let status = match request.status_filter.as_deref() {
        None | Some("") | Some("LOCAL_INVITATION_STATUS_UNSPECIFIED") => None,
        Some(wire) => Some(InvitationStatus::from_wire(wire).ok_or_else(|| {
            let names: Vec<_> = InvitationStatus::ALL.iter().map(|s| s.wire()).collect();
            ApiError::invalid_field("statusFilter", format!("must be one of {}", names.join(", ")))
        })?),
    };
    let size = page_size("pageSize", request.page_size)?;
    let directory_text = directory.map(|id| id.to_string()).unwrap_or_default();
    let status_text = status.map(|s| s.as_str()).unwrap_or_default();
    let query = fingerprint(&["invitations.search", &caller.tenant_id.to_string(), &directory_text, status_text]);
    let after = page_after(&state.page_tokens, request.page_token.as_deref(), &query)
        .map_err(|_| ApiError::invalid_field("pageToken", "not a page token of this search"))?;
    let now = Timestamp::now();
    let mut invitations = state
        .store
        .search_invitations(&caller.tenant_id, directory.as_ref(), status, now, after.as_ref(), size as u32 + 1)
        .await?;
    let next = next_page_token(&state.page_tokens, &query, &mut invitations, size, |invitation| invitation.id);
    let list: Vec<Value> = invitations.iter().map(|invitation| invitation_json(invitation, now)).collect();
    Ok(Json(json!({ "list": list, "nextPageToken": next })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AcceptRequest {
    token: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
}

/// The pending invitation a secret opens, without using it up; otherwise why it cannot be used. The secret
/// is looked up first, so a valid one is never refused whatever else came from the client's address; secrets
/// that open nothing count against the address, and past its limit are answered 429 rather than 404.
pub(crate) async fn open_invitation(state: &AppState, client: Option<IpAddr>, token: &str) -> ApiResult<Invitation> {
    // Anything not shaped like a token opens nothing, and costs no database read.
    let opened = if invite::looks_like_token(token) {
        state.store.invitation_by_secret(&token_hash(token)).await
    } else {
        Err(StoreError::Refused(onramp_store::SecretRefusal::Unknown))
    };
    if matches!(opened, Err(StoreError::Refused(onramp_store::SecretRefusal::Unknown))) {
        state
            .limits
            .links
            .take_for(client)
            .map_err(|wait| too_many("too many invalid invitation links from this address", wait))?;
    }
    Ok(opened?)
}

/// Accepts an invitation by its secret: the work behind both the API and the web form.
pub(crate) async fn accept_with(
    state: &AppState,
    client: Option<IpAddr>,
    token: &str,
    display_name: &str,
    password: Secret<String>,
) -> ApiResult<onramp_store::Accepted> {
    let display_name = one_line("displayName", Some(display_name), 256)?;
    // Refuse a dead secret before spending an argon2 hash on its password.
    open_invitation(state, client, token).await?;
    let password_hash = hash_password(password).await?;
    let accepted =
        state.store.accept_invitation(&token_hash(token), &display_name, &password_hash).await.map_err(|error| {
            match error {
                StoreError::Conflict { constraint: "users_email_live" } => ApiError::new(
                    Code::AlreadyExists,
                    "a user with this email exists already; the invitation stays pending until it is revoked",
                ),
                other => other.into(),
            }
        })?;
    state.search.catch_up_after_write().await;
    Ok(accepted)
}

async fn accept(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(request): ApiJson<AcceptRequest>,
) -> ApiResult<Json<Value>> {
    let token = request.token.unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::invalid_field("token", "is required"));
    }
    let password = Secret::new(request.password.unwrap_or_default());
    let accepted =
        accept_with(&state, client, token.trim(), request.display_name.as_deref().unwrap_or_default(), password)
            .await?;
    let mut body = json!({
        "invitation": invitation_json(&accepted.invitation, Timestamp::now()),
        "user": user_json(&accepted.user),
    });
    if let Some(onboard) = &accepted.onboard {
        body["onboardId"] = json!(onboard.id);
    }
    Ok(Json(body))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SelfRegistrationRequest {
    email: Option<String>,
    display_name: Option<String>,
}

/// Self-registration: when the directory allows it and the email's domain is allowed, an invitation is
/// created (invited by nobody) and its link mailed to the address. The account exists only once the link is
/// followed and the form submitted, so the address is proven first. The answer is the same whether or not
/// the address already had an account or a pending invitation, so that it reveals nothing about either.
async fn self_register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(app_id): Path<String>,
    ApiJson(request): ApiJson<SelfRegistrationRequest>,
) -> ApiResult<Json<Value>> {
    // Each registration sends an email to an address nobody has proven yet.
    state
        .limits
        .registrations
        .take_for(client)
        .map_err(|wait| too_many("too many registrations from this address", wait))?;
    let app_id = path_id("app_id", &app_id)?;
    let directory = match state.store.find_local_directory(&app_id).await {
        Ok(directory) if directory.allow_self_registration => directory,
        Ok(_) => {
            return Err(ApiError::permission_denied("this directory does not allow self-registration"));
        }
        Err(error) => return Err(directory_error(&app_id)(error)),
    };
    let email = parse_email(request.email.as_deref())?;
    if !directory.admits_self_registration(&email) {
        return Err(ApiError::invalid_field("email", "this directory does not accept registrations from its domain"));
    }
    let input = InvitationInput {
        email: Some(email.as_str().to_string()),
        display_name: request.display_name.clone(),
        purpose: Some("self-registration".into()),
        ..InvitationInput::default()
    };
    let invitation = input.new_invitation(&directory, None, Timestamp::now())?;
    match store_new(&state, &onramp_store::Actor::system(directory.tenant_id), &directory, &invitation).await {
        Ok(()) => {}
        // Already registered or already invited: the same answer, and no second email.
        Err(error) if error.code == Code::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    Ok(Json(json!({})))
}
