//! The real `onramp` binary as a child process, for a benchmark that measures the server as it runs
//! (`accept-memory`). The binary is the one `--server` names, else `onramp` beside this executable, which is
//! where cargo puts both. `cargo run -p onramp-bench` does not build `onramp` (nothing in the bench depends
//! on the binary), so build it first; the bench prints the binary it runs and how long ago it was built.
//!
//! The child is killed when its [`ServerProcess`] is dropped, so on every ending of the run: normal end,
//! error, panic, and Ctrl-C (`main` drops the run's future; the terminal's SIGINT reaches the child too).
//! Only if this process is killed outright (SIGKILL) can the child outlive it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Error, Result};

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
