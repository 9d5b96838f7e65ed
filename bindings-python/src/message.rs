//! Messages from Python: templates, SMS and push fitting, campaigns and
//! coupons. Every argument is a dict in the core's JSON form; times are
//! aware datetimes or RFC 3339 text.

use patron::message::campaign::{self, Campaign};
use patron::message::coupon::{self, CouponPool, PoolState};
use patron::message::push::{self, PushLimits};
use patron::message::sms::{self, Fit};
use patron::message::{MessageInfo, Recipient, Template, TemplateSpec};
use patron::model::{Id, Timestamp};
use patron::parse;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use serde::Serialize;
use serde_json::json;

use crate::args;
use crate::convert::{to_py, to_py_large};
use crate::error::IntoPyResult;
use crate::export;
use crate::model::JsonText;

/// A template spec compiled; errors start at `name`.
fn template(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Template> {
    let spec: TemplateSpec = args::model(data, name)?;
    Template::new(spec).map_err(|e| e.within(name))
}

/// Renders a template (`subject`, `html`, `text`, `partials`, `fallbacks`,
/// `tracking`) for one recipient at `now`: a dict of `contact_id`,
/// `subject`, `html`, `text`.
#[pyfunction]
#[pyo3(signature = (template, recipient, now, info=None))]
pub fn render_message<'py>(
    py: Python<'py>,
    template: &Bound<'py, PyAny>,
    recipient: &Bound<'py, PyAny>,
    now: &Bound<'py, PyAny>,
    info: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let t = self::template(template, "template").py_err(py)?;
    let r: Recipient = args::model(recipient, "recipient").py_err(py)?;
    let now: Timestamp = args::value(now, "now").py_err(py)?;
    let info: MessageInfo = args::optional_model(info, "info")
        .py_err(py)?
        .unwrap_or_default();
    let out = t.render(&r, now, &info).py_err(py)?;
    to_py(py, &out)
}

/// Unknown variables and render errors of a template against a sample
/// recipient; an empty list when it renders.
#[pyfunction]
pub fn lint_template<'py>(
    py: Python<'py>,
    template: &Bound<'py, PyAny>,
    sample: &Bound<'py, PyAny>,
    now: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let t = self::template(template, "template").py_err(py)?;
    let r: Recipient = args::model(sample, "sample").py_err(py)?;
    let now: Timestamp = args::value(now, "now").py_err(py)?;
    to_py(py, &t.lint(&r, now))
}

/// The SMS cost of a text: encoding (`gsm7` or `ucs2`), characters, units,
/// parts, and the characters that forced UCS-2.
#[pyfunction]
pub fn sms_measure<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &sms::measure(text))
}

/// Fits a text into `fit["max_parts"]` SMS parts (default 1): look-alikes
/// normalized, then cut at a word with an ellipsis, or an error.
#[pyfunction]
#[pyo3(signature = (text, fit=None))]
pub fn sms_fit<'py>(
    py: Python<'py>,
    text: &str,
    fit: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let fit: Fit = args::optional_model(fit, "fit")
        .py_err(py)?
        .unwrap_or_default();
    to_py(py, &sms::fit(text, &fit).py_err(py)?)
}

/// Fits a push title and body to their limits.
#[pyfunction]
#[pyo3(signature = (title, body, limits=None))]
pub fn push_fit<'py>(
    py: Python<'py>,
    title: &str,
    body: &str,
    limits: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let limits: PushLimits = args::optional_model(limits, "limits")
        .py_err(py)?
        .unwrap_or_default();
    to_py(py, &push::fit(title, body, &limits).py_err(py)?)
}

/// Renders a campaign (one template per variant) for every recipient, in
/// parallel without the GIL: `{"summary", "outcomes"}`, outcomes in input
/// order (`rendered`, `control`, `skipped` or `failed`). `recipients` is a
/// list of dicts, or JSON text (`str` or UTF-8 `bytes`) of an array of
/// recipients, which is read without the GIL and costs far less than dicts
/// for a large audience.
#[pyfunction]
pub fn render_campaign<'py>(
    py: Python<'py>,
    campaign: &Bound<'py, PyAny>,
    templates: &Bound<'py, PyAny>,
    recipients: &Bound<'py, PyAny>,
    now: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (c, templates, recipients, now) =
        campaign_args(py, campaign, templates, recipients, now).py_err(py)?;
    let (summary, outcomes) = py
        .detach(|| {
            let mut outcomes = Vec::with_capacity(recipients.len());
            campaign::run(&c, &templates, recipients, now, |chunk| {
                outcomes.extend_from_slice(chunk);
                Ok(())
            })
            .map(|s| (s, outcomes))
        })
        .py_err(py)?;
    // Thousands of dicts at once: built with the cyclic GC paused.
    to_py_large(
        py,
        &CampaignResult {
            summary: &summary,
            outcomes: &outcomes,
        },
    )
}

/// Renders a campaign as `render_campaign` does, but writes each outcome as
/// one line of JSON to `out` (a path, or a binary file object with
/// `.write`) instead of returning it: the letters never become Python
/// objects. Returns the summary.
#[pyfunction]
pub fn write_campaign<'py>(
    py: Python<'py>,
    campaign: &Bound<'py, PyAny>,
    templates: &Bound<'py, PyAny>,
    recipients: &Bound<'py, PyAny>,
    now: &Bound<'py, PyAny>,
    out: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (c, templates, recipients, now) =
        campaign_args(py, campaign, templates, recipients, now).py_err(py)?;
    let out = export::out_of(out).py_err(py)?;
    let mut summary = None;
    export::write_out(py, out, |writer| {
        summary = Some(campaign::write(&c, &templates, recipients, now, writer)?);
        Ok(())
    })?;
    to_py(py, &summary.unwrap_or_default())
}

/// The arguments of `render_campaign` and `write_campaign`, checked; text
/// recipients are read without the GIL.
fn campaign_args(
    py: Python<'_>,
    campaign: &Bound<'_, PyAny>,
    templates: &Bound<'_, PyAny>,
    recipients: &Bound<'_, PyAny>,
    now: &Bound<'_, PyAny>,
) -> patron::Result<(Campaign, Vec<Template>, Vec<Recipient>, Timestamp)> {
    let c: Campaign = args::model(campaign, "campaign")?;
    let specs: Vec<TemplateSpec> = args::list(templates, "templates")?;
    let templates = specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| Template::new(s).map_err(|e| e.within(&format!("templates[{i}]"))))
        .collect::<patron::Result<Vec<_>>>()?;
    let text = if recipients.is_instance_of::<PyString>() || recipients.is_instance_of::<PyBytes>()
    {
        Some(
            recipients
                .extract::<JsonText>()
                .map_err(|e| patron::Error::invalid("recipients", e.to_string()))?,
        )
    } else {
        None
    };
    let recipients: Vec<Recipient> = match &text {
        Some(text) => py.detach(|| {
            text.as_str()
                .and_then(parse::list_from_json::<Recipient>)
                .map_err(|e| e.within("recipients"))
        })?,
        None => args::list(recipients, "recipients")?,
    };
    drop(text);
    let now: Timestamp = args::value(now, "now")?;
    Ok((c, templates, recipients, now))
}

/// What `render_campaign` returns, built into Python objects in one pass.
#[derive(Serialize)]
struct CampaignResult<'a> {
    summary: &'a campaign::Summary,
    outcomes: &'a [campaign::Outcome],
}

fn pool_and_state(
    pool: &Bound<'_, PyAny>,
    state: Option<&Bound<'_, PyAny>>,
) -> patron::Result<(CouponPool, PoolState)> {
    let pool: CouponPool = args::model(pool, "pool")?;
    let state = args::optional_model(state, "state")?.unwrap_or_else(|| PoolState::new(&pool));
    Ok((pool, state))
}

/// Issues one code per contact of `contact_ids` in campaign `campaign_id`
/// (the same code again for a contact who has one): `{"issued", "state"}`;
/// store the new state.
#[pyfunction]
pub fn issue_coupons<'py>(
    py: Python<'py>,
    pool: &Bound<'py, PyAny>,
    state: Option<&Bound<'py, PyAny>>,
    campaign_id: &str,
    contact_ids: Vec<String>,
    now: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (pool, mut state) = pool_and_state(pool, state).py_err(py)?;
    let campaign = Id::new(campaign_id)
        .map_err(|e| e.within("campaign_id"))
        .py_err(py)?;
    let contacts = contact_ids
        .iter()
        .enumerate()
        .map(|(i, c)| Id::new(c).map_err(|e| e.within(&format!("contact_ids[{i}]"))))
        .collect::<patron::Result<Vec<_>>>()
        .py_err(py)?;
    let now: Timestamp = args::value(now, "now").py_err(py)?;
    let issued = coupon::issue_all(&pool, &mut state, &campaign, &contacts, now).py_err(py)?;
    to_py(py, &json!({"issued": issued, "state": state}))
}

/// Records the use of a code: `{"redeemed", "state"}`; refused for an
/// unknown, foreign, expired or used code.
#[pyfunction]
#[pyo3(signature = (pool, state, code, contact_id, at, order_id=None))]
pub fn redeem_coupon<'py>(
    py: Python<'py>,
    pool: &Bound<'py, PyAny>,
    state: &Bound<'py, PyAny>,
    code: &str,
    contact_id: &str,
    at: &Bound<'py, PyAny>,
    order_id: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let (_, mut state) = pool_and_state(pool, Some(state)).py_err(py)?;
    let contact = Id::new(contact_id)
        .map_err(|e| e.within("contact_id"))
        .py_err(py)?;
    let order = order_id
        .map(|o| Id::new(o).map_err(|e| e.within("order_id")))
        .transpose()
        .py_err(py)?;
    let at: Timestamp = args::value(at, "at").py_err(py)?;
    let redeemed = coupon::redeem(&mut state, code, &contact, order, at).py_err(py)?;
    to_py(py, &json!({"redeemed": redeemed, "state": state}))
}
