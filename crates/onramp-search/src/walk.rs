//! Walking a candidate expression in id order, from a cursor, until the page is full.
//!
//! Doc numbers are split in blocks of 65,536 (a roaring container), and the expression is evaluated within
//! one block at a time, from the cursor's block on, so a page that fills early never looks at the rest. A
//! search's filters are evaluated once per block, for all of its ranks (`Filtered`), and kept for the
//! searches after it with the same filters until the index changes ([`FilterCache`]).
//!
//! Within a block, chain users come in doc-number order, which is id order. A late user (inserted after a
//! user with a greater id) belongs just before its successor, the first chain user with a greater id, which
//! never changes (the chain only grows at the end, with greater ids). So late users are kept by the block of
//! their successor, and in (successor, id) order, which is id order; each block's late candidates are merged
//! in: sorted when few, else by walking that order and keeping the candidates.
//!
//! A long walk that has evaluated many blocks without filling its page (a rank that nearly no user of a block
//! meets, a selective filter: at ten million users, a walk through all 153 blocks) hands the far half of the
//! blocks left to a helper thread, which walks them with candidates and filters of its own, as the walk
//! would, while the walk goes on with the near half; its hits follow the walk's own when the near half does
//! not fill the page, and are dropped (and it is told to stop) when it does. A helper is only taken while the
//! node is otherwise idle (see [`Helper::take`]), and gives the rest of its blocks back to the walk as soon as
//! another search starts, so a node serving searches walks as it always did.

use std::collections::HashMap;
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use onramp_domain::Id;
use roaring::RoaringBitmap;
use roaring::bitmap::IntoIter;

use crate::expr::Node;
use crate::index::Index;
use crate::tables::bitmap_heap;
use crate::{Hit, Query, Rank};

/// Doc numbers in a block: one roaring container. Tests use tiny blocks, so that small indexes have many.
#[cfg(not(test))]
pub(crate) const BLOCK_BITS: u32 = 16;
#[cfg(test)]
pub(crate) const BLOCK_BITS: u32 = 3;

/// Up to this many late candidates in a block are sorted rather than found by walking the late order.
#[cfg(not(test))]
const SORT_LATE_UP_TO: u64 = 256;
#[cfg(test)]
const SORT_LATE_UP_TO: u64 = 2;

/// A walk that has evaluated this many blocks without filling its page may hand half of the rest to a helper...
#[cfg(not(test))]
const SPLIT_AFTER_BLOCKS: u32 = 16;
#[cfg(test)]
const SPLIT_AFTER_BLOCKS: u32 = 1;

/// ... when at least this many blocks are left. A helper costs a thread's start and join (13 us on a 2-core
/// test machine) and, when the walk fills its page alone, the far blocks it walked for nothing. So only long
/// walks split: at a million users (16 blocks) none does; at ten million (153) those that pass 16 blocks.
#[cfg(not(test))]
const SPLIT_FROM_BLOCKS: u32 = 32;
#[cfg(test)]
const SPLIT_FROM_BLOCKS: u32 = 2;

/// In tests, a helper gives its blocks back to the walk after this many (see `Index::walk_from`), so that
/// tests take that way too; otherwise only when another search starts.
#[cfg(test)]
const HELPER_GIVES_BACK_AFTER: u32 = 3;

const MIN_ID: Id = Id::from_bytes([0; 12]);
const MAX_ID: Id = Id::from_bytes([0xff; 12]);

/// A block's late candidates in id order.
enum Late {
    Sorted(std::vec::IntoIter<(Id, u32)>),
    /// Walking the late order from just after `from` up to `to`, keeping `candidates`.
    Walk {
        candidates: RoaringBitmap,
        from: Bound<(u32, Id)>,
        to: (u32, Id),
    },
}

/// The chain users and the late users of one block that pass a search's filters.
type Block = (RoaringBitmap, RoaringBitmap);

/// A search's filters, evaluated block by block as the walks of its ranks need them, each block once: into
/// the index's [`FilterCache`] when the search's filters have a place there, so that later searches with the
/// same filters read them, else for this search alone.
pub(crate) struct Filtered<'f> {
    /// The search whose filters these are.
    search: &'f Searching,
    /// Makes the filters' expression (again, for a helper thread: see the module doc).
    make: &'f (dyn Fn() -> Node<'f> + Sync),
    filter: Node<'f>,
    /// The whole blocks of these filters, shared with other searches.
    shared: Option<Arc<CachedFilter>>,
    /// Blocks for this search alone, by block range: every block without `shared`, else the part of a block
    /// a walk starts within.
    blocks: HashMap<(u32, u32), Block>,
}

impl<'f> Filtered<'f> {
    pub fn new(
        search: &'f Searching,
        make: &'f (dyn Fn() -> Node<'f> + Sync),
        shared: Option<Arc<CachedFilter>>,
    ) -> Self {
        Filtered { search, make, filter: make(), shared, blocks: HashMap::new() }
    }

    fn block(&mut self, index: &Index, from: u32, to: u32) -> &Block {
        let filter = &self.filter;
        let evaluate = || {
            let mut block = RoaringBitmap::new();
            block.insert_range(from..=to);
            if !index.late.is_empty() {
                block -= &index.late;
            }
            let late = match index.late_by_block.get((from >> BLOCK_BITS) as usize) {
                Some(late) if !late.is_empty() => filter.eval(late),
                _ => RoaringBitmap::new(),
            };
            (filter.eval_owned(block), late)
        };
        // A block's range is the same for every search of an unchanged index, from its first doc number.
        match &self.shared {
            Some(shared) if from & ((1 << BLOCK_BITS) - 1) == 0 => shared.blocks[(from >> BLOCK_BITS) as usize]
                .get_or_init(|| {
                    let block = evaluate();
                    shared.bytes.fetch_add(bitmap_heap(&block.0) + bitmap_heap(&block.1), Ordering::Relaxed);
                    block
                }),
            _ => self.blocks.entry((from, to)).or_insert_with(evaluate),
        }
    }
}

/// One search's filters, evaluated block by block by the searches that had them.
pub(crate) struct CachedFilter {
    blocks: Vec<OnceLock<Block>>,
    /// The heap it takes: its blocks' places and the evaluated blocks.
    bytes: AtomicUsize,
}

/// The filters of recent searches of an index, block by block as they were evaluated, so that a search whose
/// filters an earlier one had (the next page, the next keystroke of a search box, the same view opened again)
/// does not evaluate them again. It holds at most [`FilterCache::BYTES_PER_USER`] bytes a user (beyond the
/// blocks searches add while it is over: at most a bit a user each); the least recently used filters go
/// first. Any change to the index empties it (`Index::upsert`), so what it holds is always what evaluating
/// the filters would give.
#[derive(Default)]
pub(crate) struct FilterCache {
    filters: HashMap<Query, (Arc<CachedFilter>, u64)>,
    /// Counts lookups, for the least recently used.
    clock: u64,
}

impl FilterCache {
    /// The cache's size, in bytes a user of the index: a filter whose users are a block's bitmap takes a
    /// bit a user, so some 16 of those at least, and any number of selective ones.
    pub const BYTES_PER_USER: usize = 2;
    /// The most filters it holds, so that finding the least recently used stays cheap.
    const MAX_FILTERS: usize = 256;
    /// The fewest bytes it may hold, for small indexes (next to none under test, so that tests see it fill up).
    #[cfg(not(test))]
    const MIN_BYTES: usize = 1 << 20;
    #[cfg(test)]
    const MIN_BYTES: usize = 1;

    /// The place of `query`'s filters (text aside) in an index of `users` users, made if need be; none for
    /// a query whose filters name users one by one (`ids`, `excludeIds`, `email`).
    pub fn get(&mut self, query: &Query, users: usize) -> Option<Arc<CachedFilter>> {
        if query.ids.is_some() || !query.exclude_ids.is_empty() || query.email.is_some() {
            return None;
        }
        self.clock += 1;
        let key = Self::key(query);
        let clock = self.clock;
        let entry = self.filters.entry(key).or_insert_with(|| {
            let blocks: Vec<OnceLock<Block>> = (0..users.div_ceil(1 << BLOCK_BITS)).map(|_| OnceLock::new()).collect();
            let bytes = AtomicUsize::new(blocks.len() * size_of::<OnceLock<Block>>());
            (Arc::new(CachedFilter { blocks, bytes }), clock)
        });
        entry.1 = clock;
        let found = entry.0.clone();
        let budget = (users * Self::BYTES_PER_USER).max(Self::MIN_BYTES);
        while (self.filters.len() > Self::MAX_FILTERS || self.bytes() > budget) && self.filters.len() > 1 {
            let oldest = self.filters.iter().min_by_key(|(_, (_, used))| *used).map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.filters.remove(&oldest);
            }
        }
        Some(found)
    }

    /// `query`'s filters as the cache knows them: without its text (nor the filters it never keeps), and with
    /// each list of values (any of which a user may hold) sorted and without repeats, departments and job
    /// titles lowercased as their filters compare them; so queries whose filters differ only in how they are
    /// written share a place.
    fn key(query: &Query) -> Query {
        fn set<T: Ord + Clone>(values: &[T]) -> Vec<T> {
            let mut values = values.to_vec();
            values.sort_unstable();
            values.dedup();
            values
        }
        let lowercase = |values: &[String]| -> Vec<String> {
            set(&values.iter().map(|v| v.chars().flat_map(char::to_lowercase).collect()).collect::<Vec<String>>())
        };
        Query {
            role_ids: set(&query.role_ids),
            manager_ids: set(&query.manager_ids),
            departments: lowercase(&query.departments),
            job_titles: lowercase(&query.job_titles),
            statuses: set(&query.statuses),
            exclude_types: set(&query.exclude_types),
            origins: set(&query.origins),
            exclude_origins: set(&query.exclude_origins),
            source_app_ids: set(&query.source_app_ids),
            delegated_user_ids: set(&query.delegated_user_ids),
            has_delegate: query.has_delegate,
            is_delegate: query.is_delegate,
            ..Query::default()
        }
    }

    /// The heap its filters take.
    pub fn bytes(&self) -> usize {
        self.filters.values().map(|(filter, _)| filter.bytes.load(Ordering::Relaxed)).sum()
    }

    /// Empties it; costs nothing when it is empty already (every upsert of a build calls it).
    pub fn clear(&mut self) {
        if !self.filters.is_empty() {
            self.filters.clear();
        }
    }

    /// Whether it holds `query`'s filters.
    #[cfg(test)]
    pub fn holds(&self, query: &Query) -> bool {
        self.filters.contains_key(&Self::key(query))
    }
}

/// A rank's candidates and the check each of them must pass.
pub(crate) struct Candidates<'i> {
    pub expr: Node<'i>,
    pub accept: Box<dyn FnMut(u32) -> bool + 'i>,
}

/// Makes a rank's [`Candidates`], once for the walk and again for a helper thread.
pub(crate) type MakeCandidates<'i, 'm> = &'m (dyn Fn() -> Candidates<'i> + Sync);

/// The candidates after the cursor, in id order, one block at a time.
struct InIdOrder<'i, 'e, 'c> {
    index: &'i Index,
    filtered: &'c mut Filtered<'i>,
    expr: &'e Node<'e>,
    after: Option<Id>,
    /// The first chain doc number still to evaluate, if any.
    next: Option<u32>,
    /// Blocks from this doc number on are left to a helper (`u32::MAX` when there is none).
    until: u32,
    /// How many blocks have been evaluated.
    loaded: u32,
    chain: Peekable<IntoIter>,
    late: Late,
    late_next: Option<(Id, u32)>,
}

impl<'i, 'e, 'c> InIdOrder<'i, 'e, 'c> {
    fn new(
        index: &'i Index,
        filtered: &'c mut Filtered<'i>,
        expr: &'e Node<'e>,
        after: Option<Id>,
        next: Option<u32>,
    ) -> Self {
        InIdOrder {
            index,
            filtered,
            expr,
            after,
            next,
            until: u32::MAX,
            loaded: 0,
            chain: RoaringBitmap::new().into_iter().peekable(),
            late: Late::Sorted(Vec::new().into_iter()),
            late_next: None,
        }
    }

    fn id(&self, doc: u32) -> Id {
        self.index.docs[doc as usize].id
    }

    fn next_late(&mut self) -> Option<(Id, u32)> {
        match &mut self.late {
            Late::Sorted(sorted) => sorted.next(),
            Late::Walk { candidates, from, to } => {
                let found = self
                    .index
                    .late_order
                    .range((*from, Bound::Included(*to)))
                    .find(|(_, doc)| candidates.contains(**doc))
                    .map(|(key, doc)| (*key, *doc));
                *from = Bound::Excluded(found.map_or(*to, |(key, _)| key));
                found.map(|((_, id), doc)| (id, doc))
            }
        }
    }

    /// The next candidate of the blocks evaluated so far, if any is left.
    fn next_evaluated(&mut self) -> Option<u32> {
        match (self.chain.peek().copied(), self.late_next) {
            (Some(c), Some((late_id, late_doc))) => {
                if self.id(c) < late_id {
                    return self.chain.next();
                }
                self.late_next = self.next_late();
                Some(late_doc)
            }
            (Some(_), None) => self.chain.next(),
            (None, Some((_, late_doc))) => {
                self.late_next = self.next_late();
                Some(late_doc)
            }
            (None, None) => None,
        }
    }

    /// Evaluates the next block; false when none is left.
    fn load_block(&mut self) -> bool {
        let Some(from) = self.next.filter(|&from| from < self.until) else { return false };
        self.loaded += 1;
        let index = self.index;
        let last = index.docs.len() as u32 - 1;
        let to = (from | ((1 << BLOCK_BITS) - 1)).min(last);
        self.next = to.checked_add(1).filter(|&n| n <= last);
        let (chain, late) = self.filtered.block(index, from, to);
        self.chain = self.expr.eval(chain).into_iter().peekable();
        let candidates = self.expr.eval(late);
        self.late = if candidates.len() <= SORT_LATE_UP_TO {
            let mut sorted: Vec<(Id, u32)> = candidates
                .iter()
                .map(|d| (self.id(d), d))
                .filter(|(id, _)| self.after.is_none_or(|a| *id > a))
                .collect();
            sorted.sort_unstable();
            Late::Sorted(sorted.into_iter())
        } else {
            // Late users with earlier successors have ids below the cursor; of those with successor `from`,
            // the ones above it are wanted.
            let start = match self.after {
                Some(after) => Bound::Excluded((from, after)),
                None => Bound::Included((from, MIN_ID)),
            };
            Late::Walk { candidates, from: start, to: (to, MAX_ID) }
        };
        self.late_next = self.next_late();
        true
    }
}

impl Iterator for InIdOrder<'_, '_, '_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            if let Some(doc) = self.next_evaluated() {
                return Some(doc);
            }
            if !self.load_block() {
                return None;
            }
        }
    }
}

#[cfg(test)]
thread_local! {
    /// How many walks this thread has split with a helper: tests check that they take that way.
    pub(crate) static SPLITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many searches are running and helpers walking, in the whole process.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// How many searches have started, in the whole process.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// A search running: counted in [`BUSY`] until dropped, and numbered among the searches started.
pub(crate) struct Searching {
    number: u64,
}

impl Searching {
    pub fn start() -> Searching {
        BUSY.fetch_add(1, Ordering::AcqRel);
        Searching { number: STARTED.fetch_add(1, Ordering::AcqRel) }
    }

    /// Whether no other search has started since this one did.
    fn alone(&self) -> bool {
        STARTED.load(Ordering::Acquire) == self.number + 1
    }
}

impl Drop for Searching {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A helper's slot (see the module doc), counted in [`BUSY`] until dropped.
struct Helper;

impl Helper {
    /// A slot for `search`'s walk, taken only while the node is otherwise idle: no other search has started
    /// since this one did, and fewer searches and helpers run than there are cores. On a node serving
    /// searches, a helper would take a core from the others (a thread started for each split, and the far
    /// blocks walked for a page the near half fills) and slow them more than it speeds this one.
    fn take(search: &Searching) -> Option<Helper> {
        static CORES: OnceLock<usize> = OnceLock::new();
        // Tests run many searches at once on few cores: let each split, so that the tests take both ways.
        if !cfg!(test) && !search.alone() {
            return None;
        }
        let cores = if cfg!(test) {
            usize::MAX
        } else {
            *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        };
        BUSY.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < cores).then_some(n + 1)).ok().map(|_| Helper)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Index {
    /// Pushes to `hits`, in id order after `after`, the candidates `make` makes that pass `filtered` and their
    /// check, until `hits` holds `want`.
    pub(crate) fn walk<'i>(
        &'i self,
        filtered: &mut Filtered<'i>,
        make: MakeCandidates<'i, '_>,
        after: Option<Id>,
        rank: Rank,
        want: usize,
        hits: &mut Vec<Hit>,
    ) {
        if hits.len() >= want {
            return;
        }
        let Candidates { expr, mut accept } = make();
        if expr.is_empty() {
            return;
        }
        // The first chain user after the cursor; every late user after the cursor has its successor there or
        // later, so starting there misses none.
        let next = match after {
            None => self.chain.first().copied(),
            Some(after) => self.chain.get(self.chain.partition_point(|&d| self.docs[d as usize].id <= after)).copied(),
        };
        let mut docs = InIdOrder::new(self, filtered, &expr, after, next);
        // One loop, split at most once: the far half goes to a helper, and when the near half is walked the
        // walk takes the helper's hits and goes on with whatever blocks it gave back.
        let far_want = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let (mut far, mut split_yet) = (None, false);
            loop {
                while hits.len() < want
                    && let Some(doc) = docs.next_evaluated()
                {
                    if accept(doc) {
                        hits.push(Hit { id: self.docs[doc as usize].id, rank });
                    }
                }
                if hits.len() >= want {
                    break;
                }
                // Between two blocks: the place to hand half of the rest to a helper.
                if !split_yet
                    && docs.loaded >= SPLIT_AFTER_BLOCKS
                    && let Some((split, helper)) = self.split(docs.next, docs.filtered.search)
                {
                    let (search, make_filter) = (docs.filtered.search, docs.filtered.make);
                    let shared = docs.filtered.shared.clone();
                    // The far blocks' filters that earlier ranks evaluated go with the helper, and come back.
                    let far_blocks: HashMap<_, _> =
                        docs.filtered.blocks.extract_if(|&(from, _), _| from >= split).collect();
                    // How many hits the far half is to find: at first as many as the page still needs, and
                    // once the near half is walked, as many as it left to find.
                    far_want.store(want - hits.len(), Ordering::Relaxed);
                    let far_want = &far_want;
                    let spawned =
                        std::thread::Builder::new().name("search-walk".into()).spawn_scoped(scope, move || {
                            let _helper = helper;
                            let mut filtered = Filtered::new(search, make_filter, shared);
                            filtered.blocks = far_blocks;
                            let mut far_hits = Vec::new();
                            let rest = self.walk_from(&mut filtered, make, split, after, rank, far_want, &mut far_hits);
                            (far_hits, filtered.blocks, rest)
                        });
                    // Without a thread, the walk goes on alone.
                    split_yet = true;
                    if let Ok(handle) = spawned {
                        docs.until = split;
                        far = Some(handle);
                        #[cfg(test)]
                        SPLITS.with(|splits| splits.set(splits.get() + 1));
                    }
                }
                if docs.load_block() {
                    continue;
                }
                // The near half is walked (or the whole walk is): the helper's hits follow, then what it gave back.
                let Some(handle) = far.take() else { break };
                far_want.store(want - hits.len(), Ordering::Relaxed);
                let (far_hits, far_blocks, rest) =
                    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                let room = want - hits.len();
                hits.extend(far_hits.into_iter().take(room));
                docs.filtered.blocks.extend(far_blocks);
                (docs.next, docs.until) = (rest, u32::MAX);
            }
            // A page the near half filled: the helper is told to stop, and its filters are kept.
            if let Some(handle) = far {
                far_want.store(0, Ordering::Relaxed);
                let (_, far_blocks, _) = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                docs.filtered.blocks.extend(far_blocks);
            }
        });
    }

    /// Where to split a walk whose next block starts at `next`, and the helper to walk the far part: half of
    /// the blocks left, when there are enough of them and a helper is free.
    fn split(&self, next: Option<u32>, search: &Searching) -> Option<(u32, Helper)> {
        let (next, last) = (next?, u32::try_from(self.docs.len()).ok()?.checked_sub(1)?);
        let left = (last >> BLOCK_BITS) - (next >> BLOCK_BITS) + 1;
        if left < SPLIT_FROM_BLOCKS {
            return None;
        }
        let split = ((next >> BLOCK_BITS) + left / 2) << BLOCK_BITS;
        Helper::take(search).map(|helper| (split, helper))
    }

    /// A helper's walk (see the module doc): from the block starting at `from` to the end, as [`Index::walk`]
    /// would walk it, until `hits` holds `want` (which the walk may lower meanwhile). When another search
    /// starts, it stops between two blocks and returns where the walk is to go on once its near half is done.
    #[allow(clippy::too_many_arguments)]
    fn walk_from<'i>(
        &'i self,
        filtered: &mut Filtered<'i>,
        make: MakeCandidates<'i, '_>,
        from: u32,
        after: Option<Id>,
        rank: Rank,
        want: &AtomicUsize,
        hits: &mut Vec<Hit>,
    ) -> Option<u32> {
        let Candidates { expr, mut accept } = make();
        // The late users of these blocks all have ids above `after` (their chain predecessors are at or after
        // the walk's first chain user), so `after` only keeps the same rule as the walk's.
        #[cfg(not(test))]
        let search = filtered.search;
        let mut docs = InIdOrder::new(self, filtered, &expr, after, Some(from));
        // `want` is read again between blocks too: a block of no candidates yields no hit to stop at.
        loop {
            while hits.len() < want.load(Ordering::Relaxed)
                && let Some(doc) = docs.next_evaluated()
            {
                if accept(doc) {
                    hits.push(Hit { id: self.docs[doc as usize].id, rank });
                }
            }
            if hits.len() >= want.load(Ordering::Relaxed) {
                return None;
            }
            #[cfg(test)]
            let give_back = docs.loaded >= HELPER_GIVES_BACK_AFTER;
            #[cfg(not(test))]
            let give_back = !search.alone();
            if give_back {
                return docs.next;
            }
            if !docs.load_block() {
                return None;
            }
        }
    }
}
