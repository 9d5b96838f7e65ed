//! Triggered messages: rules that start chains of steps on what a contact
//! does (or stops doing), and the engine that runs them one contact at a
//! time, keeping no state between calls.
//!
//! A [`Rule`] has a [`Trigger`] (a product, an event, a date, a schedule, a
//! segment, a lifecycle move, the average-interval rule), an optional
//! condition (a segment rule), a chain of [`Step`]s with delays, exits that
//! end the chain early, and a re-entry policy. The [`Policy`] over all rules
//! sets frequency caps, quiet hours, the channel order and the control
//! group. Everything is data with a serde JSON form; [`Engine::new`] checks
//! it whole.
//!
//! The engine keeps nothing: each call takes the contact's [`ContactState`]
//! (which the host stores) and returns an [`Outcome`]: the new state, the
//! [`Action`]s to execute now, and when to call [`Engine::due`] next.
//!
//! ```
//! use patron::{parse, profile::Profile, trigger::{ContactState, Engine}, Contact, Event};
//! use patron::model::Timestamp;
//!
//! let engine = Engine::from_json(r#"{"rules": [{
//!     "id": "abandoned_cart",
//!     "trigger": {"on": "product", "action": "carted"},
//!     "reentry": {"type": "always"}, "on_repeat": "restart",
//!     "steps": [{"delay": "1h", "template": "cart_1"}, {"delay": "1d", "template": "cart_2"}],
//!     "exit": [{"on": "event", "event": "order_placed", "same_products": true}]
//! }]}"#, None)?;
//! let anna: Contact = parse::from_json(r#"{"id": "anna", "email": "anna@example.com",
//!     "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}"#)?;
//! let cart: Event = parse::from_json(r#"{"type": "cart_updated", "id": "e1", "contact_id": "anna",
//!     "at": "2024-05-01T10:00:00Z", "currency": "EUR",
//!     "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}"#)?;
//!
//! // The host folds the event into the profile, then asks the engine.
//! let mut profile = Profile::new(anna.id.clone());
//! profile.apply(&cart)?;
//! let mut facts = profile.facts(cart.at, None)?;
//! facts.contact = Some(anna.clone());
//! let out = engine.handle(&ContactState::new(anna.id.clone()), &facts, &cart, cart.at)?;
//! assert!(out.actions.is_empty());
//! assert_eq!(out.next_wakeup, Some(Timestamp::parse("2024-05-01T11:00:00Z")?));
//!
//! // At the wake-up, the first reminder is due.
//! let later = Timestamp::parse("2024-05-01T11:00:00Z")?;
//! let out = engine.due(&out.state, &profile.facts(later, None).map(|mut f| { f.contact = Some(anna); f })?, later)?;
//! assert_eq!(out.actions[0].id, "abandoned_cart/e1/1");
//! assert_eq!(out.next_wakeup, Some(Timestamp::parse("2024-05-02T11:00:00Z")?));
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! What the engine guarantees, each kept by a property test:
//! - a marketing message never goes to a channel without confirmed consent
//!   (transactional ones only need that the contact has not opted out);
//! - an event delivered twice (same id) changes nothing, and action ids are
//!   stable, so a replayed stream never duplicates an action;
//! - a chain that exited never sends again.

mod action;
pub(crate) mod clock;
mod engine;
pub mod presets;
mod rule;
mod simulate;
mod state;

pub use action::{
    Action, ActionKind, DeferReason, ExitReason, HoldoutLevel, Ignored, Outcome, SkipReason,
};
pub use clock::{Delay, LocalTime};
pub use engine::Engine;
pub use rule::{
    AtRiskTrigger, Cap, Config, DateTrigger, EventTrigger, Every, Exit, ExitEvent, ExitGoal,
    ExitSegment, KeyBy, LifecycleTrigger, NextOrderTrigger, OnRepeat, Policy, ProductAction,
    ProductTrigger, QuietHours, Reentry, Rule, ScheduleTrigger, SegmentTrigger, Step, Trigger,
    Want, WhenCapped,
};
pub use simulate::simulate;
pub(crate) use state::STATE_VERSION_TEXT;
pub use state::{
    ContactState, Instance, RuleHistory, STATE_VERSION, Seen, SegmentsUntil, Sent, Withdrawal,
    migrate,
};
