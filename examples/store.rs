//! The store in Rust. Regions between START and END markers are quoted in docs/store.md.

use std::cell::RefCell;

fn main() -> Result<(), patron_store::Error> {
    let dir = std::env::temp_dir().join(format!("patron-example-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");

    // START open
    use patron::model::Timestamp;
    use patron_store::{Callback, Channel, Config, Letter, Store};

    // The config lives in the file: every process that opens it runs the same rules.
    let config: Config = serde_json::from_str(
        r#"{
        "triggers": {"rules": [{
            "id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
            "steps": [{"name": "1h", "delay": "1h", "template": "cart", "coupon_pool": "back"}],
            "exit": [{"on": "event", "event": "order_placed", "same_products": true}]}]},
        "templates": {"cart": {"subject": "{{ contact.first_name }}, your cart is waiting",
                               "text": "Take 10% with {{ coupon.code }}. Unsubscribe: {{ links.unsubscribe }}"}},
        "coupon_pools": [{"id": "back", "generator": {"pattern": "BACK-####-####", "key": 42}, "valid_days": 7}],
        "sender": {"from": "Shop <news@shop.example>",
                   "unsubscribe_url": "https://shop.example/unsubscribe", "link_key": "change me"}
    }"#,
    )
    .expect("a config");
    let mut store = Store::open(dir.join("shop.db"), Some(config))?;
    // END open

    // START flow
    let now = Timestamp::parse("2024-05-01T10:00:00Z")?;
    let anna = patron::parse::from_json(
        r#"{"id": "anna", "first_name": "Anna", "email": "anna@example.com",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}"#,
    )?;
    store.upsert_contacts(&[anna], now)?;

    // A batch of events, one transaction: stored once, folded, decided, queued.
    let events = concat!(
        r#"{"type": "cart_updated", "id": "e1", "contact_id": "anna", "at": "2024-05-01T10:00:00Z", "#,
        r#""currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}"#,
    );
    let ingested = store.ingest_json_lines(events, now)?;
    assert_eq!((ingested.stored, ingested.duplicates.len()), (1, 0));
    let again = store.ingest_json_lines(events, now)?;
    assert_eq!(again.duplicates, ["e1"]); // the same id twice is one event

    // The worker wakes Anna when her reminder is due and queues the letter.
    let wakeup = store.next_wakeup(now)?.expect("a reminder is scheduled");
    assert_eq!(wakeup, Timestamp::parse("2024-05-01T11:00:00Z")?);
    assert_eq!(store.run_due(wakeup)?.queued, 1);

    // The sender checks consent and caps again, renders, and hands the
    // letter to its channel: SMTP (`Smtp::plain`, `Smtp::from_url`) or the
    // host's own function.
    let letters = RefCell::new(Vec::new());
    let mut email = Callback::new("email", |letter: &Letter| {
        letters.borrow_mut().push(letter.clone());
        Ok(())
    });
    let sent = store.send(wakeup, &mut [&mut email as &mut dyn Channel])?;
    assert_eq!(sent.sent, 1);
    let letter = letters.borrow()[0].clone();
    let (subject, text) = (
        letter.subject.unwrap_or_default(),
        letter.text.unwrap_or_default(),
    );
    assert_eq!(subject, "Anna, your cart is waiting");
    assert!(text.starts_with("Take 10% with BACK-"));
    assert_eq!(letter.headers[1].1, "List-Unsubscribe=One-Click");

    // One click on the letter's unsubscribe link withdraws consent.
    let token = text.rsplit("token=").next().unwrap_or_default();
    store.unsubscribe(token, Timestamp::parse("2024-05-01T12:00:00Z")?)?;
    let anna = store.contact("anna")?.expect("stored");
    let consent = &anna.contact["consent"]["email"]["marketing"];
    assert_eq!(consent["status"], "unsubscribed");

    let stats = store.stats()?;
    assert_eq!(stats.outbox.get("sent"), Some(&1));
    // END flow

    std::fs::remove_dir_all(&dir).ok();
    let sent = stats.outbox.get("sent").unwrap_or(&0);
    println!("store: {} events, {sent} letters sent", stats.events);
    Ok(())
}
