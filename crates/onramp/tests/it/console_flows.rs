//! The console's Flows page over HTTP (issue #14), on both backends: a flow with a step of every kind made
//! through the editor's form reads back through the API as typed; the editor's actions (move, remove,
//! add) answer the edited form and save nothing until saved; bad input comes back with each problem on
//! its step's field and nothing changed; delete, refused while a directory uses the flow; a read-only
//! admin sees no write controls and is refused every POST with nothing changed; a form without its
//! anti-forgery token is refused.

use onramp_domain::BuiltinRole;
use serde_json::json;

use crate::account::{Answer, Browser};
use crate::both_backends;
use crate::console::console_admin;
use crate::flows::{BASIC_USER_ROLE, FLOWS, MINIMAL_FLOW, create_flow_id, flow_path, get_flow};
use crate::support::{Backend, TestServer};

/// The value of attribute `name` in a tag's text, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mark = format!(" {name}=\"");
    let at = tag.find(&mark)? + mark.len();
    Some(unescape(&tag[at..at + tag[at..].find('"')?]))
}

fn has_attribute(tag: &str, name: &str) -> bool {
    tag.contains(&format!(" {name} ")) || tag.contains(&format!(" {name}>")) || tag.ends_with(&format!(" {name}"))
}

fn unescape(text: &str) -> String {
    text.replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// What a browser sends for the flow editor's form as the page shows it (inputs, checked boxes, text
/// areas, selected options), without any submit button's name.
fn editor_fields(html: &str) -> Vec<(String, String)> {
    let start = html.find("class=\"flow-editor\"").unwrap_or_else(|| panic!("no flow editor in {html}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').unwrap();
        let tag = &rest[..end];
        if let Some(name) = attribute(tag, "name") {
            if tag.starts_with("<input") {
                let kind = attribute(tag, "type").unwrap_or_default();
                if kind != "checkbox" || has_attribute(tag, "checked") {
                    fields.push((name, attribute(tag, "value").unwrap_or_else(|| "on".into())));
                }
            } else if tag.starts_with("<textarea") {
                let text = &rest[end + 1..];
                fields.push((name, unescape(&text[..text.find("</textarea>").unwrap()])));
            } else if tag.starts_with("<select") {
                let options = &rest[end..rest.find("</select>").unwrap()];
                let chosen = options
                    .split("<option")
                    .skip(1)
                    .find(|option| option.contains(" selected"))
                    .or_else(|| options.split("<option").nth(1))
                    .unwrap();
                fields.push((name, attribute(chosen, "value").unwrap()));
            }
        }
        rest = &rest[1..];
    }
    fields
}

/// Replaces (or adds) the field `name`'s value.
fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_string(),
        None => fields.push((name.to_string(), value.to_string())),
    }
}

/// Posts the editor's `fields` to `action` with a submit button's `button` (`action=...`) and extras.
async fn press(browser: &Browser, action: &str, fields: &[(String, String)], button: &[(&str, &str)]) -> Answer {
    let mut all: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(button);
    browser.post(action, &all).await
}

/// The keys of the steps the editor shows, in order.
fn editor_keys(html: &str) -> Vec<String> {
    editor_fields(html).into_iter().filter(|(name, _)| name.ends_with("].key")).map(|(_, key)| key).collect()
}

/// A page's element `id` is marked invalid, described by its error, and the error summary links to it.
fn assert_field_error(answer: &Answer, id: &str, words: &str) {
    assert!(answer.html.contains(&format!("href=\"#{id}\"")), "the summary links to #{id}: {}", answer.html);
    let at = answer
        .html
        .find(&format!("id=\"{id}-error\""))
        .or_else(|| answer.html.find(&format!("id=\"{}-error\"", id.trim_end_matches("-0"))))
        .unwrap_or_else(|| panic!("no error on {id}: {}", answer.html));
    let error = &answer.html[at..at + answer.html[at..].find("</span>").unwrap_or(0) + 200];
    assert!(answer.html[at..].contains(words), "{id}'s error says {words:?}: {error}");
    let input = answer.html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let tag = &answer.html[answer.html[..input].rfind('<').unwrap()..input + answer.html[input..].find('>').unwrap()];
    assert!(tag.contains("aria-invalid=\"true\""), "#{id} is marked invalid: {tag}");
}

/// The flows the API lists, by display name.
async fn flow_names(server: &TestServer, token: &str) -> Vec<String> {
    let (status, body) = server.get(FLOWS, token).await;
    assert_eq!(status, 200, "{body}");
    body["list"].as_array().unwrap().iter().map(|flow| flow["displayName"].as_str().unwrap().to_string()).collect()
}

/// A flow with one step of every kind, made in the console's editor, is what the API reads back; the
/// list shows the minimal flow first and the directories that use each flow.
async fn create_every_kind(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let pat = crate::apps::create_user(&server, "pat@example.com").await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;

    let list = admin.get("/console/flows").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains("href=\"/console/flows\" aria-current=\"page\">Flows</a>"), "in the navigation");
    let onboards = list.html.find(">Onboards</a>").unwrap();
    let flows_link = list.html.find(">Flows</a>").unwrap();
    let apps = list.html.find(">Apps</a>").unwrap();
    assert!(onboards < flows_link && flows_link < apps, "Flows comes after Onboards in the navigation");
    assert!(list.html.contains(&format!("href=\"/console/flows/{MINIMAL_FLOW}\">Minimal</a>")), "{}", list.html);
    assert!(list.html.contains("href=\"/console/flows/new\""), "an admin may make one: {}", list.html);

    let new = admin.get("/console/flows/new").await;
    assert_eq!(new.status, 200, "{}", new.html);
    let csrf = new.csrf();
    let terms = "1. Be kind.\r\n\r\n2. Be brief & <clear>.";
    let fields: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("updatedAt", ""),
        ("displayName", "Contractors"),
        ("description", "For people who work with us\nfor a while."),
        ("steps[0].kind", "acceptTerms"),
        ("steps[0].key", "terms"),
        ("steps[0].required", "on"),
        ("steps[0].text", terms),
        ("steps[1].kind", "completeProfile"),
        ("steps[1].key", "profile"),
        ("steps[1].required", "on"),
        ("steps[1].fields", "jobTitle"),
        ("steps[1].fields", "department"),
        ("steps[2].kind", "verifyEmail"),
        ("steps[2].key", "verify"),
        ("steps[3].kind", "managerApproval"),
        ("steps[3].key", "boss"),
        ("steps[3].required", "on"),
        ("steps[3].approver", "Pat@Example.com"),
        ("steps[4].kind", "managerApproval"),
        ("steps[4].key", "manager"),
        ("steps[4].required", "on"),
        ("steps[4].approver", ""),
        ("steps[5].kind", "assignRoles"),
        ("steps[5].key", "roles"),
        ("steps[5].required", "on"),
        ("steps[5].roles", "basic-user"),
        ("steps[6].kind", "notify"),
        ("steps[6].key", "tell"),
        ("steps[6].required", "on"),
        ("steps[6].recipient", "NOTIFY_RECIPIENT_MANAGER"),
        ("steps[6].message", "Say hello."),
        ("action", "save"),
    ];
    let made = admin.post("/console/flows/new", &fields).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let location = made.location.unwrap();
    let id = location.trim_start_matches("/console/flows/").split('?').next().unwrap().to_string();
    assert_eq!(location, format!("/console/flows/{id}?done=created"));

    let flow = get_flow(&server, &token, &id).await;
    assert_eq!(flow["displayName"], "Contractors");
    assert_eq!(flow["description"], "For people who work with us\nfor a while.");
    assert_eq!(flow["builtin"], false);
    assert_eq!(
        flow["steps"],
        json!([
            {"key": "terms", "required": true, "acceptTerms": {"text": terms}},
            {"key": "profile", "required": true, "completeProfile": {"requiredFields": ["jobTitle", "department"]}},
            {"key": "verify", "required": false, "verifyEmail": {}},
            {"key": "boss", "required": true, "managerApproval": {"approverUserId": pat}},
            {"key": "manager", "required": true, "managerApproval": {}},
            {"key": "roles", "required": true, "assignRoles": {"roleIds": [BASIC_USER_ROLE]}},
            {"key": "tell", "required": true, "notify": {"recipient": "NOTIFY_RECIPIENT_MANAGER", "message": "Say hello."}},
        ]),
        "{flow}"
    );

    let shown = admin.get(&location).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    assert!(shown.html.contains("The flow was created."), "{}", shown.html);
    assert!(shown.html.contains("Be brief &#38; &#60;clear&#62;."), "the terms, escaped: {}", shown.html);
    assert!(shown.html.contains("pat@example.com"), "the approver by email: {}", shown.html);
    assert!(shown.html.contains("The user&#39;s manager"), "{}", shown.html);
    assert!(shown.html.contains("Basic User") && shown.html.contains("Job title, Department"), "{}", shown.html);

    // The editor opens with the stored flow, and saving it unchanged changes nothing.
    let edit = admin.get(&format!("/console/flows/{id}/edit")).await;
    assert_eq!(edit.status, 200, "{}", edit.html);
    let form = editor_fields(&edit.html);
    assert_eq!(editor_keys(&edit.html), ["terms", "profile", "verify", "boss", "manager", "roles", "tell"]);
    assert!(form.contains(&("steps[3].approver".into(), "pat@example.com".into())), "{form:?}");
    assert!(form.contains(&("steps[0].text".into(), terms.into())), "{form:?}");
    let same = press(&admin, &format!("/console/flows/{id}/edit"), &form, &[("action", "save")]).await;
    same.assert_redirect("saved unchanged", &format!("/console/flows/{id}?done=saved"));
    assert_eq!(get_flow(&server, &token, &id).await, flow, "nothing changed");

    // A directory that uses it is listed beside it; the minimal flow is listed first.
    let directory =
        crate::directories::create_directory(&server, &token, "Contract staff", json!({"onboardingFlowId": id})).await;
    let list = admin.get("/console/flows").await;
    let minimal_at = list.html.find(&format!("/console/flows/{MINIMAL_FLOW}\"")).unwrap();
    let ours_at = list.html.find(&format!("/console/flows/{id}\"")).unwrap();
    assert!(minimal_at < ours_at, "the minimal flow first: {}", list.html);
    let row = &list.html[ours_at..ours_at + list.html[ours_at..].find("</tr>").unwrap()];
    assert!(row.contains(&format!("href=\"/console/directories/{directory}\">Contract staff</a>")), "{row}");
    assert!(row.contains("7 steps: Accept terms, Complete profile, Verify email, Approval"), "{row}");

    // The minimal flow: its page, no controls, and the editor refuses it.
    let minimal = admin.get(&format!("/console/flows/{MINIMAL_FLOW}")).await;
    assert_eq!(minimal.status, 200, "{}", minimal.html);
    assert!(minimal.html.contains("cannot be changed or deleted"), "{}", minimal.html);
    assert!(!minimal.html.contains("/edit\"") && !minimal.html.contains("/delete\""), "{}", minimal.html);
    let refused = admin.get(&format!("/console/flows/{MINIMAL_FLOW}/edit")).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("built in and cannot change"), "{}", refused.html);
}
both_backends!(create_every_kind);

/// The editor's actions: each answers the edited form (a notice says nothing is saved) and saves nothing;
/// saving the result stores the steps in their new order.
async fn edit_reorder_remove_add(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let steps = json!([
        {"key": "terms", "acceptTerms": {"text": "Be kind."}},
        {"key": "profile", "completeProfile": {"requiredFields": ["displayName"]}},
        {"key": "verify", "verifyEmail": {}},
    ]);
    let id = create_flow_id(&server, &token, "Staff", steps).await;
    let before = get_flow(&server, &token, &id).await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let action = format!("/console/flows/{id}/edit");

    let page = admin.get(&action).await;
    assert_eq!(editor_keys(&page.html), ["terms", "profile", "verify"]);
    assert!(!page.html.contains("value=\"up:0\""), "the first step cannot move up");
    assert!(!page.html.contains("value=\"down:2\""), "the last step cannot move down");

    let moved = press(&admin, &action, &editor_fields(&page.html), &[("action", "up:1")]).await;
    assert_eq!(moved.status, 200, "{}", moved.html);
    assert_eq!(editor_keys(&moved.html), ["profile", "terms", "verify"]);
    assert!(moved.html.contains("Nothing is saved until you save the flow."), "{}", moved.html);
    let moved = press(&admin, &action, &editor_fields(&moved.html), &[("action", "down:1")]).await;
    assert_eq!(editor_keys(&moved.html), ["profile", "verify", "terms"]);
    let removed = press(&admin, &action, &editor_fields(&moved.html), &[("action", "remove:1")]).await;
    assert_eq!(editor_keys(&removed.html), ["profile", "terms"]);
    let added =
        press(&admin, &action, &editor_fields(&removed.html), &[("action", "add"), ("newKind", "acceptTerms")]).await;
    assert_eq!(added.status, 200, "{}", added.html);
    assert_eq!(editor_keys(&added.html), ["profile", "terms", "terms-2"], "the new step's key is free");
    assert!(added.html.contains("Step 3 (Accept terms) was added at the end."), "{}", added.html);
    let added = press(&admin, &action, &editor_fields(&added.html), &[("action", "add"), ("newKind", "notify")]).await;
    assert_eq!(editor_keys(&added.html), ["profile", "terms", "terms-2", "notify"]);
    assert_eq!(get_flow(&server, &token, &id).await, before, "no action saves");

    let mut form = editor_fields(&added.html);
    set(&mut form, "steps[2].text", "Keep secrets secret.");
    set(&mut form, "steps[3].message", "They are in.");
    set(&mut form, "displayName", "Staff, reordered");
    form.retain(|(name, _)| name != "steps[0].required");
    let saved = press(&admin, &action, &form, &[("action", "save")]).await;
    saved.assert_redirect("saved", &format!("/console/flows/{id}?done=saved"));
    let after = get_flow(&server, &token, &id).await;
    assert_eq!(after["displayName"], "Staff, reordered");
    assert_eq!(
        after["steps"],
        json!([
            {"key": "profile", "required": false, "completeProfile": {"requiredFields": ["displayName"]}},
            {"key": "terms", "required": true, "acceptTerms": {"text": "Be kind."}},
            {"key": "terms-2", "required": true, "acceptTerms": {"text": "Keep secrets secret."}},
            {"key": "notify", "required": true, "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "They are in."}},
        ]),
        "{after}"
    );

    // A form opened before someone else changed the flow is refused, not saved over their change.
    let stale = admin.get(&action).await;
    let (status, body) =
        server.post(&flow_path(&id), &token, &json!({"onboardingFlow": {"description": "Changed by the API"}})).await;
    assert_eq!(status, 200, "{body}");
    let refused = press(&admin, &action, &editor_fields(&stale.html), &[("action", "save")]).await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(refused.html.contains("changed by someone else"), "{}", refused.html);
    assert_eq!(get_flow(&server, &token, &id).await["description"], "Changed by the API");
}
both_backends!(edit_reorder_remove_add);

/// Bad input: every problem on its step's field (empty terms, a duplicate key, an approver nobody has
/// as email, no roles, an empty name), what was typed kept, nothing made or changed; the same input
/// through the API is refused too.
async fn invalid_input(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let csrf = admin.get("/console/flows/new").await.csrf();
    let bad: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("displayName", " "),
        ("steps[0].kind", "acceptTerms"),
        ("steps[0].key", "terms"),
        ("steps[0].required", "on"),
        ("steps[0].text", "  "),
        ("steps[1].kind", "managerApproval"),
        ("steps[1].key", "terms"),
        ("steps[1].approver", "nobody@example.com"),
        ("steps[2].kind", "assignRoles"),
        ("steps[2].key", "Roles!"),
        ("action", "save"),
    ];
    let refused = admin.post("/console/flows/new", &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("There is a problem"), "{}", refused.html);
    assert_field_error(&refused, "displayName", "Name: must not be empty");
    assert_field_error(&refused, "step-0-text", "Step 1, terms: must hold the terms");
    assert_field_error(&refused, "step-1-approver", "no user has the email");
    assert_field_error(&refused, "step-1-key", "Step 2, key: is used by an earlier step");
    assert_field_error(&refused, "step-2-key", "lowercase letters");
    assert!(refused.html.contains("value=\"nobody@example.com\""), "what was typed comes back: {}", refused.html);
    assert!(refused.html.contains("value=\"Roles!\""), "{}", refused.html);
    assert_eq!(flow_names(&server, &token).await, ["Minimal"], "nothing made");

    let no_roles: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("displayName", "Roles only"),
        ("steps[0].kind", "assignRoles"),
        ("steps[0].key", "roles"),
        ("action", "save"),
    ];
    let refused = admin.post("/console/flows/new", &no_roles).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert_field_error(&refused, "step-0-roles-0", "must name at least one role");
    let (status, body) = server
        .post(
            FLOWS,
            &token,
            &json!({"displayName": "Roles only", "steps": [{"key": "roles", "assignRoles": {"roleIds": []}}]}),
        )
        .await;
    assert_eq!(status, 400, "the API refuses the same: {body}");
    assert_eq!(flow_names(&server, &token).await, ["Minimal"], "nothing made");

    // An edit refused leaves the stored flow as it was.
    let id = create_flow_id(&server, &token, "Staff", json!([{"key": "verify", "verifyEmail": {}}])).await;
    let before = get_flow(&server, &token, &id).await;
    let action = format!("/console/flows/{id}/edit");
    let page = admin.get(&action).await;
    let added =
        press(&admin, &action, &editor_fields(&page.html), &[("action", "add"), ("newKind", "verifyEmail")]).await;
    let mut form = editor_fields(&added.html);
    set(&mut form, "steps[1].key", "verify");
    set(&mut form, "displayName", "Renamed");
    let refused = press(&admin, &action, &form, &[("action", "save")]).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert_field_error(&refused, "step-1-key", "is used by an earlier step");
    assert!(refused.html.contains("value=\"Renamed\""), "{}", refused.html);
    assert_eq!(get_flow(&server, &token, &id).await, before, "unchanged");
}
both_backends!(invalid_input);

/// Delete: refused with the reason while a directory uses the flow, then done once it does not.
async fn delete_flow(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let id = create_flow_id(&server, &token, "Seasonal", json!([{"key": "verify", "verifyEmail": {}}])).await;
    let directory =
        crate::directories::create_directory(&server, &token, "Seasonal staff", json!({"onboardingFlowId": id})).await;
    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let page = format!("/console/flows/{id}");
    let shown = admin.get(&page).await;
    assert!(shown.html.contains(&format!("action=\"/console/flows/{id}/delete\"")), "{}", shown.html);
    assert!(shown.html.contains("Seasonal staff"), "the directory that uses it: {}", shown.html);

    let refused = admin.submit(&page, &format!("{page}/delete"), &[]).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("The flow is in use: 1 local directories use it"), "{}", refused.html);
    assert!(refused.html.contains("role=\"alert\""), "{}", refused.html);
    get_flow(&server, &token, &id).await;

    let (status, body) = server
        .post(
            &format!("/api/v1/local-directory-configs/{directory}"),
            &token,
            &json!({"localDirectoryConfig": {"onboardingFlowId": ""}, "updateMask": "onboardingFlowId"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deleted = admin.submit(&page, &format!("{page}/delete"), &[]).await;
    deleted.assert_redirect("deleted", "/console/flows?done=Seasonal");
    let (status, _) = server.get(&flow_path(&id), &token).await;
    assert_eq!(status, 404, "gone");
    let list = admin.get("/console/flows?done=Seasonal").await;
    assert!(list.html.contains("The flow Seasonal was deleted."), "{}", list.html);
}
both_backends!(delete_flow);

/// A read-only admin sees the flows and their steps without a write control, and every POST (save, an
/// editing action, delete) is 403 with nothing changed; a form without the anti-forgery token is 403.
async fn read_only_and_forgery(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let id = create_flow_id(&server, &token, "Staff", json!([{"key": "verify", "verifyEmail": {}}])).await;
    let before = get_flow(&server, &token, &id).await;
    let reader = console_admin(&server, "reader@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let list = reader.get("/console/flows").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains(">Staff</a>") && !list.html.contains("/console/flows/new"), "{}", list.html);
    let page = reader.get(&format!("/console/flows/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Verify email"), "{}", page.html);
    assert!(!page.html.contains("/edit\"") && !page.html.contains("<form method=\"post\" action=\"/console/flows"));
    assert_eq!(reader.get("/console/flows/new").await.status, 403);
    assert_eq!(reader.get(&format!("/console/flows/{id}/edit")).await.status, 403);

    let csrf = list.csrf();
    let edit = format!("/console/flows/{id}/edit");
    let posts: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/console/flows/new",
            vec![("displayName", "Mine"), ("steps[0].kind", "verifyEmail"), ("steps[0].key", "v"), ("action", "save")],
        ),
        (&edit, vec![("displayName", "Mine"), ("action", "save")]),
        (&edit, vec![("displayName", "Staff"), ("action", "add"), ("newKind", "notify")]),
        ("", vec![]),
    ];
    let delete = format!("/console/flows/{id}/delete");
    for (action, fields) in &posts {
        let action = if action.is_empty() { delete.as_str() } else { action };
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let refused = reader.post(action, &all).await;
        assert_eq!(refused.status, 403, "{action}: {}", refused.html);
    }
    assert_eq!(get_flow(&server, &token, &id).await, before, "unchanged");
    assert_eq!(flow_names(&server, &token).await, ["Minimal", "Staff"], "nothing made");

    let admin = console_admin(&server, "ada@example.com", &[BuiltinRole::Admin]).await;
    let forged = admin
        .post(
            "/console/flows/new",
            &[("displayName", "Forged"), ("steps[0].kind", "verifyEmail"), ("steps[0].key", "v"), ("action", "save")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    let forged = admin.post(&delete, &[]).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert_eq!(flow_names(&server, &token).await, ["Minimal", "Staff"], "nothing made or deleted");
}
both_backends!(read_only_and_forgery);
