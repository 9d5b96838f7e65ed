//! RFM: recency, frequency and monetary scores, named RFM segments, and the
//! simple four-group scheme.
//!
//! Every definition is explicit ([`RfmConfig`]) and the defaults are the usual
//! ones: recency is whole days from the last order to `as_of`; frequency is
//! the number of orders; monetary is the total spent; each is scored 1 to 5 by
//! quantile, with recency reversed so that 5 is the most recent.
//!
//! ```
//! use patron::rfm::{self, CustomerSummary, RfmConfig};
//! use patron::{model::Timestamp, parse};
//!
//! let customers: Vec<CustomerSummary> = parse::list_from_json(r#"[
//!   {"contact_id": "a", "last_order_at": "2024-06-25T10:00:00Z", "orders": 9, "revenue": 900},
//!   {"contact_id": "b", "last_order_at": "2024-05-02T10:00:00Z", "orders": 5, "revenue": 410},
//!   {"contact_id": "c", "last_order_at": "2024-01-20T10:00:00Z", "orders": 3, "revenue": 260},
//!   {"contact_id": "d", "last_order_at": "2023-08-14T10:00:00Z", "orders": 2, "revenue": 95},
//!   {"contact_id": "e", "last_order_at": "2022-11-30T10:00:00Z", "orders": 1, "revenue": 40},
//!   {"contact_id": "f", "orders": 0, "revenue": 0}
//! ]"#)?;
//! let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let scores = rfm::score(&customers, as_of, &RfmConfig::default())?;
//! assert_eq!(scores.len(), 5, "only buyers get RFM scores");
//! assert_eq!((scores[0].cell.as_str(), scores[0].segment.as_deref()), ("555", Some("champions")));
//! assert_eq!((scores[4].cell.as_str(), scores[4].segment.as_deref()), ("111", Some("lost")));
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! # Ties
//!
//! Quantile scores need a rule for equal values. [`TiePolicy::SameBin`] (the
//! default, as IBM SPSS does) gives equal values the same score: each value
//! gets the mean rank of its ties, and its score is
//! `floor(rank * bins / (n + 1)) + 1`. When most customers bought once,
//! frequency collapses into few scores instead of failing (pandas `qcut`
//! raises "Bin edges must be unique"); when all bought once, all score the
//! middle (3 of 5), which says "no information". A shop that wants one-time
//! buyers at F = 1 sets frequency thresholds such as `[2, 3, 5, 10]`.
//! [`TiePolicy::ById`] ranks like SQL `NTILE(bins) OVER (ORDER BY value,
//! contact_id)`: every score gets the same number of customers, and ties are
//! split by contact id, deterministically.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Currency, Id, Money, Timestamp};

/// What RFM needs to know about one contact, from the profile or the shop's
/// own order table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSummary {
    /// The contact.
    pub contact_id: Id,
    /// The last order that counts (not cancelled or returned); none for a contact who never bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_order_at: Option<Timestamp>,
    /// Orders that count.
    pub orders: u64,
    /// Distinct days with an order; defaults to `orders`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_days: Option<u64>,
    /// Total spent on the orders that count.
    pub revenue: Money,
    /// Currency of `revenue`; all customers scored together must share one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

impl CustomerSummary {
    pub(crate) fn normalize(&mut self) -> Result<()> {
        if self.orders > 0 && self.last_order_at.is_none() {
            return Err(Error::invalid(
                "last_order_at",
                "a customer with orders needs the last order's time",
            ));
        }
        if self.orders == 0 && self.last_order_at.is_some() {
            return Err(Error::invalid(
                "orders",
                "a last order time needs at least one order",
            ));
        }
        if let Some(days) = self.purchase_days
            && days > self.orders
        {
            return Err(Error::invalid(
                "purchase_days",
                format!(
                    "expected at most `orders` ({}) purchase days, got {days}",
                    self.orders
                ),
            ));
        }
        Ok(())
    }
}

/// How equal values are scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TiePolicy {
    /// Equal values get the same score (mean rank), as IBM SPSS does by default.
    #[default]
    SameBin,
    /// Equal-sized scores; ties split by contact id, as SQL `NTILE` ordered by value, then id.
    ById,
}

/// What frequency counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyMeasure {
    /// Orders.
    #[default]
    Orders,
    /// Distinct days with an order.
    PurchaseDays,
}

/// What monetary measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonetaryMeasure {
    /// Total spent.
    #[default]
    Total,
    /// Mean order value.
    Mean,
}

/// Cut points set by the shop instead of quantiles: `bins - 1` strictly
/// ascending values per dimension.
///
/// Recency: `[30, 90, 180, 365]` scores up to 30 days as 5, up to 90 as 4, up
/// to 180 as 3, up to 365 as 2, older as 1. Frequency and monetary: `[2, 3, 5,
/// 10]` scores below 2 as 1, from 2 as 2, from 3 as 3, from 5 as 4, from 10 as 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Days since the last order.
    pub recency_days: Vec<f64>,
    /// Frequency cut points.
    pub frequency: Vec<f64>,
    /// Monetary cut points.
    pub monetary: Vec<f64>,
}

/// All RFM definitions; [`Default`] gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RfmConfig {
    /// Scores per dimension, 2 to 10 (default 5).
    pub bins: u8,
    /// How quantile scores treat ties.
    pub ties: TiePolicy,
    /// What frequency counts.
    pub frequency: FrequencyMeasure,
    /// What monetary measures.
    pub monetary: MonetaryMeasure,
    /// Fixed cut points instead of quantiles.
    pub thresholds: Option<Thresholds>,
    /// The named segments; the default table is for 5 bins. `None` names no segments.
    pub segments: Option<SegmentTable>,
}

impl Default for RfmConfig {
    fn default() -> Self {
        RfmConfig {
            bins: 5,
            ties: TiePolicy::SameBin,
            frequency: FrequencyMeasure::Orders,
            monetary: MonetaryMeasure::Total,
            thresholds: None,
            segments: Some(SegmentTable::default()),
        }
    }
}

/// One contact's RFM result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RfmScore {
    /// The contact.
    pub contact_id: Id,
    /// Whole days from the last order to `as_of`.
    pub recency_days: u64,
    /// The frequency measure's value.
    pub frequency: f64,
    /// The monetary measure's value.
    pub monetary: f64,
    /// Recency score, 1 to `bins`, higher is more recent.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
    /// The three scores as text, e.g. `"545"` (`"10-9-3"` with more than 9 bins).
    pub cell: String,
    /// The named segment, when a table is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

/// Scores every contact who has bought (`orders > 0`); others are left out.
/// Results keep the input order.
pub fn score(
    customers: &[CustomerSummary],
    as_of: Timestamp,
    config: &RfmConfig,
) -> Result<Vec<RfmScore>> {
    check_config(config)?;
    check_currencies(customers)?;
    let mut buyers = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        if c.orders == 0 {
            continue;
        }
        let Some(last) = c.last_order_at else {
            return Err(Error::invalid(
                format!("[{i}].last_order_at"),
                "a customer with orders needs the last order's time",
            ));
        };
        if last > as_of {
            return Err(Error::invalid(
                format!("[{i}].last_order_at"),
                format!("the last order ({last}) is after as_of ({as_of})"),
            ));
        }
        let days = last.whole_days_until(as_of);
        let frequency = match config.frequency {
            FrequencyMeasure::Orders => c.orders,
            FrequencyMeasure::PurchaseDays => c.purchase_days.unwrap_or(c.orders),
        } as f64;
        let monetary = match config.monetary {
            MonetaryMeasure::Total => c.revenue.get(),
            MonetaryMeasure::Mean => c.revenue.get() / c.orders as f64,
        };
        buyers.push((c, days, frequency, monetary));
    }
    let ids: Vec<&[u8]> = buyers
        .iter()
        .map(|b| b.0.contact_id.as_str().as_bytes())
        .collect();
    let days: Vec<u64> = buyers.iter().map(|b| b.1).collect();
    let frequency: Vec<f64> = buyers.iter().map(|b| b.2).collect();
    let monetary: Vec<f64> = buyers.iter().map(|b| b.3).collect();
    let scores = Scores::of(&days, &frequency, &monetary, || id_ranks(&ids), config);
    let labels = CellLabels::new(config);
    Ok(buyers
        .par_iter()
        .enumerate()
        .map(|(i, (c, days, frequency, monetary))| {
            let (r, f, m) = (scores.r[i], scores.f[i], scores.m[i]);
            RfmScore {
                contact_id: c.contact_id.clone(),
                recency_days: *days,
                frequency: *frequency,
                monetary: *monetary,
                r,
                f,
                m,
                cell: labels.cell(r, f, m).to_string(),
                segment: labels.segment(r, f, m).map(str::to_string),
            }
        })
        .collect())
}

/// The three scores of each buyer, as columns.
pub(crate) struct Scores {
    pub(crate) r: Vec<u8>,
    pub(crate) f: Vec<u8>,
    pub(crate) m: Vec<u8>,
}

impl Scores {
    /// Scores buyers from their measures. `id_ranks` (each buyer's place in
    /// contact id order) is called only when ties are split by id.
    pub(crate) fn of(
        days: &[u64],
        frequency: &[f64],
        monetary: &[f64],
        id_ranks: impl FnOnce() -> Vec<u32>,
        config: &RfmConfig,
    ) -> Scores {
        let bins = config.bins;
        match &config.thresholds {
            None => {
                let ranks = match config.ties {
                    TiePolicy::ById => id_ranks(),
                    TiePolicy::SameBin => Vec::new(),
                };
                // Recency scores rank fewer days higher: score the negated days.
                let recency: Vec<f64> = days.par_iter().map(|d| -(*d as f64)).collect();
                Scores {
                    r: quantile_scores(&recency, &ranks, bins, config.ties),
                    f: quantile_scores(frequency, &ranks, bins, config.ties),
                    m: quantile_scores(monetary, &ranks, bins, config.ties),
                }
            }
            Some(t) => Scores {
                r: days
                    .iter()
                    .map(|d| recency_by_threshold(*d as f64, &t.recency_days, bins))
                    .collect(),
                f: frequency
                    .iter()
                    .map(|v| by_threshold(*v, &t.frequency))
                    .collect(),
                m: monetary
                    .iter()
                    .map(|v| by_threshold(*v, &t.monetary))
                    .collect(),
            },
        }
    }
}

/// Each cell's text (`"545"`) and segment name, made once per cell rather
/// than once per contact.
#[derive(Clone, Debug)]
pub struct CellLabels {
    size: usize,
    cells: Vec<String>,
    segments: Option<Vec<String>>,
}

impl CellLabels {
    /// The labels of every cell of `config` (its bins and segment table).
    pub fn new(config: &RfmConfig) -> Self {
        let bins = config.bins;
        let size = usize::from(bins) + 1;
        let index = |i: usize| {
            (
                (i / (size * size)) as u8,
                (i / size % size) as u8,
                (i % size) as u8,
            )
        };
        CellLabels {
            size,
            cells: (0..size * size * size)
                .map(|i| {
                    let (r, f, m) = index(i);
                    cell_name(r, f, m, bins)
                })
                .collect(),
            segments: config.segments.as_ref().map(|t| {
                (0..size * size * size)
                    .map(|i| {
                        let (r, f, m) = index(i);
                        t.name_of(r, f, m).to_string()
                    })
                    .collect()
            }),
        }
    }

    fn at(&self, r: u8, f: u8, m: u8) -> usize {
        (usize::from(r) * self.size + usize::from(f)) * self.size + usize::from(m)
    }

    /// The cell's text: `"545"`, or `"10-9-3"` with more than 9 bins.
    pub fn cell(&self, r: u8, f: u8, m: u8) -> &str {
        &self.cells[self.at(r, f, m)]
    }

    /// The cell's segment name, when a segment table is configured.
    pub fn segment(&self, r: u8, f: u8, m: u8) -> Option<&str> {
        self.segments
            .as_ref()
            .map(|names| names[self.at(r, f, m)].as_str())
    }

    /// Whether segments are named.
    pub fn has_segments(&self) -> bool {
        self.segments.is_some()
    }
}

/// The three scores as text: `"545"`, or `"10-9-3"` with more than 9 bins.
fn cell_name(r: u8, f: u8, m: u8, bins: u8) -> String {
    if bins <= 9 {
        [r, f, m].iter().map(|s| char::from(b'0' + s)).collect()
    } else {
        format!("{r}-{f}-{m}")
    }
}

impl RfmConfig {
    /// Checks the configuration on its own (bins, cut points, the segment table).
    pub fn check(&self) -> Result<()> {
        check_config(self)
    }
}

fn check_config(config: &RfmConfig) -> Result<()> {
    if !(2..=10).contains(&config.bins) {
        return Err(Error::invalid(
            "bins",
            format!("expected 2 to 10 bins, got {}", config.bins),
        ));
    }
    if let Some(t) = &config.thresholds {
        for (name, cuts) in [
            ("recency_days", &t.recency_days),
            ("frequency", &t.frequency),
            ("monetary", &t.monetary),
        ] {
            let path = format!("thresholds.{name}");
            if cuts.len() != usize::from(config.bins) - 1 {
                return Err(Error::invalid(
                    path,
                    format!(
                        "expected {} cut points for {} bins, got {}",
                        config.bins - 1,
                        config.bins,
                        cuts.len()
                    ),
                ));
            }
            if cuts.iter().any(|c| !c.is_finite()) || cuts.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Error::invalid(
                    path,
                    "expected finite cut points in strictly ascending order",
                ));
            }
        }
    }
    if let Some(table) = &config.segments {
        if config.bins != 5 && *table == SegmentTable::default() {
            return Err(Error::invalid(
                "segments",
                format!(
                    "the default segment table is for 5 bins; give a table for {} bins, or null for no names",
                    config.bins
                ),
            ));
        }
        table.check(config.bins).map_err(|e| e.within("segments"))?;
    }
    Ok(())
}

fn check_currencies(customers: &[CustomerSummary]) -> Result<()> {
    let mut first: Option<Currency> = None;
    for (i, c) in customers.iter().enumerate() {
        if let Some(cur) = c.currency {
            match first {
                None => first = Some(cur),
                Some(f) if f != cur => {
                    return Err(Error::invalid(
                        format!("[{i}].currency"),
                        format!(
                            "revenue in {cur} cannot be scored together with revenue in {f}; convert first"
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Scores `values` 1..=bins by quantile, higher values scoring higher.
/// `id_ranks` (each customer's place in contact id order) break ties for
/// [`TiePolicy::ById`]; [`TiePolicy::SameBin`] needs no tie order.
fn quantile_scores(values: &[f64], id_ranks: &[u32], bins: u8, ties: TiePolicy) -> Vec<u8> {
    let n = values.len();
    let k = usize::from(bins);
    // Scores grow with the value (and the id rank), so each score above 1 is
    // found as the smallest key that reaches it; a contact's score is then 1
    // plus the number of those keys at or below its own. Only the keys are
    // sorted (or selected), never the contacts.
    let mut firsts: Vec<u128> = Vec::with_capacity(k);
    match ties {
        TiePolicy::SameBin => {
            // Each run of equal values (first at 0-based `start`, `count`
            // long) in ascending order, from a count of each value when
            // they are whole numbers in a short range (days, orders), from
            // a sort otherwise.
            let mut reached = 1;
            let mut run = |start: usize, count: usize, key: u64| {
                // 1-based ranks start+1 ..= start+count share their mean
                // rank; the score is floor(rank * bins / (n + 1)) + 1, as SAS
                // PROC RANK groups and SPSS percentile ranks do.
                let twice_mean_rank = 2 * start + 1 + count;
                let score = (twice_mean_rank * k / (2 * (n + 1)) + 1).clamp(1, k);
                while reached < score {
                    firsts.push(u128::from(key) << 32);
                    reached += 1;
                }
            };
            match small_whole_range(values) {
                Some(low) => {
                    let mut counts = vec![0u32; SMALL_RANGE];
                    for v in values {
                        counts[(*v - low) as usize] += 1;
                    }
                    let mut start = 0;
                    for (offset, count) in counts.iter().enumerate() {
                        if *count > 0 {
                            run(start, *count as usize, value_key(low + offset as f64));
                            start += *count as usize;
                        }
                    }
                }
                None => {
                    let mut sorted: Vec<u64> = values.par_iter().map(|v| value_key(*v)).collect();
                    sorted.par_sort_unstable();
                    let mut start = 0;
                    while start < n {
                        let count = sorted[start..].partition_point(|x| *x == sorted[start]);
                        run(start, count, sorted[start]);
                        start += count;
                    }
                }
            }
        }
        TiePolicy::ById => {
            // NTILE: the first n % k scores hold one customer more. The key
            // at the start of each score is found by selection, in order.
            let mut keys: Vec<u128> = (0..n)
                .into_par_iter()
                .map(|i| u128::from(value_key(values[i])) << 32 | u128::from(id_ranks[i]))
                .collect();
            let (q, extra) = (n / k, n % k);
            let mut rest: &mut [u128] = &mut keys;
            let mut offset = 0;
            for bin in 1..k {
                let start = extra.min(bin) * (q + 1) + bin.saturating_sub(extra) * q;
                if start >= n {
                    break;
                }
                let (_, nth, right) = rest.select_nth_unstable(start - offset);
                firsts.push(*nth);
                rest = right;
                offset = start + 1;
            }
        }
    }
    let tie = |i: usize| match ties {
        TiePolicy::ById => id_ranks[i],
        TiePolicy::SameBin => u32::MAX,
    };
    (0..n)
        .into_par_iter()
        .map(|i| {
            let key = u128::from(value_key(values[i])) << 32 | u128::from(tie(i));
            1 + firsts.iter().filter(|f| **f <= key).count() as u8
        })
        .collect()
}

/// How many whole values a count of each may span.
const SMALL_RANGE: usize = 1 << 16;

/// The lowest value, when every value is a whole number and all lie within
/// [`SMALL_RANGE`] of it (days since an order, numbers of orders).
fn small_whole_range(values: &[f64]) -> Option<f64> {
    let (low, high, whole) = values
        .par_iter()
        .fold(
            || (f64::INFINITY, f64::NEG_INFINITY, true),
            |(low, high, whole), v| (low.min(*v), high.max(*v), whole && v.fract() == 0.0),
        )
        .reduce(
            || (f64::INFINITY, f64::NEG_INFINITY, true),
            |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 && b.2),
        );
    (whole && !values.is_empty() && high - low < SMALL_RANGE as f64).then_some(low)
}

/// A value as an integer that sorts as the number does (`f64::total_cmp`
/// order, with -0 as 0, so both are one tie).
fn value_key(v: f64) -> u64 {
    let bits = (v + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Each customer's place in contact id order (ids as bytes: UTF-8 text
/// sorts by its bytes as by its characters).
pub(crate) fn id_ranks(ids: &[&[u8]]) -> Vec<u32> {
    // Sort each id's first 16 bytes as one big-endian integer, and compare
    // in full only when those are equal.
    let mut order: Vec<(u128, u32)> = ids
        .par_iter()
        .enumerate()
        .map(|(i, id)| {
            let mut head = [0u8; 16];
            for (to, from) in head.iter_mut().zip(id.iter()) {
                *to = *from;
            }
            (u128::from_be_bytes(head), i as u32)
        })
        .collect();
    order.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| ids[a.1 as usize].cmp(ids[b.1 as usize]))
    });
    let mut ranks = vec![0u32; ids.len()];
    for (rank, &(_, i)) in order.iter().enumerate() {
        ranks[i as usize] = rank as u32;
    }
    ranks
}

fn by_threshold(value: f64, cuts: &[f64]) -> u8 {
    1 + cuts.iter().filter(|c| **c <= value).count() as u8
}

fn recency_by_threshold(days: f64, cuts: &[f64], bins: u8) -> u8 {
    bins - cuts.iter().filter(|c| **c < days).count() as u8
}

/// An inclusive score range; the default covers every score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRange(pub u8, pub u8);

impl Default for ScoreRange {
    fn default() -> Self {
        ScoreRange(1, u8::MAX)
    }
}

impl ScoreRange {
    fn contains(self, score: u8) -> bool {
        self.0 <= score && score <= self.1
    }
}

/// One named segment: the cells it covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// The segment's name.
    pub name: String,
    /// Recency scores covered, `[min, max]`; all when absent.
    #[serde(default)]
    pub r: ScoreRange,
    /// Frequency scores covered.
    #[serde(default)]
    pub f: ScoreRange,
    /// Monetary scores covered.
    #[serde(default)]
    pub m: ScoreRange,
}

/// Named segments as data: rules in order of precedence, the first that covers
/// a cell names it. A table is checked before use: every cell must be named,
/// and every rule must name at least one cell (else it is unreachable).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SegmentTable(pub Vec<SegmentRule>);

impl Default for SegmentTable {
    /// The widely used recency x frequency grid (monetary does not matter),
    /// the one public rule set that is a true partition, with "lost" split off
    /// its hibernating block (R1 and F1):
    ///
    /// | R \ F | 1 | 2 | 3 | 4 | 5 |
    /// |---|---|---|---|---|---|
    /// | 5 | new | potential loyalists | potential loyalists | champions | champions |
    /// | 4 | promising | potential loyalists | potential loyalists | loyal | loyal |
    /// | 3 | about to sleep | about to sleep | need attention | loyal | loyal |
    /// | 2 | hibernating | hibernating | at risk | at risk | can't lose |
    /// | 1 | lost | hibernating | at risk | at risk | can't lose |
    fn default() -> Self {
        let rule = |name: &str, r: (u8, u8), f: (u8, u8)| SegmentRule {
            name: name.to_string(),
            r: ScoreRange(r.0, r.1),
            f: ScoreRange(f.0, f.1),
            m: ScoreRange::default(),
        };
        SegmentTable(vec![
            rule("champions", (5, 5), (4, 5)),
            rule("loyal", (3, 4), (4, 5)),
            rule("potential loyalists", (4, 5), (2, 3)),
            rule("new", (5, 5), (1, 1)),
            rule("promising", (4, 4), (1, 1)),
            rule("need attention", (3, 3), (3, 3)),
            rule("about to sleep", (3, 3), (1, 2)),
            rule("can't lose", (1, 2), (5, 5)),
            rule("at risk", (1, 2), (3, 4)),
            rule("lost", (1, 1), (1, 1)),
            rule("hibernating", (1, 2), (1, 2)),
        ])
    }
}

impl SegmentTable {
    /// The name of the cell (r, f, m); the table must have passed [`SegmentTable::check`].
    pub fn name_of(&self, r: u8, f: u8, m: u8) -> &str {
        self.0
            .iter()
            .find(|rule| rule.r.contains(r) && rule.f.contains(f) && rule.m.contains(m))
            .map_or("", |rule| rule.name.as_str())
    }

    /// Checks the table for `bins` scores per dimension: every cell named,
    /// every rule reachable.
    pub fn check(&self, bins: u8) -> Result<()> {
        let mut reached = vec![false; self.0.len()];
        for r in 1..=bins {
            for f in 1..=bins {
                for m in 1..=bins {
                    let hit = self.0.iter().position(|rule| {
                        rule.r.contains(r) && rule.f.contains(f) && rule.m.contains(m)
                    });
                    match hit {
                        Some(i) => reached[i] = true,
                        None => {
                            return Err(Error::invalid(
                                "",
                                format!("the cell r={r} f={f} m={m} has no segment"),
                            ));
                        }
                    }
                }
            }
        }
        if let Some(i) = reached.iter().position(|r| !r) {
            return Err(Error::invalid(
                format!("[{i}]"),
                format!(
                    "segment `{}` is unreachable: earlier rules take every cell it covers",
                    self.0[i].name
                ),
            ));
        }
        Ok(())
    }
}

/// The simple four-group scheme: best, losing, subscribers, others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FourGroup {
    /// Enough orders and money, and an order within the window.
    Best,
    /// Enough orders and money, but no order within the window.
    Losing,
    /// No order yet.
    Subscribers,
    /// Everyone else (one or two orders, by default).
    Others,
}

/// The four-group thresholds; defaults: 3 orders, any amount, 365 days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FourGroupConfig {
    /// Orders needed for best or losing.
    pub min_orders: u64,
    /// Revenue needed for best or losing.
    pub min_revenue: f64,
    /// Best needs an order within this many days.
    pub window_days: u64,
}

impl Default for FourGroupConfig {
    fn default() -> Self {
        FourGroupConfig {
            min_orders: 3,
            min_revenue: 0.0,
            window_days: 365,
        }
    }
}

impl FourGroupConfig {
    /// Checks the thresholds.
    pub fn check(&self) -> Result<()> {
        if !self.min_revenue.is_finite() || self.min_revenue < 0.0 {
            return Err(Error::invalid(
                "min_revenue",
                "expected a finite non-negative amount",
            ));
        }
        Ok(())
    }
}

/// The group of each contact, in input order.
pub fn four_groups(
    customers: &[CustomerSummary],
    as_of: Timestamp,
    config: &FourGroupConfig,
) -> Result<Vec<FourGroup>> {
    config.check()?;
    customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if c.orders == 0 {
                return Ok(FourGroup::Subscribers);
            }
            let last = c.last_order_at.ok_or_else(|| {
                Error::invalid(
                    format!("[{i}].last_order_at"),
                    "a customer with orders needs the last order's time",
                )
            })?;
            if last > as_of {
                return Err(Error::invalid(
                    format!("[{i}].last_order_at"),
                    format!("the last order ({last}) is after as_of ({as_of})"),
                ));
            }
            let days = (as_of.get() - last.get()).num_days();
            let qualifies = c.orders >= config.min_orders && c.revenue.get() >= config.min_revenue;
            Ok(match (qualifies, days <= config.window_days as i64) {
                (true, true) => FourGroup::Best,
                (true, false) => FourGroup::Losing,
                (false, _) => FourGroup::Others,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Id> {
        (0..n)
            .map(|i| Id::new(format!("c{i:03}")).unwrap())
            .collect()
    }

    #[test]
    fn same_bin_keeps_ties_together() {
        let values = [1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let ids = ids(values.len());
        let refs: Vec<&[u8]> = ids.iter().map(|id| id.as_str().as_bytes()).collect();
        let s = quantile_scores(&values, &id_ranks(&refs), 5, TiePolicy::SameBin);
        assert!(s[..4].iter().all(|x| *x == s[0]), "{s:?}");
        assert_eq!(s[0], 2, "mean rank 2.5 of 10 -> floor(2.5 * 5 / 11) + 1");
        assert_eq!(s[9], 5);
    }

    #[test]
    fn all_equal_values_score_in_the_middle() {
        for n in 1..9 {
            let values = vec![1.0; n];
            let ids = ids(n);
            let refs: Vec<&[u8]> = ids.iter().map(|id| id.as_str().as_bytes()).collect();
            assert_eq!(
                quantile_scores(&values, &id_ranks(&refs), 5, TiePolicy::SameBin),
                vec![3; n]
            );
        }
    }

    #[test]
    fn distinct_values_fill_every_score() {
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let ids = ids(10);
        let refs: Vec<&[u8]> = ids.iter().map(|id| id.as_str().as_bytes()).collect();
        assert_eq!(
            quantile_scores(&values, &id_ranks(&refs), 5, TiePolicy::SameBin),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
    }

    #[test]
    fn counting_whole_values_scores_as_sorting_does() {
        let mut rng = crate::sample::Sequence::new(3);
        for n in [1, 2, 7, 100, 1000] {
            for span in [1, 3, 40, 5000] {
                let values: Vec<f64> = (0..n).map(|_| rng.below(span) as f64 - 20.0).collect();
                assert!(small_whole_range(&values).is_some());
                // Scaled past the counted range: the same order and ties, sorted.
                let scaled: Vec<f64> = values.iter().map(|v| v * 1e5 + 0.5).collect();
                assert!(small_whole_range(&scaled).is_none());
                for bins in [2, 5, 10] {
                    assert_eq!(
                        quantile_scores(&values, &[], bins, TiePolicy::SameBin),
                        quantile_scores(&scaled, &[], bins, TiePolicy::SameBin),
                        "{n} values over {span}, {bins} bins"
                    );
                }
            }
        }
    }

    #[test]
    fn ntile_fills_bins_evenly_and_breaks_ties_by_id() {
        let values = [1.0; 7];
        let ids = ids(7);
        let refs: Vec<&[u8]> = ids.iter().map(|id| id.as_str().as_bytes()).collect();
        // 7 into 5: two scores of 2, three of 1.
        assert_eq!(
            quantile_scores(&values, &id_ranks(&refs), 5, TiePolicy::ById),
            vec![1, 1, 2, 2, 3, 4, 5]
        );
    }

    #[test]
    fn default_table_is_a_true_partition() {
        SegmentTable::default().check(5).unwrap();
        assert_eq!(SegmentTable::default().name_of(1, 1, 3), "lost");
        assert_eq!(SegmentTable::default().name_of(2, 1, 3), "hibernating");
        assert!(
            SegmentTable::default().check(6).is_err(),
            "the grid is for five scores"
        );
    }

    #[test]
    fn unreachable_and_uncovered_are_errors() {
        let mut table = SegmentTable::default();
        table.0.push(SegmentRule {
            name: "ghost".into(),
            r: ScoreRange(1, 1),
            f: ScoreRange(1, 1),
            m: ScoreRange::default(),
        });
        let e = table.check(5).unwrap_err();
        assert_eq!(e.path(), Some("[11]"));
        assert!(e.to_string().contains("ghost"));
        let mut table = SegmentTable::default();
        table.0.remove(0);
        assert!(table.check(5).unwrap_err().to_string().contains("r=5 f=4"));
    }
}
