//! The restart phase of `onramp-bench search`: the users imported into a fresh SQLite database, then the
//! node's search index (`onramp_core::search::SearchIndex`, as the server runs it) measured as a restart
//! meets it: (a) loaded from the change feed with no snapshot, (b) its snapshot written, (c) started from
//! the snapshot and caught up, to the first search answered. Beside it, the change feed read to its end
//! twice, decoding whole users (`users_changed_after`, the read the index used to load from) and only what
//! the index takes (`index_entries_changed_after`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use onramp_core::search::{SearchIndex, SnapshotStart};
use onramp_search::Query;
use onramp_store::{FeedPosition, Store};

use super::figures::{mib, resident_bytes};
use crate::Result;
use crate::server_process::SeededServer;

/// Users per feed read, as the index reads them.
const BATCH: u32 = 5_000;

/// Runs the phase in `dir` (made, and left to the caller to remove); returns the time from the start of
/// the node's index, from its snapshot, to the first search answered.
pub(super) async fn restart(count: usize, seed: u64, dir: PathBuf) -> Result<Duration> {
    println!("\n== restart: the node's index from the change feed and from its snapshot, SQLite ==");
    let seeded = SeededServer::prepare(dir.clone(), count, seed).await?;
    let (store, tenant_id) = (seeded.store.clone(), seeded.tenant_id);
    println!("import     {count} users in {:.1} s", seeded.import.as_secs_f64());

    let (full, full_users) = read_feed(&*store, false).await?;
    let (lean, lean_users) = read_feed(&*store, true).await?;
    println!(
        "feed read  whole users {:.2} s ({:.0} users/s); index entries {:.2} s ({:.0} users/s): x{:.1}",
        full.as_secs_f64(),
        full_users as f64 / full.as_secs_f64(),
        lean.as_secs_f64(),
        lean_users as f64 / lean.as_secs_f64(),
        full.as_secs_f64() / lean.as_secs_f64()
    );

    let path = dir.join("search-index.snapshot");
    let _ = std::fs::remove_file(&path);
    let started = Instant::now();
    let index = SearchIndex::load(store.clone(), Some(path.clone())).await?;
    let from_feed = started.elapsed();
    if *index.snapshot_start() != SnapshotStart::Missing {
        return Err(format!("a snapshot was there before the first load: {:?}", index.snapshot_start()).into());
    }
    println!("(a) load   from the change feed, no snapshot: {:.2} s", from_feed.as_secs_f64());

    let written = index.write_snapshot().await?.ok_or("no snapshot written")?;
    println!(
        "(b) write  snapshot {:.1} MiB ({:.0} bytes/user) in {:.2} s",
        mib(written.bytes as f64),
        written.bytes as f64 / count.max(1) as f64,
        written.took.as_secs_f64()
    );
    drop(index);

    let before = resident_bytes();
    let started = Instant::now();
    let index = SearchIndex::load(store.clone(), Some(path)).await?;
    let query = Query { text: Some("smith".into()), ..Query::default() };
    let page = index.search(&tenant_id, &query, None, 50).await?.map_err(|e| e.message)?;
    let to_serving = started.elapsed();
    let after = resident_bytes();
    let SnapshotStart::Loaded { users, .. } = index.snapshot_start() else {
        return Err(format!("the snapshot was not read: {:?}", index.snapshot_start()).into());
    };
    if page.hits.is_empty() {
        return Err("the first search after the restart found nobody".into());
    }
    println!(
        "(c) start  from the snapshot ({users} users) + catch-up + first search ({} hits): {:.3} s",
        page.hits.len(),
        to_serving.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (before, after) {
        let (users, bytes) = index.stats();
        println!(
            "memory     resident +{:.1} MiB after the start from the snapshot; heap_bytes() {:.1} MiB ({:.0} bytes/user)",
            mib(after.saturating_sub(before) as f64),
            mib(bytes as f64),
            bytes as f64 / users.max(1) as f64
        );
    }
    drop(index);
    drop(store);
    drop(seeded);
    Ok(to_serving)
}

/// Reads the whole feed in batches, decoding whole users or index entries only; returns the time and count.
async fn read_feed(store: &dyn Store, lean: bool) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let (mut after, mut users) = (FeedPosition::START, 0);
    loop {
        let last = if lean {
            let batch = store.index_entries_changed_after(after, BATCH).await?;
            users += batch.len();
            batch.last().map(|e| e.position)
        } else {
            let batch = store.users_changed_after(after, BATCH).await?;
            users += batch.len();
            batch.last().map(|(position, _)| *position)
        };
        match last {
            Some(last) => after = last,
            None => return Ok((started.elapsed(), users)),
        }
    }
}
