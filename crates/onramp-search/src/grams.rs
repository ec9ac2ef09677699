//! The n-gram postings: which users' fields contain which 4-grams, and which words start with which
//! characters. They give candidate sets that are verified exactly against the stored text.
//!
//! Every position of a field but the last starts one 4-gram; past the field's end the gram is padded with
//! `END`, so every substring of two or three characters is the beginning of some gram and a range of keys
//! finds it exactly. Longer substrings intersect their 4-grams (a superset: the order is checked later).
//! 4-grams rather than trigrams: a misspelt word's grams rarely all appear elsewhere in the same user (with
//! trigrams, `williamp` matched every William through the `amp` of `example`, and each had to be verified).
//!
//! Word-start grams, each exact for the prefixes of a length: `WS1` + the first character of a word, by key;
//! `WS2` + the first two characters of a word (`END` for the second of a one-character word), by key; and
//! `WS4` + the first four characters of a word of three or more (`END` for the fourth of a three-character
//! word), for three-character prefixes by range and for four by key, and for longer prefixes it keeps the
//! other grams from coming only from the middle of a word (`bara` is not a prefix of `barbara`). Short
//! words are common in queries that span words (`es Ma`, `rt J`): a two-character prefix as a range of
//! `WS4` keys was the union of hundreds of postings in every block a search walked, and a one-character
//! prefix as a range of `WS2` keys the union of dozens; one posting each is a few times faster on those
//! queries, for about 3 % more index (measured in ARCHITECTURE.md).
//!
//! A key is a 4-bit kind and four 15-bit character codes: ASCII as itself, others numbered as first seen
//! (all of them after 32,639 distinct ones share the last code, which only widens candidate sets). Code 0
//! (`END`) is never text, as normalised text has no control characters.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::mem::size_of;
use std::ops::RangeInclusive;

use roaring::RoaringBitmap;

use crate::batch::GramBatch;
use crate::expr::Node;
use crate::normalize::is_word_char;
use crate::snapshot::{In, Out, invalid};
use crate::sparse::SparseList;
use crate::tables::{GramHasherBuilder, bitmap_heap};
use crate::text::fields;

type Code = u16;

const END: Code = 0;
const FIRST_OTHER: u32 = 128;
const SHARED: Code = 0x7fff;

/// Kinds of key.
const TEXT: u64 = 0;
const WS4: u64 = 1;
const WS1: u64 = 2;
const WS2: u64 = 3;

#[inline]
fn key(kind: u64, a: Code, b: Code, c: Code, d: Code) -> u64 {
    (kind << 60) | (u64::from(a) << 45) | (u64::from(b) << 30) | (u64::from(c) << 15) | u64::from(d)
}

/// The keys of `kind` whose codes start with `prefix`.
fn range(kind: u64, prefix: &[Code]) -> RangeInclusive<u64> {
    let at = |i: usize, fill: Code| prefix.get(i).copied().unwrap_or(fill);
    key(kind, at(0, 0), at(1, 0), at(2, 0), at(3, 0))
        ..=key(kind, at(0, SHARED), at(1, SHARED), at(2, SHARED), at(3, SHARED))
}

/// Characters → 15-bit codes.
#[derive(Default)]
pub(crate) struct CharCodes {
    others: HashMap<char, u16>,
}

impl CharCodes {
    fn code_or_insert(&mut self, c: char) -> u16 {
        if c.is_ascii() {
            return c as u16;
        }
        let next = FIRST_OTHER + self.others.len() as u32;
        if next >= u32::from(SHARED) {
            return self.others.get(&c).copied().unwrap_or(SHARED);
        }
        *self.others.entry(c).or_insert(next as u16)
    }

    /// The code of `c`, or `None` when no indexed text has it.
    pub fn code(&self, c: char) -> Option<u16> {
        if c.is_ascii() {
            return Some(c as u16);
        }
        match self.others.get(&c) {
            Some(&code) => Some(code),
            None if FIRST_OTHER + self.others.len() as u32 >= u32::from(SHARED) => Some(SHARED),
            None => None,
        }
    }

    /// The codes of `text`, or `None` when some character is in no indexed text.
    pub fn codes(&self, text: &[char]) -> Option<Vec<u16>> {
        text.iter().map(|&c| self.code(c)).collect()
    }
}

/// One part of a candidate set: a gram's posting, or the union of the postings of a range of grams.
pub(crate) enum Part {
    Key(u64),
    Range(RangeInclusive<u64>),
}

/// The parts whose intersection holds every user with `query` (coded) as a substring of a field.
pub(crate) fn substring_parts(query: &[u16]) -> Vec<Part> {
    match query.len() {
        0 | 1 => Vec::new(),
        2 | 3 => vec![Part::Range(range(TEXT, query))],
        _ => query.windows(4).map(|w| Part::Key(key(TEXT, w[0], w[1], w[2], w[3]))).collect(),
    }
}

/// The parts whose intersection holds every user with a word starting with `word` (coded; exact up to four
/// characters).
pub(crate) fn prefix_parts(word: &[Code]) -> Vec<Part> {
    match word {
        [] => Vec::new(),
        [a] => vec![Part::Key(key(WS1, *a, 0, 0, 0))],
        [a, b] => vec![Part::Key(key(WS2, *a, *b, 0, 0))],
        [_, _, _] => vec![Part::Range(range(WS4, word))],
        [a, b, c, d, rest @ ..] => {
            let mut parts = vec![Part::Key(key(WS4, *a, *b, *c, *d))];
            if !rest.is_empty() {
                parts.extend(word[1..].windows(4).map(|w| Part::Key(key(TEXT, w[0], w[1], w[2], w[3]))));
            }
            parts
        }
    }
}

/// One gram's users: a sparse list (see `sparse.rs`) while every block of it is sparse, a bitmap once one is
/// not.
pub(crate) enum GramPosting {
    List(SparseList),
    Bitmap(RoaringBitmap),
}

impl Default for GramPosting {
    fn default() -> Self {
        GramPosting::List(SparseList::default())
    }
}

impl GramPosting {
    /// Adds `docs` (in increasing order), as adding each in turn would: a list that one of them would make too
    /// dense becomes a bitmap, and takes that one and the rest.
    fn add_run(&mut self, docs: &[u32]) {
        match self {
            GramPosting::List(list) => {
                if let Err(refused) = list.insert_run(docs) {
                    let mut bitmap = list.to_bitmap();
                    bitmap.extend(docs[refused..].iter().copied());
                    *self = GramPosting::Bitmap(bitmap);
                }
            }
            // Inserts each in turn, looking its container up once for all those of the same one.
            GramPosting::Bitmap(bitmap) => bitmap.extend(docs.iter().copied()),
        }
    }

    fn remove(&mut self, doc: u32) {
        match self {
            GramPosting::List(list) => list.remove(doc),
            GramPosting::Bitmap(bitmap) => {
                bitmap.remove(doc);
            }
        }
    }

    fn node(&self) -> Node<'_> {
        match self {
            GramPosting::List(list) => Node::list(list),
            GramPosting::Bitmap(bitmap) => Node::Set(bitmap),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            GramPosting::List(list) if list.heap_bytes() == 0 => 0,
            // With the allocator's overhead.
            GramPosting::List(list) => list.heap_bytes() + 16,
            GramPosting::Bitmap(bitmap) => bitmap_heap(bitmap),
        }
    }
}

/// Gram → users.
#[derive(Default)]
pub(crate) struct Grams {
    postings: HashMap<u64, GramPosting, GramHasherBuilder>,
    /// Every key, in order, for the range parts.
    keys: BTreeSet<u64>,
    pub codes: CharCodes,
    scratch: Vec<(u16, bool)>,
    /// Users indexed when the postings were last compacted.
    compacted_at: u32,
    /// During a bulk build, the grams of the last users, not yet in their postings (see `batch.rs`).
    batch: Option<Box<GramBatch>>,
}

impl Grams {
    /// The sorted, distinct grams of a user's fields.
    pub fn of_fields<'a>(&mut self, fields: impl Iterator<Item = &'a str>, out: &mut Vec<u64>) {
        self.of_fields_unsorted(fields, out);
        out.sort_unstable();
        out.dedup();
    }

    /// The grams of a user's fields, in no order and with repeats.
    pub fn of_fields_unsorted<'a>(&mut self, fields: impl Iterator<Item = &'a str>, out: &mut Vec<u64>) {
        out.clear();
        for field in fields {
            self.scratch.clear();
            for c in field.chars() {
                let code = self.codes.code_or_insert(c);
                self.scratch.push((code, is_word_char(c)));
            }
            let s = &self.scratch[..];
            let at = |i: usize| s.get(i).map_or(END, |x| x.0);
            for i in 0..s.len() {
                if i + 1 < s.len() {
                    out.push(key(TEXT, s[i].0, s[i + 1].0, at(i + 2), at(i + 3)));
                }
                if s[i].1 && (i == 0 || !s[i - 1].1) {
                    // The code at `j` while the word lasts, `END` after it.
                    let in_word = |j: usize| s.get(j).filter(|x| x.1).map_or(END, |x| x.0);
                    let (second, third) = (in_word(i + 1), in_word(i + 2));
                    out.push(key(WS1, s[i].0, 0, 0, 0));
                    out.push(key(WS2, s[i].0, second, 0, 0));
                    if second != END && third != END {
                        out.push(key(WS4, s[i].0, second, third, in_word(i + 3)));
                    }
                }
            }
        }
    }

    /// Adds `doc` to the posting of `gram`. During a bulk build, first apply the batch ([`Grams::flush`]).
    pub fn add(&mut self, gram: u64, doc: u32) {
        self.add_run(gram, &[doc]);
    }

    /// Adds `docs` (in increasing order), one after another, to the posting of `gram`.
    fn add_run(&mut self, gram: u64, docs: &[u32]) {
        let keys = &mut self.keys;
        let posting = self.postings.entry(gram).or_insert_with(|| {
            keys.insert(gram);
            GramPosting::default()
        });
        posting.add_run(docs);
    }

    /// Adds the new user `doc` (greater than every indexed user) to the postings of its `grams` (in any order,
    /// repeats allowed): during a bulk build into the batch, applied when full; otherwise (or when a batch
    /// could not hold them) at once, each posting once.
    pub fn add_new(&mut self, grams: &mut Vec<u64>, doc: u32) {
        if self.batch.as_ref().is_some_and(|batch| !batch.has_room(grams.len())) {
            self.flush();
        }
        if let Some(batch) = self.batch.as_mut().filter(|batch| batch.has_room(grams.len())) {
            batch.push(grams, doc);
            return;
        }
        grams.sort_unstable();
        grams.dedup();
        for &gram in grams.iter() {
            self.add(gram, doc);
        }
    }

    /// Adds the new user `doc` with its normalised text: its grams, then a compaction when one is due. Every
    /// new user's grams come this way, on whichever thread holds the table (see `batch.rs`).
    pub fn add_new_user(&mut self, text: &str, doc: u32, scratch: &mut Vec<u64>) {
        self.of_fields_unsorted(fields(text), scratch);
        self.add_new(scratch, doc);
        self.maybe_compact(doc + 1);
    }

    /// Starts gathering new users' grams in a batch (see `batch.rs`), until [`Grams::stop_batching`].
    pub fn start_batching(&mut self) {
        if self.batch.is_none() {
            self.batch = Some(Box::new(GramBatch::new()));
        }
    }

    /// Applies the batch and gives its memory back.
    pub fn stop_batching(&mut self) {
        self.flush();
        self.batch = None;
    }

    /// Adds the users waiting in the batch to their postings. Before any other change to the postings (an
    /// upsert that changes a user's text, a compaction), so that every posting sees the changes in the order
    /// upserts one by one make them, and ends up the same.
    pub fn flush(&mut self) {
        let Some(mut batch) = self.batch.take() else { return };
        if !batch.is_empty() {
            batch.drain(|gram, docs| self.add_run(gram, docs));
        }
        self.batch = Some(batch);
    }

    /// Whether new users' grams are batched (between `start_batching` and `stop_batching`).
    pub fn batching(&self) -> bool {
        self.batch.is_some()
    }

    /// Whether users' grams wait in a batch.
    pub fn pending(&self) -> bool {
        self.batch.as_ref().is_some_and(|batch| !batch.is_empty())
    }

    pub fn remove(&mut self, gram: u64, doc: u32) {
        if let Some(posting) = self.postings.get_mut(&gram) {
            posting.remove(doc);
        }
    }

    /// The users in `part`; during a bulk build, with every user whose grams wait in the batch (a superset:
    /// candidates are checked).
    pub fn part(&self, part: &Part) -> Node<'_> {
        let node = self.posted_part(part);
        match self.batch.as_ref().and_then(|batch| batch.span()) {
            Some((first, last)) => {
                let mut waiting = RoaringBitmap::new();
                waiting.insert_range(first..=last);
                Node::Or(vec![node, Node::Owned(waiting)])
            }
            None => node,
        }
    }

    /// The users in `part`'s postings.
    fn posted_part(&self, part: &Part) -> Node<'_> {
        match part {
            Part::Key(k) => self.postings.get(k).map_or_else(Node::empty, GramPosting::node),
            Part::Range(r) => {
                let mut members: Vec<Node<'_>> =
                    self.keys.range(r.clone()).filter_map(|k| self.postings.get(k)).map(GramPosting::node).collect();
                if members.len() == 1 { members.pop().unwrap_or_else(Node::empty) } else { Node::Or(members) }
            }
        }
    }

    /// The users in every one of `parts`.
    pub fn parts(&self, parts: &[Part]) -> Node<'_> {
        Node::And(parts.iter().map(|p| self.part(p)).collect())
    }

    /// Gives lists and array containers back the capacity their growth left unused, once the index has grown by
    /// a quarter since the last time (so the work stays proportional to the insertions).
    pub fn maybe_compact(&mut self, users: u32) {
        // From 65,536 users (1,024 under test, so that tests compact too).
        let first = if cfg!(test) { 1 << 10 } else { 1 << 16 };
        if users < first || users < self.compacted_at.saturating_add(self.compacted_at / 4) {
            return;
        }
        self.flush();
        self.compact();
        self.compacted_at = users;
    }

    /// Gives lists and array containers back the capacity their growth left unused.
    pub fn compact(&mut self) {
        for posting in self.postings.values_mut() {
            match posting {
                GramPosting::List(list) => list.shrink_to_fit(),
                GramPosting::Bitmap(bitmap) => *bitmap = bitmap.clone(),
            }
        }
        self.postings.shrink_to_fit();
    }

    pub fn heap_bytes(&self) -> (usize, usize) {
        let table = self.postings.capacity() * (8 + size_of::<GramPosting>() + 1)
            + self.keys.len() * 12
            + self.codes.others.capacity() * 8
            + self.scratch.capacity() * 4
            + self.batch.as_ref().map_or(0, |batch| batch.heap_bytes());
        (table, self.postings.values().map(GramPosting::heap_bytes).sum())
    }
}

impl Grams {
    /// Writes the postings (in key order, each a list or a bitmap) and the character codes.
    pub(crate) fn write_snapshot(&self, out: &mut Out<'_>) -> io::Result<()> {
        if self.pending() {
            return Err(io::Error::other("a snapshot of an index in the middle of a bulk build"));
        }
        let mut others: Vec<(char, u16)> = self.codes.others.iter().map(|(c, code)| (*c, *code)).collect();
        others.sort_unstable();
        out.len(others.len())?;
        for (c, code) in others {
            out.u32(c as u32)?;
            out.u16(code)?;
        }
        out.u32(self.compacted_at)?;
        out.len(self.keys.len())?;
        for key in &self.keys {
            let posting = &self.postings[key];
            out.u64(*key)?;
            match posting {
                GramPosting::List(list) => {
                    out.u8(0)?;
                    out.blob(list.bytes())?;
                }
                GramPosting::Bitmap(bitmap) => {
                    out.u8(1)?;
                    out.bitmap(bitmap)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn read_snapshot(input: &mut In<'_>) -> io::Result<Grams> {
        let mut codes = CharCodes::default();
        let n = input.len(6)?;
        codes.others.reserve(n);
        for _ in 0..n {
            let c = char::from_u32(input.u32()?).ok_or_else(|| invalid("a character code that is no character"))?;
            codes.others.insert(c, input.u16()?);
        }
        let compacted_at = input.u32()?;
        // A key, its kind and an empty list take at least 8 + 1 + 8.
        let n = input.len(17)?;
        let mut postings = HashMap::with_capacity_and_hasher(n, GramHasherBuilder::default());
        let mut keys = Vec::with_capacity(n);
        for _ in 0..n {
            let key = input.u64()?;
            let posting = match input.u8()? {
                0 => GramPosting::List(SparseList::from_bytes(input.blob()?)?),
                1 => GramPosting::Bitmap(input.bitmap()?),
                _ => return Err(invalid("a gram posting of no known kind")),
            };
            if keys.last().is_some_and(|&last| last >= key) {
                return Err(invalid("gram keys out of order"));
            }
            keys.push(key);
            postings.insert(key, posting);
        }
        Ok(Grams { postings, keys: keys.into_iter().collect(), codes, scratch: Vec::new(), compacted_at, batch: None })
    }

    /// Whether two gram tables hold the same postings and codes.
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &Grams) -> bool {
        self.keys == other.keys
            && self.codes.others == other.codes.others
            && self.compacted_at == other.compacted_at
            && self.postings.iter().all(|(key, p)| {
                other.postings.get(key).is_some_and(|q| match (p, q) {
                    (GramPosting::List(a), GramPosting::List(b)) => a == b,
                    (GramPosting::Bitmap(a), GramPosting::Bitmap(b)) => a == b,
                    _ => false,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(s: &str) -> Vec<Code> {
        s.chars().map(|c| c as Code).collect()
    }

    #[test]
    fn grams_of_a_field() {
        let mut grams = Grams::default();
        let mut out = Vec::new();
        grams.of_fields(["ab.c"].into_iter(), &mut out);
        let c = |s: &str| coded(s);
        let mut expected = vec![
            key(TEXT, c("a")[0], c("b")[0], c(".")[0], c("c")[0]),
            key(TEXT, c("b")[0], c(".")[0], c("c")[0], END),
            key(TEXT, c(".")[0], c("c")[0], END, END),
            key(WS1, c("a")[0], 0, 0, 0),
            key(WS2, c("a")[0], c("b")[0], 0, 0),
            key(WS1, c("c")[0], 0, 0, 0),
            key(WS2, c("c")[0], END, 0, 0),
        ];
        expected.sort_unstable();
        assert_eq!(out, expected);
        let mut longer = Vec::new();
        grams.of_fields(["x abcde"].into_iter(), &mut longer);
        assert!(longer.contains(&key(WS4, c("a")[0], c("b")[0], c("c")[0], c("d")[0])));
        assert_eq!(longer.iter().filter(|g| *g >> 60 == WS4).count(), 1);
        // A three-character word's fourth is `END`, whatever follows it.
        let mut three = Vec::new();
        grams.of_fields(["abc.d"].into_iter(), &mut three);
        let ws4: Vec<u64> = three.iter().copied().filter(|g| *g >> 60 == WS4).collect();
        assert_eq!(ws4, [key(WS4, c("a")[0], c("b")[0], c("c")[0], END)]);
        // Two- and three-character substrings find their grams by range.
        let Part::Range(r) = &substring_parts(&c("b."))[0] else { panic!() };
        assert!(out.iter().any(|g| r.contains(g)));
        let Part::Range(r) = &substring_parts(&c(".c"))[0] else { panic!() };
        assert!(out.iter().any(|g| r.contains(g)));
        let Part::Range(r) = &substring_parts(&c("ca"))[0] else { panic!() };
        assert!(!out.iter().any(|g| r.contains(g)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// New users added through batches (several of them, some users too large for one; grams in any order,
        /// repeated) make the postings adding them one by one makes, to their capacity, lists turned bitmaps
        /// included.
        #[test]
        fn batched_additions_make_the_same_postings(
            users in proptest::collection::vec((1u32..4, proptest::collection::vec(0u64..40, 0..120)), 0..60),
        ) {
            let (mut direct, mut batched) = (Grams::default(), Grams::default());
            batched.start_batching();
            let mut doc = 0;
            for (gap, grams) in users {
                doc += gap;
                let mut distinct = grams.clone();
                distinct.sort_unstable();
                distinct.dedup();
                for &gram in &distinct {
                    direct.add(gram, doc);
                }
                // A batch takes them as they come, repeats included.
                batched.add_new(&mut grams.clone(), doc);
            }
            batched.stop_batching();
            proptest::prop_assert!(!batched.pending());
            proptest::prop_assert!(direct.same_as(&batched));
            proptest::prop_assert_eq!(direct.heap_bytes(), batched.heap_bytes());
        }
    }

    #[test]
    fn codes_of_other_characters() {
        let mut codes = CharCodes::default();
        assert_eq!(codes.code('ж'), None);
        let a = codes.code_or_insert('ж');
        assert_eq!(codes.code('ж'), Some(a));
        assert_eq!(codes.code('a'), Some(97));
        assert_eq!(codes.codes(&['a', 'ж']), Some(vec![97, a]));
        assert_eq!(codes.codes(&['a', 'я']), None);
    }
}
