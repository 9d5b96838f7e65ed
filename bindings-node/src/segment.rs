//! Segments (JSON text in and out): rules checked as a whole, members, explanations.

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::parse::{self, Model};
use patron::profile::Facts;
use patron::segment::Registry;

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
