//! What can change a segment's membership: events of which kinds, and the
//! passing of time. [`Registry::update_after`](super::Registry::update_after)
//! re-evaluates only the segments the new event (or the time it moved the
//! facts to) can change, and keeps the rest from the last membership.
//!
//! The map from fields to events is conservative: a field is listed under
//! every kind of event that can change it (`cart.value` under carts and
//! orders, since an order checks the cart out). Facts that change without an
//! event (the contact's record edited, RFM scored again) are not here: after
//! those the host calls [`Registry::update`](super::Registry::update).

use super::read::{CartStat, Field, TallyMap, Top};
use super::{Condition, Expr, Op, Operand};
use crate::model::EventKind;

/// The events and whether time can change a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Depends {
    /// A bit per kind of event (see [`event_bit`]).
    events: u32,
    /// Whether the rule reads the facts' `as_of` (relative times, windows,
    /// days since).
    time: bool,
}

const VIEWS: u32 = 1 << 0;
const SEARCHES: u32 = 1 << 1;
const CARTS: u32 = 1 << 2;
const CHECKOUTS: u32 = 1 << 3;
const ORDERS: u32 = 1 << 4;
const WISHLISTS: u32 = 1 << 5;
const CONSENT: u32 = 1 << 6;
const MESSAGES: u32 = 1 << 7;
const COUPONS: u32 = 1 << 8;
const SURVEYS: u32 = 1 << 9;
const CUSTOM: u32 = 1 << 10;
const CATALOG: u32 = 1 << 11;
/// The contact's own actions ([`crate::profile::is_activity`]).
const ACTIVITY: u32 = VIEWS
    | SEARCHES
    | CARTS
    | CHECKOUTS
    | ORDERS
    | WISHLISTS
    | CONSENT
    | MESSAGES
    | COUPONS
    | SURVEYS
    | CUSTOM;
const ANY: u32 = u32::MAX;

/// The bit of an event's kind.
pub(crate) fn event_bit(kind: &EventKind) -> u32 {
    match kind {
        EventKind::ProductViewed(_) | EventKind::CategoryViewed(_) => VIEWS,
        EventKind::Searched(_) => SEARCHES,
        EventKind::CartUpdated(_) => CARTS,
        EventKind::CheckoutStarted(_) => CHECKOUTS,
        EventKind::OrderPlaced(_) | EventKind::OrderStatusChanged(_) => ORDERS,
        EventKind::WishlistAdded(_) | EventKind::WishlistRemoved(_) => WISHLISTS,
        EventKind::ConsentChanged(_) => CONSENT,
        EventKind::MessageSent(_)
        | EventKind::MessageDelivered(_)
        | EventKind::MessageOpened(_)
        | EventKind::MessageClicked(_)
        | EventKind::MessageUnsubscribed(_)
        | EventKind::MessageBounced(_)
        | EventKind::MessageComplained(_) => MESSAGES,
        EventKind::CouponRedeemed(_) => COUPONS,
        EventKind::SurveyAnswered(_) => SURVEYS,
        EventKind::Custom(_) => CUSTOM,
        EventKind::PriceChanged(_) | EventKind::StockChanged(_) | EventKind::ProductAdded(_) => {
            CATALOG
        }
    }
}

impl Depends {
    const NOTHING: Depends = Depends {
        events: 0,
        time: false,
    };

    fn on(events: u32) -> Depends {
        Depends {
            events,
            time: false,
        }
    }

    fn with_time(self) -> Depends {
        Depends { time: true, ..self }
    }

    pub(crate) fn union(self, other: Depends) -> Depends {
        Depends {
            events: self.events | other.events,
            time: self.time || other.time,
        }
    }

    /// Whether an event of kind `bit`, which also moves the facts' `as_of`,
    /// can change a rule with these dependencies.
    pub(crate) fn moved_by(self, bit: u32) -> bool {
        self.time || self.events & bit != 0
    }

    /// What a rule depends on, with `segment` giving what a referred
    /// segment depends on.
    pub(crate) fn of(expr: &Expr, segment: &mut dyn FnMut(&str) -> Depends) -> Depends {
        match expr {
            Expr::All(items) | Expr::Any(items) => items
                .iter()
                .fold(Depends::NOTHING, |d, e| d.union(Depends::of(e, segment))),
            Expr::Not(inner) => Depends::of(inner, segment),
            Expr::Segment(name) => segment(name),
            Expr::Bucket { .. } => Depends::NOTHING,
            Expr::Compare(c) => condition(c),
        }
    }
}

fn condition(c: &Condition) -> Depends {
    let mut d = field(&c.read);
    if let Operand::Field(_, other) = &c.operand {
        d = d.union(field(other));
    }
    let relative = matches!(
        c.op,
        Op::WithinLastDays | Op::MoreThanDaysAgo | Op::AnniversaryWithinDays
    );
    if relative || c.within_days.is_some() {
        d = d.with_time();
    }
    d
}

fn field(f: &Field) -> Depends {
    match f {
        Field::ContactId => Depends::NOTHING,
        Field::AsOf => Depends::NOTHING.with_time(),
        Field::Top(top) => match top {
            Top::DaysSinceLastOrder | Top::AtRisk => Depends::on(ORDERS).with_time(),
            Top::FirstSeenAt => Depends::on(ANY),
            Top::LastActivityAt => Depends::on(ACTIVITY),
            Top::DaysSinceLastActivity => Depends::on(ACTIVITY).with_time(),
            _ => Depends::on(ORDERS),
        },
        Field::Bought(..) => Depends::on(ORDERS),
        Field::Tally(map, _, _) => Depends::on(match map {
            TallyMap::ViewedProducts | TallyMap::ViewedCategories | TallyMap::ViewedBrands => VIEWS,
            TallyMap::Searches => SEARCHES,
            TallyMap::Coupons => COUPONS,
            TallyMap::Surveys => SURVEYS,
            TallyMap::CustomEvents => CUSTOM,
        }),
        // An order checks the cart out.
        Field::Cart(CartStat::AgeSeconds) => Depends::on(CARTS | ORDERS).with_time(),
        Field::Cart(_) => Depends::on(CARTS | ORDERS),
        Field::Wishlist(_) => Depends::on(WISHLISTS),
        Field::Checkouts(_) => Depends::on(CHECKOUTS),
        Field::Message(..) => Depends::on(MESSAGES),
        // The contact's record comes from the host, which may update it
        // with a consent change.
        Field::Contact(_) | Field::Attribute(_) | Field::Consent(..) => Depends::on(CONSENT),
        // Snapshots taken when the facts are built: orders move them, and
        // the lifecycle cell and predictions move with `as_of`.
        Field::Rfm(_) => Depends::on(ORDERS),
        Field::Lifecycle(_) | Field::Predicted(_) => Depends::on(ORDERS).with_time(),
    }
}
