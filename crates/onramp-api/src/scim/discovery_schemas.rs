//! The schemas of the discovery documents themselves (RFC 7643 §8.7.2): `ServiceProviderConfig`,
//! `ResourceType` and `Schema`, listed by `/Schemas` after the resources' schemas. Every attribute is
//! read-only: a client reads these documents, never writes them.

use super::attributes::AttributeType::{Boolean, Complex, Integer, Reference, String as Text};
use super::attributes::{Attribute, Mutability::ReadOnly, Schema};

const fn read_only(name: &'static str, kind: super::attributes::AttributeType, description: &'static str) -> Attribute {
    Attribute::new(name, kind, description).mutability(ReadOnly)
}

const SUPPORTED: Attribute = read_only("supported", Boolean, "Whether the operation is supported.").required();

const BULK: &[Attribute] = &[
    SUPPORTED,
    read_only("maxOperations", Integer, "The most operations in one bulk request.").required(),
    read_only("maxPayloadSize", Integer, "The longest bulk request body, in bytes.").required(),
];

const FILTER: &[Attribute] =
    &[SUPPORTED, read_only("maxResults", Integer, "The most resources one answer holds.").required()];

const AUTHENTICATION_SCHEMES: &[Attribute] = &[
    read_only("type", Text, "The type of the scheme, such as 'oauthbearertoken'.").required().canonical(&[
        "oauth",
        "oauth2",
        "oauthbearertoken",
        "httpbasic",
        "httpdigest",
    ]),
    read_only("name", Text, "The common name of the scheme.").required(),
    read_only("description", Text, "A description of the scheme.").required(),
    read_only("specUri", Reference, "The URL of the scheme's specification.").references(&["external"]),
    read_only("documentationUri", Reference, "The URL of the scheme's documentation.").references(&["external"]),
    read_only("primary", Boolean, "Whether this is the preferred scheme."),
];

const SERVICE_PROVIDER_CONFIG_ATTRIBUTES: &[Attribute] = &[
    read_only("documentationUri", Reference, "The URL of the service provider's help.").references(&["external"]),
    read_only("patch", Complex, "PATCH support.").required().subs(&[SUPPORTED]),
    read_only("bulk", Complex, "Bulk support and its limits.").required().subs(BULK),
    read_only("filter", Complex, "Filter support and its limit.").required().subs(FILTER),
    read_only("changePassword", Complex, "Password change support.").required().subs(&[SUPPORTED]),
    read_only("sort", Complex, "Sorting support.").required().subs(&[SUPPORTED]),
    read_only("etag", Complex, "ETag support.").required().subs(&[SUPPORTED]),
    read_only("authenticationSchemes", Complex, "The ways a client authenticates.")
        .multi()
        .required()
        .subs(AUTHENTICATION_SCHEMES),
];

const SCHEMA_EXTENSIONS: &[Attribute] = &[
    read_only("schema", Reference, "The URI of an extension schema.").required().case_exact().references(&["uri"]),
    read_only("required", Boolean, "Whether a resource must carry the extension.").required(),
];

const RESOURCE_TYPE_ATTRIBUTES: &[Attribute] = &[
    read_only("id", Text, "The resource type's identifier."),
    read_only("name", Text, "The resource type's name, such as 'User'.").required(),
    read_only("description", Text, "A description of the resource type."),
    read_only("endpoint", Reference, "The endpoint of the resources, relative to the base URL.")
        .required()
        .references(&["uri"]),
    read_only("schema", Reference, "The URI of the core schema.").required().case_exact().references(&["uri"]),
    read_only("schemaExtensions", Complex, "The extension schemas of the resource type.")
        .multi()
        .subs(SCHEMA_EXTENSIONS),
];

/// The characteristics of an attribute definition (RFC 7643 §7), without `subAttributes`.
const fn characteristics() -> [Attribute; 11] {
    [
        read_only("name", Text, "The attribute's name.").required().case_exact(),
        read_only("type", Text, "The attribute's data type.").required().canonical(&[
            "string",
            "complex",
            "boolean",
            "decimal",
            "integer",
            "dateTime",
            "reference",
            "binary",
        ]),
        read_only("multiValued", Boolean, "Whether the attribute holds a list.").required(),
        read_only("description", Text, "A description of the attribute."),
        read_only("required", Boolean, "Whether the attribute must have a value."),
        read_only("canonicalValues", Text, "Suggested values.").multi(),
        read_only("caseExact", Boolean, "Whether string values compare with case."),
        read_only("mutability", Text, "Whether and when the attribute may be written.").canonical(&[
            "readOnly",
            "readWrite",
            "immutable",
            "writeOnly",
        ]),
        read_only("returned", Text, "When the attribute is returned.")
            .canonical(&["always", "never", "default", "request"]),
        read_only("uniqueness", Text, "How the attribute's value is unique.").canonical(&["none", "server", "global"]),
        read_only("referenceTypes", Text, "The types of resource a reference may point at.").multi(),
    ]
}

const SUB_ATTRIBUTE_CHARACTERISTICS: [Attribute; 11] = characteristics();

/// An attribute's characteristics and its `subAttributes`, which have the same characteristics but no
/// `subAttributes` of their own (SCIM nests one level).
const ATTRIBUTE_CHARACTERISTICS: &[Attribute] = &{
    let base = characteristics();
    let sub = read_only("subAttributes", Complex, "The sub-attributes of a complex attribute.")
        .multi()
        .subs(&SUB_ATTRIBUTE_CHARACTERISTICS);
    [base[0], base[1], base[2], base[3], base[4], base[5], base[6], base[7], base[8], base[9], base[10], sub]
};

const SCHEMA_ATTRIBUTES: &[Attribute] = &[
    read_only("id", Text, "The schema's URI.").required(),
    read_only("name", Text, "The schema's name, such as 'User'.").required(),
    read_only("description", Text, "A description of the schema."),
    read_only("attributes", Complex, "The schema's attributes.").multi().required().subs(ATTRIBUTE_CHARACTERISTICS),
];

pub static SERVICE_PROVIDER_CONFIG: Schema = Schema {
    id: "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
    // RFC 7643 §8.7.2 names it "Service Provider Configuration"; the conformance suite scim2-tester
    // looks for the three discovery schemas by the names "ServiceProviderConfig", "ResourceType" and
    // "Schema", so it is named like its resource type.
    name: "ServiceProviderConfig",
    description: "The service provider's configuration",
    attributes: SERVICE_PROVIDER_CONFIG_ATTRIBUTES,
};

pub static RESOURCE_TYPE: Schema = Schema {
    id: "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
    name: "ResourceType",
    description: "A type of resource the service provider serves",
    attributes: RESOURCE_TYPE_ATTRIBUTES,
};

pub static SCHEMA: Schema = Schema {
    id: "urn:ietf:params:scim:schemas:core:2.0:Schema",
    name: "Schema",
    description: "The attributes of a schema",
    attributes: SCHEMA_ATTRIBUTES,
};

/// The three, in the order `/Schemas` lists them.
pub static DISCOVERY_SCHEMAS: [&Schema; 3] = [&SERVICE_PROVIDER_CONFIG, &RESOURCE_TYPE, &SCHEMA];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_discovery_schemas_are_read_only_and_nest_one_level() {
        fn all_read_only(attributes: &[Attribute]) -> bool {
            attributes
                .iter()
                .all(|attribute| attribute.mutability == ReadOnly && all_read_only(attribute.sub_attributes))
        }
        for schema in DISCOVERY_SCHEMAS {
            assert!(all_read_only(schema.attributes), "{}", schema.name);
        }
        let attributes = SCHEMA.attribute("attributes").unwrap();
        let sub_attributes = attributes.sub_attribute("subAttributes").unwrap();
        assert_eq!(sub_attributes.sub_attributes.len(), 11);
        assert!(sub_attributes.sub_attribute("subAttributes").is_none());
        assert_eq!(
            SERVICE_PROVIDER_CONFIG.attribute("bulk").unwrap().sub_attribute("maxOperations").unwrap().kind,
            Integer
        );
        assert!(RESOURCE_TYPE.attribute("schema").unwrap().case_exact);
    }
}
