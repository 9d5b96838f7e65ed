//! Property tests for profiles: batch and one-by-one agree exactly, in any
//! order of arrival and with repeated deliveries; the stored form round-trips.

use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::profile::{self, Profile};
use patron::{Catalog, Event, sample::Sequence};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A random event of contact `c1` from small pools, so that orders, messages,
/// products and times collide often (ties are where order could matter).
fn event(rng: &mut Sequence, n: usize) -> Value {
    let pick = |rng: &mut Sequence, items: &[&str]| {
        items[rng.below(items.len() as u64) as usize].to_owned()
    };
    // Few distinct minutes: equal times are common.
    let at = format!(
        "2024-03-{:02}T10:{:02}:00Z",
        1 + rng.below(20),
        rng.below(3)
    );
    let product = pick(rng, &["p1", "p2", "p3", "p-unknown"]);
    let order = pick(rng, &["o1", "o2", "o3"]);
    let message = pick(rng, &["m1", "m2", "m3"]);
    let common = json!({"id": format!("e{n}"), "contact_id": "c1", "at": at});
    let body = match rng.below(17) {
        0 => json!({"type": "product_viewed", "product_id": product}),
        1 => {
            json!({"type": "product_viewed", "product_id": product, "category_id": pick(rng, &["shoes", "boots", "misc"])})
        }
        2 => {
            json!({"type": "category_viewed", "category_id": pick(rng, &["shoes", "boots", "bags"])})
        }
        3 => {
            json!({"type": "searched", "query": pick(rng, &["Red  Shoes", "red shoes", " boots "])})
        }
        4 => {
            let lines: Vec<Value> = (0..rng.below(3))
                .map(|_| json!({"product_id": pick(rng, &["p1", "p2"]), "quantity": 1 + rng.below(3), "unit_price": 10 + rng.below(5)}))
                .collect();
            json!({"type": "cart_updated", "lines": lines, "currency": "EUR"})
        }
        5 => json!({"type": "checkout_started"}),
        6 | 7 => {
            json!({"type": "order_placed", "order_id": order, "total": 20 + rng.below(50), "currency": "EUR",
                        "lines": [{"product_id": product, "quantity": 1 + rng.below(2), "unit_price": 20}]})
        }
        8 => json!({"type": "order_status_changed", "order_id": order,
                    "status": pick(rng, &["paid", "shipped", "delivered", "cancelled", "returned"])}),
        9 => json!({"type": "wishlist_added", "product_id": product}),
        10 => json!({"type": "wishlist_removed", "product_id": product}),
        11 => {
            json!({"type": pick(rng, &["message_sent", "message_delivered", "message_bounced", "message_complained"]),
                     "message_id": message, "channel": "email", "campaign_id": "welcome"})
        }
        12 => json!({"type": "message_opened", "message_id": message, "channel": "email"}),
        13 => {
            json!({"type": "message_clicked", "message_id": message, "channel": "email", "url": "https://shop.example/x"})
        }
        14 => json!({"type": "coupon_redeemed", "code": pick(rng, &["SAVE10", "VIP"])}),
        15 => json!({"type": "custom", "name": pick(rng, &["review_written", "store_visit"])}),
        _ => json!({"type": "survey_answered", "survey_id": "nps", "answers": {"score": 9}}),
    };
    let mut object = common;
    object
        .as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    object
}

fn history(seed: u64, len: usize) -> Vec<Event> {
    let mut rng = Sequence::new(seed);
    (0..len)
        .map(|n| Event::from_value(event(&mut rng, n)).expect("generated events are valid"))
        .collect()
}

fn catalog() -> Catalog {
    parse::from_json(
        r#"{"categories": [{"id": "shoes", "name": "Shoes"}, {"id": "boots", "name": "Boots", "parent_id": "shoes"},
                           {"id": "bags", "name": "Bags"}, {"id": "misc", "name": "Misc"}],
            "products": [{"id": "p1", "name": "Boot", "price": 20, "currency": "EUR", "category_path": ["shoes", "boots"], "brand": "Acme"},
                         {"id": "p2", "name": "Bag", "price": 20, "currency": "EUR", "category_path": ["bags"]},
                         {"id": "p3", "name": "Sock", "price": 5, "currency": "EUR"}]}"#,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn one_by_one_in_any_order_with_repeats_equals_batch(seed in any::<u64>(), len in 0usize..60, order in any::<u64>()) {
        let events = history(seed, len);
        let batch = profile::build(&events).unwrap();
        // Arrival: shuffled, and about a third delivered twice.
        let mut arrival: Vec<&Event> = events.iter().collect();
        let mut rng = Sequence::new(order);
        for e in &events {
            if rng.below(3) == 0 {
                arrival.push(e);
            }
        }
        for i in (1..arrival.len()).rev() {
            arrival.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut one_by_one = Profile::new("c1".parse().unwrap());
        let mut applied = 0;
        for e in arrival {
            applied += usize::from(one_by_one.apply(e).unwrap());
        }
        prop_assert_eq!(applied, events.len(), "each event id applies once");
        if events.is_empty() {
            prop_assert!(batch.is_empty());
        } else {
            prop_assert_eq!(&batch[0], &one_by_one);
            let as_of = Timestamp::parse("2024-04-01T00:00:00Z").unwrap();
            let catalog = catalog();
            let index = catalog.index();
            prop_assert_eq!(batch[0].facts(as_of, Some(&index)).unwrap(), one_by_one.facts(as_of, Some(&index)).unwrap());
        }
    }

    #[test]
    fn the_stored_form_round_trips(seed in any::<u64>(), len in 0usize..40) {
        let events = history(seed, len);
        for p in profile::build(&events).unwrap() {
            let text = parse::to_json(&p);
            let back = Profile::from_json(&text).unwrap();
            prop_assert_eq!(&back, &p);
            prop_assert_eq!(parse::to_json(&back), text);
        }
    }

    #[test]
    fn facts_agree_with_the_orders(seed in any::<u64>(), len in 0usize..60) {
        let events = history(seed, len);
        let as_of = Timestamp::parse("2024-04-01T00:00:00Z").unwrap();
        for p in profile::build(&events).unwrap() {
            let facts = p.facts(as_of, None).unwrap();
            let counted: Vec<_> = p.purchases().collect();
            prop_assert_eq!(facts.orders as usize, counted.len());
            let revenue: f64 = counted.iter().map(|o| o.total.get()).sum();
            prop_assert!((facts.revenue - revenue).abs() < 1e-9);
            prop_assert_eq!(facts.intervals_days.len() as u64, facts.purchase_days.saturating_sub(1));
            prop_assert_eq!(facts.intervals_days.iter().sum::<u64>(),
                match (facts.first_order_at, facts.last_order_at) {
                    (Some(f), Some(l)) => (l.get().date_naive() - f.get().date_naive()).num_days() as u64,
                    _ => 0,
                });
            let summary = facts.summary().unwrap();
            prop_assert_eq!(summary.orders, facts.orders);
            prop_assert_eq!(p.transactions().unwrap().len(), counted.len());
        }
    }

    /// A count within a window reads exactly what a count over the events
    /// gives, for every window, in any order of arrival.
    #[test]
    fn counts_within_a_window_agree_with_the_events(seed in any::<u64>(), len in 0usize..80, days in 0.3f64..25.0) {
        let events = history(seed, len);
        let as_of = Timestamp::parse("2024-03-21T00:00:00Z").unwrap();
        let within = |at: Timestamp| {
            let age = (as_of.get() - at.get()).num_seconds() as f64 / 86_400.0;
            (0.0..=days).contains(&age)
        };
        let value = |e: &Event| serde_json::to_value(e).unwrap();
        for p in profile::build(&events).unwrap() {
            let facts = p.facts(as_of, None).unwrap();
            // (the field, whether an event counts in it)
            type Counts = Box<dyn Fn(&Value) -> bool>;
            let fields: Vec<(&str, Counts)> = vec![
                ("viewed_products.p1.count", Box::new(|v| v["type"] == "product_viewed" && v["product_id"] == "p1")),
                ("searches.`red shoes`.count", Box::new(|v| v["type"] == "searched" && v["query"] != " boots ")),
                ("coupons.VIP.count", Box::new(|v| v["type"] == "coupon_redeemed" && v["code"] == "VIP")),
                ("custom_events.store_visit.count", Box::new(|v| v["type"] == "custom" && v["name"] == "store_visit")),
                ("checkouts.count", Box::new(|v| v["type"] == "checkout_started")),
            ];
            for (field, counts) in &fields {
                let n = events.iter().filter(|e| within(e.at) && counts(&value(e))).count();
                let text = if n < 16 {
                    format!("{field} in last {days} days = {n}")
                } else {
                    format!("{field} in last {days} days > 15")
                };
                let rule = patron::segment::Registry::from_value(json!({"s": text})).unwrap();
                prop_assert_eq!(rule.members_of(&facts).unwrap().len(), 1, "{}", text);
            }
            // What was bought in the window: orders with p1, its units and spend.
            let with_p1: Vec<_> = p
                .purchases()
                .filter(|o| within(o.at))
                .filter_map(|o| {
                    let lines: Vec<_> = o.lines.iter().filter(|l| l.product_id.as_str() == "p1").collect();
                    (!lines.is_empty()).then(|| {
                        lines.iter().fold((0.0, 0.0), |(q, s), l| {
                            (q + l.quantity.get(), s + l.quantity.get() * l.unit_price.get())
                        })
                    })
                })
                .collect();
            let text = format!(
                "bought_products.p1.orders in last {days} days = {} and \
                 bought_products.p1.quantity in last {days} days = {} and \
                 bought_products.p1.spent in last {days} days = {}",
                with_p1.len(),
                with_p1.iter().map(|x| x.0).sum::<f64>(),
                with_p1.iter().map(|x| x.1).sum::<f64>(),
            );
            let rule = patron::segment::Registry::from_value(json!({"s": text})).unwrap();
            prop_assert_eq!(rule.members_of(&facts).unwrap().len(), 1, "{}", text);
            let orders: Vec<_> = p.purchases().filter(|o| within(o.at)).collect();
            let revenue: f64 = orders.iter().map(|o| o.total.get()).sum();
            let text = format!("orders in last {days} days = {} and revenue in last {days} days = {revenue}", orders.len());
            let rule = patron::segment::Registry::from_value(json!({"s": text})).unwrap();
            prop_assert_eq!(rule.members_of(&facts).unwrap().len(), 1, "{}", text);
        }
    }
}
