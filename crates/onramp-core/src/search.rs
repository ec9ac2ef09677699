//! The node's user search index: one `onramp_search::Index` per tenant, loaded from the database at
//! start-up and kept fresh from the change feed (`UserStore::users_changed_after`).
//!
//! Freshness: every write the core makes catches the index up before the use case returns (`Core::write`), so the next
//! search on this node sees the write; a background task (see `onramp::server`) catches up every
//! [`POLL_INTERVAL`] for writes made through other nodes and the command line. Catch-ups are serial (one
//! mutex around read-and-apply), so a newer version of a user is never overwritten by an older one. If a
//! catch-up fails, the next search catches up first, or fails with 503 rather than answer from a stale index.
//!
//! Restart: with a snapshot path, the index is read at start from the snapshot file (`snapshot.rs`) and
//! caught up from the feed position it reflects; [`SearchIndex::write_snapshot`] writes it (the server calls
//! it after start-up, every few minutes when the feed has moved, and at shutdown). A snapshot that cannot be
//! used is ignored with a warning and the index is rebuilt from the whole feed.
//!
//! Beside the index, a cache of at most [`VIEW_CACHE_BYTES`] holds the serialized `UserView` of users that
//! searches returned, so a page of results costs no database read; `/metrics` reports its hits and misses. It is exactly as fresh as the index: each catch-up drops the views
//! of the users it applies, and a view read from the database is cached only if no catch-up ran meanwhile.

pub mod snapshot;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use onramp_domain::Id;
use onramp_search::{Cursor, Entry, Index, Page, Query, QueryError};
use onramp_store::{FeedEntry, FeedPosition, Store, StoreError};

/// How often the background task reads the change feed; other nodes' writes show within this.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Users read from the feed per query.
const FEED_BATCH: u32 = 5_000;
/// The most the view cache holds, counting each view's text and what keeping it costs beside
/// ([`VIEW_OVERHEAD`]): about 100,000 views of the usual 500-700 bytes.
const VIEW_CACHE_BYTES: usize = 64 << 20;
/// What a cached view costs beyond its text: the map's slot (id, pointer, length) and the `Arc`'s counts.
const VIEW_OVERHEAD: usize = 64;

pub struct SearchIndex {
    store: Arc<dyn Store>,
    tenants: RwLock<HashMap<Id, Arc<RwLock<Index>>>>,
    /// The last feed position applied. Holding it is what makes catch-ups serial, and keeps the indexes and
    /// the position together while a snapshot is written.
    applied: Arc<tokio::sync::Mutex<FeedPosition>>,
    /// Where snapshots are read and written (None: never), this database's identity, and the position of the
    /// last snapshot read or written (held while one is written, so writes are serial).
    snapshot: Option<SnapshotFile>,
    /// How this node's index started.
    start: SnapshotStart,
    /// Set when a catch-up failed, so that the next search retries it before answering.
    stale: AtomicBool,
    /// Set during the first catch-up of `load`: the tenants' indexes made meanwhile are built in bulk
    /// (`Index::start_bulk`), which `load` ends once caught up.
    loading: AtomicBool,
    views: ViewCache,
    /// The position reached by the last catch-up that read the feed to its end, and when that catch-up
    /// began: every write committed before then is applied. Read by `/metrics` without waiting on `applied`.
    caught_up: Mutex<(FeedPosition, Option<Instant>)>,
}

struct SnapshotFile {
    path: PathBuf,
    database_id: String,
    written: Arc<tokio::sync::Mutex<Option<FeedPosition>>>,
}

/// How the index of a node started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotStart {
    /// No snapshot path: built from the feed.
    Off,
    /// No snapshot file yet: built from the feed.
    Missing,
    /// Read from a snapshot at `position` (then caught up from there), with `users` in it.
    Loaded { position: FeedPosition, users: usize },
    /// A snapshot was there but not used (and the index built from the feed).
    Ignored(snapshot::Ignored),
}

/// A snapshot written: where the feed was, its size, and how long the indexes were held for it.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotWritten {
    pub position: FeedPosition,
    pub bytes: u64,
    pub took: Duration,
}

/// Serialized `UserView`s by user id (see the module doc), at most `budget` bytes of them
/// ([`VIEW_CACHE_BYTES`] in a node).
pub struct ViewCache {
    views: Mutex<Views>,
    budget: usize,
    /// Counts catch-ups that dropped views; a view read before a drop may be older than the drop.
    epoch: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Views {
    by_id: HashMap<Id, Arc<str>>,
    /// The cost of `by_id`: each view's length and [`VIEW_OVERHEAD`].
    bytes: usize,
}

impl Views {
    /// What keeping `view` costs against the budget.
    fn cost(view: &str) -> usize {
        view.len() + VIEW_OVERHEAD
    }

    fn remove(&mut self, id: &Id) {
        if let Some(view) = self.by_id.remove(id) {
            self.bytes -= Views::cost(&view);
        }
    }
}

/// What the view cache holds and how it served: hits and misses count views asked for since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewCacheStats {
    pub views: usize,
    pub bytes: usize,
    pub hits: u64,
    pub misses: u64,
}

impl Default for ViewCache {
    fn default() -> Self {
        ViewCache::with_budget(VIEW_CACHE_BYTES)
    }
}

impl ViewCache {
    fn with_budget(budget: usize) -> Self {
        ViewCache {
            views: Mutex::default(),
            budget,
            epoch: AtomicU64::default(),
            hits: AtomicU64::default(),
            misses: AtomicU64::default(),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The cached views of `ids`, None where there is none.
    pub fn get(&self, ids: &[Id]) -> Vec<Option<Arc<str>>> {
        let found: Vec<Option<Arc<str>>> = {
            let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
            ids.iter().map(|id| views.by_id.get(id).cloned()).collect()
        };
        let hits = found.iter().filter(|view| view.is_some()).count() as u64;
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(ids.len() as u64 - hits, Ordering::Relaxed);
        found
    }

    /// Caches views read from the database when the epoch is still `epoch`, that is, when no catch-up has
    /// dropped views since the read began. When full, it first forgets an arbitrary eighth of its views, as
    /// many times as it takes to make room; a view larger than the whole budget is not kept.
    pub fn insert(&self, epoch: u64, read: impl IntoIterator<Item = (Id, Arc<str>)>) {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch() != epoch {
            return;
        }
        for (id, view) in read {
            let cost = Views::cost(&view);
            views.remove(&id);
            if cost > self.budget {
                continue;
            }
            while views.bytes + cost > self.budget {
                let Views { by_id, bytes } = &mut *views;
                // The first of every eight goes, so a round forgets at least one view even among few.
                let mut n = 0usize;
                by_id.retain(|_, view| {
                    let keep = !n.is_multiple_of(8);
                    n += 1;
                    if !keep {
                        *bytes -= Views::cost(view);
                    }
                    keep
                });
            }
            views.by_id.insert(id, view);
            views.bytes += cost;
        }
    }

    fn drop_views(&self, ids: impl Iterator<Item = Id>) {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            views.remove(&id);
        }
    }

    pub fn stats(&self) -> ViewCacheStats {
        let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        ViewCacheStats {
            views: views.by_id.len(),
            bytes: views.bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

impl SearchIndex {
    /// Builds the index from every user in the database, or (with a snapshot path) from the snapshot there
    /// and the users written since.
    pub async fn load(store: Arc<dyn Store>, snapshot_path: Option<PathBuf>) -> Result<Arc<Self>, StoreError> {
        let started = Instant::now();
        let mut tenants = HashMap::new();
        let mut applied = FeedPosition::START;
        let (snapshot, start) = match snapshot_path {
            None => (None, SnapshotStart::Off),
            Some(path) => {
                let leftovers = path.clone();
                match tokio::task::spawn_blocking(move || snapshot::remove_leftovers(&leftovers)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(removed)) => {
                        tracing::info!(removed, "removed temporary snapshot files left by a stopped write")
                    }
                    Ok(Err(error)) => tracing::warn!(%error, "could not remove temporary snapshot files"),
                    Err(join) => tracing::warn!(%join, "could not remove temporary snapshot files"),
                }
                let database_id = store.deployment_value(snapshot::DATABASE_ID_KEY, &Id::new().to_string()).await?;
                let head = store.feed_head().await?;
                let (read_path, read_id) = (path.clone(), database_id.clone());
                let read = tokio::task::spawn_blocking(move || snapshot::read(&read_path, &read_id, head))
                    .await
                    .map_err(|join| StoreError::Corrupt(format!("snapshot read failed: {join}")))?;
                let start = match read {
                    Ok(None) => SnapshotStart::Missing,
                    Ok(Some(loaded)) => {
                        applied = loaded.position;
                        let users = loaded.tenants.iter().map(|(_, index)| index.len()).sum();
                        for (tenant_id, index) in loaded.tenants {
                            tenants.insert(tenant_id, Arc::new(RwLock::new(index)));
                        }
                        tracing::info!(
                            path = %path.display(),
                            users,
                            feed_seq = applied.seq,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "search index read from its snapshot"
                        );
                        SnapshotStart::Loaded { position: applied, users }
                    }
                    Err(ignored) => {
                        tracing::warn!(path = %path.display(), %ignored, "search index snapshot ignored; rebuilding the index from the change feed");
                        SnapshotStart::Ignored(ignored)
                    }
                };
                let written = matches!(start, SnapshotStart::Loaded { .. }).then_some(applied);
                let file = SnapshotFile { path, database_id, written: Arc::new(tokio::sync::Mutex::new(written)) };
                (Some(file), start)
            }
        };
        let index = Arc::new(SearchIndex {
            store,
            tenants: RwLock::new(tenants),
            applied: Arc::new(tokio::sync::Mutex::new(applied)),
            snapshot,
            start,
            stale: AtomicBool::new(false),
            loading: AtomicBool::new(true),
            views: ViewCache::default(),
            caught_up: Mutex::new((FeedPosition::START, None)),
        });
        let users = index.catch_up().await?;
        index.loading.store(false, Ordering::Release);
        let tenants: Vec<Arc<RwLock<Index>>> =
            index.tenants.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for tenant in tenants {
            tenant.write().unwrap_or_else(|p| p.into_inner()).finish_bulk();
        }
        tracing::info!(users, elapsed_ms = started.elapsed().as_millis() as u64, "search index loaded");
        Ok(index)
    }

    /// How this node's index started.
    pub fn snapshot_start(&self) -> &SnapshotStart {
        &self.start
    }

    /// Writes a snapshot of every tenant's index, unless there is no snapshot path or the last snapshot read
    /// or written is at the position applied now (`Ok(None)`). Catch-ups wait while the indexes are written
    /// into the file (searches do not), not while it is then flushed to disk and put in place atomically.
    pub async fn write_snapshot(&self) -> Result<Option<SnapshotWritten>, std::io::Error> {
        let Some(file) = &self.snapshot else { return Ok(None) };
        let written = file.written.clone().lock_owned().await;
        let applied = self.applied.clone().lock_owned().await;
        if *written == Some(*applied) {
            return Ok(None);
        }
        let tenants: Vec<(Id, Arc<RwLock<Index>>)> = {
            let tenants = self.tenants.read().unwrap_or_else(|p| p.into_inner());
            let mut list: Vec<_> = tenants.iter().map(|(id, index)| (*id, index.clone())).collect();
            list.sort_by_key(|(id, _)| *id);
            list
        };
        let (path, database_id) = (file.path.clone(), file.database_id.clone());
        let started = Instant::now();
        // Both guards go with the work, so that a caller that stops waiting cannot let a catch-up or another
        // write in before it is done.
        let outcome = tokio::task::spawn_blocking(move || {
            let (mut written, applied) = (written, applied);
            let position = *applied;
            // Catch-ups may go on once the indexes are in the file; the flush to disk does not need them.
            let bytes = snapshot::write(&path, &database_id, position, &tenants, move || drop(applied))?;
            *written = Some(position);
            Ok::<_, std::io::Error>(SnapshotWritten { position, bytes, took: started.elapsed() })
        })
        .await
        .map_err(std::io::Error::other)??;
        tracing::info!(
            bytes = outcome.bytes,
            feed_seq = outcome.position.seq,
            elapsed_ms = outcome.took.as_millis() as u64,
            "search index snapshot written"
        );
        Ok(Some(outcome))
    }

    /// Applies every user written since the last catch-up; returns how many were applied. While one batch
    /// is applied, the next is read.
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        let mut position = self.applied.lock().await;
        let began = Instant::now();
        let mut applied = 0;
        let mut batch = self.store.index_entries_changed_after(*position, FEED_BATCH).await;
        loop {
            let entries = match batch {
                Ok(entries) => entries,
                Err(error) => {
                    self.stale.store(true, Ordering::Release);
                    return Err(error);
                }
            };
            let Some(last) = entries.last().map(|e| e.position) else { break };
            let full = entries.len() == FEED_BATCH as usize;
            let next = full.then(|| {
                let store = self.store.clone();
                tokio::spawn(async move { store.index_entries_changed_after(last, FEED_BATCH).await })
            });
            *position = last;
            applied += entries.len();
            self.apply(entries);
            let Some(next) = next else { break };
            batch = next.await.map_err(|join| StoreError::Corrupt(format!("feed read failed: {join}")))?;
        }
        self.stale.store(false, Ordering::Release);
        *self.caught_up.lock().unwrap_or_else(|p| p.into_inner()) = (*position, Some(began));
        Ok(applied)
    }

    /// Catches up after a write, logging rather than failing: the write itself succeeded, and the next
    /// search retries the catch-up before it answers.
    pub(crate) async fn catch_up_after_write(&self) {
        if let Err(error) = self.catch_up().await {
            tracing::warn!(%error, "search index catch-up after a write failed; the next search retries it");
        }
    }

    fn apply(&self, entries: Vec<FeedEntry>) {
        let mut by_tenant: HashMap<Id, Vec<Entry>> = HashMap::new();
        for FeedEntry { tenant_id, entry, .. } in entries {
            by_tenant.entry(tenant_id).or_default().push(entry);
        }
        // Views are dropped after the index has the new versions: a search between the two may show a
        // cached older view of a user the index already matches anew, never the reverse for longer.
        let changed: Vec<Id> = by_tenant.values().flatten().map(|entry| entry.id).collect();
        for (tenant_id, entries) in by_tenant {
            let index = self.tenant(&tenant_id, true).expect("created when asked to");
            let mut index = index.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            index.upsert_all(entries);
        }
        self.views.drop_views(changed.into_iter());
    }

    /// The cache of serialized user views.
    pub fn views(&self) -> &ViewCache {
        &self.views
    }

    fn tenant(&self, tenant_id: &Id, create: bool) -> Option<Arc<RwLock<Index>>> {
        if let Some(index) = self.tenants.read().unwrap_or_else(|p| p.into_inner()).get(tenant_id) {
            return Some(index.clone());
        }
        if !create {
            return None;
        }
        let mut tenants = self.tenants.write().unwrap_or_else(|p| p.into_inner());
        let index = tenants.entry(*tenant_id).or_insert_with(|| {
            let mut index = Index::new();
            if self.loading.load(Ordering::Acquire) {
                index.start_bulk();
            }
            Arc::new(RwLock::new(index))
        });
        Some(index.clone())
    }

    /// Searches one tenant's users; catches up first if the last catch-up failed.
    pub async fn search(
        &self,
        tenant_id: &Id,
        query: &Query,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Result<Page, QueryError>, StoreError> {
        if self.stale.load(Ordering::Acquire) {
            self.catch_up().await?;
        }
        // Every tenant has users from its creation on, so a tenant this node has not indexed yet was made
        // since its last catch-up (by another node or the command line): catch up now rather than answer
        // from nothing.
        let index = match self.tenant(tenant_id, false) {
            Some(index) => Some(index),
            None => {
                self.catch_up().await?;
                self.tenant(tenant_id, false)
            }
        };
        Ok(match index {
            Some(index) => index.read().unwrap_or_else(|p| p.into_inner()).search(query, after, limit),
            // Still none: the empty index answers (and validates the query) the same way.
            None => Index::new().search(query, after, limit),
        })
    }

    /// The feed position of the last complete catch-up and when it began (None before the first).
    pub fn caught_up(&self) -> (FeedPosition, Option<Instant>) {
        *self.caught_up.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Users indexed per tenant.
    pub fn tenant_sizes(&self) -> Vec<(Id, usize)> {
        let tenants = self.tenants.read().unwrap_or_else(|p| p.into_inner());
        tenants.iter().map(|(id, index)| (*id, index.read().unwrap_or_else(|p| p.into_inner()).len())).collect()
    }

    /// Users indexed, across tenants, and an estimate of the heap the indexes hold.
    pub fn stats(&self) -> (usize, usize) {
        let tenants = self.tenants.read().unwrap_or_else(|p| p.into_inner());
        tenants.values().fold((0, 0), |(users, bytes), index| {
            let index = index.read().unwrap_or_else(|p| p.into_inner());
            (users + index.len(), bytes + index.heap_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(byte: char, len: usize) -> Arc<str> {
        Arc::from(byte.to_string().repeat(len))
    }

    #[test]
    fn the_view_cache_counts_its_bytes_and_keeps_within_its_budget() {
        let cache = ViewCache::with_budget(100 * (100 + VIEW_OVERHEAD));
        let ids: Vec<Id> = (0..1_000).map(|_| Id::new()).collect();
        for chunk in ids.chunks(10) {
            cache.insert(cache.epoch(), chunk.iter().map(|id| (*id, view('a', 100))));
            let stats = cache.stats();
            assert!(stats.bytes <= 100 * (100 + VIEW_OVERHEAD), "{stats:?}");
            assert_eq!(stats.bytes, stats.views * (100 + VIEW_OVERHEAD), "{stats:?}");
        }
        let stats = cache.stats();
        assert!(stats.views > 80, "an eighth is forgotten at a time: {stats:?}");
        // Room is made before a view is put in, so the last one put in is there (which others were
        // forgotten depends on the map's order).
        assert!(cache.get(&ids[999..])[0].is_some());
        assert_eq!(cache.stats().hits, 1);

        // A view replaced by a longer one is counted once, at its new length.
        let id = ids[999];
        cache.insert(cache.epoch(), [(id, view('b', 300))]);
        let stats = cache.stats();
        assert_eq!(stats.bytes, (stats.views - 1) * (100 + VIEW_OVERHEAD) + 300 + VIEW_OVERHEAD, "{stats:?}");
        assert_eq!(cache.get(&[id])[0].as_deref(), Some("b".repeat(300).as_str()));

        // Dropped views give their bytes back; views read before a drop are not cached.
        let epoch = cache.epoch();
        cache.drop_views([id].into_iter());
        let after = cache.stats();
        assert_eq!((after.views, after.bytes), (stats.views - 1, stats.bytes - 300 - VIEW_OVERHEAD));
        cache.insert(epoch, [(id, view('c', 100))]);
        assert_eq!(cache.get(&[id]), vec![None]);
        assert_eq!(cache.stats().misses, 1);

        // A view larger than several eighths makes room for itself; one larger than the budget is not kept,
        // and the view it would have replaced is gone (it was older).
        let big = Id::new();
        cache.insert(cache.epoch(), [(big, view('d', 40 * (100 + VIEW_OVERHEAD)))]);
        assert!(cache.get(&[big])[0].is_some());
        let stats = cache.stats();
        assert!(stats.bytes <= 100 * (100 + VIEW_OVERHEAD), "{stats:?}");
        cache.insert(cache.epoch(), [(big, view('e', 100 * (100 + VIEW_OVERHEAD)))]);
        assert!(cache.get(&[big])[0].is_none());
        assert_eq!(cache.stats().bytes, stats.bytes - 40 * (100 + VIEW_OVERHEAD) - VIEW_OVERHEAD);

        // Among fewer than eight views, each round still forgets one.
        let few = ViewCache::with_budget(3 * 1000);
        for _ in 0..10 {
            few.insert(few.epoch(), [(Id::new(), view('f', 900))]);
            assert!(few.stats().bytes <= 3 * 1000, "{:?}", few.stats());
        }
        assert_eq!(few.stats().views, 3);
    }
}
