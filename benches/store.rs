//! The store's throughput in Rust, on 2 cores: ingest of 1M events for 100k
//! contacts, `run_due` over 100k due contacts, and letters over SMTP to a
//! local sink. The targets (issue 17): at least 100k events/s, 100k
//! contacts/s and 100k letters a minute. The figure of record comes from
//! Python (`benches/python/store.py`); this one says how much is the
//! store's own.
//!
//!     cargo bench -p patron-store --bench store [-- EVENTS CONTACTS]

use std::time::{Duration, Instant};

use patron::model::Timestamp;
use patron_store::sink::SmtpSink;
use patron_store::{Channel, Config, Smtp, Store};
use serde_json::json;

/// One day of a contact: views, a cart, sometimes an order, in time order.
fn events(n: usize, contacts: usize) -> Vec<String> {
    let per = n.div_ceil(contacts).max(1);
    let mut out = Vec::with_capacity(n);
    for k in 0..per {
        for c in 0..contacts {
            if out.len() == n {
                return out;
            }
            let at = format!("2024-05-01T{:02}:{:02}:{:02}Z", 8 + k / 60, k % 60, c % 60);
            let (id, cid, p) = (
                format!("e{k}-{c}"),
                format!("c{c}"),
                format!("p{}", (c * 7 + k) % 500),
            );
            let event = match k % 10 {
                3 | 7 => {
                    json!({"type": "cart_updated", "id": id, "contact_id": cid, "at": at, "currency": "EUR",
                                "lines": [{"product_id": p, "quantity": 1, "unit_price": 19.9}]})
                }
                9 if c % 3 == 0 => {
                    json!({"type": "order_placed", "id": id, "contact_id": cid, "at": at,
                                "order_id": format!("o{k}-{c}"), "total": 19.9, "currency": "EUR",
                                "lines": [{"product_id": p, "quantity": 1, "unit_price": 19.9}]})
                }
                5 => {
                    json!({"type": "searched", "id": id, "contact_id": cid, "at": at, "query": "running shoes"})
                }
                _ => {
                    json!({"type": "product_viewed", "id": id, "contact_id": cid, "at": at, "product_id": p})
                }
            };
            out.push(event.to_string());
        }
    }
    out
}

fn config() -> Config {
    serde_json::from_value(json!({
        "triggers": {
            "rules": [
                {"id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
                 "reentry": {"type": "always"}, "on_repeat": "restart",
                 "steps": [{"name": "1h", "delay": "1h", "template": "cart"}],
                 "exit": [{"on": "event", "event": "order_placed", "same_products": true}]},
                {"id": "browse", "trigger": {"on": "product", "action": "viewed"},
                 "reentry": {"type": "cooldown", "period": "3d"},
                 "steps": [{"name": "2h", "delay": "2h", "template": "browse"}],
                 "exit": [{"on": "event", "event": "order_placed"}]}
            ],
            "segments": {"carted": "cart.value > 0", "buyers": "orders >= 1"}
        },
        "templates": {
            "cart": {"subject": "{{ contact.first_name | default(value='Hi') }}, your cart", "text": "It waits for you."},
            "browse": {"subject": "Still looking?", "text": "Have another look."}
        },
        "sender": {"from": "Shop <news@shop.example>", "unsubscribe_url": "https://shop.example/u", "link_key": "k"}
    }))
    .expect("a config")
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:.0}", n as f64 / d.as_secs_f64())
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (n, contacts) = (
        args.first().copied().unwrap_or(1_000_000),
        args.get(1).copied().unwrap_or(100_000),
    );
    let dir = std::env::temp_dir().join(format!("patron-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::open(dir.join("shop.db"), Some(config())).unwrap();
    let records: Vec<patron::Contact> = (0..contacts)
        .map(|c| {
            patron::parse::from_value(json!({"id": format!("c{c}"), "email": format!("c{c}@example.com"),
                "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}))
            .unwrap()
        })
        .collect();
    let t0 = Timestamp::parse("2024-05-01T08:00:00Z").unwrap();
    let started = Instant::now();
    for chunk in records.chunks(10_000) {
        store.upsert_contacts(chunk, t0).unwrap();
    }
    println!(
        "upsert {contacts} contacts: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let lines = events(n, contacts);
    let now = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
    let started = Instant::now();
    let mut stored = 0;
    for chunk in lines.chunks(10_000) {
        stored += store
            .ingest_json_lines(&chunk.join("\n"), now)
            .unwrap()
            .stored;
    }
    let took = started.elapsed();
    println!(
        "ingest {stored} events for {contacts} contacts (JSON lines, 10k a transaction): {:.2} s, {} events/s",
        took.as_secs_f64(),
        rate(stored as usize, took)
    );

    let due = Timestamp::parse("2024-05-02T12:00:00Z").unwrap();
    let started = Instant::now();
    let ran = store.run_due(due).unwrap();
    let took = started.elapsed();
    println!(
        "run_due over {} due contacts: {:.2} s, {} contacts/s ({} queued)",
        ran.contacts,
        took.as_secs_f64(),
        rate(ran.contacts as usize, took),
        ran.queued
    );

    let sink = SmtpSink::start().unwrap();
    let mut email = Smtp::plain("127.0.0.1", sink.port(), Duration::from_secs(10));
    let started = Instant::now();
    let sent = store
        .send(due, &mut [&mut email as &mut dyn Channel])
        .unwrap();
    let took = started.elapsed();
    println!(
        "send {} letters over SMTP to a local sink: {:.2} s, {:.0} letters/minute",
        sent.sent,
        took.as_secs_f64(),
        sent.sent as f64 / took.as_secs_f64() * 60.0
    );
    assert_eq!(sink.letters().len() as u64, sent.sent);
    std::fs::remove_dir_all(&dir).ok();
}
