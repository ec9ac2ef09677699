//! Concurrent writes (issue #15): on SQLite they are committed together (group commit), and each request is
//! answered only once its own transaction is on disk. Concurrent creates where some break a uniqueness
//! rule leave exactly the ones answered 200, each whole (the user and its audit event), and nothing of the
//! refused ones; and `kill -9` of the server under concurrent invitation creates loses no invitation that
//! was answered 200, nor its queued email.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::apps::audit_actions;
use crate::both_backends;
use crate::support::process::{Serve, database_args};
use crate::support::{Backend, TestDatabase, TestServer, read};

const USERS: &str = "/api/v1/users";

async fn concurrent_creates_keep_exactly_the_answered_ones(backend: Backend) {
    let server = Arc::new(TestServer::start(backend).await);
    let token = server.admin_token().await;
    let creates = |actions: Vec<(String, String)>| -> BTreeSet<String> {
        actions.into_iter().filter(|(action, _)| action == "user.create").map(|(_, id)| id).collect()
    };
    let before = creates(audit_actions(&server, &token).await);
    // 24 emails, each asked for by 3 requests at once: one of each three may win.
    let tasks: Vec<_> = (0..72)
        .map(|n| {
            let (server, token) = (server.clone(), token.clone());
            tokio::spawn(async move {
                let email = format!("racer{}@example.com", n % 24);
                let body = json!({"email": email, "displayName": format!("Racer {n}")});
                (email, server.post(USERS, &token, &body).await)
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (email, (status, body)) = task.await.unwrap();
        match status {
            200 => created.push((email, body["userView"]["user"]["id"].as_str().unwrap().to_string())),
            409 => refused += 1,
            _ => panic!("create {email}: {status} {body}"),
        }
    }
    let emails: BTreeSet<&String> = created.iter().map(|(email, _)| email).collect();
    assert_eq!((created.len(), emails.len(), refused), (24, 24, 48), "one create per email wins: {created:?}");

    // Every answered user is there, and no other racer is.
    let listed: Vec<Value> = server.all_pages(USERS, &token, 100).await.concat();
    let racers: BTreeSet<(String, String)> = listed
        .iter()
        .map(|view| &view["user"])
        .filter(|user| user["email"].as_str().is_some_and(|email| email.starts_with("racer")))
        .map(|user| (user["email"].as_str().unwrap().to_string(), user["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(racers, created.iter().cloned().collect::<BTreeSet<_>>());
    // Each has its audit event, written in its transaction; the refused ones left none.
    let events: BTreeSet<String> = creates(audit_actions(&server, &token).await).difference(&before).cloned().collect();
    assert_eq!(events, created.iter().map(|(_, id)| id.clone()).collect::<BTreeSet<_>>());
}
both_backends!(concurrent_creates_keep_exactly_the_answered_ones);

/// The value after `label` on the first line of `text` that has it, e.g. `client id:` in a notice.
fn value_after(text: &str, label: &str) -> String {
    let line = text.lines().find(|line| line.contains(label)).unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    line.split_once(label).unwrap().1.trim().to_string()
}

async fn token(http: &reqwest::Client, base_url: &str, client_id: &str, secret: &str) -> String {
    let form = [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
    let (status, body) = read(http.post(format!("{base_url}/auth/v1/token")).form(&form).send().await.unwrap()).await;
    assert_eq!(status, 200, "token: {body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> (u16, Value) {
    read(http.post(url).bearer_auth(token).json(&body).send().await.expect("POST")).await
}

async fn kill_9_loses_no_acknowledged_invitation(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let args = database_args(&database, backend);
    let server = Serve::start(&args, database.dir.path()).await;
    let stdout = server.stdout();
    let (client_id, secret) = (value_after(&stdout, "client id:"), value_after(&stdout, "client secret:"));
    let base = server.base_url();
    let http = reqwest::Client::new();
    let bearer = token(&http, &base, &client_id, &secret).await;
    let (status, app) = post(&http, format!("{base}/api/v1/apps"), &bearer, json!({"displayName": "Staff"})).await;
    assert_eq!(status, 200, "{app}");
    let app = app["app"]["id"].as_str().unwrap().to_string();
    let body = json!({"appId": app, "displayName": "Staff"});
    let (status, directory) = post(&http, format!("{base}/api/v1/local-directory-configs"), &bearer, body).await;
    assert_eq!(status, 200, "{directory}");
    let invitations = format!("{base}/api/v1/local-directory-configs/{app}/invitations");

    // 32 clients create invitations back to back, recording every 200, until the server is killed.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let clients: Vec<_> = (0..32)
        .map(|client| {
            let (http, url, bearer, acknowledged) =
                (http.clone(), invitations.clone(), bearer.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let email = format!("crash{client}-{n}@example.com");
                    let request =
                        http.post(&url).bearer_auth(&bearer).json(&json!({"email": email, "displayName": "Crash"}));
                    let Ok(response) = request.send().await else { return };
                    if response.status() != 200 {
                        return;
                    }
                    let Ok(body) = response.json::<Value>().await else { return };
                    let id = body["invitation"]["id"].as_str().expect("invitation.id").to_string();
                    acknowledged.lock().unwrap().push((id, email));
                }
            })
        })
        .collect();
    // Killed mid-load: after a good number of answers, with requests in flight on every client.
    for _ in 0..600 {
        if acknowledged.lock().unwrap().len() >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().await;
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 100, "the load was under way when the server was killed: {}", acknowledged.len());

    let again = Serve::start(&args, database.dir.path()).await;
    let base = again.base_url();
    let bearer = token(&http, &base, &client_id, &secret).await;
    for (id, email) in &acknowledged {
        let url = format!("{base}/api/v1/local-directory-configs/{app}/invitations/{id}");
        let (status, body) = read(http.get(url).bearer_auth(&bearer).send().await.unwrap()).await;
        assert_eq!(status, 200, "acknowledged invitation {id} ({email}) is gone after kill -9: {body}");
        assert_eq!(body["invitation"]["email"], email.as_str(), "{body}");
    }
    let status = again.terminate().await;
    assert!(status.success(), "{status:?}");
    // Each acknowledged invitation's email was queued in its transaction.
    let ids: Vec<String> = acknowledged.iter().map(|(id, _)| format!("'{id}'")).collect();
    let queued = database
        .query_text(&format!(
            "SELECT CAST(COUNT(DISTINCT subject_id) AS TEXT) FROM outbox WHERE subject_id IN ({})",
            ids.join(", ")
        ))
        .await;
    assert_eq!(queued, Some(acknowledged.len().to_string()), "every acknowledged invitation's email is queued");
}
both_backends!(kill_9_loses_no_acknowledged_invitation);
