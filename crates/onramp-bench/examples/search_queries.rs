//! Builds the search index from `COUNT` synthetic users (default 200,000; seed 42) as `onramp-bench search`
//! does, then answers one of its query sets (`substring`, `one-typo`, `filter-only` or `query+filters`;
//! default `one-typo`) `ROUNDS` times (default 5), printing each round's total: for A/Bs of query-time changes,
//! by the least of the rounds or, immune to a busy machine, by the instruction count of the queries alone.
//!
//! ```text
//! cargo build --release -p onramp-bench --example search_queries
//! target/release/examples/search_queries 1000000 one-typo 5
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='search_queries::answer' \
//!     target/release/examples/search_queries 200000 one-typo 1
//! ```

use std::time::Instant;

use onramp_bench::search::{PAGE_SIZE, Search, Sets, build_index, users};
use onramp_search::{Index, Query};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let count = match args.next() {
        Some(count) => count.parse::<usize>().map_err(|e| format!("COUNT: {e}"))?,
        None => 200_000,
    };
    let set_name = args.next().unwrap_or_else(|| "one-typo".into());
    let rounds = match args.next() {
        Some(rounds) => rounds.parse::<usize>().map_err(|e| format!("ROUNDS: {e}"))?,
        None => 5,
    };
    let users = users(42, count)?;
    let index = build_index(&users);
    let sets = Sets::generate(&users, 42);
    let queries: Vec<Query> = sets.named(&set_name)?.iter().map(Search::index_query).collect();
    for round in 0..rounds {
        let started = Instant::now();
        let hits = answer(&index, &queries);
        let took = started.elapsed();
        println!(
            "round {round}: {} {set_name} queries in {:.1} ms ({:.1} us each), {hits} hits",
            queries.len(),
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / queries.len() as f64
        );
    }
    Ok(())
}

/// Every query's first page; the hits found in all.
#[inline(never)]
fn answer(index: &Index, queries: &[Query]) -> usize {
    queries.iter().map(|query| index.search(query, None, PAGE_SIZE).map_or(0, |page| page.hits.len())).sum()
}
