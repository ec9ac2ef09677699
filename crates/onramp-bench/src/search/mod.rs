//! `onramp-bench search`: the user search index (`onramp-search`) measured on synthetic users, beside the
//! usual alternatives on the same users and the same queries (SQLite FTS5 with the trigram tokenizer,
//! PostgreSQL with pg_trgm), then `POST /api/v1/search/users` under load over HTTP.
//!
//! Everything follows from the seed: the users (`synthetic::Users`, with roles, types and origins given in
//! `data.rs` to fixed fractions of them) and four query sets of [`SET_SIZE`] queries each (`queries.rs`):
//! substrings of names and emails, one-typo words, filters alone, and text with filters. The alternatives
//! (`sqlite.rs`, `postgres.rs`, with the SQL in `sql.rs`) are given the text already lowercased and without
//! accents (and the queries the same way), so that they are asked for what onramp matches; what they cannot
//! do (typos, for FTS5) shows up as recall, not as an error. `in_process.rs` times the index itself,
//! `http.rs` the server under load (and `GET /healthz`, a trivial route, under the same load for
//! comparison), and `figures.rs` prints it all, ending with the rows of issue #15's target table that
//! belong to search, each PASS or FAIL.
//!
//! The run leaves nothing behind: temporary files are removed, the PostgreSQL database made for the run is
//! dropped (also on error and on Ctrl-C), and the HTTP server and load generator end with it.

mod data;
mod figures;
mod http;
mod in_process;
mod library;
mod postgres;
mod queries;
mod restart;
mod sql;
mod sqlite;

use std::time::{Duration, Instant};

use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};

pub use data::{build_index, inputs, one_typo, users};
pub use figures::{Latencies, parse_vmrss};
pub use queries::{FILTER_SHAPES, PAGE_SIZE, SET_SIZE, Search, Sets};

use crate::Result;
use crate::scratch::{ScratchDatabase, ScratchDir};
use crate::synthetic::{DEPARTMENTS, JOB_TITLES};
use data::ROLE_SHARES;
use figures::{InProcess, print_alternative, print_http, side_by_side, summary};
use http::{http, interleave};
use in_process::in_process;
use library::{TantivyFigures, tantivy_alternative};
use postgres::postgres_alternative;
use sqlite::sqlite_alternative;

/// The command line's options.
pub struct Options {
    pub count: usize,
    pub seed: u64,
    pub postgres_url: Option<String>,
    pub seconds: u64,
    pub connections: usize,
    /// Run only this phase (and print only its rows of the summary); None: every phase.
    pub only: Option<Phase>,
}

/// The parts of the run, for `--only`: at 10M users a whole run takes over half an hour, a phase alone a
/// few minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// The index in process, with tantivy, FTS5 and (given `--postgres-url`) pg_trgm beside it.
    Index,
    /// The index in process alone, without the alternatives: for working on the index (at 10M users the
    /// alternatives take several minutes). Its memory row has no tantivy to compare with, so it fails.
    Onramp,
    /// A node restarted from its snapshot, and from the change feed.
    Restart,
    /// `POST /api/v1/search/users` on a real server under load, beside `GET /healthz`.
    Http,
}

/// Runs the benchmark and prints its figures. The scratch folder and the PostgreSQL database are removed on
/// any ending (see `crate::scratch`); the HTTP server runs in this process and ends with the run.
pub async fn run(options: Options) -> Result<()> {
    let scratch = ScratchDir::new("onramp-bench-search")?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "onramp-bench search: {} users (seed {}), {} CPUs, pageSize {PAGE_SIZE}, {SET_SIZE} queries per set",
        options.count, options.seed, cpus
    );

    let started = Instant::now();
    let users = data::users(options.seed, options.count)?;
    let sets = Sets::generate(&users, options.seed);
    describe_data(&users, started.elapsed());

    let runs = |phase: Phase| options.only.is_none_or(|only| only == phase);
    let index = if runs(Phase::Index) {
        Some(index_phase(&options, &users, &sets, &scratch).await?)
    } else if options.only == Some(Phase::Onramp) {
        Some((in_process(&users, &sets), None))
    } else {
        None
    };
    drop(users);

    let restart = if runs(Phase::Restart) {
        let restart = restart::restart(options.count, options.seed, scratch.path().join("restart")).await;
        if let Err(error) = &restart {
            println!("\n== restart: failed: {error} ==");
        }
        Some(restart.ok())
    } else {
        None
    };

    let http = if runs(Phase::Http) {
        let http = http(&options, scratch.path().join("server"), interleave(&sets)).await;
        match &http {
            Ok(http) => print_http(http, &options, &sets),
            Err(error) => println!("\n== HTTP: failed: {error} =="),
        }
        Some(http.ok())
    } else {
        None
    };
    let index = index.as_ref().map(|(in_process, tantivy)| (in_process, tantivy.as_ref()));
    summary(options.count, index, restart, http.as_ref().map(Option::as_ref));
    Ok(())
}

/// The index in process, and the alternatives on the same users and queries.
async fn index_phase(
    options: &Options,
    users: &[User],
    sets: &Sets,
    scratch: &ScratchDir,
) -> Result<(InProcess, Option<TantivyFigures>)> {
    let in_process = in_process(users, sets);
    let sqlite = sqlite_alternative(users, sets, &scratch.path().join("fts5.db")).await?;
    print_alternative(&sqlite, &in_process);
    // The library alternative; its index directory is removed with the scratch folder.
    let tantivy = tantivy_alternative(users, sets, &scratch.path().join("tantivy"));
    let tantivy = match tantivy {
        Ok(figures) => {
            print_alternative(&figures.alternative(), &in_process);
            Some(figures)
        }
        Err(error) => {
            println!("\n== tantivy: failed: {error} ==");
            None
        }
    };
    let _ = std::fs::remove_dir_all(scratch.path().join("tantivy"));
    if let Some(server) = &options.postgres_url {
        let database = ScratchDatabase::create(server, "onramp_bench_search").await?;
        let postgres = postgres_alternative(&database.url(), users, sets).await;
        database.remove().await?;
        print_alternative(&postgres?, &in_process);
    } else {
        println!("\n== PostgreSQL pg_trgm: skipped (no --postgres-url / ONRAMP_BENCH_POSTGRES_URL) ==");
    }
    side_by_side(&in_process, tantivy.as_ref(), Some(&sqlite));
    Ok((in_process, tantivy))
}

fn describe_data(users: &[User], took: Duration) {
    let share = |f: &dyn Fn(&User) -> bool| 100.0 * users.iter().filter(|u| f(u)).count() as f64 / users.len() as f64;
    let roles: Vec<String> = ROLE_SHARES
        .iter()
        .map(|(role, _)| format!("{} {:.1} %", role.name(), share(&|u: &User| u.role_ids.contains(&role.id()))))
        .collect();
    println!("\n== data ==");
    println!(
        "users      {} generated and validated in {:.2} s; this process's VmRSS now {}",
        users.len(),
        took.as_secs_f64(),
        figures::resident_bytes().map_or("unknown".to_string(), |b| format!("{:.1} MiB", figures::mib(b as f64)))
    );
    println!("roles      {}", roles.join(", "));
    println!(
        "filters    disabled {:.1} %, service {:.1} %, agent {:.1} %, origin directory {:.1} %; {} departments, {} job titles",
        share(&|u: &User| u.status == UserStatus::Disabled),
        share(&|u: &User| u.user_type == UserType::Service),
        share(&|u: &User| u.user_type == UserType::Agent),
        share(&|u: &User| u.origin == UserOrigin::Directory),
        DEPARTMENTS.len(),
        JOB_TITLES.len(),
    );
    println!("filter shapes (filter-only and query+filters sets draw one each):");
    for (i, shape) in FILTER_SHAPES.iter().enumerate() {
        println!("  {i:>2}  {shape}");
    }
}
