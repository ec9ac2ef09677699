//! The `c1.api.user.v1.User` and `UserView` wire forms.

use onramp_domain::user::User;
use serde_json::{Map, Value, json};

/// The user in protojson. Empty lists and unset messages are omitted, as protojson does; strings are
/// always present.
pub fn user_json(user: &User) -> Value {
    let mut object = json!({
        "id": user.id,
        "email": user.email.as_str(),
        "displayName": user.display_name,
        "status": user.status.as_str(),
        "directoryStatus": user.directory_status.as_str(),
        "type": user.user_type.as_str(),
        "origin": user.origin.as_str(),
        "department": user.department,
        "jobTitle": user.job_title,
        "employmentStatus": user.employment_status,
        "employmentType": user.employment_type,
        "username": user.usernames.first().cloned().unwrap_or_default(),
        "delegatedUserId": user.delegated_user_id.map(|id| id.to_string()).unwrap_or_default(),
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    });
    let map = object.as_object_mut().expect("a JSON object");
    let lists: [(&str, Value); 6] = [
        ("emails", json!(user.emails.iter().map(|e| e.as_str()).collect::<Vec<_>>())),
        ("usernames", json!(user.usernames)),
        ("employeeIds", json!(user.employee_ids)),
        ("roleIds", json!(user.role_ids)),
        ("managerIds", json!(user.manager_ids)),
        ("directoryIds", json!(user.directory_ids)),
    ];
    for (name, list) in lists {
        if list.as_array().is_some_and(|items| !items.is_empty()) {
            map.insert(name.into(), list);
        }
    }
    if let Value::Object(sources) = json!(user.sources) {
        map.extend(sources.into_iter().filter(|(_, list)| list.as_array().is_some_and(|items| !items.is_empty())));
    }
    if !user.profile.is_empty() {
        map.insert("profile".into(), Value::Object(user.profile.clone()));
    }
    if let Some(deleted_at) = user.deleted_at {
        map.insert("deletedAt".into(), json!(deleted_at));
    }
    object
}

pub fn user_view(user: &User) -> Value {
    json!({ "userId": user.id, "user": user_json(user) })
}

/// A `UserView` response body with an empty `expanded`.
pub fn user_view_response(user: &User) -> Value {
    let mut body = Map::new();
    body.insert("userView".into(), user_view(user));
    body.insert("expanded".into(), json!([]));
    Value::Object(body)
}
