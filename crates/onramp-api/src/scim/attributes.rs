//! The attribute definitions of the resources onramp serves by SCIM (RFC 7643 §2.2, §3.1, §4, §7): the User
//! and Group core schemas, the enterprise User extension and the common attributes, as typed static data.
//!
//! They are the one source of truth: `/Schemas` prints them ([`super::schemas`]), the filter reads
//! `caseExact` and the type from them ([`super::filter`]), the projection `returned` ([`super::projection`])
//! and PATCH `mutability` and the type ([`super::patch`]). Each characteristic is the one of the RFC's
//! schema representation (§8.7.1); where that representation leaves one out, the default of §2.2 applies.

/// `type` (RFC 7643 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// `mutability` (RFC 7643 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// `returned` (RFC 7643 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// `uniqueness` (RFC 7643 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Boolean => "boolean",
            AttributeType::Decimal => "decimal",
            AttributeType::Integer => "integer",
            AttributeType::DateTime => "dateTime",
            AttributeType::Binary => "binary",
            AttributeType::Reference => "reference",
            AttributeType::Complex => "complex",
        }
    }
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute or sub-attribute definition (RFC 7643 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttributeType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
}

impl Attribute {
    /// A single-valued, optional, readWrite attribute returned by default: the RFC's defaults (§2.2).
    pub const fn new(name: &'static str, kind: AttributeType, description: &'static str) -> Self {
        Attribute {
            name,
            kind,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }

    pub(super) const fn multi(self) -> Self {
        Attribute { multi_valued: true, ..self }
    }

    pub(super) const fn required(self) -> Self {
        Attribute { required: true, ..self }
    }

    pub(super) const fn case_exact(self) -> Self {
        Attribute { case_exact: true, ..self }
    }

    pub(super) const fn mutability(self, mutability: Mutability) -> Self {
        Attribute { mutability, ..self }
    }

    pub(super) const fn returned(self, returned: Returned) -> Self {
        Attribute { returned, ..self }
    }

    pub(super) const fn uniqueness(self, uniqueness: Uniqueness) -> Self {
        Attribute { uniqueness, ..self }
    }

    pub(super) const fn canonical(self, canonical_values: &'static [&'static str]) -> Self {
        Attribute { canonical_values, ..self }
    }

    pub(super) const fn references(self, reference_types: &'static [&'static str]) -> Self {
        Attribute { reference_types, ..self }
    }

    pub(super) const fn subs(self, sub_attributes: &'static [Attribute]) -> Self {
        Attribute { sub_attributes, ..self }
    }

    /// The sub-attribute of that name, compared without case (RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.sub_attributes.iter().find(|sub| sub.name.eq_ignore_ascii_case(name))
    }
}

/// A schema (RFC 7643 §7): its URN, name, description and top-level attributes.
#[derive(Debug, PartialEq, Eq)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes.iter().find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }
}

/// A schema extension of a resource type and whether a resource must carry it (RFC 7643 §6).
#[derive(Debug, PartialEq, Eq)]
pub struct Extension {
    pub schema: &'static Schema,
    pub required: bool,
}

/// A resource type (RFC 7643 §6): its name, endpoint, core schema and extensions.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceSchema {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub core: &'static Schema,
    pub extensions: &'static [Extension],
}

impl ResourceSchema {
    /// The schema that URN names among this resource type's, compared without case.
    pub fn schema(&self, urn: &str) -> Option<&'static Schema> {
        if self.core.id.eq_ignore_ascii_case(urn) {
            return Some(self.core);
        }
        self.extension(urn)
    }

    /// The extension schema that URN names.
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions.iter().map(|extension| extension.schema).find(|schema| schema.id.eq_ignore_ascii_case(urn))
    }

    /// A top-level attribute: without a URN (or with the core schema's) a common or core attribute, with an
    /// extension's URN one of that extension's.
    pub fn attribute(&self, urn: Option<&str>, name: &str) -> Option<&'static Attribute> {
        match urn {
            Some(urn) if !self.core.id.eq_ignore_ascii_case(urn) => self.extension(urn)?.attribute(name),
            _ => COMMON
                .iter()
                .find(|common| common.name.eq_ignore_ascii_case(name))
                .or_else(|| self.core.attribute(name)),
        }
    }
}

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

use AttributeType::{Binary, Boolean, Complex, DateTime, Reference, String as Text};
use Mutability::{Immutable, ReadOnly, WriteOnly};

const META: &[Attribute] = &[
    Attribute::new("resourceType", Text, "The name of the resource type of the resource.")
        .case_exact()
        .mutability(ReadOnly),
    Attribute::new("created", DateTime, "When the resource was added to the service provider.").mutability(ReadOnly),
    Attribute::new("lastModified", DateTime, "When the resource was last changed.").mutability(ReadOnly),
    Attribute::new("location", Reference, "The URI of the resource.")
        .case_exact()
        .mutability(ReadOnly)
        .references(&["uri"]),
    Attribute::new("version", Text, "The version (entity tag) of the resource.").case_exact().mutability(ReadOnly),
];

/// The attributes every resource has, outside any schema (RFC 7643 §3.1).
pub const COMMON: &[Attribute] = &[
    Attribute::new("id", Text, "The service provider's unique, stable identifier of the resource.")
        .case_exact()
        .mutability(ReadOnly)
        .returned(Returned::Always)
        .uniqueness(Uniqueness::Server),
    Attribute::new("externalId", Text, "The provisioning client's identifier of the resource.").case_exact(),
    Attribute::new("meta", Complex, "Metadata of the resource.").mutability(ReadOnly).subs(META),
];

const NAME: &[Attribute] = &[
    Attribute::new("formatted", Text, "The full name, formatted for display."),
    Attribute::new("familyName", Text, "The family name, or last name in most Western languages."),
    Attribute::new("givenName", Text, "The given name, or first name in most Western languages."),
    Attribute::new("middleName", Text, "The middle name or names."),
    Attribute::new("honorificPrefix", Text, "The honorific prefix or prefixes, such as 'Ms.'."),
    Attribute::new("honorificSuffix", Text, "The honorific suffix or suffixes, such as 'III'."),
];

/// The sub-attributes of a plural attribute: value, display, type (with its canonical values) and primary.
const fn plural(value: Attribute, types: &'static [&'static str]) -> [Attribute; 4] {
    [
        value,
        Attribute::new("display", Text, "A human-readable name, for display only."),
        Attribute::new("type", Text, "A label of the value's function, such as 'work' or 'home'.").canonical(types),
        Attribute::new("primary", Boolean, "Whether this is the primary or preferred value; true at most once."),
    ]
}

const EMAILS: &[Attribute] = &plural(Attribute::new("value", Text, "An email address."), &["work", "home", "other"]);
const PHONE_NUMBERS: &[Attribute] =
    &plural(Attribute::new("value", Text, "A phone number."), &["work", "home", "mobile", "fax", "pager", "other"]);
const IMS: &[Attribute] = &plural(
    Attribute::new("value", Text, "An instant messaging address."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
const PHOTOS: &[Attribute] = &plural(
    Attribute::new("value", Reference, "The URL of a photo.").references(&["external"]),
    &["photo", "thumbnail"],
);
const ENTITLEMENTS: &[Attribute] = &plural(Attribute::new("value", Text, "An entitlement."), &[]);
const ROLES: &[Attribute] = &plural(Attribute::new("value", Text, "A role."), &[]);
const CERTIFICATES: &[Attribute] = &plural(Attribute::new("value", Binary, "A DER-encoded X.509 certificate."), &[]);

const ADDRESSES: &[Attribute] = &[
    Attribute::new("formatted", Text, "The full mailing address, formatted for display; may hold newlines."),
    Attribute::new("streetAddress", Text, "The street address; may hold newlines."),
    Attribute::new("locality", Text, "The city or locality."),
    Attribute::new("region", Text, "The state or region."),
    Attribute::new("postalCode", Text, "The zip code or postal code."),
    Attribute::new("country", Text, "The country, as an ISO 3166-1 alpha-2 code."),
    Attribute::new("type", Text, "A label of the address's function, such as 'work' or 'home'.")
        .canonical(&["work", "home", "other"]),
];

const USER_GROUPS: &[Attribute] = &[
    Attribute::new("value", Text, "The id of the group.").mutability(ReadOnly),
    Attribute::new("$ref", Reference, "The URI of the group.").mutability(ReadOnly).references(&["User", "Group"]),
    Attribute::new("display", Text, "The group's name, for display only.").mutability(ReadOnly),
    Attribute::new("type", Text, "Whether the membership is direct or through another group.")
        .mutability(ReadOnly)
        .canonical(&["direct", "indirect"]),
];

const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute::new("userName", Text, "The unique identifier the user signs in with; required, unique.")
        .required()
        .uniqueness(Uniqueness::Server),
    Attribute::new("name", Complex, "The components of the user's real name.").subs(NAME),
    Attribute::new("displayName", Text, "The name of the user, suitable for display."),
    Attribute::new("nickName", Text, "The casual way to address the user."),
    Attribute::new("profileUrl", Reference, "The URL of the user's online profile.").references(&["external"]),
    Attribute::new("title", Text, "The user's title, such as 'Vice President'."),
    Attribute::new("userType", Text, "The relationship between the organization and the user, such as 'Employee'."),
    Attribute::new("preferredLanguage", Text, "The user's preferred language, such as 'en-US'."),
    Attribute::new("locale", Text, "The user's default location for localizing, such as 'en-US'."),
    Attribute::new("timezone", Text, "The user's time zone in the IANA database format, such as 'Europe/Paris'."),
    Attribute::new("active", Boolean, "The user's administrative status."),
    Attribute::new("password", Text, "The user's cleartext password, only ever written.")
        .mutability(WriteOnly)
        .returned(Returned::Never),
    Attribute::new("emails", Complex, "The user's email addresses.").multi().subs(EMAILS),
    Attribute::new("phoneNumbers", Complex, "The user's phone numbers.").multi().subs(PHONE_NUMBERS),
    Attribute::new("ims", Complex, "The user's instant messaging addresses.").multi().subs(IMS),
    Attribute::new("photos", Complex, "URLs of photos of the user.").multi().subs(PHOTOS),
    Attribute::new("addresses", Complex, "The user's physical mailing addresses.").multi().subs(ADDRESSES),
    Attribute::new("groups", Complex, "The groups the user belongs to.").multi().mutability(ReadOnly).subs(USER_GROUPS),
    Attribute::new("entitlements", Complex, "The things the user has.").multi().subs(ENTITLEMENTS),
    Attribute::new("roles", Complex, "The roles of the user.").multi().subs(ROLES),
    Attribute::new("x509Certificates", Complex, "The certificates issued to the user.").multi().subs(CERTIFICATES),
];

const MANAGER: &[Attribute] = &[
    Attribute::new("value", Text, "The id of the user's manager."),
    Attribute::new("$ref", Reference, "The URI of the user's manager.").references(&["User"]),
    Attribute::new("displayName", Text, "The manager's display name.").mutability(ReadOnly),
];

const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    Attribute::new("employeeNumber", Text, "The number or code the organization gives the person."),
    Attribute::new("costCenter", Text, "The name of a cost center."),
    Attribute::new("organization", Text, "The name of an organization."),
    Attribute::new("division", Text, "The name of a division."),
    Attribute::new("department", Text, "The name of a department."),
    Attribute::new("manager", Complex, "The user's manager, another User by its id.").subs(MANAGER),
];

const MEMBERS: &[Attribute] = &[
    Attribute::new("value", Text, "The id of the member.").mutability(Immutable),
    Attribute::new("$ref", Reference, "The URI of the member.").mutability(Immutable).references(&["User", "Group"]),
    Attribute::new("type", Text, "The type of the member.").mutability(Immutable).canonical(&["User", "Group"]),
];

const GROUP_ATTRIBUTES: &[Attribute] = &[
    // REQUIRED by RFC 7643 §4.2 (its §8.7.1 listing says otherwise, an erratum); onramp names groups by it.
    Attribute::new("displayName", Text, "The name of the group, suitable for display; required, unique.")
        .required()
        .uniqueness(Uniqueness::Server),
    Attribute::new("members", Complex, "The members of the group.").multi().subs(MEMBERS),
];

pub static USER: Schema =
    Schema { id: USER_SCHEMA, name: "User", description: "User Account", attributes: USER_ATTRIBUTES };

pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRIBUTES,
};

pub static GROUP: Schema =
    Schema { id: GROUP_SCHEMA, name: "Group", description: "Group", attributes: GROUP_ATTRIBUTES };

/// The User resource type: the core User schema with the enterprise extension, optional.
pub static USER_RESOURCE: ResourceSchema = ResourceSchema {
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    core: &USER,
    extensions: &[Extension { schema: &ENTERPRISE_USER, required: false }],
};

pub static GROUP_RESOURCE: ResourceSchema =
    ResourceSchema { name: "Group", endpoint: "/Groups", description: "Group", core: &GROUP, extensions: &[] };

/// Every schema served, in the order `/Schemas` lists them.
pub static SCHEMAS: [&Schema; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

/// Every resource type served, in the order `/ResourceTypes` lists them.
pub static RESOURCE_TYPES: [&ResourceSchema; 2] = [&USER_RESOURCE, &GROUP_RESOURCE];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_follow_the_urn() {
        let user_name = USER_RESOURCE.attribute(None, "USERNAME").unwrap();
        assert_eq!(user_name.name, "userName");
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let id = USER_RESOURCE.attribute(Some(USER_SCHEMA), "id").unwrap();
        assert_eq!((id.returned, id.case_exact), (Returned::Always, true));
        let department = USER_RESOURCE.attribute(Some(&ENTERPRISE_USER_SCHEMA.to_uppercase()), "department");
        assert_eq!(department.unwrap().name, "department");
        assert!(USER_RESOURCE.attribute(None, "department").is_none(), "an extension's attribute needs its URN");
        assert!(GROUP_RESOURCE.attribute(Some(ENTERPRISE_USER_SCHEMA), "department").is_none());
        let manager = USER_RESOURCE.attribute(Some(ENTERPRISE_USER_SCHEMA), "manager").unwrap();
        assert_eq!(manager.sub_attribute("DISPLAYNAME").unwrap().mutability, Mutability::ReadOnly);
    }

    #[test]
    fn the_characteristics_are_the_rfcs() {
        let attribute = |name: &str| USER_RESOURCE.attribute(None, name).unwrap();
        assert_eq!((attribute("password").mutability, attribute("password").returned), (WriteOnly, Returned::Never));
        assert_eq!(attribute("groups").mutability, ReadOnly);
        assert!(attribute("emails").multi_valued && attribute("emails").kind == Complex);
        assert_eq!(attribute("emails").sub_attribute("type").unwrap().canonical_values, ["work", "home", "other"]);
        assert_eq!(attribute("photos").sub_attribute("value").unwrap().kind, Reference);
        assert_eq!(attribute("x509Certificates").sub_attribute("value").unwrap().kind, Binary);
        assert_eq!(attribute("meta").sub_attribute("lastModified").unwrap().kind, DateTime);
        assert!(attribute("externalId").case_exact);
        let members = GROUP_RESOURCE.attribute(None, "members").unwrap();
        assert!(members.sub_attributes.iter().all(|sub| sub.mutability == Immutable));
        assert!(addresses_have_no_primary());
    }

    /// RFC 7643 §8.7.1 lists no `primary` among the sub-attributes of `addresses`.
    fn addresses_have_no_primary() -> bool {
        USER_RESOURCE.attribute(None, "addresses").unwrap().sub_attribute("primary").is_none()
    }

    #[test]
    fn names_are_unique_within_each_level() {
        fn check(attributes: &[Attribute]) {
            for (index, attribute) in attributes.iter().enumerate() {
                let later = &attributes[index + 1..];
                assert!(
                    !later.iter().any(|other| other.name.eq_ignore_ascii_case(attribute.name)),
                    "{}",
                    attribute.name
                );
                assert_eq!(attribute.kind == Complex, !attribute.sub_attributes.is_empty(), "{}", attribute.name);
                check(attribute.sub_attributes);
            }
        }
        check(COMMON);
        for schema in SCHEMAS {
            check(schema.attributes);
        }
    }
}
