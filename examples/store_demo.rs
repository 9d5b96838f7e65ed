//! The sample shop run through the store: its history ingested in time
//! order into a SQLite file under `target/`, the worker waking contacts at
//! every wake-up on a virtual clock, and every letter delivered over SMTP
//! to a local sink the demo starts itself. `make demo` runs it after the
//! core's demo.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use patron::model::Timestamp;
use patron::trigger::presets;
use patron::{Contact, Event, parse};
use patron_store::sink::SmtpSink;
use patron_store::{Channel, Config, Smtp, Store};
use serde_json::json;

fn shop(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let path = root.join("examples/data/shop").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The presets, with a letter for every template they name and a
/// generator for every coupon pool.
fn config() -> Result<Config, patron_store::Error> {
    let mut triggers = serde_json::to_value(presets::config()?).expect("the presets as JSON");
    triggers["policy"] = json!({"caps": [{"max": 3, "per": "7d"}], "quiet_hours": {"from": "21:00", "to": "09:00"},
        "time_zone": "Europe/Berlin", "holdout_percent": 10, "salt": "demo"});
    let mut templates = BTreeMap::new();
    let mut pools = Vec::new();
    for rule in triggers["rules"].as_array().expect("rules") {
        for step in rule["steps"].as_array().expect("steps") {
            if let Some(name) = step["template"].as_str() {
                let subject = format!(
                    "{{{{ contact.first_name | default(value='Hello') }}}}: {}",
                    name.replace('_', " ")
                );
                templates.insert(name.to_string(), json!({
                    "subject": subject,
                    "text": "{% for p in blocks.products %}{{ p.name }} {% endfor %}{% if coupon %}Your code: {{ coupon.code }}{% endif %}\nUnsubscribe: {{ links.unsubscribe | default(value='') }}"
                }));
            }
            let pool = step["coupon_pool"].as_str();
            if let Some(pool) =
                pool.filter(|p| !pools.iter().any(|q: &serde_json::Value| q["id"] == *p))
            {
                let key = pools.len() as u64 + 11;
                pools.push(json!({"id": pool, "generator": {"pattern": "SHOP-####-####", "key": key}, "valid_days": 14}));
            }
        }
    }
    let catalog: serde_json::Value =
        serde_json::from_str(&shop("catalog.json")).expect("the catalog");
    Ok(serde_json::from_value(json!({
        "triggers": triggers, "templates": templates, "coupon_pools": pools, "catalog": catalog,
        "sender": {"from": "Sample Shop <news@shop.example>", "unsubscribe_url": "https://shop.example/unsubscribe",
                   "link_key": "demo-key"}
    }))
    .expect("a store config"))
}

fn main() -> Result<(), patron_store::Error> {
    let contacts: Vec<Contact> = parse::list_from_json(&shop("contacts.json"))?;
    let mut events: Vec<Event> = parse::list_from_json(&shop("events.json"))?;
    events.sort_by_key(|e| e.at);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let dir = root.join("target/demo");
    std::fs::create_dir_all(&dir).map_err(|e| patron_store::Error::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let db = dir.join("shop.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let sink = SmtpSink::start().map_err(|e| patron_store::Error::Io {
        path: "smtp sink".into(),
        message: e.to_string(),
    })?;
    let mut email = Smtp::plain("127.0.0.1", sink.port(), Duration::from_secs(10));
    email.set_domain("shop.example");

    let started = Instant::now();
    let mut store = Store::open(&db, Some(config()?))?;
    let first = events
        .first()
        .map_or(Timestamp::parse("2024-01-01T00:00:00Z")?, |e| e.at);
    store.upsert_contacts(&contacts, first)?;
    let until =
        Timestamp::from(events.last().map_or(first, |e| e.at).get() + chrono::Duration::days(30));

    // Events in time order; before each, the wake-ups that come earlier.
    let (mut woken, mut passes, mut stored) = (0, 0, 0);
    let mut rest = events.as_slice();
    loop {
        let next_event = rest.first().map(|e| e.at);
        let wakeup = store.next_wakeup(until)?.filter(|w| *w <= until);
        match (wakeup, next_event) {
            (Some(w), e) if e.is_none_or(|e| w <= e) => {
                woken += store.run_due(w)?.contacts;
                store.send(w, &mut [&mut email as &mut dyn Channel])?;
                passes += 1;
            }
            (_, Some(at)) => {
                let n = rest.iter().take_while(|e| e.at == at).count();
                let (now, later) = rest.split_at(n);
                stored += store.ingest(now.to_vec(), at)?.stored;
                store.send(at, &mut [&mut email as &mut dyn Channel])?;
                rest = later;
            }
            _ => break,
        }
    }
    store.send(until, &mut [&mut email as &mut dyn Channel])?;
    let stats = store.stats()?;
    let letters = sink.letters();

    println!(
        "\nThe store: the sample shop's history through patron-store into {}",
        db.display()
    );
    println!(
        "  {stored} events ingested in time order, {woken} wake-ups over {passes} passes of the worker, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  outbox: {} sent, {} cancelled at send time, {} failed; {} coupons issued; {} segment moves",
        stats.outbox.get("sent").unwrap_or(&0),
        stats.outbox.get("cancelled").unwrap_or(&0),
        stats.outbox.get("failed").unwrap_or(&0),
        stats.coupons,
        stats.membership_changes
    );
    println!(
        "  {} letters arrived at the local SMTP sink on {}, by rule:",
        letters.len(),
        sink.address()
    );
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for row in store.outbox(Some("sent"), usize::MAX)? {
        *by_rule.entry(row.rule).or_default() += 1;
    }
    for (rule, n) in &by_rule {
        println!("    {rule:<22} {n:>4}");
    }
    for letter in letters.iter().take(3) {
        println!(
            "  e.g. {} to {}: {}",
            letter.message_id,
            letter.to.join(", "),
            letter.subject
        );
    }
    let ids: std::collections::HashSet<&str> =
        letters.iter().map(|l| l.message_id.as_str()).collect();
    assert_eq!(ids.len(), letters.len(), "no Message-ID arrived twice");
    assert_eq!(
        letters.len() as u64,
        *stats.outbox.get("sent").unwrap_or(&0)
    );
    Ok(())
}
