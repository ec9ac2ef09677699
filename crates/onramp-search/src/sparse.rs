//! A sorted set of doc numbers stored as LEB128 gaps: the postings of grams few users have, which are most
//! of them (every number and every rare name pair makes its own), at one or two bytes a user where a roaring
//! bitmap takes two bytes a user and about 56 bytes a container.
//!
//! The numbers are kept in segments, one per block of 2^`SEGMENT_BITS` doc numbers that has members, so that
//! the members of a range are found by skipping segment headers rather than decoding from the start. A
//! segment is its block number (LEB128), the length of its body in bytes (`u16`, little endian), and the
//! body: the first member's offset in the block, then each member's gap from the one before, each LEB128.
//! A segment's body is at most [`MAX_SEGMENT_BYTES`]: past that the set is dense enough for a bitmap, and
//! [`SparseList::insert`] says so rather than growing it.

use std::cell::Cell;
use std::io;

use roaring::RoaringBitmap;

use crate::snapshot::invalid;

#[cfg(not(test))]
const SEGMENT_BITS: u32 = 16;
/// Tests use tiny segments, so that small indexes have many, and move to bitmaps soon.
#[cfg(test)]
const SEGMENT_BITS: u32 = 4;

#[cfg(not(test))]
pub(crate) const MAX_SEGMENT_BYTES: usize = 4096;
#[cfg(test)]
pub(crate) const MAX_SEGMENT_BYTES: usize = 12;

/// Up to this many users, the `within` of [`SparseList::eval`] is walked beside the list's members rather than
/// asked about each: a search in an array container per member cost several times the decoding, for lists of
/// thousands of members a block restricted to a few hundred users. Tests take both ways.
#[cfg(not(test))]
const WALK_WITHIN_UP_TO: u64 = 4096;
#[cfg(test)]
const WALK_WITHIN_UP_TO: u64 = 8;

/// The set is too dense for this form: make it a bitmap.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Full;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SparseList {
    bytes: Vec<u8>,
    len: u32,
    /// The greatest member, when there is one.
    last: u32,
    /// Where the last segment starts, so that appending reads no other.
    tail: u32,
}

fn put_varint(out: &mut Vec<u8>, v: u32) {
    let (bytes, len) = varint_bytes(v);
    out.extend_from_slice(&bytes[..len]);
}

/// The LEB128 bytes of `v` and how many there are.
#[inline]
fn varint_bytes(mut v: u32) -> ([u8; 5], usize) {
    let (mut out, mut n) = ([0u8; 5], 0);
    while v >= 0x80 {
        out[n] = v as u8 | 0x80;
        n += 1;
        v >>= 7;
    }
    out[n] = v as u8;
    (out, n + 1)
}

/// How many bytes the LEB128 form of `v` takes.
#[inline]
fn varint_len(v: u32) -> usize {
    (32 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// The capacity of bytes of length `len` and capacity `capacity` once made room for `more` (see
/// [`SparseList::grow_for`]).
#[inline]
fn grown(len: usize, capacity: usize, more: usize) -> usize {
    if capacity - len < more { len + more.max(4).max(len / 4) } else { capacity }
}

/// Reads a LEB128 number at `*at`; `None` past the end or beyond 32 bits.
#[inline]
fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut v = 0u32;
    let mut shift = 0;
    loop {
        let &byte = bytes.get(*at)?;
        *at += 1;
        if shift == 28 && byte > 0x0f {
            return None;
        }
        v |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
}

/// One segment's place in the bytes.
#[derive(Clone, Copy)]
struct Segment {
    block: u32,
    /// Where the header starts.
    start: usize,
    /// Where the body starts and ends.
    body: usize,
    end: usize,
}

impl Segment {
    /// The members of the segment, in order.
    fn members<'b>(&self, bytes: &'b [u8]) -> Members<'b> {
        Members { bytes: &bytes[..self.end], at: self.body, base: self.block << SEGMENT_BITS, prev: None }
    }
}

struct Members<'b> {
    bytes: &'b [u8],
    at: usize,
    base: u32,
    prev: Option<u32>,
}

impl Iterator for Members<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let v = get_varint(self.bytes, &mut self.at)?;
        let doc = match self.prev {
            None => self.base + v,
            Some(prev) => prev + v,
        };
        self.prev = Some(doc);
        Some(doc)
    }
}

/// The segments of well-formed bytes, in order.
#[derive(Clone)]
struct Segments<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Iterator for Segments<'_> {
    type Item = Segment;

    fn next(&mut self) -> Option<Segment> {
        let start = self.at;
        let block = get_varint(self.bytes, &mut self.at)?;
        let len = u16::from_le_bytes([*self.bytes.get(self.at)?, *self.bytes.get(self.at + 1)?]) as usize;
        let body = self.at + 2;
        self.at = body + len;
        Some(Segment { block, start, body, end: self.at })
    }
}

/// Appends the segment of `members` (all in `block`); returns its body's length.
fn encode_segment(out: &mut Vec<u8>, block: u32, members: &[u32]) -> usize {
    put_varint(out, block);
    let len_at = out.len();
    out.extend_from_slice(&[0, 0]);
    let mut prev = None;
    for &doc in members {
        put_varint(out, prev.map_or(doc - (block << SEGMENT_BITS), |p| doc - p));
        prev = Some(doc);
    }
    let len = out.len() - len_at - 2;
    out[len_at..len_at + 2].copy_from_slice(&(len as u16).to_le_bytes());
    len
}

impl SparseList {
    pub fn len(&self) -> u64 {
        u64::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn segments(&self) -> Segments<'_> {
        Segments { bytes: &self.bytes, at: 0 }
    }

    /// Every member, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments().flat_map(|s| s.members(&self.bytes))
    }

    /// Adds `doc`: appended when greater than every member (the usual case), else its segment rewritten.
    /// `Err(Full)` when its segment would outgrow [`MAX_SEGMENT_BYTES`]; nothing is changed then.
    pub fn insert(&mut self, doc: u32) -> Result<(), Full> {
        let block = doc >> SEGMENT_BITS;
        if self.len == 0 || doc > self.last {
            let last_segment =
                if self.len == 0 { None } else { Segments { bytes: &self.bytes, at: self.tail as usize }.next() };
            match last_segment {
                Some(s) if s.block == block => {
                    let (gap, gap_len) = varint_bytes(doc - self.last);
                    let len = s.end - s.body + gap_len;
                    if len > MAX_SEGMENT_BYTES {
                        return Err(Full);
                    }
                    let at = s.body - 2;
                    self.bytes[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
                    self.grow_for(gap_len);
                    self.bytes.extend_from_slice(&gap[..gap_len]);
                }
                _ => {
                    self.grow_for(8);
                    self.tail = self.bytes.len() as u32;
                    encode_segment(&mut self.bytes, block, &[doc]);
                }
            }
            self.len += 1;
            self.last = doc;
            return Ok(());
        }
        self.rewrite(block, |members| match members.binary_search(&doc) {
            Ok(_) => false,
            Err(at) => {
                members.insert(at, doc);
                true
            }
        })
    }

    /// Makes room for `more` bytes, growing by a quarter rather than doubling: lists are most of the index.
    fn grow_for(&mut self, more: usize) {
        let capacity = grown(self.bytes.len(), self.bytes.capacity(), more);
        if capacity > self.bytes.capacity() {
            self.bytes.reserve_exact(capacity - self.bytes.len());
        }
    }

    /// Adds `docs` (increasing) as [`SparseList::insert`] of each in turn does, to the same bytes and the same
    /// capacity, but the members greater than every member (all of them, in a bulk build) in one go: the last
    /// segment's header read once, and the bytes grown once, to the capacity growing one member at a time
    /// would have reached. `Err(k)` when `docs[k]` would outgrow its segment ([`Full`]): the ones before it
    /// are added, nothing else is changed.
    pub fn insert_run(&mut self, docs: &[u32]) -> Result<(), usize> {
        let mut k = 0;
        while let Some(&doc) = docs.get(k).filter(|&&doc| self.len != 0 && doc <= self.last) {
            self.insert(doc).map_err(|Full| k)?;
            k += 1;
        }
        if k == docs.len() {
            return Ok(());
        }
        let docs = &docs[k..];
        // The last segment: its block, where its body starts and how long it is.
        let tail = if self.len == 0 { None } else { Segments { bytes: &self.bytes, at: self.tail as usize }.next() };
        let tail = tail.map(|s| (s.block, s.body, s.end - s.body));
        // First the bytes each member adds, and so how many fit and the capacity one at a time would reach.
        let (mut len, mut capacity, mut last, mut segment) = (self.bytes.len(), self.bytes.capacity(), self.last, tail);
        let mut fit = docs.len();
        for (i, &doc) in docs.iter().enumerate() {
            let block = doc >> SEGMENT_BITS;
            match &mut segment {
                Some((b, _, body_len)) if *b == block => {
                    let gap_len = varint_len(doc - last);
                    if *body_len + gap_len > MAX_SEGMENT_BYTES {
                        fit = i;
                        break;
                    }
                    *body_len += gap_len;
                    capacity = grown(len, capacity, gap_len);
                    len += gap_len;
                }
                _ => {
                    capacity = grown(len, capacity, 8);
                    let first = varint_len(doc - (block << SEGMENT_BITS));
                    len += varint_len(block) + 2 + first;
                    segment = Some((block, 0, first));
                }
            }
            last = doc;
        }
        if capacity > self.bytes.capacity() {
            self.bytes.reserve_exact(capacity - self.bytes.len());
        }
        // Then the bytes.
        let mut segment = tail;
        for &doc in &docs[..fit] {
            let block = doc >> SEGMENT_BITS;
            match &mut segment {
                Some((b, body, body_len)) if *b == block => {
                    let (gap, gap_len) = varint_bytes(doc - self.last);
                    *body_len += gap_len;
                    self.bytes[*body - 2..*body].copy_from_slice(&(*body_len as u16).to_le_bytes());
                    self.bytes.extend_from_slice(&gap[..gap_len]);
                }
                _ => {
                    self.tail = self.bytes.len() as u32;
                    let body_len = encode_segment(&mut self.bytes, block, &[doc]);
                    segment = Some((block, self.bytes.len() - body_len, body_len));
                }
            }
            self.len += 1;
            self.last = doc;
        }
        debug_assert_eq!((self.bytes.len(), self.bytes.capacity()), (len, capacity));
        if fit < docs.len() { Err(k + fit) } else { Ok(()) }
    }

    /// Takes `doc` out, if a member.
    pub fn remove(&mut self, doc: u32) {
        // Fewer members never make a segment longer.
        let _ = self.rewrite(doc >> SEGMENT_BITS, |members| match members.binary_search(&doc) {
            Ok(at) => {
                members.remove(at);
                true
            }
            Err(_) => false,
        });
    }

    /// Rewrites the segment of `block` (made if missing) with what `change` makes of its members, when it
    /// says it changed them.
    fn rewrite(&mut self, block: u32, change: impl FnOnce(&mut Vec<u32>) -> bool) -> Result<(), Full> {
        let found = self.segments().find(|s| s.block >= block);
        let (range, mut members) = match found {
            Some(s) if s.block == block => (s.start..s.end, s.members(&self.bytes).collect()),
            Some(s) => (s.start..s.start, Vec::new()),
            None => (self.bytes.len()..self.bytes.len(), Vec::new()),
        };
        let before = members.len();
        if !change(&mut members) {
            return Ok(());
        }
        let mut encoded = Vec::new();
        if !members.is_empty() && encode_segment(&mut encoded, block, &members) > MAX_SEGMENT_BYTES {
            return Err(Full);
        }
        self.bytes.splice(range, encoded);
        self.len = self.len + members.len() as u32 - before as u32;
        let tail = self.segments().last();
        self.tail = tail.map_or(0, |s| s.start as u32);
        self.last = tail.and_then(|s| s.members(&self.bytes).last()).unwrap_or(0);
        Ok(())
    }

    /// The members of `within`. `from` is where to start looking: the start of a segment before `within`'s
    /// range (or of a later one, and then the search starts over). It is left at the last segment before that
    /// range, so that ranges evaluated in increasing order read each segment's header about once in all.
    pub fn eval(&self, within: &RoaringBitmap, from: &Cell<usize>) -> RoaringBitmap {
        let (Some(min), Some(max)) = (within.min(), within.max()) else { return RoaringBitmap::new() };
        let mut segments = Segments { bytes: &self.bytes, at: from.get() };
        if segments.clone().next().is_none_or(|s| s.block > min >> SEGMENT_BITS) {
            segments.at = 0;
        }
        // Members are matched against `within` by walking both in order when `within` is small (an array
        // container), and by looking each up when it is large (a bitmap container: one bit test).
        let walk = within.len() <= WALK_WITHIN_UP_TO;
        let mut wanted = within.iter();
        let mut next_wanted = if walk { wanted.next() } else { None };
        let mut out = RoaringBitmap::new();
        'segments: for s in segments {
            if s.block < min >> SEGMENT_BITS {
                from.set(s.start);
                continue;
            }
            if s.block > max >> SEGMENT_BITS {
                break;
            }
            for doc in s.members(&self.bytes) {
                if doc > max {
                    break;
                }
                if walk {
                    // One step, then a search of the rest: `within` may be far denser than the list (a
                    // word-start range's rare grams within a block filtered to thousands).
                    if next_wanted.is_some_and(|w| w < doc) {
                        next_wanted = wanted.next();
                        if next_wanted.is_some_and(|w| w < doc) {
                            wanted.advance_to(doc);
                            next_wanted = wanted.next();
                        }
                    }
                    match next_wanted {
                        None => break 'segments,
                        Some(w) if w == doc => {
                            out.push(doc);
                        }
                        Some(_) => {}
                    }
                } else if within.contains(doc) {
                    out.push(doc);
                }
            }
        }
        out
    }

    pub fn to_bitmap(&self) -> RoaringBitmap {
        RoaringBitmap::from_sorted_iter(self.iter()).unwrap_or_default()
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }

    /// The encoded bytes, for a snapshot.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The list of `bytes` a snapshot holds, checked to be well formed: segments in increasing block order,
    /// each within bounds and not empty, members increasing within their block.
    pub fn from_bytes(bytes: Vec<u8>) -> io::Result<SparseList> {
        let bad = || invalid("a gram posting list that is not well formed");
        let (mut len, mut last, mut at, mut tail) = (0u32, None::<u32>, 0usize, 0usize);
        while at < bytes.len() {
            tail = at;
            let block = get_varint(&bytes, &mut at).ok_or_else(bad)?;
            if block > u32::MAX >> SEGMENT_BITS || last.is_some_and(|l| l >> SEGMENT_BITS >= block) {
                return Err(bad());
            }
            let body_len = match bytes.get(at..at + 2) {
                Some(b) => u16::from_le_bytes([b[0], b[1]]) as usize,
                None => return Err(bad()),
            };
            let (body, end) = (at + 2, at + 2 + body_len);
            if body_len == 0 || body_len > MAX_SEGMENT_BYTES || end > bytes.len() {
                return Err(bad());
            }
            let (base, mut prev, mut pos) = (block << SEGMENT_BITS, None::<u32>, body);
            while pos < end {
                let v = get_varint(&bytes[..end], &mut pos).ok_or_else(bad)?;
                let doc = match prev {
                    None => base.checked_add(v).filter(|_| v < 1 << SEGMENT_BITS),
                    Some(p) => p.checked_add(v).filter(|&d| v > 0 && d >> SEGMENT_BITS == block),
                }
                .ok_or_else(bad)?;
                prev = Some(doc);
                len += 1;
            }
            last = prev;
            at = end;
        }
        if bytes.len() > u32::MAX as usize {
            return Err(bad());
        }
        Ok(SparseList { bytes, len, last: last.unwrap_or(0), tail: tail as u32 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_removes_and_evaluates_like_a_set() {
        let mut list = SparseList::default();
        let mut model = std::collections::BTreeSet::new();
        let docs = [3u32, 4, 9, 17, 18, 100, 5, 2, 16, 1000, 999, 70_000, 65_536, 18];
        for doc in docs {
            list.insert(doc).unwrap();
            model.insert(doc);
            assert_eq!(list.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            assert_eq!(list.len(), model.len() as u64);
        }
        let within: RoaringBitmap = (0..20).chain(990..1001).collect();
        let expected: RoaringBitmap = model.iter().copied().filter(|d| within.contains(*d)).collect();
        assert_eq!(list.eval(&within, &Cell::new(0)), expected);
        assert_eq!(list.to_bitmap(), model.iter().copied().collect::<RoaringBitmap>());
        assert_eq!(SparseList::from_bytes(list.bytes().to_vec()).unwrap(), list);
        for doc in [4u32, 70_000, 1000, 7, 3, 9, 5, 2, 16, 17, 18, 100, 999, 65_536] {
            list.remove(doc);
            model.remove(&doc);
            assert_eq!(list.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            assert_eq!(list.len(), model.len() as u64);
        }
        assert!(list.is_empty() && list.bytes().is_empty());
        list.insert(5).unwrap();
        assert_eq!(list.iter().collect::<Vec<_>>(), [5]);
    }

    #[test]
    fn a_dense_segment_is_refused_unchanged() {
        let mut list = SparseList::default();
        let mut added = 0;
        while list.insert(added).is_ok() {
            added += 1;
        }
        assert_eq!(list.len(), u64::from(added));
        assert_eq!(list.iter().collect::<Vec<_>>(), (0..added).collect::<Vec<_>>());
        // Out of order too: a list full in its block refuses a member it lacks.
        let mut gappy = SparseList::default();
        for doc in (0..=MAX_SEGMENT_BYTES as u32).filter(|&d| d != 5) {
            gappy.insert(doc).unwrap();
        }
        let before = gappy.clone();
        assert_eq!(gappy.insert(5), Err(Full));
        assert_eq!(gappy, before);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Any mix of inserts and removes keeps the list equal to a set (or refused unchanged when a segment
        /// would overflow), and what it evaluates and writes out agrees.
        #[test]
        fn agrees_with_a_set(ops in proptest::collection::vec((proptest::bool::ANY, 0u32..300), 0..200),
                             within in proptest::collection::vec(0u32..300, 0..60)) {
            let mut list = SparseList::default();
            let mut model = std::collections::BTreeSet::new();
            for (add, doc) in ops {
                if add {
                    let before = list.clone();
                    match list.insert(doc) {
                        Ok(()) => { model.insert(doc); }
                        Err(Full) => proptest::prop_assert_eq!(&list, &before),
                    }
                } else {
                    list.remove(doc);
                    model.remove(&doc);
                }
                proptest::prop_assert_eq!(list.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
                proptest::prop_assert_eq!(list.len(), model.len() as u64);
            }
            let within: RoaringBitmap = within.into_iter().collect();
            let expected: RoaringBitmap = model.iter().copied().filter(|d| within.contains(*d)).collect();
            proptest::prop_assert_eq!(list.eval(&within, &Cell::new(0)), expected.clone());
            // Block by block with one cursor, as a walk does: forwards (each block twice, as a walk evaluates
            // its chain and its late users), then backwards (every step starts over).
            let blocks: Vec<RoaringBitmap> = (0..=(300u32 >> SEGMENT_BITS))
                .map(|b| within.iter().filter(|d| d >> SEGMENT_BITS == b).collect())
                .collect();
            let from = Cell::new(0);
            for block in blocks.iter().chain(blocks.iter().rev()).flat_map(|b| [b, b]) {
                proptest::prop_assert_eq!(list.eval(block, &from), &expected & block);
            }
            let read = SparseList::from_bytes(list.bytes().to_vec()).expect("its own bytes");
            proptest::prop_assert_eq!(&read, &list);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// A run added at once gives the list, the capacity and the refusal adding its members one by one
        /// gives.
        #[test]
        fn a_run_is_added_as_its_members_one_by_one(
            before in proptest::collection::vec(0u32..400, 0..60),
            runs in proptest::collection::vec(proptest::collection::vec(0u32..500, 0..40), 1..6),
        ) {
            // Built side by side (a clone would not keep the capacity).
            let (mut list, mut one_by_one) = (SparseList::default(), SparseList::default());
            for doc in before {
                let _ = list.insert(doc);
                let _ = one_by_one.insert(doc);
            }
            for mut run in runs {
                run.sort_unstable();
                run.dedup();
                let refused = run.iter().position(|&doc| one_by_one.insert(doc).is_err());
                proptest::prop_assert_eq!(list.insert_run(&run).err(), refused);
                proptest::prop_assert_eq!(&list, &one_by_one);
                proptest::prop_assert_eq!(list.heap_bytes(), one_by_one.heap_bytes());
                if refused.is_some() {
                    break;
                }
            }
        }
    }

    #[test]
    fn malformed_bytes_are_refused() {
        for bytes in [
            vec![0u8],
            vec![0, 1],
            vec![0, 1, 0],
            vec![0, 0, 0],
            vec![0, 2, 0, 3, 0],
            vec![0, 1, 0, 16],
            vec![1, 1, 0, 3, 0, 1, 0, 3],
            vec![0, 2, 0, 3, 15],
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0],
        ] {
            assert!(SparseList::from_bytes(bytes.clone()).is_err(), "{bytes:?}");
        }
        let list = SparseList::from_bytes(vec![0, 2, 0, 3, 1, 2, 1, 0, 0]).unwrap();
        assert_eq!(list.iter().collect::<Vec<_>>(), [3, 4, 32]);
    }
}
