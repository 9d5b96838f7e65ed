//! Segments over a table of facts: one typed column per field, named by
//! the field's path (`orders`, `contact.city`,
//! `bought_categories.suits.last_at`), all of one moment (`as_of`). This is
//! the form facts take in a warehouse or a data frame (the Python binding
//! reads Arrow tables from pyarrow, polars or pandas), and the fast way to
//! evaluate many segments over a whole base: each rule reads contiguous
//! columns instead of each contact's nested facts.
//!
//! A rule reads a column exactly as it reads the field in [`Facts`]: an
//! empty cell is a missing value, and the results equal those of
//! [`Registry::evaluate`] over the same facts (a test holds them together).
//!
//! ```
//! use patron::model::Timestamp;
//! use patron::segment::{Column, Registry, Table};
//!
//! let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let table = Table::new(as_of, 3)
//!     .with_column("contact_id", Column::texts([Some("anna"), Some("ben"), Some("cleo")]))?
//!     .with_column("orders", Column::numbers([Some(4.0), Some(0.0), Some(1.0)]))?
//!     .with_column("contact.city", Column::texts([Some("Berlin"), None, Some("Paris")]))?;
//! let registry = Registry::from_json(
//!     r#"{"buyers": "orders >= 1", "berlin buyers": "segment \"buyers\" and contact.city = \"Berlin\""}"#,
//! )?;
//! let all = registry.evaluate_table(&table)?;
//! assert_eq!(all.rows("buyers")?, [0, 2]);
//! assert_eq!(all.rows("berlin buyers")?, [0]);
//!
//! // A rule on a field the table lacks is an error naming both.
//! let lacking = Registry::from_json(r#"{"vip": "revenue > 1000"}"#)?;
//! let err = lacking.evaluate_table(&table).unwrap_err();
//! assert_eq!(err.path(), Some("vip"));
//! assert!(err.to_string().contains("no column `revenue`"));
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use std::ops::Range;

use rayon::prelude::*;

use super::bulk::CHUNK;
use super::read::{Field, Val};
use super::{
    Condition, Evaluation, Expr, Kind, Op, Operand, Registry, Segment, fields, holds_between,
    holds_for, in_bucket, relative,
};
use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::profile::Facts;

/// One field's values, one cell per contact; `None` is a missing value.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Numbers (counts, amounts, days).
    Numbers(Vec<Option<f64>>),
    /// Text, kept in one buffer: cell `i` is `text[ends[i - 1]..ends[i]]`.
    Texts {
        /// Every cell's text, one after another.
        text: String,
        /// Where each cell ends in `text`.
        ends: Vec<usize>,
        /// Whether each cell has a value.
        present: Vec<bool>,
    },
    /// True or false.
    Bools(Vec<Option<bool>>),
    /// Instants.
    Times(Vec<Option<Timestamp>>),
    /// Calendar days.
    Dates(Vec<Option<NaiveDate>>),
}

impl Column {
    /// A column of numbers.
    pub fn numbers(cells: impl IntoIterator<Item = Option<f64>>) -> Column {
        Column::Numbers(cells.into_iter().collect())
    }

    /// A column of text.
    pub fn texts<S: AsRef<str>>(cells: impl IntoIterator<Item = Option<S>>) -> Column {
        let mut text = String::new();
        let mut ends = Vec::new();
        let mut present = Vec::new();
        for cell in cells {
            if let Some(s) = &cell {
                text.push_str(s.as_ref());
            }
            ends.push(text.len());
            present.push(cell.is_some());
        }
        Column::Texts {
            text,
            ends,
            present,
        }
    }

    /// A column of true or false.
    pub fn bools(cells: impl IntoIterator<Item = Option<bool>>) -> Column {
        Column::Bools(cells.into_iter().collect())
    }

    /// A column of instants.
    pub fn times(cells: impl IntoIterator<Item = Option<Timestamp>>) -> Column {
        Column::Times(cells.into_iter().collect())
    }

    /// A column of calendar days.
    pub fn dates(cells: impl IntoIterator<Item = Option<NaiveDate>>) -> Column {
        Column::Dates(cells.into_iter().collect())
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        match self {
            Column::Numbers(v) => v.len(),
            Column::Texts { present, .. } => present.len(),
            Column::Bools(v) => v.len(),
            Column::Times(v) => v.len(),
            Column::Dates(v) => v.len(),
        }
    }

    /// Whether the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the column holds, as error messages name it.
    fn kind(&self) -> Kind {
        match self {
            Column::Numbers(_) => Kind::Number,
            Column::Texts { .. } => Kind::Text,
            Column::Bools(_) => Kind::Bool,
            Column::Times(_) => Kind::Time,
            Column::Dates(_) => Kind::Date,
        }
    }

    fn get(&self, row: usize) -> Option<Val<'_>> {
        match self {
            Column::Numbers(v) => v[row].map(Val::Number),
            Column::Texts {
                text,
                ends,
                present,
            } => present[row].then(|| {
                let start = if row == 0 { 0 } else { ends[row - 1] };
                Val::Text(&text[start..ends[row]])
            }),
            Column::Bools(v) => v[row].map(Val::Bool),
            Column::Times(v) => v[row].map(Val::Time),
            Column::Dates(v) => v[row].map(Val::Date),
        }
    }

    /// Checks a text column's ends (a column built by hand can be wrong).
    fn check(&self) -> std::result::Result<(), String> {
        if let Column::Texts {
            text,
            ends,
            present,
        } = self
        {
            if ends.len() != present.len() {
                return Err(format!(
                    "has {} ends and {} present flags",
                    ends.len(),
                    present.len()
                ));
            }
            let mut start = 0;
            for (i, &end) in ends.iter().enumerate() {
                if end < start || end > text.len() || !text.is_char_boundary(end) {
                    return Err(format!("cell {i} ends at {end}, outside its text"));
                }
                start = end;
            }
        }
        Ok(())
    }
}

/// Facts of many contacts as columns, all of one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    as_of: Timestamp,
    rows: usize,
    columns: BTreeMap<String, Column>,
}

impl Table {
    /// An empty table of `rows` contacts' facts at `as_of`.
    pub fn new(as_of: Timestamp, rows: usize) -> Table {
        Table {
            as_of,
            rows,
            columns: BTreeMap::new(),
        }
    }

    /// Adds the column for field `name` (a path rules use, or
    /// `contact_id`). Refused: an unknown field (with the nearest name), a
    /// column of the wrong kind or length, a list field such as
    /// `contact.tags`, a name given twice.
    pub fn with_column(mut self, name: &str, column: Column) -> Result<Table> {
        let at = |m: String| Error::invalid(name, m);
        let field = Field::resolve(name).map_err(at)?;
        let want = match field {
            Field::ContactId => Kind::Text,
            Field::AsOf => {
                return Err(at("a table's facts are all of its one `as_of`; \
                     give it to Table::new, not as a column"
                    .to_string()));
            }
            Field::Contact(super::read::ContactField::Tags) => {
                return Err(at(
                    "a list field cannot be a table column; use one bool column per tag \
                     as a custom attribute"
                        .to_string(),
                ));
            }
            _ => fields::kind_of(name).map_err(at)?,
        };
        if want != Kind::Any && column.kind() != want {
            return Err(at(format!(
                "the field is {}; the column holds {}",
                want.name(),
                column.kind().name()
            )));
        }
        if column.len() != self.rows {
            return Err(at(format!(
                "the column has {} cells; the table has {} rows",
                column.len(),
                self.rows
            )));
        }
        column.check().map_err(|m| at(format!("the column {m}")))?;
        if field == Field::Contact(super::read::ContactField::TimeZone) {
            // Zones are checked once here, so evaluation can rely on them.
            for row in 0..column.len() {
                if let Some(Val::Text(zone)) = column.get(row) {
                    crate::model::TimeZone::new(zone)
                        .map_err(|e| Error::invalid(format!("{name}[{row}]"), e.reason()))?;
                }
            }
        }
        if self.columns.insert(name.to_string(), column).is_some() {
            return Err(at(format!("column `{name}` is given twice")));
        }
        Ok(self)
    }

    /// Adds the column for field `name` from JSON values, read in the
    /// field's kind: numbers, text, true / false, times and dates as text
    /// (`2024-06-01T10:00:00Z`, `2024-06-01`); `null` is a missing value. A
    /// custom attribute takes the kind of its first value. A value of
    /// another kind is an error naming the cell: `orders[3]`.
    pub fn with_json_column(self, name: &str, values: &[Value]) -> Result<Table> {
        let at = |i: usize, m: &str| Error::invalid(format!("{name}[{i}]"), m);
        let kind = match Field::resolve(name).map_err(|m| Error::invalid(name, m))? {
            Field::ContactId => Kind::Text,
            Field::AsOf => Kind::Time,
            _ => fields::kind_of(name).map_err(|m| Error::invalid(name, m))?,
        };
        let kind = match (kind, values.iter().find(|v| !v.is_null())) {
            (Kind::Any, Some(first)) => super::kind_of_operand("=", Some(first)),
            (Kind::Any, None) => Kind::Number,
            (known, _) => known,
        };
        fn read<'v, T>(
            values: &'v [Value],
            what: &str,
            at: impl Fn(usize, &str) -> Error,
            get: impl Fn(&'v Value) -> Option<T>,
        ) -> Result<Vec<Option<T>>> {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Null => Ok(None),
                    v => get(v).map(Some).ok_or_else(|| {
                        at(
                            i,
                            &format!("expected {what}, got {}", crate::parse::kind_name(v)),
                        )
                    }),
                })
                .collect()
        }
        let column = match kind {
            Kind::Number | Kind::Any => {
                Column::Numbers(read(values, "a number", at, Value::as_f64)?)
            }
            Kind::Text => Column::texts(read(values, "text", at, Value::as_str)?),
            Kind::Bool => Column::Bools(read(values, "true or false", at, Value::as_bool)?),
            Kind::Time => Column::Times(read(
                values,
                "a time such as 2024-06-01T10:00:00Z",
                at,
                |v| v.as_str().and_then(|s| Timestamp::parse(s).ok()),
            )?),
            Kind::Date => Column::Dates(read(values, "a date such as 2024-06-01", at, |v| {
                v.as_str()
                    .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            })?),
        };
        self.with_column(name, column)
    }

    /// A table from JSON: an object of field name to a list of values (see
    /// [`Table::with_json_column`]), all lists of one length.
    pub fn from_json_value(as_of: Timestamp, value: &Value) -> Result<Table> {
        let Value::Object(columns) = value else {
            return Err(Error::invalid(
                "",
                "expected an object of field name to a list of values",
            ));
        };
        let rows = columns
            .values()
            .next()
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let mut table = Table::new(as_of, rows);
        for (name, values) in columns {
            let Value::Array(values) = values else {
                return Err(Error::invalid(name, "expected a list of values"));
            };
            table = table.with_json_column(name, values)?;
        }
        Ok(table)
    }

    /// The columns `names` of `facts` (which must all be of one `as_of`),
    /// read as rules read them. A custom attribute's column takes the kind
    /// of its first value; a value of another kind is an error naming the
    /// row.
    pub fn from_facts<S: AsRef<str>>(facts: &[Facts], names: &[S]) -> Result<Table> {
        let as_of = facts
            .first()
            .map_or(Timestamp::from(chrono::DateTime::UNIX_EPOCH), |f| f.as_of);
        if let Some(i) = facts.iter().position(|f| f.as_of != as_of) {
            return Err(Error::invalid(
                format!("[{i}].as_of"),
                "a table's facts are all of one as_of",
            ));
        }
        let mut table = Table::new(as_of, facts.len());
        for name in names {
            let name = name.as_ref();
            let field = Field::resolve(name).map_err(|m| Error::invalid(name, m))?;
            let column = column_of(facts, &field, name)?;
            table = table.with_column(name, column)?;
        }
        Ok(table)
    }

    /// The moment of the facts.
    pub fn as_of(&self) -> Timestamp {
        self.as_of
    }

    /// The number of contacts.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The column names, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }
}

fn column_of(facts: &[Facts], field: &Field, name: &str) -> Result<Column> {
    use crate::model::AttributeValue as A;
    let kind = match facts.iter().find_map(|f| field.read(f)) {
        Some(Val::Number(_) | Val::Count(_) | Val::Attribute(A::Number(_))) => Kind::Number,
        Some(Val::Text(_) | Val::Attribute(A::String(_))) => Kind::Text,
        Some(Val::Bool(_) | Val::Attribute(A::Bool(_))) => Kind::Bool,
        Some(Val::Time(_) | Val::Attribute(A::Datetime(_))) => Kind::Time,
        Some(Val::Date(_)) => Kind::Date,
        Some(Val::Tags(_) | Val::Attribute(A::List(_))) => {
            return Err(Error::invalid(name, "a list cannot be a table column"));
        }
        None if *field == Field::ContactId => Kind::Text,
        None => match fields::kind_of(name).map_err(|m| Error::invalid(name, m))? {
            Kind::Any => Kind::Number,
            known => known,
        },
    };
    Ok(match kind {
        Kind::Number | Kind::Any => Column::Numbers(cells(facts, field, name, |v| match v {
            Val::Number(x) => Some(x),
            Val::Count(n) => Some(n as f64),
            Val::Attribute(A::Number(x)) => Some(*x),
            _ => None,
        })?),
        Kind::Text => Column::texts(cells(facts, field, name, |v| match v {
            Val::Text(s) => Some(s),
            Val::Attribute(A::String(s)) => Some(s.as_str()),
            _ => None,
        })?),
        Kind::Bool => Column::Bools(cells(facts, field, name, |v| match v {
            Val::Bool(b) => Some(b),
            Val::Attribute(A::Bool(b)) => Some(*b),
            _ => None,
        })?),
        Kind::Time => Column::Times(cells(facts, field, name, |v| match v {
            Val::Time(t) => Some(t),
            Val::Attribute(A::Datetime(t)) => Some(*t),
            _ => None,
        })?),
        Kind::Date => Column::Dates(cells(facts, field, name, |v| match v {
            Val::Date(d) => Some(d),
            _ => None,
        })?),
    })
}

/// Each contact's value of `field` through `convert`; a value it does not
/// take is an error naming the row.
fn cells<'a, T>(
    facts: &'a [Facts],
    field: &Field,
    name: &str,
    convert: impl Fn(Val<'a>) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    facts
        .iter()
        .enumerate()
        .map(|(row, f)| match field.read(f) {
            None => Ok(None),
            Some(v) => convert(v).map(Some).ok_or_else(|| {
                Error::invalid(
                    format!("{name}[{row}]"),
                    "the value is of another kind than the column's first",
                )
            }),
        })
        .collect()
}

/// A rule ready to run over a table: each condition with its column.
enum Plan<'a> {
    All(Vec<Plan<'a>>),
    Any(Vec<Plan<'a>>),
    Not(Box<Plan<'a>>),
    Segment(usize),
    Bucket {
        percent: f64,
        salt: &'a str,
        ids: &'a Column,
    },
    Compare(&'a Condition, &'a Column),
    /// An anniversary, with the contacts' time zones when the table has them.
    Anniversary(&'a Condition, &'a Column, Option<&'a Column>),
    /// A condition comparing two fields, with both columns.
    CompareColumns(&'a Condition, &'a Column, &'a Column),
    Static(&'a super::StaticSegment, &'a Column),
}

impl Registry {
    /// Evaluates every segment for every row of `table`, in parallel; the
    /// same results as [`Registry::evaluate`] over the facts the table
    /// holds. A rule on a field the table has no column for is an error
    /// naming the segment; so is a bucket or a static segment without a
    /// `contact_id` column.
    pub fn evaluate_table(&self, table: &Table) -> Result<Evaluation> {
        let ids = table.columns.get("contact_id");
        let plans = self
            .segments
            .iter()
            .map(|(name, segment)| {
                let plan = match segment {
                    Segment::Dynamic(rule) => plan(&rule.expr, self, table, ids),
                    Segment::Static(list) => {
                        ids.map(|ids| Plan::Static(list, ids)).ok_or_else(needs_ids)
                    }
                };
                plan.map_err(|m| Error::invalid(name, m))
            })
            .collect::<Result<Vec<_>>>()?;
        let spans: Vec<Vec<Vec<u64>>> = (0..table.rows.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| span_bits(&plans, table, c * CHUNK..table.rows.min((c + 1) * CHUNK)))
            .collect();
        let mut bits = vec![Vec::with_capacity(table.rows.div_ceil(64)); plans.len()];
        for span in spans {
            for (all, part) in bits.iter_mut().zip(span) {
                all.extend(part);
            }
        }
        Ok(self.evaluation(table.rows, bits))
    }
}

fn needs_ids() -> String {
    "needs the table's `contact_id` column (for buckets and static segments)".to_string()
}

fn plan<'a>(
    expr: &'a Expr,
    registry: &Registry,
    table: &'a Table,
    ids: Option<&'a Column>,
) -> std::result::Result<Plan<'a>, String> {
    let many = |items: &'a [Expr]| {
        items
            .iter()
            .map(|e| plan(e, registry, table, ids))
            .collect::<std::result::Result<Vec<_>, _>>()
    };
    Ok(match expr {
        Expr::All(items) => Plan::All(many(items)?),
        Expr::Any(items) => Plan::Any(many(items)?),
        Expr::Not(inner) => Plan::Not(Box::new(plan(inner, registry, table, ids)?)),
        Expr::Segment(name) => {
            Plan::Segment(registry.find(name).map_err(|e| e.reason().to_string())?)
        }
        Expr::Bucket { percent, salt } => Plan::Bucket {
            percent: *percent,
            salt,
            ids: ids.ok_or_else(needs_ids)?,
        },
        Expr::Compare(c) => {
            let column = |name: &str| {
                table
                    .columns
                    .get(name)
                    .ok_or_else(|| format!("reads `{name}`, and the table has no column `{name}`"))
            };
            if let Some(days) = c.within_days {
                return Err(format!(
                    "counts `{}` within {days} days, which needs each contact's times; \
                     evaluate it over facts",
                    c.field
                ));
            }
            if c.op == Op::AnniversaryWithinDays {
                let zones = table.columns.get("contact.time_zone");
                return Ok(Plan::Anniversary(c, column(&c.field)?, zones));
            }
            match &c.operand {
                Operand::Field(other, _) => {
                    Plan::CompareColumns(c, column(&c.field)?, column(other)?)
                }
                _ => Plan::Compare(c, column(&c.field)?),
            }
        }
    })
}

/// The bits of every segment for the rows `span`, a column at a time:
/// each condition runs down its column, and AND / OR / NOT combine 64 rows
/// per step. A segment referred to is computed once per span.
fn span_bits(plans: &[Plan<'_>], table: &Table, span: Range<usize>) -> Vec<Vec<u64>> {
    let mut done: Vec<Option<Vec<u64>>> = vec![None; plans.len()];
    for s in 0..plans.len() {
        segment_bits(s, plans, table, &span, &mut done);
    }
    done.into_iter().map(Option::unwrap_or_default).collect()
}

fn segment_bits(
    s: usize,
    plans: &[Plan<'_>],
    table: &Table,
    span: &Range<usize>,
    done: &mut [Option<Vec<u64>>],
) -> Vec<u64> {
    if let Some(bits) = &done[s] {
        return bits.clone();
    }
    let bits = plan_bits(&plans[s], plans, table, span, done);
    done[s] = Some(bits.clone());
    bits
}

fn plan_bits(
    p: &Plan<'_>,
    plans: &[Plan<'_>],
    table: &Table,
    span: &Range<usize>,
    done: &mut [Option<Vec<u64>>],
) -> Vec<u64> {
    let words = span.len().div_ceil(64);
    // Bits past the span's last row stay zero.
    let tail = match span.len() % 64 {
        0 => u64::MAX,
        n => (1u64 << n) - 1,
    };
    let per_row = |inside: &dyn Fn(usize) -> bool| {
        let mut bits = vec![0u64; words];
        for (i, row) in span.clone().enumerate() {
            bits[i / 64] |= u64::from(inside(row)) << (i % 64);
        }
        bits
    };
    match p {
        Plan::All(items) | Plan::Any(items) => {
            let all = matches!(p, Plan::All(_));
            let mut bits = vec![if all { u64::MAX } else { 0 }; words];
            for item in items {
                let more = plan_bits(item, plans, table, span, done);
                for (b, m) in bits.iter_mut().zip(more) {
                    *b = if all { *b & m } else { *b | m };
                }
            }
            if let Some(last) = bits.last_mut() {
                *last &= tail;
            }
            bits
        }
        Plan::Not(inner) => {
            let mut bits = plan_bits(inner, plans, table, span, done);
            bits.iter_mut().for_each(|b| *b = !*b);
            if let Some(last) = bits.last_mut() {
                *last &= tail;
            }
            bits
        }
        Plan::Segment(target) => segment_bits(*target, plans, table, span, done),
        Plan::Bucket { percent, salt, ids } => {
            per_row(&|row| in_bucket(contact_id(ids, row), salt, *percent))
        }
        Plan::Static(list, ids) => per_row(&|row| list.contains(contact_id(ids, row))),
        Plan::Anniversary(c, column, zones) => per_row(&|row| {
            let zone = zones
                .and_then(|z| match z.get(row) {
                    Some(Val::Text(name)) => crate::model::TimeZone::new(name).ok(),
                    _ => None,
                })
                .map(|z| z.get());
            holds_for(c, column.get(row), table.as_of, zone)
        }),
        Plan::CompareColumns(c, column, other) => {
            per_row(&|row| holds_between(c, column.get(row), other.get(row)))
        }
        Plan::Compare(c, column) => match (column, number_test(c)) {
            (Column::Numbers(cells), Some(test)) => {
                let mut bits = vec![0u64; words];
                for (i, cell) in cells[span.clone()].iter().enumerate() {
                    let yes = match cell {
                        Some(x) => test(*x),
                        None => c.op == Op::Ne || c.op == Op::IsEmpty,
                    };
                    bits[i / 64] |= u64::from(yes) << (i % 64);
                }
                bits
            }
            (Column::Times(cells), _) if c.kind == Kind::Time => match c.operand {
                Operand::Days(days) if c.op != Op::AnniversaryWithinDays => {
                    let now = Instant::of(table.as_of);
                    per_row(&|row| match cells[row] {
                        None => c.op == Op::Ne || c.op == Op::IsEmpty,
                        Some(t) => relative(c.op, days, now.seconds_since(t)),
                    })
                }
                _ => per_row(&|row| holds_for(c, column.get(row), table.as_of, None)),
            },
            (
                Column::Texts {
                    text,
                    ends,
                    present,
                },
                _,
            ) if c.kind == Kind::Text => {
                let Some(test) = text_test(c) else {
                    return per_row(&|row| holds_for(c, column.get(row), table.as_of, None));
                };
                per_row(&|row| {
                    if !present[row] {
                        return c.op == Op::Ne || c.op == Op::IsEmpty;
                    }
                    let start = if row == 0 { 0 } else { ends[row - 1] };
                    test(&text[start..ends[row]])
                })
            }
            _ => per_row(&|row| holds_for(c, column.get(row), table.as_of, None)),
        },
    }
}

/// The test of one present cell.
type Test<'a, T> = Box<dyn Fn(T) -> bool + 'a>;

/// An instant as whole seconds and nanoseconds since 1970, for the age of
/// many instants at one `as_of` without calendar arithmetic each time.
#[derive(Clone, Copy)]
struct Instant {
    at: Timestamp,
    seconds: i64,
    nanos: i64,
}

impl Instant {
    fn of(at: Timestamp) -> Instant {
        let t = at.get();
        Instant {
            at,
            seconds: t.timestamp(),
            nanos: i64::from(t.timestamp_subsec_nanos()),
        }
    }

    /// Whole seconds from `when` to this instant, toward zero: chrono's
    /// `(self - when).num_seconds()` (a test holds the two together).
    fn seconds_since(self, when: Timestamp) -> i64 {
        let w = when.get();
        let nanos = i64::from(w.timestamp_subsec_nanos());
        if self.nanos >= 1_000_000_000 || nanos >= 1_000_000_000 {
            // A leap second: let chrono decide.
            return (self.at.get() - w).num_seconds();
        }
        let mut secs = self.seconds - w.timestamp();
        let mut rest = self.nanos - nanos;
        if rest < 0 {
            secs -= 1;
            rest += 1_000_000_000;
        }
        if secs < 0 && rest > 0 { secs + 1 } else { secs }
    }
}

/// For a comparison of text, the test of a present value, as
/// [`holds_for`] decides it.
fn text_test(c: &Condition) -> Option<Test<'_, &str>> {
    use super::Scalar;
    fn text(s: &Scalar) -> Option<&str> {
        match s {
            Scalar::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }
    Some(match (c.op, &c.operand) {
        (Op::IsSet, _) => Box::new(|_| true),
        (Op::IsEmpty, _) => Box::new(|_| false),
        (Op::Eq, Operand::One(y)) => {
            let y = text(y)?;
            Box::new(move |x| x == y)
        }
        (Op::Ne, Operand::One(y)) => {
            let y = text(y)?;
            Box::new(move |x| x != y)
        }
        (Op::In, Operand::List(items)) => {
            let items: Vec<&str> = items.iter().map(text).collect::<Option<_>>()?;
            Box::new(move |x| items.contains(&x))
        }
        (Op::Contains, Operand::One(y)) => {
            let y = text(y)?;
            Box::new(move |x| x.contains(y))
        }
        (Op::StartsWith, Operand::One(y)) => {
            let y = text(y)?;
            Box::new(move |x| x.starts_with(y))
        }
        _ => return None,
    })
}

/// For a comparison of numbers, the test of a present value, as
/// [`holds_for`] decides it (a test holds the two together).
fn number_test(c: &Condition) -> Option<Test<'_, f64>> {
    use super::Scalar;
    if c.kind != Kind::Number {
        return None;
    }
    Some(match (c.op, &c.operand) {
        (Op::IsSet, _) => Box::new(|_| true),
        (Op::IsEmpty, _) => Box::new(|_| false),
        (Op::Eq, Operand::One(Scalar::Number(y))) => Box::new(move |x| x == *y),
        (Op::Ne, Operand::One(Scalar::Number(y))) => Box::new(move |x| x != *y),
        (Op::Lt, Operand::One(Scalar::Number(y))) => Box::new(move |x| x < *y),
        (Op::Le, Operand::One(Scalar::Number(y))) => Box::new(move |x| x <= *y),
        (Op::Gt, Operand::One(Scalar::Number(y))) => Box::new(move |x| x > *y),
        (Op::Ge, Operand::One(Scalar::Number(y))) => Box::new(move |x| x >= *y),
        (Op::Between, Operand::Range(Scalar::Number(lo), Scalar::Number(hi))) => {
            Box::new(move |x| x >= *lo && x <= *hi)
        }
        _ => return None,
    })
}

fn contact_id(ids: &Column, row: usize) -> &str {
    match ids.get(row) {
        Some(Val::Text(id)) => id,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn bench_registry() -> Registry {
        let data: Value =
            serde_json::from_str(include_str!("../../../benches/data/segments20.json")).unwrap();
        let rules = data["segments"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, s)| {
                let rule = super::super::Rule::parse(s["rule"].as_str().unwrap()).unwrap();
                (name.clone(), rule)
            });
        Registry::new(rules).unwrap()
    }

    /// A table made from facts gives every segment the members the facts
    /// give, for twenty rules of every kind of condition.
    #[test]
    fn a_table_agrees_with_the_facts_it_holds() {
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let facts = crate::sample::facts(6_000, as_of, 3);
        let registry = bench_registry();
        let table = Table::from_facts(&facts, &registry.fields()).unwrap();
        assert_eq!(table.rows(), facts.len());
        let from_table = registry.evaluate_table(&table).unwrap();
        let from_facts = registry.evaluate(&facts).unwrap();
        assert_eq!(from_table, from_facts);
        // Conditions comparing two fields read both columns.
        let two = Registry::from_json(
            r#"{"overdue": "days_since_last_order > average_interval_days",
                "cart after order": "cart.updated_at > last_order_at",
                "not bought since": "cart.updated_at is set and not last_order_at >= cart.updated_at"}"#,
        )
        .unwrap();
        let both = Table::from_facts(&facts, &two.fields()).unwrap();
        let compared = two.evaluate_table(&both).unwrap();
        assert_eq!(compared, two.evaluate(&facts).unwrap());
        assert!(compared.count("overdue").unwrap() > 0);
        // The rare seed segment ("suit buyers", 43 in 1M) may be empty here.
        let filled = from_table.segments().iter();
        assert!(filled.filter(|s| from_table.count(s).unwrap() > 0).count() >= 19);
    }

    proptest::proptest! {
        /// Ages in whole seconds agree with chrono's, either side of
        /// `as_of`, to the nanosecond.
        #[test]
        fn ages_agree_with_chrono(
            a in -4_000_000_000i64..4_000_000_000, an in 0u32..1_000_000_000,
            b in -4_000_000_000i64..4_000_000_000, bn in 0u32..1_000_000_000,
        ) {
            let at = |s, n| Timestamp::from(chrono::DateTime::from_timestamp(s, n).unwrap());
            let (now, when) = (at(a, an), at(b, bn));
            proptest::prop_assert_eq!(
                Instant::of(now).seconds_since(when),
                (now.get() - when.get()).num_seconds()
            );
        }
    }

    #[test]
    fn bad_columns_name_the_field() {
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let table = || Table::new(as_of, 2);
        let reason = |r: Result<Table>| {
            let e = r.unwrap_err();
            (e.path().unwrap_or("").to_string(), e.reason().to_string())
        };
        let (path, why) = reason(table().with_column("revenu", Column::numbers([None, None])));
        assert_eq!(path, "revenu");
        assert!(why.contains("did you mean `revenue`?"), "{why}");
        let (_, why) = reason(table().with_column("orders", Column::texts([Some("1"), None])));
        assert!(
            why.contains("the field is a number; the column holds text"),
            "{why}"
        );
        let (_, why) = reason(table().with_column("orders", Column::numbers([Some(1.0)])));
        assert!(why.contains("1 cells; the table has 2 rows"), "{why}");
        let (_, why) = reason(table().with_column("as_of", Column::times([None, None])));
        assert!(why.contains("Table::new"), "{why}");
        let (_, why) =
            reason(table().with_column("contact.tags", Column::texts([Some("a"), None])));
        assert!(why.contains("list"), "{why}");
        let zones = Column::texts([Some("Europe/Berlin"), Some("Europe/Berln")]);
        let (path, why) = reason(table().with_column("contact.time_zone", zones));
        assert_eq!(path, "contact.time_zone[1]");
        assert!(why.contains("did you mean `Europe/Berlin`?"), "{why}");
        let broken = Column::Texts {
            text: "ab".to_string(),
            ends: vec![1, 5],
            present: vec![true, true],
        };
        let (_, why) = reason(table().with_column("contact.city", broken));
        assert!(why.contains("cell 1 ends at 5"), "{why}");
        let twice = table()
            .with_column("orders", Column::numbers([None, None]))
            .unwrap()
            .with_column("orders", Column::numbers([None, None]));
        assert!(reason(twice).1.contains("given twice"));

        let orders = table()
            .with_column("orders", Column::numbers([Some(1.0), None]))
            .unwrap();
        let sample = Registry::from_json(r#"{"s": "bucket 10% salt \"x\""}"#).unwrap();
        let e = sample.evaluate_table(&orders).unwrap_err();
        assert_eq!(e.path(), Some("s"));
        assert!(e.reason().contains("contact_id"), "{e}");
        // A missing cell reads as a missing value: only `!=` and `is empty` hold.
        let rules = Registry::from_json(
            r#"{"ne": "orders != 1", "empty": "orders is empty", "eq": "orders = 1"}"#,
        )
        .unwrap();
        let all = rules.evaluate_table(&orders).unwrap();
        assert_eq!(all.rows("ne").unwrap(), [1]);
        assert_eq!(all.rows("empty").unwrap(), [1]);
        assert_eq!(all.rows("eq").unwrap(), [0]);
    }
}
