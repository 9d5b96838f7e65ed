//! Property tests for purchases: the column path and the row path agree on
//! any table, with text or integer ids, with and without order ids.

use patron::model::Timestamp;
use patron::purchase::{self, Keys, Purchase, PurchaseColumns};
use patron::rfm::{self, RfmConfig};
use patron::sample::Sequence;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

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
        // Revenue is a float sum: the two paths may add one customer's
        // amounts in another order (the last bit differs on some tables),
        // so it agrees to a relative 1e-12; everything else exactly.
        let exact = |all: &[rfm::CustomerSummary]| -> Vec<_> {
            all.iter()
                .map(|s| (s.contact_id.clone(), s.last_order_at, s.orders, s.purchase_days, s.currency))
                .collect()
        };
        prop_assert_eq!(exact(&by_rows), exact(&by_columns));
        for (r, c) in by_rows.iter().zip(&by_columns) {
            let (r, c) = (r.revenue.get(), c.revenue.get());
            prop_assert!((r - c).abs() <= 1e-12 * r.abs().max(1.0), "revenue {} against {}", r, c);
        }
        let total: u64 = by_rows.iter().map(|s| s.orders).sum();
        if !with_orders {
            prop_assert_eq!(total as usize, rows);
        }
    }
}

/// A customer's order ids, days, last time and revenue.
type Plain = (BTreeSet<String>, BTreeSet<i64>, i64, f64);

/// Each customer's (orders, purchase days, last time, revenue), counted the
/// plain way: sets of order ids and of days.
fn reference(
    contact: &[String],
    order: Option<&[String]>,
    at: &[i64],
    amounts: &[f64],
) -> Vec<(String, u64, u64, i64, f64)> {
    let mut first: Vec<String> = Vec::new();
    let mut sums: HashMap<&str, Plain> = HashMap::new();
    for row in 0..contact.len() {
        let entry = sums.entry(&contact[row]).or_insert_with(|| {
            first.push(contact[row].clone());
            (BTreeSet::new(), BTreeSet::new(), i64::MIN, 0.0)
        });
        entry
            .0
            .insert(order.map_or_else(|| format!("row {row}"), |o| o[row].clone()));
        entry.1.insert(at[row].div_euclid(86_400_000_000));
        entry.2 = entry.2.max(at[row]);
        entry.3 += amounts[row];
    }
    first
        .into_iter()
        .map(|c| {
            let (orders, days, last, revenue) = &sums[c.as_str()];
            (
                c.clone(),
                orders.len() as u64,
                days.len() as u64,
                *last,
                *revenue,
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Orders and days are counted in one pass while they only grow, and
    /// again when they go back: in time order or shuffled, with short and
    /// long (hashed) order ids, the counts are the plain ones.
    #[test]
    fn sums_match_a_plain_count(seed in any::<u64>(), rows in 0usize..300, contacts in 1u64..40, orders in 1u64..60, in_time_order in any::<bool>(), long_ids in any::<bool>(), with_orders in any::<bool>()) {
        let mut rng = Sequence::new(seed);
        let base = Timestamp::parse("2024-01-01T00:00:00Z").unwrap().get().timestamp_micros();
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        // Each order belongs to one customer and has one time; its lines may
        // be anywhere in the table.
        let order_contact: Vec<u64> = (0..orders).map(|_| rng.below(contacts)).collect();
        let mut order_at: Vec<i64> = (0..orders).map(|_| base + rng.below(40) as i64 * 43_200_000_000).collect();
        if in_time_order {
            order_at.sort_unstable();
        }
        let mut line_order: Vec<u64> = (0..rows).map(|_| rng.below(orders)).collect();
        if in_time_order {
            line_order.sort_unstable();
        }
        let pad = if long_ids { "-with-a-long-tail-of-text" } else { "" };
        let contact: Vec<String> = line_order.iter().map(|o| format!("c{}{pad}", order_contact[*o as usize])).collect();
        let order_id: Vec<String> = line_order.iter().map(|o| format!("o{o:06}{pad}")).collect();
        let at: Vec<i64> = line_order.iter().map(|o| order_at[*o as usize]).collect();
        let amounts: Vec<f64> = (0..rows).map(|_| rng.below(400) as f64 / 4.0).collect();
        let text = |values: &[String]| {
            let mut bytes = Vec::new();
            let mut offsets = vec![0i32];
            for v in values {
                bytes.extend_from_slice(v.as_bytes());
                offsets.push(bytes.len() as i32);
            }
            (bytes, offsets)
        };
        let (contact_bytes, contact_offsets) = text(&contact);
        let (order_bytes, order_offsets) = text(&order_id);
        let columns = PurchaseColumns {
            contact_ids: Keys::Text { offsets: &contact_offsets, bytes: &contact_bytes },
            order_ids: with_orders.then_some(Keys::Text { offsets: &order_offsets, bytes: &order_bytes }),
            at_micros: &at,
            amounts: &amounts,
        };
        let got: Vec<(String, u64, u64, i64, f64)> = purchase::summarize_columns(&columns, as_of)
            .unwrap()
            .into_iter()
            .map(|s| (s.contact_id.as_str().to_string(), s.orders, s.purchase_days.unwrap(), s.last_order_at.unwrap().get().timestamp_micros(), s.revenue.get()))
            .collect();
        prop_assert_eq!(got, reference(&contact, with_orders.then_some(&order_id[..]), &at, &amounts));
    }

    /// RFM from columns is `rfm::score` over the summaries, for every tie
    /// rule, measure and integer or text ids.
    #[test]
    fn rfm_columns_agree_with_scores(seed in any::<u64>(), rows in 0usize..300, contacts in 1u64..60, int_ids in any::<bool>(), by_id in any::<bool>(), days in any::<bool>(), mean in any::<bool>(), bins in 2u8..=10) {
        let mut rng = Sequence::new(seed);
        let base = Timestamp::parse("2024-01-01T00:00:00Z").unwrap().get().timestamp_micros();
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let contact: Vec<i64> = (0..rows).map(|_| rng.below(contacts) as i64).collect();
        let order: Vec<i64> = (0..rows).map(|_| rng.below(30) as i64).collect();
        let at: Vec<i64> = (0..rows).map(|_| base + rng.below(40) as i64 * 43_200_000_000).collect();
        let amounts: Vec<f64> = (0..rows).map(|_| rng.below(40) as f64).collect();
        let mut bytes = Vec::new();
        let mut offsets = vec![0i32];
        for c in &contact {
            bytes.extend_from_slice(format!("id{c}").as_bytes());
            offsets.push(bytes.len() as i32);
        }
        let columns = PurchaseColumns {
            contact_ids: if int_ids { Keys::Int(&contact) } else { Keys::Text { offsets: &offsets, bytes: &bytes } },
            order_ids: Some(Keys::Int(&order)),
            at_micros: &at,
            amounts: &amounts,
        };
        let config: RfmConfig = serde_json::from_value(serde_json::json!({
            "bins": bins,
            "ties": if by_id { "by_id" } else { "same_bin" },
            "frequency": if days { "purchase_days" } else { "orders" },
            "monetary": if mean { "mean" } else { "total" },
            "segments": if bins == 5 { serde_json::to_value(patron::rfm::SegmentTable::default()).unwrap() } else { serde_json::Value::Null },
        })).unwrap();
        let want = rfm::score(&purchase::summarize_columns(&columns, as_of).unwrap(), as_of, &config).unwrap();
        let got = purchase::rfm_columns(&columns, as_of, &config).unwrap();
        prop_assert_eq!(got.first_rows.len(), want.len());
        for (i, w) in want.iter().enumerate() {
            let row = got.first_rows[i] as usize;
            let id = if int_ids { contact[row].to_string() } else { format!("id{}", contact[row]) };
            prop_assert_eq!(w.contact_id.as_str(), id.as_str());
            prop_assert_eq!((w.recency_days, w.frequency, w.monetary), (got.recency_days[i], got.frequency[i], got.monetary[i]));
            prop_assert_eq!((w.r, w.f, w.m), (got.r[i], got.f[i], got.m[i]));
            prop_assert_eq!(w.cell.as_str(), got.labels.cell(got.r[i], got.f[i], got.m[i]));
            prop_assert_eq!(w.segment.as_deref(), got.labels.segment(got.r[i], got.f[i], got.m[i]));
        }
    }
}
