//! Free text as onramp stores it: the one rule for every text field of every object, checked where input is
//! parsed (API bodies, import rows, forms, the command line), so that no path reaches the database with a
//! control character.
//!
//! Why: a NUL cannot be stored in a PostgreSQL TEXT column at all (the write fails, so one bad row would
//! fail a whole import there while SQLite stores it), and other control characters in a name or purpose
//! end up in emails, pages and terminals, where a line break can pass for onramp's own text.
//!
//! The rule. A control character is one of Unicode's general category Cc: U+0000–U+001F and U+007F–U+009F.
//! - **One line** ([`TextKind::OneLine`]): no control character at all, and neither of Unicode's line and
//!   paragraph separators (U+2028, U+2029). Every text field is one line unless listed below: user names,
//!   departments, job titles, employment status and type, usernames and employee ids, attribute sources,
//!   profile keys; app names, icon URLs and policy ids; directory, invitation and flow names, purposes and job
//!   ids; onboarding-settings ids, names, intents and organisation context; onboard failure and rejection
//!   reasons; tenant and API key names on the command line.
//! - **Multi-line** ([`TextKind::MultiLine`]): line feeds, CR LF pairs and tabs are allowed; every other
//!   control character, a lone carriage return included, is refused. The multi-line fields are: app
//!   `description` and `instructions`; flow `description`; a flow step's `acceptTerms.text` and
//!   `notify.message`; the onboarding settings' `mcpOnboardingGoal`; and the string values of a user's
//!   `profile`.
//!
//! Lengths are counted in characters (Unicode scalar values). Callers trim surrounding whitespace where
//! they always have (one-line names), before the check.

/// Which characters besides printable text a field admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Names, titles, ids and reasons: no control characters, no line breaks.
    OneLine,
    /// Prose such as descriptions and terms: line breaks (LF or CR LF) and tabs, no other control character.
    MultiLine,
}

/// Why a text was refused. The messages read after a field name: `invalid displayName: must ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    /// `character` is the offending character's code point and `position` its zero-based character index.
    #[error("must not contain control characters or line breaks (U+{character:04X} at character {position})")]
    LineBreakOrControl { character: u32, position: usize },
    #[error(
        "must not contain control characters other than line breaks and tabs (U+{character:04X} at character {position})"
    )]
    Control { character: u32, position: usize },
}

/// Checks `value` against the rule for `kind` and a length of at most `max_chars` characters.
pub fn check_text(value: &str, kind: TextKind, max_chars: usize) -> Result<(), TextError> {
    let mut count = 0usize;
    let mut chars = value.chars().peekable();
    while let Some(character) = chars.next() {
        let allowed = match kind {
            TextKind::OneLine => !character.is_control() && !matches!(character, '\u{2028}' | '\u{2029}'),
            TextKind::MultiLine => match character {
                '\n' | '\t' => true,
                '\r' => chars.peek() == Some(&'\n'),
                other => !other.is_control(),
            },
        };
        if !allowed {
            let (character, position) = (u32::from(character), count);
            return Err(match kind {
                TextKind::OneLine => TextError::LineBreakOrControl { character, position },
                TextKind::MultiLine => TextError::Control { character, position },
            });
        }
        count += 1;
    }
    if count > max_chars {
        return Err(TextError::TooLong { max: max_chars });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule written out the slow, obvious way, for the property test to compare against.
    fn allowed_by_definition(value: &str, kind: TextKind) -> bool {
        let chars: Vec<char> = value.chars().collect();
        chars.iter().enumerate().all(|(i, &c)| {
            let control = ('\u{0}'..='\u{1f}').contains(&c) || ('\u{7f}'..='\u{9f}').contains(&c);
            match kind {
                TextKind::OneLine => !control && c != '\u{2028}' && c != '\u{2029}',
                TextKind::MultiLine => {
                    !control || c == '\n' || c == '\t' || (c == '\r' && chars.get(i + 1) == Some(&'\n'))
                }
            }
        })
    }

    #[test]
    fn examples() {
        assert!(check_text("Ada Lovelace", TextKind::OneLine, 256).is_ok());
        assert!(check_text("Zoë · 東京 🚀", TextKind::OneLine, 256).is_ok());
        assert!(check_text("", TextKind::OneLine, 0).is_ok());
        assert_eq!(
            check_text("Ada\0", TextKind::OneLine, 256),
            Err(TextError::LineBreakOrControl { character: 0, position: 3 })
        );
        assert!(check_text("two\nlines", TextKind::OneLine, 256).is_err());
        assert!(check_text("a\u{2028}b", TextKind::OneLine, 256).is_err());
        assert!(check_text("a\u{85}b", TextKind::OneLine, 256).is_err(), "NEL is a C1 control");
        assert!(check_text("Terms:\r\n\t1. Be kind.\n", TextKind::MultiLine, 256).is_ok());
        assert_eq!(
            check_text("a\rb", TextKind::MultiLine, 256),
            Err(TextError::Control { character: 13, position: 1 })
        );
        assert!(check_text("a\r", TextKind::MultiLine, 256).is_err(), "a carriage return at the end");
        assert!(check_text("nul\0", TextKind::MultiLine, 256).is_err());
        assert!(check_text("\u{1b}[31mred", TextKind::MultiLine, 256).is_err());
        assert_eq!(check_text("ééé", TextKind::OneLine, 2), Err(TextError::TooLong { max: 2 }));
        assert!(check_text("ééé", TextKind::OneLine, 3).is_ok(), "characters, not bytes");
        let message = check_text("x\u{7}", TextKind::OneLine, 9).unwrap_err().to_string();
        assert!(message.starts_with("must not contain control characters") && message.contains("U+0007"), "{message}");
    }

    proptest! {
        #[test]
        fn agrees_with_the_definition(value in "(\\PC|[\\x00-\\x1f\\x7f-\\x9f\\x{2028}\\x{2029}]){0,24}") {
            for kind in [TextKind::OneLine, TextKind::MultiLine] {
                let allowed = allowed_by_definition(&value, kind);
                let result = check_text(&value, kind, usize::MAX);
                prop_assert_eq!(result.is_ok(), allowed, "{:?} {:?}: {:?}", kind, value, result);
            }
        }

        #[test]
        fn one_line_text_is_multi_line_text(value in "\\PC{0,24}") {
            if check_text(&value, TextKind::OneLine, usize::MAX).is_ok() {
                prop_assert!(check_text(&value, TextKind::MultiLine, usize::MAX).is_ok());
            }
        }

        #[test]
        fn the_error_points_at_the_first_refused_character(prefix in "[a-z é]{0,10}", bad in "[\\x00-\\x08\\x0b-\\x1f\\x7f]") {
            let value = format!("{prefix}{bad}tail");
            let position = prefix.chars().count();
            let character = u32::from(bad.chars().next().unwrap());
            prop_assert_eq!(
                check_text(&value, TextKind::MultiLine, 1000),
                Err(TextError::Control { character, position })
            );
            prop_assert_eq!(
                check_text(&value, TextKind::OneLine, 1000),
                Err(TextError::LineBreakOrControl { character, position })
            );
        }

        #[test]
        fn length_is_counted_in_characters(value in "\\PC{0,30}", max in 0usize..30) {
            let fits = value.chars().count() <= max;
            let result = check_text(&value, TextKind::MultiLine, max);
            prop_assert_eq!(result.is_ok(), fits, "{:?} max {}: {:?}", value, max, result);
        }
    }
}
