//! Invitations into local directories.
//!
//! ConductorOne's operations: create (`POST .../local-directory-configs/{app_id}/invitations`), get,
//! revoke, and `POST /api/v1/search/local-directory-invitations`. onramp's additions in the same style:
//! `POST .../invitations/{id}/resend` (a new secret and expiry), `POST /api/v1/local-directory-invitations/accept`
//! (unauthenticated, bound to the secret) and `POST .../local-directory-configs/{app_id}/self-registrations`
//! (unauthenticated; an invitation the person sends themself, which proves they own the email before any
//! user exists).
//!
//! The use cases, and the rule that the secret leaves onramp only inside its email, are the core's
//! (`onramp_core::invitations`).

use crate::openapi::{ApiRouter, Doc, Security};
use axum::Json;
use axum::extract::{Path, State};
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::{InvitationStatus, LocalDirectory};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::paging::{fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::directory::{InvitationBody, InvitationInput, invitation_json, parse_email};
use crate::wire::enums::{EnumName, InvitationStatusEnum};
use crate::wire::user::{UserBody, user_json};
use crate::wire::{Empty, ListBody};

pub fn routes() -> ApiRouter {
    let base = "/api/v1/local-directory-configs/{app_id}";
    ApiRouter::new()
        .post(
            &format!("{base}/invitations"),
            create,
            Doc::c1("c1.api.local_directory.v1.LocalUserInvitationService.Create")
                .body::<InvitationInput>()
                .ok::<InvitationResponse>(),
        )
        .get(
            &format!("{base}/invitations/{{id}}"),
            read,
            Doc::c1("c1.api.local_directory.v1.LocalUserInvitationService.Get").ok::<InvitationResponse>(),
        )
        .post(
            &format!("{base}/invitations/{{id}}/revoke"),
            revoke,
            Doc::c1("c1.api.local_directory.v1.LocalUserInvitationService.Revoke").ok::<InvitationResponse>(),
        )
        .post(
            &format!("{base}/invitations/{{id}}/resend"),
            resend,
            Doc::api(
                "onramp.local_directory.v1.LocalUserInvitationService.Resend",
                "LocalUserInvitation",
                "Resend an invitation with a new link",
            )
            .ok::<InvitationResponse>(),
        )
        .post(
            &format!("{base}/self-registrations"),
            self_register,
            Doc::api(
                "onramp.local_directory.v1.LocalUserInvitationService.SelfRegister",
                "LocalUserInvitation",
                "Register oneself where the directory allows it",
            )
            .security(Security::Public)
            .body::<SelfRegistrationRequest>()
            .ok::<Empty>(),
        )
        .post(
            "/api/v1/search/local-directory-invitations",
            search,
            Doc::c1("c1.api.local_directory.v1.LocalUserInvitationService.Search")
                .body::<SearchRequest>()
                .ok::<ListBody<InvitationBody>>(),
        )
        .post(
            "/api/v1/local-directory-invitations/accept",
            accept,
            Doc::api(
                "onramp.local_directory.v1.LocalUserInvitationService.Accept",
                "LocalUserInvitation",
                "Accept an invitation with its link's secret",
            )
            .security(Security::Public)
            .body::<AcceptRequest>()
            .ok::<AcceptResponse>(),
        )
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    Path(app_id): Path<String>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> ApiResult<Json<InvitationResponse>> {
    let app_id = path_id("directory_app_id", &app_id)?;
    let invite = |directory: &_, now| Ok(input.new_invitation(directory, Some(caller.user_id), now)?);
    let invitation = state.core.invite(&caller, &app_id, invite).await?;
    Ok(Json(InvitationResponse { invitation: invitation_json(&invitation, Timestamp::now()) }))
}

async fn read(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<Json<InvitationResponse>> {
    let (app_id, id) = (path_id("directory_app_id", &app_id)?, path_id("id", &id)?);
    let invitation = state.core.get_invitation(&caller, &app_id, &id).await?;
    Ok(Json(InvitationResponse { invitation: invitation_json(&invitation, Timestamp::now()) }))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<Json<InvitationResponse>> {
    let (app_id, id) = (path_id("directory_app_id", &app_id)?, path_id("id", &id)?);
    let invitation = state.core.revoke_invitation(&caller, &app_id, &id).await?;
    Ok(Json(InvitationResponse { invitation: invitation_json(&invitation, Timestamp::now()) }))
}

async fn resend(
    State(state): State<AppState>,
    caller: Principal,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<Json<InvitationResponse>> {
    let (app_id, id) = (path_id("directory_app_id", &app_id)?, path_id("id", &id)?);
    let invitation = state.core.resend_invitation(&caller, &app_id, &id).await?;
    Ok(Json(InvitationResponse { invitation: invitation_json(&invitation, Timestamp::now()) }))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct SearchRequest {
    directory_app_id: Option<String>,
    status_filter: Option<EnumName<InvitationStatusEnum>>,
    #[schemars(with = "Option<i32>")]
    page_size: Option<i64>,
    page_token: Option<String>,
}

async fn search(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<SearchRequest>,
) -> ApiResult<Json<ListBody<InvitationBody>>> {
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
        .core
        .search_invitations(&caller, directory.as_ref(), status, now, after.as_ref(), size as u32 + 1)
        .await?;
    let next = next_page_token(&state.page_tokens, &query, &mut invitations, size, |invitation| invitation.id);
    let list = invitations.iter().map(|invitation| invitation_json(invitation, now)).collect();
    Ok(Json(ListBody { list, next_page_token: next }))
}

/// `{ "invitation": ... }` of invitation create, get, resend and revoke.
#[derive(Serialize, JsonSchema)]
struct InvitationResponse {
    invitation: InvitationBody,
}

/// What accepting an invitation answers: the invitation, the new user, and the onboard started for it,
/// `onboardId` omitted when none was.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct AcceptResponse {
    invitation: InvitationBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    onboard_id: Option<Id>,
    user: UserBody,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct AcceptRequest {
    token: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
}

async fn accept(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(request): ApiJson<AcceptRequest>,
) -> ApiResult<Json<AcceptResponse>> {
    let token = request.token.unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::invalid_field("token", "is required"));
    }
    let password = Secret::new(request.password.unwrap_or_default());
    let display_name = request.display_name.as_deref().unwrap_or_default();
    let accepted = state.core.accept_invitation(client, token.trim(), display_name, password).await?;
    Ok(Json(AcceptResponse {
        invitation: invitation_json(&accepted.invitation, Timestamp::now()),
        onboard_id: accepted.onboard.as_ref().map(|onboard| onboard.id),
        user: user_json(&accepted.user),
    }))
}

#[derive(Deserialize, Default, JsonSchema)]
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
) -> ApiResult<Json<Empty>> {
    let app_id = path_id("app_id", &app_id)?;
    let register = |directory: &LocalDirectory| {
        let email = parse_email(request.email.as_deref())?;
        if !directory.admits_self_registration(&email) {
            let refusal = "this directory does not accept registrations from its domain";
            return Err(ApiError::invalid_field("email", refusal).into());
        }
        let input = InvitationInput {
            email: Some(email.as_str().to_string()),
            display_name: request.display_name.clone(),
            purpose: Some("self-registration".into()),
            ..InvitationInput::default()
        };
        Ok(input.new_invitation(directory, None, Timestamp::now())?)
    };
    state.core.self_register(client, &app_id, register).await?;
    Ok(Json(Empty {}))
}
