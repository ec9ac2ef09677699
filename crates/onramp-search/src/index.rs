//! The index: per-user records, the text postings and the filter bitmaps, their upkeep on upsert, and the
//! search by rank.
//!
//! Users are numbered in insertion order (`u32` "doc numbers"). Text: 4-gram and word-start postings
//! (`grams.rs`) and a dictionary of whole words (`tables.rs`); filters: a roaring bitmap per status, type,
//! origin, and per value of every list filter (`Facet`). What a user is matched on is also kept, normalised,
//! in one text arena, so that candidates found through postings are checked exactly (`text.rs`) and an upsert
//! can take the old values out of every posting.
//!
//! A search evaluates its filters and then, rank by rank, the candidates of that rank as an expression over
//! postings (`expr.rs`), walked in id order from the cursor one block of doc numbers at a time and checked
//! until the page is full (`walk.rs`). Exact matches come straight from the word postings; the other ranks
//! exclude them and check each candidate.
//!
//! Results come in id order while doc numbers come in insertion order. Users inserted with an id greater than
//! every indexed id form the "chain", in which doc-number order is id order; the others ("late") are kept
//! apart and merged in by id (see `walk.rs`).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::mem::size_of;
use std::sync::{Mutex, PoisonError};

use onramp_domain::Id;
use onramp_domain::user::{UserOrigin, UserStatus, UserType};
use roaring::RoaringBitmap;

use crate::batch::GramThread;
use crate::expr::Node;
use crate::grams::{Grams, prefix_parts, substring_parts};
use crate::normalize::{normalize_into, words};
use crate::tables::{DocWords, Facet, MAX_DOC, PROFILE_HEAD, Posting, Profiles, WordTable, bitmap_heap, push_growing};
use crate::text::{
    EMAIL_SEP, MIN_QUERY_CHARS, QueryWord, TextQuery, USERNAME_SEP, doc_words, emails, fields, has_rank,
};
use crate::walk::{BLOCK_BITS, Candidates, FilterCache, Filtered, Searching};
use crate::{Cursor, Entry, Hit, Page, Query, QueryError, Rank};

/// "No value" in `u32` fields.
const NONE: u32 = u32::MAX;

/// Ends each user's text in the arena.
pub(crate) const TEXT_END: char = '\u{2}';
/// The first of the characters that stand for `@` and an email domain in the arena (see `push_text`).
const FIRST_DOMAIN: u8 = 3;
/// The first of the characters that stand for a copy of earlier bytes of the same text (see `push_text`).
const FIRST_COPY: u8 = 0x18;
/// How many domains have a character of their own: the first ones seen (a tenant's users mostly share a few).
pub(crate) const MAX_DOMAINS: usize = (FIRST_COPY - FIRST_DOMAIN) as usize;
/// The shortest and longest copy, in bytes.
const MIN_COPY: usize = 4;
const MAX_COPY: usize = MIN_COPY + (0x20 - FIRST_COPY) as usize - 1;
/// How far back a copy may start: its distance `d` is written as the printable byte `0x1f + d`.
const MAX_DISTANCE: usize = 0x7f - 0x1f;

/// What the index keeps of one user besides its postings: 20 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Doc {
    pub id: Id,
    /// Where the user's text starts in the arena: normalised display name, emails and usernames (see
    /// `text::fields`), encoded as `push_text` says, up to `TEXT_END`.
    pub(crate) text: u32,
    /// The user's filter values: a key in `profiles` (see `tables::Profiles`).
    pub(crate) profile: u32,
}

/// A user's filter values, as a profile record reads them.
#[derive(Clone, Copy)]
pub(crate) struct Profile<'a>(pub(crate) &'a [u32]);

impl<'a> Profile<'a> {
    fn status(self) -> u8 {
        self.0[0] as u8
    }
    fn user_type(self) -> u8 {
        self.0[1] as u8
    }
    fn origin(self) -> u8 {
        self.0[2] as u8
    }
    fn department(self) -> u32 {
        self.0[3]
    }
    fn job_title(self) -> u32 {
        self.0[4]
    }
    /// Key in `delegates`, or `NONE`.
    pub(crate) fn delegate(self) -> u32 {
        self.0[5]
    }
    /// Role keys, manager keys and source app keys.
    pub(crate) fn lists(self) -> (&'a [u32], &'a [u32], &'a [u32]) {
        let keys = &self.0[PROFILE_HEAD..];
        let (roles, rest) = keys.split_at(self.0[6] as usize);
        let (managers, sources) = rest.split_at(self.0[7] as usize);
        (roles, managers, sources)
    }
}

/// A user's new values, normalised and with filter values numbered.
struct Prepared {
    text: String,
    profile: Vec<u32>,
}

/// The index of one tenant's users.
pub struct Index {
    pub(crate) docs: Vec<Doc>,
    /// Doc numbers whose ids increase with them, in order.
    pub(crate) chain: Vec<u32>,
    /// Doc numbers not in `chain`.
    pub(crate) late: RoaringBitmap,
    /// Late users by (successor, id): the successor is the first chain user with a greater id.
    pub(crate) late_order: BTreeMap<(u32, Id), u32>,
    /// Late doc numbers by the block of their successor in the chain (see `walk.rs`).
    pub(crate) late_by_block: Vec<RoaringBitmap>,
    /// Every user's text, each ended by `TEXT_END` (see `push_text`).
    pub(crate) text: String,
    pub(crate) text_garbage: usize,
    /// The email domains with a character of their own in `text`, in the order of their characters.
    pub(crate) domains: Vec<String>,
    pub(crate) profiles: Profiles,
    pub(crate) grams: Grams,
    pub(crate) words: WordTable,
    pub(crate) statuses: Vec<RoaringBitmap>,
    pub(crate) types: Vec<RoaringBitmap>,
    pub(crate) origins: Vec<RoaringBitmap>,
    pub(crate) roles: Facet<Id>,
    pub(crate) managers: Facet<Id>,
    pub(crate) sources: Facet<Id>,
    /// Delegate → the users delegating to it.
    pub(crate) delegates: Facet<Id>,
    pub(crate) departments: Facet<String>,
    pub(crate) job_titles: Facet<String>,
    pub(crate) has_delegate: RoaringBitmap,
    pub(crate) is_delegate: RoaringBitmap,
    pub(crate) scratch_grams: Vec<u64>,
    pub(crate) scratch_old_grams: Vec<u64>,
    /// The hashes of a new user's words (see `WordTable::warm`).
    pub(crate) scratch_hashes: Vec<u64>,
    /// Where a new user's words are in its text: (start, end) in bytes.
    pub(crate) scratch_words: Vec<(u32, u32)>,
    pub(crate) scratch_field: String,
    /// The buffer a user's new text is prepared in, kept between upserts.
    pub(crate) scratch_text: String,
    /// During [`Index::upsert_all`] on two threads, the thread `grams` is lent to (and `grams` is empty).
    pub(crate) gram_thread: Option<GramThread>,
    /// Recent searches' filters (see `walk.rs`), emptied by every change.
    pub(crate) filter_cache: Mutex<FilterCache>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            docs: Vec::new(),
            chain: Vec::new(),
            late: RoaringBitmap::new(),
            late_order: BTreeMap::new(),
            late_by_block: Vec::new(),
            text: String::new(),
            text_garbage: 0,
            domains: Vec::new(),
            profiles: Profiles::default(),
            grams: Grams::default(),
            words: WordTable::default(),
            statuses: vec![RoaringBitmap::new(); UserStatus::ALL.len()],
            types: vec![RoaringBitmap::new(); UserType::ALL.len()],
            origins: vec![RoaringBitmap::new(); UserOrigin::ALL.len()],
            roles: Facet::default(),
            managers: Facet::default(),
            sources: Facet::default(),
            delegates: Facet::default(),
            departments: Facet::default(),
            job_titles: Facet::default(),
            has_delegate: RoaringBitmap::new(),
            is_delegate: RoaringBitmap::new(),
            scratch_grams: Vec::new(),
            scratch_old_grams: Vec::new(),
            scratch_hashes: Vec::new(),
            scratch_words: Vec::new(),
            scratch_field: String::new(),
            scratch_text: String::new(),
            gram_thread: None,
            filter_cache: Mutex::default(),
        }
    }
}

pub(crate) fn status_index(status: UserStatus) -> usize {
    UserStatus::ALL.iter().position(|s| *s == status).expect("every status is in ALL")
}

pub(crate) fn type_index(user_type: UserType) -> usize {
    UserType::ALL.iter().position(|t| *t == user_type).expect("every type is in ALL")
}

pub(crate) fn origin_index(origin: UserOrigin) -> usize {
    UserOrigin::ALL.iter().position(|o| *o == origin).expect("every origin is in ALL")
}

fn set(bitmap: &mut RoaringBitmap, doc: u32, on: bool) {
    if on {
        bitmap.insert(doc);
    } else {
        bitmap.remove(doc);
    }
}

/// Appends a user's text (normalised, see `text::fields`) to the arena, ended by `TEXT_END`, and returns where
/// it starts. Normalised text has no control characters, so control characters code it (`decode_text` gives it
/// back exactly):
/// - a field ending in `@` and a domain of `domains` (or one added to it while it has room) keeps the domain's
///   character instead, `FIRST_DOMAIN + i` for `domains[i]`;
/// - 4 to 11 bytes that appeared earlier in the text, from a word's start or a change between letters and
///   digits to the same at most `MAX_DISTANCE` bytes back, are the character `FIRST_COPY + length - 4` and
///   the distance as a printable byte (the email repeats the name, the username the email's number).
fn push_text(arena: &mut String, domains: &mut Vec<String>, text: &str) -> u32 {
    let start = u32::try_from(arena.len()).expect("text arena under 4 GiB");
    if arena.capacity() - arena.len() < text.len() + 1 {
        // Grow by a sixteenth rather than double: the arena is a large part of the index.
        arena.reserve_exact((text.len() + 1).max(arena.len() / 16));
    }
    // The coded domains: where their `@` is, where their field ends, and their character.
    let mut coded: Vec<(usize, usize, char)> = Vec::new();
    let mut at = 0;
    for field in text.split([EMAIL_SEP, USERNAME_SEP]) {
        let end = at + field.len();
        let domain = field.rfind('@').filter(|&a| a + 1 < field.len());
        if let Some((a, c)) = domain.and_then(|a| Some((a, domain_char(domains, &field[a + 1..])?))) {
            coded.push((at + a, end, c));
        }
        at = end + 1;
    }
    let bytes = text.as_bytes();
    let mut anchors: Vec<usize> = Vec::new();
    let (mut i, mut next) = (0, 0);
    while i < bytes.len() {
        if let Some(&(from, to, c)) = coded.get(next).filter(|d| d.0 == i) {
            debug_assert!(from == i);
            arena.push(c);
            i = to;
            next += 1;
            continue;
        }
        if is_anchor(bytes, i) {
            let limit = coded.get(next).map_or(bytes.len(), |d| d.0);
            if let Some((distance, len)) = best_copy(text, i, limit, &anchors) {
                anchors.push(i);
                arena.push(char::from(FIRST_COPY + (len - MIN_COPY) as u8));
                arena.push(char::from(0x1f + distance as u8));
                i += len;
                continue;
            }
            anchors.push(i);
        }
        let c = text[i..].chars().next().expect("a character at a boundary");
        arena.push(c);
        i += c.len_utf8();
    }
    arena.push(TEXT_END);
    start
}

/// Whether a copy may start at, or be taken from, byte `i`: a letter or digit after a byte of another kind.
fn is_anchor(bytes: &[u8], i: usize) -> bool {
    let kind = |b: u8| match b {
        b'0'..=b'9' => 1,
        b if b.is_ascii_alphabetic() || b >= 0x80 => 2,
        _ => 0,
    };
    let k = kind(bytes[i]);
    k != 0 && (i == 0 || kind(bytes[i - 1]) != k)
}

/// The longest copy (distance, length) for the bytes of `text` from `i` up to `limit`, from an anchor before.
fn best_copy(text: &str, i: usize, limit: usize, anchors: &[usize]) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut best: Option<(usize, usize)> = None;
    for &j in anchors.iter().rev() {
        let distance = i - j;
        if distance > MAX_DISTANCE {
            break;
        }
        // Never overlapping what it copies, and ending at a character's end.
        let most = MAX_COPY.min(distance).min(limit - i);
        let mut len = bytes[j..j + most].iter().zip(&bytes[i..i + most]).take_while(|(a, b)| a == b).count();
        while len > 0 && !text.is_char_boundary(i + len) {
            len -= 1;
        }
        if len >= MIN_COPY && best.is_none_or(|b| len > b.1) {
            best = Some((distance, len));
        }
    }
    best
}

/// The character of `domain`, numbering it if there is room.
fn domain_char(domains: &mut Vec<String>, domain: &str) -> Option<char> {
    let i = match domains.iter().position(|d| d == domain) {
        Some(i) => i,
        None if domains.len() < MAX_DOMAINS => {
            domains.push(domain.to_string());
            domains.len() - 1
        }
        None => return None,
    };
    Some(char::from(FIRST_DOMAIN + i as u8))
}

/// The users' texts, as the word table reads its inline words back.
pub(crate) struct DocTexts<'a> {
    pub(crate) docs: &'a [Doc],
    pub(crate) text: &'a str,
    pub(crate) domains: &'a [String],
}

thread_local! {
    /// The buffer a user's text is decoded into to read its words back (a typo search reads hundreds), kept
    /// per thread rather than allocated each time; a call made meanwhile (none is) would take a new one.
    static DECODED: Cell<String> = const { Cell::new(String::new()) };
}

impl DocTexts<'_> {
    /// Calls `f` with the user's normalised text, decoded into the thread's buffer.
    fn with_text(&self, doc: u32, f: impl FnOnce(&str)) {
        let Some(d) = self.docs.get(doc as usize) else { return };
        let rest = &self.text[d.text as usize..];
        let mut text = DECODED.take();
        decode_text(&rest[..rest.find(TEXT_END).unwrap_or(rest.len())], self.domains, &mut text);
        f(&text);
        DECODED.set(text);
    }
}

impl DocWords for DocTexts<'_> {
    fn with_word(&self, doc: u32, index: u8, f: &mut dyn FnMut(&str)) {
        self.with_text(doc, |text| {
            if let Some(word) = words(text).nth(usize::from(index)) {
                f(word);
            }
        });
    }

    fn for_each_word(&self, doc: u32, f: &mut dyn FnMut(usize, &str)) {
        self.with_text(doc, |text| {
            for (i, word) in words(text).enumerate() {
                f(i, word);
            }
        });
    }
}

/// Whether `b` is a domain's character.
pub(crate) fn is_domain_byte(b: u8) -> bool {
    (FIRST_DOMAIN..FIRST_COPY).contains(&b)
}

/// The text `push_text` stored as `raw` (without its `TEXT_END`), into `out`. Bytes it did not write give some
/// text, never a panic.
pub(crate) fn decode_text(raw: &str, domains: &[String], out: &mut String) {
    out.clear();
    let bytes = raw.as_bytes();
    let (mut from, mut i) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if !(FIRST_DOMAIN..0x20).contains(&b) {
            i += 1;
            continue;
        }
        out.push_str(&raw[from..i]);
        if b < FIRST_COPY {
            out.push('@');
            out.push_str(domains.get(usize::from(b - FIRST_DOMAIN)).map_or("", String::as_str));
            i += 1;
        } else {
            let len = usize::from(b - FIRST_COPY) + MIN_COPY;
            let distance = bytes.get(i + 1).map_or(0, |&d| usize::from(d.saturating_sub(0x1f)));
            let at = out.len().saturating_sub(distance);
            if distance > 0 && at + len <= out.len() && out.is_char_boundary(at) && out.is_char_boundary(at + len) {
                let mut copy = [0u8; MAX_COPY];
                copy[..len].copy_from_slice(&out.as_bytes()[at..at + len]);
                out.push_str(std::str::from_utf8(&copy[..len]).unwrap_or(""));
            }
            i += 2;
        }
        from = i.min(bytes.len());
    }
    out.push_str(&raw[from..]);
}

impl Index {
    pub fn new() -> Self {
        Index::default()
    }

    /// Number of users indexed (deleted ones included).
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The doc number of `id`, if indexed.
    pub(crate) fn lookup(&self, id: Id) -> Option<u32> {
        let pos = self.chain.partition_point(|&d| self.docs[d as usize].id < id);
        let &next = self.chain.get(pos)?;
        if self.docs[next as usize].id == id {
            return Some(next);
        }
        // Not in the chain: a late user, if any, has this chain user as successor.
        self.late_order.get(&(next, id)).copied()
    }

    /// A user's text as the arena holds it (see `push_text`), without its `TEXT_END`.
    pub(crate) fn raw_text(&self, doc: u32) -> &str {
        let start = self.docs[doc as usize].text as usize;
        let rest = &self.text[start..];
        &rest[..rest.find(TEXT_END).unwrap_or(rest.len())]
    }

    /// A user's normalised text (see `text::fields`), into `out`; returns it.
    pub(crate) fn doc_text<'s>(&self, doc: u32, out: &'s mut String) -> &'s str {
        decode_text(self.raw_text(doc), &self.domains, out);
        out
    }

    /// Whether `email` (normalised) is one of a user's emails.
    pub(crate) fn has_email(&self, doc: u32, email: &str, scratch: &mut String) -> bool {
        emails(self.doc_text(doc, scratch)).any(|e| e == email)
    }

    pub(crate) fn texts(&self) -> DocTexts<'_> {
        DocTexts { docs: &self.docs, text: &self.text, domains: &self.domains }
    }

    pub(crate) fn profile(&self, doc: u32) -> Profile<'_> {
        Profile(self.profiles.get(self.docs[doc as usize].profile))
    }

    /// Prepares the index for many upserts in a row (a build from scratch, the load from the change feed)
    /// until [`Index::finish_bulk`]: meanwhile the word table keeps every slot's full hash (8 bytes a slot),
    /// so that growing it reads no user's text back, and new users' grams are added to their postings in
    /// batches (see `batch.rs`; a few MiB). The index answers, and ends up, the same as without; only a
    /// snapshot is refused until the end.
    pub fn start_bulk(&mut self) {
        let texts = DocTexts { docs: &self.docs, text: &self.text, domains: &self.domains };
        self.words.start_building(&texts);
        self.grams.start_batching();
    }

    /// Applies what [`Index::start_bulk`] left waiting and gives back the memory it took.
    pub fn finish_bulk(&mut self) {
        self.words.stop_building();
        self.grams.stop_batching();
    }

    /// Upserts every entry, as [`Index::upsert`] one after another does. During a bulk build of many users
    /// ([`Index::start_bulk`]) on two threads: a second one computes new users' grams and adds them to their
    /// postings while this one goes on with their words, records and filters (see `batch.rs`); the index ends
    /// up the same.
    pub fn upsert_all(&mut self, entries: impl IntoIterator<Item = Entry>) {
        /// Fewer entries are not worth starting a thread for (under test, one is).
        const TWO_THREADS_FROM: usize = if cfg!(test) { 1 } else { 4096 };
        /// Calls the gram table home at the end, and if an upsert panics (the index stays whole).
        struct Home<'a>(&'a mut Index);
        impl Drop for Home<'_> {
            fn drop(&mut self) {
                self.0.call_grams_home();
            }
        }
        let entries = entries.into_iter();
        if entries.size_hint().0 >= TWO_THREADS_FROM && self.grams.batching() && self.gram_thread.is_none() {
            self.gram_thread = Some(GramThread::start(std::mem::take(&mut self.grams)));
        }
        let home = Home(self);
        for entry in entries {
            home.0.upsert(entry);
        }
    }

    /// Adds the user, or replaces the entry with the same id.
    pub fn upsert(&mut self, entry: Entry) {
        self.filter_cache.get_mut().unwrap_or_else(PoisonError::into_inner).clear();
        let prepared = self.prepare(&entry);
        let newest = self.chain.last().is_none_or(|&last| self.docs[last as usize].id < entry.id);
        match if newest { None } else { self.lookup(entry.id) } {
            None => self.insert_new(entry.id, prepared),
            Some(doc) => self.replace(doc, prepared),
        }
    }

    fn prepare(&mut self, entry: &Entry) -> Prepared {
        let mut text = std::mem::take(&mut self.scratch_text);
        text.clear();
        normalize_into(&entry.display_name, &mut text);
        let mut field = std::mem::take(&mut self.scratch_field);
        for (sep, values) in [(EMAIL_SEP, &entry.emails), (USERNAME_SEP, &entry.usernames)] {
            let group_start = text.len();
            for value in values {
                field.clear();
                normalize_into(value, &mut field);
                if field.is_empty() || text[group_start..].split(sep).any(|f| f == field) {
                    continue;
                }
                text.push(sep);
                text.push_str(&field);
            }
        }
        let keys = |facet: &mut Facet<Id>, ids: &[Id]| {
            let mut keys: Vec<u32> = ids.iter().map(|id| facet.intern(*id)).collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        let roles = keys(&mut self.roles, &entry.role_ids);
        let managers = keys(&mut self.managers, &entry.manager_ids);
        let sources = keys(&mut self.sources, &entry.source_app_ids);
        let mut profile = Vec::with_capacity(PROFILE_HEAD + roles.len() + managers.len() + sources.len());
        profile.extend([
            status_index(entry.status) as u32,
            type_index(entry.user_type) as u32,
            origin_index(entry.origin) as u32,
            self.departments.intern_lowercase(&entry.department, &mut field),
            self.job_titles.intern_lowercase(&entry.job_title, &mut field),
            entry.delegated_user_id.map_or(NONE, |id| self.delegates.intern(id)),
            roles.len() as u32,
            managers.len() as u32,
            sources.len() as u32,
        ]);
        profile.extend(roles);
        profile.extend(managers);
        profile.extend(sources);
        self.scratch_field = field;
        Prepared { text, profile }
    }

    fn insert_new(&mut self, id: Id, p: Prepared) {
        let doc = u32::try_from(self.docs.len()).ok().filter(|&d| d <= MAX_DOC).expect("at most 2^31 - 1 users");
        let text = push_text(&mut self.text, &mut self.domains, &p.text);
        let profile = self.profiles.acquire(&p.profile);
        push_growing(&mut self.docs, Doc { id, text, profile });
        if self.chain.last().is_none_or(|&last| self.docs[last as usize].id < id) {
            push_growing(&mut self.chain, doc);
        } else {
            self.late.insert(doc);
            let successor = self.chain[self.chain.partition_point(|&d| self.docs[d as usize].id < id)];
            self.late_order.insert((successor, id), doc);
            let block = (successor >> BLOCK_BITS) as usize;
            if self.late_by_block.len() <= block {
                self.late_by_block.resize(block + 1, RoaringBitmap::new());
            }
            self.late_by_block[block].insert(doc);
        }
        match self.gram_thread.as_mut() {
            Some(thread) => thread.add(&p.text, doc),
            None => self.grams.add_new_user(&p.text, doc, &mut self.scratch_grams),
        }
        // Adding a user's word twice is harmless, and cheaper than sorting them out. The slots of the words are
        // read all together first, so that their cache misses overlap; the words are found once, their places
        // kept beside their hashes. (The field separators are no word characters: the words of the text are
        // those of its fields.)
        self.scratch_hashes.clear();
        self.scratch_words.clear();
        for word in words(&p.text) {
            let start = word.as_ptr() as usize - p.text.as_ptr() as usize;
            self.scratch_words.push((start as u32, (start + word.len()) as u32));
            self.scratch_hashes.push(self.words.hash_of(word));
        }
        self.words.warm(&self.scratch_hashes);
        let texts = DocTexts { docs: &self.docs, text: &self.text, domains: &self.domains };
        for (index, (&(start, end), &hash)) in self.scratch_words.iter().zip(&self.scratch_hashes).enumerate() {
            self.words.add_hashed(&p.text[start as usize..end as usize], hash, doc, index, &texts);
        }
        self.set_filters(doc, true);
        self.refresh_is_delegate(id);
        let delegate = Profile(&p.profile).delegate();
        if delegate != NONE {
            self.refresh_is_delegate(*self.delegates.value(delegate));
        }
        self.scratch_text = p.text;
    }

    /// Takes the gram table back from the thread it is lent to (see `batch.rs`), if it is.
    fn call_grams_home(&mut self) {
        if let Some(thread) = self.gram_thread.take() {
            self.grams = thread.finish();
        }
    }

    fn replace(&mut self, doc: u32, p: Prepared) {
        self.call_grams_home();
        let mut old_text = String::new();
        self.doc_text(doc, &mut old_text);
        if old_text != p.text {
            // Grams and words: take out the old ones the new text lacks, add the new ones the old lacked.
            self.grams.flush();
            self.grams.of_fields(fields(&old_text), &mut self.scratch_old_grams);
            self.grams.of_fields(fields(&p.text), &mut self.scratch_grams);
            let (old_grams, new_grams) = (&self.scratch_old_grams, &self.scratch_grams);
            for gram in old_grams.iter().filter(|g| new_grams.binary_search(g).is_err()) {
                self.grams.remove(*gram, doc);
            }
            for &gram in new_grams.iter().filter(|g| old_grams.binary_search(g).is_err()) {
                self.grams.add(gram, doc);
            }
            // Words: the lost ones out while the old text is in place, the kept inline ones given their new
            // indexes, then the new text and the new words (see `tables::WordTable`).
            let old_words = doc_words(&old_text);
            let mut new_words: Vec<(&str, usize)> =
                fields(&p.text).flat_map(words).enumerate().map(|(i, w)| (w, i)).collect();
            new_words.sort_unstable();
            new_words.dedup_by(|a, b| a.0 == b.0);
            let is_new = |w: &str| new_words.binary_search_by(|(x, _)| (*x).cmp(w)).is_err();
            let texts = DocTexts { docs: &self.docs, text: &self.text, domains: &self.domains };
            for word in old_words.iter().filter(|w| is_new(w)) {
                self.words.remove(word, doc, &texts);
            }
            let moves: Vec<(usize, &str, usize)> = new_words
                .iter()
                .filter(|(w, _)| old_words.binary_search(w).is_ok())
                .filter_map(|&(w, i)| self.words.inline_slot(w, doc, &texts).map(|slot| (slot, w, i)))
                .collect();
            self.words.set_indexes(&moves);
            self.text_garbage += self.raw_text(doc).len() + 1;
            self.docs[doc as usize].text = push_text(&mut self.text, &mut self.domains, &p.text);
            let texts = DocTexts { docs: &self.docs, text: &self.text, domains: &self.domains };
            for &(word, index) in new_words.iter().filter(|(w, _)| old_words.binary_search(w).is_err()) {
                self.words.add(word, doc, index, &texts);
            }
        }
        let old_profile = self.docs[doc as usize].profile;
        if self.profiles.get(old_profile) != p.profile.as_slice() {
            let old_delegate = self.profile(doc).delegate();
            self.set_filters(doc, false);
            self.docs[doc as usize].profile = self.profiles.acquire(&p.profile);
            self.profiles.release(old_profile);
            self.set_filters(doc, true);
            for key in [old_delegate, Profile(&p.profile).delegate()] {
                if key != NONE {
                    self.refresh_is_delegate(*self.delegates.value(key));
                }
            }
        }
        self.maybe_compact();
        self.scratch_text = p.text;
    }

    /// Adds the user to (or takes it out of) every filter posting its record names.
    fn set_filters(&mut self, doc: u32, on: bool) {
        let d = Profile(self.profiles.get(self.docs[doc as usize].profile));
        set(&mut self.statuses[d.status() as usize], doc, on);
        set(&mut self.types[d.user_type() as usize], doc, on);
        set(&mut self.origins[d.origin() as usize], doc, on);
        toggle_facet(&mut self.departments, d.department(), doc, on);
        toggle_facet(&mut self.job_titles, d.job_title(), doc, on);
        if d.delegate() != NONE {
            toggle_facet(&mut self.delegates, d.delegate(), doc, on);
            set(&mut self.has_delegate, doc, on);
        }
        let (roles, managers, sources) = d.lists();
        for &key in roles {
            toggle_facet(&mut self.roles, key, doc, on);
        }
        for &key in managers {
            toggle_facet(&mut self.managers, key, doc, on);
        }
        for &key in sources {
            toggle_facet(&mut self.sources, key, doc, on);
        }
    }

    /// Sets whether the user `id` (if indexed) is the delegate of at least one other user.
    fn refresh_is_delegate(&mut self, id: Id) {
        // Nobody has ever named `id` as delegate: its bit was never set.
        let Some(delegators) = self.delegates.get(&id) else { return };
        let Some(doc) = self.lookup(id) else { return };
        let others = delegators.len() - u64::from(delegators.contains(doc));
        set(&mut self.is_delegate, doc, others > 0);
    }

    /// Rewrites the text arena once more than half of it is left over from replaced values.
    fn maybe_compact(&mut self) {
        const MIN_GARBAGE: usize = 1 << 20;
        if self.text_garbage > MIN_GARBAGE && self.text_garbage * 2 > self.text.len() {
            let mut text = String::with_capacity(self.text.len() - self.text_garbage);
            for doc in 0..self.docs.len() as u32 {
                let start = u32::try_from(text.len()).expect("text arena under 4 GiB");
                text.push_str(self.raw_text(doc));
                text.push(TEXT_END);
                self.docs[doc as usize].text = start;
            }
            self.text = text;
            self.text_garbage = 0;
        }
    }

    /// The first `limit` results strictly after `after`, and whether more follow.
    pub fn search(&self, query: &Query, after: Option<Cursor>, limit: usize) -> Result<Page, QueryError> {
        query.check_limits()?;
        let text = match &query.text {
            None => None,
            Some(text) => Some(TextQuery::parse(text).ok_or_else(|| QueryError {
                field: "query".into(),
                message: format!("must be at least {MIN_QUERY_CHARS} characters long, not counting spaces and accents"),
            })?),
        };
        let mut hits = Vec::new();
        if limit > 0 {
            let searching = Searching::start();
            let want = limit.saturating_add(1);
            let make_filter = || self.filter_node(query);
            let shared = self.filter_cache.lock().unwrap_or_else(PoisonError::into_inner).get(query, self.docs.len());
            let mut filtered = Filtered::new(&searching, &make_filter, shared);
            match &text {
                None => {
                    if after.is_none_or(|c| c.rank == Rank::Exact) {
                        let all = || Candidates { expr: Node::And(Vec::new()), accept: Box::new(|_| true) };
                        self.walk(&mut filtered, &all, after.map(|c| c.id), Rank::Exact, want, &mut hits);
                    }
                }
                Some(text) => self.search_text(text, &mut filtered, after, want, &mut hits),
            }
        }
        let next = if hits.len() > limit {
            hits.truncate(limit);
            hits.last().map(|h| Cursor { rank: h.rank, id: h.id })
        } else {
            None
        };
        Ok(Page { hits, next })
    }

    /// Walks the ranks best first; a rank's candidates are evaluated only as far as the page still needs.
    fn search_text<'i>(
        &'i self,
        query: &'i TextQuery,
        filtered: &mut Filtered<'i>,
        after: Option<Cursor>,
        want: usize,
        hits: &mut Vec<Hit>,
    ) {
        if query.words.is_empty() {
            // Only a substring can match a query without words.
            if after.is_none_or(|c| c.rank <= Rank::Substring) {
                let start = after.filter(|c| c.rank == Rank::Substring).map(|c| c.id);
                let candidates = || {
                    let expr = Node::Checked(Box::new(self.substring_node(query)));
                    self.checked(expr, query, Rank::Substring)
                };
                self.walk(filtered, &candidates, start, Rank::Substring, want, hits);
            }
            return;
        }
        for level in [Rank::Exact, Rank::Prefix, Rank::Substring, Rank::Typo] {
            if hits.len() >= want {
                break;
            }
            if after.is_some_and(|c| level < c.rank) || (level == Rank::Typo && !query.any_typo()) {
                continue;
            }
            let start = after.filter(|c| c.rank == level).map(|c| c.id);
            let candidates = || {
                if level == Rank::Exact {
                    // Exact from the word postings: no check needed.
                    return Candidates { expr: self.exact_node(query), accept: Box::new(|_| true) };
                }
                let matching = match level {
                    Rank::Prefix => self.prefix_node(query.words.iter()),
                    Rank::Substring => self.substring_node(query),
                    _ => self.typo_node(query),
                };
                // Every candidate is checked, so any superset of `matching` will do (`Node::Checked`).
                let expr =
                    Node::And(vec![Node::Checked(Box::new(matching)), Node::Not(Box::new(self.exact_node(query)))]);
                self.checked(expr, query, level)
            };
            self.walk(filtered, &candidates, start, level, want, hits);
        }
    }

    /// Candidates `expr`, each checked against its text for `level`.
    fn checked<'i>(&'i self, expr: Node<'i>, query: &'i TextQuery, level: Rank) -> Candidates<'i> {
        let (mut flags, mut text) = (Vec::new(), String::new());
        Candidates {
            expr,
            accept: Box::new(move |doc| has_rank(self.doc_text(doc, &mut text), query, level, &mut flags)),
        }
    }

    /// The users having every query word as a whole word (exact).
    fn exact_node(&self, query: &TextQuery) -> Node<'_> {
        Node::And(
            query
                .words
                .iter()
                .map(|word| match self.words.get(&word.text, &self.texts()) {
                    Posting::Empty => Node::empty(),
                    Posting::One(doc) => Node::Owned(std::iter::once(doc).collect()),
                    Posting::Many(bitmap) => Node::Set(bitmap),
                })
                .collect(),
        )
    }

    /// A superset of the users having each of `words` as a word's beginning.
    fn prefix_node<'q>(&self, words: impl Iterator<Item = &'q QueryWord>) -> Node<'_> {
        let mut parts = Vec::new();
        for word in words {
            match self.grams.codes.codes(&word.chars) {
                Some(codes) => parts.extend(prefix_parts(&codes)),
                None => return Node::empty(),
            }
        }
        self.grams.parts(&parts)
    }

    /// A superset of the users with the query as a substring of a field.
    fn substring_node(&self, query: &TextQuery) -> Node<'_> {
        match self.grams.codes.codes(&query.chars) {
            Some(codes) => self.grams.parts(&substring_parts(&codes)),
            None => Node::empty(),
        }
    }

    /// A superset of the users having every query word as a word's beginning or (for long words) a whole word
    /// within one edit.
    fn typo_node(&self, query: &TextQuery) -> Node<'_> {
        let alphabet = self.words.alphabet();
        let mut all = vec![self.prefix_node(query.words.iter().filter(|w| !w.typo))];
        for word in query.words.iter().filter(|w| w.typo) {
            let mut either = self.one_edit_words(word, &alphabet);
            either.push(self.prefix_node(std::iter::once(word)));
            all.push(Node::Or(either));
        }
        Node::And(all)
    }

    /// The users having a word within one edit of `word` (other than `word` itself), as sets to unite.
    fn one_edit_words(&self, word: &QueryWord, alphabet: &[char]) -> Vec<Node<'_>> {
        let mut singles = Vec::new();
        let mut many: Vec<Node<'_>> = Vec::new();
        if word.chars.len() <= self.words.max_chars() + 1 {
            self.words.get_one_edit(&word.text, alphabet, &self.texts(), |posting| match posting {
                Posting::Empty => {}
                Posting::One(doc) => singles.push(doc),
                Posting::Many(bitmap) => many.push(Node::Set(bitmap)),
            });
        }
        if !singles.is_empty() {
            many.push(Node::Owned(singles.into_iter().collect()));
        }
        many
    }

    /// An estimate of the heap the index holds, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.heap_report().iter().map(|(_, bytes)| bytes).sum()
    }

    /// [`Index::heap_bytes`] by part, for diagnosis.
    pub fn heap_report(&self) -> Vec<(&'static str, usize)> {
        let id_key = |_: &Id| 0;
        let string_key = |s: &String| s.capacity();
        let bitmaps = |v: &[RoaringBitmap]| std::mem::size_of_val(v) + v.iter().map(bitmap_heap).sum::<usize>();
        vec![
            ("users", self.docs.capacity() * size_of::<Doc>()),
            (
                "id order",
                self.chain.capacity() * 4
                    + bitmap_heap(&self.late)
                    + self.late_order.len() * (4 + size_of::<Id>() + 4) * 3 / 2
                    + self.late_by_block.iter().map(|b| size_of::<RoaringBitmap>() + bitmap_heap(b)).sum::<usize>(),
            ),
            ("text", self.text.capacity() + self.domains.iter().map(|d| d.capacity() + 24).sum::<usize>()),
            ("profiles", self.profiles.heap_bytes()),
            ("gram table", self.grams.heap_bytes().0),
            ("gram postings", self.grams.heap_bytes().1),
            ("words", self.words.heap_bytes()),
            ("filter cache", self.filter_cache.lock().unwrap_or_else(PoisonError::into_inner).bytes()),
            (
                "filters",
                bitmaps(&self.statuses)
                    + bitmaps(&self.types)
                    + bitmaps(&self.origins)
                    + self.roles.heap_bytes(id_key)
                    + self.managers.heap_bytes(id_key)
                    + self.sources.heap_bytes(id_key)
                    + self.delegates.heap_bytes(id_key)
                    + self.departments.heap_bytes(string_key)
                    + self.job_titles.heap_bytes(string_key)
                    + bitmap_heap(&self.has_delegate)
                    + bitmap_heap(&self.is_delegate),
            ),
            (
                "scratch",
                (self.scratch_grams.capacity()
                    + self.scratch_old_grams.capacity()
                    + self.scratch_hashes.capacity()
                    + self.scratch_words.capacity())
                    * 8
                    + self.scratch_field.capacity()
                    + self.scratch_text.capacity(),
            ),
        ]
    }
}

fn toggle_facet<K: std::hash::Hash + Eq + Clone>(facet: &mut Facet<K>, key: u32, doc: u32, on: bool) {
    if on { facet.add(key, doc) } else { facet.remove(key, doc) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_arena_gives_back_every_text_with_domains_coded() {
        let (mut arena, mut domains) = (String::new(), Vec::new());
        let mut texts: Vec<String> = vec![
            "ada lovelace\0ada@example.com\0a@\0@b\u{1}ada@example.com".into(),
            String::new(),
            "x@y@example.com\u{1}x@".into(),
            "zoë zoëzoë zoëzoëzoëzoë\0zoe.zoe.123456@x.example\u{1}zzoe123456123456\u{1}zoë".into(),
            "james smith\0james.smith.123456@acme.example\u{1}jsmith123456\u{1}james.smith.123456@acme.example".into(),
            format!("{}\0{}", "a1".repeat(100), "a1".repeat(100)),
        ];
        // More domains than have characters: the later ones stay as text.
        texts.extend((0..40).map(|i| format!("user {i}\0u{i}@d{i}.example\u{1}u{i}@d{}.example", i % 3)));
        let starts: Vec<u32> = texts.iter().map(|t| push_text(&mut arena, &mut domains, t)).collect();
        assert_eq!(domains.len(), MAX_DOMAINS);
        assert!(arena.len() < texts.iter().map(|t| t.len() + 1).sum::<usize>());
        let mut out = String::new();
        for (text, start) in texts.iter().zip(starts) {
            let rest = &arena[start as usize..];
            decode_text(&rest[..rest.find(TEXT_END).unwrap()], &domains, &mut out);
            assert_eq!(&out, text);
        }
    }
}
