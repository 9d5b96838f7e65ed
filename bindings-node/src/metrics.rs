//! Campaign KPIs, uplift and A/B comparison (JSON text in and out).

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::Event;
use patron::metrics::{self, Assignment, KpiConfig, KpiRow, Metric, UpliftConfig};
use patron::parse;

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};

fn campaign_kpis(events: String, config: String) -> napi::Result<String> {
    let events: Vec<Event> = args::list(&events, "events").js_err()?;
    let config: KpiConfig = args::config(&config).js_err()?;
    let rows = metrics::kpis(&events, &config)
        .map_err(|e| e.within("events"))
        .js_err()?;
    Ok(parse::to_json(&rows))
}

/// Runs off the JavaScript thread; the KPI table of an event stream.
#[napi]
pub fn campaign_kpis_json(events: String, config: String) -> AsyncTask<JsonTask> {
    task::spawn(move || campaign_kpis(events, config))
}

fn campaign_uplift(assignments: String, events: String, config: String) -> napi::Result<String> {
    let assignments: Vec<Assignment> = args::list(&assignments, "assignments").js_err()?;
    let events: Vec<Event> = args::list(&events, "events").js_err()?;
    let config: UpliftConfig = args::config(&config).js_err()?;
    let out = metrics::uplift(&assignments, &events, &config)
        .map_err(|e| {
            if e.path() == Some("confidence") {
                e.within("config")
            } else if e.path().is_some_and(|p| p.ends_with("contact_id")) {
                e.within("assignments")
            } else {
                e.within("events")
            }
        })
        .js_err()?;
    Ok(parse::to_json(&out))
}

/// Runs off the JavaScript thread; uplift of each campaign against its control group.
#[napi]
pub fn campaign_uplift_json(
    assignments: String,
    events: String,
    config: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || campaign_uplift(assignments, events, config))
}

/// Each variant of a KPI report grouped by variant against the first.
#[napi]
pub fn compare_variants_json(
    rows: String,
    metric: String,
    confidence: f64,
) -> napi::Result<String> {
    let rows: Vec<KpiRow> = args::list(&rows, "rows").js_err()?;
    let metric: Metric = args::value(&metric, "metric").js_err()?;
    let out = metrics::compare_variants(&rows, metric, confidence)
        .map_err(|e| {
            if e.path() == Some("confidence") {
                e
            } else {
                e.within("rows")
            }
        })
        .js_err()?;
    Ok(parse::to_json(&out))
}

/// A KPI report (KPI rows or uplifts) as csv or json text.
#[napi]
pub fn kpi_report_json(rows: String, format: String) -> napi::Result<String> {
    let format: patron::segment::Format = format.parse().js_err()?;
    let out = match parse::list_from_json::<KpiRow>(&rows) {
        Ok(rows) => metrics::write_report(&rows, format, Vec::new()),
        Err(_) => {
            let uplifts: Vec<metrics::Uplift> = serde_json::from_str(&rows)
                .map_err(|e| patron::Error::invalid("rows", e.to_string()))
                .js_err()?;
            metrics::write_report(&uplifts, format, Vec::new())
        }
    }
    .js_err()?;
    Ok(String::from_utf8(out).unwrap_or_default())
}
