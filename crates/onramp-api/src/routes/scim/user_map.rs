//! onramp's user as a SCIM User (RFC 7643 §4.1 and the enterprise extension, §4.3), and back.
//!
//! | SCIM | onramp |
//! |---|---|
//! | `id` | the user's id |
//! | `externalId` | `external_id` (unique per tenant among live users) |
//! | `userName` | the first of `usernames` (found by an index, without case) |
//! | `name` | the profile's `name` object, as sent |
//! | `displayName` | `displayName` (else `name.formatted`, else given and family name, else `userName`) |
//! | `emails` | `emails`, the primary first; the primary is the user's email; none (omitted): a user without one |
//! | `title` | `jobTitle` |
//! | `active` | `status` ENABLED (true) or DISABLED (false) |
//! | enterprise `employeeNumber` | the first of `employeeIds` |
//! | enterprise `department` | `department` |
//! | enterprise `manager.value` | the first manager (an onramp user id) |
//! | `meta.version` | `W/"<updatedAt in microseconds>"`, the user's version for `If-Match` |
//!
//! Every attribute a SCIM write sets is recorded in the user's `sources` with the connection as its mapping
//! (`userAttributeMappingId` `scim:<connection id>`), and a user a connection creates has the origin
//! USER_ORIGIN_DIRECTORY: the SCIM origin of a provisioned user.

use onramp_domain::user::{AttributeSource, User, UserOrigin, UserStatus};
use onramp_domain::{Email, Id, Timestamp};
use serde_json::{Map, Value, json};

use crate::scim::attributes::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use crate::scim::error::{ScimError, ScimResult};

/// The longest text attribute onramp keeps from SCIM.
const MAX_TEXT: usize = 256;

/// A user's version, as `meta.version` and the `ETag` header carry it.
pub fn version_of(user: &User) -> String {
    format!("W/\"{}\"", user.updated_at.micros())
}

/// The SCIM User of `user`; `base` is the public URL of `/scim/v2`.
pub fn user_resource(user: &User, base: &str) -> Value {
    // A user made elsewhere may have no username: its email stands in, else (no email either) its id.
    let user_name = user
        .usernames
        .first()
        .cloned()
        .or_else(|| user.email.as_ref().map(|email| email.as_str().to_string()))
        .unwrap_or_else(|| user.id.to_string());
    let emails: Vec<Value> = user
        .emails
        .iter()
        .enumerate()
        .map(|(index, email)| json!({"value": email.as_str(), "type": "work", "primary": index == 0}))
        .collect();
    let mut resource = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id.to_string(),
        "userName": user_name,
        "displayName": user.display_name,
        "active": user.status == UserStatus::Enabled,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.to_rfc3339(),
            "lastModified": user.updated_at.to_rfc3339(),
            "location": format!("{base}/Users/{}", user.id),
            "version": version_of(user),
        },
    });
    // No emails: the attribute is unassigned, so left out (RFC 7643 §2.5), not an empty list.
    if !emails.is_empty() {
        resource["emails"] = json!(emails);
    }
    if let Some(external_id) = &user.external_id {
        resource["externalId"] = json!(external_id);
    }
    if let Some(name) = user.profile.get("name").filter(|name| name.is_object()) {
        resource["name"] = name.clone();
    }
    if !user.job_title.is_empty() {
        resource["title"] = json!(user.job_title);
    }
    let mut enterprise = Map::new();
    if let Some(number) = user.employee_ids.first() {
        enterprise.insert("employeeNumber".into(), json!(number));
    }
    if !user.department.is_empty() {
        enterprise.insert("department".into(), json!(user.department));
    }
    if let Some(manager) = user.manager_ids.first() {
        enterprise
            .insert("manager".into(), json!({"value": manager.to_string(), "$ref": format!("{base}/Users/{manager}")}));
    }
    if !enterprise.is_empty() {
        resource["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        resource[ENTERPRISE_USER_SCHEMA] = Value::Object(enterprise);
    }
    resource
}

/// What a SCIM User body says, read and checked: every attribute onramp keeps.
#[derive(Debug)]
pub struct UserFields {
    pub user_name: String,
    pub external_id: Option<String>,
    pub name: Option<Value>,
    pub display_name: String,
    pub emails: Vec<Email>,
    pub title: String,
    pub active: bool,
    pub employee_number: Option<String>,
    pub department: String,
    pub manager: Option<Id>,
}

/// A key of `object` read without case (SCIM attribute names are case-insensitive).
fn get<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, value)| value).filter(|v| !v.is_null())
}

fn text(object: &Map<String, Value>, key: &str, field: &str) -> ScimResult<Option<String>> {
    match get(object, key) {
        None => Ok(None),
        Some(Value::String(value)) => {
            onramp_core::invitations::one_line(field, Some(value), MAX_TEXT).map_err(ScimError::from)?;
            Ok(Some(value.trim().to_string()).filter(|value| !value.is_empty()))
        }
        Some(_) => Err(ScimError::invalid_value(format!("{field} must be a string"))),
    }
}

/// A boolean as SCIM clients send it: `true`, or the string `"True"` that Entra ID sends in PATCH values.
pub fn boolean(value: &Value, field: &str) -> ScimResult<bool> {
    match value {
        Value::Bool(value) => Ok(*value),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!("{field} must be true or false"))),
    }
}

impl UserFields {
    /// Reads a User body (POST, PUT, or a resource after a PATCH). `userName` is required; the user's email
    /// is the primary email, else the first; no emails, no email (RFC 7643 makes `emails` optional).
    pub fn parse(body: &Value) -> ScimResult<UserFields> {
        let object = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
        if let Some(schemas) = get(object, "schemas") {
            let names = schemas.as_array().ok_or_else(|| ScimError::invalid_value("schemas must be an array"))?;
            if !names.iter().any(|name| name.as_str().is_some_and(|name| name.eq_ignore_ascii_case(USER_SCHEMA))) {
                return Err(ScimError::invalid_value(format!("schemas must include {USER_SCHEMA}")));
            }
        }
        let user_name =
            text(object, "userName", "userName")?.ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        let external_id = text(object, "externalId", "externalId")?;
        let name = match get(object, "name") {
            None => None,
            Some(Value::Object(parts)) => {
                for (key, value) in parts {
                    let field = format!("name.{key}");
                    match value {
                        Value::String(part) => {
                            onramp_core::invitations::one_line(&field, Some(part), MAX_TEXT)
                                .map_err(ScimError::from)?;
                        }
                        Value::Null => {}
                        _ => return Err(ScimError::invalid_value(format!("{field} must be a string"))),
                    }
                }
                Some(Value::Object(parts.clone()))
            }
            Some(_) => return Err(ScimError::invalid_value("name must be an object")),
        };
        let part =
            |key: &str| name.as_ref().and_then(|n| n.as_object()).and_then(|n| get(n, key)).and_then(Value::as_str);
        let from_parts = [part("givenName"), part("familyName")].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let display_name = text(object, "displayName", "displayName")?
            .or_else(|| part("formatted").map(str::to_string))
            .or_else(|| Some(from_parts).filter(|joined| !joined.trim().is_empty()))
            .unwrap_or_else(|| user_name.clone());
        let emails = emails(object)?;
        let title = text(object, "title", "title")?.unwrap_or_default();
        let active = match get(object, "active") {
            None => true,
            Some(value) => boolean(value, "active")?,
        };
        let (mut employee_number, mut department, mut manager) = (None, String::new(), None);
        if let Some(extension) = get(object, ENTERPRISE_USER_SCHEMA) {
            let extension = extension
                .as_object()
                .ok_or_else(|| ScimError::invalid_value(format!("{ENTERPRISE_USER_SCHEMA} must be an object")))?;
            employee_number = text(extension, "employeeNumber", "employeeNumber")?;
            department = text(extension, "department", "department")?.unwrap_or_default();
            manager = match get(extension, "manager") {
                None => None,
                Some(Value::Object(reference)) => match get(reference, "value") {
                    None => None,
                    Some(Value::String(id)) if id.is_empty() => None,
                    Some(Value::String(id)) => Some(id.parse::<Id>().map_err(|_| {
                        ScimError::invalid_value(format!("manager.value {id:?} is not the id of a user"))
                    })?),
                    Some(_) => return Err(ScimError::invalid_value("manager.value must be a string")),
                },
                // Entra ID sends the manager's id as a plain string in PATCH values.
                Some(Value::String(id)) if id.is_empty() => None,
                Some(Value::String(id)) => Some(
                    id.parse::<Id>()
                        .map_err(|_| ScimError::invalid_value(format!("manager {id:?} is not the id of a user")))?,
                ),
                Some(_) => return Err(ScimError::invalid_value("manager must be an object with a value")),
            };
        }
        Ok(UserFields {
            user_name,
            external_id,
            name,
            display_name,
            emails,
            title,
            active,
            employee_number,
            department,
            manager,
        })
    }

    /// A new user of `tenant_id` with these attributes, made through connection `connection`.
    pub fn new_user(self, tenant_id: Id, now: Timestamp, connection: &Id) -> User {
        let email = self.emails.first().cloned();
        let mut user = User::new(tenant_id, email, self.display_name.clone(), now);
        user.origin = UserOrigin::Directory;
        self.apply(&mut user, connection);
        user
    }

    /// Replaces every SCIM-mapped attribute of `user` with these (PUT: what is absent is cleared); the rest
    /// of the user (roles, directories, delegate, other profile keys) is kept.
    pub fn apply(self, user: &mut User, connection: &Id) {
        let source_id = self.external_id.clone().unwrap_or_else(|| self.user_name.clone());
        let source = |key: &str, value: &str| AttributeSource {
            app_id: String::new(),
            app_user_id: source_id.clone(),
            app_user_profile_attribute_key: key.to_string(),
            user_attribute_mapping_id: format!("scim:{connection}"),
            value: value.to_string(),
            priority: 0,
        };
        user.set_emails(self.emails);
        user.display_name = self.display_name;
        user.usernames = vec![self.user_name.clone()];
        user.external_id = self.external_id;
        match self.name {
            Some(name) => user.profile.insert("name".into(), name),
            None => user.profile.remove("name"),
        };
        user.job_title = self.title;
        let status = if self.active { UserStatus::Enabled } else { UserStatus::Disabled };
        user.status = status;
        user.directory_status = status;
        user.employee_ids = self.employee_number.iter().cloned().collect();
        user.department = self.department;
        user.manager_ids = self.manager.into_iter().collect();
        let sources = &mut user.sources;
        sources.username_sources = vec![source("userName", &self.user_name)];
        sources.email_sources = user.email.iter().map(|email| source("emails", email.as_str())).collect();
        sources.directory_status_sources = vec![source("active", &self.active.to_string())];
        sources.job_title_sources =
            if user.job_title.is_empty() { vec![] } else { vec![source("title", &user.job_title)] };
        sources.department_sources =
            if user.department.is_empty() { vec![] } else { vec![source("department", &user.department)] };
        sources.employee_id_sources =
            self.employee_number.iter().map(|number| source("employeeNumber", number)).collect();
        sources.manager_sources =
            user.manager_ids.iter().map(|manager| source("manager", &manager.to_string())).collect();
    }
}

/// The emails of a body, the primary first, without repeats; none when it gives none.
fn emails(object: &Map<String, Value>) -> ScimResult<Vec<Email>> {
    let mut listed: Vec<(bool, Email)> = Vec::new();
    match get(object, "emails") {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let item = item
                    .as_object()
                    .ok_or_else(|| ScimError::invalid_value(format!("emails[{index}] must be an object")))?;
                let Some(value) = get(item, "value") else { continue };
                let value = value
                    .as_str()
                    .ok_or_else(|| ScimError::invalid_value(format!("emails[{index}].value must be a string")))?;
                let email = Email::parse(value.trim()).map_err(|error| {
                    ScimError::invalid_value(format!("emails[{index}].value {value:?} is not an email: {error}"))
                })?;
                let primary = match get(item, "primary") {
                    None => false,
                    Some(flag) => boolean(flag, &format!("emails[{index}].primary"))?,
                };
                listed.push((primary, email));
            }
        }
        Some(_) => return Err(ScimError::invalid_value("emails must be an array")),
    }
    // The primary first, the others in the order given.
    listed.sort_by_key(|(primary, _)| !primary);
    let mut emails: Vec<Email> = Vec::new();
    for (_, email) in listed {
        if !emails.contains(&email) {
            emails.push(email);
        }
    }
    Ok(emails)
}
