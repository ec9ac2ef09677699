//! The index's compact tables: the word dictionary, facets (value → users), and the small helpers they
//! share.
//!
//! A million users bring about two million distinct words (every username and every numbered email local
//! part is unique), so the dictionary keeps each word and its posting in one byte arena, its slots as a `u32`
//! offset and a tag byte, and a word used by one user as that user's number rather than a bitmap.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::io;
use std::mem::size_of;

use roaring::RoaringBitmap;

use crate::snapshot::{In, Out, invalid};

/// An estimate of the heap one bitmap holds: its container list and each container's store, with the
/// allocator's per-allocation overhead.
pub(crate) fn bitmap_heap(bitmap: &RoaringBitmap) -> usize {
    const CONTAINER: usize = 40;
    const ALLOCATION: usize = 16;
    let stats = bitmap.statistics();
    if stats.n_containers == 0 {
        return 0;
    }
    // `statistics` counts array capacity as 4 bytes a value (the values are u16) and bitset capacity in bits.
    let arrays = stats.n_bytes_array_containers as usize / 2;
    let bitsets = stats.n_bytes_bitset_containers as usize / 8;
    let allocations = 1 + stats.n_array_containers as usize + stats.n_bitset_containers as usize;
    stats.n_containers as usize * CONTAINER + arrays + bitsets + allocations * ALLOCATION
}

/// Pushes to a vector that grows by a sixteenth rather than doubling: more copies while it grows, but the
/// index's big vectors would otherwise hold up to twice what they use.
pub(crate) fn push_growing<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        v.reserve_exact(16.max(v.len() / 16));
    }
    v.push(item);
}

/// A fast hasher for gram keys (packed characters): a seeded multiply-xorshift.
#[derive(Clone)]
pub(crate) struct GramHasherBuilder(u64);

impl Default for GramHasherBuilder {
    fn default() -> Self {
        GramHasherBuilder(RandomState::new().hash_one(0x6f6e_7261_6d70u64) | 1)
    }
}

impl BuildHasher for GramHasherBuilder {
    type Hasher = GramHasher;
    fn build_hasher(&self) -> GramHasher {
        GramHasher(self.0)
    }
}

pub(crate) struct GramHasher(u64);

impl Hasher for GramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29) ^ (x >> 47);
    }
}

/// One word's users.
pub(crate) enum Posting<'a> {
    Empty,
    One(u32),
    Many(&'a RoaringBitmap),
}

#[cfg(test)]
impl Posting<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Posting::Empty => 0,
            Posting::One(_) => 1,
            Posting::Many(b) => b.len(),
        }
    }

    pub fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            Posting::Empty => RoaringBitmap::new(),
            Posting::One(d) => std::iter::once(*d).collect(),
            Posting::Many(b) => (*b).clone(),
        }
    }
}

const EMPTY: u32 = u32::MAX;
const MANY: u32 = 1 << 31;
/// The largest user number the tables can hold.
pub(crate) const MAX_DOC: u32 = MANY - 2;

/// The words of users' texts, as the word table reads its single-user entries back (see [`WordTable`]).
pub(crate) trait DocWords {
    /// Calls `f` with the `index`th word of user `doc`'s text (every word counted, repeats included), or does
    /// not call it when there is none.
    fn with_word(&self, doc: u32, index: u8, f: &mut dyn FnMut(&str));
    /// Calls `f` with each word of user `doc`'s text and its index.
    fn for_each_word(&self, doc: u32, f: &mut dyn FnMut(usize, &str));
}

/// Whether the `index`th word of `doc` is the word `is` looks for.
fn is_word_of(docs: &dyn DocWords, doc: u32, index: u8, is: &dyn Fn(&[u8]) -> bool) -> bool {
    let mut same = false;
    docs.with_word(doc, index, &mut |w| same = is(w.as_bytes()));
    same
}

/// Tags of slots: 0 is empty, `TOMBSTONE` a removed inline entry, `INLINE | 6 bits of the hash` an inline
/// entry, `ARENA | 7 bits of the hash` an arena entry.
const TOMBSTONE: u8 = 1;
const INLINE: u8 = 0x40;
const ARENA: u8 = 0x80;
/// The bits of an inline slot's index byte that hold the index (the others hold bits of the hash): a word
/// past its user's 16th is kept in the arena.
const INDEX_MASK: u8 = 0x0f;

/// A slot's tag (see the constants above) and, for an inline slot, its word's index among its user's words
/// (the low [`INDEX_MASK`] bits) beside four more bits of its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tag {
    tag: u8,
    index: u8,
}

impl Tag {
    const EMPTY: Tag = Tag { tag: 0, index: 0 };
}

/// The Mersenne prime 2^61 - 1, the modulus of [`WordHasher`]'s polynomial.
const M61: u64 = (1 << 61) - 1;

/// `a * b` modulo [`M61`], for `a` and `b` below it.
fn mul_m61(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    add_m61((product as u64) & M61, (product >> 61) as u64)
}

/// `a + b` modulo [`M61`], for `a` and `b` below it.
fn add_m61(a: u64, b: u64) -> u64 {
    let sum = a + b;
    if sum >= M61 { sum - M61 } else { sum }
}

/// The word table's hash: the word's bytes as the digits of a polynomial (after a leading 1, so that lengths
/// differ) at a secret base, modulo the prime 2^61 - 1, then mixed with a secret seed into 64 well-spread
/// bits. Base and seed are drawn per table; a table read from a snapshot keeps those that placed its words.
/// Two different words of up to `n` bytes have the same polynomial for at most `n` of the 2^61 bases, so no
/// one who does not know the base can choose words that collide. Unlike a hash that reads the whole word, it
/// gives the hash of a word one edit away from a known one in a few multiplications (from the known word's
/// prefixes and suffixes; [`Variants`]): a typo search hashes hundreds of such words.
#[derive(Clone, Copy)]
struct WordHasher {
    base: u64,
    seed: u64,
}

impl WordHasher {
    fn new() -> WordHasher {
        let random = RandomState::new();
        // A base of at least 2^32, so that short words' polynomials do not stay small.
        let base = (1 << 32) + random.hash_one(0x6261_7365u64) % (M61 - (1 << 32) - 1);
        WordHasher { base, seed: random.hash_one(0x7365_6564u64) }
    }

    /// The polynomial of `bytes` following `from` (1 for a whole word, 0 for a part after a prefix).
    fn poly(&self, from: u64, bytes: &[u8]) -> u64 {
        bytes.iter().fold(from, |h, &b| add_m61(mul_m61(h, self.base), u64::from(b)))
    }

    /// The hash of a polynomial (murmur3's finaliser of it and the seed).
    fn finish(&self, poly: u64) -> u64 {
        let mut h = poly ^ self.seed;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn hash(&self, word: &[u8]) -> u64 {
        self.finish(self.poly(1, word))
    }
}

/// The words one edit away from a word (see [`WordTable::get_one_edit`]) as the table hashes them: each
/// variant is the word's first `pre` bytes, then `mid`, then its bytes from `post` on.
struct Variants<'w> {
    word: &'w [u8],
    /// The word's prefixes' polynomials (`prefix[k]` of its first `k` bytes, from 1).
    prefix: Vec<u64>,
    /// Its suffixes' polynomials (`suffix[k]` of its bytes from `k` on, from 0).
    suffix: Vec<u64>,
    /// `power[k]` is the base to the `k`th.
    power: Vec<u64>,
}

/// One variant: the word's bytes before `pre`, `mid`, and the word's bytes from `post`.
#[derive(Clone, Copy)]
struct Variant {
    pre: u32,
    post: u32,
    mid: [u8; 8],
    mid_len: u8,
}

impl Variant {
    /// Whether `bytes` are this variant of `word`, compared part by part.
    fn is(&self, word: &[u8], bytes: &[u8]) -> bool {
        let (pre, post, mid) = (self.pre as usize, self.post as usize, &self.mid[..usize::from(self.mid_len)]);
        bytes.len() == pre + mid.len() + (word.len() - post)
            && bytes[..pre] == word[..pre]
            && bytes[pre..pre + mid.len()] == *mid
            && bytes[pre + mid.len()..] == word[post..]
    }
}

impl<'w> Variants<'w> {
    fn new(hasher: &WordHasher, word: &'w [u8]) -> Variants<'w> {
        let n = word.len();
        let mut prefix = Vec::with_capacity(n + 1);
        prefix.push(1);
        for &b in word {
            prefix.push(add_m61(mul_m61(*prefix.last().expect("starts with one"), hasher.base), u64::from(b)));
        }
        // Two characters of four bytes are the most a variant adds.
        let mut power = Vec::with_capacity(n + 9);
        power.push(1);
        for _ in 0..n + 8 {
            power.push(mul_m61(*power.last().expect("starts with one"), hasher.base));
        }
        let mut suffix = vec![0; n + 1];
        for k in (0..n).rev() {
            suffix[k] = add_m61(mul_m61(u64::from(word[k]), power[n - 1 - k]), suffix[k + 1]);
        }
        Variants { word, prefix, suffix, power }
    }

    /// The polynomial of the variant whose middle has the polynomial `mid` (from 0) over `mid_len` bytes.
    fn poly(&self, pre: usize, mid: u64, mid_len: usize, post: usize) -> u64 {
        let head = add_m61(mul_m61(self.prefix[pre], self.power[mid_len]), mid);
        add_m61(mul_m61(head, self.power[self.word.len() - post]), self.suffix[post])
    }
}

/// Words → users, with the characters seen in words (the alphabet of one-edit variants).
///
/// Most words belong to one user (the email's number, the username), so such a word is kept "inline": its
/// slot holds the user's number and the word's index among that user's words, and the word is read back
/// from the user's text ([`DocWords`]) to be compared; it costs its slot and nothing more. A word of several
/// users (or past its user's 16th word) is an entry of one byte arena: its length (LEB128), its bytes, and
/// its posting (`u32`, little endian): `EMPTY`, one user's number, or `MANY | i` for `bitmaps[i]`; an inline
/// word becomes one when a second user adds it. The user whose text changes gives its kept inline words their
/// new indexes ([`WordTable::inline_slot`], [`WordTable::set_indexes`]) before its text changes, removes the
/// words it lost before, and adds its new words after.
///
/// The slots of the open-addressing table (linear probing) hold entry offsets or user numbers, with a tag byte
/// beside them so that most probes read neither the slot nor the entry. A removed inline word leaves a
/// tombstone, dropped when the table is next rebuilt. A word's first slot is the high part of its hash times
/// the number of slots, which need not be a power of two: the table is rebuilt (a quarter larger unless
/// tombstones were most of the load) when more than [`MAX_LOAD`] of it is taken, so that its slots stay
/// between about 64 % and 80 % full rather than between 37 % and 75 % as when doubling. A rebuild reads each
/// user's text back once for all its inline words; while many users are added at once
/// ([`WordTable::start_building`]) the table keeps every slot's full hash instead, and reads none.
pub(crate) struct WordTable {
    slots: Vec<u32>,
    /// Each slot's tag and, for an inline slot, its word's index among its user's words: side by side, so
    /// that a probe that meets an inline tag of its hash reads the index from the same cache line.
    tags: Vec<Tag>,
    /// Live entries, arena and inline.
    words: usize,
    /// Tombstones.
    dead: usize,
    arena: Vec<u8>,
    bitmaps: Vec<RoaringBitmap>,
    free_bitmaps: Vec<u32>,
    hasher: WordHasher,
    ascii: u128,
    other_chars: std::collections::BTreeSet<char>,
    max_chars: usize,
    /// While many users are added at once ([`WordTable::start_building`]), each slot's full hash, so that
    /// growing the table reads no user's text; empty otherwise.
    hashes: Vec<u64>,
}

impl Default for WordTable {
    fn default() -> Self {
        WordTable {
            slots: vec![0; 1024],
            tags: vec![Tag::EMPTY; 1024],
            words: 0,
            dead: 0,
            arena: Vec::new(),
            bitmaps: Vec::new(),
            free_bitmaps: Vec::new(),
            hasher: WordHasher::new(),
            ascii: 0,
            other_chars: Default::default(),
            max_chars: 0,
            hashes: Vec::new(),
        }
    }
}

/// The share of the word table's slots taken beyond which it is rebuilt, as a fraction.
const MAX_LOAD: (usize, usize) = (4, 5);

/// Where a word was found.
enum Found {
    /// Its posting's place in the arena.
    Arena(usize),
    /// Its inline slot.
    Inline(usize),
}

impl WordTable {
    fn hash(&self, word: &[u8]) -> u64 {
        self.hasher.hash(word)
    }

    /// The first slot to probe for `hash` among `size`.
    fn home(hash: u64, size: usize) -> usize {
        ((u128::from(hash) * size as u128) >> 64) as usize
    }

    /// Whether `taken` slots are too many of `size`.
    fn overloaded(taken: usize, size: usize) -> bool {
        taken.saturating_mul(MAX_LOAD.1) > size.saturating_mul(MAX_LOAD.0)
    }

    /// The tag of an arena entry and of an inline entry of `hash` (low bits: the high ones choose the slot).
    fn tags_of(hash: u64) -> (u8, u8) {
        (ARENA | (hash as u8 & 0x7f), INLINE | (hash as u8 & 0x3f))
    }

    /// Four more bits of `hash` beside an inline entry's index, so that a probe reads its user's text only for
    /// one in 1,024 other words.
    fn check_bits(hash: u64) -> u8 {
        ((hash >> 6) as u8 & 0x0f) << 4
    }

    /// The bytes of the entry at `at`, and where its posting is.
    fn entry(&self, at: u32) -> (&[u8], usize) {
        let mut pos = at as usize;
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let byte = self.arena[pos];
            pos += 1;
            len |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        (&self.arena[pos..pos + len], pos + len)
    }

    fn posting_at(&self, pos: usize) -> u32 {
        u32::from_le_bytes([self.arena[pos], self.arena[pos + 1], self.arena[pos + 2], self.arena[pos + 3]])
    }

    fn set_posting_at(&mut self, pos: usize, value: u32) {
        self.arena[pos..pos + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Where `word` is, or the empty slot where it would go. A miss reads only tags, but for the rare inline
    /// entry whose tag matches.
    fn find(&self, word: &[u8], hash: u64, docs: &dyn DocWords) -> Result<Found, usize> {
        self.find_by(hash, docs, |other| other == word)
    }

    /// [`WordTable::find`] of the word of `hash` that `is` says is the one wanted, given the bytes of each
    /// word met whose hash bits agree.
    fn find_by(&self, hash: u64, docs: &dyn DocWords, is: impl Fn(&[u8]) -> bool) -> Result<Found, usize> {
        let size = self.slots.len();
        let (arena_tag, inline_tag) = Self::tags_of(hash);
        let mut pos = Self::home(hash, size);
        loop {
            let Tag { tag, index } = self.tags[pos];
            match tag {
                0 => return Err(pos),
                t if t == arena_tag => {
                    let (bytes, posting) = self.entry(self.slots[pos]);
                    if is(bytes) {
                        return Ok(Found::Arena(posting));
                    }
                }
                t if t == inline_tag
                    && index & !INDEX_MASK == Self::check_bits(hash)
                    && is_word_of(docs, self.slots[pos], index & INDEX_MASK, &is) =>
                {
                    return Ok(Found::Inline(pos));
                }
                _ => {}
            }
            pos += 1;
            if pos == size {
                pos = 0;
            }
        }
    }

    pub fn get(&self, word: &str, docs: &dyn DocWords) -> Posting<'_> {
        self.posting_of(self.find(word.as_bytes(), self.hash(word.as_bytes()), docs))
    }

    /// The posting of every word one edit away from `word` (a deletion, an adjacent transposition, or a
    /// substitution or insertion of a character of `alphabet`), `word` itself aside, each in no particular
    /// order and possibly more than once. A typo search asks for hundreds a word, nearly all absent: each
    /// variant's hash comes from `word`'s prefixes and suffixes ([`Variants`]) rather than from its bytes, and
    /// a variant's bytes are compared, part by part, only with a word whose hash bits agree, so no variant is
    /// ever written out. Most of a lookup is waiting for its first tag to come from memory: the first tags of
    /// a batch are read together first, so that their reads overlap rather than wait one after another.
    pub fn get_one_edit<'t>(
        &'t self,
        word: &str,
        alphabet: &[char],
        docs: &dyn DocWords,
        mut f: impl FnMut(Posting<'t>),
    ) {
        let bytes = word.as_bytes();
        let variants = Variants::new(&self.hasher, bytes);
        let mut list: Vec<(u64, Variant)> = Vec::with_capacity((word.len() + 1) * (2 * alphabet.len() + 2));
        let mut push = |pre: usize, mid: &[u8], mid_poly: u64, post: usize| {
            let mut variant = Variant { pre: pre as u32, post: post as u32, mid: [0; 8], mid_len: mid.len() as u8 };
            variant.mid[..mid.len()].copy_from_slice(mid);
            list.push((self.hasher.finish(variants.poly(pre, mid_poly, mid.len(), post)), variant));
        };
        // Each character of the alphabet as a variant's middle: its bytes and their polynomial.
        let letters: Vec<([u8; 4], usize, u64)> = alphabet
            .iter()
            .map(|&c| {
                let mut buf = [0u8; 4];
                let len = c.encode_utf8(&mut buf).len();
                (buf, len, self.hasher.poly(0, &buf[..len]))
            })
            .collect();
        let mut bounds: Vec<usize> = word.char_indices().map(|(at, _)| at).collect();
        bounds.push(bytes.len());
        let chars = bounds.len() - 1;
        for i in 0..chars {
            let (at, next) = (bounds[i], bounds[i + 1]);
            // Deletion.
            push(at, &[], 0, next);
            // Transposition.
            if i + 1 < chars && bytes[at..next] != bytes[next..bounds[i + 2]] {
                let mut mid = [0u8; 8];
                let (second, first) = (&bytes[next..bounds[i + 2]], &bytes[at..next]);
                mid[..second.len()].copy_from_slice(second);
                mid[second.len()..second.len() + first.len()].copy_from_slice(first);
                let mid = &mid[..second.len() + first.len()];
                push(at, mid, self.hasher.poly(0, mid), bounds[i + 2]);
            }
            // Substitution.
            for (buf, len, poly) in &letters {
                if buf[..*len] != bytes[at..next] {
                    push(at, &buf[..*len], *poly, next);
                }
            }
        }
        // Insertion.
        for &at in &bounds {
            for (buf, len, poly) in &letters {
                push(at, &buf[..*len], *poly, at);
            }
        }
        const BATCH: usize = 64;
        for batch in list.chunks(BATCH) {
            let mut touched = 0u8;
            for (hash, _) in batch {
                touched ^= self.tags[Self::home(*hash, self.tags.len())].tag;
            }
            std::hint::black_box(touched);
            for (hash, variant) in batch {
                f(self.posting_of(self.find_by(*hash, docs, |other| variant.is(bytes, other))));
            }
        }
    }

    fn posting_of(&self, found: Result<Found, usize>) -> Posting<'_> {
        match found {
            Ok(Found::Arena(pos)) => match self.posting_at(pos) {
                EMPTY => Posting::Empty,
                p if p & MANY != 0 => Posting::Many(&self.bitmaps[(p & !MANY) as usize]),
                d => Posting::One(d),
            },
            Ok(Found::Inline(slot)) => Posting::One(self.slots[slot]),
            Err(_) => Posting::Empty,
        }
    }

    /// Rebuilds the slots without tombstones, a quarter larger if the live entries alone are too many.
    fn rebuild(&mut self, docs: &dyn DocWords) {
        let old = self.slots.len();
        let size = if Self::overloaded(self.words, old) { old + old / 4 } else { old };
        let keep_hashes = !self.hashes.is_empty();
        self.rebuild_to(size, docs, keep_hashes);
    }

    /// Rebuilds the slots without tombstones, `size` of them, from the kept hashes when there are, else
    /// reading the words back; then keeps the hashes if `keep_hashes`.
    fn rebuild_to(&mut self, size: usize, docs: &dyn DocWords, keep_hashes: bool) {
        let old_hashes = std::mem::take(&mut self.hashes);
        if keep_hashes {
            self.hashes = vec![0; size];
        }
        let old_slots = std::mem::replace(&mut self.slots, vec![0; size]);
        let old_tags = std::mem::replace(&mut self.tags, vec![Tag::EMPTY; size]);
        self.dead = 0;
        if !old_hashes.is_empty() {
            for ((value, Tag { tag, index }), hash) in old_slots.into_iter().zip(old_tags).zip(old_hashes) {
                if tag & (ARENA | INLINE) != 0 {
                    self.place(value, tag & ARENA != 0, index & INDEX_MASK, hash);
                }
            }
            return;
        }
        // Inline words are read back by user, each user's text decoded once and in order, rather than once
        // a word in slot (hash) order: `(user << 4) | index`, sorted.
        let mut inline: Vec<u64> = Vec::new();
        for (value, Tag { tag, index }) in old_slots.into_iter().zip(old_tags) {
            if tag & ARENA != 0 {
                let hash = self.hash(self.entry(value).0);
                self.place(value, true, index, hash);
            } else if tag & INLINE != 0 {
                inline.push((u64::from(value) << 4) | u64::from(index & INDEX_MASK));
            }
        }
        inline.sort_unstable();
        let mut hashes: Vec<(u8, u64)> = Vec::new();
        let mut k = 0;
        while k < inline.len() {
            let doc = (inline[k] >> 4) as u32;
            let end = k + inline[k..].iter().take_while(|&&e| (e >> 4) as u32 == doc).count();
            let wanted = &inline[k..end];
            hashes.clear();
            docs.for_each_word(doc, &mut |i, w| {
                if wanted.iter().any(|&e| (e & 0xf) as usize == i) {
                    hashes.push((i as u8, self.hasher.hash(w.as_bytes())));
                }
            });
            debug_assert_eq!(hashes.len(), wanted.len(), "an inline word its user no longer has");
            self.words -= wanted.len() - hashes.len();
            for &(index, hash) in &hashes {
                self.place(doc, false, index, hash);
            }
            k = end;
        }
    }

    /// Puts an entry in the first empty slot from its hash's.
    fn place(&mut self, value: u32, arena: bool, index: u8, hash: u64) {
        let size = self.slots.len();
        let mut pos = Self::home(hash, size);
        while self.tags[pos].tag != 0 {
            pos += 1;
            if pos == size {
                pos = 0;
            }
        }
        let (arena_tag, inline_tag) = Self::tags_of(hash);
        self.slots[pos] = value;
        self.tags[pos] = if arena {
            Tag { tag: arena_tag, index: 0 }
        } else {
            Tag { tag: inline_tag, index: Self::check_bits(hash) | index }
        };
        if let Some(h) = self.hashes.get_mut(pos) {
            *h = hash;
        }
    }

    /// Keeps every slot's full hash from now until [`WordTable::stop_building`], so that the table grows
    /// without reading users' texts back: for adding many users at once. Reads every inline word once.
    pub fn start_building(&mut self, docs: &dyn DocWords) {
        if self.hashes.is_empty() {
            // Rebuilt at the same size (tombstones dropped), reading the words back once.
            self.rebuild_to(self.slots.len(), docs, true);
        }
    }

    /// Drops the hashes [`WordTable::start_building`] keeps.
    pub fn stop_building(&mut self) {
        self.hashes = Vec::new();
    }

    /// Appends an arena entry for `word` (with no users); returns where it starts and where its posting is.
    fn push_arena_entry(&mut self, word: &str) -> (u32, usize) {
        let at = u32::try_from(self.arena.len()).ok().filter(|&at| at != EMPTY).expect("word arena under 4 GiB");
        let needed = word.len() + 9;
        if self.arena.capacity() - self.arena.len() < needed {
            self.arena.reserve_exact(needed.max(self.arena.len() / 16));
        }
        let mut len = word.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                self.arena.push(byte);
                break;
            }
            self.arena.push(byte | 0x80);
        }
        self.arena.extend_from_slice(word.as_bytes());
        let posting = self.arena.len();
        self.arena.extend_from_slice(&EMPTY.to_le_bytes());
        (at, posting)
    }

    fn note_chars(&mut self, word: &str) {
        let mut chars = 0;
        for c in word.chars() {
            chars += 1;
            if c.is_ascii() {
                self.ascii |= 1 << (c as u32);
            } else {
                self.other_chars.insert(c);
            }
        }
        self.max_chars = self.max_chars.max(chars);
    }

    /// Adds user `doc` to the posting at `pos` in the arena.
    fn add_to_posting(&mut self, pos: usize, doc: u32) {
        match self.posting_at(pos) {
            EMPTY => self.set_posting_at(pos, doc),
            x if x & MANY != 0 => {
                self.bitmaps[(x & !MANY) as usize].insert(doc);
            }
            d if d == doc => {}
            d => {
                let bitmap: RoaringBitmap = [d.min(doc), d.max(doc)].into_iter().collect();
                let i = match self.free_bitmaps.pop() {
                    Some(i) => {
                        self.bitmaps[i as usize] = bitmap;
                        i
                    }
                    None => {
                        self.bitmaps.push(bitmap);
                        u32::try_from(self.bitmaps.len() - 1).expect("fewer than 2^31 bitmaps")
                    }
                };
                self.set_posting_at(pos, MANY | i);
            }
        }
    }

    /// Adds `word`, the `index`th word of user `doc`'s current text (see [`DocWords`]).
    pub fn add(&mut self, word: &str, doc: u32, index: usize, docs: &dyn DocWords) {
        self.add_hashed(word, self.hash(word.as_bytes()), doc, index, docs);
    }

    /// The hash of `word` in this table, for [`WordTable::warm`] and [`WordTable::add_hashed`].
    pub fn hash_of(&self, word: &str) -> u64 {
        self.hash(word.as_bytes())
    }

    /// Reads the first slot of each of the words of `hashes` in every array, without writing: the table is
    /// large, so each read is a cache miss, and reads made one after another here overlap (the processor runs
    /// ahead through the loop) where those of adding the words one by one would wait each for the last.
    pub fn warm(&self, hashes: &[u64]) {
        let size = self.slots.len();
        let mut touched = 0u32;
        for &hash in hashes {
            let pos = Self::home(hash, size);
            touched ^= self.slots[pos] ^ u32::from(self.tags[pos].tag);
            touched ^= self.hashes.get(pos).map_or(0, |&h| h as u32);
        }
        std::hint::black_box(touched);
    }

    /// [`WordTable::add`] of a word whose hash ([`WordTable::hash_of`]) is known.
    pub fn add_hashed(&mut self, word: &str, hash: u64, doc: u32, index: usize, docs: &dyn DocWords) {
        debug_assert!(doc <= MAX_DOC);
        debug_assert_eq!(hash, self.hash(word.as_bytes()));
        match self.find(word.as_bytes(), hash, docs) {
            Ok(Found::Arena(pos)) => self.add_to_posting(pos, doc),
            Ok(Found::Inline(slot)) => {
                let other = self.slots[slot];
                if other != doc {
                    self.move_to_arena(slot, word);
                    let (_, pos) = self.entry(self.slots[slot]);
                    self.add_to_posting(pos, doc);
                }
            }
            Err(slot) => {
                self.note_chars(word);
                self.words += 1;
                let (arena_tag, inline_tag) = Self::tags_of(hash);
                match u8::try_from(index).ok().filter(|&i| i <= INDEX_MASK) {
                    Some(index) => {
                        self.slots[slot] = doc;
                        self.tags[slot] = Tag { tag: inline_tag, index: Self::check_bits(hash) | index };
                    }
                    None => {
                        let (at, pos) = self.push_arena_entry(word);
                        self.set_posting_at(pos, doc);
                        self.slots[slot] = at;
                        self.tags[slot] = Tag { tag: arena_tag, index: 0 };
                    }
                }
                if let Some(h) = self.hashes.get_mut(slot) {
                    *h = hash;
                }
                if Self::overloaded(self.words + self.dead, self.slots.len()) {
                    self.rebuild(docs);
                }
            }
        }
    }

    /// Turns the inline entry at `slot` (whose word is `word`) into an arena entry with the same user.
    fn move_to_arena(&mut self, slot: usize, word: &str) {
        let doc = self.slots[slot];
        let (at, pos) = self.push_arena_entry(word);
        self.set_posting_at(pos, doc);
        let (arena_tag, _) = Self::tags_of(self.hash(word.as_bytes()));
        self.slots[slot] = at;
        self.tags[slot] = Tag { tag: arena_tag, index: 0 };
    }

    pub fn remove(&mut self, word: &str, doc: u32, docs: &dyn DocWords) {
        match self.find(word.as_bytes(), self.hash(word.as_bytes()), docs) {
            Err(_) => {}
            Ok(Found::Inline(slot)) => {
                if self.slots[slot] == doc {
                    self.tags[slot] = Tag { tag: TOMBSTONE, index: 0 };
                    self.words -= 1;
                    self.dead += 1;
                }
            }
            Ok(Found::Arena(pos)) => match self.posting_at(pos) {
                EMPTY => {}
                x if x & MANY != 0 => {
                    let i = x & !MANY;
                    let bitmap = &mut self.bitmaps[i as usize];
                    bitmap.remove(doc);
                    if bitmap.len() <= 1 {
                        let left = bitmap.min().unwrap_or(EMPTY);
                        self.bitmaps[i as usize] = RoaringBitmap::new();
                        self.free_bitmaps.push(i);
                        self.set_posting_at(pos, left);
                    }
                }
                d if d == doc => self.set_posting_at(pos, EMPTY),
                _ => {}
            },
        }
    }

    /// The slot of `word` if it is an inline word of user `doc`.
    pub fn inline_slot(&self, word: &str, doc: u32, docs: &dyn DocWords) -> Option<usize> {
        match self.find(word.as_bytes(), self.hash(word.as_bytes()), docs) {
            Ok(Found::Inline(slot)) if self.slots[slot] == doc => Some(slot),
            _ => None,
        }
    }

    /// Gives inline slots (from [`WordTable::inline_slot`]) their words' new indexes; a word past index 15
    /// moves to the arena. Probes nothing, so it can run while the indexes disagree with the user's text.
    pub fn set_indexes(&mut self, moves: &[(usize, &str, usize)]) {
        for &(slot, word, index) in moves {
            match u8::try_from(index).ok().filter(|&i| i <= INDEX_MASK) {
                Some(index) => self.tags[slot].index = (self.tags[slot].index & !INDEX_MASK) | index,
                None => self.move_to_arena(slot, word),
            }
        }
    }

    /// Every character seen in a word, in order.
    pub fn alphabet(&self) -> Vec<char> {
        let ascii = (0u8..128).filter(|&b| self.ascii & (1 << b) != 0).map(char::from);
        ascii.chain(self.other_chars.iter().copied()).collect()
    }

    /// The length in characters of the longest word ever added.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 4
            + self.tags.capacity() * size_of::<Tag>()
            + self.arena.capacity()
            + self.bitmaps.capacity() * size_of::<RoaringBitmap>()
            + self.bitmaps.iter().map(bitmap_heap).sum::<usize>()
            + self.free_bitmaps.capacity() * 4
            + self.other_chars.len() * 8
            + self.hashes.capacity() * 8
    }

    /// The inline entries, as (user, index), in slot order.
    #[cfg(test)]
    fn inline_entries(&self) -> impl Iterator<Item = (u32, u8)> + '_ {
        (0..self.slots.len())
            .filter(|&p| self.tags[p].tag & (ARENA | INLINE) == INLINE)
            .map(|p| (self.slots[p], self.tags[p].index & INDEX_MASK))
    }
}

/// Values of one filter field → the users holding them. Values are numbered when first seen and kept.
/// Text values are kept lowercase.
pub(crate) struct Facet<K> {
    keys: HashMap<K, u32>,
    values: Vec<K>,
    postings: Vec<RoaringBitmap>,
}

impl<K> Default for Facet<K> {
    fn default() -> Self {
        Facet { keys: HashMap::new(), values: Vec::new(), postings: Vec::new() }
    }
}

impl<K: Hash + Eq + Clone> Facet<K> {
    pub fn key<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
    {
        self.keys.get(value).copied()
    }

    pub fn intern(&mut self, value: K) -> u32 {
        if let Some(&key) = self.keys.get(&value) {
            return key;
        }
        let key = u32::try_from(self.postings.len()).expect("fewer than 2^32 values");
        self.keys.insert(value.clone(), key);
        self.values.push(value);
        self.postings.push(RoaringBitmap::new());
        key
    }

    pub fn value(&self, key: u32) -> &K {
        &self.values[key as usize]
    }

    pub fn add(&mut self, key: u32, doc: u32) {
        let bitmap = &mut self.postings[key as usize];
        bitmap.insert(doc);
    }

    pub fn remove(&mut self, key: u32, doc: u32) {
        self.postings[key as usize].remove(doc);
    }

    pub fn posting(&self, key: u32) -> &RoaringBitmap {
        &self.postings[key as usize]
    }

    pub fn get<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> Option<&RoaringBitmap>
    where
        K: Borrow<Q>,
    {
        self.key(value).map(|k| self.posting(k))
    }

    pub fn heap_bytes(&self, key_heap: impl Fn(&K) -> usize) -> usize {
        self.keys.capacity() * (size_of::<K>() + 4 + 1)
            + self.values.capacity() * size_of::<K>()
            + self.keys.keys().map(&key_heap).sum::<usize>()
            + self.values.iter().map(&key_heap).sum::<usize>()
            + self.postings.capacity() * size_of::<RoaringBitmap>()
            + self.postings.iter().map(bitmap_heap).sum::<usize>()
    }
}

impl Facet<String> {
    /// The key of `value` lowercased, numbering it if new; `scratch` avoids an allocation when it is known.
    pub fn intern_lowercase(&mut self, value: &str, scratch: &mut String) -> u32 {
        scratch.clear();
        if value.is_ascii() {
            // Most values: ASCII characters lowercase one to one.
            scratch.push_str(value);
            scratch.make_ascii_lowercase();
        } else {
            scratch.extend(value.chars().flat_map(char::to_lowercase));
        }
        match self.keys.get(scratch.as_str()) {
            Some(&key) => key,
            None => self.intern(scratch.clone()),
        }
    }
}

impl WordTable {
    /// Writes the table as it is: its hasher, its slots and their tags (tombstones included), the arena, the
    /// bitmaps and the alphabet. Reading it back places no word and reads no user's text.
    pub(crate) fn write_snapshot(&self, out: &mut Out<'_>) -> io::Result<()> {
        out.len(self.slots.len())?;
        out.len(self.words)?;
        out.len(self.dead)?;
        out.u64(self.hasher.base)?;
        out.u64(self.hasher.seed)?;
        out.u32s(&self.slots)?;
        // The tags as a blob of two bytes each.
        out.len(2 * self.tags.len())?;
        out.records(&self.tags, |t| [t.tag, t.index])?;
        out.blob(&self.arena)?;
        out.bitmaps(&self.bitmaps)?;
        out.u32s(&self.free_bitmaps)?;
        out.bytes(&self.ascii.to_le_bytes())?;
        let others: Vec<u32> = self.other_chars.iter().map(|&c| c as u32).collect();
        out.u32s(&others)?;
        out.len(self.max_chars)
    }

    /// Reads a table of an index of `users` users. Checks that every slot names an arena entry, a user or
    /// nothing, and that the counts agree, so that no lookup can fail or probe forever; that each word sits
    /// where its hash leads is the file checksum's to vouch for (see the module doc of `snapshot`).
    pub(crate) fn read_snapshot(input: &mut In<'_>, users: usize) -> io::Result<WordTable> {
        let size = input.len(6)?;
        let words = input.usize()?;
        let dead = input.usize()?;
        // The table is at most `MAX_LOAD` full, and no smaller than the default.
        if size < 1024 || Self::overloaded(words.saturating_add(dead), size) {
            return Err(invalid("a word table of impossible size"));
        }
        let (base, seed) = (input.u64()?, input.u64()?);
        if !((1 << 32)..M61).contains(&base) {
            return Err(invalid("a word hasher of no possible base"));
        }
        let slots = input.u32s()?;
        if slots.len() != size || input.len(1)? != 2 * size {
            return Err(invalid("word slots of another number than announced"));
        }
        let tags = input.records(size, |[tag, index]| Tag { tag, index })?;
        let arena = input.blob()?;
        let bitmaps = input.bitmaps()?;
        let free_bitmaps = input.u32s()?;
        let ascii = u128::from_le_bytes(input.array()?);
        let other_chars = input
            .u32s()?
            .into_iter()
            .map(|c| char::from_u32(c).ok_or_else(|| invalid("a word character that is no character")))
            .collect::<io::Result<_>>()?;
        let max_chars = input.usize()?;
        let table = WordTable {
            slots,
            tags,
            words,
            dead,
            arena,
            bitmaps,
            free_bitmaps,
            hasher: WordHasher { base, seed },
            ascii,
            other_chars,
            max_chars,
            hashes: Vec::new(),
        };
        // Where each entry of the arena starts, in order.
        let mut starts: Vec<u32> = Vec::new();
        let mut at = 0usize;
        while at < table.arena.len() {
            let (bytes, posting) = table.checked_entry(at)?;
            if std::str::from_utf8(bytes).is_err() {
                return Err(invalid("a word that is not UTF-8"));
            }
            let value = table.posting_at(posting);
            if value != EMPTY && value & MANY != 0 && (value & !MANY) as usize >= table.bitmaps.len() {
                return Err(invalid("a word posting naming no bitmap"));
            }
            starts.push(at as u32);
            at = posting + 4;
        }
        let (mut arena_words, mut inline_words, mut tombstones) = (0usize, 0usize, 0usize);
        for (&value, &Tag { tag, .. }) in table.slots.iter().zip(&table.tags) {
            if tag & ARENA != 0 {
                if starts.binary_search(&value).is_err() {
                    return Err(invalid("a word slot naming no word"));
                }
                arena_words += 1;
            } else if tag & INLINE != 0 {
                if value as usize >= users {
                    return Err(invalid("a word slot naming no user"));
                }
                inline_words += 1;
            } else if tag == TOMBSTONE {
                tombstones += 1;
            } else if tag != 0 {
                return Err(invalid("a word slot of no known kind"));
            }
        }
        // Every entry of the arena has one slot.
        if arena_words != starts.len() || arena_words + inline_words != words || tombstones != dead {
            return Err(invalid("word slots that disagree with the counts"));
        }
        Ok(table)
    }

    /// [`WordTable::entry`], failing rather than panicking on an arena this table did not write.
    fn checked_entry(&self, at: usize) -> io::Result<(&[u8], usize)> {
        let mut pos = at;
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let &byte = self.arena.get(pos).ok_or_else(|| invalid("a word cut short"))?;
            pos += 1;
            if shift > 35 {
                return Err(invalid("a word length too long"));
            }
            len |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        if u32::try_from(at).is_err() || pos.saturating_add(len).saturating_add(4) > self.arena.len() {
            return Err(invalid("a word cut short"));
        }
        Ok((&self.arena[pos..pos + len], pos + len))
    }

    /// Whether two tables hold the same words with the same postings.
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &WordTable) -> bool {
        let inline = |t: &WordTable| {
            let mut v: Vec<(u32, u8)> = t.inline_entries().collect();
            v.sort_unstable();
            v
        };
        self.words == other.words
            && self.slots.len() == other.slots.len()
            && self.arena == other.arena
            && inline(self) == inline(other)
            && self.bitmaps == other.bitmaps
            && self.free_bitmaps == other.free_bitmaps
            && self.alphabet() == other.alphabet()
            && self.max_chars == other.max_chars
    }
}

/// The filter values of users, each distinct combination ("profile") kept once and shared by every user
/// having it: most users share their status, type, origin, department, job title and roles with many others.
///
/// A profile is `[status, type, origin, department key, job title key, delegate key or NONE, roles count,
/// managers count, sources count, role keys.., manager keys.., source app keys..]`. Profiles count their users;
/// one no user has any more is forgotten and its number reused.
#[derive(Default)]
pub(crate) struct Profiles {
    records: Vec<Box<[u32]>>,
    keys: HashMap<Box<[u32]>, u32>,
    users: Vec<u32>,
    free: Vec<u32>,
}

/// The fixed fields of a profile before its lists.
pub(crate) const PROFILE_HEAD: usize = 9;

impl Profiles {
    pub fn get(&self, key: u32) -> &[u32] {
        &self.records[key as usize]
    }

    /// The number of `record`, counting one more user of it.
    pub fn acquire(&mut self, record: &[u32]) -> u32 {
        if let Some(&key) = self.keys.get(record) {
            self.users[key as usize] += 1;
            return key;
        }
        let boxed: Box<[u32]> = record.into();
        let key = match self.free.pop() {
            Some(key) => {
                self.records[key as usize] = boxed.clone();
                self.users[key as usize] = 1;
                key
            }
            None => {
                self.records.push(boxed.clone());
                self.users.push(1);
                u32::try_from(self.records.len() - 1).expect("fewer than 2^32 profiles")
            }
        };
        self.keys.insert(boxed, key);
        key
    }

    /// Counts one user fewer of profile `key`.
    pub fn release(&mut self, key: u32) {
        let users = &mut self.users[key as usize];
        *users -= 1;
        if *users == 0 {
            let record = std::mem::take(&mut self.records[key as usize]);
            self.keys.remove(&record);
            self.free.push(key);
        }
    }

    /// The profiles some user has.
    pub fn records(&self) -> impl Iterator<Item = &[u32]> {
        self.records.iter().zip(&self.users).filter(|(_, n)| **n > 0).map(|(r, _)| &r[..])
    }

    pub fn heap_bytes(&self) -> usize {
        // Each record is held twice (the list and the map's key), each an allocation.
        let records: usize = self.records.iter().map(|r| r.len() * 4 + 16).sum();
        self.records.capacity() * size_of::<Box<[u32]>>()
            + self.keys.capacity() * (size_of::<Box<[u32]>>() + 4 + 1)
            + 2 * records
            + self.users.capacity() * 4
            + self.free.capacity() * 4
    }

    /// Writes every profile (a forgotten one as empty); the counts and the map are rebuilt on reading.
    pub(crate) fn write_snapshot(&self, out: &mut Out<'_>) -> io::Result<()> {
        out.len(self.records.len())?;
        for record in &self.records {
            out.u32s(record)?;
        }
        Ok(())
    }

    /// Reads profiles and counts the users of each from `of_users` (their profile numbers, checked here).
    /// What the profiles name is for the caller to check (see `records`).
    pub(crate) fn read_snapshot(input: &mut In<'_>, of_users: impl Iterator<Item = u32>) -> io::Result<Profiles> {
        let n = input.len(8)?;
        let records: Vec<Box<[u32]>> =
            (0..n).map(|_| input.u32s().map(Vec::into_boxed_slice)).collect::<io::Result<_>>()?;
        let mut users = vec![0u32; records.len()];
        for key in of_users {
            let count = users.get_mut(key as usize).ok_or_else(|| invalid("a user naming no profile"))?;
            *count += 1;
        }
        let mut profiles = Profiles { records: Vec::new(), keys: HashMap::new(), users, free: Vec::new() };
        for (key, record) in records.into_iter().enumerate() {
            if profiles.users[key] == 0 {
                profiles.free.push(key as u32);
                profiles.records.push(Box::default());
                continue;
            }
            let counts = record.get(PROFILE_HEAD - 3..PROFILE_HEAD).ok_or_else(|| invalid("a profile cut short"))?;
            if record.len() != PROFILE_HEAD + counts.iter().map(|&c| c as usize).sum::<usize>() {
                return Err(invalid("a profile of the wrong length"));
            }
            if profiles.keys.insert(record.clone(), key as u32).is_some() {
                return Err(invalid("a profile twice"));
            }
            profiles.records.push(record);
        }
        profiles.free.reverse();
        Ok(profiles)
    }

    /// Whether two tables hold the same profiles under the same numbers.
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &Profiles) -> bool {
        self.records == other.records && self.users == other.users
    }
}

/// How a facet's values are written.
pub(crate) trait FacetValue: Sized {
    fn write(&self, out: &mut Out<'_>) -> io::Result<()>;
    fn read(input: &mut In<'_>) -> io::Result<Self>;
    /// The fewest bytes a written value takes.
    const MIN_BYTES: u64;
}

impl FacetValue for onramp_domain::Id {
    fn write(&self, out: &mut Out<'_>) -> io::Result<()> {
        out.id(self)
    }
    fn read(input: &mut In<'_>) -> io::Result<Self> {
        input.id()
    }
    const MIN_BYTES: u64 = 12;
}

impl FacetValue for String {
    fn write(&self, out: &mut Out<'_>) -> io::Result<()> {
        out.blob(self.as_bytes())
    }
    fn read(input: &mut In<'_>) -> io::Result<Self> {
        input.string()
    }
    const MIN_BYTES: u64 = 8;
}

impl<K: Hash + Eq + Clone + FacetValue> Facet<K> {
    /// Writes the values in key order and their postings; the value → key map is rebuilt on reading.
    pub(crate) fn write_snapshot(&self, out: &mut Out<'_>) -> io::Result<()> {
        out.len(self.values.len())?;
        for value in &self.values {
            value.write(out)?;
        }
        out.bitmaps(&self.postings)
    }

    pub(crate) fn read_snapshot(input: &mut In<'_>) -> io::Result<Facet<K>> {
        let n = input.len(K::MIN_BYTES)?;
        let values: Vec<K> = (0..n).map(|_| K::read(input)).collect::<io::Result<_>>()?;
        let postings = input.bitmaps()?;
        if postings.len() != values.len() {
            return Err(invalid("a facet with as many postings as values"));
        }
        let mut keys = HashMap::with_capacity(values.len());
        for (key, value) in values.iter().enumerate() {
            if keys.insert(value.clone(), key as u32).is_some() {
                return Err(invalid("a facet value twice"));
            }
        }
        Ok(Facet { keys, values, postings })
    }

    /// How many values the facet has numbered.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether two facets hold the same values, numbered the same, with the same postings.
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &Facet<K>) -> bool {
        self.values == other.values && self.postings == other.postings && self.keys == other.keys
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Users' words for the tests: user → its words.
    #[derive(Default)]
    struct Words(HashMap<u32, Vec<String>>);

    impl DocWords for Words {
        fn with_word(&self, doc: u32, index: u8, f: &mut dyn FnMut(&str)) {
            if let Some(w) = self.0.get(&doc).and_then(|w| w.get(usize::from(index))) {
                f(w)
            }
        }

        fn for_each_word(&self, doc: u32, f: &mut dyn FnMut(usize, &str)) {
            for (i, w) in self.0.get(&doc).into_iter().flatten().enumerate() {
                f(i, w)
            }
        }
    }

    impl Words {
        /// Gives `doc` one more word and adds it to `t`.
        fn add(&mut self, t: &mut WordTable, word: &str, doc: u32) {
            let words = self.0.entry(doc).or_default();
            words.push(word.to_string());
            let index = words.len() - 1;
            t.add(word, doc, index, self);
        }
    }

    proptest::proptest! {
        /// The ASCII shortcut lowercases as the character by character lowercasing does.
        #[test]
        fn intern_lowercase_lowercases_each_character(values in proptest::collection::vec("[a-zA-Z .&-]{0,6}|\\PC{0,6}|[ÉéΣσςİi]{0,4}", 1..20)) {
            let mut facet: Facet<String> = Facet::default();
            let mut scratch = String::new();
            for value in &values {
                let key = facet.intern_lowercase(value, &mut scratch);
                let lower: String = value.chars().flat_map(char::to_lowercase).collect();
                proptest::prop_assert_eq!(facet.value(key), &lower);
                proptest::prop_assert_eq!(facet.key(lower.as_str()), Some(key));
            }
        }
    }

    #[test]
    fn word_table_postings_move_between_one_and_many() {
        let (mut t, mut w) = (WordTable::default(), Words::default());
        for i in 0..5000u32 {
            w.add(&mut t, &format!("w{i}"), i);
        }
        assert!(t.slots.len() < 8192, "grows by a quarter, not doubling");
        w.add(&mut t, "w1", 7);
        w.add(&mut t, "w1", 3);
        assert_eq!(t.get("w1", &w).to_bitmap().iter().collect::<Vec<_>>(), [1, 3, 7]);
        t.remove("w1", 1, &w);
        t.remove("w1", 7, &w);
        assert!(matches!(t.get("w1", &w), Posting::One(3)));
        t.remove("w1", 3, &w);
        assert!(matches!(t.get("w1", &w), Posting::Empty));
        assert!(matches!(t.get("w4999", &w), Posting::One(4999)));
        assert!(matches!(t.get("nope", &w), Posting::Empty));
        w.add(&mut t, "w2", 9);
        assert_eq!(t.get("w2", &w).len(), 2);
        assert_eq!(t.alphabet(), "0123456789w".chars().collect::<Vec<_>>());
    }

    #[test]
    fn word_table_inline_words_are_removed_and_reindexed() {
        let (mut t, mut w) = (WordTable::default(), Words::default());
        // Enough single-user words to rebuild the table several times, with tombstones among them.
        for i in 0..6000u32 {
            w.add(&mut t, &format!("a{i}"), i);
            w.add(&mut t, &format!("b{i}"), i);
            if i % 3 == 0 {
                t.remove(&format!("a{i}"), i, &w);
                w.0.get_mut(&i).unwrap()[0] = String::new();
            }
        }
        for i in 0..6000u32 {
            let a = if i % 3 == 0 { Posting::Empty } else { Posting::One(i) };
            assert_eq!(t.get(&format!("a{i}"), &w).len(), a.len(), "a{i}");
            assert!(matches!(t.get(&format!("b{i}"), &w), Posting::One(d) if d == i), "b{i}");
        }
        // User 1's text changes: "b1" moves to index 0, then gets a second user.
        let slot = t.inline_slot("b1", 1, &w).expect("an inline word");
        t.set_indexes(&[(slot, "b1", 0)]);
        w.0.insert(1, vec!["b1".into()]);
        assert!(matches!(t.get("b1", &w), Posting::One(1)));
        w.add(&mut t, "b1", 2);
        assert_eq!(t.get("b1", &w).to_bitmap().iter().collect::<Vec<_>>(), [1, 2]);
        // A word past index 15 goes to the arena.
        for i in 0..300 {
            w.add(&mut t, &format!("c{i}"), 6001);
        }
        assert!(matches!(t.get("c299", &w), Posting::One(6001)));
        assert!(matches!(t.get("c0", &w), Posting::One(6001)));
    }

    proptest::proptest! {
        /// The variants' postings of `get_one_edit` are those of looking each variant that `for_each_variant`
        /// writes out up with `get` (the same variants, as often): present words (inline and arena, of one
        /// user and of several, ASCII and not) among absent ones, across batches.
        #[test]
        fn one_edit_lookups_answer_as_each_variant_looked_up(
            words in proptest::collection::vec("[abü]{1,5}", 1..300),
            asked in proptest::collection::vec("[abcü]{1,6}", 1..8),
        ) {
            let (mut t, mut w) = (WordTable::default(), Words::default());
            for (i, word) in words.iter().enumerate() {
                // Every third user has two words, and some words have several users.
                w.add(&mut t, word, (i / 3) as u32);
            }
            let alphabet = t.alphabet();
            for word in &asked {
                let chars: Vec<char> = word.chars().collect();
                let mut expected = Vec::new();
                crate::text::for_each_variant(&chars, &alphabet, |variant| {
                    expected.push(t.get(variant, &w).to_bitmap().iter().collect::<Vec<u32>>());
                });
                let mut found = Vec::new();
                t.get_one_edit(word, &alphabet, &w, |posting| found.push(posting.to_bitmap().iter().collect::<Vec<u32>>()));
                expected.sort();
                found.sort();
                proptest::prop_assert_eq!(found, expected, "{}", word);
            }
        }
    }

    #[test]
    fn a_variant_hashes_as_its_bytes() {
        let hasher = WordHasher::new();
        let word = "aüb".as_bytes();
        let variants = Variants::new(&hasher, word);
        // "a" + "xé" + "b": the ü replaced by two characters.
        let mid = "xé".as_bytes();
        let poly = variants.poly(1, hasher.poly(0, mid), mid.len(), 3);
        assert_eq!(hasher.finish(poly), hasher.hash("axéb".as_bytes()));
        assert_ne!(hasher.hash(b"ab"), hasher.hash(b"\0ab"), "the length counts");
        let variant = Variant { pre: 1, post: 3, mid: *b"x\xc3\xa9\0\0\0\0\0", mid_len: 3 };
        assert!(variant.is(word, "axéb".as_bytes()));
        assert!(!variant.is(word, "axéc".as_bytes()) && !variant.is(word, "axé".as_bytes()));
    }

    /// The snapshot of `t` read back, for a table of `users` users.
    fn read_back(bytes: &[u8], users: usize) -> io::Result<WordTable> {
        WordTable::read_snapshot(&mut In::new(&mut &bytes[..], bytes.len() as u64), users)
    }

    fn snapshot_of(t: &WordTable) -> Vec<u8> {
        let mut bytes = Vec::new();
        t.write_snapshot(&mut Out::new(&mut bytes)).unwrap();
        bytes
    }

    #[test]
    fn word_table_snapshot_keeps_its_slots_and_hasher() {
        let (mut t, mut w) = (WordTable::default(), Words::default());
        let hasher = t.hasher;
        for i in 0..3000u32 {
            w.add(&mut t, &format!("u{i}"), i);
            w.add(&mut t, &format!("shared{}", i % 40), i);
        }
        for i in (0..3000u32).step_by(5) {
            t.remove(&format!("u{i}"), i, &w);
            w.0.get_mut(&i).unwrap()[0] = String::new();
        }
        assert!(t.dead == 600 && t.words == 2440, "tombstones and words of one and of several users");
        let bytes = snapshot_of(&t);
        let read = read_back(&bytes, 3000).unwrap();
        assert_eq!((read.hasher.base, read.hasher.seed), (hasher.base, hasher.seed));
        assert!(read.slots == t.slots && read.tags == t.tags && read.dead == t.dead && read.same_as(&t));
        assert_eq!(snapshot_of(&read), bytes);
        for i in (1..3000u32).filter(|i| i % 5 != 0) {
            assert!(matches!(read.get(&format!("u{i}"), &w), Posting::One(d) if d == i), "u{i}");
        }
        assert_eq!(read.get("shared7", &w).len(), 75);
        assert!(matches!(read.get("u5", &w), Posting::Empty));
    }

    #[test]
    fn word_table_snapshot_with_slots_naming_nothing_is_refused() {
        let (mut t, mut w) = (WordTable::default(), Words::default());
        for i in 0..100u32 {
            w.add(&mut t, &format!("u{i}"), i);
            w.add(&mut t, "shared", i);
        }
        t.remove("u3", 3, &w);
        let bytes = snapshot_of(&t);
        assert!(read_back(&bytes, 100).is_ok());
        assert!(read_back(&bytes, 99).is_err(), "an inline slot naming a user past the last");
        // Size, words, dead, base, seed, the slots' count and the slots, the tags' length and the tags.
        let size = t.slots.len();
        let (slots_at, tags_at) = (48, 48 + 4 * size + 8);
        let arena = (0..size).find(|&p| t.tags[p].tag & ARENA != 0).unwrap();
        let mut bad = bytes.clone();
        bad[slots_at + 4 * arena..][..4].copy_from_slice(&1u32.to_le_bytes());
        assert!(read_back(&bad, 100).is_err(), "an arena slot in the middle of an entry");
        let empty = (0..size).find(|&p| t.tags[p].tag == 0).unwrap();
        for (tag, why) in
            [(TOMBSTONE, "a tombstone more than counted"), (INLINE, "a word more than counted"), (7, "no kind")]
        {
            let mut bad = bytes.clone();
            bad[tags_at + 2 * empty] = tag;
            assert!(read_back(&bad, 100).is_err(), "{why}");
        }
        let mut bad = bytes.clone();
        bad[24..32].copy_from_slice(&(M61 + 5).to_le_bytes());
        assert!(read_back(&bad, 100).is_err(), "a base past the modulus");
        // Every slot taken: a lookup would probe forever.
        let mut bad = bytes.clone();
        bad[8..16].copy_from_slice(&(size as u64).to_le_bytes());
        assert!(read_back(&bad, 100).is_err(), "a table with no empty slot");
    }

    #[test]
    fn word_table_keeps_long_and_other_script_words() {
        let (mut t, mut w) = (WordTable::default(), Words::default());
        let long = "ü".repeat(20_000);
        w.add(&mut t, &long, 1);
        w.add(&mut t, "ab", 2);
        w.add(&mut t, &long[..200], 3);
        assert!(matches!(t.get(&long, &w), Posting::One(1)));
        assert!(matches!(t.get(&long[..200], &w), Posting::One(3)));
        assert!(matches!(t.get(&long[..202], &w), Posting::Empty));
        assert!(matches!(t.get("ab", &w), Posting::One(2)));
        assert_eq!(t.max_chars(), 20_000);
        assert_eq!(t.alphabet(), ['a', 'b', 'ü']);
        t.remove(&long, 1, &w);
        assert!(matches!(t.get(&long, &w), Posting::Empty));
    }
}
