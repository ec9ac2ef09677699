//! The request sequences Okta and Microsoft Entra ID document for SCIM 2.0 provisioning, replayed against
//! onramp: look a user up by userName, create it, read it, update it, deactivate it, and manage group
//! membership, each written as the IdP's documentation shows it (Okta's "SCIM 2.0 protocol" reference,
//! Entra ID's "Tutorial: Develop and plan provisioning for a SCIM endpoint").

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::scim::{ENTERPRISE, PATCH_OP, USER_SCHEMA, scim, scim_token, urlencode};
use crate::support::{Backend, TestServer};

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn filter_path(resource: &str, filter: &str) -> String {
    format!("/scim/v2/{resource}?filter={}", urlencode(filter))
}

async fn okta_provisions_a_user_and_a_group(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    // Okta first checks whether the user exists.
    let path = format!("{}&startIndex=1&count=100", filter_path("Users", "userName eq \"test.user@okta.local\""));
    let lookup = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(lookup.status, 200, "{}", lookup.body);
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(lookup.body["Resources"], json!([]));
    // Then creates it, with a password and a locale onramp does not keep.
    let create = json!({
        "schemas": [USER_SCHEMA],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    });
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&create), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(!created.body.to_string().contains("1mz050nq"), "the password is never answered");
    let id = created.body["id"].as_str().expect("an id").to_string();
    let user_path = format!("/scim/v2/Users/{id}");
    // The lookup now finds it; Okta reads it by id.
    let found = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(scim(&server, &token, "GET", &user_path, None, &[]).await.body["userName"], "test.user@okta.local");
    // Profile updates are a PUT of the whole user.
    let mut update = created.body.clone();
    update["name"]["givenName"] = json!("Another");
    update["displayName"] = json!("Another User");
    let updated = scim(&server, &token, "PUT", &user_path, Some(&update), &[]).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["name"]["givenName"], "Another");
    // Deactivation is a PATCH of active without a path.
    let deactivate = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let deactivated = scim(&server, &token, "PATCH", &user_path, Some(&deactivate), &[]).await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert_eq!(deactivated.body["active"], false);
    // Reactivation.
    let reactivate = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": true}}]});
    assert_eq!(scim(&server, &token, "PATCH", &user_path, Some(&reactivate), &[]).await.body["active"], true);

    // Push Groups: the group is created (bound to the role it names), renamed with its own name, and
    // its members added and removed by PATCH.
    let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "read-only-admin", "members": []});
    let group = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&group), &[]).await;
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = group.body["id"].as_str().expect("a group id").to_string();
    let group_path = format!("/scim/v2/Groups/{group_id}");
    let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": "read-only-admin"}}]});
    assert_eq!(scim(&server, &token, "PATCH", &group_path, Some(&rename), &[]).await.status, 200);
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id, "display": "test.user@okta.local"}]}]});
    let added = scim(&server, &token, "PATCH", &group_path, Some(&add), &[]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["members"][0]["value"], json!(id));
    let admin = server.admin_token().await;
    let (_, c1) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(c1["userView"]["user"]["roleIds"], json!([BuiltinRole::ReadOnlyAdmin.id().to_string()]), "{c1}");
    let remove =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]});
    let removed = scim(&server, &token, "PATCH", &group_path, Some(&remove), &[]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["members"], json!([]));
    let (_, c1) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert!(c1["userView"]["user"].get("roleIds").is_none_or(|roles| roles == &json!([])), "{c1}");
}
both_backends!(okta_provisions_a_user_and_a_group);

async fn entra_provisions_a_user_and_a_group(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let admin = server.admin_token().await;
    let manager =
        server.create_user(&admin, &json!({"email": "manager@contoso.example", "displayName": "Manager"})).await;
    // Entra ID's lookup before a create, then the create with the enterprise extension and a meta.
    let lookup = scim(
        &server,
        &token,
        "GET",
        &filter_path("Users", "userName eq \"Test_User_ab6490ee@contoso.example\""),
        None,
        &[],
    )
    .await;
    assert_eq!(lookup.body["totalResults"], 0, "{}", lookup.body);
    let create = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.example",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.example"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    });
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&create), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["displayName"], "givenName familyName");
    let id = created.body["id"].as_str().expect("an id").to_string();
    let user_path = format!("/scim/v2/Users/{id}");
    // Entra ID matches by externalId too, and by a filter on a non-existent user.
    let by_external = scim(
        &server,
        &token,
        "GET",
        &filter_path("Users", "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\""),
        None,
        &[],
    )
    .await;
    assert_eq!(by_external.body["totalResults"], 1);
    // Update: capitalised ops, a value-filter path and a sub-attribute.
    let update = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@contoso.example"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ]});
    let updated = scim(&server, &token, "PATCH", &user_path, Some(&update), &[]).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["emails"][0]["value"], "updatedemail@contoso.example");
    assert_eq!(updated.body["name"]["familyName"], "updatedFamilyName");
    // The manager, as a bare id on the extension's attribute path.
    let manager_patch = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager},
    ]});
    let managed = scim(&server, &token, "PATCH", &user_path, Some(&manager_patch), &[]).await;
    assert_eq!(managed.status, 200, "{}", managed.body);
    assert_eq!(managed.body[ENTERPRISE]["manager"]["value"], json!(manager));
    // Disable: active as the string "False".
    let disable = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let disabled = scim(&server, &token, "PATCH", &user_path, Some(&disable), &[]).await;
    assert_eq!(disabled.body["active"], false, "{}", disabled.body);
    let (_, c1) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(c1["userView"]["user"]["status"], "DISABLED");

    // Groups: create, find by displayName without members, add and remove members with "value" lists.
    let group = json!({"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "directory-admin", "meta": {"resourceType": "Group"}, "members": [], "schemas": [GROUP_SCHEMA]});
    let group = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&group), &[]).await;
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = group.body["id"].as_str().expect("a group id").to_string();
    let path = format!("{}&excludedAttributes=members", filter_path("Groups", "displayName eq \"directory-admin\""));
    let found = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert_eq!(found.body["Resources"][0]["id"], json!(group_id));
    assert!(found.body["Resources"][0].get("members").is_none(), "{}", found.body);
    let group_path = format!("/scim/v2/Groups/{group_id}");
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}]});
    let added = scim(&server, &token, "PATCH", &group_path, Some(&add), &[]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    let member_filter = filter_path("Groups", &format!("id eq \"{group_id}\" and members[value eq \"{id}\"]"));
    let member = scim(&server, &token, "GET", &format!("{member_filter}&excludedAttributes=members"), None, &[]).await;
    assert_eq!(member.body["totalResults"], 1, "{}", member.body);
    let remove = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": id}]}]});
    let removed = scim(&server, &token, "PATCH", &group_path, Some(&remove), &[]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["members"], json!([]));
    // A group of any other name is the tenant's own (tests/it/scim_groups.rs); a role's group keeps its
    // role's name.
    let other = json!({"schemas": [GROUP_SCHEMA], "displayName": "Marketing"});
    let other = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&other), &[]).await;
    assert_eq!(other.status, 201, "{}", other.body);
    assert_ne!(other.body["id"], json!(group_id));
    let rename =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "displayName", "value": "Marketing"}]});
    let refused = scim(&server, &token, "PATCH", &group_path, Some(&rename), &[]).await;
    assert_eq!((refused.status, refused.body["scimType"].clone()), (400, json!("mutability")), "{}", refused.body);
    // Deprovisioning: DELETE after the disable.
    assert_eq!(scim(&server, &token, "DELETE", &user_path, None, &[]).await.status, 204);
    let (status, _) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(status, 200, "a deleted user is still readable by id through the API, as DELETED");
    let gone: Value = scim(&server, &token, "GET", &user_path, None, &[]).await.body;
    assert_eq!(gone["status"], "404");
}
both_backends!(entra_provisions_a_user_and_a_group);
