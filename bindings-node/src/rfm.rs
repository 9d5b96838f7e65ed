//! RFM scores, named segments and the four-group scheme (JSON text in and out).

use napi_derive::napi;
use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::rfm::{self, CustomerSummary, FourGroupConfig, RfmConfig, SegmentTable};
use serde_json::json;

use crate::error::IntoJsResult;

fn customers_of(text: &str) -> patron::Result<Vec<CustomerSummary>> {
    parse::list_from_json(text).map_err(|e| e.within("customers"))
}

fn timestamp_of(text: &str) -> patron::Result<Timestamp> {
    serde_json::from_str(text).map_err(|e| patron::Error::invalid("as_of", e.to_string()))
}

fn config_of<T: Model>(text: &str) -> patron::Result<T> {
    T::from_json(text).map_err(|e| e.within("config"))
}

/// RFM scores of every customer who has bought, in input order.
#[napi]
pub fn rfm_scores_json(customers: String, as_of: String, config: String) -> napi::Result<String> {
    let customers = customers_of(&customers).js_err()?;
    let as_of = timestamp_of(&as_of).js_err()?;
    let config: RfmConfig = config_of(&config).js_err()?;
    config.check().map_err(|e| e.within("config")).js_err()?;
    let scores = rfm::score(&customers, as_of, &config)
        .map_err(|e| e.within("customers"))
        .js_err()?;
    Ok(parse::to_json(&scores))
}

/// The four-group scheme for every customer, in input order.
#[napi]
pub fn rfm_four_groups_json(
    customers: String,
    as_of: String,
    config: String,
) -> napi::Result<String> {
    let customers = customers_of(&customers).js_err()?;
    let as_of = timestamp_of(&as_of).js_err()?;
    let config: FourGroupConfig = config_of(&config).js_err()?;
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
