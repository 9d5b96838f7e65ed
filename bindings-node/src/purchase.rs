//! Purchases (a shop's order table) summed per customer, and RFM straight
//! from them (JSON text in and out).

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::parse;
use patron::purchase::{self, Purchase};
use patron::rfm::{self, RfmConfig};

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};

/// Runs off the JavaScript thread: customer summaries from purchases.
#[napi]
pub fn summarize_purchases_json(purchases: String, as_of: String) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let purchases: Vec<Purchase> = args::list(&purchases, "purchases").js_err()?;
        let as_of = args::value(&as_of, "as_of").js_err()?;
        let out = purchase::summarize(&purchases, as_of)
            .map_err(|e| e.within("purchases"))
            .js_err()?;
        Ok(parse::to_json(&out))
    })
}

/// Runs off the JavaScript thread: RFM scores straight from purchases.
#[napi]
pub fn rfm_from_purchases_json(
    purchases: String,
    as_of: String,
    config: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let purchases: Vec<Purchase> = args::list(&purchases, "purchases").js_err()?;
        let as_of = args::value(&as_of, "as_of").js_err()?;
        let config: RfmConfig = args::config(&config).js_err()?;
        config.check().map_err(|e| e.within("config")).js_err()?;
        let customers = purchase::summarize(&purchases, as_of)
            .map_err(|e| e.within("purchases"))
            .js_err()?;
        let scores = rfm::score(&customers, as_of, &config)
            .map_err(|e| e.within("purchases"))
            .js_err()?;
        Ok(parse::to_json(&scores))
    })
}
