//! Recommendation blocks: the product rows that go into order confirmations,
//! cart reminders, review requests and promo letters.
//!
//! Three parts:
//!
//! - [`ItemModel`]: the item-to-item model (also bought, bought together,
//!   also viewed; cosine or BM25), built in parallel from [`Basket`]s, top `K`
//!   neighbours per product, updated with new baskets, saved with serde.
//!   Baskets come as rows, or from an order-line table with
//!   [`baskets_from_columns`].
//! - [`Recommender`]: the catalog and the model indexed once; it fills a
//!   [`Message`]'s blocks for one contact's [`ContactHistory`] at `now`.
//!   Every [`BlockKind`] the SaaS feeds have (bestsellers, top rated, new
//!   arrivals, trending; recently viewed, cart, wishlist, interests,
//!   searches, buy again, for you; similar, also viewed, also bought, bought
//!   together, accessories, up-sell), with [`Filters`], at most N per
//!   category, no product twice in one message, and a fallback chain. Every
//!   slot says which kind filled it.
//! - [`evaluate()`]: leave-last-basket-out offline evaluation (precision,
//!   recall, hit rate, MAP, NDCG at `k`; all items and new items only).
//!
//! ```
//! use patron::recommend::{Basket, ContactHistory, ItemModel, Message, ModelConfig, Recommender};
//! use patron::{model::Timestamp, parse, Catalog};
//!
//! let catalog: Catalog = parse::from_json(r#"{"products": [
//!   {"id": "tea", "name": "Green tea", "price": 4, "currency": "EUR"},
//!   {"id": "cup", "name": "Tea cup", "price": 9, "currency": "EUR"},
//!   {"id": "pot", "name": "Tea pot", "price": 30, "currency": "EUR", "stock": 0},
//!   {"id": "honey", "name": "Honey", "price": 6, "currency": "EUR"}
//! ]}"#)?;
//! let baskets: Vec<Basket> = parse::list_from_json(r#"[
//!   {"contact_id": "a", "at": "2024-05-01T10:00:00Z", "product_ids": ["tea", "cup"]},
//!   {"contact_id": "b", "at": "2024-05-02T10:00:00Z", "product_ids": ["tea", "cup", "pot"]},
//!   {"contact_id": "c", "at": "2024-05-03T10:00:00Z", "product_ids": ["honey"]}
//! ]"#)?;
//! let now = Timestamp::parse("2024-06-01T00:00:00Z")?;
//! let model = ItemModel::build(&baskets, now, &ModelConfig::default())?;
//! let recommender = Recommender::new(&catalog, Some(&model));
//!
//! // An order confirmation for a tea buyer: what others bought with tea.
//! let message: Message = parse::from_json(r#"{"triggers": ["tea"],
//!   "blocks": [{"kind": "also_bought", "size": 2}]}"#)?;
//! let blocks = recommender.blocks(&message, &ContactHistory::default(), now)?;
//! let slots: Vec<(&str, &str)> = blocks[0].slots.iter()
//!     .map(|s| (s.product_id.as_str(), s.source.as_str())).collect();
//! // The pot is out of stock; the fallback fills the second slot.
//! assert_eq!(slots, [("cup", "also_bought"), ("honey", "bestsellers")]);
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! # Bad input
//!
//! Products in a history, a message or the model that the catalog does not
//! hold (removed products, unknown ids) are never shown; they still anchor
//! the model's neighbours when the model knows them. An empty catalog gives
//! empty blocks. A block size of 0, `neighbours: 0`, `k: 0`, negative or
//! inverted price ranges and unknown categories are `validation` errors whose
//! path names the field (`blocks[0].size`, `config.neighbours`). Negative
//! catalog prices are refused when the catalog is parsed.

mod block;
mod columns;
mod evaluate;
mod filter;
mod history;
mod model;
mod recommender;

pub use block::{Block, BlockKind, BlockSpec, Message, Slot, Window};
pub use columns::{BasketColumns, baskets_from_columns};
pub use evaluate::{Evaluation, Metrics, evaluate, leave_last_basket_out, score_list};
pub use filter::Filters;
pub use history::{BoughtItem, ContactHistory, ViewedItem};
pub use model::{
    Basket, BasketKind, Interactions, ItemModel, MODEL_VERSION, ModelConfig, Neighbour, Popularity,
    Table, Weighting,
};
pub use recommender::{MAX_BLOCK_SIZE, Recommender};
