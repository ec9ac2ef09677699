//! Onboarding finishes itself, and whoever must act is told (issue #13, items 1 and 2): the last required
//! step completes the onboard in its own transaction, once even when two last steps race; a due approval
//! emails its approver a single-use link to a page that decides it; nobody to approve is told to the
//! sponsor; a failed onboard (rejected, failed by an admin, revoked, expired) is emailed to the invitee and
//! the sponsor.

use onramp_domain::{BuiltinRole, Timestamp};
use serde_json::{Value, json};

use crate::account::Browser;
use crate::both_backends;
use crate::directories::create_directory;
use crate::flows::{BASIC_USER_ROLE, create_flow_id};
use crate::invitations::{PASSWORD, invitation_path, invite, mails_to};
use crate::onboards::{
    Auth, accept_mailed, audit_actions_of, complete, complete_step, create_onboard, get_onboard, get_user, id_of,
    my_user_id, onboard_id_of, put_onboard,
};
use crate::support::mail::Mail;
use crate::support::{Backend, TestServer};

/// The approval token of the first `/approve/<token>` link in a mail.
fn approve_token(mail: &Mail) -> String {
    let at = mail.text.find("/approve/").unwrap_or_else(|| panic!("no approval link in:\n{}", mail.text));
    let token: String = mail.text[at + "/approve/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "a 256-bit token: {}", mail.text);
    token
}

/// A client that does not follow redirects, so that post/redirect/get can be seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// GET a page: its status and HTML.
async fn page(server: &TestServer, path: &str) -> (u16, String) {
    let response = browser().get(server.url(path)).send().await.expect("GET page");
    let status = response.status().as_u16();
    assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    assert_eq!(response.headers()["referrer-policy"], "same-origin", "{path}");
    (status, response.text().await.unwrap())
}

/// POST a form to a page: its status, `Location` and HTML.
async fn post_form(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let response = browser().post(server.url(path)).form(form).send().await.expect("POST form");
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (status, location, response.text().await.unwrap())
}

/// The invitee's onboarding page, signed in with their email and password on the sign-in page it leads to:
/// its status and HTML.
async fn onboarding_page(server: &TestServer, onboard: &str, email: &str) -> (u16, String) {
    let invitee = Browser::new(server, "onboarding_finish");
    let path = format!("/onboarding/{onboard}");
    let signing_in = invitee.get(&path).await;
    let next = format!("/signin?next={}", path.replace('/', "%2F"));
    signing_in.assert_redirect("no session yet", &next);
    let fields = [("email", email), ("password", PASSWORD), ("next", path.as_str())];
    invitee.submit(&next, "/signin", &fields).await.assert_redirect("signed in, back to the page", &path);
    let shown = invitee.get(&path).await;
    (shown.status, shown.html)
}

/// The number of outbox messages of `kind` about `subject`.
async fn queued(server: &TestServer, kind: &str, subject: &str) -> String {
    let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE kind = '{kind}' AND subject_id = '{subject}'");
    server.database.query_text(&sql).await.unwrap_or_default()
}

/// Two last steps done at once (terms and profile, both the invitee's, sent together) complete the onboard
/// exactly once: both answers are 200, one of them says completed, the audit log has one completion, the
/// notify email is queued once and the user is ENABLED with the flow's role. The same last step sent twice
/// at once is done once: the other answer is 400.
async fn two_last_steps_at_once_complete_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let sponsor =
        server.create_user(&token, &json!({"email": "sponsor@example.com", "displayName": "Sam Sponsor"})).await;
    let flow = create_flow_id(
        &server,
        &token,
        "Race",
        json!([
            {"key": "terms", "acceptTerms": {"text": "t"}},
            {"key": "profile", "completeProfile": {"requiredFields": ["jobTitle"]}},
            {"key": "roles", "assignRoles": {"roleIds": ["basic-user"]}},
            {"key": "tell", "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "done"}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Race", json!({"onboardingFlowId": flow})).await;
    for round in 0..3 {
        let email = format!("racer{round}@example.com");
        invite(&server, &token, &directory, &email, json!({"sponsorUserId": sponsor})).await;
        let accepted = accept_mailed(&server, &email, "Racer").await;
        let (id, user) = (onboard_id_of(&accepted), accepted["user"]["id"].as_str().unwrap().to_string());
        let invitee = Auth::invitee(&email);
        let (terms, profile) = tokio::join!(
            complete_step(&server, &invitee, &id, "terms", json!({"accepted": true})),
            complete_step(&server, &invitee, &id, "profile", json!({"jobTitle": "Runner"})),
        );
        assert_eq!((terms.0, profile.0), (200, 200), "both steps are done: {terms:?} {profile:?}");
        let statuses = [terms.1["status"].as_str().unwrap(), profile.1["status"].as_str().unwrap()];
        assert!(statuses.contains(&"completed"), "the later of the two completes it: {statuses:?}");
        let onboard = get_onboard(&server, &Auth::Bearer(token.clone()), &id).await;
        assert_eq!(onboard["status"], "completed", "{onboard}");
        let completions =
            audit_actions_of(&server, &token, &id).await.into_iter().filter(|a| a == "onboard.complete").count();
        assert_eq!(completions, 1, "completed once");
        assert_eq!(queued(&server, "onboard", &id).await, "1", "one notify email");
        let enabled = get_user(&server, &token, &user).await;
        assert_eq!(enabled["status"], "ENABLED", "{enabled}");
        assert_eq!(enabled["roleIds"], json!([BASIC_USER_ROLE]), "{enabled}");
    }

    // One last step, sent twice at once: done once.
    invite(&server, &token, &directory, "twice@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "twice@example.com", "Twice").await;
    let id = onboard_id_of(&accepted);
    let invitee = Auth::invitee("twice@example.com");
    complete(&server, &invitee, &id, "terms", json!({"accepted": true})).await;
    let (first, second) = tokio::join!(
        complete_step(&server, &invitee, &id, "profile", json!({"jobTitle": "One"})),
        complete_step(&server, &invitee, &id, "profile", json!({"jobTitle": "Two"})),
    );
    let mut codes = [first.0, second.0];
    codes.sort();
    assert_eq!(codes, [200, 400], "{first:?} {second:?}");
    let completions =
        audit_actions_of(&server, &token, &id).await.into_iter().filter(|a| a == "onboard.complete").count();
    assert_eq!(completions, 1);
}
both_backends!(two_last_steps_at_once_complete_once);

/// A named approver is emailed when the approval becomes due (after the invitee's terms, not before), with a
/// link to a page that shows who onboards into what; opening it twice uses nothing; approving (a POST
/// answered by a redirect to the same page) is the last step, so the onboard completes and the user is
/// ENABLED; the page then says what was decided, and the link decides nothing more. An unknown or malformed
/// link, and an expired one, get their own pages.
async fn the_approver_decides_through_the_emailed_link(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = Auth::Bearer(token.clone());
    let grace = server.create_user(&token, &json!({"email": "grace@example.com", "displayName": "Grace Hopper"})).await;
    let flow = create_flow_id(
        &server,
        &token,
        "Approved",
        json!([
            {"key": "terms", "acceptTerms": {"text": "t"}},
            {"key": "approval", "managerApproval": {"approverUserId": grace}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Research", json!({"onboardingFlowId": flow})).await;
    invite(&server, &token, &directory, "ada@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "ada@example.com", "Ada Lovelace").await;
    let (id, user) = (onboard_id_of(&accepted), accepted["user"]["id"].as_str().unwrap().to_string());
    assert_eq!(queued(&server, "approval", &id).await, "0", "not due before the terms");
    let after_terms =
        complete(&server, &Auth::invitee("ada@example.com"), &id, "terms", json!({"accepted": true})).await;
    assert_eq!(after_terms["status"], "in_progress", "{after_terms}");
    let (status, html) = onboarding_page(&server, &id, "ada@example.com").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Waiting for approval by Grace Hopper"), "the invitee's page names the approver: {html}");

    let mails = mails_to(&server, "grace@example.com", 1).await;
    assert_eq!(mails.len(), 1, "one approval request");
    assert!(mails[0].subject.contains("Ada Lovelace") && mails[0].subject.contains("Research"), "{}", mails[0].subject);
    let secret = approve_token(&mails[0]);
    let path = format!("/approve/{secret}");
    for _ in 0..2 {
        let (status, html) = page(&server, &path).await;
        assert_eq!(status, 200, "{html}");
        for words in ["Grace Hopper", "Ada Lovelace", "ada@example.com", "Research", "Approve", "Reject"] {
            assert!(html.contains(words), "{words:?} on the page: {html}");
        }
    }
    assert_eq!(get_onboard(&server, &admin, &id).await, after_terms, "opening decides nothing");

    let (status, location, html) = post_form(&server, &path, &[("decision", "maybe")]).await;
    assert_eq!((status, location), (400, None), "{html}");
    let (status, location, html) = post_form(&server, &path, &[("decision", "approve")]).await;
    assert_eq!((status, location.as_deref()), (303, Some(path.as_str())), "{html}");
    let completed = get_onboard(&server, &admin, &id).await;
    assert_eq!(completed["status"], "completed", "approving the last step completes it: {completed}");
    assert_eq!(completed["steps"][1]["completed_by"], grace, "{completed}");
    assert_eq!(get_user(&server, &token, &user).await["status"], "ENABLED");
    let (_, html) = onboarding_page(&server, &id, "ada@example.com").await;
    assert!(html.contains("is active") && html.contains("href=\"/\""), "done, with a link onward: {html}");
    let (status, html) = page(&server, &path).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("You approved") && html.contains("now active"), "{html}");
    let (status, _, html) = post_form(&server, &path, &[("decision", "reject")]).await;
    assert!(status >= 400 && html.contains("You approved"), "a used link decides nothing more: {status} {html}");
    assert_eq!(get_onboard(&server, &admin, &id).await, completed);

    let (status, html) = page(&server, &format!("/approve/{}", "A".repeat(43))).await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("not valid"), "{html}");
    let (status, _) = page(&server, "/approve/short").await;
    assert_eq!(status, 404);

    // Another invitee's link, expired before it was used.
    invite(&server, &token, &directory, "bea@example.com", Value::Null).await;
    let bea = accept_mailed(&server, "bea@example.com", "Bea").await;
    complete(&server, &Auth::invitee("bea@example.com"), &onboard_id_of(&bea), "terms", json!({"accepted": true}))
        .await;
    let mails = mails_to(&server, "grace@example.com", 2).await;
    let expired = approve_token(&mails[1]);
    let past = Timestamp::now().micros() - 1_000_000;
    let changed = server
        .database
        .execute(&format!("UPDATE approval_links SET expires_at = {past} WHERE onboard_id = '{}'", onboard_id_of(&bea)))
        .await;
    assert_eq!(changed, 1);
    let (status, html) = page(&server, &format!("/approve/{expired}")).await;
    assert_eq!(status, 410, "{html}");
    assert!(html.contains("expired"), "{html}");
    let (status, _, _) = post_form(&server, &format!("/approve/{expired}"), &[("decision", "approve")]).await;
    assert_eq!(status, 410);
    assert_eq!(get_onboard(&server, &admin, &onboard_id_of(&bea)).await["status"], "in_progress");
}
both_backends!(the_approver_decides_through_the_emailed_link);

/// An approval that leads the flow is due at acceptance: with no approver named and no manager (a new user
/// has none), nobody can give it, and the sponsor is told; once an admin sets a manager, the manager is
/// emailed the link. A named approver's is emailed at acceptance;
/// rejecting through the link fails the onboard with the reason, and the invitee and the sponsor are
/// emailed it.
async fn a_rejection_and_a_missing_approver_are_told(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = Auth::Bearer(token.clone());
    let sponsor =
        server.create_user(&token, &json!({"email": "sponsor@example.com", "displayName": "Sam Sponsor"})).await;
    let flow = create_flow_id(
        &server,
        &token,
        "Manager",
        json!([{"key": "approval", "managerApproval": {}}, {"key": "terms", "acceptTerms": {"text": "t"}}]),
    )
    .await;
    let directory = create_directory(&server, &token, "Sales", json!({"onboardingFlowId": flow})).await;
    invite(&server, &token, &directory, "rex@example.com", json!({"sponsorUserId": sponsor})).await;
    let accepted = accept_mailed(&server, "rex@example.com", "Rex").await;
    assert_eq!(get_onboard(&server, &admin, &onboard_id_of(&accepted)).await["status"], "created");
    let told = mails_to(&server, "sponsor@example.com", 1).await;
    assert_eq!(told.len(), 1, "the sponsor hears that nobody can approve");
    assert!(told[0].subject.contains("needs an approver"), "{}", told[0].subject);
    assert!(told[0].text.contains("Rex") && told[0].text.contains("no manager"), "{}", told[0].text);
    let (_, html) = onboarding_page(&server, &onboard_id_of(&accepted), "rex@example.com").await;
    assert!(html.contains("Nobody can approve this yet") && html.contains("Sam Sponsor"), "{html}");

    let (_, manager_token) = server.credential_with_roles("mia@example.com", &[BuiltinRole::BasicUser]).await;
    let manager = my_user_id(&server, &manager_token).await;

    // An admin gives Rex a manager: the approval now waits for her, and she is emailed its link.
    let rex = accepted["user"]["id"].as_str().unwrap().to_string();
    let set = json!({"user": {"managerIds": [manager]}, "updateMask": "managerIds"});
    let (status, body) = server.post(&format!("/api/v1/users/{rex}"), &token, &set).await;
    assert_eq!(status, 200, "{body}");
    let asked = mails_to(&server, "mia@example.com", 1).await;
    assert!(asked[0].subject.contains("Rex"), "{}", asked[0].subject);
    let rex_link = format!("/approve/{}", approve_token(&asked[0]));
    let (status, html) = page(&server, &rex_link).await;
    assert!(status == 200 && html.contains("Rex"), "{html}");
    let (_, html) = onboarding_page(&server, &onboard_id_of(&accepted), "rex@example.com").await;
    assert!(html.contains("Waiting for approval by"), "{html}");

    // A named approver for the rejection: a flow whose approval names Mia.
    let named = create_flow_id(
        &server,
        &token,
        "Named",
        json!([{"key": "approval", "managerApproval": {"approverUserId": manager}}]),
    )
    .await;
    invite(
        &server,
        &token,
        &directory,
        "tom@example.com",
        json!({"sponsorUserId": sponsor, "onboardingFlowId": named}),
    )
    .await;
    let tom = accept_mailed(&server, "tom@example.com", "Tom").await;
    let tom_id = onboard_id_of(&tom);
    let request = mails_to(&server, "mia@example.com", 2).await;
    let path = format!("/approve/{}", approve_token(&request[1]));
    let (status, location, html) =
        post_form(&server, &path, &[("decision", "reject"), ("reason", "no headcount this quarter")]).await;
    assert_eq!((status, location.as_deref()), (303, Some(path.as_str())), "{html}");
    let failed = get_onboard(&server, &admin, &tom_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["failure_reason"].as_str().unwrap().contains("no headcount this quarter"), "{failed}");
    let (_, html) = page(&server, &path).await;
    assert!(html.contains("You rejected"), "{html}");
    let to_tom = mails_to(&server, "tom@example.com", 2).await;
    assert_eq!(to_tom.len(), 2, "the invitation, then the failure");
    assert!(to_tom[1].text.contains("no headcount this quarter"), "{}", to_tom[1].text);
    let to_sponsor = mails_to(&server, "sponsor@example.com", 2).await;
    assert!(
        to_sponsor[1].subject.contains("Tom") && to_sponsor[1].text.contains("no headcount"),
        "{}",
        to_sponsor[1].raw
    );
}
both_backends!(a_rejection_and_a_missing_approver_are_told);

/// An onboard failed by an admin, by revoking its invitation, or by its invitation expiring (the sweep) is
/// emailed to the invitee and to the sponsor (here whoever sent the invitation), in the failing transaction.
async fn every_failure_is_emailed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = Auth::Bearer(token.clone());
    let (_, sender) = server.credential_with_roles("sender@example.com", &[BuiltinRole::Admin]).await;
    let directory = create_directory(&server, &token, "Ops", Value::Null).await;
    let cases = ["put@example.com", "revoke@example.com", "expire@example.com"];
    let mut onboards = Vec::new();
    for email in cases {
        let invitation = invite(&server, &sender, &directory, email, Value::Null).await;
        let onboard = create_onboard(&server, &admin, json!({"invitation_id": invitation["id"]})).await;
        // Delivered before the invitation ends, which would cancel it unsent.
        mails_to(&server, email, 1).await;
        onboards.push((invitation, id_of(&onboard)));
    }
    let (status, failed) =
        put_onboard(&server, &admin, &onboards[0].1, json!({"status": "failed", "failure_reason": "duplicate"})).await;
    assert_eq!(status, 200, "{failed}");
    let revoke = format!("{}/revoke", invitation_path(&directory, onboards[1].0["id"].as_str().unwrap()));
    assert_eq!(server.post(&revoke, &token, &json!({})).await.0, 200);
    let past = Timestamp::now().micros() - 60_000_000;
    let expire =
        format!("UPDATE invitations SET expires_at = {past} WHERE id = '{}'", onboards[2].0["id"].as_str().unwrap());
    assert_eq!(server.database.execute(&expire).await, 1);

    for (email, (_, onboard), reason) in [
        (cases[0], &onboards[0], "duplicate"),
        (cases[1], &onboards[1], "revoked"),
        (cases[2], &onboards[2], "expired"),
    ] {
        let mails = mails_to(&server, email, 2).await;
        assert_eq!(mails.len(), 2, "the invitation, then the failure, to {email}");
        assert!(mails[1].subject.contains("has stopped"), "{}", mails[1].subject);
        assert!(mails[1].text.contains(reason), "{email}: {}", mails[1].text);
        assert_eq!(get_onboard(&server, &admin, onboard).await["status"], "failed");
    }
    let to_sender = mails_to(&server, "sender@example.com", 3).await;
    assert_eq!(to_sender.len(), 3, "the sender hears of each");
}
both_backends!(every_failure_is_emailed);
