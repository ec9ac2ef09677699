//! PATCH's tests: the RFC's examples, the requests Okta and Entra ID send, paths, errors and atomicity.

use super::attributes::{ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, USER_RESOURCE, USER_SCHEMA};
use super::error::ScimType;
use super::patch::{PATCH_OP_SCHEMA, PatchOp, PatchPath, PatchRequest};
use serde_json::{Value, json};

fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "2819c223",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "meta": {"resourceType": "User", "lastModified": "2011-05-13T04:42:34Z"}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba",
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223", "display": "Babs"}, {"value": "902c246b", "display": "Mandy"}]
    })
}

fn request(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

fn patch_user(operations: Value) -> Value {
    patch(&user(), operations)
}

fn patch(resource: &Value, operations: Value) -> Value {
    let schema = if resource.get("userName").is_some() { &USER_RESOURCE } else { &GROUP_RESOURCE };
    let parsed = PatchRequest::parse(&request(operations.clone()), schema)
        .unwrap_or_else(|error| panic!("{operations}: {error}"));
    parsed.apply(resource, schema).unwrap_or_else(|error| panic!("{operations}: {error}"))
}

fn failure(resource: &Value, operations: Value) -> (ScimType, String) {
    let schema = if resource.get("userName").is_some() { &USER_RESOURCE } else { &GROUP_RESOURCE };
    let error = PatchRequest::parse(&request(operations), schema)
        .and_then(|parsed| parsed.apply(resource, schema))
        .expect_err("the patch should fail");
    assert_eq!(error.status.as_u16(), 400);
    (error.scim_type.expect("a 400 has a scimType"), error.detail)
}

#[test]
fn op_names_in_any_case() {
    for op in ["replace", "Replace", "REPLACE"] {
        let patched = patch_user(json!([{"op": op, "path": "displayName", "value": "Babs"}]));
        assert_eq!(patched["displayName"], "Babs");
    }
    let added = patch_user(json!([{"op": "Add", "path": "nickName", "value": "Babs"}]));
    assert_eq!(added["nickName"], "Babs");
    let removed = patch_user(json!([{"op": "Remove", "path": "name.familyName"}]));
    assert_eq!(removed["name"], json!({"givenName": "Barbara"}));
    let parsed = PatchRequest::parse(&request(json!([{"op": "rEmOvE", "path": "title"}])), &USER_RESOURCE).unwrap();
    assert_eq!(parsed.operations[0].op, PatchOp::Remove);
}

#[test]
fn a_null_value_of_a_multi_valued_attribute_is_no_values() {
    // Found by the property test below: this once reached an `unreachable!`.
    let added = patch_user(json!([{"op": "add", "path": "emails", "value": null}]));
    assert_eq!(added["emails"], user()["emails"]);
    let replaced = patch_user(json!([{"op": "replace", "path": "emails", "value": null}]));
    assert!(replaced.get("emails").is_none(), "{replaced}");
}

#[test]
fn entra_deactivates_with_a_string_boolean_and_no_path() {
    // Entra ID before its 2020 fix: "False" as a string, in a path-less replace.
    let patched = patch_user(json!([{"op": "Replace", "value": {"active": "False"}}]));
    assert_eq!(patched["active"], false);
    let patched = patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(patched["active"], false);
    let patched = patch(&patched, json!([{"op": "replace", "path": "active", "value": "True"}]));
    assert_eq!(patched["active"], true);
    // Okta: a real boolean, no path.
    assert_eq!(patch_user(json!([{"op": "replace", "value": {"active": false}}]))["active"], false);
    let (kind, detail) = failure(&user(), json!([{"op": "replace", "path": "active", "value": "nope"}]));
    assert_eq!(kind, ScimType::InvalidValue);
    assert!(detail.contains("active"), "{detail}");
}

#[test]
fn path_less_keys_may_be_dotted_or_urn_qualified() {
    let patched = patch_user(json!([{"op": "replace", "value": {
        "name.givenName": "Babs",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "26118915"},
        "urn:ietf:params:scim:schemas:core:2.0:User:title": "Guide",
    }}]));
    assert_eq!(patched["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    assert_eq!(patched["title"], "Guide");
    assert_eq!(patched[ENTERPRISE_USER_SCHEMA], json!({"department": "Tours", "manager": {"value": "26118915"}}));
    assert_eq!(patched["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    // The extension's URN as a key, its attributes inside.
    let patched = patch_user(json!([{"op": "add", "value": {ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984"}}}]));
    assert_eq!(patched[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "701984");
}

#[test]
fn entra_sets_the_manager_by_its_id_alone() {
    let path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
    let patched = patch_user(json!([{"op": "Add", "path": path, "value": "26118915"}]));
    assert_eq!(patched[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "26118915"}));
    let cleared = patch(&patched, json!([{"op": "Remove", "path": path}]));
    assert!(cleared.get(ENTERPRISE_USER_SCHEMA).is_none(), "an empty extension is removed");
    assert_eq!(cleared["schemas"], json!([USER_SCHEMA]));
}

#[test]
fn value_filters_select_what_to_change() {
    let patched = patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.com"}]));
    assert_eq!(patched["emails"][0], json!({"value": "b@x.com", "type": "work", "primary": true}));
    assert_eq!(patched["emails"][1]["value"], "babs@jensen.org");
    let removed = patch_user(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]));
    assert_eq!(removed["emails"].as_array().unwrap().len(), 1);
    let removed_sub = patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
    assert!(removed_sub["emails"][0].get("primary").is_none());
    let replaced = patch_user(
        json!([{"op": "replace", "path": "emails[value co \"jensen.org\"]", "value": {"value": "c@x.com", "type": "other"}}]),
    );
    assert_eq!(replaced["emails"][1], json!({"value": "c@x.com", "type": "other"}));
}

#[test]
fn entra_writes_a_work_email_the_user_does_not_have_yet() {
    let mut without = user();
    without["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}]);
    let patched = patch(&without, json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "b@x.com"}]));
    assert_eq!(patched["emails"][1], json!({"type": "work", "value": "b@x.com"}));
    let (kind, _) =
        failure(&without, json!([{"op": "replace", "path": "emails[value co \"@x\"].type", "value": "work"}]));
    assert_eq!(kind, ScimType::NoTarget, "a filter that does not say what to make has no target");
}

#[test]
fn group_membership_as_okta_and_entra_send_it() {
    // Okta and Entra add members with a list.
    let added = patch(&group(), json!([{"op": "add", "path": "members", "value": [{"value": "11111111"}]}]));
    assert_eq!(added["members"].as_array().unwrap().len(), 3);
    // Adding a member already there changes nothing.
    let again = patch(&added, json!([{"op": "Add", "path": "members", "value": [{"value": "11111111"}]}]));
    assert_eq!(again["members"], added["members"]);
    // Okta removes with a filter.
    let okta = patch(&group(), json!([{"op": "remove", "path": "members[value eq \"2819c223\"]"}]));
    assert_eq!(okta["members"], json!([{"value": "902c246b", "display": "Mandy"}]));
    // Entra removes with a list as the value.
    let entra = patch(&group(), json!([{"op": "Remove", "path": "members", "value": [{"value": "902c246b"}]}]));
    assert_eq!(entra["members"], json!([{"value": "2819c223", "display": "Babs"}]));
    // Removing every member leaves the attribute unassigned.
    let none = patch(&group(), json!([{"op": "remove", "path": "members"}]));
    assert!(none.get("members").is_none());
    // Replacing the list.
    let replaced = patch(&group(), json!([{"op": "replace", "path": "members", "value": [{"value": "33"}]}]));
    assert_eq!(replaced["members"], json!([{"value": "33"}]));
    // A removal that matches nothing is not an error (an IdP retrying).
    let missing = patch(&group(), json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]));
    assert_eq!(missing["members"], group()["members"]);
    let renamed = patch(&group(), json!([{"op": "Replace", "path": "displayName", "value": "Guides"}]));
    assert_eq!(renamed["displayName"], "Guides");
    // Okta renames a group with its id in a path-less value.
    let okta_rename = patch(&group(), json!([{"op": "replace", "value": {"id": "e9e30dba", "displayName": "Guides"}}]));
    assert_eq!(okta_rename["displayName"], "Guides");
    let (kind, _) = failure(&group(), json!([{"op": "replace", "value": {"id": "other", "displayName": "Guides"}}]));
    assert_eq!(kind, ScimType::Mutability);
}

/// The requests of Entra ID's SCIM tutorial ("Develop and plan provisioning for a SCIM endpoint"), in order.
#[test]
fn entra_tutorial_sequence() {
    let mut user = user();
    for operations in [
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@example.com"},
               {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]),
        json!([{"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}]),
        json!([{"op": "Replace", "path": "active", "value": false}]),
    ] {
        user = patch(&user, operations);
    }
    assert_eq!(user["emails"][0]["value"], "updated@example.com");
    assert_eq!(user["name"]["familyName"], "updatedFamilyName");
    assert_eq!(user["userName"], "5b50642d@testuser.com");
    assert_eq!(user["active"], false);

    let mut group =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Group1"});
    group = patch(&group, json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5"}]}]));
    assert_eq!(group["members"], json!([{"value": "f648f8d5"}]), "a null $ref is unassigned");
    group = patch(&group, json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "a2e2f7c3"}]}]));
    group = patch(&group, json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "f648f8d5"}]}]));
    assert_eq!(group["members"], json!([{"value": "a2e2f7c3"}]));
    group = patch(&group, json!([{"op": "Replace", "path": "displayName", "value": "1879db59"}]));
    assert_eq!(group["displayName"], "1879db59");
}

/// Okta's SCIM 2.0 requests for users and groups (its "SCIM 2.0 protocol" reference): deactivate and
/// reactivate without a path, members added with a list and removed by a filter, a rename with the id.
#[test]
fn okta_sequence() {
    let deactivated = patch_user(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(deactivated["active"], false);
    assert_eq!(patch(&deactivated, json!([{"op": "replace", "value": {"active": true}}]))["active"], true);
    let mut group = group();
    group = patch(
        &group,
        json!([{"op": "add", "path": "members", "value": [{"value": "23a35c27", "display": "dade@example.com"}]}]),
    );
    assert_eq!(group["members"].as_array().unwrap().len(), 3);
    group = patch(&group, json!([{"op": "remove", "path": "members[value eq \"23a35c27\"]"}]));
    assert_eq!(
        group["members"],
        json!([{"value": "2819c223", "display": "Babs"}, {"value": "902c246b", "display": "Mandy"}])
    );
    group = patch(&group, json!([{"op": "replace", "value": {"id": "e9e30dba", "displayName": "Test SCIMv2"}}]));
    assert_eq!(group["displayName"], "Test SCIMv2");
}

#[test]
fn path_less_keys_may_carry_a_value_filter() {
    // Entra ID before its 2020 fix sends filtered paths as the keys of a path-less value.
    let patched = patch_user(json!([{"op": "Replace", "value": {
        "emails[type eq \"work\"].value": "new@example.com",
        "name.familyName": "Jensen-Smith",
    }}]));
    assert_eq!(patched["emails"][0]["value"], "new@example.com");
    assert_eq!(patched["emails"][1]["value"], "babs@jensen.org");
    assert_eq!(patched["name"]["familyName"], "Jensen-Smith");
}

#[test]
fn add_merges_complex_values_and_appends_to_lists() {
    let patched = patch_user(json!([{"op": "add", "path": "name", "value": {"middleName": "J"}}]));
    assert_eq!(patched["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}));
    let patched = patch_user(
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@x.com", "type": "other", "primary": true}]}]),
    );
    let emails = patched["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 3);
    assert_eq!(emails[0]["primary"], false, "only one value keeps primary");
    assert_eq!(emails[2]["primary"], true);
    // A single value for a list is a list of one.
    let single =
        patch_user(json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "+1 555", "type": "work"}}]));
    assert_eq!(single["phoneNumbers"], json!([{"value": "+1 555", "type": "work"}]));
    let replaced = patch_user(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}]));
    assert_eq!(replaced["emails"], json!([{"value": "only@x.com"}]));
}

#[test]
fn null_and_remove_unassign() {
    assert!(
        patch_user(json!([{"op": "replace", "path": "name.familyName", "value": null}]))["name"]
            .get("familyName")
            .is_none()
    );
    let patched = patch_user(json!([{"op": "remove", "path": "name"}]));
    assert!(patched.get("name").is_none());
    let patched = patch_user(json!([{"op": "remove", "path": "title"}]));
    assert_eq!(patched, user(), "removing what is not there changes nothing");
    let gone =
        patch_user(json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]));
    assert!(gone.get("name").is_none(), "a complex value with nothing left is unassigned");
}

#[test]
fn read_only_and_immutable_attributes_refuse_changes() {
    for operations in [
        json!([{"op": "replace", "path": "id", "value": "other"}]),
        json!([{"op": "replace", "value": {"id": "other"}}]),
        json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
        json!([{"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}]),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "X"}]),
    ] {
        let (kind, detail) = failure(&user(), operations.clone());
        assert_eq!(kind, ScimType::Mutability, "{operations}");
        assert!(detail.contains("read-only"), "{detail}");
    }
    // A resource sent back whole repeats its id: not a change.
    let same = patch_user(json!([{"op": "replace", "value": {"id": "2819c223", "title": "Guide"}}]));
    assert_eq!(same["title"], "Guide");
    let (kind, _) = failure(&user(), json!([{"op": "remove", "path": "userName"}]));
    assert_eq!(kind, ScimType::InvalidValue, "userName is required");
}

#[test]
fn bad_paths_and_bodies() {
    let path_error = |path: &str| {
        let error = PatchPath::parse(path, &USER_RESOURCE).expect_err(path);
        assert_eq!(error.scim_type, Some(ScimType::InvalidPath), "{path}");
        error.detail
    };
    assert!(path_error("nonsense").contains("no such attribute"));
    assert!(path_error("name.nickname").contains("no sub-attribute"));
    assert!(path_error("emails[type eq \"work\"").contains("no \"]\""));
    assert!(path_error("emails[type eq]").contains("expected a value"));
    assert!(path_error("emails[type eq \"work\"]value").contains("unexpected"));
    assert!(path_error("name[givenName pr]").contains("multi-valued"));
    assert!(path_error("urn:example:other:1.0:User:title").contains("no schema"));
    assert!(path_error("1x").contains("not an attribute path"));
    assert_eq!(
        PatchPath::parse("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER", &USER_RESOURCE).unwrap(),
        PatchPath::Extension(ENTERPRISE_USER_SCHEMA)
    );
    let body_error = |body: Value| PatchRequest::parse(&body, &USER_RESOURCE).expect_err(&body.to_string()).scim_type;
    assert_eq!(body_error(json!([])), Some(ScimType::InvalidSyntax));
    assert_eq!(
        body_error(json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]})),
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(body_error(request(json!([]))), Some(ScimType::InvalidSyntax));
    assert_eq!(body_error(request(json!([{"op": "move", "path": "title"}]))), Some(ScimType::InvalidSyntax));
    assert_eq!(body_error(request(json!([{"op": "remove"}]))), Some(ScimType::NoTarget));
    assert_eq!(body_error(request(json!([{"op": "add", "path": "title"}]))), Some(ScimType::InvalidValue));
    assert_eq!(body_error(request(json!([{"op": "replace", "value": "x"}]))), Some(ScimType::InvalidValue));
    assert_eq!(body_error(request(json!([{"op": "add", "path": 3, "value": "x"}]))), Some(ScimType::InvalidPath));
    let (kind, detail) = failure(&user(), json!([{"op": "replace", "path": "title", "value": 3}]));
    assert_eq!(kind, ScimType::InvalidValue);
    assert!(detail.contains("title must be a string"), "{detail}");
    let (kind, detail) =
        failure(&user(), json!([{"op": "add", "path": "emails", "value": [{"primary": "sometimes"}]}]));
    assert_eq!(kind, ScimType::InvalidValue);
    assert!(detail.contains("emails.primary"), "{detail}");
}

#[test]
fn operations_apply_in_order_and_all_or_none() {
    let patched = patch_user(json!([
        {"op": "add", "path": "title", "value": "Guide"},
        {"op": "replace", "path": "title", "value": "Head Guide"},
        {"op": "add", "path": "nickName", "value": "Babs"},
    ]));
    assert_eq!((patched["title"].as_str(), patched["nickName"].as_str()), (Some("Head Guide"), Some("Babs")));
    let original = user();
    let parsed = PatchRequest::parse(
        &request(
            json!([{"op": "add", "path": "title", "value": "Guide"}, {"op": "replace", "path": "id", "value": "x"}]),
        ),
        &USER_RESOURCE,
    )
    .unwrap();
    assert!(parsed.apply(&original, &USER_RESOURCE).is_err());
    assert!(original.get("title").is_none(), "the resource given is never changed");
}

#[test]
fn attribute_names_ignore_case_and_keep_the_existing_key() {
    let patched = patch_user(json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "Babs"}]));
    assert_eq!(patched["name"]["givenName"], "Babs");
    assert!(patched["name"].get("GIVENNAME").is_none());
    let patched = patch_user(json!([{"op": "replace", "path": "DisplayName", "value": "Babs"}]));
    assert_eq!(patched["displayName"], "Babs", "a new key takes the defined spelling");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("title".to_string()),
            Just("name.givenName".to_string()),
            Just("emails".to_string()),
            Just("emails[type eq \"work\"].value".to_string()),
            Just("emails[type eq \"home\"]".to_string()),
            Just("emails[value co \"x\"].primary".to_string()),
            Just("active".to_string()),
            Just(ENTERPRISE_USER_SCHEMA.to_string()),
            Just(format!("{ENTERPRISE_USER_SCHEMA}:manager")),
            Just(format!("{ENTERPRISE_USER_SCHEMA}:department")),
            Just("id".to_string()),
            "[a-zA-Z.\\[\\]\" :]{0,24}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            prop_oneof![Just("True".to_string()), Just("work".to_string()), "[a-z@.]{0,8}"].prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("value".to_string()),
                        Just("type".to_string()),
                        Just("primary".to_string()),
                        Just("givenName".to_string())
                    ],
                    inner,
                    0..3
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn operation() -> impl Strategy<Value = Value> {
        (prop_oneof![Just("add"), Just("Replace"), Just("remove")], prop::option::of(path()), prop::option::of(value()))
            .prop_map(|(op, path, value)| {
                let mut operation = json!({"op": op});
                if let Some(path) = path {
                    operation["path"] = Value::from(path);
                }
                if let Some(value) = value {
                    operation["value"] = value;
                }
                operation
            })
    }

    proptest! {
        #[test]
        fn any_path_text_parses_or_is_invalid_path(text in any::<String>()) {
            if let Err(error) = PatchPath::parse(&text, &USER_RESOURCE) {
                prop_assert_eq!(error.scim_type, Some(ScimType::InvalidPath));
            }
        }

        /// Whatever the operations, applying them answers a 400 or a resource that still has its id and
        /// userName, lists its extension in `schemas` exactly when it has one, and leaves no empty value.
        #[test]
        fn any_operations_keep_the_resource_whole(operations in prop::collection::vec(operation(), 1..4)) {
            let Ok(parsed) = PatchRequest::parse(&request(Value::Array(operations)), &USER_RESOURCE) else { return Ok(()) };
            match parsed.apply(&user(), &USER_RESOURCE) {
                Err(error) => prop_assert_eq!(error.status.as_u16(), 400),
                Ok(patched) => {
                    prop_assert_eq!(&patched["id"], &user()["id"]);
                    prop_assert_eq!(&patched["userName"], &user()["userName"]);
                    let listed = patched["schemas"].as_array().unwrap().iter().any(|urn| urn == ENTERPRISE_USER_SCHEMA);
                    prop_assert_eq!(listed, patched.get(ENTERPRISE_USER_SCHEMA).is_some());
                    for (key, value) in patched.as_object().unwrap() {
                        prop_assert!(!value.is_null(), "{} is null", key);
                    }
                }
            }
        }
    }
}
