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
//!
//! The grams of new users (computing them, batching and applying them, compacting) are about half of a build,
//! and touch nothing but the gram table. So `Index::upsert_all` lends the whole table to a second thread (a
//! [`GramThread`]) and hands it the new users' texts, a thousand at a time, while it goes on with their words,
//! records and filters. That thread makes the same calls on the table, in the same order, as one thread adding
//! the users one by one makes, so the table ends up the same; it comes home before anything else touches it
//! (a user's text changing), and at the end.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

use crate::grams::Grams;
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

/// New users' normalised texts, in the order they were added, for the thread that adds their grams.
#[derive(Default)]
struct Texts {
    text: String,
    /// Each user's doc number and where its text ends in `text`.
    users: Vec<(u32, u32)>,
}

impl Texts {
    /// Users handed over at a time: some 64 KiB of text (a few under test, so that buffers go back and forth).
    const USERS: usize = if cfg!(test) { 7 } else { 1024 };
}

/// The thread a gram table is lent to during a bulk build on two threads: it adds new users' grams to it.
pub(crate) struct GramThread {
    /// The users being gathered.
    filling: Box<Texts>,
    /// The second buffer, until it is first needed.
    spare: Option<Box<Texts>>,
    handed: SyncSender<Box<Texts>>,
    /// Buffers whose users were added, to be filled again (in a mutex only so that the index stays `Sync`).
    emptied: Mutex<Receiver<Box<Texts>>>,
    thread: JoinHandle<Grams>,
}

impl GramThread {
    pub fn start(mut grams: Grams) -> GramThread {
        let (handed, inbox) = sync_channel::<Box<Texts>>(1);
        let (give_back, emptied) = sync_channel(2);
        let thread = thread::Builder::new()
            .name("search-grams".into())
            .spawn(move || {
                let mut scratch = Vec::new();
                for mut texts in inbox {
                    let mut start = 0;
                    for &(doc, end) in &texts.users {
                        grams.add_new_user(&texts.text[start..end as usize], doc, &mut scratch);
                        start = end as usize;
                    }
                    texts.text.clear();
                    texts.users.clear();
                    // The other end is gone only when the build stopped (a panic): nothing to give back to.
                    let _ = give_back.send(texts);
                }
                grams
            })
            .expect("the operating system refused a thread");
        GramThread {
            filling: Box::default(),
            spare: Some(Box::default()),
            handed,
            emptied: Mutex::new(emptied),
            thread,
        }
    }

    /// Adds the new user `doc` (greater than every user added before) with its normalised text.
    pub fn add(&mut self, text: &str, doc: u32) {
        self.filling.text.push_str(text);
        self.filling.users.push((doc, self.filling.text.len() as u32));
        if self.filling.users.len() == Texts::USERS {
            let next = match self.spare.take() {
                Some(spare) => spare,
                None => {
                    let emptied = self.emptied.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
                    // The thread stopped (a panic, which `finish` passes on): a buffer to go on with until then.
                    emptied.recv().unwrap_or_default()
                }
            };
            let full = std::mem::replace(&mut self.filling, next);
            self.hand_over(full);
        }
    }

    fn hand_over(&self, texts: Box<Texts>) {
        // A send fails only when the thread stopped, which `finish` reports.
        let _ = self.handed.send(texts);
    }

    /// Waits until every user handed over is added, and takes the gram table back.
    pub fn finish(self) -> Grams {
        let GramThread { filling, handed, thread, .. } = self;
        if !filling.users.is_empty() {
            let _ = handed.send(filling);
        }
        drop(handed);
        match thread.join() {
            Ok(grams) => grams,
            Err(panic) => std::panic::resume_unwind(panic),
        }
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
