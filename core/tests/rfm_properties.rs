//! Property tests of RFM scoring: scores are in range, monotone, independent
//! of input order, and every buyer gets a segment from the default table.

use patron::model::{Id, Money, Timestamp};
use patron::rfm::{self, CustomerSummary, RfmConfig, TiePolicy};
use proptest::prelude::*;

fn customers(raw: &[(u16, u8, u16)]) -> Vec<CustomerSummary> {
    let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap().get();
    raw.iter()
        .enumerate()
        .map(|(i, &(days, orders, revenue))| CustomerSummary {
            contact_id: Id::new(format!("c{i}")).unwrap(),
            last_order_at: Some((as_of - chrono::Duration::days(i64::from(days))).into()),
            orders: u64::from(orders) + 1,
            purchase_days: None,
            revenue: Money::new(f64::from(revenue)).unwrap(),
            currency: None,
        })
        .collect()
}

fn config(ties: TiePolicy) -> RfmConfig {
    RfmConfig {
        ties,
        ..RfmConfig::default()
    }
}

proptest! {
    #[test]
    fn scores_are_in_range_and_monotone(raw in prop::collection::vec((0u16..800, 0u8..6, 0u16..500), 1..80), by_id in any::<bool>()) {
        let ties = if by_id { TiePolicy::ById } else { TiePolicy::SameBin };
        let base = customers(&raw);
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let scores = rfm::score(&base, as_of, &config(ties)).unwrap();
        prop_assert_eq!(scores.len(), base.len());
        for a in &scores {
            prop_assert!((1..=5).contains(&a.r) && (1..=5).contains(&a.f) && (1..=5).contains(&a.m));
            prop_assert!(a.segment.as_deref().is_some_and(|s| !s.is_empty()));
            for b in &scores {
                // More recent, more orders, more money never score lower.
                if a.recency_days < b.recency_days { prop_assert!(a.r >= b.r); }
                if a.frequency > b.frequency { prop_assert!(a.f >= b.f); }
                if a.monetary > b.monetary { prop_assert!(a.m >= b.m); }
                if ties == TiePolicy::SameBin && a.monetary == b.monetary { prop_assert_eq!(a.m, b.m); }
            }
        }
        if ties == TiePolicy::ById {
            let mut sizes = [0usize; 5];
            for s in &scores { sizes[usize::from(s.m) - 1] += 1; }
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{:?}", sizes);
        }
    }

    #[test]
    fn input_order_does_not_change_a_score(raw in prop::collection::vec((0u16..800, 0u8..6, 0u16..500), 1..40), by_id in any::<bool>()) {
        let ties = if by_id { TiePolicy::ById } else { TiePolicy::SameBin };
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let base = customers(&raw);
        let mut reversed = base.clone();
        reversed.reverse();
        let mut a = rfm::score(&base, as_of, &config(ties)).unwrap();
        let mut b = rfm::score(&reversed, as_of, &config(ties)).unwrap();
        a.sort_by(|x, y| x.contact_id.cmp(&y.contact_id));
        b.sort_by(|x, y| x.contact_id.cmp(&y.contact_id));
        prop_assert_eq!(a, b);
    }
}
