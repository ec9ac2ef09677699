//! The parser of SCIM filters (RFC 7644 §3.4.2.2): text into tokens (words, JSON strings, brackets), tokens
//! into a [`Filter`] by precedence (`or` below `and` below `not`, parentheses and value filters), each
//! mistake told with what was expected and what was found.

use serde_json::{Number, Value};

use super::filter::{AttrPath, CompareOp, Filter, Literal, check_name};

/// The deepest nesting of parentheses, `not` and value filters a filter may have.
const MAX_DEPTH: usize = 32;

/// Parses a filter; `in_brackets` for the inside of a value path, where value paths cannot nest.
pub(super) fn parse(text: &str, in_brackets: bool) -> Result<Filter, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("it is empty".to_string());
    }
    let mut parser = Parser { tokens, next: 0, depth: 0 };
    let filter = parser.or(in_brackets)?;
    match parser.peek() {
        None => Ok(filter),
        Some((position, _)) => {
            let found = describe(parser.peek());
            Err(format!("unexpected {found} at position {position}; join expressions with \"and\" or \"or\""))
        }
    }
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        let op = match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        };
        Some(op)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Text(String),
}

fn describe(token: Option<&(usize, Token)>) -> String {
    match token {
        None => "the end".to_string(),
        Some((_, Token::Open)) => "\"(\"".to_string(),
        Some((_, Token::Close)) => "\")\"".to_string(),
        Some((_, Token::OpenBracket)) => "\"[\"".to_string(),
        Some((_, Token::CloseBracket)) => "\"]\"".to_string(),
        Some((_, Token::Word(word))) => format!("\"{word}\""),
        Some((_, Token::Text(text))) => format!("the string {}", Value::from(text.as_str())),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '(' => Token::Open,
            ')' => Token::Close,
            '[' => Token::OpenBracket,
            ']' => Token::CloseBracket,
            '"' => {
                let mut end = None;
                while let Some((index, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = Some(index);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| format!("the string at position {start} has no closing quote"))?;
                let decoded: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| format!("the string at position {start} is not a valid JSON string"))?;
                Token::Text(decoded)
            }
            _ => {
                let mut end = start + c.len_utf8();
                while let Some(&(index, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    end = index + c.len_utf8();
                    chars.next();
                }
                Token::Word(text[start..end].to_string())
            }
        };
        tokens.push((start, token));
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.next)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some((_, Token::Word(word))) if word.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, expected: Token, what: &str) -> Result<(), String> {
        match self.peek() {
            Some((_, token)) if *token == expected => {
                self.next += 1;
                Ok(())
            }
            other => Err(format!("expected {what}, found {}", describe(other))),
        }
    }

    fn operator_follows(&self) -> bool {
        match self.tokens.get(self.next + 1) {
            Some((_, Token::Word(word))) => word.eq_ignore_ascii_case("pr") || CompareOp::parse(word).is_some(),
            Some((_, Token::OpenBracket)) => true,
            _ => false,
        }
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(format!("nested deeper than {MAX_DEPTH} levels")) } else { Ok(()) }
    }

    fn or(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.and(in_brackets)?;
        while self.peek_keyword("or") {
            self.next += 1;
            let right = self.and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.unary(in_brackets)?;
        while self.peek_keyword("and") {
            self.next += 1;
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, String> {
        self.deeper()?;
        let filter = match self.peek() {
            Some((_, Token::Open)) => {
                self.next += 1;
                let inner = self.or(in_brackets)?;
                self.expect(Token::Close, "\")\"")?;
                inner
            }
            // `not` before an operator or "[" is an attribute named "not".
            Some((_, Token::Word(word))) if word.eq_ignore_ascii_case("not") && !self.operator_follows() => {
                self.next += 1;
                Filter::Not(Box::new(self.unary(in_brackets)?))
            }
            Some((_, Token::Word(_))) => self.attribute_expression(in_brackets)?,
            other => return Err(format!("expected an attribute path, \"(\" or \"not\", found {}", describe(other))),
        };
        self.depth -= 1;
        Ok(filter)
    }

    fn attribute_expression(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let Some((_, Token::Word(word))) = self.peek().cloned() else { unreachable!("checked by unary") };
        self.next += 1;
        let path = AttrPath::parse(&word)?;
        if let Some((_, Token::OpenBracket)) = self.peek() {
            if in_brackets {
                return Err(format!("a value filter cannot be nested inside another, at \"{word}[\""));
            }
            if path.sub.is_some() {
                return Err(format!("a value filter applies to an attribute, not the sub-attribute \"{word}\""));
            }
            self.next += 1;
            let mut inner = self.or(true)?;
            self.expect(Token::CloseBracket, "\"]\"")?;
            // `emails[type eq "work"].value eq "x"`, as Entra ID matches users, is
            // `emails[type eq "work" and value eq "x"]`.
            if let Some((_, Token::Word(sub))) = self.peek().cloned()
                && let Some(sub) = sub.strip_prefix('.')
            {
                self.next += 1;
                let sub = sub.to_string();
                check_name(&sub, &format!("{word}[...].{sub}"))?;
                let condition = self.condition(AttrPath::simple(&sub), &format!("{word}[...].{sub}"))?;
                inner = Filter::And(Box::new(inner), Box::new(condition));
            }
            return Ok(Filter::ValuePath { path, filter: Box::new(inner) });
        }
        self.condition(path, &word)
    }

    /// The operator and value after an attribute path (`word` as written, for the messages).
    fn condition(&mut self, path: AttrPath, word: &str) -> Result<Filter, String> {
        let operator = match self.peek() {
            Some((_, Token::Word(operator))) => operator.clone(),
            other => return Err(format!("expected an operator after \"{word}\", found {}", describe(other))),
        };
        self.next += 1;
        if operator.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&operator)
            .ok_or_else(|| format!("\"{operator}\" is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"))?;
        let value = match self.peek() {
            Some((_, Token::Text(text))) => Literal::String(text.clone()),
            Some((_, Token::Word(word))) => literal_word(word).ok_or_else(|| {
                format!("\"{word}\" is not a value: quote a string, or give true, false, null or a number")
            })?,
            other => {
                return Err(format!("expected a value after \"{word} {operator}\", found {}", describe(other)));
            }
        };
        self.next += 1;
        Ok(Filter::Compare { path, op, value })
    }
}

fn literal_word(word: &str) -> Option<Literal> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        "null" => Some(Literal::Null),
        _ => serde_json::from_str::<Number>(word).ok().map(Literal::Number),
    }
}
