//! The store: events in, decisions kept, letters out, each step one
//! transaction.
//!
//! Three calls do the work, and each may run in several processes on one
//! database:
//!
//! - [`Store::ingest`] takes a batch of events in one transaction: each
//!   stored once (a repeated id is dropped and reported), folded into its
//!   contact's profile and record (consent), handed to the trigger engine,
//!   and the new state, wake-up, decisions, outbox rows and segment changes
//!   written with it. A bad event refuses the whole batch, naming it.
//! - [`Store::run_due`] leases the contacts whose wake-up has come, runs
//!   the engine's `due` for them outside any transaction, and writes each
//!   result only if the contact is still leased to this store and its
//!   state unchanged: a worker that crashed or lost its lease writes
//!   nothing, and another takes the contact over when the lease ends.
//! - [`Store::send`] leases outbox rows, checks consent and caps again,
//!   renders the letter (template, products, personal coupon, unsubscribe
//!   link) and hands it to its channel; the outcome is written back with
//!   the `message_sent` event that feeds KPIs and exits. A letter whose
//!   sender died mid-send goes again after the lease, with the same
//!   Message-ID.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use patron::message::coupon::{self, PoolState};
use patron::message::{CouponView, MessageInfo, Recipient};
use patron::model::{
    Channel as ChannelName, ConsentAction, ConsentChange, ConsentStatus, EventKind, Id, Name,
    Purpose, Text, Timestamp, Url,
};
use patron::profile::{Facts, Profile};
use patron::segment::{ChangeKind, Membership};
use patron::trigger::{Action, ActionKind, ContactState};
use patron::{Contact, Event, parse};
use rayon::prelude::*;
use serde::Serialize;

use crate::backend::{
    ActionRow, Backend, ContactRows, CouponClaim, EventRow, Finish, MembershipChange, OutboxRow,
    Stats, Tx,
};
use crate::body;
use crate::channel::{Channel, Letter, Refusal};
use crate::config::{Config, Setup};
use crate::error::{Error, Result};
use crate::link;
use crate::sqlite::Sqlite;

/// Events from the future by more than this are refused: a wrong clock on
/// the sending side would otherwise move the contact's clock ahead.
const MAX_SKEW_SECONDS: i64 = 300;
/// Contacts a worker leases at a time.
const DUE_BATCH: usize = 1024;
/// Letters a sender leases at a time.
const SEND_BATCH: usize = 64;
/// Pending events folded at a time.
const PENDING_BATCH: usize = 4096;

/// What an ingest stored and decided.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ingested {
    /// Events stored.
    pub stored: u64,
    /// Ids of events stored before (or twice in the batch), dropped.
    pub duplicates: Vec<String>,
    /// Contacts whose profile and state changed.
    pub contacts: u64,
    /// Decisions recorded.
    pub actions: u64,
    /// Rows queued in the outbox (letters, tasks, webhooks).
    pub queued: u64,
    /// Segment entries and exits recorded.
    pub membership_changes: u64,
}

/// What a run of the worker did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ran {
    /// Contacts woken up and written.
    pub contacts: u64,
    /// Decisions recorded.
    pub actions: u64,
    /// Rows queued in the outbox.
    pub queued: u64,
    /// Segment entries and exits recorded.
    pub membership_changes: u64,
    /// Contacts another process changed or took over meanwhile: nothing
    /// was written for them (the next run sees them again if still due).
    pub lost: u64,
    /// Contacts whose stored data the engine refused, with the error; they
    /// are left as they were, and tried again when their lease ends.
    pub failed: Vec<(String, String)>,
}

/// What a run of the sender did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sent {
    /// Letters handed to their channel.
    pub sent: u64,
    /// Attempts that failed and will be tried again.
    pub retried: u64,
    /// Letters given up (rejected, or out of attempts).
    pub failed: u64,
    /// Letters not sent because consent was withdrawn or a cap was reached
    /// after they were queued.
    pub cancelled: u64,
    /// Letters taken over from a sender that stopped while sending them:
    /// sent again with the same Message-ID.
    pub resumed: u64,
}

impl Sent {
    fn add(&mut self, other: &Sent) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
        self.resumed += other.resumed;
    }

    fn count(&mut self, finished: Finished) {
        match finished {
            Finished::Sent => self.sent += 1,
            Finished::Retry => self.retried += 1,
            Finished::Failed => self.failed += 1,
            Finished::LeaseLost => {}
        }
    }
}

/// Letters leased for sending by [`Store::claim_letters`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Claimed {
    /// The letters to hand over, rendered and addressed.
    pub letters: Vec<Letter>,
    /// Rows leased (letters, and rows ended here).
    pub rows: usize,
    /// Rows ended here (cancelled, failed) and rows resumed.
    pub counts: Sent,
}

/// How [`Store::finish_letter`] ended a letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finished {
    /// Sent.
    Sent,
    /// To be tried again after the backoff.
    Retry,
    /// Given up.
    Failed,
    /// The lease ended and another sender took the letter over: nothing
    /// was written.
    LeaseLost,
}

/// One row of the outbox, as callers see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboxEntry {
    /// The contact.
    pub contact_id: String,
    /// The engine's action id.
    pub action_id: String,
    /// The letter's id (for email, `<message_id@domain>` is its Message-ID).
    pub message_id: String,
    /// The rule.
    pub rule: String,
    /// The step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The channel.
    pub channel: String,
    /// `queued`, `sending`, `sent`, `failed` or `cancelled`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why it failed, was cancelled, or waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<OutboxRow> for OutboxEntry {
    fn from(r: OutboxRow) -> Self {
        OutboxEntry {
            contact_id: r.contact_id,
            action_id: r.action_id,
            message_id: r.message_id,
            rule: r.rule,
            step: r.step,
            channel: r.channel,
            status: r.status,
            attempts: r.attempts,
            reason: r.reason,
        }
    }
}

/// A shop's store: contacts, events, state, outbox, on a [`Backend`].
pub struct Store<B: Backend = Sqlite> {
    backend: B,
    name: String,
    setup: Setup,
    owner: String,
}

impl Store<Sqlite> {
    /// Opens the store file at `path` (creating it when missing). With
    /// `config`, the config is checked and kept in the file; without, the
    /// one kept there is used.
    pub fn open(path: impl AsRef<std::path::Path>, config: Option<Config>) -> Result<Self> {
        let backend = Sqlite::open(path)?;
        let name = backend.path().to_string();
        Store::with_backend(backend, &name, config)
    }
}

/// A lease owner unique to this process and store.
fn owner_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{:x}-{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn secs(t: Timestamp) -> i64 {
    t.get().timestamp()
}

fn at_secs(s: i64) -> Timestamp {
    Timestamp::from(DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default())
}

/// The contact's work of one batch: what was read, and the events to fold.
struct Work {
    id: String,
    contact: Contact,
    contact_changed: bool,
    profile: Profile,
    state: ContactState,
    membership: Option<Membership>,
    /// The membership's stored form: an unchanged one is not written again.
    stored_membership: Option<String>,
    /// The events, with their place in the caller's batch.
    events: Vec<(usize, Event)>,
}

/// What folding one contact's events decided, ready to write.
struct Folded {
    id: String,
    contact: Option<Contact>,
    profile: Option<Profile>,
    state: ContactState,
    next_wakeup: Option<i64>,
    membership: Option<Membership>,
    stored_membership: Option<String>,
    changes: Vec<(String, ChangeKind, i64)>,
    actions: Vec<Action>,
    /// (event id, message id, type, at) of message events.
    message_events: Vec<(String, String, &'static str, i64)>,
}

/// What folding decided, in the JSON forms the store keeps: made in the
/// parallel phase, so the transaction only writes.
struct Encoded {
    id: String,
    state: String,
    next_wakeup: Option<i64>,
    contact: Option<String>,
    profile: Option<Vec<u8>>,
    membership: Option<String>,
    changes: Vec<(String, ChangeKind, i64)>,
    actions: Vec<EncodedAction>,
    message_events: Vec<(String, String, &'static str, i64)>,
}

/// One decision, encoded, with its outbox row when it is something to do.
struct EncodedAction {
    id: String,
    kind: &'static str,
    at: i64,
    body: String,
    /// Channel, purpose, rule, step, Message-ID.
    outbox: Option<(String, Purpose, String, Option<String>, String)>,
}

impl Folded {
    fn stored(mut self, membership: Option<String>) -> Folded {
        self.stored_membership = membership;
        self
    }

    fn encode(self) -> Result<Encoded> {
        let actions = self
            .actions
            .iter()
            .map(|action| {
                let (kind, outbox) = match &action.kind {
                    ActionKind::Send {
                        channel, purpose, ..
                    } => ("send", Some((channel.as_str().to_string(), *purpose))),
                    ActionKind::Task { .. } => {
                        ("task", Some(("task".to_string(), Purpose::Transactional)))
                    }
                    ActionKind::Webhook { .. } => (
                        "webhook",
                        Some(("webhook".to_string(), Purpose::Transactional)),
                    ),
                    ActionKind::HeldOut { .. } => ("held_out", None),
                    ActionKind::Skipped { .. } => ("skipped", None),
                    ActionKind::Deferred { .. } => ("deferred", None),
                    ActionKind::Exited { .. } => ("exited", None),
                };
                Ok(EncodedAction {
                    id: action.id.clone(),
                    kind,
                    at: secs(action.at),
                    body: to(action)?,
                    outbox: outbox.map(|(channel, purpose)| {
                        (
                            channel,
                            purpose,
                            action.rule.as_str().to_string(),
                            action.step.as_ref().map(|s| s.as_str().to_string()),
                            link::message_id(&self.id, &action.id),
                        )
                    }),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Encoded {
            state: to(&self.state)?,
            next_wakeup: self.next_wakeup,
            contact: self.contact.as_ref().map(to).transpose()?,
            profile: self
                .profile
                .as_ref()
                .map(|p| to(p).map(|json| body::pack(&json)))
                .transpose()?,
            membership: match self.membership.as_ref().map(to).transpose()? {
                Some(m) if Some(&m) == self.stored_membership.as_ref() => None,
                changed => changed,
            },
            changes: self.changes,
            actions,
            message_events: self.message_events,
            id: self.id,
        })
    }
}

/// The JSON text the store keeps of a value.
fn to<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(json)
}

/// How to name a bad event of the batch.
#[derive(Clone, Copy)]
enum Origin {
    List,
    Lines,
    /// Events stored earlier and folded now.
    Pending,
}

impl Origin {
    fn name(self, place: usize, e: patron::Error) -> Error {
        match self {
            Origin::List => Error::Core(e.within(&format!("[{place}]"))),
            Origin::Lines => Error::Line {
                line: place + 1,
                source: e,
            },
            Origin::Pending => Error::Core(e.within("pending")),
        }
    }
}

impl<B: Backend> Store<B> {
    /// A store on `backend` (`name` names it in errors). With `config`, the
    /// config is checked and kept; without, the kept one is used.
    pub fn with_backend(mut backend: B, name: &str, config: Option<Config>) -> Result<Self> {
        let setup = {
            let mut tx = backend.begin()?;
            let setup = match config {
                Some(config) => {
                    let setup = Setup::new(config)?;
                    let body = serde_json::to_string(&setup.config).map_err(json)?;
                    tx.set_config(&body, secs(now_wall()))?;
                    setup
                }
                None => {
                    let body = tx.config()?.ok_or_else(|| Error::NoConfig {
                        path: name.to_string(),
                    })?;
                    let config: Config =
                        serde_json::from_str(&body).map_err(|e| Error::Corrupt {
                            path: name.to_string(),
                            message: format!("the stored config does not read: {e}"),
                        })?;
                    Setup::new(config)?
                }
            };
            tx.commit()?;
            setup
        };
        Ok(Store {
            backend,
            name: name.to_string(),
            setup,
            owner: owner_id(),
        })
    }

    /// The config the store runs.
    pub fn config(&self) -> &Config {
        &self.setup.config
    }

    /// Checks `config` whole and keeps it; every process that opens the
    /// store afterwards runs it.
    pub fn set_config(&mut self, config: Config) -> Result<()> {
        let setup = Setup::new(config)?;
        let body = serde_json::to_string(&setup.config).map_err(json)?;
        let mut tx = self.backend.begin()?;
        tx.set_config(&body, secs(now_wall()))?;
        tx.commit()?;
        self.setup = setup;
        Ok(())
    }

    /// Writes contact records (new or changed) and, since facts changed
    /// without an event, runs the engine's `refresh` for each, in one
    /// transaction. Consent in a record replaces the stored consent: send
    /// consent changes as `consent_changed` events to keep their history.
    pub fn upsert_contacts(&mut self, contacts: &[Contact], now: Timestamp) -> Result<Ingested> {
        let mut tx = self.backend.begin()?;
        fold_pending(&mut *tx, &self.setup, &self.name, secs(now))?;
        let mut works = Vec::with_capacity(contacts.len());
        for contact in contacts {
            let mut work = read_work(&mut *tx, contact.id.as_str(), &self.name)?;
            work.contact = contact.clone();
            work.contact_changed = true;
            works.push(work);
        }
        let setup = &self.setup;
        let folded: Vec<Encoded> = works
            .into_par_iter()
            .enumerate()
            .map(|(i, work)| {
                refresh(setup, work, now)
                    .map_err(|e| Error::Core(e.within(&format!("[{i}]"))))
                    .and_then(Folded::encode)
            })
            .collect::<Result<_>>()?;
        let mut report = Ingested::default();
        for f in &folded {
            write_folded(&mut *tx, f, secs(now), None, &mut report)?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Stores a batch of events and acts on it, in one transaction; a bad
    /// event refuses the whole batch, named by its place (`[3].at`).
    pub fn ingest(&mut self, events: Vec<Event>, now: Timestamp) -> Result<Ingested> {
        let events = events.into_iter().enumerate().collect();
        self.ingest_events(events, now, Origin::List)
    }

    /// [`Store::ingest`] from JSON lines (one event per line; blank lines
    /// are skipped); a bad line refuses the whole batch, named by its line
    /// and the column within it.
    pub fn ingest_json_lines(&mut self, text: &str, now: Timestamp) -> Result<Ingested> {
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .collect();
        let parsed: Vec<patron::Result<Event>> = lines
            .par_iter()
            .map(|(_, line)| parse::from_json(line))
            .collect();
        let mut events = Vec::with_capacity(parsed.len());
        for ((i, _), event) in lines.into_iter().zip(parsed) {
            events.push((i, event.map_err(|e| Origin::Lines.name(i, e))?));
        }
        self.ingest_events(events, now, Origin::Lines)
    }

    fn ingest_events(
        &mut self,
        events: Vec<(usize, Event)>,
        now: Timestamp,
        origin: Origin,
    ) -> Result<Ingested> {
        let latest = secs(now) + MAX_SKEW_SECONDS;
        for (place, event) in &events {
            if secs(event.at) > latest {
                return Err(origin.name(
                    *place,
                    patron::Error::invalid(
                        "at",
                        format!(
                            "{} is after now ({now}): events from the future are refused",
                            event.at
                        ),
                    ),
                ));
            }
        }
        let bodies: Vec<String> = events
            .par_iter()
            .map(|(_, event)| serde_json::to_string(event).map_err(json))
            .collect::<Result<_>>()?;
        let mut tx = self.backend.begin()?;
        let ingested_at = secs(now);
        fold_pending(&mut *tx, &self.setup, &self.name, ingested_at)?;
        let mut report = Ingested::default();
        let mut by_contact: BTreeMap<String, Vec<(usize, Event)>> = BTreeMap::new();
        for ((place, event), body) in events.into_iter().zip(bodies) {
            let row = EventRow {
                id: event.id.as_str(),
                contact_id: event.contact_id.as_ref().map(|c| c.as_str()),
                kind: event.kind.type_name(),
                at: secs(event.at),
                body: &body,
                ingested_at,
            };
            if !tx.insert_event(&row)? {
                report.duplicates.push(event.id.as_str().to_string());
                continue;
            }
            report.stored += 1;
            if let Some(contact) = &event.contact_id {
                by_contact
                    .entry(contact.as_str().to_string())
                    .or_default()
                    .push((place, event));
            }
        }
        fold_and_write(
            &mut *tx,
            &self.setup,
            &self.name,
            by_contact,
            origin,
            ingested_at,
            &mut report,
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// Wakes every contact due at `now`: leases them, runs the engine's
    /// `due`, writes what it decided. Returns when no contact is due.
    pub fn run_due(&mut self, now: Timestamp) -> Result<Ran> {
        let mut ran = Ran::default();
        let lease = self.setup.config.sender.lease_seconds as i64;
        loop {
            let mut tx = self.backend.begin()?;
            fold_pending(&mut *tx, &self.setup, &self.name, secs(now))?;
            let claimed = tx.claim_due(secs(now), &self.owner, secs(now) + lease, DUE_BATCH)?;
            if claimed.is_empty() {
                tx.commit()?;
                return Ok(ran);
            }
            let mut raws = Vec::with_capacity(claimed.len());
            for (id, row) in claimed {
                raws.push((read_raw(&mut *tx, &id, Some(row.body))?, row.version));
            }
            tx.commit()?;
            let (setup, name) = (&self.setup, self.name.as_str());
            let results: Vec<(String, i64, Result<Encoded>)> = raws
                .into_par_iter()
                .map(|(raw, version)| {
                    let id = raw.id.clone();
                    let folded = raw
                        .parse(name)
                        .and_then(|work| Ok(wake(setup, work, now)?))
                        .and_then(Folded::encode);
                    (id, version, folded)
                })
                .collect();
            let mut tx = self.backend.begin()?;
            let mut report = Ingested::default();
            for (id, version, result) in results {
                match result {
                    Ok(f) => {
                        if write_folded(
                            &mut *tx,
                            &f,
                            secs(now),
                            Some((version, &self.owner)),
                            &mut report,
                        )? {
                            ran.contacts += 1;
                        } else {
                            ran.lost += 1;
                        }
                    }
                    Err(e) => ran.failed.push((id, e.to_string())),
                }
            }
            tx.commit()?;
            ran.actions += report.actions;
            ran.queued += report.queued;
            ran.membership_changes += report.membership_changes;
        }
    }

    /// The earliest wake-up of a contact not leased now, if any: when to
    /// call [`Store::run_due`] next.
    pub fn next_wakeup(&mut self, now: Timestamp) -> Result<Option<Timestamp>> {
        let mut tx = self.backend.begin()?;
        let next = tx.next_wakeup(secs(now))?;
        tx.commit()?;
        Ok(next.map(at_secs))
    }

    /// Sends every letter due at `now` through the channel of its name;
    /// rows of channels not given wait for a sender that has them. It is
    /// [`Store::claim_letters`], each channel's `send`, and
    /// [`Store::finish_letter`], batch after batch.
    pub fn send(&mut self, now: Timestamp, channels: &mut [&mut dyn Channel]) -> Result<Sent> {
        let names: Vec<String> = channels.iter().map(|c| c.name().to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut sent = Sent::default();
        loop {
            let claimed = self.claim_letters(now, &names, SEND_BATCH)?;
            sent.add(&claimed.counts);
            if claimed.rows == 0 {
                return Ok(sent);
            }
            for letter in &claimed.letters {
                let Some(channel) = channels.iter_mut().find(|c| c.name() == letter.channel) else {
                    continue;
                };
                let outcome = channel.send(letter);
                // The next claim folds the batch's `message_sent` events.
                let finished = self.finish_attempt(&letter.message_id, outcome, now)?;
                sent.count(finished);
            }
        }
    }

    /// Leases up to `limit` letters of `channels` due at `now` for this
    /// store, checks consent and caps again, and renders them: the letters
    /// to hand over, each to be ended with [`Store::finish_letter`] before
    /// its lease ends. Rows that may not go any more are ended here
    /// (`cancelled`, or `failed` when they cannot be rendered).
    pub fn claim_letters(
        &mut self,
        now: Timestamp,
        channels: &[&str],
        limit: usize,
    ) -> Result<Claimed> {
        let t = secs(now);
        let lease = self.setup.config.sender.lease_seconds as i64;
        let mut tx = self.backend.begin()?;
        fold_pending(&mut *tx, &self.setup, &self.name, t)?;
        let rows = tx.claim_outbox(t, &self.owner, t + lease, channels, limit.max(1))?;
        tx.commit()?;
        let mut claimed = Claimed {
            rows: rows.len(),
            ..Claimed::default()
        };
        if rows.is_empty() {
            return Ok(claimed);
        }
        let mut tx = self.backend.begin()?;
        for row in &rows {
            if row.reason.as_deref() == Some(LEASE_ENDED) {
                // The sender before stopped after it claimed the row: the
                // letter may have gone out. It goes again, with its id.
                tx.log_send(row.seq, row.attempts, t, "resumed", Some(LEASE_ENDED))?;
                claimed.counts.resumed += 1;
            }
            match prepare(&mut *tx, &self.setup, &self.name, row, now)? {
                Prepared::Letter(letter) => claimed.letters.push(*letter),
                Prepared::Cancel(reason) => {
                    tx.finish_outbox(row.seq, &self.owner, &Finish::Cancelled { reason: &reason })?;
                    tx.log_send(row.seq, row.attempts, t, "cancelled", Some(&reason))?;
                    claimed.counts.cancelled += 1;
                }
                Prepared::Fail(reason) => {
                    tx.finish_outbox(row.seq, &self.owner, &Finish::Failed { reason: &reason })?;
                    tx.log_send(row.seq, row.attempts, t, "failed", Some(&reason))?;
                    claimed.counts.failed += 1;
                }
            }
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// Ends the attempt at a letter this store claimed: sent (`Ok`), to be
    /// tried again after a backoff (until `max_attempts`), or refused for
    /// good. A sent letter records the store's `message_sent` event, and a
    /// hard bounce a `message_bounced` (withdrawing consent), in the same
    /// transaction. [`Finished::LeaseLost`] when the lease ended and another
    /// sender took the letter over (nothing is written).
    ///
    /// A sent letter is marked in the smallest transaction first, and its
    /// event folded into the contact in a second: a crash between the two
    /// loses nothing (the next call folds it), and a crash after the
    /// server took the letter re-sends it only inside that first, short
    /// transaction.
    pub fn finish_letter(
        &mut self,
        message_id: &str,
        outcome: std::result::Result<(), Refusal>,
        now: Timestamp,
    ) -> Result<Finished> {
        let finished = self.finish_attempt(message_id, outcome, now)?;
        if finished == Finished::Sent {
            let mut tx = self.backend.begin()?;
            fold_pending(&mut *tx, &self.setup, &self.name, secs(now))?;
            tx.commit()?;
        }
        Ok(finished)
    }

    /// [`Store::finish_letter`] but for folding a sent letter's event,
    /// which waits for the next call.
    fn finish_attempt(
        &mut self,
        message_id: &str,
        outcome: std::result::Result<(), Refusal>,
        now: Timestamp,
    ) -> Result<Finished> {
        let t = secs(now);
        let mut tx = self.backend.begin()?;
        let Some(row) = tx.outbox_by_message_id(message_id)? else {
            return Err(patron::Error::invalid(
                "message_id",
                format!("no letter `{message_id}` in the outbox"),
            )
            .into());
        };
        let mut feedback = None;
        let finished = match outcome {
            Ok(()) => {
                if !tx.finish_outbox(row.seq, &self.owner, &Finish::Sent { at: t })? {
                    return Ok(Finished::LeaseLost);
                }
                tx.log_send(row.seq, row.attempts, t, "sent", None)?;
                feedback = Some(message_event(&row, "message_sent", now)?);
                Finished::Sent
            }
            Err(Refusal::Retry(reason)) => {
                let config = &self.setup.config.sender;
                if row.attempts >= i64::from(config.max_attempts) {
                    let reason = format!("{reason} (after {} attempts)", row.attempts);
                    if !tx.finish_outbox(
                        row.seq,
                        &self.owner,
                        &Finish::Failed { reason: &reason },
                    )? {
                        return Ok(Finished::LeaseLost);
                    }
                    tx.log_send(row.seq, row.attempts, t, "failed", Some(&reason))?;
                    Finished::Failed
                } else {
                    let wait = config
                        .retry_seconds
                        .saturating_mul(1 << (row.attempts - 1).clamp(0, 20));
                    let at = t.saturating_add(wait.min(i64::MAX as u64) as i64);
                    if !tx.finish_outbox(
                        row.seq,
                        &self.owner,
                        &Finish::Retry {
                            at,
                            reason: &reason,
                        },
                    )? {
                        return Ok(Finished::LeaseLost);
                    }
                    tx.log_send(row.seq, row.attempts, t, "retry", Some(&reason))?;
                    Finished::Retry
                }
            }
            Err(Refusal::Reject {
                reason,
                hard_bounce,
            }) => {
                if !tx.finish_outbox(row.seq, &self.owner, &Finish::Failed { reason: &reason })? {
                    return Ok(Finished::LeaseLost);
                }
                tx.log_send(row.seq, row.attempts, t, "failed", Some(&reason))?;
                if hard_bounce {
                    feedback = Some(message_event(&row, "message_bounced", now)?);
                }
                Finished::Failed
            }
        };
        if let Some(event) = feedback {
            // The store's own event goes the way of every event: profile,
            // consent (a bounce), engine. A bounce is folded in this
            // transaction, so no letter goes to the address after it; a
            // `message_sent` by the next call.
            let body = serde_json::to_string(&event).map_err(json)?;
            let inserted = tx.insert_event(&EventRow {
                id: event.id.as_str(),
                contact_id: Some(&row.contact_id),
                kind: event.kind.type_name(),
                at: t,
                body: &body,
                ingested_at: t,
            })?;
            if inserted {
                tx.add_pending(event.id.as_str(), &row.contact_id)?;
                if finished == Finished::Failed {
                    fold_pending(&mut *tx, &self.setup, &self.name, t)?;
                }
            }
        }
        tx.commit()?;
        Ok(finished)
    }

    /// Counts over the whole store.
    pub fn stats(&mut self) -> Result<Stats> {
        let mut tx = self.backend.begin()?;
        let stats = tx.stats()?;
        tx.commit()?;
        Ok(stats)
    }

    /// Outbox rows, oldest first, optionally of one status.
    pub fn outbox(&mut self, status: Option<&str>, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut tx = self.backend.begin()?;
        let rows = tx.outbox(status, limit)?;
        tx.commit()?;
        Ok(rows.into_iter().map(OutboxEntry::from).collect())
    }

    /// Every stored event, in the order it was stored.
    pub fn events(&mut self) -> Result<Vec<Event>> {
        let mut tx = self.backend.begin()?;
        let mut out = Vec::new();
        let name = self.name.clone();
        tx.events(&mut |body| {
            out.push(parse::from_json(body).map_err(|e| Error::Corrupt {
                path: name.clone(),
                message: format!("a stored event does not read: {e}"),
            })?);
            Ok(())
        })?;
        tx.commit()?;
        Ok(out)
    }

    /// The KPI table over the events in the store (letters sent by the
    /// store, the feedback recorded against them, orders).
    pub fn kpis(
        &mut self,
        config: &patron::metrics::KpiConfig,
    ) -> Result<Vec<patron::metrics::KpiRow>> {
        let events = self.events()?;
        Ok(patron::metrics::kpis(&events, config)?)
    }

    /// Reads a contact's record, profile and trigger state, as stored.
    pub fn contact(&mut self, id: &str) -> Result<Option<ContactView>> {
        let mut tx = self.backend.begin()?;
        let ContactRows {
            record: contact,
            profile,
            state,
            membership,
        } = tx.contact_rows(id)?;
        tx.commit()?;
        if contact.is_none() && profile.is_none() && state.is_none() {
            return Ok(None);
        }
        let value = |text: Option<String>| -> Result<serde_json::Value> {
            Ok(match text {
                Some(t) => serde_json::from_str(&t).map_err(|e| self.corrupt(e))?,
                None => serde_json::Value::Null,
            })
        };
        Ok(Some(ContactView {
            contact: value(contact)?,
            profile: value(
                profile
                    .map(|p| body::unpack(&p).map(String::from))
                    .transpose()
                    .map_err(|e| self.corrupt_body("profile", id, e))?,
            )?,
            state: value(state.map(|s| s.body))?,
            segments: match membership {
                Some(m) => {
                    let m: Membership = serde_json::from_str(&m).map_err(|e| self.corrupt(e))?;
                    m.segments
                }
                None => Vec::new(),
            },
        }))
    }

    /// Records a one-click unsubscribe from a token of a letter's
    /// `List-Unsubscribe` link: a `message_unsubscribed` event for that
    /// letter, ingested at `now`. A token changed or signed with another
    /// key is refused.
    pub fn unsubscribe(&mut self, token: &str, now: Timestamp) -> Result<Ingested> {
        let key = self.setup.config.sender.link_key.clone().ok_or_else(|| {
            patron::Error::invalid(
                "sender.link_key",
                "the store has no link key to check tokens with",
            )
        })?;
        let (contact_id, message_id) = link::verify_unsubscribe(&key, token)?;
        let row = {
            let mut tx = self.backend.begin()?;
            let row = tx.outbox_by_message_id(&message_id)?;
            tx.commit()?;
            row
        };
        let row = row
            .filter(|r| r.contact_id == contact_id)
            .ok_or_else(|| patron::Error::invalid("token", "no such letter to this contact"))?;
        let mut event = message_event(&row, "message_unsubscribed", now)?;
        event.id = Id::new(format!("unsubscribed-{}", row.message_id))?;
        self.ingest(vec![event], now)
    }

    fn corrupt_body(&self, what: &str, id: &str, e: body::Unreadable) -> Error {
        Error::Corrupt {
            path: self.name.clone(),
            message: format!("the stored {what} of contact `{id}` does not read: {e}"),
        }
    }

    fn corrupt(&self, e: serde_json::Error) -> Error {
        Error::Corrupt {
            path: self.name.clone(),
            message: format!("a stored row does not read: {e}"),
        }
    }
}

/// A contact as stored: record, profile, trigger state, segments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContactView {
    /// The record (null when only events are known).
    pub contact: serde_json::Value,
    /// The profile.
    pub profile: serde_json::Value,
    /// The trigger state.
    pub state: serde_json::Value,
    /// The segments the contact is in.
    pub segments: Vec<String>,
}

/// The reason a claimed row carries when its previous sender's lease ended
/// mid-send.
pub(crate) const LEASE_ENDED: &str = "lease_ended";

fn json(e: serde_json::Error) -> Error {
    Error::Core(patron::Error::invalid("", e.to_string()))
}

fn now_wall() -> Timestamp {
    Timestamp::from(DateTime::<Utc>::from(std::time::SystemTime::now()))
}

/// A contact's rows as stored, read inside the transaction and parsed
/// outside it, in parallel.
struct Raw {
    id: String,
    contact: Option<String>,
    profile: Option<Vec<u8>>,
    state: Option<String>,
    membership: Option<String>,
}

/// Reads a contact's rows; `state` when the caller has its body already.
fn read_raw(tx: &mut dyn Tx, id: &str, state: Option<String>) -> Result<Raw> {
    let rows = tx.contact_rows(id)?;
    Ok(Raw {
        id: id.to_string(),
        contact: rows.record,
        profile: rows.profile,
        state: state.or(rows.state.map(|row| row.body)),
        membership: rows.membership,
    })
}

impl Raw {
    /// The contact's record, profile, state and membership, or a new
    /// contact's; a row that does not read is [`Error::Corrupt`].
    fn parse(self, name: &str) -> Result<Work> {
        let id = self.id;
        let corrupt = |what: &str, e: patron::Error| Error::Corrupt {
            path: name.to_string(),
            message: format!("the stored {what} of contact `{id}` does not read: {e}"),
        };
        let contact_id = Id::new(&id)?;
        let (contact, contact_changed) = match &self.contact {
            Some(body) => (
                parse::from_json(body).map_err(|e| corrupt("record", e))?,
                false,
            ),
            None => (Contact::new(contact_id.clone()), true),
        };
        let profile = match &self.profile {
            Some(packed) => {
                let json = body::unpack(packed).map_err(|e| Error::Corrupt {
                    path: name.to_string(),
                    message: format!("the stored profile of contact `{id}` does not read: {e}"),
                })?;
                parse::from_json(&json).map_err(|e| corrupt("profile", e))?
            }
            None => Profile::new(contact_id.clone()),
        };
        let state = match &self.state {
            Some(body) => ContactState::from_json(body).map_err(|e| corrupt("state", e))?,
            None => ContactState::new(contact_id),
        };
        let membership = match &self.membership {
            Some(body) => Some(parse::from_json(body).map_err(|e| corrupt("membership", e))?),
            None => None,
        };
        Ok(Work {
            id,
            contact,
            contact_changed,
            profile,
            state,
            membership,
            stored_membership: self.membership,
            events: Vec::new(),
        })
    }
}

fn read_work(tx: &mut dyn Tx, id: &str, name: &str) -> Result<Work> {
    read_raw(tx, id, None)?.parse(name)
}

/// Folds each contact's events into its stored rows and writes the
/// results in `tx`: rows read in `tx`, parsed and folded in parallel.
fn fold_and_write(
    tx: &mut dyn Tx,
    setup: &Setup,
    name: &str,
    by_contact: BTreeMap<String, Vec<(usize, Event)>>,
    origin: Origin,
    now: i64,
    report: &mut Ingested,
) -> Result<()> {
    let mut raws = Vec::with_capacity(by_contact.len());
    for (id, events) in by_contact {
        raws.push((read_raw(tx, &id, None)?, events));
    }
    let folded: Vec<Encoded> = raws
        .into_par_iter()
        .map(|(raw, events)| {
            let mut work = raw.parse(name)?;
            work.events = events;
            fold(setup, work)
                .map_err(|(place, e)| origin.name(place, e))
                .and_then(Folded::encode)
        })
        .collect::<Result<_>>()?;
    for f in &folded {
        write_folded(tx, f, now, None, report)?;
    }
    Ok(())
}

/// Folds the events stored but not folded yet (the `message_sent` of
/// letters sent since the last call, or before a crash), oldest first.
fn fold_pending(tx: &mut dyn Tx, setup: &Setup, name: &str, now: i64) -> Result<()> {
    loop {
        let rows = tx.pending(PENDING_BATCH)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut by_contact: BTreeMap<String, Vec<(usize, Event)>> = BTreeMap::new();
        for (place, (contact, body)) in rows.into_iter().enumerate() {
            let event: Event = parse::from_json(&body).map_err(|e| Error::Corrupt {
                path: name.to_string(),
                message: format!("a stored event of contact `{contact}` does not read: {e}"),
            })?;
            ids.push(event.id.as_str().to_string());
            by_contact.entry(contact).or_default().push((place, event));
        }
        let mut report = Ingested::default();
        fold_and_write(
            tx,
            setup,
            name,
            by_contact,
            Origin::Pending,
            now,
            &mut report,
        )?;
        tx.drop_pending(&ids.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
}

fn facts_of(
    setup: &Setup,
    profile: &Profile,
    contact: &Contact,
    at: Timestamp,
) -> patron::Result<Facts> {
    let index = setup.catalog.as_ref().map(|c| c.index());
    let mut facts = profile.facts(at, index.as_ref())?;
    facts.contact = Some(contact.clone());
    Ok(facts)
}

/// The instant to act at: `at`, or the state's clock when that is later
/// (the engine's clock never goes back).
fn act_at(state: &ContactState, at: Timestamp) -> Timestamp {
    state.clock.map_or(at, |c| c.max(at))
}

/// Folds one contact's events in order: record, profile, engine, segments.
fn fold(setup: &Setup, work: Work) -> std::result::Result<Folded, (usize, patron::Error)> {
    let Work {
        id,
        mut contact,
        mut contact_changed,
        mut profile,
        mut state,
        mut membership,
        stored_membership,
        events,
    } = work;
    let mut actions = Vec::new();
    let mut changes = Vec::new();
    let mut message_events = Vec::new();
    let mut next_wakeup = state.next_wakeup();
    for (place, event) in events {
        let named = |e: patron::Error| (place, e);
        contact_changed |= apply_to_contact(&mut contact, &event).map_err(named)?;
        if let Some((message_id, kind)) = message_activity(&event) {
            message_events.push((
                event.id.as_str().to_string(),
                message_id,
                kind,
                secs(event.at),
            ));
        }
        profile.apply(&event).map_err(named)?;
        let at = act_at(&state, event.at);
        let facts = facts_of(setup, &profile, &contact, at).map_err(named)?;
        let out = setup
            .engine
            .handle_owned(state, &facts, &event, at)
            .map_err(named)?;
        state = out.state;
        next_wakeup = out.next_wakeup;
        actions.extend(out.actions);
        if let Some(registry) = &setup.segments {
            let update = registry
                .update_after(membership.as_ref(), &facts, &event)
                .map_err(named)?;
            changes.extend(
                update
                    .changes
                    .into_iter()
                    .map(|c| (c.segment, c.change, secs(c.at))),
            );
            membership = Some(update.membership);
        }
    }
    Ok(Folded {
        id,
        contact: contact_changed.then_some(contact),
        profile: Some(profile),
        state,
        next_wakeup: next_wakeup.map(secs),
        membership,
        stored_membership,
        changes,
        actions,
        message_events,
    })
}

/// The engine's `refresh` after a contact's record changed.
fn refresh(setup: &Setup, work: Work, now: Timestamp) -> patron::Result<Folded> {
    let at = act_at(&work.state, now);
    let facts = facts_of(setup, &work.profile, &work.contact, at)?;
    let out = setup.engine.refresh_owned(work.state, &facts, at)?;
    finish_time(
        setup,
        work.id,
        Some(work.contact),
        work.membership,
        &facts,
        out,
    )
    .map(|f| f.stored(work.stored_membership))
}

/// The engine's `due` at a wake-up.
fn wake(setup: &Setup, work: Work, now: Timestamp) -> patron::Result<Folded> {
    let at = act_at(&work.state, now);
    let facts = facts_of(setup, &work.profile, &work.contact, at)?;
    let out = setup.engine.due_owned(work.state, &facts, at)?;
    finish_time(setup, work.id, None, work.membership, &facts, out)
        .map(|f| f.stored(work.stored_membership))
}

fn finish_time(
    setup: &Setup,
    id: String,
    contact: Option<Contact>,
    membership: Option<Membership>,
    facts: &Facts,
    out: patron::trigger::Outcome,
) -> patron::Result<Folded> {
    let (membership, changes) = match &setup.segments {
        Some(registry) => {
            let update = registry.update(membership.as_ref(), facts)?;
            let changes = update
                .changes
                .into_iter()
                .map(|c| (c.segment, c.change, secs(c.at)))
                .collect();
            (Some(update.membership), changes)
        }
        None => (membership, Vec::new()),
    };
    Ok(Folded {
        id,
        contact,
        profile: None,
        state: out.state,
        next_wakeup: out.next_wakeup.map(secs),
        membership,
        stored_membership: None,
        changes,
        actions: out.actions,
        message_events: Vec::new(),
    })
}

/// Changes an event makes to the contact's record: consent given or
/// withdrawn, and withdrawn by an unsubscribe, a complaint or a bounce.
/// Returns whether the record changed.
fn apply_to_contact(contact: &mut Contact, event: &Event) -> patron::Result<bool> {
    let withdraw = |contact: &mut Contact, channel: &ChannelName, purpose: Purpose, why: &str| {
        if contact.consent.get(channel, purpose).status == ConsentStatus::Unsubscribed {
            return false;
        }
        let change = ConsentChange {
            channel: channel.clone(),
            purpose,
            action: ConsentAction::Unsubscribe,
            at: event.at,
            source: Text::new(why).ok(),
            ip: None,
            reason: Text::new(why).ok(),
        };
        // A withdrawal dated before the entry's last change (the contact
        // subscribed again since) is older news: the later choice stands.
        contact.apply_consent(&change).is_ok()
    };
    Ok(match &event.kind {
        EventKind::ConsentChanged(c) => {
            contact.apply_consent(&c.to_change(event.at))?;
            true
        }
        EventKind::MessageUnsubscribed(m) => withdraw(
            contact,
            &m.channel,
            Purpose::Marketing,
            "message_unsubscribed",
        ),
        EventKind::MessageComplained(m) => withdraw(
            contact,
            &m.channel,
            Purpose::Marketing,
            "message_complained",
        ),
        EventKind::MessageBounced(m) => {
            let marketing = withdraw(contact, &m.channel, Purpose::Marketing, "message_bounced");
            withdraw(
                contact,
                &m.channel,
                Purpose::Transactional,
                "message_bounced",
            ) || marketing
        }
        _ => false,
    })
}

/// The message id and type of a message event.
fn message_activity(event: &Event) -> Option<(String, &'static str)> {
    let m = match &event.kind {
        EventKind::MessageSent(m)
        | EventKind::MessageDelivered(m)
        | EventKind::MessageOpened(m)
        | EventKind::MessageClicked(m)
        | EventKind::MessageUnsubscribed(m)
        | EventKind::MessageBounced(m)
        | EventKind::MessageComplained(m) => m,
        _ => return None,
    };
    Some((m.message_id.as_str().to_string(), event.kind.type_name()))
}

/// Writes what folding decided; false (and nothing written) when
/// `expected` is given and the state changed or the lease was lost.
fn write_folded(
    tx: &mut dyn Tx,
    f: &Encoded,
    now: i64,
    expected: Option<(i64, &str)>,
    report: &mut Ingested,
) -> Result<bool> {
    // A wake-up at or before `now` after the engine ran is read again by
    // the next run, not by this one (a run ends).
    if !tx.put_state(&f.id, &f.state, f.next_wakeup, expected)? {
        return Ok(false);
    }
    if let Some(contact) = &f.contact {
        tx.put_contact(&f.id, contact, now)?;
    }
    if let Some(profile) = &f.profile {
        tx.put_profile(&f.id, profile)?;
    }
    if let Some(membership) = &f.membership {
        tx.put_membership(&f.id, membership)?;
    }
    for (segment, change, at) in &f.changes {
        tx.add_membership_change(&MembershipChange {
            contact_id: &f.id,
            segment,
            change: match change {
                ChangeKind::Entered => "entered",
                ChangeKind::Left => "left",
            },
            at: *at,
        })?;
        report.membership_changes += 1;
    }
    for (event_id, message_id, kind, at) in &f.message_events {
        let row = tx.outbox_by_message_id(message_id)?;
        tx.add_message_event(event_id, message_id, row.map(|r| r.seq), kind, *at)?;
    }
    for action in &f.actions {
        if !tx.add_action(&ActionRow {
            contact_id: &f.id,
            action_id: &action.id,
            kind: action.kind,
            at: action.at,
            body: &action.body,
        })? {
            continue;
        }
        report.actions += 1;
        let Some((channel, purpose, rule, step, message_id)) = &action.outbox else {
            continue;
        };
        let queued = tx.add_outbox(&OutboxRow {
            seq: 0,
            contact_id: f.id.clone(),
            action_id: action.id.clone(),
            message_id: message_id.clone(),
            rule: rule.clone(),
            step: step.clone(),
            channel: channel.clone(),
            purpose: purpose.as_str().to_string(),
            body: action.body.clone(),
            status: "queued".into(),
            attempts: 0,
            created_at: action.at,
            // A letter decided for a past instant (a replayed history) goes
            // when the sender next runs.
            next_attempt_at: action.at.min(now),
            reason: None,
        })?;
        if queued {
            report.queued += 1;
        }
    }
    report.contacts += 1;
    Ok(true)
}

/// What the sender does with a claimed row.
enum Prepared {
    Letter(Box<Letter>),
    Cancel(String),
    Fail(String),
}

/// Checks consent and caps at the moment of sending and renders the letter.
fn prepare(
    tx: &mut dyn Tx,
    setup: &Setup,
    name: &str,
    row: &OutboxRow,
    now: Timestamp,
) -> Result<Prepared> {
    let work = read_work(tx, &row.contact_id, name)?;
    let action: serde_json::Value =
        serde_json::from_str(&row.body).map_err(|e| Error::Corrupt {
            path: name.to_string(),
            message: format!("outbox row {} does not read: {e}", row.seq),
        })?;
    let sender = &setup.config.sender;
    let mut letter = Letter {
        message_id: row.message_id.clone(),
        contact_id: row.contact_id.clone(),
        channel: row.channel.clone(),
        rule: row.rule.clone(),
        step: row.step.clone(),
        to: None,
        from: sender.from.clone(),
        subject: None,
        html: None,
        text: None,
        headers: Vec::new(),
        action: action.clone(),
        attempt: row.attempts,
    };
    if row.channel == "task" || row.channel == "webhook" {
        return Ok(Prepared::Letter(Box::new(letter)));
    }
    let channel = ChannelName::new(&row.channel)?;
    let purpose = if row.purpose == "transactional" {
        Purpose::Transactional
    } else {
        Purpose::Marketing
    };
    if !work.contact.consent.allows(&channel, purpose) {
        return Ok(Prepared::Cancel(format!(
            "no {} consent on {} at send time",
            purpose.as_str(),
            row.channel
        )));
    }
    if purpose == Purpose::Marketing {
        for cap in &setup.engine.config().policy.caps {
            let channels: Vec<&str> = cap.channels.iter().map(|c| c.as_str()).collect();
            if !channels.is_empty() && !channels.contains(&row.channel.as_str()) {
                continue;
            }
            let since = secs(now) - cap.per.as_seconds() as i64;
            if tx.count_sent(&row.contact_id, &channels, since, row.seq)? >= u64::from(cap.max) {
                return Ok(Prepared::Cancel(format!(
                    "cap of {} per {} reached at send time",
                    cap.max, cap.per
                )));
            }
        }
    }
    letter.to = match row.channel.as_str() {
        "email" => work.contact.email.as_ref().map(|e| e.as_str().to_string()),
        "sms" => work.contact.phone.as_ref().map(|p| p.as_str().to_string()),
        _ => None,
    };
    if row.channel == "email" && letter.to.is_none() {
        return Ok(Prepared::Fail("the contact has no email address".into()));
    }
    let Some(template_name) = action["template"].as_str() else {
        return Ok(Prepared::Fail("the step names no template".into()));
    };
    let Some(template) = setup.templates.get(template_name) else {
        return Ok(Prepared::Fail(format!(
            "no template `{template_name}` in the config"
        )));
    };
    let mut recipient = Recipient::new(work.contact.clone());
    let at = act_at(&work.state, now);
    recipient.facts = Some(facts_of(setup, &work.profile, &work.contact, at)?);
    recipient.segments = work.membership.map(|m| m.segments).unwrap_or_default();
    if let Some(catalog) = &setup.catalog {
        let index = catalog.index();
        let products = action["products"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str())
            .filter_map(|p| index.product(p).cloned())
            .collect::<Vec<_>>();
        recipient.blocks.insert("products".into(), products);
    }
    if let Some(pool) = action["coupon_pool"].as_str() {
        let claim = claim_coupon(tx, setup, pool, &row.rule, &row.contact_id, now)?;
        recipient.coupon = Some(CouponView {
            code: Text::new(&claim.code)?,
            expires_at: claim.expires_at.map(at_secs),
        });
    }
    if let (Some(url), Some(key)) = (&sender.unsubscribe_url, &sender.link_key) {
        let token = link::unsubscribe_token(key, &row.contact_id, &row.message_id);
        let sep = if url.contains('?') { '&' } else { '?' };
        let link = format!("{url}{sep}token={token}");
        recipient
            .links
            .insert("unsubscribe".into(), Url::new(&link)?);
        let mut header = format!("<{link}>");
        if let Some(mailto) = &sender.unsubscribe_mailto {
            header.push_str(&format!(", <mailto:{mailto}?subject=unsubscribe-{token}>"));
        }
        letter.headers.push(("List-Unsubscribe".into(), header));
        letter.headers.push((
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ));
    } else if let Some(mailto) = &sender.unsubscribe_mailto {
        letter
            .headers
            .push(("List-Unsubscribe".into(), format!("<mailto:{mailto}>")));
    }
    let info = MessageInfo {
        campaign_id: Id::new(&row.rule).ok(),
        step: row.step.as_deref().and_then(|s| Name::new(s).ok()),
        variant: None,
    };
    let rendered = match template.render(&recipient, now, &info) {
        Ok(r) => r,
        Err(e) => return Ok(Prepared::Fail(format!("the template does not render: {e}"))),
    };
    letter.subject = rendered.subject;
    letter.html = rendered.html;
    letter.text = rendered.text;
    Ok(Prepared::Letter(Box::new(letter)))
}

/// The contact's code of the pool for this rule: the one issued before, or
/// the pool's next free one.
fn claim_coupon(
    tx: &mut dyn Tx,
    setup: &Setup,
    pool_id: &str,
    campaign: &str,
    contact_id: &str,
    now: Timestamp,
) -> Result<CouponClaim> {
    if let Some(claim) = tx.coupon(pool_id, campaign, contact_id)? {
        return Ok(claim);
    }
    let pool = setup.pools.get(pool_id).ok_or_else(|| {
        patron::Error::invalid(
            "coupon_pool",
            format!("no coupon pool `{pool_id}` in the config"),
        )
    })?;
    let (campaign_id, contact) = (Id::new(campaign)?, Id::new(contact_id)?);
    let mut next = tx.coupon_next(pool_id)?;
    loop {
        let mut state = PoolState::new(pool);
        state.next = next;
        let issued = coupon::issue(pool, &mut state, &campaign_id, &contact, now)?;
        next = state.next;
        // A code issued by hand for the same pool is never given twice.
        if tx.coupon_taken(pool_id, &issued.code)? {
            continue;
        }
        let claim = CouponClaim {
            code: issued.code,
            issued_at: secs(issued.issued_at),
            expires_at: issued.expires_at.map(secs),
        };
        tx.add_coupon(pool_id, campaign, contact_id, &claim, next)?;
        return Ok(claim);
    }
}

/// The store's own message event about an outbox row.
fn message_event(row: &OutboxRow, kind: &str, now: Timestamp) -> Result<Event> {
    let value = serde_json::json!({
        "type": kind,
        "id": format!("{}-{}", kind.trim_start_matches("message_"), row.message_id),
        "contact_id": row.contact_id,
        "at": now.to_rfc3339(),
        "message_id": row.message_id,
        "campaign_id": row.rule,
        "step": row.step,
        "channel": row.channel,
    });
    let mut value = value;
    if row.step.is_none() {
        value.as_object_mut().map(|o| o.remove("step"));
    }
    Ok(parse::from_value(value)?)
}
