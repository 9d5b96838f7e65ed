//! Recommendation blocks and the item-to-item model from Python.

use patron::Catalog;
use patron::recommend::{
    self, Basket, BlockSpec, ContactHistory, ItemModel, Message, ModelConfig, Recommender,
};
use pyo3::prelude::*;
use serde::Deserialize;

use crate::args;
use crate::columns;
use crate::convert::{to_py, to_py_large};
use crate::depythonize::PyDe;
use crate::error::IntoPyResult;

/// Baskets from a list of dicts, or from a table of basket lines (Arrow, a
/// DataFrame, a dict of columns). Dicts are read in one pass when all is well
/// (no JSON value in between), else through a JSON value, which names the
/// path of any error.
fn baskets_of(data: &Bound<'_, PyAny>) -> patron::Result<Vec<Basket>> {
    if columns::is_columnar(data) {
        let table = columns::read_table(data, "baskets")?;
        let arrays = columns::basket_columns(&table, "baskets")?;
        return data
            .py()
            .detach(|| recommend::baskets_from_columns(&arrays.columns()))
            .map_err(|e| e.within("baskets"));
    }
    if let Ok(baskets) = Vec::<Basket>::deserialize(PyDe::new(data)) {
        return Ok(baskets);
    }
    args::list(data, "baskets")
}

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
    let baskets: Vec<Basket> = baskets_of(baskets).py_err(py)?;
    let now = args::value(now, "now").py_err(py)?;
    let config: ModelConfig = args::config(config).py_err(py)?;
    let model = py
        .detach(|| ItemModel::build(&baskets, now, &config))
        .py_err(py)?;
    to_py_large(py, &model)
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
    let baskets: Vec<Basket> = baskets_of(baskets).py_err(py)?;
    py.detach(|| model.update(&baskets))
        .map_err(|e| e.within("model"))
        .py_err(py)?;
    to_py_large(py, &model)
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
    let baskets: Vec<Basket> = baskets_of(baskets).py_err(py)?;
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

/// The catalog and model a [`PyRecommender`] owns.
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

/// A catalog and an optional item-to-item model, indexed once: build it when
/// the catalog or the model changes and call `blocks` for every message. The
/// module functions `recommend_blocks` and `recommend_blocks_many` index the
/// catalog again on each call.
#[pyclass(module = "patron._native", name = "Recommender", frozen)]
pub struct PyRecommender {
    inner: Indexed,
}

#[pymethods]
impl PyRecommender {
    #[new]
    #[pyo3(signature = (catalog, model=None))]
    fn new(
        py: Python<'_>,
        catalog: &Bound<'_, PyAny>,
        model: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let catalog: Catalog = args::model(catalog, "catalog").py_err(py)?;
        let model: Option<ItemModel> = args::optional_model(model, "model").py_err(py)?;
        let inner = py.detach(|| {
            Indexed::new(Owned { catalog, model }, |o| {
                Recommender::new(&o.catalog, o.model.as_ref())
            })
        });
        Ok(PyRecommender { inner })
    }

    /// The blocks of one message for one contact's history (`None`: an
    /// anonymous visitor) at `now`.
    #[pyo3(signature = (message, history, now))]
    fn blocks<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        history: Option<&Bound<'py, PyAny>>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let message: Message = args::model(message, "message").py_err(py)?;
        let history: Option<ContactHistory> =
            args::optional_model(history, "history").py_err(py)?;
        let now = args::value(now, "now").py_err(py)?;
        let blocks = py
            .detach(|| {
                self.inner
                    .borrow_dependent()
                    .blocks(&message, &history.unwrap_or_default(), now)
            })
            .map_err(|e| e.within("message"))
            .py_err(py)?;
        to_py(py, &blocks)
    }

    /// The blocks of one message for many contacts' histories, in parallel:
    /// one list of blocks per history.
    fn blocks_many<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        histories: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let message: Message = args::model(message, "message").py_err(py)?;
        let histories: Vec<ContactHistory> = args::list(histories, "histories").py_err(py)?;
        let now = args::value(now, "now").py_err(py)?;
        let blocks = py
            .detach(|| {
                self.inner
                    .borrow_dependent()
                    .blocks_many(&message, &histories, now)
            })
            .map_err(|e| e.within("message"))
            .py_err(py)?;
        to_py(py, &blocks)
    }

    /// Catalog products the model knows (0 without a model).
    #[getter]
    fn known_to_model(&self) -> usize {
        self.inner.borrow_dependent().known_to_model()
    }
}
