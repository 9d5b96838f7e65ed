//! Purchase predictions (BG/NBD, Gamma-Gamma) from Python.

use patron::predict::{self, BgNbd, GammaGamma, History, Transaction};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::{Deserialize, Serialize};

use crate::args;
use crate::convert::to_py;
use crate::depythonize::PyDe;
use crate::error::IntoPyResult;

/// Histories straight from a list of dicts, without the JSON value in
/// between: the fits read tens of thousands, and building that value cost
/// several times the fit. A history has no checks across fields, so its serde
/// form is all there is to read. Anything else, errors included, goes through
/// `args::list`, which names the path.
fn read_histories(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
) -> patron::Result<(Vec<History>, args::Shape)> {
    if let Ok(list) = data.cast::<PyList>() {
        let direct: Option<Vec<History>> = list
            .iter()
            .map(|item| {
                item.is_instance_of::<PyDict>()
                    .then(|| History::deserialize(PyDe::new(&item)).ok())
                    .flatten()
            })
            .collect();
        if let Some(histories) = direct {
            return Ok((histories, args::Shape::Rows));
        }
    }
    args::bulk(py, data, "histories")
}

#[derive(Serialize)]
struct Fit<M> {
    model: M,
    log_likelihood: f64,
    iterations: u32,
}

/// Per-customer histories (frequency, recency, age, monetary) from
/// transactions up to `calibration_end`, in periods of `period_days` days.
#[pyfunction]
#[pyo3(signature = (transactions, calibration_end, period_days=7.0))]
pub fn predict_histories<'py>(
    py: Python<'py>,
    transactions: &Bound<'py, PyAny>,
    calibration_end: &Bound<'py, PyAny>,
    period_days: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let (transactions, shape): (Vec<Transaction>, args::Shape) =
        args::bulk(py, transactions, "transactions").py_err(py)?;
    let end: patron::model::Date = args::value(calibration_end, "calibration_end").py_err(py)?;
    let histories = py
        .detach(|| predict::summarize(&transactions, end.get(), period_days))
        .map_err(|e| {
            if e.path() == Some("period_days") {
                e
            } else {
                e.within("transactions")
            }
        })
        .py_err(py)?;
    shape.to_py(py, &histories)
}

/// Fits BG/NBD by maximum likelihood; returns the model, log-likelihood and iterations.
#[pyfunction]
pub fn bgnbd_fit<'py>(
    py: Python<'py>,
    histories: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (histories, _) = read_histories(py, histories).py_err(py)?;
    let (model, report) = py
        .detach(|| BgNbd::fit(&histories))
        .map_err(|e| e.within("histories"))
        .py_err(py)?;
    to_py(
        py,
        &Fit {
            model,
            log_likelihood: report.log_likelihood,
            iterations: report.iterations,
        },
    )
}

/// P(alive) and expected purchases in the next `t` periods for each history.
#[pyfunction]
pub fn bgnbd_predict<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    histories: &Bound<'py, PyAny>,
    t: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let model: BgNbd = args::model(model, "model").py_err(py)?;
    let (histories, shape) = read_histories(py, histories).py_err(py)?;
    let out = py
        .detach(|| model.predict(&histories, t))
        .map_err(|e| {
            if e.path() == Some("t") {
                e
            } else {
                e.within("histories")
            }
        })
        .py_err(py)?;
    shape.to_py(py, &out)
}

/// Expected purchases in the first `t` periods of a new customer.
#[pyfunction]
pub fn bgnbd_expected_new(py: Python<'_>, model: &Bound<'_, PyAny>, t: f64) -> PyResult<f64> {
    let model: BgNbd = args::model(model, "model").py_err(py)?;
    model.expected_purchases_new(t).py_err(py)
}

/// Fits Gamma-Gamma on the histories with repeat purchases.
#[pyfunction]
pub fn gamma_gamma_fit<'py>(
    py: Python<'py>,
    histories: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (histories, _) = read_histories(py, histories).py_err(py)?;
    let (model, report) = py
        .detach(|| GammaGamma::fit(&histories))
        .map_err(|e| e.within("histories"))
        .py_err(py)?;
    to_py(
        py,
        &Fit {
            model,
            log_likelihood: report.log_likelihood,
            iterations: report.iterations,
        },
    )
}

/// The expected order value for each history.
#[pyfunction]
pub fn gamma_gamma_predict<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    histories: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let model: GammaGamma = args::model(model, "model").py_err(py)?;
    let (histories, shape) = read_histories(py, histories).py_err(py)?;
    let out = model
        .predict(&histories)
        .map_err(|e| e.within("histories"))
        .py_err(py)?;
    shape.to_py(py, &out)
}

/// The average-interval rule for every customer: the mean gap between
/// purchase days, the expected next order, and whether `as_of` is past it.
#[pyfunction]
pub fn predict_average_interval<'py>(
    py: Python<'py>,
    transactions: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (transactions, shape): (Vec<Transaction>, args::Shape) =
        args::bulk(py, transactions, "transactions").py_err(py)?;
    let as_of: patron::model::Date = args::value(as_of, "as_of").py_err(py)?;
    let out = predict::average_interval(&transactions, as_of.get())
        .map_err(|e| e.within("transactions"))
        .py_err(py)?;
    shape.to_py(py, &out)
}

/// Customer lifetime value over `horizon` periods in steps of `step`,
/// discounted by `discount` per step.
#[pyfunction]
pub fn predict_clv<'py>(
    py: Python<'py>,
    bgnbd: &Bound<'py, PyAny>,
    gamma_gamma: &Bound<'py, PyAny>,
    histories: &Bound<'py, PyAny>,
    horizon: f64,
    step: f64,
    discount: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let purchases: BgNbd = args::model(bgnbd, "bgnbd").py_err(py)?;
    let value: GammaGamma = args::model(gamma_gamma, "gamma_gamma").py_err(py)?;
    let (histories, shape) = read_histories(py, histories).py_err(py)?;
    let out = py
        .detach(|| predict::clv(&purchases, &value, &histories, horizon, step, discount))
        .map_err(|e| match e.path() {
            Some("horizon" | "step" | "discount") => e,
            _ => e.within("histories"),
        })
        .py_err(py)?;
    shape.to_py(py, &out)
}
