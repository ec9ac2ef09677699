//! `onramp-bench scim`: an identity provider's initial push, measured. 10,000 users (by default) created by
//! `POST /scim/v2/Users`, one request each, over keep-alive HTTP/1.1 connections to the real server (in
//! this process) on a fresh SQLite database, with a SCIM connection's bearer token. Prints users per second
//! and PASS or FAIL against 1,000 per second.

use std::time::Instant;

use bytes::Bytes;
use hyper::header::HeaderValue;
use onramp_domain::BuiltinRole;
use serde_json::json;

use crate::Result;
use crate::http_client::Connection;
use crate::scratch::ScratchDir;
use crate::server_process::SeededServer;

/// The figure to reach, in users per second.
pub const TARGET_PER_SECOND: f64 = 1_000.0;

pub async fn run(count: usize, connections: usize) -> Result<()> {
    let scratch = ScratchDir::new("onramp-bench-scim")?;
    let dir = scratch.path().join("server");
    println!(
        "onramp-bench scim: {count} users by POST /scim/v2/Users, one request each, {connections} connections, SQLite"
    );
    let seeded = SeededServer::prepare(dir, 0, 42).await?;
    let core = onramp_core::Core::offline(seeded.store.clone());
    let (_, token) = core.create_scim_token_as_system(seeded.tenant_id, "bench", BuiltinRole::Admin).await?;
    let authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))?;
    let addr = seeded.addr;
    let (server, _) = seeded.start().await?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..connections.max(1) {
        let authorization = authorization.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut index = worker;
            while index < count {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{index}@bench.example"),
                    "externalId": format!("ext-{index}"),
                    "name": {"givenName": "User", "familyName": format!("Number {index}")},
                    "emails": [{"value": format!("user{index}@bench.example"), "type": "work", "primary": true}],
                    "active": true,
                });
                let request = connection.post(
                    "/scim/v2/Users",
                    "application/scim+json",
                    Some(&authorization),
                    Bytes::from(body.to_string()),
                );
                let response = connection.send(request).await?;
                if response.status != 201 {
                    return Err(format!("user {index}: status {}: {}", response.status, response.text()).into());
                }
                index += connections;
            }
            Ok::<_, crate::Error>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = started.elapsed();
    server.stop().await?;
    let rate = count as f64 / elapsed.as_secs_f64();
    let verdict = if rate >= TARGET_PER_SECOND { "PASS" } else { "FAIL" };
    println!("created    {count} users in {:.2} s: {rate:.0} users/s", elapsed.as_secs_f64());
    println!("{verdict}       target ≥ {TARGET_PER_SECOND:.0} users/s");
    if rate < TARGET_PER_SECOND {
        return Err(format!("{rate:.0} users/s is under {TARGET_PER_SECOND:.0}").into());
    }
    Ok(())
}
