//! The lifecycle grid: number of purchases x days since the last purchase,
//! with named regions, and the moves between cells from one date to another
//! (which feed triggers later).
//!
//! Default buckets: purchases 1, 2, 3, 4, 5+; days 0-30, 31-60, 61-90,
//! 91-120, 121-180, 181-270, 271-360, 361-450, over 450.
//!
//! ```
//! use patron::lifecycle::{self, LifecycleConfig};
//! use patron::model::Timestamp;
//! use patron::{parse, rfm::CustomerSummary};
//!
//! let customers: Vec<CustomerSummary> = parse::list_from_json(r#"[
//!   {"contact_id": "a", "last_order_at": "2024-06-20T00:00:00Z", "orders": 1, "revenue": 30},
//!   {"contact_id": "b", "last_order_at": "2024-02-01T00:00:00Z", "orders": 6, "revenue": 900}
//! ]"#)?;
//! let config = LifecycleConfig::default();
//! let july = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let places = lifecycle::place(&customers, july, &config)?;
//! assert_eq!((places[0].purchases.as_str(), places[0].days.as_str(), places[0].region.as_str()), ("1", "0-30", "new"));
//! assert_eq!(places[1].region, "highest potential");
//!
//! // A month later, time alone moves `a` to the next recency cell.
//! let august = Timestamp::parse("2024-08-01T00:00:00Z")?;
//! let moves = lifecycle::moves(&customers, july, &customers, august, &config)?;
//! assert_eq!(moves.len(), 2);
//! assert_eq!(moves[0].to.as_ref().unwrap().days, "31-60");
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Id, Timestamp};
use crate::rfm::CustomerSummary;

/// An inclusive range, `[min, max]` in JSON; a `null` max is open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span(pub u64, pub Option<u64>);

impl Span {
    fn covers(self, low: u64, high: u64) -> bool {
        self.0 <= low && self.1.is_none_or(|max| high <= max)
    }
}

/// A named region of the grid: the purchases and days it covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionRule {
    /// The region's name.
    pub name: String,
    /// Purchases covered.
    pub purchases: Span,
    /// Days since the last purchase covered.
    pub days: Span,
}

/// Buckets and regions; [`Default`] gives the documented grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Lower bounds of the purchase buckets, ascending from 1; the last is open (`5+`).
    pub purchases: Vec<u64>,
    /// Upper bounds (inclusive) of the day buckets, ascending; past the last is `over N`.
    pub days: Vec<u64>,
    /// Regions in order of precedence; the first that covers a whole cell names it.
    pub regions: Vec<RegionRule>,
}

impl Default for LifecycleConfig {
    /// The regions:
    ///
    /// | region | purchases | days since the last |
    /// |---|---|---|
    /// | new | 1 | 0-60 |
    /// | former new | 1 | over 60 |
    /// | growing | 2-3 | 0-90 |
    /// | best | 4+ | 0-90 |
    /// | highest potential | 2+ | 91-180 (repeat buyers slipping away: win them back now) |
    /// | former best | 2+ | over 180 |
    fn default() -> Self {
        let rule =
            |name: &str, purchases: (u64, Option<u64>), days: (u64, Option<u64>)| RegionRule {
                name: name.to_string(),
                purchases: Span(purchases.0, purchases.1),
                days: Span(days.0, days.1),
            };
        LifecycleConfig {
            purchases: vec![1, 2, 3, 4, 5],
            days: vec![30, 60, 90, 120, 180, 270, 360, 450],
            regions: vec![
                rule("new", (1, Some(1)), (0, Some(60))),
                rule("former new", (1, Some(1)), (61, None)),
                rule("growing", (2, Some(3)), (0, Some(90))),
                rule("best", (4, None), (0, Some(90))),
                rule("highest potential", (2, None), (91, Some(180))),
                rule("former best", (2, None), (181, None)),
            ],
        }
    }
}

/// Where one contact sits on the grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The purchase bucket's label: `1`, `2`, ..., `5+`.
    pub purchases: String,
    /// The day bucket's label: `0-30`, ..., `over 450`.
    pub days: String,
    /// The region's name.
    pub region: String,
}

/// One contact's place on the grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The contact.
    pub contact_id: Id,
    /// The purchase bucket's label.
    pub purchases: String,
    /// The day bucket's label.
    pub days: String,
    /// The region's name.
    pub region: String,
}

/// A contact whose cell differs between two dates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// The contact.
    pub contact_id: Id,
    /// The cell before; none when the contact had not bought (or was unknown) then.
    pub from: Option<Cell>,
    /// The cell after; none when the contact is not in the later list.
    pub to: Option<Cell>,
}

/// The bounds of bucket `i` of a list of bounds.
struct Bucket {
    low: u64,
    high: u64,
    label: String,
}

impl LifecycleConfig {
    fn purchase_buckets(&self) -> Vec<Bucket> {
        self.purchases
            .iter()
            .enumerate()
            .map(|(i, &low)| match self.purchases.get(i + 1) {
                Some(&next) if next == low + 1 => Bucket {
                    low,
                    high: low,
                    label: low.to_string(),
                },
                Some(&next) => Bucket {
                    low,
                    high: next - 1,
                    label: format!("{low}-{}", next - 1),
                },
                None => Bucket {
                    low,
                    high: u64::MAX,
                    label: format!("{low}+"),
                },
            })
            .collect()
    }

    fn day_buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::with_capacity(self.days.len() + 1);
        let mut low = 0;
        for &high in &self.days {
            out.push(Bucket {
                low,
                high,
                label: format!("{low}-{high}"),
            });
            low = high + 1;
        }
        let last = self.days.last().copied().unwrap_or(0);
        out.push(Bucket {
            low,
            high: u64::MAX,
            label: format!("over {last}"),
        });
        out
    }

    /// Checks buckets and regions: ascending bounds, purchases from 1, every
    /// cell in a region, every region reachable.
    pub fn check(&self) -> Result<()> {
        if self.purchases.len() > 100 || self.days.len() > 100 || self.regions.len() > 1000 {
            return Err(Error::invalid(
                "",
                "expected at most 100 purchase buckets, 100 day buckets and 1000 regions",
            ));
        }
        if self.purchases.first() != Some(&1) || self.purchases.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "purchases",
                "expected ascending lower bounds starting at 1, such as [1, 2, 3, 4, 5]",
            ));
        }
        if self.days.is_empty() || self.days.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "days",
                "expected ascending upper bounds, such as [30, 60, 90]",
            ));
        }
        let mut reached = vec![false; self.regions.len()];
        for p in self.purchase_buckets() {
            for d in self.day_buckets() {
                match self.region_index(&p, &d) {
                    Some(i) => reached[i] = true,
                    None => {
                        return Err(Error::invalid(
                            "regions",
                            format!(
                                "the cell purchases {} x days {} is in no region",
                                p.label, d.label
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(i) = reached.iter().position(|r| !r) {
            return Err(Error::invalid(
                format!("regions[{i}]"),
                format!(
                    "region `{}` covers no whole cell that earlier regions leave free",
                    self.regions[i].name
                ),
            ));
        }
        Ok(())
    }

    fn region_index(&self, p: &Bucket, d: &Bucket) -> Option<usize> {
        self.regions
            .iter()
            .position(|r| r.purchases.covers(p.low, p.high) && r.days.covers(d.low, d.high))
    }

    /// The cell of one contact, or `None` for a contact who never bought.
    pub(crate) fn cell(&self, c: &CustomerSummary, as_of: Timestamp) -> Result<Option<Cell>> {
        if c.orders == 0 {
            return Ok(None);
        }
        let last = c.last_order_at.ok_or_else(|| {
            Error::invalid(
                "last_order_at",
                "a customer with orders needs the last order's time",
            )
        })?;
        if last > as_of {
            return Err(Error::invalid(
                "last_order_at",
                format!("the last order ({last}) is after as_of ({as_of})"),
            ));
        }
        let days = last.whole_days_until(as_of);
        let purchases = self.purchase_buckets();
        let day_buckets = self.day_buckets();
        let p = purchases
            .iter()
            .rev()
            .find(|b| b.low <= c.orders)
            .unwrap_or(&purchases[0]);
        let d = day_buckets
            .iter()
            .find(|b| days <= b.high)
            .unwrap_or(&day_buckets[day_buckets.len() - 1]);
        let region = self
            .region_index(p, d)
            .map(|i| self.regions[i].name.clone())
            .unwrap_or_default();
        Ok(Some(Cell {
            purchases: p.label.clone(),
            days: d.label.clone(),
            region,
        }))
    }
}

/// The cell of every buyer, in input order (contacts who never bought are left out).
pub fn place(
    customers: &[CustomerSummary],
    as_of: Timestamp,
    config: &LifecycleConfig,
) -> Result<Vec<Placement>> {
    config.check()?;
    let mut out = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        if let Some(cell) = config
            .cell(c, as_of)
            .map_err(|e| e.within(&format!("[{i}]")))?
        {
            out.push(Placement {
                contact_id: c.contact_id.clone(),
                purchases: cell.purchases,
                days: cell.days,
                region: cell.region,
            });
        }
    }
    Ok(out)
}

/// Contacts whose cell changed between `before` (at `before_at`) and `after`
/// (at `after_at`), in the order of `after`, then contacts only in `before`.
/// Pass the same list twice to see the moves that time alone makes.
pub fn moves(
    before: &[CustomerSummary],
    before_at: Timestamp,
    after: &[CustomerSummary],
    after_at: Timestamp,
    config: &LifecycleConfig,
) -> Result<Vec<Move>> {
    config.check()?;
    if after_at < before_at {
        return Err(Error::invalid(
            "after_at",
            format!("{after_at} is before {before_at}"),
        ));
    }
    let mut earlier: HashMap<&Id, Option<Cell>> = HashMap::with_capacity(before.len());
    for (i, c) in before.iter().enumerate() {
        let cell = config
            .cell(c, before_at)
            .map_err(|e| e.within(&format!("before[{i}]")))?;
        earlier.insert(&c.contact_id, cell);
    }
    let mut out = Vec::new();
    for (i, c) in after.iter().enumerate() {
        let to = config
            .cell(c, after_at)
            .map_err(|e| e.within(&format!("after[{i}]")))?;
        let from = earlier.remove(&c.contact_id).flatten();
        if from != to {
            out.push(Move {
                contact_id: c.contact_id.clone(),
                from,
                to,
            });
        }
    }
    for c in before {
        if let Some(Some(from)) = earlier.remove(&c.contact_id) {
            out.push(Move {
                contact_id: c.contact_id.clone(),
                from: Some(from),
                to: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grid_is_covered_and_labelled() {
        let config = LifecycleConfig::default();
        config.check().unwrap();
        let labels: Vec<String> = config
            .purchase_buckets()
            .into_iter()
            .map(|b| b.label)
            .collect();
        assert_eq!(labels, ["1", "2", "3", "4", "5+"]);
        let days: Vec<String> = config.day_buckets().into_iter().map(|b| b.label).collect();
        assert_eq!(days.first().unwrap(), "0-30");
        assert_eq!(days.last().unwrap(), "over 450");
    }

    #[test]
    fn uncovered_cells_and_unreachable_regions_are_named() {
        let mut config = LifecycleConfig::default();
        config.regions.remove(0);
        assert!(
            config
                .check()
                .unwrap_err()
                .to_string()
                .contains("purchases 1 x days 0-30")
        );
        let mut config = LifecycleConfig::default();
        config.regions.push(RegionRule {
            name: "ghost".into(),
            purchases: Span(1, Some(1)),
            days: Span(0, Some(10)),
        });
        assert_eq!(config.check().unwrap_err().path(), Some("regions[6]"));
    }
}
