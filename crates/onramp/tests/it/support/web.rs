//! Browser journeys from `cargo test`: `node --test` on scripts in `web-tests/` (at the repository's root),
//! which drive Debian's `/usr/bin/chromium` with playwright-core against a [`TestServer`] of this process.
//!
//! The Rust side hands the scripts a small JSON file, named by `ONRAMP_WEB_CONTEXT`: the server's base URL,
//! the bootstrap super-admin's client id and secret (the scripts get a token with them at
//! `POST /auth/v1/token`), the folder the file transport writes emails to, the folder for screenshots
//! (`target/web-tests/<backend>/`, emptied first), and `fixtures`, whatever a test prepared that the API
//! cannot (an invitation expired behind the server's back, say). `web-tests/lib/onramp.mjs` reads it.
//!
//! Node runs in a process group of its own with its `TMPDIR` in a temporary folder: if the test fails or
//! times out, dropping [`NodeRun`] kills the whole group (node's test runner runs each file as a child
//! process, and Chromium exits when the node process that drives it goes), and Playwright's profile folders
//! go with the temporary folder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::mail::mail_dir;
use super::{Backend, TestServer};

/// The longest one `node --test` run may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest one test of a script may take (node's `--test-timeout`).
const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// `web-tests/` at the repository's root.
pub fn web_tests_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web-tests");
    dir.canonicalize().unwrap_or(dir)
}

/// Where a backend's screenshots go: `target/web-tests/<backend>/` (`CARGO_TARGET_TMPDIR` is
/// `target/tmp`).
pub fn screenshot_dir(backend: Backend) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target/tmp is in the target folder");
    target.join("web-tests").join(match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    })
}

/// The `*.test.mjs` scripts directly in `folder`, in name order.
pub fn test_scripts(folder: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(folder).unwrap_or_else(|error| panic!("read {}: {error}", folder.display()));
    let mut scripts: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.ends_with(".test.mjs")))
        .collect();
    scripts.sort();
    scripts
}

/// The context file's content for `server`: see the module doc.
pub fn context_for(server: &TestServer, backend: Backend, fixtures: Value) -> Value {
    json!({
        "backend": match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" },
        "baseUrl": server.base_url,
        "admin": {
            "clientId": server.bootstrap.client_id,
            "clientSecret": server.bootstrap.client_secret.expose(),
        },
        "mailDir": mail_dir(server.database.dir.path()),
        "screenshotDir": screenshot_dir(backend),
        "fixtures": fixtures,
    })
}

/// Runs `node --test` on `scripts` with `context` and fails the test, showing node's output, unless every
/// script passes. The backend's screenshot folder is emptied first, so that what is there afterwards is
/// this run's. Returns node's output.
pub async fn run_scripts(backend: Backend, scripts: &[PathBuf], context: &Value) -> String {
    assert!(!scripts.is_empty(), "no scripts to run");
    let screenshots = screenshot_dir(backend);
    match std::fs::remove_dir_all(&screenshots) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("empty {}: {error}", screenshots.display()),
    }
    std::fs::create_dir_all(&screenshots).expect("the screenshot folder");
    let run = NodeRun::start(scripts, context);
    let (success, output) = run.finish().await;
    assert!(success, "the browser scripts failed (screenshots in {}):\n{output}", screenshots.display());
    output
}

/// A running `node --test`; dropping it kills node's whole process group.
pub struct NodeRun {
    child: Child,
    /// The process group to kill on drop; None once node has exited by itself.
    group: Option<u32>,
    stdout: tokio::task::JoinHandle<String>,
    stderr: tokio::task::JoinHandle<String>,
    /// The context file and node's `TMPDIR`, removed when the run is dropped.
    _scratch: TempDir,
}

impl NodeRun {
    /// Starts `node --test` on `scripts` in `web-tests/`, with `context` written to a file for them.
    pub fn start(scripts: &[PathBuf], context: &Value) -> NodeRun {
        let scratch = tempfile::tempdir().expect("temporary folder");
        let context_file = scratch.path().join("context.json");
        std::fs::write(&context_file, serde_json::to_vec_pretty(context).expect("JSON")).expect("write the context");
        let tmp = scratch.path().join("tmp");
        std::fs::create_dir(&tmp).expect("node's temporary folder");
        let mut command = Command::new("node");
        command
            .arg("--test")
            .arg("--test-reporter=spec")
            .arg(format!("--test-timeout={}", TEST_TIMEOUT.as_millis()))
            .args(scripts)
            .current_dir(web_tests_dir())
            .env("ONRAMP_WEB_CONTEXT", &context_file)
            .env("TMPDIR", &tmp)
            .env("NO_COLOR", "1")
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|error| panic!("start node: {error}"));
        let group = child.id();
        let stdout = tokio::spawn(read_all(child.stdout.take().expect("node's stdout")));
        let stderr = tokio::spawn(read_all(child.stderr.take().expect("node's stderr")));
        NodeRun { child, group, stdout, stderr, _scratch: scratch }
    }

    /// Waits for node to exit, at most [`RUN_TIMEOUT`]: whether it succeeded, and its output (stdout then
    /// stderr). On a timeout the process group is killed and the output so far is returned.
    pub async fn finish(mut self) -> (bool, String) {
        let exited = tokio::time::timeout(RUN_TIMEOUT, self.child.wait()).await;
        let success = match exited {
            Ok(Ok(status)) => {
                self.group = None;
                status.success()
            }
            Ok(Err(error)) => panic!("wait for node: {error}"),
            Err(_) => {
                kill_group(self.group.take());
                false
            }
        };
        // The pipes close when the last process holding them exits; a straggler does not hold up the test.
        let rest = Duration::from_secs(10);
        let stdout = tokio::time::timeout(rest, &mut self.stdout).await.ok().and_then(Result::ok).unwrap_or_default();
        let stderr = tokio::time::timeout(rest, &mut self.stderr).await.ok().and_then(Result::ok).unwrap_or_default();
        let mut output = stdout;
        if !stderr.is_empty() {
            output.push_str("\n--- stderr ---\n");
            output.push_str(&stderr);
        }
        if exited.is_err() {
            output.push_str(&format!("\n--- killed after {RUN_TIMEOUT:?} ---\n"));
        }
        (success, output)
    }
}

impl Drop for NodeRun {
    fn drop(&mut self) {
        kill_group(self.group.take());
    }
}

/// Kills a process group with SIGKILL (by `kill`, since the workspace forbids `unsafe` and so a direct
/// system call); a group already gone is no error.
fn kill_group(group: Option<u32>) {
    if let Some(group) = group {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Everything `stream` produces until it closes, as text.
async fn read_all(mut stream: impl AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}
