//! Purchases (a shop's order table) summed per customer, and RFM straight
//! from them, from Python.

use patron::purchase::{self, Purchase};
use patron::rfm::CustomerSummary;
use patron::rfm::{self, RfmConfig};
use pyo3::prelude::*;

use crate::args::{self, Shape};
use crate::columns;
use crate::error::IntoPyResult;

/// Reads purchases and sums them per customer: in place from Arrow columns
/// when it can, row by row otherwise.
fn summaries(
    py: Python<'_>,
    purchases: &Bound<'_, PyAny>,
    as_of: patron::model::Timestamp,
) -> patron::Result<(Vec<CustomerSummary>, Shape)> {
    if columns::is_columnar(purchases) {
        let table = columns::read_table(purchases, "purchases")?;
        if let Some(arrays) = columns::purchase_columns(&table, "purchases")? {
            let out = py.detach(|| purchase::summarize_columns(&arrays.columns(), as_of));
            return Ok((out.map_err(|e| e.within("purchases"))?, Shape::Columns));
        }
    }
    let (rows, shape): (Vec<Purchase>, Shape) = args::bulk(py, purchases, "purchases")?;
    let out = py
        .detach(|| purchase::summarize(&rows, as_of))
        .map_err(|e| e.within("purchases"))?;
    Ok((out, shape))
}

/// Customer summaries (orders, purchase days, revenue, last order) from a
/// shop's order table, in the order of each customer's first row.
#[pyfunction]
pub fn summarize_purchases<'py>(
    py: Python<'py>,
    purchases: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let (out, shape) = summaries(py, purchases, as_of).py_err(py)?;
    shape.to_py(py, &out)
}

/// RFM scores straight from a shop's order table: `summarize_purchases`
/// then `rfm_scores`, without the summaries crossing into Python.
#[pyfunction]
#[pyo3(signature = (purchases, as_of, config=None))]
pub fn rfm_from_purchases<'py>(
    py: Python<'py>,
    purchases: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let config: RfmConfig = args::config(config).py_err(py)?;
    config.check().map_err(|e| e.within("config")).py_err(py)?;
    // Arrow columns go straight to columns of scores, without a summary or
    // a result per customer.
    if columns::is_columnar(purchases) {
        let table = columns::read_table(purchases, "purchases").py_err(py)?;
        if let Some(arrays) = columns::purchase_columns(&table, "purchases").py_err(py)? {
            let rfm = py
                .detach(|| purchase::rfm_columns(&arrays.columns(), as_of, &config))
                .map_err(|e| e.within("purchases"))
                .py_err(py)?;
            let rows = rfm.first_rows.len();
            let out = py
                .detach(|| arrays.rfm_columns(rfm))
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
            return columns::record_table(py, out, rows);
        }
    }
    let (customers, shape) = summaries(py, purchases, as_of).py_err(py)?;
    let scores = py
        .detach(|| rfm::score(&customers, as_of, &config))
        .map_err(|e| e.within("purchases"))
        .py_err(py)?;
    match shape {
        Shape::Columns => columns::rfm_table(py, &scores),
        Shape::Rows => shape.to_py(py, &scores),
    }
}
