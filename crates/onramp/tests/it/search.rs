//! User search over HTTP: every filter and their combinations, text ranking, expansion, page tokens that
//! refuse tampering, paging while users are inserted and deleted, and freshness (this node at once, other
//! nodes through the change feed, a new node from the database).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::apps::create_app;
use crate::both_backends;
use crate::support::{Backend, Node, TestServer, assert_api_error};

const SEARCH: &str = "/api/v1/search/users";

/// One search; asserts 200 and returns the body.
async fn search(server: &TestServer, token: &str, body: &Value) -> Value {
    let (status, response) = server.post(SEARCH, token, body).await;
    assert_eq!(status, 200, "search {body}: {response}");
    response
}

/// The emails of a search's first page, in order.
async fn emails(server: &TestServer, token: &str, body: &Value) -> Vec<String> {
    let mut body = body.clone();
    body["pageSize"] = json!(100);
    page_emails(&search(server, token, &body).await)
}

fn page_emails(page: &Value) -> Vec<String> {
    page["list"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|view| view["user"]["email"].as_str().expect("an email").to_string())
        .collect()
}

fn set(emails: &[&str]) -> BTreeSet<String> {
    emails.iter().map(|e| e.to_string()).collect()
}

/// The bootstrap admin's email, present in every unfiltered search.
const ADMIN: &str = "admin@example.com";

/// A small directory with every attribute the filters look at. Returns the ids by short name.
struct Directory {
    token: String,
    ada: String,
    bob: String,
    cyd: String,
    dee: String,
    eve: String,
    app: String,
}

async fn directory(server: &TestServer) -> Directory {
    let token = server.admin_token().await;
    let app = create_app(server, &token, "Okta").await;
    let ada = server
        .create_user(
            &token,
            &json!({"email": "ada@example.com", "displayName": "Ada Lovelace", "department": "Engineering",
                    "jobTitle": "Engineer", "roleIds": ["admin"], "origin": "USER_ORIGIN_LOCAL",
                    "usernames": ["countess"]}),
        )
        .await;
    let bob = server
        .create_user(
            &token,
            &json!({"email": "bob@example.com", "displayName": "Bob Stone", "department": "engineering",
                    "jobTitle": "Manager", "managerIds": [ada], "type": "USER_TYPE_SERVICE",
                    "origin": "USER_ORIGIN_DIRECTORY", "directoryIds": [app]}),
        )
        .await;
    let cyd = server
        .create_user(
            &token,
            &json!({"email": "cyd@example.com", "emails": ["cyd@example.com", "Cyd.Alt@Example.org"],
                    "displayName": "Cyd Zoë Ørsted", "department": "Sales", "jobTitle": "Engineer",
                    "managerIds": [ada], "delegatedUserId": bob, "status": "DISABLED",
                    "roleIds": ["read-only-admin"]}),
        )
        .await;
    let dee = server
        .create_user(
            &token,
            &json!({"email": "dee@example.com", "displayName": "Dee Stone", "type": "USER_TYPE_AGENT",
                    "delegatedUserId": bob, "origin": "USER_ORIGIN_SYSTEM"}),
        )
        .await;
    let eve = server.create_user(&token, &json!({"email": "eve@example.com", "displayName": "Eve Gone"})).await;
    assert_eq!(server.delete(&format!("/api/v1/users/{eve}"), &token).await.0, 200);
    Directory { token, ada, bob, cyd, dee, eve, app }
}

async fn every_filter_alone_and_combined(backend: Backend) {
    let server = TestServer::start(backend).await;
    let d = directory(&server).await;
    let t = &d.token;
    let all_live = set(&[ADMIN, "ada@example.com", "bob@example.com", "cyd@example.com", "dee@example.com"]);
    // Users created without an origin are LOCAL, the bootstrap admin is what the server made it: read them.
    let unfiltered = search(&server, t, &json!({"pageSize": 100})).await;
    let with_origin = |origins: &[&str]| -> BTreeSet<String> {
        let views = unfiltered["list"].as_array().unwrap().iter();
        views
            .filter(|v| origins.contains(&v["user"]["origin"].as_str().unwrap()))
            .map(|v| v["user"]["email"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(with_origin(&["USER_ORIGIN_LOCAL"]).contains("cyd@example.com"));
    assert!(with_origin(&["USER_ORIGIN_SYSTEM"]).contains("dee@example.com"));
    let cases: Vec<(Value, BTreeSet<String>)> = vec![
        (json!({}), all_live.clone()),
        (json!({"userStatuses": null, "expandMask": null, "roleIds": null}), all_live.clone()),
        (json!({"email": "CYD.alt@example.ORG"}), set(&["cyd@example.com"])),
        (json!({"email": "nobody@example.com"}), set(&[])),
        (json!({"ids": [d.ada, d.dee]}), set(&["ada@example.com", "dee@example.com"])),
        (json!({"refs": [{"id": d.bob}], "ids": [d.ada]}), set(&["ada@example.com", "bob@example.com"])),
        (json!({"excludeIds": [d.ada, d.bob]}), set(&[ADMIN, "cyd@example.com", "dee@example.com"])),
        (json!({"roleIds": ["000000000000000000000002"]}), set(&["ada@example.com"])),
        (json!({"roleIds": ["admin", "read-only-admin"]}), set(&["ada@example.com", "cyd@example.com"])),
        (json!({"managerIds": [d.ada]}), set(&["bob@example.com", "cyd@example.com"])),
        (json!({"departments": ["ENGINEERING"]}), set(&["ada@example.com", "bob@example.com"])),
        (json!({"jobTitles": ["engineer", "Nobody"]}), set(&["ada@example.com", "cyd@example.com"])),
        (json!({"userStatuses": ["DISABLED"]}), set(&["cyd@example.com"])),
        (json!({"userStatuses": ["DELETED"]}), set(&["eve@example.com"])),
        (
            json!({"userStatuses": ["ENABLED", "DELETED"]}),
            set(&[ADMIN, "ada@example.com", "bob@example.com", "dee@example.com", "eve@example.com"]),
        ),
        (
            json!({"excludeTypes": ["USER_TYPE_SERVICE", "USER_TYPE_AGENT"]}),
            set(&[ADMIN, "ada@example.com", "cyd@example.com"]),
        ),
        (json!({"origins": ["USER_ORIGIN_SYSTEM"]}), with_origin(&["USER_ORIGIN_SYSTEM"])),
        (json!({"origins": ["USER_ORIGIN_LOCAL"]}), with_origin(&["USER_ORIGIN_LOCAL"])),
        (
            json!({"excludeOrigins": ["USER_ORIGIN_LOCAL", "USER_ORIGIN_SYSTEM"]}),
            &all_live - &with_origin(&["USER_ORIGIN_LOCAL", "USER_ORIGIN_SYSTEM"]),
        ),
        (json!({"sourceAppIds": [d.app]}), set(&["bob@example.com"])),
        // origins and sourceAppIds together: either holds.
        (
            json!({"sourceAppIds": [d.app], "origins": ["USER_ORIGIN_LOCAL"]}),
            &with_origin(&["USER_ORIGIN_LOCAL"]) | &set(&["bob@example.com"]),
        ),
        (json!({"delegatedUserIds": [d.bob]}), set(&["cyd@example.com", "dee@example.com"])),
        (json!({"delegateStatus": "DELEGATE_STATUS_HAS_DELEGATE"}), set(&["cyd@example.com", "dee@example.com"])),
        (json!({"delegateStatus": "DELEGATE_STATUS_NO_DELEGATE"}), set(&[ADMIN, "ada@example.com", "bob@example.com"])),
        (json!({"isDelegate": true}), set(&["bob@example.com"])),
        (json!({"isDelegate": false}), all_live.clone()),
        // Combinations: every given filter must hold.
        (json!({"departments": ["engineering"], "jobTitles": ["Engineer"]}), set(&["ada@example.com"])),
        (
            json!({"managerIds": [d.ada], "userStatuses": ["ENABLED", "DISABLED"], "excludeIds": [d.bob]}),
            set(&["cyd@example.com"]),
        ),
        (json!({"query": "stone", "excludeTypes": ["USER_TYPE_AGENT"]}), set(&["bob@example.com"])),
        (json!({"query": "stone", "isDelegate": true, "departments": ["Engineering"]}), set(&["bob@example.com"])),
        (json!({"query": "stone", "ids": [d.ada]}), set(&[])),
    ];
    for (body, want) in cases {
        let got: BTreeSet<String> = emails(&server, t, &body).await.into_iter().collect();
        assert_eq!(got, want, "search {body}");
    }
    // Without a query, results are in id order.
    let page = search(&server, t, &json!({"pageSize": 100})).await;
    let ids: Vec<&str> = page["list"].as_array().unwrap().iter().map(|v| v["userId"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "id order without a query");
    let _ = (&d.cyd, &d.eve);
}
both_backends!(every_filter_alone_and_combined);

async fn text_matches_rank_exact_prefix_substring_typo(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let people = [
        ("typo@example.com", "Ana Ruiz"),
        ("substring@example.com", "Joanna Ng"),
        ("prefix@example.com", "Annabel Ray"),
        ("exact2@example.com", "Anna Lee"),
        ("exact1@example.com", "ANNA Berg"),
        ("unrelated@example.com", "Bob Ray"),
        ("accent@example.com", "Zoë Ångström"),
        ("email-only@anna-corp.example", "Someone Else"),
    ];
    let mut ids = std::collections::HashMap::new();
    for (email, name) in people {
        ids.insert(email, server.create_user(&token, &json!({"email": email, "displayName": name})).await);
    }
    // Exact words first (ties by id: created in this order, so exact2 before exact1), then prefixes,
    // then substrings, then one-typo words.
    let mut exact = vec!["exact2@example.com", "exact1@example.com"];
    exact.sort_by_key(|email| ids[email].clone());
    let mut want: Vec<&str> = exact;
    // `anna` is a whole word of the email `email-only@anna-corp.example`: exact too.
    want.push("email-only@anna-corp.example");
    want.sort_by_key(|email| ids[email].clone());
    want.extend(["prefix@example.com", "substring@example.com", "typo@example.com"]);
    assert_eq!(emails(&server, &token, &json!({"query": "anna"})).await, want);
    assert_eq!(emails(&server, &token, &json!({"query": "  ANNA "})).await, want, "case and spaces do not matter");

    // Case- and accent-insensitive, both ways, on names and emails.
    for query in ["zoe", "ZOË", "angstrom", "Ångström", "zoe ang"] {
        assert_eq!(emails(&server, &token, &json!({"query": query})).await, ["accent@example.com"], "{query}");
    }
    // Substrings from two characters; one character is refused, naming the field.
    assert_eq!(
        emails(&server, &token, &json!({"query": "ng"})).await,
        ["substring@example.com", "accent@example.com"],
        "the word Ng first, then the substring of Ångström"
    );
    // Punctuation separates words: `ruiz@` is the word `ruiz`.
    assert_eq!(emails(&server, &token, &json!({"query": "ruiz@"})).await, ["typo@example.com"]);
    let refused = server.post(SEARCH, &token, &json!({"query": "a"})).await;
    assert_api_error("one-character query", &refused, 400, 3);
    assert!(refused.1.to_string().contains("query"), "the error names the field: {}", refused.1);
    // One typo (words of 4+ characters): substitution, deletion, insertion, transposition.
    server.create_user(&token, &json!({"email": "ada@example.com", "displayName": "Ada Lovelace"})).await;
    for query in ["lovelake", "lovlace", "loveelace", "lovelcae", "LOVELACE"] {
        let found = emails(&server, &token, &json!({"query": query})).await;
        assert!(found.contains(&"ada@example.com".to_string()), "{query}: {found:?}");
    }
    // Two typos, and a typo in a word shorter than 4 characters, do not match.
    assert!(!emails(&server, &token, &json!({"query": "lovelkae"})).await.contains(&"ada@example.com".to_string()));
    assert!(emails(&server, &token, &json!({"query": "bxb"})).await.is_empty());
}
both_backends!(text_matches_rank_exact_prefix_substring_typo);

async fn expansion_lists_each_object_once_and_points_at_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let d = directory(&server).await;
    let t = &d.token;
    let body = json!({"query": "stone", "expandMask": {"paths": ["*"]}, "userStatuses": ["ENABLED", "DISABLED"]});
    let page = search(&server, t, &body).await;
    let expanded = page["expanded"].as_array().expect("expanded");
    let views = page["list"].as_array().unwrap();
    let at = |path: &Value| -> Vec<Value> {
        let path = path.as_str().expect("a path");
        let inner = path.strip_prefix("$.expanded[").and_then(|p| p.strip_suffix(']')).expect(path);
        inner.split(',').map(|n| expanded[n.parse::<usize>().unwrap()].clone()).collect()
    };
    let bob = views.iter().find(|v| v["userId"] == json!(d.bob)).expect("bob");
    let dee = views.iter().find(|v| v["userId"] == json!(d.dee)).expect("dee");
    let managers = at(&bob["managersPath"]);
    assert_eq!(managers.len(), 1);
    assert_eq!(managers[0]["@type"], "type.googleapis.com/c1.api.user.v1.User");
    assert_eq!(managers[0]["id"], json!(d.ada));
    let directories = at(&bob["directoriesPath"]);
    assert_eq!(
        (&directories[0]["@type"], &directories[0]["id"]),
        (&json!("type.googleapis.com/c1.api.app.v1.App"), &json!(d.app))
    );
    assert!(bob.get("delegatedUserPath").is_none(), "bob has no delegate: {bob}");
    assert!(bob.get("rolesPath").is_none(), "bob has no roles: {bob}");
    let delegate = at(&dee["delegatedUserPath"]);
    assert_eq!(delegate[0]["id"], json!(d.bob));
    // Each object once per page.
    let keys: Vec<(String, String)> = expanded.iter().map(|o| (o["@type"].to_string(), o["id"].to_string())).collect();
    assert_eq!(keys.len(), keys.iter().collect::<HashSet<_>>().len(), "no object twice: {keys:?}");

    // Roles, and a user with several managers' worth of references sharing objects with others.
    let page = search(&server, t, &json!({"ids": [d.ada, d.cyd], "expandMask": {"paths": ["role_ids", "manager_ids"]}, "userStatuses": ["ENABLED", "DISABLED"]})).await;
    let expanded = page["expanded"].as_array().unwrap().clone();
    for view in page["list"].as_array().unwrap() {
        let role = &expanded[view["rolesPath"].as_str().unwrap()["$.expanded[".len()..]
            .trim_end_matches(']')
            .parse::<usize>()
            .unwrap()];
        assert_eq!(role["@type"], "type.googleapis.com/c1.api.iam.v1.Role");
        assert_eq!(Some(role["id"].clone()), view["user"]["roleIds"].get(0).cloned());
        assert!(view.get("directoriesPath").is_none(), "directory_ids was not asked for");
    }
    // No mask, no expansion.
    let plain = search(&server, t, &json!({"query": "stone"})).await;
    assert_eq!(plain["expanded"], json!([]));
    assert!(plain["list"][0].get("managersPath").is_none());
    // An unknown path is refused, naming it.
    let refused = server.post(SEARCH, t, &json!({"expandMask": {"paths": ["secrets"]}})).await;
    assert_api_error("unknown expand path", &refused, 400, 3);
}
both_backends!(expansion_lists_each_object_once_and_points_at_it);

async fn bad_input_names_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let cases = [
        (json!({"userStatuses": ["ENABLED", "ASLEEP"]}), "userStatuses[1]"),
        (json!({"excludeTypes": ["USER_TYPE_ROBOT"]}), "excludeTypes[0]"),
        (json!({"origins": ["nowhere"]}), "origins[0]"),
        // protojson reads an enum by number too (1 is USER_ORIGIN_DIRECTORY); 7 is none.
        (json!({"excludeOrigins": [7]}), "excludeOrigins[0]"),
        (json!({"roleIds": ["emperor"]}), "roleIds[0]"),
        (json!({"managerIds": ["not-an-id"]}), "managerIds[0]"),
        (json!({"refs": [{"id": "xyz"}]}), "refs[0].id"),
        (json!({"delegateStatus": "SOMETIMES"}), "delegateStatus"),
        (json!({"pageSize": "many"}), "pageSize"),
        (json!({"query": "x"}), "query"),
        (json!({"pageToken": "bm90IGEgdG9rZW4"}), "pageToken"),
    ];
    for (body, field) in cases {
        let refused = server.post(SEARCH, &token, &body).await;
        assert_api_error(&body.to_string(), &refused, 400, 3);
        assert!(refused.1.to_string().contains(field), "{body}: the error names {field}: {}", refused.1);
    }
    let basic = server.credential_with_roles("basic@example.com", &[onramp_domain::BuiltinRole::BasicUser]).await.1;
    // A basic user may read only itself, so not search the directory.
    assert_api_error("basic user", &server.post(SEARCH, &basic, &json!({})).await, 403, 7);
    assert_api_error("no token", &server.post(SEARCH, "not-a-token", &json!({})).await, 401, 16);
}
both_backends!(bad_input_names_the_field);

/// The text and the lists a search takes have documented limits: 1,000 characters of `query`, 256 per
/// free-text filter value (`email`, `departments`, `jobTitles`), 1,000 values per list. At the limit a
/// search runs; past it, it is 400 naming the field.
async fn search_input_is_bounded(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let ids = |count: usize| json!(vec!["000000000000000000000001"; count]);
    let at_limit = [
        json!({"query": "a".repeat(1000)}),
        json!({"query": "é".repeat(1000)}),
        json!({"email": format!("{}@example.com", "a".repeat(244))}),
        json!({"departments": ["d".repeat(256)], "jobTitles": ["j".repeat(256)]}),
        json!({"ids": ids(1000), "excludeIds": ids(1000), "managerIds": ids(1000)}),
        json!({"departments": vec!["d"; 1000]}),
    ];
    for body in at_limit {
        let (status, response) = server.post(SEARCH, &token, &body).await;
        assert_eq!(status, 200, "{}: {response}", &body.to_string()[..60]);
    }
    let cases = [
        (json!({"query": "a".repeat(1001)}), "query"),
        (json!({"query": "ada lovelace ".repeat(150_000)}), "query"),
        (json!({"email": format!("{}@example.com", "a".repeat(245))}), "email"),
        (json!({"departments": ["ok", "d".repeat(257)]}), "departments[1]"),
        (json!({"jobTitles": ["j".repeat(257)]}), "jobTitles[0]"),
        (json!({"departments": vec!["d"; 1001]}), "departments"),
        (json!({"ids": ids(1001)}), "ids"),
        (json!({"refs": vec![json!({"id": "000000000000000000000001"}); 1001]}), "ids"),
        (json!({"managerIds": ids(1001)}), "managerIds"),
        (json!({"userStatuses": vec!["ENABLED"; 1001]}), "userStatuses"),
    ];
    for (body, field) in cases {
        let refused = server.post(SEARCH, &token, &body).await;
        let case = format!("{field}: {}", &body.to_string()[..60]);
        assert_api_error(&case, &refused, 400, 3);
        let message = refused.1["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("invalid {field}: ")), "{case}: the error names {field}: {message}");
    }
}
both_backends!(search_input_is_bounded);

/// Walks every page of a search, returning the pages' user ids.
async fn walk(server: &TestServer, token: &str, body: &Value) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut body = body.clone();
    loop {
        let page = search(server, token, &body).await;
        pages
            .push(page["list"].as_array().unwrap().iter().map(|v| v["userId"].as_str().unwrap().to_string()).collect());
        let next = page["nextPageToken"].as_str().unwrap_or_default();
        if next.is_empty() {
            return pages;
        }
        body["pageToken"] = json!(next);
        assert!(pages.len() < 1000, "the walk never ended");
    }
}

async fn page_tokens_are_bound_to_their_query_and_refuse_tampering(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let rows: Vec<Value> = (0..25)
        .map(|i| json!({"email": format!("walker{i:02}@example.com"), "displayName": format!("Walker {i}")}))
        .collect();
    assert_eq!(server.post("/api/v1/users/import", &token, &json!({"users": rows})).await.0, 200);
    let body = json!({"query": "walker", "pageSize": 10});
    let pages = walk(&server, &token, &body).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5], "page size 10 over 25 users");
    let all: Vec<&String> = pages.iter().flatten().collect();
    assert_eq!(all.len(), all.iter().collect::<HashSet<_>>().len(), "no user twice");
    // Page sizes follow the ConductorOne rules.
    for (asked, got) in [(0, 25), (3, 10), (12, 12), (500, 26)] {
        let page = search(&server, &token, &json!({"pageSize": asked})).await;
        assert_eq!(page["list"].as_array().unwrap().len(), got, "pageSize {asked}");
    }

    let first = search(&server, &token, &body).await;
    let good = first["nextPageToken"].as_str().unwrap().to_string();
    let bytes = URL_SAFE_NO_PAD.decode(&good).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    let mut forged_key = bytes.clone();
    forged_key[18] ^= 0x40;
    let tampered = [
        ("flipped bit", URL_SAFE_NO_PAD.encode(&flipped)),
        ("forged key", URL_SAFE_NO_PAD.encode(&forged_key)),
        ("truncated", good[..good.len() - 3].to_string()),
        ("padded", format!("{good}==")),
        ("standard base64", base64::engine::general_purpose::STANDARD.encode(&bytes)),
        ("appended", format!("{good}AA")),
        ("garbage", "!!!".to_string()),
    ];
    for (case, bad) in tampered {
        if bad == good {
            continue;
        }
        let refused = server.post(SEARCH, &token, &json!({"query": "walker", "pageSize": 10, "pageToken": bad})).await;
        assert_api_error(case, &refused, 400, 3);
        assert!(refused.1["message"].as_str().unwrap().contains("pageToken"), "{case}: {}", refused.1);
    }
    // Another query's token, and another tenant's, are refused too.
    for other in [json!({"query": "walkers", "pageSize": 10}), json!({"query": "walker", "departments": ["x"]})] {
        let mut other = other.clone();
        other["pageToken"] = json!(good);
        assert_api_error("another query", &server.post(SEARCH, &token, &other).await, 400, 3);
    }
    let (_, other_token) = server.other_tenant("elsewhere").await;
    let mut foreign = body.clone();
    foreign["pageToken"] = json!(good);
    assert_api_error("another tenant", &server.post(SEARCH, &other_token, &foreign).await, 400, 3);
    // The page size may change between pages; the query may not.
    let mut resized = body.clone();
    resized["pageToken"] = json!(good);
    resized["pageSize"] = json!(20);
    assert_eq!(search(&server, &token, &resized).await["list"].as_array().unwrap().len(), 15);
}
both_backends!(page_tokens_are_bound_to_their_query_and_refuse_tampering);

async fn paging_while_users_come_and_go_never_repeats_or_skips(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let rows: Vec<Value> = (0..60)
        .map(|i| json!({"email": format!("steady{i:02}@example.com"), "displayName": format!("Pager Steady {i}")}))
        .collect();
    let imported = server.post("/api/v1/users/import", &token, &json!({"users": rows})).await.1;
    let steady: Vec<String> =
        imported["userIds"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect();
    // Some users that will be deleted during the walk.
    let mut doomed = Vec::new();
    for i in 0..12 {
        let body = json!({"email": format!("doomed{i}@example.com"), "displayName": format!("Pager Doomed {i}")});
        doomed.push(server.create_user(&token, &body).await);
    }
    let queries =
        [json!({"query": "pager", "pageSize": 10}), json!({"query": "pagr", "pageSize": 10}), json!({"pageSize": 10})];
    for (walk, query) in queries.iter().enumerate() {
        let mut body = query.clone();
        let mut seen: Vec<String> = Vec::new();
        let mut round = 0;
        loop {
            let page = search(&server, &token, &body).await;
            seen.extend(page["list"].as_array().unwrap().iter().map(|v| v["userId"].as_str().unwrap().to_string()));
            // Between pages: new matching users appear (some sorting before, some after the cursor) and
            // doomed ones go.
            let body_new = json!({"email": format!("new{walk}-{round}@example.com"), "displayName": "Pager New"});
            server.create_user(&token, &body_new).await;
            if let Some(id) = doomed.pop() {
                assert_eq!(server.delete(&format!("/api/v1/users/{id}"), &token).await.0, 200);
            }
            round += 1;
            let next = page["nextPageToken"].as_str().unwrap_or_default().to_string();
            if next.is_empty() {
                break;
            }
            body["pageToken"] = json!(next);
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{query}: a user came twice");
        for id in &steady {
            assert!(unique.contains(id), "{query}: steady user {id} was skipped");
        }
    }
}
both_backends!(paging_while_users_come_and_go_never_repeats_or_skips);

async fn writes_show_in_the_next_search_here_and_soon_on_other_nodes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let id = server.create_user(&token, &json!({"email": "fresh@example.com", "displayName": "Freshly Made"})).await;
    assert_eq!(emails(&server, &token, &json!({"query": "freshly"})).await, ["fresh@example.com"]);

    let update = json!({"user": {"displayName": "Renamed Person"}, "updateMask": "displayName"});
    assert_eq!(server.post(&format!("/api/v1/users/{id}"), &token, &update).await.0, 200);
    assert!(emails(&server, &token, &json!({"query": "freshly"})).await.is_empty(), "the old name is gone");
    assert_eq!(emails(&server, &token, &json!({"query": "renamed"})).await, ["fresh@example.com"]);
    // The user itself is the new version too, not a view remembered from the first search.
    let page = search(&server, &token, &json!({"ids": [id]})).await;
    assert_eq!(page["list"][0]["user"]["displayName"], "Renamed Person", "{page}");

    assert_eq!(server.delete(&format!("/api/v1/users/{id}"), &token).await.0, 200);
    assert!(emails(&server, &token, &json!({"query": "renamed"})).await.is_empty(), "deleted users are not live");
    assert_eq!(
        emails(&server, &token, &json!({"query": "renamed", "userStatuses": ["DELETED"]})).await,
        ["fresh@example.com"]
    );

    // A second node on the same database: it loads the index from the database at start, and sees the
    // first node's writes through the change feed.
    let node = Node::start(&server.database, Some(server.base_url.clone())).await;
    let on_node = |body: Value| {
        let request = node.http.post(format!("{}{SEARCH}", node.base_url)).bearer_auth(&token).json(&body);
        async move { page_emails(&crate::support::read(request.send().await.expect("POST")).await.1) }
    };
    assert_eq!(on_node(json!({"query": "renamed", "userStatuses": ["DELETED"]})).await, ["fresh@example.com"]);
    server.create_user(&token, &json!({"email": "later@example.com", "displayName": "Arrived Later"})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if on_node(json!({"query": "arrived"})).await == ["later@example.com"] {
            break;
        }
        assert!(Instant::now() < deadline, "the other node never saw the write");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A write made straight to the database (as `onramp import users` does) reaches the serving node too.
    let tenant_id: onramp_domain::Id =
        server.get("/api/v1/auth/introspect", &token).await.1["tenantId"].as_str().unwrap().parse().unwrap();
    let email = onramp_domain::Email::parse("direct@example.com").unwrap();
    let user = onramp_domain::user::User::new(tenant_id, email, "Straight Write", onramp_domain::Timestamp::now());
    server.store.create_user(&onramp_store::Actor::system(tenant_id), &user).await.expect("stored");
    let deadline = Instant::now() + Duration::from_secs(5);
    while emails(&server, &token, &json!({"query": "straight"})).await != ["direct@example.com"] {
        assert!(Instant::now() < deadline, "the serving node never saw the direct write");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
both_backends!(writes_show_in_the_next_search_here_and_soon_on_other_nodes);

async fn tenants_never_see_each_other(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    server.create_user(&token, &json!({"email": "mine@example.com", "displayName": "Private Person"})).await;
    let (_, other) = server.other_tenant("rival").await;
    assert!(emails(&server, &other, &json!({"query": "private"})).await.is_empty());
    assert_eq!(emails(&server, &other, &json!({})).await, ["boss@rival.example"]);
    assert!(emails(&server, &other, &json!({"email": "mine@example.com"})).await.is_empty());
}
both_backends!(tenants_never_see_each_other);
