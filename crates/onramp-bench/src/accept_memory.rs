//! `onramp-bench accept-memory`: the memory a burst of concurrent invitation acceptances costs the server.
//!
//! Each acceptance hashes a password with argon2id, which needs 19 MiB of working memory by design, so the
//! server's peak memory under a burst depends on how many hashes run at once and whether their memory is
//! reused. The benchmark prepares a database with `--concurrent` pending invitations (their secrets known
//! to it), starts the real `onramp serve` in a child process (the `onramp` binary, see `server_process.rs`),
//! waits until it is idle (its start-up done and the invitation emails written), and sends every acceptance
//! at once, each on its own connection. It reads the child's resident memory from `/proc/PID/status`: `VmRSS` when idle, and
//! `VmHWM`, the peak, after the burst (the peak is reset just before the burst by writing 5 to
//! `/proc/PID/clear_refs`, so that it covers only the burst). The figure is the peak above idle, against a
//! budget of 150 MiB; the command fails when a backend is over it. Linux only.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use onramp::admin;
use onramp_api::wire::directory::InvitationInput;
use onramp_core::branding::Branding;
use onramp_core::invite::{Sender, invitation_email, link, new_token};
use onramp_domain::Timestamp;
use onramp_store::{Actor, App, LocalDirectory};

use crate::Result;
use crate::http_client::Connection;
use crate::scratch::{ScratchDatabase, ScratchDir};
use crate::server_process::{self, ServerProcess};

/// The most the peak may rise above idle during the burst.
pub const BUDGET_MIB: f64 = 150.0;

/// How long the server may take to start, deliver the invitation emails, or answer the burst.
const WAIT: Duration = Duration::from_secs(120);

struct Figures {
    backend: &'static str,
    idle_mib: f64,
    peak_mib: f64,
    after_mib: f64,
    seconds: f64,
    /// Whether the peak was reset before the burst (else it is the peak since the server started).
    peak_reset: bool,
}

/// Runs the benchmark on SQLite in a temporary folder and, given a server URL, on a PostgreSQL database
/// created for the run and dropped after it; `server` names the `onramp` binary to run (see
/// [`server_process::locate`]).
pub async fn run(concurrent: usize, postgres: Option<&str>, server: Option<&Path>) -> Result<()> {
    let binary = server_process::locate(server)?;
    let age = server_process::age(&binary).map_or(String::new(), |age| format!(" (built {age} ago)"));
    println!("server    {}{age}", binary.display());
    let dir = ScratchDir::new("onramp-bench-accept")?;
    let sqlite_dir = dir.path().join("sqlite");
    std::fs::create_dir_all(&sqlite_dir)?;
    let sqlite_url = format!("sqlite:{}", sqlite_dir.join("onramp.db").display());
    let mut results = vec![run_on(&binary, &sqlite_url, &sqlite_dir, concurrent).await];
    if let Some(server) = postgres {
        let database = ScratchDatabase::create(server, "onramp_bench").await?;
        let postgres_dir = dir.path().join("postgres");
        std::fs::create_dir_all(&postgres_dir)?;
        results.push(run_on(&binary, &database.url(), &postgres_dir, concurrent).await);
        database.remove().await?;
    }
    drop(dir);
    let mut over = Vec::new();
    for result in results {
        let figures = result.map_err(|error| error.to_string())?;
        let rise = figures.peak_mib - figures.idle_mib;
        let verdict = if rise < BUDGET_MIB { "PASS" } else { "FAIL" };
        let peak_of = if figures.peak_reset { "during the burst" } else { "since start (could not reset the peak)" };
        println!(
            "{:<9} {concurrent} concurrent acceptances in {:.1} s: idle {:.0} MiB, peak {:.0} MiB {peak_of}, \
             +{rise:.0} MiB above idle, {:.0} MiB after: {verdict} (budget +{BUDGET_MIB:.0} MiB)",
            figures.backend, figures.seconds, figures.idle_mib, figures.peak_mib, figures.after_mib,
        );
        if rise >= BUDGET_MIB {
            over.push(figures.backend);
        }
    }
    if over.is_empty() { Ok(()) } else { Err(format!("over the memory budget on {}", over.join(", ")).into()) }
}

async fn run_on(binary: &Path, url: &str, dir: &Path, concurrent: usize) -> Result<Figures> {
    let tokens = prepare(url, concurrent).await?;
    let server = ServerProcess::start(binary, dir, url, WAIT).await?;
    let outcome = measure(&server, dir, &tokens).await;
    server.stop().await?;
    let (idle, peak, after, seconds, peak_reset) = outcome?;
    let backend = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
    Ok(Figures { backend, idle_mib: idle, peak_mib: peak, after_mib: after, seconds, peak_reset })
}

/// Bootstraps the database as a first start would and stores `count` pending invitations into a default
/// directory; returns their secrets.
async fn prepare(url: &str, count: usize) -> Result<Vec<String>> {
    let store = onramp_store::open(url).await?;
    let (tenant, _) = admin::new_tenant("default", "admin@bench.example", "127.0.0.1")?;
    if !store.bootstrap(&tenant).await? {
        return Err("the fresh database already has a default tenant".into());
    }
    let tenant_id = tenant.tenant.id;
    let actor = Actor::system(tenant_id);
    let now = Timestamp::now();
    let app = App::new(tenant_id, "Staff", now);
    store.create_app(&actor, &app, &[]).await?;
    let directory = LocalDirectory { is_default: true, ..LocalDirectory::new(app.id, tenant_id, "Staff", now) };
    store.create_local_directory(&actor, &directory).await?;
    let mut tokens = Vec::with_capacity(count);
    for n in 0..count {
        let input = InvitationInput {
            email: Some(format!("invitee{n}@bench.example")),
            display_name: Some(format!("Invitee {n}")),
            ..InvitationInput::default()
        };
        let invitation = input.new_invitation(&directory, None, Timestamp::now()).map_err(|e| e.message)?;
        let (token, hash) = new_token();
        let branding = Branding::onramp();
        let sender = Sender { branding: &branding, inviter: None, public_url: "http://127.0.0.1" };
        let email = invitation_email(&directory, &invitation, &link("http://127.0.0.1", &token), &sender);
        store.create_invitation(&actor, &invitation, &hash, &email).await?;
        tokens.push(token.expose().clone());
    }
    Ok(tokens)
}

/// Waits for the server to go idle, then sends the burst; returns (idle MiB, peak MiB, MiB after, seconds the
/// burst took, whether the peak was reset before it).
async fn measure(server: &ServerProcess, dir: &Path, tokens: &[String]) -> Result<(f64, f64, f64, f64, bool)> {
    let (pid, addr) = (server.pid, server.addr);
    // Idle: started, and every invitation email written by the delivery worker.
    let started = Instant::now();
    while count_mail(&dir.join("mail")) < tokens.len() {
        if started.elapsed() > WAIT {
            return Err("the server did not write the invitation emails in time".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = status_mib(pid, "VmRSS")?;
    let peak_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();

    // Every connection is open before the first request goes.
    let gate = Arc::new(tokio::sync::Barrier::new(tokens.len() + 1));
    let mut tasks = Vec::with_capacity(tokens.len());
    for (n, token) in tokens.iter().enumerate() {
        let mut conn = Connection::open(addr).await?;
        let body = serde_json::json!({
            "token": token,
            "displayName": format!("Invitee {n}"),
            "password": format!("correct horse battery staple {n}"),
        })
        .to_string();
        let request =
            conn.post("/api/v1/local-directory-invitations/accept", "application/json", None, Bytes::from(body));
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            conn.send(request).await
        }));
    }
    gate.wait().await;
    let started = Instant::now();
    for task in tasks {
        let response = tokio::time::timeout(WAIT, task).await.map_err(|_| "an acceptance took too long")???;
        if response.status != 200 {
            return Err(format!("an acceptance answered {}: {}", response.status, response.text()).into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_mib(pid, "VmHWM")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = status_mib(pid, "VmRSS")?;
    Ok((idle, peak, after, seconds, peak_reset))
}

fn count_mail(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "eml"))
            .count()
    })
}

/// A `kB` field of `/proc/PID/status`, in MiB.
fn status_mib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    let kib: f64 = line.trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib / 1024.0)
}
