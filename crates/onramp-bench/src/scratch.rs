//! What a benchmark run makes and must not leave behind: a folder under the system's temporary folder and,
//! given a PostgreSQL server, databases created for the run. Each is removed when its guard is dropped, so
//! at the end of the run, on an error, on Ctrl-C (`main` drops the run's future) and when a panic unwinds
//! through the run.

use std::path::{Path, PathBuf};

use onramp_domain::Id;
use sqlx::Connection;

use crate::Result;

/// A fresh folder, removed with everything in it on drop.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `<temporary folder>/<prefix>-<fresh id>`.
    pub fn new(prefix: &str) -> std::io::Result<ScratchDir> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", Id::new()));
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A database created on a PostgreSQL server for one run, dropped (`WITH (FORCE)`, so also while a pool is
/// still connected to it) by [`ScratchDatabase::remove`] or else on drop.
pub struct ScratchDatabase {
    server: String,
    name: String,
    removed: bool,
}

impl ScratchDatabase {
    /// Creates a database named `<prefix>_<fresh id>` on the server `server` names (a URL whose database is
    /// one the user may connect to, usually `postgres`).
    pub async fn create(server: &str, prefix: &str) -> Result<ScratchDatabase> {
        let name = format!("{prefix}_{}", Id::new());
        let mut admin = sqlx::PgConnection::connect(server).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        admin.close().await?;
        Ok(ScratchDatabase { server: server.to_string(), name, removed: false })
    }

    /// The URL of the database: the server's URL with its database name replaced.
    pub fn url(&self) -> String {
        database_url(&self.server, &self.name)
    }

    /// Drops the database now, reporting a failure.
    pub async fn remove(mut self) -> Result<()> {
        self.removed = true;
        drop_database(&self.server, &self.name).await
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run on a runtime thread, which cannot block on a future: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_database(&server, &name)).map_err(|e| std::io::Error::other(e.to_string()))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("onramp-bench: could not drop the database {}; drop it by hand", self.name);
        }
    }
}

/// The URL of database `name` on the server `server` names.
fn database_url(server: &str, name: &str) -> String {
    match server.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && !base.ends_with('/') => format!("{base}/{name}"),
        _ => format!("{}/{name}", server.trim_end_matches('/')),
    }
}

async fn drop_database(server: &str, name: &str) -> Result<()> {
    let mut admin = sqlx::PgConnection::connect(server).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    admin.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn replaces_the_database_of_the_url() {
        assert_eq!(database_url("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(database_url("postgres://u@h:5432/", "x"), "postgres://u@h:5432/x");
        assert_eq!(database_url("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
