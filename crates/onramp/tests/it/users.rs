//! Users over HTTP: create with every field, uniqueness of email, managers and delegates, field masks,
//! enum and id validation, tenant isolation, paging, role-based access, bulk import and the audit trail.

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer, assert_api_error, read};

const USERS: &str = "/api/v1/users";
/// A well-formed id that no row has.
const UNKNOWN_ID: &str = "0123456789abcdef01234567";

/// Checks a 400 InvalidArgument whose message names `field`.
#[track_caller]
fn assert_invalid(case: &str, response: &(u16, Value), field: &str) {
    assert_api_error(case, response, 400, 3);
    let message = response.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{case}: the message must name {field}: {}", response.1);
}

/// The user object of a `UserView` response.
fn user_of(body: &Value) -> &Value {
    &body["userView"]["user"]
}

async fn read_user(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, body) = server.get(&format!("{USERS}/{id}"), token).await;
    assert_eq!(status, 200, "GET user {id}: {body}");
    user_of(&body).clone()
}

/// The emails of every live user the caller's tenant lists.
async fn listed_emails(server: &TestServer, token: &str) -> Vec<String> {
    let pages = server.all_pages(USERS, token, 100).await;
    pages.iter().flatten().map(|view| view["user"]["email"].as_str().unwrap().to_string()).collect()
}

/// One attribute source; `priority` decides its place in the list.
fn source(attribute: &str, priority: i64) -> Value {
    json!({
        "appId": format!("app-{attribute}-{priority}"),
        "appUserId": format!("app-user-{priority}"),
        "appUserProfileAttributeKey": attribute,
        "userAttributeMappingId": format!("mapping-{priority}"),
        "value": format!("{attribute} from priority {priority}"),
        "priority": priority,
    })
}

const SOURCE_LISTS: [&str; 9] = [
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

async fn create_with_every_field_reads_back_equal(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let manager = server.create_user(&token, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    let delegate = server.create_user(&token, &json!({"email": "dep@example.com", "displayName": "Deputy"})).await;
    let directory = "65a1b2c3d4e5f60718293a4b";
    let mut body = json!({
        "email": "Grace.Hopper@Example.COM",
        "emails": ["grace@navy.example"],
        "displayName": "Grace Hopper",
        "status": "DISABLED",
        "directoryStatus": "ENABLED",
        "type": "USER_TYPE_SERVICE",
        "usernames": ["ghopper", "amazing-grace"],
        "employeeIds": ["E-1906", "N-1943"],
        "department": "Research",
        "jobTitle": "Rear Admiral",
        "employmentStatus": "Active",
        "employmentType": "Full time",
        "profile": {"shell": "cobol", "floor": 3, "badges": ["navy"], "nested": {"retired": true}},
        "roleIds": ["basic-user", "000000000000000000000003"],
        "directoryIds": [directory],
        "managerIds": [manager],
        "delegatedUserId": delegate,
    });
    for (i, list) in SOURCE_LISTS.iter().enumerate() {
        // Out of priority order on input: 30, 10, 20 (plus i, so every list differs).
        let p = i as i64;
        body[list] = json!([source(list, 30 + p), source(list, 10 + p), source(list, 20 + p)]);
    }
    let (status, created) = server.post(USERS, &token, &body).await;
    assert_eq!(status, 200, "create: {created}");
    let user = user_of(&created);
    let id = user["id"].as_str().expect("an id");
    assert_eq!(created["userView"]["userId"], id, "userView.userId is the user's id");
    assert_eq!(user["email"], "grace.hopper@example.com", "the primary email is stored lowercased");
    assert_eq!(user["emails"], json!(["grace.hopper@example.com", "grace@navy.example"]), "the primary leads");
    for (field, want) in [
        ("displayName", json!("Grace Hopper")),
        ("status", json!("DISABLED")),
        ("directoryStatus", json!("ENABLED")),
        ("type", json!("USER_TYPE_SERVICE")),
        ("origin", json!("USER_ORIGIN_LOCAL")),
        ("usernames", json!(["ghopper", "amazing-grace"])),
        ("username", json!("ghopper")),
        ("employeeIds", json!(["E-1906", "N-1943"])),
        ("department", json!("Research")),
        ("jobTitle", json!("Rear Admiral")),
        ("employmentStatus", json!("Active")),
        ("employmentType", json!("Full time")),
        ("profile", body["profile"].clone()),
        ("directoryIds", json!([directory])),
        ("managerIds", json!([manager])),
        ("delegatedUserId", json!(delegate)),
    ] {
        assert_eq!(user[field], want, "{field} of {user}");
    }
    let mut roles: Vec<&str> = user["roleIds"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, ["000000000000000000000003", "000000000000000000000005"], "role slugs become ids");
    for (i, list) in SOURCE_LISTS.iter().enumerate() {
        let p = i as i64;
        let want = json!([source(list, 10 + p), source(list, 20 + p), source(list, 30 + p)]);
        assert_eq!(user[list], want, "{list} is returned sorted by priority");
    }
    assert!(user["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')), "createdAt in UTC: {user}");
    assert!(user.get("deletedAt").is_none(), "a live user has no deletedAt: {user}");

    let (status, read) = server.get(&format!("{USERS}/{id}"), &token).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, created, "GET returns exactly what create returned");
    let listed = server.all_pages(USERS, &token, 100).await.concat();
    assert!(listed.contains(&created["userView"]), "the list holds the same view: {listed:?}");
}
both_backends!(create_with_every_field_reads_back_equal);

async fn email_is_unique_among_live_users(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let first = server.create_user(&token, &json!({"email": "ada@example.com", "displayName": "Ada"})).await;
    let again = server.post(USERS, &token, &json!({"email": "ADA@Example.com", "displayName": "Ada 2"})).await;
    assert_api_error("the same email in other case", &again, 409, 6);

    let (status, body) = server.delete(&format!("{USERS}/{first}"), &token).await;
    assert_eq!((status, &body), (200, &json!({})), "delete answers 200 with {{}}");
    let deleted = read_user(&server, &token, &first).await;
    assert_eq!(deleted["status"], "DELETED", "{deleted}");
    assert!(deleted["deletedAt"].as_str().is_some_and(|t| !t.is_empty()), "deletedAt is set: {deleted}");
    assert!(!listed_emails(&server, &token).await.contains(&"ada@example.com".to_string()), "list omits it");
    assert_api_error("delete twice", &server.delete(&format!("{USERS}/{first}"), &token).await, 404, 5);
    let update = json!({"user": {"jobTitle": "Ghost"}});
    assert_api_error("update a deleted user", &server.post(&format!("{USERS}/{first}"), &token, &update).await, 404, 5);

    let second = server.create_user(&token, &json!({"email": "Ada@example.com", "displayName": "Ada again"})).await;
    assert_ne!(second, first, "the reused email belongs to a new user");
    assert_eq!(read_user(&server, &token, &second).await["email"], "ada@example.com");
    assert_eq!(read_user(&server, &token, &first).await["status"], "DELETED", "the old user stays deleted");

    // Taking another live user's email by update is the same conflict, and changes nothing.
    let bob = server.create_user(&token, &json!({"email": "bob@example.com", "displayName": "Bob"})).await;
    let before = read_user(&server, &token, &bob).await;
    let take = json!({"user": {"email": "ADA@example.com"}, "updateMask": "email"});
    assert_api_error("update to a taken email", &server.post(&format!("{USERS}/{bob}"), &token, &take).await, 409, 6);
    assert_eq!(read_user(&server, &token, &bob).await, before, "bob is unchanged");

    // The database, not a read before the write, keeps the email unique: of concurrent creates one wins.
    let bodies = vec![json!({"email": "race@example.com", "displayName": "Race"}); 6];
    let statuses = concurrent_posts(&server, &token, USERS, bodies).await;
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409], "exactly one concurrent create wins");
}
both_backends!(email_is_unique_among_live_users);

/// Sends the same POST `count` times at once, each on its own task, and returns the statuses, sorted.
async fn concurrent_posts(server: &TestServer, token: &str, path: &str, bodies: Vec<Value>) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let request = server.http.post(server.url(path)).bearer_auth(token).json(&body);
        tasks.spawn(async move { read(request.send().await.expect("POST")).await });
    }
    let mut statuses: Vec<u16> = tasks.join_all().await.into_iter().map(|(status, _)| status).collect();
    statuses.sort();
    statuses
}

async fn managers_and_delegates_must_be_live_users_of_the_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, other_token) = server.other_tenant("other").await;
    let stranger = server.create_user(&other_token, &json!({"email": "x@other.example", "displayName": "X"})).await;
    let gone = server.create_user(&token, &json!({"email": "gone@example.com", "displayName": "Gone"})).await;
    assert_eq!(server.delete(&format!("{USERS}/{gone}"), &token).await.0, 200);
    let user = |extra: Value| {
        let mut body = json!({"email": "new@example.com", "displayName": "New"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for (case, extra, field) in [
        ("unknown manager", json!({"managerIds": [UNKNOWN_ID]}), "managerIds"),
        ("unknown delegate", json!({"delegatedUserId": UNKNOWN_ID}), "delegatedUserId"),
        ("manager of another tenant", json!({"managerIds": [stranger]}), "managerIds"),
        ("delegate of another tenant", json!({"delegatedUserId": stranger}), "delegatedUserId"),
        ("deleted manager", json!({"managerIds": [gone]}), "managerIds"),
        ("deleted delegate", json!({"delegatedUserId": gone}), "delegatedUserId"),
        ("malformed manager id", json!({"managerIds": ["nope"]}), "managerIds"),
    ] {
        assert_invalid(case, &server.post(USERS, &token, &user(extra)).await, field);
    }
    assert!(!listed_emails(&server, &token).await.contains(&"new@example.com".to_string()), "nothing stored");

    let me = server.create_user(&token, &json!({"email": "me@example.com", "displayName": "Me"})).await;
    let path = format!("{USERS}/{me}");
    let response = server.post(&path, &token, &json!({"user": {"managerIds": [me]}})).await;
    assert_invalid("own manager", &response, "managerIds");
    let response = server.post(&path, &token, &json!({"user": {"delegatedUserId": me}})).await;
    assert_invalid("own delegate", &response, "delegatedUserId");
    let response = server.post(&path, &token, &json!({"user": {"delegatedUserId": stranger}})).await;
    assert_invalid("delegate of another tenant on update", &response, "delegatedUserId");
    let unchanged = read_user(&server, &token, &me).await;
    assert!(unchanged.get("managerIds").is_none(), "no manager was stored: {unchanged}");
    assert_eq!(unchanged["delegatedUserId"], "", "no delegate was stored: {unchanged}");
}
both_backends!(managers_and_delegates_must_be_live_users_of_the_tenant);

async fn a_manager_loop_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let a = server.create_user(&token, &json!({"email": "a@example.com", "displayName": "A"})).await;
    let b = server.create_user(&token, &json!({"email": "b@example.com", "displayName": "B"})).await;
    let c = server.create_user(&token, &json!({"email": "c@example.com", "displayName": "C"})).await;
    let set_managers = async |id: &str, managers: Value| {
        let body = json!({"user": {"managerIds": managers}, "updateMask": "managerIds"});
        server.post(&format!("{USERS}/{id}"), &token, &body).await
    };
    assert_eq!(set_managers(&a, json!([b])).await.0, 200, "A reports to B");
    let before_b = read_user(&server, &token, &b).await;
    assert_invalid("B reports to A", &set_managers(&b, json!([a])).await, "managerIds");
    assert_eq!(read_user(&server, &token, &b).await, before_b, "B is unchanged");
    assert_eq!(read_user(&server, &token, &a).await["managerIds"], json!([b]), "A still reports to B");

    // A longer loop: C reports to A, so B reporting to C closes B → C → A → B.
    assert_eq!(set_managers(&c, json!([a])).await.0, 200, "C reports to A");
    assert_invalid("B reports to C", &set_managers(&b, json!([c])).await, "managerIds");
    assert_eq!(read_user(&server, &token, &b).await, before_b, "B is unchanged");
}
both_backends!(a_manager_loop_is_refused);

async fn concurrent_updates_cannot_close_a_manager_loop(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for round in 0..5 {
        let a =
            server.create_user(&token, &json!({"email": format!("a{round}@example.com"), "displayName": "A"})).await;
        let b =
            server.create_user(&token, &json!({"email": format!("b{round}@example.com"), "displayName": "B"})).await;
        // A → B and B → A at the same moment: each alone is fine, together they are a loop.
        let mut tasks = tokio::task::JoinSet::new();
        for (id, manager) in [(&a, &b), (&b, &a)] {
            let body = json!({"user": {"managerIds": [manager]}, "updateMask": "managerIds"});
            let request = server.http.post(server.url(&format!("{USERS}/{id}"))).bearer_auth(&token).json(&body);
            tasks.spawn(async move { read(request.send().await.expect("POST")).await });
        }
        let mut statuses: Vec<u16> = tasks.join_all().await.into_iter().map(|(status, _)| status).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}: exactly one of the two edges is stored");
        let a_managers = read_user(&server, &token, &a).await.get("managerIds").cloned();
        let b_managers = read_user(&server, &token, &b).await.get("managerIds").cloned();
        assert!(
            a_managers.is_none() || b_managers.is_none(),
            "round {round}: a loop was stored: {a_managers:?} {b_managers:?}"
        );
    }
}
both_backends!(concurrent_updates_cannot_close_a_manager_loop);

async fn update_changes_only_what_the_mask_names(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let body = json!({"email": "m@example.com", "displayName": "Mask", "jobTitle": "Engineer", "department": "R&D"});
    let id = server.create_user(&token, &body).await;
    let path = format!("{USERS}/{id}");
    let original = read_user(&server, &token, &id).await;
    let changes = json!({"jobTitle": "Manager", "department": "Ops", "displayName": "Changed", "status": "DISABLED"});

    let (status, updated) = server.post(&path, &token, &json!({"user": changes, "updateMask": "jobTitle"})).await;
    assert_eq!(status, 200, "{updated}");
    let user = user_of(&updated);
    assert_eq!(user["jobTitle"], "Manager");
    for field in ["department", "displayName", "status", "email", "createdAt"] {
        assert_eq!(user[field], original[field], "{field} is not in the mask");
    }
    assert!(user["updatedAt"].as_str() > original["updatedAt"].as_str(), "updatedAt moves: {user}");
    assert_eq!(read_user(&server, &token, &id).await, *user, "the update is what a read returns");

    // The object form of the mask takes snake_case paths too.
    let request = json!({"user": changes, "update_mask": {"paths": ["department", "display_name"]}});
    let (status, updated) = server.post(&path, &token, &request).await;
    assert_eq!(status, 200, "{updated}");
    let user = user_of(&updated);
    assert_eq!((&user["department"], &user["displayName"]), (&json!("Ops"), &json!("Changed")), "{user}");
    assert_eq!(user["status"], "ENABLED", "status is not in the mask");

    // A masked path the user object leaves out clears the field.
    let (status, updated) = server.post(&path, &token, &json!({"user": {}, "updateMask": "department"})).await;
    assert_eq!((status, &user_of(&updated)["department"]), (200, &json!("")), "{updated}");

    // Without a mask, the fields present are applied and nothing else.
    let before = read_user(&server, &token, &id).await;
    let (status, updated) = server.post(&path, &token, &json!({"user": {"employmentType": "Contractor"}})).await;
    assert_eq!(status, 200, "{updated}");
    let mut want = before.clone();
    want["employmentType"] = json!("Contractor");
    want["updatedAt"] = user_of(&updated)["updatedAt"].clone();
    assert_eq!(*user_of(&updated), want, "only employmentType changed");

    let before = read_user(&server, &token, &id).await;
    for mask in [json!("jobTitle,password"), json!({"paths": ["id"]}), json!("createdAt")] {
        let response = server.post(&path, &token, &json!({"user": changes, "updateMask": mask})).await;
        assert_invalid(&format!("mask {mask}"), &response, "updateMask");
    }
    assert_eq!(read_user(&server, &token, &id).await, before, "a refused update changes nothing");
}
both_backends!(update_changes_only_what_the_mask_names);

async fn unknown_enum_values_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for (field, value) in [
        ("status", "ACTIVE"),
        ("status", "enabled"),
        ("type", "USER_TYPE_ROBOT"),
        ("directoryStatus", "ON"),
        ("origin", "USER_ORIGIN_MARS"),
        ("status", "DELETED"),
        ("directoryStatus", "DELETED"),
    ] {
        let body = json!({"email": "enum@example.com", "displayName": "Enum", field: value});
        assert_invalid(&format!("create with {field} {value}"), &server.post(USERS, &token, &body).await, field);
    }
    assert!(!listed_emails(&server, &token).await.contains(&"enum@example.com".to_string()), "nothing stored");

    let id = server.create_user(&token, &json!({"email": "enum@example.com", "displayName": "Enum"})).await;
    let before = read_user(&server, &token, &id).await;
    for (field, value) in [("status", "ACTIVE"), ("type", "USER_TYPE_ROBOT"), ("status", "DELETED")] {
        let body = json!({"user": {field: value, "jobTitle": "Changed"}});
        let response = server.post(&format!("{USERS}/{id}"), &token, &body).await;
        assert_invalid(&format!("update with {field} {value}"), &response, field);
    }
    assert_eq!(read_user(&server, &token, &id).await, before, "refused updates change nothing");
}
both_backends!(unknown_enum_values_are_refused);

async fn bad_and_unknown_ids(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let update = json!({"user": {"jobTitle": "x"}});
    for id in ["not-an-id", "0123456789ABCDEF0123456", "0123456789abcdef012345678"] {
        let path = format!("{USERS}/{id}");
        assert_api_error(&format!("GET {id}"), &server.get(&path, &token).await, 400, 3);
        assert_api_error(&format!("update {id}"), &server.post(&path, &token, &update).await, 400, 3);
        assert_api_error(&format!("DELETE {id}"), &server.delete(&path, &token).await, 400, 3);
    }
    let path = format!("{USERS}/{UNKNOWN_ID}");
    assert_api_error("GET unknown", &server.get(&path, &token).await, 404, 5);
    assert_api_error("update unknown", &server.post(&path, &token, &update).await, 404, 5);
    assert_api_error("DELETE unknown", &server.delete(&path, &token).await, 404, 5);
}
both_backends!(bad_and_unknown_ids);

async fn another_tenant_cannot_touch_users(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (_, other_token) = server.other_tenant("other").await;
    let id = server.create_user(&token, &json!({"email": "mine@example.com", "displayName": "Mine"})).await;
    let before = read_user(&server, &token, &id).await;
    let path = format!("{USERS}/{id}");
    assert_api_error("GET", &server.get(&path, &other_token).await, 404, 5);
    let update = json!({"user": {"jobTitle": "Hijacked"}, "updateMask": "jobTitle"});
    assert_api_error("update", &server.post(&path, &other_token, &update).await, 404, 5);
    assert_api_error("DELETE", &server.delete(&path, &other_token).await, 404, 5);
    assert_eq!(read_user(&server, &token, &id).await, before, "the user is untouched");
    assert_eq!(listed_emails(&server, &other_token).await, ["boss@other.example"], "the other tenant sees its own");
    // The same email is free in another tenant.
    server.create_user(&other_token, &json!({"email": "mine@example.com", "displayName": "Theirs"})).await;
}
both_backends!(another_tenant_cannot_touch_users);

async fn managers_keep_the_order_they_were_given_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let first = server.create_user(&token, &json!({"email": "m1@example.com", "displayName": "M1"})).await;
    let second = server.create_user(&token, &json!({"email": "m2@example.com", "displayName": "M2"})).await;
    // Given against id order, so that an order by id would show.
    let body = json!({"email": "report@example.com", "displayName": "Report", "managerIds": [second, first]});
    let report = server.create_user(&token, &body).await;
    assert_eq!(read_user(&server, &token, &report).await["managerIds"], json!([second, first]));
    let listed = server.get(&format!("{USERS}?page_size=100"), &token).await.1;
    let view = listed["list"].as_array().unwrap().iter().find(|v| v["userId"] == json!(report)).cloned().unwrap();
    assert_eq!(view["user"]["managerIds"], json!([second, first]), "the list reads them in the same order");
}
both_backends!(managers_keep_the_order_they_were_given_in);
