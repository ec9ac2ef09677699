//! A user's page in the console at `/console/users/{id}`: profile, emails, roles, groups, managers and delegate,
//! apps owned, onboard history and audit trail (`Core::user_detail`), and the actions on the user, each a
//! use case of the core with its permission check: enable or disable and edit (`Core::update_user`, the
//! API's, through its `UserInput`: profile, emails, roles, managers and delegate picked by email), delete after a confirmation page (`Core::delete_user`), email a password reset link
//! (`Core::send_password_reset`) and sign out every session (`Core::sign_out_user`). The controls show only
//! with `user:write`; a POST without it is refused by the core (403 page).

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::console::UserDetail;
use onramp_core::error::CoreError;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{BuiltinRole, Id, Permission, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::error::status_of;
use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::users::{role_names, status_words};
use crate::web::console::{
    Console, ConsoleForm, ConsoleLayout, Done, NoFields, form_errors, grant_refusal, on_the_form,
};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};
use crate::web::sentence;
use crate::wire::user_input::UserInput;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/users/{id}",
            user_page,
            Doc::page(
                "onramp.pages.ConsoleUser",
                "The console: a user's page (profile, managers, apps owned, onboards, audit trail, actions)",
            )
            .query::<Done>()
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
                .console_form::<NoFields>()
                .redirect(),
        )
        .post(
            "/console/users/{id}/reset-password",
            send_reset,
            Doc::page("onramp.pages.ConsoleUserResetEmail", "Email the user a password reset link (user:write)")
                .console_form::<NoFields>()
                .redirect(),
        )
        .post(
            "/console/users/{id}/sign-out",
            sign_out,
            Doc::page("onramp.pages.ConsoleUserSignOut", "End every session of the user (user:write)")
                .console_form::<NoFields>()
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
        text: match &user.email {
            Some(email) => format!("{} ({})", user.display_name, email.as_str()),
            None => format!("{} (no email)", user.display_name),
        },
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

async fn user_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<Done>,
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
    // The groups an identity provider pushed by SCIM that the user is in (its roles are listed above them).
    let groups = match state.core.memberships_of(&console.principal, &[user.id]).await {
        Ok(memberships) => memberships.into_iter().map(|group| group.display_name).collect::<Vec<_>>().join(", "),
        Err(error) => return console.refusal(&error),
    };
    let facts = vec![
        ("Job title", user.job_title.clone()),
        ("Department", user.department.clone()),
        ("Employment type", user.employment_type.clone()),
        ("Roles", role_names(user)),
        ("Groups", groups),
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
    // The other people who acted, by their display names (the page is read with `user:read`).
    let mut actors: Vec<Id> =
        detail.audit.iter().flatten().filter_map(|event| event.actor_user_id).filter(|id| *id != user.id).collect();
    actors.sort();
    actors.dedup();
    let actors = match state.core.users_by_ids(&console.principal, &actors).await {
        Ok(actors) => actors,
        Err(error) => return console.refusal(&error),
    };
    let audit = detail.audit.as_ref().map(|events| {
        events
            .iter()
            .map(|event| {
                let (by, by_text) = match event.actor_user_id {
                    Some(actor) if actor == user.id => (None, "the user".to_string()),
                    Some(actor) => {
                        let text = match actors.iter().find(|a| a.id == actor) {
                            Some(a) => a.display_name.clone(),
                            None => format!("user {actor}"),
                        };
                        (Some(Link { href: format!("/console/users/{actor}"), text }), String::new())
                    }
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
        email: user.email_str().to_string(),
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
    primary: Field,
    others: Field,
    others_text: String,
    roles: Vec<RoleBox>,
    roles_error: Option<String>,
    managers: Field,
    managers_text: String,
    delegate: Field,
    may_write: bool,
}

impl_console_page!(EditPage);

/// One built-in role's checkbox: editable only when the admin may grant it (`Principal::may_grant`).
struct RoleBox {
    id: String,
    name: &'static str,
    label: &'static str,
    checked: bool,
    grantable: bool,
}

/// The profile fields the console edits: (form name, label).
const EDITABLE: [(&str, &str); 4] = [
    ("displayName", "Name"),
    ("jobTitle", "Job title"),
    ("department", "Department"),
    ("employmentType", "Employment type"),
];

/// The form's fields by the names the API's errors use: (API field, element id, label).
const FIELDS: [(&str, &str, &str); 9] = [
    ("displayName", "displayName", "Name"),
    ("jobTitle", "jobTitle", "Job title"),
    ("department", "department", "Department"),
    ("employmentType", "employmentType", "Employment type"),
    ("email", "email", "Primary email"),
    ("emails", "emails", "Other emails"),
    ("roleIds", "role-0", "Roles"),
    ("managerIds", "managerIds", "Managers"),
    ("delegatedUserId", "delegatedUserId", "Delegate"),
];

fn value_of<'u>(user: &'u User, name: &str) -> &'u str {
    match name {
        "displayName" => &user.display_name,
        "jobTitle" => &user.job_title,
        "department" => &user.department,
        _ => &user.employment_type,
    }
}

/// What the edit form posted (roles repeat, so it is read as pairs). A field the form did not send is
/// None and left as it is.
#[derive(Default, schemars::JsonSchema)]
struct EditForm {
    texts: Vec<(String, String)>,
    email: Option<String>,
    /// The other emails, one a line.
    emails: Option<String>,
    /// The roles checked, by name; None when the form had no roles field (`roleIds.shown` absent).
    roles: Option<Vec<String>>,
    /// The managers' emails, one a line.
    managers: Option<String>,
    /// The delegate's email; empty: none.
    delegate: Option<String>,
}

impl EditForm {
    fn from_pairs(pairs: &[(String, String)]) -> EditForm {
        let mut form = EditForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "email" => form.email = Some(value.clone()),
                "emails" => form.emails = Some(value.clone()),
                "roleIds" => form.roles.get_or_insert_with(Vec::new).push(value.clone()),
                "roleIds.shown" => {
                    form.roles.get_or_insert_with(Vec::new);
                }
                "managerIds" => form.managers = Some(value.clone()),
                "delegatedUserId" => form.delegate = Some(value.clone()),
                other if EDITABLE.iter().any(|(field, _)| *field == other) => {
                    form.texts.push((other.to_string(), value.clone()))
                }
                _ => {}
            }
        }
        form
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.texts.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
    }
}

/// How the edit form names a manager or delegate: the email, else (a user without one) the user id, which
/// the form takes back as well.
fn reference(user: &User) -> String {
    user.email.as_ref().map_or_else(|| user.id.to_string(), |email| email.as_str().to_string())
}

/// The user a line of the managers or delegate field names: an id as is (the update checks it names a live
/// user of the tenant), else found by email.
async fn named_user(state: &AppState, console: &Console, field: &str, text: &str) -> Result<String, CoreError> {
    match text.parse::<Id>() {
        Ok(id) => Ok(id.to_string()),
        Err(_) => Ok(state.core.user_by_email(&console.principal, field, text).await?.id.to_string()),
    }
}

/// The lines (or comma-separated parts) of a text area, trimmed, empty ones left out.
fn lines(text: &str) -> Vec<&str> {
    text.split(['\n', ',']).map(str::trim).filter(|line| !line.is_empty()).collect()
}

/// The API's update input the form stands for: its text fields, the primary and other emails, the roles by
/// name, and the managers and delegate found by their emails (`Core::user_by_email`, a wrong one named on
/// its field).
async fn user_input(state: &AppState, console: &Console, form: &EditForm) -> Result<UserInput, CoreError> {
    // An admin who may not write users is refused before any email is looked up (the update checks again).
    console.principal.require(Permission::UserWrite)?;
    let mut body = serde_json::Map::new();
    for (name, value) in &form.texts {
        body.insert(name.clone(), json!(value));
    }
    if let Some(email) = &form.email {
        // No primary: the other emails alone (the first becomes the primary; none, the user keeps none).
        // That a user with an email keeps one is checked by `edit`, which sees the stored user.
        let mut emails: Vec<&str> = Vec::new();
        if !email.trim().is_empty() {
            body.insert("email".into(), json!(email.trim()));
            emails.push(email.trim());
        }
        emails.extend(lines(form.emails.as_deref().unwrap_or_default()));
        body.insert("emails".into(), json!(emails));
    }
    if let Some(roles) = &form.roles {
        body.insert("roleIds".into(), json!(roles));
    }
    if let Some(managers) = &form.managers {
        let mut ids = Vec::new();
        for line in lines(managers) {
            ids.push(named_user(state, console, "managerIds", line).await?);
        }
        body.insert("managerIds".into(), json!(ids));
    }
    if let Some(delegate) = &form.delegate {
        let id = match delegate.trim() {
            "" => String::new(),
            line => named_user(state, console, "delegatedUserId", line).await?,
        };
        body.insert("delegatedUserId".into(), json!(id));
    }
    Ok(serde_json::from_value(serde_json::Value::Object(body)).expect("the form's body is the input's shape"))
}

/// The page of the edit form: `user` as stored, `form` what was posted (None: the user's values).
fn edit_form(
    console: &Console,
    detail: &UserDetail,
    form: Option<&EditForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let user = &detail.user;
    let fields = EDITABLE
        .iter()
        .map(|(name, label)| {
            let value = form.and_then(|form| form.text(name)).unwrap_or_else(|| value_of(user, name));
            let field = Field::text(name, label).value(value).length(None, 256);
            let field = if *name == "displayName" { field.required() } else { field };
            field.checked(&errors)
        })
        .collect();
    let primary = form.and_then(|form| form.email.clone()).unwrap_or_else(|| user.email_str().to_string());
    let others = form.and_then(|form| form.emails.clone()).unwrap_or_else(|| {
        let others: Vec<&str> = user.emails.iter().map(|e| e.as_str()).filter(|e| *e != user.email_str()).collect();
        others.join("\n")
    });
    let held: Vec<&str> = match form.and_then(|form| form.roles.as_ref()) {
        Some(roles) => roles.iter().map(String::as_str).collect(),
        None => user.role_ids.iter().filter_map(BuiltinRole::from_id).map(|role| role.name()).collect(),
    };
    let roles = BuiltinRole::ALL
        .iter()
        .enumerate()
        .map(|(i, role)| RoleBox {
            id: format!("role-{i}"),
            name: role.name(),
            label: role.display_name(),
            checked: held.iter().any(|held| BuiltinRole::from_ref(held) == Some(*role)),
            grantable: console.principal.may_grant(*role),
        })
        .collect();
    let managers = form.and_then(|form| form.managers.clone()).unwrap_or_else(|| {
        let emails: Vec<String> = detail.managers.iter().map(reference).collect();
        emails.join("\n")
    });
    let delegate = form
        .and_then(|form| form.delegate.clone())
        .unwrap_or_else(|| detail.delegate.as_ref().map(reference).unwrap_or_default());
    let page = EditPage {
        console: console.layout(format!("Edit {}", user.display_name), "/console/users"),
        id: user.id.to_string(),
        name: user.display_name.clone(),
        fields,
        primary: {
            let field = Field::text("email", "Primary email").of_type("email").value(primary);
            // A user provisioned without an email may stay without one.
            match user.email {
                Some(_) => field.hint("Where onramp writes to them, and how they sign in.").required(),
                None => field.hint("Where onramp writes to them, and how they sign in; empty: they have none."),
            }
            .checked(&errors)
        },
        others: Field::text("emails", "Other emails").hint("One address a line.").checked(&errors),
        others_text: others,
        roles,
        roles_error: errors.message("role-0").map(str::to_string),
        managers: Field::text("managerIds", "Managers")
            .hint("Their emails (or user ids), one a line; the first approves what waits on a manager.")
            .checked(&errors),
        managers_text: managers,
        delegate: Field::text("delegatedUserId", "Delegate")
            .hint("The email (or user id) of who acts for them; empty for nobody.")
            .value(delegate)
            .checked(&errors),
        may_write: true,
        errors,
    };
    render(status, &page)
}

async fn edit_page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let detail = match user_id(&id) {
        Ok(id) => state.core.user_detail(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    match detail {
        Ok(detail) if console.may(Permission::UserWrite) => {
            edit_form(&console, &detail, None, FormErrors::none(), StatusCode::OK)
        }
        Ok(_) => console.refusal(&CoreError::permission_denied("permission denied: this call requires user:write")),
        Err(error) => console.refusal(&error),
    }
}

/// Saves the edit form through the API's own input (`UserInput`, its parsing and checks) and the same use
/// case as `POST /api/v1/users/{id}` (`Core::update_user`: `user:write`, the rule of user changes, the
/// references checked in the write). A bad value is the form again with the error on its field; a role the
/// admin may not grant or take away is the roles field's error.
async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let id = match user_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let form = EditForm::from_pairs(&form);
    let updated = match user_input(&state, &console, &form).await {
        Ok(input) => {
            let paths = input.paths_set();
            let clears_primary = form.email.as_deref().is_some_and(|email| email.trim().is_empty());
            state
                .core
                .update_user(&console.principal, &id, move |user| {
                    if clears_primary && user.email.is_some() {
                        return Err(CoreError::invalid_field("email", "must not be empty: the user has an email"));
                    }
                    Ok(input.apply(user, &paths)?)
                })
                .await
        }
        Err(error) => Err(error),
    };
    let errors = match updated {
        Ok(user) => return see_other(&format!("/console/users/{}?done=saved", user.id)),
        Err(error) if grant_refusal(&error, "roleIds") => {
            let mut errors = FormErrors::none();
            errors
                .add("role-0", format!("Roles: {}", sentence(error.message.trim_start_matches("permission denied: "))));
            (errors, status_of(error.code))
        }
        Err(error) if on_the_form(&error) => (form_errors(&error, &FIELDS, "displayName"), status_of(error.code)),
        Err(error) => return console.refusal(&error),
    };
    match state.core.user_detail(&console.principal, &id).await {
        Ok(detail) => edit_form(&console, &detail, Some(&form), errors.0, errors.1),
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
                email: user.email_str().to_string(),
            };
            render(StatusCode::OK, &page)
        }
        Ok(_) => console.refusal(&CoreError::permission_denied("permission denied: this call requires user:write")),
        Err(error) => console.refusal(&error),
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
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
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
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
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
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
