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
