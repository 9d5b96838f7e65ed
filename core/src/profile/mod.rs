//! Profiles: what patron remembers about one contact, folded from events,
//! and the [`Facts`] that rules read from it.
//!
//! A [`Profile`] is data the host keeps (a JSON column next to the contact).
//! Two ways build it, with the same result: [`build`] over a whole event log,
//! and [`Profile::apply`] one event at a time as events arrive. The fold does
//! not depend on the order events arrive in, and an event id seen before is a
//! no-op, so late, shuffled and retried deliveries give the same profile.
//!
//! ```
//! use patron::profile::Profile;
//! use patron::{model::Timestamp, parse, Event};
//!
//! let events: Vec<Event> = parse::list_from_json(r#"[
//!   {"type": "product_viewed", "id": "e1", "contact_id": "c1", "at": "2024-05-01T10:00:00Z",
//!    "product_id": "p1"},
//!   {"type": "order_placed", "id": "e2", "contact_id": "c1", "at": "2024-05-01T10:05:00Z",
//!    "order_id": "o1", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}],
//!    "total": 30, "currency": "EUR"},
//!   {"type": "order_placed", "id": "e3", "contact_id": "c1", "at": "2024-06-10T09:00:00Z",
//!    "order_id": "o2", "lines": [{"product_id": "p2", "quantity": 2, "unit_price": 25}],
//!    "total": 50, "currency": "EUR"},
//!   {"type": "order_status_changed", "id": "e4", "contact_id": "c1", "at": "2024-06-12T09:00:00Z",
//!    "order_id": "o2", "status": "returned"}
//! ]"#)?;
//! let mut profile = Profile::new("c1".parse()?);
//! for event in &events {
//!     profile.apply(event)?;
//! }
//! assert!(!profile.apply(&events[1])?, "the same event id twice is a no-op");
//!
//! let facts = profile.facts(Timestamp::parse("2024-07-01T00:00:00Z")?, None)?;
//! assert_eq!((facts.orders, facts.returned_orders, facts.revenue), (1, 1, 30.0));
//! assert_eq!(facts.viewed_products["p1"].count, 1);
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! # Orders that do not count
//!
//! An order counts (in orders, revenue, purchase days, bought products and
//! RFM) unless its latest status is `cancelled` or `returned`; a later status
//! such as `paid` makes it count again. The latest status wins by time, then
//! by event id. A status that arrives before its order is kept and applies
//! when the order arrives. A partial return is not a status: the shop sends a
//! corrected order or a custom event.

mod enrich;
mod facts;
mod seen;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{
    CartLine, Channel, Currency, Event, EventKind, Id, MessageActivity, Money, Name, OrderLine,
    OrderStatus, Text, Timestamp,
};

pub use enrich::{
    Enrich, PredictConfig, Predicted, facts_with, with_contacts, with_lifecycle, with_predictions,
    with_rfm,
};
pub use facts::{
    Bought, BoughtOnce, CartFacts, Engagement, Facts, OrderTotal, facts_all, summaries,
};
pub use seen::SeenIds;

/// The version of the stored form; a profile of another version is refused
/// when read, so a host never folds events into a shape it misreads.
pub const PROFILE_VERSION: u32 = 2;

/// Everything patron remembers about one contact. Read [`Facts`] from it with
/// [`Profile::facts`]; store it whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The stored form's version ([`PROFILE_VERSION`]).
    pub version: u32,
    /// The contact.
    pub contact_id: Id,
    /// The earliest and latest event applied, of any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Tally>,
    /// The contact's own actions (see [`is_activity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Tally>,
    /// Orders by order id, with their latest status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub orders: BTreeMap<Id, OrderRecord>,
    /// Product page views by product.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub product_views: BTreeMap<Id, ProductViews>,
    /// Category page views by category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub category_views: BTreeMap<Id, Tally>,
    /// Searches by query (trimmed, lower-cased, inner spaces collapsed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub searches: BTreeMap<Text, Tally>,
    /// The latest cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart: Option<CartRecord>,
    /// Checkouts started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkouts: Option<Tally>,
    /// The latest wishlist change per product.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wishlist: BTreeMap<Id, WishlistRecord>,
    /// What happened to each message sent to the contact.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<Id, MessageRecord>,
    /// Coupons redeemed, by code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub coupons: BTreeMap<Text, Tally>,
    /// Surveys answered, by survey.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub surveys: BTreeMap<Id, Tally>,
    /// Shop-defined events, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<Name, Tally>,
    /// The events applied, so that a repeated delivery is a no-op.
    #[serde(default, skip_serializing_if = "SeenIds::is_empty")]
    pub seen: SeenIds,
}

/// How many of the newest times a [`Tally`] keeps. A count within a time
/// window ("viewed phones twice in the last 7 days") reads them, so it is
/// exact up to this many; rules compare such counts with smaller numbers.
pub const RECENT_TIMES: usize = 16;

/// How often something happened, when first and last, and the newest times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tally {
    /// How many times.
    pub count: u64,
    /// The first time.
    pub first_at: Timestamp,
    /// The latest time.
    pub last_at: Timestamp,
    /// The newest times, newest first: every time up to [`RECENT_TIMES`].
    /// Facts a host writes itself may leave it out; a count within a time
    /// window cannot be read from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Timestamp>,
}

impl Tally {
    /// One occurrence at `at`.
    pub fn once(at: Timestamp) -> Tally {
        Tally {
            count: 1,
            first_at: at,
            last_at: at,
            recent: vec![at],
        }
    }

    /// Adds `other`'s occurrences.
    pub fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.first_at = self.first_at.min(other.first_at);
        self.last_at = self.last_at.max(other.last_at);
        keep_newest(&mut self.recent, &other.recent);
    }

    /// Checks a tally read from outside: `recent` holds the newest times,
    /// newest first, from `first_at` to `last_at`; in facts (not in a
    /// profile) it may be left out.
    pub(crate) fn check(&self, required: bool) -> Result<()> {
        check_recent(
            &self.recent,
            self.count,
            self.first_at,
            self.last_at,
            required,
        )
    }
}

/// Merges `other` (newest first) into `recent` (newest first), keeping the
/// [`RECENT_TIMES`] newest: the same whatever order occurrences arrive in.
fn keep_newest(recent: &mut Vec<Timestamp>, other: &[Timestamp]) {
    if other.is_empty() {
        return;
    }
    let mut merged = Vec::with_capacity((recent.len() + other.len()).min(RECENT_TIMES));
    let (mut a, mut b) = (recent.iter().peekable(), other.iter().peekable());
    while merged.len() < RECENT_TIMES {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x >= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some(t) => merged.push(*t),
            None => break,
        }
    }
    *recent = merged;
}

fn check_recent(
    recent: &[Timestamp],
    count: u64,
    first: Timestamp,
    last: Timestamp,
    required: bool,
) -> Result<()> {
    if recent.is_empty() && !required {
        return Ok(());
    }
    let expected = count.min(RECENT_TIMES as u64);
    if recent.len() as u64 != expected {
        return Err(Error::invalid(
            "recent",
            format!(
                "expected the newest {expected} times (of {count}, at most {RECENT_TIMES}), got {}",
                recent.len()
            ),
        ));
    }
    if recent.windows(2).any(|w| w[0] < w[1]) {
        return Err(Error::invalid("recent", "expected the times newest first"));
    }
    let (Some(newest), Some(oldest)) = (recent.first(), recent.last()) else {
        return Ok(());
    };
    if *newest != last || *oldest < first {
        return Err(Error::invalid(
            "recent",
            "expected times from first_at to last_at, the first of them last_at",
        ));
    }
    Ok(())
}

fn check_tallies<K: std::fmt::Display>(name: &str, map: &BTreeMap<K, Tally>) -> Result<()> {
    for (key, t) in map {
        t.check(true)
            .map_err(|e| e.within(&format!("{name}.{key}")))?;
    }
    Ok(())
}

fn add(tally: &mut Option<Tally>, at: Timestamp) {
    match tally {
        Some(t) => t.merge(&Tally::once(at)),
        None => *tally = Some(Tally::once(at)),
    }
}

fn add_to<K: Ord>(map: &mut BTreeMap<K, Tally>, key: K, at: Timestamp) {
    map.entry(key)
        .and_modify(|t| t.merge(&Tally::once(at)))
        .or_insert_with(|| Tally::once(at));
}

/// Views of one product page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductViews {
    /// How many views.
    pub count: u64,
    /// The first view.
    pub first_at: Timestamp,
    /// The latest view.
    pub last_at: Timestamp,
    /// The newest views, newest first (see [`Tally::recent`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Timestamp>,
    /// The categories the views named; used when the catalog does not know the product.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub categories: BTreeSet<Id>,
}

/// One order: when it was placed and its latest status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    /// The order as placed; none while only a status has arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed: Option<PlacedOrder>,
    /// The latest status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusRecord>,
}

impl OrderRecord {
    /// Whether the order counts as a purchase: placed, and not cancelled or returned.
    pub fn counts(&self) -> bool {
        self.placed.is_some()
            && !matches!(
                self.status.as_ref().map(|s| s.status),
                Some(OrderStatus::Cancelled | OrderStatus::Returned)
            )
    }
}

/// An order as placed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacedOrder {
    /// The `order_placed` event; when an order is placed twice under new
    /// event ids, the earliest (by time, then id) stands.
    pub event_id: Id,
    /// When it was placed.
    pub at: Timestamp,
    /// What was bought.
    pub lines: Vec<OrderLine>,
    /// What the customer paid.
    pub total: Money,
    /// Currency of all amounts.
    pub currency: Currency,
    /// Coupon used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<Text>,
}

/// The latest status of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRecord {
    /// The status.
    pub status: OrderStatus,
    /// When it changed.
    pub at: Timestamp,
    /// The event that changed it (breaks ties between changes at one time).
    pub event_id: Id,
}

/// The latest cart: all its lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartRecord {
    /// The `cart_updated` event.
    pub event_id: Id,
    /// When the cart last changed.
    pub at: Timestamp,
    /// Its lines; none for an emptied cart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<CartLine>,
    /// Currency of the prices.
    pub currency: Currency,
}

/// The latest wishlist change for one product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WishlistRecord {
    /// Whether the product is on the wishlist after the change.
    pub listed: bool,
    /// When.
    pub at: Timestamp,
    /// The event (breaks ties between changes at one time).
    pub event_id: Id,
}

/// What happened to one message. Times are the first occurrence, except the
/// `last_` ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRecord {
    /// The channel.
    pub channel: Channel,
    /// The campaign or trigger rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Id>,
    /// Handed to the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    /// Delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// Opens: how many, first and latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens: Option<Tally>,
    /// Clicks: how many, first and latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicks: Option<Tally>,
    /// Unsubscribed through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribed_at: Option<Timestamp>,
    /// Bounced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounced_at: Option<Timestamp>,
    /// Marked as spam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complained_at: Option<Timestamp>,
}

fn earliest(slot: &mut Option<Timestamp>, at: Timestamp) {
    *slot = Some(slot.map_or(at, |t| t.min(at)));
}

/// Whether an event is the contact's own action and so counts as activity:
/// views, searches, carts, checkouts, orders, wishlists, opens, clicks,
/// unsubscribes, coupons, surveys, consent changes and custom events. What
/// the shop does (status changes, sends, deliveries) and what the mail
/// system reports (bounces, complaints) does not.
pub fn is_activity(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::OrderStatusChanged(_)
            | EventKind::MessageSent(_)
            | EventKind::MessageDelivered(_)
            | EventKind::MessageBounced(_)
            | EventKind::MessageComplained(_)
            | EventKind::PriceChanged(_)
            | EventKind::StockChanged(_)
            | EventKind::ProductAdded(_)
    )
}

/// Newer by time, then by event id: the order that decides "latest".
fn newer(at: Timestamp, id: &Id, than_at: Timestamp, than_id: &Id) -> bool {
    (at, id) > (than_at, than_id)
}

/// The grouping key of a search query.
fn query_key(query: &str) -> Result<Text> {
    let key = query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Text::new(key)
}

impl Profile {
    /// An empty profile.
    pub fn new(contact_id: Id) -> Profile {
        Profile {
            version: PROFILE_VERSION,
            contact_id,
            events: None,
            activity: None,
            orders: BTreeMap::new(),
            product_views: BTreeMap::new(),
            category_views: BTreeMap::new(),
            searches: BTreeMap::new(),
            cart: None,
            checkouts: None,
            wishlist: BTreeMap::new(),
            messages: BTreeMap::new(),
            coupons: BTreeMap::new(),
            surveys: BTreeMap::new(),
            custom: BTreeMap::new(),
            seen: SeenIds::default(),
        }
    }

    /// An empty profile for the contact of `event`, which the event then
    /// folds into; refused for an event without a contact.
    pub fn for_event(event: &Event) -> Result<Profile> {
        match &event.contact_id {
            Some(id) => Ok(Profile::new(id.clone())),
            None => Err(Error::invalid(
                "contact_id",
                "a new profile needs the event's contact_id",
            )),
        }
    }

    /// Folds one event in. Returns `false` for an event id applied before
    /// (nothing changes). Refuses, leaving the profile unchanged, an event of
    /// another contact, of an anonymous visitor, a catalog event, or a message
    /// event whose channel or campaign contradicts earlier events of that message.
    pub fn apply(&mut self, event: &Event) -> Result<bool> {
        self.check(event)?;
        if !self.seen.insert(&event.id) {
            return Ok(false);
        }
        let at = event.at;
        add(&mut self.events, at);
        if is_activity(&event.kind) {
            add(&mut self.activity, at);
        }
        match &event.kind {
            EventKind::ProductViewed(v) => {
                let views = self
                    .product_views
                    .entry(v.product_id.clone())
                    .or_insert_with(|| ProductViews {
                        count: 0,
                        first_at: at,
                        last_at: at,
                        recent: Vec::new(),
                        categories: BTreeSet::new(),
                    });
                views.count += 1;
                views.first_at = views.first_at.min(at);
                views.last_at = views.last_at.max(at);
                keep_newest(&mut views.recent, &[at]);
                views.categories.extend(v.category_id.iter().cloned());
            }
            EventKind::CategoryViewed(v) => {
                add_to(&mut self.category_views, v.category_id.clone(), at)
            }
            EventKind::Searched(s) => add_to(&mut self.searches, query_key(s.query.as_str())?, at),
            EventKind::CartUpdated(c) => {
                if self
                    .cart
                    .as_ref()
                    .is_none_or(|old| newer(at, &event.id, old.at, &old.event_id))
                {
                    self.cart = Some(CartRecord {
                        event_id: event.id.clone(),
                        at,
                        lines: c.lines.clone(),
                        currency: c.currency,
                    });
                }
            }
            EventKind::CheckoutStarted(_) => add(&mut self.checkouts, at),
            EventKind::OrderPlaced(o) => {
                let record = self
                    .orders
                    .entry(o.order_id.clone())
                    .or_insert(OrderRecord {
                        placed: None,
                        status: None,
                    });
                // The earliest placement stands: an order is placed once.
                if record
                    .placed
                    .as_ref()
                    .is_none_or(|old| newer(old.at, &old.event_id, at, &event.id))
                {
                    record.placed = Some(PlacedOrder {
                        event_id: event.id.clone(),
                        at,
                        lines: o.lines.clone(),
                        total: o.total,
                        currency: o.currency,
                        coupon: o.coupon.clone(),
                    });
                }
            }
            EventKind::OrderStatusChanged(s) => {
                let record = self
                    .orders
                    .entry(s.order_id.clone())
                    .or_insert(OrderRecord {
                        placed: None,
                        status: None,
                    });
                if record
                    .status
                    .as_ref()
                    .is_none_or(|old| newer(at, &event.id, old.at, &old.event_id))
                {
                    record.status = Some(StatusRecord {
                        status: s.status,
                        at,
                        event_id: event.id.clone(),
                    });
                }
            }
            EventKind::WishlistAdded(w) | EventKind::WishlistRemoved(w) => {
                let listed = matches!(event.kind, EventKind::WishlistAdded(_));
                let change = WishlistRecord {
                    listed,
                    at,
                    event_id: event.id.clone(),
                };
                self.wishlist
                    .entry(w.product_id.clone())
                    .and_modify(|old| {
                        if newer(at, &event.id, old.at, &old.event_id) {
                            *old = change.clone();
                        }
                    })
                    .or_insert(change);
            }
            EventKind::MessageSent(m)
            | EventKind::MessageDelivered(m)
            | EventKind::MessageOpened(m)
            | EventKind::MessageClicked(m)
            | EventKind::MessageUnsubscribed(m)
            | EventKind::MessageBounced(m)
            | EventKind::MessageComplained(m) => {
                let record = self
                    .messages
                    .entry(m.message_id.clone())
                    .or_insert_with(|| MessageRecord {
                        channel: m.channel.clone(),
                        campaign_id: None,
                        sent_at: None,
                        delivered_at: None,
                        opens: None,
                        clicks: None,
                        unsubscribed_at: None,
                        bounced_at: None,
                        complained_at: None,
                    });
                if m.campaign_id.is_some() {
                    record.campaign_id = m.campaign_id.clone();
                }
                match &event.kind {
                    EventKind::MessageSent(_) => earliest(&mut record.sent_at, at),
                    EventKind::MessageDelivered(_) => earliest(&mut record.delivered_at, at),
                    EventKind::MessageOpened(_) => add(&mut record.opens, at),
                    EventKind::MessageClicked(_) => add(&mut record.clicks, at),
                    EventKind::MessageUnsubscribed(_) => earliest(&mut record.unsubscribed_at, at),
                    EventKind::MessageBounced(_) => earliest(&mut record.bounced_at, at),
                    _ => earliest(&mut record.complained_at, at),
                }
            }
            EventKind::CouponRedeemed(c) => add_to(&mut self.coupons, c.code.clone(), at),
            EventKind::SurveyAnswered(s) => add_to(&mut self.surveys, s.survey_id.clone(), at),
            EventKind::Custom(c) => add_to(&mut self.custom, c.name.clone(), at),
            EventKind::ConsentChanged(_) => {}
            EventKind::PriceChanged(_)
            | EventKind::StockChanged(_)
            | EventKind::ProductAdded(_) => {
                unreachable!("refused by check")
            }
        }
        Ok(true)
    }

    /// Everything that could refuse `event`, checked before anything changes.
    fn check(&self, event: &Event) -> Result<()> {
        if event.kind.is_catalog() {
            return Err(Error::invalid(
                "type",
                format!(
                    "a {} event belongs to the catalog, not to a contact's profile",
                    event.type_name()
                ),
            ));
        }
        match &event.contact_id {
            Some(id) if *id == self.contact_id => {}
            Some(id) => {
                return Err(Error::invalid(
                    "contact_id",
                    format!(
                        "the event is for contact `{id}`, the profile is `{}`",
                        self.contact_id
                    ),
                ));
            }
            None => {
                return Err(Error::invalid(
                    "contact_id",
                    "an anonymous visitor's event has no profile; link the visitor to a contact first",
                ));
            }
        }
        if let Some(m) = message_activity(&event.kind)
            && let Some(record) = self.messages.get(&m.message_id)
        {
            if record.channel != m.channel {
                return Err(Error::invalid(
                    "channel",
                    format!(
                        "message `{}` went out on `{}`, this event says `{}`",
                        m.message_id, record.channel, m.channel
                    ),
                ));
            }
            if let (Some(known), Some(new)) = (&record.campaign_id, &m.campaign_id)
                && known != new
            {
                return Err(Error::invalid(
                    "campaign_id",
                    format!(
                        "message `{}` belongs to campaign `{known}`, this event says `{new}`",
                        m.message_id
                    ),
                ));
            }
        }
        if let EventKind::Searched(s) = &event.kind {
            query_key(s.query.as_str()).map_err(|e| e.within("query"))?;
        }
        Ok(())
    }

    /// Checks a profile read from storage.
    pub(crate) fn normalize(&mut self) -> Result<()> {
        if self.version != PROFILE_VERSION {
            return Err(Error::invalid(
                "version",
                format!(
                    "this patron reads profile version {PROFILE_VERSION}, got {}; rebuild the profile from events",
                    self.version
                ),
            ));
        }
        for (name, t) in [
            ("events", &self.events),
            ("activity", &self.activity),
            ("checkouts", &self.checkouts),
        ] {
            if let Some(t) = t {
                t.check(true).map_err(|e| e.within(name))?;
            }
        }
        check_tallies("category_views", &self.category_views)?;
        check_tallies("searches", &self.searches)?;
        check_tallies("coupons", &self.coupons)?;
        check_tallies("surveys", &self.surveys)?;
        check_tallies("custom", &self.custom)?;
        for (id, v) in &self.product_views {
            check_recent(&v.recent, v.count, v.first_at, v.last_at, true)
                .map_err(|e| e.within(&format!("product_views.{id}")))?;
        }
        for (id, m) in &self.messages {
            for (name, t) in [("opens", &m.opens), ("clicks", &m.clicks)] {
                if let Some(t) = t {
                    t.check(true)
                        .map_err(|e| e.within(&format!("messages.{id}.{name}")))?;
                }
            }
        }
        Ok(())
    }

    /// The orders that count as purchases, oldest first.
    pub fn purchases(&self) -> impl Iterator<Item = &PlacedOrder> {
        let mut placed: Vec<&PlacedOrder> = self
            .orders
            .values()
            .filter(|o| o.counts())
            .filter_map(|o| o.placed.as_ref())
            .collect();
        placed.sort_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
        placed.into_iter()
    }

    /// The purchases as transactions for [`crate::predict::summarize`]: one
    /// per order, dated by its UTC day. Refused when the orders mix currencies.
    pub fn transactions(&self) -> Result<Vec<crate::predict::Transaction>> {
        facts::single_currency(self)?;
        Ok(self
            .purchases()
            .map(|o| crate::predict::Transaction {
                contact_id: self.contact_id.clone(),
                date: crate::model::Date::from_naive(o.at.get().date_naive()),
                amount: o.total.get(),
            })
            .collect())
    }
}

fn message_activity(kind: &EventKind) -> Option<&MessageActivity> {
    match kind {
        EventKind::MessageSent(m)
        | EventKind::MessageDelivered(m)
        | EventKind::MessageOpened(m)
        | EventKind::MessageClicked(m)
        | EventKind::MessageUnsubscribed(m)
        | EventKind::MessageBounced(m)
        | EventKind::MessageComplained(m) => Some(m),
        _ => None,
    }
}

/// Builds the profile of every contact in an event log, in contact id
/// order. Events of anonymous visitors and catalog events are skipped; an
/// event a profile refuses fails the whole call, with its index in the path.
/// Contacts are folded in parallel.
pub fn build(events: &[Event]) -> Result<Vec<Profile>> {
    let mut by_contact: BTreeMap<&Id, Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if let (Some(id), false) = (&e.contact_id, e.kind.is_catalog()) {
            by_contact.entry(id).or_default().push(i);
        }
    }
    let groups: Vec<(&Id, Vec<usize>)> = by_contact.into_iter().collect();
    let built: Vec<std::result::Result<Profile, (usize, Error)>> = groups
        .into_par_iter()
        .map(|(id, indices)| {
            let mut profile = Profile::new(id.clone());
            for i in indices {
                profile.apply(&events[i]).map_err(|e| (i, e))?;
            }
            Ok(profile)
        })
        .collect();
    // The first failing event in the log, whichever thread met it first.
    let first_error = built
        .iter()
        .filter_map(|r| r.as_ref().err().map(|(i, _)| *i))
        .min();
    let mut profiles = Vec::with_capacity(built.len());
    for result in built {
        match result {
            Ok(p) => profiles.push(p),
            Err((i, e)) if Some(i) == first_error => return Err(e.within(&format!("[{i}]"))),
            Err(_) => {}
        }
    }
    Ok(profiles)
}

/// The purchases of every profile as transactions for
/// [`crate::predict::summarize`], profile by profile; see [`Profile::transactions`].
pub fn transactions(profiles: &[Profile]) -> Result<Vec<crate::predict::Transaction>> {
    let mut out = Vec::new();
    for (i, p) in profiles.iter().enumerate() {
        out.extend(p.transactions().map_err(|e| e.within(&format!("[{i}]")))?);
    }
    Ok(out)
}
