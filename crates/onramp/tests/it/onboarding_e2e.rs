//! Onboarding end to end over HTTP (issue #6): an admin sets up a directory whose default flow asks for
//! terms, a job title and the manager's approval, grants a role and tells the sponsor; the invitee gets the
//! email, accepts on the web page, works through the steps with their email and password, the manager is
//! emailed when the approval becomes due and approves with their own token, which completes the onboard by
//! itself, and the user is ENABLED, has the role, is found by search, and the sponsor hears about it.

use serde_json::{Value, json};

use crate::account::Browser;
use crate::both_backends;
use crate::directories::create_directory;
use crate::flows::{DIRECTORY_ADMIN_ROLE, create_flow};
use crate::invitations::{PASSWORD, invite, invite_token, mails_to};
use crate::onboards::{
    Auth, audit_of, complete, complete_step, get_onboard, get_user, list_onboards, my_user_id, put_onboard, step,
};
use crate::support::{Backend, TestServer, assert_api_error};

/// The users `POST /api/v1/search/users` finds for `query` (with any extra filters of `extra`).
async fn search_users(server: &TestServer, token: &str, query: &str, extra: Value) -> Vec<Value> {
    let mut body = json!({"query": query, "pageSize": 50});
    if let Value::Object(fields) = extra {
        body.as_object_mut().unwrap().extend(fields);
    }
    let (status, found) = server.post("/api/v1/search/users", token, &body).await;
    assert_eq!(status, 200, "search {body}: {found}");
    found["list"].as_array().unwrap().iter().map(|view| view["user"].clone()).collect()
}

/// Invite → email → accept on the web page → user DISABLED with a live onboard → terms and profile by the
/// invitee → the manager emailed an approval link → approval by the manager → completed by itself → user
/// ENABLED with the flow's role, found by search as ENABLED, the sponsor's email delivered, and an audit
/// event for every transition.
async fn invite_accept_onboard_complete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = Auth::Bearer(token.clone());
    let sponsor =
        server.create_user(&token, &json!({"email": "sponsor@example.com", "displayName": "Sam Sponsor"})).await;
    let (_, manager_token) =
        server.credential_with_roles("manager@example.com", &[onramp_domain::BuiltinRole::BasicUser]).await;
    let manager = my_user_id(&server, &manager_token).await;

    // The admin's setup: a flow, a directory that uses it by default, an invitation with a sponsor.
    let flow = create_flow(
        &server,
        &token,
        "Engineering onboarding",
        json!([
            {"key": "terms", "acceptTerms": {"text": "I will keep customer data confidential."}},
            {"key": "profile", "completeProfile": {"requiredFields": ["jobTitle", "managerIds"]}},
            {"key": "verify", "verifyEmail": {}},
            {"key": "approval", "managerApproval": {}},
            {"key": "roles", "assignRoles": {"roleIds": ["directory-admin"]}},
            {"key": "tell-sponsor", "notify": {"recipient": "NOTIFY_RECIPIENT_SPONSOR", "message": "Please welcome them to the team."}},
        ]),
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap().to_string();
    let directory = create_directory(&server, &token, "Engineering", json!({"onboardingFlowId": flow_id})).await;
    let invitation =
        invite(&server, &token, &directory, "zoe@example.com", json!({"displayName": "Zoe", "sponsorUserId": sponsor}))
            .await;
    assert_eq!(invitation["onboardingFlowId"], flow_id, "the directory's flow: {invitation}");

    // The invitee's email, and the web page's form.
    let mails = mails_to(&server, "zoe@example.com", 1).await;
    assert_eq!(mails.len(), 1, "one invitation email");
    let secret = invite_token(&server, "zoe@example.com").await;
    let invitee = crate::account::Browser::new(&server, "zoe");
    let path = format!("/invite/{secret}");
    let page = invitee.submit(&path, &path, &[("displayName", "Zoe Zimmermann"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 200, "the form accepts: {}", page.html);

    // Accepted: the user exists, DISABLED, and its onboard runs.
    let onboards = list_onboards(&server, &admin).await;
    assert_eq!(onboards.len(), 1, "{onboards:?}");
    let onboard = &onboards[0];
    let id = onboard["id"].as_str().unwrap().to_string();
    let user = onboard["user_id"].as_str().unwrap_or_else(|| panic!("the onboard has its user: {onboard}")).to_string();
    assert_eq!(onboard["invitation_id"], invitation["id"], "{onboard}");
    assert_eq!(onboard["connection_id"], directory, "{onboard}");
    assert_eq!(onboard["account_id"], server.bootstrap.tenant_id.to_string(), "{onboard}");
    assert_eq!(onboard["flow_id"], flow_id, "{onboard}");
    assert_eq!(step(onboard, "verify")["done"], true, "the link verified the email: {onboard}");
    assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED");
    let found = search_users(&server, &token, "Zoe Zimmermann", Value::Null).await;
    let zoe: Vec<&Value> = found.iter().filter(|u| u["id"] == user).collect();
    assert_eq!(zoe.len(), 1, "search finds her while she onboards: {found:?}");
    assert_eq!(zoe[0]["status"], "DISABLED", "{found:?}");
    let enabled_only = search_users(&server, &token, "Zoe Zimmermann", json!({"userStatuses": ["ENABLED"]})).await;
    assert!(enabled_only.iter().all(|u| u["id"] != user), "not among the ENABLED yet: {enabled_only:?}");

    // Her manager approves her onboarding, so the admin sets it; she may not choose it herself.
    let set_manager = json!({"user": {"managerIds": [manager]}, "updateMask": "managerIds"});
    let (status, body) = server.post(&format!("/api/v1/users/{user}"), &token, &set_manager).await;
    assert_eq!(status, 200, "{body}");

    // The invitee: terms, then the profile with her job title.
    let invitee = Auth::invitee("zoe@example.com");
    let after_terms = complete(&server, &invitee, &id, "terms", json!({"accepted": true})).await;
    assert_eq!(after_terms["status"], "in_progress", "{after_terms}");
    let chosen = json!({"jobTitle": "Staff Engineer", "managerIds": [manager]});
    let refused = complete_step(&server, &invitee, &id, "profile", chosen).await;
    assert_api_error("the invitee picks her own manager", &refused, 403, 7);
    let after_profile = complete(&server, &invitee, &id, "profile", json!({"jobTitle": "Staff Engineer"})).await;
    assert_eq!(step(&after_profile, "profile")["done"], true, "{after_profile}");
    assert_eq!(after_profile["status"], "in_progress", "the approval is still to come: {after_profile}");
    assert_eq!(get_user(&server, &token, &user).await["status"], "DISABLED", "until the onboard completes");

    // Her profile done, the approval is due: her manager is emailed a link to decide it.
    let to_manager = mails_to(&server, "manager@example.com", 1).await;
    assert_eq!(to_manager.len(), 1, "one approval request");
    assert!(to_manager[0].subject.contains("Zoe Zimmermann"), "{}", to_manager[0].raw);
    assert!(to_manager[0].text.contains("/approve/"), "the link: {}", to_manager[0].text);

    // The manager approves with their own token: the last step, so the onboard completes by itself.
    let completed = complete(&server, &Auth::Bearer(manager_token), &id, "approval", json!({"approved": true})).await;
    assert_eq!(step(&completed, "approval")["completed_by"], manager, "{completed}");
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(get_onboard(&server, &admin, &id).await, completed);
    let (status, again) = put_onboard(&server, &admin, &id, json!({"status": "completed"})).await;
    assert_eq!((status, &again), (200, &completed), "the admin's PUT completed changes nothing now");

    let enabled = get_user(&server, &token, &user).await;
    assert_eq!(enabled["status"], "ENABLED", "{enabled}");
    assert_eq!(enabled["displayName"], "Zoe Zimmermann", "{enabled}");
    assert_eq!(enabled["jobTitle"], "Staff Engineer", "{enabled}");
    assert_eq!(enabled["managerIds"], json!([manager]), "{enabled}");
    assert_eq!(enabled["roleIds"], json!([DIRECTORY_ADMIN_ROLE]), "the flow's role: {enabled}");
    let found = search_users(&server, &token, "Zoe Zimmermann", json!({"userStatuses": ["ENABLED"]})).await;
    let zoe: Vec<&Value> = found.iter().filter(|u| u["id"] == user).collect();
    assert_eq!(zoe.len(), 1, "search finds her ENABLED: {found:?}");
    assert_eq!(zoe[0]["status"], "ENABLED", "{found:?}");
    assert_eq!(zoe[0]["jobTitle"], "Staff Engineer", "{found:?}");

    // The sponsor hears about it.
    let to_sponsor = mails_to(&server, "sponsor@example.com", 1).await;
    assert_eq!(to_sponsor.len(), 1, "one email to the sponsor");
    assert!(to_sponsor[0].subject.contains("Zoe Zimmermann"), "{}", to_sponsor[0].raw);
    assert!(to_sponsor[0].text.contains("Please welcome them to the team."), "{}", to_sponsor[0].text);

    // Every transition is in the audit log, by whoever made it.
    let audit = audit_of(&server, &token, &id).await;
    let got: Vec<(&str, &str)> = audit.iter().map(|(a, u)| (a.as_str(), u.as_str())).collect();
    assert_eq!(
        got,
        [
            // Accepting started it: the link verified her email.
            ("onboard.create", user.as_str()),
            ("onboard.update", user.as_str()),
            ("onboard.update", user.as_str()),
            ("onboard.complete", manager.as_str()),
        ],
        "{audit:?}"
    );
    let on_invitation: Vec<String> =
        audit_of(&server, &token, invitation["id"].as_str().unwrap()).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(on_invitation, ["invitation.create", "invitation.accept"], "{on_invitation:?}");
}
both_backends!(invite_accept_onboard_complete);

/// The invitee's onboarding in the browser, without the API: accepting on the invitation page signs the
/// invitee in (the session cookie of `web::session`), the onboarding page offers the terms and profile
/// forms, posting them completes the steps; without a session the page leads to sign-in and back; signing
/// in again with the password leads back to the onboarding; a session of another person is refused.
async fn onboarding_in_the_browser(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let admin = Auth::Bearer(token.clone());
    let flow = create_flow(
        &server,
        &token,
        "Web onboarding",
        json!([
            {"key": "terms", "acceptTerms": {"text": "Be <kind>."}},
            {"key": "profile", "completeProfile": {"requiredFields": ["jobTitle"]}},
            {"key": "approval", "managerApproval": {}},
        ]),
    )
    .await;
    let directory = create_directory(&server, &token, "Web", json!({"onboardingFlowId": flow["id"]})).await;
    invite(&server, &token, &directory, "wendy@example.com", Value::Null).await;
    let secret = invite_token(&server, "wendy@example.com").await;

    // Accepting on the invitation page signs in and links to the onboarding.
    let browser = Browser::new(&server, "wendy");
    let path = format!("/invite/{secret}");
    let accepted = browser.submit(&path, &path, &[("displayName", "Wendy Web"), ("password", PASSWORD)]).await;
    assert_eq!(accepted.status, 200, "{}", accepted.html);
    let onboard = list_onboards(&server, &admin).await.remove(0);
    let id = onboard["id"].as_str().unwrap().to_string();
    let user = onboard["user_id"].as_str().unwrap().to_string();
    assert!(accepted.html.contains(&format!("href=\"/onboarding/{id}\"")), "{}", accepted.html);
    let set_cookie = accepted.set_cookies.iter().find(|c| c.starts_with("onramp_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    let page = format!("/onboarding/{id}");
    browser.get("/").await.assert_redirect("/ while onboarding", &page);

    // Without a session: to sign-in, and back.
    let stranger = Browser::new(&server, "stranger");
    stranger.get(&page).await.assert_redirect("no session", &format!("/signin?next=%2Fonboarding%2F{id}"));

    // With it: the terms (escaped) and the profile form; posting them completes both steps.
    let shown = browser.get(&page).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    // Escaped (askama writes numeric references), never as markup.
    assert!(shown.html.contains("Be &#60;kind&#62;.") && !shown.html.contains("<kind>"), "{}", shown.html);
    assert!(shown.html.contains("name=\"jobTitle\""), "{}", shown.html);
    let step_path = |key: &str| format!("/onboarding/{id}/steps/{key}");
    let refused = browser.submit(&page, &step_path("terms"), &[]).await;
    assert_eq!(refused.status, 400, "the box must be ticked: {}", refused.html);
    assert!(refused.html.contains("Tick “I accept these terms”"), "{}", refused.html);
    let done = browser.submit(&page, &step_path("terms"), &[("accepted", "true")]).await;
    done.assert_redirect("terms", &page);
    let forged = browser.post(&step_path("profile"), &[("jobTitle", "Engineer")]).await;
    assert_eq!(forged.status, 403, "without the anti-forgery token: {}", forged.html);
    browser.submit(&page, &step_path("profile"), &[("jobTitle", "Engineer")]).await.assert_redirect("profile", &page);
    let shown = browser.get(&page).await;
    assert_eq!(shown.html.matches("badge--done").count(), 2, "terms and profile done: {}", shown.html);
    assert!(
        shown.html.contains("Approval by your manager</h2>") && shown.html.contains("badge--waiting"),
        "{}",
        shown.html
    );

    let onboard = get_onboard(&server, &admin, &id).await;
    assert_eq!(step(&onboard, "terms")["completed_by"], user.as_str(), "{onboard}");
    assert_eq!(step(&onboard, "profile")["done"], true, "{onboard}");
    assert_eq!(onboard["status"], "in_progress", "{onboard}");
    assert_eq!(get_user(&server, &token, &user).await["jobTitle"], "Engineer");

    // Coming back later (the user is DISABLED until the onboarding completes): a wrong password is refused;
    // the right one leads back to the onboarding.
    let later = Browser::new(&server, "later");
    let wrong = later
        .submit(
            &format!("/signin?next=%2Fonboarding%2F{id}"),
            "/signin",
            &[("email", "wendy@example.com"), ("password", "not the password at all"), ("next", &page)],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.html);
    assert!(wrong.set_cookies.iter().all(|c| !c.starts_with("onramp_session=")), "no session for a wrong password");
    let right = later
        .submit("/signin", "/signin", &[("email", "wendy@example.com"), ("password", PASSWORD), ("next", &page)])
        .await;
    right.assert_redirect("signed in", &page);
    assert!(later.get(&page).await.html.contains("badge--waiting"));

    // Someone else's session sees nothing of it.
    crate::account::local_user(&server, "other@example.com").await;
    let other = Browser::new(&server, "other");
    other.sign_in("other@example.com", PASSWORD).await;
    let refused = other.get(&page).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(!refused.html.contains("I accept"), "{}", refused.html);
    let unknown = format!("/onboarding/{}", onramp_domain::Id::new());
    assert_eq!(later.get(&unknown).await.status, 404);
}
both_backends!(onboarding_in_the_browser);
