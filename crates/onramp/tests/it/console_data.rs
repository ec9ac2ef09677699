//! The read models under the admin console (issue #14), over HTTP: `GET /onboards` filters, keyset paging
//! by `limit`/`after` with a `Link` header and whose turn each onboard is; `GET /api/v1/onramp/overview`
//! (counts by status and what needs someone); `GET /api/v1/onramp/invitations` (sponsor, age, delivery of
//! the email); `GET /api/v1/audit-events` filters by actor, action, object and time.

use onramp_domain::{BuiltinRole, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::{assert_names_field, create_directory};
use crate::flows::create_flow_id;
use crate::invitations::{invitation_path, invite, mails_to};
use crate::onboards::{
    Auth, accept_mailed, call, complete, create_onboard, id_of, my_user_id, onboard_id_of, put_onboard, set_managers,
};
use crate::support::{TestServer, assert_api_error, read};

const OVERVIEW: &str = "/api/v1/onramp/overview";
const INVITATIONS: &str = "/api/v1/onramp/invitations";
const DAY_MICROS: i64 = 24 * 3600 * 1_000_000;

#[track_caller]
fn micros(time: &Value) -> i64 {
    Timestamp::parse_rfc3339(time.as_str().unwrap_or_else(|| panic!("not a time: {time}")))
        .unwrap_or_else(|_| panic!("not an RFC 3339 time: {time}"))
        .micros()
}

/// `GET /onboards` with a query: (status, body, the `Link` header).
async fn list_raw(server: &TestServer, token: &str, query: &str) -> (u16, Value, Option<String>) {
    let response =
        server.http.get(server.url(&format!("/onboards{query}"))).bearer_auth(token).send().await.expect("GET");
    let link = response.headers().get("link").map(|value| value.to_str().unwrap().to_string());
    let (status, body) = read(response).await;
    (status, body, link)
}

/// The ids of `GET /onboards` with a query that must answer 200 without a next page.
async fn listed_ids(server: &TestServer, token: &str, query: &str) -> Vec<String> {
    let (status, body, link) = list_raw(server, token, query).await;
    assert_eq!(status, 200, "GET /onboards{query}: {body}");
    assert_eq!(link, None, "GET /onboards{query}: one page");
    body.as_array().unwrap().iter().map(id_of).collect()
}

/// The onboard of this id in a `GET /onboards` answer.
async fn listed(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, body, _) = list_raw(server, token, "").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().iter().find(|onboard| onboard["id"] == id).cloned().unwrap_or_else(|| panic!("{id}"))
}

#[track_caller]
fn assert_turn(case: &str, onboard: &Value, step: Value, waiting_on: &str, user: Value) {
    assert_eq!(onboard["current_step"], step, "{case}: current_step of {onboard}");
    assert_eq!(onboard["waiting_on"], waiting_on, "{case}: waiting_on of {onboard}");
    assert_eq!(onboard["waiting_on_user_id"], user, "{case}: waiting_on_user_id of {onboard}");
    let since = micros(&onboard["waiting_since"]);
    assert!(since >= micros(&onboard["created_at"]) && since <= micros(&onboard["updated_at"]), "{case}: {onboard}");
}

/// Each onboard says whose turn it is: before acceptance the invitee's (no step, no user yet); then the
/// invitee's step; then the named approver, since the step before was done; an approval naming nobody
/// waits on the user's first manager (none until one is set); an ended onboard waits on nobody. The same
/// fields come in the list, the read, the create and the PUT.
async fn onboards_say_whose_turn_it_is(backend: crate::support::Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let (_, approver_token) = server.credential_with_roles("approver@example.com", &[BuiltinRole::BasicUser]).await;
    let approver = my_user_id(&server, &approver_token).await;
    let named = create_flow_id(
        &server,
        &token,
        "Named",
        json!([{"key": "terms", "acceptTerms": {"text": "t"}},
               {"key": "nod", "managerApproval": {"approverUserId": approver}}]),
    )
    .await;
    let managed = create_flow_id(&server, &token, "Managed", json!([{"key": "boss", "managerApproval": {}}])).await;
    let directory = create_directory(&server, &token, "Turns", json!({"onboardingFlowId": named})).await;
    let other = create_directory(&server, &token, "Managed", json!({"onboardingFlowId": managed})).await;

    let pending = invite(&server, &token, &directory, "pending@example.com", Value::Null).await;
    let created = create_onboard(&server, &auth, json!({"invitation_id": pending["id"]})).await;
    assert_turn("not accepted", &created, Value::Null, "invitee", Value::Null);
    assert_eq!(created["waiting_since"], created["created_at"], "{created}");
    assert_eq!(listed(&server, &token, &id_of(&created)).await, created, "the list says the same");

    invite(&server, &token, &directory, "ivy@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "ivy@example.com", "Ivy").await;
    let (ivy_onboard, ivy) = (onboard_id_of(&accepted), accepted["user"]["id"].clone());
    let ivy_read = listed(&server, &token, &ivy_onboard).await;
    assert_turn("accepted", &ivy_read, json!("terms"), "invitee", ivy.clone());
    let done =
        complete(&server, &Auth::invitee("ivy@example.com"), &ivy_onboard, "terms", json!({"accepted": true})).await;
    assert_turn("terms done", &done, json!("nod"), "approver", json!(approver));
    let terms_done = done["steps"][0]["completed_at"].clone();
    assert_eq!(done["waiting_since"], terms_done, "since the step before was done: {done}");
    assert_eq!(listed(&server, &token, &ivy_onboard).await, done);
    let (status, got) = call(&server, Method::GET, &format!("/onboards/{ivy_onboard}"), &auth, None).await;
    assert_eq!((status, &got), (200, &done));

    invite(&server, &token, &other, "max@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "max@example.com", "Max").await;
    let (max_onboard, max) = (onboard_id_of(&accepted), accepted["user"]["id"].as_str().unwrap().to_string());
    assert_turn("no manager", &listed(&server, &token, &max_onboard).await, json!("boss"), "manager", Value::Null);
    set_managers(&server, &token, &max, &[&approver]).await;
    assert_turn("a manager", &listed(&server, &token, &max_onboard).await, json!("boss"), "manager", json!(approver));

    let (status, failed) = put_onboard(&server, &auth, &id_of(&created), json!({"status": "failed"})).await;
    assert_eq!(status, 200, "{failed}");
    for field in ["current_step", "waiting_on", "waiting_on_user_id", "waiting_since"] {
        assert_eq!(failed[field], Value::Null, "an ended onboard waits on nobody: {failed}");
    }
}
both_backends!(onboards_say_whose_turn_it_is);

/// `GET /onboards` filters by status, flow, invitation and user (together too), pages newest first by
/// `limit` and `after` with a `Link` to the next page (which keeps the filters) and none on the last, and
/// answers a bad parameter with 400 naming it.
async fn onboards_filter_and_page(backend: crate::support::Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let auth = Auth::Bearer(token.clone());
    let flow = create_flow_id(&server, &token, "Terms", json!([{"key": "terms", "acceptTerms": {"text": "t"}}])).await;
    let directory = create_directory(&server, &token, "Filters", Value::Null).await;
    let mut onboards = Vec::new();
    let mut invitations = Vec::new();
    for n in 0..5 {
        let invitation = invite(&server, &token, &directory, &format!("p{n}@example.com"), Value::Null).await;
        let body = if n % 2 == 0 {
            json!({"invitation_id": invitation["id"], "flow_id": flow})
        } else {
            json!({"invitation_id": invitation["id"]})
        };
        onboards.push(id_of(&create_onboard(&server, &auth, body).await));
        invitations.push(id_of(&invitation));
    }
    let accepted = accept_mailed(&server, "p2@example.com", "Pat").await;
    let user = accepted["user"]["id"].as_str().unwrap().to_string();
    let (status, body) = put_onboard(&server, &auth, &onboards[3], json!({"status": "failed"})).await;
    assert_eq!(status, 200, "{body}");
    let newest_first: Vec<String> = onboards.iter().rev().cloned().collect();

    assert_eq!(listed_ids(&server, &token, "").await, newest_first, "no filter: every onboard, newest first");
    assert_eq!(listed_ids(&server, &token, "?status=failed").await, [onboards[3].clone()]);
    let with_flow = listed_ids(&server, &token, &format!("?flow_id={flow}")).await;
    assert_eq!(with_flow, [onboards[4].clone(), onboards[2].clone(), onboards[0].clone()]);
    assert_eq!(listed_ids(&server, &token, &format!("?invitation_id={}", invitations[1])).await, [onboards[1].clone()]);
    assert_eq!(listed_ids(&server, &token, &format!("?user_id={user}")).await, [onboards[2].clone()]);
    assert_eq!(listed_ids(&server, &token, &format!("?flow_id={flow}&status=failed")).await, Vec::<String>::new());
    let created = listed_ids(&server, &token, "?status=created&limit=1000").await.len();
    let in_progress = listed_ids(&server, &token, "?status=in_progress").await.len();
    assert_eq!(created + in_progress, 4, "every onboard but the failed one is under way");

    // Pages of two, following the Link header.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    for page in 0.. {
        let (status, body, link) = list_raw(&server, &token, &query).await;
        assert_eq!(status, 200, "page {page}: {body}");
        let ids: Vec<String> = body.as_array().unwrap().iter().map(id_of).collect();
        assert!(ids.len() <= 2, "{body}");
        seen.extend(ids);
        let Some(link) = link else { break };
        let target = link.strip_prefix('<').and_then(|rest| rest.split_once(">; rel=\"next\"")).map(|(url, _)| url);
        let target = target.unwrap_or_else(|| panic!("a Link of rel next: {link}"));
        assert!(target.starts_with(&server.url("/onboards?")), "{target}");
        query = target[server.url("/onboards").len()..].to_string();
        assert!(query.contains("limit=2") && query.contains("after="), "{query}");
    }
    assert_eq!(seen, newest_first, "the pages hold every onboard once, in order");
    let (_, body, link) = list_raw(&server, &token, &format!("?flow_id={flow}&limit=1")).await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    let link = link.expect("more onboards of the flow follow");
    assert!(link.contains(&format!("flow_id={flow}")), "the next page keeps the filter: {link}");
    let after = listed_ids(&server, &token, &format!("?flow_id={flow}&after={}", onboards[2])).await;
    assert_eq!(after, [onboards[0].clone()], "after an onboard: the older ones");

    for (query, field) in [
        ("?status=done", "status"),
        ("?status=IN_PROGRESS", "status"),
        ("?flow_id=nope", "flow_id"),
        ("?invitation_id=123", "invitation_id"),
        ("?user_id=zzzzzzzzzzzzzzzzzzzzzzzz", "user_id"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=many", "limit"),
        ("?after=last", "after"),
    ] {
        let (status, body, _) = list_raw(&server, &token, query).await;
        assert_names_field(query, &(status, body), field);
    }
}
both_backends!(onboards_filter_and_page);

/// Sets an outbox message's state behind the server's back, as the delivery worker would after failures.
async fn set_delivery(server: &TestServer, subject: &str, failed: bool) {
    let now = Timestamp::now().micros();
    let sql = if failed {
        format!(
            "UPDATE outbox SET sent_at = NULL, failed_at = {now}, attempts = 20, \
             last_error = '550 mailbox unavailable' WHERE subject_id = '{subject}'"
        )
    } else {
        let later = now + DAY_MICROS;
        format!(
            "UPDATE outbox SET sent_at = NULL, attempts = 2, next_attempt_at = {later}, \
             last_error = '421 try again later' WHERE subject_id = '{subject}'"
        )
    };
    assert_eq!(server.database.execute(&sql).await, 1, "{sql}");
}

/// The overview counts users, invitations and onboards by status; lists the onboards waiting longer than
/// the threshold (on the invitee or the approver), the pending invitations expiring within 48 hours and the
/// emails failed or retrying; refuses a bad threshold naming `waitingDays`, and a caller who may read none
/// of it.
async fn overview_counts_and_what_needs_someone(backend: crate::support::Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let (status, before) = server.get(OVERVIEW, &token).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["users"]["ENABLED"], "1", "the bootstrap admin: {before}");
    assert_eq!(before["invitations"]["LOCAL_INVITATION_STATUS_PENDING"], "0", "{before}");
    assert_eq!(before["onboards"]["created"], "0", "{before}");
    assert_eq!(before["waitingDays"], 3, "the default threshold: {before}");
    assert_eq!(before["emails"]["failed"], "0", "{before}");

    let flow = create_flow_id(&server, &token, "Terms", json!([{"key": "terms", "acceptTerms": {"text": "t"}}])).await;
    let soon = create_directory(&server, &token, "Soon", json!({"invitationTtl": "3600s"})).await;
    let later = create_directory(&server, &token, "Later", json!({"onboardingFlowId": flow})).await;
    let expiring = invite(&server, &token, &soon, "soon@example.com", Value::Null).await;
    let lasting = invite(&server, &token, &later, "later@example.com", Value::Null).await;
    invite(&server, &token, &later, "slow@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "slow@example.com", "Slow").await;
    let slow_onboard = onboard_id_of(&accepted);
    mails_to(&server, "soon@example.com", 1).await;
    mails_to(&server, "later@example.com", 1).await;
    set_delivery(&server, &id_of(&expiring), true).await;
    set_delivery(&server, &id_of(&lasting), false).await;

    let (status, now) = server.get(&format!("{OVERVIEW}?waitingDays=0"), &token).await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["users"]["ENABLED"], "1", "{now}");
    assert_eq!(now["users"]["DISABLED"], "1", "Slow waits on the onboard: {now}");
    assert_eq!(now["invitations"]["LOCAL_INVITATION_STATUS_PENDING"], "2", "{now}");
    assert_eq!(now["invitations"]["LOCAL_INVITATION_STATUS_ACCEPTED"], "1", "{now}");
    let onboards = now["onboards"].as_object().unwrap();
    let live: i64 =
        ["created", "in_progress"].iter().map(|s| onboards[*s].as_str().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(live, 1, "{now}");
    let expiring_list = &now["expiringInvitations"];
    assert_eq!(expiring_list["total"], "1", "{now}");
    assert_eq!(expiring_list["list"][0]["id"], expiring["id"], "only the invitation of the 1-hour directory: {now}");
    let emails = &now["emails"];
    assert_eq!((emails["failed"].as_str(), emails["retrying"].as_str()), (Some("1"), Some("1")), "{now}");
    let states: Vec<(&str, &str)> = emails["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|email| (email["subjectId"].as_str().unwrap(), email["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&(expiring["id"].as_str().unwrap(), "failed")), "{now}");
    assert!(states.contains(&(lasting["id"].as_str().unwrap(), "retrying")), "{now}");
    assert!(emails["list"].as_array().unwrap().iter().all(|email| email.get("body").is_none()), "no body: {now}");
    assert_eq!(now["waitingOnboards"]["total"], "1", "any wait is longer than 0 days: {now}");
    assert_eq!(now["waitingOnboards"]["list"][0]["waiting_on"], "invitee", "{now}");

    // Three days ago, behind the server's back.
    let (status, fresh) = server.get(&format!("{OVERVIEW}?waitingDays=1"), &token).await;
    assert_eq!((status, &fresh["waitingOnboards"]["total"]), (200, &json!("0")), "{fresh}");
    let shift = 3 * DAY_MICROS;
    let moved = server
        .database
        .execute(&format!(
            "UPDATE onboards SET created_at = created_at - {shift}, turn_since = turn_since - {shift} \
             WHERE id = '{slow_onboard}'"
        ))
        .await;
    assert_eq!(moved, 1);
    let moved = server
        .database
        .execute(&format!(
            "UPDATE invitations SET accepted_at = accepted_at - {shift} WHERE id = '{}'",
            accepted["invitation"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(moved, 1);
    let (_, stale) = server.get(&format!("{OVERVIEW}?waitingDays=2"), &token).await;
    assert_eq!(stale["waitingOnboards"]["total"], "1", "waiting on the invitee for 3 days: {stale}");
    assert_eq!(stale["waitingOnboards"]["list"][0]["id"], slow_onboard.as_str(), "{stale}");
    assert_eq!(stale["waitingOnboards"]["list"][0]["current_step"], "terms", "{stale}");
    let (_, patient) = server.get(&format!("{OVERVIEW}?waitingDays=4"), &token).await;
    assert_eq!(patient["waitingOnboards"]["total"], "0", "{patient}");

    for query in ["?waitingDays=-1", "?waitingDays=366", "?waitingDays=soon", "?waiting_days=1.5"] {
        let response = server.get(&format!("{OVERVIEW}{query}"), &token).await;
        assert_api_error(query, &response, 400, 3);
        let message = response.1["message"].as_str().unwrap();
        assert!(message.contains("waitingDays") || message.contains("waiting_days"), "{query}: {message}");
    }
    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("a basic user", &server.get(OVERVIEW, &basic).await, 403, 7);
    let (_, reader) = server.credential_with_roles("reader@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let (status, read_only) = server.get(OVERVIEW, &reader).await;
    assert_eq!(status, 200, "{read_only}");
    assert!(read_only["users"].is_object() && read_only["waitingOnboards"].is_object(), "{read_only}");
}
both_backends!(overview_counts_and_what_needs_someone);

/// The console's invitations: each with its sponsor (else its sender) by name, its age and the delivery of
/// its newest email; filtered by directory and status, paged by tokens bound to the filters; bad
/// parameters 400 naming them; a basic user refused.
async fn invitations_with_sponsor_age_and_delivery(backend: crate::support::Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = my_user_id(&server, &token).await;
    let sponsor = server.create_user(&token, &json!({"email": "sam@example.com", "displayName": "Sam Sponsor"})).await;
    let first = create_directory(&server, &token, "First", Value::Null).await;
    let second = create_directory(&server, &token, "Second", Value::Null).await;
    let sponsored = invite(&server, &token, &first, "ann@example.com", json!({"sponsorUserId": sponsor})).await;
    let plain = invite(&server, &token, &first, "bob@example.com", Value::Null).await;
    let revoked = invite(&server, &token, &second, "cy@example.com", Value::Null).await;
    mails_to(&server, "ann@example.com", 1).await;
    mails_to(&server, "bob@example.com", 1).await;
    let (status, body) =
        server.post(&format!("{}/revoke", invitation_path(&second, &id_of(&revoked))), &token, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    set_delivery(&server, &id_of(&plain), true).await;

    let (status, page) = server.get(&format!("{INVITATIONS}?directoryAppId={first}"), &token).await;
    assert_eq!(status, 200, "{page}");
    let list = page["list"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{page}");
    let ann = list.iter().find(|item| item["invitation"]["id"] == sponsored["id"]).unwrap();
    assert_eq!(ann["sponsor"]["displayName"], "Sam Sponsor", "{ann}");
    assert_eq!(ann["sponsor"]["id"], sponsor.as_str(), "{ann}");
    assert_eq!(ann["invitedBy"]["id"], admin.as_str(), "{ann}");
    assert_eq!(ann["delivery"]["state"], "sent", "{ann}");
    assert!(ann["ageSeconds"].as_str().unwrap().parse::<i64>().unwrap() >= 0, "{ann}");
    let bob = list.iter().find(|item| item["invitation"]["id"] == plain["id"]).unwrap();
    assert_eq!(bob["sponsor"]["id"], admin.as_str(), "no sponsor: whoever sent it: {bob}");
    assert_eq!(bob["delivery"]["state"], "failed", "{bob}");
    assert_eq!(bob["delivery"]["lastError"], "550 mailbox unavailable", "{bob}");
    assert_eq!(bob["invitation"]["status"], "LOCAL_INVITATION_STATUS_PENDING", "{bob}");

    let (_, revoked_page) = server.get(&format!("{INVITATIONS}?status=revoked"), &token).await;
    let ids: Vec<&Value> =
        revoked_page["list"].as_array().unwrap().iter().map(|item| &item["invitation"]["id"]).collect();
    assert_eq!(ids, [&revoked["id"]], "{revoked_page}");
    let (_, same) = server.get(&format!("{INVITATIONS}?status=LOCAL_INVITATION_STATUS_REVOKED"), &token).await;
    assert_eq!(same["list"], revoked_page["list"]);
    let (_, pending) = server.get(&format!("{INVITATIONS}?status=PENDING&directoryAppId={second}"), &token).await;
    assert_eq!(pending["list"], json!([]), "{pending}");

    for n in 0..10 {
        invite(&server, &token, &second, &format!("many{n}@example.com"), Value::Null).await;
    }
    let (_, one) = server.get(&format!("{INVITATIONS}?directoryAppId={second}&pageSize=10"), &token).await;
    assert_eq!(one["list"].as_array().unwrap().len(), 10, "{one}");
    let next = one["nextPageToken"].as_str().unwrap().to_string();
    assert!(!next.is_empty(), "{one}");
    let (_, two) =
        server.get(&format!("{INVITATIONS}?directoryAppId={second}&pageSize=10&pageToken={next}"), &token).await;
    assert_eq!(two["list"].as_array().unwrap().len(), 1, "{two}");
    assert_eq!(two["nextPageToken"], "", "{two}");
    let response = server.get(&format!("{INVITATIONS}?directoryAppId={first}&pageToken={next}"), &token).await;
    assert_names_field("another filter's token", &response, "pageToken");

    for (query, field) in [
        ("?status=lost", "status"),
        ("?directoryAppId=nope", "directoryAppId"),
        ("?pageSize=-1", "pageSize"),
        ("?pageToken=%25%25", "pageToken"),
    ] {
        let response = server.get(&format!("{INVITATIONS}{query}"), &token).await;
        assert_names_field(query, &response, field);
    }
    let (_, basic) = server.credential_with_roles("basic@example.com", &[BuiltinRole::BasicUser]).await;
    assert_api_error("a basic user", &server.get(INVITATIONS, &basic).await, 403, 7);
}
both_backends!(invitations_with_sponsor_age_and_delivery);

/// The actions of `GET /api/v1/audit-events` with a query, over every page of 10.
async fn audit_pages(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let path = format!("/api/v1/audit-events?pageSize=10&pageToken={page_token}{query}");
        let (status, body) = server.get(&path, token).await;
        assert_eq!(status, 200, "{path}: {body}");
        events.extend(body["list"].as_array().unwrap().iter().cloned());
        page_token = body["nextPageToken"].as_str().unwrap().to_string();
        if page_token.is_empty() {
            return events;
        }
    }
}

/// The audit log filters by actor, action, object (type and id) and a time range, each alone and
/// together, across pages; bad values are 400 naming the parameter; a page token of another filter is
/// refused.
async fn audit_events_filter(backend: crate::support::Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = my_user_id(&server, &token).await;
    let (_, other) = server.credential_with_roles("other@example.com", &[BuiltinRole::Admin]).await;
    let other_id = my_user_id(&server, &other).await;
    let mut created = Vec::new();
    for n in 0..11 {
        created.push(
            server
                .create_user(&token, &json!({"email": format!("u{n}@example.com"), "displayName": format!("U{n}")}))
                .await,
        );
    }
    let middle = Timestamp::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let update = json!({"user": {"displayName": "Renamed"}, "updateMask": "displayName"});
    let (status, body) = server.post(&format!("/api/v1/users/{}", created[0]), &other, &update).await;
    assert_eq!(status, 200, "{body}");
    let theirs = server.create_user(&other, &json!({"email": "theirs@example.com", "displayName": "Theirs"})).await;

    let all = audit_pages(&server, &token, "").await;
    let by_admin = audit_pages(&server, &token, &format!("&actorUserId={admin}")).await;
    assert!(by_admin.len() >= 11 && by_admin.iter().all(|e| e["actorUserId"] == admin.as_str()), "{by_admin:?}");
    let by_other = audit_pages(&server, &token, &format!("&actor_user_id={other_id}&objectType=user")).await;
    let actions: Vec<&str> = by_other.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.update", "user.create"], "in id order: {by_other:?}");
    let creates = audit_pages(&server, &token, "&action=user.create").await;
    assert_eq!(creates.len(), all.iter().filter(|e| e["action"] == "user.create").count());
    assert!(creates.len() >= 12, "11 by the admin and one by the other, over two pages: {}", creates.len());
    let object = audit_pages(&server, &token, &format!("&objectType=user&objectId={}", created[0])).await;
    let actions: Vec<&str> = object.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.create", "user.update"], "{object:?}");
    let since = middle.to_rfc3339();
    let recent = audit_pages(&server, &token, &format!("&since={since}&action=user.create")).await;
    assert_eq!(recent.len(), 1, "{recent:?}");
    assert_eq!(recent[0]["objectId"], theirs.as_str());
    let earlier = audit_pages(&server, &token, &format!("&until={since}&objectId={}", created[0])).await;
    let actions: Vec<&str> = earlier.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.create"], "{earlier:?}");
    let none = audit_pages(&server, &token, &format!("&actorUserId={other_id}&action=app.create")).await;
    assert!(none.is_empty());

    let (_, first) = server.get("/api/v1/audit-events?pageSize=10&action=user.create", &token).await;
    let page_token = first["nextPageToken"].as_str().unwrap();
    assert!(!page_token.is_empty(), "{first}");
    let response = server.get(&format!("/api/v1/audit-events?pageToken={page_token}&action=user.update"), &token).await;
    assert_names_field("another filter's token", &response, "pageToken");
    for (query, field) in [
        ("actorUserId=me", "actorUserId"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("action=a%0Ab", "action"),
        ("objectType=%00", "objectType"),
    ] {
        let response = server.get(&format!("/api/v1/audit-events?{query}"), &token).await;
        assert_names_field(query, &response, field);
    }
}
both_backends!(audit_events_filter);

/// `orderBy=newest` lists the events newest first, keyset-paged across pages and with filters: the same
/// events as the default order (`oldest`, which is also the default), reversed. A page token continues only
/// the order it was made in; an unknown order is 400 naming `orderBy`.
async fn audit_events_newest_first(backend: crate::support::Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let mut created = Vec::new();
    for n in 0..23 {
        let user = json!({"email": format!("n{n:02}@example.com"), "displayName": format!("N{n:02}")});
        created.push(server.create_user(&token, &user).await);
    }
    let update = json!({"user": {"displayName": "Renamed"}, "updateMask": "displayName"});
    let (status, body) = server.post(&format!("/api/v1/users/{}", created[0]), &token, &update).await;
    assert_eq!(status, 200, "{body}");
    let ids = |events: &[Value]| events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();

    let oldest = audit_pages(&server, &token, "&action=user.create").await;
    let newest = audit_pages(&server, &token, "&action=user.create&orderBy=newest").await;
    assert!(oldest.len() >= 23, "over three pages of 10: {}", oldest.len());
    assert_eq!(ids(&audit_pages(&server, &token, "&action=user.create&orderBy=oldest").await), ids(&oldest));
    let mut reversed = ids(&oldest);
    reversed.reverse();
    assert_eq!(ids(&newest), reversed, "the same events, newest first");
    assert!(ids(&newest).windows(2).all(|pair| pair[0] > pair[1]), "ids descending: {newest:?}");
    assert_eq!(newest[0]["objectId"], created[22].as_str(), "the last user made comes first");
    let first = micros(&newest[0]["createdAt"]);
    assert!(newest.iter().all(|e| micros(&e["createdAt"]) <= first), "none newer than the first");

    // With an object filter: the update, then the creation; by the proto name of the parameter too.
    let object = audit_pages(&server, &token, &format!("&objectId={}&order_by=newest", created[0])).await;
    let actions: Vec<&str> = object.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.update", "user.create"], "{object:?}");

    let (_, page) = server.get("/api/v1/audit-events?pageSize=10&action=user.create&orderBy=newest", &token).await;
    let page_token = page["nextPageToken"].as_str().unwrap();
    assert!(!page_token.is_empty(), "{page}");
    let other_order = format!("/api/v1/audit-events?pageSize=10&action=user.create&pageToken={page_token}");
    assert_names_field(
        "a newest-first token in the default order",
        &server.get(&other_order, &token).await,
        "pageToken",
    );
    let response = server.get("/api/v1/audit-events?orderBy=sideways", &token).await;
    assert_names_field("an unknown order", &response, "orderBy");
}
both_backends!(audit_events_newest_first);
