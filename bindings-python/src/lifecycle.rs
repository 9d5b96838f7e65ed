//! The lifecycle grid from Python.

use patron::lifecycle::{self, LifecycleConfig};
use pyo3::prelude::*;

use crate::args;
use crate::error::IntoPyResult;

/// The lifecycle cell (purchases x days since the last purchase) and region
/// of every buyer, in input order.
#[pyfunction]
#[pyo3(signature = (customers, as_of, config=None))]
pub fn lifecycle_place<'py>(
    py: Python<'py>,
    customers: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (customers, shape) = args::bulk(py, customers, "customers").py_err(py)?;
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let config: LifecycleConfig = args::config(config).py_err(py)?;
    config.check().map_err(|e| e.within("config")).py_err(py)?;
    let places = lifecycle::place(&customers, as_of, &config)
        .map_err(|e| e.within("customers"))
        .py_err(py)?;
    shape.to_py(py, &places)
}

/// Contacts whose lifecycle cell changed between two dates. Pass the same
/// summaries twice to see the moves that time alone makes.
#[pyfunction]
#[pyo3(signature = (before, before_at, after, after_at, config=None))]
pub fn lifecycle_moves<'py>(
    py: Python<'py>,
    before: &Bound<'py, PyAny>,
    before_at: &Bound<'py, PyAny>,
    after: &Bound<'py, PyAny>,
    after_at: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (before, shape) = args::bulk(py, before, "before").py_err(py)?;
    let before_at = args::value(before_at, "before_at").py_err(py)?;
    let (after, _) = args::bulk(py, after, "after").py_err(py)?;
    let after_at = args::value(after_at, "after_at").py_err(py)?;
    let config: LifecycleConfig = args::config(config).py_err(py)?;
    config.check().map_err(|e| e.within("config")).py_err(py)?;
    let moves = lifecycle::moves(&before, before_at, &after, after_at, &config).py_err(py)?;
    shape.to_py(py, &moves)
}
