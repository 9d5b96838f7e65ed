//! The text syntax of rules, for people: the same rules as the JSON form.
//!
//! ```text
//! orders >= 3 and last_order_at within 30 days
//! not (segment "vip" or bought_categories.suits.spent > 1000)
//! currency in ("EUR", "USD") and revenue between 100 and 200
//! cart.age_seconds > 3600 and messages.email.opened is empty
//! last_order_at more than 90 days ago
//! viewed_categories.phones.count in last 7 days >= 2
//! bucket 10% salt "holdout"
//! ```
//!
//! `and` binds tighter than `or`; `not` applies to what follows it. A key
//! that is not a plain word (`p-1` is; `red shoes` is not) is written in
//! backquotes: ``searches.`red shoes`.count > 2``. Errors give the line and
//! column, what was expected, and for a field the nearest known name.

use serde_json::{Map, Value, json};

use super::{MAX_DEPTH, fields};
use crate::error::{Error, Location, Result};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Symbol(&'static str),
    End,
}

struct Lexed {
    token: Token,
    line: usize,
    column: usize,
}

fn error(line: usize, column: usize, message: impl Into<String>) -> Error {
    let message = message.into();
    Error::Validation {
        path: String::new(),
        message: format!("line {line}, column {column}: {message}"),
        location: Some(Location { line, column }),
    }
}

fn lex(text: &str) -> Result<Vec<Lexed>> {
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut column) = (0, 1, 1);
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let (start_line, start_column) = (line, column);
        let advance = |n: usize, i: &mut usize, column: &mut usize| {
            *i += n;
            *column += n;
        };
        if c == '\n' {
            i += 1;
            line += 1;
            column = 1;
            continue;
        }
        if c.is_whitespace() {
            advance(1, &mut i, &mut column);
            continue;
        }
        let token = if c == '"' || c == '\'' || c == '`' {
            let mut j = i + 1;
            let mut value = String::new();
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\n' {
                    return Err(error(
                        start_line,
                        start_column,
                        "text runs past the end of the line",
                    ));
                }
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                value.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return Err(error(
                    start_line,
                    start_column,
                    "text without its closing quote",
                ));
            }
            advance(j + 1 - i, &mut i, &mut column);
            // Backquotes make a word of anything: a key with spaces.
            if c == '`' {
                Token::Word(format!("`{value}`"))
            } else {
                Token::Text(value)
            }
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let text: String = chars[i..j].iter().collect();
            let number: f64 = text
                .parse()
                .map_err(|_| error(line, column, format!("`{text}` is not a number")))?;
            advance(j - i, &mut i, &mut column);
            Token::Number(number)
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len() {
                let d = chars[j];
                if d.is_alphanumeric() || matches!(d, '_' | '-' | '.') {
                    j += 1;
                } else if d == '`' {
                    // A quoted key inside a dotted field: `searches.`red shoes`.count`.
                    let close = chars[j + 1..].iter().position(|&e| e == '`');
                    match close {
                        Some(k) => j += k + 2,
                        None => {
                            return Err(error(
                                line,
                                column + (j - i),
                                "key without its closing backquote",
                            ));
                        }
                    }
                } else {
                    break;
                }
            }
            let word: String = chars[i..j].iter().collect();
            advance(j - i, &mut i, &mut column);
            Token::Word(word)
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let symbol = ["<=", ">=", "!="]
                .into_iter()
                .find(|s| *s == two)
                .or_else(|| {
                    ["(", ")", ",", "=", "<", ">", "%"]
                        .into_iter()
                        .find(|s| s.starts_with(c))
                });
            let Some(symbol) = symbol else {
                return Err(error(line, column, format!("unexpected character `{c}`")));
            };
            advance(symbol.len(), &mut i, &mut column);
            Token::Symbol(symbol)
        };
        out.push(Lexed {
            token,
            line: start_line,
            column: start_column,
        });
    }
    out.push(Lexed {
        token: Token::End,
        line,
        column,
    });
    Ok(out)
}

struct Parser {
    tokens: Vec<Lexed>,
    at: usize,
    depth: usize,
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("`{w}`"),
        Token::Text(t) => format!("\"{t}\""),
        Token::Number(n) => format!("{n}"),
        Token::Symbol(s) => format!("`{s}`"),
        Token::End => "the end".to_string(),
    }
}

impl Parser {
    fn peek(&self) -> &Lexed {
        &self.tokens[self.at]
    }

    fn next(&mut self) -> &Lexed {
        let t = &self.tokens[self.at];
        if t.token != Token::End {
            self.at += 1;
        }
        t
    }

    fn is_word(&self, word: &str) -> bool {
        self.is_word_at(0, word)
    }

    /// Whether the token `ahead` places on is `word`.
    fn is_word_at(&self, ahead: usize, word: &str) -> bool {
        let i = (self.at + ahead).min(self.tokens.len() - 1);
        matches!(&self.tokens[i].token, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// `days`, or `day` after 1.
    fn days(&mut self) -> Result<()> {
        if self.is_word("day") {
            self.next();
            return Ok(());
        }
        self.word("days")
    }

    fn expected(&self, what: &str) -> Error {
        let t = self.peek();
        error(
            t.line,
            t.column,
            format!("expected {what}, got {}", describe(&t.token)),
        )
    }

    fn word(&mut self, word: &str) -> Result<()> {
        if self.is_word(word) {
            self.next();
            Ok(())
        } else {
            Err(self.expected(&format!("`{word}`")))
        }
    }

    fn symbol(&mut self, symbol: &str) -> Result<()> {
        if matches!(&self.peek().token, Token::Symbol(s) if *s == symbol) {
            self.next();
            Ok(())
        } else {
            Err(self.expected(&format!("`{symbol}`")))
        }
    }

    fn descend(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek();
            return Err(error(
                t.line,
                t.column,
                format!("rules nest at most {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn any(&mut self) -> Result<Value> {
        self.descend()?;
        let mut parts = vec![self.all()?];
        while self.is_word("or") {
            self.next();
            parts.push(self.all()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            json!({"any": parts})
        })
    }

    fn all(&mut self) -> Result<Value> {
        let mut parts = vec![self.unary()?];
        while self.is_word("and") {
            self.next();
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            json!({"all": parts})
        })
    }

    fn unary(&mut self) -> Result<Value> {
        if self.is_word("not") {
            self.next();
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(json!({"not": inner}));
        }
        if self.peek().token == Token::Symbol("(") {
            self.next();
            let inner = self.any()?;
            self.symbol(")")?;
            return Ok(inner);
        }
        if self.is_word("segment") {
            self.next();
            let t = self.next();
            let Token::Text(name) = &t.token else {
                let (l, c) = (t.line, t.column);
                return Err(error(l, c, "expected a segment name in quotes"));
            };
            return Ok(json!({"segment": name}));
        }
        if self.is_word("bucket") {
            self.next();
            let percent = self.number("a share from 0 to 100")?;
            self.symbol("%")?;
            let mut bucket = Map::new();
            bucket.insert("percent".into(), json!(percent));
            if self.is_word("salt") {
                self.next();
                let t = self.next();
                let Token::Text(salt) = &t.token else {
                    let (l, c) = (t.line, t.column);
                    return Err(error(l, c, "expected the salt in quotes"));
                };
                bucket.insert("salt".into(), json!(salt));
            }
            return Ok(json!({"bucket": bucket}));
        }
        self.condition()
    }

    fn number(&mut self, what: &str) -> Result<f64> {
        match self.peek().token {
            Token::Number(n) => {
                self.next();
                Ok(n)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn value(&mut self) -> Result<Value> {
        let t = self.peek();
        let value = match &t.token {
            Token::Number(n) => json!(n),
            Token::Text(s) => json!(s),
            Token::Word(w) if w.eq_ignore_ascii_case("true") => json!(true),
            Token::Word(w) if w.eq_ignore_ascii_case("false") => json!(false),
            _ => return Err(self.expected("a value (a number, text in quotes, true or false)")),
        };
        self.next();
        Ok(value)
    }

    /// A value, or another field to compare with (a name without quotes).
    fn value_or_field(&mut self) -> Result<Value> {
        let t = self.peek();
        if let Token::Word(w) = &t.token
            && !w.eq_ignore_ascii_case("true")
            && !w.eq_ignore_ascii_case("false")
        {
            let (line, column) = (t.line, t.column);
            let field = w.replace('`', "");
            fields::kind_of(&field).map_err(|m| error(line, column, m))?;
            self.next();
            return Ok(json!({"field": field}));
        }
        self.value()
    }

    fn condition(&mut self) -> Result<Value> {
        let t = self.next();
        let (line, column) = (t.line, t.column);
        let Token::Word(word) = &t.token else {
            return Err(error(
                line,
                column,
                format!(
                    "expected a field, `not`, `segment`, `bucket` or `(`, got {}",
                    describe(&t.token)
                ),
            ));
        };
        let field = word.replace('`', "");
        fields::kind_of(&field).map_err(|m| error(line, column, m))?;
        let mut condition = Map::new();
        condition.insert("field".into(), json!(field));
        // A count within a window: `orders in last 365 days >= 3`.
        if self.is_word("in") && self.is_word_at(1, "last") {
            self.next();
            self.next();
            let days = self.number("a number of days")?;
            self.days()?;
            condition.insert("within_days".into(), json!(days));
        }
        let op_at = (self.peek().line, self.peek().column);
        let (op, value) = match self.peek().token.clone() {
            Token::Symbol(s @ ("=" | "!=" | "<" | "<=" | ">" | ">=")) => {
                self.next();
                (s.to_string(), Some(self.value_or_field()?))
            }
            Token::Word(w) => {
                self.next();
                match w.to_ascii_lowercase().as_str() {
                    "between" => {
                        let low = self.value()?;
                        self.word("and")?;
                        ("between".into(), Some(json!([low, self.value()?])))
                    }
                    "in" => {
                        self.symbol("(")?;
                        let mut items = vec![self.value()?];
                        while self.peek().token == Token::Symbol(",") {
                            self.next();
                            items.push(self.value()?);
                        }
                        self.symbol(")")?;
                        ("in".into(), Some(json!(items)))
                    }
                    "contains" => ("contains".into(), Some(self.value()?)),
                    "starts" => {
                        self.word("with")?;
                        ("starts_with".into(), Some(self.value()?))
                    }
                    "is" => {
                        if self.is_word("set") {
                            self.next();
                            ("is_set".into(), None)
                        } else {
                            self.word("empty")?;
                            ("is_empty".into(), None)
                        }
                    }
                    "within" => {
                        if self.is_word("last") {
                            self.next();
                        }
                        let days = self.number("a number of days")?;
                        self.days()?;
                        ("within_last_days".into(), Some(json!(days)))
                    }
                    "anniversary" => {
                        self.word("within")?;
                        let days = self.number("a number of days")?;
                        self.days()?;
                        ("anniversary_within_days".into(), Some(json!(days)))
                    }
                    "more" => {
                        self.word("than")?;
                        let days = self.number("a number of days")?;
                        self.days()?;
                        self.word("ago")?;
                        ("more_than_days_ago".into(), Some(json!(days)))
                    }
                    other => {
                        return Err(error(
                            op_at.0,
                            op_at.1,
                            format!(
                                "expected an operator after `{field}` (=, !=, <, <=, >, >=, between, in, contains, starts with, is set, is empty, within N days, more than N days ago, anniversary within N days), got `{other}`"
                            ),
                        ));
                    }
                }
            }
            other => {
                return Err(error(
                    op_at.0,
                    op_at.1,
                    format!(
                        "expected an operator after `{field}`, got {}",
                        describe(&other)
                    ),
                ));
            }
        };
        condition.insert("op".into(), json!(op));
        if let Some(value) = value {
            condition.insert("value".into(), value);
        }
        // The same checks as the JSON form, placed at the condition.
        let checked = Value::Object(condition);
        super::read(&checked, "", 0).map_err(|e| error(line, column, e.reason()))?;
        Ok(checked)
    }
}

/// Parses a rule in the text syntax into its JSON form.
pub fn parse(text: &str) -> Result<Value> {
    let mut parser = Parser {
        tokens: lex(text)?,
        at: 0,
        depth: 0,
    };
    let rule = parser.any()?;
    if parser.peek().token != Token::End {
        return Err(parser.expected("`and`, `or` or the end"));
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_reads_as_the_json_form() {
        let rule = parse(
            "orders >= 3 and (segment \"vip\" or not bought_categories.suits.spent > 1000)\n\
             and currency in ('EUR', 'USD') and last_order_at within 30 days",
        )
        .unwrap();
        assert_eq!(
            rule,
            json!({"all": [
                {"field": "orders", "op": ">=", "value": 3.0},
                {"any": [{"segment": "vip"}, {"not": {"field": "bought_categories.suits.spent", "op": ">", "value": 1000.0}}]},
                {"field": "currency", "op": "in", "value": ["EUR", "USD"]},
                {"field": "last_order_at", "op": "within_last_days", "value": 30.0}]})
        );
        assert_eq!(
            parse("searches.`red shoes`.count > 2").unwrap(),
            json!({"field": "searches.red shoes.count", "op": ">", "value": 2.0})
        );
        assert_eq!(
            parse("bucket 10% salt \"holdout\"").unwrap(),
            json!({"bucket": {"percent": 10.0, "salt": "holdout"}})
        );
    }

    #[test]
    fn errors_give_line_column_and_what_was_expected() {
        let e = parse("orders >= 3 and\n  revenu > 10").unwrap_err();
        assert_eq!(e.location().map(|l| (l.line, l.column)), Some((2, 3)));
        assert!(e.to_string().contains("did you mean `revenue`?"), "{e}");
        let e = parse("orders >= ").unwrap_err();
        assert!(e.to_string().contains("expected a value"), "{e}");
        let e = parse("orders >= 3 revenue > 1").unwrap_err();
        assert_eq!(e.location().map(|l| l.column), Some(13));
        let e = parse("last_order_at > 5").unwrap_err();
        assert!(e.to_string().contains("is a time, got a number"), "{e}");
        let deep = format!("{}orders > 1", "not ".repeat(10_000));
        assert!(parse(&deep).unwrap_err().to_string().contains("at most 64"));
        let deep = format!("{}orders > 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().to_string().contains("at most 64"));
    }
}
