//! The SQLite schema, its version, and the migrations between versions.
//!
//! The version lives in the file (`PRAGMA user_version`), beside an
//! application id that marks the file as a patron store. Opening a file of
//! an older version runs the migrations after it, in one transaction; a
//! newer version is refused before anything is read or written.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// The schema this build writes.
pub const VERSION: i64 = 2;

/// `PRAGMA application_id` of a patron store ("ptrn").
pub const APPLICATION_ID: i64 = 0x7074_726e;

/// Each entry takes the schema from its index to the next version.
const MIGRATIONS: [&str; VERSION as usize] = [V1, V2];

/// Version 1: contacts, events, profiles, trigger states with wake-ups and
/// leases, memberships and their history, decisions, the outbox and its
/// send log, coupon claims, message events.
const V1: &str = "
CREATE TABLE config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    contact_id TEXT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL,
    ingested_at INTEGER NOT NULL
);
CREATE INDEX events_contact ON events (contact_id, at);
CREATE TABLE profiles (
    contact_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE states (
    contact_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    next_wakeup INTEGER,
    lease_owner TEXT,
    lease_until INTEGER
) WITHOUT ROWID;
CREATE INDEX states_wakeup ON states (next_wakeup) WHERE next_wakeup IS NOT NULL;
CREATE TABLE memberships (
    contact_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE membership_history (
    seq INTEGER PRIMARY KEY,
    contact_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('entered', 'left')),
    at INTEGER NOT NULL
);
CREATE INDEX membership_history_contact ON membership_history (contact_id, at);
CREATE TABLE actions (
    seq INTEGER PRIMARY KEY,
    contact_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (contact_id, action_id)
);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    contact_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    step TEXT,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    sent_at INTEGER,
    reason TEXT,
    UNIQUE (contact_id, action_id)
);
CREATE INDEX outbox_ready ON outbox (channel, next_attempt_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_sent ON outbox (contact_id, sent_at) WHERE status = 'sent';
CREATE TABLE send_log (
    seq INTEGER PRIMARY KEY,
    outbox_seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    result TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX send_log_outbox ON send_log (outbox_seq);
CREATE TABLE coupon_pools (
    pool_id TEXT PRIMARY KEY,
    next INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE coupon_claims (
    pool_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    code TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (pool_id, campaign_id, contact_id),
    UNIQUE (pool_id, code)
) WITHOUT ROWID;
CREATE TABLE message_events (
    event_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    outbox_seq INTEGER,
    type TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX message_events_message ON message_events (message_id);
";

/// Version 2: stored events whose folding waits. A letter's `message_sent`
/// is written in the smallest transaction the moment the server accepts
/// the letter, and folded into the contact just after (or, after a crash,
/// by the next call), so a crash re-sends as few letters as it can.
const V2: &str = "
CREATE TABLE pending (
    event_id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL
) WITHOUT ROWID;
";

/// Brings the file at `path` to [`VERSION`]: creates a new store, migrates
/// an older one, refuses a newer one or a file that is not a patron store.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let sql = |e| Error::sqlite(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    let application: i64 = tx
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql)?;
    let tables: i64 = tx
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if application != APPLICATION_ID && (application != 0 || tables > 0) {
        return Err(Error::Corrupt {
            path: path.to_string(),
            message: format!(
                "not a patron store (a SQLite file with application id {application:#x} and {tables} tables)"
            ),
        });
    }
    if version > VERSION {
        return Err(Error::NewerSchema {
            path: path.to_string(),
            found: version,
            supported: VERSION,
        });
    }
    if version == VERSION {
        return Ok(());
    }
    for step in &MIGRATIONS[version.max(0) as usize..] {
        tx.execute_batch(step).map_err(sql)?;
    }
    tx.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION};"
    ))
    .map_err(sql)?;
    tx.commit().map_err(sql)
}
