//! The server a benchmark measures, started one of two ways: [`SeededServer`], the real server in this
//! process on a fresh SQLite database holding the synthetic users (`search`'s HTTP phase and
//! `console-users`), and [`ServerProcess`], the real `onramp` binary as a child process (`accept-memory`).
//!
//! The child process runs the binary `--server` names, else `onramp` beside this executable, which is
//! where cargo puts both. `cargo run -p onramp-bench` does not build `onramp` (nothing in the bench depends
//! on the binary), so build it first; the bench prints the binary it runs and how long ago it was built.
//!
//! The child is killed when its [`ServerProcess`] is dropped, so on every ending of the run: normal end,
//! error, panic, and Ctrl-C (`main` drops the run's future; the terminal's SIGINT reaches the child too).
//! Only if this process is killed outright (SIGKILL) can the child outlive it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::HeaderValue;
use onramp::admin::{self, IssuedCredential};
use onramp::config::{Config, LogFormat};
use onramp::server::{self, Server};
use onramp_domain::Id;
use onramp_store::{Actor, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::http_client::Connection;
use crate::search::inputs;
use crate::{Error, Result};

/// A fresh SQLite database in a folder, its default tenant made as the first start makes it (its credential
/// kept) and the synthetic users imported, before the server starts on it ([`SeededServer::start`]), so
/// that the server's index is built from the database as at any start.
pub struct SeededServer {
    pub config: Config,
    /// Where the server will listen (127.0.0.1, a port of its own).
    pub addr: SocketAddr,
    pub tenant_id: Id,
    /// The default tenant's first credential (a super-admin's).
    pub issued: IssuedCredential,
    /// The database, for what is to be done before the server starts; closed by `start`.
    pub store: Arc<dyn Store>,
    /// How long the import took.
    pub import: Duration,
    listener: TcpListener,
}

impl SeededServer {
    /// The database in `dir` (made if missing) with `count` users of `seed` (`search::inputs`) imported.
    pub async fn prepare(dir: PathBuf, count: usize, seed: u64) -> Result<SeededServer> {
        std::fs::create_dir_all(&dir)?;
        let config = Config {
            listen: "127.0.0.1:0".parse()?,
            database_url: format!("sqlite:{}", dir.join("onramp.db").display()),
            data_dir: dir,
            public_url: None,
            log_format: LogFormat::Text,
            admin_email: "admin@bench.example".into(),
            smtp_url: None,
            mail_from: None,
            connections: Default::default(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            webhooks: Default::default(),
            jobs: Default::default(),
            limits: Default::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let store = server::open_store(&config).await?;
        let (tenant, issued) = admin::new_tenant("default", &config.admin_email, &addr.ip().to_string())?;
        if !store.bootstrap(&tenant).await? {
            return Err("the fresh database already has a default tenant".into());
        }
        let tenant_id = tenant.tenant.id;
        let started = Instant::now();
        let core = onramp_core::Core::offline(store.clone());
        let report = core
            .import_as_system(&Actor::system(tenant_id), inputs(seed).take(count).map(Ok), Default::default())
            .await?;
        let import = started.elapsed();
        if !report.errors.is_empty() {
            return Err(format!("{} rows failed to import, first: {:?}", report.errors.len(), report.errors[0]).into());
        }
        Ok(SeededServer { config, addr, tenant_id, issued, store, import, listener })
    }

    /// Closes the database and starts the server on it in this process; returns it and how long it took to
    /// start (its index built from the database).
    pub async fn start(self) -> Result<(RunningServer, Duration)> {
        let SeededServer { config, listener, store, .. } = self;
        drop(store);
        let (stop, stopped) = oneshot::channel::<()>();
        let started = Instant::now();
        let server = server::start(&config, listener, async move {
            let _ = stopped.await;
        })
        .await?;
        Ok((RunningServer { stop, server }, started.elapsed()))
    }
}

/// A server started by [`SeededServer::start`]; [`RunningServer::stop`] ends it.
pub struct RunningServer {
    stop: oneshot::Sender<()>,
    server: Server,
}

impl RunningServer {
    /// The server's search index (and its view cache).
    pub fn search(&self) -> &onramp_core::search::SearchIndex {
        &self.server.search
    }

    /// Stops the server and waits until its requests are drained.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.server.wait().await?;
        Ok(())
    }
}

/// A bearer token for `issued` (client credentials at `/auth/v1/token`), as an `Authorization` value.
pub async fn bearer(addr: SocketAddr, issued: &IssuedCredential) -> Result<HeaderValue> {
    let mut conn = Connection::open(addr).await?;
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", issued.client_id.as_str()),
        ("client_secret", issued.client_secret.expose().as_str()),
    ])?;
    let request = conn.post("/auth/v1/token", "application/x-www-form-urlencoded", None, Bytes::from(form));
    let response = conn.send(request).await?;
    if response.status != 200 {
        return Err(format!("token request answered {}: {}", response.status, response.text()).into());
    }
    let token: serde_json::Value = serde_json::from_slice(&response.body)?;
    let token = token["access_token"].as_str().ok_or("the token response has no access_token")?;
    Ok(HeaderValue::from_str(&format!("Bearer {token}"))?)
}

/// The server binary to run: `explicit`, else `onramp` in this executable's folder.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    let binary = match explicit {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name(format!("onramp{}", std::env::consts::EXE_SUFFIX)),
    };
    if !binary.is_file() {
        return Err(format!(
            "no onramp binary at {}: build it with `cargo build --release -p onramp`, or name one with --server",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}

/// How long ago `binary` was built (modified), as "N s", "N min" or "N h".
pub fn age(binary: &Path) -> Option<String> {
    let seconds = std::fs::metadata(binary).ok()?.modified().ok()?.elapsed().ok()?.as_secs();
    Some(match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    })
}

/// `onramp serve` running in a child process, listening on a port of its own on 127.0.0.1.
pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `binary serve` on the database at `database_url` with `dir` as its data folder and working
    /// folder, and waits (at most `wait`) until it listens. Only warnings are logged, and no `ONRAMP_`
    /// variable of this environment reaches the child: its settings are exactly these.
    pub async fn start(binary: &Path, dir: &Path, database_url: &str, wait: Duration) -> Result<ServerProcess> {
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--database-url", database_url])
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("ONRAMP_")) {
            command.env_remove(key);
        }
        let mut child = command.spawn()?;
        let pid = child.id().ok_or("the server exited at once")?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no standard output")?).lines();
        let addr = tokio::time::timeout(wait, async {
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
        Ok(ServerProcess { child, pid, addr: addr.parse()? })
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}
