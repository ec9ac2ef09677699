//! Users as clients send them to onramp's additions (create, update, import): parsed and validated into the
//! domain `User` at the boundary, with every error naming its field.

use onramp_domain::text::TextKind;
use onramp_domain::user::{AttributeSource, Sources, User, UserOrigin, UserStatus, UserType};
use onramp_domain::{BuiltinRole, Email, Id, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use onramp_core::import::{ImportRow, RowError, field_of};

use crate::error::ApiError;
use crate::wire::enums::{EnumName, UserOriginEnum, UserStatusEnum, UserTypeEnum};
use crate::wire::{checked_text, one_line};

const MAX_TEXT: usize = 256;

/// Every writable user field; all optional so the same type serves create (with defaults) and update
/// (with a mask). snake_case names are accepted beside the camelCase ones.
#[derive(Deserialize, Default, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UserInput {
    pub email: Option<String>,
    pub emails: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub status: Option<EnumName<UserStatusEnum>>,
    pub directory_status: Option<EnumName<UserStatusEnum>>,
    #[serde(rename = "type")]
    pub user_type: Option<EnumName<UserTypeEnum>>,
    pub origin: Option<EnumName<UserOriginEnum>>,
    pub role_ids: Option<Vec<String>>,
    pub manager_ids: Option<Vec<String>>,
    pub delegated_user_id: Option<String>,
    pub directory_ids: Option<Vec<String>>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub employment_status: Option<String>,
    pub employment_type: Option<String>,
    pub usernames: Option<Vec<String>>,
    pub employee_ids: Option<Vec<String>>,
    pub profile: Option<Map<String, Value>>,
    // The attribute sources are fields of their own rather than a `#[serde(flatten)]` struct: flattening
    // buffers the input, which slips past the check that messages are JSON objects (`extract::objects`).
    pub department_sources: Option<Vec<AttributeSource>>,
    pub directory_status_sources: Option<Vec<AttributeSource>>,
    pub email_sources: Option<Vec<AttributeSource>>,
    pub employee_id_sources: Option<Vec<AttributeSource>>,
    pub employment_status_sources: Option<Vec<AttributeSource>>,
    pub employment_type_sources: Option<Vec<AttributeSource>>,
    pub job_title_sources: Option<Vec<AttributeSource>>,
    pub manager_sources: Option<Vec<AttributeSource>>,
    pub username_sources: Option<Vec<AttributeSource>>,
}

/// The paths an update mask may name, in their camelCase wire form.
pub const UPDATABLE: &[&str] = &[
    "email",
    "emails",
    "displayName",
    "status",
    "directoryStatus",
    "type",
    "origin",
    "roleIds",
    "managerIds",
    "delegatedUserId",
    "directoryIds",
    "department",
    "jobTitle",
    "employmentStatus",
    "employmentType",
    "usernames",
    "employeeIds",
    "profile",
    "departmentSources",
    "directoryStatusSources",
    "emailSources",
    "employeeIdSources",
    "employmentStatusSources",
    "employmentTypeSources",
    "jobTitleSources",
    "managerSources",
    "usernameSources",
];

/// A one-line text field, trimmed (see `onramp_domain::text`).
fn text(field: &str, value: &str) -> Result<String, ApiError> {
    one_line(field, Some(value), MAX_TEXT)
}

fn texts(field: &str, values: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let value = text(&format!("{field}[{i}]"), value)?;
        if !value.is_empty() && !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

fn email(field: &str, value: &str) -> Result<Email, ApiError> {
    Email::parse(value).map_err(|error| ApiError::invalid_field(field, error))
}

fn id(field: &str, value: &str) -> Result<Id, ApiError> {
    value.parse().map_err(|error| ApiError::invalid_field(field, error))
}

fn ids(field: &str, values: &[String]) -> Result<Vec<Id>, ApiError> {
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let parsed = id(&format!("{field}[{i}]"), value)?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn status(field: &str, value: &str) -> Result<UserStatus, ApiError> {
    match UserStatus::parse(value) {
        Some(UserStatus::Deleted) => Err(ApiError::invalid_field(field, "DELETED is set by deleting the user")),
        Some(status) => Ok(status),
        None => Err(ApiError::invalid_field(field, "must be one of UNKNOWN, ENABLED, DISABLED")),
    }
}

pub(crate) fn enum_value<T: Copy>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, ApiError> {
    parse(value).ok_or_else(|| {
        let names: Vec<_> = all.iter().map(|v| name(*v)).collect();
        ApiError::invalid_field(field, format!("must be one of {}", names.join(", ")))
    })
}

impl UserInput {
    /// Whether the input sets this mask path (for updates without an explicit mask).
    fn sets(&self, path: &str) -> bool {
        let s = self;
        match path {
            "email" => self.email.is_some(),
            "emails" => self.emails.is_some(),
            "displayName" => self.display_name.is_some(),
            "status" => self.status.is_some(),
            "directoryStatus" => self.directory_status.is_some(),
            "type" => self.user_type.is_some(),
            "origin" => self.origin.is_some(),
            "roleIds" => self.role_ids.is_some(),
            "managerIds" => self.manager_ids.is_some(),
            "delegatedUserId" => self.delegated_user_id.is_some(),
            "directoryIds" => self.directory_ids.is_some(),
            "department" => self.department.is_some(),
            "jobTitle" => self.job_title.is_some(),
            "employmentStatus" => self.employment_status.is_some(),
            "employmentType" => self.employment_type.is_some(),
            "usernames" => self.usernames.is_some(),
            "employeeIds" => self.employee_ids.is_some(),
            "profile" => self.profile.is_some(),
            "departmentSources" => s.department_sources.is_some(),
            "directoryStatusSources" => s.directory_status_sources.is_some(),
            "emailSources" => s.email_sources.is_some(),
            "employeeIdSources" => s.employee_id_sources.is_some(),
            "employmentStatusSources" => s.employment_status_sources.is_some(),
            "employmentTypeSources" => s.employment_type_sources.is_some(),
            "jobTitleSources" => s.job_title_sources.is_some(),
            "managerSources" => s.manager_sources.is_some(),
            "usernameSources" => s.username_sources.is_some(),
            _ => false,
        }
    }

    /// The mask paths this input sets.
    pub fn paths_set(&self) -> Vec<&'static str> {
        UPDATABLE.iter().copied().filter(|path| self.sets(path)).collect()
    }

    /// A new user from this input: email and displayName are required, the rest has defaults.
    pub fn into_new_user(self, tenant_id: Id, now: Timestamp) -> Result<User, ApiError> {
        let primary = email("email", self.email.as_deref().unwrap_or(""))?;
        let display_name = text("displayName", self.display_name.as_deref().unwrap_or(""))?;
        if display_name.is_empty() {
            return Err(ApiError::invalid_field("displayName", "must not be empty"));
        }
        let mut user = User { origin: UserOrigin::Local, ..User::new(tenant_id, primary, display_name, now) };
        let paths = self.paths_set();
        self.apply(&mut user, &paths)?;
        Ok(user)
    }

    /// Applies the fields named by `paths` to `user`. A path the input does not set clears the field.
    pub fn apply(self, user: &mut User, paths: &[&str]) -> Result<(), ApiError> {
        for path in paths {
            match *path {
                "email" => user.email = Some(email("email", self.email.as_deref().unwrap_or(""))?),
                "emails" => {
                    let list = self.emails.clone().unwrap_or_default();
                    user.emails = list
                        .iter()
                        .enumerate()
                        .map(|(i, e)| email(&format!("emails[{i}]"), e))
                        .collect::<Result<_, _>>()?;
                }
                "displayName" => {
                    user.display_name = text("displayName", self.display_name.as_deref().unwrap_or(""))?;
                    if user.display_name.is_empty() {
                        return Err(ApiError::invalid_field("displayName", "must not be empty"));
                    }
                }
                "status" => user.status = status("status", self.status.as_deref().unwrap_or(""))?,
                "directoryStatus" => {
                    user.directory_status = status("directoryStatus", self.directory_status.as_deref().unwrap_or(""))?
                }
                "type" => {
                    user.user_type = enum_value(
                        "type",
                        self.user_type.as_deref().unwrap_or(""),
                        UserType::parse,
                        UserType::ALL,
                        UserType::as_str,
                    )?
                }
                "origin" => {
                    user.origin = enum_value(
                        "origin",
                        self.origin.as_deref().unwrap_or(""),
                        UserOrigin::parse,
                        UserOrigin::ALL,
                        UserOrigin::as_str,
                    )?
                }
                "roleIds" => {
                    let list = self.role_ids.clone().unwrap_or_default();
                    user.role_ids = list
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            BuiltinRole::from_ref(r).map(|role| role.id()).ok_or_else(|| {
                                ApiError::invalid_field(&format!("roleIds[{i}]"), format!("no role {r:?}"))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    user.role_ids.dedup();
                }
                "managerIds" => user.manager_ids = ids("managerIds", &self.manager_ids.clone().unwrap_or_default())?,
                "delegatedUserId" => {
                    user.delegated_user_id = match self.delegated_user_id.as_deref().filter(|v| !v.is_empty()) {
                        Some(value) => Some(id("delegatedUserId", value)?),
                        None => None,
                    }
                }
                "directoryIds" => {
                    user.directory_ids = ids("directoryIds", &self.directory_ids.clone().unwrap_or_default())?
                }
                "department" => user.department = text("department", self.department.as_deref().unwrap_or(""))?,
                "jobTitle" => user.job_title = text("jobTitle", self.job_title.as_deref().unwrap_or(""))?,
                "employmentStatus" => {
                    user.employment_status = text("employmentStatus", self.employment_status.as_deref().unwrap_or(""))?
                }
                "employmentType" => {
                    user.employment_type = text("employmentType", self.employment_type.as_deref().unwrap_or(""))?
                }
                "usernames" => user.usernames = texts("usernames", &self.usernames.clone().unwrap_or_default())?,
                "employeeIds" => {
                    user.employee_ids = texts("employeeIds", &self.employee_ids.clone().unwrap_or_default())?
                }
                "profile" => {
                    let profile = self.profile.clone().unwrap_or_default();
                    check_profile("profile", &profile)?;
                    user.profile = profile;
                }
                sources_path => apply_sources(&mut user.sources, &self, sources_path)?,
            }
        }
        // The primary email always leads the list of emails; a user without one (provisioned by SCIM without
        // an email) given emails takes the first as its primary.
        match user.email.clone() {
            Some(primary) => {
                user.emails.retain(|e| *e != primary);
                user.emails.insert(0, primary);
            }
            None => user.email = user.emails.first().cloned(),
        }
        user.sources.normalize();
        Ok(())
    }
}

/// A profile's keys are one-line text and its string values, at any depth, multi-line text.
fn check_profile(field: &str, object: &Map<String, Value>) -> Result<(), ApiError> {
    for (key, value) in object {
        onramp_domain::check_text(key, TextKind::OneLine, usize::MAX)
            .map_err(|problem| ApiError::invalid_field(field, format!("keys {problem}")))?;
        check_profile_value(&format!("{field}.{key}"), value)?;
    }
    Ok(())
}

fn check_profile_value(field: &str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::String(text) => checked_text(field, text, TextKind::MultiLine, usize::MAX),
        Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| check_profile_value(&format!("{field}[{i}]"), item))
        }
        Value::Object(object) => check_profile(field, object),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// The text of one list of attribute sources: every string is one line.
fn check_sources(field: &str, sources: &[AttributeSource]) -> Result<(), ApiError> {
    for (i, source) in sources.iter().enumerate() {
        let parts = [
            ("appId", &source.app_id),
            ("appUserId", &source.app_user_id),
            ("appUserProfileAttributeKey", &source.app_user_profile_attribute_key),
            ("userAttributeMappingId", &source.user_attribute_mapping_id),
            ("value", &source.value),
        ];
        for (name, text) in parts {
            checked_text(&format!("{field}[{i}].{name}"), text, TextKind::OneLine, usize::MAX)?;
        }
    }
    Ok(())
}

fn apply_sources(target: &mut Sources, input: &UserInput, path: &str) -> Result<(), ApiError> {
    let take = |list: &Option<Vec<AttributeSource>>| -> Result<Vec<AttributeSource>, ApiError> {
        let list = list.clone().unwrap_or_default();
        check_sources(path, &list)?;
        Ok(list)
    };
    match path {
        "departmentSources" => target.department_sources = take(&input.department_sources)?,
        "directoryStatusSources" => target.directory_status_sources = take(&input.directory_status_sources)?,
        "emailSources" => target.email_sources = take(&input.email_sources)?,
        "employeeIdSources" => target.employee_id_sources = take(&input.employee_id_sources)?,
        "employmentStatusSources" => target.employment_status_sources = take(&input.employment_status_sources)?,
        "employmentTypeSources" => target.employment_type_sources = take(&input.employment_type_sources)?,
        "jobTitleSources" => target.job_title_sources = take(&input.job_title_sources)?,
        "managerSources" => target.manager_sources = take(&input.manager_sources)?,
        "usernameSources" => target.username_sources = take(&input.username_sources)?,
        _ => unreachable!("mask paths are checked against UPDATABLE before they are applied"),
    }
    Ok(())
}

/// The paths of a user update mask (see [`crate::wire::mask::parse_mask`]).
pub fn parse_mask(mask: &Value) -> Result<Vec<&'static str>, ApiError> {
    crate::wire::mask::parse_mask(mask, UPDATABLE, "user")
}

impl UserInput {
    /// One row of an import (the API's `users` list, a line or CSV record of the command line's file), as
    /// a JSON object: its input, or the error naming the field at fault.
    pub fn parse_row(row: usize, value: &Value) -> Result<UserInput, RowError> {
        crate::extract::parse_json(value.to_string().as_bytes()).map_err(|error| RowError {
            row,
            field: field_of(&error.message),
            message: error.message,
        })
    }
}

impl ImportRow for UserInput {
    fn role_ids(&self) -> Vec<Id> {
        self.role_ids.iter().flatten().filter_map(|r| BuiltinRole::from_ref(r)).map(|r| r.id()).collect()
    }

    fn into_new_user(self, row: usize, tenant_id: Id, now: Timestamp) -> Result<User, RowError> {
        // Managers and delegates refer to other users, which an import cannot order; they are set by update.
        if self.manager_ids.as_ref().is_some_and(|m| !m.is_empty())
            || self.delegated_user_id.as_ref().is_some_and(|d| !d.is_empty())
        {
            let message = "managers and delegates are set after import, by update".into();
            return Err(RowError { row, field: "managerIds".into(), message });
        }
        UserInput::into_new_user(self, tenant_id, now).map_err(|error| RowError {
            row,
            field: field_of(&error.message),
            message: error.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_in_both_forms() {
        assert_eq!(parse_mask(&json!("displayName, job_title")).unwrap(), vec!["displayName", "jobTitle"]);
        assert_eq!(parse_mask(&json!({"paths": ["status"]})).unwrap(), vec!["status"]);
        let error = parse_mask(&json!("displayName,password")).unwrap_err();
        assert!(error.message.contains("updateMask") && error.message.contains("password"), "{}", error.message);
    }

    #[test]
    fn new_users_are_validated_field_by_field() {
        let now = Timestamp::now();
        let tenant = Id::new();
        let input: UserInput = serde_json::from_value(json!({"email": "Ada@Example.com", "displayName": "Ada", "roleIds": ["admin"], "jobTitleSources": [{"value": "b", "priority": 2}, {"value": "a", "priority": 1}]})).unwrap();
        let user = input.into_new_user(tenant, now).unwrap();
        assert_eq!(user.email_str(), "ada@example.com");
        assert_eq!(user.emails, vec![user.email.clone().unwrap()]);
        assert_eq!(user.role_ids, vec![BuiltinRole::Admin.id()]);
        assert_eq!(user.sources.job_title_sources[0].value, "a");
        let input: UserInput = serde_json::from_value(json!({"email": "b@example.com", "displayName": " Bo ", "profile": {"address": "1 Main St\r\nSpringfield"}})).unwrap();
        let user = input.into_new_user(tenant, now).unwrap();
        assert_eq!((user.display_name.as_str(), &user.profile["address"]), ("Bo", &json!("1 Main St\r\nSpringfield")));
        for (body, field) in [
            (json!({"displayName": "Ada"}), "email"),
            (json!({"email": "ada@example.com"}), "displayName"),
            (json!({"email": "ada@example.com", "displayName": "A", "status": "ACTIVE"}), "status"),
            (json!({"email": "ada@example.com", "displayName": "A", "type": "USER_TYPE_ROBOT"}), "type"),
            (json!({"email": "ada@example.com", "displayName": "A", "managerIds": ["nope"]}), "managerIds[0]"),
            (json!({"email": "ada@example.com", "displayName": "A", "roleIds": ["root"]}), "roleIds[0]"),
            (json!({"email": "ada@example.com", "displayName": "Ada\u{0}"}), "displayName"),
            (json!({"email": "ada@example.com", "displayName": "A", "department": "R\u{1b}[0mD"}), "department"),
            (json!({"email": "ada@example.com", "displayName": "A", "usernames": ["ada", "a\nb"]}), "usernames[1]"),
            (json!({"email": "ada@example.com", "displayName": "A", "profile": {"note": "x\u{0}"}}), "profile.note"),
            (json!({"email": "ada@example.com", "displayName": "A", "profile": {"a\tb": 1}}), "profile"),
            (
                json!({"email": "ada@example.com", "displayName": "A", "profile": {"l": [{"m": "\u{7}"}]}}),
                "profile.l[0].m",
            ),
            (
                json!({"email": "ada@example.com", "displayName": "A", "jobTitleSources": [{"value": "a\u{0}"}]}),
                "jobTitleSources[0].value",
            ),
        ] {
            let input: UserInput = serde_json::from_value(body).unwrap();
            let error = input.into_new_user(tenant, now).unwrap_err();
            assert!(error.message.starts_with(&format!("invalid {field}:")), "{field}: {}", error.message);
        }
    }
}
