//! The library alternative of `onramp-bench search`: tantivy, the maintained Rust search library, on the
//! same users and the same query sets, in an index directory on disk (under the run's scratch folder, so
//! removed with it).
//!
//! How each query is asked (issue #15):
//! - Substring: the normalised display name and each normalised email are one value each of a trigram field
//!   (so no gram spans two values); a query asks for every distinct trigram of its normalised text (AND),
//!   ranked by BM25, and each candidate is checked against the normalised values kept in tantivy's document
//!   store, so the results are exact substrings. The check asks for more candidates (x8 each round) until it
//!   has a page or the candidates run out. A text shorter than 3 characters has no trigram, so it is asked
//!   only as words (below).
//! - Words, for typos: the same values split into words (letters and digits), and when the substring step
//!   gives less than a page, every query word must match a word of the user: as a prefix, or for a word of 4
//!   characters or more also within one edit (`FuzzyTermQuery`, distance 1, transposition costing 1), as
//!   onramp tolerates typos.
//! - Filters: one untokenised field per facet (department and job title lowercased, status, type, origin,
//!   role names), matched by term; each list an OR, `excludeTypes` a MUST_NOT, all given filters AND, and
//!   scoring 0 so they only filter. Filters alone come in user order (a fast field), as onramp pages them.
//!
//! Memory is this process's resident growth while building (the writer's buffers included) and after
//! reopening; the size is the index directory's on disk. The restart figure is the time from opening the
//! directory (tokenizers registered, reader made) to the first answer, with the operating system's page
//! cache as the build left it.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use onramp_domain::BuiltinRole;
use onramp_domain::user::User;
use onramp_search::normalize;
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{NgramTokenizer, SimpleTokenizer, TextAnalyzer};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::figures::{Alternative, Latencies, Row, mib, ms, resident_bytes};
use super::queries::{FILTERS, PAGE_SIZE, Search, Sets, TYPO};
use crate::Result;

/// The tantivy index's writer memory budget (shared by its indexing threads).
const WRITER_BUDGET: usize = 512 * 1024 * 1024;
/// The shortest query word onramp tolerates a typo in (`onramp_search`'s rule).
const MIN_TYPO_CHARS: usize = 4;

/// What the tantivy run measured.
pub(super) struct TantivyFigures {
    pub(super) build: Duration,
    /// Resident growth of this process from before the build to after it (writer dropped).
    pub(super) resident_growth: Option<u64>,
    pub(super) disk_bytes: u64,
    pub(super) restart: Duration,
    pub(super) rows: Vec<Row>,
    pub(super) recall: (usize, usize),
}

impl TantivyFigures {
    /// The figures as an alternative's table (ratios to onramp's index printed beside them).
    pub(super) fn alternative(&self) -> Alternative {
        Alternative {
            name: "tantivy (trigram AND + check, FuzzyTermQuery 1 with transpositions, term filters, top 10)",
            rows: self.rows.clone(),
            build: Some(self.build),
            disk_bytes: Some(self.disk_bytes),
            restart: Some(self.restart),
        }
    }

    pub(super) fn latencies(&self, set: usize) -> Latencies {
        self.rows.get(set).map(|row| row.1).unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
struct Fields {
    row: Field,
    grams: Field,
    words: Field,
    text: Field,
    department: Field,
    job_title: Field,
    status: Field,
    user_type: Field,
    origin: Field,
    role: Field,
}

fn indexed(tokenizer: &str, fieldnorms: bool) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(fieldnorms),
    )
}

fn schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_u64_field("row", INDEXED | FAST);
    builder.add_text_field("grams", indexed("trigram", true));
    builder.add_text_field("words", indexed("words", true));
    builder.add_text_field("text", STORED);
    for facet in ["department", "job_title", "status", "user_type", "origin", "role"] {
        builder.add_text_field(facet, indexed("raw", false));
    }
    builder.build()
}

impl Fields {
    fn of(schema: &Schema) -> Result<Fields> {
        let field = |name: &str| schema.get_field(name);
        Ok(Fields {
            row: field("row")?,
            grams: field("grams")?,
            words: field("words")?,
            text: field("text")?,
            department: field("department")?,
            job_title: field("job_title")?,
            status: field("status")?,
            user_type: field("user_type")?,
            origin: field("origin")?,
            role: field("role")?,
        })
    }
}

/// Registers the two tokenizers the schema names: on a new index and on every reopened one.
fn register_tokenizers(index: &Index) -> Result<()> {
    index.tokenizers().register("trigram", NgramTokenizer::all_ngrams(3, 3)?);
    index.tokenizers().register("words", TextAnalyzer::from(SimpleTokenizer::default()));
    Ok(())
}

/// The values a user is searched by: the normalised display name and each normalised email.
fn values(user: &User) -> impl Iterator<Item = String> + '_ {
    std::iter::once(normalize(&user.display_name)).chain(user.emails.iter().map(|email| normalize(email.as_str())))
}

fn document(fields: Fields, row: usize, user: &User) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_u64(fields.row, row as u64);
    for value in values(user) {
        doc.add_text(fields.grams, &value);
        doc.add_text(fields.words, &value);
        doc.add_text(fields.text, &value);
    }
    doc.add_text(fields.department, user.department.to_lowercase());
    doc.add_text(fields.job_title, user.job_title.to_lowercase());
    doc.add_text(fields.status, user.status.as_str());
    doc.add_text(fields.user_type, user.user_type.as_str());
    doc.add_text(fields.origin, user.origin.as_str());
    for role in user.role_ids.iter().filter_map(BuiltinRole::from_id) {
        doc.add_text(fields.role, role.name());
    }
    doc
}

/// Builds the index in `dir` (adding every user, committing, merging to one segment), then reopens it and
/// runs every query set on it.
pub(super) fn tantivy_alternative(users: &[User], sets: &Sets, dir: &Path) -> Result<TantivyFigures> {
    std::fs::create_dir_all(dir)?;
    let before = resident_bytes();
    let started = Instant::now();
    {
        let index = Index::builder().schema(schema()).create_in_dir(dir)?;
        register_tokenizers(&index)?;
        let fields = Fields::of(&index.schema())?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut writer: IndexWriter = index.writer_with_num_threads(threads, WRITER_BUDGET)?;
        writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
        for (row, user) in users.iter().enumerate() {
            writer.add_document(document(fields, row, user))?;
        }
        writer.commit()?;
        let segments = index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
        writer.wait_merging_threads()?;
    }
    let build = started.elapsed();
    let after = resident_bytes();
    let disk_bytes = directory_bytes(dir)?;
    println!(
        "\n{}: {} users indexed in {:.2} s (commit and merge to one segment included); index directory \
         {:.1} MiB on disk ({:.0} bytes/user); resident {}",
        tantivy::version_string(),
        users.len(),
        build.as_secs_f64(),
        mib(disk_bytes as f64),
        disk_bytes as f64 / users.len().max(1) as f64,
        growth(before, after)
    );

    // A restart: the directory opened again, to the first answer.
    let reopen_before = resident_bytes();
    let started = Instant::now();
    let engine = Engine::open(dir)?;
    let first = sets.sets[TYPO].1.first().map(|search| engine.search(search, None)).transpose()?;
    let restart = started.elapsed();
    println!(
        "restart    directory reopened to its first answer in {} ({} hits)",
        ms(restart),
        first.map_or(0, |hits| hits.len())
    );

    let mut rows = Vec::new();
    let mut recall = (0, 0);
    for (s, (name, set)) in sets.sets.iter().enumerate() {
        for search in set.iter().take(100) {
            engine.search(search, None)?;
        }
        let mut nanos = Vec::with_capacity(set.len());
        let mut hits = 0;
        for search in set {
            let started = Instant::now();
            let found = engine.search(search, None)?;
            nanos.push(started.elapsed().as_nanos() as u64);
            hits += found.len();
        }
        let set_recall = if s == TYPO {
            let found = set
                .iter()
                .map(|search| engine.finds(search, search.intended.expect("typo queries name their user")))
                .collect::<Result<Vec<bool>>>()?
                .into_iter()
                .filter(|found| *found)
                .count();
            recall = (found, set.len());
            Some(recall)
        } else {
            None
        };
        let how = if s == FILTERS { "by row" } else { "BM25, checked" };
        let latencies = Latencies::of(nanos);
        println!("  {name:<15} mean hits {:.1}", hits as f64 / set.len().max(1) as f64);
        rows.push((format!("{name} ({how})"), latencies, set_recall));
    }
    println!("memory     resident after reopening and running every set {}", growth(reopen_before, resident_bytes()));
    Ok(TantivyFigures {
        build,
        resident_growth: before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        disk_bytes,
        restart,
        rows,
        recall,
    })
}

fn growth(before: Option<u64>, after: Option<u64>) -> String {
    match before.zip(after) {
        Some((before, after)) => format!(
            "+{:.1} MiB (VmRSS {:.1} -> {:.1} MiB)",
            mib(after.saturating_sub(before) as f64),
            mib(before as f64),
            mib(after as f64)
        ),
        None => "unknown (no VmRSS)".into(),
    }
}

fn directory_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let metadata = entry?.metadata()?;
        if metadata.is_file() {
            total += metadata.len();
        }
    }
    Ok(total)
}

/// An opened index and what querying it needs.
struct Engine {
    fields: Fields,
    /// Kept so the searcher's segments stay open.
    _reader: IndexReader,
    searcher: Searcher,
}

/// The distinct trigrams of a normalised text, as the trigram tokenizer cuts them.
fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut seen = HashSet::new();
    chars.windows(3).map(|w| w.iter().collect::<String>()).filter(|gram| seen.insert(gram.clone())).collect()
}

/// The words of a normalised text, as the words tokenizer cuts them.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).collect()
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

/// Any of `values` in `field`.
fn any_of(field: Field, values: impl Iterator<Item = String>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(values.map(|value| (Occur::Should, term_query(field, &value))).collect()))
}

impl Engine {
    fn open(dir: &Path) -> Result<Engine> {
        let index = Index::open_in_dir(dir)?;
        register_tokenizers(&index)?;
        let fields = Fields::of(&index.schema())?;
        let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        Ok(Engine { fields, _reader: reader, searcher })
    }

    /// The filters of `search` as clauses (scoring nothing), plus a row restriction for the recall check.
    fn filters(&self, search: &Search, row: Option<usize>) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.fields;
        let mut must: Vec<Box<dyn Query>> = Vec::new();
        let lower = |values: &[String]| values.iter().map(|v| v.to_lowercase()).collect::<Vec<_>>().into_iter();
        if !search.departments.is_empty() {
            must.push(any_of(f.department, lower(&search.departments)));
        }
        if !search.job_titles.is_empty() {
            must.push(any_of(f.job_title, lower(&search.job_titles)));
        }
        // No statuses means ENABLED or DISABLED, which every generated user is.
        if !search.statuses.is_empty() {
            must.push(any_of(f.status, search.statuses.iter().map(|s| s.as_str().to_string())));
        }
        if !search.origins.is_empty() {
            must.push(any_of(f.origin, search.origins.iter().map(|o| o.as_str().to_string())));
        }
        if !search.roles.is_empty() {
            must.push(any_of(f.role, search.roles.iter().map(|r| r.name().to_string())));
        }
        if let Some(row) = row {
            must.push(Box::new(TermQuery::new(Term::from_field_u64(f.row, row as u64), IndexRecordOption::Basic)));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            must.into_iter().map(|q| (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>)).collect();
        for user_type in &search.exclude_types {
            clauses.push((Occur::MustNot, term_query(f.user_type, user_type.as_str())));
        }
        clauses
    }

    /// The first page of `search` (restricted to user `row` if given): document addresses, best first.
    fn search(&self, search: &Search, row: Option<usize>) -> Result<Vec<DocAddress>> {
        let filters = self.filters(search, row);
        let Some(text) = search.text.as_deref().map(normalize) else {
            let mut clauses = filters;
            if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            let query = BooleanQuery::new(clauses);
            let collector = TopDocs::with_limit(PAGE_SIZE).order_by_fast_field::<u64>("row", Order::Asc);
            return Ok(self.searcher.search(&query, &collector)?.into_iter().map(|(_, doc)| doc).collect());
        };
        let mut page = self.substring(&text, &filters)?;
        if page.len() < PAGE_SIZE {
            self.typo(&text, filters, &mut page)?;
        }
        Ok(page)
    }

    /// Users having `text` as a substring of a value: candidates by trigrams, each checked on its values.
    fn substring(&self, text: &str, filters: &[(Occur, Box<dyn Query>)]) -> Result<Vec<DocAddress>> {
        let grams = trigrams(text);
        if grams.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            grams.iter().map(|gram| (Occur::Must, term_query(self.fields.grams, gram))).collect();
        clauses.extend(filters.iter().map(|(occur, query)| (*occur, query.box_clone())));
        let query = BooleanQuery::new(clauses);
        let mut limit = PAGE_SIZE * 4;
        loop {
            let candidates = self.searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
            let mut page = Vec::new();
            for (_, address) in &candidates {
                let doc: TantivyDocument = self.searcher.doc(*address)?;
                if doc.get_all(self.fields.text).filter_map(|v| v.as_str()).any(|value| value.contains(text)) {
                    page.push(*address);
                    if page.len() == PAGE_SIZE {
                        return Ok(page);
                    }
                }
            }
            if candidates.len() < limit {
                return Ok(page);
            }
            limit *= 8;
        }
    }

    /// Fills `page` with users every query word matches as a word prefix or, from 4 characters, a word
    /// within one edit.
    fn typo(&self, text: &str, filters: Vec<(Occur, Box<dyn Query>)>, page: &mut Vec<DocAddress>) -> Result<()> {
        let words = words(text);
        if words.is_empty() {
            return Ok(());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|word| {
                let term = Term::from_field_text(self.fields.words, word);
                let prefix: Box<dyn Query> = Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, true));
                let query: Box<dyn Query> = if word.chars().count() >= MIN_TYPO_CHARS {
                    let typo: Box<dyn Query> = Box::new(FuzzyTermQuery::new(term, 1, true));
                    Box::new(BooleanQuery::new(vec![(Occur::Should, prefix), (Occur::Should, typo)]))
                } else {
                    prefix
                };
                (Occur::Must, query)
            })
            .collect();
        clauses.extend(filters);
        let query = BooleanQuery::new(clauses);
        let found = self.searcher.search(&query, &TopDocs::with_limit(PAGE_SIZE + page.len()).order_by_score())?;
        for (_, address) in found {
            if page.len() == PAGE_SIZE {
                break;
            }
            if !page.contains(&address) {
                page.push(address);
            }
        }
        Ok(())
    }

    /// The user (row) a document is.
    #[cfg(test)]
    fn row(&self, address: DocAddress) -> Result<usize> {
        let rows = self.searcher.segment_reader(address.segment_ord).fast_fields().u64("row")?;
        Ok(rows.first(address.doc_id).ok_or("a document without its row")? as usize)
    }

    /// Whether `search` finds user `row` (the recall check: the search restricted to that user).
    fn finds(&self, search: &Search, row: usize) -> Result<bool> {
        Ok(!self.search(search, Some(row))?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use onramp_domain::{Id, Timestamp};

    use super::super::data::inputs;
    use super::*;
    use crate::scratch::ScratchDir;

    #[test]
    fn grams_and_words_as_the_tokenizers_cut_them() {
        assert_eq!(trigrams("anna"), vec!["ann", "nna"]);
        assert_eq!(trigrams("aaaa"), vec!["aaa"]);
        assert!(trigrams("ab").is_empty());
        assert_eq!(words("ada.lovelace@example.com"), vec!["ada", "lovelace", "example", "com"]);
    }

    /// On a few users: substrings are exact, a one-typo word finds its user, filters hold.
    #[test]
    fn answers_exactly_on_a_small_index() {
        let now = Timestamp::now();
        let users: Vec<User> = inputs(7).take(3000).map(|i| i.into_new_user(Id::new(), now).unwrap()).collect();
        let sets = Sets::generate(&users, 7);
        let scratch = ScratchDir::new("onramp-bench-tantivy-test").unwrap();
        let figures = tantivy_alternative(&users, &sets, &scratch.path().join("tantivy")).unwrap();
        assert_eq!(figures.rows.len(), 4);
        assert!(figures.disk_bytes > 0);
        let engine = Engine::open(&scratch.path().join("tantivy")).unwrap();
        let row_of = |address: DocAddress| engine.row(address).unwrap();
        let name = normalize(&users[42].display_name);
        let piece: String = name.chars().skip(1).take(4).collect();
        let page = engine.search(&Search { text: Some(piece.clone()), ..Search::default() }, None).unwrap();
        assert!(!page.is_empty());
        for address in page {
            let user = &users[row_of(address)];
            assert!(values(user).any(|value| value.contains(&piece)), "{piece:?} in {:?}", user.display_name);
        }
        let (found, tried) = figures.recall;
        assert!(found * 100 >= tried * 95, "typo recall {found}/{tried}");
        let disabled = Search { statuses: vec![onramp_domain::user::UserStatus::Disabled], ..Search::default() };
        let page = engine.search(&disabled, None).unwrap();
        assert_eq!(page.len(), PAGE_SIZE);
        for address in page {
            assert_eq!(users[row_of(address)].status, onramp_domain::user::UserStatus::Disabled);
        }
    }
}
