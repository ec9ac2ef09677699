//! SCIM 2.0 provisioning over HTTP (`/scim/v2`): connection tokens, and Users through create, read, filter,
//! replace, patch, deactivate and delete, as identity providers drive them.

use onramp_core::Core;
use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A new SCIM connection of the server's default tenant acting as `role`, made as `onramp scim-token
/// create` makes it; its token.
pub async fn scim_token(server: &TestServer, role: BuiltinRole) -> String {
    let core = Core::offline(server.store.clone());
    let (_, token) =
        core.create_scim_token_as_system(server.bootstrap.tenant_id, "test-idp", role).await.expect("a SCIM token");
    token.expose().clone()
}

/// One SCIM answer: status, headers and body (`null` when there is none).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Sends a SCIM request as an identity provider does: `application/scim+json`, the bearer token, and any
/// extra headers.
pub async fn scim(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = server.http.request(method, server.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/scim+json").body(body.to_string());
    }
    let response = request.send().await.expect("a SCIM response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("status {status}: not JSON: {text:?}"))
    };
    if !text.is_empty() {
        assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/scim+json"), "{path}");
    }
    Answer { status, headers, body }
}

/// Checks a SCIM error: the status, the error schema, the status as a string, and the `scimType`.
#[track_caller]
pub fn assert_scim_error(case: &str, answer: &Answer, status: u16, scim_type: Option<&str>) {
    assert_eq!(answer.status, status, "{case}: {}", answer.body);
    assert_eq!(answer.body["schemas"], json!([ERROR_SCHEMA]), "{case}: {}", answer.body);
    assert_eq!(answer.body["status"], json!(status.to_string()), "{case}: {}", answer.body);
    assert_eq!(answer.body["scimType"].as_str(), scim_type, "{case}: {}", answer.body);
}

async fn tokens_authenticate_one_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let missing = server.http.get(server.url("/scim/v2/Users")).send().await.expect("a response");
    assert_eq!(missing.status().as_u16(), 401);
    assert!(missing.headers().contains_key("www-authenticate"));
    let missing: Value = missing.json().await.expect("JSON");
    assert_eq!(missing["schemas"], json!([ERROR_SCHEMA]));
    assert_scim_error(
        "wrong token",
        &scim(&server, "not-a-token", "GET", "/scim/v2/Users", None, &[]).await,
        401,
        None,
    );
    // An API access token is not a SCIM token.
    let admin = server.admin_token().await;
    assert_scim_error("access token", &scim(&server, &admin, "GET", "/scim/v2/Users", None, &[]).await, 401, None);

    let listed = scim(&server, &token, "GET", "/scim/v2/Users", None, &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));

    // A read-only connection reads but does not write.
    let reader = scim_token(&server, BuiltinRole::ReadOnlyAdmin).await;
    let user = json!({"schemas": [USER_SCHEMA], "userName": "ro@example.com"});
    let refused = scim(&server, &reader, "POST", "/scim/v2/Users", Some(&user), &[]).await;
    assert_scim_error("read-only create", &refused, 403, None);

    // Another tenant's connection sees none of this tenant's users.
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&user), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let (other, _) = server.other_tenant("elsewhere").await;
    let core = Core::offline(server.store.clone());
    let (_, other_token) =
        core.create_scim_token_as_system(other.tenant_id, "other", BuiltinRole::Admin).await.expect("a token");
    let id = created.body["id"].as_str().expect("an id");
    let foreign = scim(&server, other_token.expose(), "GET", &format!("/scim/v2/Users/{id}"), None, &[]).await;
    assert_scim_error("another tenant's user", &foreign, 404, None);

    // A revoked connection stops at once.
    let tokens = server.store.list_scim_tokens(&server.bootstrap.tenant_id).await.expect("tokens");
    let actor = onramp_store::Actor::system(server.bootstrap.tenant_id);
    for listed in &tokens {
        server.store.revoke_scim_token(&actor, &listed.id).await.expect("revoked");
    }
    let revoked = scim(&server, &token, "GET", "/scim/v2/Users", None, &[]).await;
    assert_scim_error("revoked", &revoked, 401, None);
    // Only the hash is stored, and the use was recorded.
    let stored = server.store.list_scim_tokens(&server.bootstrap.tenant_id).await.expect("tokens");
    assert!(stored.iter().all(|t| t.token_hash != token && t.token_hash.len() == 64));
    assert!(stored.iter().any(|t| t.last_used_at.is_some()));
}
both_backends!(tokens_authenticate_one_tenant);

async fn users_are_created_read_found_replaced_patched_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let admin = server.admin_token().await;
    let manager = server.create_user(&admin, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "Barbara.Jensen@Example.com",
        "externalId": "00u1esetp8jZWzsPm0h7",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "home"}, {"value": "barbara.jensen@example.com", "type": "work", "primary": true}],
        "title": "Tour Guide",
        "active": true,
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": manager}},
    });
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&body), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let user = &created.body;
    let id = user["id"].as_str().expect("an id").to_string();
    assert_eq!(user["userName"], "Barbara.Jensen@Example.com");
    assert_eq!(user["displayName"], "Barbara Jensen", "from the name's parts");
    assert_eq!(user["emails"][0], json!({"value": "barbara.jensen@example.com", "type": "work", "primary": true}));
    assert_eq!(user["emails"].as_array().map(Vec::len), Some(2));
    assert_eq!(user[ENTERPRISE]["manager"]["value"], json!(manager));
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(user["meta"]["resourceType"], "User");
    let location = user["meta"]["location"].as_str().expect("a location");
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")), "{location}");
    assert_eq!(created.header("location"), Some(location));
    let version = user["meta"]["version"].as_str().expect("a version").to_string();
    assert_eq!(created.header("etag"), Some(version.as_str()));
    assert!(version.starts_with("W/\""), "{version}");

    // The search index finds the user at once, with the SCIM origin in its sources.
    let (status, found) = server.post("/api/v1/search/users", &admin, &json!({"query": "Barbara Jensen"})).await;
    assert_eq!(status, 200, "{found}");
    let listed = &found["list"][0]["user"];
    assert_eq!(listed["id"], json!(id), "{found}");
    assert_eq!(listed["origin"], "USER_ORIGIN_DIRECTORY");
    assert_eq!(listed["email"], "barbara.jensen@example.com");
    assert_eq!(listed["managerIds"], json!([manager]));
    assert!(
        listed["usernameSources"][0]["userAttributeMappingId"].as_str().is_some_and(|m| m.starts_with("scim:")),
        "{listed}"
    );

    // Read, and the indexed filters.
    let read = scim(&server, &token, "GET", &format!("/scim/v2/Users/{id}"), None, &[]).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);
    for filter in [
        "userName eq \"barbara.jensen@example.com\"",
        "externalId eq \"00u1esetp8jZWzsPm0h7\"",
        "emails eq \"barbara.jensen@example.com\"",
        "emails eq \"bjensen@example.com\"",
        "emails.value eq \"barbara.jensen@example.com\" and active eq true",
        "displayName co \"Jensen\"",
        "name.familyName sw \"Jen\" or userName eq \"nobody\"",
        "title pr",
    ] {
        let path = format!("/scim/v2/Users?filter={}", urlencode(filter));
        let listed = scim(&server, &token, "GET", &path, None, &[]).await;
        assert_eq!(listed.status, 200, "{filter}: {}", listed.body);
        assert_eq!(listed.body["totalResults"], 1, "{filter}: {}", listed.body);
        assert_eq!(listed.body["Resources"][0]["id"], json!(id), "{filter}");
    }
    let none = scim(
        &server,
        &token,
        "GET",
        &format!("/scim/v2/Users?filter={}", urlencode("userName eq \"x@y.z\"")),
        None,
        &[],
    )
    .await;
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
    let bad = scim(&server, &token, "GET", "/scim/v2/Users?filter=userName%20zz%20%22x%22", None, &[]).await;
    assert_scim_error("bad filter", &bad, 400, Some("invalidFilter"));

    // Uniqueness: the same userName, externalId or email is 409 uniqueness.
    for (case, clash) in [
        (
            "userName",
            json!({"schemas": [USER_SCHEMA], "userName": "barbara.jensen@example.com", "emails": [{"value": "other1@example.com"}]}),
        ),
        (
            "externalId",
            json!({"schemas": [USER_SCHEMA], "userName": "other2@example.com", "externalId": "00u1esetp8jZWzsPm0h7"}),
        ),
        (
            "email",
            json!({"schemas": [USER_SCHEMA], "userName": "other3", "emails": [{"value": "barbara.jensen@example.com"}]}),
        ),
    ] {
        let answer = scim(&server, &token, "POST", "/scim/v2/Users", Some(&clash), &[]).await;
        assert_scim_error(case, &answer, 409, Some("uniqueness"));
    }
    // Bad input names the attribute and changes nothing.
    for (case, bad, attribute) in [
        ("no userName", json!({"schemas": [USER_SCHEMA], "emails": [{"value": "a@example.com"}]}), "userName"),
        (
            "bad email",
            json!({"schemas": [USER_SCHEMA], "userName": "u@example.com", "emails": [{"value": "nope"}]}),
            "emails[0].value",
        ),
        (
            "bad manager",
            json!({"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "m@example.com", ENTERPRISE: {"manager": {"value": "42"}}}),
            "manager",
        ),
        ("wrong schema", json!({"schemas": ["urn:x"], "userName": "s@example.com"}), "schemas"),
    ] {
        let answer = scim(&server, &token, "POST", "/scim/v2/Users", Some(&bad), &[]).await;
        assert_scim_error(case, &answer, 400, Some("invalidValue"));
        assert!(answer.body["detail"].as_str().is_some_and(|d| d.contains(attribute)), "{case}: {}", answer.body);
    }
    let all = scim(&server, &token, "GET", "/scim/v2/Users?filter=userName%20pr", None, &[]).await;
    assert_eq!(all.body["totalResults"], 3, "the bootstrap admin, the manager and Barbara: {}", all.body);

    // PUT replaces: what is absent is cleared; a stale If-Match is 412 and changes nothing.
    let replacement = json!({
        "schemas": [USER_SCHEMA],
        "userName": "barbara.jensen@example.com",
        "externalId": "00u1esetp8jZWzsPm0h7",
        "displayName": "Babs Jensen",
        "emails": [{"value": "barbara.jensen@example.com", "primary": true}],
    });
    let path = format!("/scim/v2/Users/{id}");
    let stale = scim(&server, &token, "PUT", &path, Some(&replacement), &[("If-Match", "W/\"1\"")]).await;
    assert_scim_error("stale If-Match", &stale, 412, None);
    let replaced = scim(&server, &token, "PUT", &path, Some(&replacement), &[("If-Match", &version)]).await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["displayName"], "Babs Jensen");
    assert!(replaced.body.get(ENTERPRISE).is_none(), "the manager and department are cleared: {}", replaced.body);
    assert!(replaced.body.get("title").is_none());
    assert_ne!(replaced.body["meta"]["version"], json!(version));

    // PATCH as Entra ID sends it: capitalised ops, string booleans, a value-filter path.
    let patch = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
        {"op": "Add", "path": "title", "value": "Lead Guide"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]});
    let patched = scim(&server, &token, "PATCH", &path, Some(&patch), &[]).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["title"], "Lead Guide");
    assert_eq!(patched.body["emails"][0]["value"], "babs@example.com");
    let (_, c1) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(c1["userView"]["user"]["status"], "DISABLED", "{c1}");
    assert_eq!(c1["userView"]["user"]["email"], "babs@example.com");
    let bad_patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "jump", "path": "title"}]});
    let refused = scim(&server, &token, "PATCH", &path, Some(&bad_patch), &[]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    // Paging and projection.
    let page = scim(&server, &token, "GET", "/scim/v2/Users?startIndex=2&count=1&attributes=userName", None, &[]).await;
    assert_eq!(page.body["totalResults"], 3, "{}", page.body);
    assert_eq!(page.body["startIndex"], 2);
    assert_eq!(page.body["itemsPerPage"], 1);
    let only = &page.body["Resources"][0];
    assert!(only.get("userName").is_some() && only.get("emails").is_none(), "{only}");

    // DELETE: 204, then 404; the email is free again.
    let deleted = scim(&server, &token, "DELETE", &path, None, &[]).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, Value::Null);
    assert_scim_error("deleted", &scim(&server, &token, "GET", &path, None, &[]).await, 404, None);
    assert_scim_error("deleted twice", &scim(&server, &token, "DELETE", &path, None, &[]).await, 404, None);
    let again = scim(&server, &token, "POST", "/scim/v2/Users", Some(&replacement), &[]).await;
    assert_eq!(again.status, 201, "{}", again.body);
}
both_backends!(users_are_created_read_found_replaced_patched_and_deleted);

/// Usernames are unique only among live directory-origin users (`users_user_name_live`, one index for the
/// rule and for the lookup): local users share one with each other and with a directory user, a second
/// directory user may not take it in any case, deleting the first frees it, and `userName eq` finds every
/// live user holding it.
async fn only_live_directory_users_must_have_distinct_usernames(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin_token().await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let mut holders: Vec<String> = Vec::new();
    for n in 0..2 {
        let local =
            json!({"email": format!("local{n}@example.com"), "displayName": "Local", "usernames": ["Shared.Name"]});
        holders.push(server.create_user(&admin, &local).await);
    }
    let directory = |n: u32, name: &str| {
        let email = format!("dir{n}@example.com");
        json!({"schemas": [USER_SCHEMA], "userName": name, "emails": [{"value": email}]})
    };
    let first = scim(&server, &token, "POST", "/scim/v2/Users", Some(&directory(1, "shared.name")), &[]).await;
    assert_eq!(first.status, 201, "a directory user beside local users of its username: {}", first.body);
    let first_id = first.body["id"].as_str().unwrap().to_string();
    let clash = scim(&server, &token, "POST", "/scim/v2/Users", Some(&directory(2, "SHARED.NAME")), &[]).await;
    assert_scim_error("a second directory user", &clash, 409, Some("uniqueness"));
    assert!(clash.body["detail"].as_str().is_some_and(|d| d.contains("userName")), "{}", clash.body);

    /// The ids of the users `userName eq "shared.NAME"` finds, sorted.
    async fn holders_of_the_name(server: &TestServer, token: &str) -> Vec<String> {
        let path = format!("/scim/v2/Users?filter={}", urlencode("userName eq \"shared.NAME\""));
        let listed = scim(server, token, "GET", &path, None, &[]).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let mut ids: Vec<String> = listed.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
    let mut expected = [holders.clone(), vec![first_id.clone()]].concat();
    expected.sort();
    assert_eq!(holders_of_the_name(&server, &token).await, expected);

    let deleted = scim(&server, &token, "DELETE", &format!("/scim/v2/Users/{first_id}"), None, &[]).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let second = scim(&server, &token, "POST", "/scim/v2/Users", Some(&directory(2, "SHARED.NAME")), &[]).await;
    assert_eq!(second.status, 201, "the username of a deleted directory user is free: {}", second.body);
    let mut expected = [holders, vec![second.body["id"].as_str().unwrap().to_string()]].concat();
    expected.sort();
    assert_eq!(holders_of_the_name(&server, &token).await, expected);
}
both_backends!(only_live_directory_users_must_have_distinct_usernames);

/// A filter as a query parameter value.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn discovery_and_bulk(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    // Discovery answers without a token.
    let config = scim(&server, "", "GET", "/scim/v2/ServiceProviderConfig", None, &[]).await;
    assert_eq!(config.status, 200, "{}", config.body);
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["bulk"]["maxOperations"], 1000);
    assert_eq!(config.body["filter"]["maxResults"], 1000);
    let types = scim(&server, "", "GET", "/scim/v2/ResourceTypes", None, &[]).await;
    assert_eq!(types.body["totalResults"], 2, "{}", types.body);
    assert_eq!(scim(&server, "", "GET", "/scim/v2/ResourceTypes/User", None, &[]).await.body["endpoint"], "/Users");
    let schemas = scim(&server, "", "GET", "/scim/v2/Schemas", None, &[]).await;
    // User, EnterpriseUser, Group, and the schemas of ServiceProviderConfig, ResourceType and Schema
    // (RFC 7643 §8.7.2).
    assert_eq!(schemas.body["totalResults"], 6, "{}", schemas.body);
    let user = scim(&server, "", "GET", &format!("/scim/v2/Schemas/{USER_SCHEMA}"), None, &[]).await;
    assert_eq!(user.body["id"], USER_SCHEMA);
    assert_scim_error(
        "unknown schema",
        &scim(&server, "", "GET", "/scim/v2/Schemas/urn:x", None, &[]).await,
        404,
        None,
    );

    // Bulk: a user made, then referenced by bulkId from a group; a failing operation; failOnErrors.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 2,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"schemas": [USER_SCHEMA], "userName": "alice@example.com"}},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"schemas": [USER_SCHEMA], "userName": "alice@example.com"}},
            {"method": "PATCH", "path": "/Groups/000000000000000000000003", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:qwerty"}]}]}},
            {"method": "PATCH", "path": "/Users/bulkId:qwerty", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
            {"method": "DELETE", "path": "/Users/bulkId:nothing"},
            {"method": "DELETE", "path": "/Users/bulkId:qwerty"},
        ],
    });
    let answer = scim(&server, &token, "POST", "/scim/v2/Bulk", Some(&request), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let operations = answer.body["Operations"].as_array().expect("operations");
    let statuses: Vec<&str> = operations.iter().map(|o| o["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(statuses, ["201", "409", "200", "200", "400"], "stops after the second error: {}", answer.body);
    assert_eq!(operations[0]["bulkId"], "qwerty");
    assert!(operations[0]["location"].as_str().is_some_and(|l| l.contains("/scim/v2/Users/")));
    assert_eq!(operations[1]["response"]["scimType"], "uniqueness");
    let alice = scim(
        &server,
        &token,
        "GET",
        &format!("/scim/v2/Users?filter={}", urlencode("userName eq \"alice@example.com\"")),
        None,
        &[],
    )
    .await;
    assert_eq!(alice.body["Resources"][0]["active"], false, "{}", alice.body);
    // Too many operations, or too large a body: 413, nothing runs.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": {"userName": format!("u{i}@example.com")}}))
        .collect();
    let too_many = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": many});
    assert_scim_error(
        "too many",
        &scim(&server, &token, "POST", "/scim/v2/Bulk", Some(&too_many), &[]).await,
        413,
        None,
    );
    let none = scim(
        &server,
        &token,
        "GET",
        &format!("/scim/v2/Users?filter={}", urlencode("userName eq \"u0@example.com\"")),
        None,
        &[],
    )
    .await;
    assert_eq!(none.body["totalResults"], 0);
    let big = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [], "pad": "x".repeat(1024 * 1024)});
    assert_scim_error("too large", &scim(&server, &token, "POST", "/scim/v2/Bulk", Some(&big), &[]).await, 413, None);
}
both_backends!(discovery_and_bulk);
