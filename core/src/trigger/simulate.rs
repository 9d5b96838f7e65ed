//! A preview: run a rule set over contacts and an event history on a
//! virtual clock and return every decision it would take, in time order,
//! so a marketer sees what a rule set sends before it goes live.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::action::Action;
use super::engine::Engine;
use super::state::ContactState;
use crate::error::{Error, Result};
use crate::model::{Catalog, Contact, Event, EventKind, Timestamp};
use crate::profile::Profile;

/// Wake-ups one contact may take between two events before the run is
/// called runaway; no finite rule set comes near it.
const MAX_WAKEUPS: usize = 100_000;

/// Every action the engine takes for `contacts` over `events` (contact and
/// catalog events, in any order), calling [`Engine::due`] at each wake-up
/// up to `until`. Each contact starts with no history; its facts are built
/// from its events as they happen (consent changes apply to its record).
/// A contact event for an id not among `contacts` gets a bare record (no
/// addresses, no consent). Contacts run in parallel; the timeline is in
/// time order, then contact order.
pub fn simulate(
    engine: &Engine,
    contacts: &[Contact],
    events: &[Event],
    catalog: Option<&Catalog>,
    until: Timestamp,
) -> Result<Vec<Action>> {
    let mut people: BTreeMap<&str, (Contact, Vec<usize>)> = BTreeMap::new();
    for (i, c) in contacts.iter().enumerate() {
        if people
            .insert(c.id.as_str(), (c.clone(), Vec::new()))
            .is_some()
        {
            return Err(Error::invalid(
                format!("contacts[{i}].id"),
                format!("contact `{}` is given twice", c.id),
            ));
        }
    }
    let mut catalog_events = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.kind.is_catalog() {
            catalog_events.push(i);
            continue;
        }
        let Some(id) = &e.contact_id else {
            return Err(Error::invalid(
                format!("events[{i}].contact_id"),
                "a simulation needs contact ids (resolve visitors to contacts first)",
            ));
        };
        people
            .entry(id.as_str())
            .or_insert_with(|| (Contact::new(id.clone()), Vec::new()))
            .1
            .push(i);
    }
    let index = catalog.map(Catalog::index);
    let runs: Vec<Result<Vec<Action>>> = people
        .into_par_iter()
        .map(|(_, (contact, mine))| {
            let mut order: Vec<usize> = mine
                .into_iter()
                .chain(catalog_events.iter().copied())
                .collect();
            order.sort_by_key(|&i| (events[i].at, i));
            one(engine, contact, events, &order, index.as_ref(), until)
        })
        .collect();
    let mut timeline = Vec::new();
    for run in runs {
        timeline.extend(run?);
    }
    timeline.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.contact_id.cmp(&b.contact_id))
    });
    Ok(timeline)
}

fn one(
    engine: &Engine,
    mut contact: Contact,
    events: &[Event],
    order: &[usize],
    catalog: Option<&crate::model::CatalogIndex<'_>>,
    until: Timestamp,
) -> Result<Vec<Action>> {
    let mut state = ContactState::new(contact.id.clone());
    let mut profile = Profile::new(contact.id.clone());
    let mut out = Vec::new();
    let facts = |profile: &Profile, contact: &Contact, at: Timestamp| {
        profile.facts(at, catalog).map(|mut f| {
            f.contact = Some(contact.clone());
            f
        })
    };
    let wake = |state: &mut ContactState,
                profile: &Profile,
                contact: &Contact,
                to: Timestamp,
                out: &mut Vec<Action>|
     -> Result<()> {
        let mut n = 0;
        while let Some(w) = state.wakeup.filter(|w| *w <= to) {
            n += 1;
            if n > MAX_WAKEUPS {
                return Err(Error::invalid(
                    "rules",
                    format!(
                        "contact `{}` woke up over {MAX_WAKEUPS} times before {to}",
                        contact.id
                    ),
                ));
            }
            let facts = facts(profile, contact, w)?;
            let taken = std::mem::replace(state, ContactState::new(contact.id.clone()));
            let o = engine.due_owned(taken, &facts, w)?;
            *state = o.state;
            out.extend(o.actions);
        }
        Ok(())
    };
    for &i in order {
        let event = &events[i];
        let at = event.at;
        wake(&mut state, &profile, &contact, at, &mut out)?;
        if !event.kind.is_catalog() {
            profile
                .apply(event)
                .map_err(|e| e.within(&format!("events[{i}]")))?;
            if let EventKind::ConsentChanged(c) = &event.kind {
                contact
                    .apply_consent(&c.to_change(at))
                    .map_err(|e| e.within(&format!("events[{i}]")))?;
            }
        }
        let now = state.clock.map_or(at, |c| c.max(at));
        let o = engine
            .handle_owned(state, &facts(&profile, &contact, now)?, event, now)
            .map_err(|e| e.within(&format!("events[{i}]")))?;
        state = o.state;
        out.extend(o.actions);
    }
    wake(&mut state, &profile, &contact, until, &mut out)?;
    Ok(out)
}
