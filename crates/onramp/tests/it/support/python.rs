//! The Python children of the tests (`tests/python/`: the SMTP sink, the webhook receiver): a script started
//! with `ONRAMP_TEST_PYTHON` (or `python3`) on a port and a folder, waited for until it prints that it
//! listens, killed when dropped. Each script also exits by itself when its standard input closes, so no test
//! leaves one behind.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// The longest a script may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The interpreter: `ONRAMP_TEST_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("ONRAMP_TEST_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

/// A running script.
pub struct PythonChild {
    /// The port it listens on.
    pub port: u16,
    child: Child,
    /// Held open: the script exits when it closes.
    _stdin: ChildStdin,
}

impl PythonChild {
    /// Runs `tests/python/<script> <port> <folder>` and waits until it prints `<ready><port>`; `port` 0 lets
    /// it pick a free one. Panics, with the script's standard error, if it does not start.
    pub async fn start(script: &str, port: u16, folder: &Path, ready: &str) -> PythonChild {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
        let mut child = Command::new(python())
            .arg(&path)
            .arg(port.to_string())
            .arg(folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("start {script} with {}: {error}", python()));
        let stdin = child.stdin.take().expect("the child's stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("the child's stdout")).lines();
        let listening = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(port) = line.strip_prefix(ready) {
                    return port.trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await;
        let Ok(Some(port)) = listening else {
            let _ = child.start_kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = tokio::time::timeout(Duration::from_secs(5), pipe.read_to_string(&mut stderr)).await;
            }
            panic!("{script} did not start on port {port}: {stderr}");
        };
        PythonChild { port, child, _stdin: stdin }
    }

    /// Stops the script and waits for it: its port refuses connections from now on.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

impl Drop for PythonChild {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
