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

use std::collections::BTreeMap;
use std::mem::size_of;

use onramp_domain::Id;
use onramp_domain::user::{UserOrigin, UserStatus, UserType};
use roaring::RoaringBitmap;

use crate::expr::Node;
use crate::grams::{Grams, prefix_parts, substring_parts};
use crate::normalize::{normalize_into, words};
use crate::tables::{Facet, MAX_DOC, Posting, WordTable, bitmap_heap, push_growing};
use crate::text::{
    EMAIL_SEP, MIN_QUERY_CHARS, QueryWord, TextQuery, USERNAME_SEP, doc_words, emails, fields, for_each_variant,
    has_rank,
};
use crate::walk::{BLOCK_BITS, Filtered};
use crate::{Cursor, Entry, Hit, Page, Query, QueryError, Rank};

/// "No value" in `u32` fields.
const NONE: u32 = u32::MAX;

/// A range of the text arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// What the index keeps of one user besides its postings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Doc {
    pub id: Id,
    /// Normalised display name, emails and usernames (see `text::fields`).
    pub(crate) text: Span,
    /// Where `[roles count, managers count, sources count, role keys.., manager keys.., source app keys..]`
    /// starts in `lists`, or `NONE` when all three are empty.
    pub(crate) lists: u32,
    pub(crate) department: u32,
    pub(crate) job_title: u32,
    /// Key in `delegates`, or `NONE`.
    pub(crate) delegate: u32,
    pub(crate) status: u8,
    pub(crate) user_type: u8,
    pub(crate) origin: u8,
}

/// A user's new values, normalised and with filter values numbered.
struct Prepared {
    text: String,
    lists: Vec<u32>,
    department: u32,
    job_title: u32,
    delegate: u32,
    status: u8,
    user_type: u8,
    origin: u8,
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
    pub(crate) text: String,
    pub(crate) text_garbage: usize,
    pub(crate) lists: Vec<u32>,
    pub(crate) lists_garbage: usize,
    pub(crate) grams: Grams,
    pub(crate) words: WordTable,
    pub(crate) statuses: Vec<RoaringBitmap>,
    pub(crate) types: Vec<RoaringBitmap>,
    pub(crate) origins: Vec<RoaringBitmap>,
    /// Enabled or disabled: the default status filter.
    pub(crate) live: RoaringBitmap,
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
    pub(crate) scratch_field: String,
    /// The buffer a user's new text is prepared in, kept between upserts.
    pub(crate) scratch_text: String,
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
            lists: Vec::new(),
            lists_garbage: 0,
            grams: Grams::default(),
            words: WordTable::default(),
            statuses: vec![RoaringBitmap::new(); UserStatus::ALL.len()],
            types: vec![RoaringBitmap::new(); UserType::ALL.len()],
            origins: vec![RoaringBitmap::new(); UserOrigin::ALL.len()],
            live: RoaringBitmap::new(),
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
            scratch_field: String::new(),
            scratch_text: String::new(),
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

fn is_live(status: u8) -> bool {
    let status = UserStatus::ALL[status as usize];
    status == UserStatus::Enabled || status == UserStatus::Disabled
}

fn set(bitmap: &mut RoaringBitmap, doc: u32, on: bool) {
    if on {
        bitmap.insert(doc);
    } else {
        bitmap.remove(doc);
    }
}

/// Appends a user's lists; `NONE` for none.
fn push_lists(arena: &mut Vec<u32>, items: &[u32]) -> u32 {
    if items.is_empty() {
        return NONE;
    }
    let start = u32::try_from(arena.len()).ok().filter(|&s| s != NONE).expect("list arena under 2^32 entries");
    if arena.capacity() - arena.len() < items.len() {
        arena.reserve_exact(items.len().max(arena.len() / 16));
    }
    arena.extend_from_slice(items);
    start
}

/// The lists starting at `start` (see `Doc::lists`).
fn lists_at(arena: &[u32], start: u32) -> &[u32] {
    if start == NONE {
        return &[];
    }
    let header = &arena[start as usize..start as usize + 3];
    let len = 3 + header.iter().map(|&n| n as usize).sum::<usize>();
    &arena[start as usize..start as usize + len]
}

fn push_text(arena: &mut String, text: &str) -> Span {
    let start = u32::try_from(arena.len()).expect("text arena under 4 GiB");
    if arena.capacity() - arena.len() < text.len() {
        // Grow by a sixteenth rather than double: the arena is a large part of the index.
        arena.reserve_exact(text.len().max(arena.len() / 16));
    }
    arena.push_str(text);
    Span { start, len: u32::try_from(text.len()).expect("user text under 4 GiB") }
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

    pub(crate) fn doc_text(&self, doc: u32) -> &str {
        &self.text[self.docs[doc as usize].text.range()]
    }

    /// The normalised emails of a user.
    pub(crate) fn doc_emails(&self, doc: u32) -> impl Iterator<Item = &str> {
        emails(self.doc_text(doc))
    }

    /// Adds the user, or replaces the entry with the same id.
    pub fn upsert(&mut self, entry: Entry) {
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
        let mut lists = Vec::new();
        if !(roles.is_empty() && managers.is_empty() && sources.is_empty()) {
            lists.reserve(3 + roles.len() + managers.len() + sources.len());
            lists.push(roles.len() as u32);
            lists.push(managers.len() as u32);
            lists.push(sources.len() as u32);
            lists.extend(roles);
            lists.extend(managers);
            lists.extend(sources);
        }
        let prepared = Prepared {
            text,
            lists,
            department: self.departments.intern_lowercase(&entry.department, &mut field),
            job_title: self.job_titles.intern_lowercase(&entry.job_title, &mut field),
            delegate: entry.delegated_user_id.map_or(NONE, |id| self.delegates.intern(id)),
            status: status_index(entry.status) as u8,
            user_type: type_index(entry.user_type) as u8,
            origin: origin_index(entry.origin) as u8,
        };
        self.scratch_field = field;
        prepared
    }

    fn insert_new(&mut self, id: Id, p: Prepared) {
        let doc = u32::try_from(self.docs.len()).ok().filter(|&d| d <= MAX_DOC).expect("at most 2^31 - 1 users");
        let text = push_text(&mut self.text, &p.text);
        let lists = push_lists(&mut self.lists, &p.lists);
        push_growing(
            &mut self.docs,
            Doc {
                id,
                text,
                lists,
                department: p.department,
                job_title: p.job_title,
                delegate: p.delegate,
                status: p.status,
                user_type: p.user_type,
                origin: p.origin,
            },
        );
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
        self.grams.of_fields(fields(&p.text), &mut self.scratch_grams);
        for &gram in &self.scratch_grams {
            self.grams.add(gram, doc);
        }
        // Adding a user's word twice is harmless, and cheaper than sorting them out.
        for word in fields(&p.text).flat_map(words) {
            self.words.add(word, doc);
        }
        self.set_filters(doc, true);
        self.refresh_is_delegate(id);
        if p.delegate != NONE {
            self.refresh_is_delegate(*self.delegates.value(p.delegate));
        }
        self.grams.maybe_compact(doc + 1);
        self.scratch_text = p.text;
    }

    fn replace(&mut self, doc: u32, p: Prepared) {
        let old = self.docs[doc as usize];
        let old_text = self.text[old.text.range()].to_string();
        if old_text != p.text {
            // Grams and words: take out the old ones the new text lacks, add the new ones the old lacked.
            self.grams.of_fields(fields(&old_text), &mut self.scratch_old_grams);
            self.grams.of_fields(fields(&p.text), &mut self.scratch_grams);
            let (old_grams, new_grams) = (&self.scratch_old_grams, &self.scratch_grams);
            for gram in old_grams.iter().filter(|g| new_grams.binary_search(g).is_err()) {
                self.grams.remove(*gram, doc);
            }
            for &gram in new_grams.iter().filter(|g| old_grams.binary_search(g).is_err()) {
                self.grams.add(gram, doc);
            }
            let (old_words, new_words) = (doc_words(&old_text), doc_words(&p.text));
            for word in old_words.iter().filter(|w| new_words.binary_search(w).is_err()) {
                self.words.remove(word, doc);
            }
            for word in new_words.iter().filter(|w| old_words.binary_search(w).is_err()) {
                self.words.add(word, doc);
            }
            self.text_garbage += old.text.len as usize;
            self.docs[doc as usize].text = push_text(&mut self.text, &p.text);
        }
        self.set_filters(doc, false);
        if lists_at(&self.lists, old.lists) != p.lists.as_slice() {
            self.lists_garbage += lists_at(&self.lists, old.lists).len();
            self.docs[doc as usize].lists = push_lists(&mut self.lists, &p.lists);
        }
        let d = &mut self.docs[doc as usize];
        d.department = p.department;
        d.job_title = p.job_title;
        d.delegate = p.delegate;
        d.status = p.status;
        d.user_type = p.user_type;
        d.origin = p.origin;
        self.set_filters(doc, true);
        for key in [old.delegate, p.delegate] {
            if key != NONE {
                self.refresh_is_delegate(*self.delegates.value(key));
            }
        }
        self.maybe_compact();
        self.scratch_text = p.text;
    }

    /// Adds the user to (or takes it out of) every filter posting its record names.
    fn set_filters(&mut self, doc: u32, on: bool) {
        let d = self.docs[doc as usize];
        set(&mut self.statuses[d.status as usize], doc, on);
        set(&mut self.types[d.user_type as usize], doc, on);
        set(&mut self.origins[d.origin as usize], doc, on);
        if is_live(d.status) {
            set(&mut self.live, doc, on);
        }
        toggle_facet(&mut self.departments, d.department, doc, on);
        toggle_facet(&mut self.job_titles, d.job_title, doc, on);
        if d.delegate != NONE {
            toggle_facet(&mut self.delegates, d.delegate, doc, on);
            set(&mut self.has_delegate, doc, on);
        }
        if let [n_roles, n_managers, _, keys @ ..] = lists_at(&self.lists, d.lists) {
            let (roles, rest) = keys.split_at(*n_roles as usize);
            let (managers, sources) = rest.split_at(*n_managers as usize);
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
    }

    /// Sets whether the user `id` (if indexed) is the delegate of at least one other user.
    fn refresh_is_delegate(&mut self, id: Id) {
        // Nobody has ever named `id` as delegate: its bit was never set.
        let Some(delegators) = self.delegates.get(&id) else { return };
        let Some(doc) = self.lookup(id) else { return };
        let others = delegators.len() - u64::from(delegators.contains(doc));
        set(&mut self.is_delegate, doc, others > 0);
    }

    /// Rewrites an arena once more than half of it is left over from replaced values.
    fn maybe_compact(&mut self) {
        const MIN_GARBAGE: usize = 1 << 20;
        if self.text_garbage > MIN_GARBAGE && self.text_garbage * 2 > self.text.len() {
            let mut text = String::with_capacity(self.text.len() - self.text_garbage);
            for d in &mut self.docs {
                d.text = push_text(&mut text, &self.text[d.text.range()]);
            }
            self.text = text;
            self.text_garbage = 0;
        }
        if self.lists_garbage * 4 > MIN_GARBAGE && self.lists_garbage * 2 > self.lists.len() {
            let mut lists = Vec::with_capacity(self.lists.len() - self.lists_garbage);
            for d in &mut self.docs {
                d.lists = push_lists(&mut lists, lists_at(&self.lists, d.lists));
            }
            self.lists = lists;
            self.lists_garbage = 0;
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
            let want = limit.saturating_add(1);
            let mut filtered = Filtered::new(self.filter_node(query));
            match &text {
                None => {
                    if after.is_none_or(|c| c.rank == Rank::Exact) {
                        let all = Node::And(Vec::new());
                        self.walk(&mut filtered, &all, after.map(|c| c.id), Rank::Exact, want, &mut hits, |_| true);
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
        query: &TextQuery,
        filtered: &mut Filtered<'i>,
        after: Option<Cursor>,
        want: usize,
        hits: &mut Vec<Hit>,
    ) {
        if query.words.is_empty() {
            // Only a substring can match a query without words.
            if after.is_none_or(|c| c.rank <= Rank::Substring) {
                let start = after.filter(|c| c.rank == Rank::Substring).map(|c| c.id);
                let candidates = self.substring_node(query);
                let mut flags = Vec::new();
                self.walk(filtered, &candidates, start, Rank::Substring, want, hits, |doc| {
                    has_rank(self.doc_text(doc), query, Rank::Substring, &mut flags)
                });
            }
            return;
        }
        let mut flags = Vec::new();
        let exact = || self.exact_node(query);
        for level in [Rank::Exact, Rank::Prefix, Rank::Substring, Rank::Typo] {
            if hits.len() >= want {
                break;
            }
            if after.is_some_and(|c| level < c.rank) || (level == Rank::Typo && !query.any_typo()) {
                continue;
            }
            let start = after.filter(|c| c.rank == level).map(|c| c.id);
            if level == Rank::Exact {
                // Exact from the word postings: no check needed.
                self.walk(filtered, &exact(), start, level, want, hits, |_| true);
                continue;
            }
            let matching = match level {
                Rank::Prefix => self.prefix_node(query.words.iter()),
                Rank::Substring => self.substring_node(query),
                _ => self.typo_node(query),
            };
            let candidates = Node::And(vec![matching, Node::Not(Box::new(exact()))]);
            self.walk(filtered, &candidates, start, level, want, hits, |doc| {
                has_rank(self.doc_text(doc), query, level, &mut flags)
            });
        }
    }

    /// The users having every query word as a whole word (exact).
    fn exact_node(&self, query: &TextQuery) -> Node<'_> {
        Node::And(
            query
                .words
                .iter()
                .map(|word| match self.words.get(&word.text) {
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
            let mut either = self.one_edit_words(&word.chars, &alphabet);
            either.push(self.prefix_node(std::iter::once(word)));
            all.push(Node::Or(either));
        }
        Node::And(all)
    }

    /// The users having a word within one edit of `word` (other than `word` itself), as sets to unite.
    fn one_edit_words(&self, word: &[char], alphabet: &[char]) -> Vec<Node<'_>> {
        let mut singles = Vec::new();
        let mut many: Vec<Node<'_>> = Vec::new();
        if word.len() <= self.words.max_chars() + 1 {
            for_each_variant(word, alphabet, |variant| match self.words.get(variant) {
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
            ("text", self.text.capacity()),
            ("lists", self.lists.capacity() * 4),
            ("gram table", self.grams.heap_bytes().0),
            ("gram postings", self.grams.heap_bytes().1),
            ("words", self.words.heap_bytes()),
            (
                "filters",
                bitmaps(&self.statuses)
                    + bitmaps(&self.types)
                    + bitmaps(&self.origins)
                    + bitmap_heap(&self.live)
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
                (self.scratch_grams.capacity() + self.scratch_old_grams.capacity()) * 8
                    + self.scratch_field.capacity()
                    + self.scratch_text.capacity(),
            ),
        ]
    }
}

fn toggle_facet<K: std::hash::Hash + Eq + Clone>(facet: &mut Facet<K>, key: u32, doc: u32, on: bool) {
    if on { facet.add(key, doc) } else { facet.remove(key, doc) }
}
