//! The item-to-item model: for every product, the products that the same
//! contacts bought ("also bought"), bought in the same order ("bought
//! together") and viewed ("also viewed"), each list cut to the top `K`
//! neighbours, plus per-product popularity.
//!
//! The method is Amazon's item-to-item collaborative filtering (Linden, Smith
//! and York 2003): two products are similar when the same contacts (or orders)
//! hold both. Two weightings, as the `implicit` library computes them:
//!
//! - [`Weighting::Cosine`]: each product is a vector of counts over contacts
//!   (or orders); similarity is the cosine of two vectors.
//! - [`Weighting::Bm25`]: counts are weighted as in Okapi BM25 (`k1`, `b`;
//!   `implicit`'s `bm25_weight` over the product-by-contact matrix) and
//!   similarity is the dot product of the weighted vectors.
//!
//! Building is parallel over products (rayon); each product's row is scored in
//! a dense scratch array and cut to its top `K`, so the model's size is at
//! most `3 * K` neighbours per product whatever the history.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Id, Timestamp};
use crate::purchase::FxHasher;

/// A hash map with the Fx hash: product and contact ids are short strings of
/// the shop's own, so flooding resistance buys nothing and SipHash costs.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The version of the stored model; a model of another version is refused.
pub const MODEL_VERSION: u32 = 1;

/// What a basket records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasketKind {
    /// The products of one order.
    #[default]
    Order,
    /// Products viewed (one view, or one session's views).
    View,
}

/// One order (or one set of views) of one contact: what the model learns from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basket {
    /// The contact.
    pub contact_id: Id,
    /// When it happened.
    pub at: Timestamp,
    /// An order (the default) or views.
    #[serde(default)]
    pub kind: BasketKind,
    /// The products; a product listed twice counts once.
    pub product_ids: Vec<Id>,
}

/// How co-occurrence counts become similarities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Weighting {
    /// Cosine of count vectors.
    #[default]
    Cosine,
    /// BM25-weighted dot product.
    Bm25 {
        /// Term-frequency saturation (1.2 in `implicit`).
        #[serde(default = "default_k1")]
        k1: f64,
        /// Length normalisation, 0 to 1 (0.75 in `implicit`).
        #[serde(default = "default_b")]
        b: f64,
    },
}

fn default_k1() -> f64 {
    1.2
}
fn default_b() -> f64 {
    0.75
}

/// How to build the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Neighbours kept per product and table (`K`); at least 1.
    #[serde(default = "default_neighbours")]
    pub neighbours: usize,
    /// The weighting.
    #[serde(default)]
    pub weighting: Weighting,
    /// Days before `now` that count as "recent" for bestsellers in a window
    /// and trending (trending compares them with the same span before).
    #[serde(default = "default_recent_days")]
    pub recent_days: u32,
    /// Keep the contact-by-product counts in the model so that
    /// [`ItemModel::update`] can add new baskets. Off, the model holds only
    /// neighbour lists and popularity (bounded by the catalog) and cannot be
    /// updated, only rebuilt.
    #[serde(default = "default_true")]
    pub incremental: bool,
}

fn default_neighbours() -> usize {
    20
}
fn default_recent_days() -> u32 {
    30
}
fn default_true() -> bool {
    true
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            neighbours: default_neighbours(),
            weighting: Weighting::default(),
            recent_days: default_recent_days(),
            incremental: true,
        }
    }
}

impl ModelConfig {
    /// Checks the values; errors name the field.
    pub fn check(&self) -> Result<()> {
        if self.neighbours == 0 {
            return Err(Error::invalid(
                "neighbours",
                "expected at least 1 neighbour per product, got 0",
            ));
        }
        if self.recent_days == 0 {
            return Err(Error::invalid(
                "recent_days",
                "expected at least 1 day, got 0",
            ));
        }
        if let Weighting::Bm25 { k1, b } = self.weighting {
            if !(k1.is_finite() && k1 >= 0.0) {
                return Err(Error::invalid(
                    "weighting.k1",
                    format!("expected a finite number >= 0, got {k1}"),
                ));
            }
            if !(0.0..=1.0).contains(&b) {
                return Err(Error::invalid(
                    "weighting.b",
                    format!("expected a number from 0 to 1, got {b}"),
                ));
            }
        }
        Ok(())
    }
}

/// The three neighbour tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Bought by the same contacts.
    Bought,
    /// Bought in the same order.
    Together,
    /// Viewed by the same contacts.
    Viewed,
}

impl Table {
    const ALL: [Table; 3] = [Table::Bought, Table::Together, Table::Viewed];

    fn slot(self) -> usize {
        match self {
            Table::Bought => 0,
            Table::Together => 1,
            Table::Viewed => 2,
        }
    }
}

/// How popular one product is, counted from the baskets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Popularity {
    /// Orders holding the product.
    pub orders: u64,
    /// Orders in the last `recent_days` before the build's `now`.
    pub recent_orders: u64,
    /// Orders in the `recent_days` before those.
    pub previous_orders: u64,
    /// View baskets holding the product.
    pub views: u64,
}

impl Popularity {
    /// Growth of recent orders over the span before, smoothed so that one
    /// sale of a new product does not top the list: `(recent + 1) / (previous + 1)`
    /// times `ln(1 + recent)`.
    pub fn trend(&self) -> f64 {
        let (r, p) = (self.recent_orders as f64, self.previous_orders as f64);
        (r + 1.0) / (p + 1.0) * (1.0 + r).ln()
    }
}

/// One neighbour: a product index into [`ItemModel::products`] and a score.
pub type Neighbour = (u32, f32);

/// Sparse counts a table is built from: for each unit (a contact, or an
/// order), the products it holds with their counts, ascending by product.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interactions {
    /// Contact ids, by contact index.
    pub contacts: Vec<Id>,
    /// Per table (bought, together, viewed): rows of `(product, count)`.
    pub rows: [Vec<Vec<(u32, f32)>>; 3],
}

/// The item-to-item model. Save it with serde (`serde_json::to_string`) and
/// load it with [`crate::parse`]; build it with [`ItemModel::build`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemModel {
    /// The stored form's version ([`MODEL_VERSION`]).
    pub version: u32,
    /// How it was built.
    pub config: ModelConfig,
    /// The `now` of the build: the end of the recent window.
    pub built_at: Timestamp,
    /// Every product seen in the baskets, by index.
    pub products: Vec<Id>,
    /// Popularity per product index.
    pub popularity: Vec<Popularity>,
    /// Neighbour lists per table (bought, together, viewed), per product
    /// index, best first; never the product itself. Scores are `f32`, written
    /// as the `f64` of the same value, so that every JSON writer (Rust,
    /// Python, Node) gives the same text.
    #[serde(serialize_with = "wide_scores")]
    pub neighbours: [Vec<Vec<Neighbour>>; 3],
    /// The counts, kept when `config.incremental` is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactions: Option<Interactions>,
    #[serde(skip)]
    index: FxMap<Id, u32>,
}

impl ItemModel {
    /// Builds the model from baskets, with `now` ending the recent window.
    ///
    /// Products are indexed in the order they first appear; the model knows
    /// only products seen in some basket. Baskets may be in any order; the
    /// neighbour lists do not depend on it (ties break by product index).
    pub fn build(baskets: &[Basket], now: Timestamp, config: &ModelConfig) -> Result<ItemModel> {
        config.check().map_err(|e| e.within("config"))?;
        let mut model = ItemModel {
            version: MODEL_VERSION,
            config: config.clone(),
            built_at: now,
            products: Vec::new(),
            popularity: Vec::new(),
            neighbours: Default::default(),
            interactions: None,
            index: FxMap::default(),
        };
        let (contacts, units) = model.ingest(baskets);
        let all: Vec<u32> = (0..model.products.len() as u32).collect();
        model.recompute(&units, &all);
        if config.incremental {
            model.interactions = Some(Interactions {
                contacts,
                rows: units.map(|u| u.to_rows()),
            });
        }
        Ok(model)
    }

    /// Adds new baskets and recomputes the neighbour lists they change: those
    /// of the products in the new baskets and of every product that shares a
    /// contact (or order) with one. With [`Weighting::Cosine`] the result
    /// equals a build over all baskets with the same `now`. With
    /// [`Weighting::Bm25`] the lists not recomputed keep the weights of the
    /// earlier corpus statistics (average length, idf): rebuild now and then.
    /// The recent windows stay those of `built_at`.
    ///
    /// A model built with `incremental: false` cannot be updated: a
    /// `validation` error at `interactions`.
    pub fn update(&mut self, baskets: &[Basket]) -> Result<()> {
        let Some(mut counts) = self.interactions.take() else {
            return Err(Error::invalid(
                "interactions",
                "the model was built with `incremental: false`; rebuild it instead",
            ));
        };
        let mut contact_index: FxMap<Id, u32> = counts
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u32))
            .collect();
        let touched = self.add(baskets, &mut counts, &mut contact_index);
        // Every product sharing a unit with a touched product.
        let n = self.products.len();
        let mut affected = vec![false; n];
        for &p in &touched {
            affected[p as usize] = true;
        }
        for rows in &counts.rows {
            for row in rows {
                if row.iter().any(|&(p, _)| touched_has(&touched, p)) {
                    for &(p, _) in row {
                        affected[p as usize] = true;
                    }
                }
            }
        }
        let affected: Vec<u32> = (0..n as u32).filter(|&p| affected[p as usize]).collect();
        let units = counts.rows.each_ref().map(|rows| Csr::from_rows(rows));
        self.recompute(&units, &affected);
        self.interactions = Some(counts);
        Ok(())
    }

    /// The index of a product, if the model knows it.
    pub fn product_index(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The neighbours of a product in a table, best first.
    pub fn neighbours_of(&self, table: Table, product: u32) -> &[Neighbour] {
        self.neighbours[table.slot()]
            .get(product as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The neighbours of a product by id, with ids; empty for an unknown product.
    pub fn similar(&self, table: Table, id: &str) -> Vec<(&Id, f32)> {
        self.product_index(id)
            .map(|p| {
                self.neighbours_of(table, p)
                    .iter()
                    .map(|&(q, s)| (&self.products[q as usize], s))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn normalize(&mut self) -> Result<()> {
        if self.version != MODEL_VERSION {
            return Err(Error::invalid(
                "version",
                format!(
                    "expected model version {MODEL_VERSION}, got {}",
                    self.version
                ),
            ));
        }
        self.config.check().map_err(|e| e.within("config"))?;
        let n = self.products.len();
        if self.popularity.len() != n {
            return Err(Error::invalid(
                "popularity",
                format!(
                    "expected {n} entries, one per product, got {}",
                    self.popularity.len()
                ),
            ));
        }
        for (t, table) in self.neighbours.iter().enumerate() {
            if table.len() != n {
                return Err(Error::invalid(
                    format!("neighbours[{t}]"),
                    format!("expected {n} lists, one per product, got {}", table.len()),
                ));
            }
            for (i, list) in table.iter().enumerate() {
                if let Some(j) = list.iter().position(|&(p, _)| p as usize >= n) {
                    return Err(Error::invalid(
                        format!("neighbours[{t}][{i}][{j}]"),
                        format!("product index out of range (there are {n} products)"),
                    ));
                }
            }
        }
        if let Some(counts) = &self.interactions {
            for (t, rows) in counts.rows.iter().enumerate() {
                for (u, row) in rows.iter().enumerate() {
                    if let Some(j) = row.iter().position(|&(p, _)| p as usize >= n) {
                        return Err(Error::invalid(
                            format!("interactions.rows[{t}][{u}][{j}]"),
                            format!("product index out of range (there are {n} products)"),
                        ));
                    }
                }
            }
        }
        self.index = FxMap::with_capacity_and_hasher(n, Default::default());
        for (i, id) in self.products.iter().enumerate() {
            if self.index.insert(id.clone(), i as u32).is_some() {
                return Err(Error::invalid(
                    format!("products[{i}]"),
                    format!("product id `{id}` appears twice"),
                ));
            }
        }
        Ok(())
    }

    /// Interns products and contacts, adds the counts and the popularity;
    /// returns the products the baskets hold, ascending.
    fn add(
        &mut self,
        baskets: &[Basket],
        counts: &mut Interactions,
        contacts: &mut FxMap<Id, u32>,
    ) -> Vec<u32> {
        let mut touched = vec![false; self.products.len()];
        let mut items: Vec<u32> = Vec::new();
        for basket in baskets {
            self.intern(basket, &mut items);
            touched.resize(self.products.len(), false);
            if items.is_empty() {
                continue;
            }
            let c = *contacts
                .entry(basket.contact_id.clone())
                .or_insert_with(|| {
                    counts.contacts.push(basket.contact_id.clone());
                    (counts.contacts.len() - 1) as u32
                }) as usize;
            for t in [0, 2] {
                if counts.rows[t].len() <= c {
                    counts.rows[t].resize_with(c + 1, Vec::new);
                }
            }
            let table = match basket.kind {
                BasketKind::Order => 0,
                BasketKind::View => 2,
            };
            let window = self.window(basket);
            for &p in &items {
                touched[p as usize] = true;
                self.popularity[p as usize].count(basket.kind, window);
                add_count(&mut counts.rows[table][c], p);
            }
            if basket.kind == BasketKind::Order {
                counts.rows[1].push(items.iter().map(|&p| (p, 1.0)).collect());
            }
        }
        (0..touched.len() as u32)
            .filter(|&p| touched[p as usize])
            .collect()
    }

    /// The recent-window flag of a basket: 1 in the last `recent_days`
    /// before `built_at`, 2 in the span before that, 0 otherwise.
    fn window(&self, basket: &Basket) -> u8 {
        let recent = chrono::Duration::days(i64::from(self.config.recent_days));
        let recent_from = self.built_at.get() - recent;
        let previous_from = recent_from - recent;
        let at = basket.at.get();
        if at >= recent_from && at <= self.built_at.get() {
            1
        } else if at >= previous_from && at < recent_from {
            2
        } else {
            0
        }
    }

    /// The product indices of a basket, interned (new products get the next
    /// index), ascending, each once.
    fn intern(&mut self, basket: &Basket, items: &mut Vec<u32>) {
        items.clear();
        for id in &basket.product_ids {
            let p = match self.index.get(id.as_str()) {
                Some(&p) => p,
                None => {
                    let p = self.products.len() as u32;
                    self.index.insert(id.clone(), p);
                    self.products.push(id.clone());
                    self.popularity.push(Popularity::default());
                    for table in &mut self.neighbours {
                        table.push(Vec::new());
                    }
                    p
                }
            };
            items.push(p);
        }
        items.sort_unstable();
        items.dedup();
    }

    /// A fresh build's reading of the baskets: interns products and
    /// contacts (in order of first appearance, as [`ItemModel::add`] does),
    /// counts popularity, and lays the counts out as contiguous rows per
    /// table: bought and viewed by contact, together by order. Returns the
    /// contact ids and the three tables.
    fn ingest(&mut self, baskets: &[Basket]) -> (Vec<Id>, [Csr; 3]) {
        // Keys are ids, not borrowed text: short ids live inline, so a
        // lookup compares in the table without chasing a pointer.
        let mut contact_index: FxMap<Id, u32> = FxMap::default();
        let mut contacts: Vec<Id> = Vec::new();
        // (contact, product) per order line and per view, in basket order.
        let mut lines: [Vec<(u32, u32)>; 2] = [Vec::new(), Vec::new()];
        let mut together = Csr {
            offsets: vec![0],
            items: Vec::new(),
        };
        let mut items: Vec<u32> = Vec::new();
        for basket in baskets {
            self.intern(basket, &mut items);
            if items.is_empty() {
                continue;
            }
            let c = *contact_index
                .entry(basket.contact_id.clone())
                .or_insert_with(|| {
                    contacts.push(basket.contact_id.clone());
                    (contacts.len() - 1) as u32
                });
            let window = self.window(basket);
            for &p in &items {
                self.popularity[p as usize].count(basket.kind, window);
            }
            let kind = usize::from(basket.kind == BasketKind::View);
            lines[kind].extend(items.iter().map(|&p| (c, p)));
            if basket.kind == BasketKind::Order {
                together.items.extend(items.iter().map(|&p| (p, 1.0)));
                together.offsets.push(together.items.len());
            }
        }
        let [orders, views] = lines;
        let units = [
            Csr::counted(orders, contacts.len()),
            together,
            Csr::counted(views, contacts.len()),
        ];
        (contacts, units)
    }

    /// Recomputes the neighbour lists of `products` in every table, from
    /// the tables' unit-major rows of counts (bought, together, viewed).
    fn recompute(&mut self, units: &[Csr; 3], products: &[u32]) {
        let n = self.products.len();
        let k = self.config.neighbours;
        for table in Table::ALL {
            let counted = &units[table.slot()];
            let bm25_rows;
            let weighted = match self.config.weighting {
                Weighting::Cosine => counted,
                Weighting::Bm25 { k1, b } => {
                    bm25_rows = bm25(counted, n, k1, b);
                    &bm25_rows
                }
            };
            let columns = weighted.columns(n);
            let norms: Vec<f32> = match self.config.weighting {
                Weighting::Cosine => (0..n)
                    .map(|i| {
                        columns
                            .of(i)
                            .iter()
                            .map(|&(_, _, w)| w * w)
                            .sum::<f32>()
                            .sqrt()
                    })
                    .collect(),
                Weighting::Bm25 { .. } => vec![1.0; n],
            };
            // Chunks share one scratch row each: a dense accumulator over all
            // products, reset through the list of the products it touched.
            // Each product's units carry their rows' bounds, so reading a row
            // costs one cache miss, not two (the offsets, then the row).
            let lists: Vec<Vec<(u32, Vec<Neighbour>)>> = products
                .par_chunks(256)
                .map(|chunk| {
                    let mut acc = vec![0.0f32; n];
                    let mut mark = vec![false; n];
                    let mut hit: Vec<u32> = Vec::new();
                    chunk
                        .iter()
                        .map(|&i| {
                            for &(start, end, wi) in columns.of(i as usize) {
                                for &(j, wj) in &weighted.items[start as usize..end as usize] {
                                    let ju = j as usize;
                                    if !mark[ju] {
                                        mark[ju] = true;
                                        hit.push(j);
                                    }
                                    acc[ju] += wi * wj;
                                }
                            }
                            let ni = norms[i as usize];
                            let mut top: Vec<Neighbour> = Vec::with_capacity(k.min(hit.len()));
                            for &j in &hit {
                                let ju = j as usize;
                                let s = acc[ju] / (ni * norms[ju]);
                                acc[ju] = 0.0;
                                mark[ju] = false;
                                if j != i && s > 0.0 && s.is_finite() {
                                    push_bounded(&mut top, k, (j, s));
                                }
                            }
                            hit.clear();
                            (i, top)
                        })
                        .collect()
                })
                .collect();
            for (i, list) in lists.into_iter().flatten() {
                self.neighbours[table.slot()][i as usize] = list;
            }
        }
    }
}

impl Popularity {
    /// Counts one basket holding the product; `window` as
    /// [`ItemModel::window`] gives it.
    fn count(&mut self, kind: BasketKind, window: u8) {
        match kind {
            BasketKind::Order => {
                self.orders += 1;
                match window {
                    1 => self.recent_orders += 1,
                    2 => self.previous_orders += 1,
                    _ => {}
                }
            }
            BasketKind::View => self.views += 1,
        }
    }
}

/// Rows of `(index, weight)` in one allocation: row `r` is
/// `items[offsets[r]..offsets[r + 1]]`.
struct Csr {
    offsets: Vec<usize>,
    items: Vec<(u32, f32)>,
}

/// Product-major columns of unit-major rows: for each product, its units in
/// unit order as `(start, end, weight)`, the bounds of the unit's row in the
/// rows' `items` and the product's weight in it.
struct Columns {
    offsets: Vec<usize>,
    items: Vec<(u32, u32, f32)>,
}

impl Columns {
    fn of(&self, p: usize) -> &[(u32, u32, f32)] {
        &self.items[self.offsets[p]..self.offsets[p + 1]]
    }
}

impl Csr {
    /// Rows of counts from `(unit, product)` pairs: one row per unit below
    /// `units`, ascending by product, each product with the number of pairs
    /// that hold it (a counting sort by unit, then a sort within each row).
    fn counted(pairs: Vec<(u32, u32)>, units: usize) -> Csr {
        let mut starts = vec![0usize; units + 1];
        for &(u, _) in &pairs {
            starts[u as usize + 1] += 1;
        }
        for u in 0..units {
            starts[u + 1] += starts[u];
        }
        let mut next = starts.clone();
        let mut products = vec![0u32; pairs.len()];
        for (u, p) in pairs {
            products[next[u as usize]] = p;
            next[u as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(units + 1);
        offsets.push(0);
        let mut items: Vec<(u32, f32)> = Vec::with_capacity(products.len());
        for u in 0..units {
            let row = &mut products[starts[u]..starts[u + 1]];
            row.sort_unstable();
            let start = items.len();
            for &p in row.iter() {
                match items[start..].last_mut() {
                    Some(last) if last.0 == p => last.1 += 1.0,
                    _ => items.push((p, 1.0)),
                }
            }
            offsets.push(items.len());
        }
        Csr { offsets, items }
    }

    /// The rows as one vector each (the stored form of [`Interactions`]).
    fn to_rows(&self) -> Vec<Vec<(u32, f32)>> {
        (0..self.offsets.len() - 1)
            .map(|r| self.row(r).to_vec())
            .collect()
    }

    fn from_rows(rows: &[Vec<(u32, f32)>]) -> Csr {
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        offsets.push(0);
        let mut items = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        for row in rows {
            items.extend_from_slice(row);
            offsets.push(items.len());
        }
        Csr { offsets, items }
    }

    fn row(&self, r: usize) -> &[(u32, f32)] {
        &self.items[self.offsets[r]..self.offsets[r + 1]]
    }

    /// Product-major columns of these unit-major rows, for `n` products.
    fn columns(&self, n: usize) -> Columns {
        let mut offsets = vec![0usize; n + 1];
        for &(p, _) in &self.items {
            offsets[p as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut items = vec![(0u32, 0u32, 0.0f32); self.items.len()];
        for r in 0..self.offsets.len() - 1 {
            let (start, end) = (self.offsets[r] as u32, self.offsets[r + 1] as u32);
            for &(p, w) in self.row(r) {
                items[next[p as usize]] = (start, end, w);
                next[p as usize] += 1;
            }
        }
        Columns { offsets, items }
    }
}

fn wide_scores<S: serde::Serializer>(
    tables: &[Vec<Vec<Neighbour>>; 3],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let wide: Vec<Vec<Vec<(u32, f64)>>> = tables
        .iter()
        .map(|t| {
            t.iter()
                .map(|l| l.iter().map(|&(p, x)| (p, f64::from(x))).collect())
                .collect()
        })
        .collect();
    wide.serialize(s)
}

fn touched_has(touched: &[u32], p: u32) -> bool {
    touched.binary_search(&p).is_ok()
}

/// Adds one to product `p` in a row kept ascending by product.
fn add_count(row: &mut Vec<(u32, f32)>, p: u32) {
    match row.binary_search_by_key(&p, |&(q, _)| q) {
        Ok(i) => row[i].1 += 1.0,
        Err(i) => row.insert(i, (p, 1.0)),
    }
}

/// BM25 weights of the rows.
fn bm25(rows: &Csr, n: usize, k1: f64, b: f64) -> Csr {
    // implicit's bm25_weight over the product-by-unit matrix: N is the
    // number of products, idf is per unit, length per product.
    let mut length = vec![0.0f64; n];
    for &(p, c) in &rows.items {
        length[p as usize] += f64::from(c);
    }
    let average = length.iter().sum::<f64>() / n.max(1) as f64;
    let big_n = (n as f64).ln();
    let mut items = Vec::with_capacity(rows.items.len());
    for r in 0..rows.offsets.len() - 1 {
        let row = rows.row(r);
        let idf = big_n - (row.len() as f64).ln_1p();
        items.extend(row.iter().map(|&(p, c)| {
            let c = f64::from(c);
            let norm = (1.0 - b) + b * length[p as usize] / average;
            (p, (c * (k1 + 1.0) / (k1 * norm + c) * idf) as f32)
        }));
    }
    Csr {
        offsets: rows.offsets.clone(),
        items,
    }
}

/// Whether neighbour `a` ranks before `b`: higher score, then lower index.
fn better(a: Neighbour, b: Neighbour) -> bool {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)).is_lt()
}

/// Adds a candidate to `top`, kept best first and at most `k` long: the
/// best `k` by score then by index, whatever the order of the candidates.
fn push_bounded(top: &mut Vec<Neighbour>, k: usize, candidate: Neighbour) {
    if top.len() == k {
        if !better(candidate, top[k - 1]) {
            return;
        }
        top.pop();
    }
    let at = top.partition_point(|&t| better(t, candidate));
    top.insert(at, candidate);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basket(contact: &str, at: &str, products: &[&str]) -> Basket {
        Basket {
            contact_id: Id::new(contact).unwrap(),
            at: Timestamp::parse(at).unwrap(),
            kind: BasketKind::Order,
            product_ids: products.iter().map(|p| Id::new(p).unwrap()).collect(),
        }
    }

    fn sample() -> Vec<Basket> {
        vec![
            basket("a", "2024-05-01T00:00:00Z", &["x", "y"]),
            basket("a", "2024-05-20T00:00:00Z", &["z"]),
            basket("b", "2024-04-01T00:00:00Z", &["x", "y", "y"]),
            basket("c", "2024-05-25T00:00:00Z", &["x", "w"]),
        ]
    }

    fn now() -> Timestamp {
        Timestamp::parse("2024-06-01T00:00:00Z").unwrap()
    }

    #[test]
    fn cosine_over_contacts_and_orders() {
        let m = ItemModel::build(&sample(), now(), &ModelConfig::default()).unwrap();
        // Contacts: a {x, y, z}, b {x, y}, c {x, w}. x = (1,1,1), y = (1,1,0).
        let xy = m.similar(Table::Bought, "x");
        assert_eq!(xy[0].0.as_str(), "y");
        assert!((xy[0].1 - 2.0 / (3f32.sqrt() * 2f32.sqrt())).abs() < 1e-6);
        // Same order: z was bought alone, so it has no "together" neighbour.
        assert!(m.similar(Table::Together, "z").is_empty());
        assert_eq!(m.similar(Table::Together, "w")[0].0.as_str(), "x");
        // Popularity: x in 3 orders: 05-25 in the last 30 days, 05-01 in the
        // 30 before, 04-01 in neither.
        let x = m.product_index("x").unwrap() as usize;
        assert_eq!(
            (
                m.popularity[x].orders,
                m.popularity[x].recent_orders,
                m.popularity[x].previous_orders
            ),
            (3, 1, 1)
        );
    }

    #[test]
    fn neighbour_lists_are_cut_to_k() {
        let config = ModelConfig {
            neighbours: 1,
            ..ModelConfig::default()
        };
        let m = ItemModel::build(&sample(), now(), &config).unwrap();
        assert!(m.neighbours.iter().flatten().all(|l| l.len() <= 1));
        assert_eq!(
            ItemModel::build(
                &sample(),
                now(),
                &ModelConfig {
                    neighbours: 0,
                    ..config
                }
            )
            .unwrap_err()
            .path(),
            Some("config.neighbours")
        );
    }

    #[test]
    fn bm25_follows_implicit() {
        let config = ModelConfig {
            weighting: Weighting::Bm25 { k1: 1.2, b: 0.75 },
            ..ModelConfig::default()
        };
        let m = ItemModel::build(&sample(), now(), &config).unwrap();
        // By hand, implicit's bm25_weight on the 4 x 3 product-by-contact
        // matrix: N = 4 products; idf(a) = ln 4 - ln(1 + 3) = 0, idf(b) =
        // idf(c) = ln 4 - ln 3 = 0.28768. Lengths x 3, y 2, z 1, w 1 (mean
        // 1.75): w(b, x) = w(c, x) = 2.2 / (1.2 * (0.25 + 0.75 * 3 / 1.75) + 1)
        // * idf = 0.22264, w(b, y) = 0.27181, w(c, w) = 0.34886. So
        // sim(x, w) = 0.07767 beats sim(x, y) = 0.06052, and z (only in a,
        // idf 0) is no neighbour.
        let x = m.similar(Table::Bought, "x");
        let got: Vec<(&str, f32)> = x.iter().map(|(p, s)| (p.as_str(), *s)).collect();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[1].0), ("w", "y"));
        assert!(
            (got[0].1 - 0.07767).abs() < 1e-4 && (got[1].1 - 0.06052).abs() < 1e-4,
            "{got:?}"
        );
    }

    #[test]
    fn update_equals_build_for_cosine() {
        let all = sample();
        let (old, new) = all.split_at(2);
        let mut m = ItemModel::build(old, now(), &ModelConfig::default()).unwrap();
        m.update(new).unwrap();
        let fresh = ItemModel::build(&all, now(), &ModelConfig::default()).unwrap();
        assert_eq!(m, fresh);
        let mut fixed = ItemModel::build(
            old,
            now(),
            &ModelConfig {
                incremental: false,
                ..ModelConfig::default()
            },
        )
        .unwrap();
        assert_eq!(fixed.update(new).unwrap_err().path(), Some("interactions"));
    }

    #[test]
    fn saves_and_loads() {
        let m = ItemModel::build(&sample(), now(), &ModelConfig::default()).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        let back: ItemModel = crate::parse::from_json(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.product_index("w"), m.product_index("w"));
        let bad = text.replacen("\"version\":1", "\"version\":9", 1);
        assert_eq!(
            crate::parse::from_json::<ItemModel>(&bad)
                .unwrap_err()
                .path(),
            Some("version")
        );
    }

    #[test]
    fn empty_history_builds_an_empty_model() {
        let m = ItemModel::build(&[], now(), &ModelConfig::default()).unwrap();
        assert!(m.products.is_empty());
        assert!(m.similar(Table::Bought, "x").is_empty());
    }
}
