//! `onramp-bench webhooks`: what raising webhook events costs the writes that raise them. Every audited
//! change looks for the tenant's subscriptions that want its events, in its own transaction; this measures
//! user creates (one transaction each, from concurrent tasks) and an import (one transaction of many
//! `user.created` events) through the real store, on SQLite and PostgreSQL, for a tenant without a
//! subscription, with one that wants other events only, and with one that wants `user.created` (each
//! event then queues a delivery).

use std::sync::Arc;
use std::time::Instant;

use onramp::admin;
use onramp_domain::user::User;
use onramp_domain::webhook::Subscription;
use onramp_domain::{Email, Id, Timestamp};
use onramp_store::{Actor, Store};

use crate::Result;
use crate::scratch::{ScratchDatabase, ScratchDir};
use crate::synthetic::Users;

/// Concurrent tasks creating users, as concurrent requests would.
const TASKS: usize = 8;

/// The tenant's subscriptions in each run.
const SETUPS: [(&str, Option<&str>); 3] = [
    ("no subscription", None),
    ("one for other events", Some("onboard.failed")),
    ("one for user.created", Some("user.created")),
];

async fn tenant(store: &Arc<dyn Store>, name: &str, wants: Option<&str>) -> Result<Actor> {
    let (tenant, _) = admin::new_tenant(name, &format!("bench@{name}.example"), "127.0.0.1")?;
    store.create_tenant(&tenant).await?;
    let actor = Actor::system(tenant.tenant.id);
    if let Some(event_type) = wants {
        let now = Timestamp::now();
        let subscription = Subscription {
            id: Id::new(),
            tenant_id: tenant.tenant.id,
            url: "https://hooks.bench.example/onramp".into(),
            event_types: vec![event_type.to_string()],
            description: String::new(),
            enabled: true,
            secret_version: 1,
            created_at: now,
            updated_at: now,
        };
        store.create_webhook(&actor, &subscription).await?;
    }
    Ok(actor)
}

/// Users created per second, one `create_user` each from [`TASKS`] tasks.
async fn creates(store: &Arc<dyn Store>, actor: &Actor, count: usize, label: usize) -> Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, actor) = (store.clone(), actor.clone());
        tasks.push(tokio::spawn(async move {
            for n in (task..count).step_by(TASKS) {
                let email = Email::parse(&format!("user{label}-{n}@bench.example")).expect("a valid address");
                let user = User::new(actor.tenant_id, email, format!("User {n}"), Timestamp::now());
                store.create_user(&actor, &user).await?;
            }
            Ok::<_, onramp_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Users imported per second, `count` in one import.
async fn import(store: &Arc<dyn Store>, actor: &Actor, count: usize, seed: u64) -> Result<f64> {
    let core = onramp_core::Core::offline(store.clone());
    let started = Instant::now();
    let report = core.import_as_system(actor, Users::new(seed).take(count).map(Ok), Default::default()).await?;
    if report.imported_count() != count {
        return Err(format!("{} of {count} imported: {:?}", report.imported_count(), report.errors.first()).into());
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

async fn run_on(url: &str, count: usize) -> Result<()> {
    let store: Arc<dyn Store> = onramp_store::open(url).await?;
    let backend = store.backend().name();
    for (n, (setup, wants)) in SETUPS.into_iter().enumerate() {
        let actor = tenant(&store, &format!("bench{n}"), wants).await?;
        let created = creates(&store, &actor, count, n).await?;
        let imported = import(&store, &actor, count, n as u64 + 1).await?;
        println!("{backend:<9} {setup:<22} creates {created:>8.0} users/s   import {imported:>8.0} users/s");
    }
    Ok(())
}

/// Runs on SQLite in a temporary folder and, given a server URL, on a PostgreSQL database created for the
/// run and dropped after it.
pub async fn run(count: usize, postgres: Option<&str>) -> Result<()> {
    println!(
        "{count} creates ({TASKS} tasks, a transaction each), then an import of {count} users in one transaction:"
    );
    let dir = ScratchDir::new("onramp-bench-webhooks")?;
    let sqlite = run_on(&format!("sqlite:{}", dir.path().join("bench.db").display()), count).await;
    drop(dir);
    sqlite?;
    if let Some(server) = postgres {
        let database = ScratchDatabase::create(server, "onramp_bench").await?;
        let result = run_on(&database.url(), count).await;
        database.remove().await?;
        result?;
    }
    Ok(())
}
