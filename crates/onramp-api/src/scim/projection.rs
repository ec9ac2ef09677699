//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to a resource as JSON.
//!
//! Both are comma-separated lists of attribute paths, URN-qualified or not (`userName`, `name.givenName`,
//! `urn:...:enterprise:2.0:User:department`, or an extension's URN for all of it). What each attribute's
//! `returned` says (RFC 7643 §7) comes first: `always` (`id`, and `schemas`) is kept whatever the lists say,
//! `never` (`password`) is never sent, `request` only when `attributes` names it. With `attributes`, only
//! the named attributes are kept; with `excludedAttributes` alone, the named ones are dropped.

use serde_json::{Map, Value};

use super::attributes::{Attribute, ResourceSchema, Returned};
use super::error::{ScimError, ScimResult};
use super::filter::AttrPath;

/// One entry of either list, resolved against the resource type.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Selector {
    /// A whole extension by its URN.
    Extension(&'static str),
    /// An attribute of the core schema (`urn: None`) or of an extension, and maybe one sub-attribute.
    Attribute { urn: Option<&'static str>, name: String, sub: Option<String> },
}

/// The parsed `attributes` and `excludedAttributes` of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Vec<Selector>,
    excluded: Vec<Selector>,
}

fn parse_list(list: Option<&str>, parameter: &str, schema: &ResourceSchema) -> ScimResult<Vec<Selector>> {
    let mut selectors = Vec::new();
    for entry in list.unwrap_or("").split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        if let Some(extension) = schema.extension(entry) {
            selectors.push(Selector::Extension(extension.id));
            continue;
        }
        let path = AttrPath::parse(entry).map_err(|why| ScimError::invalid_value(format!("{parameter}: {why}")))?;
        let urn = match &path.urn {
            None => None,
            Some(urn) => match schema.schema(urn) {
                Some(found) if found.id == schema.core.id => None,
                Some(found) => Some(found.id),
                // A schema this resource type does not have names nothing here.
                None => continue,
            },
        };
        selectors.push(Selector::Attribute { urn, name: path.name, sub: path.sub });
    }
    Ok(selectors)
}

impl Projection {
    /// Parses the two query parameters; an entry that is not an attribute path is `invalidValue`.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>, schema: &ResourceSchema) -> ScimResult<Self> {
        Ok(Projection {
            attributes: parse_list(attributes, "attributes", schema)?,
            excluded: parse_list(excluded, "excludedAttributes", schema)?,
        })
    }

    /// Only what `returned` asks: `never` and `request` attributes dropped.
    pub fn default_set() -> Self {
        Projection::default()
    }

    /// The resource as the request asks to see it.
    pub fn apply(&self, resource: &Value, schema: &ResourceSchema) -> Value {
        let Some(fields) = resource.as_object() else { return resource.clone() };
        let mut out = Map::new();
        for (key, value) in fields {
            if key.eq_ignore_ascii_case("schemas") {
                out.insert(key.clone(), value.clone());
            } else if let Some(extension) = schema.extension(key) {
                let Some(inner) = value.as_object() else { continue };
                let kept = self.level(inner, Some(extension.id), schema);
                if !kept.is_empty() {
                    out.insert(key.clone(), Value::Object(kept));
                }
            } else if let Some(kept) = self.attribute(key, value, None, schema) {
                out.insert(key.clone(), kept);
            }
        }
        // `schemas` lists only the extensions still in the answer.
        if let Some(Value::Array(urns)) = out.get("schemas").cloned() {
            let listed = urns
                .into_iter()
                .filter(|urn| match urn.as_str().and_then(|urn| schema.extension(urn)) {
                    Some(extension) => out.keys().any(|key| key.eq_ignore_ascii_case(extension.id)),
                    None => true,
                })
                .collect();
            out.insert("schemas".to_string(), Value::Array(listed));
        }
        Value::Object(out)
    }

    fn level(
        &self,
        fields: &Map<String, Value>,
        urn: Option<&'static str>,
        schema: &ResourceSchema,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in fields {
            if let Some(kept) = self.attribute(key, value, urn, schema) {
                out.insert(key.clone(), kept);
            }
        }
        out
    }

    /// One top-level attribute as it is answered, or `None` when it is left out.
    fn attribute(
        &self,
        name: &str,
        value: &Value,
        urn: Option<&'static str>,
        schema: &ResourceSchema,
    ) -> Option<Value> {
        let definition = schema.attribute(urn, name);
        let returned = definition.map_or(Returned::Default, |attribute| attribute.returned);
        match returned {
            Returned::Never => return None,
            Returned::Always => return Some(value.clone()),
            Returned::Default | Returned::Request => {}
        }
        let names = |selector: &Selector| match selector {
            Selector::Extension(extension) => urn == Some(*extension),
            Selector::Attribute { urn: selected, name: selected_name, .. } => {
                *selected == urn && selected_name.eq_ignore_ascii_case(name)
            }
        };
        let subs = |list: &[Selector]| -> Option<Vec<String>> {
            // None: the whole attribute is named; Some(subs): only these sub-attributes are.
            let mut named = Vec::new();
            for selector in list.iter().filter(|selector| names(selector)) {
                match selector {
                    Selector::Attribute { sub: Some(sub), .. } => named.push(sub.clone()),
                    _ => return None,
                }
            }
            Some(named)
        };
        if !self.attributes.is_empty() {
            if !self.attributes.iter().any(names) {
                return None;
            }
            return match subs(&self.attributes) {
                None => Some(strip(value, definition, &[], false)),
                Some(only) => non_empty(strip(value, definition, &only, true)),
            };
        }
        if returned == Returned::Request {
            return None;
        }
        match subs(&self.excluded) {
            None => None,
            Some(dropped) if dropped.is_empty() => Some(strip(value, definition, &[], false)),
            Some(dropped) => non_empty(strip(value, definition, &dropped, false)),
        }
    }
}

fn non_empty(value: Value) -> Option<Value> {
    match &value {
        Value::Object(fields) if fields.is_empty() => None,
        Value::Array(items) if items.iter().all(|item| item.as_object().is_some_and(Map::is_empty)) => None,
        _ => Some(value),
    }
}

/// The sub-attributes of a complex value (of each value, for a multi-valued one) that are answered:
/// `keep` true keeps only `listed` (and `always` ones), false drops `listed`; `never` ones are dropped.
fn strip(value: &Value, definition: Option<&Attribute>, listed: &[String], keep: bool) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|item| strip(item, definition, listed, keep)).collect()),
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, inner) in fields {
                let returned = definition.and_then(|attribute| attribute.sub_attribute(key)).map(|sub| sub.returned);
                let is_listed = listed.iter().any(|name| name.eq_ignore_ascii_case(key));
                let answered = match returned {
                    Some(Returned::Never) => false,
                    Some(Returned::Always) => true,
                    _ if keep => is_listed,
                    Some(Returned::Request) => false,
                    _ => !is_listed,
                };
                if answered {
                    out.insert(key.clone(), inner.clone());
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::attributes::{ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, USER_RESOURCE, USER_SCHEMA};
    use crate::scim::error::ScimType;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "2819c223",
            "externalId": "701984",
            "userName": "bjensen",
            "password": "t1meMa$heen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work"}, {"value": "b@jensen.org", "type": "home"}],
            "meta": {"resourceType": "User", "version": "W/\"3\""},
            ENTERPRISE_USER_SCHEMA: {"department": "Tours", "employeeNumber": "42"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(attributes, excluded, &USER_RESOURCE).unwrap().apply(&user(), &USER_RESOURCE)
    }

    #[test]
    fn by_default_never_returned_attributes_are_dropped() {
        let mut expected = user();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(project(None, None), expected);
        assert_eq!(Projection::default_set().apply(&user(), &USER_RESOURCE), expected);
    }

    #[test]
    fn attributes_keep_only_those_named_and_the_always_returned() {
        assert_eq!(
            project(Some("userName"), None),
            json!({"schemas": [USER_SCHEMA], "id": "2819c223", "userName": "bjensen"})
        );
        assert_eq!(
            project(Some(" USERNAME , name.familyName,emails.value"), None),
            json!({"schemas": [USER_SCHEMA], "id": "2819c223", "userName": "bjensen", "name": {"familyName": "Jensen"},
                   "emails": [{"value": "b@example.com"}, {"value": "b@jensen.org"}]})
        );
        assert_eq!(
            project(Some("password"), None),
            json!({"schemas": [USER_SCHEMA], "id": "2819c223"}),
            "never is never"
        );
        assert_eq!(project(Some("id"), None), json!({"schemas": [USER_SCHEMA], "id": "2819c223"}));
    }

    #[test]
    fn urn_qualified_names_and_whole_extensions() {
        assert_eq!(
            project(
                Some(
                    "urn:ietf:params:scim:schemas:core:2.0:User:userName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
                ),
                None
            ),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "2819c223", "userName": "bjensen",
                   ENTERPRISE_USER_SCHEMA: {"department": "Tours"}})
        );
        assert_eq!(
            project(Some(ENTERPRISE_USER_SCHEMA), None),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "2819c223",
                   ENTERPRISE_USER_SCHEMA: {"department": "Tours", "employeeNumber": "42"}})
        );
        assert_eq!(
            project(Some("department"), None),
            json!({"schemas": [USER_SCHEMA], "id": "2819c223"}),
            "needs its URN"
        );
        let without = project(None, Some(ENTERPRISE_USER_SCHEMA));
        assert!(without.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(without["schemas"], json!([USER_SCHEMA]));
        let no_department =
            project(None, Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"));
        assert_eq!(no_department[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "42"}));
    }

    #[test]
    fn excluded_attributes_drop_all_but_the_always_returned() {
        let projected = project(None, Some("emails,name.givenName,id,meta"));
        assert!(projected.get("emails").is_none() && projected.get("meta").is_none());
        assert_eq!(projected["name"], json!({"familyName": "Jensen"}));
        assert_eq!(projected["id"], "2819c223", "id is always returned");
        assert_eq!(projected["userName"], "bjensen");
        let emails_type = project(None, Some("emails.type"));
        assert_eq!(emails_type["emails"], json!([{"value": "b@example.com"}, {"value": "b@jensen.org"}]));
    }

    #[test]
    fn bad_entries_are_invalid_values() {
        let error = Projection::parse(Some("userName,1bad"), None, &USER_RESOURCE).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
        assert!(error.detail.starts_with("attributes:"), "{}", error.detail);
        let error = Projection::parse(None, Some("a.b.c"), &USER_RESOURCE).unwrap_err();
        assert!(error.detail.starts_with("excludedAttributes:"), "{}", error.detail);
    }

    #[test]
    fn groups_and_unknown_attributes() {
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "Guides",
                           "members": [{"value": "u1", "display": "Babs"}]});
        let projected =
            Projection::parse(None, Some("members"), &GROUP_RESOURCE).unwrap().apply(&group, &GROUP_RESOURCE);
        assert_eq!(
            projected,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "Guides"})
        );
        let projected =
            Projection::parse(Some("members.value"), None, &GROUP_RESOURCE).unwrap().apply(&group, &GROUP_RESOURCE);
        assert_eq!(projected["members"], json!([{"value": "u1"}]));
        let custom = json!({"id": "x", "custom": 1});
        assert_eq!(
            Projection::default_set().apply(&custom, &USER_RESOURCE),
            custom,
            "an attribute without a definition is returned by default"
        );
    }
}
