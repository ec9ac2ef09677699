//! TEMPORARY until the scimparts branch lands projection.rs and list.rs: the smallest projection and
//! paging the routes need. Replaced by `crate::scim::projection` and `crate::scim::list`.

use serde_json::{Value, json};

use crate::scim::attributes::ResourceSchema;
use crate::scim::error::{ScimError, ScimResult};

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const MAX_COUNT: usize = 1000;

pub struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn names(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default().split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect()
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> ScimResult<Projection> {
        Ok(Projection { attributes: names(attributes), excluded: names(excluded) })
    }

    pub fn apply(&self, resource: &Value, _schema: &ResourceSchema) -> Value {
        let Some(object) = resource.as_object() else { return resource.clone() };
        let always = ["id", "schemas", "meta"];
        let out = object
            .iter()
            .filter(|(key, _)| {
                let key = key.to_ascii_lowercase();
                always.contains(&key.as_str())
                    || ((self.attributes.is_empty()
                        || self.attributes.iter().any(|a| a == &key || a.starts_with(&format!("{key}."))))
                        && !self.excluded.contains(&key))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::Object(out)
    }
}

pub struct Paging {
    start: usize,
    count: usize,
}

impl Paging {
    pub fn parse(start_index: Option<&str>, count: Option<&str>) -> ScimResult<Paging> {
        let number = |text: Option<&str>, name: &str, default: i64| -> ScimResult<i64> {
            match text {
                None => Ok(default),
                Some(text) => {
                    text.trim().parse().map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
                }
            }
        };
        let start = number(start_index, "startIndex", 1)?.max(1) as usize;
        let count = number(count, "count", MAX_COUNT as i64)?.clamp(0, MAX_COUNT as i64) as usize;
        Ok(Paging { start, count })
    }

    pub fn includes(&self, index: usize) -> bool {
        index + 1 >= self.start && index + 1 < self.start + self.count
    }

    pub fn response(&self, total: usize, resources: Vec<Value>) -> Value {
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": self.start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        })
    }
}

pub fn patched(resource: &Value, body: &Value, schema: &ResourceSchema) -> ScimResult<Value> {
    crate::scim::patch::PatchRequest::parse(body, schema)?.apply(resource, schema)
}
