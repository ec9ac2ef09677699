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
//! | every other User attribute | `scim_attributes`, as sent (after checking it against the schema) |
//!
//! The attributes onramp does not map (`nickName`, `profileUrl`, `userType`, `preferredLanguage`, `locale`,
//! `timezone`, `phoneNumbers`, `ims`, `photos`, `addresses`, `entitlements`, `roles`, `x509Certificates`,
//! the enterprise `costCenter`, `organization` and `division`, and each email's `type`, `display` and
//! `primary`) are kept in the user's `scim_attributes` so that SCIM returns what it stored (RFC 7643 §2).
//! A PATCH that removes `displayName` or `active` leaves them unassigned (RFC 7644 §3.5.2.2): onramp keeps
//! a display name (derived as on create) and the user's status unchanged, records both under
//! `$unassigned`, and leaves the attribute out while onramp's value is still that one.
//!
//! Every attribute a SCIM write sets is recorded in the user's `sources` with the connection as its mapping
//! (`userAttributeMappingId` `scim:<connection id>`), and a user a connection creates has the origin
//! USER_ORIGIN_DIRECTORY: the SCIM origin of a provisioned user.

use onramp_domain::user::{AttributeSource, User, UserOrigin, UserStatus};
use onramp_domain::{Email, Id, Timestamp};
use serde_json::{Map, Value, json};

use crate::scim::attributes::{
    Attribute, AttributeType, ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, Schema, USER, USER_SCHEMA,
};
use crate::scim::error::{ScimError, ScimResult};

/// The longest text attribute onramp keeps from SCIM.
const MAX_TEXT: usize = 256;

/// The longest string kept in `scim_attributes` (an `x509Certificates` value is a few kilobytes).
const MAX_KEPT_TEXT: usize = 16 * 1024;

/// The most values a multi-valued attribute kept in `scim_attributes` may have.
const MAX_KEPT_VALUES: usize = 100;

/// The core User attributes onramp keeps as sent, unmapped.
const KEPT: &[&str] = &[
    "nickName",
    "profileUrl",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// The enterprise extension's attributes onramp keeps as sent, unmapped.
const KEPT_ENTERPRISE: &[&str] = &["costCenter", "organization", "division"];

/// The key of `scim_attributes` recording mapped attributes a PATCH removed, with onramp's value then.
const UNASSIGNED: &str = "$unassigned";

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
    // Each email's `type`, `display` and `primary` as the identity provider sent them (no type: "work").
    let details: &[Value] = user.scim_attributes.get("emails").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let emails: Vec<Value> = user
        .emails
        .iter()
        .enumerate()
        .map(|(index, email)| {
            let detail = details.iter().filter_map(Value::as_object).find(|detail| {
                detail
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|value| value.eq_ignore_ascii_case(email.as_str()))
            });
            // onramp's email is the first; it is primary unless the identity provider said it is not.
            let primary = index == 0 && detail.is_none_or(|detail| detail.get("primary") != Some(&json!(false)));
            let kind = detail.and_then(|detail| detail.get("type")).cloned().unwrap_or_else(|| json!("work"));
            let mut item = json!({"value": email.as_str(), "type": kind, "primary": primary});
            if let Some(display) = detail.and_then(|detail| detail.get("display")) {
                item["display"] = display.clone();
            }
            item
        })
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
    for (key, value) in &user.scim_attributes {
        if key == ENTERPRISE_USER_SCHEMA {
            enterprise.extend(value.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        } else if KEPT.contains(&key.as_str()) {
            resource[key] = value.clone();
        }
    }
    // A mapped attribute a PATCH removed stays unassigned while onramp's value is the one it got then.
    if let Some(unassigned) = user.scim_attributes.get(UNASSIGNED).and_then(Value::as_object)
        && let Some(object) = resource.as_object_mut()
    {
        for key in ["displayName", "active"] {
            if unassigned.get(key).is_some_and(|then| object.get(key) == Some(then)) {
                object.remove(key);
            }
        }
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
    /// Whether the body gave `displayName` (else it is derived).
    pub display_name_sent: bool,
    pub emails: Vec<Email>,
    pub title: String,
    /// `active`; `None` when the body leaves it out.
    pub active: Option<bool>,
    pub employee_number: Option<String>,
    pub department: String,
    pub manager: Option<Id>,
    /// The unmapped attributes, checked, for `scim_attributes`.
    pub kept: Map<String, Value>,
    /// Read from a resource a PATCH made: an attribute left out was removed, so is unassigned.
    pub patched: bool,
}

/// A key of `object` read without case (SCIM attribute names are case-insensitive).
/// The attributes `names` of `schema` that `object` has, checked, as onramp keeps them unmapped.
fn kept_of(schema: &Schema, names: &[&str], object: &Map<String, Value>) -> ScimResult<Map<String, Value>> {
    let mut kept = Map::new();
    for name in names {
        if let Some(attribute) = schema.attribute(name)
            && let Some(value) = get(object, name)
            && let Some(value) = kept_value(attribute, value, attribute.name)?
        {
            kept.insert(attribute.name.to_string(), value);
        }
    }
    Ok(kept)
}

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
        let given_display_name = text(object, "displayName", "displayName")?;
        let display_name_sent = given_display_name.is_some();
        let display_name = given_display_name
            .or_else(|| part("formatted").map(str::to_string))
            .or_else(|| Some(from_parts).filter(|joined| !joined.trim().is_empty()))
            .unwrap_or_else(|| user_name.clone());
        let emails = emails(object)?;
        let title = text(object, "title", "title")?.unwrap_or_default();
        let active = get(object, "active").map(|value| boolean(value, "active")).transpose()?;
        let mut kept = kept_of(&USER, KEPT, object)?;
        if let Some(details) = email_details(object)? {
            kept.insert("emails".into(), details);
        }
        let (mut employee_number, mut department, mut manager) = (None, String::new(), None);
        if let Some(extension) = get(object, ENTERPRISE_USER_SCHEMA) {
            let extension = extension
                .as_object()
                .ok_or_else(|| ScimError::invalid_value(format!("{ENTERPRISE_USER_SCHEMA} must be an object")))?;
            employee_number = text(extension, "employeeNumber", "employeeNumber")?;
            department = text(extension, "department", "department")?.unwrap_or_default();
            let kept_enterprise = kept_of(&ENTERPRISE_USER, KEPT_ENTERPRISE, extension)?;
            if !kept_enterprise.is_empty() {
                kept.insert(ENTERPRISE_USER_SCHEMA.into(), Value::Object(kept_enterprise));
            }
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
            display_name_sent,
            emails,
            title,
            active,
            employee_number,
            department,
            manager,
            kept,
            patched: false,
        })
    }

    /// These fields read from the resource a PATCH made: a mapped attribute it lacks was removed.
    pub fn patched(self) -> UserFields {
        UserFields { patched: true, ..self }
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
        let mut kept = self.kept;
        let mut unassigned = Map::new();
        // `active` left out: true on create and PUT (the RFC lets a PUT assign a default); a PATCH removed
        // it, so it is unassigned and the user's status stays as it was (never enabled by a removal).
        let active = match self.active {
            Some(active) => active,
            None if self.patched => {
                let current = user.status == UserStatus::Enabled;
                unassigned.insert("active".into(), json!(current));
                current
            }
            None => true,
        };
        if self.patched && !self.display_name_sent {
            unassigned.insert("displayName".into(), json!(user.display_name));
        }
        if !unassigned.is_empty() {
            kept.insert(UNASSIGNED.into(), Value::Object(unassigned));
        }
        user.scim_attributes = kept;
        let status = if active { UserStatus::Enabled } else { UserStatus::Disabled };
        user.status = status;
        user.directory_status = status;
        user.employee_ids = self.employee_number.iter().cloned().collect();
        user.department = self.department;
        user.manager_ids = self.manager.into_iter().collect();
        let sources = &mut user.sources;
        sources.username_sources = vec![source("userName", &self.user_name)];
        sources.email_sources = user.email.iter().map(|email| source("emails", email.as_str())).collect();
        sources.directory_status_sources = vec![source("active", &active.to_string())];
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

/// The emails as sent (`value`, `type`, `display`, `primary`), checked against the schema, for their
/// details; `None` when no email has a value. onramp's own list of emails stays the mapped part.
fn email_details(object: &Map<String, Value>) -> ScimResult<Option<Value>> {
    let (Some(attribute), Some(emails)) = (USER.attribute("emails"), get(object, "emails")) else { return Ok(None) };
    let Some(Value::Array(items)) = kept_value(attribute, emails, "emails")? else { return Ok(None) };
    let details: Vec<Value> = items
        .into_iter()
        .filter_map(|item| match item {
            Value::Object(item) if item.contains_key("value") => Some(Value::Object(item)),
            _ => None,
        })
        .collect();
    Ok(Some(Value::Array(details)).filter(|details| details.as_array().is_some_and(|d| !d.is_empty())))
}

/// A value of an unmapped attribute checked against its definition (RFC 7643 §2.3: its type, its
/// sub-attributes, its canonical values) and tidied for keeping: sub-attribute names as the schema spells
/// them, null and empty parts left out; `None` when nothing is left (unassigned, RFC 7643 §2.5).
fn kept_value(attribute: &Attribute, value: &Value, name: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !attribute.multi_valued {
        return kept_single(attribute, value, name);
    }
    let items = value.as_array().ok_or_else(|| ScimError::invalid_value(format!("{name} must be an array")))?;
    if items.len() > MAX_KEPT_VALUES {
        return Err(ScimError::invalid_value(format!("{name} has more than {MAX_KEPT_VALUES} values")));
    }
    let mut kept = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(item) = kept_single(attribute, item, &format!("{name}[{index}]"))? {
            kept.push(item);
        }
    }
    Ok(Some(Value::Array(kept)).filter(|kept| kept.as_array().is_some_and(|items| !items.is_empty())))
}

fn kept_single(attribute: &Attribute, value: &Value, name: &str) -> ScimResult<Option<Value>> {
    let wrong = |expected: &str| ScimError::invalid_value(format!("{name} must be {expected}"));
    Ok(match (attribute.kind, value) {
        (_, Value::Null) => None,
        (AttributeType::Complex, Value::Object(fields)) => {
            let mut kept = Map::new();
            for (key, inner) in fields {
                let sub = attribute.sub_attribute(key).ok_or_else(|| {
                    ScimError::invalid_value(format!("{name}: {} has no sub-attribute {key:?}", attribute.name))
                })?;
                if let Some(inner) = kept_single(sub, inner, &format!("{name}.{}", sub.name))? {
                    kept.insert(sub.name.to_string(), inner);
                }
            }
            Some(Value::Object(kept)).filter(|kept| kept.as_object().is_some_and(|fields| !fields.is_empty()))
        }
        (AttributeType::Complex, _) => return Err(wrong("an object")),
        (AttributeType::Boolean, value) => Some(Value::Bool(boolean(value, name)?)),
        (AttributeType::Integer, Value::Number(number)) if number.is_i64() || number.is_u64() => Some(value.clone()),
        (AttributeType::Integer, _) => return Err(wrong("an integer")),
        (AttributeType::Decimal, Value::Number(_)) => Some(value.clone()),
        (AttributeType::Decimal, _) => return Err(wrong("a number")),
        (_, Value::String(text)) => {
            if text.len() > MAX_KEPT_TEXT {
                return Err(ScimError::invalid_value(format!("{name} is longer than {MAX_KEPT_TEXT} bytes")));
            }
            if attribute.kind == AttributeType::DateTime && Timestamp::parse_rfc3339(text).is_err() {
                return Err(wrong("an RFC 3339 date and time"));
            }
            let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
            if attribute.kind == AttributeType::Binary && !text.chars().all(base64) {
                return Err(wrong("base64 (RFC 7643 §2.3.6)"));
            }
            let canonical = attribute.canonical_values;
            if !canonical.is_empty() && !canonical.iter().any(|allowed| allowed.eq_ignore_ascii_case(text)) {
                return Err(wrong(&format!("one of {}", canonical.join(", "))));
            }
            Some(value.clone()).filter(|_| !text.is_empty())
        }
        (_, _) => return Err(wrong("a string")),
    })
}
