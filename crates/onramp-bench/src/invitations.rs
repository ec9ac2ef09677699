//! `onramp-bench invitations`: the invitation path through the real store, on SQLite and PostgreSQL —
//! creating invitations (each with its queued email) from concurrent tasks, delivering the outbox with the
//! file transport, and accepting invitations (the user, its password and the status in one transaction) —
//! beside the argon2id hash that every acceptance pays before its transaction.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use hyper::header::HeaderValue;

use onramp::admin;
use onramp::mail::Mailer;
use onramp_api::wire::directory::InvitationInput;
use onramp_core::branding::Branding;
use onramp_core::invite::{Sender, invitation_email, link, new_token, token_hash};
use onramp_core::password::hash_password;
use onramp_domain::{Secret, Timestamp};
use onramp_store::{Actor, App, LocalDirectory, Store};

use tokio::sync::oneshot;

use crate::Result;
use crate::http_client::Connection;
use crate::scratch::{ScratchDatabase, ScratchDir};
use crate::server_process::{SeededServer, bearer};

/// Concurrent tasks creating and accepting, as concurrent requests would.
const TASKS: usize = 8;

struct Figures {
    backend: &'static str,
    created_per_second: f64,
    delivered_per_second: f64,
    accepted_per_second: f64,
}

async fn run_on(url: &str, count: usize, mail_dir: &std::path::Path) -> Result<Figures> {
    let store: Arc<dyn Store> = onramp_store::open(url).await?;
    let (tenant, _) = admin::new_tenant("bench", "bench@bench.example", "127.0.0.1")?;
    store.create_tenant(&tenant).await?;
    let tenant_id = tenant.tenant.id;
    let actor = Actor::system(tenant_id);
    let now = Timestamp::now();
    let app = App::new(tenant_id, "Staff", now);
    store.create_app(&actor, &app, &[]).await?;
    let directory = LocalDirectory { is_default: true, ..LocalDirectory::new(app.id, tenant_id, "Staff", now) };
    store.create_local_directory(&actor, &directory).await?;

    // Create: each task invites its share; the tokens are kept to accept with later.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, actor, directory) = (store.clone(), actor.clone(), directory.clone());
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            for n in (task..count).step_by(TASKS) {
                let input = InvitationInput {
                    email: Some(format!("invitee{n}@bench.example")),
                    display_name: Some(format!("Invitee {n}")),
                    ..InvitationInput::default()
                };
                let invitation = input.new_invitation(&directory, None, Timestamp::now()).expect("a valid invitation");
                let (token, hash) = new_token();
                let branding = Branding::onramp();
                let sender = Sender { branding: &branding, inviter: None, public_url: "http://127.0.0.1:8080" };
                let email = invitation_email(&directory, &invitation, &link("http://127.0.0.1:8080", &token), &sender);
                store.create_invitation(&actor, &invitation, &hash, &email).await?;
                tokens.push(token);
            }
            Ok::<_, onramp_store::StoreError>(tokens)
        }));
    }
    let mut tokens = Vec::with_capacity(count);
    for task in tasks {
        tokens.extend(task.await??);
    }
    let created = started.elapsed().as_secs_f64();

    // Deliver: claim, write the file, mark sent, as the worker does.
    let mailer = Mailer::files(mail_dir.to_path_buf(), "onramp <noreply@bench.example>".parse()?);
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let batch = store.claim_outbox(Timestamp::now(), std::time::Duration::from_secs(120), 100).await?;
        if batch.is_empty() {
            break;
        }
        for message in &batch {
            mailer.send(message).await.map_err(|error| format!("delivery failed: {error:?}"))?;
            store.outbox_sent(&message.id, Timestamp::now()).await?;
            delivered += 1;
        }
    }
    let delivering = started.elapsed().as_secs_f64();
    if delivered != count {
        return Err(format!("delivered {delivered} of {count} messages").into());
    }

    // Accept: the transaction alone, with one precomputed password hash (its cost is measured apart).
    let password_hash =
        hash_password(Secret::new("correct horse battery staple".into())).await.map_err(|error| error.message)?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in tokens.chunks(count.div_ceil(TASKS).max(1)) {
        let hashes: Vec<String> = chunk.iter().map(|token| token_hash(token.expose())).collect();
        let (store, password_hash) = (store.clone(), password_hash.clone());
        tasks.push(tokio::spawn(async move {
            for hash in hashes {
                store.accept_invitation(&hash, "", &password_hash, &onramp_store::NoEffects, None).await?;
            }
            Ok::<_, onramp_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let accepting = started.elapsed().as_secs_f64();
    Ok(Figures {
        backend: store.backend().name(),
        created_per_second: count as f64 / created,
        delivered_per_second: count as f64 / delivering,
        accepted_per_second: count as f64 / accepting,
    })
}

/// Runs the benchmark on SQLite in a temporary folder and, given a server URL, on a PostgreSQL database
/// created for the run and dropped after it.
pub async fn run(count: usize, postgres: Option<&str>, connections: usize) -> Result<()> {
    let mut hashing = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        hash_password(Secret::new("correct horse battery staple".into())).await.map_err(|error| error.message)?;
        hashing.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    hashing.sort_by(f64::total_cmp);
    println!("argon2id password hash (once per acceptance): p50 {:.1} ms, max {:.1} ms", hashing[10], hashing[19]);

    let dir = ScratchDir::new("onramp-bench-invitations")?;
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let mut results = vec![run_on(&sqlite_url, count, &dir.path().join("mail")).await];
    if let Some(server) = postgres {
        let database = ScratchDatabase::create(server, "onramp_bench").await?;
        results.push(run_on(&database.url(), count, &dir.path().join("mail-pg")).await);
        database.remove().await?;
    }
    let http_dir = dir.path().join("http");
    let (done, http) = oneshot::channel();
    std::thread::Builder::new().name("bench-server".into()).spawn(move || {
        let _ = done.send(http_phase(http_dir, count, connections));
    })?;
    let http = http.await.map_err(|_| "the HTTP benchmark thread panicked")?;
    drop(dir);
    for result in results {
        let figures = result?;
        println!(
            "{:<9} {count} invitations: create {:>7.0}/s ({TASKS} tasks, each with its email queued), deliver {:>7.0}/s \
             (file transport), accept {:>7.0}/s ({TASKS} tasks; user, password and status in one transaction)",
            figures.backend, figures.created_per_second, figures.delivered_per_second, figures.accepted_per_second
        );
    }
    let http = http?;
    let rate = http.created as f64 / http.seconds;
    println!(
        "sqlite    {} invitations over HTTP: create {rate:>7.0}/s ({connections} keep-alive connections, each answer \
         after its commit; p50 {:.1} ms, p99 {:.1} ms); {} COMMITs in all (the mail worker's included), {:.1} creates per COMMIT",
        http.created,
        http.p50_ms,
        http.p99_ms,
        http.commits,
        http.created as f64 / http.commits.max(1) as f64
    );
    let verdict = if rate >= HTTP_TARGET { "PASS" } else { "FAIL" };
    println!("{verdict} ≥ 2,000 invitation creates/s on SQLite over HTTP: {rate:.0}/s");
    Ok(())
}

/// The invitation creates per second over HTTP that SQLite must reach (issue #15).
const HTTP_TARGET: f64 = 2_000.0;

/// What the HTTP phase measured.
struct HttpFigures {
    created: usize,
    /// COMMITs the server made during the load (the group commit's batches).
    commits: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `POST /api/v1/local-directory-configs/{app}/invitations` on the real server (SQLite, in this process on a
/// runtime of its own) from `connections` keep-alive connections, `count` creates in all; every answer must
/// be a 200, which the server sends only once the invitation and its email are committed.
fn http_phase(dir: PathBuf, count: usize, connections: usize) -> Result<HttpFigures> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("bench-server-rt").build()?;
    let outcome = runtime.block_on(async move {
        let seeded = SeededServer::prepare(dir, 0, 42).await?;
        let (addr, issued, tenant_id) = (seeded.addr, seeded.issued.clone(), seeded.tenant_id);
        let actor = Actor::system(tenant_id);
        let now = Timestamp::now();
        let app = App::new(tenant_id, "Staff", now);
        seeded.store.create_app(&actor, &app, &[]).await?;
        let directory = LocalDirectory { is_default: true, ..LocalDirectory::new(app.id, tenant_id, "Staff", now) };
        seeded.store.create_local_directory(&actor, &directory).await?;
        let (server, _) = seeded.start().await?;
        let commits_before = onramp_store::writes::commits();
        let outcome = async {
            let authorization = bearer(addr, &issued).await?;
            let path = format!("/api/v1/local-directory-configs/{}/invitations", app.id);
            // The load generator on a thread and runtime of its own, as a separate client would be.
            let (done, outcome) = oneshot::channel();
            std::thread::Builder::new().name("bench-load".into()).spawn(move || {
                let outcome = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(crate::Error::from)
                    .and_then(|runtime| runtime.block_on(http_load(addr, authorization, path, count, connections)));
                let _ = done.send(outcome);
            })?;
            outcome.await.map_err(|_| "the load generator thread panicked")?
        }
        .await
        .map(|figures: HttpFigures| HttpFigures {
            commits: onramp_store::writes::commits() - commits_before,
            ..figures
        });
        server.stop().await?;
        outcome
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    outcome
}

async fn http_load(
    addr: SocketAddr,
    authorization: HeaderValue,
    path: String,
    count: usize,
    connections: usize,
) -> Result<HttpFigures> {
    let next = Arc::new(AtomicUsize::new(0));
    let (authorization, path) = (Arc::new(authorization), Arc::new(path));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (next, authorization, path) = (next.clone(), authorization.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(addr).await?;
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return Ok::<_, crate::Error>(latencies);
                }
                let body = serde_json::json!({"email": format!("http{n}@bench.example"), "displayName": format!("Invitee {n}")});
                let request = conn.post(&path, "application/json", Some(&authorization), Bytes::from(body.to_string()));
                let sent = Instant::now();
                let response = conn.send(request).await?;
                if response.status != 200 {
                    return Err(format!("invitation create answered {}: {}", response.status, response.text()).into());
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    Ok(HttpFigures {
        created: latencies.len(),
        commits: 0,
        seconds,
        p50_ms: at(0.5).copied().unwrap_or(0.0),
        p99_ms: at(0.99).copied().unwrap_or(0.0),
    })
}
