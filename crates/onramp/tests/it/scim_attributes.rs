//! SCIM Users keep every attribute an identity provider sends (issue #16): the ones onramp does not map
//! onto its user (`nickName`, `phoneNumbers`, `addresses`, the enterprise `costCenter`, each email's `type`
//! and `display`, ...) come back as stored through create, GET, list, PUT and PATCH, are checked against
//! the schema, and never show in the ConductorOne API. A PATCH that removes `displayName` or `active`
//! leaves them unassigned without changing the user's status.

use onramp_domain::BuiltinRole;
use serde_json::{Value, json};

use crate::both_backends;
use crate::scim::{ENTERPRISE, PATCH_OP, USER_SCHEMA, assert_scim_error, scim, scim_token};
use crate::support::{Backend, TestServer};

/// A User with every attribute onramp keeps unmapped, and some it maps.
fn full_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "kept@example.com",
        "externalId": "kept-1",
        "displayName": "Kept User",
        "nickName": "Kepler",
        "profileUrl": "https://example.com/kept",
        "userType": "Employee",
        "preferredLanguage": "fr-CA",
        "locale": "fr-CA",
        "timezone": "America/Montreal",
        "emails": [
            {"value": "kept@example.com", "type": "home", "display": "Kept at home", "primary": true},
            {"value": "kept.work@example.com", "type": "other"},
        ],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "work", "primary": true},
            {"value": "+1 555 0199", "type": "mobile", "display": "cell"},
        ],
        "ims": [{"value": "kept@jabber.example", "type": "xmpp"}],
        "photos": [{"value": "https://example.com/kept.png", "type": "photo"}],
        "addresses": [{"streetAddress": "1 Main St\nSuite 2", "locality": "Montreal", "country": "CA", "type": "work"}],
        "entitlements": [{"value": "vpn", "display": "VPN access"}],
        "roles": [{"value": "auditor", "primary": false}],
        "x509Certificates": [{"value": "MIIBszCCAVmgAwIBAgIU"}],
        ENTERPRISE: {"costCenter": "CC-4130", "organization": "Acme", "division": "Tools", "department": "R&D"},
    })
}

/// The attributes of `full_user` that onramp keeps unmapped, as the server returns them.
const KEPT: [&str; 12] = [
    "nickName",
    "profileUrl",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "x509Certificates",
];

#[track_caller]
fn assert_kept(case: &str, resource: &Value, sent: &Value) {
    for name in KEPT {
        assert_eq!(resource[name], sent[name], "{case}: {name}: {resource}");
    }
    assert_eq!(resource["roles"], json!([{"value": "auditor", "primary": false}]), "{case}: {resource}");
    let enterprise = &resource[ENTERPRISE];
    assert_eq!(
        (&enterprise["costCenter"], &enterprise["organization"], &enterprise["division"], &enterprise["department"]),
        (&json!("CC-4130"), &json!("Acme"), &json!("Tools"), &json!("R&D")),
        "{case}: {resource}"
    );
    assert_eq!(
        resource["emails"],
        json!([
            {"value": "kept@example.com", "type": "home", "display": "Kept at home", "primary": true},
            {"value": "kept.work@example.com", "type": "other", "primary": false},
        ]),
        "{case}"
    );
}

async fn unmapped_attributes_round_trip(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let sent = full_user();
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&sent), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_kept("create", &created.body, &sent);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/scim/v2/Users/{id}");

    let got = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_kept("get", &got.body, &sent);
    let listed = scim(&server, &token, "GET", "/scim/v2/Users?filter=nickName%20eq%20%22Kepler%22", None, &[]).await;
    assert_eq!(listed.body["totalResults"], 1, "a kept attribute filters: {}", listed.body);
    assert_kept("list", &listed.body["Resources"][0], &sent);
    let projected =
        scim(&server, &token, "GET", &format!("{path}?attributes=phoneNumbers,{ENTERPRISE}:costCenter"), None, &[])
            .await;
    assert_eq!(projected.body["phoneNumbers"], sent["phoneNumbers"], "{}", projected.body);
    assert_eq!(projected.body[ENTERPRISE], json!({"costCenter": "CC-4130"}), "{}", projected.body);
    assert!(projected.body.get("nickName").is_none() && projected.body.get("userName").is_none(), "{}", projected.body);
    let excluded = scim(&server, &token, "GET", &format!("{path}?excludedAttributes=addresses,ims"), None, &[]).await;
    assert!(excluded.body.get("addresses").is_none() && excluded.body.get("ims").is_none(), "{}", excluded.body);
    assert_eq!(excluded.body["nickName"], "Kepler", "{}", excluded.body);

    // A PATCH of a mapped attribute keeps the rest as it was.
    let retitle = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
    let patched = scim(&server, &token, "PATCH", &path, Some(&retitle), &[]).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_kept("after a PATCH of title", &patched.body, &sent);

    // Never in the ConductorOne API.
    let admin = server.admin_token().await;
    let (status, user) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(status, 200, "{user}");
    let text = user.to_string();
    for absent in ["Kepler", "555 0100", "CC-4130", "Kept at home", "scimAttributes", "nickName"] {
        assert!(!text.contains(absent), "{absent} in the ConductorOne user: {text}");
    }

    // PUT replaces: what it leaves out is cleared, the emails' details too.
    let put = json!({"schemas": [USER_SCHEMA], "userName": "kept@example.com", "nickName": "K",
        "emails": [{"value": "kept@example.com", "primary": true}]});
    let replaced = scim(&server, &token, "PUT", &path, Some(&put), &[]).await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["nickName"], "K");
    for name in KEPT.iter().filter(|name| **name != "nickName").chain(&["roles"]) {
        assert!(replaced.body.get(*name).is_none(), "PUT clears {name}: {}", replaced.body);
    }
    assert!(replaced.body.get(ENTERPRISE).is_none(), "{}", replaced.body);
    let emails = json!([{"value": "kept@example.com", "type": "work", "primary": true}]);
    assert_eq!(replaced.body["emails"], emails, "no type sent: work, as before: {}", replaced.body);
    let got = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(got.body, replaced.body);
}
both_backends!(unmapped_attributes_round_trip);

async fn phone_numbers_are_patched_with_filters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let body = json!({"schemas": [USER_SCHEMA], "userName": "phones@example.com"});
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&body), &[]).await;
    let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
    let patch = |operations: Value| json!({"schemas": [PATCH_OP], "Operations": operations});

    let add = patch(json!([{"op": "add", "path": "phoneNumbers", "value": [
        {"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0111", "type": "home"}]}]));
    let added = scim(&server, &token, "PATCH", &path, Some(&add), &[]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["phoneNumbers"].as_array().map(Vec::len), Some(2), "{}", added.body);

    let replace = patch(json!([
        {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0123"},
        {"op": "add", "path": "nickName", "value": "Phoney"},
    ]));
    let replaced = scim(&server, &token, "PATCH", &path, Some(&replace), &[]).await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(
        replaced.body["phoneNumbers"],
        json!([{"value": "+1 555 0123", "type": "work"}, {"value": "+1 555 0111", "type": "home"}]),
        "{}",
        replaced.body
    );

    let remove = patch(json!([{"op": "remove", "path": "phoneNumbers[type eq \"home\"]"}]));
    let removed = scim(&server, &token, "PATCH", &path, Some(&remove), &[]).await;
    assert_eq!(removed.body["phoneNumbers"], json!([{"value": "+1 555 0123", "type": "work"}]), "{}", removed.body);
    let got = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(got.body["phoneNumbers"], removed.body["phoneNumbers"]);
    assert_eq!(got.body["nickName"], "Phoney");

    let remove_all = patch(json!([{"op": "remove", "path": "phoneNumbers"}, {"op": "remove", "path": "nickName"}]));
    let cleared = scim(&server, &token, "PATCH", &path, Some(&remove_all), &[]).await;
    assert!(cleared.body.get("phoneNumbers").is_none() && cleared.body.get("nickName").is_none(), "{}", cleared.body);

    // Wrong values are refused, naming the attribute, and change nothing.
    let before = scim(&server, &token, "GET", &path, None, &[]).await;
    for (case, operations, named) in [
        (
            "a number as a phone",
            json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": 5550100}]}]),
            "phoneNumbers.value",
        ),
        (
            "a type outside the canonical values",
            json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "type": "satellite"}]}]),
            "phoneNumbers[0].type",
        ),
        (
            "a sub-attribute the schema lacks",
            json!([{"op": "add", "path": "addresses", "value": [{"planet": "Mars"}]}]),
            "planet",
        ),
        ("an object as a nickName", json!([{"op": "add", "path": "nickName", "value": {"a": 1}}]), "nickName"),
        (
            "an enterprise attribute of the wrong type",
            json!([{"op": "add", "path": format!("{ENTERPRISE}:costCenter"), "value": ["1"]}]),
            "costCenter",
        ),
        (
            "a certificate that is not base64",
            json!([{"op": "add", "path": "x509Certificates", "value": [{"value": "not base64!"}]}]),
            "x509Certificates[0].value",
        ),
        (
            "too many values",
            json!([{"op": "add", "path": "roles", "value": (0..101).map(|n| json!({"value": format!("r{n}")})).collect::<Vec<_>>()}]),
            "roles has more than 100 values",
        ),
        (
            "a non-canonical email type",
            json!([{"op": "add", "path": "emails", "value": [{"value": "p@example.com", "type": "pager"}]}]),
            "emails[0].type",
        ),
    ] {
        let refused = scim(&server, &token, "PATCH", &path, Some(&patch(operations)), &[]).await;
        assert_scim_error(case, &refused, 400, Some("invalidValue"));
        assert!(refused.body["detail"].as_str().unwrap_or("").contains(named), "{case}: {}", refused.body);
    }
    let post = json!({"schemas": [USER_SCHEMA], "userName": "bad@example.com", "timezone": 7});
    let refused = scim(&server, &token, "POST", "/scim/v2/Users", Some(&post), &[]).await;
    assert_scim_error("a number as a timezone", &refused, 400, Some("invalidValue"));
    assert!(refused.body["detail"].as_str().unwrap_or("").contains("timezone"), "{}", refused.body);
    let after = scim(&server, &token, "GET", &path, None, &[]).await;
    assert_eq!(after.body, before.body, "a refused PATCH changes nothing");
}
both_backends!(phone_numbers_are_patched_with_filters);

async fn removing_display_name_or_active_leaves_them_unassigned(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let body = json!({"schemas": [USER_SCHEMA], "userName": "unassigned@example.com", "displayName": "Una Signed",
        "name": {"givenName": "Una", "familyName": "Signed"}, "active": false});
    let created = scim(&server, &token, "POST", "/scim/v2/Users", Some(&body), &[]).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/scim/v2/Users/{id}");
    let remove = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": "displayName"}, {"op": "remove", "path": "active"}]});
    let removed = scim(&server, &token, "PATCH", &path, Some(&remove), &[]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.get("displayName").is_none() && removed.body.get("active").is_none(), "{}", removed.body);
    let got = scim(&server, &token, "GET", &path, None, &[]).await;
    assert!(got.body.get("displayName").is_none() && got.body.get("active").is_none(), "{}", got.body);
    // onramp keeps a display name (from the name, as on create) and the status it had: still disabled.
    let admin = server.admin_token().await;
    let (_, user) = server.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(
        (&user["userView"]["user"]["displayName"], &user["userView"]["user"]["status"]),
        (&json!("Una Signed"), &json!("DISABLED")),
        "{user}"
    );
    // Another PATCH keeps them unassigned; setting them shows them again.
    let retitle = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "T"}]});
    let again = scim(&server, &token, "PATCH", &path, Some(&retitle), &[]).await;
    assert!(again.body.get("displayName").is_none() && again.body.get("active").is_none(), "{}", again.body);
    let set =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "value": {"displayName": "Una", "active": true}}]});
    let shown = scim(&server, &token, "PATCH", &path, Some(&set), &[]).await;
    assert_eq!((&shown.body["displayName"], &shown.body["active"]), (&json!("Una"), &json!(true)), "{}", shown.body);
}
both_backends!(removing_display_name_or_active_leaves_them_unassigned);
