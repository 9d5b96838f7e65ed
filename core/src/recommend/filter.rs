//! Filters: which catalog products a block may show.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{CatalogIndex, Id, Product};

/// What a block may show. The defaults are those of the SaaS product feeds:
/// only products that can be bought, nothing the contact already bought
/// (except in `buy_again`), nothing that triggered the message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Only products that are `available` and, where stock is tracked, in stock.
    #[serde(default = "yes")]
    pub in_stock: bool,
    /// Leave out products the contact bought. Unset: on for every block kind
    /// but `buy_again`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_purchased: Option<bool>,
    /// Leave out the products that triggered the message.
    #[serde(default = "yes")]
    pub exclude_triggers: bool,
    /// Only products with an image.
    #[serde(default)]
    pub require_image: bool,
    /// Lowest price, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<f64>,
    /// Highest price, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<f64>,
    /// Only products in one of these categories (or below them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Id>,
    /// No product in these categories (or below them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_categories: Vec<Id>,
    /// At most this many products of one (leaf) category in the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_category: Option<usize>,
}

fn yes() -> bool {
    true
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            in_stock: true,
            exclude_purchased: None,
            exclude_triggers: true,
            require_image: false,
            min_price: None,
            max_price: None,
            categories: Vec::new(),
            exclude_categories: Vec::new(),
            max_per_category: None,
        }
    }
}

impl Filters {
    /// Checks the values against the catalog; errors name the field.
    pub fn check(&self, catalog: &CatalogIndex<'_>) -> Result<()> {
        for (name, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if let Some(p) = price
                && !(p.is_finite() && p >= 0.0)
            {
                return Err(Error::invalid(
                    name,
                    format!("expected a finite non-negative price, got {p}"),
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price)
            && lo > hi
        {
            return Err(Error::invalid(
                "max_price",
                format!("the highest price {hi} is below the lowest {lo}"),
            ));
        }
        if self.max_per_category == Some(0) {
            return Err(Error::invalid(
                "max_per_category",
                "expected at least 1, got 0",
            ));
        }
        for (name, ids) in [
            ("categories", &self.categories),
            ("exclude_categories", &self.exclude_categories),
        ] {
            for (i, c) in ids.iter().enumerate() {
                if !catalog.has_category(c.as_str()) {
                    return Err(Error::invalid(
                        format!("{name}[{i}]"),
                        format!("unknown category `{c}`"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether the product passes every filter that looks at the product alone.
    pub fn admits(&self, p: &Product) -> bool {
        if self.in_stock && !(p.available && p.stock != Some(0)) {
            return false;
        }
        if self.require_image && p.image_url.is_none() {
            return false;
        }
        let price = p.price.get();
        if self.min_price.is_some_and(|lo| price < lo)
            || self.max_price.is_some_and(|hi| price > hi)
        {
            return false;
        }
        if !self.categories.is_empty()
            && !p.category_path.iter().any(|c| self.categories.contains(c))
        {
            return false;
        }
        !p.category_path
            .iter()
            .any(|c| self.exclude_categories.contains(c))
    }
}
