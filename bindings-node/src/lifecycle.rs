//! The lifecycle grid (JSON text in and out).

use napi_derive::napi;
use patron::lifecycle::{self, LifecycleConfig};
use patron::parse;

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};
use napi::bindgen_prelude::AsyncTask;

/// The lifecycle cell and region of every buyer, in input order.
fn lifecycle_place(customers: String, as_of: String, config: String) -> napi::Result<String> {
    let customers = args::list(&customers, "customers").js_err()?;
    let as_of = args::value(&as_of, "as_of").js_err()?;
    let config: LifecycleConfig = args::config(&config).js_err()?;
    config.check().map_err(|e| e.within("config")).js_err()?;
    let places = lifecycle::place(&customers, as_of, &config)
        .map_err(|e| e.within("customers"))
        .js_err()?;
    Ok(parse::to_json(&places))
}

/// Contacts whose lifecycle cell changed between two dates.
fn lifecycle_moves(
    before: String,
    before_at: String,
    after: String,
    after_at: String,
    config: String,
) -> napi::Result<String> {
    let before = args::list(&before, "before").js_err()?;
    let before_at = args::value(&before_at, "before_at").js_err()?;
    let after = args::list(&after, "after").js_err()?;
    let after_at = args::value(&after_at, "after_at").js_err()?;
    let config: LifecycleConfig = args::config(&config).js_err()?;
    config.check().map_err(|e| e.within("config")).js_err()?;
    let moves = lifecycle::moves(&before, before_at, &after, after_at, &config).js_err()?;
    Ok(parse::to_json(&moves))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn lifecycle_place_json(
    customers: String,
    as_of: String,
    config: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || lifecycle_place(customers, as_of, config))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn lifecycle_moves_json(
    before: String,
    before_at: String,
    after: String,
    after_at: String,
    config: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || lifecycle_moves(before, before_at, after, after_at, config))
}
