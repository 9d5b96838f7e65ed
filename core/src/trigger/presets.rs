//! The classic triggered scenarios, as data built with the public rule
//! format: double opt-in with a reminder, a welcome chain, the order
//! confirmation, abandoned cart (1 hour, 1 day, 3 days; ended by the
//! order), browse abandonment, wishlist price drop, back in stock and low
//! stock, post-purchase (rating, accessories, review), replacement, win-back
//! at 3, 6 and 9 months with growing discounts, the average-interval
//! reminder and stimulation, birthday, and a manager's call for a lapsed
//! valuable customer.
//!
//! They are a starting point: read them with [`config`], change what your
//! shop needs (templates, delays, pools), and build an
//! [`Engine`](super::Engine). The file is `core/src/trigger/presets.json`;
//! `docs/triggers.md` explains each one.
//!
//! ```
//! use patron::trigger::{presets, Engine};
//!
//! let config = presets::config()?;
//! assert!(config.rules.iter().any(|r| r.id.as_str() == "abandoned_cart"));
//! let engine = Engine::new(config, None)?;
//! # let _ = engine;
//! # Ok::<(), patron::Error>(())
//! ```

use super::rule::Config;
use crate::error::Result;

/// The presets' JSON text.
pub const PRESETS_JSON: &str = include_str!("presets.json");

/// Every preset rule, with the segments they use and the default policy.
pub fn config() -> Result<Config> {
    crate::parse::from_json(PRESETS_JSON)
}
