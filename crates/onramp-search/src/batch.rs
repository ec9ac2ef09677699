//! Gram postings added in batches during a bulk build (`Index::start_bulk` ... `finish_bulk`).
//!
//! Added one user at a time, each of a user's ~60 grams reaches its own posting somewhere in the heap: a cache
//! (and TLB) miss per gram, most of a build's time at millions of users. Users come in with increasing doc
//! numbers and share most of their grams with their neighbours (names, domains, the leading digits of
//! numbered emails), so a batch of a few thousand users has about twenty pairs (gram, user) for each distinct
//! gram. A batch gathers the pairs, numbering its grams as first seen (a small table that stays in cache),
//! then groups the users by gram (a counting sort: the users of each gram stay in increasing order) and adds
//! each gram's users to its posting in one go, one lookup and one trip to the posting per gram and batch.
//!
//! Each posting receives the same users in the same order as when added one by one, so it ends up the same,
//! to its capacity (see `Grams::flush` for when a batch must be applied first). Meanwhile the users whose
//! grams wait in the batch, a run of the last doc numbers, count as candidates of every gram (see
//! `Grams::part`): candidates are checked against the text, so searches answer the same.

use std::collections::HashMap;
use std::mem::size_of;

use crate::tables::GramHasherBuilder;

/// The most pairs a batch holds: 2 MiB of pairs, about 4,000 users of the bench.
#[cfg(not(test))]
const MAX_PAIRS: usize = 1 << 18;
/// The most distinct grams a batch holds: its numbering table then fills 32,768 slots (about half a MiB, in
/// cache); a batch of 4,000 users has about 13,000.
#[cfg(not(test))]
const MAX_GRAMS: usize = 28_672;
/// Tests use tiny batches, so that small builds apply many.
#[cfg(test)]
const MAX_PAIRS: usize = 200;
#[cfg(test)]
const MAX_GRAMS: usize = 100;

pub(crate) struct GramBatch {
    /// Gram → its number in this batch.
    numbers: HashMap<u64, u32, GramHasherBuilder>,
    /// The grams by number.
    grams: Vec<u64>,
    /// (gram number, user) as added: users in increasing order.
    pairs: Vec<(u32, u32)>,
    /// By gram number: its pairs, then where its users end in `users`.
    counts: Vec<u32>,
    /// By gram number: the last user added with it (to drop a user's repeats).
    last: Vec<u32>,
    /// The users grouped by gram.
    users: Vec<u32>,
    /// The first and last user with grams in the batch, when it has any.
    span: Option<(u32, u32)>,
}

impl GramBatch {
    /// An empty batch, with all the room it will ever use taken at once (so that no table grows and frees
    /// while the index grows around it).
    pub fn new() -> GramBatch {
        GramBatch {
            numbers: HashMap::with_capacity_and_hasher(MAX_GRAMS, GramHasherBuilder::default()),
            grams: Vec::with_capacity(MAX_GRAMS),
            pairs: Vec::with_capacity(MAX_PAIRS),
            counts: Vec::with_capacity(MAX_GRAMS),
            last: Vec::with_capacity(MAX_GRAMS),
            users: Vec::with_capacity(MAX_PAIRS),
            span: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Whether the grams of one more user (`grams` of them) fit.
    pub fn has_room(&self, grams: usize) -> bool {
        self.pairs.len() + grams <= MAX_PAIRS && self.grams.len() + grams <= MAX_GRAMS
    }

    /// The first and last user with grams waiting.
    pub fn span(&self) -> Option<(u32, u32)> {
        self.span
    }

    /// Adds user `doc`'s grams (in any order, repeats dropped), `doc` greater than every user in the batch.
    /// The caller checks [`GramBatch::has_room`] first.
    pub fn push(&mut self, grams: &[u64], doc: u32) {
        debug_assert!(self.span.is_none_or(|(_, last)| last < doc));
        for &gram in grams {
            let next = self.grams.len() as u32;
            let number = *self.numbers.entry(gram).or_insert(next);
            if number == next {
                self.grams.push(gram);
                self.counts.push(0);
                self.last.push(doc);
            } else if self.last[number as usize] == doc {
                continue;
            } else {
                self.last[number as usize] = doc;
            }
            self.counts[number as usize] += 1;
            self.pairs.push((number, doc));
        }
        if !grams.is_empty() {
            self.span = Some((self.span.map_or(doc, |(first, _)| first), doc));
        }
    }

    /// Calls `f` with each gram of the batch and its users (in increasing order), then empties the batch.
    pub fn drain(&mut self, mut f: impl FnMut(u64, &[u32])) {
        // Counts become where each gram's users start, then (once placed) where they end.
        let mut start = 0;
        for count in &mut self.counts {
            let n = *count;
            *count = start;
            start += n;
        }
        self.users.resize(self.pairs.len(), 0);
        for &(number, doc) in &self.pairs {
            let at = &mut self.counts[number as usize];
            self.users[*at as usize] = doc;
            *at += 1;
        }
        let mut from = 0;
        for (&gram, &end) in self.grams.iter().zip(&self.counts) {
            f(gram, &self.users[from..end as usize]);
            from = end as usize;
        }
        self.numbers.clear();
        self.grams.clear();
        self.pairs.clear();
        self.counts.clear();
        self.last.clear();
        self.users.clear();
        self.span = None;
    }

    pub fn heap_bytes(&self) -> usize {
        self.numbers.capacity() * (size_of::<(u64, u32)>() + 1)
            + self.grams.capacity() * 8
            + self.pairs.capacity() * 8
            + (self.counts.capacity() + self.last.capacity() + self.users.capacity()) * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_each_grams_users_in_order() {
        let mut batch = GramBatch::new();
        assert!(batch.is_empty() && batch.span().is_none());
        batch.push(&[7, 3, 9], 10);
        batch.push(&[], 11);
        batch.push(&[3, 8, 3], 12);
        batch.push(&[9, 3, 9, 7, 1, 7], 15);
        assert_eq!(batch.span(), Some((10, 15)));
        assert!(batch.has_room(MAX_GRAMS - 5) && !batch.has_room(MAX_GRAMS - 4));
        let mut seen = Vec::new();
        batch.drain(|gram, users| seen.push((gram, users.to_vec())));
        assert_eq!(seen, [(7, vec![10, 15]), (3, vec![10, 12, 15]), (9, vec![10, 15]), (8, vec![12]), (1, vec![15])]);
        assert!(batch.is_empty() && batch.span().is_none());
        batch.push(&[5], 20);
        let mut seen = Vec::new();
        batch.drain(|gram, users| seen.push((gram, users.to_vec())));
        assert_eq!(seen, [(5, vec![20])]);
    }
}
