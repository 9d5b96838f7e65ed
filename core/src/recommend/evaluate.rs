//! Offline evaluation: leave the last basket out, recommend from the rest,
//! and score the list against what the contact then bought.
//!
//! For every contact with at least two orders, the latest order is the test
//! basket; everything before it (orders and views) trains the model and
//! builds the contact's history. A block of `k` slots is filled for each test
//! contact at the test order's time and scored twice:
//!
//! - **all items**: the truth is the whole test basket, and the block may
//!   show products the contact bought before (`exclude_purchased: false`);
//! - **new items**: the truth is the test basket's products the contact had
//!   not bought, and the block leaves bought products out.
//!
//! The metrics are those of `implicit`'s `ranking_metrics_at_k`: precision
//! divides all hits by the sum over contacts of `min(k, truth)`, not `k`; MAP averages the precision at each
//! hit over `min(k, truth)`; NDCG uses binary gains, `1 / log2(rank + 1)`, over
//! the ideal for `min(k, truth)` hits. Recall is hits over the truth size, hit
//! rate the share of contacts with at least one hit. Contacts whose truth is
//! empty (new items: a basket of repeats only) are left out of that average.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::block::{BlockSpec, Message};
use super::history::ContactHistory;
use super::model::{Basket, BasketKind, ItemModel, ModelConfig};
use super::recommender::Recommender;
use crate::error::{Error, Result};
use crate::model::{Catalog, Id};

/// Averages of the ranking metrics over contacts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Contacts averaged over.
    pub contacts: usize,
    /// Hits over `min(k, truth)` (over contacts: summed hits over summed `min(k, truth)`).
    pub precision: f64,
    /// Hits over the truth.
    pub recall: f64,
    /// Share of contacts with a hit.
    pub hit_rate: f64,
    /// Mean average precision at `k`.
    pub map: f64,
    /// Normalised discounted cumulative gain at `k`.
    pub ndcg: f64,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// Slots scored.
    pub k: usize,
    /// Contacts with a test basket.
    pub test_contacts: usize,
    /// Whole test baskets, repeats allowed.
    pub all_items: Metrics,
    /// Products new to the contact.
    pub new_items: Metrics,
}

/// The metrics of one ranked list against one truth set (unaveraged).
pub fn score_list(recommended: &[&str], truth: &HashSet<&str>, k: usize) -> Metrics {
    let mut m = Metrics {
        contacts: 1,
        ..Metrics::default()
    };
    if truth.is_empty() || k == 0 {
        return m;
    }
    let cut = k.min(truth.len());
    let (mut hits, mut ap, mut dcg) = (0usize, 0.0, 0.0);
    for (rank, id) in recommended.iter().take(k).enumerate() {
        if truth.contains(id) {
            hits += 1;
            ap += hits as f64 / (rank + 1) as f64;
            dcg += 1.0 / ((rank + 2) as f64).log2();
        }
    }
    let ideal: f64 = (0..cut).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    m.precision = hits as f64 / cut as f64;
    m.recall = hits as f64 / truth.len() as f64;
    m.hit_rate = f64::from(u8::from(hits > 0));
    m.map = ap / cut as f64;
    m.ndcg = dcg / ideal;
    m
}

/// One contact's metrics and its `min(k, truth)`.
type Scored = (Metrics, usize);

/// Averages per-contact metrics, each with its `min(k, truth)`.
fn mean(all: &[(Metrics, usize)]) -> Metrics {
    let n = all.len();
    if n == 0 {
        return Metrics::default();
    }
    let avg = |f: fn(&Metrics) -> f64| all.iter().map(|(m, _)| f(m)).sum::<f64>() / n as f64;
    let cuts: usize = all.iter().map(|(_, c)| c).sum();
    let hits: f64 = all.iter().map(|(m, c)| m.precision * *c as f64).sum();
    Metrics {
        contacts: n,
        precision: hits / cuts as f64,
        recall: avg(|m| m.recall),
        hit_rate: avg(|m| m.hit_rate),
        map: avg(|m| m.map),
        ndcg: avg(|m| m.ndcg),
    }
}

/// Splits baskets into training baskets and each contact's last order.
///
/// A contact's last order is the one with the latest `at` (among equal times,
/// the last in the input). Contacts with a single order keep it for
/// training. Views at or after a contact's test order are dropped: they
/// would leak the future.
pub fn leave_last_basket_out(baskets: &[Basket]) -> (Vec<Basket>, Vec<Basket>) {
    let mut last: HashMap<&Id, (usize, usize)> = HashMap::new(); // contact -> (index, orders)
    for (i, b) in baskets.iter().enumerate() {
        if b.kind != BasketKind::Order || b.product_ids.is_empty() {
            continue;
        }
        let e = last.entry(&b.contact_id).or_insert((i, 0));
        e.1 += 1;
        if b.at >= baskets[e.0].at {
            e.0 = i;
        }
    }
    let test_index: HashMap<&Id, usize> = last
        .into_iter()
        .filter(|(_, (_, n))| *n >= 2)
        .map(|(c, (i, _))| (c, i))
        .collect();
    let mut train = Vec::with_capacity(baskets.len());
    let mut test = Vec::with_capacity(test_index.len());
    for (i, b) in baskets.iter().enumerate() {
        match test_index.get(&b.contact_id) {
            Some(&t) if t == i => test.push(b.clone()),
            Some(&t) if b.kind == BasketKind::View && b.at >= baskets[t].at => {}
            _ => train.push(b.clone()),
        }
    }
    (train, test)
}

/// Leave-last-basket-out evaluation of one block kind (with its filters and
/// fallback chain) at `k` slots; see the module docs.
///
/// `catalog` should hold every product of the baskets; products it lacks are
/// never recommended but still count in the truth. Errors: `k` of 0 or
/// above the largest block size, a bad model config or block spec.
pub fn evaluate(
    catalog: &Catalog,
    baskets: &[Basket],
    spec: &BlockSpec,
    k: usize,
    config: &ModelConfig,
) -> Result<Evaluation> {
    if k == 0 || k > super::recommender::MAX_BLOCK_SIZE {
        return Err(Error::invalid(
            "k",
            format!(
                "expected 1 to {} slots, got {k}",
                super::recommender::MAX_BLOCK_SIZE
            ),
        ));
    }
    let (train, test) = leave_last_basket_out(baskets);
    let now = train
        .iter()
        .map(|b| b.at)
        .max()
        .or_else(|| test.iter().map(|b| b.at).max());
    let Some(now) = now else {
        return Ok(Evaluation {
            k,
            test_contacts: 0,
            all_items: Metrics::default(),
            new_items: Metrics::default(),
        });
    };
    let model = ItemModel::build(
        &train,
        now,
        &ModelConfig {
            incremental: false,
            ..config.clone()
        },
    )?;
    let recommender = Recommender::new(catalog, Some(&model));
    let mut by_contact: HashMap<&Id, Vec<&Basket>> = HashMap::new();
    for b in &train {
        by_contact.entry(&b.contact_id).or_default().push(b);
    }
    let message = |exclude: bool| {
        let mut s = spec.clone();
        s.size = k;
        s.filters.exclude_purchased = Some(exclude);
        Message {
            triggers: Vec::new(),
            blocks: vec![s],
        }
    };
    let (all_message, new_message) = (message(false), message(true));
    // Checks the spec once, so that per-contact calls cannot fail.
    recommender
        .blocks(&all_message, &ContactHistory::default(), now)
        .map_err(|e| e.within("spec"))?;
    let cut = |truth: &HashSet<&str>| k.min(truth.len());
    let scored: Vec<(Scored, Option<Scored>)> = test
        .par_iter()
        .map(|t| {
            let history = ContactHistory::from_baskets(
                by_contact.get(&t.contact_id).into_iter().flatten().copied(),
            );
            let truth: HashSet<&str> = t.product_ids.iter().map(|p| p.as_str()).collect();
            let bought: HashSet<&str> = history
                .bought
                .iter()
                .map(|b| b.product_id.as_str())
                .collect();
            let new_truth: HashSet<&str> = truth.difference(&bought).copied().collect();
            let ids = |m: &Message| -> Vec<Id> {
                recommender
                    .blocks(m, &history, t.at)
                    .map(|b| b[0].slots.iter().map(|s| s.product_id.clone()).collect())
                    .unwrap_or_default()
            };
            let all = ids(&all_message);
            let all: Vec<&str> = all.iter().map(Id::as_str).collect();
            let all = (score_list(&all, &truth, k), cut(&truth));
            let new = (!new_truth.is_empty()).then(|| {
                let new = ids(&new_message);
                let new: Vec<&str> = new.iter().map(Id::as_str).collect();
                (score_list(&new, &new_truth, k), cut(&new_truth))
            });
            (all, new)
        })
        .collect();
    let all: Vec<(Metrics, usize)> = scored.iter().map(|s| s.0).collect();
    let new: Vec<(Metrics, usize)> = scored.iter().filter_map(|s| s.1).collect();
    Ok(Evaluation {
        k,
        test_contacts: test.len(),
        all_items: mean(&all),
        new_items: mean(&new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_follow_implicit() {
        let truth: HashSet<&str> = ["a", "b", "c"].into_iter().collect();
        // Hits at ranks 1 and 3 of k = 2... k = 4: hits a (1), c (3).
        let m = score_list(&["a", "x", "c", "y"], &truth, 4);
        assert_eq!(m.precision, 2.0 / 3.0);
        assert_eq!(m.recall, 2.0 / 3.0);
        assert_eq!(m.hit_rate, 1.0);
        assert!((m.map - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        let ideal = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!((m.ndcg - (1.0 + 0.5) / ideal).abs() < 1e-12);
        // Only the first k count; precision divides by min(k, truth).
        let m = score_list(&["x", "a", "b"], &truth, 2);
        assert_eq!((m.precision, m.hit_rate), (0.5, 1.0));
    }

    #[test]
    fn leaves_the_last_order_out() {
        let baskets: Vec<Basket> = crate::parse::list_from_json(
            r#"[
          {"contact_id": "a", "at": "2024-05-01T00:00:00Z", "product_ids": ["x", "y"]},
          {"contact_id": "a", "at": "2024-05-09T00:00:00Z", "kind": "view", "product_ids": ["z"]},
          {"contact_id": "a", "at": "2024-05-08T00:00:00Z", "product_ids": ["x", "z"]},
          {"contact_id": "b", "at": "2024-05-03T00:00:00Z", "product_ids": ["y"]}
        ]"#,
        )
        .unwrap();
        let (train, test) = leave_last_basket_out(&baskets);
        assert_eq!(
            train.len(),
            2,
            "the later view is dropped; b's only order trains"
        );
        assert_eq!(test.len(), 1);
        assert_eq!(test[0].product_ids.len(), 2);
        let catalog: Catalog = crate::parse::from_json(
            r#"{"products": [{"id": "x", "name": "X", "price": 1, "currency": "EUR"},
                             {"id": "y", "name": "Y", "price": 1, "currency": "EUR"},
                             {"id": "z", "name": "Z", "price": 1, "currency": "EUR"}]}"#,
        )
        .unwrap();
        let spec = BlockSpec::new(super::super::BlockKind::BuyAgain, 1);
        let e = evaluate(&catalog, &baskets, &spec, 2, &ModelConfig::default()).unwrap();
        assert_eq!(e.test_contacts, 1);
        // Buy again shows x (hit), then the fallback: y (bought, no hit).
        assert_eq!(e.all_items.contacts, 1);
        assert_eq!(e.all_items.precision, 0.5);
        // New items: z is the truth; y is bought and left out.
        assert_eq!(e.new_items.contacts, 1);
        assert_eq!(
            evaluate(&catalog, &baskets, &spec, 0, &ModelConfig::default())
                .unwrap_err()
                .path(),
            Some("k")
        );
    }
}
