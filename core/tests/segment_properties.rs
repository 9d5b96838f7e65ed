//! Property tests for segments: an update after one event, which evaluates
//! only the segments that event can change, equals evaluating them all.

use patron::model::Timestamp;
use patron::parse;
use patron::profile::Profile;
use patron::sample;
use patron::segment::{Membership, Registry};
use proptest::prelude::*;
use serde_json::Value;

/// Segments over every kind of fact: orders, views, searches, the cart and
/// its age, messages, windows, days since, references and a bucket.
fn registry() -> Registry {
    Registry::from_json(
        r#"{
          "buyers": "orders >= 1",
          "big spenders": "revenue > 60 and average_order_value > 20",
          "recent buyers": "last_order_at within 20 days",
          "viewers": "viewed_products.p7.count >= 1 or viewed_categories.shoes.count > 1",
          "searchers this week": "searches.`running shoes`.count in last 7 days >= 1",
          "open cart": "cart.value > 0 and cart.age_seconds > 3600",
          "has a cart": "cart.value > 0",
          "wishers": "wishlist.p3 is set",
          "openers": "messages.email.opened >= 1",
          "quiet": "days_since_last_activity > 10",
          "two orders a month": "orders in last 30 days >= 2",
          "lapsed buyers": "segment \"buyers\" and not segment \"recent buyers\"",
          "sample": "bucket 30% salt \"s\"",
          "cart after order": "cart.updated_at > last_order_at"
        }"#,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn an_update_after_an_event_equals_a_full_update(seed in any::<u64>()) {
        let registry = registry();
        let mut events: Vec<patron::Event> =
            parse::list_from_value(Value::Array(sample::events(200, 3, seed))).unwrap();
        events.sort_by_key(|e| e.at);
        let mut profiles: std::collections::BTreeMap<String, (Profile, Option<Membership>)> =
            Default::default();
        for event in &events {
            let id = event.contact_id.as_ref().unwrap().to_string();
            let (profile, membership) = profiles
                .entry(id)
                .or_insert_with(|| (Profile::for_event(event).unwrap(), None));
            profile.apply(event).unwrap();
            // The facts a second after the event: windows and ages move too.
            let as_of = Timestamp::from(event.at.get() + chrono::Duration::seconds(1));
            let facts = profile.facts(as_of, None).unwrap();
            let full = registry.update(membership.as_ref(), &facts).unwrap();
            let after = registry.update_after(membership.as_ref(), &facts, event).unwrap();
            prop_assert_eq!(&after, &full, "after {}", event.type_name());
            *membership = Some(full.membership);
        }
    }
}
