//! Purchase predictions: BG/NBD (Fader, Hardie and Lee 2005) for how many
//! purchases a customer will make and whether they are still "alive", and
//! Gamma-Gamma (Fader and Hardie 2013) for the value of their orders.
//!
//! Both are fitted by maximum likelihood (Nelder-Mead on the logarithms of
//! the parameters, so they stay positive). The per-customer summary follows
//! the lifetimes package: purchases on one day merge into one; `frequency` is
//! the number of distinct purchase days minus one (the repeat purchases);
//! `recency` and `age` are in periods (weeks by default) from the first
//! purchase to the last, and to the end of the calibration period;
//! `monetary` is the mean value of the repeat purchase days.
//!
//! ```
//! use patron::predict::BgNbd;
//!
//! // The published CDNOW parameters (Fader, Hardie and Lee 2005).
//! let model = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
//! // A customer with 2 repeat purchases, the last at week 30.43, observed for 38.86 weeks.
//! let expected = model.expected_purchases(39.0, 2, 30.43, 38.86)?;
//! assert!((expected - 1.226).abs() < 0.001);
//! assert!(model.p_alive(2, 30.43, 38.86) > 0.7);
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Date, Id};

/// One purchase, for [`summarize`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// The customer.
    pub contact_id: Id,
    /// The purchase day.
    pub date: Date,
    /// Its value.
    pub amount: f64,
}

/// One customer's purchase history, in the shape the models read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// The customer.
    pub contact_id: Id,
    /// Repeat purchase days: distinct purchase days minus one (`x`).
    pub frequency: u32,
    /// Periods from the first purchase to the last (`t_x`).
    pub recency: f64,
    /// Periods from the first purchase to the end of calibration (`T`).
    pub age: f64,
    /// Mean value of the repeat purchase days; 0 without repeats.
    pub monetary: f64,
}

/// Summarizes transactions up to and including `calibration_end`, with
/// periods of `period_days` days (7 for weeks). Later transactions are left
/// out; customers are in id order.
pub fn summarize(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    period_days: f64,
) -> Result<Vec<History>> {
    if !(period_days.is_finite() && period_days > 0.0) {
        return Err(Error::invalid(
            "period_days",
            "expected a positive number of days",
        ));
    }
    let mut days: BTreeMap<&Id, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    for (i, t) in transactions.iter().enumerate() {
        if !t.amount.is_finite() || t.amount < 0.0 {
            return Err(Error::invalid(
                format!("[{i}].amount"),
                format!("expected a finite non-negative amount, got {}", t.amount),
            ));
        }
        if t.date.get() <= calibration_end {
            *days
                .entry(&t.contact_id)
                .or_default()
                .entry(t.date.get())
                .or_default() += t.amount;
        }
    }
    Ok(days
        .into_iter()
        .map(|(id, by_day)| {
            let first = *by_day.keys().next().unwrap_or(&calibration_end);
            let last = *by_day.keys().next_back().unwrap_or(&calibration_end);
            let periods = |d: NaiveDate| (d - first).num_days() as f64 / period_days;
            let repeats: Vec<f64> = by_day.values().skip(1).copied().collect();
            History {
                contact_id: id.clone(),
                frequency: repeats.len() as u32,
                recency: periods(last),
                age: periods(calibration_end),
                monetary: if repeats.is_empty() {
                    0.0
                } else {
                    repeats.iter().sum::<f64>() / repeats.len() as f64
                },
            }
        })
        .collect())
}

/// How a fit went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Nelder-Mead iterations used.
    pub iterations: u32,
}

/// The BG/NBD model's parameters: purchase rates are Gamma(r, alpha) across
/// customers; the dropout probability after each purchase is Beta(a, b).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbd {
    /// Shape of the purchase rate distribution.
    pub r: f64,
    /// Scale of the purchase rate distribution.
    pub alpha: f64,
    /// Beta parameter a of the dropout probability.
    pub a: f64,
    /// Beta parameter b of the dropout probability.
    pub b: f64,
}

impl BgNbd {
    /// Fits the model by maximum likelihood.
    pub fn fit(histories: &[History]) -> Result<(BgNbd, FitReport)> {
        check_histories(histories)?;
        let data = Prepared::new(histories);
        let nll = |p: &[f64]| {
            let m = BgNbd {
                r: p[0].exp(),
                alpha: p[1].exp(),
                a: p[2].exp(),
                b: p[3].exp(),
            };
            -m.log_likelihood_of(&data)
        };
        let (best, value, iterations) = minimize(nll, &[0.0, 0.0, 0.0, 0.0], "BG/NBD")?;
        let model = BgNbd {
            r: best[0].exp(),
            alpha: best[1].exp(),
            a: best[2].exp(),
            b: best[3].exp(),
        };
        Ok((
            model,
            FitReport {
                log_likelihood: -value,
                iterations,
            },
        ))
    }

    /// The log-likelihood of the histories under these parameters.
    pub fn log_likelihood(&self, histories: &[History]) -> f64 {
        self.log_likelihood_of(&Prepared::new(histories))
    }

    fn log_likelihood_of(&self, data: &Prepared) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        // The Gamma-function terms depend on x only: for integer x,
        // lnΓ(r + x) - lnΓ(r) is the sum of ln(r + k) for k < x.
        let mut heads = Vec::with_capacity(data.max_x as usize + 1);
        let mut head = r * alpha.ln();
        for k in 0..=data.max_x {
            heads.push(head);
            let k = f64::from(k);
            head += (r + k).ln() + (b + k).ln() - (a + b + k).ln();
        }
        let (ln_a, mut total) = (a.ln(), 0.0);
        for g in &data.groups {
            let x = f64::from(g.frequency);
            let stay = -(r + x) * (alpha + g.age).ln();
            let tail = if g.frequency > 0 {
                log_add(
                    stay,
                    ln_a - (b + x - 1.0).ln() - (r + x) * (alpha + g.recency).ln(),
                )
            } else {
                stay
            };
            total += g.weight * (heads[g.frequency as usize] + tail);
        }
        total
    }

    /// The probability that a customer with this history is still active.
    pub fn p_alive(&self, frequency: u32, recency: f64, age: f64) -> f64 {
        if frequency == 0 {
            return 1.0;
        }
        let x = f64::from(frequency);
        let ratio = ((self.alpha + age) / (self.alpha + recency)).ln() * (self.r + x);
        1.0 / (1.0 + (self.a / (self.b + x - 1.0)) * ratio.exp())
    }

    /// Expected purchases in the next `t` periods for a customer with this history.
    pub fn expected_purchases(
        &self,
        t: f64,
        frequency: u32,
        recency: f64,
        age: f64,
    ) -> Result<f64> {
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(frequency);
        let z = t / (alpha + age + t);
        let f = hyp2f1(r + x, b + x, a + b + x - 1.0, z)?;
        let lead = (a + b + x - 1.0) / (a - 1.0);
        let body = 1.0 - ((alpha + age) / (alpha + age + t)).powf(r + x) * f;
        let denominator = if frequency > 0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + age) / (alpha + recency)).powf(r + x)
        } else {
            1.0
        };
        Ok(lead * body / denominator)
    }

    /// Expected purchases in the first `t` periods of a new customer.
    pub fn expected_purchases_new(&self, t: f64) -> Result<f64> {
        let BgNbd { r, alpha, a, b } = *self;
        let f = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))?;
        Ok((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f))
    }
}

/// One customer's BG/NBD prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The customer.
    pub contact_id: Id,
    /// The probability the customer is still active.
    pub p_alive: f64,
    /// Expected purchases in the next `t` periods.
    pub expected_purchases: f64,
    /// The churn-risk band of `p_alive` (high below 0.4, low from 0.7).
    pub churn_risk: ChurnRisk,
}

impl BgNbd {
    /// Checks that the parameters are positive and finite.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("r", self.r),
            ("alpha", self.alpha),
            ("a", self.a),
            ("b", self.b),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    name,
                    format!("expected a positive finite parameter, got {v}"),
                ));
            }
        }
        if self.a == 1.0 {
            return Err(Error::invalid(
                "a",
                "a = 1 makes the expected purchases undefined",
            ));
        }
        Ok(())
    }

    /// P(alive) and expected purchases in the next `t` periods for each history.
    pub fn predict(&self, histories: &[History], t: f64) -> Result<Vec<Prediction>> {
        self.check()?;
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::invalid(
                "t",
                format!("expected a finite non-negative horizon, got {t}"),
            ));
        }
        check_histories(histories)?;
        histories
            .iter()
            .map(|h| {
                let p_alive = self.p_alive(h.frequency, h.recency, h.age);
                Ok(Prediction {
                    contact_id: h.contact_id.clone(),
                    p_alive,
                    churn_risk: churn_risk(p_alive, 0.4, 0.7),
                    expected_purchases: self.expected_purchases(
                        t,
                        h.frequency,
                        h.recency,
                        h.age,
                    )?,
                })
            })
            .collect()
    }
}

/// The Gamma-Gamma model's parameters for the value of a customer's orders.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaGamma {
    /// Shape of each order's value.
    pub p: f64,
    /// Shape of the customers' value scale.
    pub q: f64,
    /// Scale of the customers' value scale.
    pub gamma: f64,
}

impl GammaGamma {
    /// Fits the model on the customers with repeat purchases of some value.
    /// Others are skipped: without repeats there is no order value to learn
    /// from, and the model (Gamma-distributed values) cannot hold a value of 0.
    pub fn fit(histories: &[History]) -> Result<(GammaGamma, FitReport)> {
        check_histories(histories)?;
        let repeat: Vec<&History> = histories
            .iter()
            .filter(|h| h.frequency > 0 && h.monetary > 0.0)
            .collect();
        if repeat.is_empty() {
            return Err(Error::invalid(
                "",
                "Gamma-Gamma needs customers with repeat purchases of some value; there are none",
            ));
        }
        let data = ValueData::new(&repeat);
        let nll = |v: &[f64]| {
            let m = GammaGamma {
                p: v[0].exp(),
                q: v[1].exp(),
                gamma: v[2].exp(),
            };
            -m.log_likelihood_of(&data)
        };
        let (best, value, iterations) = minimize(nll, &[0.0, 0.0, 0.0], "Gamma-Gamma")?;
        let model = GammaGamma {
            p: best[0].exp(),
            q: best[1].exp(),
            gamma: best[2].exp(),
        };
        Ok((
            model,
            FitReport {
                log_likelihood: -value,
                iterations,
            },
        ))
    }

    fn log_likelihood_of(&self, data: &ValueData) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        // lnΓ(px + q) - lnΓ(px) depends on x only: once per distinct x.
        let mut by_x = vec![f64::NAN; data.max_x as usize + 1];
        let shared = q * gamma.ln() - ln_gamma(q);
        let mut total = 0.0;
        for c in &data.customers {
            let px = p * c.x;
            let head = &mut by_x[c.frequency as usize];
            if head.is_nan() {
                *head = ln_gamma(px + q) - ln_gamma(px) + shared;
            }
            total +=
                *head + (px - 1.0) * c.ln_m + px * c.ln_x - (px + q) * (c.x * c.m + gamma).ln();
        }
        total
    }

    /// Checks that the parameters are positive and finite.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [("p", self.p), ("q", self.q), ("gamma", self.gamma)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    name,
                    format!("expected a positive finite parameter, got {v}"),
                ));
            }
        }
        if self.q <= 1.0 {
            return Err(Error::invalid(
                "q",
                "q must exceed 1 for the expected order value to exist",
            ));
        }
        Ok(())
    }

    /// The expected order value of each history (the population mean for
    /// customers without repeat purchases).
    pub fn predict(&self, histories: &[History]) -> Result<Vec<ValuePrediction>> {
        self.check()?;
        check_histories(histories)?;
        Ok(histories
            .iter()
            .map(|h| ValuePrediction {
                contact_id: h.contact_id.clone(),
                expected_value: self.expected_value(h.frequency, h.monetary),
            })
            .collect())
    }

    /// The expected value of this customer's future orders.
    pub fn expected_value(&self, frequency: u32, monetary: f64) -> f64 {
        let x = f64::from(frequency);
        (self.gamma + monetary * x) * self.p / (self.p * x + self.q - 1.0)
    }
}

/// Histories prepared for the many likelihood evaluations of a fit:
/// customers with the same (x, t_x, T) merged into one weighted group (most
/// one-time buyers share a few first-purchase days).
struct Prepared {
    groups: Vec<Group>,
    max_x: u32,
}

struct Group {
    frequency: u32,
    recency: f64,
    age: f64,
    weight: f64,
}

impl Prepared {
    fn new(histories: &[History]) -> Self {
        let mut keys: Vec<(u32, u64, u64)> = histories
            .iter()
            .map(|h| (h.frequency, h.recency.to_bits(), h.age.to_bits()))
            .collect();
        keys.sort_unstable();
        let mut groups: Vec<Group> = Vec::new();
        let mut previous = None;
        for key in keys {
            if previous == Some(key) {
                if let Some(last) = groups.last_mut() {
                    last.weight += 1.0;
                }
            } else {
                groups.push(Group {
                    frequency: key.0,
                    recency: f64::from_bits(key.1),
                    age: f64::from_bits(key.2),
                    weight: 1.0,
                });
                previous = Some(key);
            }
        }
        let max_x = groups.iter().map(|g| g.frequency).max().unwrap_or(0);
        Prepared { groups, max_x }
    }
}

/// Repeat buyers prepared for Gamma-Gamma: logarithms taken once.
struct ValueData {
    customers: Vec<ValueCustomer>,
    max_x: u32,
}

struct ValueCustomer {
    frequency: u32,
    x: f64,
    m: f64,
    ln_x: f64,
    ln_m: f64,
}

impl ValueData {
    fn new(repeat: &[&History]) -> Self {
        let customers: Vec<ValueCustomer> = repeat
            .iter()
            .map(|h| {
                let x = f64::from(h.frequency);
                ValueCustomer {
                    frequency: h.frequency,
                    x,
                    m: h.monetary,
                    ln_x: x.ln(),
                    ln_m: h.monetary.ln(),
                }
            })
            .collect();
        let max_x = customers.iter().map(|c| c.frequency).max().unwrap_or(0);
        ValueData { customers, max_x }
    }
}

/// One customer's expected order value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValuePrediction {
    /// The customer.
    pub contact_id: Id,
    /// The expected value of an order.
    pub expected_value: f64,
}

/// The average-interval rule: a customer is "at risk" once the time since
/// their last purchase passes the mean gap between their purchase days
/// (gaps of 90, 60, 30 and 60 days average 60). The same mean gives the
/// expected date of the next order, as retail CRMs show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalState {
    /// The customer.
    pub contact_id: Id,
    /// Distinct purchase days up to `as_of`.
    pub purchase_days: u32,
    /// The last purchase day.
    pub last_purchase: Date,
    /// The mean gap between purchase days, in days; none with fewer than two purchase days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_interval_days: Option<f64>,
    /// The expected next order (last purchase plus the mean gap, rounded to
    /// the nearest day), the day the rule flips to "at risk" once it has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_order_expected: Option<Date>,
    /// Whether `as_of` is past the expected next order.
    pub at_risk: bool,
}

/// The average-interval rule for every customer with a purchase on or
/// before `as_of` (later transactions are left out), in id order.
pub fn average_interval(
    transactions: &[Transaction],
    as_of: NaiveDate,
) -> Result<Vec<IntervalState>> {
    let mut days: BTreeMap<&Id, Vec<NaiveDate>> = BTreeMap::new();
    for (i, t) in transactions.iter().enumerate() {
        if !t.amount.is_finite() || t.amount < 0.0 {
            return Err(Error::invalid(
                format!("[{i}].amount"),
                format!("expected a finite non-negative amount, got {}", t.amount),
            ));
        }
        if t.date.get() <= as_of {
            days.entry(&t.contact_id).or_default().push(t.date.get());
        }
    }
    Ok(days
        .into_iter()
        .map(|(id, mut dates)| {
            dates.sort_unstable();
            dates.dedup();
            let rule = interval_rule(&dates, as_of);
            IntervalState {
                contact_id: id.clone(),
                purchase_days: dates.len() as u32,
                last_purchase: Date::from_naive(dates[dates.len() - 1]),
                average_interval_days: rule.average_days,
                next_order_expected: rule.next_expected.map(Date::from_naive),
                at_risk: rule.at_risk,
            }
        })
        .collect())
}

/// The average-interval rule over sorted, distinct purchase days.
pub(crate) struct IntervalRule {
    pub average_days: Option<f64>,
    pub next_expected: Option<NaiveDate>,
    pub at_risk: bool,
}

pub(crate) fn interval_rule(days: &[NaiveDate], as_of: NaiveDate) -> IntervalRule {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return IntervalRule {
            average_days: None,
            next_expected: None,
            at_risk: false,
        };
    };
    let gaps = days.len() - 1;
    let average = (gaps > 0).then(|| (*last - *first).num_days() as f64 / gaps as f64);
    let next = average.map(|a| *last + chrono::Duration::days(a.round() as i64));
    IntervalRule {
        average_days: average,
        next_expected: next,
        at_risk: next.is_some_and(|n| as_of > n),
    }
}

/// Churn-risk bands from the probability of being alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChurnRisk {
    /// P(alive) at or above the upper threshold.
    Low,
    /// Between the thresholds.
    Medium,
    /// Below the lower threshold.
    High,
}

/// The band of `p_alive` for thresholds `low_below` < `high_below`
/// (defaults 0.4 and 0.7: below 0.4 is high risk, from 0.7 low).
pub fn churn_risk(p_alive: f64, high_below: f64, low_from: f64) -> ChurnRisk {
    if p_alive < high_below {
        ChurnRisk::High
    } else if p_alive < low_from {
        ChurnRisk::Medium
    } else {
        ChurnRisk::Low
    }
}

/// Customer lifetime value: the expected purchases in each step of the
/// horizon (from BG/NBD), times the expected order value (Gamma-Gamma),
/// discounted per step: `sum_k (E[Y(k s)] - E[Y((k-1) s)]) * value / (1 + d)^k`
/// for steps `k = 1..=ceil(horizon / s)`. Periods are those of the
/// histories (weeks by default); e.g. a year in steps of a month is
/// `horizon = 52.18`, `step = 4.348`, `discount` the monthly rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clv {
    /// The customer.
    pub contact_id: Id,
    /// Expected purchases over the horizon (undiscounted).
    pub expected_purchases: f64,
    /// Expected order value.
    pub expected_value: f64,
    /// Discounted value over the horizon.
    pub clv: f64,
}

/// CLV for every history; see [`Clv`].
pub fn clv(
    purchases: &BgNbd,
    value: &GammaGamma,
    histories: &[History],
    horizon: f64,
    step: f64,
    discount: f64,
) -> Result<Vec<Clv>> {
    purchases.check()?;
    value.check()?;
    check_histories(histories)?;
    if !(horizon.is_finite() && horizon > 0.0) {
        return Err(Error::invalid(
            "horizon",
            format!("expected a positive horizon, got {horizon}"),
        ));
    }
    if !(step.is_finite() && step > 0.0 && step <= horizon) {
        return Err(Error::invalid(
            "step",
            format!("expected a step above 0 and at most the horizon, got {step}"),
        ));
    }
    if !(discount.is_finite() && discount > -1.0) {
        return Err(Error::invalid(
            "discount",
            format!("expected a rate above -1, got {discount}"),
        ));
    }
    let steps = (horizon / step).ceil();
    if steps > 10_000.0 {
        return Err(Error::invalid(
            "step",
            format!("expected at most 10000 steps in the horizon, got {steps}"),
        ));
    }
    let steps = steps as u32;
    histories
        .iter()
        .map(|h| {
            let order_value = value.expected_value(h.frequency, h.monetary);
            let (mut total, mut before, mut discounted) = (0.0, 0.0, 0.0);
            for k in 1..=steps {
                let t = (f64::from(k) * step).min(horizon);
                let after = purchases.expected_purchases(t, h.frequency, h.recency, h.age)?;
                discounted += (after - before) * order_value / (1.0 + discount).powi(k as i32);
                total = after;
                before = after;
            }
            Ok(Clv {
                contact_id: h.contact_id.clone(),
                expected_purchases: total,
                expected_value: order_value,
                clv: discounted,
            })
        })
        .collect()
}

/// Most repeat purchases one history may hold (the likelihoods keep a term per count).
pub const MAX_FREQUENCY: u32 = 1_000_000;

fn check_histories(histories: &[History]) -> Result<()> {
    if histories.is_empty() {
        return Err(Error::invalid("", "cannot fit a model to no customers"));
    }
    for (i, h) in histories.iter().enumerate() {
        if h.frequency > MAX_FREQUENCY {
            return Err(Error::invalid(
                format!("[{i}].frequency"),
                format!(
                    "expected at most {MAX_FREQUENCY} repeat purchases, got {}",
                    h.frequency
                ),
            ));
        }
        let ok = h.recency.is_finite()
            && h.age.is_finite()
            && h.monetary.is_finite()
            && h.recency >= 0.0
            && h.age >= h.recency
            && h.monetary >= 0.0
            && (h.frequency > 0 || h.recency == 0.0);
        if !ok {
            return Err(Error::invalid(
                format!("[{i}]"),
                "expected 0 <= recency <= age, recency 0 without repeat purchases, and a finite non-negative monetary value",
            ));
        }
    }
    Ok(())
}

/// `ln(e^a + e^b)` without overflow.
fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// The natural logarithm of the gamma function (Lanczos, g = 7, n = 9;
/// relative error about 1e-15 for positive arguments).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for 0 <= z < 1, by its series.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64> {
    if !(0.0..1.0).contains(&z) {
        return Err(Error::invalid(
            "",
            format!("the hypergeometric series needs 0 <= z < 1, got {z}"),
        ));
    }
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 0..200_000 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-15 * sum.abs() {
            return Ok(sum);
        }
    }
    Err(Error::Convergence {
        message: format!(
            "the hypergeometric series 2F1({a}, {b}; {c}; {z}) did not converge in 200000 terms"
        ),
    })
}

/// Nelder-Mead minimization with restarts until the simplex stops improving.
/// Returns the point, the value and the iterations used.
fn minimize(f: impl Fn(&[f64]) -> f64, start: &[f64], what: &str) -> Result<(Vec<f64>, f64, u32)> {
    let n = start.len();
    let mut best = start.to_vec();
    let mut best_value = f(&best);
    let mut iterations = 0u32;
    for _restart in 0..20 {
        let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
            .map(|i| {
                let mut p = best.clone();
                if i > 0 {
                    p[i - 1] += if p[i - 1].abs() > 1e-3 {
                        0.1 * p[i - 1].abs().max(0.5)
                    } else {
                        0.5
                    };
                }
                let v = f(&p);
                (p, v)
            })
            .collect();
        for _ in 0..5_000 {
            iterations += 1;
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (lo, hi) = (simplex[0].1, simplex[n].1);
            if (hi - lo).abs() <= 1e-12 * (lo.abs() + 1e-12) {
                break;
            }
            let centroid: Vec<f64> = (0..n)
                .map(|j| simplex[..n].iter().map(|s| s.0[j]).sum::<f64>() / n as f64)
                .collect();
            let along = |t: f64| -> Vec<f64> {
                (0..n)
                    .map(|j| centroid[j] + t * (simplex[n].0[j] - centroid[j]))
                    .collect()
            };
            let reflected = along(-1.0);
            let fr = f(&reflected);
            if fr < simplex[0].1 {
                let expanded = along(-2.0);
                let fe = f(&expanded);
                simplex[n] = if fe < fr {
                    (expanded, fe)
                } else {
                    (reflected, fr)
                };
            } else if fr < simplex[n - 1].1 {
                simplex[n] = (reflected, fr);
            } else {
                let contracted = if fr < simplex[n].1 {
                    along(-0.5)
                } else {
                    along(0.5)
                };
                let fc = f(&contracted);
                if fc < fr.min(simplex[n].1) {
                    simplex[n] = (contracted, fc);
                } else {
                    let first = simplex[0].0.clone();
                    for s in simplex.iter_mut().skip(1) {
                        s.0 = (0..n)
                            .map(|j| first[j] + 0.5 * (s.0[j] - first[j]))
                            .collect();
                        s.1 = f(&s.0);
                    }
                }
            }
        }
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (point, value) = simplex.swap_remove(0);
        if !value.is_finite() {
            return Err(Error::Convergence {
                message: format!("the {what} likelihood is not finite at the estimate"),
            });
        }
        let improved = best_value - value;
        best = point;
        best_value = value;
        if improved.abs() <= 1e-10 * (value.abs() + 1.0) {
            return Ok((best, best_value, iterations));
        }
    }
    Err(Error::Convergence {
        message: format!(
            "the {what} fit did not converge in 20 restarts ({iterations} iterations)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(0.1) - 2.252_712_651_734_206).abs() < 1e-12);
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z.
        let z = 0.6;
        assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() - (-(1.0 - z).ln() / z)).abs() < 1e-12);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_err());
    }

    #[test]
    fn published_expectation_for_cdnow() {
        let model = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let e = model.expected_purchases(39.0, 2, 30.43, 38.86).unwrap();
        assert!((e - 1.226).abs() < 0.0005, "{e}");
    }
}

#[cfg(test)]
mod interval_tests {
    use super::*;

    fn tx(day: &str) -> Transaction {
        Transaction {
            contact_id: Id::new("c").unwrap(),
            date: Date::parse(day).unwrap(),
            amount: 10.0,
        }
    }

    #[test]
    fn gaps_of_90_60_30_60_average_60() {
        let t: Vec<Transaction> = [
            "2024-01-01",
            "2024-03-31",
            "2024-05-30",
            "2024-06-29",
            "2024-08-28",
        ]
        .into_iter()
        .map(tx)
        .collect();
        let on = |d: &str| {
            average_interval(&t, Date::parse(d).unwrap().get())
                .unwrap()
                .remove(0)
        };
        let s = on("2024-10-27");
        assert_eq!(s.average_interval_days, Some(60.0));
        assert_eq!(s.next_order_expected.unwrap().to_string(), "2024-10-27");
        assert!(!s.at_risk, "on the day itself the rule has not flipped");
        assert!(on("2024-10-28").at_risk);
    }

    #[test]
    fn clv_sums_discounted_steps() {
        let bg = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let h = History {
            contact_id: Id::new("c").unwrap(),
            frequency: 2,
            recency: 30.43,
            age: 38.86,
            monetary: 20.0,
        };
        let undiscounted = clv(&bg, &gg, std::slice::from_ref(&h), 39.0, 13.0, 0.0)
            .unwrap()
            .remove(0);
        let expected = bg.expected_purchases(39.0, 2, 30.43, 38.86).unwrap();
        assert!((undiscounted.expected_purchases - expected).abs() < 1e-12);
        assert!((undiscounted.clv - expected * gg.expected_value(2, 20.0)).abs() < 1e-9);
        let discounted = clv(&bg, &gg, &[h], 39.0, 13.0, 0.05).unwrap().remove(0);
        assert!(discounted.clv < undiscounted.clv);
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn huge_inputs_are_refused_not_allocated() {
        let h = History {
            contact_id: Id::new("c").unwrap(),
            frequency: u32::MAX,
            recency: 1.0,
            age: 2.0,
            monetary: 1.0,
        };
        let e = BgNbd::fit(std::slice::from_ref(&h)).unwrap_err();
        assert_eq!(e.path(), Some("[0].frequency"));
        let bg = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let ok = History { frequency: 1, ..h };
        assert_eq!(
            clv(&bg, &gg, &[ok], 1e12, 1e-3, 0.0).unwrap_err().path(),
            Some("step")
        );
    }
}
