//! Events: everything that happens to a contact, to the catalog, or to a message.
//!
//! The JSON form is one flat object tagged by `type`:
//!
//! ```json
//! {"type": "order_placed", "id": "e-17", "contact_id": "c-1", "at": "2024-05-01T10:00:00Z",
//!  "order_id": "o-9", "lines": [{"product_id": "p-1", "quantity": 1, "unit_price": 20}],
//!  "total": 20, "currency": "EUR"}
//! ```
//!
//! Every event has an `id` (the idempotency key: the same id twice is the same
//! event), a time `at` with an offset, and, for contact events, a `contact_id`
//! or an anonymous `visitor_id`. Catalog events (`price_changed`,
//! `stock_changed`, `product_added`) belong to no contact and carry neither.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;

use super::attribute::Attributes;
use super::catalog::Product;
use super::consent::{ConsentAction, ConsentChange, Purpose};
use super::scalar::{Channel, Currency, Id, Money, Name, Quantity, Text, Timestamp, Url};
use crate::error::{Error, Result};

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Idempotency key.
    pub id: Id,
    /// The contact, when known.
    pub contact_id: Option<Id>,
    /// The anonymous visitor, before the contact is known.
    pub visitor_id: Option<Id>,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

/// A product seen on its page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductViewed {
    /// The product.
    pub product_id: Id,
    /// The category it was seen in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<Id>,
    /// The price shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// Currency of the price shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// A category page seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryViewed {
    /// The category.
    pub category_id: Id,
}

/// A search on the site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Searched {
    /// What was typed.
    pub query: Text,
    /// How many results the shop showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<u64>,
}

/// One line of a cart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    /// The product.
    pub product_id: Id,
    /// How many.
    pub quantity: Quantity,
    /// Price of one unit.
    pub unit_price: Money,
}

/// The whole cart after a change: every line, not a delta. No lines means an
/// emptied cart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartUpdated {
    /// All lines now in the cart.
    pub lines: Vec<CartLine>,
    /// Currency of the prices.
    pub currency: Currency,
}

/// Checkout began.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutStarted {
    /// Cart total at checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// Currency of the total; required with a total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// The product.
    pub product_id: Id,
    /// How many.
    pub quantity: Quantity,
    /// Price of one unit, as paid.
    pub unit_price: Money,
    /// The product's category at the time of the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<Id>,
}

/// An order was placed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPlaced {
    /// The shop's order id.
    pub order_id: Id,
    /// What was bought; at least one line.
    pub lines: Vec<OrderLine>,
    /// What the customer paid, after discounts, with shipping as the shop counts it.
    pub total: Money,
    /// Currency of all amounts.
    pub currency: Currency,
    /// Coupon code used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<Text>,
}

/// Where an order stands after it was placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Paid.
    Paid,
    /// Handed to the carrier.
    Shipped,
    /// Received by the customer.
    Delivered,
    /// Cancelled before delivery.
    Cancelled,
    /// Sent back.
    Returned,
}

/// An order changed status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusChanged {
    /// The order.
    pub order_id: Id,
    /// Its new status.
    pub status: OrderStatus,
}

/// A product added to or removed from the wishlist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WishlistChanged {
    /// The product.
    pub product_id: Id,
}

/// A consent change; the event's `at` is the time of the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentChanged {
    /// The channel.
    pub channel: Channel,
    /// The purpose.
    pub purpose: Purpose,
    /// What happened.
    pub action: ConsentAction,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Text>,
    /// From which IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Why the contact opted out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

impl ConsentChanged {
    /// The change this event records, at time `at`.
    pub fn to_change(&self, at: Timestamp) -> ConsentChange {
        ConsentChange {
            channel: self.channel.clone(),
            purpose: self.purpose,
            action: self.action,
            at,
            source: self.source.clone(),
            ip: self.ip,
            reason: self.reason.clone(),
        }
    }
}

/// Something that happened to a message: sent, delivered, opened, clicked,
/// unsubscribed, bounced or complained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageActivity {
    /// The message.
    pub message_id: Id,
    /// The campaign or trigger rule it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Id>,
    /// The channel it went through.
    pub channel: Channel,
    /// The link clicked (only on `message_clicked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// The step of a chain (trigger rule) the message belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Name>,
    /// The A/B variant the message belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Name>,
}

/// A coupon was used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponRedeemed {
    /// The code.
    pub code: Text,
    /// The order it was used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Id>,
}

/// Answers to a survey or rating request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswered {
    /// The survey.
    pub survey_id: Id,
    /// Answers by question.
    #[serde(default)]
    pub answers: Attributes,
}

/// An event the shop defines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    /// The event name.
    pub name: Name,
    /// Typed properties.
    #[serde(default)]
    pub properties: Attributes,
}

/// A product's price changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceChanged {
    /// The product.
    pub product_id: Id,
    /// The new price.
    pub price: Money,
    /// The price before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_price: Option<Money>,
    /// Currency of both prices.
    pub currency: Currency,
}

/// A product's stock changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockChanged {
    /// The product.
    pub product_id: Id,
    /// Units in stock now.
    pub stock: u64,
    /// Units in stock before the change, when the shop knows: back-in-stock
    /// and low-stock triggers fire on the crossing, not on every update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_stock: Option<u64>,
    /// Whether it can be bought now, when the shop says so explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

/// A product joined the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductAdded {
    /// The product (boxed: a product is much larger than any other event).
    pub product: Box<Product>,
}

/// Declares the event kinds once: the enum, the `type` names, and the dispatch
/// from a name to its payload type.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident($payload:ty) = $name:literal,)*) => {
        /// What happened; the `type` of the JSON form selects the variant.
        #[derive(Clone, Debug, PartialEq)]
        pub enum EventKind {
            $($(#[$doc])* $variant($payload),)*
        }

        impl EventKind {
            /// Every `type` name, in declaration order.
            pub const TYPES: &'static [&'static str] = &[$($name),*];

            /// The `type` name of this event.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(EventKind::$variant(_) => $name,)*
                }
            }

            /// Reads the payload for `type_name`; `None` for an unknown type.
            pub(crate) fn deserialize_payload<'de, D: Deserializer<'de>>(
                type_name: &str,
                d: D,
            ) -> Option<Result<Self, D::Error>> {
                match type_name {
                    $($name => Some(<$payload>::deserialize(d).map(EventKind::$variant)),)*
                    _ => None,
                }
            }
        }

        impl Serialize for EventKind {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(EventKind::$variant(p) => p.serialize(s),)*
                }
            }
        }
    };
}

event_kinds! {
    /// A product page was seen.
    ProductViewed(ProductViewed) = "product_viewed",
    /// A category page was seen.
    CategoryViewed(CategoryViewed) = "category_viewed",
    /// A search was made.
    Searched(Searched) = "searched",
    /// The cart changed; the payload is the whole cart.
    CartUpdated(CartUpdated) = "cart_updated",
    /// Checkout began.
    CheckoutStarted(CheckoutStarted) = "checkout_started",
    /// An order was placed.
    OrderPlaced(OrderPlaced) = "order_placed",
    /// An order changed status.
    OrderStatusChanged(OrderStatusChanged) = "order_status_changed",
    /// A product was added to the wishlist.
    WishlistAdded(WishlistChanged) = "wishlist_added",
    /// A product was removed from the wishlist.
    WishlistRemoved(WishlistChanged) = "wishlist_removed",
    /// Consent changed.
    ConsentChanged(ConsentChanged) = "consent_changed",
    /// A message was handed to the provider.
    MessageSent(MessageActivity) = "message_sent",
    /// The provider delivered it.
    MessageDelivered(MessageActivity) = "message_delivered",
    /// The contact opened it.
    MessageOpened(MessageActivity) = "message_opened",
    /// The contact clicked a link in it.
    MessageClicked(MessageActivity) = "message_clicked",
    /// The contact unsubscribed through it.
    MessageUnsubscribed(MessageActivity) = "message_unsubscribed",
    /// It bounced.
    MessageBounced(MessageActivity) = "message_bounced",
    /// The contact marked it as spam.
    MessageComplained(MessageActivity) = "message_complained",
    /// A coupon was used.
    CouponRedeemed(CouponRedeemed) = "coupon_redeemed",
    /// A survey was answered.
    SurveyAnswered(SurveyAnswered) = "survey_answered",
    /// A shop-defined event.
    Custom(Custom) = "custom",
    /// A product's price changed.
    PriceChanged(PriceChanged) = "price_changed",
    /// A product's stock changed.
    StockChanged(StockChanged) = "stock_changed",
    /// A product joined the catalog.
    ProductAdded(ProductAdded) = "product_added",
}

impl EventKind {
    /// Whether this is a catalog event, which belongs to no contact.
    pub fn is_catalog(&self) -> bool {
        matches!(
            self,
            EventKind::PriceChanged(_) | EventKind::StockChanged(_) | EventKind::ProductAdded(_)
        )
    }
}

impl Event {
    /// The `type` name.
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// Checks the rules that span fields.
    pub(crate) fn normalize(&mut self) -> Result<()> {
        let who = self.contact_id.is_some() || self.visitor_id.is_some();
        if self.kind.is_catalog() {
            if who {
                let field = if self.contact_id.is_some() {
                    "contact_id"
                } else {
                    "visitor_id"
                };
                return Err(Error::invalid(
                    field,
                    format!("a {} event belongs to no contact", self.type_name()),
                ));
            }
        } else if !who {
            return Err(Error::invalid(
                "contact_id",
                format!(
                    "a {} event needs `contact_id` or `visitor_id`",
                    self.type_name()
                ),
            ));
        }
        match &mut self.kind {
            EventKind::OrderPlaced(o) if o.lines.is_empty() => {
                Err(Error::invalid("lines", "expected at least one order line"))
            }
            EventKind::CheckoutStarted(c) if c.total.is_some() && c.currency.is_none() => Err(
                Error::invalid("currency", "a checkout total needs its currency"),
            ),
            EventKind::ProductViewed(v) if v.price.is_some() && v.currency.is_none() => {
                Err(Error::invalid("currency", "a price needs its currency"))
            }
            EventKind::MessageSent(m)
            | EventKind::MessageDelivered(m)
            | EventKind::MessageOpened(m)
            | EventKind::MessageUnsubscribed(m)
            | EventKind::MessageBounced(m)
            | EventKind::MessageComplained(m)
                if m.url.is_some() =>
            {
                Err(Error::invalid("url", "only message_clicked carries a url"))
            }
            EventKind::ProductAdded(p) => p.product.normalize().map_err(|e| e.within("product")),
            _ => Ok(()),
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The flat JSON form: common fields first, then the payload's.
        #[derive(Serialize)]
        struct Flat<'a> {
            #[serde(rename = "type")]
            type_name: &'static str,
            id: &'a Id,
            #[serde(skip_serializing_if = "Option::is_none")]
            contact_id: &'a Option<Id>,
            #[serde(skip_serializing_if = "Option::is_none")]
            visitor_id: &'a Option<Id>,
            at: &'a Timestamp,
            #[serde(flatten)]
            kind: &'a EventKind,
        }
        Flat {
            type_name: self.type_name(),
            id: &self.id,
            contact_id: &self.contact_id,
            visitor_id: &self.visitor_id,
            at: &self.at,
            kind: &self.kind,
        }
        .serialize(s)
    }
}
