//! Property tests for purchases: the column path and the row path agree on
//! any table, with text or integer ids, with and without order ids.

use patron::model::Timestamp;
use patron::purchase::{self, Keys, Purchase, PurchaseColumns};
use patron::sample::Sequence;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn columns_agree_with_rows(seed in any::<u64>(), rows in 0usize..300, contacts in 1u64..40, with_orders in any::<bool>(), int_ids in any::<bool>()) {
        let mut rng = Sequence::new(seed);
        let base = Timestamp::parse("2024-01-01T00:00:00Z").unwrap().get().timestamp_micros();
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let contact: Vec<i64> = (0..rows).map(|_| rng.below(contacts) as i64).collect();
        let order: Vec<i64> = (0..rows).map(|_| rng.below(20) as i64).collect();
        // Few distinct times: same-day purchases and equal times are common.
        let at: Vec<i64> = (0..rows).map(|_| base + rng.below(40) as i64 * 43_200_000_000).collect();
        let amounts: Vec<f64> = (0..rows).map(|_| rng.below(1000) as f64 / 10.0).collect();
        let text: Vec<String> = contact.iter().map(|c| format!("customer-{c}")).collect();
        let order_text: Vec<String> = order.iter().map(|o| format!("{o}")).collect();
        let mut bytes = Vec::new();
        let mut offsets = vec![0i32];
        for t in &text {
            bytes.extend_from_slice(t.as_bytes());
            offsets.push(bytes.len() as i32);
        }
        let columns = PurchaseColumns {
            contact_ids: if int_ids { Keys::Int(&contact) } else { Keys::Text { offsets: &offsets, bytes: &bytes } },
            order_ids: with_orders.then_some(Keys::Int(&order)),
            at_micros: &at,
            amounts: &amounts,
        };
        let purchases: Vec<Purchase> = (0..rows)
            .map(|i| Purchase {
                contact_id: (if int_ids { contact[i].to_string() } else { text[i].clone() }).parse().unwrap(),
                order_id: with_orders.then(|| order_text[i].parse().unwrap()),
                at: Timestamp::from(chrono::DateTime::from_timestamp_micros(at[i]).unwrap()),
                amount: patron::model::Money::new(amounts[i]).unwrap(),
            })
            .collect();
        let by_rows = purchase::summarize(&purchases, as_of).unwrap();
        let by_columns = purchase::summarize_columns(&columns, as_of).unwrap();
        prop_assert_eq!(&by_rows, &by_columns);
        let total: u64 = by_rows.iter().map(|s| s.orders).sum();
        if !with_orders {
            prop_assert_eq!(total as usize, rows);
        }
    }
}
