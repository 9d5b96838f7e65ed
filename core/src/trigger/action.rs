//! What the engine decides, as data: the host sends the messages, creates
//! the tasks and calls the webhooks; patron never does.

use serde::Serialize;

use super::state::ContactState;
use crate::model::{Channel, Id, Name, Purpose, Text, Timestamp};

/// One decision about one contact.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Action {
    /// Stable across retries (`rule/trigger/step`): the host's outbox key,
    /// so a decision replayed is never executed twice.
    pub id: String,
    /// The contact.
    pub contact_id: Id,
    /// The rule.
    pub rule: Name,
    /// The step, when the action is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Name>,
    /// When it was decided (the call's `now`).
    pub at: Timestamp,
    /// What to do.
    #[serde(flatten)]
    pub kind: ActionKind,
}

/// What to do; the JSON form is tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionKind {
    /// Send a message. Set the message events' `campaign_id` to the rule
    /// and `step` to the step, so KPIs and exits can see them.
    Send {
        /// The channel chosen.
        channel: Channel,
        /// The template.
        #[serde(skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        /// Issue a personal coupon from this pool.
        #[serde(skip_serializing_if = "Option::is_none")]
        coupon_pool: Option<String>,
        /// Marketing or transactional.
        purpose: Purpose,
        /// The products the trigger was about, for the message's blocks.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        products: Vec<Id>,
    },
    /// Create a task for a manager.
    Task {
        /// What to do.
        task: Text,
        /// The products the trigger was about.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        products: Vec<Id>,
    },
    /// Call a webhook.
    Webhook {
        /// The address.
        url: Text,
        /// The products the trigger was about.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        products: Vec<Id>,
    },
    /// The contact is in a control group: record this instead of sending,
    /// so uplift can be measured.
    HeldOut {
        /// The channel a send would have used (none for tasks and webhooks).
        #[serde(skip_serializing_if = "Option::is_none")]
        channel: Option<Channel>,
        /// Which control group: `global`, `rule` or `step`.
        group: HoldoutLevel,
    },
    /// The step did not run; the chain goes on.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// The step waits (quiet hours or a frequency cap).
    Deferred {
        /// Until when.
        until: Timestamp,
        /// Why.
        reason: DeferReason,
    },
    /// The chain ended before its last step.
    Exited {
        /// Why.
        reason: ExitReason,
    },
}

/// Which control group held a contact out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldoutLevel {
    /// Out of all marketing rules.
    Global,
    /// Out of this rule.
    Rule,
    /// Out of this step.
    Step,
}

/// Why a step was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The step's condition did not hold.
    Condition,
    /// No channel the contact can receive with consent for this purpose.
    NoChannel,
    /// A frequency cap, with `when_capped: drop`.
    Capped,
}

/// Why a step waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferReason {
    /// The contact's quiet hours.
    QuietHours,
    /// A frequency cap, with `when_capped: defer`.
    Capped,
}

/// Why a chain ended early.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum ExitReason {
    /// An exit event (its type and id).
    Event {
        /// The event type.
        event: String,
        /// The event id.
        event_id: Id,
    },
    /// The contact left a segment.
    LeftSegment {
        /// The segment.
        segment: String,
    },
    /// The goal was reached.
    Goal,
    /// The same trigger fired again and the rule restarts (`on_repeat: restart`).
    Restarted,
    /// The rule is no longer in the engine's config.
    RuleRemoved,
}

/// Why an event changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ignored {
    /// The event id was seen before: the call is a no-op.
    Duplicate,
    /// The event is older than the replay window: it may have been seen and
    /// forgotten, so it is dropped rather than risk a duplicate action.
    TooOld,
}

/// What a call returns: the state to store, the actions to execute, and
/// when to call [`super::Engine::due`] next.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The new state: store it (with the actions, in one transaction).
    pub state: ContactState,
    /// The decisions, in the order they were taken.
    pub actions: Vec<Action>,
    /// When to call `due` next; none when nothing is scheduled.
    pub next_wakeup: Option<Timestamp>,
    /// Set when the event changed nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}
