//! Block kinds, the request for a message's blocks, and the blocks that come back.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::filter::Filters;
use crate::model::Id;

/// Where a block's products come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Most ordered, overall or in `window: "recent"`; in `category_id` when given.
    Bestsellers,
    /// Highest rated (products without a rating come last).
    TopRated,
    /// Newest by `created_at` (products without one are not new arrivals).
    NewArrivals,
    /// Recent orders growing fastest against the span before (see [`super::Popularity::trend`]).
    Trending,
    /// What the contact viewed, latest first.
    RecentlyViewed,
    /// What is in the contact's cart.
    FromCart,
    /// What is on the contact's wishlist.
    FromWishlist,
    /// Bestsellers of the categories and brands the contact bought and viewed.
    Interests,
    /// Products matching the contact's searches (name, brand, tags).
    Searches,
    /// What the contact bought, scored by orders, recency and how close the
    /// product is to its usual reorder interval.
    BuyAgain,
    /// The neighbours of everything the contact bought, viewed, carted and
    /// wished for, summed (Amazon's item-to-item recommendations).
    ForYou,
    /// Same category, close in attributes, brand and price; the shop's
    /// `links.similar` first.
    Similar,
    /// Viewed by those who viewed the anchor products.
    AlsoViewed,
    /// Bought by those who bought the anchor products.
    AlsoBought,
    /// Bought in the same orders as the anchor products.
    BoughtTogether,
    /// The anchors' `links.accessories`, then products of other categories bought with them.
    Accessories,
    /// Same category, a higher price (or the same price and a better rating).
    UpSell,
}

impl BlockKind {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Bestsellers => "bestsellers",
            BlockKind::TopRated => "top_rated",
            BlockKind::NewArrivals => "new_arrivals",
            BlockKind::Trending => "trending",
            BlockKind::RecentlyViewed => "recently_viewed",
            BlockKind::FromCart => "from_cart",
            BlockKind::FromWishlist => "from_wishlist",
            BlockKind::Interests => "interests",
            BlockKind::Searches => "searches",
            BlockKind::BuyAgain => "buy_again",
            BlockKind::ForYou => "for_you",
            BlockKind::Similar => "similar",
            BlockKind::AlsoViewed => "also_viewed",
            BlockKind::AlsoBought => "also_bought",
            BlockKind::BoughtTogether => "bought_together",
            BlockKind::Accessories => "accessories",
            BlockKind::UpSell => "up_sell",
        }
    }

    /// Whether the kind is relative to anchor products.
    pub fn is_relative(self) -> bool {
        matches!(
            self,
            BlockKind::Similar
                | BlockKind::AlsoViewed
                | BlockKind::AlsoBought
                | BlockKind::BoughtTogether
                | BlockKind::Accessories
                | BlockKind::UpSell
        )
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// For bestsellers: all orders, or the model's recent window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Every order.
    #[default]
    All,
    /// Orders in the model's `recent_days`.
    Recent,
}

/// One block of a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    /// A name for the template (defaults to the kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source.
    pub kind: BlockKind,
    /// Slots to fill; 1 to 1000.
    pub size: usize,
    /// For relative kinds: the anchor products. Empty: the message's
    /// triggers; without those, the contact's cart, latest purchases, then
    /// latest views.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_ids: Vec<Id>,
    /// For bestsellers: only this category (or below it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<Id>,
    /// For bestsellers: the window.
    #[serde(default)]
    pub window: Window,
    /// What may be shown.
    #[serde(default)]
    pub filters: Filters,
    /// Where empty slots are filled from, in order. Unset: also bought, then
    /// similar, then bestsellers. `[]`: no fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Vec<BlockKind>>,
}

impl BlockSpec {
    /// A block of `size` slots from `kind`, with the default filters and fallback.
    pub fn new(kind: BlockKind, size: usize) -> BlockSpec {
        BlockSpec {
            name: None,
            kind,
            size,
            product_ids: Vec::new(),
            category_id: None,
            window: Window::All,
            filters: Filters::default(),
            fallback: None,
        }
    }

    /// The default fallback chain.
    pub const DEFAULT_FALLBACK: [BlockKind; 3] = [
        BlockKind::AlsoBought,
        BlockKind::Similar,
        BlockKind::Bestsellers,
    ];
}

/// The blocks of one message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The products that triggered the message (the order's, the cart's, the
    /// viewed product): anchors of relative blocks, and left out of every
    /// block unless a block's `exclude_triggers` is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Id>,
    /// The blocks, filled in this order; no product appears in two.
    pub blocks: Vec<BlockSpec>,
}

/// One filled slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// The product.
    pub product_id: Id,
    /// The kind that filled the slot: the block's own, or a fallback.
    pub source: BlockKind,
    /// The source's score, rounded to 6 decimals (higher is better; comparable
    /// only within one source).
    pub score: f64,
}

/// One filled block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The spec's name, or the kind.
    pub name: String,
    /// The spec's kind.
    pub kind: BlockKind,
    /// The products, best first; fewer than `size` only when nothing else
    /// in the catalog passes the filters.
    pub slots: Vec<Slot>,
}
