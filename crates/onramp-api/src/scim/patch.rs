//! PATCH (RFC 7644 §3.5.2) applied to a resource as JSON, with what identity providers send.
//!
//! `op` is `add`, `replace` or `remove` in any case (Entra ID sends "Add", "Replace"); `path` is optional
//! and may select values by a filter (`emails[type eq "work"].value`, `members[value eq "id"]`). Without a
//! path, the value is an object whose keys are paths themselves: plain, dotted (`name.givenName`) or
//! URN-qualified (`urn:...:enterprise:2.0:User:manager`), or an extension's URN with its attributes.
//! Values follow the attribute's type from [`super::attributes`]: a boolean sent as "True"/"False" (Entra)
//! becomes a boolean, a complex attribute given a plain string (Entra's `manager`) is its `value`. The
//! operations apply in order and all or none: the first failure is the answer and nothing is changed.

use serde_json::{Map, Value};

use super::attributes::{Attribute, AttributeType, Mutability, ResourceSchema};
use super::error::{ScimError, ScimResult};
use super::filter::{AttrPath, Filter};
use super::patch_targets::{selected, sub_of_all, tidy_extensions, whole};

/// The schema URN of a PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An operation's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

/// What a path points at.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchPath {
    /// A whole extension (`urn:...:enterprise:2.0:User`), by its schema URN as defined.
    Extension(&'static str),
    /// An attribute, the values of a multi-valued one that match `filter`, or a sub-attribute of those.
    Attribute {
        urn: Option<&'static str>,
        attribute: &'static Attribute,
        filter: Option<Filter>,
        sub: Option<&'static Attribute>,
    },
}

/// One operation of a PATCH request, its path parsed and checked against the resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A parsed PATCH request.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

pub(super) fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)
}

/// The key an attribute has in an object: the one already there in any case, else its defined name.
pub(super) fn key_in(object: &Map<String, Value>, name: &str) -> String {
    object.keys().find(|key| key.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_string())
}

impl PatchPath {
    /// Parses and checks a path; a mistake is `invalidPath` naming it.
    pub fn parse(text: &str, schema: &ResourceSchema) -> ScimResult<PatchPath> {
        let text = text.trim();
        let invalid = |why: String| ScimError::invalid_path(format!("path \"{text}\": {why}"));
        if let Some(extension) = schema.extension(text) {
            return Ok(PatchPath::Extension(extension.id));
        }
        let (attribute_text, filter, sub_text) = match text.find('[') {
            None => (text, None, None),
            Some(open) => {
                let close = text.rfind(']').filter(|close| *close > open).ok_or_else(|| invalid("no \"]\"".into()))?;
                let filter = Filter::parse_inner(&text[open + 1..close], true).map_err(invalid)?;
                let rest = &text[close + 1..];
                let sub = match rest.strip_prefix('.') {
                    Some(sub) => Some(sub),
                    None if rest.is_empty() => None,
                    None => return Err(invalid(format!("unexpected \"{rest}\" after \"]\""))),
                };
                (&text[..open], Some(filter), sub)
            }
        };
        let path = AttrPath::parse(attribute_text).map_err(invalid)?;
        if filter.is_some() && path.sub.is_some() {
            return Err(invalid("a value filter applies to an attribute, not a sub-attribute".into()));
        }
        let urn = match &path.urn {
            None => None,
            Some(urn) => Some(schema.schema(urn).ok_or_else(|| invalid(format!("no schema {urn} here")))?.id),
        };
        let attribute = schema.attribute(urn, &path.name).ok_or_else(|| invalid("no such attribute".into()))?;
        let sub = match sub_text.or(path.sub.as_deref()) {
            None => None,
            Some(sub) => {
                Some(attribute.sub_attribute(sub).ok_or_else(|| invalid(format!("no sub-attribute \"{sub}\"")))?)
            }
        };
        if filter.is_some() && !attribute.multi_valued {
            return Err(invalid("a value filter needs a multi-valued attribute".into()));
        }
        Ok(PatchPath::Attribute { urn, attribute, filter, sub })
    }

    /// The attribute written at the end of the path.
    fn target(&self) -> Option<&'static Attribute> {
        match self {
            PatchPath::Extension(_) => None,
            PatchPath::Attribute { attribute, sub, .. } => Some(sub.unwrap_or(attribute)),
        }
    }
}

impl PatchRequest {
    /// Parses a PATCH body: `schemas` lists the PatchOp URN, `Operations` is a non-empty list, each with an
    /// `op`, a `path` where needed and a `value` where needed.
    pub fn parse(body: &Value, schema: &ResourceSchema) -> ScimResult<PatchRequest> {
        let body = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
        let listed = field(body, "schemas").and_then(Value::as_array).is_some_and(|schemas| {
            schemas.iter().any(|urn| urn.as_str().is_some_and(|urn| urn.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))
        });
        if !listed {
            return Err(ScimError::invalid_syntax(format!("schemas must list {PATCH_OP_SCHEMA}")));
        }
        let operations = field(body, "Operations")
            .and_then(Value::as_array)
            .filter(|operations| !operations.is_empty())
            .ok_or_else(|| ScimError::invalid_syntax("Operations must be a non-empty list of operations"))?;
        let operations = operations
            .iter()
            .enumerate()
            .map(|(index, operation)| parse_operation(index, operation, schema))
            .collect::<ScimResult<_>>()?;
        Ok(PatchRequest { operations })
    }

    /// The resource after every operation, or the first operation's error (the resource untouched).
    pub fn apply(&self, resource: &Value, schema: &ResourceSchema) -> ScimResult<Value> {
        let mut patched = resource.as_object().cloned().unwrap_or_default();
        for operation in &self.operations {
            operation.apply(&mut patched, schema)?;
        }
        tidy_extensions(&mut patched, schema);
        Ok(Value::Object(patched))
    }
}

fn parse_operation(index: usize, operation: &Value, schema: &ResourceSchema) -> ScimResult<PatchOperation> {
    let at = format!("Operations[{index}]");
    let operation =
        operation.as_object().ok_or_else(|| ScimError::invalid_syntax(format!("{at} must be an object")))?;
    let op = match field(operation, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("add") => PatchOp::Add,
        Some("replace") => PatchOp::Replace,
        Some("remove") => PatchOp::Remove,
        _ => return Err(ScimError::invalid_syntax(format!("{at}.op must be add, replace or remove"))),
    };
    let path = match field(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) if path.trim().is_empty() => None,
        Some(Value::String(path)) => Some(PatchPath::parse(path, schema)?),
        Some(_) => return Err(ScimError::invalid_path(format!("{at}.path must be a string"))),
    };
    let value = field(operation, "value").cloned();
    match (op, &path, &value) {
        (PatchOp::Remove, None, _) => Err(ScimError::no_target(format!("{at}: remove needs a path"))),
        (PatchOp::Add | PatchOp::Replace, _, None) => Err(ScimError::invalid_value(format!(
            "{at}: {} needs a value",
            if op == PatchOp::Add { "add" } else { "replace" }
        ))),
        (PatchOp::Add | PatchOp::Replace, None, Some(value)) if !value.is_object() => {
            Err(ScimError::invalid_value(format!("{at}: without a path, the value must be an object of attributes")))
        }
        _ => Ok(PatchOperation { op, path, value }),
    }
}

impl PatchOperation {
    fn apply(&self, resource: &mut Map<String, Value>, schema: &ResourceSchema) -> ScimResult<()> {
        match (&self.path, &self.value) {
            (Some(path), value) => apply_path(resource, schema, self.op, path, value.as_ref(), false),
            (None, Some(Value::Object(attributes))) => {
                for (key, value) in attributes {
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    let path = PatchPath::parse(key, schema)?;
                    apply_path(resource, schema, self.op, &path, Some(value), true)?;
                }
                Ok(())
            }
            (None, _) => Err(ScimError::no_target("an operation without a path needs an object value")),
        }
    }
}

/// Applies one operation at one path. `lenient_read_only`: a key of a path-less value that repeats a
/// read-only attribute's current value (a resource sent back whole) is not a change, so not an error.
fn apply_path(
    resource: &mut Map<String, Value>,
    schema: &ResourceSchema,
    op: PatchOp,
    path: &PatchPath,
    value: Option<&Value>,
    lenient_read_only: bool,
) -> ScimResult<()> {
    let (urn, attribute, filter, sub) = match path {
        PatchPath::Extension(urn) => return apply_extension(resource, schema, op, urn, value),
        PatchPath::Attribute { urn, attribute, filter, sub } => (*urn, *attribute, filter.as_ref(), *sub),
    };
    let name = path_name(urn, attribute, sub);
    let target = path.target().unwrap_or(attribute);
    let value = value.map(|value| coerce(target, value, &name, sub.is_none() && filter.is_none())).transpose()?;
    let holder = holder(resource, schema, urn, op != PatchOp::Remove)?;
    let Some(holder) = holder else { return Ok(()) };
    let key = key_in(holder, attribute.name);
    check_mutability(attribute, sub, holder.get(&key), value.as_ref(), &name, lenient_read_only && filter.is_none())?;
    match (filter, sub) {
        (None, None) => whole(holder, key, attribute, op, value, &name),
        (None, Some(sub)) => sub_of_all(holder, key, attribute, sub, op, value, &name),
        (Some(filter), sub) => selected(holder, key, attribute, filter, sub, op, value, &name),
    }
}

fn path_name(urn: Option<&str>, attribute: &Attribute, sub: Option<&Attribute>) -> String {
    let mut name = urn.map(|urn| format!("{urn}:")).unwrap_or_default();
    name.push_str(attribute.name);
    if let Some(sub) = sub {
        name.push('.');
        name.push_str(sub.name);
    }
    name
}

/// The object that holds the attribute: the resource, or its extension object (made when `create`).
fn holder<'r>(
    resource: &'r mut Map<String, Value>,
    schema: &ResourceSchema,
    urn: Option<&str>,
    create: bool,
) -> ScimResult<Option<&'r mut Map<String, Value>>> {
    let Some(urn) = urn.filter(|urn| !schema.core.id.eq_ignore_ascii_case(urn)) else { return Ok(Some(resource)) };
    let key = key_in(resource, urn);
    if !resource.contains_key(&key) {
        if !create {
            return Ok(None);
        }
        resource.insert(key.clone(), Value::Object(Map::new()));
    }
    match resource.get_mut(&key) {
        Some(Value::Object(extension)) => Ok(Some(extension)),
        _ => Err(ScimError::invalid_value(format!("{urn} must be an object"))),
    }
}

fn apply_extension(
    resource: &mut Map<String, Value>,
    schema: &ResourceSchema,
    op: PatchOp,
    urn: &'static str,
    value: Option<&Value>,
) -> ScimResult<()> {
    match (op, value) {
        (PatchOp::Remove, _) => {
            let key = key_in(resource, urn);
            resource.remove(&key);
            Ok(())
        }
        (_, Some(Value::Object(attributes))) => {
            // A value sent as the extension's whole object may carry its `schemas`: not an attribute.
            for (name, value) in attributes.iter().filter(|(name, _)| !name.eq_ignore_ascii_case("schemas")) {
                let path = PatchPath::parse(&format!("{urn}:{name}"), schema)?;
                apply_path(resource, schema, op, &path, Some(value), true)?;
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!("{urn}: the value must be an object of its attributes"))),
    }
}

fn check_mutability(
    attribute: &Attribute,
    sub: Option<&Attribute>,
    current: Option<&Value>,
    value: Option<&Value>,
    name: &str,
    lenient_read_only: bool,
) -> ScimResult<()> {
    let target = sub.unwrap_or(attribute);
    let read_only = attribute.mutability == Mutability::ReadOnly || target.mutability == Mutability::ReadOnly;
    if read_only {
        let unchanged = lenient_read_only && sub.is_none() && current == value;
        return if unchanged { Ok(()) } else { Err(ScimError::mutability(format!("{name} is read-only"))) };
    }
    let immutable = target.mutability == Mutability::Immutable && sub.is_none();
    if immutable && current.is_some_and(|current| !current.is_null() && Some(current) != value) {
        return Err(ScimError::mutability(format!("{name} is immutable once set")));
    }
    Ok(())
}

/// The value in the attribute's type. `whole`: the value is for the attribute itself, so a multi-valued
/// attribute takes a list (a single value is taken as a list of one).
fn coerce(attribute: &Attribute, value: &Value, name: &str, whole: bool) -> ScimResult<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if attribute.multi_valued && whole {
        let items = match value {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        let items = items.iter().map(|item| coerce_one(attribute, item, name)).collect::<ScimResult<_>>()?;
        return Ok(Value::Array(items));
    }
    coerce_one(attribute, value, name)
}

fn coerce_one(attribute: &Attribute, value: &Value, name: &str) -> ScimResult<Value> {
    let wrong = |expected: &str| ScimError::invalid_value(format!("{name} must be {expected}"));
    match (attribute.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (AttributeType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (AttributeType::Boolean, Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        (AttributeType::Boolean, Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        (AttributeType::Boolean, _) => Err(wrong("a boolean")),
        (AttributeType::Integer, Value::Number(number)) if number.is_i64() || number.is_u64() => Ok(value.clone()),
        (AttributeType::Integer, _) => Err(wrong("an integer")),
        (AttributeType::Decimal, Value::Number(_)) => Ok(value.clone()),
        (AttributeType::Decimal, _) => Err(wrong("a number")),
        (AttributeType::DateTime, Value::String(text)) => match onramp_domain::Timestamp::parse_rfc3339(text) {
            Ok(_) => Ok(value.clone()),
            Err(_) => Err(wrong("an RFC 3339 date and time")),
        },
        (AttributeType::String | AttributeType::Reference | AttributeType::Binary, Value::String(_)) => {
            Ok(value.clone())
        }
        (AttributeType::String | AttributeType::Reference | AttributeType::Binary | AttributeType::DateTime, _) => {
            Err(wrong("a string"))
        }
        (AttributeType::Complex, Value::Object(fields)) => {
            let mut out = Map::new();
            // A null sub-attribute is unassigned (RFC 7643 §2.5): Entra ID sends `"$ref": null` with members.
            for (key, inner) in fields.iter().filter(|(_, inner)| !inner.is_null()) {
                let coerced = match attribute.sub_attribute(key) {
                    Some(sub) => coerce_one(sub, inner, &format!("{name}.{}", sub.name))?,
                    None => inner.clone(),
                };
                out.insert(key.clone(), coerced);
            }
            Ok(Value::Object(out))
        }
        // Entra ID sends the manager as its id alone: a complex attribute given a string is its `value`.
        (AttributeType::Complex, Value::String(_)) if attribute.sub_attribute("value").is_some() => {
            Ok(Value::Object(Map::from_iter([("value".to_string(), value.clone())])))
        }
        (AttributeType::Complex, _) => Err(wrong("an object")),
    }
}
