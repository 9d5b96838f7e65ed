//! What personal blocks read about one contact: products bought and viewed,
//! the cart, the wishlist and searches. Built from [`Facts`] (a profile) or
//! straight from the contact's [`Basket`]s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Basket, BasketKind};
use crate::model::{Id, Text, Timestamp};
use crate::profile::Facts;

/// A product the contact bought.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoughtItem {
    /// The product.
    pub product_id: Id,
    /// Orders that held it; at least 1.
    #[serde(default = "one")]
    pub orders: u64,
    /// The first order with it (defaults to `last_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_at: Option<Timestamp>,
    /// The latest order with it.
    pub last_at: Timestamp,
}

/// A product the contact viewed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewedItem {
    /// The product.
    pub product_id: Id,
    /// Views; at least 1.
    #[serde(default = "one")]
    pub count: u64,
    /// The latest view.
    pub last_at: Timestamp,
}

fn one() -> u64 {
    1
}

/// One contact's products. Ids the catalog does not hold (removed products,
/// typos) are allowed: blocks never show them, and the item-to-item model
/// still uses their neighbours when it knows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactHistory {
    /// Products bought, in orders that count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bought: Vec<BoughtItem>,
    /// Products viewed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewed: Vec<ViewedItem>,
    /// The open cart, in cart order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cart: Vec<Id>,
    /// The wishlist, in the order added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wishlist: Vec<Id>,
    /// Search queries, latest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<Text>,
}

impl ContactHistory {
    /// The products of a contact's facts (from [`crate::profile::Profile::facts`]).
    pub fn from_facts(facts: &Facts) -> ContactHistory {
        let id = |s: &str| Id::new(s).ok();
        let mut wishlist: Vec<(&Timestamp, &String)> =
            facts.wishlist.iter().map(|(p, at)| (at, p)).collect();
        wishlist.sort();
        let mut searches: Vec<(&Timestamp, &String)> = facts
            .searches
            .iter()
            .map(|(q, t)| (&t.last_at, q))
            .collect();
        searches.sort_by(|a, b| b.cmp(a));
        ContactHistory {
            bought: facts
                .bought_products
                .iter()
                .filter_map(|(p, b)| {
                    Some(BoughtItem {
                        product_id: id(p)?,
                        orders: b.orders.max(1),
                        first_at: Some(b.first_at),
                        last_at: b.last_at,
                    })
                })
                .collect(),
            viewed: facts
                .viewed_products
                .iter()
                .filter_map(|(p, t)| {
                    Some(ViewedItem {
                        product_id: id(p)?,
                        count: t.count.max(1),
                        last_at: t.last_at,
                    })
                })
                .collect(),
            cart: facts
                .cart
                .as_ref()
                .map(|c| c.lines.iter().map(|l| l.product_id.clone()).collect())
                .unwrap_or_default(),
            wishlist: wishlist.into_iter().filter_map(|(_, p)| id(p)).collect(),
            searches: searches
                .into_iter()
                .filter_map(|(_, q)| Text::new(q).ok())
                .collect(),
        }
    }

    /// The products of one contact's baskets (orders and views, in any order).
    pub fn from_baskets<'a>(baskets: impl IntoIterator<Item = &'a Basket>) -> ContactHistory {
        let mut bought: BTreeMap<&Id, BoughtItem> = BTreeMap::new();
        let mut viewed: BTreeMap<&Id, ViewedItem> = BTreeMap::new();
        for basket in baskets {
            let mut ids: Vec<&Id> = basket.product_ids.iter().collect();
            ids.sort();
            ids.dedup();
            for p in ids {
                match basket.kind {
                    BasketKind::Order => {
                        let b = bought.entry(p).or_insert(BoughtItem {
                            product_id: p.clone(),
                            orders: 0,
                            first_at: Some(basket.at),
                            last_at: basket.at,
                        });
                        b.orders += 1;
                        b.first_at = b.first_at.min(Some(basket.at));
                        b.last_at = b.last_at.max(basket.at);
                    }
                    BasketKind::View => {
                        let v = viewed.entry(p).or_insert(ViewedItem {
                            product_id: p.clone(),
                            count: 0,
                            last_at: basket.at,
                        });
                        v.count += 1;
                        v.last_at = v.last_at.max(basket.at);
                    }
                }
            }
        }
        ContactHistory {
            bought: bought.into_values().collect(),
            viewed: viewed.into_values().collect(),
            ..ContactHistory::default()
        }
    }

    pub(crate) fn normalize(&mut self) -> crate::Result<()> {
        for (i, b) in self.bought.iter().enumerate() {
            if b.orders == 0 {
                return Err(crate::Error::invalid(
                    format!("bought[{i}].orders"),
                    "expected at least 1 order, got 0",
                ));
            }
            if b.first_at.is_some_and(|f| f > b.last_at) {
                return Err(crate::Error::invalid(
                    format!("bought[{i}].first_at"),
                    "the first order comes after the latest",
                ));
            }
        }
        for (i, v) in self.viewed.iter().enumerate() {
            if v.count == 0 {
                return Err(crate::Error::invalid(
                    format!("viewed[{i}].count"),
                    "expected at least 1 view, got 0",
                ));
            }
        }
        Ok(())
    }
}
