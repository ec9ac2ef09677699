//! The real `onramp` binary as a child process: `serve` read up to its "listening" line, stopped with
//! SIGTERM, and the administrative commands run to completion.
//!
//! Every child is killed when its handle is dropped, so a failing test never leaves a process behind, and
//! every wait is bounded by [`PROCESS_TIMEOUT`], so a hang fails the test instead of blocking the run.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

use super::{Backend, TestDatabase};

/// The longest any start, stop or command may take before the test fails.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

/// The line `onramp serve` prints once it accepts connections.
const LISTENING: &str = "onramp: listening on http://";

/// A command for the onramp binary, run in `workdir` (so no stray `./onramp.toml` is read) and without any
/// `ONRAMP_*` variable of the environment the tests run in (so only the flags configure it).
pub fn command(args: &[&str], workdir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onramp"));
    command.args(args).current_dir(workdir).kill_on_drop(true).stdin(Stdio::null());
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("ONRAMP_")) {
        command.env_remove(key);
    }
    command
}

/// The flags that point onramp at a test database: the data folder, and for PostgreSQL the database URL.
/// On SQLite no URL is given, so the default (a database file in the data folder) is what is tested.
pub fn database_args(database: &TestDatabase, backend: Backend) -> Vec<String> {
    let mut args = vec!["--data-dir".to_string(), database.dir.path().display().to_string()];
    if backend == Backend::Postgres {
        args.extend(["--database-url".to_string(), database.url.clone()]);
    }
    args
}

/// A running `onramp serve`.
pub struct Serve {
    child: Child,
    /// `ADDR` of the `onramp: listening on http://ADDR` line.
    pub addr: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Appends everything `stream` produces to `sink` until it closes, so that the child never blocks on a
/// full pipe and the output is there to show when a test fails.
fn drain(stream: impl AsyncRead + Unpin + Send + 'static, sink: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut sink = sink.lock().unwrap();
            sink.push_str(&line);
            sink.push('\n');
        }
    });
}

impl Serve {
    /// Starts `onramp serve --listen 127.0.0.1:0` with `extra` flags, and reads its standard output line by
    /// line until the listening line.
    pub async fn start(extra: &[String], workdir: &Path) -> Serve {
        Serve::start_on("127.0.0.1:0", extra, workdir).await
    }

    /// [`Serve::start`] listening on `listen`.
    pub async fn start_on(listen: &str, extra: &[String], workdir: &Path) -> Serve {
        let mut args = vec!["serve", "--listen", listen];
        args.extend(extra.iter().map(String::as_str));
        let mut child = command(&args, workdir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the onramp binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("piped stderr"), stderr.clone());
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut seen = String::new();
        let addr = loop {
            let line = match timeout(PROCESS_TIMEOUT, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                outcome => {
                    let stderr = stderr.lock().unwrap().clone();
                    panic!(
                        "onramp serve never said it was listening ({outcome:?});\nstdout:\n{seen}\nstderr:\n{stderr}"
                    )
                }
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(rest) = line.strip_prefix(LISTENING) {
                break rest.split_whitespace().next().expect("an address after http://").to_string();
            }
        };
        let stdout = Arc::new(Mutex::new(seen));
        drain(lines.into_inner(), stdout.clone());
        Serve { child, addr, stdout, stderr }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything printed on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Kills the process with SIGKILL (no chance to finish anything) and waits until it is gone.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL onramp");
        let _ = timeout(PROCESS_TIMEOUT, self.child.wait()).await.expect("onramp gone after SIGKILL");
    }

    /// Sends SIGTERM and waits for the process to exit, returning its exit status.
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().expect("the server is still running before SIGTERM");
        let sent = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        match timeout(PROCESS_TIMEOUT, self.child.wait()).await {
            Ok(status) => status.expect("wait for onramp"),
            Err(_) => panic!("onramp did not exit within {PROCESS_TIMEOUT:?} of SIGTERM;\nstderr:\n{}", self.stderr()),
        }
    }
}

/// The outcome of a command run to completion.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs an onramp command to completion.
pub async fn run(args: &[&str], workdir: &Path) -> Finished {
    let mut child =
        command(args, workdir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the onramp binary starts");
    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let finished = async {
        let (mut stdout, mut stderr) = (String::new(), String::new());
        let (out, err) = tokio::join!(stdout_pipe.read_to_string(&mut stdout), stderr_pipe.read_to_string(&mut stderr));
        out.expect("read stdout");
        err.expect("read stderr");
        let status = child.wait().await.expect("wait for onramp");
        Finished { status, stdout, stderr }
    };
    match timeout(PROCESS_TIMEOUT, finished).await {
        Ok(finished) => finished,
        Err(_) => panic!("`onramp {}` did not finish within {PROCESS_TIMEOUT:?}", args.join(" ")),
    }
}
