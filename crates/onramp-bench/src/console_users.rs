//! `onramp-bench console-users`: the admin console's user search at `GET /console/users` as an admin types,
//! on a real server: the synthetic users imported into a fresh SQLite database, the server started on it in
//! this process (its index loaded at start, as at any start), a super-admin signed in (a console sign-in
//! link, a password, a session, through the core as the pages do), then, one keystroke after another on one
//! keep-alive connection as one browser sends them, the page for every prefix of sampled names: alone, and
//! with the status and department filters. Each keystroke's time is the request's round trip on loopback:
//! the server's time (session, principal, search, reading the users, rendering) and the loopback's.

use std::time::{Duration, Instant};

use hyper::header::HeaderValue;
use onramp_core::account::ClientInfo;
use onramp_domain::Secret;

use crate::Result;
use crate::http_client::Connection;
use crate::scratch::ScratchDir;
use crate::search::{Latencies, inputs};
use crate::server_process::SeededServer;
use crate::synthetic::DEPARTMENTS;

const PASSWORD: &str = "copper meadow lantern ninety";
/// How many names are typed, spread evenly over the users.
const NAMES: usize = 200;
/// The longest prefix typed of a name.
const MAX_PREFIX: usize = 14;

pub async fn run(count: usize, seed: u64) -> Result<()> {
    let scratch = ScratchDir::new("onramp-bench-console-users")?;
    let dir = scratch.path().join("server");
    println!("onramp-bench console-users: {count} users (seed {seed}), GET /console/users per keystroke, SQLite");
    let seeded = SeededServer::prepare(dir, count, seed).await?;
    println!("import     {count} users in {:.1} s", seeded.import.as_secs_f64());

    // The super-admin's console password, through its sign-in link, and a session, as the pages make them.
    let (tenant_id, admin_email, addr) = (seeded.tenant_id, seeded.config.admin_email.clone(), seeded.addr);
    let core = onramp_core::Core::offline(seeded.store.clone());
    let link = core.console_sign_in_link(&tenant_id, &admin_email, "http://bench").await?;
    let token = link.url.expose().rsplit('/').next().unwrap_or_default().to_string();
    let client = ClientInfo::default();
    core.reset_password(&client, &token, Secret::new(PASSWORD.to_string())).await?;
    let signed_in = core.sign_in(&client, &admin_email, Secret::new(PASSWORD.to_string()), None).await?;
    let cookie = HeaderValue::from_str(&format!("onramp_session={}", signed_in.token.expose()))?;
    drop(core);

    let (server, start) = seeded.start().await?;
    println!("start      {:.1} s (the index built from the database)", start.as_secs_f64());
    let outcome = keystrokes(addr, &cookie, count, seed).await;
    server.stop().await?;
    outcome
}

/// The paths typed: every prefix (2 to [`MAX_PREFIX`] characters: the search takes 2 or more) of [`NAMES`]
/// names spread over the users, each alone and with filters.
fn typed(count: usize, seed: u64) -> Vec<(&'static str, String)> {
    let step = (count / NAMES).max(1);
    let names: Vec<String> =
        inputs(seed).take(count).step_by(step).take(NAMES).filter_map(|input| input.display_name).collect();
    let mut paths = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let chars: Vec<char> = name.chars().collect();
        for end in 2..=chars.len().min(MAX_PREFIX) {
            let prefix: String = chars[..end].iter().collect();
            let department = DEPARTMENTS[i % DEPARTMENTS.len()];
            let text = [("q", prefix.as_str())];
            let filtered = [("q", prefix.as_str()), ("status", "enabled"), ("department", department)];
            let query = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).expect("text pairs encode");
            paths.push(("text", format!("/console/users?{}", query(&text))));
            paths.push(("text + status + department", format!("/console/users?{}", query(&filtered))));
        }
    }
    paths
}

async fn keystrokes(addr: std::net::SocketAddr, cookie: &HeaderValue, count: usize, seed: u64) -> Result<()> {
    let mut conn = Connection::open(addr).await?;
    let probe = conn.send(conn.get("/console/users", Some(cookie))).await?;
    if probe.status != 200 || !String::from_utf8_lossy(&probe.body).contains("class=\"item\"") {
        return Err(format!("the users page answered {}: {}", probe.status, probe.text()).into());
    }
    let paths = typed(count, seed);
    let mut by_kind: Vec<(&str, Vec<u64>, usize)> = Vec::new();
    let mut all = Vec::new();
    for (kind, path) in &paths {
        let started = Instant::now();
        let response = conn.send(conn.get(path, Some(cookie))).await?;
        let took = started.elapsed().as_nanos() as u64;
        if response.status != 200 {
            let body = String::from_utf8_lossy(&response.body);
            let at = body.find("id=\"user-results\"").unwrap_or(0);
            return Err(
                format!("{path} answered {}: {}", response.status, &body[at..(at + 600).min(body.len())]).into()
            );
        }
        all.push(took);
        match by_kind.iter_mut().find(|(k, _, _)| k == kind) {
            Some((_, times, bytes)) => {
                times.push(took);
                *bytes += response.body.len();
            }
            None => by_kind.push((kind, vec![took], response.body.len())),
        }
    }
    println!("\n== GET /console/users per keystroke ({} keystrokes, one connection, serial) ==", all.len());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (kind, times, bytes) in by_kind {
        let n = times.len();
        let l = Latencies::of(times);
        println!(
            "{kind:<28} n {n:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  page {:>6} bytes on average",
            ms(l.p50),
            ms(l.p99),
            ms(l.max),
            bytes / n.max(1)
        );
    }
    let l = Latencies::of(all);
    println!(
        "{:<28} n {:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        "all",
        l.n,
        ms(l.p50),
        ms(l.p99),
        ms(l.max)
    );
    Ok(())
}
