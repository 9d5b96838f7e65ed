//! Campaign KPIs from message and order events, uplift against a control
//! group, and A/B variant comparison.
//!
//! [`kpis`] counts, per message (`message_id`), whether it was sent,
//! delivered, opened, clicked, unsubscribed from, bounced or complained
//! about, and groups the messages by campaign (and, when asked, step,
//! variant and channel):
//!
//! - A message counts as **sent** when any event of it is seen, and as
//!   **delivered** when it has a `message_delivered`, `message_opened` or
//!   `message_clicked` event (a message that was opened was delivered, even
//!   when the provider reports no delivery).
//! - Counts are of messages, not events: two opens of one letter are one
//!   opened letter. Events repeated with the same `id` count once.
//! - A message **converted** when an order of its contact came within the
//!   attribution window (default 120 hours) after an open or click of it.
//!   Each order goes to one message at most: the latest open or click before
//!   it (last touch). Orders whose latest status is `cancelled` or
//!   `returned` do not count. **Revenue** is the total of those orders.
//! - Rates are per delivered message (`click_to_open_rate` per opened,
//!   `delivery_rate` and `bounce_rate` per sent); a rate whose denominator
//!   is 0 is `null`. No message events give no rows: an empty campaign has
//!   an empty report, never a division by zero.
//!
//! ```
//! use patron::metrics::{self, KpiConfig};
//! use patron::{parse, Event};
//!
//! let events: Vec<Event> = parse::list_from_json(r#"[
//!  {"type": "message_sent", "id": "e1", "contact_id": "c1", "at": "2024-05-01T10:00:00Z", "message_id": "m1", "campaign_id": "may", "channel": "email"},
//!  {"type": "message_opened", "id": "e2", "contact_id": "c1", "at": "2024-05-01T12:00:00Z", "message_id": "m1", "channel": "email"},
//!  {"type": "order_placed", "id": "e3", "contact_id": "c1", "at": "2024-05-02T09:00:00Z", "order_id": "o1",
//!   "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 40}], "total": 40, "currency": "EUR"},
//!  {"type": "message_sent", "id": "e4", "contact_id": "c2", "at": "2024-05-01T10:00:00Z", "message_id": "m2", "campaign_id": "may", "channel": "email"},
//!  {"type": "message_bounced", "id": "e5", "contact_id": "c2", "at": "2024-05-01T10:01:00Z", "message_id": "m2", "channel": "email"}
//! ]"#)?;
//! let rows = metrics::kpis(&events, &KpiConfig::default())?;
//! let may = &rows[0];
//! assert_eq!((may.sent, may.delivered, may.opened, may.bounced, may.converted), (2, 1, 1, 1, 1));
//! assert_eq!((may.revenue, may.open_rate, may.bounce_rate), (40.0, Some(1.0), Some(0.5)));
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! [`uplift`] compares a campaign's treatment and control groups (from
//! [`crate::message::campaign`]): conversion (a counting order within the
//! window after the assignment) and revenue per contact, as absolute and
//! relative differences with a confidence interval and a two-sided p-value
//! (a two-proportion z-test for conversion, Welch's normal approximation
//! for revenue). [`compare_variants`] tests each A/B variant of a report
//! against the first (by name) with a two-proportion z-test.
//! [`write_report`] exports any of them as csv or json.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::message::campaign::Group;
use crate::model::{Currency, Event, EventKind, Id, OrderStatus, Timestamp};
use crate::segment::Format;

/// What a report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The campaign or trigger rule.
    Campaign,
    /// The step of a chain.
    Step,
    /// The A/B variant.
    Variant,
    /// The channel.
    Channel,
}

/// How KPIs are counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiConfig {
    /// Hours after an open or click in which an order is credited to the message.
    pub attribution_hours: u32,
    /// The dimensions of a row, in order (default: campaign).
    pub by: Vec<Dimension>,
}

impl Default for KpiConfig {
    fn default() -> Self {
        KpiConfig {
            attribution_hours: 120,
            by: vec![Dimension::Campaign],
        }
    }
}

/// One row of a KPI report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiRow {
    /// The campaign (null for messages without one), when grouped by campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The step, when grouped by step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The variant, when grouped by variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The channel, when grouped by channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Messages sent.
    pub sent: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages opened.
    pub opened: u64,
    /// Messages clicked.
    pub clicked: u64,
    /// Messages unsubscribed through.
    pub unsubscribed: u64,
    /// Messages bounced.
    pub bounced: u64,
    /// Messages marked as spam.
    pub complained: u64,
    /// Messages with an attributed order.
    pub converted: u64,
    /// Attributed orders.
    pub orders: u64,
    /// Total of the attributed orders.
    pub revenue: f64,
    /// Currency of the revenue; none without orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Delivered per sent.
    pub delivery_rate: Option<f64>,
    /// Bounced per sent.
    pub bounce_rate: Option<f64>,
    /// Opened per delivered.
    pub open_rate: Option<f64>,
    /// Clicked per delivered.
    pub click_rate: Option<f64>,
    /// Clicked per opened.
    pub click_to_open_rate: Option<f64>,
    /// Unsubscribed per delivered.
    pub unsubscribe_rate: Option<f64>,
    /// Complained per delivered.
    pub complaint_rate: Option<f64>,
    /// Converted per delivered.
    pub conversion_rate: Option<f64>,
    /// Revenue per delivered.
    pub revenue_per_delivered: Option<f64>,
}

#[derive(Default)]
struct MessageFacts {
    contact: Option<String>,
    campaign: Option<String>,
    step: Option<String>,
    variant: Option<String>,
    channel: Option<String>,
    delivered: bool,
    opened: bool,
    clicked: bool,
    unsubscribed: bool,
    bounced: bool,
    complained: bool,
    orders: u64,
    revenue: f64,
}

struct Order {
    contact: String,
    at: Timestamp,
    total: f64,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Orders that count (latest status not cancelled or returned), deduplicated
/// by order id, with their one currency.
fn counting_orders(events: &[Event]) -> Result<(Vec<Order>, Option<Currency>)> {
    let mut status: HashMap<&str, (Timestamp, OrderStatus)> = HashMap::new();
    for e in events {
        if let EventKind::OrderStatusChanged(s) = &e.kind {
            let entry = status
                .entry(s.order_id.as_str())
                .or_insert((e.at, s.status));
            if e.at >= entry.0 {
                *entry = (e.at, s.status);
            }
        }
    }
    let mut currency: Option<Currency> = None;
    let mut seen = HashSet::new();
    let mut orders = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let EventKind::OrderPlaced(o) = &e.kind else {
            continue;
        };
        let Some(contact) = &e.contact_id else {
            continue;
        };
        if !seen.insert(o.order_id.as_str()) {
            continue;
        }
        if matches!(
            status.get(o.order_id.as_str()),
            Some((_, OrderStatus::Cancelled | OrderStatus::Returned))
        ) {
            continue;
        }
        match currency {
            None => currency = Some(o.currency),
            Some(c) if c != o.currency => {
                return Err(Error::invalid(
                    format!("[{i}].currency"),
                    format!(
                        "revenue is summed in one currency: expected {c}, got {}",
                        o.currency
                    ),
                ));
            }
            _ => {}
        }
        orders.push(Order {
            contact: contact.as_str().to_string(),
            at: e.at,
            total: o.total.get(),
        });
    }
    Ok((orders, currency))
}

/// The KPI table of `events`, one row per value of `config.by`, in order.
pub fn kpis(all: &[Event], config: &KpiConfig) -> Result<Vec<KpiRow>> {
    let mut ids = HashSet::new();
    let events: Vec<&Event> = all.iter().filter(|e| ids.insert(e.id.as_str())).collect();
    let mut messages: BTreeMap<&str, MessageFacts> = BTreeMap::new();
    // Opens and clicks per contact: (time, message).
    let mut touches: HashMap<String, Vec<(Timestamp, &str)>> = HashMap::new();
    for e in &events {
        let m = match &e.kind {
            EventKind::MessageSent(m)
            | EventKind::MessageDelivered(m)
            | EventKind::MessageOpened(m)
            | EventKind::MessageClicked(m)
            | EventKind::MessageUnsubscribed(m)
            | EventKind::MessageBounced(m)
            | EventKind::MessageComplained(m) => m,
            _ => continue,
        };
        let f = messages.entry(m.message_id.as_str()).or_default();
        let fill = |slot: &mut Option<String>, v: Option<&str>| {
            if slot.is_none() {
                *slot = v.map(str::to_string);
            }
        };
        fill(&mut f.contact, e.contact_id.as_ref().map(|c| c.as_str()));
        fill(&mut f.campaign, m.campaign_id.as_ref().map(|c| c.as_str()));
        fill(&mut f.step, m.step.as_ref().map(|c| c.as_str()));
        fill(&mut f.variant, m.variant.as_ref().map(|c| c.as_str()));
        fill(&mut f.channel, Some(m.channel.as_str()));
        match &e.kind {
            EventKind::MessageDelivered(_) => f.delivered = true,
            EventKind::MessageOpened(_) => f.opened = true,
            EventKind::MessageClicked(_) => f.clicked = true,
            EventKind::MessageUnsubscribed(_) => f.unsubscribed = true,
            EventKind::MessageBounced(_) => f.bounced = true,
            EventKind::MessageComplained(_) => f.complained = true,
            _ => {}
        }
        if matches!(
            e.kind,
            EventKind::MessageOpened(_) | EventKind::MessageClicked(_)
        ) && let Some(c) = &e.contact_id
        {
            touches
                .entry(c.as_str().to_string())
                .or_default()
                .push((e.at, m.message_id.as_str()));
        }
    }
    let (orders, currency) = counting_orders(all)?;
    for t in touches.values_mut() {
        t.sort();
    }
    let window = Duration::hours(i64::from(config.attribution_hours));
    for o in &orders {
        let Some(t) = touches.get(&o.contact) else {
            continue;
        };
        // The latest touch at or before the order.
        let n = t.partition_point(|(at, _)| *at <= o.at);
        if n == 0 {
            continue;
        }
        let (at, message) = t[n - 1];
        if o.at.get() - at.get() <= window
            && let Some(f) = messages.get_mut(message)
        {
            f.orders += 1;
            f.revenue += o.total;
        }
    }
    let mut rows: BTreeMap<Vec<Option<String>>, KpiRow> = BTreeMap::new();
    for f in messages.values() {
        let key: Vec<Option<String>> = config
            .by
            .iter()
            .map(|d| match d {
                Dimension::Campaign => f.campaign.clone(),
                Dimension::Step => f.step.clone(),
                Dimension::Variant => f.variant.clone(),
                Dimension::Channel => f.channel.clone(),
            })
            .collect();
        let row = rows.entry(key.clone()).or_insert_with(|| {
            let get = |d: Dimension| {
                config
                    .by
                    .iter()
                    .position(|x| *x == d)
                    .and_then(|i| key[i].clone())
            };
            empty_row(
                get(Dimension::Campaign),
                get(Dimension::Step),
                get(Dimension::Variant),
                get(Dimension::Channel),
            )
        });
        let delivered = f.delivered || f.opened || f.clicked;
        row.sent += 1;
        row.delivered += u64::from(delivered);
        row.opened += u64::from(f.opened);
        row.clicked += u64::from(f.clicked);
        row.unsubscribed += u64::from(f.unsubscribed);
        row.bounced += u64::from(f.bounced);
        row.complained += u64::from(f.complained);
        row.converted += u64::from(f.orders > 0);
        row.orders += f.orders;
        row.revenue += f.revenue;
    }
    Ok(rows
        .into_values()
        .map(|mut r| {
            r.currency = if r.orders > 0 { currency } else { None };
            r.revenue = round_cents(r.revenue);
            r.delivery_rate = ratio(r.delivered, r.sent);
            r.bounce_rate = ratio(r.bounced, r.sent);
            r.open_rate = ratio(r.opened, r.delivered);
            r.click_rate = ratio(r.clicked, r.delivered);
            r.click_to_open_rate = ratio(r.clicked, r.opened);
            r.unsubscribe_rate = ratio(r.unsubscribed, r.delivered);
            r.complaint_rate = ratio(r.complained, r.delivered);
            r.conversion_rate = ratio(r.converted, r.delivered);
            r.revenue_per_delivered = (r.delivered > 0).then(|| r.revenue / r.delivered as f64);
            r
        })
        .collect())
}

/// Sums of money rounded to a millionth, so that float noise never shows.
fn round_cents(x: f64) -> f64 {
    // `+ 0.0` turns the -0.0 of an empty float sum into 0.
    (x * 1e6).round() / 1e6 + 0.0
}

fn empty_row(
    campaign_id: Option<String>,
    step: Option<String>,
    variant: Option<String>,
    channel: Option<String>,
) -> KpiRow {
    KpiRow {
        campaign_id,
        step,
        variant,
        channel,
        sent: 0,
        delivered: 0,
        opened: 0,
        clicked: 0,
        unsubscribed: 0,
        bounced: 0,
        complained: 0,
        converted: 0,
        orders: 0,
        revenue: 0.0,
        currency: None,
        delivery_rate: None,
        bounce_rate: None,
        open_rate: None,
        click_rate: None,
        click_to_open_rate: None,
        unsubscribe_rate: None,
        complaint_rate: None,
        conversion_rate: None,
        revenue_per_delivered: None,
    }
}

/// A contact's group in a campaign, from [`crate::message::campaign`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The contact.
    pub contact_id: Id,
    /// The campaign.
    pub campaign_id: Id,
    /// Treatment or control.
    pub group: Group,
    /// When the campaign went out to this contact (or would have).
    pub at: Timestamp,
}

/// How uplift is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpliftConfig {
    /// Hours after the assignment in which an order counts.
    pub attribution_hours: u32,
    /// The confidence of the intervals, between 0.5 and 0.999.
    pub confidence: f64,
}

impl Default for UpliftConfig {
    fn default() -> Self {
        UpliftConfig {
            attribution_hours: 168,
            confidence: 0.95,
        }
    }
}

/// One group's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupOutcome {
    /// Contacts in the group.
    pub contacts: u64,
    /// Contacts with a counting order in the window.
    pub converted: u64,
    /// Converted per contact.
    pub conversion_rate: Option<f64>,
    /// Total of those orders.
    pub revenue: f64,
    /// Revenue per contact.
    pub revenue_per_contact: Option<f64>,
}

/// A difference between treatment and control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// Treatment minus control.
    pub absolute: f64,
    /// The absolute difference per control value; null when control is 0.
    pub relative: Option<f64>,
    /// The interval's lower end (absolute).
    pub low: f64,
    /// The interval's upper end (absolute).
    pub high: f64,
    /// Two-sided p-value of no difference.
    pub p_value: f64,
}

/// A campaign's uplift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uplift {
    /// The campaign.
    pub campaign_id: Id,
    /// Contacts who got the message.
    pub treatment: GroupOutcome,
    /// Contacts held out.
    pub control: GroupOutcome,
    /// Difference in conversion rate; null when a group is empty.
    pub conversion: Option<Effect>,
    /// Difference in revenue per contact; null when a group is empty.
    pub revenue_per_contact: Option<Effect>,
    /// Currency of the revenue; none without orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// The uplift of each campaign in `assignments`, by campaign id; orders come
/// from `events`. A contact assigned twice to one campaign is an error.
pub fn uplift(
    assignments: &[Assignment],
    events: &[Event],
    config: &UpliftConfig,
) -> Result<Vec<Uplift>> {
    if !(0.5..=0.999).contains(&config.confidence) {
        return Err(Error::invalid(
            "confidence",
            format!("expected 0.5 to 0.999, got {}", config.confidence),
        ));
    }
    let (orders, currency) = counting_orders(events)?;
    let mut by_contact: HashMap<&str, Vec<&Order>> = HashMap::new();
    for o in &orders {
        by_contact.entry(o.contact.as_str()).or_default().push(o);
    }
    let window = Duration::hours(i64::from(config.attribution_hours));
    // Per campaign and group: per-contact revenues (0 for no order).
    let mut groups: BTreeMap<&str, (&Id, [Vec<f64>; 2])> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (i, a) in assignments.iter().enumerate() {
        if !seen.insert((a.campaign_id.as_str(), a.contact_id.as_str())) {
            return Err(Error::invalid(
                format!("[{i}].contact_id"),
                format!(
                    "contact `{}` is assigned to campaign `{}` twice",
                    a.contact_id, a.campaign_id
                ),
            ));
        }
        let revenue: Option<f64> = by_contact.get(a.contact_id.as_str()).and_then(|os| {
            let within: Vec<f64> = os
                .iter()
                .filter(|o| o.at > a.at && o.at.get() - a.at.get() <= window)
                .map(|o| o.total)
                .collect();
            (!within.is_empty()).then(|| within.iter().sum())
        });
        let slot = match a.group {
            Group::Treatment => 0,
            Group::Control => 1,
        };
        // A converted contact with a 0 total still converts: keep a marker.
        groups
            .entry(a.campaign_id.as_str())
            .or_insert_with(|| (&a.campaign_id, [Vec::new(), Vec::new()]))
            .1[slot]
            .push(revenue.map_or(-1.0, |r| r));
    }
    let z = normal_quantile(0.5 + config.confidence / 2.0);
    Ok(groups
        .into_iter()
        .map(|(_, (campaign, [t, c]))| {
            let (to, tc, tr) = outcome(&t);
            let (co, cc, cr) = outcome(&c);
            let conversion = (to.contacts > 0 && co.contacts > 0)
                .then(|| proportions(tc, to.contacts, cc, co.contacts, z));
            let revenue_per_contact =
                (to.contacts > 0 && co.contacts > 0).then(|| means(&tr, &cr, z));
            let any = to.converted + co.converted > 0;
            Uplift {
                campaign_id: campaign.clone(),
                treatment: to,
                control: co,
                conversion,
                revenue_per_contact,
                currency: if any { currency } else { None },
            }
        })
        .collect())
}

/// (outcome, converted, per-contact revenues) of one group.
fn outcome(marks: &[f64]) -> (GroupOutcome, u64, Vec<f64>) {
    let revenues: Vec<f64> = marks.iter().map(|&r| r.max(0.0)).collect();
    let converted = marks.iter().filter(|&&r| r >= 0.0).count() as u64;
    let n = marks.len() as u64;
    let revenue = round_cents(revenues.iter().sum());
    (
        GroupOutcome {
            contacts: n,
            converted,
            conversion_rate: ratio(converted, n),
            revenue,
            revenue_per_contact: (n > 0).then(|| revenue / n as f64),
        },
        converted,
        revenues,
    )
}

/// Difference of two proportions: Wald interval, pooled z-test.
fn proportions(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Effect {
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let diff = p1 - p2;
    let se = (p1 * (1.0 - p1) / n1 as f64 + p2 * (1.0 - p2) / n2 as f64).sqrt();
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se0 = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    Effect {
        absolute: diff,
        relative: (p2 > 0.0).then(|| diff / p2),
        low: diff - z * se,
        high: diff + z * se,
        p_value: p_value(diff, se0),
    }
}

/// Difference of two means: Welch's standard error, normal approximation.
fn means(a: &[f64], b: &[f64], z: f64) -> Effect {
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        (mean, var / n)
    };
    let ((m1, v1), (m2, v2)) = (stats(a), stats(b));
    let diff = m1 - m2;
    let se = (v1 + v2).sqrt();
    Effect {
        absolute: diff,
        relative: (m2 > 0.0).then(|| diff / m2),
        low: diff - z * se,
        high: diff + z * se,
        p_value: p_value(diff, se),
    }
}

/// Two-sided p-value of `diff` with standard error `se`.
fn p_value(diff: f64, se: f64) -> f64 {
    if se > 0.0 {
        erfc((diff / se).abs() / std::f64::consts::SQRT_2)
    } else if diff == 0.0 {
        1.0
    } else {
        0.0
    }
}

/// The complementary error function (Numerical Recipes' Chebyshev fit,
/// relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9), for `p` in (0, 1).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.024_25;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// The KPI an A/B comparison tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Opened per delivered.
    OpenRate,
    /// Clicked per delivered.
    ClickRate,
    /// Clicked per opened.
    ClickToOpenRate,
    /// Converted per delivered.
    ConversionRate,
    /// Unsubscribed per delivered.
    UnsubscribeRate,
}

impl Metric {
    fn counts(self, r: &KpiRow) -> (u64, u64) {
        match self {
            Metric::OpenRate => (r.opened, r.delivered),
            Metric::ClickRate => (r.clicked, r.delivered),
            Metric::ClickToOpenRate => (r.clicked, r.opened),
            Metric::ConversionRate => (r.converted, r.delivered),
            Metric::UnsubscribeRate => (r.unsubscribed, r.delivered),
        }
    }
}

/// A variant against the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// The campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The metric.
    pub metric: Metric,
    /// The baseline variant (the first by name).
    pub baseline: String,
    /// The variant compared.
    pub variant: String,
    /// The baseline's rate.
    pub baseline_rate: Option<f64>,
    /// The variant's rate.
    pub variant_rate: Option<f64>,
    /// The difference (variant minus baseline), its interval and p-value;
    /// null when either has no messages to count.
    pub effect: Option<Effect>,
    /// Whether the p-value is below 1 - confidence.
    pub significant: bool,
}

/// Compares each variant of each campaign in `rows` (a report grouped by
/// variant) with the campaign's first variant by name.
pub fn compare_variants(
    rows: &[KpiRow],
    metric: Metric,
    confidence: f64,
) -> Result<Vec<Comparison>> {
    if !(0.5..=0.999).contains(&confidence) {
        return Err(Error::invalid(
            "confidence",
            format!("expected 0.5 to 0.999, got {confidence}"),
        ));
    }
    let z = normal_quantile(0.5 + confidence / 2.0);
    let mut by_campaign: BTreeMap<Option<&str>, Vec<&KpiRow>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.variant.is_none() {
            return Err(Error::invalid(
                format!("[{i}].variant"),
                "compare a report grouped by variant (`by` with `variant`)",
            ));
        }
        by_campaign
            .entry(r.campaign_id.as_deref())
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for (campaign, mut variants) in by_campaign {
        variants.sort_by(|a, b| a.variant.cmp(&b.variant));
        let base = variants[0];
        let (bx, bn) = metric.counts(base);
        for v in &variants[1..] {
            let (vx, vn) = metric.counts(v);
            let effect = (bn > 0 && vn > 0).then(|| proportions(vx, vn, bx, bn, z));
            out.push(Comparison {
                campaign_id: campaign.map(str::to_string),
                metric,
                baseline: base.variant.clone().unwrap_or_default(),
                variant: v.variant.clone().unwrap_or_default(),
                baseline_rate: ratio(bx, bn),
                variant_rate: ratio(vx, vn),
                significant: effect
                    .as_ref()
                    .is_some_and(|e| e.p_value < 1.0 - confidence),
                effect,
            });
        }
    }
    Ok(out)
}

/// A report row type: its csv columns, nested fields joined by `.`.
pub trait Report: Serialize {
    /// The csv header, in order.
    const COLUMNS: &'static [&'static str];
}

const RATES: [&str; 9] = [
    "delivery_rate",
    "bounce_rate",
    "open_rate",
    "click_rate",
    "click_to_open_rate",
    "unsubscribe_rate",
    "complaint_rate",
    "conversion_rate",
    "revenue_per_delivered",
];

impl Report for KpiRow {
    const COLUMNS: &'static [&'static str] = &[
        "campaign_id",
        "step",
        "variant",
        "channel",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "unsubscribed",
        "bounced",
        "complained",
        "converted",
        "orders",
        "revenue",
        "currency",
        RATES[0],
        RATES[1],
        RATES[2],
        RATES[3],
        RATES[4],
        RATES[5],
        RATES[6],
        RATES[7],
        RATES[8],
    ];
}

impl Report for Uplift {
    const COLUMNS: &'static [&'static str] = &[
        "campaign_id",
        "treatment.contacts",
        "treatment.converted",
        "treatment.conversion_rate",
        "treatment.revenue",
        "treatment.revenue_per_contact",
        "control.contacts",
        "control.converted",
        "control.conversion_rate",
        "control.revenue",
        "control.revenue_per_contact",
        "conversion.absolute",
        "conversion.relative",
        "conversion.low",
        "conversion.high",
        "conversion.p_value",
        "revenue_per_contact.absolute",
        "revenue_per_contact.relative",
        "revenue_per_contact.low",
        "revenue_per_contact.high",
        "revenue_per_contact.p_value",
        "currency",
    ];
}

impl Report for Comparison {
    const COLUMNS: &'static [&'static str] = &[
        "campaign_id",
        "metric",
        "baseline",
        "variant",
        "baseline_rate",
        "variant_rate",
        "effect.absolute",
        "effect.relative",
        "effect.low",
        "effect.high",
        "effect.p_value",
        "significant",
    ];
}

/// Writes `rows` (KPI rows, uplifts or comparisons) as csv (the type's
/// [`Report::COLUMNS`], nested fields flattened to `treatment.contacts`,
/// nulls empty) or as a json array.
pub fn write_report<T: Report, W: Write>(rows: &[T], format: Format, mut writer: W) -> Result<W> {
    let io = |e: std::io::Error| Error::io("writing the report", &e);
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut writer, rows).map_err(|e| Error::Io {
                message: format!("writing the report failed: {e}"),
            })?;
            writer.write_all(b"\n").map_err(io)?;
        }
        Format::Csv => {
            let line = |cells: Vec<String>| {
                let mut s = cells
                    .iter()
                    .map(|c| csv_cell(c))
                    .collect::<Vec<_>>()
                    .join(",");
                s.push_str("\r\n");
                s
            };
            let header = T::COLUMNS.iter().map(|c| c.to_string()).collect();
            writer.write_all(line(header).as_bytes()).map_err(io)?;
            for r in rows {
                let mut cells = Vec::new();
                flatten(
                    "",
                    &serde_json::to_value(r).unwrap_or(Value::Null),
                    &mut cells,
                );
                let map: HashMap<String, String> = cells.into_iter().collect();
                let cells = T::COLUMNS
                    .iter()
                    .map(|c| map.get(*c).cloned().unwrap_or_default())
                    .collect();
                // Text a spreadsheet would run (a campaign named `=cmd|...`)
                // is written with a leading `'`, as the segment export does.
                writer.write_all(line(cells).as_bytes()).map_err(io)?;
            }
        }
        other => {
            return Err(Error::invalid(
                "format",
                format!("reports export as csv or json, not {}", other.name()),
            ));
        }
    }
    writer.flush().map_err(io)?;
    Ok(writer)
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) if crate::segment::runs_as_formula(s) => {
            out.push((prefix.to_string(), format!("'{s}")))
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn events(json: &str) -> Vec<Event> {
        parse::list_from_json(json).unwrap()
    }

    #[test]
    fn report_text_a_spreadsheet_would_run_is_escaped_and_numbers_are_not() {
        let sent = events(
            r#"[{"type": "message_sent", "id": "e1", "contact_id": "c", "at": "2024-01-01T00:00:00Z", "message_id": "m", "channel": "email", "campaign_id": "=HYPERLINK(\"http://x.example\",\"y\")"},
                {"type": "message_sent", "id": "e2", "contact_id": "d", "at": "2024-01-01T00:00:00Z", "message_id": "n", "channel": "email", "campaign_id": "-2+3"}]"#,
        );
        let rows = kpis(&sent, &KpiConfig::default()).unwrap();
        let csv = String::from_utf8(write_report(&rows, Format::Csv, Vec::new()).unwrap()).unwrap();
        assert!(
            csv.contains(r#""'=HYPERLINK(""http://x.example"",""y"")""#),
            "{csv}"
        );
        assert!(csv.contains("\r\n'-2+3,"), "{csv}");
        // Plain numbers stay numbers, negative ones too.
        assert!(!csv.contains("'0") && !csv.contains("'-0"), "{csv}");
    }

    #[test]
    fn no_events_give_no_rows_and_no_division_by_zero() {
        assert!(kpis(&[], &KpiConfig::default()).unwrap().is_empty());
        let sent_only = events(
            r#"[{"type": "message_sent", "id": "e1", "contact_id": "c", "at": "2024-01-01T00:00:00Z", "message_id": "m", "channel": "sms"}]"#,
        );
        let rows = kpis(&sent_only, &KpiConfig::default()).unwrap();
        assert_eq!(rows[0].campaign_id, None);
        assert_eq!(
            (rows[0].delivery_rate, rows[0].open_rate),
            (Some(0.0), None)
        );
        assert!(
            uplift(&[], &sent_only, &UpliftConfig::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_order_goes_to_the_latest_touch_within_the_window() {
        let ev = events(
            r#"[
            {"type": "message_opened", "id": "a", "contact_id": "c", "at": "2024-01-01T00:00:00Z", "message_id": "m1", "campaign_id": "k1", "channel": "email"},
            {"type": "message_clicked", "id": "b", "contact_id": "c", "at": "2024-01-02T00:00:00Z", "message_id": "m2", "campaign_id": "k2", "channel": "email", "url": "https://s.example/x"},
            {"type": "order_placed", "id": "o", "contact_id": "c", "at": "2024-01-03T00:00:00Z", "order_id": "o1", "lines": [{"product_id": "p", "quantity": 1, "unit_price": 10}], "total": 10, "currency": "EUR"},
            {"type": "order_placed", "id": "o2", "contact_id": "c", "at": "2024-02-03T00:00:00Z", "order_id": "o2", "lines": [{"product_id": "p", "quantity": 1, "unit_price": 10}], "total": 10, "currency": "EUR"},
            {"type": "order_placed", "id": "o3", "contact_id": "c", "at": "2024-01-03T01:00:00Z", "order_id": "o3", "lines": [{"product_id": "p", "quantity": 1, "unit_price": 5}], "total": 5, "currency": "EUR"},
            {"type": "order_status_changed", "id": "s3", "contact_id": "c", "at": "2024-01-04T00:00:00Z", "order_id": "o3", "status": "cancelled"}
        ]"#,
        );
        let rows = kpis(&ev, &KpiConfig::default()).unwrap();
        assert_eq!((rows[0].converted, rows[0].revenue), (0, 0.0));
        assert_eq!((rows[1].converted, rows[1].revenue), (1, 10.0));
        assert_eq!(rows[1].conversion_rate, Some(1.0));
    }

    #[test]
    fn uplift_and_its_interval() {
        // 1000 treated, 100 converted; 1000 control, 50 converted.
        let mut a = Vec::new();
        let mut ev = Vec::new();
        let at = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        for i in 0..2000 {
            let group = if i < 1000 {
                Group::Treatment
            } else {
                Group::Control
            };
            let c = Id::new(format!("c{i}")).unwrap();
            a.push(Assignment {
                contact_id: c.clone(),
                campaign_id: Id::new("k").unwrap(),
                group,
                at,
            });
            if (i < 1000 && i % 10 == 0) || (i >= 1000 && i % 20 == 0) {
                ev.push(
                    parse::from_json::<Event>(&format!(
                        r#"{{"type": "order_placed", "id": "o{i}", "contact_id": "c{i}", "at": "2024-01-02T00:00:00Z", "order_id": "o{i}", "lines": [{{"product_id": "p", "quantity": 1, "unit_price": 20}}], "total": 20, "currency": "EUR"}}"#
                    ))
                    .unwrap(),
                );
            }
        }
        let u = &uplift(&a, &ev, &UpliftConfig::default()).unwrap()[0];
        let conv = u.conversion.as_ref().unwrap();
        assert!((conv.absolute - 0.05).abs() < 1e-12);
        assert!((conv.relative.unwrap() - 1.0).abs() < 1e-12);
        // se = sqrt(.1*.9/1000 + .05*.95/1000) = 0.011726
        assert!(
            (conv.low - (0.05 - 1.959964 * 0.0117260)).abs() < 1e-5,
            "{conv:?}"
        );
        assert!(conv.p_value < 0.001);
        let rev = u.revenue_per_contact.as_ref().unwrap();
        assert!((rev.absolute - 1.0).abs() < 1e-9);
        assert_eq!(u.treatment.revenue, 2000.0);
    }

    #[test]
    fn normal_functions_match_tables() {
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
        assert!((erfc(1.959_964 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
    }

    #[test]
    fn csv_flattens_nested_fields() {
        let rows = kpis(
            &events(
                r#"[{"type": "message_sent", "id": "e1", "contact_id": "c", "at": "2024-01-01T00:00:00Z", "message_id": "m", "campaign_id": "a,b", "channel": "sms"}]"#,
            ),
            &KpiConfig::default(),
        )
        .unwrap();
        let out = String::from_utf8(write_report(&rows, Format::Csv, Vec::new()).unwrap()).unwrap();
        let mut lines = out.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("campaign_id,step,variant,channel,sent,")
        );
        assert!(lines.next().unwrap().contains("\"a,b\""));
        assert_eq!(
            write_report(&rows, Format::Xml, Vec::new())
                .unwrap_err()
                .path(),
            Some("format")
        );
    }
}
