//! `onramp-bench import`: how fast the real import path (row validation, batching, SQL) loads synthetic
//! users into a fresh database of either backend, and how large the database is afterwards.

use std::time::Instant;

use onramp::admin;
use onramp_store::Actor;

use crate::Result;
use crate::scratch::{ScratchDatabase, ScratchDir};
use crate::synthetic::Users;

pub struct ImportFigures {
    pub backend: &'static str,
    pub users: usize,
    pub seconds: f64,
    pub bytes: i64,
}

impl std::fmt::Display for ImportFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<9} {:>9} users in {:>7.2} s = {:>8.0} users/s; database {:>7.1} MiB ({:.0} bytes/user)",
            self.backend,
            self.users,
            self.seconds,
            self.users as f64 / self.seconds,
            self.bytes as f64 / (1024.0 * 1024.0),
            self.bytes as f64 / self.users.max(1) as f64
        )
    }
}

/// Imports `count` users (seed `seed`) into the database at `url`, which must be empty.
pub async fn import(url: &str, count: usize, seed: u64) -> Result<ImportFigures> {
    let store = onramp_store::open(url).await?;
    let (tenant, _) = admin::new_tenant("bench", "bench@bench.example", "127.0.0.1")?;
    store.create_tenant(&tenant).await?;
    let actor = Actor::system(tenant.tenant.id);
    let started = Instant::now();
    let rows = Users::new(seed).take(count).map(Ok);
    let report = onramp_core::Core::offline(store.clone()).import_as_system(&actor, rows, Default::default()).await?;
    let seconds = started.elapsed().as_secs_f64();
    if !report.errors.is_empty() {
        return Err(format!("{} rows failed, first: {:?}", report.errors.len(), report.errors[0]).into());
    }
    let bytes = store.storage_bytes().await?;
    Ok(ImportFigures { backend: store.backend().name(), users: report.imported_count(), seconds, bytes })
}

/// Runs the import benchmark on SQLite (in a temporary folder) and, given a server URL, on a PostgreSQL
/// database created for the run and dropped after it.
pub async fn run(count: usize, seed: u64, postgres: Option<&str>) -> Result<()> {
    let dir = ScratchDir::new("onramp-bench-import")?;
    let sqlite = import(&format!("sqlite:{}", dir.path().join("bench.db").display()), count, seed).await;
    drop(dir);
    println!("{}", sqlite?);
    if let Some(server) = postgres {
        let database = ScratchDatabase::create(server, "onramp_bench").await?;
        let figures = import(&database.url(), count, seed).await;
        database.remove().await?;
        println!("{}", figures?);
    }
    Ok(())
}
