//! Builds the search index from `COUNT` synthetic users (default 200,000; seed 42, as `onramp-bench search`)
//! exactly as `onramp-bench search` times it, and nothing else: for instruction counts of the build alone,
//! which are the same from run to run where wall-clock times on a shared machine are not.
//!
//! ```text
//! cargo build --release -p onramp-bench --example search_build
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='search_build::build' \
//!     target/release/examples/search_build 200000
//! ```

use std::time::Instant;

use onramp_bench::search::{build_index, users};
use onramp_domain::user::User;
use onramp_search::Index;

fn main() -> Result<(), String> {
    let count = match std::env::args().nth(1) {
        Some(count) => count.parse::<usize>().map_err(|e| format!("COUNT: {e}"))?,
        None => 200_000,
    };
    let users = users(42, count)?;
    let started = Instant::now();
    let index = build(&users);
    let took = started.elapsed();
    println!(
        "{} users built in {:.2} s; heap_bytes() {:.1} MiB",
        index.len(),
        took.as_secs_f64(),
        index.heap_bytes() as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// The build as `onramp-bench search` times it (the entries made from the users inside the loop), in a
/// function of its own for callgrind's `--toggle-collect`.
#[inline(never)]
fn build(users: &[User]) -> Index {
    build_index(users)
}
