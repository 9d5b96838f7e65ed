//! RFM scores, named segments and the four-group scheme from Python.

use patron::rfm::{self, FourGroupConfig, RfmConfig, SegmentTable};
use pyo3::prelude::*;
use serde::Serialize;

use crate::args;
use crate::convert::to_py;
use crate::error::IntoPyResult;

/// RFM scores of every customer who has bought, in input order.
///
/// `customers` are summaries (`contact_id`, `last_order_at`, `orders`,
/// `purchase_days`, `revenue`, `currency`); `config` sets bins, ties,
/// measures, thresholds and the segment table (see docs/rfm.md).
#[pyfunction]
#[pyo3(signature = (customers, as_of, config=None))]
pub fn rfm_scores<'py>(
    py: Python<'py>,
    customers: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (customers, shape) = args::bulk(py, customers, "customers").py_err(py)?;
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let config: RfmConfig = args::config(config).py_err(py)?;
    config.check().map_err(|e| e.within("config")).py_err(py)?;
    let scores = py
        .detach(|| rfm::score(&customers, as_of, &config))
        .map_err(|e| e.within("customers"))
        .py_err(py)?;
    match shape {
        args::Shape::Columns => crate::columns::rfm_table(py, &scores),
        args::Shape::Rows => shape.to_py(py, &scores),
    }
}

#[derive(Serialize)]
struct Grouped<'a> {
    contact_id: &'a patron::model::Id,
    group: rfm::FourGroup,
}

/// The four-group scheme (best, losing, subscribers, others) for every
/// customer, in input order.
#[pyfunction]
#[pyo3(signature = (customers, as_of, config=None))]
pub fn rfm_four_groups<'py>(
    py: Python<'py>,
    customers: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (customers, shape) = args::bulk(py, customers, "customers").py_err(py)?;
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let config: FourGroupConfig = args::config(config).py_err(py)?;
    config.check().map_err(|e| e.within("config")).py_err(py)?;
    let groups = rfm::four_groups(&customers, as_of, &config)
        .map_err(|e| e.within("customers"))
        .py_err(py)?;
    let out: Vec<Grouped<'_>> = customers
        .iter()
        .zip(groups)
        .map(|(c, group)| Grouped {
            contact_id: &c.contact_id,
            group,
        })
        .collect();
    shape.to_py(py, &out)
}

/// The default named-segment table, as data (rules in order of precedence).
#[pyfunction]
pub fn rfm_default_segments(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    to_py(py, &SegmentTable::default())
}
