//! The product catalog: products, a category tree and the links between
//! products (accessories, similar items, replacements).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::attribute::Attributes;
use super::contact::dedup_tags;
use super::scalar::{Currency, Id, Money, Name, Rating, Text, Timestamp, Url};
use crate::error::{Error, Result};

/// A product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The shop's id (SKU or product id).
    pub id: Id,
    /// Display name.
    pub name: Text,
    /// Product page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Main image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<Url>,
    /// Category ids from the root to the product's own category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_path: Vec<Id>,
    /// Brand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<Text>,
    /// Current price.
    pub price: Money,
    /// The price before a discount, shown struck through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_price: Option<Money>,
    /// Currency of both prices.
    pub currency: Currency,
    /// Units in stock, when the shop tracks stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<u64>,
    /// Whether the product can be bought now.
    #[serde(default = "yes")]
    pub available: bool,
    /// When the product was added to the shop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// Average rating, 0 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// Tags, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Name>,
    /// Typed custom attributes (size, color, material).
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
    /// Links to other products.
    #[serde(default, skip_serializing_if = "ProductLinks::is_empty")]
    pub links: ProductLinks,
}

fn yes() -> bool {
    true
}

/// Links from one product to others, set by the shop.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductLinks {
    /// Products that go with this one (a case for a phone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accessories: Vec<Id>,
    /// Alternatives to this product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similar: Vec<Id>,
    /// What to buy when this one is used up or discontinued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacement: Vec<Id>,
}

impl ProductLinks {
    /// Whether there are no links.
    pub fn is_empty(&self) -> bool {
        self.accessories.is_empty() && self.similar.is_empty() && self.replacement.is_empty()
    }

    fn all(&self) -> [(&'static str, &Vec<Id>); 3] {
        [
            ("accessories", &self.accessories),
            ("similar", &self.similar),
            ("replacement", &self.replacement),
        ]
    }
}

impl Product {
    pub(crate) fn normalize(&mut self) -> Result<()> {
        dedup_tags(&mut self.tags).map_err(|e| e.within("tags"))?;
        for (kind, ids) in self.links.all() {
            if let Some(i) = ids.iter().position(|id| *id == self.id) {
                return Err(Error::invalid(
                    format!("links.{kind}[{i}]"),
                    format!("a product cannot link to itself (`{}`)", self.id),
                ));
            }
        }
        Ok(())
    }
}

/// A category in the tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// The shop's id.
    pub id: Id,
    /// Display name.
    pub name: Text,
    /// The parent category; none for a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Id>,
    /// Category page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
}

/// A whole catalog: the category tree and the products.
///
/// Checked as a whole: ids are unique, parents exist and form a tree, each
/// product's `category_path` runs from a root down the tree, and every link
/// points to a product in the catalog.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Categories, parents in any order.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Products.
    #[serde(default)]
    pub products: Vec<Product>,
}

impl Catalog {
    /// An index for lookups by id; build it once and reuse it across contacts.
    pub fn index(&self) -> CatalogIndex<'_> {
        CatalogIndex {
            products: self.products.iter().map(|p| (p.id.as_str(), p)).collect(),
            parents: self
                .categories
                .iter()
                .map(|c| (c.id.as_str(), c.parent_id.as_ref()))
                .collect(),
        }
    }

    pub(crate) fn normalize(&mut self) -> Result<()> {
        for (i, p) in self.products.iter_mut().enumerate() {
            p.normalize()
                .map_err(|e| e.within(&format!("products[{i}]")))?;
        }
        let mut parents: HashMap<&Id, Option<&Id>> = HashMap::with_capacity(self.categories.len());
        for (i, c) in self.categories.iter().enumerate() {
            if parents.insert(&c.id, c.parent_id.as_ref()).is_some() {
                return Err(Error::invalid(
                    format!("categories[{i}].id"),
                    format!("category id `{}` appears twice", c.id),
                ));
            }
        }
        for (i, c) in self.categories.iter().enumerate() {
            if let Some(p) = &c.parent_id
                && !parents.contains_key(p)
            {
                return Err(Error::invalid(
                    format!("categories[{i}].parent_id"),
                    format!("unknown category `{p}`"),
                ));
            }
            // Walk up; more steps than categories means a cycle.
            let mut at = c.parent_id.as_ref();
            let mut steps = 0;
            while let Some(p) = at {
                steps += 1;
                if p == &c.id || steps > self.categories.len() {
                    return Err(Error::invalid(
                        format!("categories[{i}].parent_id"),
                        format!("category `{}` is its own ancestor", c.id),
                    ));
                }
                at = parents.get(p).copied().flatten();
            }
        }
        let ids: HashSet<&Id> = self.products.iter().map(|p| &p.id).collect();
        let mut seen = HashSet::with_capacity(self.products.len());
        for (i, p) in self.products.iter().enumerate() {
            let here = |field: String| format!("products[{i}].{field}");
            if !seen.insert(&p.id) {
                return Err(Error::invalid(
                    here("id".into()),
                    format!("product id `{}` appears twice", p.id),
                ));
            }
            for (j, cat) in p.category_path.iter().enumerate() {
                let Some(parent) = parents.get(cat) else {
                    return Err(Error::invalid(
                        here(format!("category_path[{j}]")),
                        format!("unknown category `{cat}`"),
                    ));
                };
                let expected = if j == 0 {
                    None
                } else {
                    Some(&p.category_path[j - 1])
                };
                if *parent != expected {
                    return Err(Error::invalid(
                        here(format!("category_path[{j}]")),
                        match expected {
                            None => format!(
                                "the path must start at a root category; `{cat}` has a parent"
                            ),
                            Some(e) => format!("category `{cat}` is not a child of `{e}`"),
                        },
                    ));
                }
            }
            for (kind, links) in p.links.all() {
                for (j, id) in links.iter().enumerate() {
                    if !ids.contains(id) {
                        return Err(Error::invalid(
                            here(format!("links.{kind}[{j}]")),
                            format!("unknown product `{id}`"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Products and categories by id, for the many lookups of batch work.
#[derive(Clone, Debug)]
pub struct CatalogIndex<'a> {
    products: HashMap<&'a str, &'a Product>,
    parents: HashMap<&'a str, Option<&'a Id>>,
}

impl<'a> CatalogIndex<'a> {
    /// The product with this id.
    pub fn product(&self, id: &str) -> Option<&'a Product> {
        self.products.get(id).copied()
    }

    /// Whether the category exists.
    pub fn has_category(&self, id: &str) -> bool {
        self.parents.contains_key(id)
    }

    /// The category's ancestors from its parent up to the root (empty for a
    /// root or an unknown category). A catalog built in code without
    /// [`crate::parse`] may hold a cycle: the walk stops after every category.
    pub fn ancestors(&self, id: &str) -> Vec<&'a Id> {
        let mut out = Vec::new();
        let mut at = self.parents.get(id).copied().flatten();
        while let Some(parent) = at
            && out.len() < self.parents.len()
        {
            out.push(parent);
            at = self.parents.get(parent.as_str()).copied().flatten();
        }
        out
    }
}
