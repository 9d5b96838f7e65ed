//! Membership over time: static segments, the `entered` / `left` changes
//! between two snapshots or after one contact's new facts, and how large
//! segments are and how much they overlap.
//!
//! A dynamic segment's members are whoever matches its rule now, so a change
//! is found by comparing what a contact was in with what it is in now: the
//! host keeps each contact's segments (a [`Membership`]) and hands them back
//! with the new facts ([`Registry::update`]), or compares whole snapshots
//! ([`changes`]). A static segment's members were fixed when it was made
//! ([`Registry::freeze`], or a list of ids): its members never change.
//!
//! ```
//! use patron::segment::{Registry, changes, ChangeKind, Membership};
//! use patron::model::Timestamp;
//!
//! let before = [Membership { contact_id: "c1".into(), segments: vec!["vip".into()], fingerprint: None }];
//! let after = [Membership { contact_id: "c1".into(), segments: vec!["lapsed".into()], fingerprint: None }];
//! let at = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let moves = changes(&before, &after, at);
//! assert_eq!((moves[0].segment.as_str(), moves[0].change), ("lapsed", ChangeKind::Entered));
//! assert_eq!((moves[1].segment.as_str(), moves[1].change), ("vip", ChangeKind::Left));
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Membership, Registry, Segment};
use crate::error::{Error, Result};
use crate::model::{Id, Timestamp};
use crate::profile::Facts;

/// A segment whose members were fixed when it was made: evaluated once from
/// a rule ([`Registry::freeze`]) or given as a list of ids (for example read
/// from a CSV with [`super::read_ids`]). Its JSON form is
/// `{"members": ["c1", "c2"], "frozen_at": "2024-07-01T00:00:00Z"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSegment {
    /// The members' contact ids.
    pub members: BTreeSet<Id>,
    /// When the members were fixed; absent for a list given by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<Timestamp>,
}

impl StaticSegment {
    /// Whether the contact is a member.
    pub fn contains(&self, contact_id: &str) -> bool {
        Id::new(contact_id).is_ok_and(|id| self.members.contains(&id))
    }
}

/// Which way a contact crossed a segment's boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The contact is in the segment now and was not before.
    Entered,
    /// The contact was in the segment and is not now.
    Left,
}

/// A contact entering or leaving a segment, at the time of the facts that
/// showed it: the event a trigger on "entered segment" fires on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The contact.
    pub contact_id: String,
    /// The segment.
    pub segment: String,
    /// Entered or left.
    pub change: ChangeKind,
    /// When: the `as_of` of the facts (or the time given for snapshots).
    pub at: Timestamp,
}

/// One contact's segments now, and how they changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Update {
    /// The segments the contact is in now, in name order: keep them for the
    /// next update.
    pub membership: Membership,
    /// Entered and left, in segment name order.
    pub changes: Vec<Change>,
    /// When these segments next change with no new event (rules over time
    /// windows), or none: the wake-up for the host to schedule (see
    /// [`Registry::next_change`]).
    pub next_change: Option<Timestamp>,
}

/// The changes from snapshot `before` to snapshot `after`, both whole (a
/// contact missing from a snapshot is in no segment there), in contact then
/// segment order, all at `at`.
pub fn changes(before: &[Membership], after: &[Membership], at: Timestamp) -> Vec<Change> {
    let index = |snapshot: &[Membership]| -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for m in snapshot {
            map.entry(m.contact_id.clone())
                .or_default()
                .extend(m.segments.iter().cloned());
        }
        map
    };
    let (before, after) = (index(before), index(after));
    let contacts: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let empty = BTreeSet::new();
    let mut out = Vec::new();
    for contact in contacts {
        let was = before.get(contact).unwrap_or(&empty);
        let is = after.get(contact).unwrap_or(&empty);
        out.extend(diff(contact, was, is, at));
    }
    out
}

/// The changes of one contact, in segment name order.
fn diff(
    contact: &str,
    was: &BTreeSet<String>,
    is: &BTreeSet<String>,
    at: Timestamp,
) -> Vec<Change> {
    let change = |segment: &String, change| Change {
        contact_id: contact.to_string(),
        segment: segment.clone(),
        change,
        at,
    };
    let mut out: Vec<Change> = is
        .difference(was)
        .map(|s| change(s, ChangeKind::Entered))
        .chain(was.difference(is).map(|s| change(s, ChangeKind::Left)))
        .collect();
    out.sort_by(|a, b| a.segment.cmp(&b.segment));
    out
}

/// How many contacts each segment holds, and how many each pair shares.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overlap {
    /// The segments, in name order.
    pub segments: Vec<String>,
    /// Contacts in each segment.
    pub counts: Vec<u64>,
    /// `both[i][j]`: contacts in segments `i` and `j` (`both[i][i]` is
    /// `counts[i]`).
    pub both: Vec<Vec<u64>>,
}

impl Registry {
    /// One contact's segments from its new facts, and what changed since
    /// `previous` (the membership kept from the last update, or none for a
    /// new contact). A segment in `previous` that no longer exists is left.
    pub fn update(&self, previous: Option<&Membership>, facts: &Facts) -> Result<Update> {
        let now: Vec<String> = self
            .members_of(facts)?
            .into_iter()
            .map(String::from)
            .collect();
        self.finish(previous, facts, now)
    }

    /// [`Registry::update`] after one new `event` whose effect the facts
    /// already hold: re-evaluates only the segments an event of its kind
    /// can change, and those that read the time the facts moved to, and
    /// keeps the rest from `previous`. Everything is evaluated when there is
    /// no `previous` or the segments changed since it (its fingerprint).
    /// After facts change without an event (the contact's record edited,
    /// RFM scored again), call [`Registry::update`].
    pub fn update_after(
        &self,
        previous: Option<&Membership>,
        facts: &Facts,
        event: &crate::Event,
    ) -> Result<Update> {
        let Some(kept) =
            previous.filter(|p| p.fingerprint.as_deref() == Some(self.fingerprint.as_str()))
        else {
            return self.update(previous, facts);
        };
        let bit = super::depends::event_bit(&event.kind);
        let mut memo = vec![None; self.segments.len()];
        let mut now = Vec::new();
        for (place, (name, _)) in self.segments.iter().enumerate() {
            let member = if self.depends[place].moved_by(bit) {
                self.eval_at(place, facts, &mut memo)?
            } else {
                kept.segments.iter().any(|s| s == name)
            };
            if member {
                now.push(name.clone());
            }
        }
        self.finish(previous, facts, now)
    }

    /// The update from the segments the contact is in `now`.
    fn finish(
        &self,
        previous: Option<&Membership>,
        facts: &Facts,
        now: Vec<String>,
    ) -> Result<Update> {
        if let Some(p) = previous
            && p.contact_id != facts.contact_id.as_str()
        {
            return Err(Error::invalid(
                "previous.contact_id",
                format!(
                    "the membership is of contact `{}`, the facts of `{}`",
                    p.contact_id, facts.contact_id
                ),
            ));
        }
        let was: BTreeSet<String> = previous
            .map(|p| p.segments.iter().cloned().collect())
            .unwrap_or_default();
        let is: BTreeSet<String> = now.iter().cloned().collect();
        Ok(Update {
            next_change: self.next_change(facts)?,
            changes: diff(facts.contact_id.as_str(), &was, &is, facts.as_of),
            membership: Membership {
                contact_id: facts.contact_id.to_string(),
                segments: now,
                fingerprint: Some(self.fingerprint.clone()),
            },
        })
    }

    /// Fixes segment `name`'s members now, over the whole base: the static
    /// segment to keep. Its time is the latest `as_of` of the facts.
    pub fn freeze(&self, name: &str, facts: &[Facts]) -> Result<StaticSegment> {
        if let Segment::Static(list) = self.get(name)? {
            return Ok(list.clone());
        }
        let found: Vec<Result<Option<Id>>> = facts
            .par_iter()
            .map(|f| Ok(self.contains(name, f)?.then(|| f.contact_id.clone())))
            .collect();
        let mut members = BTreeSet::new();
        for (i, found) in found.into_iter().enumerate() {
            if let Some(id) = found.map_err(|e| e.within(&format!("[{i}]")))? {
                members.insert(id);
            }
        }
        Ok(StaticSegment {
            members,
            frozen_at: facts.iter().map(|f| f.as_of).max(),
        })
    }

    /// The size of every segment and of every pair's overlap, from the
    /// memberships of a whole base; a segment this registry does not know is
    /// an error naming the row.
    pub fn overlap(&self, memberships: &[Membership]) -> Result<Overlap> {
        let segments: Vec<String> = self.names().map(String::from).collect();
        let place: BTreeMap<&str, usize> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let n = segments.len();
        let mut both = vec![vec![0u64; n]; n];
        for (row, m) in memberships.iter().enumerate() {
            let mut mine: Vec<usize> = Vec::with_capacity(m.segments.len());
            for (k, s) in m.segments.iter().enumerate() {
                match place.get(s.as_str()) {
                    Some(&i) => mine.push(i),
                    None => {
                        return Err(self
                            .get(s)
                            .err()
                            .unwrap_or_else(|| Error::invalid("", "unknown segment"))
                            .within(&format!("[{row}].segments[{k}]")));
                    }
                }
            }
            mine.sort_unstable();
            mine.dedup();
            for &i in &mine {
                for &j in &mine {
                    both[i][j] += 1;
                }
            }
        }
        let counts = (0..n).map(|i| both[i][i]).collect();
        Ok(Overlap {
            segments,
            counts,
            both,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Rule;

    fn membership(id: &str, segments: &[&str]) -> Membership {
        Membership {
            fingerprint: None,
            contact_id: id.to_string(),
            segments: segments.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn at() -> Timestamp {
        Timestamp::parse("2024-07-01T00:00:00Z").unwrap()
    }

    #[test]
    fn an_update_after_an_event_keeps_what_it_cannot_change() {
        let registry = Registry::from_json(
            r#"{"buyers": "orders >= 1", "viewers": "viewed_products.p1.count >= 1"}"#,
        )
        .unwrap();
        let facts: Facts = crate::parse::from_json(
            r#"{"contact_id": "c1", "as_of": "2024-07-01T00:00:00Z", "orders": 0,
                "cancelled_orders": 0, "returned_orders": 0, "revenue": 0, "purchase_days": 0,
                "at_risk": false, "viewed_products": {"p1": {"count": 1,
                "first_at": "2024-06-30T00:00:00Z", "last_at": "2024-06-30T00:00:00Z"}}}"#,
        )
        .unwrap();
        let view: crate::Event = crate::parse::from_json(
            r#"{"type": "product_viewed", "id": "e1", "contact_id": "c1",
                "at": "2024-06-30T00:00:00Z", "product_id": "p1"}"#,
        )
        .unwrap();
        // A membership that says "buyers": a view cannot change that, so it stays.
        let mut kept = registry.update(None, &facts).unwrap().membership;
        kept.segments = vec!["buyers".into()];
        let after = registry.update_after(Some(&kept), &facts, &view).unwrap();
        assert_eq!(after.membership.segments, ["buyers", "viewers"]);
        // Without the fingerprint (or with another one) everything is read again.
        kept.fingerprint = None;
        let after = registry.update_after(Some(&kept), &facts, &view).unwrap();
        assert_eq!(after.membership.segments, ["viewers"]);
    }

    #[test]
    fn snapshots_compare_whole() {
        let before = [membership("a", &["x", "y"]), membership("gone", &["x"])];
        let after = [membership("a", &["y", "z"]), membership("new", &["x"])];
        let got: Vec<(String, String, ChangeKind)> = changes(&before, &after, at())
            .into_iter()
            .map(|c| (c.contact_id, c.segment, c.change))
            .collect();
        let want = [
            ("a", "x", ChangeKind::Left),
            ("a", "z", ChangeKind::Entered),
            ("gone", "x", ChangeKind::Left),
            ("new", "x", ChangeKind::Entered),
        ];
        assert_eq!(got, want.map(|(c, s, k)| (c.to_string(), s.to_string(), k)));
        assert!(changes(&after, &after, at()).is_empty());
    }

    #[test]
    fn overlap_counts_pairs_and_refuses_unknown_names() {
        let registry = Registry::new([
            ("x", Rule::parse("orders >= 1").unwrap()),
            ("y", Rule::parse("orders >= 2").unwrap()),
        ])
        .unwrap();
        let o = registry
            .overlap(&[
                membership("a", &["x", "y"]),
                membership("b", &["x"]),
                membership("c", &[]),
            ])
            .unwrap();
        assert_eq!(o.counts, [2, 1]);
        assert_eq!(o.both, [[2, 1], [1, 1]]);
        let err = registry
            .overlap(&[membership("a", &["x", "yy"])])
            .unwrap_err();
        assert_eq!(err.path(), Some("[0].segments[1].yy"));
        assert!(err.to_string().contains("did you mean `y`"), "{err}");
    }

    fn facts(id: &str, orders: u64) -> Facts {
        crate::parse::from_value(serde_json::json!({
            "contact_id": id, "as_of": "2024-07-01T00:00:00Z", "orders": orders, "revenue": 0.0,
            "cancelled_orders": 0, "returned_orders": 0, "purchase_days": orders, "at_risk": false,
        }))
        .unwrap()
    }

    #[test]
    fn static_segments_never_change_and_updates_report_moves() {
        let dynamic = Registry::new([("buyers", Rule::parse("orders >= 1").unwrap())]).unwrap();
        let base = [facts("a", 1), facts("b", 0)];
        let frozen = dynamic.freeze("buyers", &base).unwrap();
        assert_eq!(frozen.frozen_at, Some(at()));
        let registry = Registry::from_json(&format!(
            r#"{{"buyers": "orders >= 1", "june buyers": {}, "still": "segment \"june buyers\" and segment \"buyers\""}}"#,
            serde_json::to_string(&frozen).unwrap()
        ))
        .unwrap();
        // b buys: enters the dynamic segment, never the frozen one.
        let b_now = facts("b", 2);
        let previous = membership("b", &[]);
        let update = registry.update(Some(&previous), &b_now).unwrap();
        assert_eq!(update.membership.segments, ["buyers"]);
        assert_eq!(
            update
                .changes
                .iter()
                .map(|c| (c.segment.as_str(), c.change))
                .collect::<Vec<_>>(),
            [("buyers", ChangeKind::Entered)]
        );
        // a stops counting as a buyer: leaves the dynamic ones, stays in the frozen one.
        let previous = membership("a", &["buyers", "june buyers", "still"]);
        let update = registry.update(Some(&previous), &facts("a", 0)).unwrap();
        assert_eq!(update.membership.segments, ["june buyers"]);
        assert_eq!(update.changes.len(), 2);
        assert!(
            update
                .changes
                .iter()
                .all(|c| c.change == ChangeKind::Left && c.at == at())
        );
        // New contacts never enter a static segment.
        let update = registry.update(None, &facts("z", 5)).unwrap();
        assert_eq!(update.membership.segments, ["buyers"]);
        // The explanation says the segment is static.
        let why = registry.explain("june buyers", &facts("a", 0)).unwrap();
        assert_eq!((why.kind, why.result), ("static", true));
        // Another contact's membership is refused.
        let err = registry
            .update(Some(&previous), &facts("b", 0))
            .unwrap_err();
        assert_eq!(err.path(), Some("previous.contact_id"));
    }

    #[test]
    fn a_static_list_is_checked() {
        let err = Registry::from_json(r#"{"list": {"members": ["a", ""]}}"#).unwrap_err();
        assert_eq!(err.path(), Some("list.members[1]"), "{err}");
        let err = Registry::from_json(r#"{"list": {"members": ["a"], "frozen": 1}}"#).unwrap_err();
        assert!(err.to_string().contains("frozen"), "{err}");
    }
}
