//! Trigger rules as data: what starts a chain, the steps it sends, what
//! stops it, how often it may start again, and the delivery policy over all
//! rules. [`super::Engine::new`] checks a [`Config`] as a whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::clock::{Delay, LocalTime};
use crate::model::{Channel, Id, Name, Purpose, Text, TimeZone};
use crate::segment::ChangeKind;

/// Everything the engine runs: rules, the segments they name, and the
/// delivery policy. The JSON form is one object with these fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The rules, each with a unique `id`.
    pub rules: Vec<Rule>,
    /// Named segments (name to rule, as [`crate::segment::Registry`] reads
    /// them) that triggers, conditions and exits refer to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<String, Value>,
    /// Caps, quiet hours, channels, control group.
    #[serde(default)]
    pub policy: Policy,
    /// The template ids the host has; when given, a step naming another is
    /// refused when the engine is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<String>>,
    /// The coupon pools the host has; when given, a step naming another is
    /// refused when the engine is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_pools: Option<Vec<String>>,
}

/// One trigger rule: a trigger, an optional condition, a chain of steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique among the rules; it names the rule in actions and state.
    pub id: Name,
    /// What the rule is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// Marketing (consent, caps, quiet hours and control groups apply) or
    /// transactional (sent at once to any address not opted out).
    #[serde(default = "marketing")]
    pub purpose: Purpose,
    /// What starts an instance of the chain.
    pub trigger: Trigger,
    /// A segment rule (JSON or text) the contact must match when the
    /// trigger fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    /// The chain, in order; at least one step.
    pub steps: Vec<Step>,
    /// What ends an instance early; checked on every event and before every step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit: Vec<Exit>,
    /// How often the rule may start again for one contact.
    #[serde(default)]
    pub reentry: Reentry,
    /// What tells two instances apart for `once_per_key` and `on_repeat`.
    #[serde(default)]
    pub key: KeyBy,
    /// What a trigger does while an instance with the same key runs.
    #[serde(default)]
    pub on_repeat: OnRepeat,
    /// Higher goes first when several steps fall due together.
    #[serde(default)]
    pub priority: i32,
    /// What a frequency cap does to this rule's messages.
    #[serde(default)]
    pub when_capped: WhenCapped,
    /// Percent of contacts held out of the whole rule (0 to 100).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout_percent: f64,
}

fn marketing() -> Purpose {
    Purpose::Marketing
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// What starts a chain. The JSON form is tagged by `on`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Trigger {
    /// Something done to or happening to a product.
    Product(ProductTrigger),
    /// Any event by type (and, for `custom`, name), with property filters.
    Event(EventTrigger),
    /// Every year on a date from the contact's record, with an offset.
    Date(DateTrigger),
    /// A recurring schedule on the contact's wall clock.
    Schedule(ScheduleTrigger),
    /// Entering or leaving a segment.
    Segment(SegmentTrigger),
    /// Moving between regions of the lifecycle grid.
    Lifecycle(LifecycleTrigger),
    /// The average-interval rule flipping to "at risk": the next order is overdue.
    AtRisk(AtRiskTrigger),
    /// A number of days before or after the expected next order (the last
    /// purchase day plus the mean interval): remind before it, stimulate after.
    NextOrder(NextOrderTrigger),
}

/// What happened to the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductAction {
    /// `product_viewed`.
    Viewed,
    /// `searched` (filter by `queries`).
    Searched,
    /// `cart_updated` with the product in the cart.
    Carted,
    /// `order_placed` with the product in the order.
    Ordered,
    /// `wishlist_added`.
    Wishlisted,
    /// `price_changed` to a lower price, for a contact who wants the product.
    PriceDropped,
    /// `stock_changed` from none to some, for a contact who wants the product.
    BackInStock,
    /// `stock_changed` to `below` or fewer units, for a contact who wants the product.
    LowStock,
}

/// Where a contact shows they want a product (for catalog triggers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Want {
    /// On the wishlist.
    Wishlist,
    /// In the open cart.
    Cart,
    /// Viewed in the last 30 days.
    Viewed,
}

/// A product trigger; empty filters match any product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductTrigger {
    /// What happened.
    pub action: ProductAction,
    /// Only these products.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Id>,
    /// Only products in these categories (or their subcategories; needs the catalog).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Id>,
    /// Only products of these brands (needs the catalog).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brands: Vec<Text>,
    /// For `searched`: only queries containing one of these words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<Text>,
    /// For `price_dropped`: the least drop, in percent of the old price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_drop_percent: Option<f64>,
    /// For `low_stock`: the stock at or under which it fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<u64>,
    /// For catalog triggers: where the contact must want the product.
    #[serde(default = "wanted_by_default")]
    pub wanted_by: Vec<Want>,
}

fn wanted_by_default() -> Vec<Want> {
    vec![Want::Wishlist, Want::Cart]
}

/// An event trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTrigger {
    /// The event `type`, e.g. `consent_changed`, `order_status_changed`, `custom`.
    pub event: String,
    /// For `custom` events: the event's `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Fields of the event's JSON form (dotted paths, e.g.
    /// `properties.plan`) and the values they must equal.
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, Value>,
}

/// A yearly date from the contact's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateTrigger {
    /// `birthday`, `created_at`, or `attributes.<name>` (a datetime attribute).
    pub field: String,
    /// Days after the date (negative: before; `-7` is a week before a birthday).
    #[serde(default)]
    pub offset_days: i64,
    /// The local time of day it fires.
    #[serde(default = "ten")]
    pub at: LocalTime,
}

fn ten() -> LocalTime {
    LocalTime::new(10, 0).unwrap_or(LocalTime::new(0, 0).expect("midnight exists"))
}

/// How often a schedule repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    /// Every day.
    Day,
    /// Every week on `weekday`.
    Week,
    /// Every month on `day` (the month's last day when it is shorter).
    Month,
}

/// A recurring schedule on the contact's wall clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    /// How often.
    pub every: Every,
    /// The local time of day.
    #[serde(default = "ten")]
    pub at: LocalTime,
    /// For weekly schedules: `mon` to `sun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<chrono::Weekday>,
    /// For monthly schedules: the day of the month, 1 to 31.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u32>,
}

/// Entering or leaving a segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentTrigger {
    /// The segment, from the config's `segments`.
    pub segment: String,
    /// `entered` or `left`.
    pub change: ChangeKind,
}

/// Moving between lifecycle regions (`new`, `growing`, `best`, ...); a
/// missing side matches any region, including none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleTrigger {
    /// The region left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The region entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The average-interval rule flipping to "at risk".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtRiskTrigger {}

/// Days from the expected next order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextOrderTrigger {
    /// Days after the expected date (negative: before it).
    #[serde(default)]
    pub offset_days: i64,
    /// The local time of day it fires.
    #[serde(default = "ten")]
    pub at: LocalTime,
}

/// One step of a chain: wait, then send one message, create one manager
/// task, or call one webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's name, unique in its rule; defaults to its position (`1`, `2`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Time after the trigger (first step) or after the previous step ran.
    #[serde(default)]
    pub delay: Delay,
    /// After the delay, wait until this local time of day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<LocalTime>,
    /// Channels to try in order; the first the contact can receive is used.
    /// Empty: the policy's order (cheapest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// The message template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// A coupon pool to issue a personal code from, with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_pool: Option<String>,
    /// A task for a manager instead of a message ("call the client").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Text>,
    /// A webhook for the host to call instead of a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Text>,
    /// A segment rule the contact must match for this step; else the step is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    /// Percent of contacts held out of this step alone.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout_percent: f64,
}

/// What ends an instance early. The JSON form is tagged by `on`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Exit {
    /// An event of this type (dated at or after the instance started).
    Event(ExitEvent),
    /// The contact left a segment.
    LeftSegment(ExitSegment),
    /// The contact matches a segment rule: the goal is reached.
    Goal(ExitGoal),
}

/// An exit on an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitEvent {
    /// The event `type`.
    pub event: String,
    /// For `custom` events: the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Fields of the event's JSON form and the values they must equal.
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, Value>,
    /// Only when the event names a product the instance is about (an order
    /// with one of the cart's products ends that cart's chain).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_products: bool,
}

/// An exit on leaving a segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitSegment {
    /// The segment.
    pub segment: String,
}

/// An exit on reaching a goal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitGoal {
    /// A segment rule, JSON or text.
    pub condition: Value,
}

/// How often a rule may start again for one contact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reentry {
    /// Once per key (with the default key, once per contact; for date and
    /// schedule triggers, once per occurrence).
    #[default]
    OncePerKey,
    /// Once per contact, ever, whatever the key.
    Once,
    /// Again only when `period` has passed since the last start.
    Cooldown {
        /// The quiet period.
        period: Delay,
    },
    /// At most `times` starts in any `per`.
    AtMost {
        /// How many.
        times: u32,
        /// In what window.
        per: Delay,
    },
    /// Every time the trigger fires.
    Always,
}

/// What tells instances of a rule apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyBy {
    /// The trigger's natural key: the occurrence's date for date and
    /// schedule triggers, nothing (one key per contact) for the others.
    #[default]
    Default,
    /// The product (or, for carts and orders, the sorted set of products).
    Products,
    /// The order id (`order_placed`, `order_status_changed`).
    Order,
    /// The triggering event's id: every event is its own key.
    Event,
}

/// What a trigger does while an instance with the same key runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRepeat {
    /// The running instance goes on; the new trigger is ignored.
    #[default]
    Keep,
    /// The running instance ends and a new one starts from the first step
    /// (an abandoned-cart chain counts from the last cart change).
    Restart,
}

/// What a frequency cap does to a message that would exceed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenCapped {
    /// Wait until the cap allows it.
    #[default]
    Defer,
    /// Skip the step (recorded) and go on with the chain.
    Drop,
}

/// Delivery policy over all rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Frequency caps on marketing messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<Cap>,
    /// When marketing messages wait, on the contact's wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// The shop's zone, for contacts without one (else UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZone>,
    /// Channels by cost, cheapest first: the order a step without
    /// `channels` tries them in.
    #[serde(default = "channels_by_cost")]
    pub channels: Vec<Channel>,
    /// Percent of contacts held out of every marketing rule (0 to 100).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout_percent: f64,
    /// Mixed into every control-group hash: change it to draw new groups.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub salt: String,
    /// How long event ids are remembered to drop repeats; an event older
    /// than this is ignored (it may have been seen and forgotten).
    #[serde(default = "three_days")]
    pub replay_window: Delay,
}

fn channels_by_cost() -> Vec<Channel> {
    ["email", "push", "sms"]
        .into_iter()
        .filter_map(|c| Channel::new(c).ok())
        .collect()
}

fn three_days() -> Delay {
    Delay::days(3)
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            caps: Vec::new(),
            quiet_hours: None,
            time_zone: None,
            channels: channels_by_cost(),
            holdout_percent: 0.0,
            salt: String::new(),
            replay_window: three_days(),
        }
    }
}

/// At most `max` marketing messages on `channels` (all, when empty) in any `per`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// The channels counted together; empty counts every channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// How many messages.
    pub max: u32,
    /// In what window.
    pub per: Delay,
}

/// Marketing messages due from `from` to `to` (local time; may span
/// midnight) wait until `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, e.g. `21:00`.
    pub from: LocalTime,
    /// End, e.g. `09:00`.
    pub to: LocalTime,
    /// The channels it covers; empty covers all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
}
