//! Segments from Python: rules checked as a whole, members, explanations.

use patron::profile::Facts;
use patron::segment::Registry;
use pyo3::prelude::*;

use crate::args;
use crate::convert::{to_py, to_value};
use crate::error::IntoPyResult;

/// Segments (a dict of name to rule) as a checked registry; errors start at `segments`.
pub(crate) fn registry(segments: &Bound<'_, PyAny>) -> patron::Result<Registry> {
    let value = to_value(segments).map_err(|e| e.into_core().within("segments"))?;
    Registry::from_value(value).map_err(|e| e.within("segments"))
}

/// Checks segments (a dict of name to rule) as a whole: fields, types,
/// references and cycles. Returns the names, in order.
#[pyfunction]
pub fn check_segments<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let names: Vec<&str> = registry.names().collect();
    to_py(py, &names)
}

/// The segments each contact is in, from their facts (`profile_facts`).
#[pyfunction]
pub fn segment_members<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
    facts: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let (facts, shape): (Vec<Facts>, _) = args::bulk(py, facts, "facts").py_err(py)?;
    let out = py
        .detach(|| registry.members(&facts))
        .map_err(|e| e.within("facts"))
        .py_err(py)?;
    shape.to_py(py, &out)
}

/// Why one contact is in segment `name` or not, part by part.
#[pyfunction]
pub fn explain_segment<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
    name: &str,
    facts: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let facts: Facts = args::model(facts, "facts").py_err(py)?;
    let why = registry
        .explain(name, &facts)
        .map_err(|e| e.within("name"))
        .py_err(py)?;
    to_py(py, &why)
}

/// A rule in the text syntax (`orders >= 3 and last_order_at within 30
/// days`), checked, in its JSON form.
#[pyfunction]
pub fn parse_segment_rule<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let rule = patron::segment::Rule::parse(text).py_err(py)?;
    to_py(py, &rule)
}
