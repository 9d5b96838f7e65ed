//! RFM scores, named segments and the four-group scheme (JSON text in and out).

use napi_derive::napi;
use patron::parse;
use patron::rfm::{self, FourGroupConfig, RfmConfig, SegmentTable};
use serde_json::json;

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};
use napi::bindgen_prelude::AsyncTask;

/// RFM scores of every customer who has bought, in input order.
fn rfm_scores(customers: String, as_of: String, config: String) -> napi::Result<String> {
    let customers = args::list(&customers, "customers").js_err()?;
    let as_of = args::value(&as_of, "as_of").js_err()?;
    let config: RfmConfig = args::config(&config).js_err()?;
    config.check().map_err(|e| e.within("config")).js_err()?;
    let scores = rfm::score(&customers, as_of, &config)
        .map_err(|e| e.within("customers"))
        .js_err()?;
    Ok(parse::to_json(&scores))
}

/// The four-group scheme for every customer, in input order.
fn rfm_four_groups(customers: String, as_of: String, config: String) -> napi::Result<String> {
    let customers = args::list(&customers, "customers").js_err()?;
    let as_of = args::value(&as_of, "as_of").js_err()?;
    let config: FourGroupConfig = args::config(&config).js_err()?;
    config.check().map_err(|e| e.within("config")).js_err()?;
    let groups = rfm::four_groups(&customers, as_of, &config)
        .map_err(|e| e.within("customers"))
        .js_err()?;
    let out: Vec<_> = customers
        .iter()
        .zip(groups)
        .map(|(c, group)| json!({"contact_id": c.contact_id, "group": group}))
        .collect();
    Ok(parse::to_json(&out))
}

/// The default named-segment table.
#[napi]
pub fn rfm_default_segments_json() -> String {
    parse::to_json(&SegmentTable::default())
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn rfm_scores_json(customers: String, as_of: String, config: String) -> AsyncTask<JsonTask> {
    task::spawn(move || rfm_scores(customers, as_of, config))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn rfm_four_groups_json(
    customers: String,
    as_of: String,
    config: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || rfm_four_groups(customers, as_of, config))
}
