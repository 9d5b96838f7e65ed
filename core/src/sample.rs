//! Deterministic sample data for benches, demos and property tests.
//!
//! A small generator (no randomness crate: a fixed linear congruential
//! sequence) so that every run and every language sees the same data.

use serde_json::{Value, json};

/// A fixed pseudo-random sequence.
#[derive(Clone, Debug)]
pub struct Sequence(u64);

impl Sequence {
    /// Starts the sequence at `seed`.
    pub fn new(seed: u64) -> Self {
        Sequence(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }

    /// The next number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// `n` events of the usual mix (views, carts, orders, messages), as JSON values,
/// spread over 2024 for `contacts` contacts.
pub fn events(n: usize, contacts: u64, seed: u64) -> Vec<Value> {
    let mut rng = Sequence::new(seed);
    (0..n)
        .map(|i| {
            let contact = format!("c{}", rng.below(contacts));
            let at = format!(
                "2024-{:02}-{:02}T{:02}:{:02}:00+03:00",
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60)
            );
            let product = format!("p{}", rng.below(500));
            let id = format!("e{i}");
            match rng.below(10) {
                0..=4 => json!({"type": "product_viewed", "id": id, "contact_id": contact, "at": at,
                                "product_id": product, "price": 19.9, "currency": "EUR"}),
                5 => json!({"type": "cart_updated", "id": id, "contact_id": contact, "at": at, "currency": "EUR",
                            "lines": [{"product_id": product, "quantity": 1, "unit_price": 19.9},
                                      {"product_id": "p7", "quantity": 2, "unit_price": 5.5}]}),
                6 => json!({"type": "order_placed", "id": id, "contact_id": contact, "at": at,
                            "order_id": format!("o{i}"), "total": 30.9, "currency": "EUR",
                            "lines": [{"product_id": product, "quantity": 1, "unit_price": 19.9, "category_id": "shoes"},
                                      {"product_id": "p7", "quantity": 2, "unit_price": 5.5}]}),
                7 => json!({"type": "searched", "id": id, "contact_id": contact, "at": at,
                            "query": "running shoes", "results": 42}),
                8 => json!({"type": "message_opened", "id": id, "contact_id": contact, "at": at,
                            "message_id": format!("m{}", rng.below(1000)), "campaign_id": "spring", "channel": "email"}),
                _ => json!({"type": "wishlist_added", "id": id, "contact_id": contact, "at": at,
                            "product_id": product}),
            }
        })
        .collect()
}

/// Categories the sample facts buy and view.
const CATEGORIES: [&str; 6] = ["suits", "shoes", "shirts", "phones", "bags", "toys"];

/// Cities of the sample contacts.
const CITIES: [&str; 5] = ["Moscow", "Berlin", "Paris", "Madrid", "Rome"];

/// Facts of `n` contacts (ids `c0`, `c1`, ...) as of `as_of`, with the
/// shape real shops have: most contacts buy once or never, a few often;
/// each has a contact record (gender, city, email consent) and an RFM score
/// across the set. Segment benches and property tests read them.
pub fn facts(n: usize, as_of: crate::model::Timestamp, seed: u64) -> Vec<crate::profile::Facts> {
    use crate::model::{
        Channel, ConsentRecord, ConsentStatus, Contact, Currency, Gender, Id, Purpose, Text,
    };
    use crate::profile::{Bought, CartFacts, Engagement, Facts, Tally};
    use chrono::Duration;

    let mut rng = Sequence::new(seed);
    let day = |days: u64, rng: &mut Sequence| {
        crate::model::Timestamp::from(
            as_of.get() - Duration::days(days as i64) - Duration::seconds(rng.below(86_400) as i64),
        )
    };
    let eur = Currency::new("EUR").expect("a valid currency");
    let email = Channel::new("email").expect("a valid channel");
    let mut out: Vec<Facts> = (0..n)
        .map(|i| {
            // Orders: 45% none, then a long tail up to 20.
            let orders = match rng.below(100) {
                0..=44 => 0,
                45..=74 => 1,
                75..=89 => 2 + rng.below(3),
                _ => 5 + rng.below(16),
            };
            let id = Id::new(format!("c{i}")).expect("a valid id");
            let mut f = Facts {
                contact_id: id.clone(),
                as_of,
                first_seen_at: None,
                last_activity_at: None,
                days_since_last_activity: None,
                orders,
                cancelled_orders: u64::from(rng.below(20) == 0),
                returned_orders: 0,
                revenue: 0.0,
                currency: None,
                average_order_value: None,
                first_order_at: None,
                last_order_at: None,
                days_since_last_order: None,
                purchase_days: orders,
                intervals_days: Vec::new(),
                average_interval_days: None,
                next_order_expected: None,
                at_risk: false,
                purchases: Vec::new(),
                bought_products: Default::default(),
                bought_categories: Default::default(),
                bought_brands: Default::default(),
                viewed_products: Default::default(),
                viewed_categories: Default::default(),
                viewed_brands: Default::default(),
                searches: Default::default(),
                cart: None,
                wishlist: Default::default(),
                checkouts: None,
                messages: Default::default(),
                coupons: Default::default(),
                surveys: Default::default(),
                custom_events: Default::default(),
                contact: None,
                rfm: None,
                lifecycle: None,
                predicted: None,
            };
            if orders > 0 {
                let aov = 500.0 + rng.below(20_000) as f64;
                let last = rng.below(720);
                let first = last + rng.below(720) * u64::from(orders > 1);
                f.revenue = aov * orders as f64;
                f.currency = Some(eur);
                f.average_order_value = Some(aov);
                f.last_order_at = Some(day(last, &mut rng));
                f.first_order_at = Some(day(first, &mut rng));
                f.days_since_last_order = Some(last);
                if let (Some(first), Some(last)) = (f.first_order_at, f.last_order_at) {
                    // Evenly spaced from the first order to the last, newest first.
                    let span = last.get() - first.get();
                    f.purchases = (0..orders)
                        .map(|k| crate::profile::OrderTotal {
                            at: (last.get() - span * k as i32 / (orders - 1).max(1) as i32).into(),
                            total: aov,
                        })
                        .collect();
                }
                if orders > 1 {
                    let interval = (first - last) as f64 / (orders - 1) as f64;
                    f.average_interval_days = Some(interval);
                    f.at_risk = last as f64 > interval.max(1.0) * 2.0;
                }
                for _ in 0..1 + rng.below(3) {
                    let category = CATEGORIES[rng.below(6) as usize];
                    let at = day(last + rng.below(60), &mut rng);
                    f.bought_categories.insert(
                        category.to_string(),
                        Bought {
                            orders: 1 + rng.below(orders),
                            quantity: 1.0,
                            spent: aov,
                            first_at: at,
                            last_at: at,
                            history: Vec::new(),
                        },
                    );
                }
            }
            for _ in 0..rng.below(4) {
                let category = CATEGORIES[rng.below(6) as usize];
                let at = day(rng.below(60), &mut rng);
                let count = 1 + rng.below(5);
                let recent: Vec<crate::model::Timestamp> = (0..count)
                    .map(|k| (at.get() - Duration::hours(13 * k as i64)).into())
                    .collect();
                let tally = Tally {
                    count,
                    first_at: recent[recent.len() - 1],
                    last_at: at,
                    recent,
                };
                f.viewed_categories.insert(category.to_string(), tally);
            }
            let active = day(rng.below(365), &mut rng);
            f.last_activity_at = Some(f.last_order_at.map_or(active, |o| o.max(active)));
            f.first_seen_at = Some(day(720 + rng.below(365), &mut rng));
            if rng.below(5) == 0 {
                let age = rng.below(7 * 86_400);
                f.cart = Some(CartFacts {
                    lines: Vec::new(),
                    value: rng.below(500) as f64,
                    currency: eur,
                    updated_at: (as_of.get() - Duration::seconds(age as i64)).into(),
                    age_seconds: age,
                });
            }
            if rng.below(3) > 0 {
                let sent = 1 + rng.below(20);
                let opened = rng.below(sent + 1) * rng.below(2);
                f.messages.insert(
                    "email".to_string(),
                    Engagement {
                        sent,
                        opened,
                        last_opened_at: (opened > 0).then(|| day(rng.below(90), &mut rng)),
                        ..Engagement::default()
                    },
                );
            }
            let mut contact = Contact {
                id,
                email: None,
                phone: None,
                first_name: None,
                last_name: None,
                birthday: None,
                gender: Some([Gender::Female, Gender::Male][rng.below(2) as usize]),
                city: Some(Text::new(CITIES[rng.below(5) as usize]).expect("valid text")),
                region: None,
                country: None,
                time_zone: None,
                locale: None,
                created_at: None,
                source: Default::default(),
                tags: Vec::new(),
                attributes: Default::default(),
                consent: Default::default(),
            };
            let status = [
                ConsentStatus::None,
                ConsentStatus::Pending,
                ConsentStatus::Confirmed,
                ConsentStatus::Confirmed,
                ConsentStatus::Unsubscribed,
            ][rng.below(5) as usize];
            let requested = day(800 + rng.below(300), &mut rng);
            let record = ConsentRecord {
                status,
                requested_at: (status != ConsentStatus::None).then_some(requested),
                confirmed_at: (status == ConsentStatus::Confirmed).then_some(requested),
                unsubscribed_at: (status == ConsentStatus::Unsubscribed).then_some(requested),
                ..ConsentRecord::default()
            };
            contact
                .consent
                .0
                .entry(email.clone())
                .or_default()
                .insert(Purpose::Marketing, record);
            f.contact = Some(contact);
            f
        })
        .collect();
    crate::profile::with_rfm(&mut out, &crate::rfm::RfmConfig::default())
        .expect("sample facts share one as_of and currency");
    out
}
