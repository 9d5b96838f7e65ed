//! Triggers from Python: a `TriggerEngine` built once from a rule set (so
//! each event costs only the decision), the per-contact state, presets.

use patron::Catalog;
use patron::Event;
use patron::profile::Facts;
use patron::trigger::{self, Config, ContactState, Engine};
use pyo3::prelude::*;

use crate::args;
use crate::convert::{to_py, to_value};
use crate::error::IntoPyResult;

/// A stored state, migrated when older, refused when newer; errors start at `state`.
fn state(data: &Bound<'_, PyAny>) -> patron::Result<ContactState> {
    let value = to_value(data).map_err(|e| e.into_core().within("state"))?;
    <ContactState as patron::parse::Model>::from_value(value).map_err(|e| e.within("state"))
}

/// The state given, or a new one for the facts' contact when `None`.
fn state_or_new(data: Option<&Bound<'_, PyAny>>, facts: &Facts) -> patron::Result<ContactState> {
    match data.filter(|d| !d.is_none()) {
        Some(d) => state(d),
        None => Ok(ContactState::new(facts.contact_id.clone())),
    }
}

/// The arguments every engine call takes: the state (or a new one), the
/// facts, and `now`; errors start at the argument's name.
fn call_args(
    state: Option<&Bound<'_, PyAny>>,
    facts: &Bound<'_, PyAny>,
    now: &Bound<'_, PyAny>,
) -> patron::Result<(ContactState, Facts, patron::model::Timestamp)> {
    let facts: Facts = args::model(facts, "facts")?;
    let state = state_or_new(state, &facts)?;
    let now = args::value(now, "now")?;
    Ok((state, facts, now))
}

/// A checked rule set: rules, the segments they name, the delivery policy.
/// Build it once and call it for every event and wake-up.
#[pyclass(module = "patron._native", frozen)]
pub struct TriggerEngine {
    engine: Engine,
}

#[pymethods]
impl TriggerEngine {
    /// Checks `config` whole; `catalog` is needed when a product trigger
    /// filters by category or brand.
    #[new]
    #[pyo3(signature = (config, catalog=None))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        catalog: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TriggerEngine> {
        let config: Config = args::model(config, "config").py_err(py)?;
        let catalog: Option<Catalog> = args::optional_model(catalog, "catalog").py_err(py)?;
        let engine = Engine::new(config, catalog.as_ref())
            .map_err(|e| e.within("config"))
            .py_err(py)?;
        Ok(TriggerEngine { engine })
    }

    /// The rule ids, in order.
    #[getter]
    fn rule_ids(&self) -> Vec<String> {
        self.engine
            .config()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect()
    }

    /// The config, in its normalized JSON form.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.engine.config())
    }

    /// One event for one contact: returns `{state, actions, next_wakeup,
    /// ignored}`. `state` is the stored state (`None` for a new contact);
    /// `facts` are the contact's facts after the event, with its record.
    fn handle<'py>(
        &self,
        py: Python<'py>,
        state: Option<&Bound<'py, PyAny>>,
        facts: &Bound<'py, PyAny>,
        event: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (state, facts, now) = call_args(state, facts, now).py_err(py)?;
        let event: Event = args::model(event, "event").py_err(py)?;
        let out = self
            .engine
            .handle_owned(state, &facts, &event, now)
            .py_err(py)?;
        to_py(py, &out)
    }

    /// A wake-up at `now`: what time triggers and every step due.
    fn due<'py>(
        &self,
        py: Python<'py>,
        state: Option<&Bound<'py, PyAny>>,
        facts: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (state, facts, now) = call_args(state, facts, now).py_err(py)?;
        let out = self.engine.due_owned(state, &facts, now).py_err(py)?;
        to_py(py, &out)
    }

    /// `due` after the facts changed without an event (the contact's record
    /// edited, RFM scored again): reads every watched segment again, then
    /// does what `due` does.
    fn refresh<'py>(
        &self,
        py: Python<'py>,
        state: Option<&Bound<'py, PyAny>>,
        facts: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (state, facts, now) = call_args(state, facts, now).py_err(py)?;
        let out = self.engine.refresh_owned(state, &facts, now).py_err(py)?;
        to_py(py, &out)
    }

    /// Takes on an existing contact without firing: records its segments,
    /// lifecycle region and at-risk verdict now. Returns the state.
    fn adopt<'py>(
        &self,
        py: Python<'py>,
        state: Option<&Bound<'py, PyAny>>,
        facts: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (state, facts, now) = call_args(state, facts, now).py_err(py)?;
        let out = self.engine.adopt_owned(state, &facts, now).py_err(py)?;
        to_py(py, &out)
    }

    /// Every action the rules take for `contacts` over `events` (any order),
    /// waking up at each wake-up until `until`: the timeline, in time order.
    #[pyo3(signature = (contacts, events, until, catalog=None))]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        contacts: &Bound<'py, PyAny>,
        events: &Bound<'py, PyAny>,
        until: &Bound<'py, PyAny>,
        catalog: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let contacts = args::list(contacts, "contacts").py_err(py)?;
        let events: Vec<Event> = args::list(events, "events").py_err(py)?;
        let until = args::value(until, "until").py_err(py)?;
        let catalog: Option<Catalog> = args::optional_model(catalog, "catalog").py_err(py)?;
        let out = py
            .detach(|| {
                trigger::simulate(&self.engine, &contacts, &events, catalog.as_ref(), until)
                    .map_err(|e| e.within("events"))
            })
            .py_err(py)?;
        to_py(py, &out)
    }
}

/// The state of a contact the engine has not seen yet.
#[pyfunction]
pub fn new_trigger_state<'py>(py: Python<'py>, contact_id: &str) -> PyResult<Bound<'py, PyAny>> {
    let id = patron::model::Id::new(contact_id)
        .map_err(|e| e.within("contact_id"))
        .py_err(py)?;
    to_py(py, &ContactState::new(id))
}

/// A stored state read back: migrated when older, refused when newer.
#[pyfunction]
pub fn read_trigger_state<'py>(
    py: Python<'py>,
    state: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let state = self::state(state).py_err(py)?;
    to_py(py, &state)
}

/// When to call `due` next for this state; `None` when nothing is scheduled.
#[pyfunction]
pub fn next_wakeup<'py>(py: Python<'py>, state: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let state = self::state(state).py_err(py)?;
    to_py(py, &state.next_wakeup())
}

/// The classic scenarios as a config (rules, segments, default policy).
#[pyfunction]
pub fn trigger_presets(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let config = trigger::presets::config().py_err(py)?;
    to_py(py, &config)
}
