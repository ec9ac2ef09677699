//! The console's Webhooks: `/console/webhooks` lists the tenant's subscriptions and subscribes a URL
//! (`settings:write`); `/console/webhooks/{id}` shows one with its deliveries (state, attempts, last
//! status and error) and offers Redeliver, Rotate secret, Enable/Disable and Delete. A new secret is shown
//! once, in the answer to the POST that made it (a page, never a redirect, so it is in no URL), as the
//! Access page shows a new credential's. Every action goes through the same use cases as the API
//! (`onramp_core::webhooks`), so a page refuses what the API refuses, with the error on its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::CoreError;
use onramp_core::webhooks::{WebhookInput, WithSecret};
use onramp_domain::time_words::TimeInWords;
use onramp_domain::webhook::{EVENT_TYPES, Subscription, WebhookState};
use onramp_domain::{Id, Permission, Timestamp};

use crate::error::status_of;
use crate::impl_console_page;
use crate::openapi::{ApiRouter, Doc};
use crate::routes::path_id;
use crate::state::AppState;
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, Done, NoFields, form_errors, on_the_form};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};

const PATH: &str = "/console/webhooks";

/// The form's fields by the names the core's errors use: (field, element id, label).
const FIELDS: [(&str, &str, &str); 3] =
    [("url", "url", "URL"), ("eventTypes", "eventTypes", "Events"), ("description", "description", "Description")];

type Pairs = serde_json::Map<String, serde_json::Value>;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            PATH,
            list,
            Doc::page("onramp.pages.ConsoleWebhooks", "The console: webhook subscriptions")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            PATH,
            create,
            Doc::page("onramp.pages.ConsoleWebhookCreate", "Subscribe a URL; its secret is shown once on the answer")
                .console_form::<Pairs>()
                .html()
                .redirect(),
        )
        .get(
            &format!("{PATH}/{{id}}"),
            show,
            Doc::page("onramp.pages.ConsoleWebhook", "The console: one webhook and its deliveries")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            &format!("{PATH}/{{id}}/rotate"),
            rotate,
            Doc::page("onramp.pages.ConsoleWebhookRotate", "Give a webhook a new secret, shown once on the answer")
                .console_form::<NoFields>()
                .html()
                .redirect(),
        )
        .post(
            &format!("{PATH}/{{id}}/enabled"),
            toggle,
            Doc::page("onramp.pages.ConsoleWebhookEnabled", "Turn a webhook on or off")
                .console_form::<NoFields>()
                .redirect(),
        )
        .get(
            &format!("{PATH}/{{id}}/delete"),
            delete_page,
            Doc::page("onramp.pages.ConsoleWebhookDeleteConfirm", "The confirmation before deleting a webhook")
                .html()
                .redirect(),
        )
        .post(
            &format!("{PATH}/{{id}}/delete"),
            delete,
            Doc::page("onramp.pages.ConsoleWebhookDelete", "Delete a webhook and its deliveries")
                .console_form::<NoFields>()
                .redirect(),
        )
        .post(
            &format!("{PATH}/{{id}}/deliveries/{{delivery_id}}/redeliver"),
            redeliver,
            Doc::page("onramp.pages.ConsoleWebhookRedeliver", "Send a delivery's event again")
                .console_form::<NoFields>()
                .redirect(),
        )
}

/// One subscription in the list.
struct Row {
    href: String,
    url: String,
    events: String,
    description: String,
    enabled: bool,
}

/// A checkbox of the event types.
struct EventBox {
    id: String,
    name: &'static str,
    checked: bool,
}

/// A secret made by this request, shown once.
struct Shown {
    url: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    console: ConsoleLayout,
    rows: Vec<Row>,
    done: Option<String>,
    shown: Option<Shown>,
    may_write: bool,
    url: Field,
    description: Field,
    events: Vec<EventBox>,
    events_error: Option<String>,
    errors: FormErrors,
}

impl_console_page!(WebhooksPage);

/// One delivery on a webhook's page.
struct DeliveryRow {
    id: String,
    event_type: String,
    state: &'static str,
    badge: &'static str,
    attempts: i64,
    last_attempt: Option<TimeInWords>,
    last_status: String,
    last_error: String,
    /// When it is tried next, while it is pending or retrying.
    next_attempt: Option<TimeInWords>,
    created: TimeInWords,
}

#[derive(Template)]
#[template(path = "console/webhook.html")]
struct WebhookPage {
    console: ConsoleLayout,
    id: String,
    url: String,
    events: String,
    description: String,
    enabled: bool,
    may_write: bool,
    done: Option<String>,
    shown: Option<Shown>,
    deliveries: Vec<DeliveryRow>,
}

impl_console_page!(WebhookPage);

#[derive(Template)]
#[template(path = "console/webhook_delete.html")]
struct WebhookDeletePage {
    console: ConsoleLayout,
    id: String,
    url: String,
    /// How many deliveries go with it, in words ("1 delivery", "more than 100 deliveries").
    deliveries: String,
}

/// The most deliveries the confirmation counts.
const COUNTED_DELIVERIES: usize = 100;

impl_console_page!(WebhookDeletePage);

fn row(subscription: &Subscription) -> Row {
    Row {
        href: format!("{PATH}/{}", subscription.id),
        url: subscription.url.clone(),
        events: subscription.event_types.join(", "),
        description: subscription.description.clone(),
        enabled: subscription.enabled,
    }
}

async fn list_page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    posted: Option<(&str, &str, &[String])>,
    errors: FormErrors,
    done: Option<String>,
    shown: Option<Shown>,
) -> Response {
    let subscriptions = match state.core.list_webhooks(&console.principal, None, 1000).await {
        Ok(subscriptions) => subscriptions,
        Err(error) => return console.refusal(&error),
    };
    let (url, description, chosen) = posted.unwrap_or(("", "", &[]));
    let page = WebhooksPage {
        console: console.layout("Webhooks", PATH),
        rows: subscriptions.iter().map(row).collect(),
        done,
        shown,
        may_write: console.may(Permission::SettingsWrite),
        url: Field::text("url", "URL")
            .of_type("url")
            .hint("Where onramp POSTs each event, signed: https://, reachable from the internet.")
            .value(url)
            .required()
            .checked(&errors),
        description: Field::text("description", "Description")
            .hint("Optional: what receives these events.")
            .value(description)
            .length(None, 500)
            .checked(&errors),
        events: EVENT_TYPES
            .iter()
            .map(|name| EventBox {
                id: format!("event-{}", name.replace('.', "-")),
                name,
                checked: chosen.iter().any(|c| c == name),
            })
            .collect(),
        events_error: errors.message("eventTypes").map(str::to_string),
        errors,
    };
    render(status, &page)
}

async fn list(State(state): State<AppState>, console: Console, Query(done): Query<Done>) -> Response {
    let done = done.done.map(|what| match what.as_str() {
        "deleted" => "The webhook was deleted, with its deliveries.".to_string(),
        _ => "Done.".to_string(),
    });
    list_page(&state, &console, StatusCode::OK, None, FormErrors::none(), done, None).await
}

async fn create(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let (mut url, mut description, mut types) = (String::new(), String::new(), Vec::new());
    for (name, value) in form {
        match name.as_str() {
            "url" => url = value,
            "description" => description = value,
            "eventTypes" => types.push(value),
            _ => {}
        }
    }
    let input = WebhookInput {
        url: Some(url.clone()),
        event_types: Some(types.clone()),
        description: Some(description.clone()),
        enabled: Some(true),
    };
    match state.core.create_webhook(&console.principal, input).await {
        Ok(WithSecret { subscription, secret }) => {
            let shown = Shown { url: subscription.url, secret };
            list_page(&state, &console, StatusCode::OK, None, FormErrors::none(), None, Some(shown)).await
        }
        Err(error) if on_the_form(&error) => {
            let errors = form_errors(&error, &FIELDS, "url");
            let posted = Some((url.as_str(), description.as_str(), types.as_slice()));
            list_page(&state, &console, status_of(error.code), posted, errors, None, None).await
        }
        Err(error) => console.refusal(&error),
    }
}

async fn webhook_page(
    state: &AppState,
    console: &Console,
    id: &Id,
    done: Option<String>,
    shown: Option<Shown>,
) -> Response {
    let subscription = match state.core.get_webhook(&console.principal, id).await {
        Ok(subscription) => subscription,
        Err(error) => return console.refusal(&error),
    };
    let deliveries = match state.core.list_webhook_deliveries(&console.principal, id, None, 100).await {
        Ok(deliveries) => deliveries,
        Err(error) => return console.refusal(&error),
    };
    let now = Timestamp::now();
    let deliveries = deliveries
        .iter()
        .map(|d| {
            let state = d.state();
            let waiting = matches!(state, WebhookState::Pending | WebhookState::Retrying);
            DeliveryRow {
                id: d.id.to_string(),
                event_type: d.event_type.clone(),
                state: state.as_str(),
                badge: match state.as_str() {
                    "delivered" => "done",
                    "failed" => "failed",
                    "retrying" => "waiting",
                    _ => "pending",
                },
                attempts: d.attempts,
                last_attempt: d.last_attempt_at.map(|at| TimeInWords::new(at, now)),
                last_status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                last_error: d.last_error.clone(),
                next_attempt: waiting.then(|| TimeInWords::new(d.next_attempt_at, now)),
                created: TimeInWords::new(d.created_at, now),
            }
        })
        .collect();
    let page = WebhookPage {
        console: console.layout(subscription.url.clone(), PATH),
        id: id.to_string(),
        url: subscription.url,
        events: subscription.event_types.join(", "),
        description: subscription.description,
        enabled: subscription.enabled,
        may_write: console.may(Permission::SettingsWrite),
        done,
        shown,
        deliveries,
    };
    render(StatusCode::OK, &page)
}

/// What `action` did, through the core, to the webhook of the path (`raw_id`) with its id; or, for a bad
/// id or a refusal, the page that shows it.
async fn on_webhook<T>(
    console: &Console,
    raw_id: &str,
    action: impl AsyncFnOnce(&Id) -> Result<T, CoreError>,
) -> Result<(Id, T), Response> {
    let id = path_id("id", raw_id).map_err(|error| console.refusal(&error.into()))?;
    action(&id).await.map(|outcome| (id, outcome)).map_err(|error| console.refusal(&error))
}

async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let id = match path_id("id", &id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error.into()),
    };
    let done = done.done.map(|what| match what.as_str() {
        "redelivered" => "The event is queued again, after everything before it.".to_string(),
        "enabled" => "The webhook is on: new events are sent to it.".to_string(),
        "disabled" => "The webhook is off: new events are not sent to it.".to_string(),
        _ => "Done.".to_string(),
    });
    webhook_page(&state, &console, &id, done, None).await
}

async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Response {
    let rotate = async |id: &Id| state.core.rotate_webhook_secret(&console.principal, id).await;
    match on_webhook(&console, &id, rotate).await {
        Ok((id, WithSecret { subscription, secret })) => {
            let shown = Shown { url: subscription.url, secret };
            webhook_page(&state, &console, &id, None, Some(shown)).await
        }
        Err(refused) => refused,
    }
}

async fn toggle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Response {
    let toggle = async |id: &Id| {
        let current = state.core.get_webhook(&console.principal, id).await?;
        let input = WebhookInput { enabled: Some(!current.enabled), ..WebhookInput::default() };
        state.core.update_webhook(&console.principal, id, input).await
    };
    match on_webhook(&console, &id, toggle).await {
        Ok((id, after)) => {
            see_other(&format!("{PATH}/{id}?done={}", if after.enabled { "enabled" } else { "disabled" }))
        }
        Err(refused) => refused,
    }
}

/// Asks before deleting: a deleted webhook takes its deliveries with it, and turning it off may be what
/// was meant. Only for a caller who may delete it (`settings:write`).
async fn delete_page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let read = async |id: &Id| {
        if !console.may(Permission::SettingsWrite) {
            return Err(CoreError::permission_denied("permission denied: this call requires settings:write"));
        }
        let subscription = state.core.get_webhook(&console.principal, id).await?;
        let limit = COUNTED_DELIVERIES as u32 + 1;
        let deliveries = state.core.list_webhook_deliveries(&console.principal, id, None, limit).await?;
        Ok((subscription, deliveries.len()))
    };
    match on_webhook(&console, &id, read).await {
        Ok((id, (subscription, deliveries))) => {
            let page = WebhookDeletePage {
                console: console.layout(format!("Delete the webhook to {}?", subscription.url), PATH),
                id: id.to_string(),
                url: subscription.url,
                deliveries: match deliveries {
                    1 => "1 delivery".to_string(),
                    n if n > COUNTED_DELIVERIES => format!("more than {COUNTED_DELIVERIES} deliveries"),
                    n => format!("{n} deliveries"),
                },
            };
            render(StatusCode::OK, &page)
        }
        Err(refused) => refused,
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Response {
    let delete = async |id: &Id| state.core.delete_webhook(&console.principal, id).await;
    match on_webhook(&console, &id, delete).await {
        Ok(_) => see_other(&format!("{PATH}?done=deleted")),
        Err(refused) => refused,
    }
}

async fn redeliver(
    State(state): State<AppState>,
    Path((id, delivery_id)): Path<(String, String)>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Response {
    let redeliver = async |id: &Id| {
        let delivery_id = path_id("delivery_id", &delivery_id)?;
        state.core.redeliver_webhook(&console.principal, id, &delivery_id).await
    };
    match on_webhook(&console, &id, redeliver).await {
        Ok((id, _)) => see_other(&format!("{PATH}/{id}?done=redelivered")),
        Err(refused) => refused,
    }
}
