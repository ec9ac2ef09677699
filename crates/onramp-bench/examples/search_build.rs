//! Builds the search index from `COUNT` synthetic users (default 200,000; seed 42, as `onramp-bench search`)
//! exactly as `onramp-bench search` times it, and nothing else: for instruction counts of the build alone,
//! which are the same from run to run where wall-clock times on a shared machine are not. With `snapshot`
//! after the count, it then writes the index's snapshot into memory and reads it back (`read_snapshot`), the
//! part of a restart that is the index's own.
//!
//! ```text
//! cargo build --release -p onramp-bench --example search_build
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='search_build::build' \
//!     target/release/examples/search_build 200000
//! target/release/examples/search_build 1000000 snapshot
//! ```

use std::time::Instant;

use onramp_bench::search::{build_index, users};
use onramp_domain::user::User;
use onramp_search::Index;

const MIB: f64 = 1024.0 * 1024.0;

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
        index.heap_bytes() as f64 / MIB
    );
    if std::env::args().nth(2).as_deref() == Some("snapshot") {
        drop(users);
        let built_report = index.heap_report();
        let started = Instant::now();
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes).map_err(|e| e.to_string())?;
        let wrote = started.elapsed();
        drop(index);
        let started = Instant::now();
        let (read, _) = read_snapshot(&bytes)?;
        let took = started.elapsed();
        println!(
            "snapshot {:.1} MiB written in {:.2} s, read back ({} users) in {:.3} s",
            bytes.len() as f64 / MIB,
            wrote.as_secs_f64(),
            read.len(),
            took.as_secs_f64()
        );
        println!("heap_bytes() by part, MiB: built / read back");
        for ((part, built), (_, read)) in built_report.iter().zip(read.heap_report()) {
            println!("  {part:<14} {:>9.1} {:>9.1}", *built as f64 / MIB, read as f64 / MIB);
        }
    }
    Ok(())
}

/// The snapshot read back, in a function of its own for perf and callgrind.
#[inline(never)]
fn read_snapshot(bytes: &[u8]) -> Result<(Index, u64), String> {
    Index::read_snapshot(&mut &bytes[..], bytes.len() as u64).map_err(|e| e.to_string())
}

/// The build as `onramp-bench search` times it (the entries made from the users inside the loop), in a
/// function of its own for callgrind's `--toggle-collect`.
#[inline(never)]
fn build(users: &[User]) -> Index {
    build_index(users)
}
