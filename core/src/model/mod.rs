//! The data model: contacts, consent, the catalog and events.
//!
//! Every type here is serde-serializable, and its JSON form is the contract
//! that Rust, Python and Node share. Values are valid by construction: see
//! [`crate::parse`] for reading them with errors that name the field.

mod attribute;
mod catalog;
mod consent;
mod contact;
pub(crate) mod currency;
mod event;
pub mod scalar;

pub use attribute::{AttributeValue, Attributes};
pub use catalog::{Catalog, CatalogIndex, Category, Product, ProductLinks};
pub use consent::{ConsentAction, ConsentChange, ConsentRecord, ConsentStatus, Consents, Purpose};
pub use contact::{Contact, Gender, Source};
pub use event::{
    CartLine, CartUpdated, CategoryViewed, CheckoutStarted, ConsentChanged, CouponRedeemed, Custom,
    Event, EventKind, MessageActivity, OrderLine, OrderPlaced, OrderStatus, OrderStatusChanged,
    PriceChanged, ProductAdded, ProductViewed, Searched, StockChanged, SurveyAnswered,
    WishlistChanged,
};
pub use scalar::{
    Channel, Country, Currency, Date, Email, Id, Locale, Money, Name, Phone, Quantity, Rating,
    Text, TimeZone, Timestamp, Url,
};
