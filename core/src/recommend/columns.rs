//! Baskets from an order-line table: the way in for data a shop keeps as
//! columns (an Arrow table, a DataFrame), one row per product line.
//!
//! Lines of one contact with the same order id form one basket; without an
//! order id column, lines of one contact at the same instant do. Lines of
//! different kinds (order, view) never share a basket.
//!
//! ```
//! use patron::model::Timestamp;
//! use patron::purchase::Keys;
//! use patron::recommend::{BasketColumns, baskets_from_columns};
//!
//! // Order 10 of contact 7 has two lines; order 11 of contact 8 has one.
//! let at = Timestamp::parse("2024-06-01T10:00:00Z")?.get().timestamp_micros();
//! let columns = BasketColumns {
//!     contact_ids: Keys::Int(&[7, 8, 7]),
//!     order_ids: Some(Keys::Int(&[10, 11, 10])),
//!     at_micros: &[at, at, at],
//!     product_ids: Keys::Int(&[501, 502, 503]),
//!     kinds: None,
//! };
//! let baskets = baskets_from_columns(&columns)?;
//! assert_eq!(baskets.len(), 2);
//! assert_eq!(baskets[0].contact_id.as_str(), "7");
//! let products: Vec<&str> = baskets[0].product_ids.iter().map(|p| p.as_str()).collect();
//! assert_eq!(products, ["501", "503"]);
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::{Id, Timestamp};
use crate::purchase::{Key, Keys};

use super::model::{Basket, BasketKind, FxMap};

/// The columns of an order-line table, in the Arrow layout.
#[derive(Clone, Copy, Debug)]
pub struct BasketColumns<'a> {
    /// The contact of each line.
    pub contact_ids: Keys<'a>,
    /// The order of each line; without it, lines of one contact at one
    /// instant are one basket.
    pub order_ids: Option<Keys<'a>>,
    /// When, in microseconds since 1970-01-01 UTC.
    pub at_micros: &'a [i64],
    /// The product of each line.
    pub product_ids: Keys<'a>,
    /// Order or view per line; without it, every line is an order line.
    pub kinds: Option<&'a [BasketKind]>,
}

/// What groups lines into one basket besides the contact and the kind.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Group<'a> {
    Order(Key<'a>),
    At(i64),
}

/// The baskets of an order-line table, in the order of their first line;
/// each basket's products in line order and its time the earliest of its
/// lines. The same baskets [`super::ItemModel::build`] reads as rows.
/// Errors name the row and column: `[3].product_id`.
pub fn baskets_from_columns(columns: &BasketColumns<'_>) -> Result<Vec<Basket>> {
    let rows = columns.at_micros.len();
    for (name, len) in [
        ("contact_id", columns.contact_ids.len()),
        ("product_id", columns.product_ids.len()),
        ("order_id", columns.order_ids.map_or(rows, |k| k.len())),
        ("kind", columns.kinds.map_or(rows, <[_]>::len)),
    ] {
        if len != rows {
            return Err(Error::invalid(
                name,
                format!("columns differ in length: `at` has {rows} rows, `{name}` has {len}"),
            ));
        }
    }
    columns.contact_ids.check("contact_id")?;
    columns.product_ids.check("product_id")?;
    if let Some(orders) = &columns.order_ids {
        orders.check("order_id")?;
    }
    let mut index: FxMap<(Key<'_>, Group<'_>, BasketKind), u32> = FxMap::default();
    // A shop has far fewer products than lines: each id is made once.
    let mut products: FxMap<Key<'_>, Id> = FxMap::default();
    let mut baskets: Vec<Basket> = Vec::new();
    for (row, &micros) in columns.at_micros.iter().enumerate() {
        let named = |column: &'static str| move |e: Error| e.within(&format!("[{row}].{column}"));
        let at = DateTime::<Utc>::from_timestamp_micros(micros)
            .map(Timestamp::from)
            .ok_or_else(|| {
                Error::invalid(
                    format!("[{row}].at"),
                    format!("timestamp out of range: {micros} us from 1970"),
                )
            })?;
        let kind = columns.kinds.map_or(BasketKind::Order, |k| k[row]);
        let contact = columns.contact_ids.key(row);
        let group = match &columns.order_ids {
            Some(orders) => Group::Order(orders.key(row)),
            None => Group::At(micros),
        };
        let key = columns.product_ids.key(row);
        let product = match products.get(&key) {
            Some(id) => id.clone(),
            None => {
                let id = key.to_id().map_err(named("product_id"))?;
                products.insert(key, id.clone());
                id
            }
        };
        match index.entry((contact, group, kind)) {
            Entry::Occupied(slot) => {
                let basket = &mut baskets[*slot.get() as usize];
                basket.product_ids.push(product);
                if at < basket.at {
                    basket.at = at;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(baskets.len() as u32);
                baskets.push(Basket {
                    contact_id: contact.to_id().map_err(named("contact_id"))?,
                    at,
                    kind,
                    product_ids: vec![product],
                });
            }
        }
    }
    Ok(baskets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        Timestamp::parse(s).unwrap().get().timestamp_micros()
    }

    #[test]
    fn lines_group_by_contact_order_and_kind() {
        let t1 = micros("2024-06-01T10:00:00Z");
        let t0 = micros("2024-06-01T09:00:00Z");
        let offsets = [0, 1, 2, 3, 4, 5];
        let columns = BasketColumns {
            contact_ids: Keys::Text {
                offsets: &offsets,
                bytes: b"aabab",
            },
            order_ids: Some(Keys::Int(&[1, 1, 1, 1, 2])),
            at_micros: &[t1, t0, t1, t1, t1],
            product_ids: Keys::Int(&[10, 11, 12, 13, 14]),
            kinds: Some(&[
                BasketKind::Order,
                BasketKind::Order,
                BasketKind::Order,
                BasketKind::View,
                BasketKind::Order,
            ]),
        };
        let baskets = baskets_from_columns(&columns).unwrap();
        let got: Vec<(&str, Vec<&str>, BasketKind)> = baskets
            .iter()
            .map(|b| {
                let products = b.product_ids.iter().map(|p| p.as_str()).collect();
                (b.contact_id.as_str(), products, b.kind)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a", vec!["10", "11"], BasketKind::Order),
                ("b", vec!["12"], BasketKind::Order),
                ("a", vec!["13"], BasketKind::View),
                ("b", vec!["14"], BasketKind::Order),
            ]
        );
        // A basket's time is its earliest line's.
        assert_eq!(baskets[0].at.get().timestamp_micros(), t0);
    }

    #[test]
    fn without_order_ids_one_instant_is_one_basket() {
        let (t0, t1) = (
            micros("2024-06-01T10:00:00Z"),
            micros("2024-06-02T10:00:00Z"),
        );
        let columns = BasketColumns {
            contact_ids: Keys::Int(&[1, 1, 1]),
            order_ids: None,
            at_micros: &[t0, t1, t0],
            product_ids: Keys::Int(&[5, 6, 7]),
            kinds: None,
        };
        let baskets = baskets_from_columns(&columns).unwrap();
        assert_eq!(baskets.len(), 2);
        assert_eq!(baskets[0].product_ids.len(), 2);
    }

    #[test]
    fn bad_lines_are_named() {
        let t = micros("2024-06-01T10:00:00Z");
        let offsets = [0, 1, 1];
        let empty_product = BasketColumns {
            contact_ids: Keys::Int(&[1, 2]),
            order_ids: None,
            at_micros: &[t, t],
            product_ids: Keys::Text {
                offsets: &offsets,
                bytes: b"x",
            },
            kinds: None,
        };
        let e = baskets_from_columns(&empty_product).unwrap_err();
        assert_eq!(e.path(), Some("[1].product_id"));
        let short = BasketColumns {
            product_ids: Keys::Int(&[1]),
            ..empty_product
        };
        let e = baskets_from_columns(&short).unwrap_err();
        assert_eq!(e.path(), Some("product_id"));
        assert!(e.to_string().contains("`at` has 2 rows"), "{e}");
        let far = BasketColumns {
            at_micros: &[t, i64::MAX],
            product_ids: Keys::Int(&[1, 2]),
            ..empty_product
        };
        assert_eq!(
            baskets_from_columns(&far).unwrap_err().path(),
            Some("[1].at")
        );
    }
}
