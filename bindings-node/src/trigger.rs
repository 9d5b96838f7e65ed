//! Triggers (JSON text in and out): a `TriggerEngine` built once from a rule
//! set, so each event costs only the decision; the per-contact state; presets.

use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::parse::{self, Model};
use patron::profile::Facts;
use patron::trigger::{self, Config, ContactState, Engine};
use patron::{Catalog, Contact, Event};

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};

/// A stored state (`null`: a new one for the facts' contact); errors start at `state`.
fn state_or_new(state: &str, facts: &Facts) -> patron::Result<ContactState> {
    if state.trim() == "null" {
        return Ok(ContactState::new(facts.contact_id.clone()));
    }
    ContactState::from_json(state).map_err(|e| e.within("state"))
}

/// The arguments every engine call takes: the state (or a new one), the
/// facts, and `now`; errors start at the argument's name.
fn call_args(
    state: &str,
    facts: &str,
    now: &str,
) -> patron::Result<(ContactState, Facts, patron::model::Timestamp)> {
    let facts = Facts::from_json(facts).map_err(|e| e.within("facts"))?;
    let state = state_or_new(state, &facts)?;
    let now = args::value(now, "now")?;
    Ok((state, facts, now))
}

/// A checked rule set; the JavaScript `TriggerEngine` wraps it.
#[napi]
pub struct TriggerEngineNative {
    engine: Arc<Engine>,
}

#[napi]
impl TriggerEngineNative {
    /// Checks the config whole; `catalog` (or `null`) for category and brand filters.
    #[napi(constructor)]
    pub fn new(config: String, catalog: String) -> napi::Result<Self> {
        let config: Config = args::config(&config).js_err()?;
        let catalog: Option<Catalog> = args::optional_model(&catalog, "catalog").js_err()?;
        let engine = Engine::new(config, catalog.as_ref())
            .map_err(|e| e.within("config"))
            .js_err()?;
        Ok(TriggerEngineNative {
            engine: Arc::new(engine),
        })
    }

    /// The config, in its normalized JSON form.
    #[napi]
    pub fn config_json(&self) -> String {
        parse::to_json(self.engine.config())
    }

    /// One event for one contact: the outcome.
    #[napi]
    pub fn handle_json(
        &self,
        state: String,
        facts: String,
        event: String,
        now: String,
    ) -> napi::Result<String> {
        let (state, facts, now) = call_args(&state, &facts, &now).js_err()?;
        let event: Event = args::model(&event, "event").js_err()?;
        let out = self
            .engine
            .handle_owned(state, &facts, &event, now)
            .js_err()?;
        Ok(parse::to_json(&out))
    }

    /// A wake-up at `now`: the outcome.
    #[napi]
    pub fn due_json(&self, state: String, facts: String, now: String) -> napi::Result<String> {
        let (state, facts, now) = call_args(&state, &facts, &now).js_err()?;
        let out = self.engine.due_owned(state, &facts, now).js_err()?;
        Ok(parse::to_json(&out))
    }

    /// `due` after the facts changed without an event: the outcome.
    #[napi]
    pub fn refresh_json(&self, state: String, facts: String, now: String) -> napi::Result<String> {
        let (state, facts, now) = call_args(&state, &facts, &now).js_err()?;
        let out = self.engine.refresh_owned(state, &facts, now).js_err()?;
        Ok(parse::to_json(&out))
    }

    /// Takes on an existing contact without firing: the state.
    #[napi]
    pub fn adopt_json(&self, state: String, facts: String, now: String) -> napi::Result<String> {
        let (state, facts, now) = call_args(&state, &facts, &now).js_err()?;
        let out = self.engine.adopt_owned(state, &facts, now).js_err()?;
        Ok(parse::to_json(&out))
    }

    /// Runs off the JavaScript thread: the timeline of a simulation.
    #[napi]
    pub fn simulate_json(
        &self,
        contacts: String,
        events: String,
        until: String,
        catalog: String,
    ) -> AsyncTask<JsonTask> {
        let engine = Arc::clone(&self.engine);
        task::spawn(move || {
            let contacts: Vec<Contact> = args::list(&contacts, "contacts").js_err()?;
            let events: Vec<Event> = args::list(&events, "events").js_err()?;
            let until = args::value(&until, "until").js_err()?;
            let catalog: Option<Catalog> = args::optional_model(&catalog, "catalog").js_err()?;
            let out = trigger::simulate(&engine, &contacts, &events, catalog.as_ref(), until)
                .map_err(|e| e.within("events"))
                .js_err()?;
            Ok(parse::to_json(&out))
        })
    }
}

/// The state of a contact the engine has not seen yet.
#[napi]
pub fn new_trigger_state_json(contact_id: String) -> napi::Result<String> {
    let id = patron::model::Id::new(&contact_id)
        .map_err(|e| e.within("contact_id"))
        .js_err()?;
    Ok(parse::to_json(&ContactState::new(id)))
}

/// A stored state read back: migrated when older, refused when newer.
#[napi]
pub fn read_trigger_state_json(state: String) -> napi::Result<String> {
    let state = <ContactState as Model>::from_json(&state)
        .map_err(|e| e.within("state"))
        .js_err()?;
    Ok(parse::to_json(&state))
}

/// When to call `due` next for this state, or `null`.
#[napi]
pub fn next_wakeup_json(state: String) -> napi::Result<String> {
    let state = <ContactState as Model>::from_json(&state)
        .map_err(|e| e.within("state"))
        .js_err()?;
    Ok(parse::to_json(&state.next_wakeup()))
}

/// The classic scenarios as a config.
#[napi]
pub fn trigger_presets_json() -> napi::Result<String> {
    Ok(parse::to_json(&trigger::presets::config().js_err()?))
}
