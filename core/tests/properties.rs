//! Property tests: the ways into the model agree, normal forms are fixed
//! points, and no input makes the parser panic.

use patron::parse::{self, Model};
use patron::{Contact, Event, Product, sample};
use proptest::prelude::*;
use serde_json::Value;

fn shuffled(value: &Value, seed: u64) -> String {
    // Rebuilds an object's text with its keys in a seed-dependent order.
    let Value::Object(map) = value else {
        return value.to_string();
    };
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    let mut rng = sample::Sequence::new(seed);
    for i in (1..entries.len()).rev() {
        entries.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::String((*k).clone()), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Same outcome: equal values, or errors with the same code and path.
fn same_outcome<T: PartialEq + std::fmt::Debug>(
    a: &patron::Result<T>,
    b: &patron::Result<T>,
) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x.code() == y.code() && x.path() == y.path(),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_key_order_reads_the_same(seed in any::<u64>(), order in any::<u64>()) {
        for value in sample::events(4, 50, seed) {
            let text = shuffled(&value, order);
            let from_text = parse::from_json::<Event>(&text).unwrap();
            let from_value = parse::from_value::<Event>(value).unwrap();
            prop_assert_eq!(&from_text, &from_value);
            // The normalized form is a fixed point, read by the one-pass path.
            let normal = parse::to_json(&from_text);
            prop_assert_eq!(parse::from_json::<Event>(&normal).unwrap(), from_text);
        }
    }

    #[test]
    fn lists_read_the_same_in_one_pass_or_item_by_item(seed in any::<u64>()) {
        let values = sample::events(20, 10, seed);
        let normal: Vec<String> = values.iter().map(|v| parse::to_json(&Event::from_value(v.clone()).unwrap())).collect();
        let one_pass = parse::list_from_json::<Event>(&format!("[{}]", normal.join(","))).unwrap();
        let sorted = parse::list_from_json::<Event>(&serde_json::to_string(&values).unwrap()).unwrap();
        prop_assert_eq!(one_pass, sorted);
    }

    #[test]
    fn a_changed_value_is_refused_or_read_the_same_both_ways(seed in any::<u64>(), field in 0usize..12, junk in prop_oneof![
        Just(Value::Null), Just(Value::from(-1)), Just(Value::from(0)), Just(Value::from("")), Just(Value::from("EURO")),
        Just(Value::from(1e300)), Just(Value::from("2024-05-01T10:00:00")), Just(Value::from(vec![1, 2])),
        Just(serde_json::json!({"datetime": "x"})), Just(Value::from("x".repeat(5000))),
    ]) {
        let mut value = sample::events(1, 5, seed).remove(0);
        if let Value::Object(map) = &mut value {
            let key = map.keys().nth(field % map.len()).cloned().unwrap();
            map.insert(key, junk);
        }
        let text = value.to_string();
        let a = parse::from_json::<Event>(&text);
        let b = parse::from_value::<Event>(value);
        prop_assert!(same_outcome(&a, &b), "{a:?} vs {b:?}");
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse::from_json::<Event>(&text);
        let _ = parse::from_json::<Contact>(&text);
        let _ = parse::from_json::<Product>(&text);
        let _ = parse::list_from_json::<Event>(&text);
    }

    #[test]
    fn truncated_events_never_panic(seed in any::<u64>(), cut in 0usize..400) {
        let text = sample::events(1, 5, seed)[0].to_string();
        let cut = cut.min(text.len());
        if text.is_char_boundary(cut) {
            prop_assert!(parse::from_json::<Event>(&text[..cut]).is_err() || cut == text.len());
        }
    }
}
