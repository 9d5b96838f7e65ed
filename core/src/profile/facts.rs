//! The facts rules read, derived from a profile at a moment `as_of`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::enrich::Predicted;
use super::{PlacedOrder, Profile, Tally};
use crate::error::{Error, Result};
use crate::lifecycle::Cell;
use crate::model::Contact;
use crate::model::{CartLine, CatalogIndex, Currency, Date, Id, Money, Timestamp};
use crate::rfm::{CustomerSummary, RfmScore};

/// What is known about a contact at `as_of`: the facts segments, triggers
/// and messages read. Amounts are in `currency`; days are whole days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The contact.
    pub contact_id: Id,
    /// The moment the facts describe.
    pub as_of: Timestamp,
    /// The first event of any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen_at: Option<Timestamp>,
    /// The contact's latest own action (see [`super::is_activity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<Timestamp>,
    /// Whole days since the latest action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_since_last_activity: Option<u64>,
    /// Orders that count (not cancelled or returned).
    pub orders: u64,
    /// Orders whose latest status is `cancelled`.
    pub cancelled_orders: u64,
    /// Orders whose latest status is `returned`.
    pub returned_orders: u64,
    /// Total paid for the orders that count.
    pub revenue: f64,
    /// Currency of every amount; none before the first order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Revenue per order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_order_value: Option<f64>,
    /// The first order that counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_order_at: Option<Timestamp>,
    /// The latest order that counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_order_at: Option<Timestamp>,
    /// Whole days since the latest order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_since_last_order: Option<u64>,
    /// Distinct days (UTC) with an order that counts.
    pub purchase_days: u64,
    /// Days between consecutive purchase days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals_days: Vec<u64>,
    /// The mean of `intervals_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_interval_days: Option<f64>,
    /// The last purchase day plus the mean interval: when the next order is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_order_expected: Option<Date>,
    /// The average-interval rule: `as_of` is past the expected next order.
    pub at_risk: bool,
    /// The orders that count, newest first: what `orders` and `revenue`
    /// within a time window read ("3 orders in the last 365 days"). Facts a
    /// host writes itself may leave it out; such windows cannot be read then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purchases: Vec<OrderTotal>,
    /// Bought products, by product id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bought_products: BTreeMap<String, Bought>,
    /// Bought categories (with their ancestors), by category id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bought_categories: BTreeMap<String, Bought>,
    /// Bought brands (from the catalog), by brand.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bought_brands: BTreeMap<String, Bought>,
    /// Viewed products, by product id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub viewed_products: BTreeMap<String, Tally>,
    /// Viewed categories: category pages and the categories of viewed
    /// products, with their ancestors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub viewed_categories: BTreeMap<String, Tally>,
    /// Brands of viewed products (from the catalog).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub viewed_brands: BTreeMap<String, Tally>,
    /// Searches, by normalized query.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub searches: BTreeMap<String, Tally>,
    /// The open cart: the latest cart, unless empty or followed by an order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart: Option<CartFacts>,
    /// Products on the wishlist, with the time each was added.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wishlist: BTreeMap<String, Timestamp>,
    /// Checkouts started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkouts: Option<Tally>,
    /// Message engagement per channel.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<String, Engagement>,
    /// Coupons redeemed, by code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub coupons: BTreeMap<String, Tally>,
    /// Surveys answered, by survey id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub surveys: BTreeMap<String, Tally>,
    /// Shop-defined events, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_events: BTreeMap<String, Tally>,
    /// The contact's own record (fields, typed attributes, consent), when
    /// the host gave it ([`super::with_contacts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// RFM scored across the contacts at hand, when asked for
    /// ([`super::with_rfm`]); none for a contact without orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfm: Option<RfmScore>,
    /// The cell on the lifecycle grid, when asked for
    /// ([`super::with_lifecycle`]); none for a contact without orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Cell>,
    /// BG/NBD predictions, when asked for ([`super::with_predictions`]);
    /// none for a contact without orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<Predicted>,
}

/// One order that counts: when it was placed and what was paid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderTotal {
    /// When it was placed.
    pub at: Timestamp,
    /// What the customer paid, in the facts' currency.
    pub total: f64,
}

/// Purchases of one product, category or brand, in orders that count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bought {
    /// Orders that contain it.
    pub orders: u64,
    /// Units bought.
    pub quantity: f64,
    /// Spent on it (quantity times unit price, before order-level discounts).
    pub spent: f64,
    /// The first order with it.
    pub first_at: Timestamp,
    /// The latest order with it.
    pub last_at: Timestamp,
    /// Each order with it, newest first: what counts and sums within a time
    /// window read ("spent over 1000 on suits in the last 30 days"). Facts a
    /// host writes itself may leave it out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<BoughtOnce>,
}

impl Bought {
    /// `history` is left out or holds each order, newest first.
    fn check(&self) -> Result<()> {
        check_per_order(&self.history, |o| o.at, self.orders, "history")
    }
}

/// A list of one entry per order, newest first, unless left out.
fn check_per_order<T>(
    items: &[T],
    at: impl Fn(&T) -> Timestamp,
    orders: u64,
    path: &str,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    if items.len() as u64 != orders {
        return Err(Error::invalid(
            path,
            format!(
                "expected one entry per order ({orders}), got {}",
                items.len()
            ),
        ));
    }
    if items.windows(2).any(|w| at(&w[0]) < at(&w[1])) {
        return Err(Error::invalid(path, "expected the orders newest first"));
    }
    Ok(())
}

/// One order's purchase of a product, category or brand.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoughtOnce {
    /// When the order was placed.
    pub at: Timestamp,
    /// Units bought in it.
    pub quantity: f64,
    /// Spent on it in that order.
    pub spent: f64,
}

/// The open cart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartFacts {
    /// Its lines.
    pub lines: Vec<CartLine>,
    /// Sum of quantity times unit price.
    pub value: f64,
    /// Currency of the prices.
    pub currency: Currency,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Seconds since it last changed.
    pub age_seconds: u64,
}

/// Engagement with the messages of one channel; each message counts once
/// however often it was opened or clicked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    /// Messages sent.
    pub sent: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages opened.
    pub opened: u64,
    /// Messages clicked.
    pub clicked: u64,
    /// Messages unsubscribed through.
    pub unsubscribed: u64,
    /// Messages bounced.
    pub bounced: u64,
    /// Messages marked as spam.
    pub complained: u64,
    /// The latest messages sent without an open, counted back from the
    /// newest to the last one opened: "opened none of the last 5 emails" is
    /// `messages.email.unopened_streak >= 5`.
    #[serde(default)]
    pub unopened_streak: u64,
    /// The latest send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_at: Option<Timestamp>,
    /// The latest open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_opened_at: Option<Timestamp>,
    /// The latest click.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_clicked_at: Option<Timestamp>,
}

fn latest(slot: &mut Option<Timestamp>, at: Option<Timestamp>) {
    if let Some(at) = at {
        *slot = Some(slot.map_or(at, |t| t.max(at)));
    }
}

/// The one currency of the orders that count; an error names two orders
/// that differ, since their amounts cannot be summed.
pub(crate) fn single_currency(profile: &Profile) -> Result<Option<Currency>> {
    let mut first: Option<&PlacedOrder> = None;
    for order in profile.purchases() {
        match first {
            None => first = Some(order),
            Some(f) if f.currency != order.currency => {
                return Err(Error::invalid(
                    "orders",
                    format!(
                        "contact `{}` has orders in {} (`{}`) and {} (`{}`); amounts in different \
                         currencies cannot be summed: convert them to one currency first",
                        profile.contact_id, f.currency, f.event_id, order.currency, order.event_id
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(first.map(|o| o.currency))
}

impl Facts {
    /// Checks facts read from outside: the newest times of each tally and
    /// the purchases are either left out or complete, newest first.
    pub(crate) fn check(&mut self) -> Result<()> {
        let maps = [
            ("viewed_products", &self.viewed_products),
            ("viewed_categories", &self.viewed_categories),
            ("viewed_brands", &self.viewed_brands),
            ("searches", &self.searches),
            ("coupons", &self.coupons),
            ("surveys", &self.surveys),
            ("custom_events", &self.custom_events),
        ];
        for (name, map) in maps {
            for (key, t) in map {
                t.check(false)
                    .map_err(|e| e.within(&format!("{name}.{key}")))?;
            }
        }
        if let Some(t) = &self.checkouts {
            t.check(false).map_err(|e| e.within("checkouts"))?;
        }
        let bought = [
            ("bought_products", &self.bought_products),
            ("bought_categories", &self.bought_categories),
            ("bought_brands", &self.bought_brands),
        ];
        for (name, map) in bought {
            for (key, b) in map {
                b.check().map_err(|e| e.within(&format!("{name}.{key}")))?;
            }
        }
        check_per_order(&self.purchases, |p| p.at, self.orders, "purchases")?;
        if let Some(i) = self.purchases.iter().position(|p| !p.total.is_finite()) {
            return Err(Error::invalid(
                format!("purchases[{i}].total"),
                "expected a finite amount",
            ));
        }
        Ok(())
    }

    /// The same facts at a later moment `t`, had nothing happened since:
    /// the fields that count time from `as_of` move with it (days since the
    /// last order and activity, the cart's age, the average-interval rule's
    /// `at_risk`). RFM scores stay as they are: they rank the whole base, so
    /// they move when the base is scored again.
    pub fn at(&self, t: Timestamp) -> Facts {
        let mut later = self.clone();
        later.move_to(t);
        later
    }

    /// [`Facts::at`] in place: moves these facts to moment `t` without
    /// copying the maps, for callers that try many moments.
    pub fn move_to(&mut self, t: Timestamp) {
        self.days_since_last_activity = self.days_since_last_activity_at(t);
        self.days_since_last_order = self.days_since_last_order_at(t);
        let age = self.cart_age_at(t);
        if let (Some(cart), Some(age)) = (&mut self.cart, age) {
            cart.age_seconds = age;
        }
        self.at_risk = self.at_risk_at(t);
        self.as_of = t;
    }

    /// `days_since_last_activity` at moment `t`.
    pub(crate) fn days_since_last_activity_at(&self, t: Timestamp) -> Option<u64> {
        self.last_activity_at.map(|a| a.whole_days_until(t))
    }

    /// `days_since_last_order` at moment `t` (as it is without orders).
    pub(crate) fn days_since_last_order_at(&self, t: Timestamp) -> Option<u64> {
        if self.orders > 0 {
            self.last_order_at.map(|o| o.whole_days_until(t))
        } else {
            self.days_since_last_order
        }
    }

    /// The open cart's `age_seconds` at moment `t`.
    pub(crate) fn cart_age_at(&self, t: Timestamp) -> Option<u64> {
        self.cart
            .as_ref()
            .map(|cart| u64::try_from((t.get() - cart.updated_at.get()).num_seconds()).unwrap_or(0))
    }

    /// The average-interval rule's `at_risk` at moment `t`.
    pub(crate) fn at_risk_at(&self, t: Timestamp) -> bool {
        self.next_order_expected
            .is_some_and(|n| t.get().date_naive() > n.get())
    }
}

impl Profile {
    /// The facts at `as_of`. With a catalog, categories include their
    /// ancestors and brands are known; without one, only the categories the
    /// events name. Refused when an event is later than `as_of` (facts of a
    /// moment cannot see its future) or orders mix currencies.
    pub fn facts(&self, as_of: Timestamp, catalog: Option<&CatalogIndex<'_>>) -> Result<Facts> {
        if let Some(events) = &self.events
            && events.last_at > as_of
        {
            return Err(Error::invalid(
                "events.last_at",
                format!(
                    "contact `{}` has an event at {}, after as_of {}; facts cannot see the future",
                    self.contact_id, events.last_at, as_of
                ),
            ));
        }
        let currency = single_currency(self)?;
        let mut facts = Facts {
            contact_id: self.contact_id.clone(),
            as_of,
            first_seen_at: self.events.as_ref().map(|t| t.first_at),
            last_activity_at: self.activity.as_ref().map(|t| t.last_at),
            days_since_last_activity: self
                .activity
                .as_ref()
                .map(|t| t.last_at.whole_days_until(as_of)),
            orders: 0,
            cancelled_orders: 0,
            returned_orders: 0,
            revenue: 0.0,
            currency,
            average_order_value: None,
            first_order_at: None,
            last_order_at: None,
            days_since_last_order: None,
            purchase_days: 0,
            intervals_days: Vec::new(),
            average_interval_days: None,
            next_order_expected: None,
            at_risk: false,
            purchases: Vec::new(),
            bought_products: BTreeMap::new(),
            bought_categories: BTreeMap::new(),
            bought_brands: BTreeMap::new(),
            viewed_products: BTreeMap::new(),
            viewed_categories: BTreeMap::new(),
            viewed_brands: BTreeMap::new(),
            searches: keyed(&self.searches),
            cart: None,
            wishlist: BTreeMap::new(),
            checkouts: self.checkouts.clone(),
            messages: BTreeMap::new(),
            coupons: keyed(&self.coupons),
            surveys: keyed(&self.surveys),
            custom_events: keyed(&self.custom),
            contact: None,
            rfm: None,
            lifecycle: None,
            predicted: None,
        };
        self.fold_orders(&mut facts, catalog);
        self.fold_views(&mut facts, catalog);
        self.fold_cart_and_wishlist(&mut facts);
        self.fold_messages(&mut facts);
        Ok(facts)
    }

    fn fold_orders(&self, facts: &mut Facts, catalog: Option<&CatalogIndex<'_>>) {
        use crate::model::OrderStatus::{Cancelled, Returned};
        for order in self.orders.values() {
            match (
                order.placed.is_some(),
                order.status.as_ref().map(|s| s.status),
            ) {
                (true, Some(Cancelled)) => facts.cancelled_orders += 1,
                (true, Some(Returned)) => facts.returned_orders += 1,
                _ => {}
            }
        }
        let mut days: Vec<NaiveDate> = Vec::new();
        for order in self.purchases() {
            facts.orders += 1;
            facts.revenue += order.total.get();
            facts.first_order_at.get_or_insert(order.at);
            facts.last_order_at = Some(order.at);
            facts.purchases.push(OrderTotal {
                at: order.at,
                total: order.total.get(),
            });
            days.push(order.at.get().date_naive());
            // Each product, category and brand counts once per order.
            let mut products: BTreeMap<String, (f64, f64)> = BTreeMap::new();
            let mut categories: BTreeMap<String, (f64, f64)> = BTreeMap::new();
            let mut brands: BTreeMap<String, (f64, f64)> = BTreeMap::new();
            for line in &order.lines {
                let units = line.quantity.get();
                let spent = units * line.unit_price.get();
                let credit = |map: &mut BTreeMap<String, (f64, f64)>, key: &str| {
                    let slot = map.entry(key.to_owned()).or_default();
                    slot.0 += units;
                    slot.1 += spent;
                };
                credit(&mut products, line.product_id.as_str());
                let product = catalog.and_then(|c| c.product(line.product_id.as_str()));
                for category in categories_of(product, line.category_id.iter(), catalog) {
                    credit(&mut categories, &category);
                }
                if let Some(brand) = product.and_then(|p| p.brand.as_ref()) {
                    credit(&mut brands, brand.as_str());
                }
            }
            for (map, target) in [
                (products, &mut facts.bought_products),
                (categories, &mut facts.bought_categories),
                (brands, &mut facts.bought_brands),
            ] {
                for (key, (quantity, spent)) in map {
                    target
                        .entry(key)
                        .and_modify(|b| {
                            b.orders += 1;
                            b.quantity += quantity;
                            b.spent += spent;
                            b.last_at = order.at;
                        })
                        .or_insert(Bought {
                            orders: 1,
                            quantity,
                            spent,
                            first_at: order.at,
                            last_at: order.at,
                            history: Vec::new(),
                        })
                        .history
                        .push(BoughtOnce {
                            at: order.at,
                            quantity,
                            spent,
                        });
                }
            }
        }
        // Newest first, as the times of tallies.
        facts.purchases.reverse();
        for map in [
            &mut facts.bought_products,
            &mut facts.bought_categories,
            &mut facts.bought_brands,
        ] {
            map.values_mut().for_each(|b| b.history.reverse());
        }
        if facts.orders > 0 {
            facts.average_order_value = Some(facts.revenue / facts.orders as f64);
            facts.days_since_last_order =
                facts.last_order_at.map(|t| t.whole_days_until(facts.as_of));
        }
        days.dedup();
        facts.purchase_days = days.len() as u64;
        facts.intervals_days = days
            .windows(2)
            .map(|w| u64::try_from((w[1] - w[0]).num_days()).unwrap_or(0))
            .collect();
        let rule = crate::predict::interval_rule(&days, facts.as_of.get().date_naive());
        facts.average_interval_days = rule.average_days;
        facts.next_order_expected = rule.next_expected.map(Date::from_naive);
        facts.at_risk = rule.at_risk;
    }

    fn fold_views(&self, facts: &mut Facts, catalog: Option<&CatalogIndex<'_>>) {
        for (id, views) in &self.product_views {
            let tally = Tally {
                count: views.count,
                first_at: views.first_at,
                last_at: views.last_at,
                recent: views.recent.clone(),
            };
            let product = catalog.and_then(|c| c.product(id.as_str()));
            for category in categories_of(product, views.categories.iter(), catalog) {
                merge_into(&mut facts.viewed_categories, category, &tally);
            }
            if let Some(brand) = product.and_then(|p| p.brand.as_ref()) {
                merge_into(&mut facts.viewed_brands, brand.to_string(), &tally);
            }
            facts.viewed_products.insert(id.to_string(), tally);
        }
        for (id, tally) in &self.category_views {
            merge_into(&mut facts.viewed_categories, id.to_string(), tally);
            if let Some(c) = catalog {
                for ancestor in c.ancestors(id.as_str()) {
                    merge_into(&mut facts.viewed_categories, ancestor.to_string(), tally);
                }
            }
        }
    }

    fn fold_cart_and_wishlist(&self, facts: &mut Facts) {
        if let Some(cart) = &self.cart {
            // An order placed at or after the cart's last change checked it out.
            let checked_out = self
                .orders
                .values()
                .filter_map(|o| o.placed.as_ref())
                .any(|o| o.at >= cart.at);
            if !cart.lines.is_empty() && !checked_out {
                facts.cart = Some(CartFacts {
                    lines: cart.lines.clone(),
                    value: cart
                        .lines
                        .iter()
                        .map(|l| l.quantity.get() * l.unit_price.get())
                        .sum(),
                    currency: cart.currency,
                    updated_at: cart.at,
                    age_seconds: u64::try_from((facts.as_of.get() - cart.at.get()).num_seconds())
                        .unwrap_or(0),
                });
            }
        }
        facts.wishlist = self
            .wishlist
            .iter()
            .filter(|(_, w)| w.listed)
            .map(|(id, w)| (id.to_string(), w.at))
            .collect();
    }

    fn fold_messages(&self, facts: &mut Facts) {
        // Per channel, the sends newest first, to count the unopened streak.
        let mut sends: BTreeMap<&str, Vec<(Timestamp, bool)>> = BTreeMap::new();
        for m in self.messages.values() {
            if let Some(at) = m.sent_at {
                sends
                    .entry(m.channel.as_str())
                    .or_default()
                    .push((at, m.opens.is_some()));
            }
        }
        for (channel, mut list) in sends {
            list.sort_by_key(|s| std::cmp::Reverse(s.0));
            let streak = list.iter().take_while(|(_, opened)| !opened).count();
            facts
                .messages
                .entry(channel.to_string())
                .or_default()
                .unopened_streak = streak as u64;
        }
        for m in self.messages.values() {
            let e = facts.messages.entry(m.channel.to_string()).or_default();
            let count = |at: Option<Timestamp>| u64::from(at.is_some());
            e.sent += count(m.sent_at);
            e.delivered += count(m.delivered_at);
            e.opened += u64::from(m.opens.is_some());
            e.clicked += u64::from(m.clicks.is_some());
            e.unsubscribed += count(m.unsubscribed_at);
            e.bounced += count(m.bounced_at);
            e.complained += count(m.complained_at);
            latest(&mut e.last_sent_at, m.sent_at);
            latest(&mut e.last_opened_at, m.opens.as_ref().map(|t| t.last_at));
            latest(&mut e.last_clicked_at, m.clicks.as_ref().map(|t| t.last_at));
        }
    }
}

/// A product's categories: its catalog path (root to leaf) when the catalog
/// knows it, else the categories events named, with their ancestors.
fn categories_of<'a>(
    product: Option<&crate::model::Product>,
    named: impl Iterator<Item = &'a Id>,
    catalog: Option<&CatalogIndex<'_>>,
) -> Vec<String> {
    let mut out: Vec<String> = match product {
        Some(p) if !p.category_path.is_empty() => {
            p.category_path.iter().map(|c| c.to_string()).collect()
        }
        _ => {
            let mut out = Vec::new();
            for id in named {
                out.push(id.to_string());
                if let Some(c) = catalog {
                    out.extend(c.ancestors(id.as_str()).into_iter().map(|a| a.to_string()));
                }
            }
            out
        }
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn merge_into(map: &mut BTreeMap<String, Tally>, key: String, tally: &Tally) {
    map.entry(key)
        .and_modify(|t| t.merge(tally))
        .or_insert_with(|| tally.clone());
}

fn keyed<K: ToString>(map: &BTreeMap<K, Tally>) -> BTreeMap<String, Tally> {
    map.iter()
        .map(|(k, t)| (k.to_string(), t.clone()))
        .collect()
}

impl Facts {
    /// What RFM and the lifecycle grid read.
    pub fn summary(&self) -> Result<CustomerSummary> {
        Ok(CustomerSummary {
            contact_id: self.contact_id.clone(),
            last_order_at: self.last_order_at,
            orders: self.orders,
            purchase_days: Some(self.purchase_days),
            revenue: Money::new(self.revenue).map_err(|e| e.within("revenue"))?,
            currency: self.currency,
        })
    }
}

/// The facts of every profile at `as_of`, in input order, in parallel; an
/// error's path starts with the profile's index.
pub fn facts_all(
    profiles: &[Profile],
    as_of: Timestamp,
    catalog: Option<&CatalogIndex<'_>>,
) -> Result<Vec<Facts>> {
    let all: Vec<Result<Facts>> = profiles
        .par_iter()
        .map(|p| p.facts(as_of, catalog))
        .collect();
    all.into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| e.within(&format!("[{i}]"))))
        .collect()
}

/// What RFM and the lifecycle grid read, for every profile at `as_of`, in
/// input order; see [`Facts::summary`].
pub fn summaries(profiles: &[Profile], as_of: Timestamp) -> Result<Vec<CustomerSummary>> {
    facts_all(profiles, as_of, None)?
        .iter()
        .enumerate()
        .map(|(i, f)| f.summary().map_err(|e| e.within(&format!("[{i}]"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::model::Timestamp;
    use crate::{Event, parse};

    #[test]
    fn the_unopened_streak_counts_back_to_the_last_open() {
        let sent = |id: &str, day: u32| -> Event {
            parse::from_json(&format!(
                r#"{{"type": "message_sent", "id": "s{id}", "contact_id": "c", "at": "2024-05-{day:02}T10:00:00Z",
                    "message_id": "m{id}", "channel": "email"}}"#
            ))
            .unwrap()
        };
        let opened = |id: &str, day: u32| -> Event {
            parse::from_json(&format!(
                r#"{{"type": "message_opened", "id": "o{id}", "contact_id": "c", "at": "2024-05-{day:02}T11:00:00Z",
                    "message_id": "m{id}", "channel": "email"}}"#
            ))
            .unwrap()
        };
        // m1 opened, then m2, m3 and m4 not.
        let events = [
            sent("1", 1),
            opened("1", 1),
            sent("2", 2),
            sent("3", 3),
            sent("4", 4),
        ];
        let profiles = crate::profile::build(&events).unwrap();
        let facts = profiles[0]
            .facts(Timestamp::parse("2024-06-01T00:00:00Z").unwrap(), None)
            .unwrap();
        assert_eq!(facts.messages["email"].unopened_streak, 3);
        let mut more = events.to_vec();
        more.push(opened("3", 5));
        let profiles = crate::profile::build(&more).unwrap();
        let facts = profiles[0]
            .facts(Timestamp::parse("2024-06-01T00:00:00Z").unwrap(), None)
            .unwrap();
        assert_eq!(
            facts.messages["email"].unopened_streak, 1,
            "only m4 is unopened since m3 was opened"
        );
    }
}
