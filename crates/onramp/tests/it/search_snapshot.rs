//! The search index snapshot: a restart reads the index from it and catches up the writes made after it,
//! answering every search as before; a snapshot that is corrupt, cut short, from another version or from
//! another database is ignored and the index rebuilt from the change feed, still answering right. And the
//! lean feed read the index loads from holds exactly what the index takes of each user.

use onramp::server::SEARCH_SNAPSHOT_FILE;
use onramp_core::search::SnapshotStart;
use onramp_core::search::snapshot::Ignored;
use onramp_domain::user::{AttributeSource, User};
use onramp_domain::{Email, Id, Timestamp};
use onramp_search::Entry;
use onramp_store::{Actor, FeedPosition};
use serde_json::{Value, json};

use crate::apps::create_app;
use crate::both_backends;
use crate::support::{Backend, TestServer};

const SEARCH: &str = "/api/v1/search/users";

/// The searches whose answers must survive a restart: text of every rank, filters, deleted users, and all.
fn searches() -> Vec<Value> {
    vec![
        json!({}),
        json!({"query": "quarrington"}),
        json!({"query": "quar"}),
        json!({"query": "arring"}),
        json!({"query": "quarringtn"}),
        json!({"query": "person"}),
        json!({"query": "renamed"}),
        json!({"departments": ["Finance"]}),
        json!({"departments": ["Finance"], "query": "zelda"}),
        json!({"userStatuses": ["DELETED"]}),
        json!({"roleIds": ["admin"]}),
    ]
}

/// Every answer of [`searches`], as the emails of each (one page of 100).
async fn answers(server: &TestServer) -> Vec<Vec<String>> {
    let token = server.admin_token().await;
    let mut out = Vec::new();
    for mut body in searches() {
        body["pageSize"] = json!(100);
        let (status, page) = server.post(SEARCH, &token, &body).await;
        assert_eq!(status, 200, "search {body}: {page}");
        out.push(
            page["list"]
                .as_array()
                .expect("a list")
                .iter()
                .map(|view| view["user"]["email"].as_str().expect("an email").to_string())
                .collect(),
        );
    }
    out
}

/// Some users worth searching for: names sharing words, departments, a role, a deleted one.
async fn people(server: &TestServer, prefix: &str) {
    let token = server.admin_token().await;
    for (i, name) in
        ["Zelda Quarrington", "Zeno Quarrington", "Person Alpha", "Person Beta", "Zelda Moss"].into_iter().enumerate()
    {
        let department = if i % 2 == 0 { "Finance" } else { "Sales" };
        let email = format!("{prefix}{i}@example.com");
        let mut body = json!({"email": email, "displayName": name, "department": department});
        if i == 3 {
            body["roleIds"] = json!(["admin"]);
        }
        let id = server.create_user(&token, &body).await;
        if i == 4 {
            assert_eq!(server.delete(&format!("/api/v1/users/{id}"), &token).await.0, 200);
        }
    }
}

fn snapshot_path(server: &TestServer) -> std::path::PathBuf {
    server.config.data_dir.join(SEARCH_SNAPSHOT_FILE)
}

async fn restart_serves_search_from_the_snapshot_and_the_writes_after_it(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    people(&server, "first").await;
    let before = answers(&server).await;
    assert!(before.iter().filter(|answer| answer.is_empty()).count() <= 2, "the searches find people: {before:?}");

    server.restart().await;
    let SnapshotStart::Loaded { position, users } = server.search_start() else {
        panic!("the restart did not read the snapshot written at shutdown: {:?}", server.search_start())
    };
    assert_eq!(users, 6, "the admin and five people");
    assert_eq!(answers(&server).await, before, "the same answers from the snapshot");
    let old_snapshot = std::fs::read(snapshot_path(&server)).expect("the snapshot is there");

    // Writes after that snapshot: new people, a rename, a deletion.
    people(&server, "second").await;
    let token = server.admin_token().await;
    let (_, found) = server.post(SEARCH, &token, &json!({"query": "zeno", "pageSize": 1})).await;
    let zeno = found["list"][0]["user"]["id"].as_str().expect("zeno").to_string();
    let update = json!({"user": {"displayName": "Renamed Person"}, "updateMask": "displayName"});
    assert_eq!(server.post(&format!("/api/v1/users/{zeno}"), &token, &update).await.0, 200);
    let after = answers(&server).await;
    assert_ne!(after, before);

    // Back to the older snapshot: the restart reads it and catches up every write made after it. Beside
    // it, the temporary file of a write a crash stopped half-way, which the start removes.
    server.stop().await;
    std::fs::write(snapshot_path(&server), &old_snapshot).expect("put the old snapshot back");
    let mut leftover = snapshot_path(&server).into_os_string();
    leftover.push(".0123456789abcdef01234567.tmp");
    std::fs::write(&leftover, &old_snapshot[..old_snapshot.len() / 2]).expect("plant a half-written snapshot");
    server.restart().await;
    assert!(!std::path::Path::new(&leftover).exists(), "the half-written snapshot is still there");
    assert_eq!(server.search_start(), SnapshotStart::Loaded { position, users: 6 });
    assert_eq!(answers(&server).await, after, "the snapshot and the writes after it");
    server.stop().await;
}
both_backends!(restart_serves_search_from_the_snapshot_and_the_writes_after_it);

/// `bytes` with the text after the header's two layouts (the version that wrote it) changed.
fn with_other_version(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let len = u16::from_le_bytes([out[16], out[17]]) as usize;
    assert!(len > 0 && len < 64, "a version text after the layouts");
    for b in &mut out[18..18 + len] {
        *b = if *b == b'9' { b'8' } else { b'9' };
    }
    out
}

async fn unusable_snapshots_are_ignored_and_the_index_rebuilt(backend: Backend) {
    // A snapshot of another database, further along its feed.
    let mut other = TestServer::start(backend).await;
    people(&other, "ghost").await;
    people(&other, "phantom").await;
    other.stop().await;
    let foreign = std::fs::read(snapshot_path(&other)).expect("the other server's snapshot");

    let mut server = TestServer::start(backend).await;
    people(&server, "here").await;
    let expected = answers(&server).await;
    server.stop().await;
    let good = std::fs::read(snapshot_path(&server)).expect("the snapshot");
    assert!(good.len() > 200, "a snapshot of {} bytes", good.len());

    let mut flipped = good.clone();
    for at in [good.len() / 3, good.len() / 2, good.len() - 40] {
        flipped[at] ^= 0x5a;
    }
    let mut layout = good.clone();
    layout[8..12].copy_from_slice(&999u32.to_le_bytes());
    type Case = (&'static str, Vec<u8>, fn(&Ignored) -> bool);
    let cases: Vec<Case> = vec![
        ("bytes flipped", flipped, |i| matches!(i, Ignored::Corrupt(_))),
        ("cut short", good[..good.len() * 2 / 3].to_vec(), |i| matches!(i, Ignored::Corrupt(_))),
        ("no checksum", good[..good.len() - 32].to_vec(), |i| matches!(i, Ignored::Corrupt(_))),
        ("another onramp version", with_other_version(&good), |i| matches!(i, Ignored::OtherVersion(_))),
        ("another layout", layout, |i| matches!(i, Ignored::OtherVersion(_))),
        ("another database", foreign, |i| matches!(i, Ignored::OtherDatabase(_))),
    ];
    for (case, bytes, expected_reason) in cases {
        std::fs::write(snapshot_path(&server), &bytes).expect("plant the snapshot");
        server.restart().await;
        match server.search_start() {
            SnapshotStart::Ignored(reason) => assert!(expected_reason(&reason), "{case}: ignored as {reason}"),
            start => panic!("{case}: the snapshot was not ignored: {start:?}"),
        }
        assert_eq!(answers(&server).await, expected, "{case}: the rebuilt index answers as before");
        server.stop().await;
    }

    // The untouched snapshot is read: what was changed above is what made the others ignored.
    std::fs::write(snapshot_path(&server), &good).expect("plant the snapshot");
    server.restart().await;
    assert!(matches!(server.search_start(), SnapshotStart::Loaded { users: 6, .. }), "{:?}", server.search_start());
    assert_eq!(answers(&server).await, expected);
    server.stop().await;
}
both_backends!(unusable_snapshots_are_ignored_and_the_index_rebuilt);

async fn the_lean_feed_read_holds_what_the_index_takes_of_each_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    people(&server, "lean").await;
    let token = server.admin_token().await;
    let app = create_app(&server, &token, "Okta").await;
    let boss = server.create_user(&token, &json!({"email": "boss@example.com", "displayName": "The Boss"})).await;
    server
        .create_user(
            &token,
            &json!({"email": "cyd@example.com", "emails": ["cyd@example.com", "Cyd.Alt@Example.org"],
                    "displayName": "Cyd Zoë Ørsted", "usernames": ["cyd", "czo"], "managerIds": [boss],
                    "delegatedUserId": boss, "directoryIds": [app], "roleIds": ["admin", "read-only-admin"],
                    "status": "DISABLED", "type": "USER_TYPE_AGENT", "jobTitle": "Engineer"}),
        )
        .await;
    // Attribute sources can only come from a directory sync; written straight to the store here.
    let tenant_id: Id = server.get("/api/v1/auth/introspect", &token).await.1["tenantId"]
        .as_str()
        .expect("a tenant")
        .parse()
        .expect("an id");
    let mut user = User::new(tenant_id, Email::parse("sourced@example.com").unwrap(), "Sourced", Timestamp::now());
    let source = |app_id: String| AttributeSource {
        app_id,
        app_user_id: "u1".into(),
        app_user_profile_attribute_key: "mail".into(),
        user_attribute_mapping_id: String::new(),
        value: "x \"quoted\"".into(),
        priority: 1,
    };
    user.sources.email_sources = vec![source(app.clone()), source("not an id".into())];
    user.sources.job_title_sources = vec![source(Id::new().to_string())];
    server.store.create_user(&Actor::system(tenant_id), &user).await.expect("stored");

    let users = server.store.users_changed_after(FeedPosition::START, 1000).await.unwrap();
    let mut entries = Vec::new();
    let mut after = FeedPosition::START;
    // Read in small batches, as positions chain.
    loop {
        let batch = server.store.index_entries_changed_after(after, 3).await.unwrap();
        let Some(last) = batch.last() else { break };
        after = last.position;
        entries.extend(batch);
    }
    assert_eq!(entries.len(), users.len());
    assert!(users.len() >= 9, "{} users", users.len());
    for ((position, user), lean) in users.iter().zip(&entries) {
        assert_eq!(lean.position, *position);
        assert_eq!(lean.tenant_id, user.tenant_id);
        assert_eq!(lean.entry, Entry::from(user), "{}", user.email_str());
    }
    let sourced = entries.iter().find(|e| e.entry.display_name == "Sourced").expect("the sourced user");
    assert_eq!(sourced.entry.source_app_ids.len(), 2, "the app and the other id, each once");
    assert!(server.store.feed_head().await.unwrap() >= entries.last().unwrap().position.seq);
}
both_backends!(the_lean_feed_read_holds_what_the_index_takes_of_each_user);
