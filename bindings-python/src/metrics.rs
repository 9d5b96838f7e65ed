//! Campaign KPIs, uplift and A/B comparison from Python.

use patron::metrics::{self, Assignment, KpiConfig, KpiRow, Metric, UpliftConfig};
use patron::{Event, parse};
use pyo3::prelude::*;

use crate::args;
use crate::convert::{to_py, to_value};
use crate::error::IntoPyResult;

/// The KPI table of an event stream (message and order events), one row per
/// campaign (or per `config["by"]` dimensions).
#[pyfunction]
#[pyo3(signature = (events, config=None))]
pub fn campaign_kpis<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let events: Vec<Event> = args::list(events, "events").py_err(py)?;
    let config: KpiConfig = args::config(config).py_err(py)?;
    let rows = py
        .detach(|| metrics::kpis(&events, &config))
        .map_err(|e| e.within("events"))
        .py_err(py)?;
    to_py(py, &rows)
}

/// Uplift of each campaign against its control group, from assignments and
/// order events.
#[pyfunction]
#[pyo3(signature = (assignments, events, config=None))]
pub fn campaign_uplift<'py>(
    py: Python<'py>,
    assignments: &Bound<'py, PyAny>,
    events: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let assignments: Vec<Assignment> = args::list(assignments, "assignments").py_err(py)?;
    let events: Vec<Event> = args::list(events, "events").py_err(py)?;
    let config: UpliftConfig = args::config(config).py_err(py)?;
    let out = py
        .detach(|| metrics::uplift(&assignments, &events, &config))
        .map_err(|e| {
            if e.path() == Some("confidence") {
                e.within("config")
            } else if e.path().is_some_and(|p| p.ends_with("contact_id")) {
                e.within("assignments")
            } else {
                e.within("events")
            }
        })
        .py_err(py)?;
    to_py(py, &out)
}

/// Each variant of a KPI report grouped by variant against the first, on
/// `metric` (`open_rate`, `click_rate`, `click_to_open_rate`,
/// `conversion_rate`, `unsubscribe_rate`).
#[pyfunction]
#[pyo3(signature = (rows, metric, confidence=0.95))]
pub fn compare_variants<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    metric: &Bound<'py, PyAny>,
    confidence: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let rows: Vec<KpiRow> = args::list(rows, "rows").py_err(py)?;
    let metric: Metric = args::value(metric, "metric").py_err(py)?;
    let out = metrics::compare_variants(&rows, metric, confidence)
        .map_err(|e| {
            if e.path() == Some("confidence") {
                e
            } else {
                e.within("rows")
            }
        })
        .py_err(py)?;
    to_py(py, &out)
}

/// Writes a report (KPI rows or uplifts) as csv or json text.
#[pyfunction]
pub fn kpi_report<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    format: &str,
) -> PyResult<String> {
    let format: patron::segment::Format = format.parse().py_err(py)?;
    let value = to_value(rows)
        .map_err(|e| e.into_core().within("rows"))
        .py_err(py)?;
    let kpi: patron::Result<Vec<KpiRow>> = parse::list_from_value(value.clone());
    let out = match kpi {
        Ok(rows) => metrics::write_report(&rows, format, Vec::new()),
        Err(_) => {
            let uplifts: Vec<metrics::Uplift> = serde_json::from_value(value)
                .map_err(|e| patron::Error::invalid("rows", e.to_string()))
                .py_err(py)?;
            metrics::write_report(&uplifts, format, Vec::new())
        }
    }
    .py_err(py)?;
    Ok(String::from_utf8(out).unwrap_or_default())
}
