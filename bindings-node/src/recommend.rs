//! Recommendation blocks and the item-to-item model (JSON text in and out).

use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::Catalog;
use patron::parse;
use patron::recommend::{
    self, Basket, BlockSpec, ContactHistory, ItemModel, Message, ModelConfig, Recommender,
};

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};

/// Runs off the JavaScript thread: the item-to-item model from baskets.
#[napi]
pub fn build_item_model_json(baskets: String, now: String, config: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let baskets: Vec<Basket> = args::list(&baskets, "baskets").js_err()?;
        let now = args::value(&now, "now").js_err()?;
        let config: ModelConfig = args::config(&config).js_err()?;
        let model = ItemModel::build(&baskets, now, &config).js_err()?;
        Ok(parse::to_json(&model))
    })
}

/// Runs off the JavaScript thread: the model with new baskets added.
#[napi]
pub fn update_item_model_json(model: String, baskets: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let mut model: ItemModel = args::model(&model, "model").js_err()?;
        let baskets: Vec<Basket> = args::list(&baskets, "baskets").js_err()?;
        model
            .update(&baskets)
            .map_err(|e| e.within("model"))
            .js_err()?;
        Ok(parse::to_json(&model))
    })
}

/// Runs off the JavaScript thread: the blocks of one message for one
/// contact's history (`"null"`: none) at `now`; `model` is `"null"` for none.
#[napi]
pub fn recommend_blocks_json(
    catalog: String,
    message: String,
    history: String,
    now: String,
    model: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let catalog: Catalog = args::model(&catalog, "catalog").js_err()?;
        let message: Message = args::model(&message, "message").js_err()?;
        let history: Option<ContactHistory> = args::optional_model(&history, "history").js_err()?;
        let now = args::value(&now, "now").js_err()?;
        let model: Option<ItemModel> = args::optional_model(&model, "model").js_err()?;
        let blocks = Recommender::new(&catalog, model.as_ref())
            .blocks(&message, &history.unwrap_or_default(), now)
            .map_err(|e| e.within("message"))
            .js_err()?;
        Ok(parse::to_json(&blocks))
    })
}

/// Runs off the JavaScript thread: leave-last-basket-out evaluation of one
/// block spec at `k` slots.
#[napi]
pub fn evaluate_recommendations_json(
    catalog: String,
    baskets: String,
    spec: String,
    k: u32,
    config: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let catalog: Catalog = args::model(&catalog, "catalog").js_err()?;
        let baskets: Vec<Basket> = args::list(&baskets, "baskets").js_err()?;
        let spec: BlockSpec = args::model(&spec, "spec").js_err()?;
        let config: ModelConfig = args::config(&config).js_err()?;
        let out = recommend::evaluate(&catalog, &baskets, &spec, k as usize, &config).js_err()?;
        Ok(parse::to_json(&out))
    })
}

/// Runs off the JavaScript thread: the blocks of one message for many
/// contacts' histories (the catalog and the model indexed once).
#[napi]
pub fn recommend_blocks_many_json(
    catalog: String,
    message: String,
    histories: String,
    now: String,
    model: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let catalog: Catalog = args::model(&catalog, "catalog").js_err()?;
        let message: Message = args::model(&message, "message").js_err()?;
        let histories: Vec<ContactHistory> = args::list(&histories, "histories").js_err()?;
        let now = args::value(&now, "now").js_err()?;
        let model: Option<ItemModel> = args::optional_model(&model, "model").js_err()?;
        let blocks = Recommender::new(&catalog, model.as_ref())
            .blocks_many(&message, &histories, now)
            .map_err(|e| e.within("message"))
            .js_err()?;
        Ok(parse::to_json(&blocks))
    })
}

/// The catalog and model a [`RecommenderHandle`] owns.
struct Owned {
    catalog: Catalog,
    model: Option<ItemModel>,
}

self_cell::self_cell!(
    /// The owned catalog and model beside the index that borrows them.
    struct Indexed {
        owner: Owned,
        #[covariant]
        dependent: Recommender,
    }
);

/// A catalog and an optional model indexed once (index.js wraps it as the
/// `Recommender` class); blocks run off the JavaScript thread.
#[napi]
pub struct RecommenderHandle {
    inner: Arc<Indexed>,
}

#[napi]
impl RecommenderHandle {
    /// Parses and indexes the catalog and the model (`"null"`: none).
    #[napi(constructor)]
    pub fn new(catalog: String, model: String) -> napi::Result<Self> {
        let catalog: Catalog = args::model(&catalog, "catalog").js_err()?;
        let model: Option<ItemModel> = args::optional_model(&model, "model").js_err()?;
        let inner = Indexed::new(Owned { catalog, model }, |o| {
            Recommender::new(&o.catalog, o.model.as_ref())
        });
        Ok(RecommenderHandle {
            inner: Arc::new(inner),
        })
    }

    /// The blocks of one message for one contact's history (`"null"`: none).
    #[napi]
    pub fn blocks_json(
        &self,
        message: String,
        history: String,
        now: String,
    ) -> AsyncTask<JsonTask> {
        let inner = Arc::clone(&self.inner);
        task::spawn(move || {
            let message: Message = args::model(&message, "message").js_err()?;
            let history: Option<ContactHistory> =
                args::optional_model(&history, "history").js_err()?;
            let now = args::value(&now, "now").js_err()?;
            let blocks = inner
                .borrow_dependent()
                .blocks(&message, &history.unwrap_or_default(), now)
                .map_err(|e| e.within("message"))
                .js_err()?;
            Ok(parse::to_json(&blocks))
        })
    }

    /// The blocks of one message for many contacts' histories.
    #[napi]
    pub fn blocks_many_json(
        &self,
        message: String,
        histories: String,
        now: String,
    ) -> AsyncTask<JsonTask> {
        let inner = Arc::clone(&self.inner);
        task::spawn(move || {
            let message: Message = args::model(&message, "message").js_err()?;
            let histories: Vec<ContactHistory> = args::list(&histories, "histories").js_err()?;
            let now = args::value(&now, "now").js_err()?;
            let blocks = inner
                .borrow_dependent()
                .blocks_many(&message, &histories, now)
                .map_err(|e| e.within("message"))
                .js_err()?;
            Ok(parse::to_json(&blocks))
        })
    }

    /// Catalog products the model knows (0 without a model).
    #[napi(getter)]
    pub fn known_to_model(&self) -> u32 {
        self.inner.borrow_dependent().known_to_model() as u32
    }
}
