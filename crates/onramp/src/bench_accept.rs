//! `onramp bench accept-memory`: the memory a burst of concurrent invitation acceptances costs the server.
//!
//! Each acceptance hashes a password with argon2id, which needs 19 MiB of working memory by design, so the
//! server's peak memory under a burst depends on how many hashes run at once and whether their memory is
//! reused. The benchmark prepares a database with `--concurrent` pending invitations (their secrets known
//! to it), starts the real `onramp serve` from this same binary in a child process, waits until it is idle
//! (its start-up done and the invitation emails written), and sends every acceptance at once, each on its
//! own connection. It reads the child's resident memory from `/proc/PID/status`: `VmRSS` when idle, and
//! `VmHWM`, the peak, after the burst (the peak is reset just before the burst by writing 5 to
//! `/proc/PID/clear_refs`, so that it covers only the burst). The figure is the peak above idle, against a
//! budget of 150 MiB; the command fails when a backend is over it. Linux only.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_api::invite::{invitation_email, link, new_token};
use onramp_api::wire::directory::InvitationInput;
use onramp_domain::{Id, Timestamp};
use onramp_store::{Actor, App, LocalDirectory};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::admin;
use crate::bench_search::Conn;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

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
/// created for the run and dropped after it.
pub async fn run(concurrent: usize, postgres: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("onramp-bench-accept-{}", Id::new()));
    let sqlite_dir = dir.join("sqlite");
    std::fs::create_dir_all(&sqlite_dir)?;
    let sqlite_url = format!("sqlite:{}", sqlite_dir.join("onramp.db").display());
    let mut results = vec![run_on(&sqlite_url, &sqlite_dir, concurrent).await];
    if let Some(server) = postgres {
        let name = format!("onramp_bench_{}", Id::new());
        let mut admin = sqlx::PgConnection::connect(server).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let url = match server.rsplit_once('/') {
            Some((base, _)) if base.contains("://") && !base.ends_with('/') => format!("{base}/{name}"),
            _ => format!("{}/{name}", server.trim_end_matches('/')),
        };
        let postgres_dir = dir.join("postgres");
        std::fs::create_dir_all(&postgres_dir)?;
        results.push(run_on(&url, &postgres_dir, concurrent).await);
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
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

async fn run_on(url: &str, dir: &Path, concurrent: usize) -> Result<Figures> {
    let tokens = prepare(url, concurrent).await?;
    let mut child = Command::new(std::env::current_exe()?);
    child
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(["--database-url", url])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("ONRAMP_")) {
        child.env_remove(key);
    }
    let mut child = child.spawn()?;
    let outcome = measure(&mut child, dir, &tokens).await;
    child.kill().await?;
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
        let email = invitation_email(&directory, &invitation, &link("http://127.0.0.1", &token));
        store.create_invitation(&actor, &invitation, &hash, &email).await?;
        tokens.push(token.expose().clone());
    }
    Ok(tokens)
}

/// Waits for the child to listen and go idle, then sends the burst; returns (idle MiB, peak MiB, MiB after,
/// seconds the burst took, whether the peak was reset before it).
async fn measure(child: &mut Child, dir: &Path, tokens: &[String]) -> Result<(f64, f64, f64, f64, bool)> {
    let pid = child.id().ok_or("the server exited at once")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no standard output")?).lines();
    let addr = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("onramp: listening on http://") {
                return Ok(rest.split(' ').next().unwrap_or(rest).to_string());
            }
        }
        Err::<String, Error>("the server stopped before it listened".into())
    })
    .await
    .map_err(|_| "the server did not start in time")??;
    // Nothing more is read from standard output; keep it drained so that the child never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr: std::net::SocketAddr = addr.parse()?;

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
        let mut conn = Conn::open(addr).await?;
        let body = serde_json::json!({
            "token": token,
            "displayName": format!("Invitee {n}"),
            "password": format!("correct horse battery staple {n}"),
        })
        .to_string();
        let request = format!(
            "POST /api/v1/local-directory-invitations/accept HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            conn.send(request.as_bytes()).await
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
