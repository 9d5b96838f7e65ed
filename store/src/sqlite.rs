//! The store on SQLite: one file, WAL, nothing to start.
//!
//! Write transactions begin `IMMEDIATE`, so processes sharing the file
//! queue for the write lock (up to the busy timeout) instead of failing
//! halfway; readers never wait. `synchronous = NORMAL` in WAL mode keeps
//! every committed transaction through a crash of the process; only a
//! power cut can lose the last ones, never corrupt the file.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use crate::backend::{
    ActionRow, Backend, ContactRows, CouponClaim, EventRow, Finish, MembershipChange, OutboxRow,
    StateRow, Stats, Tx,
};
use crate::error::{Error, Result};
use crate::schema;
use crate::store::LEASE_ENDED;

/// A store file.
pub struct Sqlite {
    conn: Connection,
    path: String,
}

impl Sqlite {
    /// Opens (or creates) the store file at `path` and brings its schema
    /// to this build's version.
    pub fn open(path: impl AsRef<Path>) -> Result<Sqlite> {
        let shown = path.as_ref().display().to_string();
        let sql = |e| Error::sqlite(&shown, e);
        let mut conn = Connection::open_with_flags(
            path.as_ref(),
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn, &shown)?;
        Ok(Sqlite { conn, path: shown })
    }

    /// Caps the file at `pages` pages (of 4 KiB): writes past it fail as
    /// [`Error::Full`], as on a full disk.
    pub fn limit_pages(&mut self, pages: u64) -> Result<()> {
        self.conn
            .pragma_update(None, "max_page_count", pages as i64)
            .map_err(|e| Error::sqlite(&self.path, e))
    }

    /// The file's path, as given.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Backend for Sqlite {
    fn begin(&mut self) -> Result<Box<dyn Tx + '_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::sqlite(&self.path, e))?;
        Ok(Box::new(SqliteTx {
            tx,
            path: &self.path,
        }))
    }
}

struct SqliteTx<'c> {
    tx: rusqlite::Transaction<'c>,
    path: &'c str,
}

const OUTBOX_COLUMNS: &str = "seq, contact_id, action_id, message_id, rule, step, channel, body, status, attempts, created_at, next_attempt_at, reason, purpose";

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        seq: r.get(0)?,
        contact_id: r.get(1)?,
        action_id: r.get(2)?,
        message_id: r.get(3)?,
        rule: r.get(4)?,
        step: r.get(5)?,
        channel: r.get(6)?,
        body: r.get(7)?,
        status: r.get(8)?,
        attempts: r.get(9)?,
        created_at: r.get(10)?,
        next_attempt_at: r.get(11)?,
        reason: r.get(12)?,
        purpose: r.get(13)?,
    })
}

impl SqliteTx<'_> {
    fn err(&self, e: rusqlite::Error) -> Error {
        Error::sqlite(self.path, e)
    }

    fn run(&mut self, sql: &str, values: impl rusqlite::Params) -> Result<usize> {
        let done = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(values));
        done.map_err(|e| self.err(e))
    }
}

impl Tx for SqliteTx<'_> {
    fn commit(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(|e| Error::sqlite(path, e))
    }

    fn config(&mut self) -> Result<Option<String>> {
        let found = self
            .tx
            .query_row("SELECT body FROM config WHERE id = 1", [], |r| r.get(0))
            .optional();
        found.map_err(|e| self.err(e))
    }

    fn set_config(&mut self, body: &str, now: i64) -> Result<()> {
        self.run(
            "INSERT INTO config (id, body, updated_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            params![body, now],
        )
        .map(drop)
    }

    fn insert_event(&mut self, e: &EventRow<'_>) -> Result<bool> {
        self.run(
            "INSERT INTO events (id, contact_id, type, at, body, ingested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
            params![e.id, e.contact_id, e.kind, e.at, e.body, e.ingested_at],
        )
        .map(|n| n == 1)
    }

    fn events(&mut self, each: &mut dyn FnMut(&str) -> Result<()>) -> Result<()> {
        let mut statement = self
            .tx
            .prepare("SELECT body FROM events ORDER BY seq")
            .map_err(|e| Error::sqlite(self.path, e))?;
        let mut rows = statement
            .query([])
            .map_err(|e| Error::sqlite(self.path, e))?;
        while let Some(row) = rows.next().map_err(|e| Error::sqlite(self.path, e))? {
            let body: String = row.get(0).map_err(|e| Error::sqlite(self.path, e))?;
            each(&body)?;
        }
        Ok(())
    }

    fn add_pending(&mut self, event_id: &str, contact_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO pending (event_id, contact_id) VALUES (?1, ?2)
             ON CONFLICT (event_id) DO NOTHING",
            params![event_id, contact_id],
        )
        .map(drop)
    }

    fn pending(&mut self, limit: usize) -> Result<Vec<(String, String)>> {
        let path = self.path;
        let sql = |e| Error::sqlite(path, e);
        let mut statement = self
            .tx
            .prepare_cached(
                // CROSS JOIN keeps `pending` (a few rows) the outer loop;
                // the planner would otherwise walk every event in order.
                "SELECT p.contact_id, e.body FROM pending p CROSS JOIN events e ON e.id = p.event_id
                 ORDER BY e.seq LIMIT ?1",
            )
            .map_err(sql)?;
        let rows = statement
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    fn drop_pending(&mut self, event_ids: &[&str]) -> Result<()> {
        for id in event_ids {
            self.run("DELETE FROM pending WHERE event_id = ?1", params![id])?;
        }
        Ok(())
    }

    fn contact_rows(&mut self, id: &str) -> Result<ContactRows> {
        let found = self
            .tx
            .prepare_cached(
                "SELECT c.body, p.body, s.body, s.version, m.body FROM (SELECT ?1 AS id) k
                 LEFT JOIN contacts c ON c.id = k.id
                 LEFT JOIN profiles p ON p.contact_id = k.id
                 LEFT JOIN states s ON s.contact_id = k.id
                 LEFT JOIN memberships m ON m.contact_id = k.id",
            )
            .and_then(|mut s| {
                s.query_row([id], |r| {
                    let state: Option<String> = r.get(2)?;
                    Ok(ContactRows {
                        record: r.get(0)?,
                        // Text in a version-1 file, a packed blob since.
                        profile: match r.get_ref(1)? {
                            ValueRef::Null => None,
                            ValueRef::Text(b) | ValueRef::Blob(b) => Some(b.to_vec()),
                            _ => {
                                return Err(rusqlite::Error::InvalidColumnType(
                                    1,
                                    "profile".into(),
                                    rusqlite::types::Type::Integer,
                                ));
                            }
                        },
                        state: match state {
                            Some(body) => Some(StateRow {
                                body,
                                version: r.get(3)?,
                            }),
                            None => None,
                        },
                        membership: r.get(4)?,
                    })
                })
            });
        found.map_err(|e| self.err(e))
    }

    fn put_contact(&mut self, id: &str, body: &str, now: i64) -> Result<()> {
        self.run(
            "INSERT INTO contacts (id, body, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            params![id, body, now],
        )
        .map(drop)
    }

    fn put_profile(&mut self, contact_id: &str, body: &[u8]) -> Result<()> {
        self.run(
            "INSERT INTO profiles (contact_id, body) VALUES (?1, ?2)
             ON CONFLICT (contact_id) DO UPDATE SET body = excluded.body",
            params![contact_id, body],
        )
        .map(drop)
    }

    fn put_state(
        &mut self,
        contact_id: &str,
        body: &str,
        next_wakeup: Option<i64>,
        expected: Option<(i64, &str)>,
    ) -> Result<bool> {
        match expected {
            None => self
                .run(
                    "INSERT INTO states (contact_id, body, version, next_wakeup) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (contact_id) DO UPDATE SET body = excluded.body,
                         version = states.version + 1, next_wakeup = excluded.next_wakeup,
                         lease_owner = NULL, lease_until = NULL",
                    params![contact_id, body, next_wakeup],
                )
                .map(|n| n == 1),
            Some((version, owner)) => self
                .run(
                    "UPDATE states SET body = ?2, version = version + 1, next_wakeup = ?3,
                         lease_owner = NULL, lease_until = NULL
                     WHERE contact_id = ?1 AND version = ?4 AND lease_owner = ?5",
                    params![contact_id, body, next_wakeup, version, owner],
                )
                .map(|n| n == 1),
        }
    }

    fn claim_due(
        &mut self,
        now: i64,
        owner: &str,
        lease_until: i64,
        limit: usize,
    ) -> Result<Vec<(String, StateRow)>> {
        let claimed = self
            .tx
            .prepare_cached(
                "UPDATE states SET lease_owner = ?2, lease_until = ?3
                 WHERE contact_id IN (
                     SELECT contact_id FROM states
                     WHERE next_wakeup <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
                     ORDER BY next_wakeup LIMIT ?4)
                 RETURNING contact_id, body, version",
            )
            .and_then(|mut s| {
                s.query_map(params![now, owner, lease_until, limit as i64], |r| {
                    Ok((
                        r.get(0)?,
                        StateRow {
                            body: r.get(1)?,
                            version: r.get(2)?,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            });
        claimed.map_err(|e| self.err(e))
    }

    fn next_wakeup(&mut self, now: i64) -> Result<Option<i64>> {
        let found = self.tx.query_row(
            "SELECT min(next_wakeup) FROM states
             WHERE next_wakeup IS NOT NULL AND (lease_until IS NULL OR lease_until <= ?1)",
            [now],
            |r| r.get(0),
        );
        found.map_err(|e| self.err(e))
    }

    fn put_membership(&mut self, contact_id: &str, body: &str) -> Result<()> {
        self.run(
            "INSERT INTO memberships (contact_id, body) VALUES (?1, ?2)
             ON CONFLICT (contact_id) DO UPDATE SET body = excluded.body",
            params![contact_id, body],
        )
        .map(drop)
    }

    fn add_membership_change(&mut self, c: &MembershipChange<'_>) -> Result<()> {
        self.run(
            "INSERT INTO membership_history (contact_id, segment, change, at) VALUES (?1, ?2, ?3, ?4)",
            params![c.contact_id, c.segment, c.change, c.at],
        )
        .map(drop)
    }

    fn add_action(&mut self, a: &ActionRow<'_>) -> Result<bool> {
        self.run(
            "INSERT INTO actions (contact_id, action_id, type, at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (contact_id, action_id) DO NOTHING",
            params![a.contact_id, a.action_id, a.kind, a.at, a.body],
        )
        .map(|n| n == 1)
    }

    fn add_outbox(&mut self, o: &OutboxRow) -> Result<bool> {
        self.run(
            "INSERT INTO outbox (contact_id, action_id, message_id, rule, step, channel, purpose,
                 body, status, attempts, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', 0, ?9, ?10)
             ON CONFLICT DO NOTHING",
            params![
                o.contact_id,
                o.action_id,
                o.message_id,
                o.rule,
                o.step,
                o.channel,
                o.purpose,
                o.body,
                o.created_at,
                o.next_attempt_at
            ],
        )
        .map(|n| n == 1)
    }

    fn claim_outbox(
        &mut self,
        now: i64,
        owner: &str,
        lease_until: i64,
        channels: &[&str],
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        let list = serde_json::to_string(channels).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1,
                 lease_owner = ?2, lease_until = ?3,
                 reason = CASE WHEN status = 'sending' THEN '{LEASE_ENDED}' ELSE reason END
             WHERE seq IN (
                 SELECT seq FROM outbox
                 WHERE status IN ('queued', 'sending')
                   AND channel IN (SELECT value FROM json_each(?4))
                   AND next_attempt_at <= ?1
                   AND (status = 'queued' OR lease_until <= ?1)
                 ORDER BY next_attempt_at, seq LIMIT ?5)
             RETURNING {OUTBOX_COLUMNS}"
        );
        let claimed = self.tx.prepare_cached(&sql).and_then(|mut s| {
            s.query_map(
                params![now, owner, lease_until, list, limit as i64],
                outbox_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        });
        let mut rows = claimed.map_err(|e| self.err(e))?;
        rows.sort_by_key(|r| (r.next_attempt_at, r.seq));
        Ok(rows)
    }

    fn finish_outbox(&mut self, seq: i64, owner: &str, finish: &Finish<'_>) -> Result<bool> {
        let (status, next, sent, reason): (&str, Option<i64>, Option<i64>, Option<&str>) =
            match *finish {
                Finish::Sent { at } => ("sent", None, Some(at), None),
                Finish::Retry { at, reason } => ("queued", Some(at), None, Some(reason)),
                Finish::Failed { reason } => ("failed", None, None, Some(reason)),
                Finish::Cancelled { reason } => ("cancelled", None, None, Some(reason)),
            };
        self.run(
            "UPDATE outbox SET status = ?3, next_attempt_at = coalesce(?4, next_attempt_at),
                 sent_at = ?5, reason = ?6, lease_owner = NULL, lease_until = NULL
             WHERE seq = ?1 AND lease_owner = ?2 AND status = 'sending'",
            params![seq, owner, status, next, sent, reason],
        )
        .map(|n| n == 1)
    }

    fn log_send(
        &mut self,
        seq: i64,
        attempt: i64,
        at: i64,
        result: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        self.run(
            "INSERT INTO send_log (outbox_seq, attempt, at, result, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![seq, attempt, at, result, detail],
        )
        .map(drop)
    }

    fn count_sent(
        &mut self,
        contact_id: &str,
        channels: &[&str],
        since: i64,
        except: i64,
    ) -> Result<u64> {
        let list = serde_json::to_string(channels).unwrap_or_else(|_| "[]".into());
        let found = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM outbox
                 WHERE contact_id = ?1 AND status = 'sent' AND sent_at >= ?2 AND seq != ?3
                   AND purpose = 'marketing'
                   AND (json_array_length(?4) = 0 OR channel IN (SELECT value FROM json_each(?4)))",
            )
            .and_then(|mut s| {
                s.query_row(params![contact_id, since, except, list], |r| {
                    r.get::<_, i64>(0)
                })
            });
        found.map(|n| n as u64).map_err(|e| self.err(e))
    }

    fn outbox_by_message_id(&mut self, message_id: &str) -> Result<Option<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE message_id = ?1");
        let found = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([message_id], outbox_row).optional());
        found.map_err(|e| self.err(e))
    }

    fn outbox(&mut self, status: Option<&str>, limit: usize) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY seq LIMIT ?2"
        );
        let found = self.tx.prepare_cached(&sql).and_then(|mut s| {
            s.query_map(params![status, limit as i64], outbox_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        });
        found.map_err(|e| self.err(e))
    }

    fn coupon(
        &mut self,
        pool: &str,
        campaign: &str,
        contact_id: &str,
    ) -> Result<Option<CouponClaim>> {
        let found = self
            .tx
            .prepare_cached(
                "SELECT code, issued_at, expires_at FROM coupon_claims
                 WHERE pool_id = ?1 AND campaign_id = ?2 AND contact_id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![pool, campaign, contact_id], |r| {
                    Ok(CouponClaim {
                        code: r.get(0)?,
                        issued_at: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                })
                .optional()
            });
        found.map_err(|e| self.err(e))
    }

    fn coupon_next(&mut self, pool: &str) -> Result<u64> {
        let found: Option<i64> = self
            .tx
            .prepare_cached("SELECT next FROM coupon_pools WHERE pool_id = ?1")
            .and_then(|mut s| s.query_row([pool], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        Ok(found.unwrap_or(0).max(0) as u64)
    }

    fn coupon_taken(&mut self, pool: &str, code: &str) -> Result<bool> {
        let found: Option<i64> = self
            .tx
            .prepare_cached("SELECT 1 FROM coupon_claims WHERE pool_id = ?1 AND code = ?2")
            .and_then(|mut s| s.query_row([pool, code], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        Ok(found.is_some())
    }

    fn add_coupon(
        &mut self,
        pool: &str,
        campaign: &str,
        contact_id: &str,
        claim: &CouponClaim,
        next: u64,
    ) -> Result<()> {
        self.run(
            "INSERT INTO coupon_claims (pool_id, campaign_id, contact_id, code, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![pool, campaign, contact_id, claim.code, claim.issued_at, claim.expires_at],
        )?;
        self.run(
            "INSERT INTO coupon_pools (pool_id, next) VALUES (?1, ?2)
             ON CONFLICT (pool_id) DO UPDATE SET next = excluded.next",
            params![pool, next as i64],
        )
        .map(drop)
    }

    fn add_message_event(
        &mut self,
        event_id: &str,
        message_id: &str,
        outbox_seq: Option<i64>,
        kind: &str,
        at: i64,
    ) -> Result<bool> {
        self.run(
            "INSERT INTO message_events (event_id, message_id, outbox_seq, type, at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (event_id) DO NOTHING",
            params![event_id, message_id, outbox_seq, kind, at],
        )
        .map(|n| n == 1)
    }

    fn stats(&mut self) -> Result<Stats> {
        let path = self.path;
        let sql = |e| Error::sqlite(path, e);
        let count = |tx: &rusqlite::Transaction<'_>, q: &str| -> Result<u64> {
            tx.query_row(q, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(sql)
        };
        let grouped = |tx: &rusqlite::Transaction<'_>, q: &str| -> Result<_> {
            let mut s = tx.prepare(q).map_err(sql)?;
            let rows = s
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(sql)?;
            rows.collect::<rusqlite::Result<_>>().map_err(sql)
        };
        let tx = &self.tx;
        Ok(Stats {
            contacts: count(tx, "SELECT count(*) FROM contacts")?,
            events: count(tx, "SELECT count(*) FROM events")?,
            states: count(tx, "SELECT count(*) FROM states")?,
            scheduled: count(
                tx,
                "SELECT count(*) FROM states WHERE next_wakeup IS NOT NULL",
            )?,
            next_wakeup: tx
                .query_row("SELECT min(next_wakeup) FROM states", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .map_err(sql)?
                .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
                .map(patron::model::Timestamp::from),
            actions: count(tx, "SELECT count(*) FROM actions")?,
            outbox: grouped(tx, "SELECT status, count(*) FROM outbox GROUP BY status")?,
            message_events: grouped(
                tx,
                "SELECT type, count(*) FROM message_events GROUP BY type",
            )?,
            membership_changes: count(tx, "SELECT count(*) FROM membership_history")?,
            coupons: count(tx, "SELECT count(*) FROM coupon_claims")?,
            pending: count(tx, "SELECT count(*) FROM pending")?,
        })
    }
}
