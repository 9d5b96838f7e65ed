//! RFM scores, named segments and the four-group scheme from Python.

use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::rfm::{self, CustomerSummary, FourGroupConfig, RfmConfig, SegmentTable};
use pyo3::prelude::*;
use serde::Serialize;

use crate::convert::{to_py, to_value};
use crate::error::IntoPyResult;

/// Reads one argument; its errors' paths start with the argument's name.
fn argument<T: Model>(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<T> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    T::from_value(value).map_err(|e| e.within(name))
}

fn customers_of(data: &Bound<'_, PyAny>) -> patron::Result<Vec<CustomerSummary>> {
    let value = to_value(data).map_err(|e| e.into_core().within("customers"))?;
    parse::list_from_value(value).map_err(|e| e.within("customers"))
}

/// `as_of` as an aware datetime or RFC 3339 text.
pub fn timestamp_of(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Timestamp> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    serde_json::from_value(value).map_err(|e| patron::Error::invalid(name, e.to_string()))
}

fn config_of<T: Model + Default>(data: Option<&Bound<'_, PyAny>>) -> patron::Result<T> {
    data.filter(|d| !d.is_none())
        .map_or_else(|| Ok(T::default()), |d| argument(d, "config"))
}

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
    let customers = customers_of(customers).py_err(py)?;
    let as_of = timestamp_of(as_of, "as_of").py_err(py)?;
    let config: RfmConfig = config_of(config).py_err(py)?;
    config.check().map_err(|e| e.within("config")).py_err(py)?;
    let scores = py
        .detach(|| rfm::score(&customers, as_of, &config))
        .map_err(|e| e.within("customers"))
        .py_err(py)?;
    to_py(py, &scores)
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
    let customers = customers_of(customers).py_err(py)?;
    let as_of = timestamp_of(as_of, "as_of").py_err(py)?;
    let config: FourGroupConfig = config_of(config).py_err(py)?;
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
    to_py(py, &out)
}

/// The default named-segment table, as data (rules in order of precedence).
#[pyfunction]
pub fn rfm_default_segments(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    to_py(py, &SegmentTable::default())
}
