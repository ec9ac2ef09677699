//! Text normalisation: the one form in which queries and indexed fields are compared.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// The normalised form of `text`: lowercase, accents removed (`é` → `e`, `ß` → `ss`, `ø` → `o`, ...),
/// runs of whitespace and control characters collapsed to one space, trimmed. Idempotent.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// Appends the normalised form of `text` to `out`.
pub(crate) fn normalize_into(text: &str, out: &mut String) {
    let start = out.len();
    let mut pending_space = false;
    let push = |out: &mut String, c: char, pending_space: &mut bool| {
        if *pending_space {
            if out.len() > start {
                out.push(' ');
            }
            *pending_space = false;
        }
        out.push(c);
    };
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_whitespace() || c.is_ascii_control() {
                pending_space = true;
            } else {
                push(out, c.to_ascii_lowercase(), &mut pending_space);
            }
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            decompose_canonical(lower, |d| {
                if is_combining_mark(d) || is_invisible(d) {
                    return;
                }
                match fold(d) {
                    Some(folded) => {
                        for f in folded.chars() {
                            push(out, f, &mut pending_space);
                        }
                    }
                    None => push(out, d, &mut pending_space),
                }
            });
        }
    }
}

/// Format characters that carry no text (soft hyphen, zero-width space and joiners, word joiner, BOM).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Letters that canonical decomposition leaves alone but a person reads as a base letter (or two).
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ħ' => "h",
        'ı' => "i",
        'ŧ' => "t",
        'ŀ' => "l",
        'ĳ' => "ij",
        _ => return None,
    })
}

/// Whether `c` belongs to a word: words are runs of letters and digits.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The words of a normalised text: maximal runs of letters and digits.
pub(crate) fn words(text: &str) -> Words<'_> {
    Words { text, at: 0 }
}

/// The iterator of [`words`]: it reads ASCII byte by byte (most text is ASCII) and decodes only the other
/// characters, where splitting on a predicate decodes every character.
pub(crate) struct Words<'a> {
    text: &'a str,
    at: usize,
}

impl Words<'_> {
    /// Whether the character at byte `at` (a character boundary) belongs to a word, and its length in bytes.
    #[inline]
    fn char_at(&self, at: usize) -> (bool, usize) {
        let b = self.text.as_bytes()[at];
        if b.is_ascii() {
            return (b.is_ascii_alphanumeric(), 1);
        }
        let c = self.text[at..].chars().next().expect("a character at a boundary");
        (is_word_char(c), c.len_utf8())
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let len = self.text.len();
        while self.at < len {
            let (word, n) = self.char_at(self.at);
            if word {
                break;
            }
            self.at += n;
        }
        if self.at == len {
            return None;
        }
        let start = self.at;
        while self.at < len {
            let (word, n) = self.char_at(self.at);
            if !word {
                break;
            }
            self.at += n;
        }
        Some(&self.text[start..self.at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_removes_accents_and_collapses_whitespace() {
        assert_eq!(normalize("  José   GARCÍA\t\n"), "jose garcia");
        assert_eq!(normalize("Zoë Renée Noémie"), "zoe renee noemie");
        assert_eq!(normalize("Ñandú Müller"), "nandu muller");
        assert_eq!(normalize("Søren Østergaard"), "soren ostergaard");
        assert_eq!(normalize("Łukasz Straße"), "lukasz strasse");
        assert_eq!(normalize("Æsir Œuvre"), "aesir oeuvre");
        assert_eq!(normalize("Đorđe Þór"), "dorde thor");
        assert_eq!(normalize("François Schröder Novák"), "francois schroder novak");
        assert_eq!(normalize("ẞ"), "ss");
        assert_eq!(normalize("İstanbul"), "istanbul");
    }

    #[test]
    fn control_and_invisible_characters() {
        assert_eq!(normalize("a\u{0}b\u{1f}c"), "a b c");
        assert_eq!(normalize("ab\u{200b}cd\u{ad}e"), "abcde");
        assert_eq!(normalize("a\u{3000}\u{a0} b"), "a b");
        assert_eq!(normalize(" \t "), "");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn keeps_other_scripts_and_punctuation() {
        assert_eq!(normalize("Ada.Lovelace+x@Example.COM"), "ada.lovelace+x@example.com");
        assert_eq!(normalize("Ольга Петрова"), "ольга петрова");
        assert_eq!(normalize("中村 愛子"), "中村 愛子");
    }

    #[test]
    fn splits_words_on_non_alphanumerics() {
        let w: Vec<_> = words("ada.lovelace@example.com").collect();
        assert_eq!(w, ["ada", "lovelace", "example", "com"]);
        let w: Vec<_> = words("--o'brien  42--").collect();
        assert_eq!(w, ["o", "brien", "42"]);
    }

    proptest::proptest! {
        #[test]
        fn is_idempotent_and_tidy(s in "\\PC{0,40}|[ a-zA-ZéÉßøŁ\u{301}\u{200b}\t]{0,20}") {
            let once = normalize(&s);
            proptest::prop_assert_eq!(normalize(&once), once.clone());
            proptest::prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
            proptest::prop_assert!(!once.chars().any(|c| is_combining_mark(c) || c.is_control()));
            proptest::prop_assert_eq!(once.to_lowercase(), once.clone());
        }

        /// The byte-reading iterator gives the words splitting on the predicate gives.
        #[test]
        fn words_are_the_runs_of_word_characters(s in "\\PC{0,40}|[ a-zA-Z0-9.@_\u{0}\u{1}éßøŁ中Ⅻ\u{301}²-]{0,30}") {
            let split: Vec<&str> = s.split(|c: char| !is_word_char(c)).filter(|w| !w.is_empty()).collect();
            proptest::prop_assert_eq!(words(&s).collect::<Vec<_>>(), split);
        }
    }

    #[test]
    fn is_idempotent_on_samples() {
        for s in ["Ǆemal", "ﬁle", "Å Å", "ǅ", "Ⅻ", "ΣΑΣ", "ĲSSEL", "a\u{301}\u{301}b", "\u{301}x"] {
            let once = normalize(s);
            assert_eq!(normalize(&once), once, "{s:?}");
            assert!(!once.chars().any(is_combining_mark), "{s:?} -> {once:?}");
        }
    }
}
