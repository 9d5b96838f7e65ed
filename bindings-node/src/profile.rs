//! Profiles and their facts (JSON text in and out).

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::parse;
use patron::profile::{self, Profile};
use patron::{Catalog, Contact, Event};
use serde_json::json;

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};

/// Folds one event into a profile (`"null"` starts the event's contact's
/// profile); returns `{profile, applied}`.
#[napi]
pub fn apply_event_json(profile: String, event: String) -> napi::Result<String> {
    let event: Event = args::model(&event, "event").js_err()?;
    let mut profile = if profile.trim() == "null" {
        Profile::for_event(&event)
            .map_err(|e| e.within("event"))
            .js_err()?
    } else {
        args::model::<Profile>(&profile, "profile").js_err()?
    };
    let applied = profile
        .apply(&event)
        .map_err(|e| e.within("event"))
        .js_err()?;
    Ok(parse::to_json(
        &json!({"profile": profile, "applied": applied}),
    ))
}

/// Runs off the JavaScript thread: the profile of every contact in an event log.
#[napi]
pub fn build_profiles_json(events: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let events: Vec<Event> = args::list(&events, "events").js_err()?;
        let profiles = profile::build(&events)
            .map_err(|e| e.within("events"))
            .js_err()?;
        Ok(parse::to_json(&profiles))
    })
}

/// Runs off the JavaScript thread: the facts of every profile at `as_of`
/// (`catalog` is `"null"` for none).
#[napi]
pub fn profile_facts_json(
    profiles: String,
    as_of: String,
    catalog: String,
    contacts: String,
    rfm: String,
    lifecycle: String,
    predict: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let profiles: Vec<Profile> = args::list(&profiles, "profiles").js_err()?;
        let as_of = args::value(&as_of, "as_of").js_err()?;
        let catalog: Option<Catalog> = args::optional_model(&catalog, "catalog").js_err()?;
        let contacts: Option<Vec<Contact>> = args::optional_list(&contacts, "contacts").js_err()?;
        let enrich = profile::Enrich {
            rfm: args::optional_model(&rfm, "rfm").js_err()?,
            lifecycle: args::optional_model(&lifecycle, "lifecycle").js_err()?,
            predict: args::optional_model(&predict, "predict").js_err()?,
        };
        let index = catalog.as_ref().map(Catalog::index);
        let facts = profile::facts_with(
            &profiles,
            as_of,
            index.as_ref(),
            contacts.as_deref(),
            &enrich,
        )
        .js_err()?;
        Ok(parse::to_json(&facts))
    })
}

/// Runs off the JavaScript thread: what RFM and the lifecycle grid read.
#[napi]
pub fn customer_summaries_json(profiles: String, as_of: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let profiles: Vec<Profile> = args::list(&profiles, "profiles").js_err()?;
        let as_of = args::value(&as_of, "as_of").js_err()?;
        let summaries = profile::summaries(&profiles, as_of)
            .map_err(|e| e.within("profiles"))
            .js_err()?;
        Ok(parse::to_json(&summaries))
    })
}

/// Runs off the JavaScript thread: the purchases as transactions.
#[napi]
pub fn profile_transactions_json(profiles: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let profiles: Vec<Profile> = args::list(&profiles, "profiles").js_err()?;
        let transactions = profile::transactions(&profiles)
            .map_err(|e| e.within("profiles"))
            .js_err()?;
        Ok(parse::to_json(&transactions))
    })
}
