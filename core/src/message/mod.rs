//! Messages: personalized templates, channels (email, SMS, push), mass
//! campaigns with a control group, and personal coupons.
//!
//! A [`Template`] is compiled once from a [`TemplateSpec`] (tera syntax,
//! Jinja-like) and rendered per [`Recipient`]: the contact with fallbacks,
//! facts, RFM, segments, recommendation blocks through partials, the coupon
//! and the links the host built. See [`context`] for every name a template
//! sees.
//!
//! ```
//! use patron::message::{MessageInfo, Recipient, Template, TemplateSpec};
//! use patron::{model::Timestamp, parse, Contact};
//!
//! let spec: TemplateSpec = serde_json::from_str(r#"{
//!   "subject": "{{ contact.first_name }}, {{ blocks.viewed | length }} picks for you",
//!   "html": "<p>Hi {{ contact.first_name }}!</p>{% for product in blocks.viewed %}{% include \"card\" %}{% endfor %}",
//!   "partials": {"card": "<a href=\"{{ product.url }}\">{{ product.name }}</a>"},
//!   "fallbacks": {"first_name": "friend"}
//! }"#).unwrap();
//! let template = Template::new(spec)?;
//! let recipient: Recipient = serde_json::from_str(r#"{
//!   "contact": {"id": "c-1", "first_name": "<b>Ann</b>"},
//!   "blocks": {"viewed": [{"id": "p-1", "name": "Red shoes", "price": 50, "currency": "EUR",
//!                          "url": "https://shop.example/p/1"}]}
//! }"#).unwrap();
//! let now = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let info = MessageInfo { campaign_id: Some("summer".parse()?), ..Default::default() };
//! let letter = template.render(&recipient, now, &info)?;
//! assert_eq!(letter.subject.as_deref(), Some("<b>Ann</b>, 1 picks for you"));
//! assert_eq!(letter.html.as_deref(), Some(
//!     "<p>Hi &lt;b&gt;Ann&lt;/b&gt;!</p>\
//!      <a href=\"https://shop.example/p/1?utm_campaign=summer\">Red shoes</a>"));
//! # let _ = parse::from_json::<Contact>("{\"id\": \"x\"}")?;
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! Channels: [`sms`] measures a text (GSM-7 or UCS-2, length, parts) and fits
//! it to a number of parts; [`push`] checks title and body limits.
//! [`campaign`] renders an audience in parallel, holds out a control group
//! and streams the letters to a writer. [`coupon`] issues one code per
//! contact per campaign from an uploaded pool or a generator.

pub mod campaign;
pub mod context;
pub mod coupon;
pub mod push;
pub mod sms;
mod template;

pub use context::{CouponView, MessageInfo, Recipient};
pub use template::{Message, Problem, Template, TemplateSpec};
