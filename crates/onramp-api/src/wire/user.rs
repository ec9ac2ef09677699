//! The `c1.api.user.v1.User` and `UserView` wire forms.

use onramp_domain::user::User;
use serde_json::{Value, json};

pub fn user_json(user: &User) -> Value {
    let mut object = json!({
        "id": user.id,
        "email": user.email.as_str(),
        "emails": [user.email.as_str()],
        "displayName": user.display_name,
        "status": user.status.as_str(),
        "directoryStatus": user.status.as_str(),
        "type": user.user_type.as_str(),
        "origin": user.origin.as_str(),
        "roleIds": user.role_ids,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    });
    if let Some(deleted_at) = user.deleted_at {
        object["deletedAt"] = json!(deleted_at);
    }
    object
}

pub fn user_view(user: &User) -> Value {
    json!({ "userId": user.id, "user": user_json(user) })
}
