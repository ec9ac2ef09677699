//! Walking a candidate expression in id order, from a cursor, until the page is full.
//!
//! Doc numbers are split in blocks of 65,536 (a roaring container), and the expression is evaluated within
//! one block at a time, from the cursor's block on, so a page that fills early never looks at the rest. A
//! search's filters are evaluated once per block, for all of its ranks (`Filtered`).
//!
//! Within a block, chain users come in doc-number order, which is id order. A late user (inserted after a
//! user with a greater id) belongs just before its successor, the first chain user with a greater id, which
//! never changes (the chain only grows at the end, with greater ids). So late users are kept by the block of
//! their successor, and in (successor, id) order, which is id order; each block's late candidates are merged
//! in: sorted when few, else by walking that order and keeping the candidates.

use std::collections::HashMap;
use std::iter::Peekable;
use std::ops::Bound;

use onramp_domain::Id;
use roaring::RoaringBitmap;
use roaring::bitmap::IntoIter;

use crate::expr::Node;
use crate::index::Index;
use crate::{Hit, Rank};

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

/// A search's filters, evaluated block by block as the walks of its ranks need them, each block once.
pub(crate) struct Filtered<'f> {
    filter: Node<'f>,
    /// By block range: the chain users and the late users of the block that pass.
    blocks: HashMap<(u32, u32), (RoaringBitmap, RoaringBitmap)>,
}

impl<'f> Filtered<'f> {
    pub fn new(filter: Node<'f>) -> Self {
        Filtered { filter, blocks: HashMap::new() }
    }

    fn block(&mut self, index: &Index, from: u32, to: u32) -> &(RoaringBitmap, RoaringBitmap) {
        self.blocks.entry((from, to)).or_insert_with(|| {
            let mut block = RoaringBitmap::new();
            block.insert_range(from..=to);
            if !index.late.is_empty() {
                block -= &index.late;
            }
            let late = match index.late_by_block.get((from >> BLOCK_BITS) as usize) {
                Some(late) if !late.is_empty() => self.filter.eval(late),
                _ => RoaringBitmap::new(),
            };
            (self.filter.eval_owned(block), late)
        })
    }
}

/// The candidates after the cursor, in id order, one block at a time.
struct InIdOrder<'i, 'e, 'c> {
    index: &'i Index,
    filtered: &'c mut Filtered<'i>,
    expr: &'e Node<'e>,
    after: Option<Id>,
    /// The first chain doc number still to evaluate, if any.
    next: Option<u32>,
    chain: Peekable<IntoIter>,
    late: Late,
    late_next: Option<(Id, u32)>,
}

impl InIdOrder<'_, '_, '_> {
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

    /// Evaluates the next block; false when none is left.
    fn load_block(&mut self) -> bool {
        let Some(from) = self.next else { return false };
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
            match (self.chain.peek().copied(), self.late_next) {
                (Some(c), Some((late_id, late_doc))) => {
                    if self.id(c) < late_id {
                        return self.chain.next();
                    }
                    self.late_next = self.next_late();
                    return Some(late_doc);
                }
                (Some(_), None) => return self.chain.next(),
                (None, Some((_, late_doc))) => {
                    self.late_next = self.next_late();
                    return Some(late_doc);
                }
                (None, None) => {
                    if !self.load_block() {
                        return None;
                    }
                }
            }
        }
    }
}

impl Index {
    /// Pushes to `hits`, in id order after `after`, the users of `filtered` and `expr` that `accept` takes,
    /// until `hits` holds `want`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn walk<'i>(
        &'i self,
        filtered: &mut Filtered<'i>,
        expr: &Node<'_>,
        after: Option<Id>,
        rank: Rank,
        want: usize,
        hits: &mut Vec<Hit>,
        mut accept: impl FnMut(u32) -> bool,
    ) {
        if hits.len() >= want || expr.is_empty() {
            return;
        }
        // The first chain user after the cursor; every late user after the cursor has its successor there or
        // later, so starting there misses none.
        let next = match after {
            None => self.chain.first().copied(),
            Some(after) => self.chain.get(self.chain.partition_point(|&d| self.docs[d as usize].id <= after)).copied(),
        };
        let mut docs = InIdOrder {
            index: self,
            filtered,
            expr,
            after,
            next,
            chain: RoaringBitmap::new().into_iter().peekable(),
            late: Late::Sorted(Vec::new().into_iter()),
            late_next: None,
        };
        while hits.len() < want {
            let Some(doc) = docs.next() else { break };
            if accept(doc) {
                hits.push(Hit { id: self.docs[doc as usize].id, rank });
            }
        }
    }
}
