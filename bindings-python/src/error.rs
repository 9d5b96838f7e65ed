//! The one place where core errors become Python exceptions.
//!
//! The exception classes live in `patron/errors.py` (so that they can inherit
//! from both `PatronError` and `ValueError`); each gets `code`, `path`, `line`
//! and `column` attributes.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python class for a core error code.
fn class_name(code: &str) -> &'static str {
    match code {
        "json" => "JsonError",
        "validation" => "ValidationError",
        "consent_transition" => "ConsentTransitionError",
        "convergence" => "ConvergenceError",
        "io" => "IoError",
        "template" => "TemplateError",
        "exhausted" => "ExhaustedError",
        "limit" => "LimitError",
        _ => "PatronError",
    }
}

/// Converts a core error into the matching `patron.errors` exception.
pub fn to_pyerr(py: Python<'_>, e: patron::Error) -> PyErr {
    match build(py, &e) {
        Ok(err) => err,
        Err(failed) => failed,
    }
}

fn build(py: Python<'_>, e: &patron::Error) -> PyResult<PyErr> {
    let module = ERRORS.get_or_try_init(py, || py.import("patron.errors").map(Bound::unbind))?;
    let class = module.bind(py).getattr(class_name(e.code()))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", e.code())?;
    kwargs.set_item("path", e.path())?;
    let location = e.location();
    kwargs.set_item("line", location.map(|l| l.line))?;
    kwargs.set_item("column", location.map(|l| l.column))?;
    let instance = class.call((e.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// The Python class for a store error code (the core's codes map as above).
fn store_class_name(code: &str) -> &'static str {
    match code {
        "corrupt" => "CorruptError",
        "newer_schema" => "NewerSchemaError",
        "full" => "DiskFullError",
        "busy" => "BusyError",
        "database" => "DatabaseError",
        "no_config" => "NoConfigError",
        "channel" => "ChannelError",
        other => class_name(other),
    }
}

/// Converts a store error into the matching `patron.errors` exception: the
/// core's kinds as everywhere, the store's own as `StoreError` subclasses.
/// A bad line of JSON lines carries that line, and the column within it.
pub fn store_err(py: Python<'_>, e: patron_store::Error) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let module =
            ERRORS.get_or_try_init(py, || py.import("patron.errors").map(Bound::unbind))?;
        let class = module.bind(py).getattr(store_class_name(e.code()))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", e.code())?;
        kwargs.set_item("path", e.path())?;
        kwargs.set_item("line", e.line())?;
        kwargs.set_item("column", e.column())?;
        let instance = class.call((e.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    })();
    built.unwrap_or_else(|failed| failed)
}

/// `?` for core results inside Python functions.
pub trait IntoPyResult<T> {
    /// Maps the error to its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for patron::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}
