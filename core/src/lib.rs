//! # patron
//!
//! The logic of a marketing CRM for repeat sales, as a library a shop embeds.
//! A shop knows its customers: profiles, views, searches, carts, wishlists,
//! orders, reactions to messages. Patron turns that into decisions.
//!
//! The core is pure: no clock (every call that depends on time takes `now`),
//! no global state, no IO but the writers it is handed. The same functions serve Rust,
//! Python (`pip install patron`) and Node (`npm install patron`).
//!
//! ## The data model
//!
//! [`model`] holds contacts with typed attributes and per-channel consent, the
//! catalog, and events. [`parse`] reads them from JSON with validation; every
//! error names the field:
//!
//! ```
//! use patron::{parse, Contact};
//!
//! let contact: Contact = parse::from_json(r#"{
//!     "id": "c-1", "email": " Anna@Example.com ", "phone": "+49 30 1234567",
//!     "time_zone": "Europe/Berlin", "attributes": {"shoe_size": 38, "vip": true}
//! }"#)?;
//! assert_eq!(contact.email.unwrap().as_str(), "anna@example.com");
//! assert_eq!(contact.phone.unwrap().as_str(), "+49301234567");
//!
//! let err = parse::from_json::<Contact>(r#"{"id": "c-2", "time_zone": "Europe/Berlim"}"#).unwrap_err();
//! assert_eq!(err.path(), Some("time_zone"));
//! assert!(err.to_string().contains("did you mean `Europe/Berlin`?"));
//! # Ok::<(), patron::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
mod hash;
pub mod lifecycle;
pub mod message;
pub mod metrics;
pub mod model;
pub mod parse;
pub mod predict;
pub mod profile;
pub mod purchase;
pub mod recommend;
pub mod rfm;
pub mod sample;
pub mod segment;
mod suggest;
pub mod trigger;

pub use error::{Error, Location, Result};
pub use model::{Catalog, Category, ConsentChange, Contact, Event, EventKind, Product};
