//! The console's Overview, Invitations, Onboards and Audit log pages over HTTP (issue #14), as a browser
//! uses them: what each shows, its GET filters and their refusals (400, the error tied to its field), keyset
//! paging, and each action (resend, revoke, approve, reject, complete a step, fail an onboard) through the
//! core's use case: done by an admin who may, refused (403, nothing changed) to a read-only admin, who sees
//! no control.

use onramp_domain::{BuiltinRole, Timestamp};
use serde_json::{Value, json};

use crate::account::Browser;
use crate::both_backends;
use crate::console::console_admin;
use crate::directories::create_directory;
use crate::flows::create_flow_id;
use crate::invitations::{get_invitation, invite, mails_to};
use crate::onboards::{Auth, accept_mailed, create_onboard, get_onboard, id_of, onboard_id_of};
use crate::support::{Backend, TestServer};

/// The id of a user by email.
async fn user_id(server: &TestServer, email: &str) -> String {
    server.database.query_text(&format!("SELECT id FROM users WHERE email = '{email}'")).await.unwrap()
}

/// Counts the times `needle` occurs in `html`.
fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

/// The href of the link whose text is `text`.
#[track_caller]
fn link_to(html: &str, text: &str) -> String {
    let end = html.find(&format!("\">{text}</a>")).unwrap_or_else(|| panic!("no link {text:?} in:\n{html}"));
    let start = html[..end].rfind("href=\"").unwrap() + 6;
    let value = &html[start..end];
    value[..value.find('"').unwrap_or(value.len())].replace("&amp;", "&").replace("&#38;", "&")
}

/// The overview counts invitations and onboards by status, lists the onboards waiting longer than `?days`
/// (default 3; a bad value is the field's 400), invitations expiring within 48 hours and emails that failed,
/// each linking to its object's page; a read-only admin sees it all too.
async fn overview_needs_someone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let flow =
        create_flow_id(&server, &token, "Terms first", json!([{"key": "terms", "acceptTerms": {"text": "t"}}])).await;
    let directory = create_directory(&server, &token, "Staff", json!({"onboardingFlowId": flow})).await;
    let soon = invite(&server, &token, &directory, "soon@example.com", Value::Null).await;
    invite(&server, &token, &directory, "wendy@example.com", Value::Null).await;
    let accepted = accept_mailed(&server, "wendy@example.com", "Wendy").await;
    let onboard = onboard_id_of(&accepted);
    mails_to(&server, "soon@example.com", 1).await;
    let hour = Timestamp::now().micros() + 3_600_000_000;
    server
        .database
        .execute(&format!("UPDATE invitations SET expires_at = {hour} WHERE email = 'soon@example.com'"))
        .await;
    let now = Timestamp::now().micros();
    server
        .database
        .execute(&format!(
            "UPDATE outbox SET sent_at = NULL, failed_at = {now}, attempts = 5, last_error = 'mailbox unavailable' \
             WHERE recipient = 'soon@example.com'"
        ))
        .await;

    let admin = console_admin(&server, "ops@example.com", &[BuiltinRole::Admin]).await;
    let page = admin.get("/console").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("<h2 id=\"invitations-title\">Invitations</h2>"), "{}", page.html);
    assert!(page.html.contains("2 invitations."), "{}", page.html);
    assert!(page.html.contains("<a href=\"/console/invitations?status=pending\">Pending</a>"), "{}", page.html);
    assert!(page.html.contains("<a href=\"/console/onboards?status=in_progress\">In progress</a>"), "{}", page.html);
    assert!(page.html.contains("Onboards waiting more than 3 days (0)"), "not for 3 days yet: {}", page.html);
    assert!(page.html.contains("Invitations expiring within 48 hours (1)"), "{}", page.html);
    let expiring = link_to(&page.html, "Soon (soon@example.com)");
    assert_eq!(
        expiring,
        format!("/console/invitations?directory={directory}&status=pending#invitation-{}", id_of(&soon)),
        "the invitations page, filtered"
    );
    assert!(page.html.contains("Emails failed (1) or retrying (0)"), "{}", page.html);
    assert!(
        page.html.contains("Failed after 5 attempts") && page.html.contains("mailbox unavailable"),
        "{}",
        page.html
    );
    // The failed email links to the invitations list that starts at its invitation.
    let mark = "href=\"/console/invitations?after=";
    let at = page.html.find(mark).unwrap_or_else(|| panic!("a link to the failed email's invitation: {}", page.html));
    let failed = page.html[at + 6..].split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&");
    assert!(failed.ends_with(&format!("#invitation-{}", id_of(&soon))), "{failed}");
    let listed = admin.get(failed.split('#').next().unwrap()).await;
    assert_eq!(listed.status, 200, "{}", listed.html);
    let first = listed.html.find("class=\"item\" id=\"invitation-").expect("an invitation listed");
    assert!(
        listed.html[first..].starts_with(&format!("class=\"item\" id=\"invitation-{}\"", id_of(&soon))),
        "the failed email's invitation comes first: {}",
        listed.html
    );

    let now_waiting = admin.get("/console?days=0").await;
    assert_eq!(now_waiting.status, 200, "{}", now_waiting.html);
    assert!(now_waiting.html.contains("Onboards waiting more than 0 days (1)"), "{}", now_waiting.html);
    assert_eq!(link_to(&now_waiting.html, "Wendy (wendy@example.com)"), format!("/console/onboards/{onboard}"));
    assert!(now_waiting.html.contains("Waiting on the invitee at step \u{201c}terms\u{201d}"), "{}", now_waiting.html);

    for bad in ["abc", "-1", "366"] {
        let refused = admin.get(&format!("/console?days={bad}")).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.html);
        assert!(
            refused.html.contains("<a href=\"#days\">Days: must be a whole number from 0 to 365</a>"),
            "{}",
            refused.html
        );
        assert!(refused.html.contains("aria-invalid=\"true\""), "{}", refused.html);
    }

    let read_only = console_admin(&server, "ro@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let seen = read_only.get("/console").await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(seen.html.contains("Invitations expiring within 48 hours (1)"), "{}", seen.html);
}
both_backends!(overview_needs_someone);

/// The invitations page filters by directory and status (a bad filter is its field's 400), shows sponsor,
/// age and the email's delivery, pages by `after` (a page token of the API's kind: one tampered with, of
/// another filter, or a bare id is the field's 400); an admin resends and revokes (the core's use cases: a
/// new email, the status revoked), a read-only admin sees no buttons and their POST is 403 with nothing
/// changed; a POST without the anti-forgery token is 403.
async fn invitations_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let staff = create_directory(&server, &token, "Staff", Value::Null).await;
    let guests = create_directory(&server, &token, "Guests", Value::Null).await;
    let mut staff_ids = Vec::new();
    for n in 0..27 {
        staff_ids.push(id_of(&invite(&server, &token, &staff, &format!("s{n:02}@example.com"), Value::Null).await));
    }
    let guest = invite(&server, &token, &guests, "guest@example.com", Value::Null).await;
    mails_to(&server, "guest@example.com", 1).await;

    let admin = console_admin(&server, "ops@example.com", &[BuiltinRole::Admin]).await;
    let all = admin.get("/console/invitations").await;
    assert_eq!(all.status, 200, "{}", all.html);
    assert!(all.html.contains("aria-current=\"page\">Invitations</a>"), "{}", all.html);
    assert_eq!(count(&all.html, "class=\"item\" id=\"invitation-"), 25, "a page of 25");
    let next = link_to(&all.html, "Next page");
    assert!(next.starts_with("/console/invitations?after="), "{next}");
    let second = admin.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.html);
    assert_eq!(count(&second.html, "class=\"item\" id=\"invitation-"), 3, "the rest");
    assert!(!second.html.contains("Next page"), "the last page");
    for id in &staff_ids {
        assert_eq!(count(&all.html, id) > 0, !second.html.contains(&format!("invitation-{id}")), "each once: {id}");
    }

    let guests_page = admin.get(&format!("/console/invitations?directory={guests}&status=pending")).await;
    assert_eq!(guests_page.status, 200, "{}", guests_page.html);
    assert_eq!(count(&guests_page.html, "class=\"item\" id=\"invitation-"), 1, "{}", guests_page.html);
    assert!(guests_page.html.contains("guest@example.com"), "{}", guests_page.html);
    assert!(guests_page.html.contains("<option value=\"pending\" selected>Pending</option>"), "{}", guests_page.html);
    assert!(
        guests_page.html.contains("ops@example.com") || guests_page.html.contains("Sponsor"),
        "{}",
        guests_page.html
    );
    assert!(guests_page.html.contains("less than a minute") || guests_page.html.contains("minute"), "age in words");
    assert!(guests_page.html.contains("badge--done\">Sent</span>"), "the email went out: {}", guests_page.html);

    let page_token = next.rsplit("after=").next().unwrap().to_string();
    let mut tampered = page_token.clone().into_bytes();
    tampered[4] = if tampered[4] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let other_filter = format!("directory={staff}&after={page_token}");
    let bare_id = format!("after={}", staff_ids[0]);
    for (query, field) in [
        ("status=lost", "status"),
        ("directory=nope", "directory"),
        ("after=zz", "after"),
        (&format!("after={tampered}")[..], "after"),
        (&other_filter[..], "after"),
        (&bare_id[..], "after"),
    ] {
        let refused = admin.get(&format!("/console/invitations?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.html);
        assert!(refused.html.contains(&format!("<a href=\"#{field}\">")), "{query}: {}", refused.html);
        assert!(!refused.html.contains("class=\"item\" id=\"invitation-"), "{query}: no rows: {}", refused.html);
    }
    let refused = admin.get(&format!("/console/invitations?after={tampered}")).await;
    assert!(refused.html.contains("start again from the first page"), "{}", refused.html);
    assert!(refused.html.contains("id=\"after\""), "the summary's link has a target: {}", refused.html);
    assert_eq!(link_to(&refused.html, "First page"), "/console/invitations");

    // A read-only admin sees the list without buttons; their POST is refused by the core and changes nothing.
    let read_only = console_admin(&server, "ro@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let seen = read_only.get(&format!("/console/invitations?directory={guests}")).await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(!seen.html.contains("/revoke\"") && !seen.html.contains("/resend\""), "no controls: {}", seen.html);
    let guest_id = id_of(&guest);
    let refused = read_only
        .post(&format!("/console/invitations/{guest_id}/revoke"), &[("csrf", &seen.csrf()), ("directory", &guests)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("Not allowed"), "{}", refused.html);
    assert_eq!(get_invitation(&server, &token, &guests, &guest_id).await["status"], "LOCAL_INVITATION_STATUS_PENDING");

    // An admin's forms: without the token 403; with it, resend (a second email) and revoke.
    let forged = admin.post(&format!("/console/invitations/{guest_id}/revoke"), &[("directory", &guests)]).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert!(
        guests_page.html.contains(&format!("action=\"/console/invitations/{guest_id}/resend\"")),
        "{}",
        guests_page.html
    );
    let back = format!("/console/invitations?directory={guests}");
    let resent = admin
        .submit(&back, &format!("/console/invitations/{guest_id}/resend"), &[("directory", &guests), ("back", &back)])
        .await;
    resent.assert_redirect("resent", &format!("{back}&done=resent#invitation-{guest_id}"));
    mails_to(&server, "guest@example.com", 2).await;
    let told = admin.get(&format!("{back}&done=resent")).await;
    assert!(told.html.contains("The invitation was sent again"), "{}", told.html);
    let revoked = admin
        .submit(
            &back,
            &format!("/console/invitations/{guest_id}/revoke"),
            &[("directory", &guests), ("back", "https://evil.example/")],
        )
        .await;
    revoked.assert_redirect(
        "revoked, back to the list only",
        &format!("/console/invitations?done=revoked#invitation-{guest_id}"),
    );
    assert_eq!(get_invitation(&server, &token, &guests, &guest_id).await["status"], "LOCAL_INVITATION_STATUS_REVOKED");
    let after = admin.get(&format!("/console/invitations?directory={guests}&status=revoked")).await;
    assert!(after.html.contains("badge--revoked\">Revoked</span>"), "{}", after.html);
    assert!(!after.html.contains(&format!("/console/invitations/{guest_id}/revoke")), "no buttons once revoked");
    // Revoking again is the core's refusal, in its words.
    let again =
        admin.submit(&back, &format!("/console/invitations/{guest_id}/revoke"), &[("directory", &guests)]).await;
    assert_eq!(again.status, 400, "{}", again.html);
}
both_backends!(invitations_page);

/// The onboards board groups onboards by status with whom each waits on and since when, filters by status
/// and flow and pages; an onboard's page shows its steps. The named approver (an admin) approves from it,
/// another onboard's approver rejects with a reason, an admin marks an email verified and fails an onboard
/// with a reason (none: the field's 400); a read-only admin sees no controls and their POSTs are 403.
async fn onboards_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = console_admin(&server, "boss@example.com", &[BuiltinRole::Admin]).await;
    let boss = user_id(&server, "boss@example.com").await;
    let flow = create_flow_id(
        &server,
        &token,
        "Approved",
        json!([{"key": "verify", "verifyEmail": {}, "required": true},
               {"key": "nod", "managerApproval": {"approverUserId": boss}}]),
    )
    .await;
    let directory = create_directory(&server, &token, "Approved", json!({"onboardingFlowId": flow})).await;
    let mut onboards = Vec::new();
    for name in ["amy", "bob", "cat"] {
        invite(&server, &token, &directory, &format!("{name}@example.com"), Value::Null).await;
        onboards.push(onboard_id_of(&accept_mailed(&server, &format!("{name}@example.com"), name).await));
    }

    let board = admin.get("/console/onboards").await;
    assert_eq!(board.status, 200, "{}", board.html);
    assert!(board.html.contains("aria-current=\"page\">Onboards</a>"), "{}", board.html);
    assert!(board.html.contains("Waiting on the approver, boss (boss@example.com) at step"), "{}", board.html);
    for (n, id) in onboards.iter().enumerate() {
        assert!(board.html.contains(&format!("href=\"/console/onboards/{id}\"")), "{n}: {}", board.html);
    }
    assert!(board.html.contains("id=\"column-completed\""), "{}", board.html);
    let filtered = admin.get(&format!("/console/onboards?status=completed&flow={flow}")).await;
    assert_eq!(filtered.status, 200, "{}", filtered.html);
    assert!(!filtered.html.contains("href=\"/console/onboards/"), "none completed: {}", filtered.html);
    assert!(!filtered.html.contains("id=\"column-in_progress\""), "{}", filtered.html);
    let bare_id = format!("after={}", onboards[0]);
    for (query, field) in
        [("status=done", "status"), ("flow=x", "flow"), (&bare_id[..], "after"), ("after=AAAA", "after")]
    {
        let refused = admin.get(&format!("/console/onboards?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.html);
        assert!(refused.html.contains(&format!("<a href=\"#{field}\">")), "{query}: {}", refused.html);
    }

    // The read-only admin: the page, no controls, and each POST refused.
    let read_only = console_admin(&server, "ro@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let amy = &onboards[0];
    let seen = read_only.get(&format!("/console/onboards/{amy}")).await;
    assert_eq!(seen.status, 200, "{}", seen.html);
    assert!(!seen.html.contains("method=\"post\" action=\"/console/onboards"), "no controls: {}", seen.html);
    for (action, fields) in [
        (format!("/console/onboards/{amy}/fail"), vec![("reason", "no")]),
        (format!("/console/onboards/{amy}/steps/nod"), vec![("decision", "approve")]),
    ] {
        let mut all = vec![("csrf", seen.csrf())];
        all.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = read_only.post(&action, &all).await;
        assert_eq!(refused.status, 403, "{action}: {}", refused.html);
    }
    assert_eq!(get_onboard(&server, &Auth::Bearer(token.clone()), amy).await["status"], "in_progress");

    // The admin: the steps (the email verified by the link), approved by the named approver.
    let page = admin.get(&format!("/console/onboards/{amy}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Verify the email address"), "{}", page.html);
    assert!(page.html.contains("Waiting on the approver, boss (boss@example.com) at step"), "{}", page.html);
    assert!(page.html.contains("value=\"approve\""), "the approver's buttons: {}", page.html);
    let here = format!("/console/onboards/{amy}");
    admin
        .submit(&here, &format!("{here}/steps/nod"), &[("decision", "approve")])
        .await
        .assert_redirect("approved", &format!("{here}?done=approved"));
    let done = get_onboard(&server, &Auth::Bearer(token.clone()), amy).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(admin.get(&here).await.html.contains("badge--completed\">Completed</span>"));

    // Bob's: rejected here with a reason (too long: the field's 400).
    let bob = &onboards[1];
    let bob_page = format!("/console/onboards/{bob}");
    let long = "x".repeat(1001);
    let too_long =
        admin.submit(&bob_page, &format!("{bob_page}/steps/nod"), &[("decision", "reject"), ("reason", &long)]).await;
    assert_eq!(too_long.status, 400, "{}", too_long.html);
    assert!(too_long.html.contains("<a href=\"#reason-nod\">Reason:"), "tied to its field: {}", too_long.html);
    admin
        .submit(&bob_page, &format!("{bob_page}/steps/nod"), &[("decision", "reject"), ("reason", "not this year")])
        .await
        .assert_redirect("rejected", &format!("{bob_page}?done=rejected"));
    let rejected = get_onboard(&server, &Auth::Bearer(token.clone()), bob).await;
    assert_eq!(rejected["status"], "failed", "{rejected}");
    assert!(rejected["failure_reason"].as_str().unwrap().contains("not this year"), "{rejected}");

    // Dan's onboard, started by the API before he accepted: an admin marks his email verified.
    let dan = invite(&server, &token, &directory, "dan@example.com", Value::Null).await;
    let started = create_onboard(&server, &Auth::Bearer(token.clone()), json!({"invitation_id": id_of(&dan)})).await;
    let dan_page = format!("/console/onboards/{}", id_of(&started));
    let shown = admin.get(&dan_page).await;
    assert!(shown.html.contains(&format!("action=\"{dan_page}/steps/verify\"")), "{}", shown.html);
    assert!(!shown.html.contains("value=\"approve\""), "not accepted: nothing to approve yet");
    admin
        .submit(&dan_page, &format!("{dan_page}/steps/verify"), &[("decision", "complete")])
        .await
        .assert_redirect("verified", &format!("{dan_page}?done=completed"));
    let verified = get_onboard(&server, &Auth::Bearer(token.clone()), &id_of(&started)).await;
    assert_eq!(verified["steps"][0]["done"], true, "{verified}");

    // Cat's: failed by the admin, a reason required.
    let cat = &onboards[2];
    let cat_page = format!("/console/onboards/{cat}");
    let no_reason = admin.submit(&cat_page, &format!("{cat_page}/fail"), &[("reason", "  ")]).await;
    assert_eq!(no_reason.status, 400, "{}", no_reason.html);
    assert!(no_reason.html.contains("<a href=\"#fail-reason\">Reason:"), "{}", no_reason.html);
    assert_eq!(get_onboard(&server, &Auth::Bearer(token.clone()), cat).await["status"], "in_progress");
    admin
        .submit(&cat_page, &format!("{cat_page}/fail"), &[("reason", "left before starting")])
        .await
        .assert_redirect("failed", &format!("{cat_page}?done=failed"));
    let failed = admin.get(&cat_page).await;
    assert!(failed.html.contains("left before starting"), "{}", failed.html);
    assert!(!failed.html.contains(&format!("action=\"{cat_page}/fail\"")), "no controls once ended");

    let board = admin.get("/console/onboards?status=failed").await;
    assert_eq!(count(&board.html, "href=\"/console/onboards/"), 2, "{}", board.html);
    assert!(board.html.contains("Failed: left before starting"), "{}", board.html);
    let unknown = admin.get("/console/onboards/000000000000000000000999").await;
    assert_eq!(unknown.status, 404, "{}", unknown.html);
}
both_backends!(onboards_page);

/// The audit log, newest first (or oldest first, as asked), filters by actor, action, object and time (bad
/// ones: the field's 400), pages by `after`, and links each event to its object's console page and its actor
/// to their events.
async fn audit_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let directory = create_directory(&server, &token, "Logged", Value::Null).await;
    let mut invitations = Vec::new();
    for n in 0..52 {
        invitations
            .push(id_of(&invite(&server, &token, &directory, &format!("a{n:02}@example.com"), Value::Null).await));
    }
    let admin = console_admin(&server, "auditor@example.com", &[BuiltinRole::ReadOnlyAdmin]).await;
    let page = admin.get("/console/audit?action=invitation.create").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("aria-current=\"page\">Audit log</a>"), "{}", page.html);
    assert_eq!(count(&page.html, "class=\"item\" id=\"event-"), 50, "a page of 50");
    assert!(
        page.html.contains(&format!("href=\"/console/invitations#invitation-{}\"", invitations[51])),
        "the newest first, linking to the object's page: {}",
        page.html
    );
    assert!(!page.html.contains(&invitations[1]), "the two oldest on the next page: {}", page.html);
    assert!(page.html.contains("<option value=\"\" selected>Newest first</option>"), "{}", page.html);
    let next = link_to(&page.html, "Next page");
    assert!(next.contains("action=invitation.create") && next.contains("after="), "{next}");
    let second = admin.get(&next).await;
    assert_eq!(count(&second.html, "class=\"item\" id=\"event-"), 2, "{}", second.html);
    assert!(second.html.contains(&invitations[0]) && second.html.contains(&invitations[1]), "{}", second.html);
    let oldest = admin.get("/console/audit?action=invitation.create&order=oldest").await;
    assert_eq!(oldest.status, 200, "{}", oldest.html);
    assert!(oldest.html.contains(&invitations[0]) && !oldest.html.contains(&invitations[51]), "{}", oldest.html);
    let rest = admin.get(&link_to(&oldest.html, "Next page")).await;
    assert!(rest.html.contains(&invitations[51]) && rest.html.contains(&invitations[50]), "{}", rest.html);
    assert!(rest.html.contains("<option value=\"oldest\" selected>Oldest first</option>"), "{}", rest.html);
    // The token continues only its own filters.
    let page_token = next.rsplit("after=").next().unwrap();
    let elsewhere = admin.get(&format!("/console/audit?action=invitation.revoke&after={page_token}")).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.html);
    assert!(elsewhere.html.contains("<a href=\"#after\">"), "{}", elsewhere.html);

    let one = admin.get(&format!("/console/audit?object_type=invitation&object_id={}", invitations[3])).await;
    assert_eq!(count(&one.html, "class=\"item\" id=\"event-"), 1, "{}", one.html);
    let until_past = admin.get("/console/audit?until=2000-01-01").await;
    assert_eq!(count(&until_past.html, "class=\"item\" id=\"event-"), 0, "{}", until_past.html);
    let since_today = admin.get(&format!("/console/audit?since={}", &Timestamp::now().to_rfc3339()[..10])).await;
    assert!(count(&since_today.html, "class=\"item\" id=\"event-") > 0, "{}", since_today.html);

    // The sign-in-link user acted when they set their password? Filter by an actor that did nothing.
    let me = user_id(&server, "auditor@example.com").await;
    let mine = admin.get(&format!("/console/audit?actor={me}&action=invitation.create")).await;
    assert_eq!(mine.status, 200, "{}", mine.html);
    assert_eq!(count(&mine.html, "class=\"item\" id=\"event-"), 0, "{}", mine.html);

    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=31/01/2026", "until"),
        ("actor=bob", "actor"),
        ("since=2026-02-01&until=2026-01-01", "until"),
        ("after=1", "after"),
        ("order=sideways", "order"),
    ] {
        let refused = admin.get(&format!("/console/audit?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.html);
        assert!(refused.html.contains(&format!("<a href=\"#{field}\">")), "{query}: {}", refused.html);
    }
    let plain = Browser::new(&server, "nobody");
    plain.get("/console/audit").await.assert_redirect("not signed in", "/signin?next=%2Fconsole%2Faudit");
}
both_backends!(audit_page);
