//! Update masks (`google.protobuf.FieldMask` in protojson): one comma-separated string of paths
//! (`"displayName,description"`) or `{"paths": [...]}`, with camelCase or snake_case paths; and the user
//! expand mask of searches and introspection.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

/// The paths of a mask, each one of `updatable` (in its camelCase spelling); an unknown or read-only path is
/// refused by name, saying it is not an updatable field of `object` ("app", "user").
pub fn parse_mask(mask: &Value, updatable: &[&'static str], object: &str) -> Result<Vec<&'static str>, ApiError> {
    let raw: Vec<String> = match mask {
        Value::Null => Vec::new(),
        Value::String(text) => text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect(),
        Value::Object(object) => match object.get("paths") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(paths)) => paths
                .iter()
                .map(|p| p.as_str().map(|p| p.trim().to_string()))
                .collect::<Option<_>>()
                .ok_or_else(|| ApiError::invalid_field("updateMask.paths", "must be strings"))?,
            Some(_) => return Err(ApiError::invalid_field("updateMask.paths", "must be a list of strings")),
        },
        _ => return Err(ApiError::invalid_field("updateMask", "must be a comma-separated string of field paths")),
    };
    raw.iter()
        .map(|path| {
            let camel = snake_to_camel(path);
            updatable.iter().copied().find(|known| *known == camel).ok_or_else(|| {
                ApiError::invalid_field("updateMask", format!("{path:?} is not an updatable {object} field"))
            })
        })
        .collect()
}

fn snake_to_camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// A user expand mask, `{"paths": ["role_ids", "manager_ids", "delegated_user_id", "directory_ids"]}` or
/// `["*"]`; an unknown path is refused naming it.
#[derive(Deserialize, Default, Debug, Clone, JsonSchema)]
#[serde(default)]
pub struct ExpandMask {
    #[serde(deserialize_with = "expand_paths")]
    pub paths: Option<Vec<String>>,
}

pub const EXPAND_PATHS: &[&str] = &["*", "role_ids", "manager_ids", "delegated_user_id", "directory_ids"];

fn expand_paths<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    let paths = Option::<Vec<String>>::deserialize(deserializer)?;
    if let Some(unknown) = paths.iter().flatten().find(|p| !EXPAND_PATHS.contains(&p.as_str())) {
        return Err(serde::de::Error::custom(format!(
            "unknown expand path {unknown:?}; the paths are {}",
            EXPAND_PATHS.join(", ")
        )));
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FIELDS: [&str; 2] = ["displayName", "iconUrl"];

    #[test]
    fn both_forms_and_spellings() {
        assert_eq!(parse_mask(&json!("displayName, icon_url"), &FIELDS, "app").unwrap(), FIELDS);
        assert_eq!(parse_mask(&json!({"paths": ["iconUrl"]}), &FIELDS, "app").unwrap(), ["iconUrl"]);
        assert!(parse_mask(&json!(null), &FIELDS, "app").unwrap().is_empty());
        assert!(parse_mask(&json!({"paths": null}), &FIELDS, "app").unwrap().is_empty());
    }

    #[test]
    fn refusals_name_the_mask() {
        for bad in [json!("id"), json!("displayName,nope"), json!(5), json!({"paths": "x"}), json!({"paths": [1]})] {
            let error = parse_mask(&bad, &FIELDS, "app").unwrap_err();
            assert!(error.message.contains("updateMask"), "{bad}: {}", error.message);
        }
        let error = parse_mask(&json!("id"), &FIELDS, "app").unwrap_err();
        assert!(error.message.contains("not an updatable app field"), "{}", error.message);
    }
}
