//! When a contact's segments next change with no new event: rules over
//! time windows ("ordered within the last 30 days", "cart older than an
//! hour", "at risk") flip as time passes. The host schedules a wake-up at
//! that instant instead of rescanning every contact on a cron.
//!
//! Only a few instants can flip a rule: a time plus a window
//! (`last_order_at` + 30 days; each of the newest times of a count within a
//! window plus the window), a count of days or seconds since a time
//! crossing a number in a condition, the day after the expected next order.
//! Each such instant after `as_of` is a candidate; the segments are
//! evaluated at each candidate in order, as on the facts moved there
//! ([`Facts::at`]) but reading the moving fields in place,
//! and the first that changes them is the answer. Between candidates nothing
//! a rule reads changes, so the answer is exact. RFM scores do not move by
//! themselves (they rank the whole base), so rules over them never flip here.

use chrono::{Duration, NaiveTime};

use super::read::{CartStat, Field, Top};
use super::{Condition, Expr, Op, Operand, Registry, Scalar, Segment, value_as};
use crate::error::Result;
use crate::model::Timestamp;
use crate::profile::Facts;

impl Registry {
    /// The first instant after the facts' `as_of` at which the contact's
    /// segments change with no new event, or none if they never do.
    ///
    /// ```
    /// use patron::model::Timestamp;
    /// use patron::segment::Registry;
    /// use patron::{parse, profile};
    ///
    /// let events: Vec<patron::Event> = parse::list_from_json(r#"[
    ///   {"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-03T10:00:00Z", "order_id": "o1",
    ///    "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 80}], "total": 80, "currency": "EUR"}
    /// ]"#)?;
    /// let as_of = Timestamp::parse("2024-06-20T00:00:00Z")?;
    /// let facts = profile::build(&events)?[0].facts(as_of, None)?;
    /// let registry = Registry::from_json(r#"{"recent buyers": "last_order_at within 30 days"}"#)?;
    /// // Anna leaves "recent buyers" 30 days and one second after her order.
    /// let next = registry.next_change(&facts)?;
    /// assert_eq!(next, Some(Timestamp::parse("2024-07-03T10:00:01Z")?));
    /// # Ok::<(), patron::Error>(())
    /// ```
    pub fn next_change(&self, facts: &Facts) -> Result<Option<Timestamp>> {
        // A segment's membership moves with time only at its own candidate
        // instants, or when a segment it refers to moves: at each candidate,
        // only those segments are evaluated again.
        let mut candidates: Vec<(Timestamp, usize)> = Vec::new();
        let mut found = Vec::new();
        for (place, (_, segment)) in self.segments.iter().enumerate() {
            if let Segment::Dynamic(rule) = segment {
                found.clear();
                collect(&rule.expr, facts, &mut found);
                candidates.extend(
                    found
                        .iter()
                        .filter(|t| **t > facts.as_of)
                        .map(|t| (*t, place)),
                );
            }
        }
        if candidates.is_empty() {
            return Ok(None);
        }
        candidates.sort();
        candidates.dedup();
        let n = self.segments.len();
        let mut now_memo = vec![None; n];
        let mut i = 0;
        while i < candidates.len() {
            let t = candidates[i].0;
            let mut places: Vec<usize> = self.referring.clone();
            while i < candidates.len() && candidates[i].0 == t {
                places.push(candidates[i].1);
                i += 1;
            }
            let mut later_memo = vec![None; n];
            for place in places {
                if self.eval_then(place, facts, t, &mut later_memo)?
                    != self.eval_at(place, facts, &mut now_memo)?
                {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }
}

fn collect(expr: &Expr, facts: &Facts, out: &mut Vec<Timestamp>) {
    match expr {
        Expr::All(items) | Expr::Any(items) => items.iter().for_each(|e| collect(e, facts, out)),
        Expr::Not(inner) => collect(inner, facts, out),
        Expr::Segment(_) | Expr::Bucket { .. } => {}
        Expr::Compare(c) => candidates(c, facts, out),
    }
}

/// The numbers a condition compares with.
pub(super) fn numbers(operand: &Operand) -> Vec<f64> {
    let number = |s: &Scalar| match s {
        Scalar::Number(x) => Some(*x),
        _ => None,
    };
    match operand {
        Operand::One(x) => number(x).into_iter().collect(),
        Operand::Range(lo, hi) => [lo, hi].into_iter().filter_map(number).collect(),
        Operand::List(items) => items.iter().filter_map(number).collect(),
        Operand::None | Operand::Days(_) | Operand::Field(..) => Vec::new(),
    }
}

/// `base` plus the whole counts of `unit` at which a count of units since
/// `base` crosses each number.
fn crossings(base: Timestamp, unit: Duration, thresholds: &[f64], out: &mut Vec<Timestamp>) {
    for &x in thresholds {
        if !(0.0..=1e7).contains(&x) {
            continue;
        }
        for k in [x.floor(), x.floor() + 1.0, x.ceil()] {
            if let Some(t) = base.get().checked_add_signed(unit * k as i32) {
                out.push(t.into());
            }
        }
    }
}

fn candidates(c: &Condition, facts: &Facts, out: &mut Vec<Timestamp>) {
    if let Some(days) = c.within_days {
        // A count within the window drops as each time leaves it.
        let seconds = (days * 86_400.0).floor() + 1.0;
        for t in c.read.times(facts) {
            if let Some(t) = t
                .get()
                .checked_add_signed(Duration::seconds(seconds as i64))
            {
                out.push(t.into());
            }
        }
        return;
    }
    if let (Op::AnniversaryWithinDays, Operand::Days(days)) = (c.op, &c.operand) {
        // In the window from `days` days before each anniversary to the day
        // after it (the contact's days), around `as_of`'s year.
        let day = match c.read.read(facts).and_then(|v| value_as(v, c.kind)) {
            Some(super::Got::Date(d)) => d,
            Some(super::Got::Time(t)) => t.get().date_naive(),
            _ => return,
        };
        let zone = super::zone_of(facts);
        let year = chrono::Datelike::year(&super::day_in(zone, facts.as_of));
        for a in (year - 1..=year + 2).filter_map(|y| super::anniversary_in(day, y)) {
            let start = a - Duration::days(days.floor().min(400.0) as i64);
            for d in [start, a + Duration::days(1)] {
                out.push(match zone {
                    Some(z) => crate::trigger::clock::instant(z, d, NaiveTime::MIN),
                    None => d.and_time(NaiveTime::MIN).and_utc().into(),
                });
            }
        }
        return;
    }
    if let Operand::Days(days) = c.operand {
        // Within the last `days` days from the value on, then out of it once
        // it is more than `days` days old (whole seconds).
        let when = match c.read.read(facts).and_then(|v| value_as(v, c.kind)) {
            Some(super::Got::Time(t)) => t,
            Some(super::Got::Date(d)) => d.and_time(NaiveTime::MIN).and_utc().into(),
            _ => return,
        };
        out.push(when);
        let seconds = (days * 86_400.0).floor() + 1.0;
        if seconds < 1e12
            && let Some(t) = when
                .get()
                .checked_add_signed(Duration::seconds(seconds as i64))
        {
            out.push(t.into());
        }
        return;
    }
    if let Operand::Field(_, other) = &c.operand {
        // Two fields: a count of days (or seconds) that grows with time
        // crosses the other field's value as it is now.
        let number = |f: &Field| match f.read(facts).and_then(|v| value_as(v, super::Kind::Number))
        {
            Some(super::Got::Number(x)) => vec![x],
            _ => Vec::new(),
        };
        moving(&c.read, facts, &number(other), out);
        moving(other, facts, &number(&c.read), out);
        return;
    }
    moving(&c.read, facts, &numbers(&c.operand), out);
}

/// The instants at which `field`, a count that grows with time, crosses
/// each of `thresholds`; nothing for a field that time does not move.
fn moving(field: &Field, facts: &Facts, thresholds: &[f64], out: &mut Vec<Timestamp>) {
    match field {
        Field::Top(Top::DaysSinceLastOrder) if facts.orders > 0 => {
            if let Some(base) = facts.last_order_at {
                crossings(base, Duration::days(1), thresholds, out);
            }
        }
        Field::Top(Top::DaysSinceLastActivity) => {
            if let Some(base) = facts.last_activity_at {
                crossings(base, Duration::days(1), thresholds, out);
            }
        }
        Field::Cart(CartStat::AgeSeconds) => {
            if let Some(cart) = &facts.cart {
                crossings(cart.updated_at, Duration::seconds(1), thresholds, out);
            }
        }
        Field::Top(Top::AtRisk) => {
            // At risk from the day after the expected next order (UTC).
            if let Some(day) = facts.next_order_expected.and_then(|n| n.get().succ_opt()) {
                out.push(day.and_time(NaiveTime::MIN).and_utc().into());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, profile, sample};
    use serde_json::Value;

    /// The answer is exact: the segments are the same at every instant
    /// before it (checked every hour, and a second before), and differ at it.
    #[test]
    fn next_change_is_the_first_instant_that_changes_membership() {
        let events: Vec<crate::Event> =
            parse::list_from_value(Value::Array(sample::events(3_000, 60, 9))).unwrap();
        let profiles = profile::build(&events).unwrap();
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let registry = Registry::from_json(
            r#"{"recent": "last_order_at within 45 days",
                "quiet": "days_since_last_order > 20 and days_since_last_order <= 40",
                "old cart": "cart.age_seconds between 3600 and 90000",
                "at risk": "at_risk = true",
                "lapsed viewers": "not segment \"recent\" and last_activity_at more than 3.5 days ago",
                "p7": "viewed_products.p7.last_at within 10 days",
                "overdue": "days_since_last_order > average_interval_days",
                "cart after order": "cart.updated_at > last_order_at",
                "searching": "searches.`running shoes`.count in last 60 days >= 2",
                "buying": "orders in last 90 days >= 2 or revenue in last 40 days > 40"}"#,
        )
        .unwrap();
        let mut found = 0;
        for p in &profiles {
            // Facts a little after the contact's last event.
            let last = p
                .facts(as_of, None)
                .unwrap()
                .last_activity_at
                .unwrap_or(as_of);
            let start = Timestamp::from(last.get() + Duration::hours(5));
            let facts = p.facts(start, None).unwrap();
            let now = registry.members_of(&facts).unwrap();
            let next = registry.next_change(&facts).unwrap();
            let horizon = next.map_or(start.get() + Duration::days(60), |t| t.get());
            let mut t = start.get() + Duration::hours(1);
            while t < horizon {
                assert_eq!(registry.members_of(&facts.at(t.into())).unwrap(), now);
                t += Duration::hours(1);
            }
            if let Some(next) = next {
                found += 1;
                let before = Timestamp::from(next.get() - Duration::seconds(1));
                assert_eq!(registry.members_of(&facts.at(before)).unwrap(), now);
                assert_ne!(registry.members_of(&facts.at(next)).unwrap(), now);
            }
        }
        assert!(found > 40, "{found} of {} contacts change", profiles.len());
    }

    /// Birthdays: in the window 7 days before, out the day after; the
    /// window of 29 February is around 28 February in other years.
    #[test]
    fn birthdays_enter_and_leave_on_their_days() {
        let registry = Registry::from_json(
            r#"{"birthday soon": "contact.birthday anniversary within 7 days"}"#,
        )
        .unwrap();
        let facts_on = |birthday: &str, as_of: &str| {
            let mut f = crate::sample::facts(1, Timestamp::parse(as_of).unwrap(), 1).remove(0);
            if let Some(c) = f.contact.as_mut() {
                c.birthday = Some(crate::model::Date::parse(birthday).unwrap());
            }
            f
        };
        let at = |s: &str| Some(Timestamp::parse(s).unwrap());
        let f = facts_on("1990-03-20", "2025-03-01T12:00:00Z");
        assert!(registry.members_of(&f).unwrap().is_empty());
        assert_eq!(
            registry.next_change(&f).unwrap(),
            at("2025-03-13T00:00:00Z")
        );
        let f = f.at(Timestamp::parse("2025-03-13T00:00:00Z").unwrap());
        assert_eq!(registry.members_of(&f).unwrap(), ["birthday soon"]);
        assert_eq!(
            registry.next_change(&f).unwrap(),
            at("2025-03-21T00:00:00Z")
        );
        // Born on 29 February: 28 February in 2025.
        let f = facts_on("1992-02-29", "2025-02-25T00:00:00Z");
        assert_eq!(registry.members_of(&f).unwrap(), ["birthday soon"]);
        assert_eq!(
            registry.next_change(&f).unwrap(),
            at("2025-03-01T00:00:00Z")
        );
    }

    /// Birthdays count the contact's own days: in Tokyo the window opens
    /// at local midnight, 15:00 UTC the day before; in Los Angeles 7 hours
    /// after UTC midnight (daylight time). A table of the same facts agrees.
    #[test]
    fn birthdays_count_days_in_the_contacts_zone() {
        let registry = Registry::from_json(
            r#"{"birthday soon": "contact.birthday anniversary within 7 days"}"#,
        )
        .unwrap();
        let facts_in = |zone: &str, as_of: &str| {
            let mut f = crate::sample::facts(1, Timestamp::parse(as_of).unwrap(), 1).remove(0);
            let contact = f.contact.get_or_insert_with(|| {
                crate::model::Contact::new(crate::model::Id::new("c0").unwrap())
            });
            contact.birthday = Some(crate::model::Date::parse("1990-03-20").unwrap());
            contact.time_zone = Some(crate::model::TimeZone::new(zone).unwrap());
            f
        };
        let at = |s: &str| Timestamp::parse(s).unwrap();
        for (zone, before, opens) in [
            ("Asia/Tokyo", "2025-03-12T14:00:00Z", "2025-03-12T15:00:00Z"),
            (
                "America/Los_Angeles",
                "2025-03-13T05:00:00Z",
                "2025-03-13T07:00:00Z",
            ),
        ] {
            let f = facts_in(zone, before);
            assert!(registry.members_of(&f).unwrap().is_empty(), "{zone}");
            assert_eq!(registry.next_change(&f).unwrap(), Some(at(opens)), "{zone}");
            assert_eq!(
                registry.members_of(&f.at(at(opens))).unwrap(),
                ["birthday soon"]
            );
            // A table agrees: the same contact, and one without a zone (UTC).
            let mut utc = f.clone();
            if let Some(c) = utc.contact.as_mut() {
                c.time_zone = None;
            }
            let both = [f, utc];
            let table = super::super::Table::from_facts(&both, &registry.fields()).unwrap();
            let from_table = registry.evaluate_table(&table).unwrap();
            assert_eq!(from_table, registry.evaluate(&both).unwrap(), "{zone}");
            if zone == "America/Los_Angeles" {
                // 22:00 on 12 March there, already 13 March in UTC.
                assert_eq!(from_table.rows("birthday soon").unwrap(), [1]);
            }
        }
    }

    /// Moving facts in time gives what the profile gives at that time.
    #[test]
    fn facts_moved_in_time_equal_facts_built_then() {
        let events: Vec<crate::Event> =
            parse::list_from_value(Value::Array(sample::events(2_000, 40, 4))).unwrap();
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        for p in profile::build(&events).unwrap() {
            let facts = p.facts(as_of, None).unwrap();
            for days in [0, 1, 17, 45, 400] {
                let t = Timestamp::from(as_of.get() + Duration::days(days) + Duration::seconds(7));
                assert_eq!(facts.at(t), p.facts(t, None).unwrap());
            }
        }
    }
}
