//! Segments (JSON text in and out): rules checked as a whole, members,
//! explanations, and membership over time (static segments, updates,
//! changes, overlaps).

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::Event;
use patron::parse::{self, Model};
use patron::profile::Facts;
use patron::segment::{self, Membership, Registry};

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};

fn registry(segments: &str) -> patron::Result<Registry> {
    Registry::from_json(segments).map_err(|e| e.within("segments"))
}

/// Checks segments as a whole; returns the names, in order.
#[napi]
pub fn check_segments_json(segments: String) -> napi::Result<String> {
    let registry = registry(&segments).js_err()?;
    Ok(parse::to_json(&registry.names().collect::<Vec<_>>()))
}

/// Runs off the JavaScript thread: the segments each contact is in.
#[napi]
pub fn segment_members_json(segments: String, facts: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let registry = registry(&segments).js_err()?;
        let facts: Vec<Facts> = args::list(&facts, "facts").js_err()?;
        let out = registry
            .members(&facts)
            .map_err(|e| e.within("facts"))
            .js_err()?;
        Ok(parse::to_json(&out))
    })
}

/// Why one contact is in segment `name` or not, part by part.
#[napi]
pub fn explain_segment_json(segments: String, name: String, facts: String) -> napi::Result<String> {
    let registry = registry(&segments).js_err()?;
    let facts = Facts::from_json(&facts)
        .map_err(|e| e.within("facts"))
        .js_err()?;
    let why = registry
        .explain(&name, &facts)
        .map_err(|e| e.within("name"))
        .js_err()?;
    Ok(parse::to_json(&why))
}

/// A rule in the text syntax, checked, in its JSON form.
#[napi]
pub fn parse_segment_rule_json(text: String) -> napi::Result<String> {
    let rule = patron::segment::Rule::parse(&text).js_err()?;
    Ok(parse::to_json(&rule))
}

/// Runs off the JavaScript thread: segment `name`'s members fixed now.
#[napi]
pub fn freeze_segment_json(segments: String, name: String, facts: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let registry = registry(&segments).js_err()?;
        let facts: Vec<Facts> = args::list(&facts, "facts").js_err()?;
        let frozen = registry
            .freeze(&name, &facts)
            .map_err(|e| e.within("name"))
            .js_err()?;
        Ok(parse::to_json(&frozen))
    })
}

/// One contact's segments from its new facts, and what it entered and left
/// since `previous` (`null` for a new contact).
#[napi]
pub fn update_segments_json(
    segments: String,
    previous: String,
    facts: String,
    event: String,
) -> napi::Result<String> {
    let registry = registry(&segments).js_err()?;
    let previous: Option<Membership> = args::optional_model(&previous, "previous").js_err()?;
    let facts = Facts::from_json(&facts)
        .map_err(|e| e.within("facts"))
        .js_err()?;
    let event: Option<Event> = args::optional_model(&event, "event").js_err()?;
    let update = match &event {
        Some(event) => registry.update_after(previous.as_ref(), &facts, event),
        None => registry.update(previous.as_ref(), &facts),
    }
    .js_err()?;
    Ok(parse::to_json(&update))
}

/// Runs off the JavaScript thread: entered and left from snapshot `before`
/// to snapshot `after`, at `at`.
#[napi]
pub fn segment_changes_json(before: String, after: String, at: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let before: Vec<Membership> = args::list(&before, "before").js_err()?;
        let after: Vec<Membership> = args::list(&after, "after").js_err()?;
        let at = args::value(&at, "at").js_err()?;
        Ok(parse::to_json(&segment::changes(&before, &after, at)))
    })
}

/// Runs off the JavaScript thread: the size of every segment and pair.
#[napi]
pub fn segment_overlap_json(segments: String, memberships: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let registry = registry(&segments).js_err()?;
        let memberships: Vec<Membership> = args::list(&memberships, "memberships").js_err()?;
        let out = registry
            .overlap(&memberships)
            .map_err(|e| e.within("memberships"))
            .js_err()?;
        Ok(parse::to_json(&out))
    })
}

/// Every segment over a table of facts (an object of field path to a list
/// of values, all of moment `as_of`): per segment, true or false per row.
fn evaluate_segments(segments: String, table: String, as_of: String) -> napi::Result<String> {
    let registry = registry(&segments).js_err()?;
    let as_of: patron::model::Timestamp = args::value(&as_of, "as_of").js_err()?;
    let table: serde_json::Value = args::value(&table, "table").js_err()?;
    let table = segment::Table::from_json_value(as_of, &table)
        .map_err(|e| e.within("table"))
        .js_err()?;
    let all = registry
        .evaluate_table(&table)
        .map_err(|e| e.within("segments"))
        .js_err()?;
    let mut out = serde_json::Map::new();
    for name in all.segments() {
        let mut inside = vec![false; all.len()];
        for row in all.rows(name).js_err()? {
            inside[row] = true;
        }
        out.insert(name.clone(), serde_json::Value::from(inside));
    }
    Ok(serde_json::Value::Object(out).to_string())
}

/// Runs off the JavaScript thread; see `evaluate_segments`.
#[napi]
pub fn evaluate_segments_json(
    segments: String,
    table: String,
    as_of: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || evaluate_segments(segments, table, as_of))
}
