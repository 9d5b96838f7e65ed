//! Property tests for recommendations: on any catalog, history and message,
//! blocks never panic, never show a product twice, never show what the
//! filters refuse, and are never empty while the catalog holds an eligible
//! product; an updated cosine model equals a fresh build.

use std::collections::{HashMap, HashSet};

use patron::model::{Id, Timestamp};
use patron::purchase::Keys;
use patron::recommend::{
    Basket, BasketColumns, BasketKind, BlockKind, BlockSpec, ContactHistory, Filters, ItemModel,
    Message, ModelConfig, Recommender, baskets_from_columns,
};
use patron::sample::Sequence;
use patron::{Catalog, parse};
use proptest::prelude::*;

const KINDS: [BlockKind; 17] = [
    BlockKind::Bestsellers,
    BlockKind::TopRated,
    BlockKind::NewArrivals,
    BlockKind::Trending,
    BlockKind::RecentlyViewed,
    BlockKind::FromCart,
    BlockKind::FromWishlist,
    BlockKind::Interests,
    BlockKind::Searches,
    BlockKind::BuyAgain,
    BlockKind::ForYou,
    BlockKind::Similar,
    BlockKind::AlsoViewed,
    BlockKind::AlsoBought,
    BlockKind::BoughtTogether,
    BlockKind::Accessories,
    BlockKind::UpSell,
];

fn id(s: String) -> Id {
    Id::new(s).unwrap()
}

fn catalog(rng: &mut Sequence, n: u64) -> Catalog {
    let products: Vec<serde_json::Value> = (0..n)
        .map(|p| {
            let mut v = serde_json::json!({"id": format!("p{p}"), "name": format!("Tea {p}"),
                "price": rng.below(50), "currency": "EUR", "category_path": [format!("c{}", rng.below(3))]});
            if rng.below(4) == 0 {
                v["stock"] = 0.into();
            }
            if rng.below(3) == 0 {
                v["rating"] = (rng.below(6) as f64).into();
            }
            if rng.below(3) == 0 {
                v["created_at"] = format!("2024-05-{:02}T00:00:00Z", 1 + rng.below(28)).into();
            }
            v
        })
        .collect();
    parse::from_value(serde_json::json!({
        "categories": [{"id": "c0", "name": "A"}, {"id": "c1", "name": "B"}, {"id": "c2", "name": "C"}],
        "products": products}))
    .unwrap()
}

/// Baskets over products p0..p14: some beyond the catalog (removed products).
fn baskets(rng: &mut Sequence, count: u64) -> Vec<Basket> {
    let start = Timestamp::parse("2024-04-01T00:00:00Z").unwrap().get();
    (0..count)
        .map(|_| Basket {
            contact_id: id(format!("c{}", rng.below(6))),
            at: Timestamp::from(start + chrono::Duration::hours(rng.below(60 * 24) as i64)),
            kind: if rng.below(4) == 0 {
                BasketKind::View
            } else {
                BasketKind::Order
            },
            product_ids: (0..1 + rng.below(4))
                .map(|_| id(format!("p{}", rng.below(15))))
                .collect(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn blocks_keep_their_promises(seed in any::<u64>(), products in 0u64..12, orders in 0u64..30) {
        let mut rng = Sequence::new(seed);
        let catalog = catalog(&mut rng, products);
        let baskets = baskets(&mut rng, orders);
        let now = Timestamp::parse("2024-06-01T00:00:00Z").unwrap();
        let model = ItemModel::build(&baskets, now, &ModelConfig { neighbours: 1 + rng.below(4) as usize, ..ModelConfig::default() }).unwrap();
        let mut history = ContactHistory::from_baskets(baskets.iter().filter(|b| b.contact_id.as_str() == "c0"));
        history.cart = (0..rng.below(3)).map(|_| id(format!("p{}", rng.below(15)))).collect();
        history.searches = vec![patron::model::Text::new("tea 3").unwrap()];
        let blocks: Vec<BlockSpec> = (0..1 + rng.below(3))
            .map(|_| {
                let mut spec = BlockSpec::new(KINDS[rng.below(17) as usize], 1 + rng.below(5) as usize);
                spec.filters = Filters {
                    in_stock: rng.below(2) == 0,
                    max_per_category: (rng.below(2) == 0).then(|| 1 + rng.below(2) as usize),
                    ..Filters::default()
                };
                if rng.below(3) == 0 {
                    spec.fallback = Some(vec![]);
                }
                spec
            })
            .collect();
        let message = Message { triggers: (0..rng.below(2)).map(|_| id(format!("p{}", rng.below(15)))).collect(), blocks };
        let recommender = Recommender::new(&catalog, Some(&model));
        let out = recommender.blocks(&message, &history, now).unwrap();

        let by_id: HashMap<&str, &patron::Product> = catalog.products.iter().map(|p| (p.id.as_str(), p)).collect();
        let bought: HashSet<&str> = history.bought.iter().map(|b| b.product_id.as_str()).collect();
        let triggers: HashSet<&str> = message.triggers.iter().map(|t| t.as_str()).collect();
        let mut shown: HashSet<&str> = HashSet::new();
        for (spec, block) in message.blocks.iter().zip(&out) {
            prop_assert!(block.slots.len() <= spec.size);
            let mut per_category: HashMap<&str, usize> = HashMap::new();
            let before = shown.clone();
            for slot in &block.slots {
                let p = by_id.get(slot.product_id.as_str());
                prop_assert!(p.is_some(), "{} is not in the catalog", slot.product_id);
                let p = p.unwrap();
                prop_assert!(shown.insert(slot.product_id.as_str()), "{} shown twice", slot.product_id);
                if spec.filters.in_stock {
                    prop_assert!(p.available && p.stock != Some(0));
                }
                if spec.kind != BlockKind::BuyAgain {
                    prop_assert!(!bought.contains(p.id.as_str()));
                }
                prop_assert!(!triggers.contains(p.id.as_str()));
                let n = per_category.entry(p.category_path[0].as_str()).or_default();
                *n += 1;
                if let Some(max) = spec.filters.max_per_category {
                    prop_assert!(*n <= max);
                }
                prop_assert!(slot.source == spec.kind || spec.fallback.as_deref() != Some(&[]));
            }
            // With the default chain, a block is short only when nothing else qualifies.
            if spec.fallback.is_none() && spec.filters.max_per_category.is_none() {
                let eligible = catalog.products.iter().filter(|p| {
                    !before.contains(p.id.as_str())
                        && !triggers.contains(p.id.as_str())
                        && (spec.kind == BlockKind::BuyAgain || !bought.contains(p.id.as_str()))
                        && (!spec.filters.in_stock || (p.available && p.stock != Some(0)))
                }).count();
                prop_assert_eq!(block.slots.len(), spec.size.min(eligible));
            }
        }
    }

    #[test]
    fn an_update_equals_a_build(seed in any::<u64>(), orders in 0u64..40, split in 0u64..40) {
        let mut rng = Sequence::new(seed);
        let all = baskets(&mut rng, orders);
        let cut = (split as usize).min(all.len());
        let now = Timestamp::parse("2024-06-01T00:00:00Z").unwrap();
        let config = ModelConfig { neighbours: 3, ..ModelConfig::default() };
        let mut model = ItemModel::build(&all[..cut], now, &config).unwrap();
        model.update(&all[cut..]).unwrap();
        prop_assert_eq!(model, ItemModel::build(&all, now, &config).unwrap());
    }

    /// An order-line table of the baskets, each basket's lines in turn with
    /// an order id of its own, reads back as the same baskets.
    #[test]
    fn order_lines_read_back_as_their_baskets(seed in any::<u64>(), orders in 0u64..30) {
        let mut rng = Sequence::new(seed);
        let all = baskets(&mut rng, orders);
        let (mut contacts, mut order_ids, mut at, mut products, mut kinds) =
            (String::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut offsets = vec![0i32];
        for (n, basket) in all.iter().enumerate() {
            for product in &basket.product_ids {
                contacts.push_str(basket.contact_id.as_str());
                offsets.push(contacts.len() as i32);
                order_ids.push(n as i64);
                at.push(basket.at.get().timestamp_micros());
                products.push(product.as_str()[1..].parse::<i64>().unwrap());
                kinds.push(basket.kind);
            }
        }
        let columns = BasketColumns {
            contact_ids: Keys::Text { offsets: &offsets, bytes: contacts.as_bytes() },
            order_ids: Some(Keys::Int(&order_ids)),
            at_micros: &at,
            product_ids: Keys::Int(&products),
            kinds: Some(&kinds),
        };
        let read = baskets_from_columns(&columns).unwrap();
        // Product ids come back as the integers' text: `p7` was written as 7.
        let expected: Vec<Basket> = all
            .iter()
            .map(|b| Basket {
                product_ids: b.product_ids.iter().map(|p| id(p.as_str()[1..].to_string())).collect(),
                ..b.clone()
            })
            .collect();
        prop_assert_eq!(read, expected);
    }
}
