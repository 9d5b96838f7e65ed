//! Profiles and their facts from Python.

use patron::profile::{self, Profile};
use patron::{Catalog, Contact, Event};
use pyo3::prelude::*;
use serde::Serialize;

use crate::args;
use crate::convert::to_py;
use crate::error::IntoPyResult;

/// The profile of every contact in an event log, in contact id order.
/// Events of anonymous visitors and catalog events are skipped.
#[pyfunction]
pub fn build_profiles<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let events: Vec<Event> = args::list(events, "events").py_err(py)?;
    let profiles = py
        .detach(|| profile::build(&events))
        .map_err(|e| e.within("events"))
        .py_err(py)?;
    to_py(py, &profiles)
}

#[derive(Serialize)]
struct Applied {
    profile: Profile,
    applied: bool,
}

/// Folds one event into a profile (`None` starts the event's contact's
/// profile); returns the new profile and whether the event was new.
#[pyfunction]
pub fn apply_event<'py>(
    py: Python<'py>,
    profile: &Bound<'py, PyAny>,
    event: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let event: Event = args::model(event, "event").py_err(py)?;
    let mut profile = if profile.is_none() {
        Profile::for_event(&event)
            .map_err(|e| e.within("event"))
            .py_err(py)?
    } else {
        args::model::<Profile>(profile, "profile").py_err(py)?
    };
    let applied = profile
        .apply(&event)
        .map_err(|e| e.within("event"))
        .py_err(py)?;
    to_py(py, &Applied { profile, applied })
}

/// The facts of every profile at `as_of`, in input order; with `contacts`,
/// each carries its contact's record and contacts without a profile get
/// facts too; with `rfm` (a config, `{}` for the defaults), buyers carry
/// their RFM scored across these facts; with `lifecycle` (a grid, `{}` for
/// the default) their cell; with `predict` (`{"bgnbd": params}`) their
/// BG/NBD predictions.
#[pyfunction]
#[pyo3(signature = (profiles, as_of, catalog=None, contacts=None, rfm=None, lifecycle=None, predict=None))]
#[allow(clippy::too_many_arguments)] // the Python signature: optional keyword arguments
pub fn profile_facts<'py>(
    py: Python<'py>,
    profiles: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
    catalog: Option<&Bound<'py, PyAny>>,
    contacts: Option<&Bound<'py, PyAny>>,
    rfm: Option<&Bound<'py, PyAny>>,
    lifecycle: Option<&Bound<'py, PyAny>>,
    predict: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let profiles: Vec<Profile> = args::list(profiles, "profiles").py_err(py)?;
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let catalog: Option<Catalog> = args::optional_model(catalog, "catalog").py_err(py)?;
    let contacts: Option<Vec<Contact>> = args::optional_list(contacts, "contacts").py_err(py)?;
    let enrich = profile::Enrich {
        rfm: args::optional_model(rfm, "rfm").py_err(py)?,
        lifecycle: args::optional_model(lifecycle, "lifecycle").py_err(py)?,
        predict: args::optional_model(predict, "predict").py_err(py)?,
    };
    let facts = py
        .detach(|| {
            let index = catalog.as_ref().map(Catalog::index);
            profile::facts_with(
                &profiles,
                as_of,
                index.as_ref(),
                contacts.as_deref(),
                &enrich,
            )
        })
        .py_err(py)?;
    to_py(py, &facts)
}

/// What RFM and the lifecycle grid read, for every profile at `as_of`.
#[pyfunction]
pub fn customer_summaries<'py>(
    py: Python<'py>,
    profiles: &Bound<'py, PyAny>,
    as_of: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let profiles: Vec<Profile> = args::list(profiles, "profiles").py_err(py)?;
    let as_of = args::value(as_of, "as_of").py_err(py)?;
    let summaries = py
        .detach(|| profile::summaries(&profiles, as_of))
        .map_err(|e| e.within("profiles"))
        .py_err(py)?;
    to_py(py, &summaries)
}

/// The purchases of every profile as transactions for `predict_histories`.
#[pyfunction]
pub fn profile_transactions<'py>(
    py: Python<'py>,
    profiles: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let profiles: Vec<Profile> = args::list(profiles, "profiles").py_err(py)?;
    let transactions = py
        .detach(|| profile::transactions(&profiles))
        .map_err(|e| e.within("profiles"))
        .py_err(py)?;
    to_py(py, &transactions)
}
