//! The tail of a query set, one query at a time: builds the search index from `COUNT` synthetic users (seed 42,
//! as `onramp-bench search`), times every query of `SET` (`substring`, `one-typo`, `filter-only` or
//! `query+filters`) by the least of three runs, prints the p50, p99, slowest and sum, then the `TOP` slowest
//! queries with their searches, and answers those `LOOPS` more times: long enough to attach a profiler to
//! the tail alone, which the benchmark's p99 row cannot show.
//!
//! ```text
//! cargo build --release -p onramp-bench --example search_slowest
//! target/release/examples/search_slowest 10000000 query+filters 30 0
//! target/release/examples/search_slowest 10000000 query+filters 30 100000 &
//! # once it prints the slowest queries:
//! perf record --call-graph dwarf -p "$(pgrep -f examples/search_slowest)" -- sleep 10
//! ```

use std::time::Instant;

use onramp_bench::search::{PAGE_SIZE, Search, Sets, build_index, users};
use onramp_search::Query;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |at: usize, name: &str, default: usize| match args.get(at) {
        Some(value) => value.parse::<usize>().map_err(|e| format!("{name}: {e}")),
        None => Ok(default),
    };
    let count = number(0, "COUNT", 1_000_000)?;
    let set_name = args.get(1).map_or("query+filters", String::as_str);
    let top = number(2, "TOP", 20)?;
    let loops = number(3, "LOOPS", 0)?;

    let users = users(42, count)?;
    let index = build_index(&users);
    let sets = Sets::generate(&users, 42);
    drop(users);
    let queries: Vec<(Query, &Search)> =
        sets.named(set_name)?.iter().map(|search| (search.index_query(), search)).collect();
    if queries.is_empty() {
        return Err(format!("the {set_name} set is empty at {count} users"));
    }

    // Milliseconds per query (the least of three runs), and the query's position.
    let mut times: Vec<(f64, usize)> = Vec::with_capacity(queries.len());
    for (at, (query, _)) in queries.iter().enumerate() {
        let mut least = f64::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            std::hint::black_box(index.search(query, None, PAGE_SIZE).map_err(|e| e.message)?);
            least = least.min(started.elapsed().as_secs_f64() * 1e3);
        }
        times.push((least, at));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = times.len();
    let sum: f64 = times.iter().map(|(ms, _)| ms).sum();
    println!(
        "{n} {set_name} queries at {count} users: p50 {:.3} ms, p99 {:.3} ms, slowest {:.3} ms, sum {sum:.1} ms",
        times[n / 2].0,
        times[(n * 99 / 100).min(n - 1)].0,
        times[n - 1].0
    );

    let slowest: Vec<(f64, usize)> = times.iter().rev().take(top).copied().collect();
    for (ms, at) in &slowest {
        let (query, search) = &queries[*at];
        let hits = index.search(query, None, PAGE_SIZE).map_err(|e| e.message)?.hits.len();
        println!("{ms:.3} ms, {hits} hits: {search:?}");
    }
    if loops > 0 {
        let started = Instant::now();
        for _ in 0..loops {
            for (_, at) in &slowest {
                std::hint::black_box(index.search(&queries[*at].0, None, PAGE_SIZE).map_err(|e| e.message)?);
            }
        }
        println!("the {} slowest {loops} times: {:.1} ms", slowest.len(), started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(())
}
