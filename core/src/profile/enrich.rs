//! What facts carry besides events: the contact's own record (fields, typed
//! attributes, consent per channel), RFM scored across the contacts at hand,
//! the cell on the lifecycle grid and BG/NBD predictions, so that rules read
//! them like any fact (`contact.consent.email.marketing.status =
//! "confirmed"`, `rfm.segment = "champions"`, `lifecycle.region = "former
//! best"`, `predicted.probability_alive < 0.4`).
//!
//! ```
//! use patron::{model::Timestamp, parse, profile, Contact};
//! use patron::rfm::RfmConfig;
//!
//! let contacts: Vec<Contact> = parse::list_from_json(r#"[
//!   {"id": "anna", "first_name": "Anna", "attributes": {"size": "M"},
//!    "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-02T10:00:00Z"}}}},
//!   {"id": "ben"}
//! ]"#)?;
//! let events: Vec<patron::Event> = parse::list_from_json(r#"[
//!   {"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-03T10:00:00Z",
//!    "order_id": "o1", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 50}],
//!    "total": 50, "currency": "EUR"}
//! ]"#)?;
//! let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! // Ben has no events yet: he still gets facts, with his record.
//! let mut facts = profile::with_contacts(&profile::build(&events)?, &contacts, as_of, None)?;
//! profile::with_rfm(&mut facts, &RfmConfig::default())?;
//! assert_eq!(facts[1].contact.as_ref().map(|c| c.id.as_str()), Some("ben"));
//! assert_eq!(facts[0].rfm.as_ref().map(|r| r.cell.as_str()), Some("333"));
//! assert!(facts[1].rfm.is_none(), "no orders, no RFM");
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Facts, Profile, facts_all};
use crate::error::{Error, Result};
use crate::lifecycle::LifecycleConfig;
use crate::model::{CatalogIndex, Contact, Timestamp};
use crate::predict::{BgNbd, ChurnRisk, churn_risk};
use crate::rfm::{self, RfmConfig};

/// The facts of every profile and every contact at `as_of`, each carrying
/// its contact's record where one is given: profiles first, in input order,
/// then contacts without a profile (a subscriber who has done nothing yet
/// still has facts, and rules such as "subscribed, never bought" see them).
/// Two contacts with one id are refused.
pub fn with_contacts(
    profiles: &[Profile],
    contacts: &[Contact],
    as_of: Timestamp,
    catalog: Option<&CatalogIndex<'_>>,
) -> Result<Vec<Facts>> {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(contacts.len());
    for (i, c) in contacts.iter().enumerate() {
        if let Some(first) = by_id.insert(c.id.as_str(), i) {
            return Err(Error::invalid(
                format!("contacts[{i}].id"),
                format!("contact `{}` is also contacts[{first}]", c.id),
            ));
        }
    }
    let known: std::collections::HashSet<&str> =
        profiles.iter().map(|p| p.contact_id.as_str()).collect();
    // Contacts without a profile get an empty one; the profiles given are
    // read in place, not copied.
    let missing: Vec<Profile> = contacts
        .iter()
        .filter(|c| !known.contains(c.id.as_str()))
        .map(|c| Profile::new(c.id.clone()))
        .collect();
    let mut facts = facts_all(profiles, as_of, catalog).map_err(|e| e.within("profiles"))?;
    facts.extend(facts_all(&missing, as_of, catalog)?);
    for f in &mut facts {
        if let Some(&i) = by_id.get(f.contact_id.as_str()) {
            f.contact = Some(contacts[i].clone());
        }
    }
    Ok(facts)
}

/// Scores RFM across these facts (quantiles are relative to them, so pass
/// the whole base) and attaches each buyer's score; a contact without
/// orders gets none. All facts must share one `as_of`.
pub fn with_rfm(facts: &mut [Facts], config: &RfmConfig) -> Result<()> {
    let Some(as_of) = facts.first().map(|f| f.as_of) else {
        return Ok(());
    };
    if let Some(i) = facts.iter().position(|f| f.as_of != as_of) {
        return Err(Error::invalid(
            format!("[{i}].as_of"),
            format!(
                "RFM compares contacts at one moment: {} differs from {as_of}",
                facts[i].as_of
            ),
        ));
    }
    let summaries = facts
        .iter()
        .enumerate()
        .map(|(i, f)| f.summary().map_err(|e| e.within(&format!("[{i}]"))))
        .collect::<Result<Vec<_>>>()?;
    // Scores come in input order, for the contacts with orders only.
    let mut scores = rfm::score(&summaries, as_of, config)?.into_iter();
    for f in facts.iter_mut().filter(|f| f.orders > 0) {
        f.rfm = scores.next();
    }
    Ok(())
}

/// Places each buyer on the lifecycle grid at the facts' `as_of` (purchases
/// are the orders that count); a contact without orders gets none.
pub fn with_lifecycle(facts: &mut [Facts], config: &LifecycleConfig) -> Result<()> {
    config.check()?;
    for (i, f) in facts.iter_mut().enumerate() {
        f.lifecycle = if f.orders == 0 {
            None
        } else {
            let summary = f.summary().map_err(|e| e.within(&format!("[{i}]")))?;
            config
                .cell(&summary, f.as_of)
                .map_err(|e| e.within(&format!("[{i}]")))?
        };
    }
    Ok(())
}

/// How [`with_predictions`] predicts: a fitted BG/NBD model (see
/// [`crate::predict`]) and the horizon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictConfig {
    /// The fitted parameters.
    pub bgnbd: BgNbd,
    /// Days in one period of the fit (7: weeks, as `lifetimes` counts).
    #[serde(default = "default_period_days")]
    pub period_days: f64,
    /// Days ahead for `expected_purchases`.
    #[serde(default = "default_horizon_days")]
    pub horizon_days: f64,
}

fn default_period_days() -> f64 {
    7.0
}
fn default_horizon_days() -> f64 {
    90.0
}

impl PredictConfig {
    /// Checks the parameters and the spans; errors name the field.
    pub fn check(&self) -> Result<()> {
        self.bgnbd.check().map_err(|e| e.within("bgnbd"))?;
        for (name, v) in [
            ("period_days", self.period_days),
            ("horizon_days", self.horizon_days),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    name,
                    format!("expected a positive number of days, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// One contact's BG/NBD predictions at the facts' `as_of`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicted {
    /// The probability that the contact is still a customer.
    pub probability_alive: f64,
    /// Expected orders in the next `horizon_days`.
    pub expected_purchases: f64,
    /// The horizon of `expected_purchases`, in days.
    pub horizon_days: f64,
    /// The band of `probability_alive`: high below 0.4, low from 0.7.
    pub churn_risk: ChurnRisk,
}

/// Predicts each buyer with a fitted BG/NBD model, reading the history as
/// `lifetimes` does: purchase days (UTC) are the purchases, frequency is
/// their number minus one, recency and age run from the first purchase day
/// to the last and to `as_of`'s day, in periods of `period_days`. A contact
/// without orders gets none.
pub fn with_predictions(facts: &mut [Facts], config: &PredictConfig) -> Result<()> {
    config.check()?;
    let period = config.period_days;
    for (i, f) in facts.iter_mut().enumerate() {
        f.predicted = match (f.first_order_at, f.last_order_at) {
            (Some(first), Some(last)) if f.orders > 0 => {
                let first = first.get().date_naive();
                let days = |to: chrono::NaiveDate| (to - first).num_days().max(0) as f64;
                let frequency =
                    u32::try_from(f.purchase_days.saturating_sub(1)).unwrap_or(u32::MAX);
                let recency = days(last.get().date_naive()) / period;
                let age = days(f.as_of.get().date_naive()) / period;
                let probability_alive = config.bgnbd.p_alive(frequency, recency, age);
                let expected_purchases = config
                    .bgnbd
                    .expected_purchases(config.horizon_days / period, frequency, recency, age)
                    .map_err(|e| e.within(&format!("[{i}]")))?;
                Some(Predicted {
                    probability_alive,
                    expected_purchases,
                    horizon_days: config.horizon_days,
                    churn_risk: churn_risk(probability_alive, 0.4, 0.7),
                })
            }
            _ => None,
        };
    }
    Ok(())
}

/// What [`facts_with`] adds to the facts besides the contacts' records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Enrich {
    /// RFM ([`with_rfm`]).
    pub rfm: Option<RfmConfig>,
    /// The lifecycle grid ([`with_lifecycle`]).
    pub lifecycle: Option<LifecycleConfig>,
    /// BG/NBD predictions ([`with_predictions`]).
    pub predict: Option<PredictConfig>,
}

/// [`facts_all`], with the contacts' records ([`with_contacts`]), RFM,
/// the lifecycle grid and predictions when asked ([`Enrich`]): what
/// `profile_facts` does in Python and Node. Errors in a config name it
/// (`rfm.bins`, `predict.bgnbd.r`).
pub fn facts_with(
    profiles: &[Profile],
    as_of: Timestamp,
    catalog: Option<&CatalogIndex<'_>>,
    contacts: Option<&[Contact]>,
    enrich: &Enrich,
) -> Result<Vec<Facts>> {
    if let Some(config) = &enrich.rfm {
        config.check().map_err(|e| e.within("rfm"))?;
    }
    if let Some(config) = &enrich.lifecycle {
        config.check().map_err(|e| e.within("lifecycle"))?;
    }
    if let Some(config) = &enrich.predict {
        config.check().map_err(|e| e.within("predict"))?;
    }
    let mut facts = match contacts {
        Some(contacts) => with_contacts(profiles, contacts, as_of, catalog)?,
        None => facts_all(profiles, as_of, catalog).map_err(|e| e.within("profiles"))?,
    };
    if let Some(config) = &enrich.rfm {
        with_rfm(&mut facts, config)?;
    }
    if let Some(config) = &enrich.lifecycle {
        with_lifecycle(&mut facts, config)?;
    }
    if let Some(config) = &enrich.predict {
        with_predictions(&mut facts, config)?;
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, parse, profile};

    /// Orders of one contact on the given days after 1997-01-01 (noon UTC).
    fn facts_with_orders(days: &[i64], as_of_day: i64) -> Vec<Facts> {
        let start = chrono::NaiveDate::from_ymd_opt(1997, 1, 1).unwrap();
        let day = |d: i64| format!("{}T12:00:00Z", start + chrono::Duration::days(d));
        let events: Vec<Event> = days
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                parse::from_value(
                    serde_json::json!({"type": "order_placed", "id": format!("e{i}"),
                    "contact_id": "c", "at": day(d), "order_id": format!("o{i}"),
                    "lines": [{"product_id": "p", "quantity": 1, "unit_price": 10}],
                    "total": 10, "currency": "EUR"}),
                )
                .unwrap()
            })
            .collect();
        let as_of = Timestamp::parse(&day(as_of_day)).unwrap();
        profile::facts_all(&profile::build(&events).unwrap(), as_of, None).unwrap()
    }

    #[test]
    fn predictions_read_the_history_as_lifetimes_does() {
        // Fader, Hardie and Lee's worked example: x = 2, t_x = 30.43 and
        // T = 38.86 weeks; E[Y(39)] = 1.226 with the CDNOW parameters.
        let mut facts = facts_with_orders(&[0, 100, 213], 272);
        let config = PredictConfig {
            bgnbd: BgNbd {
                r: 0.243,
                alpha: 4.414,
                a: 0.793,
                b: 2.426,
            },
            period_days: 7.0,
            horizon_days: 273.0,
        };
        with_predictions(&mut facts, &config).unwrap();
        let p = facts[0].predicted.unwrap();
        assert!((p.expected_purchases - 1.226).abs() < 0.001, "{p:?}");
        let alive = config.bgnbd.p_alive(2, 213.0 / 7.0, 272.0 / 7.0);
        assert_eq!(p.probability_alive, alive);
        assert_eq!(p.churn_risk, churn_risk(alive, 0.4, 0.7));
        // Bad parameters name the field.
        let bad = PredictConfig {
            horizon_days: 0.0,
            ..config
        };
        let e = with_predictions(&mut facts, &bad).unwrap_err();
        assert_eq!(e.path(), Some("horizon_days"));
    }

    #[test]
    fn lifecycle_cells_follow_the_grid() {
        let mut facts = facts_with_orders(&[0, 10, 20], 220);
        with_lifecycle(&mut facts, &LifecycleConfig::default()).unwrap();
        let cell = facts[0].lifecycle.clone().unwrap();
        assert_eq!(
            (cell.purchases.as_str(), cell.days.as_str()),
            ("3", "181-270")
        );
        let mut none = facts_with_orders(&[], 10);
        with_lifecycle(&mut none, &LifecycleConfig::default()).unwrap();
        assert!(none.iter().all(|f| f.lifecycle.is_none()));
    }
}
