//! The recommender: a catalog and a model indexed once, then blocks for any
//! number of contacts.

use std::hash::BuildHasherDefault;

use crate::purchase::FxHasher;

use super::block::{Block, BlockKind, BlockSpec, Message, Slot, Window};
use super::history::ContactHistory;
use super::model::{FxMap as HashMap, ItemModel, Popularity, Table};
use crate::error::{Error, Result};
use crate::model::{Catalog, CatalogIndex, Product, Timestamp};

/// Sets with the Fx hash: keys are product positions and ids.
type HashSet<T> = std::collections::HashSet<T, BuildHasherDefault<FxHasher>>;

/// Largest block size.
pub const MAX_BLOCK_SIZE: usize = 1000;

/// A catalog and an optional item-to-item model, indexed for blocks. Build it
/// once per catalog and model (it sorts the catalog a few ways) and reuse it
/// for every contact; it holds references only.
pub struct Recommender<'a> {
    catalog: CatalogIndex<'a>,
    products: Vec<&'a Product>,
    position: HashMap<&'a str, u32>,
    model: Option<&'a ItemModel>,
    /// Model index of each catalog position.
    to_model: Vec<Option<u32>>,
    /// Catalog position of each model index.
    from_model: Vec<Option<u32>>,
    popularity: Vec<Popularity>,
    bestsellers: Vec<u32>,
    bestsellers_recent: Vec<u32>,
    top_rated: Vec<u32>,
    new_arrivals: Vec<u32>,
    trending: Vec<u32>,
    by_leaf: HashMap<&'a str, Vec<u32>>,
    by_brand: HashMap<&'a str, Vec<u32>>,
    by_token: HashMap<String, Vec<u32>>,
}

/// Lower-case words of at least two characters.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn leaf(p: &Product) -> Option<&str> {
    p.category_path.last().map(|c| c.as_str())
}

impl<'a> Recommender<'a> {
    /// Indexes the catalog and the model. Products the model knows but the
    /// catalog does not (removed products) are never shown; catalog products
    /// the model does not know have no neighbours and no sales.
    pub fn new(catalog: &'a Catalog, model: Option<&'a ItemModel>) -> Recommender<'a> {
        let products: Vec<&Product> = catalog.products.iter().collect();
        let n = products.len();
        let position: HashMap<&str, u32> = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i as u32))
            .collect();
        let to_model: Vec<Option<u32>> = products
            .iter()
            .map(|p| model.and_then(|m| m.product_index(p.id.as_str())))
            .collect();
        let mut from_model = vec![None; model.map_or(0, |m| m.products.len())];
        for (i, m) in to_model.iter().enumerate() {
            if let Some(m) = m {
                from_model[*m as usize] = Some(i as u32);
            }
        }
        let popularity: Vec<Popularity> = to_model
            .iter()
            .map(|m| match (model, m) {
                (Some(model), Some(m)) => model.popularity[*m as usize],
                _ => Popularity::default(),
            })
            .collect();
        let all: Vec<u32> = (0..n as u32).collect();
        let sorted = |key: &dyn Fn(u32) -> (f64, f64)| {
            let mut v = all.clone();
            v.sort_by(|&a, &b| {
                let (ka, kb) = (key(a), key(b));
                kb.0.total_cmp(&ka.0)
                    .then(kb.1.total_cmp(&ka.1))
                    .then(a.cmp(&b))
            });
            v
        };
        let pop = |i: u32| popularity[i as usize];
        let bestsellers = sorted(&|i| (pop(i).orders as f64, pop(i).views as f64));
        let bestsellers_recent = sorted(&|i| (pop(i).recent_orders as f64, pop(i).orders as f64));
        let top_rated = sorted(&|i| {
            (
                products[i as usize].rating.map_or(-1.0, |r| r.get()),
                pop(i).orders as f64,
            )
        });
        let trending = sorted(&|i| (pop(i).trend(), pop(i).orders as f64));
        let mut new_arrivals: Vec<u32> = all
            .iter()
            .copied()
            .filter(|&i| products[i as usize].created_at.is_some())
            .collect();
        new_arrivals.sort_by(|&a, &b| {
            products[b as usize]
                .created_at
                .cmp(&products[a as usize].created_at)
                .then(a.cmp(&b))
        });
        let mut by_leaf: HashMap<&str, Vec<u32>> = HashMap::default();
        let mut by_brand: HashMap<&str, Vec<u32>> = HashMap::default();
        let mut by_token: HashMap<String, Vec<u32>> = HashMap::default();
        for &i in &bestsellers {
            let p = products[i as usize];
            if let Some(c) = leaf(p) {
                by_leaf.entry(c).or_default().push(i);
            }
            if let Some(b) = &p.brand {
                by_brand.entry(b.as_str()).or_default().push(i);
            }
            let mut words: Vec<String> = tokens(p.name.as_str())
                .chain(p.brand.iter().flat_map(|b| tokens(b.as_str())))
                .chain(p.tags.iter().flat_map(|t| tokens(t.as_str())))
                .collect();
            words.sort();
            words.dedup();
            for w in words {
                by_token.entry(w).or_default().push(i);
            }
        }
        Recommender {
            catalog: catalog.index(),
            products,
            position,
            model,
            to_model,
            from_model,
            popularity,
            bestsellers,
            bestsellers_recent,
            top_rated,
            new_arrivals,
            trending,
            by_leaf,
            by_brand,
            by_token,
        }
    }

    /// Fills the blocks of one message for one contact at `now`.
    ///
    /// Blocks are filled in order; a product shown in one block is not shown
    /// in a later one. Each block takes its own kind's candidates, then its
    /// fallback chain's, skipping what the filters refuse, until it is full
    /// or the chain is spent; every slot says which kind filled it. With the
    /// default chain (ending in bestsellers, which ranks the whole catalog) a
    /// block comes back short only when the catalog holds no further product
    /// that passes its filters. An empty catalog gives empty blocks.
    ///
    /// Errors (`validation`, with paths such as `blocks[1].size`): a size of
    /// 0 or above [`MAX_BLOCK_SIZE`], a negative or inverted price range, an
    /// unknown category in a filter or `category_id`.
    pub fn blocks(
        &self,
        message: &Message,
        history: &ContactHistory,
        now: Timestamp,
    ) -> Result<Vec<Block>> {
        for (i, spec) in message.blocks.iter().enumerate() {
            self.check(spec)
                .map_err(|e| e.within(&format!("blocks[{i}]")))?;
        }
        let purchased: HashSet<u32> = history
            .bought
            .iter()
            .filter_map(|b| self.pos(b.product_id.as_str()))
            .collect();
        let triggers: HashSet<u32> = message
            .triggers
            .iter()
            .filter_map(|t| self.pos(t.as_str()))
            .collect();
        let mut used: HashSet<u32> = HashSet::default();
        let mut out = Vec::with_capacity(message.blocks.len());
        for spec in &message.blocks {
            let block = self.fill(spec, message, history, now, &purchased, &triggers, &used);
            used.extend(
                block
                    .slots
                    .iter()
                    .filter_map(|s| self.pos(s.product_id.as_str())),
            );
            out.push(block);
        }
        Ok(out)
    }

    /// [`Recommender::blocks`] for many contacts at once, in parallel: one
    /// list of blocks per history, in input order. The message is checked
    /// once; its errors are those of `blocks`.
    pub fn blocks_many(
        &self,
        message: &Message,
        histories: &[ContactHistory],
        now: Timestamp,
    ) -> Result<Vec<Vec<Block>>> {
        use rayon::prelude::*;
        self.blocks(message, &ContactHistory::default(), now)?;
        histories
            .par_iter()
            .map(|h| self.blocks(message, h, now))
            .collect()
    }

    fn check(&self, spec: &BlockSpec) -> Result<()> {
        if spec.size == 0 || spec.size > MAX_BLOCK_SIZE {
            return Err(Error::invalid(
                "size",
                format!("expected 1 to {MAX_BLOCK_SIZE} slots, got {}", spec.size),
            ));
        }
        if let Some(c) = &spec.category_id
            && !self.catalog.has_category(c.as_str())
        {
            return Err(Error::invalid(
                "category_id",
                format!("unknown category `{c}`"),
            ));
        }
        spec.filters
            .check(&self.catalog)
            .map_err(|e| e.within("filters"))
    }

    fn pos(&self, id: &str) -> Option<u32> {
        self.position.get(id).copied()
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        spec: &BlockSpec,
        message: &Message,
        history: &ContactHistory,
        now: Timestamp,
        purchased: &HashSet<u32>,
        triggers: &HashSet<u32>,
        used: &HashSet<u32>,
    ) -> Block {
        let filters = &spec.filters;
        let exclude_purchased = filters
            .exclude_purchased
            .unwrap_or(spec.kind != BlockKind::BuyAgain);
        let anchors = self.anchors(spec, message, history);
        let mut chain = vec![spec.kind];
        for &k in spec
            .fallback
            .as_deref()
            .unwrap_or(&BlockSpec::DEFAULT_FALLBACK)
        {
            if !chain.contains(&k) {
                chain.push(k);
            }
        }
        let mut slots: Vec<Slot> = Vec::with_capacity(spec.size);
        let mut taken: HashSet<u32> = HashSet::default();
        let mut per_category: HashMap<&str, usize> = HashMap::default();
        for (step, kind) in chain.into_iter().enumerate() {
            if slots.len() >= spec.size {
                break;
            }
            // Only the block's own kind reads `category_id` and `window`.
            let own = step == 0;
            for (i, score) in self.candidates(kind, spec, own, &anchors, history, now) {
                if slots.len() >= spec.size {
                    break;
                }
                let p = self.products[i as usize];
                if taken.contains(&i)
                    || used.contains(&i)
                    || (exclude_purchased && purchased.contains(&i))
                    || (filters.exclude_triggers && triggers.contains(&i))
                    || !filters.admits(p)
                {
                    continue;
                }
                if let (Some(max), Some(c)) = (filters.max_per_category, leaf(p)) {
                    let n = per_category.entry(c).or_insert(0);
                    if *n >= max {
                        continue;
                    }
                    *n += 1;
                }
                taken.insert(i);
                slots.push(Slot {
                    product_id: p.id.clone(),
                    source: kind,
                    score: round6(score),
                });
            }
        }
        Block {
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| spec.kind.as_str().to_string()),
            kind: spec.kind,
            slots,
        }
    }

    /// Anchor positions in the catalog, with model indices (a removed product
    /// still has neighbours in the model).
    fn anchors(
        &self,
        spec: &BlockSpec,
        message: &Message,
        history: &ContactHistory,
    ) -> Vec<&'a str> {
        let ids: Vec<&str> = if !spec.product_ids.is_empty() {
            spec.product_ids.iter().map(|p| p.as_str()).collect()
        } else if !message.triggers.is_empty() {
            message.triggers.iter().map(|p| p.as_str()).collect()
        } else if !history.cart.is_empty() {
            history.cart.iter().map(|p| p.as_str()).collect()
        } else {
            let mut bought: Vec<_> = history.bought.iter().collect();
            bought.sort_by_key(|b| std::cmp::Reverse(b.last_at));
            let mut viewed: Vec<_> = history.viewed.iter().collect();
            viewed.sort_by_key(|v| std::cmp::Reverse(v.last_at));
            bought
                .iter()
                .take(3)
                .map(|b| b.product_id.as_str())
                .chain(viewed.iter().take(3).map(|v| v.product_id.as_str()))
                .collect()
        };
        // Borrow from the catalog or the model so the list outlives the inputs.
        ids.into_iter()
            .filter_map(|id| {
                self.pos(id)
                    .map(|i| self.products[i as usize].id.as_str())
                    .or_else(|| {
                        let m = self.model?;
                        m.product_index(id).map(|i| m.products[i as usize].as_str())
                    })
            })
            .collect()
    }

    fn walk<'s>(&'s self, list: &'s [u32], score: impl Fn(u32) -> f64 + 's) -> Candidates<'s> {
        Box::new(list.iter().map(move |&i| (i, score(i))))
    }

    fn candidates<'s>(
        &'s self,
        kind: BlockKind,
        spec: &'s BlockSpec,
        own: bool,
        anchors: &[&str],
        history: &ContactHistory,
        now: Timestamp,
    ) -> Candidates<'s> {
        let pop = |i: u32| self.popularity[i as usize];
        match kind {
            BlockKind::Bestsellers => {
                let recent = own && spec.window == Window::Recent;
                let list = if recent {
                    &self.bestsellers_recent
                } else {
                    &self.bestsellers
                };
                let category = spec.category_id.as_ref().filter(|_| own);
                Box::new(
                    list.iter()
                        .filter(move |&&i| {
                            category
                                .is_none_or(|c| self.products[i as usize].category_path.contains(c))
                        })
                        .map(move |&i| {
                            let p = pop(i);
                            (i, if recent { p.recent_orders } else { p.orders } as f64)
                        }),
                )
            }
            BlockKind::TopRated => self.walk(&self.top_rated, move |i| {
                self.products[i as usize].rating.map_or(0.0, |r| r.get())
            }),
            BlockKind::NewArrivals => self.walk(&self.new_arrivals, move |i| {
                let at = self.products[i as usize].created_at.unwrap_or(now);
                1.0 / (1.0 + at.whole_days_until(now) as f64)
            }),
            BlockKind::Trending => self.walk(&self.trending, move |i| pop(i).trend()),
            BlockKind::RecentlyViewed => {
                let mut v: Vec<_> = history.viewed.iter().collect();
                v.sort_by(|a, b| b.last_at.cmp(&a.last_at).then(b.count.cmp(&a.count)));
                self.list(
                    v.into_iter()
                        .map(|v| (v.product_id.as_str(), v.count as f64)),
                )
            }
            BlockKind::FromCart => self.list(history.cart.iter().map(|p| (p.as_str(), 1.0))),
            BlockKind::FromWishlist => {
                self.list(history.wishlist.iter().map(|p| (p.as_str(), 1.0)))
            }
            BlockKind::BuyAgain => {
                let mut v: Vec<(&str, f64, Timestamp)> = history
                    .bought
                    .iter()
                    .map(|b| (b.product_id.as_str(), buy_again_score(b, now), b.last_at))
                    .collect();
                v.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
                self.list(v.into_iter().map(|(p, s, _)| (p, s)))
            }
            BlockKind::ForYou => self.for_you(history),
            BlockKind::Interests => self.interests(history),
            BlockKind::Searches => self.searches(history),
            BlockKind::AlsoBought => self.neighbours(Table::Bought, anchors),
            BlockKind::AlsoViewed => self.neighbours(Table::Viewed, anchors),
            BlockKind::BoughtTogether => self.neighbours(Table::Together, anchors),
            BlockKind::Similar => self.similar(anchors),
            BlockKind::Accessories => self.accessories(anchors),
            BlockKind::UpSell => self.up_sell(anchors),
        }
    }

    /// Catalog products of a ranked id list; ids the catalog lacks are skipped.
    fn list<'s, 'i>(&'s self, items: impl Iterator<Item = (&'i str, f64)>) -> Candidates<'s> {
        let v: Vec<(u32, f64)> = items
            .filter_map(|(id, s)| self.pos(id).map(|i| (i, s)))
            .collect();
        Box::new(v.into_iter())
    }

    /// Summed scores, best first, ties by catalog position.
    fn ranked<'s>(&'s self, scores: HashMap<u32, f64>) -> Candidates<'s> {
        self.ranked_list(scores.into_iter().collect())
    }

    /// Pushes the weighted neighbours of `id`; [`summed`] adds them up.
    fn add_neighbours(&self, table: Table, id: &str, weight: f64, scores: &mut Vec<(u32, f64)>) {
        let Some(model) = self.model else { return };
        let Some(m) = model.product_index(id) else {
            return;
        };
        for &(q, s) in model.neighbours_of(table, m) {
            if let Some(Some(i)) = self.from_model.get(q as usize) {
                scores.push((*i, weight * f64::from(s)));
            }
        }
    }

    fn neighbours<'s>(&'s self, table: Table, anchors: &[&str]) -> Candidates<'s> {
        let mut scores = Vec::new();
        for a in anchors {
            self.add_neighbours(table, a, 1.0, &mut scores);
        }
        self.ranked_list(summed(scores))
    }

    /// Scores of distinct positions, best first, ties by catalog position.
    fn ranked_list<'s>(&'s self, v: Vec<(u32, f64)>) -> Candidates<'s> {
        Box::new(BestFirst {
            v,
            sorted: 0,
            next: 0,
        })
    }

    fn for_you<'s>(&'s self, history: &ContactHistory) -> Candidates<'s> {
        let mut scores = Vec::new();
        for b in &history.bought {
            self.add_neighbours(
                Table::Bought,
                b.product_id.as_str(),
                b.orders as f64,
                &mut scores,
            );
        }
        for v in &history.viewed {
            let w = 0.5 * (v.count as f64).sqrt();
            self.add_neighbours(Table::Viewed, v.product_id.as_str(), w, &mut scores);
            self.add_neighbours(Table::Bought, v.product_id.as_str(), w, &mut scores);
        }
        for p in &history.cart {
            self.add_neighbours(Table::Bought, p.as_str(), 2.0, &mut scores);
            self.add_neighbours(Table::Together, p.as_str(), 2.0, &mut scores);
        }
        for p in &history.wishlist {
            self.add_neighbours(Table::Bought, p.as_str(), 1.0, &mut scores);
        }
        self.ranked_list(summed(scores))
    }

    fn interests<'s>(&'s self, history: &ContactHistory) -> Candidates<'s> {
        let mut categories: HashMap<&str, f64> = HashMap::default();
        let mut brands: HashMap<&str, f64> = HashMap::default();
        let items = history
            .bought
            .iter()
            .map(|b| (b.product_id.as_str(), 2.0 * b.orders as f64))
            .chain(
                history
                    .viewed
                    .iter()
                    .map(|v| (v.product_id.as_str(), v.count as f64)),
            )
            .chain(history.cart.iter().map(|p| (p.as_str(), 2.0)))
            .chain(history.wishlist.iter().map(|p| (p.as_str(), 2.0)));
        for (id, w) in items {
            let Some(i) = self.pos(id) else { continue };
            let p = self.products[i as usize];
            if let Some(c) = leaf(p) {
                *categories.entry(c).or_insert(0.0) += w;
            }
            if let Some(b) = &p.brand {
                *brands.entry(b.as_str()).or_insert(0.0) += w;
            }
        }
        let total: f64 = categories.values().sum::<f64>() + brands.values().sum::<f64>();
        let mut scores: HashMap<u32, f64> = HashMap::default();
        for (key, lists) in [(&categories, &self.by_leaf), (&brands, &self.by_brand)] {
            for (name, w) in key.iter() {
                for &i in lists
                    .get(name)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .take(100)
                {
                    let pop = (1.0 + self.popularity[i as usize].orders as f64).ln();
                    *scores.entry(i).or_insert(0.0) += w / total * (1.0 + pop);
                }
            }
        }
        self.ranked(scores)
    }

    fn searches<'s>(&'s self, history: &ContactHistory) -> Candidates<'s> {
        let mut scores: HashMap<u32, f64> = HashMap::default();
        for (q, query) in history.searches.iter().take(5).enumerate() {
            let words: Vec<String> = tokens(query.as_str()).collect();
            if words.is_empty() {
                continue;
            }
            let weight = 1.0 / (1.0 + q as f64) / words.len() as f64;
            for w in &words {
                for &i in self.by_token.get(w).map_or(&[][..], Vec::as_slice) {
                    *scores.entry(i).or_insert(0.0) += weight;
                }
            }
        }
        // Popularity breaks ties within equal matches.
        for (i, s) in scores.iter_mut() {
            *s += 1e-3 * (1.0 + self.popularity[*i as usize].orders as f64).ln() / 30.0;
        }
        self.ranked(scores)
    }

    fn similar<'s>(&'s self, anchors: &[&str]) -> Candidates<'s> {
        let mut scores: HashMap<u32, f64> = HashMap::default();
        for a in anchors {
            let Some(ai) = self.pos(a) else { continue };
            let anchor = self.products[ai as usize];
            for (k, id) in anchor.links.similar.iter().enumerate() {
                if let Some(i) = self.pos(id.as_str()) {
                    *scores.entry(i).or_insert(0.0) += 2.0 - 0.01 * k as f64;
                }
            }
            let Some(c) = leaf(anchor) else { continue };
            for &i in self.by_leaf.get(c).map_or(&[][..], Vec::as_slice) {
                if i != ai {
                    *scores.entry(i).or_insert(0.0) += likeness(anchor, self.products[i as usize]);
                }
            }
        }
        self.ranked(scores)
    }

    fn accessories<'s>(&'s self, anchors: &[&str]) -> Candidates<'s> {
        let mut scores: HashMap<u32, f64> = HashMap::default();
        for a in anchors {
            let anchor = self.pos(a).map(|i| self.products[i as usize]);
            if let Some(anchor) = anchor {
                for (k, id) in anchor.links.accessories.iter().enumerate() {
                    if let Some(i) = self.pos(id.as_str()) {
                        *scores.entry(i).or_insert(0.0) += 2.0 - 0.01 * k as f64;
                    }
                }
            }
            // Bought together, from another category than the anchor's.
            let mut together = Vec::new();
            self.add_neighbours(Table::Together, a, 1.0, &mut together);
            let own = anchor.and_then(leaf);
            for (i, s) in summed(together) {
                let other = leaf(self.products[i as usize]);
                if own.is_none() || other != own {
                    *scores.entry(i).or_insert(0.0) += s.min(1.0);
                }
            }
        }
        self.ranked(scores)
    }

    fn up_sell<'s>(&'s self, anchors: &[&str]) -> Candidates<'s> {
        let mut scores: HashMap<u32, f64> = HashMap::default();
        for a in anchors {
            let Some(ai) = self.pos(a) else { continue };
            let anchor = self.products[ai as usize];
            let Some(c) = leaf(anchor) else { continue };
            let (price, rating) = (anchor.price.get(), anchor.rating.map(|r| r.get()));
            for &i in self.by_leaf.get(c).map_or(&[][..], Vec::as_slice) {
                let p = self.products[i as usize];
                let better = p.price.get() > price
                    || (p.price.get() == price && p.rating.map(|r| r.get()) > rating && i != ai);
                if better {
                    let s = p.rating.map_or(0.0, |r| r.get())
                        + (1.0 + self.popularity[i as usize].orders as f64).ln();
                    let e = scores.entry(i).or_insert(0.0);
                    *e = e.max(s);
                }
            }
        }
        self.ranked(scores)
    }

    /// The catalog's model coverage: catalog products the model knows.
    pub fn known_to_model(&self) -> usize {
        self.to_model.iter().filter(|m| m.is_some()).count()
    }
}

/// How much a bought product is due again at `now`: the orders that held it,
/// plus up to 4 for recency (`4 exp(-days since the last order / 30)`), plus
/// up to 1 for being at its usual interval (`min(r, 1 / r)`, `r` the days
/// since the last order over the mean days between orders; products bought
/// once have no interval). The weights were chosen on the Instacart sample
/// (see `core/tests/instacart.rs`); plain frequency scores about 0.01 NDCG
/// lower there.
fn buy_again_score(b: &super::history::BoughtItem, now: Timestamp) -> f64 {
    let since = b.last_at.whole_days_until(now) as f64;
    let closeness = if b.orders >= 2 {
        let first = b.first_at.unwrap_or(b.last_at);
        let span = first.whole_days_until(b.last_at) as f64;
        let interval = (span / (b.orders - 1) as f64).max(1.0);
        let r = since.max(0.5) / interval;
        r.min(1.0 / r)
    } else {
        0.0
    };
    b.orders as f64 + 4.0 * (-since / 30.0).exp() + closeness
}

/// Scores added up per product, in the order they were pushed (a sort of
/// `(product, push index)` keys, which orders as a stable sort by product
/// but sorts plain integers, then one pass).
fn summed(scores: Vec<(u32, f64)>) -> Vec<(u32, f64)> {
    let mut keys: Vec<u64> = scores
        .iter()
        .enumerate()
        .map(|(k, &(i, _))| (u64::from(i) << 32) | k as u64)
        .collect();
    keys.sort_unstable();
    let mut out: Vec<(u32, f64)> = Vec::with_capacity(scores.len());
    for key in keys {
        let (i, s) = scores[(key & 0xffff_ffff) as usize];
        match out.last_mut() {
            Some(last) if last.0 == i => last.1 += s,
            _ => out.push((i, s)),
        }
    }
    out
}

/// Candidates of distinct positions, yielded best first (score, then
/// position) but sorted only as far as they are read: a block of 10 usually
/// reads a few dozen of a `for_you` list of thousands. The best 32 are
/// selected and sorted first, then each further batch twice as large; the
/// order is total, so the sequence is that of a full sort.
struct BestFirst {
    v: Vec<(u32, f64)>,
    sorted: usize,
    next: usize,
}

impl Iterator for BestFirst {
    type Item = (u32, f64);

    fn next(&mut self) -> Option<(u32, f64)> {
        let order = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if self.next == self.sorted {
            let rest = &mut self.v[self.sorted..];
            if rest.is_empty() {
                return None;
            }
            let batch = 32usize.max(self.sorted);
            if rest.len() > batch {
                rest.select_nth_unstable_by(batch - 1, order);
                rest[..batch].sort_unstable_by(order);
                self.sorted += batch;
            } else {
                rest.sort_unstable_by(order);
                self.sorted = self.v.len();
            }
        }
        let item = self.v[self.next];
        self.next += 1;
        Some(item)
    }
}

/// Candidates of one source, best first: catalog positions and scores.
type Candidates<'s> = Box<dyn Iterator<Item = (u32, f64)> + 's>;

/// How alike two products of one category are, 0 to 1: shared attribute
/// values (0.4), the same brand (0.2), price closeness (0.4, zero beyond
/// twice or half the price).
fn likeness(a: &Product, b: &Product) -> f64 {
    let attributes = if a.attributes.is_empty() {
        0.0
    } else {
        let same = a
            .attributes
            .iter()
            .filter(|&(k, v)| b.attributes.get(k) == Some(v))
            .count();
        same as f64 / a.attributes.len() as f64
    };
    let brand = f64::from(u8::from(a.brand.is_some() && a.brand == b.brand));
    let (pa, pb) = (a.price.get(), b.price.get());
    let price = if pa <= 0.0 || pb <= 0.0 {
        f64::from(u8::from(pa == pb))
    } else {
        let ratio = pa.min(pb) / pa.max(pb);
        ((ratio - 0.5) / 0.5).max(0.0)
    };
    0.4 * attributes + 0.2 * brand + 0.4 * price
}

#[cfg(test)]
mod tests {
    use super::super::{Basket, BlockSpec, Filters, ModelConfig};
    use super::*;
    use crate::parse;

    fn catalog() -> Catalog {
        parse::from_json(
            r#"{"categories": [{"id": "tea", "name": "Tea"}, {"id": "green", "name": "Green", "parent_id": "tea"},
                               {"id": "ware", "name": "Teaware"}],
                "products": [
          {"id": "sencha", "name": "Sencha green tea", "price": 8, "currency": "EUR", "category_path": ["tea", "green"], "brand": "Ito", "rating": 4.5, "created_at": "2024-05-30T00:00:00Z"},
          {"id": "matcha", "name": "Matcha green tea", "price": 20, "currency": "EUR", "category_path": ["tea", "green"], "brand": "Ito", "rating": 4.8},
          {"id": "gyokuro", "name": "Gyokuro", "price": 30, "currency": "EUR", "category_path": ["tea", "green"], "stock": 0},
          {"id": "bancha", "name": "Bancha", "price": 7, "currency": "EUR", "category_path": ["tea", "green"], "brand": "Ito"},
          {"id": "cup", "name": "Tea cup", "price": 9, "currency": "EUR", "category_path": ["ware"], "image_url": "https://x.test/cup.jpg"},
          {"id": "pot", "name": "Tea pot", "price": 35, "currency": "EUR", "category_path": ["ware"], "links": {"accessories": ["cup"]}}
        ]}"#,
        )
        .unwrap()
    }

    fn baskets() -> Vec<Basket> {
        parse::list_from_json(
            r#"[
          {"contact_id": "a", "at": "2024-05-01T00:00:00Z", "product_ids": ["sencha", "cup"]},
          {"contact_id": "a", "at": "2024-05-15T00:00:00Z", "product_ids": ["sencha"]},
          {"contact_id": "b", "at": "2024-05-20T00:00:00Z", "product_ids": ["sencha", "cup", "pot"]},
          {"contact_id": "c", "at": "2024-05-21T00:00:00Z", "product_ids": ["matcha", "removed"]},
          {"contact_id": "c", "at": "2024-05-22T00:00:00Z", "kind": "view", "product_ids": ["matcha", "bancha"]}
        ]"#,
        )
        .unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::parse("2024-06-01T00:00:00Z").unwrap()
    }

    fn ids(block: &Block) -> Vec<(&str, &str)> {
        block
            .slots
            .iter()
            .map(|s| (s.product_id.as_str(), s.source.as_str()))
            .collect()
    }

    fn run(message: &str, history: &str) -> Result<Vec<Block>> {
        let catalog = catalog();
        let model = ItemModel::build(&baskets(), now(), &ModelConfig::default()).unwrap();
        let r = Recommender::new(&catalog, Some(&model));
        let message: Message = parse::from_json(message)?;
        let history: ContactHistory = parse::from_json(history)?;
        r.blocks(&message, &history, now())
    }

    #[test]
    fn no_product_twice_and_sources_named() {
        let blocks = run(
            r#"{"triggers": ["sencha"], "blocks": [
                {"kind": "also_bought", "size": 2},
                {"kind": "bestsellers", "size": 3}]}"#,
            "{}",
        )
        .unwrap();
        assert_eq!(
            ids(&blocks[0]),
            [("cup", "also_bought"), ("pot", "also_bought")]
        );
        // sencha is the trigger; cup and pot are taken; gyokuro is out of stock.
        assert_eq!(
            ids(&blocks[1]),
            [("matcha", "bestsellers"), ("bancha", "bestsellers")]
        );
    }

    #[test]
    fn personal_blocks_and_purchased_filter() {
        let history = r#"{"bought": [{"product_id": "sencha", "orders": 3, "first_at": "2024-03-01T00:00:00Z", "last_at": "2024-05-01T00:00:00Z"},
                                     {"product_id": "cup", "last_at": "2024-05-01T00:00:00Z"},
                                     {"product_id": "removed", "last_at": "2024-05-01T00:00:00Z"}],
                          "viewed": [{"product_id": "matcha", "last_at": "2024-05-02T00:00:00Z"},
                                     {"product_id": "bancha", "count": 2, "last_at": "2024-05-03T00:00:00Z"}],
                          "cart": ["pot"], "searches": ["matcha tea"]}"#;
        let blocks = run(
            r#"{"blocks": [
                {"kind": "buy_again", "size": 2, "fallback": []},
                {"kind": "recently_viewed", "size": 2, "fallback": []},
                {"kind": "from_cart", "size": 2, "fallback": []},
                {"kind": "searches", "size": 1, "fallback": []}]}"#,
            history,
        )
        .unwrap();
        assert_eq!(
            ids(&blocks[0]),
            [("sencha", "buy_again"), ("cup", "buy_again")]
        );
        assert_eq!(
            ids(&blocks[1]),
            [("bancha", "recently_viewed"), ("matcha", "recently_viewed")]
        );
        assert_eq!(ids(&blocks[2]), [("pot", "from_cart")]);
        // "matcha tea" matches matcha (taken by an earlier block), sencha and
        // cup (bought), pot (taken): with no fallback the block stays empty.
        assert!(blocks[3].slots.is_empty());
        // Bought products stay out of other kinds by default.
        let blocks = run(
            r#"{"blocks": [{"kind": "bestsellers", "size": 10}]}"#,
            history,
        )
        .unwrap();
        assert!(
            ids(&blocks[0])
                .iter()
                .all(|(p, _)| *p != "sencha" && *p != "cup")
        );
    }

    #[test]
    fn relative_blocks() {
        let similar = run(
            r#"{"blocks": [{"kind": "similar", "size": 2, "product_ids": ["sencha"], "fallback": []}]}"#,
            "{}",
        )
        .unwrap();
        // bancha: same brand, close price; matcha: same brand, farther price.
        assert_eq!(
            ids(&similar[0]),
            [("bancha", "similar"), ("matcha", "similar")]
        );
        let more = run(
            r#"{"blocks": [{"kind": "up_sell", "size": 3, "product_ids": ["sencha"], "fallback": [],
                            "filters": {"in_stock": false}},
                           {"kind": "accessories", "size": 3, "product_ids": ["pot"], "fallback": []}]}"#,
            "{}",
        )
        .unwrap();
        assert_eq!(
            ids(&more[0]),
            [("matcha", "up_sell"), ("gyokuro", "up_sell")]
        );
        assert_eq!(ids(&more[1])[0], ("cup", "accessories"));
    }

    #[test]
    fn filters_and_per_category_cap() {
        let blocks = run(
            r#"{"blocks": [{"kind": "bestsellers", "size": 6,
                "filters": {"max_per_category": 1, "max_price": 25}}]}"#,
            "{}",
        )
        .unwrap();
        assert_eq!(
            ids(&blocks[0]),
            [("sencha", "bestsellers"), ("cup", "bestsellers")]
        );
        let blocks = run(
            r#"{"blocks": [{"kind": "bestsellers", "size": 6, "filters": {"require_image": true}},
                           {"kind": "new_arrivals", "size": 6, "fallback": []},
                           {"kind": "top_rated", "size": 1, "category_id": "green"}]}"#,
            "{}",
        )
        .unwrap();
        assert_eq!(ids(&blocks[0]), [("cup", "bestsellers")]);
        assert_eq!(ids(&blocks[1]), [("sencha", "new_arrivals")]);
        assert_eq!(ids(&blocks[2]), [("matcha", "top_rated")]);
    }

    #[test]
    fn bad_requests_name_the_field() {
        for (message, path) in [
            (
                r#"{"blocks": [{"kind": "bestsellers", "size": 0}]}"#,
                "blocks[0].size",
            ),
            (
                r#"{"blocks": [{"kind": "bestsellers", "size": 1}, {"kind": "similar", "size": 1, "filters": {"min_price": -1}}]}"#,
                "blocks[1].filters.min_price",
            ),
            (
                r#"{"blocks": [{"kind": "bestsellers", "size": 1, "filters": {"min_price": 9, "max_price": 2}}]}"#,
                "blocks[0].filters.max_price",
            ),
            (
                r#"{"blocks": [{"kind": "bestsellers", "size": 1, "category_id": "nope"}]}"#,
                "blocks[0].category_id",
            ),
        ] {
            let e = run(message, "{}").unwrap_err();
            assert_eq!((e.code(), e.path()), ("validation", Some(path)), "{e}");
        }
    }

    #[test]
    fn empty_catalog_and_no_model() {
        let catalog = Catalog::default();
        let r = Recommender::new(&catalog, None);
        let mut spec = BlockSpec::new(BlockKind::ForYou, 3);
        spec.filters = Filters::default();
        let message = Message {
            triggers: vec!["x".parse().unwrap()],
            blocks: vec![spec],
        };
        let blocks = r
            .blocks(&message, &ContactHistory::default(), now())
            .unwrap();
        assert!(blocks[0].slots.is_empty());
        // A catalog without a model: bestsellers fall back to catalog order.
        let catalog = super::tests::catalog();
        let r = Recommender::new(&catalog, None);
        let blocks = r
            .blocks(&message, &ContactHistory::default(), now())
            .unwrap();
        assert_eq!(blocks[0].slots.len(), 3);
        assert!(
            blocks[0]
                .slots
                .iter()
                .all(|s| s.source == BlockKind::Bestsellers)
        );
    }
}
