//! The `c1.api.user.v1.User` and `UserView` wire forms.
//!
//! Fields are declared in the order of their JSON names, so a body's keys come out sorted as they always
//! have.

use onramp_domain::user::{AttributeSource, User};
use onramp_domain::{Id, Timestamp};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// `c1.api.user.v1.User` in protojson. Empty lists and unset messages are omitted, as protojson does;
/// strings are always present.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    pub created_at: Timestamp,
    /// The delegate's id, or "" when there is none.
    pub delegated_user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub department: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub department_sources: Vec<SourceBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directory_ids: Vec<Id>,
    pub directory_status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directory_status_sources: Vec<SourceBody>,
    pub display_name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_sources: Vec<SourceBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employee_id_sources: Vec<SourceBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employee_ids: Vec<String>,
    pub employment_status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employment_status_sources: Vec<SourceBody>,
    pub employment_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub employment_type_sources: Vec<SourceBody>,
    pub id: Id,
    pub job_title: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub job_title_sources: Vec<SourceBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manager_ids: Vec<Id>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manager_sources: Vec<SourceBody>,
    pub origin: &'static str,
    /// A protobuf `Struct`: omitted when empty.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub profile: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub role_ids: Vec<Id>,
    pub status: &'static str,
    #[serde(rename = "type")]
    pub user_type: &'static str,
    pub updated_at: Timestamp,
    /// The first username, or "".
    pub username: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub username_sources: Vec<SourceBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usernames: Vec<String>,
}

/// `c1.api.user.v1.UserAttributeMappingSource`; `priority` is an int32, so a JSON number.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceBody {
    pub app_id: String,
    pub app_user_id: String,
    pub app_user_profile_attribute_key: String,
    pub priority: i32,
    pub user_attribute_mapping_id: String,
    pub value: String,
}

fn sources(list: &[AttributeSource]) -> Vec<SourceBody> {
    list.iter()
        .map(|source| SourceBody {
            app_id: source.app_id.clone(),
            app_user_id: source.app_user_id.clone(),
            app_user_profile_attribute_key: source.app_user_profile_attribute_key.clone(),
            priority: source.priority,
            user_attribute_mapping_id: source.user_attribute_mapping_id.clone(),
            value: source.value.clone(),
        })
        .collect()
}

/// The user in protojson.
pub fn user_json(user: &User) -> UserBody {
    let s = &user.sources;
    UserBody {
        created_at: user.created_at,
        delegated_user_id: user.delegated_user_id.map(|id| id.to_string()).unwrap_or_default(),
        deleted_at: user.deleted_at,
        department: user.department.clone(),
        department_sources: sources(&s.department_sources),
        directory_ids: user.directory_ids.clone(),
        directory_status: user.directory_status.as_str(),
        directory_status_sources: sources(&s.directory_status_sources),
        display_name: user.display_name.clone(),
        // '' for a user without an email, as the wire writes every unset string.
        email: user.email_str().to_string(),
        email_sources: sources(&s.email_sources),
        emails: user.emails.iter().map(|email| email.as_str().to_string()).collect(),
        employee_id_sources: sources(&s.employee_id_sources),
        employee_ids: user.employee_ids.clone(),
        employment_status: user.employment_status.clone(),
        employment_status_sources: sources(&s.employment_status_sources),
        employment_type: user.employment_type.clone(),
        employment_type_sources: sources(&s.employment_type_sources),
        id: user.id,
        job_title: user.job_title.clone(),
        job_title_sources: sources(&s.job_title_sources),
        manager_ids: user.manager_ids.clone(),
        manager_sources: sources(&s.manager_sources),
        origin: user.origin.as_str(),
        profile: user.profile.clone(),
        role_ids: user.role_ids.clone(),
        status: user.status.as_str(),
        user_type: user.user_type.as_str(),
        updated_at: user.updated_at,
        username: user.usernames.first().cloned().unwrap_or_default(),
        username_sources: sources(&s.username_sources),
        usernames: user.usernames.clone(),
    }
}

/// `c1.api.user.v1.UserView`.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserViewBody {
    pub user: UserBody,
    pub user_id: Id,
}

pub fn user_view(user: &User) -> UserViewBody {
    UserViewBody { user: user_json(user), user_id: user.id }
}

/// A response holding one `UserView` (get, create, update): onramp expands nothing there, so `expanded`
/// is always empty.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserViewResponse {
    pub expanded: [Value; 0],
    pub user_view: UserViewBody,
}

/// A `UserView` response body with an empty `expanded`.
pub fn user_view_response(user: &User) -> UserViewResponse {
    UserViewResponse { expanded: [], user_view: user_view(user) }
}

#[cfg(test)]
mod tests {
    use onramp_domain::user::{AttributeSource, UserStatus};
    use onramp_domain::{Email, Id, Timestamp};
    use serde_json::json;

    use super::*;

    fn id(n: u8) -> Id {
        format!("{n:024x}").parse().unwrap()
    }

    /// Serialized as the server serializes it; the expectation's keys are sorted, as protojson bodies were.
    fn wire(value: impl serde::Serialize) -> String {
        serde_json::to_string(&value).unwrap()
    }

    fn bare_user() -> User {
        let mut user = User::new(id(1), Email::parse("ada@example.com").unwrap(), "Ada", Timestamp::from_micros(0));
        user.id = id(2);
        user.updated_at = Timestamp::from_micros(1_500_000);
        user
    }

    #[test]
    fn a_bare_user_omits_empty_lists_and_unset_messages() {
        let user = bare_user();
        let expected = json!({
            "id": "000000000000000000000002", "email": "ada@example.com", "emails": ["ada@example.com"],
            "displayName": "Ada", "status": "ENABLED", "directoryStatus": "ENABLED", "type": "USER_TYPE_HUMAN",
            "origin": user.origin.as_str(), "department": "", "jobTitle": "", "employmentStatus": "",
            "employmentType": "", "username": "", "delegatedUserId": "",
            "createdAt": "1970-01-01T00:00:00Z", "updatedAt": "1970-01-01T00:00:01.500000Z",
        });
        assert_eq!(wire(user_json(&user)), expected.to_string());
        let view = json!({"user": expected, "userId": "000000000000000000000002"});
        assert_eq!(wire(user_view(&user)), view.to_string());
        assert_eq!(wire(user_view_response(&user)), json!({"userView": view, "expanded": []}).to_string());
    }

    #[test]
    fn a_full_user_has_every_list_source_and_profile() {
        let mut user = bare_user();
        user.emails.push(Email::parse("ada@work.example").unwrap());
        user.status = UserStatus::Disabled;
        user.role_ids = vec![id(3)];
        user.manager_ids = vec![id(4), id(5)];
        user.directory_ids = vec![id(6)];
        user.delegated_user_id = Some(id(7));
        user.usernames = vec!["ada".into(), "lovelace".into()];
        user.employee_ids = vec!["E1".into()];
        user.job_title = "Engineer".into();
        user.profile.insert("desk".into(), json!({"floor": 3}));
        let source = |value: &str, priority| AttributeSource {
            app_id: "app".into(),
            app_user_id: "au".into(),
            app_user_profile_attribute_key: "title".into(),
            user_attribute_mapping_id: "m".into(),
            value: value.into(),
            priority,
        };
        user.sources.job_title_sources = vec![source("Engineer", 1), source("Eng", 2)];
        user.sources.username_sources = vec![source("ada", 1)];
        user.deleted_at = Some(Timestamp::from_micros(2_000_000));
        let source_json = |value: &str, priority: i32| {
            json!({"appId": "app", "appUserId": "au", "appUserProfileAttributeKey": "title",
                   "userAttributeMappingId": "m", "value": value, "priority": priority})
        };
        let expected = json!({
            "id": "000000000000000000000002", "email": "ada@example.com",
            "emails": ["ada@example.com", "ada@work.example"], "displayName": "Ada", "status": "DISABLED",
            "directoryStatus": "ENABLED", "type": "USER_TYPE_HUMAN", "origin": user.origin.as_str(),
            "department": "", "jobTitle": "Engineer", "employmentStatus": "", "employmentType": "",
            "username": "ada", "usernames": ["ada", "lovelace"], "employeeIds": ["E1"],
            "roleIds": ["000000000000000000000003"],
            "managerIds": ["000000000000000000000004", "000000000000000000000005"],
            "directoryIds": ["000000000000000000000006"], "delegatedUserId": "000000000000000000000007",
            "jobTitleSources": [source_json("Engineer", 1), source_json("Eng", 2)],
            "usernameSources": [source_json("ada", 1)],
            "profile": {"desk": {"floor": 3}},
            "createdAt": "1970-01-01T00:00:00Z", "updatedAt": "1970-01-01T00:00:01.500000Z",
            "deletedAt": "1970-01-01T00:00:02Z",
        });
        assert_eq!(wire(user_json(&user)), expected.to_string());
    }
}
