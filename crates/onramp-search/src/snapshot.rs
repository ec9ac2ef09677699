//! The index written out and read back as built: its arrays as flat little-endian arrays, its bitmaps in
//! roaring's own serialization, the word table as its slots with the hasher that placed them, and the other
//! hash tables as the entries they hold (rebuilt on reading: they are small, and their hashers are seeded
//! per process). Reading costs about a read of the bytes: nothing is normalised, hashed again or re-indexed.
//!
//! This is the index's part of a snapshot file; the file's header, feed position and checksum are the
//! caller's (`onramp-core`'s `search::snapshot`). [`LAYOUT`] names this layout: any change to what is written
//! here, or to the structures it mirrors, must change it, so that older files are ignored rather than
//! misread. A read fails (never panics, never allocates more than the bytes left could hold) on bytes this
//! module did not write, but it does not prove them right: the caller's checksum does.

use std::io::{self, Read, Write};

use std::collections::BTreeMap;

use onramp_domain::Id;
use onramp_domain::user::{UserOrigin, UserStatus, UserType};
use roaring::RoaringBitmap;

use crate::grams::Grams;
use crate::index::{Doc, Index, MAX_DOMAINS, Profile, TEXT_END, is_domain_byte};
use crate::tables::{Facet, Profiles, WordTable};

/// The layout of [`crate::Index::write_snapshot`]'s bytes.
pub const LAYOUT: u32 = 6;

/// How many fixed-size records are converted at a time (`Out::records`, `In::records`).
const RECORDS_A_CHUNK: usize = 1 << 14;

/// Writes the parts of a snapshot.
pub(crate) struct Out<'w> {
    w: &'w mut dyn Write,
}

impl<'w> Out<'w> {
    pub fn new(w: &'w mut dyn Write) -> Self {
        Out { w }
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)
    }

    pub fn u8(&mut self, v: u8) -> io::Result<()> {
        self.bytes(&[v])
    }

    pub fn u16(&mut self, v: u16) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u32(&mut self, v: u32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn len(&mut self, n: usize) -> io::Result<()> {
        self.u64(n as u64)
    }

    pub fn id(&mut self, id: &Id) -> io::Result<()> {
        self.bytes(id.as_bytes())
    }

    /// A length and the bytes.
    pub fn blob(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len(bytes.len())?;
        self.bytes(bytes)
    }

    pub fn u32s(&mut self, values: &[u32]) -> io::Result<()> {
        self.len(values.len())?;
        self.records(values, |v| v.to_le_bytes())
    }

    /// `values` as `record` writes each in `N` bytes (no count before them), a chunk at a time.
    pub fn records<T, const N: usize>(&mut self, values: &[T], record: impl Fn(&T) -> [u8; N]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(values.len().min(RECORDS_A_CHUNK) * N);
        for chunk in values.chunks(RECORDS_A_CHUNK) {
            buf.clear();
            for v in chunk {
                buf.extend_from_slice(&record(v));
            }
            self.bytes(&buf)?;
        }
        Ok(())
    }

    pub fn bitmap(&mut self, bitmap: &RoaringBitmap) -> io::Result<()> {
        self.len(bitmap.serialized_size())?;
        bitmap.serialize_into(&mut *self.w)
    }

    pub fn bitmaps(&mut self, bitmaps: &[RoaringBitmap]) -> io::Result<()> {
        self.len(bitmaps.len())?;
        bitmaps.iter().try_for_each(|b| self.bitmap(b))
    }
}

pub(crate) fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads the parts of a snapshot from at most `left` bytes.
pub(crate) struct In<'r> {
    r: &'r mut dyn Read,
    left: u64,
}

impl Read for In<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.r.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl<'r> In<'r> {
    pub fn new(r: &'r mut dyn Read, left: u64) -> Self {
        In { r, left }
    }

    pub fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> io::Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn usize(&mut self) -> io::Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| invalid("a size beyond this machine"))
    }

    /// A count of items of at least `item_bytes` bytes each, refused when the bytes left cannot hold them.
    pub fn len(&mut self, item_bytes: u64) -> io::Result<usize> {
        let n = self.u64()?;
        if n.saturating_mul(item_bytes.max(1)) > self.left {
            return Err(invalid(format!("{n} items do not fit in the {} bytes left", self.left)));
        }
        usize::try_from(n).map_err(|_| invalid("a count beyond this machine"))
    }

    pub fn id(&mut self) -> io::Result<Id> {
        Ok(Id::from_bytes(self.array()?))
    }

    pub fn blob(&mut self) -> io::Result<Vec<u8>> {
        let n = self.len(1)?;
        let mut buf = vec![0u8; n];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    pub fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.blob()?).map_err(|_| invalid("text that is not UTF-8"))
    }

    pub fn u32s(&mut self) -> io::Result<Vec<u32>> {
        let n = self.len(4)?;
        self.records(n, u32::from_le_bytes)
    }

    /// `n` records of `N` bytes each, as [`Out::records`] wrote them, made into values by `record`. The caller
    /// has checked that the bytes left can hold them (`len`).
    pub fn records<T, const N: usize>(&mut self, n: usize, record: impl Fn([u8; N]) -> T) -> io::Result<Vec<T>> {
        let mut out = Vec::with_capacity(n);
        let mut buf = vec![0u8; n.min(RECORDS_A_CHUNK) * N];
        let mut left = n;
        while left > 0 {
            let take = left.min(RECORDS_A_CHUNK);
            self.read_exact(&mut buf[..take * N])?;
            out.extend(buf[..take * N].chunks_exact(N).map(|c| record(c.try_into().expect("N bytes"))));
            left -= take;
        }
        Ok(out)
    }

    pub fn bitmap(&mut self) -> io::Result<RoaringBitmap> {
        let size = self.len(1)? as u64;
        let before = self.left;
        let bitmap = RoaringBitmap::deserialize_from(&mut *self)?;
        if before - self.left != size {
            return Err(invalid("a bitmap of another size than announced"));
        }
        Ok(bitmap)
    }

    pub fn bitmaps(&mut self) -> io::Result<Vec<RoaringBitmap>> {
        // A serialized bitmap takes at least its 8-byte size and 8-byte header.
        let n = self.len(16)?;
        (0..n).map(|_| self.bitmap()).collect()
    }
}

/// Checks that every user's text starts in the arena and ends in it, and names only domains that are there.
fn check_texts(docs: &[Doc], text: &str, domains: &[String]) -> io::Result<()> {
    if !text.is_empty() && !text.ends_with(TEXT_END) {
        return Err(invalid("a text arena cut short"));
    }
    let first_unnamed = 3 + domains.len();
    if text.bytes().any(|b| is_domain_byte(b) && usize::from(b) >= first_unnamed) {
        return Err(invalid("a text naming a domain that is not there"));
    }
    for d in docs {
        let start = d.text as usize;
        if start >= text.len() || !text.is_char_boundary(start) {
            return Err(invalid("a user record naming values that are not there"));
        }
    }
    Ok(())
}

/// The bytes of one written `Doc`.
const DOC_BYTES: usize = 12 + 4 * 2;

impl Index {
    /// Writes the index as built (see the module doc) to `w`.
    pub fn write_snapshot(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut out = Out::new(w);
        out.len(self.docs.len())?;
        out.records(&self.docs, |d| {
            let mut record = [0u8; DOC_BYTES];
            record[..12].copy_from_slice(d.id.as_bytes());
            record[12..16].copy_from_slice(&d.text.to_le_bytes());
            record[16..].copy_from_slice(&d.profile.to_le_bytes());
            record
        })?;
        out.u32s(&self.chain)?;
        out.bitmap(&self.late)?;
        out.len(self.late_order.len())?;
        for (&(successor, id), &doc) in &self.late_order {
            out.u32(successor)?;
            out.id(&id)?;
            out.u32(doc)?;
        }
        out.bitmaps(&self.late_by_block)?;
        out.blob(self.text.as_bytes())?;
        out.len(self.text_garbage)?;
        out.len(self.domains.len())?;
        for domain in &self.domains {
            out.blob(domain.as_bytes())?;
        }
        self.profiles.write_snapshot(&mut out)?;
        self.grams.write_snapshot(&mut out)?;
        self.words.write_snapshot(&mut out)?;
        out.bitmaps(&self.statuses)?;
        out.bitmaps(&self.types)?;
        out.bitmaps(&self.origins)?;
        self.roles.write_snapshot(&mut out)?;
        self.managers.write_snapshot(&mut out)?;
        self.sources.write_snapshot(&mut out)?;
        self.delegates.write_snapshot(&mut out)?;
        self.departments.write_snapshot(&mut out)?;
        self.job_titles.write_snapshot(&mut out)?;
        out.bitmap(&self.has_delegate)?;
        out.bitmap(&self.is_delegate)
    }

    /// Reads an index [`Index::write_snapshot`] wrote, from at most `max_bytes` of `r`; returns it with the
    /// bytes it took. Fails on bytes it could not have written (see the module doc).
    pub fn read_snapshot(r: &mut dyn Read, max_bytes: u64) -> io::Result<(Index, u64)> {
        let mut input = In::new(r, max_bytes);
        let index = Index::read_parts(&mut input)?;
        Ok((index, max_bytes - input.left))
    }

    fn read_parts(input: &mut In<'_>) -> io::Result<Index> {
        let n = input.len(DOC_BYTES as u64)?;
        let docs = input.records(n, |b: [u8; DOC_BYTES]| {
            let u = |i: usize| u32::from_le_bytes([b[12 + 4 * i], b[13 + 4 * i], b[14 + 4 * i], b[15 + 4 * i]]);
            let id: [u8; 12] = b[..12].try_into().expect("12 bytes");
            Doc { id: Id::from_bytes(id), text: u(0), profile: u(1) }
        })?;
        let chain = input.u32s()?;
        let late = input.bitmap()?;
        let n = input.len(20)?;
        let mut late_order = BTreeMap::new();
        for _ in 0..n {
            let successor = input.u32()?;
            let id = input.id()?;
            late_order.insert((successor, id), input.u32()?);
        }
        let late_by_block = input.bitmaps()?;
        let text = input.string()?;
        let text_garbage = input.usize()?;
        let n = input.len(8)?;
        if n > MAX_DOMAINS {
            return Err(invalid("more domains than have characters"));
        }
        let domains = (0..n).map(|_| input.string()).collect::<io::Result<Vec<_>>>()?;
        // What the profiles name is checked once it is read (`check`).
        let profiles = Profiles::read_snapshot(input, docs.iter().map(|d| d.profile))?;
        let grams = Grams::read_snapshot(input)?;
        check_texts(&docs, &text, &domains)?;
        let words = WordTable::read_snapshot(input, docs.len())?;
        let statuses = input.bitmaps()?;
        let types = input.bitmaps()?;
        let origins = input.bitmaps()?;
        let index = Index {
            docs,
            chain,
            late,
            late_order,
            late_by_block,
            text,
            text_garbage,
            domains,
            profiles,
            grams,
            words,
            statuses,
            types,
            origins,
            roles: Facet::read_snapshot(input)?,
            managers: Facet::read_snapshot(input)?,
            sources: Facet::read_snapshot(input)?,
            delegates: Facet::read_snapshot(input)?,
            departments: Facet::read_snapshot(input)?,
            job_titles: Facet::read_snapshot(input)?,
            has_delegate: input.bitmap()?,
            is_delegate: input.bitmap()?,
            ..Index::default()
        };
        index.check()?;
        Ok(index)
    }

    /// Checks what a search or an upsert would index by: every number a record holds names something.
    fn check(&self) -> io::Result<()> {
        let docs = self.docs.len();
        if self.statuses.len() != UserStatus::ALL.len()
            || self.types.len() != UserType::ALL.len()
            || self.origins.len() != UserOrigin::ALL.len()
        {
            return Err(invalid("status, type or origin postings of another number"));
        }
        let doc_ok = |doc: u32| (doc as usize) < docs;
        if !self.chain.iter().all(|&d| doc_ok(d))
            || !self.late_order.iter().all(|(&(s, _), &d)| doc_ok(s) && doc_ok(d))
            || self.late.max().is_some_and(|d| !doc_ok(d))
            || self.chain.len() + self.late.len() as usize != docs
        {
            return Err(invalid("id order naming users that are not there"));
        }
        for record in self.profiles.records() {
            let p = Profile(record);
            let (roles, managers, sources) = p.lists();
            if record[0] as usize >= UserStatus::ALL.len()
                || record[1] as usize >= UserType::ALL.len()
                || record[2] as usize >= UserOrigin::ALL.len()
                || record[3] as usize >= self.departments.len()
                || record[4] as usize >= self.job_titles.len()
                || (p.delegate() != u32::MAX && p.delegate() as usize >= self.delegates.len())
                || roles.iter().any(|&k| k as usize >= self.roles.len())
                || managers.iter().any(|&k| k as usize >= self.managers.len())
                || sources.iter().any(|&k| k as usize >= self.sources.len())
            {
                return Err(invalid("a user's profile naming values that are not there"));
            }
        }
        Ok(())
    }

    /// Whether two indexes hold the same records and postings (the scratch space aside).
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &Index) -> bool {
        self.docs == other.docs
            && self.chain == other.chain
            && self.late == other.late
            && self.late_order == other.late_order
            && self.late_by_block == other.late_by_block
            && self.text == other.text
            && self.text_garbage == other.text_garbage
            && self.domains == other.domains
            && self.profiles.same_as(&other.profiles)
            && self.grams.same_as(&other.grams)
            && self.words.same_as(&other.words)
            && self.statuses == other.statuses
            && self.types == other.types
            && self.origins == other.origins
            && self.roles.same_as(&other.roles)
            && self.managers.same_as(&other.managers)
            && self.sources.same_as(&other.sources)
            && self.delegates.same_as(&other.delegates)
            && self.departments.same_as(&other.departments)
            && self.job_titles.same_as(&other.job_titles)
            && self.has_delegate == other.has_delegate
            && self.is_delegate == other.is_delegate
    }
}
