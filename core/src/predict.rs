//! Purchase predictions: BG/NBD (Fader, Hardie and Lee 2005) for how many
//! purchases a customer will make and whether they are still "alive", and
//! Gamma-Gamma (Fader and Hardie 2013) for the value of their orders.
//!
//! Both are fitted by maximum likelihood on the logarithms of the parameters
//! (so they stay positive), by BFGS with the likelihoods' exact gradients,
//! and Nelder-Mead should BFGS not finish. The per-customer summary follows
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
    /// Optimizer iterations: BFGS steps, plus Nelder-Mead iterations when
    /// BFGS could not finish and Nelder-Mead went on from where it stopped.
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
        let model = |v: &[f64]| BgNbd {
            r: v[0].exp(),
            alpha: v[1].exp(),
            a: v[2].exp(),
            b: v[3].exp(),
        };
        let nll = |v: &[f64], gradient: &mut [f64]| {
            let (ll, g) = model(v).log_likelihood_and_gradient(&data);
            for (out, g) in gradient.iter_mut().zip(g) {
                *out = -g;
            }
            -ll
        };
        // All parameters start at 1 but a, at 1/2: the expected purchases are
        // undefined at a = 1, and without repeat purchases in the data the
        // likelihood does not depend on a, which then stays where it started.
        let found = minimize(nll, &[0.0, 0.0, -std::f64::consts::LN_2, 0.0], "BG/NBD")?;
        Ok((
            model(&found.point),
            FitReport {
                log_likelihood: -found.value,
                iterations: found.iterations,
            },
        ))
    }

    /// The log-likelihood of the histories under these parameters.
    pub fn log_likelihood(&self, histories: &[History]) -> f64 {
        self.log_likelihood_and_gradient(&Prepared::new(histories))
            .0
    }

    /// The log-likelihood and its gradient with respect to the logarithms
    /// of (r, alpha, a, b), the coordinates the fit works in
    /// (d/d ln θ = θ d/dθ).
    fn log_likelihood_and_gradient(&self, data: &Prepared) -> (f64, [f64; 4]) {
        let BgNbd { r, alpha, a, b } = *self;
        let ln_alpha = alpha.ln();
        let (mut ll, mut d_r, mut d_alpha, mut d_a, mut d_b) = (0.0, 0.0, 0.0, 0.0, 0.0);
        // The Gamma-function head depends on x only: for integer x,
        // lnΓ(r + x) - lnΓ(r) is the sum of ln(r + k) for k < x, and its
        // derivative the sum of 1 / (r + k); likewise for b and a + b.
        let (mut head, mut head_r, mut head_a, mut head_b) = (r * ln_alpha, ln_alpha, 0.0, 0.0);
        for (k, &weight) in data.counts.iter().enumerate() {
            ll += weight * head;
            d_r += weight * head_r;
            d_a += weight * head_a;
            d_b += weight * head_b;
            let k = k as f64;
            let (ir, ib, iab) = (1.0 / (r + k), 1.0 / (b + k), 1.0 / (a + b + k));
            head += (r + k).ln() + (b + k).ln() - (a + b + k).ln();
            head_r += ir;
            head_a -= iab;
            head_b += ib - iab;
        }
        d_alpha += data.customers * r / alpha;
        // ln(alpha + t) and 1 / (alpha + t), once per distinct recency or age.
        let ln_t: Vec<f64> = data.times.iter().map(|t| (alpha + t).ln()).collect();
        let inv_t: Vec<f64> = data.times.iter().map(|t| 1.0 / (alpha + t)).collect();
        // The dropout term's odds against the "alive at T" term carry
        // a / (b + x - 1), the same for every group with x repeats.
        let ln_a = a.ln();
        let ln_odds: Vec<f64> = (0..data.counts.len())
            .map(|x| ln_a - (b + x as f64 - 1.0).ln())
            .collect();
        // The dropout shares (below) summed per x, for the derivatives in a and b.
        let mut dropouts = vec![0.0; data.counts.len()];
        for g in &data.groups {
            let (w, rx) = (g.weight, r + f64::from(g.frequency));
            let (ln_age, inv_age) = (ln_t[g.age], inv_t[g.age]);
            // Alive at T: -(r + x) ln(alpha + T).
            ll -= w * rx * ln_age;
            if g.frequency == 0 {
                d_r -= w * ln_age;
                d_alpha -= w * rx * inv_age;
                continue;
            }
            // Or dropped out after the last purchase, with log-odds `odds`
            // against alive: the tail is alive + ln(1 + e^odds), and each
            // derivative the mix of both terms' with the dropout share.
            let (ln_rec, inv_rec) = (ln_t[g.recency], inv_t[g.recency]);
            let odds = ln_odds[g.frequency as usize] + rx * (ln_age - ln_rec);
            let e = (-odds.abs()).exp();
            let share = if odds > 0.0 { 1.0 } else { e } / (1.0 + e);
            // ln(1 + e) rather than ln_1p(e): e <= 1, so it is as exact
            // next to the other terms (absolute error below 2.3e-16), and faster.
            ll += w * (odds.max(0.0) + (1.0 + e).ln());
            d_r -= w * (ln_age + share * (ln_rec - ln_age));
            d_alpha -= w * rx * (inv_age + share * (inv_rec - inv_age));
            dropouts[g.frequency as usize] += w * share;
        }
        for (x, dropout) in dropouts.iter().enumerate().skip(1) {
            d_a += dropout / a;
            d_b -= dropout / (b + x as f64 - 1.0);
        }
        (ll, [r * d_r, alpha * d_alpha, a * d_a, b * d_b])
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
        let model = |v: &[f64]| GammaGamma {
            p: v[0].exp(),
            q: v[1].exp(),
            gamma: v[2].exp(),
        };
        let nll = |v: &[f64], gradient: &mut [f64]| {
            let (ll, g) = model(v).log_likelihood_and_gradient(&data);
            for (out, g) in gradient.iter_mut().zip(g) {
                *out = -g;
            }
            -ll
        };
        let found = minimize(nll, &[0.0; 3], "Gamma-Gamma")?;
        Ok((
            model(&found.point),
            FitReport {
                log_likelihood: -found.value,
                iterations: found.iterations,
            },
        ))
    }

    /// The log-likelihood of the repeat buyers and its gradient with respect
    /// to the logarithms of (p, q, gamma), the coordinates the fit works in.
    /// Per customer: lnΓ(px + q) - lnΓ(px) - lnΓ(q) + q ln γ
    /// + (px - 1) ln m + px ln x - (px + q) ln(x m + γ).
    fn log_likelihood_and_gradient(&self, data: &ValueData) -> (f64, [f64; 3]) {
        let GammaGamma { p, q, gamma } = *self;
        let n = data.customers;
        // The terms outside the Gamma functions that are linear in p, summed once.
        let mut ll = p * data.sum_x_ln_xm - data.sum_ln_m + n * (q * gamma.ln() - ln_gamma(q));
        let mut d_p = data.sum_x_ln_xm;
        let mut d_q = n * (gamma.ln() - digamma(q));
        let mut d_gamma = n * q / gamma;
        // lnΓ(px + q) - lnΓ(px) depends on x only: once per distinct x.
        for &(x, weight) in &data.counts {
            let px = p * x;
            ll += weight * (ln_gamma(px + q) - ln_gamma(px));
            let psi = digamma(px + q);
            d_p += weight * x * (psi - digamma(px));
            d_q += weight * psi;
        }
        for g in &data.groups {
            let (w, rate) = (g.weight, p * g.x + q);
            let scale = g.x_m + gamma;
            let ln_scale = scale.ln();
            ll -= w * rate * ln_scale;
            d_p -= w * g.x * ln_scale;
            d_q -= w * ln_scale;
            d_gamma -= w * rate / scale;
        }
        (ll, [p * d_p, q * d_q, gamma * d_gamma])
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
/// one-time buyers share a few first-purchase days), and the distinct
/// recency and age values listed once (periods are whole days divided by
/// the period length, so there are few).
struct Prepared {
    groups: Vec<Group>,
    /// The distinct recency and age values, in order.
    times: Vec<f64>,
    /// The number of customers with each x, for x = 0..=max x.
    counts: Vec<f64>,
    /// The number of customers.
    customers: f64,
}

struct Group {
    frequency: u32,
    /// Indices into `Prepared::times`.
    recency: usize,
    age: usize,
    weight: f64,
}

impl Prepared {
    fn new(histories: &[History]) -> Self {
        let mut keys: Vec<(u32, u64, u64)> = histories
            .iter()
            .map(|h| (h.frequency, h.recency.to_bits(), h.age.to_bits()))
            .collect();
        keys.sort_unstable();
        // (frequency, recency, age, weight), the times still as bits.
        let mut merged: Vec<(u32, u64, u64, f64)> = Vec::new();
        for (frequency, recency, age) in keys {
            match merged.last_mut() {
                Some(m) if (m.0, m.1, m.2) == (frequency, recency, age) => m.3 += 1.0,
                _ => merged.push((frequency, recency, age, 1.0)),
            }
        }
        let mut times: Vec<f64> = merged
            .iter()
            .flat_map(|m| [f64::from_bits(m.1), f64::from_bits(m.2)])
            .collect();
        times.sort_unstable_by(f64::total_cmp);
        times.dedup_by(|a, b| a.total_cmp(b).is_eq());
        let index = |bits: u64| {
            let t = f64::from_bits(bits);
            times.binary_search_by(|u| u.total_cmp(&t)).unwrap_or(0)
        };
        let groups: Vec<Group> = merged
            .iter()
            .map(|&(frequency, recency, age, weight)| Group {
                frequency,
                recency: index(recency),
                age: index(age),
                weight,
            })
            .collect();
        let max_x = groups.last().map_or(0, |g| g.frequency);
        let mut counts = vec![0.0; max_x as usize + 1];
        for g in &groups {
            counts[g.frequency as usize] += g.weight;
        }
        Prepared {
            groups,
            times,
            counts,
            customers: histories.len() as f64,
        }
    }
}

/// Repeat buyers prepared for Gamma-Gamma: customers with the same x and
/// mean value merged into one weighted group, the sums that do not depend
/// on the parameters taken once.
struct ValueData {
    groups: Vec<ValueGroup>,
    /// (x, the number of customers with it) for each distinct x.
    counts: Vec<(f64, f64)>,
    /// The number of customers.
    customers: f64,
    /// The sum of x (ln x + ln m).
    sum_x_ln_xm: f64,
    /// The sum of ln m.
    sum_ln_m: f64,
}

struct ValueGroup {
    x: f64,
    /// x times the mean value m.
    x_m: f64,
    weight: f64,
}

impl ValueData {
    fn new(repeat: &[&History]) -> Self {
        let mut keys: Vec<(u32, u64)> = repeat
            .iter()
            .map(|h| (h.frequency, h.monetary.to_bits()))
            .collect();
        keys.sort_unstable();
        let (mut groups, mut counts) = (Vec::<ValueGroup>::new(), Vec::<(f64, f64)>::new());
        let (mut sum_x_ln_xm, mut sum_ln_m) = (0.0, 0.0);
        let mut previous = None;
        for key in keys {
            let (x, m) = (f64::from(key.0), f64::from_bits(key.1));
            sum_x_ln_xm += x * (x.ln() + m.ln());
            sum_ln_m += m.ln();
            match counts.last_mut() {
                Some(c) if c.0 == x => c.1 += 1.0,
                _ => counts.push((x, 1.0)),
            }
            match groups.last_mut() {
                Some(g) if previous == Some(key) => g.weight += 1.0,
                _ => groups.push(ValueGroup {
                    x,
                    x_m: x * m,
                    weight: 1.0,
                }),
            }
            previous = Some(key);
        }
        ValueData {
            groups,
            counts,
            customers: repeat.len() as f64,
            sum_x_ln_xm,
            sum_ln_m,
        }
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

/// The digamma function ψ = (lnΓ)' for positive arguments (NaN otherwise):
/// the recurrence ψ(x) = ψ(x + 1) - 1/x up to x >= 10, then the asymptotic
/// series, whose first omitted term is below 1e-16 there.
fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let (mut x, mut shift) = (x, 0.0);
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let z = 1.0 / (x * x);
    // Bernoulli numbers: B_2k / (2k) for k = 1..=7.
    let series = z
        * (1.0 / 12.0
            - z * (1.0 / 120.0
                - z * (1.0 / 252.0
                    - z * (1.0 / 240.0 - z * (1.0 / 132.0 - z * (691.0 / 32_760.0 - z / 12.0))))));
    shift + x.ln() - 0.5 / x - series
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

/// Where a minimizer stopped.
struct Minimum {
    point: Vec<f64>,
    value: f64,
    /// BFGS steps, plus Nelder-Mead iterations when it took over.
    iterations: u32,
}

/// Minimizes `f`, which returns the value at a point and writes the gradient
/// into its second argument: BFGS, then Nelder-Mead from where BFGS stopped
/// when it cannot finish (non-finite values, no progress, too many steps).
fn minimize(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &[f64],
    what: &str,
) -> Result<Minimum> {
    bfgs(&mut f, start).or_else(|stuck| {
        let mut gradient = vec![0.0; start.len()];
        nelder_mead(|x| f(x, &mut gradient), stuck, what)
    })
}

/// Most BFGS steps; the fits here take a few dozen.
const BFGS_STEPS: u32 = 500;

/// BFGS (Nocedal and Wright, Numerical Optimization, 2006, algorithm 6.1).
///
/// Each step backtracks from the quasi-Newton step until the value falls
/// enough (Armijo) or, once the value is flat within rounding near the
/// minimum, until the slope along the step has flattened (the approximate
/// Wolfe conditions of Hager and Zhang, 2005): the gradient stays exact
/// where differences of the value are lost in rounding, so the fit goes on
/// to full precision. It stops when every gradient component is below 1e-10
/// of the value (the likelihoods are sums over customers, so gradient and
/// value grow alike), or when the next quasi-Newton step would change no
/// coordinate by more than 1e-10 (no parameter by more than 1e-10 relative).
/// When no step of that size along the estimate nor along the gradient makes
/// progress, or after `BFGS_STEPS`, the error holds the point reached.
fn bfgs(
    f: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &[f64],
) -> std::result::Result<Minimum, Minimum> {
    let n = start.len();
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    let mut x = start.to_vec();
    let mut g = vec![0.0; n];
    let mut value = f(&x, &mut g);
    let stop = |point, value, iterations| Minimum {
        point,
        value,
        iterations,
    };
    if !value.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Err(stop(x, value, 0));
    }
    // The inverse Hessian estimate, row-major; None until the first step
    // gives it a scale (Nocedal and Wright, eq. 6.20).
    let mut h: Option<Vec<f64>> = None;
    let (mut x_new, mut g_new) = (vec![0.0; n], vec![0.0; n]);
    for step in 0..BFGS_STEPS {
        if g.iter().all(|v| v.abs() <= 1e-10 * (1.0 + value.abs())) {
            return Ok(stop(x, value, step));
        }
        let mut d: Vec<f64> = match &h {
            Some(h) => (0..n).map(|i| -dot(&h[i * n..(i + 1) * n], &g)).collect(),
            None => g.iter().map(|v| -v).collect(),
        };
        if dot(&d, &g) >= 0.0 {
            // Not a descent direction (rounding in the estimate): start over.
            h = None;
            d = g.iter().map(|v| -v).collect();
        }
        // At most one unit per coordinate (a factor e on a parameter), so a
        // first steepest-descent step cannot overflow the exponentials.
        let mut longest = d.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if longest <= 1e-10 {
            return Ok(stop(x, value, step));
        }
        if longest > 1.0 {
            d.iter_mut().for_each(|v| *v /= longest);
            longest = 1.0;
        }
        let slope = dot(&d, &g);
        let mut t = 1.0;
        let mut accepted = None;
        while t * longest > 1e-10 {
            for i in 0..n {
                x_new[i] = x[i] + t * d[i];
            }
            let v = f(&x_new, &mut g_new);
            let finite = v.is_finite() && g_new.iter().all(|v| v.is_finite());
            let armijo = v <= value + 1e-4 * t * slope;
            let new_slope = dot(&g_new, &d);
            let flat = v <= value + 1e-12 * value.abs()
                && 0.9 * slope <= new_slope
                && new_slope <= -0.8 * slope;
            if finite && (armijo || flat) {
                accepted = Some(v);
                break;
            }
            // The minimum of the quadratic through value, slope and v, kept
            // within [t/10, t/2]; a tenth when v is not finite.
            let fit = -slope * t * t / (2.0 * (v - value - slope * t));
            t = if fit.is_finite() {
                fit.clamp(0.1 * t, 0.5 * t)
            } else {
                0.1 * t
            };
        }
        let Some(v) = accepted else {
            if h.take().is_some() {
                // Retry along the gradient before giving up.
                continue;
            }
            return Err(stop(x, value, step));
        };
        let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        value = v;
        // The update keeps the estimate positive definite only when the
        // curvature s·y is positive; otherwise it is skipped.
        let sy = dot(&s, &y);
        if sy <= 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            continue;
        }
        let h = h.get_or_insert_with(|| {
            let scale = sy / dot(&y, &y);
            (0..n * n)
                .map(|k| if k % (n + 1) == 0 { scale } else { 0.0 })
                .collect()
        });
        // H' = H - ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ, with ρ = 1 / s·y.
        let rho = 1.0 / sy;
        let hy: Vec<f64> = (0..n).map(|i| dot(&h[i * n..(i + 1) * n], &y)).collect();
        let c = rho * rho * dot(&y, &hy) + rho;
        for i in 0..n {
            for j in 0..n {
                h[i * n + j] += c * s[i] * s[j] - rho * (s[i] * hy[j] + hy[i] * s[j]);
            }
        }
    }
    Err(stop(x, value, BFGS_STEPS))
}

/// Nelder-Mead minimization with restarts until the simplex stops improving,
/// from where `start` stopped (its iterations count on).
fn nelder_mead(mut f: impl FnMut(&[f64]) -> f64, start: Minimum, what: &str) -> Result<Minimum> {
    let n = start.point.len();
    let mut iterations = start.iterations;
    let (mut best, mut best_value) = (start.point, start.value);
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
            return Ok(Minimum {
                point: best,
                value: best_value,
                iterations,
            });
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

    #[test]
    fn digamma_matches_known_values() {
        for (x, want) in [
            (1.0, -0.577_215_664_901_532_9),
            (0.5, -1.963_510_026_021_423_5),
            (10.0, 2.251_752_589_066_721),
        ] {
            assert!((digamma(x) - want).abs() < 1e-14, "ψ({x}) = {}", digamma(x));
        }
        for x in [1e-8, 0.3, 7.5, 123.4] {
            // The recurrence, and the derivative of ln_gamma.
            let step = digamma(x + 1.0) - digamma(x);
            assert!(
                (step * x - 1.0).abs() < 1e-13,
                "ψ({x} + 1) - ψ({x}) = {step}"
            );
            if x >= 0.3 {
                let h = 1e-4 * x;
                let slope = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
                assert!(
                    (digamma(x) - slope).abs() < 1e-7 * (1.0 + slope.abs()),
                    "{x}"
                );
            }
        }
        assert!(digamma(0.0).is_nan() && digamma(-1.5).is_nan() && digamma(f64::NAN).is_nan());
    }

    /// Points spread over a box, from a fixed seed (xorshift).
    fn points(n: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut state = seed;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| (0..dims).map(|_| -2.0 + 4.0 * uniform()).collect())
            .collect()
    }

    /// Checks an analytic gradient against central differences.
    fn check_gradient(f: impl Fn(&[f64]) -> (f64, Vec<f64>), at: &[f64]) {
        let (_, gradient) = f(at);
        for i in 0..at.len() {
            let h = 1e-5;
            let mut up = at.to_vec();
            let mut down = at.to_vec();
            up[i] += h;
            down[i] -= h;
            let numeric = (f(&up).0 - f(&down).0) / (2.0 * h);
            assert!(
                (gradient[i] - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "component {i} at {at:?}: analytic {} numeric {numeric}",
                gradient[i]
            );
        }
    }

    fn history(frequency: u32, recency: f64, age: f64, monetary: f64) -> History {
        History {
            contact_id: Id::new("c").unwrap(),
            frequency,
            recency,
            age,
            monetary,
        }
    }

    fn histories() -> Vec<History> {
        (0..40)
            .map(|i| {
                let x = [0, 0, 1, 2, 3, 7][i % 6];
                let age = 20.0 + (i % 5) as f64 * 3.5;
                let recency = if x == 0 {
                    0.0
                } else {
                    age * (i % 4 + 1) as f64 / 5.0
                };
                history(x, recency, age, 5.0 + (i % 7) as f64 * 4.25)
            })
            .collect()
    }

    #[test]
    fn bgnbd_gradient_matches_finite_differences() {
        let data = Prepared::new(&histories());
        let f = |v: &[f64]| {
            let model = BgNbd {
                r: v[0].exp(),
                alpha: v[1].exp(),
                a: v[2].exp(),
                b: v[3].exp(),
            };
            let (ll, g) = model.log_likelihood_and_gradient(&data);
            (ll, g.to_vec())
        };
        for at in points(8, 4, 7) {
            check_gradient(f, &at);
        }
    }

    #[test]
    fn gamma_gamma_gradient_matches_finite_differences() {
        let all = histories();
        let repeat: Vec<&History> = all.iter().filter(|h| h.frequency > 0).collect();
        let data = ValueData::new(&repeat);
        let f = |v: &[f64]| {
            let model = GammaGamma {
                p: v[0].exp(),
                q: v[1].exp(),
                gamma: v[2].exp(),
            };
            let (ll, g) = model.log_likelihood_and_gradient(&data);
            (ll, g.to_vec())
        };
        for at in points(8, 3, 11) {
            check_gradient(f, &at);
        }
    }

    #[test]
    fn bfgs_finds_the_rosenbrock_minimum() {
        let rosenbrock = |v: &[f64], g: &mut [f64]| {
            let (x, y) = (v[0], v[1]);
            g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
            g[1] = 200.0 * (y - x * x);
            (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
        };
        let found = minimize(rosenbrock, &[-1.2, 1.0], "test").unwrap();
        assert!((found.point[0] - 1.0).abs() < 1e-8 && (found.point[1] - 1.0).abs() < 1e-8);
        assert!(found.iterations < 100, "{}", found.iterations);
    }

    #[test]
    fn nelder_mead_takes_over_when_bfgs_cannot_go_on() {
        // A gradient of the wrong sign: no step along it lowers the value.
        let wrong = |v: &[f64], g: &mut [f64]| {
            g[0] = -2.0 * (v[0] - 1.0);
            g[1] = -20.0 * (v[1] + 2.0);
            (v[0] - 1.0).powi(2) + 10.0 * (v[1] + 2.0).powi(2)
        };
        let found = minimize(wrong, &[0.0, 0.0], "test").unwrap();
        assert!((found.point[0] - 1.0).abs() < 1e-4 && (found.point[1] + 2.0).abs() < 1e-4);
        assert!(found.iterations > 10, "Nelder-Mead's iterations count");
    }

    #[test]
    fn a_likelihood_that_is_never_finite_is_a_convergence_error() {
        let nowhere = |_: &[f64], g: &mut [f64]| {
            g.fill(f64::NAN);
            f64::NAN
        };
        let e = minimize(nowhere, &[0.0, 0.0], "test").err().unwrap();
        assert!(matches!(e, Error::Convergence { .. }), "{e}");
        // Order values so large that x m overflows.
        let huge = [history(2, 5.0, 10.0, f64::MAX), history(3, 6.0, 10.0, 1.0)];
        let e = GammaGamma::fit(&huge).unwrap_err();
        assert!(matches!(e, Error::Convergence { .. }), "{e}");
    }

    #[test]
    fn degenerate_fits_behave_as_before() {
        // Everyone bought once: the likelihood rises towards r = 0, and the
        // fit stops there; Gamma-Gamma has no repeat buyers to learn from.
        let once: Vec<History> = (0..50)
            .map(|i| history(0, 0.0, 10.0 + f64::from(i), 0.0))
            .collect();
        let (model, report) = BgNbd::fit(&once).unwrap();
        assert!(model.check().is_ok() && model.r < 1e-6, "{model:?}");
        assert!(report.log_likelihood <= 0.0 && report.log_likelihood > -1e-6);
        let e = GammaGamma::fit(&once).unwrap_err();
        assert_eq!(e.code(), "validation");
        // Repeat buyers whose purchases are all worth 0.
        let zero: Vec<History> = (0..50)
            .map(|i| history(1 + i % 3, 5.0, 10.0 + f64::from(i), 0.0))
            .collect();
        assert!(BgNbd::fit(&zero).is_ok());
        let e = GammaGamma::fit(&zero).unwrap_err();
        assert_eq!(e.code(), "validation");
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
