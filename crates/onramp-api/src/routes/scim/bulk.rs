//! `POST /scim/v2/Bulk` (RFC 7644 §3.7): many Users and Groups operations in one request, each run as its
//! own request would be (its own transaction: RFC 7644 §3.7 lets operations succeed or fail one by one),
//! in order, with `bulkId` references to resources created earlier in the same request, and
//! `failOnErrors` stopping after that many errors. A body over `maxPayloadSize` or with more than
//! `maxOperations` operations is 413 and nothing runs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD, ScimCaller, groups, json_body, users};
use crate::scim::error::{ScimError, ScimResult};
use crate::state::AppState;

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value).filter(|v| !v.is_null())
}

/// Replaces every string `bulkId:<id>` in `value` (a path or data) by the id created under that bulkId.
fn resolve(value: &mut Value, created: &[(String, String)]) -> ScimResult<()> {
    match value {
        Value::String(text) => {
            if let Some(reference) = text.strip_prefix("bulkId:") {
                let id = created.iter().find(|(bulk_id, _)| bulk_id == reference).map(|(_, id)| id.clone());
                *text = id.ok_or_else(|| {
                    ScimError::invalid_value(format!("bulkId:{reference} names no resource created before it"))
                })?;
            }
        }
        Value::Array(items) => items.iter_mut().try_for_each(|item| resolve(item, created))?,
        Value::Object(object) => object.values_mut().try_for_each(|item| resolve(item, created))?,
        _ => {}
    }
    Ok(())
}

/// A path's `bulkId:` reference resolved (`/Groups/bulkId:qwerty`).
fn resolve_path(path: &str, created: &[(String, String)]) -> ScimResult<String> {
    let mut segments = Vec::new();
    for segment in path.split('/') {
        let mut value = Value::String(segment.to_string());
        resolve(&mut value, created)?;
        segments.push(value.as_str().unwrap_or_default().to_string());
    }
    Ok(segments.join("/"))
}

/// Runs one operation as its own request; answers its status and body.
async fn run(
    state: &AppState,
    caller: &ScimCaller,
    method: &str,
    path: &str,
    data: Option<Value>,
) -> (StatusCode, Value) {
    let caller = || ScimCaller(caller.0.clone());
    let state = || State(state.clone());
    let body = Bytes::from(data.map(|data| data.to_string()).unwrap_or_default());
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let headers = HeaderMap::new();
    let answer: ScimResult<Response> = match (method.to_ascii_uppercase().as_str(), segments.as_slice()) {
        ("POST", ["Users"]) => users::create_user(state(), caller(), body).await.map(IntoResponse::into_response),
        ("PUT", ["Users", id]) => users::replace_user(state(), caller(), Path(id.to_string()), headers, body)
            .await
            .map(IntoResponse::into_response),
        ("PATCH", ["Users", id]) => users::patch_user(state(), caller(), Path(id.to_string()), headers, body)
            .await
            .map(IntoResponse::into_response),
        ("DELETE", ["Users", id]) => users::delete_user(state(), caller(), Path(id.to_string()), headers).await,
        ("POST", ["Groups"]) => groups::create_group(state(), caller(), body).await.map(IntoResponse::into_response),
        ("PUT", ["Groups", id]) => groups::replace_group(state(), caller(), Path(id.to_string()), headers, body)
            .await
            .map(IntoResponse::into_response),
        ("PATCH", ["Groups", id]) => groups::patch_group(state(), caller(), Path(id.to_string()), headers, body)
            .await
            .map(IntoResponse::into_response),
        ("DELETE", ["Groups", id]) => groups::delete_group(state(), caller(), Path(id.to_string()), headers).await,
        _ => Err(ScimError::invalid_value(format!("{method} {path} is not an operation Bulk runs"))),
    };
    let response = match answer {
        Ok(response) => response,
        Err(error) => return (error.status, error.body()),
    };
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

pub async fn bulk(State(state): State<AppState>, caller: ScimCaller, body: Bytes) -> ScimResult<Response> {
    if body.len() > BULK_MAX_PAYLOAD {
        return Err(ScimError::payload_too_large(format!(
            "the Bulk body is {} bytes; maxPayloadSize is {BULK_MAX_PAYLOAD}",
            body.len()
        )));
    }
    let request = json_body(&body)?;
    let request = request.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let listed = field(request, "schemas").and_then(Value::as_array).is_some_and(|schemas| {
        schemas.iter().any(|urn| urn.as_str().is_some_and(|urn| urn.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA)))
    });
    if !listed {
        return Err(ScimError::invalid_syntax(format!("schemas must list {BULK_REQUEST_SCHEMA}")));
    }
    let operations = field(request, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be a list of operations"))?;
    if operations.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::payload_too_large(format!(
            "the Bulk request has {} operations; maxOperations is {BULK_MAX_OPERATIONS}",
            operations.len()
        )));
    }
    let fail_on_errors = match field(request, "failOnErrors") {
        None => None,
        Some(value) => Some(
            value
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| ScimError::invalid_value("failOnErrors must be a positive integer"))?,
        ),
    };
    let mut created: Vec<(String, String)> = Vec::new();
    let mut answers = Vec::new();
    let mut errors = 0;
    for (index, operation) in operations.iter().enumerate() {
        if fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let (status, answer) = match one_operation(&state, &caller, index, operation, &mut created).await {
            Ok(answer) => answer,
            Err(error) => {
                let method = operation.get("method").cloned().unwrap_or(Value::Null);
                let bulk_id = operation.get("bulkId").cloned();
                (error.status, operation_answer(method, bulk_id, error.status, Some(error.body()), None))
            }
        };
        if status.is_client_error() || status.is_server_error() {
            errors += 1;
        }
        answers.push(answer);
    }
    let body = json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": answers});
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(crate::scim::error::SCIM_CONTENT_TYPE));
    Ok(response)
}

fn operation_answer(
    method: Value,
    bulk_id: Option<Value>,
    status: StatusCode,
    response: Option<Value>,
    resource: Option<&Value>,
) -> Value {
    let mut answer = json!({"method": method, "status": status.as_str()});
    if let Some(bulk_id) = bulk_id {
        answer["bulkId"] = bulk_id;
    }
    if let Some(resource) = resource {
        if let Some(location) = resource["meta"]["location"].as_str() {
            answer["location"] = json!(location);
        }
        if let Some(version) = resource["meta"]["version"].as_str() {
            answer["version"] = json!(version);
        }
    }
    if let Some(response) = response {
        answer["response"] = response;
    }
    answer
}

async fn one_operation(
    state: &AppState,
    caller: &ScimCaller,
    index: usize,
    operation: &Value,
    created: &mut Vec<(String, String)>,
) -> ScimResult<(StatusCode, Value)> {
    let at = format!("Operations[{index}]");
    let operation =
        operation.as_object().ok_or_else(|| ScimError::invalid_syntax(format!("{at} must be an object")))?;
    let method = field(operation, "method")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax(format!("{at}.method is required")))?;
    let path = field(operation, "path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax(format!("{at}.path is required")))?;
    let bulk_id = field(operation, "bulkId").and_then(Value::as_str).map(str::to_string);
    if method.eq_ignore_ascii_case("POST") && bulk_id.is_none() {
        return Err(ScimError::invalid_syntax(format!("{at}.bulkId is required with POST")));
    }
    let path = resolve_path(path, created)?;
    let mut data = field(operation, "data").cloned();
    if let Some(data) = data.as_mut() {
        resolve(data, created)?;
    }
    let (status, body) = run(state, caller, method, &path, data).await;
    if status == StatusCode::CREATED
        && let (Some(bulk_id), Some(id)) = (&bulk_id, body["id"].as_str())
    {
        created.push((bulk_id.clone(), id.to_string()));
    }
    let ok = status.is_success();
    let answer = operation_answer(
        json!(method.to_ascii_uppercase()),
        bulk_id.map(Value::from),
        status,
        (!ok).then_some(body.clone()),
        ok.then_some(&body),
    );
    Ok((status, answer))
}
