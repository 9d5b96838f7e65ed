//! Parse and validate the data model from Python objects or JSON text.
//!
//! Each function returns the normalized form as plain Python objects (dicts,
//! lists, aware `datetime` in UTC, `date`), or raises a `patron.errors`
//! exception that names the field path.

use patron::model::{Catalog, ConsentChange, Contact, Event, Product};
use patron::parse::{self, Model};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyList, PyTuple};

use crate::convert::{PyBuilder, to_py, to_value, type_name};
use crate::depythonize::PyDe;
use crate::error::{IntoPyResult, to_pyerr};

/// JSON text as `str` or UTF-8 `bytes`.
#[derive(FromPyObject)]
pub enum JsonText {
    /// A `str`.
    Str(PyBackedStr),
    /// UTF-8 `bytes`.
    Bytes(PyBackedBytes),
}

impl JsonText {
    pub fn as_str(&self) -> patron::Result<&str> {
        match self {
            JsonText::Str(s) => Ok(s),
            JsonText::Bytes(b) => std::str::from_utf8(b).map_err(|e| patron::Error::Json {
                line: 1,
                column: e.valid_up_to() + 1,
                message: "the bytes are not valid UTF-8".into(),
            }),
        }
    }
}

/// Reads an event dict: in one pass when `type` comes first and all is well,
/// else through a JSON value, which names the path of any error.
pub fn event_of(data: &Bound<'_, PyAny>) -> patron::Result<Event> {
    if let Some(event) = parse::event_type_first(PyDe::new(data)) {
        return Ok(event);
    }
    let value = to_value(data).map_err(|e| e.into_core())?;
    Event::from_value(value)
}

/// Reads a Python object into the core's JSON value, or raises ValidationError.
pub fn value_of(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    to_value(data).map_err(|e| to_pyerr(py, e.into_core()))
}

/// Reads any model type from a Python object, through a JSON value.
fn read<T: Model>(data: &Bound<'_, PyAny>) -> patron::Result<T> {
    T::from_value(to_value(data).map_err(|e| e.into_core())?)
}

/// A Python object in, a validated value's normalized form out.
fn one<'py, T: Model>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    read: fn(&Bound<'_, PyAny>) -> patron::Result<T>,
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &read(data).py_err(py)?)
}

fn one_json<'py, T: Model + Send>(py: Python<'py>, text: JsonText) -> PyResult<Bound<'py, PyAny>> {
    let parsed = py
        .detach(|| text.as_str().and_then(T::from_json))
        .py_err(py)?;
    to_py(py, &parsed)
}

/// One item at a time: convert, validate, build. The work is mostly building
/// Python objects, which needs the GIL, and no list of intermediate values
/// outlives its item.
fn many<'py, T: Model>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    read: fn(&Bound<'_, PyAny>) -> patron::Result<T>,
) -> PyResult<Bound<'py, PyAny>> {
    if !(data.is_instance_of::<PyList>() || data.is_instance_of::<PyTuple>()) {
        let message = format!("expected a list, got {}", type_name(data));
        return Err(to_pyerr(py, patron::Error::invalid("", message)));
    }
    let builder = PyBuilder::new(py);
    let out = PyList::empty(py);
    for (i, item) in data.try_iter()?.enumerate() {
        let parsed = read(&item?).map_err(|e| to_pyerr(py, e.within(&format!("[{i}]"))))?;
        out.append(builder.build(&parsed)?)?;
    }
    Ok(out.into_any())
}

fn many_json<'py, T: Model + Send>(py: Python<'py>, text: JsonText) -> PyResult<Bound<'py, PyAny>> {
    let parsed = py
        .detach(|| text.as_str().and_then(parse::list_from_json::<T>))
        .py_err(py)?;
    let builder = PyBuilder::new(py);
    let out = PyList::empty(py);
    for item in &parsed {
        out.append(builder.build(item)?)?;
    }
    Ok(out.into_any())
}

/// Validates a contact dict and returns its normalized form.
#[pyfunction]
pub fn parse_contact<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    one(py, data, read::<Contact>)
}

/// Validates a contact given as JSON text (str or bytes).
#[pyfunction]
pub fn parse_contact_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    one_json::<Contact>(py, text)
}

/// Validates a list of contact dicts; an error path starts with the index.
#[pyfunction]
pub fn parse_contacts<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    many(py, data, read::<Contact>)
}

/// Validates a JSON array of contacts.
#[pyfunction]
pub fn parse_contacts_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    many_json::<Contact>(py, text)
}

/// Validates a product dict.
#[pyfunction]
pub fn parse_product<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    one(py, data, read::<Product>)
}

/// Validates a product given as JSON text.
#[pyfunction]
pub fn parse_product_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    one_json::<Product>(py, text)
}

/// Validates a whole catalog: the category tree, the products and their links.
#[pyfunction]
pub fn parse_catalog<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    one(py, data, read::<Catalog>)
}

/// Validates a catalog given as JSON text.
#[pyfunction]
pub fn parse_catalog_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    one_json::<Catalog>(py, text)
}

/// Validates an event dict (tagged by `type`).
#[pyfunction]
pub fn parse_event<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    one(py, data, event_of)
}

/// Validates an event given as JSON text.
#[pyfunction]
pub fn parse_event_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    one_json::<Event>(py, text)
}

/// Validates a list of event dicts; an error path starts with the index.
#[pyfunction]
pub fn parse_events<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    many(py, data, event_of)
}

/// Validates a JSON array of events.
#[pyfunction]
pub fn parse_events_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    many_json::<Event>(py, text)
}

/// Checks a list of event dicts without building the normalized form: the fast
/// path for high-volume streams that store the raw events. Raises like
/// `parse_events`.
#[pyfunction]
pub fn validate_events(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    if !(data.is_instance_of::<PyList>() || data.is_instance_of::<PyTuple>()) {
        let message = format!("expected a list, got {}", type_name(data));
        return Err(to_pyerr(py, patron::Error::invalid("", message)));
    }
    for (i, item) in data.try_iter()?.enumerate() {
        event_of(&item?).map_err(|e| to_pyerr(py, e.within(&format!("[{i}]"))))?;
    }
    Ok(())
}

/// Checks one event dict without building the normalized form.
#[pyfunction]
pub fn validate_event(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    event_of(data).py_err(py)?;
    Ok(())
}

/// Validates a consent change dict.
#[pyfunction]
pub fn parse_consent_change<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    one(py, data, read::<ConsentChange>)
}

/// Validates a consent change given as JSON text.
#[pyfunction]
pub fn parse_consent_change_json(py: Python<'_>, text: JsonText) -> PyResult<Bound<'_, PyAny>> {
    one_json::<ConsentChange>(py, text)
}

/// Applies a consent change to a contact and returns the updated contact.
/// Raises ConsentTransitionError for a change the current state does not
/// allow; the input is never modified.
#[pyfunction]
pub fn apply_consent<'py>(
    py: Python<'py>,
    contact: &Bound<'py, PyAny>,
    change: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut contact = Contact::from_value(value_of(py, contact)?)
        .map_err(|e| e.within("contact"))
        .py_err(py)?;
    let change = ConsentChange::from_value(value_of(py, change)?)
        .map_err(|e| e.within("change"))
        .py_err(py)?;
    contact.apply_consent(&change).py_err(py)?;
    to_py(py, &contact)
}
