//! The console's Access at `/console/access`: the tenant's client credentials and API keys, listed,
//! created and revoked through the core's use cases (`onramp_core::access`, `credential:manage`). A new
//! secret is shown once, in the answer to the POST that made it (a page, never a redirect, so it is in no
//! URL; `no-store` as every page); onramp keeps only its public key or hash. A credential or key may be
//! for another user, picked by email (`Core::user_by_email`): it carries only roles that user holds.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::CoreError;
use onramp_domain::{BuiltinRole, Id, Timestamp};

use crate::error::status_of;
use crate::impl_console_page;
use crate::routes::path_id;
use crate::state::AppState;
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, Done, form_errors, on_the_form, parts};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/access",
            show,
            Doc::page("onramp.pages.ConsoleAccess", "The console: client credentials and API keys (super-admins)")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            "/console/access/credentials",
            create_credential,
            Doc::page(
                "onramp.pages.ConsoleCredentialCreate",
                "Make a client credential; its secret is shown once on the answer",
            )
            .console_form::<serde_json::Map<String, serde_json::Value>>()
            .redirect()
            .html(),
        )
        .post(
            "/console/access/keys",
            create_key,
            Doc::page("onramp.pages.ConsoleApiKeyCreate", "Make an API key; the key is shown once on the answer")
                .console_form::<serde_json::Map<String, serde_json::Value>>()
                .redirect()
                .html(),
        )
        .post(
            "/console/access/credentials/{id}/revoke",
            revoke_credential,
            Doc::page("onramp.pages.ConsoleCredentialRevoke", "Revoke a client credential")
                .console_form::<serde_json::Map<String, serde_json::Value>>()
                .redirect()
                .html(),
        )
        .post(
            "/console/access/keys/{id}/revoke",
            revoke_key,
            Doc::page("onramp.pages.ConsoleApiKeyRevoke", "Revoke an API key")
                .console_form::<serde_json::Map<String, serde_json::Value>>()
                .redirect()
                .html(),
        )
}

const PATH: &str = "/console/access";

struct Row {
    id: String,
    name: String,
    /// The client id of a credential (empty for a key).
    client_id: String,
    roles: String,
    /// Whose it is, by name.
    owner: String,
    created: String,
    revoked: Option<String>,
}

struct RoleBox {
    id: String,
    name: &'static str,
    label: &'static str,
    checked: bool,
}

/// A secret made by this request, shown once.
struct Shown {
    what: &'static str,
    name: String,
    client_id: Option<String>,
    secret: String,
}

#[derive(Template)]
#[template(path = "console/access.html")]
struct AccessPage {
    console: ConsoleLayout,
    credentials: Vec<Row>,
    keys: Vec<Row>,
    shown: Option<Shown>,
    done: Option<&'static str>,
    errors: FormErrors,
    credential_name: Field,
    credential_owner: Field,
    credential_roles: Vec<RoleBox>,
    credential_roles_error: Option<String>,
    key_name: Field,
    key_owner: Field,
    key_roles: Vec<RoleBox>,
    key_roles_error: Option<String>,
}

impl_console_page!(AccessPage);

/// A create form (roles repeat, so it is read as pairs).
#[derive(Default)]
struct Create {
    name: String,
    /// The email of the user it is for; empty for the admin's own.
    owner: String,
    roles: Vec<BuiltinRole>,
    role_names: Vec<String>,
}

impl Create {
    fn from_pairs(pairs: &[(String, String)]) -> Create {
        let mut create = Create::default();
        for (name, value) in pairs {
            match name.as_str() {
                "displayName" => create.name = value.clone(),
                "owner" => create.owner = value.clone(),
                "roles" => {
                    create.role_names.push(value.clone());
                    if let Some(role) = BuiltinRole::from_ref(value) {
                        create.roles.push(role);
                    }
                }
                _ => {}
            }
        }
        create
    }
}

fn role_names(ids: &[Id]) -> String {
    let names: Vec<&str> = ids
        .iter()
        .filter_map(|id| BuiltinRole::ALL.into_iter().find(|role| role.id() == *id))
        .map(|r| r.display_name())
        .collect();
    names.join(", ")
}

fn day(at: Timestamp) -> String {
    at.to_rfc3339().chars().take(10).collect()
}

/// Which form a page's errors belong to.
#[derive(PartialEq)]
enum Form {
    Credential,
    Key,
}

async fn page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    refused: Option<(Form, &Create)>,
    errors: FormErrors,
    shown: Option<Shown>,
    done: Option<&'static str>,
) -> Response {
    let (credentials, keys) = match state.core.list_access(&console.principal).await {
        Ok(lists) => lists,
        Err(error) => return console.refusal(&error),
    };
    // The roles the admin may grant: a credential for another user carries roles that user holds.
    let boxes = |prefix: &str, form: Form| -> Vec<RoleBox> {
        let typed = refused.as_ref().filter(|(which, _)| *which == form).map(|(_, create)| *create);
        BuiltinRole::ALL
            .iter()
            .filter(|role| console.principal.may_grant(**role))
            .enumerate()
            .map(|(i, role)| RoleBox {
                id: format!("{prefix}-role-{i}"),
                name: role.name(),
                label: role.display_name(),
                checked: typed.is_some_and(|create| create.role_names.iter().any(|r| r == role.name())),
            })
            .collect()
    };
    let typed_name = |form: Form| {
        refused.as_ref().filter(|(which, _)| *which == form).map(|(_, create)| create.name.clone()).unwrap_or_default()
    };
    let typed_owner = |form: Form| {
        refused.as_ref().filter(|(which, _)| *which == form).map(|(_, create)| create.owner.clone()).unwrap_or_default()
    };
    let mut owners: Vec<Id> = credentials.iter().map(|c| c.user_id).chain(keys.iter().map(|k| k.user_id)).collect();
    owners.sort();
    owners.dedup();
    // Whose each one is, by display name (the table stays narrow), when the admin may read users.
    let names: std::collections::HashMap<Id, String> = if console.may(onramp_domain::Permission::UserRead) {
        match state.core.users_by_ids(&console.principal, &owners).await {
            Ok(users) => users.into_iter().map(|user| (user.id, user.display_name)).collect(),
            Err(error) => return console.refusal(&error),
        }
    } else {
        std::collections::HashMap::new()
    };
    let owner_hint = "The email of the user it acts as; empty for yourself. It carries only roles they hold.";
    let page = AccessPage {
        console: console.layout("Access", PATH),
        credentials: credentials
            .iter()
            .map(|c| Row {
                id: c.id.to_string(),
                name: c.display_name.clone(),
                client_id: c.client_id.clone(),
                roles: role_names(&c.role_ids),
                owner: parts::name_of(&names, &c.user_id),
                created: day(c.created_at),
                revoked: c.revoked_at.map(day),
            })
            .collect(),
        keys: keys
            .iter()
            .map(|k| Row {
                id: k.id.to_string(),
                name: k.display_name.clone(),
                client_id: String::new(),
                roles: role_names(&k.role_ids),
                owner: parts::name_of(&names, &k.user_id),
                created: day(k.created_at),
                revoked: k.revoked_at.map(day),
            })
            .collect(),
        shown,
        done,
        credential_name: Field::text("displayName", "Name")
            .id("credentialName")
            .hint("Lowercase letters, digits and dashes, such as ci-deploy; it becomes part of the client id.")
            .value(typed_name(Form::Credential))
            .checked(&errors),
        credential_owner: Field::text("owner", "For the user")
            .id("credentialOwner")
            .of_type("email")
            .hint(owner_hint)
            .value(typed_owner(Form::Credential))
            .checked(&errors),
        credential_roles: boxes("credential", Form::Credential),
        credential_roles_error: errors.message("credential-role-0").map(str::to_string),
        key_name: Field::text("displayName", "Name")
            .id("keyName")
            .hint("What uses it, such as the intake form.")
            .value(typed_name(Form::Key))
            .checked(&errors),
        key_owner: Field::text("owner", "For the user")
            .id("keyOwner")
            .of_type("email")
            .hint(owner_hint)
            .value(typed_owner(Form::Key))
            .checked(&errors),
        key_roles: boxes("key", Form::Key),
        key_roles_error: errors.message("key-role-0").map(str::to_string),
        errors,
    };
    render(status, &page)
}

async fn show(State(state): State<AppState>, console: Console, Query(done): Query<Done>) -> Response {
    let done = match done.done.as_deref() {
        Some("credential") => Some("The credential was revoked."),
        Some("key") => Some("The API key was revoked."),
        _ => None,
    };
    page(&state, &console, StatusCode::OK, None, FormErrors::none(), None, done).await
}

async fn create_credential(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let create = Create::from_pairs(&form);
    let made = match owner_of(&state, &console, &create).await {
        Ok(owner) => {
            state.core.create_credential(&console.principal, owner.as_ref(), &create.name, &create.roles).await
        }
        Err(error) => Err(error),
    };
    match made {
        Ok(made) => {
            let shown = Shown {
                what: "client credential",
                name: made.credential.display_name.clone(),
                client_id: Some(made.credential.client_id.clone()),
                secret: made.client_secret.expose().clone(),
            };
            page(&state, &console, StatusCode::OK, None, FormErrors::none(), Some(shown), None).await
        }
        Err(error) if on_the_form(&error) => {
            let fields = [
                ("displayName", "credentialName", "Name"),
                ("owner", "credentialOwner", "For the user"),
                ("userId", "credentialOwner", "For the user"),
                ("roleIds", "credential-role-0", "Roles"),
            ];
            let errors = form_errors(&error, &fields, "credentialName");
            page(&state, &console, status_of(error.code), Some((Form::Credential, &create)), errors, None, None).await
        }
        Err(error) => console.refusal(&error),
    }
}

async fn create_key(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let create = Create::from_pairs(&form);
    let made = match owner_of(&state, &console, &create).await {
        Ok(owner) => state.core.create_api_key(&console.principal, owner.as_ref(), &create.name, &create.roles).await,
        Err(error) => Err(error),
    };
    match made {
        Ok(made) => {
            let shown = Shown {
                what: "API key",
                name: made.key.display_name.clone(),
                client_id: None,
                secret: made.secret.expose().clone(),
            };
            page(&state, &console, StatusCode::OK, None, FormErrors::none(), Some(shown), None).await
        }
        Err(error) if on_the_form(&error) => {
            let fields = [
                ("displayName", "keyName", "Name"),
                ("owner", "keyOwner", "For the user"),
                ("userId", "keyOwner", "For the user"),
                ("roleIds", "key-role-0", "Roles"),
            ];
            let errors = form_errors(&error, &fields, "keyName");
            page(&state, &console, status_of(error.code), Some((Form::Key, &create)), errors, None, None).await
        }
        Err(error) => console.refusal(&error),
    }
}

/// The user a new credential or key is for: None (the admin's own) when no email was given, else the
/// user with that email (`Core::user_by_email`, a wrong one named on the `owner` field). The check that
/// counts, `credential:manage`, is the create use case's, which runs first when the email is empty.
async fn owner_of(state: &AppState, console: &Console, create: &Create) -> Result<Option<Id>, CoreError> {
    if create.owner.trim().is_empty() {
        return Ok(None);
    }
    console.principal.require(onramp_domain::Permission::CredentialManage)?;
    Ok(Some(state.core.user_by_email(&console.principal, "owner", &create.owner).await?.id))
}

async fn revoke_credential(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let revoked = match path_id("id", &id) {
        Ok(id) => state.core.revoke_credential(&console.principal, &id).await,
        Err(error) => Err(error.into()),
    };
    match revoked {
        Ok(()) => see_other(&format!("{PATH}?done=credential")),
        Err(error) => console.refusal(&error),
    }
}

async fn revoke_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let revoked = match path_id("id", &id) {
        Ok(id) => state.core.revoke_api_key(&console.principal, &id).await,
        Err(error) => Err(error.into()),
    };
    match revoked {
        Ok(()) => see_other(&format!("{PATH}?done=key")),
        Err(error) => console.refusal(&error),
    }
}
