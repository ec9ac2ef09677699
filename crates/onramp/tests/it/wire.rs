//! The wire as a protojson client meets it (issue #12, "The wire"): proto field names beside JSON names,
//! keep-alive connections that survive early answers, `users/introspect` expansion, query parameters in the
//! API's error shape under both names, `WWW-Authenticate` challenges, and protojson's leniency on input.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::invite;
use crate::onboards::api_key;
use crate::support::{Backend, TestServer, assert_api_error, read};

const SEARCH: &str = "/api/v1/search/users";
const BASIC_USER_ROLE: &str = "000000000000000000000005";
const ROLE_TYPE: &str = "type.googleapis.com/c1.api.iam.v1.Role";

/// The ids of a search's users, in order.
fn ids_of(body: &Value) -> Vec<String> {
    body["list"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|view| view["user"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// `POST /api/v1/search/users` that must answer 200; returns the body.
async fn search(server: &TestServer, token: &str, body: Value) -> Value {
    let (status, response) = server.post(SEARCH, token, &body).await;
    assert_eq!(status, 200, "search {body}: {response}");
    response
}

/// The `fieldViolations[0].field` of a 400.
fn violated_field(body: &Value) -> &str {
    body["details"][0]["fieldViolations"][0]["field"].as_str().unwrap_or_default()
}

/// Three users to filter: Ada (a basic user, engineer, with Bo as manager), Bo (disabled), Cy.
async fn three_users(server: &TestServer, token: &str) -> (String, String, String) {
    let bo =
        server.create_user(token, &json!({"email": "bo@example.com", "displayName": "Bo", "status": "DISABLED"})).await;
    let ada = server
        .create_user(
            token,
            &json!({"email": "ada@example.com", "displayName": "Ada", "roleIds": [BASIC_USER_ROLE],
                    "jobTitle": "Engineer", "managerIds": [bo]}),
        )
        .await;
    let cy = server.create_user(token, &json!({"email": "cy@example.com", "displayName": "Cy"})).await;
    (ada, bo, cy)
}

/// Item 1: every field of every request message is read under its proto name as under its JSON name, at
/// every level; both names at once are refused naming the field; `/onboards` stays snake_case.
async fn proto_field_names_are_json_names(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (ada, bo, cy) = three_users(&server, &token).await;

    let pairs = [
        (json!({"roleIds": [BASIC_USER_ROLE]}), json!({"role_ids": [BASIC_USER_ROLE]})),
        (json!({"jobTitles": ["Engineer"]}), json!({"job_titles": ["Engineer"]})),
        (json!({"managerIds": [bo]}), json!({"manager_ids": [bo]})),
        (json!({"userStatuses": ["DISABLED"]}), json!({"user_statuses": ["DISABLED"]})),
        (json!({"excludeIds": [ada, bo]}), json!({"exclude_ids": [ada, bo]})),
        (json!({"excludeTypes": ["USER_TYPE_HUMAN"]}), json!({"exclude_types": ["USER_TYPE_HUMAN"]})),
    ];
    let everyone = ids_of(&search(&server, &token, json!({})).await);
    assert_eq!(everyone.len(), 4, "the bootstrap admin and three users: {everyone:?}");
    for (json_name, proto_name) in pairs {
        let by_json = ids_of(&search(&server, &token, json_name.clone()).await);
        let by_proto = ids_of(&search(&server, &token, proto_name.clone()).await);
        assert!(by_json.len() < everyone.len(), "{json_name} filters: {by_json:?}");
        assert_eq!(by_proto, by_json, "{proto_name} filters as {json_name}");
    }
    assert!(!ids_of(&search(&server, &token, json!({"exclude_ids": [cy]})).await).contains(&cy));

    // page_size and page_token, and a nested message: expand_mask.
    let first = search(&server, &token, json!({"page_size": 10})).await;
    assert_eq!(ids_of(&first).len(), 4);
    let expanded = search(&server, &token, json!({"ids": [ada], "expand_mask": {"paths": ["role_ids"]}})).await;
    assert_eq!(expanded["expanded"][0]["@type"], ROLE_TYPE, "expand_mask is read: {expanded}");
    assert_eq!(expanded["list"][0]["rolesPath"], "$.expanded[0]");

    // Other routes: a user created and updated by proto names.
    let (status, created) = server
        .post(
            "/api/v1/users",
            &token,
            &json!({"email": "di@example.com", "display_name": "Di", "job_title": "Chemist", "role_ids": [BASIC_USER_ROLE]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let user = &created["userView"]["user"];
    assert_eq!((user["displayName"].as_str(), user["jobTitle"].as_str()), (Some("Di"), Some("Chemist")));
    assert_eq!(user["roleIds"], json!([BASIC_USER_ROLE]));
    let di = user["id"].as_str().unwrap();
    let (status, updated) = server
        .post(
            &format!("/api/v1/users/{di}"),
            &token,
            &json!({"user": {"job_title": "Alchemist", "display_name": "Dee"}, "update_mask": "jobTitle"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let user = &updated["userView"]["user"];
    assert_eq!((user["displayName"].as_str(), user["jobTitle"].as_str()), (Some("Di"), Some("Alchemist")));
    // An app by proto names, and a directory.
    let (status, app) =
        server.post("/api/v1/apps", &token, &json!({"display_name": "Ledger", "monthly_cost_usd": 12})).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!((app["app"]["displayName"].as_str(), app["app"]["monthlyCostUsd"].as_i64()), (Some("Ledger"), Some(12)));

    // A flow, whose steps are read around the adapter (flattened kinds), by proto names too.
    let flow = json!({"display_name": "Proto", "steps": [
        {"key": "terms", "accept_terms": {"text": "Be kind."}},
        {"key": "roles", "required": false, "assign_roles": {"role_ids": [BASIC_USER_ROLE]}},
        {"key": "boss", "manager_approval": {"approver_user_id": bo}},
    ]});
    let (status, created) = server.post("/api/v1/onboarding-flows", &token, &flow).await;
    assert_eq!(status, 200, "{created}");
    let steps = &created["onboardingFlow"]["steps"];
    assert_eq!(steps[0]["acceptTerms"]["text"], "Be kind.", "{created}");
    assert_eq!(steps[1]["assignRoles"]["roleIds"], json!([BASIC_USER_ROLE]), "{created}");
    assert_eq!(steps[2]["managerApproval"]["approverUserId"], bo.as_str(), "{created}");
    let twice = json!({"displayName": "Twice", "steps": [{"key": "t", "acceptTerms": {"text": "a"}, "accept_terms": {"text": "b"}}]});
    let twice = server.post("/api/v1/onboarding-flows", &token, &twice).await;
    assert_api_error("acceptTerms twice", &twice, 400, 3);
    assert_eq!(violated_field(&twice.1), "steps[0].acceptTerms", "{}", twice.1);

    // Both names of one field: protojson's duplicate field, a 400 naming it.
    let both = server.post(SEARCH, &token, &json!({"roleIds": [BASIC_USER_ROLE], "role_ids": []})).await;
    assert_api_error("roleIds and role_ids", &both, 400, 3);
    assert_eq!(violated_field(&both.1), "roleIds", "{}", both.1);
    let nested = server.post(SEARCH, &token, &json!({"expandMask": {"paths": ["*"]}, "expand_mask": null})).await;
    assert_eq!(violated_field(&nested.1), "expandMask", "{}", nested.1);
    let deep = server
        .post(&format!("/api/v1/users/{di}"), &token, &json!({"user": {"jobTitle": "a", "job_title": "b"}}))
        .await;
    assert_api_error("user.jobTitle twice", &deep, 400, 3);
    assert_eq!(violated_field(&deep.1), "user.jobTitle", "{}", deep.1);

    // `/onboards` is snake_case by design: its own names work (tests/it/onboards.rs), camelCase is not one.
    let directory = create_directory(&server, &token, "Staff", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "ed@example.com", Value::Null).await;
    let camel = server
        .http
        .post(server.url("/onboards"))
        .bearer_auth(&token)
        .json(&json!({"invitationId": invitation["id"]}))
        .send()
        .await
        .unwrap();
    let camel = read(camel).await;
    assert_api_error("onboards in camelCase", &camel, 400, 3);
    assert_eq!(violated_field(&camel.1), "invitation_id");
}
both_backends!(proto_field_names_are_json_names);

/// One raw HTTP/1.1 response: status, headers (lowercased names) and body, read by `Content-Length`.
async fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection"));
    }
    let status = line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("a header line");
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map(|(_, value)| value.parse::<usize>().unwrap())
        .expect("onramp's responses have a Content-Length");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok((status, headers, body))
}

/// Item 2: handlers that answer without reading the body keep the connection usable. One reqwest client
/// with a single pooled connection sends 10,000 mixed requests with 0 errors; then a raw client sends 1,000
/// on one socket, each body in a write of its own after the head (as Python's `requests` does, which is what
/// lets the answer come before the body), and the socket serves every one without `Connection: close`.
async fn keep_alive_survives_early_answers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = crate::apps::create_app(&server, &token, "Ledger").await;
    let directory = create_directory(&server, &token, "Staff", Value::Null).await;
    let unknown = "6b040bd491253d395dd0a6d9";
    let body = json!({"reason": "x".repeat(300)}).to_string();
    // (method, path, with a token): each answers without needing the body.
    let early: Vec<(Method, String, bool)> = vec![
        (Method::DELETE, format!("/api/v1/local-directory-configs/{unknown}"), true),
        (Method::POST, "/api/v1/no-such-route".into(), true),
        (Method::DELETE, format!("/api/v1/apps/{unknown}"), true),
        (Method::POST, format!("/api/v1/local-directory-configs/{directory}/invitations/{unknown}/revoke"), true),
        (Method::POST, format!("/api/v1/apps/{app}/owners/{unknown}"), true),
        (Method::DELETE, format!("/api/v1/apps/{app}/owners/{unknown}"), true),
        (Method::DELETE, format!("/api/v1/apps/{unknown}"), false),
        (Method::POST, "/onboards".into(), false),
    ];

    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
    let mut errors = Vec::new();
    for i in 0..10_000 {
        let request = if i % 2 == 0 {
            client.get(server.url("/healthz"))
        } else {
            let (method, path, authorized) = &early[(i / 2) % early.len()];
            let request = client.request(method.clone(), server.url(path)).body(body.clone());
            let request = request.header("content-type", "application/json");
            if *authorized { request.bearer_auth(&token) } else { request }
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                if let Err(error) = response.bytes().await {
                    errors.push(format!("request {i}: reading the body: {error}"));
                }
                assert!(status == 200 || (400..500).contains(&status), "request {i}: status {status}");
            }
            Err(error) => errors.push(format!("request {i}: {error:?}")),
        }
    }
    assert!(errors.is_empty(), "{} connection errors in 10,000 requests, the first: {}", errors.len(), errors[0]);

    let address = server.base_url.trim_start_matches("http://").to_string();
    let stream = TcpStream::connect(&address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut socket = BufReader::new(stream);
    for i in 0..1_000 {
        let (method, path, authorized) = &early[i % early.len()];
        let authorization = if *authorized { format!("Authorization: Bearer {token}\r\n") } else { String::new() };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        socket.get_mut().write_all(head.as_bytes()).await.unwrap();
        socket.get_mut().flush().await.unwrap();
        if i % 10 == 0 {
            // Now and then the body comes a moment later, as over a slow network.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        socket.get_mut().write_all(body.as_bytes()).await.unwrap();
        let (status, headers, _) = read_response(&mut socket)
            .await
            .unwrap_or_else(|error| panic!("request {i} ({method} {path}) on the kept-alive socket: {error}"));
        assert!((400..500).contains(&status), "request {i}: status {status}");
        let closing = headers.iter().any(|(name, value)| name == "connection" && value.eq_ignore_ascii_case("close"));
        assert!(!closing, "request {i} ({method} {path}): the server closes a connection it could keep");
        let health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        socket.get_mut().write_all(health.as_bytes()).await.unwrap();
        let (status, _, _) =
            read_response(&mut socket).await.unwrap_or_else(|error| panic!("healthz after {i}: {error}"));
        assert_eq!(status, 200);
    }
}
both_backends!(keep_alive_survives_early_answers);

/// Item 3: `POST /api/v1/users/introspect` expands the caller's view by its `expandMask`.
async fn user_introspect_honours_expand_mask(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin_token().await;
    let (_, token) = server.credential_with_roles("ada@example.com", &[onramp_domain::BuiltinRole::BasicUser]).await;
    let me = server.get("/api/v1/auth/introspect", &token).await.1["userId"].as_str().unwrap().to_string();
    let boss = server.create_user(&admin, &json!({"email": "boss@example.com", "displayName": "Boss"})).await;
    let (status, body) =
        server.post(&format!("/api/v1/users/{me}"), &admin, &json!({"user": {"managerIds": [boss]}})).await;
    assert_eq!(status, 200, "{body}");

    let (status, plain) = server.post("/api/v1/users/introspect", &token, &json!({})).await;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(plain["expanded"], json!([]));
    assert!(plain["userView"].get("rolesPath").is_none(), "{plain}");

    for mask in [json!({"expandMask": {"paths": ["role_ids", "manager_ids"]}}), json!({"expandMask": {"paths": ["*"]}})]
    {
        let (status, body) = server.post("/api/v1/users/introspect", &token, &mask).await;
        assert_eq!(status, 200, "{mask}: {body}");
        let view = &body["userView"];
        assert_eq!(view["userId"], me.as_str());
        let at = |path: &str| -> Value {
            let index: usize =
                view[path].as_str().unwrap().trim_start_matches("$.expanded[").trim_end_matches(']').parse().unwrap();
            body["expanded"][index].clone()
        };
        assert_eq!(at("rolesPath")["@type"], ROLE_TYPE, "{mask}: {body}");
        assert_eq!(at("rolesPath")["id"], BASIC_USER_ROLE);
        assert_eq!(at("managersPath")["id"], boss.as_str(), "{mask}: {body}");
        assert_eq!(at("managersPath")["@type"], "type.googleapis.com/c1.api.user.v1.User");
    }
    let (status, only_roles) =
        server.post("/api/v1/users/introspect", &token, &json!({"expand_mask": {"paths": ["role_ids"]}})).await;
    assert_eq!(status, 200);
    assert_eq!(only_roles["expanded"].as_array().unwrap().len(), 1, "{only_roles}");
    assert!(only_roles["userView"].get("managersPath").is_none());
    let bad = server.post("/api/v1/users/introspect", &token, &json!({"expandMask": {"paths": ["salary"]}})).await;
    assert_api_error("unknown path", &bad, 400, 3);
    assert_eq!(violated_field(&bad.1), "expandMask.paths");
}
both_backends!(user_introspect_honours_expand_mask);

/// Item 4: every list reads its query parameters under both names, and a bad one is the API's JSON error
/// naming it (never the framework's text/plain); a negative page size is 400.
async fn list_query_parameters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let app = crate::apps::create_app(&server, &token, "Ledger").await;
    for i in 0..11 {
        server
            .create_user(&token, &json!({"email": format!("u{i}@example.com"), "displayName": format!("U{i}")}))
            .await;
    }
    let lists = [
        "/api/v1/users".to_string(),
        "/api/v1/apps".into(),
        "/api/v1/local-directory-configs".into(),
        "/api/v1/iam/roles".into(),
        "/api/v1/audit-events".into(),
        "/api/v1/onboarding-flows".into(),
        format!("/api/v1/apps/{app}/owners"),
        format!("/api/v2/apps/{app}/owners/users"),
    ];
    for list in &lists {
        for (query, field) in [
            ("page_size=abc", "page_size"),
            ("pageSize=abc", "page_size"),
            ("page_size=-1", "page_size"),
            ("pageSize=-5", "page_size"),
            ("page_size=10&pageSize=10", "page_size"),
        ] {
            let response =
                server.http.get(server.url(&format!("{list}?{query}"))).bearer_auth(&token).send().await.unwrap();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
            let response = read(response).await;
            assert_api_error(&format!("{list}?{query}"), &response, 400, 3);
            assert_eq!(content_type, "application/json", "{list}?{query}");
            assert_eq!(violated_field(&response.1), field, "{list}?{query}: {}", response.1);
            assert!(response.1["message"].as_str().unwrap().contains(field), "{}", response.1);
        }
        let (status, body) = server.get(&format!("{list}?pageSize=10&pageToken="), &token).await;
        assert_eq!(status, 200, "{list} by JSON names: {body}");
    }
    // The JSON names act as the query names do.
    for query in ["page_size=10", "pageSize=10", "pageSize=%2210%22"] {
        let (status, body) = server.get(&format!("/api/v1/users?{query}"), &token).await;
        if query.contains("%22") {
            assert_api_error("a quoted number is not a query number", &(status, body), 400, 3);
            continue;
        }
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["list"].as_array().unwrap().len(), 10, "{query}");
        let next = body["nextPageToken"].as_str().unwrap();
        assert!(!next.is_empty(), "{query}: 12 users do not fit 10");
        let (status, rest) = server.get(&format!("/api/v1/users?pageSize=10&pageToken={next}"), &token).await;
        assert_eq!(status, 200, "{rest}");
        assert_eq!(rest["list"].as_array().unwrap().len(), 2, "pageToken continues: {rest}");
    }
    let bad_token = server.get("/api/v1/users?pageToken=garbage", &token).await;
    assert_api_error("a forged pageToken", &bad_token, 400, 3);
    // A negative page size in a search body too.
    let negative = server.post(SEARCH, &token, &json!({"pageSize": -1})).await;
    assert_api_error("a negative pageSize", &negative, 400, 3);
    assert_eq!(violated_field(&negative.1), "pageSize");
}
both_backends!(list_query_parameters);

/// The `WWW-Authenticate` values of a response.
fn challenges(response: &reqwest::Response) -> Vec<String> {
    response.headers().get_all("www-authenticate").iter().map(|value| value.to_str().unwrap().to_string()).collect()
}

/// Item 5: 401s challenge: Bearer on the API (`error="invalid_token"` for a bad token), Basic first on
/// `/onboards`, whose message names both forms; a client that sends credentials only when challenged gets in.
async fn unauthorized_answers_challenge(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;

    let none = server.http.get(server.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    assert_eq!(challenges(&none), [r#"Bearer realm="onramp""#]);
    let bad = server.http.get(server.url("/api/v1/users")).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    let challenge = challenges(&bad);
    assert_eq!(challenge.len(), 1, "{challenge:?}");
    assert!(challenge[0].starts_with(r#"Bearer realm="onramp", error="invalid_token""#), "{challenge:?}");
    let basic_on_api = server.http.get(server.url("/api/v1/users")).basic_auth("API", Some("x")).send().await.unwrap();
    assert_eq!(challenges(&basic_on_api), [r#"Bearer realm="onramp""#]);

    for (case, auth) in [("no credentials", None), ("a wrong key", Some("API:wrong")), ("a bad bearer", Some("bearer"))]
    {
        let mut request = server.http.get(server.url("/onboards"));
        request = match auth {
            None => request,
            Some("bearer") => request.bearer_auth("not-a-token"),
            Some(_) => request.basic_auth("API", Some("wrong")),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{case}");
        let challenge = challenges(&response);
        assert!(challenge[0].starts_with(r#"Basic realm="onramp""#), "{case}: {challenge:?}");
        assert!(challenge.iter().any(|c| c.starts_with("Bearer realm=\"onramp\"")), "{case}: {challenge:?}");
        let body = read(response).await;
        assert_api_error(case, &body, 401, 16);
        let message = body.1["message"].as_str().unwrap();
        assert!(message.contains("API:<key>") && message.contains("Bearer"), "{case}: {message}");
    }

    // A client that answers a challenge: the first request carries no credentials; the second, Basic ones
    // because Basic was offered.
    let key = api_key(&server, "integration@example.com", &[onramp_domain::BuiltinRole::Admin]).await;
    let first = server.http.get(server.url("/onboards")).send().await.unwrap();
    assert_eq!(first.status().as_u16(), 401);
    let offers_basic = challenges(&first).iter().any(|c| c.split(' ').next().unwrap().eq_ignore_ascii_case("basic"));
    assert!(offers_basic, "{:?}", challenges(&first));
    let second = server.http.get(server.url("/onboards")).basic_auth("API", Some(&key)).send().await.unwrap();
    let (status, onboards) = read(second).await;
    assert_eq!(status, 200, "{onboards}");
    assert_eq!(onboards, json!([]));
    // The same with the API: the challenge names Bearer, and the token works.
    let second = server.http.get(server.url("/api/v1/users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(second.status().as_u16(), 200);
}
both_backends!(unauthorized_answers_challenge);

/// Item 6: integers as numbers or strings, enums as names or numbers (the spec's order), a `null` body as
/// `{}`, and any other body that is not an object a 400.
async fn protojson_leniency_on_input(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (ada, bo, _) = three_users(&server, &token).await;

    // Integers: a string, a number, an integral float.
    for size in [json!("10"), json!(10), json!(10.0), json!("1e1")] {
        let response = server.post(SEARCH, &token, &json!({"pageSize": size, "ids": [ada]})).await;
        if size == json!("1e1") {
            assert_api_error("an exponent in a string", &response, 400, 3);
            assert_eq!(violated_field(&response.1), "pageSize");
            continue;
        }
        assert_eq!(response.0, 200, "pageSize {size}: {}", response.1);
    }
    let words = server.post(SEARCH, &token, &json!({"pageSize": "ten"})).await;
    assert_api_error("pageSize ten", &words, 400, 3);
    assert_eq!(violated_field(&words.1), "pageSize");
    let (status, app) =
        server.post("/api/v1/apps", &token, &json!({"displayName": "Ledger", "monthlyCostUsd": "12"})).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["app"]["monthlyCostUsd"], 12);

    // Enums: numbers in the subset document's order (UNKNOWN 0, ENABLED 1, DISABLED 2, DELETED 3; HUMAN 2).
    let by_name = ids_of(&search(&server, &token, json!({"userStatuses": ["DISABLED"]})).await);
    assert_eq!(by_name, std::slice::from_ref(&bo));
    assert_eq!(ids_of(&search(&server, &token, json!({"userStatuses": [2]})).await), by_name);
    let quoted = server.post(SEARCH, &token, &json!({"userStatuses": ["2"]})).await;
    assert_api_error("a number in a string is not an enum name", &quoted, 400, 3);
    assert_eq!(violated_field(&quoted.1), "userStatuses[0]");
    let humans = ids_of(&search(&server, &token, json!({"excludeTypes": ["USER_TYPE_HUMAN"]})).await);
    assert_eq!(ids_of(&search(&server, &token, json!({"excludeTypes": [2]})).await), humans);
    let out_of_range = server.post(SEARCH, &token, &json!({"userStatuses": [1, 9]})).await;
    assert_api_error("status 9", &out_of_range, 400, 3);
    assert_eq!(violated_field(&out_of_range.1), "userStatuses[1]", "{}", out_of_range.1);
    let negative = server.post(SEARCH, &token, &json!({"delegateStatus": -1})).await;
    assert_eq!(violated_field(&negative.1), "delegateStatus", "{}", negative.1);
    let disabled = server
        .create_user(&token, &json!({"email": "di@example.com", "displayName": "Di", "status": 2, "type": 3}))
        .await;
    let (_, user) = server.get(&format!("/api/v1/users/{disabled}"), &token).await;
    let user = &user["userView"]["user"];
    assert_eq!((user["status"].as_str(), user["type"].as_str()), (Some("DISABLED"), Some("USER_TYPE_SERVICE")));
    let (status, settings) =
        server.post("/api/v1/settings/onboarding", &token, &json!({"status": 2, "mcpOnboardingStatus": 4})).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["status"], "ONBOARDING_STATUS_IN_PROGRESS", "{settings}");
    assert_eq!(settings["mcpOnboardingStatus"], "MCP_ONBOARDING_STATUS_DISMISSED");

    // A body of null is the empty message; anything else that is not an object is refused.
    let (status, all) = server.post_raw(SEARCH, &token, "null").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(ids_of(&all), ids_of(&search(&server, &token, json!({})).await));
    for body in ["[]", "[null]", "42", "\"x\"", "true", "false", "1.5"] {
        for path in [SEARCH, "/api/v1/users", "/api/v1/users/introspect"] {
            let response = server
                .http
                .post(server.url(path))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let response = read(response).await;
            assert_api_error(&format!("{path} {body}"), &response, 400, 3);
            assert_eq!(violated_field(&response.1), "body", "{path} {body}");
        }
    }
}
both_backends!(protojson_leniency_on_input);
