//! The storage trait: what the store asks of a database.
//!
//! The store keeps its logic (folding events, running the engine, the
//! outbox's life) above this trait, and a database only keeps rows: JSON
//! bodies it does not read, times as Unix seconds, and the few indexed
//! columns the worker and sender claim by. SQLite ([`crate::Sqlite`]) is
//! the embedded default; a server database fits by implementing the same
//! two traits, with no change to callers.
//!
//! Every change happens inside one [`Tx`]: committed whole, or (dropped
//! without [`Tx::commit`]) not at all.

use crate::error::Result;

/// A database the store runs on.
pub trait Backend: Send {
    /// Starts a write transaction. Dropping it without
    /// [`Tx::commit`] rolls everything in it back.
    fn begin(&mut self) -> Result<Box<dyn Tx + '_>>;
}

/// One stored event.
#[derive(Clone, Debug)]
pub struct EventRow<'a> {
    /// The event's id: the same id twice is one event.
    pub id: &'a str,
    /// The contact, if the event has one.
    pub contact_id: Option<&'a str>,
    /// The event type.
    pub kind: &'a str,
    /// When it happened (Unix seconds).
    pub at: i64,
    /// The event's JSON form.
    pub body: &'a str,
    /// When the store took it (Unix seconds).
    pub ingested_at: i64,
}

/// A contact's trigger state as stored: the body and the version that
/// every write increments, so a worker never overwrites what an ingest
/// wrote after the worker read it.
#[derive(Clone, Debug)]
pub struct StateRow {
    /// The state's JSON form.
    pub body: String,
    /// Incremented on every write.
    pub version: i64,
}

/// What is stored of one contact; each part absent until first written.
#[derive(Clone, Debug, Default)]
pub struct ContactRows {
    /// The record.
    pub record: Option<String>,
    /// The profile, packed ([`crate::body`]).
    pub profile: Option<Vec<u8>>,
    /// The trigger state.
    pub state: Option<StateRow>,
    /// The segment membership.
    pub membership: Option<String>,
}

/// One decision of the engine, kept once per contact and action id.
#[derive(Clone, Debug)]
pub struct ActionRow<'a> {
    /// The contact.
    pub contact_id: &'a str,
    /// The action's id (stable across retries).
    pub action_id: &'a str,
    /// `send`, `task`, `webhook`, `held_out`, `skipped`, `deferred` or `exited`.
    pub kind: &'a str,
    /// When it was decided.
    pub at: i64,
    /// The action's JSON form.
    pub body: &'a str,
}

/// Something to execute: a letter, a manager's task, a webhook call.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    /// The row's number, set by the database.
    pub seq: i64,
    /// The contact.
    pub contact_id: String,
    /// The action that made it.
    pub action_id: String,
    /// A function of contact and action: the Message-ID of the letter.
    pub message_id: String,
    /// The rule.
    pub rule: String,
    /// The step.
    pub step: Option<String>,
    /// `email`, `sms`, `push`, ... for letters; `task` or `webhook`.
    pub channel: String,
    /// `marketing` or `transactional`.
    pub purpose: String,
    /// The action's JSON form (template, coupon pool, products).
    pub body: String,
    /// `queued`, `sending`, `sent`, `failed` or `cancelled`.
    pub status: String,
    /// Attempts so far (a claim counts one).
    pub attempts: i64,
    /// When it was queued.
    pub created_at: i64,
    /// Not before this time.
    pub next_attempt_at: i64,
    /// Why it failed or was cancelled; the last error of a retried row.
    pub reason: Option<String>,
}

/// A change of one contact's segment membership.
#[derive(Clone, Debug)]
pub struct MembershipChange<'a> {
    /// The contact.
    pub contact_id: &'a str,
    /// The segment.
    pub segment: &'a str,
    /// `entered` or `left`.
    pub change: &'a str,
    /// When.
    pub at: i64,
}

/// How an outbox row ended this attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish<'a> {
    /// Handed to the channel.
    Sent {
        /// When.
        at: i64,
    },
    /// Tried again at `at`, with the error that made it wait.
    Retry {
        /// When to try again.
        at: i64,
        /// Why this attempt failed.
        reason: &'a str,
    },
    /// Given up, with the reason.
    Failed {
        /// Why.
        reason: &'a str,
    },
    /// Not sent, and never will be (consent withdrawn, a cap reached).
    Cancelled {
        /// Why.
        reason: &'a str,
    },
}

/// A coupon code given to a contact for a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct CouponClaim {
    /// The code.
    pub code: String,
    /// When it was issued.
    pub issued_at: i64,
    /// When it stops being valid.
    pub expires_at: Option<i64>,
}

/// Counts over the whole store.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Contacts with a record.
    pub contacts: u64,
    /// Events stored.
    pub events: u64,
    /// Contacts with a trigger state.
    pub states: u64,
    /// States with a wake-up scheduled.
    pub scheduled: u64,
    /// The earliest wake-up.
    pub next_wakeup: Option<patron::model::Timestamp>,
    /// Decisions recorded.
    pub actions: u64,
    /// Outbox rows by status (`queued`, `sending`, `sent`, `failed`, `cancelled`).
    pub outbox: std::collections::BTreeMap<String, u64>,
    /// Message events recorded against outbox rows (delivered, opened, ...).
    pub message_events: std::collections::BTreeMap<String, u64>,
    /// Segment entries and exits recorded.
    pub membership_changes: u64,
    /// Coupon codes issued.
    pub coupons: u64,
    /// Events stored but not folded yet (after a crash, until the next call).
    pub pending: u64,
}

/// One write transaction. Bodies are JSON text the backend stores as given.
pub trait Tx {
    /// Makes every change of the transaction durable, at once.
    fn commit(self: Box<Self>) -> Result<()>;

    /// The store's config, if one was set.
    fn config(&mut self) -> Result<Option<String>>;
    /// Replaces the store's config.
    fn set_config(&mut self, body: &str, now: i64) -> Result<()>;

    /// Stores an event; false when its id is stored already (a repeat).
    fn insert_event(&mut self, event: &EventRow<'_>) -> Result<bool>;
    /// Every stored event, in the order they were stored, for `each`.
    fn events(&mut self, each: &mut dyn FnMut(&str) -> Result<()>) -> Result<()>;
    /// Marks a stored event as not folded into its contact yet.
    fn add_pending(&mut self, event_id: &str, contact_id: &str) -> Result<()>;
    /// The events marked pending, as (contact, event body), in the order
    /// they were stored; up to `limit`.
    fn pending(&mut self, limit: usize) -> Result<Vec<(String, String)>>;
    /// Unmarks events folded.
    fn drop_pending(&mut self, event_ids: &[&str]) -> Result<()>;

    /// A contact's record, profile, trigger state and membership, in one
    /// read.
    fn contact_rows(&mut self, id: &str) -> Result<ContactRows>;
    /// Writes a contact's record.
    fn put_contact(&mut self, id: &str, body: &str, now: i64) -> Result<()>;

    /// Writes a contact's profile.
    fn put_profile(&mut self, contact_id: &str, body: &[u8]) -> Result<()>;

    /// Writes a contact's trigger state and wake-up, ending any lease.
    /// With `expected`, only if the stored version is still that one (and
    /// the row still leased by `owner`, when given); false when not.
    fn put_state(
        &mut self,
        contact_id: &str,
        body: &str,
        next_wakeup: Option<i64>,
        expected: Option<(i64, &str)>,
    ) -> Result<bool>;
    /// Leases up to `limit` contacts whose wake-up is at or before `now`
    /// and whose lease (if any) ended before `now`, to `owner` until
    /// `lease_until`; earliest wake-up first.
    fn claim_due(
        &mut self,
        now: i64,
        owner: &str,
        lease_until: i64,
        limit: usize,
    ) -> Result<Vec<(String, StateRow)>>;
    /// The earliest wake-up of a contact not leased at `now`.
    fn next_wakeup(&mut self, now: i64) -> Result<Option<i64>>;

    /// Writes a contact's segment membership.
    fn put_membership(&mut self, contact_id: &str, body: &str) -> Result<()>;
    /// Records a segment entry or exit.
    fn add_membership_change(&mut self, change: &MembershipChange<'_>) -> Result<()>;

    /// Records a decision; false when the same contact and action id is
    /// recorded already (a decision replayed after a crash).
    fn add_action(&mut self, action: &ActionRow<'_>) -> Result<bool>;
    /// Queues something to execute; false when its contact and action id
    /// is queued already.
    fn add_outbox(&mut self, row: &OutboxRow) -> Result<bool>;
    /// Leases up to `limit` rows of `channels` that are queued (or whose
    /// `sending` lease ended) and due at `now`, counting an attempt each,
    /// oldest first.
    fn claim_outbox(
        &mut self,
        now: i64,
        owner: &str,
        lease_until: i64,
        channels: &[&str],
        limit: usize,
    ) -> Result<Vec<OutboxRow>>;
    /// Ends an attempt at a row leased by `owner`; false when the lease
    /// was lost (another sender took the row after the lease ended).
    fn finish_outbox(&mut self, seq: i64, owner: &str, finish: &Finish<'_>) -> Result<bool>;
    /// Appends to the send log.
    fn log_send(
        &mut self,
        seq: i64,
        attempt: i64,
        at: i64,
        result: &str,
        detail: Option<&str>,
    ) -> Result<()>;
    /// Marketing letters sent to a contact on `channels` (all when empty)
    /// at or after `since`, apart from row `except`.
    fn count_sent(
        &mut self,
        contact_id: &str,
        channels: &[&str],
        since: i64,
        except: i64,
    ) -> Result<u64>;
    /// The outbox row of a Message-ID.
    fn outbox_by_message_id(&mut self, message_id: &str) -> Result<Option<OutboxRow>>;
    /// Outbox rows, oldest first, optionally of one status.
    fn outbox(&mut self, status: Option<&str>, limit: usize) -> Result<Vec<OutboxRow>>;

    /// The code issued to a contact for a campaign from a pool.
    fn coupon(
        &mut self,
        pool: &str,
        campaign: &str,
        contact_id: &str,
    ) -> Result<Option<CouponClaim>>;
    /// How many codes the pool has used (generated or taken from its list).
    fn coupon_next(&mut self, pool: &str) -> Result<u64>;
    /// Whether `code` was issued from the pool already.
    fn coupon_taken(&mut self, pool: &str, code: &str) -> Result<bool>;
    /// Records an issued code and the pool's new count.
    fn add_coupon(
        &mut self,
        pool: &str,
        campaign: &str,
        contact_id: &str,
        claim: &CouponClaim,
        next: u64,
    ) -> Result<()>;

    /// Records a message event (delivered, opened, ...) against its row;
    /// false when the event id is recorded already.
    fn add_message_event(
        &mut self,
        event_id: &str,
        message_id: &str,
        outbox_seq: Option<i64>,
        kind: &str,
        at: i64,
    ) -> Result<bool>;

    /// Counts over the store.
    fn stats(&mut self) -> Result<Stats>;
}
