//! `onramp-bench import`: how fast the real import path (row validation, batching, SQL) loads synthetic
//! users into a fresh database of either backend, and how large the database is afterwards.

use std::time::Instant;

use onramp::admin;
use onramp_api::wire::user_input::UserInput;
use onramp_store::Actor;

use crate::Result;
use crate::scratch::{ScratchDatabase, ScratchDir};
use crate::synthetic::Users;

pub struct ImportFigures {
    pub backend: &'static str,
    pub users: usize,
    pub seconds: f64,
    pub bytes: i64,
    /// Users per second of each million imported, in order (the last may be a part of a million).
    pub per_million: Vec<f64>,
}

/// The rows imported per `import_as_system` call, and the span of each per-million rate.
const MILLION: usize = 1_000_000;

/// Users per second the import must sustain, by backend (issue #15).
const SQLITE_TARGET: f64 = 75_000.0;
const POSTGRES_TARGET: f64 = 50_000.0;
/// The last million's rate, as a share of the first's, below which the import is not sustained.
const SUSTAINED: f64 = 0.8;

impl ImportFigures {
    pub fn rate(&self) -> f64 {
        self.users as f64 / self.seconds
    }

    /// The PASS/FAIL line of this backend's target: the rate over the whole import and, on SQLite when
    /// more than a million users were imported, the last million's rate against the first's.
    pub fn verdict(&self) -> String {
        let (target, label) = match self.backend {
            "sqlite" => (SQLITE_TARGET, "≥ 75,000 users/s imported on SQLite, the last million ≥ 80 % of the first"),
            _ => (POSTGRES_TARGET, "≥ 50,000 users/s imported on PostgreSQL"),
        };
        let mut pass = self.rate() >= target;
        let mut detail = format!("{:.0} users/s", self.rate());
        if self.backend == "sqlite" && self.per_million.len() > 1 {
            // A part of a million at the end is too short to judge by; the last whole million is.
            let whole = self.users / MILLION;
            let (first, last) = (self.per_million[0], self.per_million[whole.max(1) - 1]);
            pass &= last >= SUSTAINED * first;
            detail.push_str(&format!(", last million {:.0} % of the first", 100.0 * last / first));
        }
        format!("{} {label}: {detail}", if pass { "PASS" } else { "FAIL" })
    }
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
        )?;
        if self.per_million.len() > 1 {
            let rates: Vec<String> = self.per_million.iter().map(|rate| format!("{rate:.0}")).collect();
            write!(f, "\n{:<9} users/s per million: {}", self.backend, rates.join(", "))?;
        }
        Ok(())
    }
}

/// Imports `count` users (seed `seed`; with `roles`, the search benchmark's users, a quarter of them with a
/// role) into the database at `url`, which must be empty.
pub async fn import(url: &str, count: usize, seed: u64, roles: bool) -> Result<ImportFigures> {
    let store = onramp_store::open(url).await?;
    let (tenant, _) = admin::new_tenant("bench", "bench@bench.example", "127.0.0.1")?;
    store.create_tenant(&tenant).await?;
    let actor = Actor::system(tenant.tenant.id);
    let core = onramp_core::Core::offline(store.clone());
    let mut users: Box<dyn Iterator<Item = UserInput> + Send> =
        if roles { Box::new(crate::search::inputs(seed)) } else { Box::new(Users::new(seed)) };
    let (mut imported, mut per_million) = (0, Vec::new());
    let started = Instant::now();
    // A million rows per import call, each timed, so that a slowdown as the database grows shows.
    while imported < count {
        let part = MILLION.min(count - imported);
        let part_started = Instant::now();
        let rows = users.by_ref().take(part).map(Ok);
        let report = core.import_as_system(&actor, rows, Default::default()).await?;
        if !report.errors.is_empty() {
            return Err(format!("{} rows failed, first: {:?}", report.errors.len(), report.errors[0]).into());
        }
        imported += report.imported_count();
        per_million.push(report.imported_count() as f64 / part_started.elapsed().as_secs_f64());
        if report.imported_count() < part {
            return Err(format!("{} of {part} rows imported", report.imported_count()).into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let bytes = store.storage_bytes().await?;
    Ok(ImportFigures { backend: store.backend().name(), users: imported, seconds, bytes, per_million })
}

/// One backend for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    Sqlite,
    Postgres,
}

/// Runs the import benchmark on SQLite (in a temporary folder) and, given a server URL, on a PostgreSQL
/// database created for the run and dropped after it; with `only`, on that backend alone.
pub async fn run(count: usize, seed: u64, postgres: Option<&str>, roles: bool, only: Option<Only>) -> Result<()> {
    if roles {
        println!("the search benchmark's users: a quarter with a role, granted in the same transaction");
    }
    let mut verdicts = Vec::new();
    if only != Some(Only::Postgres) {
        let dir = ScratchDir::new("onramp-bench-import")?;
        let sqlite = import(&format!("sqlite:{}", dir.path().join("bench.db").display()), count, seed, roles).await;
        drop(dir);
        let sqlite = sqlite?;
        println!("{sqlite}");
        verdicts.push(sqlite.verdict());
    }
    match (only, postgres) {
        (Some(Only::Sqlite), _) => {}
        (_, Some(server)) => {
            let database = ScratchDatabase::create(server, "onramp_bench").await?;
            let figures = import(&database.url(), count, seed, roles).await;
            database.remove().await?;
            let figures = figures?;
            println!("{figures}");
            verdicts.push(figures.verdict());
        }
        (_, None) => verdicts.push("---- ≥ 50,000 users/s imported on PostgreSQL: not run (no --postgres-url)".into()),
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
    Ok(())
}
