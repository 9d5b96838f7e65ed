//! The store end to end on real SQLite files: ingest, the worker, the
//! sender, and what goes wrong (bad input, damaged files, full disks,
//! channels that refuse, processes that lose their lease).

use std::cell::RefCell;
use std::path::PathBuf;

use patron::model::Timestamp;
use patron_store::{Callback, Channel, Config, Letter, Refusal, Store};

fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("patron-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config() -> Config {
    serde_json::from_str(
        r#"{
        "triggers": {
            "rules": [{
                "id": "abandoned_cart",
                "trigger": {"on": "product", "action": "carted"},
                "reentry": {"type": "always"}, "on_repeat": "restart",
                "steps": [{"name": "1h", "delay": "1h", "template": "cart", "coupon_pool": "back"},
                          {"name": "1d", "delay": "23h", "template": "cart"}],
                "exit": [{"on": "event", "event": "order_placed", "same_products": true}]
            }],
            "segments": {"carted": "cart.value > 0"},
            "policy": {"caps": [{"max": 5, "per": "1d"}]}
        },
        "templates": {"cart": {
            "subject": "{{ contact.first_name }}, your cart",
            "text": "Code {{ coupon.code | default(value='none') }} {{ links.unsubscribe }}"
        }},
        "coupon_pools": [{"id": "back", "generator": {"pattern": "BACK-####", "key": 7}}],
        "sender": {"from": "Shop <news@shop.example>", "unsubscribe_url": "https://shop.example/u",
                   "link_key": "k3y", "retry_seconds": 60, "max_attempts": 3}
    }"#,
    )
    .unwrap()
}

fn contact(id: &str) -> patron::Contact {
    patron::parse::from_json(&format!(
        r#"{{"id": "{id}", "first_name": "Ann", "email": "{id}@example.com",
        "consent": {{"email": {{"marketing": {{"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}}}}}"#
    ))
    .unwrap()
}

fn cart(id: &str, contact: &str, at: &str) -> String {
    format!(
        r#"{{"type": "cart_updated", "id": "{id}", "contact_id": "{contact}", "at": "{at}", "currency": "EUR", "lines": [{{"product_id": "p1", "quantity": 1, "unit_price": 30}}]}}"#
    )
}

fn store_with(name: &str, contacts: &[&str]) -> (PathBuf, Store) {
    let d = dir(name);
    let path = d.join("shop.db");
    let mut store = Store::open(&path, Some(config())).unwrap();
    let list: Vec<_> = contacts.iter().map(|c| contact(c)).collect();
    store
        .upsert_contacts(&list, t("2024-05-01T09:00:00Z"))
        .unwrap();
    (path, store)
}

/// A store whose one contact, anna, carted at 10:00 and whose reminder was
/// queued at 11:00.
fn with_queued_letter(name: &str) -> (PathBuf, Store) {
    let (path, mut store) = store_with(name, &["anna"]);
    store
        .ingest_json_lines(
            &cart("e1", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap();
    store.run_due(t("2024-05-01T11:00:00Z")).unwrap();
    (path, store)
}

/// A channel that keeps what it is given and answers with `answer`.
fn keeping<'a>(
    kept: &'a RefCell<Vec<Letter>>,
    answer: impl Fn(&Letter) -> Result<(), Refusal> + 'a,
) -> impl Channel + 'a {
    Callback::new("email", move |l: &Letter| {
        kept.borrow_mut().push(l.clone());
        answer(l)
    })
}

#[test]
fn a_cart_becomes_a_letter_with_a_coupon_and_one_click_unsubscribe() {
    let (_, mut store) = store_with("flow", &["anna"]);
    let ingested = store
        .ingest_json_lines(
            &cart("e1", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap();
    assert_eq!((ingested.stored, ingested.contacts), (1, 1));
    assert_eq!(ingested.membership_changes, 1, "entered `carted`");
    assert_eq!(
        store.next_wakeup(t("2024-05-01T10:00:00Z")).unwrap(),
        Some(t("2024-05-01T11:00:00Z"))
    );

    // Not due yet.
    assert_eq!(
        store.run_due(t("2024-05-01T10:30:00Z")).unwrap().contacts,
        0
    );
    let ran = store.run_due(t("2024-05-01T11:00:00Z")).unwrap();
    assert_eq!((ran.contacts, ran.queued), (1, 1));

    let kept = RefCell::new(Vec::new());
    let mut email = keeping(&kept, |_| Ok(()));
    let sent = store
        .send(t("2024-05-01T11:00:00Z"), &mut [&mut email])
        .unwrap();
    assert_eq!(sent.sent, 1);
    let letters = kept.borrow();
    let letter = &letters[0];
    assert_eq!(letter.to.as_deref(), Some("anna@example.com"));
    assert_eq!(letter.subject.as_deref(), Some("Ann, your cart"));
    let text = letter.text.as_deref().unwrap();
    assert!(text.starts_with("Code BACK-"), "{text}");
    assert!(text.contains("https://shop.example/u?token="), "{text}");
    let header = &letter.headers;
    assert_eq!(
        header[1],
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into()
        )
    );
    assert_eq!(
        letter.message_id,
        patron_store::link::message_id("anna", "abandoned_cart/e1/1h")
    );

    // The store recorded its own `message_sent`, which KPIs read.
    let stats = store.stats().unwrap();
    assert_eq!(stats.events, 2);
    assert_eq!(stats.outbox.get("sent"), Some(&1));
    assert_eq!(stats.message_events.get("message_sent"), Some(&1));
    assert_eq!(stats.coupons, 1);

    // One-click unsubscribe from the letter's own link.
    let token = text.rsplit("token=").next().unwrap();
    let mut changed = token.to_string();
    changed.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
    let err = store
        .unsubscribe(&changed, t("2024-05-01T12:00:00Z"))
        .unwrap_err();
    assert_eq!((err.code(), err.path()), ("validation", Some("token")));
    store.unsubscribe(token, t("2024-05-01T12:00:00Z")).unwrap();
    let view = store.contact("anna").unwrap().unwrap();
    assert_eq!(
        view.contact["consent"]["email"]["marketing"]["status"],
        "unsubscribed"
    );

    // The second reminder is decided at its time but never sent: no consent.
    store.run_due(t("2024-05-02T11:00:00Z")).unwrap();
    let sent = store
        .send(t("2024-05-02T11:00:00Z"), &mut [&mut email])
        .unwrap();
    assert_eq!(
        (sent.sent, sent.cancelled),
        (0, 0),
        "the engine saw the unsubscribe"
    );
}

#[test]
fn a_repeated_event_is_dropped_and_reported() {
    let (_, mut store) = store_with("dup", &["anna"]);
    let lines = [
        cart("e1", "anna", "2024-05-01T10:00:00Z"),
        cart("e1", "anna", "2024-05-01T10:00:00Z"),
    ]
    .join("\n");
    let first = store
        .ingest_json_lines(&lines, t("2024-05-01T10:00:00Z"))
        .unwrap();
    assert_eq!(
        (first.stored, first.duplicates.clone()),
        (1, vec!["e1".to_string()])
    );
    let again = store
        .ingest_json_lines(
            &cart("e1", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:05:00Z"),
        )
        .unwrap();
    assert_eq!(
        (again.stored, again.duplicates.len(), again.actions),
        (0, 1, 0)
    );
}

#[test]
fn a_bad_event_refuses_the_whole_batch_by_line_and_column() {
    let (_, mut store) = store_with("bad", &["anna"]);
    let lines = [
        cart("e1", "anna", "2024-05-01T10:00:00Z"),
        r#"{"type": "cart_updated", "id": "e2", "contact_id": "anna", "at": "yesterday"}"#
            .to_string(),
    ]
    .join("\n");
    let err = store
        .ingest_json_lines(&lines, t("2024-05-01T10:00:00Z"))
        .unwrap_err();
    assert_eq!(
        (err.line(), err.path(), err.code()),
        (Some(2), Some("at"), "validation")
    );
    let err = store
        .ingest_json_lines(
            &format!(
                "{}\n{{\"type\": ",
                cart("e1", "anna", "2024-05-01T10:00:00Z")
            ),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap_err();
    assert_eq!((err.code(), err.line()), ("json", Some(2)));
    // An event from the future, and a consent change that cannot happen
    // (confirming what was never requested) refuse the batch too.
    let err = store
        .ingest_json_lines(
            &cart("e1", "anna", "2030-01-01T00:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap_err();
    assert_eq!((err.line(), err.path()), (Some(1), Some("at")));
    let confirm = r#"{"type": "consent_changed", "id": "e3", "contact_id": "bob", "at": "2024-05-01T10:00:00Z", "channel": "email", "purpose": "marketing", "action": "confirm"}"#;
    let err = store
        .ingest_json_lines(
            &format!("{}\n{confirm}", cart("e1", "anna", "2024-05-01T10:00:00Z")),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap_err();
    assert_eq!((err.code(), err.line()), ("consent_transition", Some(2)));
    // Nothing of any refused batch was stored.
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.events, stats.actions, stats.membership_changes),
        (0, 0, 0)
    );
    assert!(store.contact("bob").unwrap().is_none());
}

#[test]
fn a_newer_schema_a_foreign_file_and_a_damaged_file_are_refused() {
    let d = dir("files");
    let newer = d.join("newer.db");
    drop(Store::open(&newer, Some(config())).unwrap());
    {
        let conn = rusqlite::Connection::open(&newer).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&newer, None).err().unwrap();
    assert_eq!(err.code(), "newer_schema");
    assert!(err.to_string().contains("schema version 99"), "{err}");

    let foreign = d.join("foreign.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE orders (id INTEGER)")
            .unwrap();
    }
    assert_eq!(Store::open(&foreign, None).err().unwrap().code(), "corrupt");

    let text = d.join("text.db");
    std::fs::write(
        &text,
        "this is not a database, only text long enough to look like a header of one ....",
    )
    .unwrap();
    assert_eq!(Store::open(&text, None).err().unwrap().code(), "corrupt");

    // A store cut short: the first pages survive, the rest is gone.
    let cut = d.join("cut.db");
    {
        let mut store = Store::open(&cut, Some(config())).unwrap();
        let lines: Vec<String> = (0..300)
            .map(|i| cart(&format!("e{i}"), &format!("c{i}"), "2024-05-01T10:00:00Z"))
            .collect();
        store
            .ingest_json_lines(&lines.join("\n"), t("2024-05-01T10:00:00Z"))
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&cut).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    let len = std::fs::metadata(&cut).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    let opened = Store::open(&cut, None).and_then(|mut s| s.stats());
    assert_eq!(opened.err().map(|e| e.code()), Some("corrupt"));

    assert_eq!(
        Store::open(d.join("empty.db"), None).err().unwrap().code(),
        "no_config"
    );
}

#[test]
fn a_full_disk_refuses_the_batch_and_keeps_the_store_whole() {
    let d = dir("full");
    let path = d.join("shop.db");
    let mut store = Store::open(&path, Some(config())).unwrap();
    store
        .ingest_json_lines(
            &cart("e0", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap();
    let pages: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let mut limited = patron_store::Sqlite::open(&path).unwrap();
    limited.limit_pages(pages as u64 + 2).unwrap();
    let mut small = Store::with_backend(limited, "shop.db", None).unwrap();
    let lines: Vec<String> = (1..2000)
        .map(|i| cart(&format!("e{i}"), &format!("c{i}"), "2024-05-01T10:00:00Z"))
        .collect();
    let err = small
        .ingest_json_lines(&lines.join("\n"), t("2024-05-01T10:00:00Z"))
        .unwrap_err();
    assert_eq!(err.code(), "full", "{err}");
    let stats = small.stats().unwrap();
    assert_eq!((stats.events, stats.states), (1, 1));
}

#[test]
fn two_workers_never_wake_one_contact_at_once() {
    let (path, mut first) = store_with("lease", &[]);
    let lines: Vec<String> = (0..50)
        .map(|i| cart(&format!("e{i}"), &format!("c{i}"), "2024-05-01T10:00:00Z"))
        .collect();
    first
        .ingest_json_lines(&lines.join("\n"), t("2024-05-01T10:00:00Z"))
        .unwrap();
    let mut second = Store::open(&path, None).unwrap();
    let at = t("2024-05-01T11:00:00Z");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| first.run_due(at).unwrap());
        let b = s.spawn(|| second.run_due(at).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    // Anonymous contacts have no consent: the engine skips the letter, and
    // every contact is written by exactly one worker.
    assert_eq!(a.contacts + b.contacts, 50, "{a:?} {b:?}");
    assert_eq!(a.lost + b.lost, 0);
    let mut store = Store::open(&path, None).unwrap();
    assert_eq!(store.stats().unwrap().actions, 50);
}

#[test]
fn an_event_while_a_worker_holds_the_contact_wins_over_the_worker() {
    let (path, mut worker) = store_with("race", &["anna"]);
    worker
        .ingest_json_lines(
            &cart("e1", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap();
    // Lease the contact as a worker would, then change it before it writes.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE states SET lease_owner = 'other', lease_until = 9999999999",
            [],
        )
        .unwrap();
    }
    assert_eq!(
        worker.run_due(t("2024-05-01T11:00:00Z")).unwrap().contacts,
        0,
        "leased elsewhere"
    );
    let order = r#"{"type": "order_placed", "id": "e2", "contact_id": "anna", "at": "2024-05-01T10:30:00Z", "order_id": "o1", "currency": "EUR", "total": 30, "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}"#;
    worker
        .ingest_json_lines(order, t("2024-05-01T10:30:00Z"))
        .unwrap();
    // The ingest ended the lease and the chain: nothing is due, nothing sent.
    let ran = worker.run_due(t("2024-05-01T11:00:00Z")).unwrap();
    assert_eq!(ran.queued, 0);
    assert!(worker.outbox(None, 10).unwrap().is_empty());
}

#[test]
fn consent_withdrawn_after_queueing_cancels_the_letter() {
    let (_, mut store) = store_with("consent", &["anna"]);
    store
        .ingest_json_lines(
            &cart("e1", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap();
    assert_eq!(store.run_due(t("2024-05-01T11:00:00Z")).unwrap().queued, 1);
    // The contact's record is edited in the shop's admin after the letter
    // was queued: no consent any more.
    let mut anna = contact("anna");
    anna.consent = Default::default();
    store
        .upsert_contacts(&[anna], t("2024-05-01T11:00:01Z"))
        .unwrap();
    let kept = RefCell::new(Vec::new());
    let mut email = keeping(&kept, |_| Ok(()));
    let sent = store
        .send(t("2024-05-01T11:00:02Z"), &mut [&mut email])
        .unwrap();
    assert_eq!((sent.sent, sent.cancelled), (0, 1));
    assert!(kept.borrow().is_empty());
    let row = &store.outbox(None, 10).unwrap()[0];
    assert_eq!(row.status, "cancelled");
    assert!(
        row.reason
            .as_deref()
            .unwrap()
            .contains("no marketing consent"),
        "{row:?}"
    );
}

#[test]
fn refusals_retry_with_backoff_then_fail_and_a_hard_bounce_withdraws_consent() {
    let (_, mut store) = store_with("retry", &["anna", "bob"]);
    let lines = [
        cart("e1", "anna", "2024-05-01T10:00:00Z"),
        cart("e2", "bob", "2024-05-01T10:00:00Z"),
    ]
    .join("\n");
    store
        .ingest_json_lines(&lines, t("2024-05-01T10:00:00Z"))
        .unwrap();
    store.run_due(t("2024-05-01T11:00:00Z")).unwrap();
    let kept = RefCell::new(Vec::new());
    let mut email = keeping(&kept, |l| {
        if l.contact_id == "anna" {
            Err(Refusal::Retry("421 try later".into()))
        } else {
            Err(Refusal::Reject {
                reason: "550 no such user".into(),
                hard_bounce: true,
            })
        }
    });
    let at =
        |s: i64| Timestamp::from(t("2024-05-01T11:00:00Z").get() + chrono::Duration::seconds(s));
    let first = store.send(at(0), &mut [&mut email]).unwrap();
    assert_eq!((first.retried, first.failed), (1, 1));
    // Not before the backoff: 60 s, then 120 s.
    assert_eq!(store.send(at(59), &mut [&mut email]).unwrap().retried, 0);
    assert_eq!(store.send(at(60), &mut [&mut email]).unwrap().retried, 1);
    assert_eq!(store.send(at(179), &mut [&mut email]).unwrap().failed, 0);
    assert_eq!(
        store.send(at(180), &mut [&mut email]).unwrap().failed,
        1,
        "three attempts"
    );
    let letters = kept.borrow();
    let anna: Vec<&Letter> = letters.iter().filter(|l| l.contact_id == "anna").collect();
    assert_eq!(anna.len(), 3);
    assert!(
        anna.iter().all(|l| l.message_id == anna[0].message_id),
        "one id through retries"
    );
    assert_eq!(
        anna.iter().map(|l| l.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let rows = store.outbox(Some("failed"), 10).unwrap();
    assert_eq!(rows.len(), 2);
    let bob = store.contact("bob").unwrap().unwrap();
    assert_eq!(
        bob.contact["consent"]["email"]["marketing"]["status"],
        "unsubscribed"
    );
    assert_eq!(
        bob.contact["consent"]["email"]["transactional"]["status"],
        "unsubscribed"
    );
}

#[test]
fn a_letter_whose_sender_stopped_goes_again_with_the_same_id() {
    let (path, mut store) = with_queued_letter("resume");
    // A sender claimed the row and died before it wrote the outcome.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE outbox SET status = 'sending', attempts = 1, lease_owner = 'dead', lease_until = ?1",
            [t("2024-05-01T11:05:00Z").get().timestamp()],
        )
        .unwrap();
    }
    let kept = RefCell::new(Vec::new());
    let mut email = keeping(&kept, |_| Ok(()));
    assert_eq!(
        store
            .send(t("2024-05-01T11:04:59Z"), &mut [&mut email])
            .unwrap()
            .sent,
        0,
        "still leased"
    );
    let sent = store
        .send(t("2024-05-01T11:05:00Z"), &mut [&mut email])
        .unwrap();
    assert_eq!((sent.sent, sent.resumed), (1, 1));
    assert_eq!(
        kept.borrow()[0].message_id,
        patron_store::link::message_id("anna", "abandoned_cart/e1/1h")
    );
    assert_eq!(kept.borrow()[0].attempt, 2);
}

#[test]
fn bad_config_is_refused_with_its_path() {
    let d = dir("config");
    let mut bad = config();
    bad.templates.remove("cart");
    let err = Store::open(d.join("a.db"), Some(bad)).err().unwrap();
    assert_eq!(
        err.path(),
        Some("triggers.rules[0].steps[0].template"),
        "{err}"
    );
    let mut bad = config();
    bad.templates
        .insert("cart".into(), serde_json::json!({"html": "{% if %}"}));
    let err = Store::open(d.join("b.db"), Some(bad)).err().unwrap();
    assert_eq!(
        (err.code(), err.path()),
        ("template", Some("templates.cart.html")),
        "{err}"
    );
}

#[test]
fn kpis_read_the_letters_the_store_sent() {
    let (_, mut store) = store_with("kpi", &["anna"]);
    store
        .ingest_json_lines(
            &cart("e1", "anna", "2024-05-01T10:00:00Z"),
            t("2024-05-01T10:00:00Z"),
        )
        .unwrap();
    store.run_due(t("2024-05-01T11:00:00Z")).unwrap();
    let kept = RefCell::new(Vec::new());
    let mut email = keeping(&kept, |_| Ok(()));
    store
        .send(t("2024-05-01T11:00:00Z"), &mut [&mut email])
        .unwrap();
    let message_id = kept.borrow()[0].message_id.clone();
    let open = format!(
        r#"{{"type": "message_opened", "id": "o1", "contact_id": "anna", "at": "2024-05-01T12:00:00Z", "message_id": "{message_id}", "campaign_id": "abandoned_cart", "step": "1h", "channel": "email"}}"#
    );
    store
        .ingest_json_lines(&open, t("2024-05-01T12:00:00Z"))
        .unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.message_events.get("message_opened"), Some(&1));
    let config: patron::metrics::KpiConfig = patron::parse::from_json("{}").unwrap();
    let rows = store.kpis(&config).unwrap();
    let row = serde_json::to_value(&rows[0]).unwrap();
    assert_eq!(
        (row["sent"].as_u64(), row["opened"].as_u64()),
        (Some(1), Some(1)),
        "{row}"
    );
}

#[test]
fn a_sent_letter_whose_event_was_not_folded_is_folded_by_the_next_call() {
    let (path, mut store) = with_queued_letter("pending");
    let claimed = store
        .claim_letters(t("2024-05-01T11:00:00Z"), &["email"], 10)
        .unwrap();
    let id = claimed.letters[0].message_id.clone();
    store
        .finish_letter(&id, Ok(()), t("2024-05-01T11:00:01Z"))
        .unwrap();
    assert_eq!(store.stats().unwrap().pending, 0);
    // As if the sender stopped between marking the letter sent and folding
    // its event: the event is stored, the contact has not seen it.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let (event_id,): (String,) = conn
            .query_row(
                "SELECT id FROM events WHERE type = 'message_sent'",
                [],
                |r| Ok((r.get(0)?,)),
            )
            .unwrap();
        conn.execute("DELETE FROM message_events", []).unwrap();
        conn.execute(
            "INSERT INTO pending (event_id, contact_id) VALUES (?1, 'anna')",
            [&event_id],
        )
        .unwrap();
    }
    let mut store = Store::open(&path, None).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!((stats.pending, stats.message_events.len()), (1, 0));
    store.run_due(t("2024-05-01T11:30:00Z")).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.message_events.get("message_sent"), Some(&1));
    assert_eq!(stats.outbox.get("sent"), Some(&1));
}

#[test]
fn a_version_one_file_migrates_and_keeps_its_rows() {
    let (path, store) = with_queued_letter("migrate");
    drop(store);
    // Version 1 is version 2 without the table of pending events, and with
    // profiles kept as JSON text.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE pending; PRAGMA user_version = 1;")
            .unwrap();
        let profiles: Vec<(String, Vec<u8>)> = conn
            .prepare("SELECT contact_id, body FROM profiles")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!profiles.is_empty());
        for (id, packed) in profiles {
            let text = patron_store::body::unpack(&packed).unwrap().into_owned();
            conn.execute(
                "UPDATE profiles SET body = ?2 WHERE contact_id = ?1",
                [&id, &text],
            )
            .unwrap();
        }
    }
    let mut store = Store::open(&path, None).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let view = store.contact("anna").unwrap().unwrap();
    assert_eq!(view.profile["contact_id"], "anna", "a text profile reads");
    let kept = RefCell::new(Vec::new());
    let mut email = keeping(&kept, |_| Ok(()));
    let sent = store
        .send(t("2024-05-01T11:00:00Z"), &mut [&mut email])
        .unwrap();
    assert_eq!(sent.sent, 1, "the letter queued before the migration goes");
    let stats = store.stats().unwrap();
    assert_eq!((stats.events, stats.pending), (2, 0));
    let view = store.contact("anna").unwrap().unwrap();
    assert_eq!(
        view.profile["contact_id"], "anna",
        "and is packed when written"
    );
}
