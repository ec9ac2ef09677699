//! The data folder and the database files are private to onramp's user: a new data folder is 0700 and a new
//! SQLite database, with its `-wal` and `-shm` files, 0600; an existing one that is looser is named in a
//! warning at start-up.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::support::process::{Serve, database_args};
use crate::support::{Backend, TestDatabase, TestServer};

fn mode(path: &Path) -> u32 {
    let metadata = std::fs::metadata(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    metadata.permissions().mode() & 0o777
}

async fn new_data_files_are_private(backend: Backend) {
    let mut server = TestServer::start_with(backend, |config| {
        config.data_dir = config.data_dir.join("data");
        if backend == Backend::Sqlite {
            config.database_url = format!("sqlite:{}", config.data_dir.join("onramp.db").display());
        }
    })
    .await;
    // A write, so that the write-ahead log holds something.
    server.admin_token().await;
    let data = server.config.data_dir.clone();
    assert_eq!(mode(&data), 0o700, "the data folder {}", data.display());
    if backend == Backend::Sqlite {
        for name in ["onramp.db", "onramp.db-wal", "onramp.db-shm"] {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
    }
    server.stop().await;
}
both_backends!(new_data_files_are_private);

/// `text` without its terminal colour codes (`ESC [ ... m`).
pub(crate) fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    plain
}

/// Waits until the server's standard error has a start-up warning about `path` with `mode`, or fails after
/// a generous deadline.
async fn wait_for_warning(server: &Serve, path: &Path, mode: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let fields = format!("path={} mode=\"{mode}\"", path.display());
    loop {
        let stderr = without_colours(&server.stderr());
        if stderr.lines().any(|line| line.contains(" WARN ") && line.contains(&fields)) {
            return;
        }
        assert!(Instant::now() < deadline, "no warning with {fields} on standard error:\n{stderr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn loose_data_files_are_warned_about(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let data = database.dir.path();
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = data.join("onramp.db");
    if backend == Backend::Sqlite {
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let server = Serve::start(&database_args(&database, backend), data).await;
    wait_for_warning(&server, data, "755").await;
    if backend == Backend::Sqlite {
        wait_for_warning(&server, &file, "644").await;
    }
    assert_eq!(mode(data), 0o755, "an existing folder keeps its mode");
    server.terminate().await;
}
both_backends!(loose_data_files_are_warned_about);
