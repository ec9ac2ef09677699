//! Text matching: the parsed text query, and the exact per-user rank check that every candidate found
//! through the postings is verified with.

use crate::Rank;
use crate::normalize::{normalize, words};

/// Separates the display name from the first email, and emails from one another, in a user's stored text.
/// Normalised text has no control characters.
pub(crate) const EMAIL_SEP: char = '\0';
/// Comes before each username in a user's stored text.
pub(crate) const USERNAME_SEP: char = '\u{1}';

/// The fields of a user's stored text: display name, emails, usernames.
pub(crate) fn fields(text: &str) -> impl Iterator<Item = &str> {
    text.split([EMAIL_SEP, USERNAME_SEP])
}

/// The emails of a user's stored text.
pub(crate) fn emails(text: &str) -> impl Iterator<Item = &str> {
    text.split(USERNAME_SEP).next().unwrap_or("").split(EMAIL_SEP).skip(1)
}

/// The sorted, distinct words of a user's stored text.
pub(crate) fn doc_words(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = fields(text).flat_map(words).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A word of the text query.
pub(crate) struct QueryWord {
    pub text: String,
    pub chars: Vec<char>,
    /// Long enough (4 characters or more) to match a word within one edit.
    pub typo: bool,
}

/// A parsed text query.
pub(crate) struct TextQuery {
    pub norm: String,
    pub chars: Vec<char>,
    /// Distinct words, in query order.
    pub words: Vec<QueryWord>,
}

pub(crate) const MIN_QUERY_CHARS: usize = 2;
pub(crate) const MIN_TYPO_CHARS: usize = 4;

impl TextQuery {
    pub fn parse(text: &str) -> Option<TextQuery> {
        let norm = normalize(text);
        let chars: Vec<char> = norm.chars().collect();
        if chars.len() < MIN_QUERY_CHARS {
            return None;
        }
        let mut list: Vec<QueryWord> = Vec::new();
        for word in words(&norm) {
            if list.iter().any(|w| w.text == word) {
                continue;
            }
            let chars: Vec<char> = word.chars().collect();
            list.push(QueryWord { text: word.to_string(), typo: chars.len() >= MIN_TYPO_CHARS, chars });
        }
        Some(TextQuery { norm, chars, words: list })
    }

    pub fn any_typo(&self) -> bool {
        self.words.iter().any(|w| w.typo)
    }
}

const EXACT: u8 = 1;
const PREFIX: u8 = 2;
const TYPO: u8 = 4;

/// What one user's words say about a query's words: whether every one is a whole word of the user, a word's
/// beginning, or (when asked for) either of these or a whole word within one edit.
struct Facts {
    all_exact: bool,
    all_prefix: bool,
    all_typo: bool,
}

fn word_facts(text: &str, query: &TextQuery, with_typo: bool, flags: &mut Vec<u8>) -> Facts {
    flags.clear();
    flags.resize(query.words.len(), 0);
    for word in fields(text).flat_map(words) {
        for (flag, q) in flags.iter_mut().zip(&query.words) {
            if *flag & EXACT != 0 {
                continue;
            }
            if word.starts_with(q.text.as_str()) {
                *flag |= PREFIX;
                if word.len() == q.text.len() {
                    *flag |= EXACT;
                }
            } else if with_typo && q.typo && *flag & (PREFIX | TYPO) == 0 && within_one_edit(&q.text, word) {
                *flag |= TYPO;
            }
        }
    }
    let some = !flags.is_empty();
    Facts {
        all_exact: some && flags.iter().all(|f| f & EXACT != 0),
        all_prefix: some && flags.iter().all(|f| f & PREFIX != 0),
        all_typo: some && flags.iter().all(|f| f & (PREFIX | TYPO) != 0),
    }
}

fn has_substring(text: &str, query: &TextQuery) -> bool {
    fields(text).any(|field| field.contains(query.norm.as_str()))
}

/// Whether the user whose stored text is `text` has exactly rank `level` for `query`.
pub(crate) fn has_rank(text: &str, query: &TextQuery, level: Rank, flags: &mut Vec<u8>) -> bool {
    match level {
        Rank::Exact => word_facts(text, query, false, flags).all_exact,
        Rank::Prefix => {
            let facts = word_facts(text, query, false, flags);
            facts.all_prefix && !facts.all_exact
        }
        Rank::Substring => has_substring(text, query) && !word_facts(text, query, false, flags).all_prefix,
        Rank::Typo => {
            if has_substring(text, query) {
                return false;
            }
            let facts = word_facts(text, query, true, flags);
            !facts.all_prefix && facts.all_typo
        }
    }
}

/// The best rank the user whose stored text is `text` qualifies for, if any.
#[cfg(test)]
pub(crate) fn rank_of(text: &str, query: &TextQuery) -> Option<Rank> {
    let mut flags = Vec::new();
    [Rank::Exact, Rank::Prefix, Rank::Substring, Rank::Typo]
        .into_iter()
        .find(|&level| has_rank(text, query, level, &mut flags))
}

/// Whether `a` and `b` are within one insertion, deletion, substitution or adjacent transposition.
pub(crate) fn within_one_edit(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        within_one_edit_slices(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        within_one_edit_slices(&a, &b)
    }
}

fn within_one_edit_slices<T: Eq>(a: &[T], b: &[T]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if la == lb {
        i == la
            || a[i + 1..] == b[i + 1..]
            || (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
    } else if la > lb {
        a[i + 1..] == b[i..]
    } else {
        a[i..] == b[i + 1..]
    }
}

/// Calls `f` with every string within one edit of `word` (other than `word` itself; possibly repeated),
/// taking inserted and substituted characters from `alphabet`: written out, what the word table's
/// `get_one_edit` looks up without writing them (its test compares the two).
#[cfg(test)]
pub(crate) fn for_each_variant(word: &[char], alphabet: &[char], mut f: impl FnMut(&str)) {
    let mut buf = String::with_capacity(word.len() * 4 + 4);
    let mut emit = |parts: &[&[char]], middle: &[char], f: &mut dyn FnMut(&str)| {
        buf.clear();
        buf.extend(parts[0]);
        buf.extend(middle);
        buf.extend(parts[1]);
        f(&buf);
    };
    let n = word.len();
    for i in 0..n {
        // deletion
        emit(&[&word[..i], &word[i + 1..]], &[], &mut f);
        // transposition
        if i + 1 < n && word[i] != word[i + 1] {
            emit(&[&word[..i], &word[i + 2..]], &[word[i + 1], word[i]], &mut f);
        }
        // substitution
        for &a in alphabet {
            if a != word[i] {
                emit(&[&word[..i], &word[i + 1..]], &[a], &mut f);
            }
        }
    }
    // insertion
    for i in 0..=n {
        for &a in alphabet {
            emit(&[&word[..i], &word[i..]], &[a], &mut f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> TextQuery {
        TextQuery::parse(text).unwrap()
    }

    #[test]
    fn edits() {
        assert!(within_one_edit("john", "john"));
        assert!(within_one_edit("john", "jon"));
        assert!(within_one_edit("jon", "john"));
        assert!(within_one_edit("john", "joan"));
        assert!(within_one_edit("jonh", "john"));
        assert!(within_one_edit("ojhn", "john"));
        assert!(within_one_edit("johnx", "john"));
        assert!(!within_one_edit("jnoh", "john"));
        assert!(!within_one_edit("jo", "john"));
        assert!(!within_one_edit("joan", "jane"));
        assert!(within_one_edit("søren", "sören"));
        assert!(within_one_edit("zoë", "zoe"));
        assert!(!within_one_edit("zoëx", "zoe"));
    }

    #[test]
    fn variants_cover_every_edit_and_nothing_else() {
        let alphabet: Vec<char> = "abchjnox".chars().collect();
        let word: Vec<char> = "john".chars().collect();
        let mut seen = std::collections::BTreeSet::new();
        for_each_variant(&word, &alphabet, |v| {
            assert!(within_one_edit("john", v), "{v}");
            assert_ne!(v, "john");
            seen.insert(v.to_string());
        });
        for expected in ["jon", "ohn", "ojhn", "jonh", "joan", "johna", "xjohn", "jhn", "jxohn"] {
            assert!(seen.contains(expected), "{expected}");
        }
    }

    #[test]
    fn ranks_of_one_user() {
        let text = "ada lovelace\0ada.lovelace@example.com\u{1}alovelace";
        assert_eq!(rank_of(text, &q("Ada")), Some(Rank::Exact));
        assert_eq!(rank_of(text, &q("lovelace ada")), Some(Rank::Exact));
        assert_eq!(rank_of(text, &q("love ad")), Some(Rank::Prefix));
        assert_eq!(rank_of(text, &q("ada love")), Some(Rank::Prefix));
        assert_eq!(rank_of(text, &q("ovel")), Some(Rank::Substring));
        assert_eq!(rank_of(text, &q("a lov")), Some(Rank::Prefix));
        assert_eq!(rank_of(text, &q("da lov")), Some(Rank::Substring));
        assert_eq!(rank_of(text, &q("ada@")), Some(Rank::Exact));
        assert_eq!(rank_of(text, &q("@e")), Some(Rank::Prefix));
        assert_eq!(rank_of(text, &q("lovelcae")), Some(Rank::Typo));
        assert_eq!(rank_of(text, &q("lovelacee ad")), Some(Rank::Typo));
        assert_eq!(rank_of(text, &q("lovelac")), Some(Rank::Prefix));
        // Typo needs 4 characters; the other words still must match.
        assert_eq!(rank_of(text, &q("adx")), None);
        assert_eq!(rank_of(text, &q("lovelcae bob")), None);
        // Substring does not cross fields.
        assert_eq!(rank_of(text, &q("lace ada.love")), None);
        assert_eq!(rank_of(text, &q("ce ada")), None);
        // A query of punctuation only matches by substring.
        assert_eq!(rank_of("a--b", &q("--")), Some(Rank::Substring));
        assert_eq!(rank_of(text, &q("@@")), None);
    }

    #[test]
    fn fields_of_stored_text() {
        let text = "ada\0a@x.com\0b@y.com\u{1}ada1\u{1}ada2";
        assert_eq!(fields(text).collect::<Vec<_>>(), ["ada", "a@x.com", "b@y.com", "ada1", "ada2"]);
        assert_eq!(emails(text).collect::<Vec<_>>(), ["a@x.com", "b@y.com"]);
        assert_eq!(emails("ada\u{1}ada1").count(), 0);
        assert_eq!(doc_words(text), ["a", "ada", "ada1", "ada2", "b", "com", "x", "y"]);
    }
}
