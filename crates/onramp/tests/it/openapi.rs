//! `GET /openapi.json`: the document describes the ConductorOne operations exactly as the public
//! ConductorOne document does (`api/conductorone-subset.yaml`: same paths, methods, parameters,
//! and request and response schemas with the same field names, types and required fields, `$ref`s resolved
//! on both sides), and every route the router serves is in it, with nothing documented that the router
//! does not serve (compared with the router's registrations, then probed). schemathesis then checks the
//! running server against the served document.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use onramp_domain::Secret;
use serde_json::{Map, Value, json};

use crate::both_backends;
use crate::support::{Backend, TestServer};

/// The operations of the subset onramp does not serve, with the reason: onramp keeps no entitlements, so
/// it has no entitlement owners. The test checks that the router does not serve them either.
const NOT_SERVED: &[&str] = &[
    "/api/v2/apps/{app_id}/owners/entitlements",
    "/api/v2/apps/{app_id}/owners/entitlements/{role_slug}/{app_entitlement_ref_app_id}/{app_entitlement_ref_id}",
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

const METRICS_TOKEN: &str = "metrics-token-of-the-openapi-test-0123456789";

/// The ConductorOne document onramp serves a subset of, as published (`api/conductorone-subset.yaml`, a copy
/// of the team's `shared/api/` one, committed so that the test does not depend on where the checkout sits).
fn subset() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../api/conductorone-subset.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_norway::from_str(&text).expect("the subset document is YAML")
}

async fn served(server: &TestServer) -> Value {
    let response = reqwest::get(server.url("/openapi.json")).await.expect("GET /openapi.json");
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let document: Value = response.json().await.expect("the document is JSON");
    assert_eq!(document["openapi"], "3.1.0", "an OpenAPI 3.1 document");
    document
}

/// What a schema says about the wire: its type, enum, properties (by name), required fields (as a set),
/// items and alternatives, with every `$ref` resolved against `document`. A `$ref` met again below itself
/// is kept as its name, so that recursive schemas end.
fn shape(document: &Value, schema: &Value, stack: &mut Vec<String>) -> Value {
    let Some(object) = schema.as_object() else { return schema.clone() };
    if let Some(Value::String(reference)) = object.get("$ref") {
        let name = reference.trim_start_matches("#/components/schemas/").to_string();
        if stack.contains(&name) {
            return json!({ "$recursive": name });
        }
        let target = &document["components"]["schemas"][&name];
        assert!(!target.is_null(), "{reference} resolves");
        stack.push(name);
        let resolved = shape(document, target, stack);
        stack.pop();
        return resolved;
    }
    let mut out = Map::new();
    for key in ["type", "enum", "format"] {
        if let Some(value) = object.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    // ConductorOne's document marks protobuf Durations `format: duration`, which JSON Schema (and so
    // schemathesis) reads as ISO 8601 (`P7D`); on the wire they are protojson seconds (`"604800s"`), which
    // onramp's document says as `google-duration` with the pattern. Both name the same wire form.
    if object.get("format") == Some(&json!("google-duration")) {
        let pattern = object.get("pattern").and_then(Value::as_str);
        assert_eq!(pattern, Some(r"^-?[0-9]+(\.[0-9]{1,9})?s$"), "a protojson duration's pattern");
        out.insert("format".into(), json!("duration"));
    }
    if let Some(Value::Array(required)) = object.get("required") {
        let set: BTreeSet<String> = required.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect();
        out.insert("required".into(), json!(set));
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        let shaped: Map<String, Value> =
            properties.iter().map(|(name, property)| (name.clone(), shape(document, property, stack))).collect();
        out.insert("properties".into(), Value::Object(shaped));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(value) = object.get(key) {
            out.insert(key.into(), shape(document, value, stack));
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(options)) = object.get(key) {
            out.insert(key.into(), Value::Array(options.iter().map(|o| shape(document, o, stack)).collect()));
        }
    }
    Value::Object(out)
}

/// The wire contract of one operation: its parameters, request body and success responses, as shapes.
fn contract(document: &Value, operation: &Value) -> Value {
    let mut stack = Vec::new();
    let parameters: BTreeMap<String, Value> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let key = format!("{} {}", p["in"].as_str().unwrap_or_default(), p["name"].as_str().unwrap_or_default());
            let required = p["required"].as_bool().unwrap_or(false);
            (key, json!({ "required": required, "schema": shape(document, &p["schema"], &mut stack) }))
        })
        .collect();
    let body: BTreeMap<String, Value> = operation["requestBody"]["content"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(media, content)| (media.clone(), shape(document, &content["schema"], &mut stack)))
        .collect();
    let responses: BTreeMap<String, Value> = operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(status, _)| status.starts_with('2'))
        .flat_map(|(status, response)| {
            let contents = response["content"].as_object().cloned().unwrap_or_default();
            let shaped: Vec<(String, Value)> = contents
                .iter()
                .map(|(media, content)| (format!("{status} {media}"), shape(document, &content["schema"], &mut stack)))
                .collect();
            shaped
        })
        .collect();
    json!({ "parameters": parameters, "requestBody": body, "responses": responses })
}

async fn openapi_matches_the_conductorone_subset(backend: Backend) {
    let server = TestServer::start(backend).await;
    let document = served(&server).await;
    let subset = subset();
    let mut compared = 0;
    for (path, item) in subset["paths"].as_object().expect("paths") {
        if NOT_SERVED.contains(&path.as_str()) {
            assert!(document["paths"].get(path).is_none(), "{path} is not served, so not documented");
            continue;
        }
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                // An addition of onramp's on a ConductorOne path is named as onramp's own.
                if let Some(ours) = document["paths"][path].get(method) {
                    let id = ours["operationId"].as_str().unwrap_or_default();
                    assert!(id.starts_with("onramp."), "{method} {path} is onramp's addition: {id}");
                }
                continue;
            };
            let ours = &document["paths"][path][method];
            assert!(ours.is_object(), "{method} {path} of the subset is documented");
            let (want, got) = (contract(&subset, operation), contract(&document, ours));
            assert_eq!(got, want, "{method} {path}: the served contract differs from the subset's");
            assert_eq!(ours["operationId"], operation["operationId"], "{method} {path}");
            compared += 1;
        }
    }
    assert_eq!(compared, 34, "every served operation of the subset is compared");
    assert_eq!(
        document["components"]["securitySchemes"]["bearerAuth"],
        json!({ "type": "http", "scheme": "bearer" }),
        "the API takes the bearer token of /auth/v1/token"
    );
    assert_eq!(
        document["components"]["securitySchemes"]["oauth"]["flows"]["clientCredentials"]["tokenUrl"],
        "/auth/v1/token"
    );
    assert_eq!(document["components"]["securitySchemes"]["basicAuth"]["scheme"], "basic");
    for method in ["get", "post"] {
        let security = &document["paths"]["/onboards"][method]["security"];
        assert_eq!(
            security,
            &json!([{ "basicAuth": [] }, { "bearerAuth": [] }]),
            "/onboards: Basic API:<key> or a bearer"
        );
    }
}
both_backends!(openapi_matches_the_conductorone_subset);

/// The routes the router is built with, as registered with their documentation (`onramp_api::api()`), each
/// path parameter written `{}`, with their methods.
fn registered() -> BTreeMap<String, BTreeSet<String>> {
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for operation in onramp_api::api().operations() {
        routes.entry(template_of(&operation.path)).or_default().insert(operation.method.as_str().to_lowercase());
    }
    routes
}

/// `path` with each `{parameter}` written `{}`.
fn template_of(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => inside = true,
            '}' => {
                inside = false;
                out.push_str("{}");
            }
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// A request to `path` (parameters filled with an id that names nothing) by `method`, answered by a route
/// rather than by the router's fallbacks: those say "no route for" (404) or "is not allowed on" (405).
async fn routed(server: &TestServer, http: &reqwest::Client, method: &str, path: &str) -> bool {
    let url = server.url(&path.replace("{}", "0123456789abcdef01234567"));
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
    let response = http.request(method, &url).send().await.expect("a response");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    !((status == 404 && body.contains("no route for")) || (status == 405 && body.contains("is not allowed on")))
}

async fn openapi_documents_every_route(backend: Backend) {
    let server =
        TestServer::start_with(backend, |config| config.metrics_token = Some(Secret::new(METRICS_TOKEN.to_string())))
            .await;
    let document = served(&server).await;
    let documented: BTreeMap<String, Vec<String>> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_string()).collect();
            (template_of(path), methods)
        })
        .collect();
    let registered = registered();
    let documented_methods: BTreeMap<String, BTreeSet<String>> =
        documented.iter().map(|(path, methods)| (path.clone(), methods.iter().cloned().collect())).collect();
    assert_eq!(documented_methods, registered, "the document has exactly the router's paths and methods");
    assert!(registered.len() >= 40, "the registrations were read: {registered:?}");

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    for (path, methods) in &documented {
        for method in METHODS {
            let is_routed = routed(&server, &http, method, path).await;
            let is_documented = methods.iter().any(|m| m == method);
            assert_eq!(is_routed, is_documented, "{method} {path}: routed {is_routed}, documented {is_documented}");
        }
    }
    for path in NOT_SERVED {
        for method in METHODS {
            assert!(!routed(&server, &http, method, &template_of(path)).await, "{method} {path} is not served");
        }
    }
}
both_backends!(openapi_documents_every_route);

/// A user, an app that is a local directory, an invitation into it with its onboard, and a flow: ids that
/// name something, so that schemathesis reaches past the 404 of an id that names nothing.
async fn objects_to_test_on(server: &TestServer, token: &str) -> Vec<String> {
    let user = server.create_user(token, &json!({"email": "fuzz@example.com", "displayName": "Fuzz"})).await;
    let (status, body) = server.post("/api/v1/apps", token, &json!({"displayName": "Fuzzed app"})).await;
    assert_eq!(status, 200, "create app: {body}");
    let app = body["app"]["id"].as_str().expect("an app id").to_string();
    let directory = json!({"appId": app, "displayName": "Fuzzed directory"});
    let (status, body) = server.post("/api/v1/local-directory-configs", token, &directory).await;
    assert_eq!(status, 200, "create directory: {body}");
    let path = format!("/api/v1/local-directory-configs/{app}/invitations");
    let (status, body) =
        server.post(&path, token, &json!({"email": "invitee@example.com", "displayName": "Invitee"})).await;
    assert_eq!(status, 200, "invite: {body}");
    let invitation = body["invitation"]["id"].as_str().expect("an invitation id").to_string();
    let (status, body) = server.post("/onboards", token, &json!({"invitation_id": invitation})).await;
    assert_eq!(status, 201, "start an onboard: {body}");
    let onboard = body["id"].as_str().expect("an onboard id").to_string();
    let flow = json!({"displayName": "Fuzzed flow", "steps": [{"key": "terms", "acceptTerms": {"text": "t"}}]});
    let (status, body) = server.post("/api/v1/onboarding-flows", token, &flow).await;
    assert_eq!(status, 200, "create flow: {body}");
    let flow = body["onboardingFlow"]["id"].as_str().expect("a flow id").to_string();
    vec![user, app, invitation, onboard, flow]
}

/// schemathesis's configuration: each id parameter takes one of `ids` in most cases, and a generated value
/// in the rest.
fn schemathesis_config(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    let mut config = format!("[dictionaries.ids]\nvalues = [{}]\n\n", quoted.join(", "));
    config.push_str("[dictionaries.slugs]\nvalues = [\"owner\"]\n\n[parameters]\n");
    for name in ["id", "app_id", "directory_app_id", "user_id", "user_ref_id", "role_id"] {
        config.push_str(&format!("\"path.{name}\" = {{ dictionary = \"ids\", probability = 0.7 }}\n"));
    }
    config.push_str("\"path.role_slug\" = { dictionary = \"slugs\", probability = 0.7 }\n");
    config
}

fn python() -> String {
    std::env::var("ONRAMP_TEST_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

/// The longest schemathesis may run, start to finish; past it the run is stopped and the test fails.
const SCHEMATHESIS_WALL_CLOCK: Duration = Duration::from_secs(120);

/// schemathesis generates requests for every operation of the served document (valid and invalid ones,
/// with a super-admin's bearer token) against a server on SQLite, and checks each answer: no 5xx, and every
/// response valid against the document. The seed is fixed, so a run is repeatable; one worker, because
/// schemathesis 4.32.5's coverage phase on Python 3.11 can fail inside the interpreter when two threads
/// compile patterns at once ("AST constructor recursion depth mismatch"), a fault of the tool, not of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onramp_test_schemathesis),
    ignore = "no schemathesis in ONRAMP_TEST_PYTHON: the server is not checked against /openapi.json"
)]
async fn schemathesis_finds_no_server_error_and_no_response_off_the_document() {
    let server = TestServer::start(Backend::Sqlite).await;
    let token = server.admin_token().await;
    let document = served(&server).await;
    // schemathesis leaves out the operation that serves the document it loaded; the tests above cover it.
    let operations: BTreeSet<String> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter(|m| item.get(**m).is_some()).map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .filter(|operation| operation != "GET /openapi.json")
        .collect();
    let ids = objects_to_test_on(&server, &token).await;
    let reports = tempfile::tempdir().expect("a folder for the report");
    let config = reports.path().join("schemathesis.toml");
    std::fs::write(&config, schemathesis_config(&ids)).expect("the configuration is written");
    let mut command = tokio::process::Command::new(python());
    command
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .args(["run", &server.url("/openapi.json")])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "20", "--seed", "12"])
        .args(["--request-timeout", "10", "--workers", "1", "--no-color", "--max-failures", "20"])
        .args(["--report", "junit", "--report-dir"])
        .arg(reports.path())
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .env("SCHEMATHESIS_HOOKS", "")
        // schemathesis and hypothesis keep caches in the working folder; that is the test's own.
        .current_dir(reports.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("schemathesis starts");
    let output = tokio::time::timeout(SCHEMATHESIS_WALL_CLOCK, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran past {SCHEMATHESIS_WALL_CLOCK:?}"))
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "schemathesis found problems:\n{stdout}\n{stderr}");
    // It did test: its JUnit report has a test case for every operation of the document.
    let report = std::fs::read_dir(reports.path())
        .expect("the report folder")
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().ends_with(".xml"))
        .map(|entry| std::fs::read_to_string(entry.path()).expect("the JUnit report"))
        .expect("schemathesis wrote a JUnit report");
    let tested: BTreeSet<String> = report
        .split("<testcase name=\"")
        .skip(1)
        .filter_map(|case| case.split('"').next())
        .map(|name| name.replace("&amp;", "&"))
        .collect();
    assert_eq!(tested, operations, "schemathesis tested every operation of the document");
    assert!(!report.contains("<failure") && !report.contains("<error"), "{report}");
}
