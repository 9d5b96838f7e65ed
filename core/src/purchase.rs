//! Purchases: a shop's order table (one row per order, or per order line)
//! summed per customer into what RFM and the lifecycle grid read.
//!
//! Two ways in, with the same result: rows ([`Purchase`], [`summarize`]) and
//! columns ([`PurchaseColumns`], [`summarize_columns`]), the layout of an
//! Arrow table, read without a value per row.
//!
//! ```
//! use patron::purchase::{self, Purchase};
//! use patron::{model::Timestamp, parse};
//!
//! // Order o1 has two lines; o2 was on the same day.
//! let rows: Vec<Purchase> = parse::list_from_json(r#"[
//!   {"contact_id": "a", "order_id": "o1", "at": "2024-06-01T10:00:00Z", "amount": 30},
//!   {"contact_id": "a", "order_id": "o1", "at": "2024-06-01T10:00:00Z", "amount": 20},
//!   {"contact_id": "a", "order_id": "o2", "at": "2024-06-01T18:00:00Z", "amount": 10},
//!   {"contact_id": "b", "at": "2024-05-01T10:00:00Z", "amount": 99}
//! ]"#)?;
//! let summaries = purchase::summarize(&rows, Timestamp::parse("2024-07-01T00:00:00Z")?)?;
//! assert_eq!((summaries[0].orders, summaries[0].purchase_days, summaries[0].revenue.get()), (2, Some(1), 60.0));
//! assert_eq!(summaries[1].contact_id.as_str(), "b");
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! Customers come out in the order of their first row. An order is the
//! distinct `order_id` within a customer; without one, each row is an order.
//! Purchase days are UTC days. Amounts are summed as given: one currency.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::DateTime;
use hashbrown::HashTable;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Id, Money, Timestamp};
use crate::rfm::{
    self, CellLabels, CustomerSummary, FrequencyMeasure, MonetaryMeasure, RfmConfig, Scores,
};

/// One row of a shop's order table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    /// The customer.
    pub contact_id: Id,
    /// The order; rows with the same id (order lines) are one order. Without
    /// it, the row is an order of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Id>,
    /// When it was bought.
    pub at: Timestamp,
    /// What it cost.
    pub amount: Money,
}

/// Keys of a column: integers, or text in the Arrow layout (row `i` is
/// `bytes[offsets[i]..offsets[i + 1]]`).
#[derive(Clone, Copy, Debug)]
pub enum Keys<'a> {
    /// Integer ids.
    Int(&'a [i64]),
    /// Text ids.
    Text {
        /// `len + 1` offsets into `bytes`.
        offsets: &'a [i32],
        /// UTF-8 text of all rows.
        bytes: &'a [u8],
    },
}

impl<'a> Keys<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Keys::Int(v) => v.len(),
            Keys::Text { offsets, .. } => offsets.len().saturating_sub(1),
        }
    }

    #[inline]
    pub(crate) fn key(&self, row: usize) -> Key<'a> {
        match *self {
            Keys::Int(v) => Key::Int(v[row]),
            Keys::Text { offsets, bytes } => {
                Key::Text(&bytes[offsets[row] as usize..offsets[row + 1] as usize])
            }
        }
    }

    pub(crate) fn check(&self, name: &str) -> Result<()> {
        if let Keys::Text { offsets, bytes } = self {
            let ordered = offsets.windows(2).all(|w| w[0] <= w[1]);
            let inside = offsets
                .last()
                .is_none_or(|&end| end >= 0 && end as usize <= bytes.len());
            if !ordered || offsets.first().is_some_and(|&s| s < 0) || !inside {
                return Err(Error::invalid(name, "text offsets out of order or range"));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key<'a> {
    Int(i64),
    Text(&'a [u8]),
}

impl Key<'_> {
    /// Whether [`Key::to_id`] accepts the key; printable ASCII (most ids)
    /// is told without building the id.
    pub(crate) fn is_valid_id(self) -> bool {
        match self {
            Key::Text(bytes)
                if bytes.len() <= crate::model::scalar::MAX_ID_LEN
                    && bytes.iter().all(|b| (0x20..0x7f).contains(b))
                    && bytes.iter().any(|b| *b != b' ') =>
            {
                true
            }
            key => key.to_id().is_ok(),
        }
    }

    /// The key as an id: an integer in decimal, text as it is.
    pub(crate) fn to_id(self) -> Result<Id> {
        match self {
            Key::Int(v) => Id::new(v.to_string()),
            Key::Text(bytes) => std::str::from_utf8(bytes)
                .map_err(|_| Error::invalid("", "expected UTF-8 text"))
                .and_then(Id::new),
        }
    }
}

/// The columns of an order table.
#[derive(Clone, Copy, Debug)]
pub struct PurchaseColumns<'a> {
    /// The customer of each row.
    pub contact_ids: Keys<'a>,
    /// The order of each row; none when each row is an order.
    pub order_ids: Option<Keys<'a>>,
    /// When, in microseconds since 1970-01-01 UTC.
    pub at_micros: &'a [i64],
    /// What it cost.
    pub amounts: &'a [f64],
}

/// Summaries from rows.
pub fn summarize(purchases: &[Purchase], as_of: Timestamp) -> Result<Vec<CustomerSummary>> {
    let at: Vec<i64> = purchases
        .iter()
        .map(|p| p.at.get().timestamp_micros())
        .collect();
    let amounts: Vec<f64> = purchases.iter().map(|p| p.amount.get()).collect();
    check_rows(&at, &amounts, as_of)?;
    let key = |row: usize| Key::Text(purchases[row].contact_id.as_str().as_bytes());
    let order = |row: usize| match &purchases[row].order_id {
        Some(id) => Order::Key(Key::Text(id.as_str().as_bytes())),
        None => Order::Row(row),
    };
    grouped_totals(purchases.len(), key, true, &at, &amounts, order)
        .in_order()
        .map(|(row, t)| t.summary(purchases[row as usize].contact_id.clone()))
        .collect()
}

/// Summaries from columns, without a value per row; the same result as
/// [`summarize`] on the same rows (revenue, a float sum, may differ in its
/// last bit: the two add a customer's amounts in another order on some
/// tables). Errors name the column and row: `[3].amount`.
pub fn summarize_columns(
    columns: &PurchaseColumns<'_>,
    as_of: Timestamp,
) -> Result<Vec<CustomerSummary>> {
    grouped_columns(columns, as_of)?
        .in_order()
        .map(|(row, t)| {
            let row = row as usize;
            let id = columns
                .contact_ids
                .key(row)
                .to_id()
                .map_err(|e| e.within(&format!("[{row}].contact_id")))?;
            t.summary(id)
        })
        .collect()
}

/// Checks the columns, then sums them per customer: each customer's first
/// row and totals, in the order of first rows.
fn grouped_columns(columns: &PurchaseColumns<'_>, as_of: Timestamp) -> Result<Grouped> {
    let rows = columns.at_micros.len();
    for (name, len) in [
        ("contact_id", columns.contact_ids.len()),
        ("amount", columns.amounts.len()),
        ("order_id", columns.order_ids.map_or(rows, |k| k.len())),
    ] {
        if len != rows {
            return Err(Error::invalid(
                name,
                format!("columns differ in length: `at` has {rows} rows, `{name}` has {len}"),
            ));
        }
    }
    columns.contact_ids.check("contact_id")?;
    if let Some(orders) = &columns.order_ids {
        orders.check("order_id")?;
    }
    check_rows(columns.at_micros, columns.amounts, as_of)?;
    let keys = columns.contact_ids;
    let order = |row: usize| match &columns.order_ids {
        Some(keys) => Order::Key(keys.key(row)),
        None => Order::Row(row),
    };
    Ok(grouped_totals(
        rows,
        |row| keys.key(row),
        matches!(keys, Keys::Text { .. }),
        columns.at_micros,
        columns.amounts,
        order,
    ))
}

/// RFM of an order table as columns: one entry per customer, in the order
/// of first rows, as [`rfm::score`] gives it from [`summarize_columns`], but
/// without a summary, an id or a text per customer (what a table of a
/// million customers spends most of its time on otherwise).
#[derive(Clone, Debug)]
pub struct RfmColumns {
    /// Each customer's first row in the order table: its id is that row's.
    pub first_rows: Vec<u32>,
    /// Whole days from the last order to `as_of`.
    pub recency_days: Vec<u64>,
    /// The frequency measure's value.
    pub frequency: Vec<f64>,
    /// The monetary measure's value.
    pub monetary: Vec<f64>,
    /// Recency scores, 1 to `bins`.
    pub r: Vec<u8>,
    /// Frequency scores.
    pub f: Vec<u8>,
    /// Monetary scores.
    pub m: Vec<u8>,
    /// Each cell's text and segment name.
    pub labels: CellLabels,
}

/// RFM scores straight from the columns of an order table.
///
/// ```
/// use patron::model::Timestamp;
/// use patron::purchase::{self, Keys, PurchaseColumns};
/// use patron::rfm::RfmConfig;
///
/// let day = 86_400_000_000;
/// let columns = PurchaseColumns {
///     contact_ids: Keys::Int(&[7, 8, 7]),
///     order_ids: None,
///     at_micros: &[0, 10 * day, 20 * day],
///     amounts: &[10.0, 99.0, 5.0],
/// };
/// let as_of = Timestamp::parse("1970-02-01T00:00:00Z")?;
/// let rfm = purchase::rfm_columns(&columns, as_of, &RfmConfig::default())?;
/// assert_eq!(rfm.first_rows, [0, 1]); // customers 7 and 8
/// assert_eq!((rfm.recency_days[0], rfm.frequency[0], rfm.monetary[0]), (11, 2.0, 15.0));
/// assert_eq!(rfm.labels.cell(rfm.r[0], rfm.f[0], rfm.m[0]), "442");
/// # Ok::<(), patron::Error>(())
/// ```
pub fn rfm_columns(
    columns: &PurchaseColumns<'_>,
    as_of: Timestamp,
    config: &RfmConfig,
) -> Result<RfmColumns> {
    config.check().map_err(|e| e.within("config"))?;
    let grouped = grouped_columns(columns, as_of)?;
    // Whole days, as `Timestamp::whole_days_until` counts them: every row
    // is at or before `as_of` (checked), and a fraction of a microsecond in
    // `as_of` never completes a day.
    let limit = as_of.get().timestamp_micros();
    let first_rows: Vec<u32> = grouped
        .column(|first, _| u64::from(first))
        .into_par_iter()
        .map(|first| first as u32)
        .collect();
    // Each id is checked as `summarize_columns` checks it.
    if let Some(row) = grouped.shards.iter().filter_map(|s| s.invalid_id).min() {
        let row = row as usize;
        let err = match columns.contact_ids.key(row).to_id() {
            Err(err) => err,
            Ok(_) => Error::invalid("", "expected a valid id"),
        };
        return Err(err.within(&format!("[{row}].contact_id")));
    }
    let days = grouped.column(|_, t| ((limit - t.last_micros) / MICROS_PER_DAY) as u64);
    let floats = |bits: Vec<u64>| -> Vec<f64> { bits.into_iter().map(f64::from_bits).collect() };
    let frequency = floats(grouped.column(|_, t| {
        f64::from(match config.frequency {
            FrequencyMeasure::Orders => t.orders,
            FrequencyMeasure::PurchaseDays => t.days,
        })
        .to_bits()
    }));
    let monetary = floats(grouped.column(|_, t| {
        match config.monetary {
            MonetaryMeasure::Total => t.revenue,
            MonetaryMeasure::Mean => t.revenue / f64::from(t.orders),
        }
        .to_bits()
    }));
    drop(grouped);
    if let Some(i) = monetary.iter().position(|m| Money::new(*m).is_err()) {
        let err = Money::new(monetary[i]).unwrap_err();
        return Err(err
            .within("revenue")
            .within(&format!("[{}]", first_rows[i])));
    }
    let ids = &columns.contact_ids;
    let id_ranks = || {
        let text: Vec<Vec<u8>>;
        let ids: Vec<&[u8]> = match ids {
            Keys::Text { .. } => first_rows
                .iter()
                .map(|&row| match ids.key(row as usize) {
                    Key::Text(bytes) => bytes,
                    Key::Int(_) => &[],
                })
                .collect(),
            Keys::Int(values) => {
                // Integer ids are ordered as their decimal text, as ids are.
                text = first_rows
                    .iter()
                    .map(|&row| values[row as usize].to_string().into_bytes())
                    .collect();
                text.iter().map(Vec::as_slice).collect()
            }
        };
        rfm::id_ranks(&ids)
    };
    let scores = Scores::of(&days, &frequency, &monetary, id_ranks, config);
    Ok(RfmColumns {
        first_rows,
        recency_days: days,
        frequency,
        monetary,
        r: scores.r,
        f: scores.f,
        m: scores.m,
        labels: CellLabels::new(config),
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Order<'a> {
    Key(Key<'a>),
    Row(usize),
}

/// One customer's sums.
#[derive(Clone, Copy)]
struct Totals {
    last_micros: i64,
    revenue: f64,
    orders: u32,
    days: u32,
}

impl Totals {
    fn summary(self, contact_id: Id) -> Result<CustomerSummary> {
        Ok(CustomerSummary {
            contact_id,
            last_order_at: DateTime::from_timestamp_micros(self.last_micros).map(Timestamp::from),
            orders: u64::from(self.orders),
            purchase_days: Some(u64::from(self.days)),
            revenue: Money::new(self.revenue).map_err(|e| e.within("revenue"))?,
            currency: None,
        })
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Refuses a row after `as_of`, out of range, or with an amount that is not
/// a finite non-negative number.
fn check_rows(at: &[i64], amounts: &[f64], as_of: Timestamp) -> Result<()> {
    if at.len() > u32::MAX as usize {
        return Err(Error::invalid(
            "",
            format!("at most {} rows at a time, got {}", u32::MAX, at.len()),
        ));
    }
    let limit = as_of.get().timestamp_micros();
    // Times chrono can hold, so the check per row is two comparisons.
    let earliest = DateTime::<chrono::Utc>::MIN_UTC.timestamp_micros();
    if let Some(row) = at.iter().position(|&t| t > limit || t < earliest) {
        return Err(Error::invalid(
            format!("[{row}].at"),
            match DateTime::from_timestamp_micros(at[row]) {
                Some(t) => format!(
                    "the purchase ({}) is after as_of ({as_of})",
                    Timestamp::from(t)
                ),
                None => "the time is out of range".to_string(),
            },
        ));
    }
    if let Some(row) = amounts.iter().position(|a| !(a.is_finite() && *a >= 0.0)) {
        return Err(Error::invalid(
            format!("[{row}].amount"),
            format!(
                "expected a finite non-negative amount, got {}",
                amounts[row]
            ),
        ));
    }
    Ok(())
}

/// Every customer's first row and sums, in the order of first rows.
///
/// Rows are split by the hash of their customer into shards, and each shard
/// does all its work alone, in parallel: it numbers its customers in a table
/// small enough to stay in cache (ids' first 16 bytes inline) and adds each
/// row to its customer at once. Distinct orders and days are counted on the
/// way while each customer's order ids and days only grow, as they do in a
/// table kept in time order; a customer whose rows go back is counted again
/// from its rows, exactly. The shards' results are then put in the order of
/// first rows.
fn grouped_totals<'k>(
    rows: usize,
    key: impl Fn(usize) -> Key<'k> + Sync,
    text_keys: bool,
    at: &[i64],
    amounts: &[f64],
    order: impl Fn(usize) -> Order<'k> + Sync,
) -> Grouped {
    const SHARDS: usize = 256;
    // The rows are cut into one part per thread, and each part copies what
    // the shards need next to each other: a shard then reads only its own
    // entries, part after part (so still in row order), never the columns.
    let parts = rayon::current_num_threads().clamp(1, 64);
    let part_len = rows.div_ceil(parts).max(1);
    let buffers: Vec<Vec<Vec<Entry>>> = (0..parts)
        .into_par_iter()
        .map(|part| {
            let range = (part * part_len).min(rows)..((part + 1) * part_len).min(rows);
            let capacity = range.len() / SHARDS + range.len() / (4 * SHARDS) + 16;
            let mut by_shard: Vec<Vec<Entry>> =
                (0..SHARDS).map(|_| Vec::with_capacity(capacity)).collect();
            for row in range {
                let k = key(row);
                let (prefix, len) = prefix_of(k);
                let hash = key_hash(k, prefix, len);
                let shard = &mut by_shard[(hash >> 56) as usize];
                let tag = order_tag(order(row));
                // The next line of the shard's last order, at the same time
                // (how an order's lines are stored) adds to it: a table of
                // order lines becomes a table of orders on the way. Only
                // exact keys and order tags are merged.
                if let Some(last) = shard.last_mut()
                    && len <= 16
                    && tag & HASHED != HASHED
                    && last.at == at[row]
                    && last.order.get() == tag
                    && last.prefix.get() == prefix
                    && last.len as usize == len
                {
                    last.amount += amounts[row];
                    continue;
                }
                shard.push(Entry {
                    prefix: Wide::from(prefix),
                    order: Wide::from(tag),
                    at: at[row],
                    amount: amounts[row],
                    row: row as u32,
                    len: len as u32,
                });
            }
            by_shard
        })
        .collect();
    let scattered = &buffers;
    // A shard's table, customers and their rows' places are scratch space,
    // reused by the next shard the same thread sums (fresh memory costs a
    // page fault per 4 KB: these were a hundred megabytes a call).
    let shards: Vec<Shard> = (0..SHARDS)
        .into_par_iter()
        .map_init(Scratch::default, |scratch, shard| {
            let entries = || scattered.iter().flat_map(move |part| &part[shard]);
            // The table holds bare numbers; a customer's key is its first 16
            // bytes and length, and long keys are compared in full, the only
            // ones that read the column again.
            let Scratch {
                table,
                customers,
                locals,
            } = scratch;
            table.clear();
            customers.clear();
            locals.clear();
            let mut recount = false;
            let mut invalid_id = None;
            for e in entries() {
                let prefix = e.prefix.get();
                let long = e.len > 16;
                let full = if long {
                    key(e.row as usize)
                } else {
                    Key::Int(0)
                };
                // Re-mixed: the shard's own top bits are all alike.
                let hash =
                    key_hash(full, prefix, e.len as usize).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let same = |&c: &u32| {
                    let c = &customers[c as usize];
                    c.prefix == prefix && c.len == e.len && (!long || key(c.first as usize) == full)
                };
                let local = match table.find(hash, same) {
                    Some(&local) => {
                        let c = &mut customers[local as usize];
                        c.add(e, &order);
                        recount |= c.recount;
                        local
                    }
                    None => {
                        let local = customers.len() as u32;
                        // Checked here, where a short id is at hand without
                        // reading the column (integer ids are always valid).
                        let valid_id = !text_keys
                            || if long {
                                full.is_valid_id()
                            } else {
                                let bytes = prefix.to_le_bytes();
                                Key::Text(&bytes[..e.len as usize]).is_valid_id()
                            };
                        if !valid_id && invalid_id.is_none() {
                            invalid_id = Some(e.row);
                        }
                        customers.push(Customer::new(prefix, hash, e));
                        table.insert_unique(hash, local, |&c| customers[c as usize].hash);
                        local
                    }
                };
                locals.push(local);
            }
            if recount {
                count_again(customers, entries().zip(locals.iter().copied()), &order);
            }
            Shard {
                firsts: customers.iter().map(|c| c.first).collect(),
                totals: customers.iter().map(|c| c.totals).collect(),
                invalid_id,
            }
        })
        .collect();
    drop(buffers);
    Grouped::new(rows, shards)
}

/// What a shard works in, kept for the next shard.
#[derive(Default)]
struct Scratch {
    table: HashTable<u32>,
    customers: Vec<Customer>,
    locals: Vec<u32>,
}

/// A shard's customers: each one's first row, and its sums.
struct Shard {
    firsts: Vec<u32>,
    totals: Vec<Totals>,
    /// The first row of the first customer whose key is not a valid [`Id`].
    invalid_id: Option<u32>,
}

/// Customers as the shards left them, and each one's place in the order of
/// first rows: the customers are never moved into one list, only the values
/// asked of them are written at their places.
struct Grouped {
    shards: Vec<Shard>,
    /// Per shard, each customer's place.
    places: Vec<Vec<u32>>,
    customers: usize,
}

impl Grouped {
    /// Places customers in the order of first rows without a sort: each
    /// first row is marked in a bitmap of all rows (small enough for the
    /// cache), so a customer's place is the number of marks before its own.
    fn new(rows: usize, shards: Vec<Shard>) -> Self {
        let mut marks = vec![0u64; rows.div_ceil(64)];
        for first in shards.iter().flat_map(|s| &s.firsts) {
            marks[*first as usize / 64] |= 1 << (first % 64);
        }
        let mut before = Vec::with_capacity(marks.len());
        let mut customers = 0u32;
        for word in &marks {
            before.push(customers);
            customers += word.count_ones();
        }
        let places = shards
            .par_iter()
            .map(|shard| {
                let place = |first: u32| {
                    let (word, bit) = (first as usize / 64, first % 64);
                    before[word] + (marks[word] & ((1u64 << bit) - 1)).count_ones()
                };
                shard.firsts.iter().map(|first| place(*first)).collect()
            })
            .collect();
        Grouped {
            shards,
            places,
            customers: customers as usize,
        }
    }

    /// One value per customer, from its first row and sums, in the order of
    /// first rows.
    fn column(&self, value: impl Fn(u32, &Totals) -> u64 + Sync) -> Vec<u64> {
        self.written(|s, i| {
            let shard = &self.shards[s];
            value(shard.firsts[i], &shard.totals[i])
        })
    }

    /// Each customer's first row and sums, in the order of first rows.
    fn in_order(&self) -> impl IndexedParallelIterator<Item = (u32, Totals)> + '_ {
        self.written(|s, i| (s as u64) << 32 | i as u64)
            .into_par_iter()
            .map(|at| {
                let shard = &self.shards[(at >> 32) as usize];
                let i = (at & u64::from(u32::MAX)) as usize;
                (shard.firsts[i], shard.totals[i])
            })
    }

    /// `value(shard, index)` of every customer, written at its place: each
    /// shard writes its own customers, in parallel.
    fn written(&self, value: impl Fn(usize, usize) -> u64 + Sync) -> Vec<u64> {
        let out: Vec<AtomicU64> = (0..self.customers).map(|_| AtomicU64::new(0)).collect();
        self.places.par_iter().enumerate().for_each(|(s, places)| {
            for (i, place) in places.iter().enumerate() {
                out[*place as usize].store(value(s, i), Ordering::Relaxed);
            }
        });
        out.into_iter().map(AtomicU64::into_inner).collect()
    }
}

/// Counts the orders and purchase days of each customer marked `recount`
/// again from all its rows: sorted, and hashed order ids compared in full.
fn count_again<'e, 'k>(
    customers: &mut [Customer],
    entries: impl Iterator<Item = (&'e Entry, u32)>,
    order: &impl Fn(usize) -> Order<'k>,
) {
    let mut lines: Vec<(u32, Line)> = entries
        .filter(|(_, local)| customers[*local as usize].recount)
        .map(|(e, local)| {
            let line = Line {
                order: e.order.get(),
                row: e.row,
                at: e.at,
            };
            (local, line)
        })
        .collect();
    lines.sort_by_key(|(local, _)| *local);
    let mut orders = Vec::new();
    let mut days = Vec::new();
    for group in lines.chunk_by(|a, b| a.0 == b.0) {
        let mine: Vec<Line> = group.iter().map(|(_, line)| *line).collect();
        let totals = &mut customers[group[0].0 as usize].totals;
        (totals.orders, totals.days) = orders_and_days(&mine, &mut orders, &mut days, order);
    }
}

/// A 128-bit value kept as two words, so an [`Entry`] is aligned to 8 bytes
/// (56 bytes, not 64: the shards' copy of the rows is the largest buffer).
#[derive(Clone, Copy)]
struct Wide([u64; 2]);

impl From<u128> for Wide {
    fn from(v: u128) -> Self {
        Wide([v as u64, (v >> 64) as u64])
    }
}

impl Wide {
    fn get(self) -> u128 {
        u128::from(self.0[0]) | u128::from(self.0[1]) << 64
    }
}

/// A row as its shard reads it: its customer's first 16 bytes and length,
/// and what the sums need.
struct Entry {
    prefix: Wide,
    order: Wide,
    at: i64,
    amount: f64,
    row: u32,
    len: u32,
}

/// A customer in a shard: its key, and its sums so far.
struct Customer {
    prefix: u128,
    hash: u64,
    len: u32,
    first: u32,
    /// The greatest order tag so far, and a row of that order.
    order: u128,
    order_row: u32,
    /// An order id or a day went back: count both again from the rows.
    recount: bool,
    totals: Totals,
}

impl Customer {
    fn new(prefix: u128, hash: u64, e: &Entry) -> Self {
        Customer {
            prefix,
            hash,
            len: e.len,
            first: e.row,
            order: e.order.get(),
            order_row: e.row,
            recount: false,
            totals: Totals {
                last_micros: e.at,
                orders: 1,
                days: 1,
                revenue: e.amount,
            },
        }
    }

    /// Adds a row. A greater order tag is a new order and a later day a new
    /// day; the same tag (its ids equal in full when hashed) and the same day
    /// are not; anything smaller marks the customer for a recount.
    fn add<'k>(&mut self, e: &Entry, order: &impl Fn(usize) -> Order<'k>) {
        let t = &mut self.totals;
        t.revenue += e.amount;
        let tag = e.order.get();
        if tag > self.order {
            t.orders += 1;
            self.order = tag;
            self.order_row = e.row;
        } else if tag < self.order
            || (tag & HASHED == HASHED && order(e.row as usize) != order(self.order_row as usize))
        {
            self.recount = true;
        }
        let day = e.at.div_euclid(MICROS_PER_DAY);
        let last_day = t.last_micros.div_euclid(MICROS_PER_DAY);
        if day > last_day {
            t.days += 1;
        } else if day < last_day {
            self.recount = true;
        }
        t.last_micros = t.last_micros.max(e.at);
    }
}

/// A key's first 16 bytes as one integer (zero beyond its end), and its
/// length.
fn prefix_of(key: Key<'_>) -> (u128, usize) {
    match key {
        Key::Int(v) => (v as u128, 8),
        Key::Text(bytes) => (head(bytes), bytes.len()),
    }
}

/// The first 16 bytes of `bytes` as a little-endian integer, zero beyond
/// the end. Short keys are read as two overlapping fixed-size loads rather
/// than copied byte by byte (a copy of unknown length stalls the read that
/// follows it).
fn head(bytes: &[u8]) -> u128 {
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().unwrap_or([0; 4]),
        ))
    };
    let n = bytes.len();
    let (lo, hi) = if n >= 16 {
        (word(0), word(8))
    } else if n >= 8 {
        (
            word(0),
            word(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0),
        )
    } else if n >= 4 {
        (half(0) | (half(n - 4) >> (8 * (8 - n))) << 32, 0)
    } else {
        let lo = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        (lo, 0)
    };
    u128::from(lo) | u128::from(hi) << 64
}

/// A key's hash: from its first 16 bytes and length alone when that is the
/// whole key (so a shard recomputes it without reading the column), from
/// every byte otherwise.
fn key_hash(key: Key<'_>, prefix: u128, len: usize) -> u64 {
    let tail = if len > 16 {
        let mut h = FxHasher::default();
        key.hash(&mut h);
        h.finish()
    } else {
        len as u64
    };
    let folded = |a: u64, b: u64| {
        let wide = u128::from(a) * u128::from(b);
        (wide as u64) ^ ((wide >> 64) as u64)
    };
    let lo = prefix as u64 ^ 0x243f_6a88_85a3_08d3;
    let hi = (prefix >> 64) as u64 ^ tail ^ 0x1319_8a2e_0370_7344;
    folded(folded(lo, hi), 0x9e37_79b9_7f4a_7c15 ^ tail)
}

/// One customer's distinct orders and purchase days, from all its rows.
fn orders_and_days<'k>(
    lines: &[Line],
    orders: &mut Vec<(u128, u32)>,
    days: &mut Vec<i64>,
    order: &impl Fn(usize) -> Order<'k>,
) -> (u32, u32) {
    orders.clear();
    days.clear();
    for line in lines {
        orders.push((line.order, line.row));
        days.push(line.at.div_euclid(MICROS_PER_DAY));
    }
    orders.sort_unstable();
    days.sort_unstable();
    days.dedup();
    (distinct_orders(orders, order), days.len() as u32)
}

/// One row, as a recount reads it.
#[derive(Clone, Copy)]
struct Line {
    order: u128,
    row: u32,
    at: i64,
}

/// The tag of a hashed order id: its rows are compared in full. No text tag
/// starts with this byte (it is never in UTF-8), and integer tags are 64-bit.
const HASHED: u128 = 0xff << 120;

/// An order's identity within its customer, as one integer that sorts as
/// the ids do: exact for integer ids, for rows without an id, and for ids of
/// up to 15 bytes (the bytes, big-endian, then the length); a hash tagged
/// [`HASHED`] for longer ids. Exact tags never need the column again, so
/// equal orders are told apart without a random read per line, and ids that
/// grow with time (numbers, zero-padded text) are counted in one pass.
fn order_tag(order: Order<'_>) -> u128 {
    match order {
        Order::Row(row) => row as u128,
        Order::Key(Key::Int(v)) => u128::from(v as u64),
        Order::Key(Key::Text(bytes)) if bytes.len() <= 15 => {
            let mut tag = [0u8; 16];
            tag[..bytes.len()].copy_from_slice(bytes);
            tag[15] = bytes.len() as u8;
            u128::from_be_bytes(tag)
        }
        Order::Key(key) => {
            let mut h = FxHasher::default();
            key.hash(&mut h);
            HASHED | u128::from(h.finish())
        }
    }
}

/// Distinct orders among `(tag, row)` sorted by tag: equal hashed tags are
/// compared by their keys, so a collision never merges two orders.
fn distinct_orders<'k>(orders: &[(u128, u32)], order: &impl Fn(usize) -> Order<'k>) -> u32 {
    let mut count = 0;
    let mut group = 0;
    for i in 0..orders.len() {
        if i == 0 || orders[i].0 != orders[i - 1].0 {
            group = i;
            count += 1;
        } else if orders[i].0 & HASHED == HASHED {
            let key = order(orders[i].1 as usize);
            if (group..i).all(|j| order(orders[j].1 as usize) != key) {
                count += 1;
            }
        }
    }
    count
}

/// The Fx hash (rustc's): fast on short keys; the keys come from the shop's
/// own table, so flooding resistance buys nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_i64(&mut self, v: i64) {
        self.add(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn as_of() -> Timestamp {
        Timestamp::parse("2024-07-01T00:00:00Z").unwrap()
    }

    #[test]
    fn columns_and_rows_agree() {
        let rows: Vec<Purchase> = parse::list_from_json(
            r#"[{"contact_id": "b", "order_id": "o1", "at": "2024-06-01T10:00:00Z", "amount": 5},
                {"contact_id": "a", "order_id": "o1", "at": "2024-06-02T10:00:00Z", "amount": 7},
                {"contact_id": "b", "order_id": "o2", "at": "2024-06-03T10:00:00Z", "amount": 1},
                {"contact_id": "b", "order_id": "o1", "at": "2024-06-01T10:00:00Z", "amount": 2}]"#,
        )
        .unwrap();
        let text = "babb";
        let offsets = [0, 1, 2, 3, 4];
        let orders = "o1o1o2o1";
        let order_offsets = [0, 2, 4, 6, 8];
        let at: Vec<i64> = rows.iter().map(|p| p.at.get().timestamp_micros()).collect();
        let amounts: Vec<f64> = rows.iter().map(|p| p.amount.get()).collect();
        let columns = PurchaseColumns {
            contact_ids: Keys::Text {
                offsets: &offsets,
                bytes: text.as_bytes(),
            },
            order_ids: Some(Keys::Text {
                offsets: &order_offsets,
                bytes: orders.as_bytes(),
            }),
            at_micros: &at,
            amounts: &amounts,
        };
        let a = summarize(&rows, as_of()).unwrap();
        let b = summarize_columns(&columns, as_of()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].contact_id.as_str(), "b");
        assert_eq!(
            (a[0].orders, a[0].purchase_days, a[0].revenue.get()),
            (2, Some(2), 8.0)
        );
    }

    #[test]
    fn a_hash_collision_never_merges_two_orders() {
        let keys = [Key::Int(1), Key::Int(2), Key::Int(1)];
        let order = |row: usize| Order::Key(keys[row]);
        // All three claim one hash: the keys still tell 1 and 2 apart.
        let h = HASHED | 7;
        assert_eq!(distinct_orders(&[(h, 0), (h, 1), (h, 2)], &order), 2);
        assert_eq!(
            distinct_orders(&[(1, 0), (2, 1), (1, 2)], &order),
            3,
            "sorted input expected"
        );
        assert_eq!(distinct_orders(&[], &order), 0);
    }

    #[test]
    fn lines_merge_only_within_one_customer_and_order() {
        // Two customers whose rows land in one shard, with the same order id
        // and time (ids numbered per customer): never one customer's line.
        let shard = |id: &str| {
            let key = Key::Text(id.as_bytes());
            let (prefix, len) = prefix_of(key);
            key_hash(key, prefix, len) >> 56
        };
        let ids: Vec<String> = (0..10_000).map(|i| format!("c{i:05}")).collect();
        let first = &ids[0];
        let other = ids[1..]
            .iter()
            .find(|id| shard(id) == shard(first))
            .unwrap();
        // Adjacent rows, so they are in one part of the table whatever the
        // number of threads.
        let text = format!("{first}{other}{other}{first}");
        let n = first.len() as i32;
        let offsets = [0, n, 2 * n, 3 * n, 4 * n];
        let day = 86_400_000_000;
        let columns = PurchaseColumns {
            contact_ids: Keys::Text {
                offsets: &offsets,
                bytes: text.as_bytes(),
            },
            order_ids: Some(Keys::Int(&[1, 1, 2, 1])),
            at_micros: &[day, day, 2 * day, day],
            amounts: &[1.0, 2.0, 4.0, 8.0],
        };
        let out = summarize_columns(&columns, as_of()).unwrap();
        let got: Vec<(&str, u64, f64)> = out
            .iter()
            .map(|s| (s.contact_id.as_str(), s.orders, s.revenue.get()))
            .collect();
        assert_eq!(got, [(first.as_str(), 1, 9.0), (other.as_str(), 2, 6.0)]);
    }

    #[test]
    fn ids_are_told_valid_as_ids_are() {
        let long = "x".repeat(257);
        for text in [
            "c1",
            " c1 ",
            "   ",
            "",
            "a\u{0}b",
            "é",
            "a\tb",
            "\u{85}",
            long.as_str(),
        ] {
            let key = Key::Text(text.as_bytes());
            assert_eq!(key.is_valid_id(), key.to_id().is_ok(), "{text:?}");
        }
    }

    #[test]
    fn heads_are_the_first_16_bytes() {
        let text: Vec<u8> = (1..=20).collect();
        for n in 0..=20 {
            let mut want = [0u8; 16];
            for (to, from) in want.iter_mut().zip(&text[..n]) {
                *to = *from;
            }
            assert_eq!(head(&text[..n]), u128::from_le_bytes(want), "{n} bytes");
        }
    }

    #[test]
    fn order_tags_are_exact_up_to_15_bytes() {
        let tag = |text: &'static str| order_tag(Order::Key(Key::Text(text.as_bytes())));
        assert_ne!(tag("a"), tag("a\0"), "the length is part of the tag");
        assert_ne!(tag("ORD-2024-000001"), tag("ORD-2024-000002"));
        assert!(
            tag("ORD-2024-000009") < tag("ORD-2024-000010"),
            "tags sort as ids"
        );
        assert_ne!(tag("ORD-2024-000001") & HASHED, HASHED);
        assert_eq!(tag("ORD-2024-0000001") & HASHED, HASHED);
        assert_ne!(
            order_tag(Order::Key(Key::Int(-1))),
            order_tag(Order::Key(Key::Int(1)))
        );
    }

    #[test]
    fn bad_rows_are_named() {
        let at = [0, i64::MAX];
        let columns = PurchaseColumns {
            contact_ids: Keys::Int(&[1, 2]),
            order_ids: None,
            at_micros: &at,
            amounts: &[1.0, 2.0],
        };
        let err = summarize_columns(&columns, as_of()).unwrap_err();
        assert_eq!(err.path(), Some("[1].at"));
        let columns = PurchaseColumns {
            at_micros: &[0, 0],
            amounts: &[1.0, f64::NAN],
            ..columns
        };
        assert_eq!(
            summarize_columns(&columns, as_of()).unwrap_err().path(),
            Some("[1].amount")
        );
        let columns = PurchaseColumns {
            amounts: &[1.0],
            ..columns
        };
        assert_eq!(
            summarize_columns(&columns, as_of()).unwrap_err().path(),
            Some("amount")
        );
        let bad_offsets = PurchaseColumns {
            contact_ids: Keys::Text {
                offsets: &[0, 5, 9],
                bytes: b"abc",
            },
            amounts: &[1.0, 1.0],
            ..columns
        };
        assert_eq!(
            summarize_columns(&bad_offsets, as_of()).unwrap_err().path(),
            Some("contact_id")
        );
    }
}
