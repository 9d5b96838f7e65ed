//! Purchase predictions (BG/NBD, Gamma-Gamma), JSON text in and out.

use napi_derive::napi;
use patron::parse::{self, Model};
use patron::predict::{self, BgNbd, GammaGamma, History, Transaction};
use serde_json::json;

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, JsonTask};
use napi::bindgen_prelude::AsyncTask;

/// Per-customer histories from transactions up to `calibration_end` (a JSON date string).
fn predict_histories(
    transactions: String,
    calibration_end: String,
    period_days: f64,
) -> napi::Result<String> {
    let transactions: Vec<Transaction> = args::list(&transactions, "transactions").js_err()?;
    let end: patron::model::Date = args::value(&calibration_end, "calibration_end").js_err()?;
    let histories = predict::summarize(&transactions, end.get(), period_days)
        .map_err(|e| {
            if e.path() == Some("period_days") {
                e
            } else {
                e.within("transactions")
            }
        })
        .js_err()?;
    Ok(parse::to_json(&histories))
}

/// Fits BG/NBD by maximum likelihood.
fn bgnbd_fit(histories: String) -> napi::Result<String> {
    let histories: Vec<History> = args::list(&histories, "histories").js_err()?;
    let (model, report) = BgNbd::fit(&histories)
        .map_err(|e| e.within("histories"))
        .js_err()?;
    Ok(json!({"model": model, "log_likelihood": report.log_likelihood, "iterations": report.iterations}).to_string())
}

/// P(alive) and expected purchases in the next `t` periods for each history.
fn bgnbd_predict(model_text: String, histories: String, t: f64) -> napi::Result<String> {
    let m: BgNbd = args::model(&model_text, "model").js_err()?;
    let histories: Vec<History> = args::list(&histories, "histories").js_err()?;
    let out = m
        .predict(&histories, t)
        .map_err(|e| {
            if e.path() == Some("t") {
                e
            } else {
                e.within("histories")
            }
        })
        .js_err()?;
    Ok(parse::to_json(&out))
}

/// Expected purchases in the first `t` periods of a new customer.
#[napi]
pub fn bgnbd_expected_new_json(model_text: String, t: f64) -> napi::Result<f64> {
    let m: BgNbd = args::model(&model_text, "model").js_err()?;
    m.expected_purchases_new(t).js_err()
}

/// Fits Gamma-Gamma on the histories with repeat purchases.
fn gamma_gamma_fit(histories: String) -> napi::Result<String> {
    let histories: Vec<History> = args::list(&histories, "histories").js_err()?;
    let (model, report) = GammaGamma::fit(&histories)
        .map_err(|e| e.within("histories"))
        .js_err()?;
    Ok(json!({"model": model, "log_likelihood": report.log_likelihood, "iterations": report.iterations}).to_string())
}

/// The expected order value for each history.
fn gamma_gamma_predict(model_text: String, histories: String) -> napi::Result<String> {
    let m: GammaGamma = args::model(&model_text, "model").js_err()?;
    let histories: Vec<History> = args::list(&histories, "histories").js_err()?;
    let out = m
        .predict(&histories)
        .map_err(|e| e.within("histories"))
        .js_err()?;
    Ok(parse::to_json(&out))
}

/// The average-interval rule for every customer (`as_of` a JSON date string).
fn predict_average_interval(transactions: String, as_of: String) -> napi::Result<String> {
    let transactions: Vec<Transaction> = args::list(&transactions, "transactions").js_err()?;
    let as_of: patron::model::Date = args::value(&as_of, "as_of").js_err()?;
    let out = predict::average_interval(&transactions, as_of.get())
        .map_err(|e| e.within("transactions"))
        .js_err()?;
    Ok(parse::to_json(&out))
}

/// Customer lifetime value over `horizon` periods in steps of `step`, discounted per step.
fn predict_clv(
    bgnbd: String,
    gamma_gamma: String,
    histories: String,
    horizon: f64,
    step: f64,
    discount: f64,
) -> napi::Result<String> {
    let purchases = BgNbd::from_json(&bgnbd)
        .map_err(|e| e.within("bgnbd"))
        .js_err()?;
    let value = GammaGamma::from_json(&gamma_gamma)
        .map_err(|e| e.within("gamma_gamma"))
        .js_err()?;
    let histories: Vec<History> = args::list(&histories, "histories").js_err()?;
    let out = predict::clv(&purchases, &value, &histories, horizon, step, discount)
        .map_err(|e| match e.path() {
            Some("horizon" | "step" | "discount") => e,
            _ => e.within("histories"),
        })
        .js_err()?;
    Ok(parse::to_json(&out))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn predict_histories_json(
    transactions: String,
    calibration_end: String,
    period_days: f64,
) -> AsyncTask<JsonTask> {
    task::spawn(move || predict_histories(transactions, calibration_end, period_days))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn bgnbd_fit_json(histories: String) -> AsyncTask<JsonTask> {
    task::spawn(move || bgnbd_fit(histories))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn bgnbd_predict_json(model_text: String, histories: String, t: f64) -> AsyncTask<JsonTask> {
    task::spawn(move || bgnbd_predict(model_text, histories, t))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn gamma_gamma_fit_json(histories: String) -> AsyncTask<JsonTask> {
    task::spawn(move || gamma_gamma_fit(histories))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn gamma_gamma_predict_json(model_text: String, histories: String) -> AsyncTask<JsonTask> {
    task::spawn(move || gamma_gamma_predict(model_text, histories))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn predict_average_interval_json(transactions: String, as_of: String) -> AsyncTask<JsonTask> {
    task::spawn(move || predict_average_interval(transactions, as_of))
}

/// Runs off the JavaScript thread; see the function of the same name without `_json`.
#[napi]
pub fn predict_clv_json(
    bgnbd: String,
    gamma_gamma: String,
    histories: String,
    horizon: f64,
    step: f64,
    discount: f64,
) -> AsyncTask<JsonTask> {
    task::spawn(move || predict_clv(bgnbd, gamma_gamma, histories, horizon, step, discount))
}
