//! Users without an email (issue #16): SCIM makes `emails` optional, and identity providers push service
//! accounts and people who have no address yet. Over HTTP on both backends: SCIM create, get, list and
//! filter of such users, two of them side by side, PATCH removing every email (which frees the address),
//! search finding them by name, the ConductorOne API's protojson of them, and the console's pages.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::console::console_admin;
use crate::scim::{PATCH_OP, USER_SCHEMA, scim, scim_token};
use crate::support::{Backend, TestServer};

/// Creates a SCIM user from `body`; its id.
async fn create(server: &TestServer, token: &str, body: &Value) -> String {
    let created = scim(server, token, "POST", "/scim/v2/Users", Some(body), &[]).await;
    assert_eq!(created.status, 201, "{body}: {}", created.body);
    created.body["id"].as_str().expect("an id").to_string()
}

/// The ids of a SCIM list answer.
fn listed_ids(body: &Value) -> Vec<String> {
    body["Resources"].as_array().expect("Resources").iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

async fn users_without_email(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;

    // Two users with no emails (and userNames that are not addresses) live side by side.
    let backup = create(
        &server,
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "svc-backup", "displayName": "Nightly Backup Service"}),
    )
    .await;
    let deploy = create(&server, &token, &json!({"schemas": [USER_SCHEMA], "userName": "svc-deploy"})).await;
    let got = scim(&server, &token, "GET", &format!("/scim/v2/Users/{backup}"), None, &[]).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["userName"], "svc-backup");
    assert!(got.body.get("emails").is_none(), "no emails is an unassigned attribute, left out: {}", got.body);

    let filter = |f: &str| format!("/scim/v2/Users?filter={}", f.replace(' ', "%20").replace('"', "%22"));
    let found = scim(&server, &token, "GET", &filter(r#"userName eq "svc-deploy""#), None, &[]).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(listed_ids(&found.body), std::slice::from_ref(&deploy), "{}", found.body);
    let with_emails = scim(&server, &token, "GET", &filter("emails pr"), None, &[]).await;
    let ids = listed_ids(&with_emails.body);
    assert!(!ids.contains(&backup) && !ids.contains(&deploy), "emails pr leaves them out: {}", with_emails.body);
    let all = scim(&server, &token, "GET", "/scim/v2/Users", None, &[]).await;
    let ids = listed_ids(&all.body);
    assert!(ids.contains(&backup) && ids.contains(&deploy), "the list holds both: {}", all.body);
    // An `emails eq` lookup never finds a user by the empty address.
    let nobody = scim(&server, &token, "GET", &filter(r#"emails eq """#), None, &[]).await;
    assert_eq!(nobody.body["totalResults"], 0, "{}", nobody.body);

    // PATCH removes every email of a user that had one; the address is then free for another user.
    let ada = create(
        &server,
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "ada.l", "displayName": "Ada Lovelace",
                "emails": [{"value": "ada@example.com", "primary": true}]}),
    )
    .await;
    let remove = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "emails"}]});
    let patched = scim(&server, &token, "PATCH", &format!("/scim/v2/Users/{ada}"), Some(&remove), &[]).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(patched.body.get("emails").is_none(), "{}", patched.body);
    let again = scim(&server, &token, "GET", &format!("/scim/v2/Users/{ada}"), None, &[]).await;
    assert!(again.body.get("emails").is_none(), "the removal is stored: {}", again.body);
    create(
        &server,
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "ada.b", "emails": [{"value": "ada@example.com"}]}),
    )
    .await;

    // The ConductorOne API: the user's email is the empty string and `emails` is left out, in protojson.
    let admin = server.admin_token().await;
    let (status, body) = server.get(&format!("/api/v1/users/{ada}"), &admin).await;
    assert_eq!(status, 200, "{body}");
    let user = &body["userView"]["user"];
    assert_eq!(user["email"], "", "{body}");
    assert!(user.get("emails").is_none() && user.get("emailSources").is_none(), "{body}");
    assert_eq!(user["displayName"], "Ada Lovelace");

    // Search finds them by name, and by username, as soon as they are written.
    for (query, id) in [("Nightly Backup", &backup), ("svc-deploy", &deploy), ("Ada Lovelace", &ada)] {
        let (status, body) = server.post("/api/v1/search/users", &admin, &json!({"query": query})).await;
        assert_eq!(status, 200, "{body}");
        let ids: Vec<&str> = body["list"]
            .as_array()
            .map_or(vec![], |l| l.iter().filter_map(|view| view["user"]["id"].as_str()).collect());
        assert!(ids.contains(&id.as_str()), "{query:?} finds {id}: {body}");
    }

    // The console shows that the user has no email, in words a screen reader says; it offers no reset link,
    // and a reset posted anyway is refused, naming the email.
    let browser = console_admin(&server, "boss@example.com", &[BuiltinRole::Admin]).await;
    let page = browser.get(&format!("/console/users/{backup}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(r#"<span class="visually-hidden">no email</span>"#), "{}", page.html);
    assert!(!page.html.contains("reset-password"), "no reset link for a user without email: {}", page.html);
    let list = browser.get("/console/users?q=backup").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains("Nightly Backup Service") && list.html.contains("no email"), "{}", list.html);
    let csrf = page.csrf();
    let reset = browser.post(&format!("/console/users/{backup}/reset-password"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(reset.status, 400, "{}", reset.html);
    assert!(reset.html.contains("no email"), "the refusal says why: {}", reset.html);
    let edit = browser.get(&format!("/console/users/{backup}/edit")).await;
    assert_eq!(edit.status, 200, "{}", edit.html);
}
both_backends!(users_without_email);
