//! # patron-store
//!
//! Run a shop on patron. The core decides and keeps nothing; this crate is
//! the shell around it that keeps the data and acts: a store of contacts,
//! events, profiles, trigger state, wake-ups, the outbox and its send log,
//! coupon claims, message events and segment history, on SQLite by
//! default; a worker that wakes contacts when they are due, with leases so
//! that several processes share one database; and a sender that renders
//! letters and hands them to SMTP or to the host's own channel.
//!
//! Every step is one transaction, and every letter has an id that is a
//! function of its contact and the decision that made it, so a crash at any
//! point loses nothing and a retry is recognisable.
//!
//! ```
//! use patron::model::Timestamp;
//! use patron_store::{Callback, Channel, Config, Store};
//!
//! let config: Config = serde_json::from_str(r#"{
//!   "triggers": {"rules": [{
//!     "id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
//!     "steps": [{"name": "1h", "delay": "1h", "template": "cart"}]}]},
//!   "templates": {"cart": {"subject": "Still thinking, {{ contact.first_name }}?", "text": "Your cart waits."}}
//! }"#).unwrap();
//! let dir = std::env::temp_dir().join(format!("patron-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let mut store = Store::open(dir.join("shop.db"), Some(config))?;
//!
//! let anna = patron::parse::from_json(r#"{"id": "anna", "first_name": "Anna", "email": "anna@example.com",
//!   "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}"#)?;
//! let t = Timestamp::parse("2024-05-01T10:00:00Z")?;
//! store.upsert_contacts(&[anna], t)?;
//! let cart = concat!(
//!     r#"{"type": "cart_updated", "id": "e1", "contact_id": "anna", "at": "2024-05-01T10:00:00Z", "#,
//!     r#""currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}"#,
//! );
//! let ingested = store.ingest_json_lines(cart, t)?;
//! assert_eq!(ingested.stored, 1);
//!
//! // An hour later the worker wakes Anna up and queues the reminder; the
//! // sender hands it to a channel (here the host's own function).
//! let later = Timestamp::parse("2024-05-01T11:00:00Z")?;
//! assert_eq!(store.run_due(later)?.queued, 1);
//! let mut letters = Vec::new();
//! let mut mine = Callback::new("email", |letter: &patron_store::Letter| {
//!     letters.push(letter.subject.clone());
//!     Ok(())
//! });
//! let sent = store.send(later, &mut [&mut mine as &mut dyn Channel])?;
//! assert_eq!(sent.sent, 1);
//! assert_eq!(letters, [Some("Still thinking, Anna?".to_string())]);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), patron_store::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
pub mod body;
mod channel;
pub mod cli;
mod config;
mod error;
pub mod link;
mod schema;
pub mod sink;
mod smtp;
mod sqlite;
mod store;

pub use backend::{Backend, Stats};
pub use channel::{Callback, Channel, Letter, Refusal};
pub use config::{Config, SenderConfig};
pub use error::{Error, Result};
pub use schema::VERSION as SCHEMA_VERSION;
pub use smtp::Smtp;
pub use sqlite::Sqlite;
pub use store::{Claimed, ContactView, Finished, Ingested, OutboxEntry, Ran, Sent, Store};
