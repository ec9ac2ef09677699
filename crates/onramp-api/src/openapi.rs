//! The routes and their documentation, registered in one place, and the OpenAPI 3.1 document built from
//! them.
//!
//! Every route goes through [`ApiRouter::operation`], which adds the axum route and records its [`Doc`]
//! in the same call, so no route can exist undocumented and no documented operation can lack its route.
//! [`document`] builds `GET /openapi.json` from what was registered:
//!
//! - a ConductorOne operation ([`Doc::c1`]) is the operation object of the subset document onramp
//!   implements (`api/conductorone-subset.yaml`, embedded and parsed once), with that document's schemas:
//!   they are the contract. The wire structs named by its `.body::<T>()` and `.ok::<T>()` are not put in
//!   the document; the unit test `wire_structs_fit_the_subset` holds them to the subset's schemas.
//! - onramp's own operations are built from the registration: path parameters from the path, query
//!   parameters, request and response bodies from the JSON Schemas `schemars` derives from the typed
//!   wire structs (draft 2020-12, OpenAPI 3.1's dialect; requests as they deserialize, responses as they
//!   serialize).
//!
//! One deliberate difference from ConductorOne's document: protobuf Durations are `format: google-duration`
//! with the pattern of their protojson form (`"604800s"`), where ConductorOne's says `format: duration`,
//! which JSON Schema reads as ISO 8601 (`P7D`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// The subset of ConductorOne's public OpenAPI document that onramp implements, as published.
pub const SUBSET_YAML: &str = include_str!("../../../api/conductorone-subset.yaml");

/// The pattern of a protojson Duration (`"604800s"`, `"1.5s"`).
pub const DURATION_PATTERN: &str = r"^-?[0-9]+(\.[0-9]{1,9})?s$";

/// The path of the components' schemas, where `$ref`s point.
const SCHEMAS: &str = "#/components/schemas/";

/// The subset document, parsed once, its Durations written as onramp's document writes them.
pub fn subset() -> &'static Value {
    static SUBSET: OnceLock<Value> = OnceLock::new();
    SUBSET.get_or_init(|| {
        let mut document: Value = serde_norway::from_str(SUBSET_YAML).expect("the subset document is YAML");
        protojson_durations(&mut document);
        document
    })
}

fn protojson_durations(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if object.get("format") == Some(&json!("duration")) {
                object.insert("format".into(), json!("google-duration"));
                object.insert("pattern".into(), json!(DURATION_PATTERN));
            }
            object.values_mut().for_each(protojson_durations);
        }
        Value::Array(items) => items.iter_mut().for_each(protojson_durations),
        _ => {}
    }
}

/// A function giving the schema of a type: a `$ref` to its definition, or the schema inline.
pub type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A console form's fields: `csrf`, checked first, and the fields of `T`.
pub struct ConsoleFields<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for ConsoleFields<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("ConsoleFields_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let fields = generator.subschema_for::<T>();
        let csrf = schemars::json_schema!({
            "type": "object",
            "properties": { "csrf": { "type": "string", "description": "The form's anti-forgery token" } }
        });
        schemars::json_schema!({ "allOf": [csrf, fields] })
    }
}

/// What a request or a response carries.
#[derive(Clone, Copy)]
pub enum Content {
    /// `application/json`, the schema of a type.
    Json(SchemaOf),
    /// `application/x-www-form-urlencoded`, the schema of the form's type.
    Form(SchemaOf),
    /// `multipart/form-data`, the schema of the form's fields.
    Multipart(SchemaOf),
    /// `application/json`, a schema of the subset document (`local.rpc.Status`, ...).
    Subset(&'static str),
    /// `application/x-www-form-urlencoded`, a schema of the subset document.
    SubsetForm(&'static str),
    /// An HTML page.
    Html,
    /// Plain text.
    Text,
    /// A file of one of these media types.
    Files(&'static [&'static str]),
    /// `application/scim+json` (RFC 7644 §3.1), the schema of a type.
    Scim(SchemaOf),
    /// No body.
    Nothing,
}

/// One documented response.
#[derive(Clone)]
pub struct Answer {
    pub status: &'static str,
    pub description: &'static str,
    pub content: Content,
    /// Response headers worth documenting, by name, with their description.
    pub headers: Vec<(&'static str, &'static str)>,
}

/// Who may call an operation, when it is not the API's default (a bearer token).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Security {
    /// The document's default: `bearerAuth` or `oauth`.
    Api,
    /// No credentials (pages, health, the document, the token endpoint: they authenticate themselves).
    Public,
    /// `/onboards`: Basic `API:<key>` or a bearer.
    BasicOrBearer,
    /// A bearer token, or HTTP Basic (an invitee's email and password).
    ApiOrBasic,
    /// `/metrics`: the metrics token.
    MetricsToken,
    /// `/scim/v2`: a SCIM provisioning connection's bearer token.
    ScimToken,
}

/// The documentation of one operation, given where its route is registered.
#[derive(Clone)]
pub struct Doc {
    pub operation_id: &'static str,
    /// Whether the operation object is the subset document's (a ConductorOne operation).
    pub c1: bool,
    pub summary: &'static str,
    pub description: Option<&'static str>,
    pub tag: &'static str,
    pub security: Security,
    /// The query parameters: the properties of this type's schema.
    pub query: Option<SchemaOf>,
    /// Descriptions of path parameters, by name.
    pub path_docs: Vec<(&'static str, &'static str)>,
    pub request: Option<Content>,
    pub answers: Vec<Answer>,
}

impl Doc {
    fn new(operation_id: &'static str, tag: &'static str, summary: &'static str, security: Security) -> Doc {
        Doc {
            operation_id,
            c1: false,
            summary,
            description: None,
            tag,
            security,
            query: None,
            path_docs: Vec::new(),
            request: None,
            answers: Vec::new(),
        }
    }

    /// A ConductorOne operation: the subset document's operation `operation_id` (checked against the
    /// path and method it is registered on). Name its wire structs with `.body::<T>()` and `.ok::<T>()`
    /// for the test that holds them to the subset's schemas.
    pub fn c1(operation_id: &'static str) -> Doc {
        Doc { c1: true, ..Doc::new(operation_id, "", "", Security::Api) }
    }

    /// One of onramp's JSON operations, with a bearer token; any error is a `local.rpc.Status`.
    pub fn api(operation_id: &'static str, tag: &'static str, summary: &'static str) -> Doc {
        Doc::new(operation_id, tag, summary, Security::Api).answer(
            "default",
            "Error",
            Content::Subset("local.rpc.Status"),
        )
    }

    /// A page: HTML, no API credentials (a page signs in with its session cookie); an error is a page
    /// saying what went wrong, or a redirect.
    pub fn page(operation_id: &'static str, summary: &'static str) -> Doc {
        Doc::new(operation_id, "Pages", summary, Security::Public).answer(
            "default",
            "An HTML page saying what went wrong, or a redirect",
            Content::Html,
        )
    }

    /// An operations route (health, metrics, the document).
    pub fn ops(operation_id: &'static str, summary: &'static str) -> Doc {
        Doc::new(operation_id, "Operations", summary, Security::Public)
    }

    /// A SCIM operation (`/scim/v2`): a connection's bearer token; bodies and errors are
    /// `application/scim+json`, an error the SCIM error body.
    pub fn scim(operation_id: &'static str, summary: &'static str) -> Doc {
        Doc::new(operation_id, "SCIM", summary, Security::ScimToken).answer(
            "default",
            "SCIM error (RFC 7644 §3.12)",
            Content::Scim(schema_of::<crate::routes::scim::ScimErrorBody>),
        )
    }

    /// A SCIM request body of type `T`.
    pub fn scim_body<T: JsonSchema>(mut self) -> Doc {
        self.request = Some(Content::Scim(schema_of::<T>));
        self
    }

    /// `status` with `T` as `application/scim+json`.
    pub fn scim_answer<T: JsonSchema>(self, status: &'static str, description: &'static str) -> Doc {
        self.answer(status, description, Content::Scim(schema_of::<T>))
    }

    /// Any other operation, with no default answer.
    pub fn other(operation_id: &'static str, tag: &'static str, summary: &'static str) -> Doc {
        Doc::new(operation_id, tag, summary, Security::Api)
    }

    pub fn describe(mut self, description: &'static str) -> Doc {
        self.description = Some(description);
        self
    }

    pub fn security(mut self, security: Security) -> Doc {
        self.security = security;
        self
    }

    /// The query parameters are the fields of `T`.
    pub fn query<T: JsonSchema>(mut self) -> Doc {
        self.query = Some(schema_of::<T>);
        self
    }

    pub fn path_doc(mut self, name: &'static str, description: &'static str) -> Doc {
        self.path_docs.push((name, description));
        self
    }

    /// The request body is `T` in JSON.
    pub fn body<T: JsonSchema>(mut self) -> Doc {
        self.request = Some(Content::Json(schema_of::<T>));
        self
    }

    /// The request body is the form `T`.
    pub fn form<T: JsonSchema>(mut self) -> Doc {
        self.request = Some(Content::Form(schema_of::<T>));
        self
    }

    /// The request body is a console form: the anti-forgery token `csrf` and the fields of `T`.
    pub fn console_form<T: JsonSchema>(mut self) -> Doc {
        self.request = Some(Content::Form(schema_of::<ConsoleFields<T>>));
        self
    }

    /// The request body is a `multipart/form-data` form with the fields of `T`.
    pub fn multipart<T: JsonSchema>(mut self) -> Doc {
        self.request = Some(Content::Multipart(schema_of::<T>));
        self
    }

    pub fn request(mut self, content: Content) -> Doc {
        self.request = Some(content);
        self
    }

    /// 200 with `T` in JSON.
    pub fn ok<T: JsonSchema>(self) -> Doc {
        self.json::<T>("200", "Successful response")
    }

    /// `status` with `T` in JSON.
    pub fn json<T: JsonSchema>(self, status: &'static str, description: &'static str) -> Doc {
        self.answer(status, description, Content::Json(schema_of::<T>))
    }

    pub fn answer(mut self, status: &'static str, description: &'static str, content: Content) -> Doc {
        self.answers.retain(|answer| answer.status != status);
        self.answers.push(Answer { status, description, content, headers: Vec::new() });
        self
    }

    /// A header of the answer of `status` (registered before).
    pub fn header(mut self, status: &str, name: &'static str, description: &'static str) -> Doc {
        let answer = self.answers.iter_mut().find(|a| a.status == status).expect("the answer is registered first");
        answer.headers.push((name, description));
        self
    }

    /// 200 with an HTML page.
    pub fn html(self) -> Doc {
        self.answer("200", "An HTML page", Content::Html)
    }

    /// 303, post/redirect/get.
    pub fn redirect(self) -> Doc {
        self.answer("303", "A redirect (post/redirect/get)", Content::Nothing)
    }

    /// The JSON schema of the request body's type, when it has one.
    pub fn request_schema(&self) -> Option<SchemaOf> {
        match self.request {
            Some(Content::Json(of) | Content::Form(of) | Content::Multipart(of)) => Some(of),
            _ => None,
        }
    }

    /// The JSON schema of the first 2xx answer's type, when it has one.
    pub fn response_schema(&self) -> Option<SchemaOf> {
        self.answers.iter().filter(|a| a.status.starts_with('2')).find_map(|a| match a.content {
            Content::Json(of) => Some(of),
            _ => None,
        })
    }
}

/// One registered operation.
#[derive(Clone)]
pub struct Operation {
    pub method: Method,
    pub path: String,
    pub doc: Doc,
}

/// An `axum::Router` whose routes are added with their documentation.
pub struct ApiRouter {
    router: Router<AppState>,
    operations: Vec<Operation>,
}

impl Default for ApiRouter {
    fn default() -> Self {
        ApiRouter::new()
    }
}

impl ApiRouter {
    pub fn new() -> ApiRouter {
        ApiRouter { router: Router::new(), operations: Vec::new() }
    }

    /// Routes `method` on `path` to `handler`, documented by `doc`.
    pub fn operation<H, T>(mut self, method: Method, path: &str, handler: H, doc: Doc) -> ApiRouter
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
        self.router = self.router.route(path, on(filter, handler));
        self.operations.push(Operation { method, path: path.to_string(), doc });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> ApiRouter {
        self.operation(Method::GET, path, handler, doc)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> ApiRouter {
        self.operation(Method::POST, path, handler, doc)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> ApiRouter {
        self.operation(Method::PUT, path, handler, doc)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> ApiRouter {
        self.operation(Method::DELETE, path, handler, doc)
    }

    pub fn merge(mut self, other: ApiRouter) -> ApiRouter {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// What was registered, in order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// The settings of the generators: draft 2020-12, definitions under the components.
fn generator(serialize: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|settings| {
        settings.definitions_path = "/components/schemas".into();
        settings.meta_schema = None;
    });
    if serialize { settings.for_serialize() } else { settings.for_deserialize() }.into_generator()
}

/// The generators of one document: requests as they deserialize, responses as they serialize.
pub struct Generators {
    pub requests: SchemaGenerator,
    pub responses: SchemaGenerator,
}

impl Default for Generators {
    fn default() -> Self {
        Generators::new()
    }
}

impl Generators {
    pub fn new() -> Generators {
        Generators { requests: generator(false), responses: generator(true) }
    }

    /// The definitions both generators made, keyed by their `$ref` names. A request type's definition
    /// whose name a different response definition has is renamed `<name>.input`, and its `$ref`s with it.
    pub fn definitions(&mut self) -> (Map<String, Value>, Map<String, Value>) {
        let responses = self.responses.take_definitions(true);
        let requests = self.requests.take_definitions(true);
        let renamed: Vec<String> = requests
            .iter()
            .filter(|(name, schema)| responses.get(*name).is_some_and(|other| other != *schema))
            .map(|(name, _)| name.clone())
            .collect();
        let mut out = Map::new();
        for (name, mut schema) in requests {
            rename_refs(&mut schema, &renamed);
            let name = if renamed.contains(&name) { format!("{name}.input") } else { name };
            out.insert(name, schema);
        }
        (out, responses)
    }
}

/// Points each `$ref` to a definition of `renamed` at its `.input` twin.
pub fn rename_refs(value: &mut Value, renamed: &[String]) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get_mut("$ref")
                && let Some(name) = reference.strip_prefix(SCHEMAS)
                && renamed.iter().any(|r| r == name)
            {
                *reference = format!("{SCHEMAS}{name}.input");
            }
            object.values_mut().for_each(|v| rename_refs(v, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renamed)),
        _ => {}
    }
}

/// The parameters of `path`: `{name}` segments.
fn path_parameters(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string())).collect()
}

/// The query parameters of a type: its schema's properties, inline, required as the type says.
fn query_parameters(of: SchemaOf) -> Vec<Value> {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .for_deserialize()
        .into_generator();
    let schema = of(&mut generator).to_value();
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut parameters = Vec::new();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let mut property = property.clone();
        let description = property.as_object_mut().and_then(|p| p.remove("description"));
        let mut parameter = json!({
            "in": "query",
            "name": name,
            "required": required.contains(&name.as_str()),
            "schema": without_null(property),
        });
        if let Some(description) = description {
            parameter["description"] = description;
        }
        parameters.push(parameter);
    }
    parameters
}

/// A query parameter is absent or a value: `Option<T>`'s `null` alternative says nothing in a query.
fn without_null(mut schema: Value) -> Value {
    if let Some(Value::Array(types)) = schema.get("type") {
        let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema["type"] = if types.len() == 1 { types[0].clone() } else { Value::Array(types) };
    }
    if let Some(Value::Array(options)) = schema.get("anyOf") {
        let options: Vec<Value> = options.iter().filter(|o| o.get("type") != Some(&json!("null"))).cloned().collect();
        if options.len() == 1 {
            return options[0].clone();
        }
    }
    schema
}

fn content(content: Content, generator: &mut SchemaGenerator) -> Option<Value> {
    let (media, schema) = match content {
        Content::Json(of) => ("application/json", of(generator).to_value()),
        Content::Form(of) => ("application/x-www-form-urlencoded", of(generator).to_value()),
        Content::Multipart(of) => ("multipart/form-data", of(generator).to_value()),
        Content::Subset(name) => ("application/json", json!({ "$ref": format!("{SCHEMAS}{name}") })),
        Content::SubsetForm(name) => {
            ("application/x-www-form-urlencoded", json!({ "$ref": format!("{SCHEMAS}{name}") }))
        }
        Content::Scim(of) => ("application/scim+json", of(generator).to_value()),
        Content::Html => ("text/html", json!({ "type": "string" })),
        Content::Text => ("text/plain", json!({ "type": "string" })),
        Content::Files(types) => {
            let each: Map<String, Value> =
                types.iter().map(|media| (media.to_string(), json!({ "schema": { "type": "string" } }))).collect();
            return Some(Value::Object(each));
        }
        Content::Nothing => return None,
    };
    Some(json!({ media: { "schema": schema } }))
}

fn security(security: Security) -> Option<Value> {
    match security {
        Security::Api => None,
        Security::Public => Some(json!([])),
        Security::BasicOrBearer => Some(json!([{ "basicAuth": [] }, { "bearerAuth": [] }])),
        Security::ApiOrBasic => Some(json!([{ "bearerAuth": [] }, { "oauth": [] }, { "basicAuth": [] }])),
        Security::MetricsToken => Some(json!([{ "metricsToken": [] }])),
        Security::ScimToken => Some(json!([{ "scimToken": [] }])),
    }
}

/// The operation object of one of onramp's own operations.
fn own_operation(operation: &Operation, path: &str, generators: &mut Generators) -> Value {
    let doc = &operation.doc;
    let mut out = Map::new();
    out.insert("operationId".into(), json!(doc.operation_id));
    out.insert("summary".into(), json!(doc.summary));
    if let Some(description) = doc.description {
        out.insert("description".into(), json!(description));
    }
    out.insert("tags".into(), json!([doc.tag]));
    if let Some(security) = security(doc.security) {
        out.insert("security".into(), security);
    }
    let mut parameters: Vec<Value> = path_parameters(path)
        .into_iter()
        .map(|name| {
            let mut parameter = json!({ "in": "path", "name": name, "required": true, "schema": { "type": "string" } });
            if let Some((_, description)) = doc.path_docs.iter().find(|(n, _)| *n == name) {
                parameter["description"] = json!(description);
            }
            parameter
        })
        .collect();
    if let Some(query) = doc.query {
        parameters.extend(query_parameters(query));
    }
    if !parameters.is_empty() {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(request) = doc.request
        && let Some(content) = content(request, &mut generators.requests)
    {
        out.insert("requestBody".into(), json!({ "required": true, "content": content }));
    }
    let mut responses = Map::new();
    for answer in &doc.answers {
        let mut response = json!({ "description": answer.description });
        if let Some(content) = content(answer.content, &mut generators.responses) {
            response["content"] = content;
        }
        if !answer.headers.is_empty() {
            let headers: Map<String, Value> = answer
                .headers
                .iter()
                .map(|(name, description)| {
                    (name.to_string(), json!({ "description": description, "schema": { "type": "string" } }))
                })
                .collect();
            response["headers"] = Value::Object(headers);
        }
        responses.insert(answer.status.into(), response);
    }
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// A registered path as the document writes it: its leading segments spelled as the longest subset path
/// they match. The router may name a parameter otherwise, since axum takes one name per position
/// (`/api/v1/local-directory-configs/{app_id}/invitations` is the subset's `{directory_app_id}`).
pub fn documented_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<Vec<&str>> = None;
    for candidate in subset()["paths"].as_object().into_iter().flat_map(|paths| paths.keys()) {
        let theirs: Vec<&str> = candidate.split('/').collect();
        let matches = theirs.len() <= segments.len()
            && theirs.iter().zip(&segments).all(|(a, b)| a == b || (is_parameter(a) && is_parameter(b)));
        if matches && best.as_ref().is_none_or(|best| best.len() < theirs.len()) {
            best = Some(theirs);
        }
    }
    match best {
        Some(prefix) => {
            let mut spelled: Vec<&str> = prefix.clone();
            spelled.extend(&segments[prefix.len()..]);
            spelled.join("/")
        }
        None => path.to_string(),
    }
}

/// The subset's operation object of a ConductorOne operation; panics when the registration names an
/// operation the subset does not have on that path and method.
pub fn subset_operation(operation: &Operation) -> &'static Value {
    let method = operation.method.as_str().to_lowercase();
    let path = documented_path(&operation.path);
    let found = &subset()["paths"][&path][&method];
    assert_eq!(
        found["operationId"],
        json!(operation.doc.operation_id),
        "{method} {path} is the subset's {}",
        operation.doc.operation_id
    );
    found
}

/// The OpenAPI 3.1 document of `operations`.
pub fn document(operations: &[Operation]) -> Value {
    let subset = subset();
    let mut generators = Generators::new();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for operation in operations {
        let path = documented_path(&operation.path);
        let object = if operation.doc.c1 {
            subset_operation(operation).clone()
        } else {
            own_operation(operation, &path, &mut generators)
        };
        let method = operation.method.as_str().to_lowercase();
        let previous = paths.entry(path.clone()).or_default().insert(method.clone(), object);
        assert!(previous.is_none(), "{method} {path} is registered once");
    }
    let mut schemas = subset["components"]["schemas"].as_object().cloned().expect("the subset's schemas");
    let (requests, responses) = generators.definitions();
    for (name, schema) in requests.into_iter().chain(responses) {
        if let Some(previous) = schemas.insert(name.clone(), schema.clone()) {
            assert_eq!(previous, schema, "the schema {name} is defined once");
        }
    }
    let mut security_schemes =
        subset["components"]["securitySchemes"].as_object().cloned().expect("the subset's security schemes");
    security_schemes.insert(
        "basicAuth".into(),
        json!({
            "type": "http",
            "scheme": "basic",
            "description": "/onboards: username the literal `API`, password an API key (client secret); or an invitee's email and password on step completion."
        }),
    );
    security_schemes.insert(
        "metricsToken".into(),
        json!({ "type": "http", "scheme": "bearer", "description": "The token given to the node with --metrics-token." }),
    );
    security_schemes.insert(
        "scimToken".into(),
        json!({ "type": "http", "scheme": "bearer", "description": "A SCIM provisioning connection's token (`onramp scim-token create`)." }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "onramp",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "onramp's HTTP API: the ConductorOne operations it serves (paths, methods and schemas as in ConductorOne's public OpenAPI document, terraform-provider-conductorone openapi.yaml v1.5.0), onramp's own additions in the same protojson style, the LeadConduit-style /onboards surface, the invitee's HTML pages and the operations routes. Generated from the router's registrations and the typed wire structs."
        },
        "servers": [{ "url": "/", "description": "this onramp node" }],
        "security": [{ "bearerAuth": [], "oauth": [] }],
        "paths": paths,
        "components": { "securitySchemes": security_schemes, "schemas": schemas },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Map, Value, json};

    use super::{Generators, SCHEMAS, subset, subset_operation};

    /// Where onramp's wire structs knowingly leave the subset's messages, each a documented departure
    /// (ARCHITECTURE.md, "Departures"): (operation, request or response, the field's path).
    const DEPARTURES: &[(&str, &str, &str)] = &[
        // The onboarding settings update takes the Get response's `intents` and `orgContext` ...
        ("c1.api.settings.v1.OnboardingSettingsService.Update", "request", "$.intents"),
        ("c1.api.settings.v1.OnboardingSettingsService.Update", "request", "$.orgContext"),
        // ... and answers the whole settings, the Get form, a superset of the Update response.
        ("c1.api.settings.v1.OnboardingSettingsService.Update", "response", "$.conversationId"),
        ("c1.api.settings.v1.OnboardingSettingsService.Update", "response", "$.intents"),
        ("c1.api.settings.v1.OnboardingSettingsService.Update", "response", "$.orgContext"),
        // App create reads the same `AppInput` as onramp's update, so it also takes the App fields a
        // client may set later; ConductorOne's create request lacks them.
        ("c1.api.app.v1.Apps.Create", "request", "$.defaultRequestCatalogId"),
        ("c1.api.app.v1.Apps.Create", "request", "$.enableConnectorSourcedOwnership"),
        ("c1.api.app.v1.Apps.Create", "request", "$.iconUrl"),
        ("c1.api.app.v1.Apps.Create", "request", "$.isManuallyManaged"),
        ("c1.api.app.v1.Apps.Create", "request", "$.revokeGrantSources"),
    ];

    /// An attribute source's `priority` is a uint32 in the subset and an int32 in onramp's domain (a
    /// number on the wire either way); every user response carries it.
    const PRIORITY: &str = "Sources[].priority: format Some(String(\"int32\")), the subset's Some(String(\"uint32\"))";

    fn resolve<'a>(definitions: &'a Map<String, Value>, schema: &'a Value) -> (&'a Value, Option<String>) {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.strip_prefix(SCHEMAS).expect("a components reference");
                let target = definitions.get(name).unwrap_or_else(|| panic!("{reference} resolves"));
                let (resolved, _) = resolve(definitions, target);
                (resolved, Some(name.to_string()))
            }
            None => (schema, None),
        }
    }

    /// The types a schema allows, `null` left out.
    fn types(schema: &Value) -> BTreeSet<String> {
        match schema.get("type") {
            Some(Value::String(one)) => [one.clone()].into(),
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => BTreeSet::new(),
        }
        .into_iter()
        .filter(|t| t != "null")
        .collect()
    }

    struct Fit<'a> {
        ours: &'a Map<String, Value>,
        theirs: &'a Map<String, Value>,
        seen: BTreeSet<(String, String)>,
        problems: Vec<String>,
    }

    impl Fit<'_> {
        /// Whether every value `ours` describes is one `theirs` describes, as far as the wire goes: each
        /// property we have exists there under the same JSON name, with the same type and format.
        fn check(&mut self, ours: &Value, theirs: &Value, at: &str) {
            let (ours, our_name) = resolve(self.ours, ours);
            let (theirs, their_name) = resolve(self.theirs, theirs);
            if let (Some(a), Some(b)) = (our_name, their_name)
                && !self.seen.insert((a, b))
            {
                return;
            }
            // The subset writes a nullable message `oneOf: [message, null]`.
            let alternatives: Vec<&Value> = ["oneOf", "anyOf"]
                .iter()
                .filter_map(|key| theirs.get(*key).and_then(Value::as_array))
                .flatten()
                .filter(|option| option.get("type") != Some(&json!("null")))
                .collect();
            if !alternatives.is_empty() {
                let fits_one = alternatives.iter().any(|option| {
                    let mut one =
                        Fit { ours: self.ours, theirs: self.theirs, seen: self.seen.clone(), problems: Vec::new() };
                    one.check(ours, option, at);
                    one.problems.is_empty()
                });
                if !fits_one {
                    let option = alternatives[0];
                    self.check(ours, option, at);
                }
                return;
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                for option in ours.get(key).and_then(Value::as_array).into_iter().flatten() {
                    if option.get("type") != Some(&json!("null")) {
                        self.check(option, theirs, at);
                    }
                }
            }
            let (our_types, their_types) = (types(ours), types(theirs));
            if !their_types.is_empty() && !our_types.is_subset(&their_types) {
                self.problems.push(format!("{at}: type {our_types:?}, the subset's {their_types:?}"));
                return;
            }
            if ours.get("format") != theirs.get("format") {
                self.problems.push(format!(
                    "{at}: format {:?}, the subset's {:?}",
                    ours.get("format"),
                    theirs.get("format")
                ));
            }
            if let (Some(Value::Array(ours)), Some(Value::Array(theirs))) = (ours.get("enum"), theirs.get("enum")) {
                for value in ours.iter().filter(|v| !v.is_null() && !theirs.contains(v)) {
                    self.problems.push(format!("{at}: the value {value} is not the subset's"));
                }
            }
            for (name, property) in ours.get("properties").and_then(Value::as_object).into_iter().flatten() {
                let at = format!("{at}.{name}");
                match theirs.get("properties").and_then(|p| p.get(name)) {
                    Some(their_property) => self.check(property, their_property, &at),
                    None => self.problems.push(format!("{at}: not a field of the subset's message")),
                }
            }
            for key in ["items", "additionalProperties"] {
                if let (Some(our_items), Some(their_items)) = (ours.get(key), theirs.get(key))
                    && our_items.is_object()
                    && their_items.is_object()
                {
                    self.check(our_items, their_items, &format!("{at}[]"));
                }
            }
        }
    }

    /// The schema a subset operation gives a JSON request body, or its 200 answer.
    fn subset_schema(operation: &Value, request: bool) -> Option<&Value> {
        let content =
            if request { &operation["requestBody"]["content"] } else { &operation["responses"]["200"]["content"] };
        content.get("application/json").map(|media| &media["schema"])
    }

    /// For every ConductorOne operation onramp serves, the request and response structs it names fit the
    /// subset's messages: every field onramp accepts or writes is a field of the subset's message, with the
    /// same JSON name, type and format.
    #[test]
    fn wire_structs_fit_the_subset() {
        let theirs = subset()["components"]["schemas"].as_object().expect("the subset's schemas");
        let mut problems = Vec::new();
        let mut checked = 0;
        for operation in crate::api().operations().iter().filter(|o| o.doc.c1) {
            let id = operation.doc.operation_id;
            let subset_operation = subset_operation(operation);
            for request in [true, false] {
                let of = if request { operation.doc.request_schema() } else { operation.doc.response_schema() };
                let their_schema = subset_schema(subset_operation, request);
                let (Some(of), Some(their_schema)) = (of, their_schema) else {
                    if !request && id != "local.auth.v1.Token" {
                        problems.push(format!("{id}: the response struct is not named, or the subset has no JSON 200"));
                    }
                    continue;
                };
                let mut generators = Generators::new();
                let generator = if request { &mut generators.requests } else { &mut generators.responses };
                let ours = of(generator).to_value();
                let definitions = generator.take_definitions(true);
                let mut fit = Fit { ours: &definitions, theirs, seen: BTreeSet::new(), problems: Vec::new() };
                fit.check(&ours, their_schema, "$");
                let side = if request { "request" } else { "response" };
                problems.extend(
                    fit.problems
                        .into_iter()
                        .filter(|p| {
                            let departure = DEPARTURES.iter().any(|(i, s, at)| {
                                *i == id && *s == side && p.strip_prefix(at).is_some_and(|rest| rest.starts_with(':'))
                            });
                            !departure && !p.ends_with(PRIORITY)
                        })
                        .map(|p| format!("{id} {side} {p}")),
                );
                checked += 1;
            }
        }
        assert!(problems.is_empty(), "the wire structs leave the subset:\n{}", problems.join("\n"));
        assert!(checked >= 34, "the C1 operations' structs were checked: {checked}");
    }

    #[test]
    fn the_document_builds() {
        let document = super::document(crate::api().operations());
        if let Ok(path) = std::env::var("ONRAMP_OPENAPI_DUMP") {
            std::fs::write(path, serde_json::to_string_pretty(&document).unwrap()).unwrap();
        }
    }
}
