//! Webhook subscriptions and their deliveries, onramp's own API in the ConductorOne style, under
//! `/api/v1/onramp/webhooks`: list and create; get, update (`POST` with `updateMask`) and delete one;
//! `POST .../{id}/rotate-secret`; `GET .../{id}/deliveries` (newest first) and
//! `POST .../{id}/deliveries/{delivery_id}/redeliver`.
//!
//! Wire form: `{"webhook": {"id", "url", "eventTypes", "description", "enabled", "createdAt", "updatedAt"}}`,
//! and on create and rotate `"secret": "whsec_..."` beside it, the only time the secret is shown. The use
//! cases, their authorization, the URL's checks and the secret's derivation are the core's
//! (`onramp_core::webhooks`).

use axum::Json;
use axum::extract::{Path, State};
use onramp_core::webhooks::{WebhookInput, WithSecret};
use onramp_domain::webhook::{Subscription, WebhookDelivery};
use onramp_domain::{Id, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::openapi::{ApiRouter, Doc};
use crate::paging::{ListParams, fingerprint, next_page_token, page_after, page_size};
use crate::principal::Principal;
use crate::routes::path_id;
use crate::state::AppState;
use crate::wire::mask::parse_mask;
use crate::wire::{Empty, ListBody};

const BASE: &str = "/api/v1/onramp/webhooks";

pub fn routes() -> ApiRouter {
    let tag = "Webhook";
    ApiRouter::new()
        .get(
            BASE,
            list,
            Doc::api("onramp.webhooks.v1.WebhookService.List", tag, "List webhook subscriptions")
                .query::<ListParams>()
                .ok::<ListBody<WebhookBody>>(),
        )
        .post(
            BASE,
            create,
            Doc::api("onramp.webhooks.v1.WebhookService.Create", tag, "Create a webhook subscription")
                .body::<WebhookRequestBody>()
                .ok::<WebhookSecretResponse>(),
        )
        .get(
            &format!("{BASE}/{{id}}"),
            read,
            Doc::api("onramp.webhooks.v1.WebhookService.Get", tag, "Get a webhook subscription")
                .ok::<WebhookResponse>(),
        )
        .post(
            &format!("{BASE}/{{id}}"),
            update,
            Doc::api("onramp.webhooks.v1.WebhookService.Update", tag, "Update a webhook subscription")
                .body::<UpdateRequest>()
                .ok::<WebhookResponse>(),
        )
        .delete(
            &format!("{BASE}/{{id}}"),
            delete,
            Doc::api("onramp.webhooks.v1.WebhookService.Delete", tag, "Delete a webhook subscription").ok::<Empty>(),
        )
        .post(
            &format!("{BASE}/{{id}}/rotate-secret"),
            rotate,
            Doc::api("onramp.webhooks.v1.WebhookService.RotateSecret", tag, "Give a webhook a new signing secret")
                .ok::<WebhookSecretResponse>(),
        )
        .get(
            &format!("{BASE}/{{id}}/deliveries"),
            deliveries,
            Doc::api("onramp.webhooks.v1.WebhookService.ListDeliveries", tag, "List a webhook's deliveries")
                .query::<ListParams>()
                .ok::<ListBody<DeliveryBody>>(),
        )
        .post(
            &format!("{BASE}/{{id}}/deliveries/{{delivery_id}}/redeliver"),
            redeliver,
            Doc::api("onramp.webhooks.v1.WebhookService.Redeliver", tag, "Send a delivery's event again")
                .ok::<DeliveryResponse>(),
        )
}

/// A subscription on the wire; never its secret.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    pub created_at: Timestamp,
    pub description: String,
    pub enabled: bool,
    pub event_types: Vec<String>,
    pub id: Id,
    pub updated_at: Timestamp,
    pub url: String,
}

pub fn webhook_json(subscription: &Subscription) -> WebhookBody {
    WebhookBody {
        created_at: subscription.created_at,
        description: subscription.description.clone(),
        enabled: subscription.enabled,
        event_types: subscription.event_types.clone(),
        id: subscription.id,
        updated_at: subscription.updated_at,
        url: subscription.url.clone(),
    }
}

/// `{"webhook": ...}` of get and update.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    webhook: WebhookBody,
}

/// `{"secret", "webhook"}` of create and rotate: the signing secret, shown this once.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecretResponse {
    secret: String,
    webhook: WebhookBody,
}

fn with_secret(created: WithSecret) -> Json<WebhookSecretResponse> {
    Json(WebhookSecretResponse { secret: created.secret, webhook: webhook_json(&created.subscription) })
}

/// A delivery as an operator sees it: its event, where it stands, how its attempts went.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    /// Attempts started so far.
    pub attempts: i64,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// The `webhook-id` the receiver sees (`msg_` and this).
    pub event_id: Id,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<Timestamp>,
    pub id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Timestamp>,
    /// The last attempt's error (the receiver's status and the start of its answer, or why none came).
    pub last_error: String,
    /// The HTTP status of the last answer, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// When the next attempt is due, for a delivery still to make.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    /// The JSON body sent.
    pub payload: Value,
    /// `pending`, `retrying`, `delivered` or `failed` (dead-lettered).
    pub state: String,
}

pub fn delivery_json(delivery: &WebhookDelivery) -> DeliveryBody {
    let pending = delivery.delivered_at.is_none() && delivery.failed_at.is_none();
    DeliveryBody {
        attempts: delivery.attempts,
        created_at: delivery.created_at,
        delivered_at: delivery.delivered_at,
        event_id: delivery.event_id,
        event_type: delivery.event_type.clone(),
        failed_at: delivery.failed_at,
        id: delivery.id,
        last_attempt_at: delivery.last_attempt_at,
        last_error: delivery.last_error.clone(),
        last_status: delivery.last_status,
        next_attempt_at: pending.then_some(delivery.next_attempt_at),
        payload: serde_json::from_str(&delivery.payload).unwrap_or(Value::Null),
        state: delivery.state().as_str().to_string(),
    }
}

/// `{"delivery": ...}` of redeliver.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    delivery: DeliveryBody,
}

/// A subscription as a request gives it.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookRequestBody {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

const UPDATABLE: [&str; 4] = ["url", "eventTypes", "description", "enabled"];

impl WebhookRequestBody {
    /// The fields of `paths` as the core's input.
    fn input(self, paths: &[&'static str]) -> WebhookInput {
        let has = |path: &str| paths.contains(&path);
        WebhookInput {
            url: self.url.filter(|_| has("url")).or_else(|| has("url").then(String::new)),
            event_types: self.event_types.filter(|_| has("eventTypes")).or_else(|| has("eventTypes").then(Vec::new)),
            description: self
                .description
                .filter(|_| has("description"))
                .or_else(|| has("description").then(String::new)),
            enabled: self.enabled.filter(|_| has("enabled")).or_else(|| has("enabled").then_some(false)),
        }
    }

    fn paths_set(&self) -> Vec<&'static str> {
        let set = [self.url.is_some(), self.event_types.is_some(), self.description.is_some(), self.enabled.is_some()];
        UPDATABLE.iter().zip(set).filter(|(_, set)| *set).map(|(path, _)| *path).collect()
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<WebhookRequestBody>,
) -> ApiResult<Json<WebhookSecretResponse>> {
    let paths = request.paths_set();
    let created = state.core.create_webhook(&caller, request.input(&paths)).await?;
    Ok(with_secret(created))
}

async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<WebhookBody>>> {
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["webhooks.list", &caller.tenant_id.to_string()]);
    let after = page_after(&state.page_tokens, params.page_token.as_deref(), &query)?;
    let mut webhooks = state.core.list_webhooks(&caller, after.as_ref(), size as u32 + 1).await?;
    let next = next_page_token(&state.page_tokens, &query, &mut webhooks, size, |webhook| webhook.id);
    Ok(Json(ListBody { list: webhooks.iter().map(webhook_json).collect(), next_page_token: next }))
}

async fn read(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookResponse>> {
    let id = path_id("id", &id)?;
    let webhook = state.core.get_webhook(&caller, &id).await?;
    Ok(Json(WebhookResponse { webhook: webhook_json(&webhook) }))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct UpdateRequest {
    webhook: Option<WebhookRequestBody>,
    update_mask: Value,
}

async fn update(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> ApiResult<Json<WebhookResponse>> {
    let id = path_id("id", &id)?;
    let input = request.webhook.ok_or_else(|| ApiError::invalid_field("webhook", "is required"))?;
    let mut paths = parse_mask(&request.update_mask, &UPDATABLE, "webhook")?;
    if paths.is_empty() {
        paths = input.paths_set();
    }
    let webhook = state.core.update_webhook(&caller, &id, input.input(&paths)).await?;
    Ok(Json(WebhookResponse { webhook: webhook_json(&webhook) }))
}

async fn delete(State(state): State<AppState>, caller: Principal, Path(id): Path<String>) -> ApiResult<Json<Empty>> {
    let id = path_id("id", &id)?;
    state.core.delete_webhook(&caller, &id).await?;
    Ok(Json(Empty {}))
}

async fn rotate(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookSecretResponse>> {
    let id = path_id("id", &id)?;
    Ok(with_secret(state.core.rotate_webhook_secret(&caller, &id).await?))
}

async fn deliveries(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListBody<DeliveryBody>>> {
    let id = path_id("id", &id)?;
    let size = page_size("page_size", params.page_size)?;
    let query = fingerprint(&["webhooks.deliveries", &caller.tenant_id.to_string(), &id.to_string()]);
    let before = match state.page_tokens.decode(params.page_token.as_deref(), &query)? {
        None => None,
        Some(key) => Some(
            std::str::from_utf8(&key)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| ApiError::invalid_field("page_token", "not a page token of this query"))?,
        ),
    };
    let mut rows = state.core.list_webhook_deliveries(&caller, &id, before, size as u32 + 1).await?;
    let next = if rows.len() > size {
        rows.truncate(size);
        rows.last().map(|last| state.page_tokens.encode(&query, last.seq.to_string().as_bytes())).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Json(ListBody { list: rows.iter().map(delivery_json).collect(), next_page_token: next }))
}

async fn redeliver(
    State(state): State<AppState>,
    caller: Principal,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Json<DeliveryResponse>> {
    let id = path_id("id", &id)?;
    let delivery_id = path_id("delivery_id", &delivery_id)?;
    let delivery = state.core.redeliver_webhook(&caller, &id, &delivery_id).await?;
    Ok(Json(DeliveryResponse { delivery: delivery_json(&delivery) }))
}
