//! Python bindings of patron: thin wrappers that convert, call the core once,
//! and convert back. The Python package `patron` re-exports everything here.

use pyo3::prelude::*;

mod args;
mod columns;
mod convert;
mod depythonize;
mod error;
mod export;
mod lifecycle;
mod message;
mod metrics;
mod model;
mod predict;
mod profile;
mod purchase;
mod recommend;
mod rfm;
mod segment;
mod store;
mod trigger;

/// The native module behind the `patron` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<store::Store>()?;
    m.add_function(wrap_pyfunction!(store::cli, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_contact, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_contact_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_contacts, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_contacts_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_product, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_product_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_catalog_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_event, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_event_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_events, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_events_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::validate_event, m)?)?;
    m.add_function(wrap_pyfunction!(model::validate_events, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_consent_change, m)?)?;
    m.add_function(wrap_pyfunction!(model::parse_consent_change_json, m)?)?;
    m.add_function(wrap_pyfunction!(model::apply_consent, m)?)?;
    m.add_function(wrap_pyfunction!(rfm::rfm_scores, m)?)?;
    m.add_function(wrap_pyfunction!(rfm::rfm_four_groups, m)?)?;
    m.add_function(wrap_pyfunction!(rfm::rfm_default_segments, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::lifecycle_place, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::lifecycle_moves, m)?)?;
    m.add_function(wrap_pyfunction!(predict::predict_histories, m)?)?;
    m.add_function(wrap_pyfunction!(predict::bgnbd_fit, m)?)?;
    m.add_function(wrap_pyfunction!(predict::bgnbd_predict, m)?)?;
    m.add_function(wrap_pyfunction!(predict::bgnbd_expected_new, m)?)?;
    m.add_function(wrap_pyfunction!(predict::gamma_gamma_fit, m)?)?;
    m.add_function(wrap_pyfunction!(predict::gamma_gamma_predict, m)?)?;
    m.add_function(wrap_pyfunction!(predict::predict_average_interval, m)?)?;
    m.add_function(wrap_pyfunction!(predict::predict_clv, m)?)?;
    m.add_function(wrap_pyfunction!(profile::build_profiles, m)?)?;
    m.add_function(wrap_pyfunction!(profile::apply_event, m)?)?;
    m.add_function(wrap_pyfunction!(profile::profile_facts, m)?)?;
    m.add_function(wrap_pyfunction!(profile::customer_summaries, m)?)?;
    m.add_function(wrap_pyfunction!(profile::profile_transactions, m)?)?;
    m.add_function(wrap_pyfunction!(purchase::summarize_purchases, m)?)?;
    m.add_function(wrap_pyfunction!(purchase::rfm_from_purchases, m)?)?;
    m.add_function(wrap_pyfunction!(segment::check_segments, m)?)?;
    m.add_function(wrap_pyfunction!(segment::segment_members, m)?)?;
    m.add_function(wrap_pyfunction!(segment::explain_segment, m)?)?;
    m.add_function(wrap_pyfunction!(segment::parse_segment_rule, m)?)?;
    m.add_function(wrap_pyfunction!(segment::freeze_segment, m)?)?;
    m.add_function(wrap_pyfunction!(segment::update_segments, m)?)?;
    m.add_function(wrap_pyfunction!(segment::segment_changes, m)?)?;
    m.add_function(wrap_pyfunction!(segment::segment_overlap, m)?)?;
    m.add_function(wrap_pyfunction!(segment::evaluate_segments, m)?)?;
    m.add_function(wrap_pyfunction!(export::export_facts, m)?)?;
    m.add_function(wrap_pyfunction!(export::export_segment, m)?)?;
    m.add_function(wrap_pyfunction!(export::read_segment_ids, m)?)?;
    m.add_function(wrap_pyfunction!(message::render_message, m)?)?;
    m.add_function(wrap_pyfunction!(message::lint_template, m)?)?;
    m.add_function(wrap_pyfunction!(message::sms_measure, m)?)?;
    m.add_function(wrap_pyfunction!(message::sms_fit, m)?)?;
    m.add_function(wrap_pyfunction!(message::push_fit, m)?)?;
    m.add_function(wrap_pyfunction!(message::render_campaign, m)?)?;
    m.add_function(wrap_pyfunction!(message::write_campaign, m)?)?;
    m.add_function(wrap_pyfunction!(message::issue_coupons, m)?)?;
    m.add_function(wrap_pyfunction!(message::redeem_coupon, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::campaign_kpis, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::campaign_uplift, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::compare_variants, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::kpi_report, m)?)?;
    m.add_function(wrap_pyfunction!(recommend::build_item_model, m)?)?;
    m.add_function(wrap_pyfunction!(recommend::update_item_model, m)?)?;
    m.add_function(wrap_pyfunction!(recommend::recommend_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(recommend::evaluate_recommendations, m)?)?;
    m.add_function(wrap_pyfunction!(recommend::recommend_blocks_many, m)?)?;
    m.add_class::<trigger::TriggerEngine>()?;
    m.add_function(wrap_pyfunction!(trigger::new_trigger_state, m)?)?;
    m.add_function(wrap_pyfunction!(trigger::read_trigger_state, m)?)?;
    m.add_function(wrap_pyfunction!(trigger::next_wakeup, m)?)?;
    m.add_function(wrap_pyfunction!(trigger::trigger_presets, m)?)?;
    m.add_class::<recommend::PyRecommender>()?;
    Ok(())
}
