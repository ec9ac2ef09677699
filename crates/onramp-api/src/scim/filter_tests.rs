//! The filter's tests: the RFC's examples, precedence, literals, errors, evaluation rules and properties.

use super::attributes::{GROUP_RESOURCE, USER_RESOURCE};
use super::error::ScimType;
use super::filter::{AttrPath, CompareOp, Filter, Literal};
use proptest::prelude::*;
use serde_json::{Value, json};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-701984",
        "userName": "bjensen@example.com",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    })
}

fn matches(filter: &str) -> bool {
    Filter::parse_for(filter, &USER_RESOURCE)
        .unwrap_or_else(|error| panic!("{filter}: {error}"))
        .matches(&user(), &USER_RESOURCE)
}

fn detail(filter: &str) -> String {
    let error = Filter::parse(filter).expect_err(filter);
    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
    assert_eq!(error.status.as_u16(), 400);
    error.detail
}

#[test]
fn the_rfcs_examples_parse_and_match() {
    assert!(matches(r#"userName eq "bjensen@example.com""#));
    assert!(matches(r#"name.familyName co "O'Malley""#));
    assert!(matches(r#"userName sw "B""#));
    assert!(matches(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#));
    assert!(matches("title pr"));
    assert!(matches(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(matches(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(matches(r#"meta.lastModified lt "2011-05-13T04:42:35Z""#));
    assert!(matches(r#"meta.lastModified le "2011-05-13T04:42:34Z""#));
    assert!(matches(r#"title pr and userType eq "Employee""#));
    assert!(matches(r#"title pr or userType eq "Intern""#));
    assert!(matches(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#));
    assert!(matches(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#));
    assert!(!matches(r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#));
    assert!(matches(r#"userType eq "Employee" and (emails.type eq "work")"#));
    assert!(matches(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#));
    assert!(matches(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#
    ));
}

#[test]
fn non_matches() {
    assert!(!matches(r#"userName eq "bjensen""#));
    assert!(!matches("nickName pr"));
    assert!(!matches(r#"emails[type eq "home" and value co "@example.com"]"#));
    assert!(!matches(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    assert!(!matches(r#"title pr and userType eq "Intern""#));
    assert!(!matches(r#"unknownAttribute eq "x""#));
}

#[test]
fn and_binds_tighter_than_or() {
    let parsed = Filter::parse(r#"a pr or b pr and c pr"#).unwrap();
    assert_eq!(parsed, Filter::parse(r#"a pr or (b pr and c pr)"#).unwrap());
    assert_ne!(parsed, Filter::parse(r#"(a pr or b pr) and c pr"#).unwrap());
    // title pr or (nickName pr and nickName pr): true; (title pr or nickName pr) and nickName pr: false.
    assert!(matches("title pr or nickName pr and nickName pr"));
    assert!(!matches("(title pr or nickName pr) and nickName pr"));
    assert!(matches("not (nickName pr) and title pr"));
    assert_eq!(Filter::parse("not pr").unwrap(), Filter::Present(AttrPath::simple("not")));
    assert_eq!(
        Filter::parse("not title pr").unwrap(),
        Filter::Not(Box::new(Filter::Present(AttrPath::simple("title"))))
    );
    assert!(!matches("not title pr"));
}

#[test]
fn operators_keywords_and_names_ignore_case() {
    assert!(matches(r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#));
    assert!(matches(r#"Title PR AND UserType Eq "employee""#));
    assert!(matches(r#"NOT (nickName pr) Or title pr"#));
    assert!(matches(r#"EMAILS[TYPE EQ "WORK"]"#));
    assert!(matches(r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:department eq "tour operations""#));
}

#[test]
fn literals_are_json() {
    let value = |filter: &str| match Filter::parse(filter).unwrap() {
        Filter::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value(r#"a eq "a\"b\\c\u00e9\n""#), Literal::String("a\"b\\cé\n".to_string()));
    assert_eq!(value(r#"a eq "(not) [and] or""#), Literal::String("(not) [and] or".to_string()));
    assert_eq!(value("a eq true"), Literal::Bool(true));
    assert_eq!(value("a eq False"), Literal::Bool(false));
    assert_eq!(value("a eq null"), Literal::Null);
    assert_eq!(value("a gt -12.5e2"), Literal::Number(serde_json::Number::from_f64(-1250.0).unwrap()));
    assert_eq!(value("a ge 42"), Literal::Number(42.into()));
}

#[test]
fn the_tree_is_exposed_for_index_lookups() {
    let filter = Filter::parse(r#"userName eq "bjensen""#).unwrap();
    let (path, value) = filter.equality().unwrap();
    assert!(path.is("username"));
    assert_eq!(value, "bjensen");
    let external = Filter::parse(r#"externalId EQ "701984""#).unwrap();
    assert!(external.equality().unwrap().0.is("externalId"));
    assert!(Filter::parse(r#"userName co "b""#).unwrap().equality().is_none());
    assert!(Filter::parse(r#"userName eq "a" and active eq true"#).unwrap().equality().is_none());
    assert!(
        Filter::parse(r#"name.familyName eq "a""#).unwrap().equality().map(|(path, _)| path.is("name")) == Some(false)
    );
}

#[test]
fn paths_parse_with_urns_and_sub_attributes() {
    let path = AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").unwrap();
    assert_eq!(path.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    assert_eq!((path.name.as_str(), path.sub.as_deref()), ("manager", Some("value")));
    assert_eq!(path.to_string(), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    assert_eq!(AttrPath::parse("members.$ref").unwrap().sub.as_deref(), Some("$ref"));
    for bad in ["", "1abc", "name.", "a.b.c", "urn:", "na me", "emails[", "urn:x:"] {
        assert!(AttrPath::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn mistakes_are_invalid_filter_with_a_useful_detail() {
    assert!(detail("").contains("empty"));
    assert!(detail("userName").contains("expected an operator after \"userName\""));
    assert!(detail(r#"userName is "x""#).contains("\"is\" is not an operator"));
    assert!(detail(r#"userName eq"#).contains("expected a value after \"userName eq\""));
    assert!(detail(r#"userName eq bjensen"#).contains("quote a string"));
    assert!(detail(r#"userName eq "bjensen"#).contains("no closing quote"));
    assert!(detail(r#"userName eq "\q""#).contains("not a valid JSON string"));
    assert!(detail(r#"(userName pr"#).contains("expected \")\""));
    assert!(detail(r#"userName pr)"#).contains("unexpected \")\""));
    assert!(detail(r#"userName pr title pr"#).contains("join expressions"));
    assert!(detail(r#"emails[type eq "work""#).contains("expected \"]\""));
    assert!(detail(r#"emails[type[value pr]]"#).contains("cannot be nested"));
    assert!(detail(r#"name.familyName[value pr]"#).contains("sub-attribute"));
    assert!(detail(r#"userName eq "a" and"#).contains("found the end"));
    assert!(detail(r#"1userName pr"#).contains("not an attribute path"));
    assert!(detail(&format!("{}title pr{}", "(".repeat(40), ")".repeat(40))).contains("nested deeper"));
    let order_on_boolean = Filter::parse_for("active gt true", &USER_RESOURCE).unwrap_err();
    assert_eq!(order_on_boolean.scim_type, Some(ScimType::InvalidFilter));
    assert!(Filter::parse_for(r#"emails[primary lt true]"#, &USER_RESOURCE).is_err());
}

#[test]
fn strings_compare_without_case_unless_case_exact() {
    // userName: caseExact false; id and externalId: caseExact true (RFC 7643 §3.1).
    assert!(matches(r#"userName eq "BJensen@Example.com""#));
    assert!(matches(r#"externalId eq "Bjensen-701984""#));
    assert!(!matches(r#"externalId eq "bjensen-701984""#));
    assert!(!matches(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
    assert!(matches(r#"id sw "2819c223""#));
    assert!(matches(r#"emails ew "JENSEN.ORG""#));
}

#[test]
fn dates_compare_as_instants() {
    // 04:42:34Z is 06:42:34+02:00 and 04:42:34.000Z; as strings they would compare otherwise.
    assert!(matches(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#));
    assert!(matches(r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#));
    assert!(matches(r#"meta.lastModified gt "2011-05-13T05:00:00+02:00""#));
    assert!(!matches(r#"meta.lastModified lt "2011-05-13T05:00:00+02:00""#));
}

#[test]
fn multi_valued_attributes_match_when_any_value_does() {
    assert!(matches(r#"emails.value eq "babs@jensen.org""#));
    assert!(matches(r#"emails eq "bjensen@example.com""#));
    assert!(matches(r#"emails.type eq "home""#));
    assert!(matches(r#"emails[type eq "home"]"#));
    assert!(!matches(r#"emails[type eq "home" and primary eq true]"#));
    assert!(matches(r#"emails[type eq "work" and primary eq true]"#));
    assert!(matches("emails pr and emails.primary pr"));
}

#[test]
fn entra_matches_by_a_sub_attribute_after_a_value_filter() {
    // Entra ID's matching attribute `emails[type eq "work"].value`, as a filter.
    assert!(matches(r#"emails[type eq "work"].value eq "bjensen@example.com""#));
    assert!(!matches(r#"emails[type eq "home"].value eq "bjensen@example.com""#));
    assert!(matches(r#"emails[type eq "home"].value ew "jensen.org" and userName pr"#));
    assert!(matches(r#"emails[type eq "work"].primary pr"#));
    assert_eq!(
        Filter::parse(r#"emails[type eq "work"].value eq "x""#).unwrap(),
        Filter::parse(r#"emails[type eq "work" and value eq "x"]"#).unwrap()
    );
    assert!(detail(r#"emails[type eq "work"].value"#).contains("expected an operator after \"emails[...].value\""));
    assert!(detail(r#"emails[type eq "work"].1x eq "a""#).contains("not an attribute path"));
}

#[test]
fn booleans_numbers_and_null() {
    assert!(matches("active eq true"));
    assert!(!matches("active eq false"));
    assert!(matches(r#"active eq "True""#), "a boolean given as a string, as Entra writes it");
    assert!(matches("active ne false"));
    assert!(matches("nickName eq null"));
    assert!(!matches("title eq null"));
    assert!(matches("title ne null"));
    let resource = json!({"count": 7});
    assert!(Filter::parse("count gt 6.5").unwrap().matches(&resource, &USER_RESOURCE));
    assert!(!Filter::parse("count lt 7").unwrap().matches(&resource, &USER_RESOURCE));
    assert!(!Filter::parse(r#"count eq "7""#).unwrap().matches(&resource, &USER_RESOURCE));
}

#[test]
fn extension_attributes_need_their_urn() {
    assert!(matches(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#));
    assert!(matches(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"#));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    ));
    assert!(!matches(r#"employeeNumber eq "701984""#));
    assert!(matches("name pr"), "a complex attribute is present when a sub-attribute is");
}

#[test]
fn group_members_filter() {
    let group = json!({"displayName": "Tour Guides", "members": [{"value": "2819c223", "display": "Babs"}]});
    let filter = Filter::parse_for(r#"members[value eq "2819c223"]"#, &GROUP_RESOURCE).unwrap();
    assert!(filter.matches(&group, &GROUP_RESOURCE));
    // members.value is a string without caseExact in the RFC, so ids compare without case.
    assert!(Filter::parse(r#"members.value eq "2819C223""#).unwrap().matches(&group, &GROUP_RESOURCE));
    assert!(Filter::parse(r#"displayName sw "tour""#).unwrap().matches(&group, &GROUP_RESOURCE));
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("emails".to_string()),
        Just("title".to_string()),
        Just("not".to_string()),
        Just("and".to_string()),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}"
    ]
}

fn path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::of(Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string())),
        name(),
        prop::option::of(name()),
    )
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(Literal::String),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(|n| Literal::Number(n.into())),
        Just(Literal::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (path(), op(), literal()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        path().prop_map(Filter::Present),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    let plain = leaf().prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    });
    let value_path = (name(), plain.clone()).prop_map(|(name, inner)| Filter::ValuePath {
        path: AttrPath::simple(&name),
        filter: Box::new(strip_urns(inner)),
    });
    prop_oneof![plain.clone(), (value_path, plain).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b)))]
}

/// Value filters name sub-attributes, so their paths have no URN.
fn strip_urns(filter: Filter) -> Filter {
    match filter {
        Filter::Compare { path, op, value } => Filter::Compare { path: AttrPath { urn: None, ..path }, op, value },
        Filter::Present(path) => Filter::Present(AttrPath { urn: None, ..path }),
        Filter::And(a, b) => Filter::And(Box::new(strip_urns(*a)), Box::new(strip_urns(*b))),
        Filter::Or(a, b) => Filter::Or(Box::new(strip_urns(*a)), Box::new(strip_urns(*b))),
        Filter::Not(a) => Filter::Not(Box::new(strip_urns(*a))),
        other => other,
    }
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_tree(filter in filter()) {
        let printed = filter.to_string();
        prop_assert_eq!(Filter::parse(&printed).map_err(|error| error.detail), Ok(filter), "{}", printed);
    }

    #[test]
    fn any_text_parses_or_fails_cleanly(text in any::<String>()) {
        if let Err(error) = Filter::parse(&text) {
            prop_assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
        }
    }

    #[test]
    fn any_filter_evaluates_without_panicking(filter in filter()) {
        let _ = filter.matches(&user(), &USER_RESOURCE);
    }

    #[test]
    fn ne_is_the_negation_of_eq(value in "[a-zA-Z@. ]{0,12}") {
        let literal = Value::from(value.as_str());
        let eq = Filter::parse(&format!("userName eq {literal}")).unwrap().matches(&user(), &USER_RESOURCE);
        let ne = Filter::parse(&format!("userName ne {literal}")).unwrap().matches(&user(), &USER_RESOURCE);
        prop_assert_ne!(eq, ne);
    }
}
