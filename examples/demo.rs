//! The demo: load the bundled sample shop, validate every record, and print
//! what patron knows about it. Each capability extends this demo.
//!
//! Run with `make demo` (or `cargo run --release -p patron --example demo`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use patron::model::{ConsentStatus, EventKind, OrderStatus, Purpose};
use patron::{Catalog, Contact, Event, parse};

fn shop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/shop")
}

fn load(name: &str) -> String {
    let path = shop_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// RFM and the four groups of the sample shop, as of its last event. The
/// summaries come from the events here; the profile module will produce them.
fn print_rfm(contacts: &[Contact], events: &[Event]) -> Result<(), patron::Error> {
    use patron::model::{Money, Timestamp};
    use patron::rfm::{self, CustomerSummary, FourGroupConfig, RfmConfig};
    use std::collections::{BTreeSet, HashSet};

    let dropped: HashSet<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OrderStatusChanged(s)
                if matches!(s.status, OrderStatus::Cancelled | OrderStatus::Returned) =>
            {
                Some(s.order_id.as_str())
            }
            _ => None,
        })
        .collect();
    let mut summaries = Vec::new();
    for c in contacts {
        let (mut orders, mut revenue, mut last, mut days) =
            (0u64, 0.0, None::<Timestamp>, BTreeSet::new());
        for e in events
            .iter()
            .filter(|e| e.contact_id.as_ref() == Some(&c.id))
        {
            if let EventKind::OrderPlaced(o) = &e.kind
                && !dropped.contains(o.order_id.as_str())
            {
                orders += 1;
                revenue += o.total.get();
                last = last.max(Some(e.at));
                days.insert(e.at.get().date_naive());
            }
        }
        summaries.push(CustomerSummary {
            contact_id: c.id.clone(),
            last_order_at: last,
            orders,
            purchase_days: Some(days.len() as u64),
            revenue: Money::new(revenue)?,
            currency: None,
        });
    }
    let as_of = events
        .last()
        .map(|e| e.at)
        .unwrap_or(Timestamp::parse("2025-01-01T00:00:00Z")?);
    let scores = rfm::score(&summaries, as_of, &RfmConfig::default())?;
    let mut by_segment: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &scores {
        *by_segment
            .entry(s.segment.as_deref().unwrap_or("-"))
            .or_default() += 1;
    }
    println!(
        "\nRFM as of {as_of} ({} buyers, 5 quantile scores, ties kept together):",
        scores.len()
    );
    for (segment, n) in &by_segment {
        println!("  {segment:<20} {n:>4}");
    }
    let groups = rfm::four_groups(&summaries, as_of, &FourGroupConfig::default())?;
    let mut by_group: BTreeMap<String, usize> = BTreeMap::new();
    for g in groups {
        *by_group.entry(format!("{g:?}").to_lowercase()).or_default() += 1;
    }
    println!("Four groups (3+ orders, 365 days): {by_group:?}");

    use patron::lifecycle::{self, LifecycleConfig};
    let grid = LifecycleConfig::default();
    let mut by_region: BTreeMap<String, usize> = BTreeMap::new();
    for p in lifecycle::place(&summaries, as_of, &grid)? {
        *by_region.entry(p.region).or_default() += 1;
    }
    println!("Lifecycle regions: {by_region:?}");
    let month_later = Timestamp::from(as_of.get() + chrono::Duration::days(30));
    let moves = lifecycle::moves(&summaries, as_of, &summaries, month_later, &grid)?;
    println!(
        "  with no new orders, {} buyers change cell within 30 days",
        moves.len()
    );
    Ok(())
}

fn main() -> Result<(), patron::Error> {
    let contacts: Vec<Contact> = parse::list_from_json(&load("contacts.json"))?;
    let catalog: Catalog = parse::from_json(&load("catalog.json"))?;
    let events: Vec<Event> = parse::list_from_json(&load("events.json"))?;

    println!("patron demo: the sample shop in examples/data/shop\n");
    println!(
        "Validated {} contacts, {} categories, {} products, {} events.",
        contacts.len(),
        catalog.categories.len(),
        catalog.products.len(),
        events.len()
    );

    let mut consent: BTreeMap<&str, usize> = BTreeMap::new();
    let email = patron::model::Channel::new("email")?;
    for c in &contacts {
        let status = c.consent.get(&email, Purpose::Marketing).status;
        *consent.entry(status.as_str()).or_default() += 1;
    }
    let reachable = contacts
        .iter()
        .filter(|c| c.consent.allows(&email, Purpose::Marketing))
        .count();
    println!("\nEmail marketing consent:");
    for (status, n) in &consent {
        println!("  {status:<13} {n:>4}");
    }
    println!(
        "  may receive marketing email: {reachable} of {}",
        contacts.len()
    );
    debug_assert!(consent.contains_key(ConsentStatus::Confirmed.as_str()));

    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &events {
        *by_type.entry(e.type_name()).or_default() += 1;
    }
    println!("\nEvents by type:");
    for (kind, n) in &by_type {
        println!("  {kind:<22} {n:>5}");
    }

    let mut revenue: BTreeMap<String, f64> = BTreeMap::new();
    let mut orders: BTreeMap<&str, f64> = BTreeMap::new();
    let mut lost: Vec<&str> = Vec::new();
    for e in &events {
        match &e.kind {
            EventKind::OrderPlaced(o) => {
                orders.insert(o.order_id.as_str(), o.total.get());
                *revenue.entry(o.currency.to_string()).or_default() += o.total.get();
            }
            EventKind::OrderStatusChanged(s)
                if matches!(s.status, OrderStatus::Cancelled | OrderStatus::Returned) =>
            {
                lost.push(s.order_id.as_str());
            }
            _ => {}
        }
    }
    let lost_value: f64 = lost.iter().filter_map(|id| orders.get(id)).sum();
    println!(
        "\nOrders: {} placed, {} cancelled or returned",
        orders.len(),
        lost.len()
    );
    for (currency, total) in &revenue {
        println!(
            "  revenue {currency} {total:.2} placed, {:.2} kept",
            total - lost_value
        );
    }
    let visitors: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e.visitor_id.as_ref().map(|v| v.as_str()))
        .collect();
    println!("  anonymous visitors: {}", visitors.len());
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        println!("  history: {} .. {}", first.at, last.at);
    }

    print_rfm(&contacts, &events)?;

    println!("\nBad input gets a typed error that names the field:");
    let bad = r#"{"type": "order_placed", "id": "e-x", "contact_id": "c1", "at": "2024-05-01T10:00:00+02:00",
                  "order_id": "o-x", "total": 20, "currency": "EUR",
                  "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 10}, {"product_id": "p2", "quantity": 0, "unit_price": 10}]}"#;
    match parse::from_json::<Event>(bad) {
        Ok(_) => println!("  (unexpectedly valid)"),
        Err(e) => println!("  [{}] {e}", e.code()),
    }
    Ok(())
}
