//! Recommendation blocks and the item-to-item model from Python.

use patron::Catalog;
use patron::recommend::{
    self, Basket, BlockSpec, ContactHistory, ItemModel, Message, ModelConfig, Recommender,
};
use pyo3::prelude::*;

use crate::args;
use crate::convert::to_py;
use crate::error::IntoPyResult;

/// The item-to-item model (also bought, bought together, also viewed; top
/// `config.neighbours` per product) from baskets, with `now` ending the
/// recent window. Store the returned dict as JSON to load it later.
#[pyfunction]
#[pyo3(signature = (baskets, now, config=None))]
pub fn build_item_model<'py>(
    py: Python<'py>,
    baskets: &Bound<'py, PyAny>,
    now: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let baskets: Vec<Basket> = args::list(baskets, "baskets").py_err(py)?;
    let now = args::value(now, "now").py_err(py)?;
    let config: ModelConfig = args::config(config).py_err(py)?;
    let model = py
        .detach(|| ItemModel::build(&baskets, now, &config))
        .py_err(py)?;
    to_py(py, &model)
}

/// The model with new baskets added (a model built with `incremental: False`
/// cannot be updated).
#[pyfunction]
pub fn update_item_model<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    baskets: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut model: ItemModel = args::model(model, "model").py_err(py)?;
    let baskets: Vec<Basket> = args::list(baskets, "baskets").py_err(py)?;
    py.detach(|| model.update(&baskets))
        .map_err(|e| e.within("model"))
        .py_err(py)?;
    to_py(py, &model)
}

/// The blocks of one message for one contact's history (`None`: an
/// anonymous visitor) at `now`, from the catalog and an optional model.
#[pyfunction]
#[pyo3(signature = (catalog, message, history, now, model=None))]
pub fn recommend_blocks<'py>(
    py: Python<'py>,
    catalog: &Bound<'py, PyAny>,
    message: &Bound<'py, PyAny>,
    history: Option<&Bound<'py, PyAny>>,
    now: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let catalog: Catalog = args::model(catalog, "catalog").py_err(py)?;
    let message: Message = args::model(message, "message").py_err(py)?;
    let history: Option<ContactHistory> = args::optional_model(history, "history").py_err(py)?;
    let now = args::value(now, "now").py_err(py)?;
    let model: Option<ItemModel> = args::optional_model(model, "model").py_err(py)?;
    let blocks = py
        .detach(|| {
            Recommender::new(&catalog, model.as_ref()).blocks(
                &message,
                &history.unwrap_or_default(),
                now,
            )
        })
        .map_err(|e| e.within("message"))
        .py_err(py)?;
    to_py(py, &blocks)
}

/// Leave-last-basket-out evaluation of one block spec at `k` slots:
/// precision, recall, hit rate, MAP and NDCG, for all items and new items.
#[pyfunction]
#[pyo3(signature = (catalog, baskets, spec, k, config=None))]
pub fn evaluate_recommendations<'py>(
    py: Python<'py>,
    catalog: &Bound<'py, PyAny>,
    baskets: &Bound<'py, PyAny>,
    spec: &Bound<'py, PyAny>,
    k: usize,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let catalog: Catalog = args::model(catalog, "catalog").py_err(py)?;
    let baskets: Vec<Basket> = args::list(baskets, "baskets").py_err(py)?;
    let spec: BlockSpec = args::model(spec, "spec").py_err(py)?;
    let config: ModelConfig = args::config(config).py_err(py)?;
    let out = py
        .detach(|| recommend::evaluate(&catalog, &baskets, &spec, k, &config))
        .py_err(py)?;
    to_py(py, &out)
}

/// The blocks of one message for many contacts' histories, in parallel (the
/// catalog and the model are indexed once): one list of blocks per history.
#[pyfunction]
#[pyo3(signature = (catalog, message, histories, now, model=None))]
pub fn recommend_blocks_many<'py>(
    py: Python<'py>,
    catalog: &Bound<'py, PyAny>,
    message: &Bound<'py, PyAny>,
    histories: &Bound<'py, PyAny>,
    now: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let catalog: Catalog = args::model(catalog, "catalog").py_err(py)?;
    let message: Message = args::model(message, "message").py_err(py)?;
    let histories: Vec<ContactHistory> = args::list(histories, "histories").py_err(py)?;
    let now = args::value(now, "now").py_err(py)?;
    let model: Option<ItemModel> = args::optional_model(model, "model").py_err(py)?;
    let blocks = py
        .detach(|| {
            Recommender::new(&catalog, model.as_ref()).blocks_many(&message, &histories, now)
        })
        .map_err(|e| e.within("message"))
        .py_err(py)?;
    to_py(py, &blocks)
}
