//! Segments: rules over the facts patron knows about a contact, combined
//! with AND / OR / NOT to any depth, referring to other segments by name.
//!
//! A rule's JSON form is one of:
//!
//! | form | meaning |
//! |---|---|
//! | `{"all": [rule, ...]}` | every rule holds (AND) |
//! | `{"any": [rule, ...]}` | some rule holds (OR) |
//! | `{"not": rule}` | the rule does not hold |
//! | `{"field": "orders", "op": ">=", "value": 3}` | a condition on a fact |
//! | `{"field": "cart.updated_at", "op": ">", "value": {"field": "last_order_at"}}` | a fact compared with another fact of the contact |
//! | `{"field": "orders", "within_days": 365, "op": ">=", "value": 3}` | a count (or revenue, a sum) of what happened in the last 365 days |
//! | `{"segment": "vip"}` | the contact is in the segment named `vip` |
//! | `{"bucket": {"percent": 10, "salt": "holdout"}}` | a stable 10% of contacts, by a hash of the id |
//! | `"orders >= 3 and revenue > 100"` | the same rules as text, for people (see [`Rule::parse`]) |
//!
//! Conditions: `=`, `!=`, `<`, `<=`, `>`, `>=`, `between` (`[low, high]`,
//! inclusive), `in` (a list), `contains` and `starts_with` (text),
//! `is_set`, `is_empty` (no value), for times `within_last_days` and
//! `more_than_days_ago` (relative to the facts' `as_of`), and for dates and
//! times `anniversary_within_days` (a birthday or signup anniversary in the
//! next N days, counted in the contact's days: its `time_zone`, else UTC;
//! 29 February is 28 February in other years). Fields are the
//! [`Facts`] by name, with keys for products, categories, brands, channels
//! and events: `bought_categories.suits.spent`, `messages.email.opened`. A
//! rule is checked when built: unknown fields (with the nearest known name),
//! values of the wrong type, nesting deeper than 64 levels.
//!
//! The text syntax says the same for people; `and` binds tighter than `or`,
//! and a key that is not a plain word goes in backquotes:
//!
//! ```text
//! orders >= 3 and last_order_at within 30 days
//! not (segment "vip" or bought_categories.suits.spent > 1000)
//! currency in ("EUR", "USD") and revenue between 100 and 200
//! last_order_at more than 90 days ago and searches.`red shoes`.count > 2
//! messages.email.opened is empty or bucket 10% salt "holdout"
//! contact.birthday anniversary within 7 days
//! cart.updated_at is set and not last_order_at >= cart.updated_at
//! viewed_categories.phones.count in last 7 days >= 2
//! ```
//!
//! A count within a window reads the times facts keep: every order that
//! counts, and the newest [`RECENT_TIMES`](crate::profile::RECENT_TIMES)
//! times of each tally, so a count of events within a window is compared
//! with a number below that (a larger one is refused when the rule is read).
//!
//! ```
//! use patron::segment::{Registry, Rule};
//! use patron::{model::Timestamp, parse, profile};
//!
//! let events: Vec<patron::Event> = parse::list_from_json(r#"[
//!   {"type": "order_placed", "id": "e1", "contact_id": "c1", "at": "2024-06-03T10:00:00Z", "order_id": "o1",
//!    "lines": [{"product_id": "suit-9", "quantity": 1, "unit_price": 180000, "category_id": "suits"}],
//!    "total": 180000, "currency": "RUB"}
//! ]"#)?;
//! let facts = profile::build(&events)?[0].facts(Timestamp::parse("2024-06-20T00:00:00Z")?, None)?;
//!
//! let registry = Registry::new([
//!     ("suit buyers", Rule::from_json(r#"{"all": [
//!         {"field": "bought_categories.suits.last_at", "op": "within_last_days", "value": 30},
//!         {"field": "revenue", "op": ">=", "value": 180000}]}"#)?),
//!     ("not suit buyers", Rule::from_json(r#"{"not": {"segment": "suit buyers"}}"#)?),
//! ])?;
//! assert_eq!(registry.members_of(&facts)?, ["suit buyers"]);
//!
//! // Why: each part with the contact's value.
//! let why = registry.explain("suit buyers", &facts)?;
//! assert_eq!(why.parts[1].value, Some(serde_json::json!(180000.0)));
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! [`export`](mod@export) writes a segment's members (or any contacts) with
//! chosen columns as CSV, JSON, NDJSON, XML or xlsx, and reads a static
//! segment's ids back from CSV.

mod bulk;
mod depends;
pub mod export;
mod fields;
mod membership;
mod next;
mod read;
mod syntax;
mod table;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use serde_json::Value;

pub use bulk::Evaluation;
pub(crate) use export::runs_as_formula;
pub use export::{Export, Format, columns_from_value, export, export_segment, read_ids};
pub use fields::Kind;
pub use membership::{Change, ChangeKind, Overlap, StaticSegment, Update, changes};
pub use table::{Column, Table};

use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::profile::Facts;
use read::{Field, Val};

/// The deepest nesting a rule may have, counting the rules of the segments
/// it refers to: a reference is one level, plus the depth of the rule it
/// names. Checking, evaluating and explaining segments are linear in their
/// size below this depth, however the references are shared.
pub const MAX_DEPTH: usize = 64;

/// A checked rule. Its JSON form is the one it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    expr: Expr,
    source: Value,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Segment(String),
    Bucket { percent: f64, salt: String },
    Compare(Condition),
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    field: String,
    read: Field,
    /// Counts (or sums) only what happened in the last this many days.
    within_days: Option<f64>,
    kind: Kind,
    op: Op,
    operand: Operand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Between,
    In,
    Contains,
    StartsWith,
    IsSet,
    IsEmpty,
    WithinLastDays,
    MoreThanDaysAgo,
    AnniversaryWithinDays,
}

const OPS: &[(&str, Op)] = &[
    ("=", Op::Eq),
    ("!=", Op::Ne),
    ("<", Op::Lt),
    ("<=", Op::Le),
    (">", Op::Gt),
    (">=", Op::Ge),
    ("between", Op::Between),
    ("in", Op::In),
    ("contains", Op::Contains),
    ("starts_with", Op::StartsWith),
    ("is_set", Op::IsSet),
    ("is_empty", Op::IsEmpty),
    ("within_last_days", Op::WithinLastDays),
    ("more_than_days_ago", Op::MoreThanDaysAgo),
    ("anniversary_within_days", Op::AnniversaryWithinDays),
];

/// A value a condition compares with, read in the field's kind.
#[derive(Clone, Debug, PartialEq)]
enum Scalar {
    Number(f64),
    Text(String),
    Bool(bool),
    Time(Timestamp),
    Date(NaiveDate),
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    None,
    One(Scalar),
    Range(Scalar, Scalar),
    List(Vec<Scalar>),
    Days(f64),
    /// Another field of the same contact, read in the same kind: "did X
    /// but not Y after it" is `Y.last_at > field X.last_at`, negated.
    Field(String, Field),
}

fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::invalid(path, message)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else if key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

impl Rule {
    /// Reads and checks a rule from JSON text.
    pub fn from_json(text: &str) -> Result<Rule> {
        let value: Value = crate::parse::from_json_value(text)?;
        Rule::from_value(value)
    }

    /// Reads and checks a rule in the text syntax (in the module docs):
    /// `orders >= 3 and last_order_at within 30 days`. Errors carry the line
    /// and column.
    pub fn parse(text: &str) -> Result<Rule> {
        Rule::from_value(syntax::parse(text)?)
    }

    /// Reads and checks a rule from a JSON value; a JSON string is read in
    /// the text syntax.
    pub fn from_value(value: Value) -> Result<Rule> {
        if let Value::String(text) = &value {
            return Rule::parse(text);
        }
        let expr = read(&value, "", 0)?;
        Ok(Rule {
            expr,
            source: value,
        })
    }

    /// Whether the contact these facts describe matches, with segment
    /// references answered by `segment` (see [`Registry`]).
    #[cfg(test)]
    fn eval(&self, facts: &Facts, segment: &mut dyn FnMut(&str) -> Result<bool>) -> Result<bool> {
        eval(&self.expr, facts, facts.as_of, segment)
    }

    /// The segments this rule refers to.
    pub fn references(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect_references(&self.expr, &mut out);
        out
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.source.serialize(s)
    }
}

fn collect_references<'a>(expr: &'a Expr, out: &mut Vec<&'a str>) {
    match expr {
        Expr::All(items) | Expr::Any(items) => {
            items.iter().for_each(|e| collect_references(e, out))
        }
        Expr::Not(inner) => collect_references(inner, out),
        Expr::Segment(name) => out.push(name),
        Expr::Bucket { .. } | Expr::Compare(_) => {}
    }
}

fn read(value: &Value, path: &str, depth: usize) -> Result<Expr> {
    if depth > MAX_DEPTH {
        return Err(invalid(
            path,
            format!("rules nest at most {MAX_DEPTH} levels deep"),
        ));
    }
    let Value::Object(map) = value else {
        return Err(invalid(path, "expected a rule object"));
    };
    let single = |key: &str| -> Result<&Value> {
        if map.len() != 1 {
            return Err(invalid(path, format!("`{key}` stands alone in its object")));
        }
        Ok(&map[key])
    };
    if map.contains_key("all") || map.contains_key("any") {
        let key = if map.contains_key("all") {
            "all"
        } else {
            "any"
        };
        let Value::Array(items) = single(key)? else {
            return Err(invalid(&join(path, key), "expected a list of rules"));
        };
        let here = join(path, key);
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, item)| read(item, &join(&here, &format!("[{i}]")), depth + 1))
            .collect::<Result<Vec<_>>>()?;
        return Ok(if key == "all" {
            Expr::All(rules)
        } else {
            Expr::Any(rules)
        });
    }
    if map.contains_key("not") {
        let inner = read(single("not")?, &join(path, "not"), depth + 1)?;
        return Ok(Expr::Not(Box::new(inner)));
    }
    if map.contains_key("segment") {
        let Value::String(name) = single("segment")? else {
            return Err(invalid(&join(path, "segment"), "expected a segment name"));
        };
        return Ok(Expr::Segment(name.clone()));
    }
    if map.contains_key("bucket") {
        let here = join(path, "bucket");
        let Value::Object(b) = single("bucket")? else {
            return Err(invalid(&here, "expected {\"percent\": ..., \"salt\": ...}"));
        };
        let percent = b
            .get("percent")
            .and_then(Value::as_f64)
            .filter(|p| (0.0..=100.0).contains(p));
        let Some(percent) = percent else {
            return Err(invalid(
                &join(&here, "percent"),
                "expected a number from 0 to 100",
            ));
        };
        let salt = match b.get("salt") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid(&join(&here, "salt"), "expected text")),
        };
        if let Some(k) = b.keys().find(|k| *k != "percent" && *k != "salt") {
            return Err(invalid(
                &join(&here, k),
                "unknown field; expected `percent` or `salt`",
            ));
        }
        return Ok(Expr::Bucket { percent, salt });
    }
    if map.contains_key("field") {
        return read_condition(map, path).map(Expr::Compare);
    }
    let keys = ["all", "any", "not", "segment", "bucket", "field"];
    let first = map.keys().next().map(String::as_str).unwrap_or("");
    let hint = crate::suggest::nearest(first, keys)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    Err(invalid(
        &join(path, first),
        format!("expected one of all, any, not, segment, bucket, field{hint}"),
    ))
}

fn read_condition(map: &serde_json::Map<String, Value>, path: &str) -> Result<Condition> {
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "field" | "op" | "value" | "within_days"))
    {
        return Err(invalid(
            &join(path, k),
            "unknown field; a condition has `field`, `op`, `value` and optionally `within_days`",
        ));
    }
    let Some(Value::String(field)) = map.get("field") else {
        return Err(invalid(&join(path, "field"), "expected a field name"));
    };
    let kind = fields::kind_of(field).map_err(|m| invalid(&join(path, "field"), m))?;
    let read = Field::resolve(field).map_err(|m| invalid(&join(path, "field"), m))?;
    let Some(Value::String(op_name)) = map.get("op") else {
        return Err(invalid(&join(path, "op"), "expected an operator"));
    };
    let other = match map.get("value") {
        Some(Value::Object(o)) if o.contains_key("field") => {
            Some(other_field(o, &join(path, "value"))?)
        }
        _ => None,
    };
    let kind = match (kind, &other) {
        (Kind::Any, Some((_, _, Kind::Any))) => {
            return Err(invalid(
                &join(path, "value"),
                "two custom attributes cannot be compared: their types are unknown until read",
            ));
        }
        (Kind::Any, Some((_, _, other_kind))) => *other_kind,
        (Kind::Any, None) => kind_of_operand(op_name, map.get("value")),
        (known, _) => known,
    };
    let Some(op) = OPS.iter().find(|(n, _)| n == op_name).map(|(_, o)| *o) else {
        let hint = crate::suggest::nearest(op_name, OPS.iter().map(|(n, _)| *n))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        return Err(invalid(
            &join(path, "op"),
            format!("unknown operator `{op_name}`{hint}"),
        ));
    };
    let at = join(path, "value");
    let value = map.get("value");
    let scalar = |v: &Value, at: &str| scalar_of(v, kind, field, at);
    if let Some((name, read_other, other_kind)) = other {
        if !matches!(op, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge) {
            return Err(invalid(
                &join(path, "op"),
                format!(
                    "`{op_name}` takes a value, not a field; compare fields with =, !=, <, <=, > or >="
                ),
            ));
        }
        if other_kind != kind && other_kind != Kind::Any {
            return Err(invalid(
                &join(&at, "field"),
                format!(
                    "`{field}` is {}, `{name}` is {}: they cannot be compared",
                    kind.name(),
                    other_kind.name()
                ),
            ));
        }
        if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge)
            && matches!(kind, Kind::Bool | Kind::Text)
        {
            return Err(unordered(path, op_name, field, kind));
        }
        if map.contains_key("within_days") {
            return Err(invalid(
                &join(path, "within_days"),
                "a count within a window is compared with a number, not with a field",
            ));
        }
        return Ok(Condition {
            field: field.clone(),
            read,
            within_days: None,
            kind,
            op,
            operand: Operand::Field(name, read_other),
        });
    }
    let operand = match op {
        Op::IsSet | Op::IsEmpty => {
            if value.is_some() {
                return Err(invalid(&at, format!("`{op_name}` takes no value")));
            }
            Operand::None
        }
        Op::WithinLastDays | Op::MoreThanDaysAgo | Op::AnniversaryWithinDays => {
            if !matches!(kind, Kind::Time | Kind::Date) {
                return Err(invalid(
                    &join(path, "op"),
                    format!(
                        "`{op_name}` needs a time or a date; `{field}` is {}",
                        kind.name()
                    ),
                ));
            }
            match value.and_then(Value::as_f64) {
                Some(days) if days >= 0.0 => Operand::Days(days),
                _ => return Err(invalid(&at, "expected a number of days, not negative")),
            }
        }
        Op::Between => match value {
            Some(Value::Array(pair)) if pair.len() == 2 => {
                let (low, high) = (
                    scalar(&pair[0], &join(&at, "[0]"))?,
                    scalar(&pair[1], &join(&at, "[1]"))?,
                );
                let reversed = match (&low, &high) {
                    (Scalar::Number(l), Scalar::Number(h)) => l > h,
                    (Scalar::Text(l), Scalar::Text(h)) => l > h,
                    (Scalar::Time(l), Scalar::Time(h)) => l > h,
                    (Scalar::Date(l), Scalar::Date(h)) => l > h,
                    _ => false,
                };
                if reversed {
                    // It would never match: surely the bounds are swapped.
                    return Err(invalid(
                        &at,
                        "expected [low, high]: the low bound is above the high one",
                    ));
                }
                Operand::Range(low, high)
            }
            _ => return Err(invalid(&at, "expected [low, high]")),
        },
        Op::In => match value {
            Some(Value::Array(items)) => Operand::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| scalar(v, &join(&at, &format!("[{i}]"))))
                    .collect::<Result<_>>()?,
            ),
            _ => return Err(invalid(&at, "expected a list")),
        },
        Op::Contains | Op::StartsWith => {
            if kind != Kind::Text {
                return Err(invalid(
                    &join(path, "op"),
                    format!("`{op_name}` needs text; `{field}` is {}", kind.name()),
                ));
            }
            Operand::One(scalar(value.unwrap_or(&Value::Null), &at)?)
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge if matches!(kind, Kind::Bool | Kind::Text) => {
            return Err(unordered(path, op_name, field, kind));
        }
        _ => Operand::One(scalar(value.unwrap_or(&Value::Null), &at)?),
    };
    let within_days = match map.get("within_days") {
        None => None,
        Some(days) => Some(window(&read, field, op, &operand, days, path)?),
    };
    Ok(Condition {
        field: field.clone(),
        read,
        within_days,
        kind,
        op,
        operand,
    })
}

/// Checks `within_days`: a number of days, on a field that counts (or
/// sums) occurrences, compared with numbers a window can count exactly.
fn window(
    read: &Field,
    field: &str,
    op: Op,
    operand: &Operand,
    days: &Value,
    path: &str,
) -> Result<f64> {
    let at = join(path, "within_days");
    let Some(days) = days.as_f64().filter(|d| *d > 0.0 && *d <= 36_500.0) else {
        return Err(invalid(&at, "expected a number of days above 0"));
    };
    let Some(exact_below) = read.window_limit() else {
        return Err(invalid(
            &at,
            format!(
                "`{field}` is not a count of events; `within_days` applies to orders, revenue, \
                 the orders, quantity and spent of bought_products, bought_categories and \
                 bought_brands, checkouts.count and the `count` of viewed_products, \
                 viewed_categories, viewed_brands, searches, coupons, surveys and custom_events"
            ),
        ));
    };
    if matches!(op, Op::IsSet | Op::IsEmpty) {
        return Err(invalid(
            &join(path, "op"),
            "a count within a window always has a value; compare it with a number",
        ));
    }
    if let Some(limit) = exact_below
        && next::numbers(operand).iter().any(|x| *x >= limit)
    {
        return Err(invalid(
            &join(path, "value"),
            format!(
                "a count of `{field}` within a window is exact below {limit} (the newest {limit} \
                 times are kept); compare it with a smaller number"
            ),
        ));
    }
    Ok(days)
}

/// An ordering operator on text or true / false, which have no order.
fn unordered(path: &str, op_name: &str, field: &str, kind: Kind) -> Error {
    invalid(
        &join(path, "op"),
        format!(
            "`{op_name}` does not order {}; `{field}` is {}",
            kind.name(),
            kind.name()
        ),
    )
}

/// The field a condition compares with: `{"field": name}`.
fn other_field(map: &serde_json::Map<String, Value>, path: &str) -> Result<(String, Field, Kind)> {
    if let Some(k) = map.keys().find(|k| k.as_str() != "field") {
        return Err(invalid(
            &join(path, k),
            "unknown field; a field to compare with is `{\"field\": name}`",
        ));
    }
    let Some(Value::String(name)) = map.get("field") else {
        return Err(invalid(&join(path, "field"), "expected a field name"));
    };
    let at = join(path, "field");
    let kind = fields::kind_of(name).map_err(|m| invalid(&at, m))?;
    let read = Field::resolve(name).map_err(|m| invalid(&at, m))?;
    Ok((name.clone(), read, kind))
}

fn scalar_of(v: &Value, kind: Kind, field: &str, at: &str) -> Result<Scalar> {
    let mismatch = || {
        invalid(
            at,
            format!(
                "`{field}` is {}, got {}",
                kind.name(),
                crate::parse::kind_name(v)
            ),
        )
    };
    Ok(match kind {
        Kind::Number => Scalar::Number(v.as_f64().ok_or_else(mismatch)?),
        Kind::Text => Scalar::Text(v.as_str().ok_or_else(mismatch)?.to_string()),
        Kind::Bool => Scalar::Bool(v.as_bool().ok_or_else(mismatch)?),
        Kind::Time => Scalar::Time(
            Timestamp::parse(v.as_str().ok_or_else(mismatch)?)
                .map_err(|e| invalid(at, e.reason()))?,
        ),
        Kind::Date => Scalar::Date(
            NaiveDate::parse_from_str(v.as_str().ok_or_else(mismatch)?, "%Y-%m-%d")
                .map_err(|_| invalid(at, "expected a date as YYYY-MM-DD"))?,
        ),
        // Resolved to a concrete kind before any value is read.
        Kind::Any => return Err(mismatch()),
    })
}

/// The kind a condition on a custom attribute reads it in: from the
/// operator (`within_last_days` reads a time) or the value it compares with.
fn kind_of_operand(op: &str, value: Option<&Value>) -> Kind {
    if matches!(op, "within_last_days" | "more_than_days_ago") {
        return Kind::Time;
    }
    if op == "anniversary_within_days" {
        return Kind::Date;
    }
    let first = match value {
        Some(Value::Array(items)) => items.first(),
        other => other,
    };
    match first {
        Some(Value::Number(_)) => Kind::Number,
        Some(Value::Bool(_)) => Kind::Bool,
        Some(Value::String(s)) if Timestamp::parse(s).is_ok() => Kind::Time,
        Some(Value::String(s)) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => Kind::Date,
        _ => Kind::Text,
    }
}

/// A contact's value read in a condition's kind (text in the kind of a
/// time or date is read as one, as custom attributes often hold them).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Got<'a> {
    Number(f64),
    Text(&'a str),
    Bool(bool),
    Time(Timestamp),
    Date(NaiveDate),
}

fn value_as(v: Val<'_>, kind: Kind) -> Option<Got<'_>> {
    use crate::model::AttributeValue as A;
    let text = |s| match kind {
        Kind::Text => Some(Got::Text(s)),
        Kind::Time => Timestamp::parse(s).ok().map(Got::Time),
        Kind::Date => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(Got::Date),
        _ => None,
    };
    match (v, kind) {
        (Val::Count(n), Kind::Number) => Some(Got::Number(n as f64)),
        (Val::Number(x), Kind::Number) => Some(Got::Number(x)),
        (Val::Attribute(A::Number(x)), Kind::Number) => Some(Got::Number(*x)),
        (Val::Bool(b), Kind::Bool) => Some(Got::Bool(b)),
        (Val::Attribute(A::Bool(b)), Kind::Bool) => Some(Got::Bool(*b)),
        (Val::Time(t), Kind::Time) => Some(Got::Time(t)),
        (Val::Attribute(A::Datetime(t)), Kind::Time) => Some(Got::Time(*t)),
        (Val::Date(d), Kind::Date) => Some(Got::Date(d)),
        // A datetime attribute read as a day (anniversaries): its UTC date.
        (Val::Attribute(A::Datetime(t)), Kind::Date) => Some(Got::Date(t.get().date_naive())),
        (Val::Text(s), _) => text(s),
        (Val::Attribute(A::String(s)), _) => text(s.as_str()),
        _ => None,
    }
}

fn compare(a: Got<'_>, b: &Scalar) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Got::Number(x), Scalar::Number(y)) => x.partial_cmp(y),
        (Got::Text(x), Scalar::Text(y)) => Some(x.cmp(y.as_str())),
        (Got::Bool(x), Scalar::Bool(y)) => Some(x.cmp(y)),
        (Got::Time(x), Scalar::Time(y)) => Some(x.cmp(y)),
        (Got::Date(x), Scalar::Date(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether condition `c` holds for the contact of `facts` at moment `now`
/// (the facts' `as_of`, or a later moment as if nothing had happened since).
fn holds(c: &Condition, facts: &Facts, now: Timestamp) -> Result<bool> {
    Ok(match &c.operand {
        Operand::Field(_, other) => {
            holds_between(c, c.read.read_at(facts, now), other.read_at(facts, now))
        }
        _ => holds_for(c, value_of(c, facts, now)?, now, zone_of(facts)),
    })
}

/// The contact's time zone, which days (anniversaries) are counted in.
fn zone_of(facts: &Facts) -> Option<chrono_tz::Tz> {
    facts
        .contact
        .as_ref()
        .and_then(|c| c.time_zone)
        .map(|z| z.get())
}

/// The calendar day `t` falls on in `zone` (UTC without one).
fn day_in(zone: Option<chrono_tz::Tz>, t: Timestamp) -> NaiveDate {
    zone.map_or(t.get().date_naive(), |z| {
        crate::trigger::clock::local_date(z, t)
    })
}

/// The contact's value a condition reads: the field, or its count (or sum)
/// within the condition's window.
fn value_of<'a>(c: &Condition, facts: &'a Facts, now: Timestamp) -> Result<Option<Val<'a>>> {
    match c.within_days {
        None => Ok(c.read.read_at(facts, now)),
        Some(days) => c
            .read
            .read_within(facts, days, now)
            .map(Some)
            .map_err(|(path, message)| invalid(&path, message)),
    }
}

/// Whether condition `c`, which compares two fields, holds for a contact
/// whose values are `raw` and `other`; a missing value makes it false
/// except for `!=`, as with a value.
fn holds_between(c: &Condition, raw: Option<Val<'_>>, other: Option<Val<'_>>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (Some(a), Some(b)) = (
        raw.and_then(|v| value_as(v, c.kind)),
        other.and_then(|v| value_as(v, c.kind)),
    ) else {
        return c.op == Op::Ne;
    };
    let ord = match (a, b) {
        (Got::Number(x), Got::Number(y)) => x.partial_cmp(&y),
        (Got::Text(x), Got::Text(y)) => Some(x.cmp(y)),
        (Got::Bool(x), Got::Bool(y)) => Some(x.cmp(&y)),
        (Got::Time(x), Got::Time(y)) => Some(x.cmp(&y)),
        (Got::Date(x), Got::Date(y)) => Some(x.cmp(&y)),
        _ => None,
    };
    match c.op {
        Op::Eq => ord == Some(Equal),
        Op::Ne => ord != Some(Equal),
        Op::Lt => ord == Some(Less),
        Op::Le => matches!(ord, Some(Less | Equal)),
        Op::Gt => ord == Some(Greater),
        Op::Ge => matches!(ord, Some(Greater | Equal)),
        _ => false,
    }
}

/// Whether condition `c` holds for a contact whose value of the field is
/// `raw`, at `as_of` (for relative times), counting days in the contact's
/// `zone` (anniversaries). Rows of facts and of a [`Table`] both come here,
/// so both read rules alike.
fn holds_for(
    c: &Condition,
    raw: Option<Val<'_>>,
    as_of: Timestamp,
    zone: Option<chrono_tz::Tz>,
) -> bool {
    use crate::model::AttributeValue as A;
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (c.op, raw, &c.operand) {
        // Set or empty whatever the value's type.
        (Op::IsSet, _, _) => return raw.is_some(),
        (Op::IsEmpty, _, _) => return raw.is_none(),
        // A list (tags, a list attribute) contains an item.
        (Op::Contains, Some(Val::Tags(items)), Operand::One(Scalar::Text(x))) => {
            return items.iter().any(|i| i.as_str() == x);
        }
        (Op::Contains, Some(Val::Attribute(A::List(items))), Operand::One(Scalar::Text(x))) => {
            return items.iter().any(|i| i.as_str() == x);
        }
        _ => {}
    }
    let Some(value) = raw.and_then(|v| value_as(v, c.kind)) else {
        // No value: only `is_empty` and `!=` hold.
        return matches!(c.op, Op::IsEmpty | Op::Ne);
    };
    let ord = |other: &Scalar| compare(value, other);
    match (&c.op, &c.operand) {
        (Op::Eq, Operand::One(x)) => ord(x) == Some(Equal),
        (Op::Ne, Operand::One(x)) => ord(x) != Some(Equal),
        (Op::Lt, Operand::One(x)) => ord(x) == Some(Less),
        (Op::Le, Operand::One(x)) => matches!(ord(x), Some(Less | Equal)),
        (Op::Gt, Operand::One(x)) => ord(x) == Some(Greater),
        (Op::Ge, Operand::One(x)) => matches!(ord(x), Some(Greater | Equal)),
        (Op::Between, Operand::Range(lo, hi)) => {
            matches!(ord(lo), Some(Greater | Equal)) && matches!(ord(hi), Some(Less | Equal))
        }
        (Op::In, Operand::List(items)) => items.iter().any(|x| ord(x) == Some(Equal)),
        (Op::Contains, Operand::One(Scalar::Text(x))) => {
            matches!(value, Got::Text(v) if v.contains(x.as_str()))
        }
        (Op::StartsWith, Operand::One(Scalar::Text(x))) => {
            matches!(value, Got::Text(v) if v.starts_with(x.as_str()))
        }
        (Op::WithinLastDays | Op::MoreThanDaysAgo, Operand::Days(days)) => {
            let now = as_of.get();
            let when = match value {
                Got::Time(t) => t.get(),
                Got::Date(d) => d.and_hms_opt(0, 0, 0).map(|d| d.and_utc()).unwrap_or(now),
                _ => return false,
            };
            relative(c.op, *days, (now - when).num_seconds())
        }
        (Op::AnniversaryWithinDays, Operand::Days(days)) => {
            let day = match value {
                Got::Date(d) => d,
                Got::Time(t) => t.get().date_naive(),
                _ => return false,
            };
            let today = day_in(zone, as_of);
            (next_anniversary(day, today) - today).num_days() as f64 <= *days
        }
        _ => false,
    }
}

/// The same month and day as `day` in `year`; 29 February falls on 28
/// February in other years.
fn anniversary_in(day: NaiveDate, year: i32) -> Option<NaiveDate> {
    use chrono::Datelike;
    NaiveDate::from_ymd_opt(year, day.month(), day.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, day.month(), day.day() - 1))
}

/// The first anniversary of `day` on or after `today` (a calendar day).
fn next_anniversary(day: NaiveDate, today: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    (today.year()..=today.year() + 1)
        .filter_map(|y| anniversary_in(day, y))
        .find(|a| *a >= today)
        .unwrap_or(today)
}

/// Whether a value `age_seconds` old (whole seconds, toward zero) is within
/// the last `days` days, or more than `days` days ago.
fn relative(op: Op, days: f64, age_seconds: i64) -> bool {
    if op == Op::WithinLastDays {
        within_last_days(days, age_seconds)
    } else {
        age_seconds as f64 / 86_400.0 > days
    }
}

/// Whether something `age_seconds` old happened within the last `days` days.
fn within_last_days(days: f64, age_seconds: i64) -> bool {
    (0.0..=days).contains(&(age_seconds as f64 / 86_400.0))
}

fn in_bucket(contact_id: &str, salt: &str, percent: f64) -> bool {
    // FNV-1a over `salt:contact_id`: stable across releases and languages.
    let hash = crate::hash::fnv1a(
        salt.bytes()
            .chain(std::iter::once(b':'))
            .chain(contact_id.bytes()),
    );
    ((hash % 10_000) as f64) < percent * 100.0
}

fn eval(
    expr: &Expr,
    facts: &Facts,
    now: Timestamp,
    segment: &mut dyn FnMut(&str) -> Result<bool>,
) -> Result<bool> {
    Ok(match expr {
        Expr::All(items) => {
            for item in items {
                if !eval(item, facts, now, segment)? {
                    return Ok(false);
                }
            }
            true
        }
        Expr::Any(items) => {
            for item in items {
                if eval(item, facts, now, segment)? {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Not(inner) => !eval(inner, facts, now, segment)?,
        Expr::Segment(name) => segment(name)?,
        Expr::Bucket { percent, salt } => in_bucket(facts.contact_id.as_str(), salt, *percent),
        Expr::Compare(c) => holds(c, facts, now)?,
    })
}

/// How far [`Registry::new`] has walked a segment's references.
#[derive(Clone, Copy)]
enum Depth {
    Unknown,
    Walking,
    Known(usize),
}

/// Why a rule holds or not for one contact: each part with its result, and
/// for a condition the contact's value, so a marketer sees why a contact is
/// in or out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// `all`, `any`, `not`, `segment`, `bucket` or `field`.
    pub kind: &'static str,
    /// The field, or the segment's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The operator of a condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<&'static str>,
    /// The window of a count within the last days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_days: Option<f64>,
    /// The contact's value of the field (none when the contact has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Whether this part holds.
    pub result: bool,
    /// The parts of `all`, `any` and `not`, and a referred segment's rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Explanation>,
}

fn op_name(op: Op) -> &'static str {
    OPS.iter().find(|(_, o)| *o == op).map_or("", |(n, _)| n)
}

/// Explains `expr`; a segment explained already in this explanation
/// (`explained`) appears again with its result only, so an explanation is
/// as large as the rules, however often they refer to each other.
fn explain(
    expr: &Expr,
    facts: &Facts,
    registry: &Registry,
    explained: &mut Vec<Option<bool>>,
) -> Result<Explanation> {
    let node = |kind, name: Option<String>, result, parts| Explanation {
        kind,
        name,
        op: None,
        within_days: None,
        value: None,
        result,
        parts,
    };
    Ok(match expr {
        Expr::All(items) | Expr::Any(items) => {
            let parts = items
                .iter()
                .map(|e| explain(e, facts, registry, explained))
                .collect::<Result<Vec<_>>>()?;
            let all = matches!(expr, Expr::All(_));
            let result = if all {
                parts.iter().all(|p| p.result)
            } else {
                parts.iter().any(|p| p.result)
            };
            node(if all { "all" } else { "any" }, None, result, parts)
        }
        Expr::Not(inner) => {
            let part = explain(inner, facts, registry, explained)?;
            node("not", None, !part.result, vec![part])
        }
        Expr::Segment(name) => {
            let place = registry.find(name)?;
            if let Some(result) = explained[place] {
                return Ok(node("segment", Some(name.clone()), result, Vec::new()));
            }
            let part = registry.explain_at(place, facts, explained)?;
            node("segment", Some(name.clone()), part.result, vec![part])
        }
        Expr::Bucket { percent, salt } => {
            let id = facts.contact_id.as_str();
            node("bucket", None, in_bucket(id, salt, *percent), Vec::new())
        }
        Expr::Compare(c) => Explanation {
            kind: "field",
            name: Some(c.field.clone()),
            op: Some(op_name(c.op)),
            within_days: c.within_days,
            value: value_of(c, facts, facts.as_of)?.map(Val::to_json),
            result: holds(c, facts, facts.as_of)?,
            parts: Vec::new(),
        },
    })
}

/// The segments one contact is in.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The contact.
    pub contact_id: String,
    /// The segments it is in, in name order.
    pub segments: Vec<String>,
    /// A fingerprint of the segments it was evaluated with, set by
    /// [`Registry::update`]: [`Registry::update_after`] keeps unaffected
    /// segments from it only while the segments are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A segment: a rule, whose members are whoever matches it now (dynamic),
/// or members fixed when the segment was made (static).
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// Members enter and leave as their facts change.
    Dynamic(Rule),
    /// Members never change, whatever the facts; new contacts never enter.
    Static(StaticSegment),
}

impl From<Rule> for Segment {
    fn from(rule: Rule) -> Segment {
        Segment::Dynamic(rule)
    }
}

impl From<StaticSegment> for Segment {
    fn from(list: StaticSegment) -> Segment {
        Segment::Static(list)
    }
}

impl Segment {
    /// Reads a segment from JSON: an object with `members` is static (see
    /// [`StaticSegment`]); anything else is a rule.
    pub fn from_value(value: Value) -> Result<Segment> {
        if value.get("members").is_some() {
            return crate::parse::from_value(value).map(Segment::Static);
        }
        Rule::from_value(value).map(Segment::Dynamic)
    }

    fn references(&self) -> Vec<&str> {
        match self {
            Segment::Dynamic(rule) => rule.references(),
            Segment::Static(_) => Vec::new(),
        }
    }
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Segment::Dynamic(rule) => rule.serialize(s),
            Segment::Static(list) => list.serialize(s),
        }
    }
}

/// Named segments whose references are checked: every name exists and no
/// segment depends on itself.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    /// Sorted by name, so a name's place is found by binary search and
    /// evaluation remembers results by place.
    segments: Vec<(String, Segment)>,
    /// The places of the segments that refer to other segments.
    referring: Vec<usize>,
    /// What can change each segment, by place.
    depends: Vec<depends::Depends>,
    /// A hash of every name and rule, as 16 hex digits.
    fingerprint: String,
}

impl Registry {
    /// Checks the segments as a whole; a cycle is reported with its path
    /// (`a -> b -> a`), a reference with the nearest existing name.
    pub fn new<N: Into<String>, S: Into<Segment>>(
        segments: impl IntoIterator<Item = (N, S)>,
    ) -> Result<Registry> {
        let mut rules = BTreeMap::new();
        for (name, rule) in segments {
            let rule: Segment = rule.into();
            let name = name.into();
            if name.trim().is_empty() {
                return Err(invalid("", "a segment needs a name"));
            }
            if name.chars().any(char::is_control) {
                return Err(invalid(
                    "",
                    format!(
                        "segment name {name:?} holds a control character (a line break, a tab)"
                    ),
                ));
            }
            if rules.insert(name.clone(), rule).is_some() {
                return Err(invalid(&name, format!("segment `{name}` is defined twice")));
            }
        }
        let segments: Vec<(String, Segment)> = rules.into_iter().collect();
        let referring = (0..segments.len())
            .filter(|&i| !segments[i].1.references().is_empty())
            .collect();
        let fingerprint = crate::hash::fnv1a(segments.iter().flat_map(|(name, segment)| {
            let rule = match segment {
                Segment::Dynamic(rule) => rule.source.to_string(),
                Segment::Static(list) => serde_json::to_string(list).unwrap_or_default(),
            };
            [name.as_bytes(), &[0], rule.as_bytes(), &[0]]
                .concat()
                .into_iter()
        }));
        let mut registry = Registry {
            segments,
            referring,
            depends: Vec::new(),
            fingerprint: format!("{fingerprint:016x}"),
        };
        for (name, rule) in &registry.segments {
            for target in rule.references() {
                if registry.place(target).is_none() {
                    let hint = crate::suggest::nearest(target, registry.names())
                        .map(|n| format!("; did you mean `{n}`?"))
                        .unwrap_or_default();
                    return Err(invalid(
                        name,
                        format!("refers to unknown segment `{target}`{hint}"),
                    ));
                }
            }
        }
        let mut depths = vec![Depth::Unknown; registry.segments.len()];
        for place in 0..registry.segments.len() {
            registry.depth_at(place, &mut Vec::new(), &mut depths)?;
        }
        // Without cycles, what each segment depends on is found depth first.
        let mut found = vec![None; registry.segments.len()];
        for place in 0..registry.segments.len() {
            registry.depends_at(place, &mut found);
        }
        registry.depends = found.into_iter().map(Option::unwrap_or_default).collect();
        Ok(registry)
    }

    fn depends_at(&self, place: usize, found: &mut [Option<depends::Depends>]) -> depends::Depends {
        if let Some(d) = found[place] {
            return d;
        }
        let d = match &self.segments[place].1 {
            Segment::Dynamic(rule) => depends::Depends::of(&rule.expr, &mut |name| {
                self.place(name)
                    .map(|target| self.depends_at(target, found))
                    .unwrap_or_default()
            }),
            Segment::Static(_) => depends::Depends::default(),
        };
        found[place] = Some(d);
        d
    }

    /// Reads segments from JSON text: an object of name to rule.
    pub fn from_json(text: &str) -> Result<Registry> {
        Registry::from_value(crate::parse::from_json_value(text)?)
    }

    /// Reads segments from a JSON value: an object of name to rule; an
    /// error's path starts with the segment's name.
    pub fn from_value(value: Value) -> Result<Registry> {
        let Value::Object(map) = value else {
            return Err(invalid("", "expected an object of segment name to rule"));
        };
        let mut rules = Vec::with_capacity(map.len());
        for (name, rule) in map {
            let rule = Segment::from_value(rule).map_err(|e| e.within(&name))?;
            rules.push((name, rule));
        }
        Registry::new(rules)
    }

    /// Every contact's segments, in input order, in parallel (see
    /// [`Registry::evaluate`] for counts and member rows without lists).
    pub fn members(&self, facts: &[Facts]) -> Result<Vec<Membership>> {
        Ok(self.evaluate(facts)?.memberships(facts))
    }

    /// How deep the rule at `place` nests with the rules it refers to,
    /// each segment walked once (`depths`); a cycle is refused with its
    /// path, and a depth over [`MAX_DEPTH`] with the chain that reaches it.
    fn depth_at(
        &self,
        place: usize,
        stack: &mut Vec<usize>,
        depths: &mut [Depth],
    ) -> Result<usize> {
        match depths[place] {
            Depth::Known(depth) => return Ok(depth),
            Depth::Walking => {
                let start = stack.iter().position(|p| *p == place).unwrap_or(0);
                let mut cycle: Vec<&str> =
                    stack[start..].iter().map(|p| self.name_at(*p)).collect();
                cycle.push(self.name_at(place));
                return Err(invalid(
                    cycle[0],
                    format!(
                        "segments refer to each other in a cycle: {}",
                        cycle.join(" -> ")
                    ),
                ));
            }
            Depth::Unknown => {}
        }
        depths[place] = Depth::Walking;
        stack.push(place);
        let depth = match &self.segments[place].1 {
            Segment::Dynamic(rule) => self.expr_depth(&rule.expr, 1, stack, depths)?,
            Segment::Static(_) => 1,
        };
        stack.pop();
        if depth > MAX_DEPTH {
            let mut chain: Vec<&str> = stack.iter().map(|p| self.name_at(*p)).collect();
            chain.push(self.name_at(place));
            return Err(invalid(
                chain[0],
                format!(
                    "rules nest at most {MAX_DEPTH} levels deep, counting the segments they refer to: `{}` nests {depth} deep (reached by {})",
                    self.name_at(place),
                    chain.join(" -> ")
                ),
            ));
        }
        depths[place] = Depth::Known(depth);
        Ok(depth)
    }

    fn expr_depth(
        &self,
        expr: &Expr,
        level: usize,
        stack: &mut Vec<usize>,
        depths: &mut [Depth],
    ) -> Result<usize> {
        Ok(match expr {
            Expr::All(items) | Expr::Any(items) => {
                let mut deepest = level;
                for item in items {
                    deepest = deepest.max(self.expr_depth(item, level + 1, stack, depths)?);
                }
                deepest
            }
            Expr::Not(inner) => self.expr_depth(inner, level + 1, stack, depths)?,
            Expr::Segment(name) => match self.place(name) {
                Some(target) => level + self.depth_at(target, stack, depths)?,
                None => level,
            },
            Expr::Bucket { .. } | Expr::Compare(_) => level,
        })
    }

    fn name_at(&self, place: usize) -> &str {
        &self.segments[place].0
    }

    /// The fields the segments read, in order, and `contact_id` when a
    /// bucket or a static segment needs it: the columns a [`Table`] needs.
    pub fn fields(&self) -> Vec<&str> {
        fn walk<'a>(expr: &'a Expr, out: &mut std::collections::BTreeSet<&'a str>) {
            match expr {
                Expr::All(items) | Expr::Any(items) => items.iter().for_each(|e| walk(e, out)),
                Expr::Not(inner) => walk(inner, out),
                Expr::Segment(_) => {}
                Expr::Bucket { .. } => {
                    out.insert("contact_id");
                }
                Expr::Compare(c) => {
                    out.insert(&c.field);
                    if let Operand::Field(other, _) = &c.operand {
                        out.insert(other);
                    }
                    if c.op == Op::AnniversaryWithinDays {
                        // Days are counted in the contact's zone.
                        out.insert("contact.time_zone");
                    }
                }
            }
        }
        let mut out = std::collections::BTreeSet::new();
        for (_, segment) in &self.segments {
            match segment {
                Segment::Dynamic(rule) => walk(&rule.expr, &mut out),
                Segment::Static(_) => {
                    out.insert("contact_id");
                }
            }
        }
        out.into_iter().collect()
    }

    /// The segment names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|(name, _)| name.as_str())
    }

    fn place(&self, name: &str) -> Option<usize> {
        self.segments
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
    }

    /// Whether the contact these facts describe is in segment `name`.
    pub fn contains(&self, name: &str, facts: &Facts) -> Result<bool> {
        let place = self.find(name)?;
        self.eval_at(place, facts, &mut vec![None; self.segments.len()])
    }

    /// Every segment the contact is in, in name order.
    pub fn members_of(&self, facts: &Facts) -> Result<Vec<&str>> {
        let mut memo = vec![None; self.segments.len()];
        let mut out = Vec::new();
        for (place, (name, _)) in self.segments.iter().enumerate() {
            if self.eval_at(place, facts, &mut memo)? {
                out.push(name.as_str());
            }
        }
        Ok(out)
    }

    /// Why the contact is in segment `name` or not, part by part.
    pub fn explain(&self, name: &str, facts: &Facts) -> Result<Explanation> {
        self.explain_named(name, facts)
    }

    /// The segment named `name`, or an error that suggests the nearest name.
    pub fn get(&self, name: &str) -> Result<&Segment> {
        self.find(name).map(|place| &self.segments[place].1)
    }

    fn find(&self, name: &str) -> Result<usize> {
        self.place(name).ok_or_else(|| {
            let hint = crate::suggest::nearest(name, self.names())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            invalid(name, format!("unknown segment `{name}`{hint}"))
        })
    }

    fn explain_named(&self, name: &str, facts: &Facts) -> Result<Explanation> {
        let place = self.find(name)?;
        self.explain_at(place, facts, &mut vec![None; self.segments.len()])
    }

    fn explain_at(
        &self,
        place: usize,
        facts: &Facts,
        explained: &mut Vec<Option<bool>>,
    ) -> Result<Explanation> {
        let (name, segment) = &self.segments[place];
        let explanation = match segment {
            Segment::Dynamic(rule) => explain(&rule.expr, facts, self, explained)?,
            Segment::Static(list) => Explanation {
                kind: "static",
                name: Some(name.to_string()),
                op: None,
                within_days: None,
                value: None,
                result: list.contains(facts.contact_id.as_str()),
                parts: Vec::new(),
            },
        };
        explained[place] = Some(explanation.result);
        Ok(explanation)
    }

    /// Whether the contact is in the segment at `place`, remembering each
    /// segment's result for this contact in `memo`.
    fn eval_at(&self, place: usize, facts: &Facts, memo: &mut [Option<bool>]) -> Result<bool> {
        self.eval_then(place, facts, facts.as_of, memo)
    }

    /// [`Registry::eval_at`] at moment `now`, as if nothing had happened
    /// between the facts' `as_of` and then (see [`Facts::at`]), without
    /// moving a copy of the facts.
    fn eval_then(
        &self,
        place: usize,
        facts: &Facts,
        now: Timestamp,
        memo: &mut [Option<bool>],
    ) -> Result<bool> {
        if let Some(known) = memo[place] {
            return Ok(known);
        }
        let result = match &self.segments[place].1 {
            Segment::Dynamic(rule) => eval(&rule.expr, facts, now, &mut |target| {
                let target = self.find(target)?;
                self.eval_then(target, facts, now, memo)
            })?,
            Segment::Static(list) => list.contains(facts.contact_id.as_str()),
        };
        memo[place] = Some(result);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Facts {
        serde_json::from_value(
            json!({"contact_id": "c1", "as_of": "2024-07-01T00:00:00Z", "orders": 4,
               "cancelled_orders": 0, "returned_orders": 0, "purchase_days": 4, "revenue": 200.0,
               "last_order_at": "2024-06-20T00:00:00Z", "currency": "EUR", "at_risk": false,
               "bought_categories": {"suits": {"orders": 1, "quantity": 1.0, "spent": 180.0,
                   "first_at": "2024-06-20T00:00:00Z", "last_at": "2024-06-20T00:00:00Z"}}}),
        )
        .unwrap()
    }

    fn check(rule: Value) -> bool {
        let rule = Rule::from_value(rule).unwrap();
        rule.eval(&facts(), &mut |_| Ok(false)).unwrap()
    }

    /// Counts within a window, from facts built out of events: exact for
    /// any count a rule may compare with, refused where they cannot be.
    #[test]
    fn counts_within_a_window() {
        let mut events = Vec::new();
        // Phones viewed 20 times, every 12 hours back from 1 July; 3 orders.
        for k in 0..20 {
            let at = chrono::DateTime::parse_from_rfc3339("2024-07-01T00:00:00Z").unwrap()
                - chrono::Duration::hours(12 * k);
            events.push(
                json!({"type": "category_viewed", "id": format!("v{k}"), "contact_id": "c1",
                "at": at.to_rfc3339(), "category_id": "phones"}),
            );
        }
        for (k, (day, total)) in [("2024-06-30", 50), ("2024-05-31", 70), ("2023-12-01", 90)]
            .iter()
            .enumerate()
        {
            events.push(json!({"type": "order_placed", "id": format!("o{k}"), "contact_id": "c1",
                "at": format!("{day}T10:00:00Z"), "order_id": format!("o{k}"), "total": total,
                "currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": total}]}));
        }
        let events: Vec<crate::Event> =
            crate::parse::list_from_value(Value::Array(events)).unwrap();
        let as_of = Timestamp::parse("2024-07-01T06:00:00Z").unwrap();
        let facts = crate::profile::build(&events).unwrap()[0]
            .facts(as_of, None)
            .unwrap();
        let holds = |text: &str| {
            Rule::parse(text)
                .unwrap()
                .eval(&facts, &mut |_| Ok(false))
                .unwrap()
        };
        // In the last 2 days (back to 29 June 06:00): 4 views, from 1 July
        // 00:00 to 29 June 12:00; in 7 days 14; over all time 20.
        assert!(holds("viewed_categories.phones.count in last 2 days = 4"));
        assert!(holds("viewed_categories.phones.count in last 7 days = 14"));
        assert!(holds("viewed_categories.phones.count > 19"));
        assert!(holds("viewed_categories.laptops.count in last 7 days = 0"));
        assert!(holds(
            "orders in last 30 days = 1 and orders in last 31 days = 2"
        ));
        assert!(holds(
            "orders in last 365 days = 3 and revenue in last 31 days = 120"
        ));
        let why = Registry::from_json(r#"{"s": "revenue in last 31 days > 100"}"#)
            .unwrap()
            .explain("s", &facts)
            .unwrap();
        assert_eq!(
            (why.value, why.within_days),
            (Some(json!(120.0)), Some(31.0))
        );

        let error = |rule: Value| Rule::from_value(rule).unwrap_err().to_string();
        assert!(
            error(json!({"field": "viewed_categories.phones.count", "within_days": 7, "op": ">=", "value": 16}))
                .contains("value: a count of `viewed_categories.phones.count` within a window is exact below 16")
        );
        assert!(
            error(json!({"field": "last_order_at", "within_days": 7, "op": "is_set"}))
                .contains("within_days: `last_order_at` is not a count of events")
        );
        assert!(
            error(json!({"field": "orders", "within_days": -1, "op": ">", "value": 1}))
                .contains("within_days: expected a number of days above 0")
        );
        assert!(
            error(json!({"field": "orders", "within_days": 9, "op": ">", "value": {"field": "purchase_days"}}))
                .contains("within_days: a count within a window is compared with a number")
        );
        let text = Rule::parse("orders >= 1 and\n  orders in last seven days > 1").unwrap_err();
        assert_eq!(text.location().map(|l| (l.line, l.column)), Some((2, 18)));

        // Facts a host wrote without times cannot count within a window.
        let mut bare = facts.clone();
        bare.purchases.clear();
        let rule = Rule::parse("orders in last 30 days >= 1").unwrap();
        let e = rule.eval(&bare, &mut |_| Ok(false)).unwrap_err();
        assert_eq!(e.path(), Some("purchases"));
    }

    #[test]
    fn conditions_hold_as_documented() {
        assert!(check(json!({"field": "orders", "op": ">=", "value": 4})));
        assert!(!check(json!({"field": "orders", "op": ">", "value": 4})));
        assert!(check(
            json!({"field": "revenue", "op": "between", "value": [100, 200]})
        ));
        assert!(check(
            json!({"field": "currency", "op": "in", "value": ["USD", "EUR"]})
        ));
        assert!(check(
            json!({"field": "last_order_at", "op": "within_last_days", "value": 30})
        ));
        assert!(!check(
            json!({"field": "last_order_at", "op": "more_than_days_ago", "value": 30})
        ));
        assert!(check(
            json!({"field": "bought_categories.suits.spent", "op": ">", "value": 100})
        ));
        assert!(check(
            json!({"field": "bought_categories.shoes.spent", "op": "is_empty"})
        ));
        assert!(!check(
            json!({"field": "bought_categories.shoes.spent", "op": ">", "value": 0})
        ));
        assert!(check(
            json!({"not": {"field": "at_risk", "op": "=", "value": true}})
        ));
        assert!(check(
            json!({"any": [{"field": "orders", "op": "=", "value": 1}, {"field": "orders", "op": "=", "value": 4}]})
        ));
        // Two fields of one contact: one suit order, so its first is its last.
        assert!(check(
            json!({"field": "bought_categories.suits.last_at", "op": ">=", "value": {"field": "bought_categories.suits.first_at"}})
        ));
        assert!(!check(
            json!({"field": "bought_categories.suits.last_at", "op": ">", "value": {"field": "bought_categories.suits.first_at"}})
        ));
        assert!(!check(
            json!({"field": "orders", "op": "<", "value": {"field": "purchase_days"}})
        ));
        // A missing value on either side: false, except for `!=`.
        assert!(!check(
            json!({"field": "cart.updated_at", "op": ">", "value": {"field": "last_order_at"}})
        ));
        assert!(check(
            json!({"field": "cart.updated_at", "op": "!=", "value": {"field": "last_order_at"}})
        ));
        assert!(check(json!({"all": []})), "an empty AND holds");
        assert!(!check(json!({"any": []})), "an empty OR does not");
    }

    #[test]
    fn bad_rules_name_the_place() {
        let err = |v: Value| Rule::from_value(v).unwrap_err();
        let e = err(json!({"all": [{"field": "ordrs", "op": ">", "value": 1}]}));
        assert_eq!(e.path(), Some("all[0].field"));
        assert!(e.to_string().contains("`orders`"), "{e}");
        let e = err(json!({"field": "last_order_at", "op": ">", "value": 5}));
        assert_eq!(e.path(), Some("value"));
        assert!(e.to_string().contains("is a time, got a number"), "{e}");
        assert_eq!(
            err(json!({"field": "orders", "op": "=>", "value": 1})).path(),
            Some("op")
        );
        assert_eq!(
            err(json!({"field": "orders", "op": "within_last_days", "value": 1})).path(),
            Some("op")
        );
        assert_eq!(err(json!({"nto": {}})).path(), Some("nto"));
        // Fields compared with fields: the same kind, an ordering operator,
        // a known name.
        let e = err(json!({"field": "orders", "op": ">", "value": {"field": "last_order_at"}}));
        assert_eq!(e.path(), Some("value.field"));
        assert!(
            e.to_string()
                .contains("`orders` is a number, `last_order_at` is a time"),
            "{e}"
        );
        let e = err(json!({"field": "orders", "op": "between", "value": {"field": "revenue"}}));
        assert_eq!(e.path(), Some("op"));
        let e = err(json!({"field": "orders", "op": ">", "value": {"field": "revenu"}}));
        assert_eq!(e.path(), Some("value.field"));
        assert!(e.to_string().contains("did you mean `revenue`?"), "{e}");
        let e = err(json!({"field": "currency", "op": "<", "value": {"field": "currency"}}));
        assert_eq!(e.path(), Some("op"));
        let mut deep = json!({"field": "orders", "op": "is_set"});
        for _ in 0..100 {
            deep = json!({"not": deep});
        }
        assert!(err(deep).to_string().contains("at most 64"));
    }

    #[test]
    fn cycles_and_unknown_references_are_refused() {
        let rule = |v: Value| Rule::from_value(v).unwrap();
        let e = Registry::new([
            ("a", rule(json!({"segment": "b"}))),
            ("b", rule(json!({"not": {"segment": "a"}}))),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("a -> b -> a"), "{e}");
        let e = Registry::new([
            ("a", rule(json!({"segment": "vp"}))),
            ("vip", rule(json!({"all": []}))),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("did you mean `vip`?"), "{e}");
    }

    #[test]
    fn buckets_are_stable_and_near_their_share() {
        let n = (0..10_000)
            .filter(|i| in_bucket(&format!("c{i}"), "holdout", 10.0))
            .count();
        assert!((900..1100).contains(&n), "{n}");
        assert_eq!(in_bucket("c1", "x", 50.0), in_bucket("c1", "x", 50.0));
    }
}
