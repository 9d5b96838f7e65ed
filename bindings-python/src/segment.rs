//! Segments from Python: rules checked as a whole, members, explanations,
//! and membership over time (static segments, updates, changes, overlaps).

use patron::Event;
use patron::profile::Facts;
use patron::segment::{self, Membership, Registry};
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

/// Fixes segment `name`'s members now, over the whole base: the static
/// segment to keep (`{"members": [...], "frozen_at": ...}`).
#[pyfunction]
pub fn freeze_segment<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
    name: &str,
    facts: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let (facts, _): (Vec<Facts>, _) = args::bulk(py, facts, "facts").py_err(py)?;
    let frozen = py
        .detach(|| registry.freeze(name, &facts))
        .map_err(|e| e.within("name"))
        .py_err(py)?;
    to_py(py, &frozen)
}

/// One contact's segments from its new facts, and the segments it entered
/// and left since `previous` (the membership kept from the last update;
/// `None` for a new contact). With the `event` the facts now hold, only the
/// segments it can change are evaluated again.
#[pyfunction]
#[pyo3(signature = (segments, previous, facts, event = None))]
pub fn update_segments<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
    previous: Option<&Bound<'py, PyAny>>,
    facts: &Bound<'py, PyAny>,
    event: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let previous: Option<Membership> = args::optional_model(previous, "previous").py_err(py)?;
    let facts: Facts = args::model(facts, "facts").py_err(py)?;
    let event: Option<Event> = args::optional_model(event, "event").py_err(py)?;
    let update = match &event {
        Some(event) => registry.update_after(previous.as_ref(), &facts, event),
        None => registry.update(previous.as_ref(), &facts),
    }
    .py_err(py)?;
    to_py(py, &update)
}

/// The segments each contact entered and left from snapshot `before` to
/// snapshot `after` (both whole: a contact missing from one is in no
/// segment there), all at time `at`.
#[pyfunction]
pub fn segment_changes<'py>(
    py: Python<'py>,
    before: &Bound<'py, PyAny>,
    after: &Bound<'py, PyAny>,
    at: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let before: Vec<Membership> = args::list(before, "before").py_err(py)?;
    let after: Vec<Membership> = args::list(after, "after").py_err(py)?;
    let at = args::value(at, "at").py_err(py)?;
    let out = py.detach(|| segment::changes(&before, &after, at));
    to_py(py, &out)
}

/// How many contacts each segment holds and how many each pair shares,
/// from the memberships of a whole base (`segment_members`).
#[pyfunction]
pub fn segment_overlap<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
    memberships: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let memberships: Vec<Membership> = args::list(memberships, "memberships").py_err(py)?;
    let out = py
        .detach(|| registry.overlap(&memberships))
        .map_err(|e| e.within("memberships"))
        .py_err(py)?;
    to_py(py, &out)
}

/// Every segment over a table of facts (a pyarrow table, a polars or pandas
/// DataFrame, or a dict of columns named by field path, such as `orders`
/// or `contact.city`), all of moment `as_of`. Returns an Arrow table with
/// one boolean column per segment, a row per row of `table`.
#[pyfunction]
pub fn evaluate_segments<'py>(
    py: Python<'py>,
    segments: &Bound<'py, PyAny>,
    table: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = registry(segments).py_err(py)?;
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let columns = crate::columns::read_table(table, "table").py_err(py)?;
    let all = py
        .detach(|| {
            let table = crate::columns::segment_table(&columns, as_of, "table")?;
            registry
                .evaluate_table(&table)
                .map_err(|e| e.within("segments"))
        })
        .py_err(py)?;
    crate::columns::evaluation_table(py, &all)
}
