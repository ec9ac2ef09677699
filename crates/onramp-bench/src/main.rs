//! The `onramp-bench` command: onramp measured on synthetic users. See `onramp-bench --help`, and the
//! Performance section of the README for the figures and the command lines that made them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use onramp_bench::{accept_memory, console_users, import, invitations, scim, search, webhooks};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(name = "onramp-bench", version, about = "Measure onramp on synthetic data.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import synthetic users into a fresh SQLite database, and into a fresh PostgreSQL database on the
    /// server `--postgres-url` names (created and dropped by the run).
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, env = "ONRAMP_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// Import the users the search benchmark makes (a quarter with a role, some service accounts and
        /// directory users), whose role grants are written beside them.
        #[arg(long)]
        roles: bool,
        /// Run one backend alone (its rows of the summary only).
        #[arg(long, value_enum)]
        only: Option<import::Only>,
    },
    /// Search synthetic users: the in-process index (build time, memory, latency of substring, one-typo,
    /// filter-only and combined queries, typo recall) beside SQLite FTS5 and PostgreSQL pg_trgm on the same
    /// users and queries, then POST /api/v1/search/users on a real server under load.
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// PostgreSQL server for the pg_trgm comparison (a database is created and dropped by the run).
        #[arg(long, env = "ONRAMP_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// How long the HTTP load runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent keep-alive HTTP connections of the load generator.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Run one phase alone (its rows of the summary only): `index` (in process, with tantivy, FTS5 and
        /// pg_trgm beside it), `onramp` (the index alone, without them), `restart` or `http`.
        #[arg(long, value_enum)]
        only: Option<search::Phase>,
    },
    /// The admin console's user search as an admin types: GET /console/users for every prefix of sampled
    /// names (alone and with filters), serially on one connection, on a real server; p50/p99 per keystroke.
    ConsoleUsers {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Invitations through the real store on SQLite and PostgreSQL: create (each with its email queued),
    /// deliver the outbox with the file transport, accept; and the argon2id hash every acceptance pays.
    /// Then `count` creates over HTTP on the real server (SQLite), PASS/FAIL against 2,000/s.
    Invitations {
        #[arg(long, default_value_t = 5_000)]
        count: usize,
        #[arg(long, env = "ONRAMP_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// Concurrent keep-alive HTTP connections creating invitations.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// An identity provider's push: users created by POST /scim/v2/Users, one request each, over
    /// keep-alive connections to a real server on SQLite; users per second, PASS at 1,000 or more.
    Scim {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Concurrent keep-alive HTTP connections (an IdP pushes several requests at a time).
        #[arg(long, default_value_t = 8)]
        connections: usize,
    },
    /// What raising webhook events costs the writes that raise them: user creates and an import through
    /// the real store, on SQLite and PostgreSQL, for a tenant without a subscription, with one for other
    /// events, and with one for `user.created`.
    Webhooks {
        #[arg(long, default_value_t = 5_000)]
        count: usize,
        #[arg(long, env = "ONRAMP_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
    /// The server's peak memory under concurrent invitation acceptances: `onramp serve` in a child process,
    /// its resident memory when idle and its peak during the burst; fails over a rise of 150 MiB.
    AcceptMemory {
        #[arg(long, default_value_t = 100)]
        concurrent: usize,
        #[arg(long, env = "ONRAMP_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// The onramp binary to run (default: `onramp` beside this executable, e.g. target/release/onramp).
        #[arg(long)]
        server: Option<PathBuf>,
    },
}

/// Logs to standard error as `onramp serve` does by default (`info,sqlx=warn`, or `RUST_LOG`), so that a
/// server run in this process (the HTTP phase of `search`) pays for its logging as a real one does.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run(command: Command) -> onramp_bench::Result<()> {
    match command {
        Command::Import { count, seed, postgres_url, roles, only } => {
            import::run(count, seed, postgres_url.as_deref(), roles, only).await
        }
        Command::Search { count, seed, postgres_url, seconds, connections, only } => {
            search::run(search::Options { count, seed, postgres_url, seconds, connections, only }).await
        }
        Command::ConsoleUsers { count, seed } => console_users::run(count, seed).await,
        Command::Invitations { count, postgres_url, connections } => {
            invitations::run(count, postgres_url.as_deref(), connections).await
        }
        Command::Scim { count, connections } => scim::run(count, connections).await,
        Command::Webhooks { count, postgres_url } => webhooks::run(count, postgres_url.as_deref()).await,
        Command::AcceptMemory { concurrent, postgres_url, server } => {
            accept_memory::run(concurrent, postgres_url.as_deref(), server.as_deref()).await
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // Ctrl-C drops the run's future, and with it every guard the run holds: scratch folders and databases
    // are removed and child processes killed (see `onramp_bench::scratch` and `server_process`).
    let outcome = tokio::select! {
        outcome = run(cli.command) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onramp-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
