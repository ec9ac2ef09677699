//! SCIM filters (RFC 7644 §3.4.2.2): the parser of the grammar into a [`Filter`] tree, and its evaluation
//! against a resource as JSON.
//!
//! Attribute paths take a schema URN prefix (`urn:...:enterprise:2.0:User:department`), a sub-attribute
//! (`name.familyName`) or a value filter (`emails[type eq "work" and value co "@x"]`); operators, `and`,
//! `or`, `not` and attribute names are compared without case. `and` binds tighter than `or`. Strings are
//! JSON strings, escapes and all. A comparison follows the attribute's definition ([`super::attributes`]):
//! strings without case unless `caseExact`, `dateTime` as instants, a multi-valued attribute matching when
//! any of its values does. The tree is public so that a route can answer `userName eq "x"` from an index
//! ([`Filter::equality`]).

use onramp_domain::Timestamp;
use serde_json::{Number, Value};
use std::cmp::Ordering;

use super::attributes::{Attribute, AttributeType, ResourceSchema};
use super::error::ScimError;

/// An attribute path: an optional schema URN, an attribute name and an optional sub-attribute name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// A comparison operator (RFC 7644 §3.4.2.2, table 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The value of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    String(String),
    Bool(bool),
    Number(Number),
    Null,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Literal,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: a value of the multi-valued (or complex) `attr` matches the inner filter, whose
    /// paths name its sub-attributes.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl AttrPath {
    /// A path without URN or sub-attribute.
    pub fn simple(name: &str) -> Self {
        AttrPath { urn: None, name: name.to_string(), sub: None }
    }

    /// Parses `[urn:...:]name[.sub]`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<AttrPath, String> {
        let (urn, rest) = match text.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("urn:") => match text.rfind(':') {
                Some(colon) if colon > 4 => (Some(text[..colon].to_string()), &text[colon + 1..]),
                _ => return Err(format!("\"{text}\" is a URN without an attribute name")),
            },
            _ => (None, text),
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        check_name(name, text)?;
        if let Some(sub) = sub {
            check_name(sub, text)?;
        }
        Ok(AttrPath { urn, name: name.to_string(), sub: sub.map(str::to_string) })
    }

    /// Whether this is the core attribute `name`, without a sub-attribute (the URN, if any, not checked).
    pub fn is(&self, name: &str) -> bool {
        self.sub.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    /// The definition of the attribute (or sub-attribute) this path names in that resource type.
    pub fn definition(&self, schema: &ResourceSchema) -> Option<&'static Attribute> {
        let attribute = schema.attribute(self.urn.as_deref(), &self.name)?;
        match &self.sub {
            Some(sub) => attribute.sub_attribute(sub),
            None => Some(attribute),
        }
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(urn) = &self.urn {
            write!(formatter, "{urn}:")?;
        }
        formatter.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(formatter, ".{sub}")?;
        }
        Ok(())
    }
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl std::fmt::Display for Literal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::String(text) => write!(formatter, "{}", Value::from(text.as_str())),
            Literal::Bool(value) => write!(formatter, "{value}"),
            Literal::Number(number) => write!(formatter, "{number}"),
            Literal::Null => formatter.write_str("null"),
        }
    }
}

/// The filter in the grammar, each `and`, `or` and `not` in parentheses: parsing it gives the same tree.
impl std::fmt::Display for Filter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(formatter, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(formatter, "{path} pr"),
            Filter::And(left, right) => write!(formatter, "({left} and {right})"),
            Filter::Or(left, right) => write!(formatter, "({left} or {right})"),
            Filter::Not(inner) => write!(formatter, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(formatter, "{path}[{filter}]"),
        }
    }
}

/// ATTRNAME = ALPHA *("-" / "_" / DIGIT / ALPHA), and `$ref`.
pub(super) fn check_name(name: &str, whole: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name == "$ref"
        || (chars.next().is_some_and(|first| first.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if valid { Ok(()) } else { Err(format!("\"{whole}\" is not an attribute path")) }
}

impl Filter {
    /// Parses a filter; a mistake is `invalidFilter` with a detail that says where.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        Self::parse_inner(text, false).map_err(|detail| ScimError::invalid_filter(format!("filter: {detail}")))
    }

    /// Parses the filter of a value path (`emails[...]`), whose paths are sub-attributes.
    pub(crate) fn parse_inner(text: &str, in_brackets: bool) -> Result<Filter, String> {
        super::filter_parse::parse(text, in_brackets)
    }

    /// Parses a filter and checks it against the resource type: comparing a boolean or binary attribute
    /// by order (`gt`, `ge`, `lt`, `le`) is `invalidFilter` (RFC 7644 §3.4.2.2).
    pub fn parse_for(text: &str, schema: &ResourceSchema) -> Result<Filter, ScimError> {
        let filter = Self::parse(text)?;
        filter.check(&Scope::Resource(schema))?;
        Ok(filter)
    }

    fn check(&self, scope: &Scope) -> Result<(), ScimError> {
        match self {
            Filter::Compare { path, op: CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le, .. } => {
                match scope.definition(path).map(|attribute| attribute.kind) {
                    Some(AttributeType::Boolean | AttributeType::Binary | AttributeType::Complex) => {
                        Err(ScimError::invalid_filter(format!("filter: \"{path}\" cannot be compared by order")))
                    }
                    _ => Ok(()),
                }
            }
            Filter::Compare { .. } | Filter::Present(_) => Ok(()),
            Filter::And(left, right) | Filter::Or(left, right) => {
                left.check(scope)?;
                right.check(scope)
            }
            Filter::Not(inner) => inner.check(scope),
            Filter::ValuePath { path, filter } => filter.check(&Scope::Element(scope.definition(path))),
        }
    }

    /// Whether the resource matches the filter.
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema) -> bool {
        self.eval(resource, &Scope::Resource(schema))
    }

    /// Whether one value of a multi-valued attribute (an element such as an email object) matches a
    /// value filter whose paths are sub-attributes of `parent` (PATCH's `emails[type eq "work"]`).
    pub fn matches_element(&self, element: &Value, parent: Option<&'static Attribute>) -> bool {
        self.eval(element, &Scope::Element(parent))
    }

    /// `attr eq "value"` on a core attribute with a string: the attribute and the value, for an index lookup.
    pub fn equality(&self) -> Option<(&AttrPath, &str)> {
        match self {
            Filter::Compare { path, op: CompareOp::Eq, value: Literal::String(value) } => Some((path, value)),
            _ => None,
        }
    }

    fn eval(&self, container: &Value, scope: &Scope) -> bool {
        match self {
            Filter::And(left, right) => left.eval(container, scope) && right.eval(container, scope),
            Filter::Or(left, right) => left.eval(container, scope) || right.eval(container, scope),
            Filter::Not(inner) => !inner.eval(container, scope),
            Filter::Present(path) if path.sub.is_none() => scope.raw(container, path).into_iter().any(present),
            Filter::Present(path) => scope.values(container, path).0.into_iter().any(present),
            Filter::Compare { path, op: CompareOp::Ne, value } => {
                !compare_any(container, scope, path, CompareOp::Eq, value)
            }
            Filter::Compare { path, op, value } => compare_any(container, scope, path, *op, value),
            Filter::ValuePath { path, filter } => {
                let definition = scope.definition(path);
                let inner = Scope::Element(definition);
                scope.raw(container, path).into_iter().any(|element| filter.eval(element, &inner))
            }
        }
    }
}

/// Where paths are looked up: a resource, or an element of a multi-valued attribute.
enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(Option<&'static Attribute>),
}

fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object.as_object()?.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)
}

fn flatten<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

/// Whether any value at the path compares true; `eq null` is true when there is no value.
fn compare_any(container: &Value, scope: &Scope, path: &AttrPath, op: CompareOp, literal: &Literal) -> bool {
    let (values, definition) = scope.values(container, path);
    match literal {
        Literal::Null => op == CompareOp::Eq && values.iter().all(|value| value.is_null()),
        _ => values.iter().any(|candidate| compare(candidate, op, literal, definition)),
    }
}

impl Scope<'_> {
    fn definition(&self, path: &AttrPath) -> Option<&'static Attribute> {
        let attribute = match self {
            Scope::Resource(schema) => schema.attribute(path.urn.as_deref(), &path.name)?,
            Scope::Element(parent) => (*parent)?.sub_attribute(&path.name)?,
        };
        match &path.sub {
            Some(sub) => attribute.sub_attribute(sub),
            None => Some(attribute),
        }
    }

    /// The attribute's value itself (before the sub-attribute), as a list of its values.
    fn raw<'v>(&self, container: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
        let holder = match (self, &path.urn) {
            (Scope::Resource(schema), Some(urn)) if !schema.core.id.eq_ignore_ascii_case(urn) => field(container, urn),
            _ => Some(container),
        };
        let mut out = Vec::new();
        if let Some(value) = holder.and_then(|holder| field(holder, &path.name)) {
            flatten(value, &mut out);
        }
        out
    }

    /// The values a path names, flattened, and the definition they follow. A complex value compared whole
    /// (`emails co "@x"`) stands for its `value` sub-attribute.
    fn values<'v>(&self, container: &'v Value, path: &AttrPath) -> (Vec<&'v Value>, Option<&'static Attribute>) {
        let mut definition = self.definition(path);
        let mut values = self.raw(container, path);
        if let Some(sub) = &path.sub {
            let mut out = Vec::new();
            for value in values {
                if let Some(inner) = field(value, sub) {
                    flatten(inner, &mut out);
                }
            }
            values = out;
        } else if values.iter().any(|value| value.is_object()) {
            values = values.into_iter().filter_map(|value| field(value, "value")).collect();
            definition = definition.and_then(|attribute| attribute.sub_attribute("value"));
        }
        (values, definition)
    }
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => fields.values().any(present),
        _ => true,
    }
}

fn compare(candidate: &Value, op: CompareOp, literal: &Literal, definition: Option<&Attribute>) -> bool {
    let kind = definition.map(|attribute| attribute.kind);
    let ordering = match (candidate, literal) {
        (Value::String(have), Literal::String(want)) => {
            if kind == Some(AttributeType::DateTime)
                && let (Ok(have), Ok(want)) = (Timestamp::parse_rfc3339(have), Timestamp::parse_rfc3339(want))
            {
                have.cmp(&want)
            } else {
                let case_exact = definition.is_some_and(|attribute| attribute.case_exact);
                let (have, want) =
                    if case_exact { (have.clone(), want.clone()) } else { (have.to_lowercase(), want.to_lowercase()) };
                return match op {
                    CompareOp::Co => have.contains(&want),
                    CompareOp::Sw => have.starts_with(&want),
                    CompareOp::Ew => have.ends_with(&want),
                    _ => ordered(op, have.cmp(&want)),
                };
            }
        }
        (Value::Bool(have), Literal::Bool(want)) => return op == CompareOp::Eq && have == want,
        // A boolean compared with "true" or "false" as a string, as some clients write it.
        (Value::Bool(have), Literal::String(want)) => {
            return op == CompareOp::Eq && bool_word(want) == Some(*have);
        }
        (Value::Number(have), Literal::Number(want)) => match (have.as_f64(), want.as_f64()) {
            (Some(have), Some(want)) => have.partial_cmp(&want).unwrap_or(Ordering::Equal),
            _ => return false,
        },
        _ => return false,
    };
    ordered(op, ordering)
}

fn bool_word(word: &str) -> Option<bool> {
    if word.eq_ignore_ascii_case("true") {
        Some(true)
    } else if word.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn ordered(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        // Substring operators apply to strings only, handled before.
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
