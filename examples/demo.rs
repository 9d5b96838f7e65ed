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

/// Profiles of every contact, folded from the events: what rules read.
fn print_profiles(
    contacts: &[Contact],
    catalog: &Catalog,
    events: &[Event],
    as_of: patron::model::Timestamp,
) -> Result<(Vec<patron::profile::Profile>, Vec<patron::profile::Facts>), patron::Error> {
    use patron::profile::{self, Profile};

    let mut profiles = profile::build(events)?;
    // Contacts without events (subscribers who never came back) still have a profile.
    let known: std::collections::HashSet<&str> =
        profiles.iter().map(|p| p.contact_id.as_str()).collect();
    let missing: Vec<Profile> = contacts
        .iter()
        .filter(|c| !known.contains(c.id.as_str()))
        .map(|c| Profile::new(c.id.clone()))
        .collect();
    profiles.extend(missing);
    let index = catalog.index();
    let facts = profile::facts_all(&profiles, as_of, Some(&index))?;

    let carts: Vec<_> = facts.iter().filter_map(|f| f.cart.as_ref()).collect();
    let stale = carts.iter().filter(|c| c.age_seconds > 3600).count();
    let cart_value: f64 = carts.iter().map(|c| c.value).sum();
    let at_risk = facts.iter().filter(|f| f.at_risk).count();
    let repeat = facts.iter().filter(|f| f.purchase_days >= 2).count();
    let wishlists = facts.iter().filter(|f| !f.wishlist.is_empty()).count();
    println!("\nProfiles as of {as_of} ({} contacts):", facts.len());
    println!(
        "  open carts {} (worth {cart_value:.2}), {stale} untouched for over an hour",
        carts.len()
    );
    println!("  repeat buyers {repeat}; past their average interval (\"at risk\") {at_risk}");
    println!("  contacts with a wishlist {wishlists}");
    let (mut sent, mut opened, mut clicked) = (0, 0, 0);
    for e in facts.iter().filter_map(|f| f.messages.get("email")) {
        sent += e.sent;
        opened += e.opened;
        clicked += e.clicked;
    }
    if sent > 0 {
        println!(
            "  email: {sent} sent, {:.1}% opened, {:.1}% clicked",
            100.0 * opened as f64 / sent as f64,
            100.0 * clicked as f64 / sent as f64
        );
    }
    let mut categories: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &facts {
        for (category, bought) in &f.bought_categories {
            *categories.entry(category.as_str()).or_default() += bought.orders;
        }
    }
    let mut top: Vec<_> = categories.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = top
        .iter()
        .take(4)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    println!("  orders by category (with parents): {}", top.join(", "));
    Ok((profiles, facts))
}

/// Segments over the sample shop: the seed's two examples as written (this
/// small shop has no customer who matches them) and a few that do match.
fn print_segments(
    profiles: &[patron::profile::Profile],
    catalog: &Catalog,
    facts: &[patron::profile::Facts],
) -> Result<(), patron::Error> {
    use patron::segment::{self, ChangeKind, Registry};

    let segments = Registry::from_json(
        r#"{
          "seed: suit buyers this month, 180000 in 4 orders": {"all": [
            {"field": "bought_categories.suits.last_at", "op": "within_last_days", "value": 30},
            {"field": "revenue", "op": ">=", "value": 180000},
            {"field": "orders", "op": ">=", "value": 4}]},
          "seed: 10 purchases, last 6 months ago, check 8000": {"all": [
            {"field": "orders", "op": ">=", "value": 10},
            {"field": "last_order_at", "op": "more_than_days_ago", "value": 180},
            {"field": "average_order_value", "op": ">=", "value": 8000}]},
          "buyers": {"field": "orders", "op": ">", "value": 0},
          "ordered in the last 60 days": "last_order_at within 60 days",
          "ordered twice in a year": "orders in last 365 days >= 2",
          "viewed shoes twice in 30 days": "viewed_categories.shoes.count in last 30 days >= 2",
          "subscribed, never bought": {"not": {"segment": "buyers"}},
          "shoe buyers": {"field": "bought_categories.shoes.orders", "op": ">=", "value": 1},
          "open cart over an hour": {"field": "cart.age_seconds", "op": ">", "value": 3600},
          "repeat buyers past their interval": {"all": [
            {"field": "purchase_days", "op": ">=", "value": 2},
            {"field": "at_risk", "op": "=", "value": true}]},
          "email openers": {"field": "messages.email.opened", "op": ">", "value": 0},
          "holdout 10%": {"bucket": {"percent": 10, "salt": "demo"}}
        }"#,
    )?;
    let members = segments.members(facts)?;
    let all = segments.evaluate(facts)?;
    println!("\nSegments ({} contacts):", facts.len());
    for name in segments.names() {
        println!("  {name:<52} {:>4}", all.count(name)?);
    }
    let overlap = all.overlap();
    let at = |name: &str| overlap.segments.iter().position(|s| s == name);
    if let (Some(b), Some(e)) = (at("buyers"), at("email openers")) {
        println!("  buyers who also open emails: {}", overlap.both[b][e]);
    }

    // When each contact's segments next change with no new event: the
    // wake-ups a shop schedules instead of rescanning on a cron.
    let wakeups: Vec<patron::model::Timestamp> = facts
        .iter()
        .map(|f| segments.next_change(f))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    if let (Some(first), Some(now)) = (wakeups.iter().min(), facts.first().map(|f| f.as_of)) {
        let within = |days: i64| {
            let until = now.get() + chrono::Duration::days(days);
            wakeups.iter().filter(|t| t.get() <= until).count()
        };
        println!(
            "  next wake-ups: {} contacts, {} within 7 days, {} within 30; the first at {first}",
            wakeups.len(),
            within(7),
            within(30)
        );
    }

    // With no new events, time alone moves contacts: facts 90 days later,
    // compared with today's memberships.
    let Some(now) = facts.first().map(|f| f.as_of) else {
        return Ok(());
    };
    let later_at = patron::model::Timestamp::from(now.get() + chrono::Duration::days(90));
    let later = patron::profile::facts_all(profiles, later_at, Some(&catalog.index()))?;
    let moves = segment::changes(&members, &segments.members(&later)?, later_at);
    println!("\nIn 90 days with no new events ({} moves):", moves.len());
    let mut by_segment: BTreeMap<(&str, ChangeKind), usize> = BTreeMap::new();
    for m in &moves {
        *by_segment
            .entry((m.segment.as_str(), m.change))
            .or_default() += 1;
    }
    for ((name, change), n) in by_segment {
        let change = if change == ChangeKind::Entered {
            "enter"
        } else {
            "leave"
        };
        println!("  {n:>4} {change} {name}");
    }
    Ok(())
}

/// RFM, the four groups and the lifecycle grid, from the profiles' facts.
fn print_rfm(
    facts: &[patron::profile::Facts],
    as_of: patron::model::Timestamp,
) -> Result<(), patron::Error> {
    use patron::model::Timestamp;
    use patron::rfm::{self, FourGroupConfig, RfmConfig};

    let summaries = facts
        .iter()
        .map(|f| f.summary())
        .collect::<Result<Vec<_>, _>>()?;
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

    let as_of = events
        .last()
        .map(|e| e.at)
        .unwrap_or(patron::model::Timestamp::parse("2025-01-01T00:00:00Z")?);
    let (profiles, facts) = print_profiles(&contacts, &catalog, &events, as_of)?;
    print_rfm(&facts, as_of)?;
    print_segments(&profiles, &catalog, &facts)?;
    print_recommendations(&catalog, &events, &facts, as_of)?;

    println!("\nBad input gets a typed error that names the field:");
    let bad = r#"{"type": "order_placed", "id": "e-x", "contact_id": "c1", "at": "2024-05-01T10:00:00+02:00",
                  "order_id": "o-x", "total": 20, "currency": "EUR",
                  "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 10}, {"product_id": "p2", "quantity": 0, "unit_price": 10}]}"#;
    match parse::from_json::<Event>(bad) {
        Ok(_) => println!("  (unexpectedly valid)"),
        Err(e) => println!("  [{}] {e}", e.code()),
    }
    print_campaign(&contacts, &catalog, &facts, &events, as_of)?;
    print_triggers(&contacts, &catalog, &events, as_of)?;
    Ok(())
}

/// The preset trigger rules over the shop's whole history on a virtual
/// clock: what they would have sent, by rule, and a few contacts' timelines.
fn print_triggers(
    contacts: &[Contact],
    catalog: &Catalog,
    events: &[Event],
    as_of: patron::model::Timestamp,
) -> Result<(), patron::Error> {
    use patron::trigger::{ActionKind, Engine, presets, simulate};

    let mut config = presets::config()?;
    config.policy = parse::from_json(
        r#"{"caps": [{"max": 3, "per": "7d"}], "quiet_hours": {"from": "21:00", "to": "09:00"},
            "time_zone": "Europe/Berlin", "holdout_percent": 10, "salt": "demo"}"#,
    )?;
    let engine = Engine::new(config, Some(catalog))?;
    // Visitors never identified are not contacts: the simulation skips them.
    let known: Vec<Event> = events
        .iter()
        .filter(|e| e.contact_id.is_some() || e.kind.is_catalog())
        .cloned()
        .collect();
    let timeline = simulate(&engine, contacts, &known, Some(catalog), as_of)?;
    let mut by_rule: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for a in &timeline {
        let slot = match a.kind {
            ActionKind::Send { .. } | ActionKind::Task { .. } | ActionKind::Webhook { .. } => 0,
            ActionKind::HeldOut { .. } => 1,
            ActionKind::Skipped { .. } | ActionKind::Deferred { .. } => 2,
            ActionKind::Exited { .. } => 3,
        };
        by_rule.entry(a.rule.as_str()).or_default()[slot] += 1;
    }
    println!(
        "\nTriggers: the presets over the shop's history ({} decisions; caps 3 a week, quiet 21:00-09:00, 10% held out):",
        timeline.len()
    );
    println!(
        "  {:<22} {:>6} {:>9} {:>16} {:>7}",
        "rule", "sent", "held out", "skipped/waited", "exited"
    );
    for (rule, [sent, held, skipped, exited]) in &by_rule {
        println!("  {rule:<22} {sent:>6} {held:>9} {skipped:>16} {exited:>7}");
    }
    if let Some(first) = timeline
        .iter()
        .find(|a| a.rule.as_str() == "abandoned_cart")
    {
        println!("  the timeline of {}:", first.contact_id);
        for a in timeline
            .iter()
            .filter(|a| a.contact_id == first.contact_id)
            .take(12)
        {
            let what = match &a.kind {
                ActionKind::Send {
                    channel, template, ..
                } => {
                    format!("send {} by {channel}", template.as_deref().unwrap_or("-"))
                }
                ActionKind::Task { task, .. } => format!("task: {task}"),
                other => serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(String::from))
                    .unwrap_or_default(),
            };
            println!("    {}  {:<40} {what}", a.at, a.id);
        }
    }
    Ok(())
}

/// A personalized campaign for the shop's base (greeting with a fallback,
/// the products each contact viewed, picks, a personal coupon), then the
/// KPIs of the newsletter the shop already sent.
fn print_campaign(
    contacts: &[Contact],
    catalog: &Catalog,
    facts: &[patron::profile::Facts],
    events: &[Event],
    as_of: patron::model::Timestamp,
) -> Result<(), patron::Error> {
    use patron::Product;
    use patron::message::campaign::{self, Campaign, Group, Status};
    use patron::message::coupon::{self, CouponPool, PoolState};
    use patron::message::{CouponView, Recipient, Template, TemplateSpec};
    use patron::metrics::{self, KpiConfig};

    let template = Template::new(TemplateSpec {
        subject: Some("{{ contact.first_name }}, {% if blocks.viewed %}still thinking about {{ blocks.viewed[0].name }}?{% else %}new arrivals for you{% endif %}".into()),
        text: Some("Hi {{ contact.first_name }}!\n{% for product in blocks.viewed %}{% include \"line\" %}{% endfor %}{% for product in blocks.picks %}{% include \"line\" %}{% endfor %}Your code: {{ coupon.code }}\nUnsubscribe: {{ links.unsubscribe }}".into()),
        partials: [("line".to_string(), "- {{ product.name }}: {{ product.price }} {{ product.currency }}\n".to_string())].into(),
        fallbacks: [("first_name".to_string(), "there".to_string())].into(),
        tracking: [("utm_source".to_string(), "patron-demo".to_string())].into(),
        ..TemplateSpec::default()
    })?;
    let pool: CouponPool = parse::from_json(
        r#"{"id": "autumn", "generator": {"pattern": "AUT-####-####", "key": 2024}, "valid_days": 14}"#,
    )?;
    let mut pool_state = PoolState::new(&pool);
    let camp: Campaign =
        parse::from_json(r#"{"id": "autumn", "channel": "email", "control_share": 0.2}"#)?;
    let by_id: std::collections::HashMap<&str, &Product> = catalog
        .products
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let mut recipients = Vec::new();
    for (contact, f) in contacts.iter().zip(facts) {
        let mut r = Recipient::new(contact.clone());
        let viewed: Vec<Product> = f
            .viewed_products
            .keys()
            .filter(|id| !f.bought_products.contains_key(*id))
            .filter_map(|id| by_id.get(id.as_str()).map(|p| (*p).clone()))
            .take(1)
            .collect();
        let picks: Vec<Product> = catalog
            .products
            .iter()
            .filter(|p| p.available && !f.bought_products.contains_key(p.id.as_str()))
            .filter(|p| viewed.iter().all(|v| v.id != p.id))
            .take(3)
            .cloned()
            .collect();
        r.blocks.insert("viewed".into(), viewed);
        r.blocks.insert("picks".into(), picks);
        r.links.insert(
            "unsubscribe".into(),
            format!("https://shop.example/u/{}", contact.id).parse()?,
        );
        // Only contacts who will get the letter need a code.
        let reachable =
            contact.email.is_some() && contact.consent.allows(&camp.channel, camp.purpose);
        if reachable && camp.group_of(contact.id.as_str()) == Group::Treatment {
            let issued = coupon::issue(&pool, &mut pool_state, &camp.id, &contact.id, as_of)?;
            r.coupon = Some(CouponView {
                code: issued.code.parse()?,
                expires_at: issued.expires_at,
            });
        }
        r.facts = Some(f.clone());
        recipients.push(r);
    }
    let mut first = None;
    let summary = campaign::run(&camp, &[template], recipients, as_of, |chunk| {
        if first.is_none() {
            first = chunk.iter().find(|o| o.status == Status::Rendered).cloned();
        }
        Ok(())
    })?;
    println!(
        "\nCampaign `autumn` by email: {} contacts, {} letters, {} held out as control, {} skipped (no consent or address), {} failed; {} coupon codes issued",
        summary.audience,
        summary.rendered,
        summary.control,
        summary.skipped,
        summary.failed,
        pool_state.issued.len()
    );
    if let Some(o) = first {
        println!("  to {}: {}", o.contact_id, o.subject.unwrap_or_default());
        for line in o.text.unwrap_or_default().lines() {
            println!("    {line}");
        }
    }

    let rows = metrics::kpis(events, &KpiConfig::default())?;
    println!("\nKPIs of the messages the shop sent (orders within 120 h of an open or click):");
    let out = metrics::write_report(&rows, patron::segment::Format::Csv, Vec::new())?;
    for line in String::from_utf8_lossy(&out).lines() {
        println!("  {line}");
    }
    Ok(())
}

/// Recommendation blocks for a few sample contacts: the item-to-item model
/// learns from every order and view in the log.
fn print_recommendations(
    catalog: &Catalog,
    events: &[Event],
    facts: &[patron::profile::Facts],
    as_of: patron::model::Timestamp,
) -> Result<(), patron::Error> {
    use patron::recommend::{
        Basket, BasketKind, ContactHistory, ItemModel, Message, ModelConfig, Recommender,
    };

    let baskets: Vec<Basket> = events
        .iter()
        .filter_map(|e| {
            let contact_id = e.contact_id.clone()?;
            let (kind, product_ids) = match &e.kind {
                EventKind::OrderPlaced(o) => (
                    BasketKind::Order,
                    o.lines.iter().map(|l| l.product_id.clone()).collect(),
                ),
                EventKind::ProductViewed(v) => (BasketKind::View, vec![v.product_id.clone()]),
                _ => return None,
            };
            Some(Basket {
                contact_id,
                at: e.at,
                kind,
                product_ids,
            })
        })
        .collect();
    let model = ItemModel::build(&baskets, as_of, &ModelConfig::default())?;
    let recommender = Recommender::new(catalog, Some(&model));
    let message: Message = parse::from_json(
        r#"{"blocks": [{"kind": "buy_again", "size": 3},
                       {"name": "picked for you", "kind": "for_you", "size": 4},
                       {"name": "bestsellers, one per category", "kind": "bestsellers", "size": 3,
                        "filters": {"max_per_category": 1}}]}"#,
    )?;
    println!(
        "\nRecommendations ({} baskets; model of {} products):",
        baskets.len(),
        model.products.len()
    );
    let names: std::collections::HashMap<&str, &str> = catalog
        .products
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    for f in facts.iter().filter(|f| f.orders >= 2).take(3) {
        let history = ContactHistory::from_facts(f);
        println!(
            "  {} ({} orders, {} products viewed):",
            f.contact_id,
            f.orders,
            history.viewed.len()
        );
        for block in recommender.blocks(&message, &history, as_of)? {
            let slots: Vec<String> = block
                .slots
                .iter()
                .map(|s| {
                    let name = names.get(s.product_id.as_str()).unwrap_or(&"?");
                    if s.source == block.kind {
                        (*name).to_string()
                    } else {
                        format!("{name} [{}]", s.source)
                    }
                })
                .collect();
            println!("    {:<30} {}", block.name, slots.join(", "));
        }
    }
    Ok(())
}
