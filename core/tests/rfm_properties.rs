//! Property tests of RFM scoring: scores are in range, monotone, independent
//! of input order, equal to the textbook definitions computed the slow way,
//! and every buyer gets a segment from the default table.

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

    #[test]
    fn scores_match_the_textbook_definitions(raw in prop::collection::vec((0u16..40, 0u8..4, 0u16..30), 1..60), bins in 2u8..=10) {
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let base = customers(&raw);
        let k = usize::from(bins);
        let n = base.len();
        for ties in [TiePolicy::SameBin, TiePolicy::ById] {
            let scores = rfm::score(&base, as_of, &RfmConfig { bins, segments: None, ..config(ties) }).unwrap();
            let monetary: Vec<f64> = base.iter().map(|c| c.revenue.get()).collect();
            for (i, s) in scores.iter().enumerate() {
                let want = match ties {
                    // Ties share their mean rank: floor(rank * k / (n + 1)) + 1.
                    TiePolicy::SameBin => {
                        let less = monetary.iter().filter(|v| **v < monetary[i]).count();
                        let equal = monetary.iter().filter(|v| **v == monetary[i]).count();
                        (((2 * less + 1 + equal) * k) / (2 * (n + 1)) + 1).min(k)
                    }
                    // SQL NTILE(k) OVER (ORDER BY value, id).
                    TiePolicy::ById => {
                        let place = (0..n)
                            .filter(|&j| (monetary[j], &base[j].contact_id) < (monetary[i], &base[i].contact_id))
                            .count();
                        let (q, extra) = (n / k, n % k);
                        if place < extra * (q + 1) { place / (q + 1) + 1 } else { extra + (place - extra * (q + 1)) / q + 1 }
                    }
                };
                prop_assert_eq!(usize::from(s.m), want, "{:?} contact {}", ties, i);
            }
        }
    }
}
