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

/// The deepest nesting of parentheses, `not` and value filters a filter may have.
const MAX_DEPTH: usize = 32;

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
fn check_name(name: &str, whole: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name == "$ref"
        || (chars.next().is_some_and(|first| first.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if valid { Ok(()) } else { Err(format!("\"{whole}\" is not an attribute path")) }
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        let op = match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        };
        Some(op)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Text(String),
}

fn describe(token: Option<&(usize, Token)>) -> String {
    match token {
        None => "the end".to_string(),
        Some((_, Token::Open)) => "\"(\"".to_string(),
        Some((_, Token::Close)) => "\")\"".to_string(),
        Some((_, Token::OpenBracket)) => "\"[\"".to_string(),
        Some((_, Token::CloseBracket)) => "\"]\"".to_string(),
        Some((_, Token::Word(word))) => format!("\"{word}\""),
        Some((_, Token::Text(text))) => format!("the string {}", Value::from(text.as_str())),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '(' => Token::Open,
            ')' => Token::Close,
            '[' => Token::OpenBracket,
            ']' => Token::CloseBracket,
            '"' => {
                let mut end = None;
                while let Some((index, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = Some(index);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| format!("the string at position {start} has no closing quote"))?;
                let decoded: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| format!("the string at position {start} is not a valid JSON string"))?;
                Token::Text(decoded)
            }
            _ => {
                let mut end = start + c.len_utf8();
                while let Some(&(index, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    end = index + c.len_utf8();
                    chars.next();
                }
                Token::Word(text[start..end].to_string())
            }
        };
        tokens.push((start, token));
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.next)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some((_, Token::Word(word))) if word.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, expected: Token, what: &str) -> Result<(), String> {
        match self.peek() {
            Some((_, token)) if *token == expected => {
                self.next += 1;
                Ok(())
            }
            other => Err(format!("expected {what}, found {}", describe(other))),
        }
    }

    fn operator_follows(&self) -> bool {
        match self.tokens.get(self.next + 1) {
            Some((_, Token::Word(word))) => word.eq_ignore_ascii_case("pr") || CompareOp::parse(word).is_some(),
            Some((_, Token::OpenBracket)) => true,
            _ => false,
        }
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(format!("nested deeper than {MAX_DEPTH} levels")) } else { Ok(()) }
    }

    fn or(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.and(in_brackets)?;
        while self.peek_keyword("or") {
            self.next += 1;
            let right = self.and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.unary(in_brackets)?;
        while self.peek_keyword("and") {
            self.next += 1;
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, String> {
        self.deeper()?;
        let filter = match self.peek() {
            Some((_, Token::Open)) => {
                self.next += 1;
                let inner = self.or(in_brackets)?;
                self.expect(Token::Close, "\")\"")?;
                inner
            }
            // `not` before an operator or "[" is an attribute named "not".
            Some((_, Token::Word(word))) if word.eq_ignore_ascii_case("not") && !self.operator_follows() => {
                self.next += 1;
                Filter::Not(Box::new(self.unary(in_brackets)?))
            }
            Some((_, Token::Word(_))) => self.attribute_expression(in_brackets)?,
            other => return Err(format!("expected an attribute path, \"(\" or \"not\", found {}", describe(other))),
        };
        self.depth -= 1;
        Ok(filter)
    }

    fn attribute_expression(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let Some((_, Token::Word(word))) = self.peek().cloned() else { unreachable!("checked by unary") };
        self.next += 1;
        let path = AttrPath::parse(&word)?;
        if let Some((_, Token::OpenBracket)) = self.peek() {
            if in_brackets {
                return Err(format!("a value filter cannot be nested inside another, at \"{word}[\""));
            }
            if path.sub.is_some() {
                return Err(format!("a value filter applies to an attribute, not the sub-attribute \"{word}\""));
            }
            self.next += 1;
            let mut inner = self.or(true)?;
            self.expect(Token::CloseBracket, "\"]\"")?;
            // `emails[type eq "work"].value eq "x"`, as Entra ID matches users, is
            // `emails[type eq "work" and value eq "x"]`.
            if let Some((_, Token::Word(sub))) = self.peek().cloned()
                && let Some(sub) = sub.strip_prefix('.')
            {
                self.next += 1;
                let sub = sub.to_string();
                check_name(&sub, &format!("{word}[...].{sub}"))?;
                let condition = self.condition(AttrPath::simple(&sub), &format!("{word}[...].{sub}"))?;
                inner = Filter::And(Box::new(inner), Box::new(condition));
            }
            return Ok(Filter::ValuePath { path, filter: Box::new(inner) });
        }
        self.condition(path, &word)
    }

    /// The operator and value after an attribute path (`word` as written, for the messages).
    fn condition(&mut self, path: AttrPath, word: &str) -> Result<Filter, String> {
        let operator = match self.peek() {
            Some((_, Token::Word(operator))) => operator.clone(),
            other => return Err(format!("expected an operator after \"{word}\", found {}", describe(other))),
        };
        self.next += 1;
        if operator.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&operator)
            .ok_or_else(|| format!("\"{operator}\" is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"))?;
        let value = match self.peek() {
            Some((_, Token::Text(text))) => Literal::String(text.clone()),
            Some((_, Token::Word(word))) => literal_word(word).ok_or_else(|| {
                format!("\"{word}\" is not a value: quote a string, or give true, false, null or a number")
            })?,
            other => {
                return Err(format!("expected a value after \"{word} {operator}\", found {}", describe(other)));
            }
        };
        self.next += 1;
        Ok(Filter::Compare { path, op, value })
    }
}

fn literal_word(word: &str) -> Option<Literal> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        "null" => Some(Literal::Null),
        _ => serde_json::from_str::<Number>(word).ok().map(Literal::Number),
    }
}

impl Filter {
    /// Parses a filter; a mistake is `invalidFilter` with a detail that says where.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        Self::parse_inner(text, false).map_err(|detail| ScimError::invalid_filter(format!("filter: {detail}")))
    }

    /// Parses the filter of a value path (`emails[...]`), whose paths are sub-attributes.
    pub(crate) fn parse_inner(text: &str, in_brackets: bool) -> Result<Filter, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err("it is empty".to_string());
        }
        let mut parser = Parser { tokens, next: 0, depth: 0 };
        let filter = parser.or(in_brackets)?;
        match parser.peek() {
            None => Ok(filter),
            Some((position, _)) => {
                let found = describe(parser.peek());
                Err(format!("unexpected {found} at position {position}; join expressions with \"and\" or \"or\""))
            }
        }
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
            Filter::Present(path) if path.sub.is_none() => scope.raw(container, path).iter().any(present),
            Filter::Present(path) => scope.values(container, path).0.iter().any(present),
            Filter::Compare { path, op: CompareOp::Ne, value } => {
                let eq = Filter::Compare { path: path.clone(), op: CompareOp::Eq, value: value.clone() };
                !eq.eval(container, scope)
            }
            Filter::Compare { path, op, value: Literal::Null } => {
                let (values, _) = scope.values(container, path);
                *op == CompareOp::Eq && values.iter().all(|value| value.is_null())
            }
            Filter::Compare { path, op, value } => {
                let (values, definition) = scope.values(container, path);
                values.iter().any(|candidate| compare(candidate, *op, value, definition))
            }
            Filter::ValuePath { path, filter } => {
                let definition = scope.definition(path);
                let inner = Scope::Element(definition);
                scope.raw(container, path).iter().any(|element| filter.eval(element, &inner))
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

fn flatten(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(other.clone()),
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
    fn raw(&self, container: &Value, path: &AttrPath) -> Vec<Value> {
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
    fn values(&self, container: &Value, path: &AttrPath) -> (Vec<Value>, Option<&'static Attribute>) {
        let mut definition = self.definition(path);
        let mut values = self.raw(container, path);
        if let Some(sub) = &path.sub {
            let mut out = Vec::new();
            for value in &values {
                if let Some(inner) = field(value, sub) {
                    flatten(inner, &mut out);
                }
            }
            values = out;
        } else if values.iter().any(Value::is_object) {
            values = values.iter().filter_map(|value| field(value, "value").cloned()).collect();
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
