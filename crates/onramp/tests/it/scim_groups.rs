//! The tenant's own SCIM groups (`/scim/v2/Groups` with a name no role has), as Okta's "Push groups" and
//! Entra ID's group assignment drive them: create, read, rename, membership by PATCH and PUT, uniqueness,
//! ETags, filters and paging beside the five role-groups, a user's `groups`, a member user's deletion, and
//! the group's deletion.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::console::console_admin;
use crate::scim::{PATCH_OP, USER_SCHEMA, assert_scim_error, scim, scim_token, urlencode};
use crate::support::{Backend, TestServer};

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A user made by SCIM; its id.
async fn scim_user(server: &TestServer, token: &str, user_name: &str) -> String {
    let body =
        json!({"schemas": [USER_SCHEMA], "userName": user_name, "emails": [{"value": user_name, "primary": true}]});
    let created = scim(server, token, "POST", "/scim/v2/Users", Some(&body), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().expect("an id").to_string()
}

fn member_values(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|members| members.iter().map(|member| member["value"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn list_path(filter: &str) -> String {
    format!("/scim/v2/Groups?filter={}", urlencode(filter))
}

async fn groups_are_created_renamed_filled_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let ada = scim_user(&server, &token, "ada@example.com").await;
    let bob = scim_user(&server, &token, "bob@example.com").await;

    // Create: 201 with a new id, a Location and an ETag; the members as sent.
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "externalId": "okta-eng", "members": [{"value": ada}]});
    let created = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&body), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("an id").to_string();
    assert!(BuiltinRole::ALL.iter().all(|role| role.id().to_string() != id), "a group of its own, not a role");
    let path = format!("/scim/v2/Groups/{id}");
    assert_eq!(created.header("location"), Some(server.url(&path).as_str()));
    assert_eq!(created.header("etag"), created.body["meta"]["version"].as_str());
    assert_eq!(created.body["displayName"], "Engineering");
    assert_eq!(created.body["externalId"], "okta-eng");
    assert_eq!(member_values(&created.body), vec![ada.clone()]);
    assert_eq!(created.body["members"][0]["$ref"], json!(server.url(&format!("/scim/v2/Users/{ada}"))));
    assert!(created.body["meta"]["created"].is_string() && created.body["meta"]["lastModified"].is_string());
    let got = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!((got.status, got.body.clone()), (200, created.body.clone()));

    // Uniqueness in the tenant: the name without case, the externalId; a role's name is the role's group.
    let same_name = json!({"schemas": [GROUP_SCHEMA], "displayName": " engineering "});
    let refused = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&same_name), &[]).await;
    assert_scim_error("the same name", &refused, 409, Some("uniqueness"));
    let same_external = json!({"schemas": [GROUP_SCHEMA], "displayName": "Other", "externalId": "okta-eng"});
    let refused = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&same_external), &[]).await;
    assert_scim_error("the same externalId", &refused, 409, Some("uniqueness"));
    let role = json!({"schemas": [GROUP_SCHEMA], "displayName": "Read-Only-Admin"});
    let bound = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&role), &[]).await;
    assert_eq!(bound.status, 201, "{}", bound.body);
    assert_eq!(bound.body["id"], json!(BuiltinRole::ReadOnlyAdmin.id().to_string()));
    // A member that is no user: refused, nothing made.
    let ghost = json!({"schemas": [GROUP_SCHEMA], "displayName": "Ghosts", "members": [{"value": onramp_domain::Id::new().to_string()}]});
    let refused = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&ghost), &[]).await;
    assert_scim_error("a member that is no user", &refused, 400, Some("invalidValue"));
    let ghosts = scim(&server, &token, "GET", &list_path("displayName eq \"Ghosts\""), None, &[]).await;
    assert_eq!(ghosts.body["totalResults"], 0, "{}", ghosts.body);

    // PATCH: add a member (Entra's capitalised op), remove one by a value filter, rename; each a new version.
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": bob}]}]});
    let added = scim(&server, &token, "PATCH", &path, Some(&add), &[]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(sorted(member_values(&added.body)), sorted(vec![ada.clone(), bob.clone()]));
    assert_ne!(added.body["meta"]["version"], created.body["meta"]["version"]);
    assert_ne!(added.body["meta"]["lastModified"], created.body["meta"]["lastModified"]);
    let remove = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{ada}\"]")}]});
    let removed = scim(&server, &token, "PATCH", &path, Some(&remove), &[]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(member_values(&removed.body), vec![bob.clone()]);
    let stale = created.body["meta"]["version"].as_str().expect("a version").to_string();
    let rename =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "REPLACE", "path": "displayName", "value": "Platform"}]});
    let refused = scim(&server, &token, "PATCH", &path, Some(&rename), &[("if-match", &stale)]).await;
    assert_scim_error("a stale If-Match", &refused, 412, None);
    let current = removed.body["meta"]["version"].as_str().expect("a version").to_string();
    let renamed = scim(&server, &token, "PATCH", &path, Some(&rename), &[("if-match", &current)]).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["displayName"], "Platform");
    assert_eq!(member_values(&renamed.body), vec![bob.clone()]);
    let replace =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "members", "value": [{"value": ada}]}]});
    let replaced = scim(&server, &token, "PATCH", &path, Some(&replace), &[]).await;
    assert_eq!(member_values(&replaced.body), vec![ada.clone()], "{}", replaced.body);
    // A rename to a role's name is refused.
    let to_role = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"displayName": "admin"}}]});
    let refused = scim(&server, &token, "PATCH", &path, Some(&to_role), &[]).await;
    assert_scim_error("a role's name", &refused, 409, Some("uniqueness"));

    // PUT: the whole group (no externalId: it goes).
    let put = json!({"schemas": [GROUP_SCHEMA], "displayName": "Platform Engineering", "members": [{"value": ada}, {"value": bob}]});
    let put = scim(&server, &token, "PUT", &path, Some(&put), &[]).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["displayName"], "Platform Engineering");
    assert!(put.body.get("externalId").is_none(), "{}", put.body);
    assert_eq!(sorted(member_values(&put.body)), sorted(vec![ada.clone(), bob.clone()]));
    let bad = json!({"schemas": [GROUP_SCHEMA], "members": []});
    let refused = scim(&server, &token, "PUT", &path, Some(&bad), &[]).await;
    assert_scim_error("PUT without displayName", &refused, 400, Some("invalidValue"));
    let unchanged = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(unchanged.body, put.body, "a refused write changes nothing");

    // A user's groups: its role-groups and the tenant's groups it is in.
    let grant =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": ada}]}]});
    let role_path = format!("/scim/v2/Groups/{}", BuiltinRole::ReadOnlyAdmin.id());
    assert_eq!(scim(&server, &token, "PATCH", &role_path, Some(&grant), &[]).await.status, 200);
    let user = scim(&server, &token, "GET", &format!("/scim/v2/Users/{ada}"), None, &[]).await;
    let groups: Vec<(String, String)> = user.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|group| (group["value"].as_str().unwrap().to_string(), group["display"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        groups,
        vec![
            (BuiltinRole::ReadOnlyAdmin.id().to_string(), "read-only-admin".to_string()),
            (id.clone(), "Platform Engineering".to_string())
        ],
        "{}",
        user.body
    );
    let listed = scim(
        &server,
        &token,
        "GET",
        &format!("/scim/v2/Users?filter={}", urlencode("userName eq \"bob@example.com\"")),
        None,
        &[],
    )
    .await;
    assert_eq!(listed.body["Resources"][0]["groups"][0]["value"], json!(id), "{}", listed.body);
    // The console's user page lists them too.
    let console = console_admin(&server, "root@example.com", &[BuiltinRole::Admin]).await;
    let page = console.get(&format!("/console/users/{ada}")).await;
    assert!(page.html.contains("Platform Engineering"), "{}", page.html);

    // Deleting a member user takes it out of the group, and the group's version moves on.
    let before = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(scim(&server, &token, "DELETE", &format!("/scim/v2/Users/{bob}"), None, &[]).await.status, 204);
    let after = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(member_values(&after.body), vec![ada.clone()], "{}", after.body);
    assert_ne!(after.body["meta"]["version"], before.body["meta"]["version"]);

    // DELETE: 204, then 404 for it and its memberships gone from its member's groups.
    let delete = scim(&server, &token, "DELETE", &path, None, &[("if-match", &stale)]).await;
    assert_scim_error("a stale If-Match", &delete, 412, None);
    assert_eq!(scim(&server, &token, "DELETE", &path, None, &[]).await.status, 204);
    assert_scim_error("deleted", &scim(&server, &token, "GET", &path, None, &[]).await, 404, None);
    assert_scim_error("deleted twice", &scim(&server, &token, "DELETE", &path, None, &[]).await, 404, None);
    let user = scim(&server, &token, "GET", &format!("/scim/v2/Users/{ada}"), None, &[]).await;
    let role = BuiltinRole::ReadOnlyAdmin.id().to_string();
    let location = server.url(&format!("/scim/v2/Groups/{role}"));
    let only_role = json!([{"value": role, "display": "read-only-admin", "type": "direct", "$ref": location}]);
    assert_eq!(user.body["groups"], only_role, "{}", user.body);
    // The name is free again.
    let again = json!({"schemas": [GROUP_SCHEMA], "displayName": "Platform Engineering"});
    assert_eq!(scim(&server, &token, "POST", "/scim/v2/Groups", Some(&again), &[]).await.status, 201);
}
both_backends!(groups_are_created_renamed_filled_and_deleted);

async fn groups_are_found_by_filters_and_paged(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let ada = scim_user(&server, &token, "ada@example.com").await;
    let mut ids = Vec::new();
    let mut stamps = Vec::new();
    for (name, external) in [("Sales", "e-1"), ("Support", "e-2"), ("Marketing", "e-3")] {
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": external, "members": [{"value": ada}]});
        let created = scim(&server, &token, "POST", "/scim/v2/Groups", Some(&body), &[]).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_string());
        stamps.push(created.body["meta"]["lastModified"].as_str().unwrap().to_string());
    }
    let found = |filter: &'static str| {
        let server = &server;
        let token = &token;
        async move {
            let answer = scim(server, token, "GET", &list_path(filter), None, &[]).await;
            assert_eq!(answer.status, 200, "{filter}: {}", answer.body);
            answer.body["Resources"]
                .as_array()
                .expect("Resources")
                .iter()
                .map(|group| group["displayName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("displayName eq \"support\"").await, ["Support"]);
    assert_eq!(found("externalId eq \"e-3\"").await, ["Marketing"]);
    assert_eq!(found("displayName eq \"Sales\" or externalId eq \"e-2\"").await, ["Sales", "Support"]);
    assert_eq!(found("displayName sw \"S\" and externalId eq \"e-2\"").await, ["Support"]);
    assert!(found("displayName eq \"Nobody\"").await.is_empty());
    let by_id = scim(&server, &token, "GET", &list_path(&format!("id eq \"{}\"", ids[1])), None, &[]).await;
    assert_eq!(by_id.body["totalResults"], 1, "{}", by_id.body);
    assert_eq!(by_id.body["Resources"][0]["id"], json!(ids[1]));
    let member = list_path(&format!("members[value eq \"{ada}\"]"));
    assert_eq!(scim(&server, &token, "GET", &member, None, &[]).await.body["totalResults"], 3);
    let since = list_path(&format!("meta.lastModified gt \"{}\"", stamps[0]));
    let later = scim(&server, &token, "GET", &since, None, &[]).await;
    let names: Vec<&str> =
        later.body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Support", "Marketing"], "{}", later.body);

    // Paging over the five role-groups and the three groups, with attributes.
    let page =
        scim(&server, &token, "GET", "/scim/v2/Groups?startIndex=5&count=2&attributes=displayName", None, &[]).await;
    assert_eq!(page.body["totalResults"], 8, "{}", page.body);
    assert_eq!(page.body["startIndex"], 5);
    assert_eq!(page.body["itemsPerPage"], 2);
    let resources = page.body["Resources"].as_array().unwrap();
    assert_eq!((&resources[1]["id"], &resources[1]["displayName"]), (&json!(ids[0]), &json!("Sales")), "{}", page.body);
    assert!(resources.iter().all(|group| group.get("members").is_none()), "{}", page.body);
    // The same query as a SearchRequest in a POST to /Groups/.search; searching every type at once is 501.
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "externalId sw \"e-\"", "attributes": ["displayName"], "startIndex": 2, "count": 5});
    let searched = scim(&server, &token, "POST", "/scim/v2/Groups/.search", Some(&search), &[]).await;
    assert_eq!(searched.status, 200, "{}", searched.body);
    assert_eq!((searched.body["totalResults"].clone(), searched.body["startIndex"].clone()), (json!(3), json!(2)));
    assert_eq!(searched.body["Resources"][0]["displayName"], "Support", "{}", searched.body);
    assert!(searched.body["Resources"][0].get("members").is_none(), "{}", searched.body);
    let all = scim(&server, &token, "POST", "/scim/v2/.search", Some(&search), &[]).await;
    assert_scim_error("POST /.search", &all, 501, None);
    let excluded =
        scim(&server, &token, "GET", &format!("/scim/v2/Groups/{}?excludedAttributes=members", ids[2]), None, &[])
            .await;
    assert!(excluded.body.get("members").is_none() && excluded.body["displayName"] == "Marketing", "{}", excluded.body);
}
both_backends!(groups_are_found_by_filters_and_paged);
