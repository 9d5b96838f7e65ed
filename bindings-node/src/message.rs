//! Messages (JSON text in and out): templates, SMS and push fitting,
//! campaigns and coupons.

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::message::campaign::{self, Campaign};
use patron::message::coupon::{self, CouponPool, PoolState};
use patron::message::push::{self, PushLimits};
use patron::message::sms::{self, Fit};
use patron::message::{MessageInfo, Recipient, Template, TemplateSpec};
use patron::model::{Id, Timestamp};
use patron::parse;
use serde_json::json;

use crate::args;
use crate::error::IntoJsResult;
use crate::export;
use crate::task::{self, JsonTask};

fn template(text: &str, name: &str) -> patron::Result<Template> {
    let spec: TemplateSpec = args::model(text, name)?;
    Template::new(spec).map_err(|e| e.within(name))
}

/// Renders a template for one recipient at `now`.
#[napi]
pub fn render_message_json(
    template: String,
    recipient: String,
    now: String,
    info: String,
) -> napi::Result<String> {
    let t = self::template(&template, "template").js_err()?;
    let r: Recipient = args::model(&recipient, "recipient").js_err()?;
    let now: Timestamp = args::value(&now, "now").js_err()?;
    let info: MessageInfo = args::optional_model(&info, "info")
        .js_err()?
        .unwrap_or_default();
    Ok(parse::to_json(&t.render(&r, now, &info).js_err()?))
}

/// Unknown variables and render errors of a template against a sample recipient.
#[napi]
pub fn lint_template_json(template: String, sample: String, now: String) -> napi::Result<String> {
    let t = self::template(&template, "template").js_err()?;
    let r: Recipient = args::model(&sample, "sample").js_err()?;
    let now: Timestamp = args::value(&now, "now").js_err()?;
    Ok(parse::to_json(&t.lint(&r, now)))
}

/// The SMS cost of a text.
#[napi]
pub fn sms_measure_json(text: String) -> String {
    parse::to_json(&sms::measure(&text))
}

/// Fits a text into SMS parts.
#[napi]
pub fn sms_fit_json(text: String, fit: String) -> napi::Result<String> {
    let fit: Fit = args::optional_model(&fit, "fit")
        .js_err()?
        .unwrap_or_default();
    Ok(parse::to_json(&sms::fit(&text, &fit).js_err()?))
}

/// Fits a push title and body to their limits.
#[napi]
pub fn push_fit_json(title: String, body: String, limits: String) -> napi::Result<String> {
    let limits: PushLimits = args::optional_model(&limits, "limits")
        .js_err()?
        .unwrap_or_default();
    Ok(parse::to_json(&push::fit(&title, &body, &limits).js_err()?))
}

/// The arguments of `render_campaign` and `write_campaign`, checked.
fn campaign_args(
    campaign: &str,
    templates: &str,
    recipients: &str,
    now: &str,
) -> patron::Result<(Campaign, Vec<Template>, Vec<Recipient>, Timestamp)> {
    let c: Campaign = args::model(campaign, "campaign")?;
    let specs: Vec<TemplateSpec> = args::list(templates, "templates")?;
    let templates = specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| Template::new(s).map_err(|e| e.within(&format!("templates[{i}]"))))
        .collect::<patron::Result<Vec<_>>>()?;
    let recipients: Vec<Recipient> = args::list(recipients, "recipients")?;
    let now: Timestamp = args::value(now, "now")?;
    Ok((c, templates, recipients, now))
}

fn render_campaign(
    campaign: String,
    templates: String,
    recipients: String,
    now: String,
) -> napi::Result<String> {
    let (c, templates, recipients, now) =
        campaign_args(&campaign, &templates, &recipients, &now).js_err()?;
    let mut outcomes = Vec::with_capacity(recipients.len());
    let summary = campaign::run(&c, &templates, recipients, now, |chunk| {
        outcomes.extend_from_slice(chunk);
        Ok(())
    })
    .js_err()?;
    Ok(parse::to_json(
        &json!({"summary": summary, "outcomes": outcomes}),
    ))
}

/// Runs off the JavaScript thread; renders a campaign for every recipient
/// and writes each outcome as a line of JSON to the file at `path` (a failed
/// run removes the file); gives the summary.
#[napi]
pub fn write_campaign_json(
    campaign: String,
    templates: String,
    recipients: String,
    now: String,
    path: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || {
        let (c, templates, recipients, now) =
            campaign_args(&campaign, &templates, &recipients, &now).js_err()?;
        let mut summary = None;
        export::write_out(Some(path), |writer| {
            summary = Some(campaign::write(&c, &templates, recipients, now, writer)?);
            Ok(())
        })
        .js_err()?;
        Ok(parse::to_json(&summary.unwrap_or_default()))
    })
}

/// Runs off the JavaScript thread; renders a campaign for every recipient.
#[napi]
pub fn render_campaign_json(
    campaign: String,
    templates: String,
    recipients: String,
    now: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || render_campaign(campaign, templates, recipients, now))
}

fn pool_and_state(pool: &str, state: &str) -> patron::Result<(CouponPool, PoolState)> {
    let pool: CouponPool = args::model(pool, "pool")?;
    let state = args::optional_model(state, "state")?.unwrap_or_else(|| PoolState::new(&pool));
    Ok((pool, state))
}

fn issue_coupons(
    pool: String,
    state: String,
    campaign_id: String,
    contact_ids: String,
    now: String,
) -> napi::Result<String> {
    let (pool, mut state) = pool_and_state(&pool, &state).js_err()?;
    let campaign = Id::new(&campaign_id)
        .map_err(|e| e.within("campaign_id"))
        .js_err()?;
    let contacts: Vec<Id> = args::value(&contact_ids, "contact_ids").js_err()?;
    let now: Timestamp = args::value(&now, "now").js_err()?;
    let issued = coupon::issue_all(&pool, &mut state, &campaign, &contacts, now).js_err()?;
    Ok(parse::to_json(&json!({"issued": issued, "state": state})))
}

/// Runs off the JavaScript thread; issues one code per contact.
#[napi]
pub fn issue_coupons_json(
    pool: String,
    state: String,
    campaign_id: String,
    contact_ids: String,
    now: String,
) -> AsyncTask<JsonTask> {
    task::spawn(move || issue_coupons(pool, state, campaign_id, contact_ids, now))
}

/// Records the use of a code.
#[napi]
pub fn redeem_coupon_json(
    pool: String,
    state: String,
    code: String,
    contact_id: String,
    at: String,
    order_id: Option<String>,
) -> napi::Result<String> {
    let (_, mut state) = pool_and_state(&pool, &state).js_err()?;
    let contact = Id::new(&contact_id)
        .map_err(|e| e.within("contact_id"))
        .js_err()?;
    let order = order_id
        .map(|o| Id::new(o).map_err(|e| e.within("order_id")))
        .transpose()
        .js_err()?;
    let at: Timestamp = args::value(&at, "at").js_err()?;
    let redeemed = coupon::redeem(&mut state, &code, &contact, order, at).js_err()?;
    Ok(parse::to_json(
        &json!({"redeemed": redeemed, "state": state}),
    ))
}
