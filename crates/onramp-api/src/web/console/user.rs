//! A user's page in the console at `/console/users/{id}`: profile, emails, roles, managers and delegate,
//! apps owned, onboard history and audit trail (`Core::user_detail`), and the actions on the user, each a
//! use case of the core with its permission check: enable or disable and edit (`Core::update_user`, the
//! API's), delete after a confirmation page (`Core::delete_user`), email a password reset link
//! (`Core::send_password_reset`) and sign out every session (`Core::sign_out_user`). The controls show only
//! with `user:write`; a POST without it is refused by the core (403 page).

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::{Code, CoreError};
use onramp_core::invitations::one_line;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Permission, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::users::{role_names, status_words};
use crate::web::console::{Console, ConsoleForm, ConsoleLayout};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/users/{id}",
            user_page,
            Doc::page(
                "onramp.pages.ConsoleUser",
                "The console: a user's page (profile, managers, apps owned, onboards, audit trail, actions)",
            )
            .query::<DoneQuery>()
            .html()
            .redirect(),
        )
        .post(
            "/console/users/{id}/status",
            set_status,
            Doc::page("onramp.pages.ConsoleUserStatus", "Enable or disable the user (user:write)")
                .console_form::<StatusForm>()
                .redirect(),
        )
        .get(
            "/console/users/{id}/edit",
            edit_page,
            Doc::page("onramp.pages.ConsoleUserEditForm", "The form that edits the user's profile").html().redirect(),
        )
        .post(
            "/console/users/{id}/edit",
            edit,
            Doc::page("onramp.pages.ConsoleUserEdit", "Edit the user's profile (user:write)")
                .console_form::<EditForm>()
                .redirect(),
        )
        .get(
            "/console/users/{id}/delete",
            delete_page,
            Doc::page("onramp.pages.ConsoleUserDeleteConfirm", "The confirmation before deleting the user")
                .html()
                .redirect(),
        )
        .post(
            "/console/users/{id}/delete",
            delete,
            Doc::page("onramp.pages.ConsoleUserDelete", "Delete the user (user:write)")
                .console_form::<Nothing>()
                .redirect(),
        )
        .post(
            "/console/users/{id}/reset-password",
            send_reset,
            Doc::page("onramp.pages.ConsoleUserResetEmail", "Email the user a password reset link (user:write)")
                .console_form::<Nothing>()
                .redirect(),
        )
        .post(
            "/console/users/{id}/sign-out",
            sign_out,
            Doc::page("onramp.pages.ConsoleUserSignOut", "End every session of the user (user:write)")
                .console_form::<Nothing>()
                .redirect(),
        )
}

/// A path's user id; anything else names no user.
fn user_id(id: &str) -> Result<Id, CoreError> {
    id.parse().map_err(|_| CoreError::not_found(format!("user {id}")))
}

/// A person linked from the page.
pub struct Link {
    pub href: String,
    pub text: String,
}

fn person(user: &User) -> Link {
    Link {
        href: format!("/console/users/{}", user.id),
        text: format!("{} ({})", user.display_name, user.email.as_str()),
    }
}

pub struct OnboardRow {
    pub id: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub started: TimeInWords,
    pub reason: String,
}

pub struct EventRow {
    pub action: String,
    pub at: TimeInWords,
    /// Who acted, when it was someone else (a link), or "the user", "onramp".
    pub by: Option<Link>,
    pub by_text: String,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    console: ConsoleLayout,
    notice: Option<&'static str>,
    id: String,
    name: String,
    email: String,
    status: &'static str,
    badge: &'static str,
    facts: Vec<(&'static str, String)>,
    emails: Vec<String>,
    managers: Vec<Link>,
    delegate: Option<Link>,
    apps: Option<Vec<(String, String)>>,
    onboards: Option<Vec<OnboardRow>>,
    audit: Option<Vec<EventRow>>,
    sessions: usize,
    may_write: bool,
    enabled: bool,
    deleted: bool,
}

impl_console_page!(UserPage);

#[derive(Deserialize, Default, JsonSchema)]
struct DoneQuery {
    done: Option<String>,
}

async fn user_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let detail = match user_id(&id) {
        Ok(id) => state.core.user_detail(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    let detail = match detail {
        Ok(detail) => detail,
        Err(error) => return console.refusal(&error),
    };
    let now = Timestamp::now();
    let user = &detail.user;
    let (status, badge) = status_words(user.status);
    let notice = match query.done.as_deref() {
        Some("enabled") => Some("The user is enabled."),
        Some("disabled") => Some("The user is disabled: they cannot sign in, and their sessions have ended."),
        Some("saved") => Some("The changes are saved."),
        Some("reset-sent") => Some("A password reset link is on its way to the user's email address."),
        Some("signed-out") => Some("Every session of the user has ended."),
        _ => None,
    };
    let words = |at: Timestamp| TimeInWords::new(at, now);
    let facts = vec![
        ("Job title", user.job_title.clone()),
        ("Department", user.department.clone()),
        ("Employment type", user.employment_type.clone()),
        ("Roles", role_names(user)),
        ("Type", user.user_type.as_str().trim_start_matches("USER_TYPE_").to_ascii_lowercase()),
        ("Created", words(user.created_at).phrase()),
        ("Changed", words(user.updated_at).phrase()),
    ];
    let onboards = detail.onboards.as_ref().map(|onboards| {
        onboards
            .iter()
            .map(|onboard| {
                let status = onboard.status.as_str();
                OnboardRow {
                    id: onboard.id.to_string(),
                    status: match status {
                        "created" => "Created",
                        "in_progress" => "In progress",
                        "completed" => "Completed",
                        _ => "Failed",
                    },
                    badge: match status {
                        "completed" => "completed",
                        "failed" => "failed",
                        _ => "in-progress",
                    },
                    started: words(onboard.created_at),
                    reason: onboard.failure_reason.clone(),
                }
            })
            .collect()
    });
    let audit = detail.audit.as_ref().map(|events| {
        events
            .iter()
            .map(|event| {
                let (by, by_text) = match event.actor_user_id {
                    Some(actor) if actor == user.id => (None, "the user".to_string()),
                    Some(actor) => (
                        Some(Link { href: format!("/console/users/{actor}"), text: format!("user {actor}") }),
                        String::new(),
                    ),
                    None => (None, "onramp".to_string()),
                };
                EventRow { action: event.action.clone(), at: words(event.created_at), by, by_text }
            })
            .collect()
    });
    let page = UserPage {
        console: console.layout(user.display_name.clone(), "/console/users"),
        notice,
        id: user.id.to_string(),
        name: user.display_name.clone(),
        email: user.email.as_str().to_string(),
        status,
        badge,
        facts: facts.into_iter().filter(|(_, value)| !value.is_empty()).collect(),
        emails: user.emails.iter().map(|email| email.as_str().to_string()).collect(),
        managers: detail.managers.iter().map(person).collect(),
        delegate: detail.delegate.as_ref().map(person),
        apps: detail
            .apps
            .as_ref()
            .map(|apps| apps.iter().map(|(app, slug)| (app.display_name.clone(), slug.clone())).collect()),
        onboards,
        audit,
        sessions: detail.sessions,
        may_write: console.may(Permission::UserWrite),
        enabled: user.status == UserStatus::Enabled,
        deleted: user.status == UserStatus::Deleted,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize, JsonSchema)]
struct StatusForm {
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<StatusForm>,
) -> Response {
    let status = match form.status.as_str() {
        "ENABLED" => UserStatus::Enabled,
        "DISABLED" => UserStatus::Disabled,
        _ => return console.refusal(&CoreError::invalid_field("status", "must be ENABLED or DISABLED")),
    };
    let updated = match user_id(&id) {
        Ok(id) => {
            state
                .core
                .update_user(&console.principal, &id, |user| {
                    user.status = status;
                    Ok(())
                })
                .await
        }
        Err(error) => Err(error),
    };
    match updated {
        Ok(user) => {
            let done = if status == UserStatus::Enabled { "enabled" } else { "disabled" };
            see_other(&format!("/console/users/{}?done={done}", user.id))
        }
        Err(error) => console.refusal(&error),
    }
}

#[derive(Template)]
#[template(path = "console/user_edit.html")]
struct EditPage {
    console: ConsoleLayout,
    errors: FormErrors,
    id: String,
    name: String,
    fields: Vec<Field>,
}

impl_console_page!(EditPage);

/// The profile fields the console edits: (form name, label, the user's value).
const EDITABLE: [(&str, &str); 4] = [
    ("displayName", "Name"),
    ("jobTitle", "Job title"),
    ("department", "Department"),
    ("employmentType", "Employment type"),
];

fn value_of<'u>(user: &'u User, name: &str) -> &'u str {
    match name {
        "displayName" => &user.display_name,
        "jobTitle" => &user.job_title,
        "department" => &user.department,
        _ => &user.employment_type,
    }
}

fn edit_form(console: &Console, user: &User, values: &EditForm, errors: FormErrors, status: StatusCode) -> Response {
    let fields = EDITABLE
        .iter()
        .map(|(name, label)| {
            let value = values.get(name).unwrap_or_else(|| value_of(user, name));
            let field = Field::text(name, label).value(value).length(None, 256);
            let field = if *name == "displayName" { field.required() } else { field };
            field.checked(&errors)
        })
        .collect();
    let page = EditPage {
        console: console.layout(format!("Edit {}", user.display_name), "/console/users"),
        errors,
        id: user.id.to_string(),
        name: user.display_name.clone(),
        fields,
    };
    render(status, &page)
}

async fn edit_page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let user = match user_id(&id) {
        Ok(id) => state.core.get_user(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    match user {
        Ok(user) if console.may(Permission::UserWrite) => {
            edit_form(&console, &user, &EditForm::default(), FormErrors::none(), StatusCode::OK)
        }
        Ok(_) => console.refusal(&CoreError::permission_denied("permission denied: this call requires user:write")),
        Err(error) => console.refusal(&error),
    }
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct EditForm {
    display_name: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    employment_type: Option<String>,
}

impl EditForm {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "displayName" => self.display_name.as_deref(),
            "jobTitle" => self.job_title.as_deref(),
            "department" => self.department.as_deref(),
            _ => self.employment_type.as_deref(),
        }
    }

    /// Sets the fields the form sent on `user`, each checked as the API checks it; the first refusal names
    /// its field.
    fn apply(&self, user: &mut User) -> Result<(), CoreError> {
        for (name, _) in EDITABLE {
            let Some(value) = self.get(name) else { continue };
            let value = one_line(name, Some(value), 256)?;
            if name == "displayName" && value.is_empty() {
                return Err(CoreError::invalid_field("displayName", "must not be empty"));
            }
            let slot = match name {
                "displayName" => &mut user.display_name,
                "jobTitle" => &mut user.job_title,
                "department" => &mut user.department,
                _ => &mut user.employment_type,
            };
            *slot = value;
        }
        Ok(())
    }
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<EditForm>,
) -> Response {
    let id = match user_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    match state.core.update_user(&console.principal, &id, |user| form.apply(user)).await {
        Ok(user) => see_other(&format!("/console/users/{}?done=saved", user.id)),
        Err(error) if error.code == Code::InvalidArgument => {
            let user = match state.core.get_user(&console.principal, &id).await {
                Ok(user) => user,
                Err(error) => return console.refusal(&error),
            };
            let fields: Vec<(&str, &str, &str)> = EDITABLE.iter().map(|(n, l)| (*n, *n, *l)).collect();
            let errors = FormErrors::from_core(&error, &fields, "displayName");
            edit_form(&console, &user, &form, errors, StatusCode::BAD_REQUEST)
        }
        Err(error) => console.refusal(&error),
    }
}

#[derive(Template)]
#[template(path = "console/user_delete.html")]
struct DeletePage {
    console: ConsoleLayout,
    id: String,
    name: String,
    email: String,
}

impl_console_page!(DeletePage);

async fn delete_page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let user = match user_id(&id) {
        Ok(id) => state.core.get_user(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    match user {
        Ok(user) if console.may(Permission::UserWrite) => {
            let page = DeletePage {
                console: console.layout(format!("Delete {}?", user.display_name), "/console/users"),
                id: user.id.to_string(),
                name: user.display_name.clone(),
                email: user.email.as_str().to_string(),
            };
            render(StatusCode::OK, &page)
        }
        Ok(_) => console.refusal(&CoreError::permission_denied("permission denied: this call requires user:write")),
        Err(error) => console.refusal(&error),
    }
}

#[derive(Deserialize, JsonSchema)]
struct Nothing {}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Nothing>,
) -> Response {
    let deleted = match user_id(&id) {
        Ok(id) => state.core.delete_user(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    match deleted {
        Ok(()) => see_other("/console/users?done=deleted"),
        Err(error) => console.refusal(&error),
    }
}

async fn send_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Nothing>,
) -> Response {
    let sent = match user_id(&id) {
        Ok(id) => state.core.send_password_reset(&console.principal, &id).await.map(|()| id),
        Err(error) => Err(error),
    };
    match sent {
        Ok(id) => see_other(&format!("/console/users/{id}?done=reset-sent")),
        Err(error) => console.refusal(&error),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Nothing>,
) -> Response {
    let ended = match user_id(&id) {
        Ok(id) => state.core.sign_out_user(&console.principal, &id).await.map(|_| id),
        Err(error) => Err(error),
    };
    match ended {
        Ok(id) => see_other(&format!("/console/users/{id}?done=signed-out")),
        Err(error) => console.refusal(&error),
    }
}
