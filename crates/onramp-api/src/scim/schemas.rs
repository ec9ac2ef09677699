//! The discovery documents (RFC 7643 §5, §6, §7; RFC 7644 §4): `ServiceProviderConfig`, each
//! `ResourceType` and each `Schema`, built from [`super::attributes`] and the base URL of the SCIM root
//! (for `meta.location`, e.g. `https://id.example.com/scim/v2`).

use serde_json::{Map, Value, json};

use super::attributes::{Attribute, AttributeType, RESOURCE_TYPES, ResourceSchema, SCHEMAS, Schema};
use super::discovery_schemas::DISCOVERY_SCHEMAS;

pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What the service provider announces of its limits (RFC 7643 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most operations in one `/Bulk` request.
    pub bulk_max_operations: usize,
    /// The longest `/Bulk` request body, in bytes.
    pub bulk_max_payload_size: usize,
    /// The most resources one list or search answers.
    pub filter_max_results: usize,
}

fn location(base_url: &str, path: &str) -> String {
    format!("{}/{path}", base_url.trim_end_matches('/'))
}

/// `GET /ServiceProviderConfig`: PATCH, bulk, filter and ETags supported; no password change, no sorting;
/// authentication by an OAuth bearer token (RFC 6750).
pub fn service_provider_config(base_url: &str, limits: Limits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": limits.bulk_max_operations,
            "maxPayloadSize": limits.bulk_max_payload_size,
        },
        "filter": {"supported": true, "maxResults": limits.filter_max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A provisioning token of onramp (onramp scim-token create), sent as a Bearer token.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": location(base_url, "ServiceProviderConfig"),
        },
    })
}

/// One `ResourceType` (RFC 7643 §6).
pub fn resource_type(resource: &ResourceSchema, base_url: &str) -> Value {
    let mut body = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": resource.name,
        "name": resource.name,
        "endpoint": resource.endpoint,
        "description": resource.description,
        "schema": resource.core.id,
        "meta": {
            "resourceType": "ResourceType",
            "location": location(base_url, &format!("ResourceTypes/{}", resource.name)),
        },
    });
    if !resource.extensions.is_empty() {
        let extensions: Vec<Value> = resource
            .extensions
            .iter()
            .map(|extension| json!({"schema": extension.schema.id, "required": extension.required}))
            .collect();
        body["schemaExtensions"] = Value::Array(extensions);
    }
    body
}

/// Every `ResourceType`, in order.
pub fn resource_types(base_url: &str) -> Vec<Value> {
    RESOURCE_TYPES.iter().map(|resource| resource_type(resource, base_url)).collect()
}

/// The resource type of that name (`User`, `Group`), compared without case.
pub fn find_resource_type(name: &str) -> Option<&'static ResourceSchema> {
    RESOURCE_TYPES.iter().copied().find(|resource| resource.name.eq_ignore_ascii_case(name))
}

/// One attribute's definition as RFC 7643 §7 writes it; every characteristic is given.
pub fn attribute(attribute: &Attribute) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), attribute.name.into());
    body.insert("type".into(), attribute.kind.as_str().into());
    body.insert("multiValued".into(), attribute.multi_valued.into());
    body.insert("description".into(), attribute.description.into());
    body.insert("required".into(), attribute.required.into());
    body.insert("caseExact".into(), attribute.case_exact.into());
    if !attribute.canonical_values.is_empty() {
        body.insert("canonicalValues".into(), attribute.canonical_values.into());
    }
    if attribute.kind == AttributeType::Reference {
        body.insert("referenceTypes".into(), attribute.reference_types.into());
    }
    if attribute.kind == AttributeType::Complex {
        let subs: Vec<Value> = attribute.sub_attributes.iter().map(self::attribute).collect();
        body.insert("subAttributes".into(), subs.into());
    }
    body.insert("mutability".into(), attribute.mutability.as_str().into());
    body.insert("returned".into(), attribute.returned.as_str().into());
    body.insert("uniqueness".into(), attribute.uniqueness.as_str().into());
    Value::Object(body)
}

/// One `Schema` (RFC 7643 §7, the form of §8.7.1).
pub fn schema(schema: &Schema, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": location(base_url, &format!("Schemas/{}", schema.id)),
        },
    })
}

/// Every `Schema`: the resources' (User, EnterpriseUser, Group), then the discovery documents'
/// (ServiceProviderConfig, ResourceType, Schema; RFC 7643 §8.7.2).
pub fn schemas(base_url: &str) -> Vec<Value> {
    all().map(|one| schema(one, base_url)).collect()
}

fn all() -> impl Iterator<Item = &'static Schema> {
    SCHEMAS.iter().chain(DISCOVERY_SCHEMAS.iter()).copied()
}

/// The schema of that URN, compared without case.
pub fn find_schema(id: &str) -> Option<&'static Schema> {
    all().find(|schema| schema.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::attributes::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_RESOURCE, USER_SCHEMA};

    const BASE: &str = "https://example.com/scim/v2/";

    fn find<'v>(attributes: &'v Value, name: &str) -> &'v Value {
        attributes.as_array().unwrap().iter().find(|attribute| attribute["name"] == name).unwrap()
    }

    #[test]
    fn the_service_provider_config_says_what_is_supported() {
        let limits = Limits { bulk_max_operations: 1000, bulk_max_payload_size: 1_048_576, filter_max_results: 200 };
        let config = service_provider_config(BASE, limits);
        assert_eq!(config["schemas"], json!([SERVICE_PROVIDER_CONFIG_SCHEMA]));
        assert_eq!(config["patch"], json!({"supported": true}));
        assert_eq!(config["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576}));
        assert_eq!(config["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(config["changePassword"]["supported"], false);
        assert_eq!(config["sort"]["supported"], false);
        assert_eq!(config["etag"]["supported"], true);
        assert_eq!(config["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(config["meta"]["location"], "https://example.com/scim/v2/ServiceProviderConfig");
    }

    #[test]
    fn resource_types_are_the_rfcs() {
        let types = resource_types(BASE);
        assert_eq!(
            types[0],
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": USER_SCHEMA,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
                "meta": {"resourceType": "ResourceType", "location": "https://example.com/scim/v2/ResourceTypes/User"},
            })
        );
        assert_eq!(types[1]["endpoint"], "/Groups");
        assert_eq!(types[1]["schema"], GROUP_SCHEMA);
        assert!(types[1].get("schemaExtensions").is_none());
        assert_eq!(find_resource_type("user"), Some(&USER_RESOURCE));
        assert!(find_resource_type("Device").is_none());
    }

    #[test]
    fn schemas_carry_every_characteristic() {
        let all = schemas(BASE);
        let names: Vec<&str> = all.iter().map(|one| one["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["User", "EnterpriseUser", "Group", "ServiceProviderConfig", "ResourceType", "Schema"]);
        assert_eq!(
            all[..3].iter().map(|one| one["id"].as_str().unwrap()).collect::<Vec<_>>(),
            [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]
        );
        let attributes = find(&all[5]["attributes"], "attributes");
        let nested = find(&attributes["subAttributes"], "subAttributes");
        assert_eq!(
            find(&nested["subAttributes"], "mutability")["canonicalValues"],
            json!(["readOnly", "readWrite", "immutable", "writeOnly"])
        );
        let user = &all[0];
        assert_eq!(user["name"], "User");
        assert_eq!(user["meta"]["location"], format!("https://example.com/scim/v2/Schemas/{USER_SCHEMA}"));
        assert_eq!(
            find(&user["attributes"], "userName"),
            &json!({"name": "userName", "type": "string", "multiValued": false,
                    "description": "The unique identifier the user signs in with; required, unique.",
                    "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default",
                    "uniqueness": "server"})
        );
        let emails = find(&user["attributes"], "emails");
        assert_eq!(emails["multiValued"], true);
        assert_eq!(find(&emails["subAttributes"], "type")["canonicalValues"], json!(["work", "home", "other"]));
        assert_eq!(find(&user["attributes"], "password")["returned"], "never");
        assert_eq!(find(&user["attributes"], "groups")["mutability"], "readOnly");
        let groups = &find(&user["attributes"], "groups")["subAttributes"];
        assert_eq!(find(groups, "$ref")["referenceTypes"], json!(["User", "Group"]));
        assert!(
            user["attributes"].as_array().unwrap().iter().all(|attribute| attribute["name"] != "id"),
            "common attributes belong to no schema (RFC 7643 §3.1)"
        );
        let enterprise = &all[1];
        let manager = find(&enterprise["attributes"], "manager");
        assert_eq!(find(&manager["subAttributes"], "displayName")["mutability"], "readOnly");
        assert_eq!(find(&manager["subAttributes"], "$ref")["referenceTypes"], json!(["User"]));
        let members = find(&all[2]["attributes"], "members");
        assert_eq!(find(&members["subAttributes"], "value")["mutability"], "immutable");
        assert_eq!(find_schema(&GROUP_SCHEMA.to_lowercase()).unwrap().name, "Group");
        assert_eq!(find_schema(SCHEMA_SCHEMA).unwrap().name, "Schema");
        assert_eq!(find_schema(SERVICE_PROVIDER_CONFIG_SCHEMA).unwrap().name, "ServiceProviderConfig");
        assert!(find_schema("urn:example:nothing").is_none());
    }

    #[test]
    fn every_attribute_has_every_characteristic() {
        fn check(attribute: &Value) {
            for key in [
                "name",
                "type",
                "multiValued",
                "description",
                "required",
                "caseExact",
                "mutability",
                "returned",
                "uniqueness",
            ] {
                assert!(attribute.get(key).is_some(), "{} has no {key}", attribute["name"]);
            }
            assert_eq!(attribute["type"] == "complex", attribute.get("subAttributes").is_some());
            assert_eq!(attribute["type"] == "reference", attribute.get("referenceTypes").is_some());
            attribute.get("subAttributes").and_then(Value::as_array).into_iter().flatten().for_each(check);
        }
        for one in schemas(BASE) {
            one["attributes"].as_array().unwrap().iter().for_each(check);
        }
    }
}
