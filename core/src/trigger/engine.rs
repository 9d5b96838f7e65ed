//! The engine: a checked rule set that turns one contact's state, facts and
//! event into the new state, the actions due, and the next wake-up. It keeps
//! nothing between calls.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;
use serde_json::Value;

use super::action::{
    Action, ActionKind, DeferReason, ExitReason, HoldoutLevel, Ignored, Outcome, SkipReason,
};
use super::clock::{self, Delay};
use super::rule::{
    Config, Every, Exit, KeyBy, OnRepeat, ProductAction, ProductTrigger, Reentry, Rule, Step,
    Trigger, Want, WhenCapped,
};
use super::state::{
    ContactState, Instance, RuleHistory, SegmentsUntil, Sent, Withdrawal, key_text,
};
use crate::error::{Error, Result};
use crate::hash::fnv1a;
use crate::lifecycle::LifecycleConfig;
use crate::model::{
    AttributeValue, Catalog, Channel, ConsentAction, ConsentStatus, Contact, Event, EventKind, Id,
    Name, Purpose, Timestamp,
};
use crate::profile::Facts;
use crate::purchase::FxHasher;
use crate::segment::{ChangeKind, Registry, Rule as SegmentRule, Segment};
use crate::suggest::nearest;

/// A checked rule set with its segments and policy. Build it once (rules
/// change rarely) and call it for every event and wake-up.
#[derive(Clone, Debug)]
pub struct Engine {
    config: Config,
    rules: Vec<Compiled>,
    /// Rule ids to places: looked up for every running chain on every call,
    /// so hashed with Fx (the ids are the shop's own).
    by_id: HashMap<String, usize, BuildHasherDefault<FxHasher>>,
    /// The config's segments and every rule's conditions and goals.
    registry: Registry,
    /// The config's segments alone: what segment triggers watch.
    segments: Registry,
    /// Segments that segment triggers and exits watch, sorted.
    watched: Vec<String>,
    /// The hash of the config's segments and `watched`: a state's
    /// [`SegmentsUntil`] holds only for the segments it was noted with.
    segments_hash: u64,
    lifecycle: Option<LifecycleConfig>,
    at_risk: bool,
    /// The longest cap window, how long sends are remembered.
    cap_window: Delay,
}

#[derive(Clone, Debug, Default)]
struct Compiled {
    condition: Option<String>,
    goals: Vec<String>,
    step_conditions: Vec<Option<String>>,
    step_names: Vec<Name>,
    /// The products a product trigger matches; none matches any.
    products: Option<HashSet<String>>,
}

/// Event types the engine's own actions cause: a rule that starts on them
/// without naming another rule would feed itself.
const OWN_MESSAGE_EVENTS: [&str; 2] = ["message_sent", "message_delivered"];

impl Engine {
    /// Checks `config` as a whole and builds the engine. `catalog` is needed
    /// when a product trigger filters by category or brand.
    ///
    /// Refused, with the path of the offending field: duplicate rule or step
    /// ids, a rule without steps, a step that sends nothing or two things,
    /// unknown event types, segments, templates or coupon pools (with the
    /// nearest known name), holdouts outside 0 to 100, caps of zero, and a
    /// rule that starts on its own messages (a chain that never ends).
    pub fn new(config: Config, catalog: Option<&Catalog>) -> Result<Engine> {
        let mut named: Vec<(String, Segment)> = Vec::new();
        for (name, value) in &config.segments {
            if name.starts_with('@') {
                return Err(Error::invalid(
                    format!("segments.{name}"),
                    "segment names starting with `@` are kept for rule conditions",
                ));
            }
            let segment = Segment::from_value(value.clone())
                .map_err(|e| e.within(&format!("segments.{name}")))?;
            named.push((name.clone(), segment));
        }
        let segments = Registry::new(named.clone()).map_err(|e| e.within("segments"))?;
        let known: Vec<&str> = config.segments.keys().map(String::as_str).collect();
        let mut by_id = HashMap::default();
        let mut rules = Vec::with_capacity(config.rules.len());
        let mut watched: Vec<String> = Vec::new();
        let (mut lifecycle, mut at_risk) = (false, false);
        for (i, rule) in config.rules.iter().enumerate() {
            let path = format!("rules[{i}]");
            if let Some(first) = by_id.insert(rule.id.to_string(), i) {
                return Err(Error::invalid(
                    format!("{path}.id"),
                    format!("rule `{}` is also rules[{first}]", rule.id),
                ));
            }
            let compiled = compile(rule, &path, &config, catalog, &known, &mut named)?;
            match &rule.trigger {
                Trigger::Segment(s) => watched.push(s.segment.clone()),
                Trigger::Lifecycle(_) => lifecycle = true,
                Trigger::AtRisk(_) => at_risk = true,
                _ => {}
            }
            for exit in &rule.exit {
                if let Exit::LeftSegment(s) = exit {
                    watched.push(s.segment.clone());
                }
            }
            rules.push(compiled);
        }
        watched.sort();
        watched.dedup();
        let policy = &config.policy;
        if !(0.0..=100.0).contains(&policy.holdout_percent) {
            return Err(Error::invalid(
                "policy.holdout_percent",
                format!("expected 0 to 100, got {}", policy.holdout_percent),
            ));
        }
        for (i, cap) in policy.caps.iter().enumerate() {
            if cap.max == 0 || cap.per.as_seconds() == 0 {
                return Err(Error::invalid(
                    format!("policy.caps[{i}]"),
                    "a cap needs `max` and `per` above zero (to stop a channel, withdraw consent)",
                ));
            }
        }
        if policy.channels.is_empty() {
            return Err(Error::invalid(
                "policy.channels",
                "expected at least one channel",
            ));
        }
        let cap_window = policy.caps.iter().map(|c| c.per).max().unwrap_or_default();
        let registry = Registry::new(named).map_err(|e| e.within("rules"))?;
        let segments_hash = fnv1a(
            serde_json::to_string(&config.segments)
                .unwrap_or_default()
                .bytes()
                .chain(
                    watched
                        .iter()
                        .flat_map(|w| [0x1f].into_iter().chain(w.bytes())),
                ),
        );
        Ok(Engine {
            config,
            rules,
            by_id,
            registry,
            segments,
            watched,
            segments_hash,
            lifecycle: lifecycle.then(LifecycleConfig::default),
            at_risk,
            cap_window,
        })
    }

    /// Reads and builds an engine from the JSON form of [`Config`].
    pub fn from_json(text: &str, catalog: Option<&Catalog>) -> Result<Engine> {
        Engine::new(crate::parse::from_json(text)?, catalog)
    }

    /// The config the engine was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One event for one contact: drops a repeat (same event id), ends the
    /// chains the event exits, starts the chains it triggers, then runs what
    /// is due at `now` (as [`Engine::due`] does). `facts` are the contact's
    /// facts after the event, with the contact's record (consent,
    /// addresses, time zone). Catalog events (`price_changed`,
    /// `stock_changed`) are handed to each contact who may want the product.
    ///
    /// The state is borrowed and the outcome holds a changed copy; when the
    /// state was just read from storage, [`Engine::handle_owned`] saves the
    /// copy.
    pub fn handle(
        &self,
        state: &ContactState,
        facts: &Facts,
        event: &Event,
        now: Timestamp,
    ) -> Result<Outcome> {
        self.handle_owned(state.clone(), facts, event, now)
    }

    /// [`Engine::handle`] on a state the caller gives up: the outcome's
    /// state is this one, changed in place, not a copy (no copying of the
    /// running chains, the history and the sends, nor freeing of them).
    /// Use it when the state was just read from storage. On an error the
    /// state is dropped; the stored one is unchanged.
    pub fn handle_owned(
        &self,
        state: ContactState,
        facts: &Facts,
        event: &Event,
        now: Timestamp,
    ) -> Result<Outcome> {
        let mut moved = None;
        let facts = at_now(facts, now, &mut moved);
        let contact = self.check(&state, facts, now)?;
        if let Some(id) = &event.contact_id
            && id != &state.contact_id
        {
            return Err(Error::invalid(
                "event.contact_id",
                format!(
                    "the event is for contact `{id}`, the state for `{}`",
                    state.contact_id
                ),
            ));
        }
        let too_old = self.config.policy.replay_window.before(now);
        let ignored = if state.seen.contains(&event.id) {
            Some(Ignored::Duplicate)
        } else if event.at < too_old {
            Some(Ignored::TooOld)
        } else {
            None
        };
        if ignored.is_some() {
            return Ok(Outcome {
                next_wakeup: state.wakeup,
                state,
                actions: Vec::new(),
                ignored,
            });
        }
        let mut run = Run::new(self, state, facts, contact, now, Reread::Always);
        run.state.seen.insert(&event.id, event.at);
        run.note_withdrawal(event);
        run.exit_on(event);
        run.start_on(event)?;
        run.advance()?;
        Ok(run.finish())
    }

    /// A wake-up: starts what time alone triggers (segment and lifecycle
    /// changes, dates, schedules), ends chains whose goal is reached, and
    /// runs every step due at `now`. `facts` are the contact's facts at `now`.
    ///
    /// A wake-up is for time passing: `due` takes it that since the latest
    /// call only time moved the facts. The watched segments are read again
    /// only once the instant noted at that call comes (when they next change
    /// with time alone, see [`super::SegmentsUntil`]) or when the engine's
    /// segments changed; until then the state's segments stand. Facts that
    /// change otherwise come with an event through [`Engine::handle`] (an
    /// order, a consent change); when they change without one (the
    /// contact's record edited, RFM scored again), call [`Engine::refresh`],
    /// which reads the segments whatever the note says.
    ///
    /// The state is borrowed and the outcome holds a changed copy; a host
    /// that reads each state from storage and writes the outcome's back
    /// should call [`Engine::due_owned`], which saves the copy (over many
    /// stored states, about half of the time `due` takes).
    pub fn due(&self, state: &ContactState, facts: &Facts, now: Timestamp) -> Result<Outcome> {
        self.due_owned(state.clone(), facts, now)
    }

    /// [`Engine::due`] on a state the caller gives up: the outcome's state
    /// is this one, changed in place, not a copy. On an error the state is
    /// dropped; the stored one is unchanged.
    pub fn due_owned(&self, state: ContactState, facts: &Facts, now: Timestamp) -> Result<Outcome> {
        self.wake(state, facts, now, Reread::WhenNoted)
    }

    /// [`Engine::due`] after the facts changed without an event (the
    /// contact's record edited, RFM scored again): reads every watched
    /// segment again, whatever the state noted, then does what `due` does.
    /// The state is borrowed; [`Engine::refresh_owned`] saves the copy.
    pub fn refresh(&self, state: &ContactState, facts: &Facts, now: Timestamp) -> Result<Outcome> {
        self.refresh_owned(state.clone(), facts, now)
    }

    /// [`Engine::refresh`] on a state the caller gives up (see
    /// [`Engine::due_owned`]).
    pub fn refresh_owned(
        &self,
        state: ContactState,
        facts: &Facts,
        now: Timestamp,
    ) -> Result<Outcome> {
        self.wake(state, facts, now, Reread::Always)
    }

    fn wake(
        &self,
        state: ContactState,
        facts: &Facts,
        now: Timestamp,
        reread: Reread,
    ) -> Result<Outcome> {
        let mut moved = None;
        let facts = at_now(facts, now, &mut moved);
        let contact = self.check(&state, facts, now)?;
        let mut run = Run::new(self, state, facts, contact, now, reread);
        run.advance()?;
        Ok(run.finish())
    }

    /// Takes on a contact without firing anything: records its segments,
    /// lifecycle region and at-risk verdict as they are at `now`, so that
    /// only later changes trigger. Use it when a shop starts patron on an
    /// existing base; a new contact needs no adoption.
    ///
    /// The state is borrowed; [`Engine::adopt_owned`] saves the copy.
    pub fn adopt(
        &self,
        state: &ContactState,
        facts: &Facts,
        now: Timestamp,
    ) -> Result<ContactState> {
        self.adopt_owned(state.clone(), facts, now)
    }

    /// [`Engine::adopt`] on a state the caller gives up (see
    /// [`Engine::due_owned`]).
    pub fn adopt_owned(
        &self,
        state: ContactState,
        facts: &Facts,
        now: Timestamp,
    ) -> Result<ContactState> {
        let mut moved = None;
        let facts = at_now(facts, now, &mut moved);
        let contact = self.check(&state, facts, now)?;
        let mut run = Run::new(self, state, facts, contact, now, Reread::Always);
        run.state.segments = run.current_segments()?;
        run.state.lifecycle = run.current_region()?;
        run.state.at_risk = facts.at_risk;
        run.state.clock = Some(now);
        let next = run.note_segments()?;
        run.state.wakeup = run.wakeup(next)?;
        Ok(run.state)
    }

    /// Checks that the call fits the state; returns the contact's record.
    fn check<'f>(
        &self,
        state: &ContactState,
        facts: &'f Facts,
        now: Timestamp,
    ) -> Result<&'f Contact> {
        if facts.contact_id != state.contact_id {
            return Err(Error::invalid(
                "facts.contact_id",
                format!(
                    "the facts are of contact `{}`, the state of `{}`",
                    facts.contact_id, state.contact_id
                ),
            ));
        }
        if let Some(clock) = state.clock
            && now < clock
        {
            return Err(Error::invalid(
                "now",
                format!(
                    "the clock went backwards: now is {now}, the state's latest call was at {clock}"
                ),
            ));
        }
        facts.contact.as_ref().ok_or_else(|| {
            Error::invalid(
                "facts.contact",
                "the engine needs the contact's record in the facts (consent, addresses, time zone): build the facts with the contact",
            )
        })
    }
}

/// The facts moved to `now` when they are older ("had nothing happened
/// since"), so that time windows and wake-ups count from the call's moment.
fn at_now<'f>(facts: &'f Facts, now: Timestamp, moved: &'f mut Option<Facts>) -> &'f Facts {
    if facts.as_of < now {
        moved.insert(facts.at(now))
    } else {
        facts
    }
}

/// Reads a condition and files it in the registry under a reserved name.
fn condition(
    value: &Value,
    path: &str,
    name: String,
    known: &[&str],
    named: &mut Vec<(String, Segment)>,
) -> Result<String> {
    let rule = SegmentRule::from_value(value.clone()).map_err(|e| e.within(path))?;
    for target in rule.references() {
        check_segment(target, known, path)?;
    }
    named.push((name.clone(), Segment::Dynamic(rule)));
    Ok(name)
}

fn check_segment(name: &str, known: &[&str], path: &str) -> Result<()> {
    if known.contains(&name) {
        return Ok(());
    }
    let hint = nearest(name, known.iter().copied())
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Err(Error::invalid(
        path,
        format!("unknown segment `{name}`{hint}"),
    ))
}

fn check_known(kind: &str, name: &str, known: Option<&Vec<String>>, path: &str) -> Result<()> {
    let Some(known) = known else { return Ok(()) };
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let hint = nearest(name, known.iter().map(String::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Err(Error::invalid(
        path,
        format!("unknown {kind} `{name}`{hint}"),
    ))
}

fn check_event_type(name: &str, path: &str) -> Result<()> {
    if EventKind::TYPES.contains(&name) {
        return Ok(());
    }
    let hint = nearest(name, EventKind::TYPES.iter().copied())
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Err(Error::invalid(
        path,
        format!("unknown event type `{name}`{hint}"),
    ))
}

fn check_percent(v: f64, path: &str) -> Result<()> {
    if (0.0..=100.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::invalid(path, format!("expected 0 to 100, got {v}")))
    }
}

fn compile(
    rule: &Rule,
    path: &str,
    config: &Config,
    catalog: Option<&Catalog>,
    known: &[&str],
    named: &mut Vec<(String, Segment)>,
) -> Result<Compiled> {
    let mut out = Compiled::default();
    check_percent(rule.holdout_percent, &format!("{path}.holdout_percent"))?;
    if rule.steps.is_empty() {
        return Err(Error::invalid(
            format!("{path}.steps"),
            "a rule needs at least one step",
        ));
    }
    out.products = compile_trigger(rule, &format!("{path}.trigger"), catalog, known)?;
    if let Some(c) = &rule.condition {
        out.condition = Some(condition(
            c,
            &format!("{path}.condition"),
            format!("@{}:condition", rule.id),
            known,
            named,
        )?);
    }
    for (j, step) in rule.steps.iter().enumerate() {
        let sp = format!("{path}.steps[{j}]");
        let name = match &step.name {
            Some(n) => n.clone(),
            None => Name::new((j + 1).to_string())?,
        };
        if out.step_names.contains(&name) {
            return Err(Error::invalid(
                format!("{sp}.name"),
                format!("step `{name}` is named twice in rule `{}`", rule.id),
            ));
        }
        let does = [
            step.template.is_some(),
            step.task.is_some(),
            step.webhook.is_some(),
        ];
        if does.iter().filter(|d| **d).count() != 1 {
            return Err(Error::invalid(
                sp,
                "a step does exactly one thing: `template` (a message), `task` or `webhook`",
            ));
        }
        if let Some(t) = &step.template {
            check_known(
                "template",
                t,
                config.templates.as_ref(),
                &format!("{sp}.template"),
            )?;
        }
        if let Some(p) = &step.coupon_pool {
            if step.template.is_none() {
                return Err(Error::invalid(
                    format!("{sp}.coupon_pool"),
                    "a coupon goes with a message: the step needs a `template`",
                ));
            }
            check_known(
                "coupon pool",
                p,
                config.coupon_pools.as_ref(),
                &format!("{sp}.coupon_pool"),
            )?;
        }
        check_percent(step.holdout_percent, &format!("{sp}.holdout_percent"))?;
        let cond = match &step.condition {
            Some(c) => Some(condition(
                c,
                &format!("{sp}.condition"),
                format!("@{}:{}:condition", rule.id, name),
                known,
                named,
            )?),
            None => None,
        };
        out.step_conditions.push(cond);
        out.step_names.push(name);
    }
    for (j, exit) in rule.exit.iter().enumerate() {
        let ep = format!("{path}.exit[{j}]");
        match exit {
            Exit::Event(e) => check_event_type(&e.event, &format!("{ep}.event"))?,
            Exit::LeftSegment(s) => check_segment(&s.segment, known, &format!("{ep}.segment"))?,
            Exit::Goal(g) => out.goals.push(condition(
                &g.condition,
                &format!("{ep}.condition"),
                format!("@{}:goal:{j}", rule.id),
                known,
                named,
            )?),
        }
    }
    match &rule.reentry {
        Reentry::AtMost { times, per } if *times == 0 || per.as_seconds() == 0 => {
            return Err(Error::invalid(
                format!("{path}.reentry"),
                "`at_most` needs `times` and `per` above zero",
            ));
        }
        Reentry::Cooldown { period } if period.as_seconds() == 0 => {
            return Err(Error::invalid(
                format!("{path}.reentry.period"),
                "a cooldown needs a period above zero (or use `always`)",
            ));
        }
        _ => {}
    }
    Ok(out)
}

fn compile_trigger(
    rule: &Rule,
    path: &str,
    catalog: Option<&Catalog>,
    known: &[&str],
) -> Result<Option<HashSet<String>>> {
    match &rule.trigger {
        Trigger::Product(p) => compile_product(p, path, catalog),
        Trigger::Event(e) => {
            check_event_type(&e.event, &format!("{path}.event"))?;
            if e.name.is_some() && e.event != "custom" {
                return Err(Error::invalid(
                    format!("{path}.name"),
                    "`name` filters `custom` events only",
                ));
            }
            let names_other = e
                .filter
                .get("campaign_id")
                .and_then(Value::as_str)
                .is_some_and(|c| c != rule.id.as_str());
            if OWN_MESSAGE_EVENTS.contains(&e.event.as_str()) && !names_other {
                return Err(Error::invalid(
                    format!("{path}.event"),
                    format!(
                        "rule `{}` starts on its own messages ({}) and would never end: filter by `where: {{\"campaign_id\": ...}}` naming another rule",
                        rule.id, e.event
                    ),
                ));
            }
            Ok(None)
        }
        Trigger::Date(d) => {
            let ok = d.field == "birthday"
                || d.field == "created_at"
                || d.field
                    .strip_prefix("attributes.")
                    .is_some_and(|a| !a.is_empty());
            if !ok {
                return Err(Error::invalid(
                    format!("{path}.field"),
                    format!(
                        "expected `birthday`, `created_at` or `attributes.<name>`, got `{}`",
                        d.field
                    ),
                ));
            }
            if d.offset_days.abs() > 366 {
                return Err(Error::invalid(
                    format!("{path}.offset_days"),
                    format!("expected -366 to 366 days, got {}", d.offset_days),
                ));
            }
            Ok(None)
        }
        Trigger::Schedule(s) => {
            match (s.every, s.weekday, s.day) {
                (Every::Day, None, None) => {}
                (Every::Week, Some(_), None) => {}
                (Every::Month, None, Some(d)) if (1..=31).contains(&d) => {}
                (Every::Week, _, _) => {
                    return Err(Error::invalid(
                        path,
                        "a weekly schedule needs `weekday` (mon to sun) and no `day`",
                    ));
                }
                (Every::Month, _, _) => {
                    return Err(Error::invalid(
                        path,
                        "a monthly schedule needs `day` (1 to 31) and no `weekday`",
                    ));
                }
                (Every::Day, _, _) => {
                    return Err(Error::invalid(
                        path,
                        "a daily schedule takes neither `weekday` nor `day`",
                    ));
                }
            }
            Ok(None)
        }
        Trigger::Segment(s) => {
            check_segment(&s.segment, known, &format!("{path}.segment"))?;
            Ok(None)
        }
        Trigger::Lifecycle(l) => {
            let regions: Vec<String> = LifecycleConfig::default()
                .regions
                .into_iter()
                .map(|r| r.name)
                .collect();
            for (field, region) in [("from", &l.from), ("to", &l.to)] {
                if let Some(r) = region
                    && !regions.contains(r)
                {
                    return Err(Error::invalid(
                        format!("{path}.{field}"),
                        format!(
                            "unknown lifecycle region `{r}`; the regions are {}",
                            regions.join(", ")
                        ),
                    ));
                }
            }
            Ok(None)
        }
        Trigger::AtRisk(_) => Ok(None),
        Trigger::NextOrder(n) => {
            if n.offset_days.abs() > 3_650 {
                return Err(Error::invalid(
                    format!("{path}.offset_days"),
                    format!("expected -3650 to 3650 days, got {}", n.offset_days),
                ));
            }
            Ok(None)
        }
    }
}

fn compile_product(
    p: &ProductTrigger,
    path: &str,
    catalog: Option<&Catalog>,
) -> Result<Option<HashSet<String>>> {
    let catalog_event = matches!(
        p.action,
        ProductAction::PriceDropped | ProductAction::BackInStock | ProductAction::LowStock
    );
    if p.min_drop_percent.is_some() && p.action != ProductAction::PriceDropped {
        return Err(Error::invalid(
            format!("{path}.min_drop_percent"),
            "only `price_dropped` takes `min_drop_percent`",
        ));
    }
    if let Some(v) = p.min_drop_percent {
        check_percent(v, &format!("{path}.min_drop_percent"))?;
    }
    match (p.action, p.below) {
        (ProductAction::LowStock, None) => {
            return Err(Error::invalid(
                format!("{path}.below"),
                "`low_stock` needs `below`: the stock at or under which it fires",
            ));
        }
        (ProductAction::LowStock, Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(Error::invalid(
                format!("{path}.below"),
                "only `low_stock` takes `below`",
            ));
        }
    }
    if catalog_event && p.wanted_by.is_empty() {
        return Err(Error::invalid(
            format!("{path}.wanted_by"),
            "a catalog trigger needs at least one of wishlist, cart, viewed",
        ));
    }
    if !p.queries.is_empty() && p.action != ProductAction::Searched {
        return Err(Error::invalid(
            format!("{path}.queries"),
            "only `searched` takes `queries`",
        ));
    }
    if p.categories.is_empty() && p.brands.is_empty() {
        return Ok(
            (!p.products.is_empty()).then(|| p.products.iter().map(|id| id.to_string()).collect())
        );
    }
    let Some(catalog) = catalog else {
        let field = if p.categories.is_empty() {
            "brands"
        } else {
            "categories"
        };
        return Err(Error::invalid(
            format!("{path}.{field}"),
            "filtering by category or brand needs the catalog: pass it when building the engine",
        ));
    };
    let index = catalog.index();
    for (i, c) in p.categories.iter().enumerate() {
        if !index.has_category(c.as_str()) {
            return Err(Error::invalid(
                format!("{path}.categories[{i}]"),
                format!("unknown category `{c}`"),
            ));
        }
    }
    let mut set: HashSet<String> = p.products.iter().map(|id| id.to_string()).collect();
    for product in &catalog.products {
        let in_category = product.category_path.iter().any(|c| {
            p.categories.contains(c)
                || index
                    .ancestors(c.as_str())
                    .iter()
                    .any(|a| p.categories.contains(a))
        });
        let of_brand = product.brand.as_ref().is_some_and(|b| p.brands.contains(b));
        if in_category || of_brand {
            set.insert(product.id.to_string());
        }
    }
    Ok(Some(set))
}

/// The products an event is about.
fn products_of(event: &Event) -> Vec<Id> {
    let mut out: Vec<Id> = match &event.kind {
        EventKind::ProductViewed(v) => vec![v.product_id.clone()],
        EventKind::CartUpdated(c) => c.lines.iter().map(|l| l.product_id.clone()).collect(),
        EventKind::OrderPlaced(o) => o.lines.iter().map(|l| l.product_id.clone()).collect(),
        EventKind::WishlistAdded(w) | EventKind::WishlistRemoved(w) => vec![w.product_id.clone()],
        EventKind::PriceChanged(p) => vec![p.product_id.clone()],
        EventKind::StockChanged(s) => vec![s.product_id.clone()],
        _ => Vec::new(),
    };
    out.sort();
    out.dedup();
    out
}

/// `a/b`, allocated once at its length.
fn joined(a: &str, b: &str) -> String {
    let mut out = String::with_capacity(a.len() + 1 + b.len());
    out.push_str(a);
    out.push('/');
    out.push_str(b);
    out
}

/// Reads a dotted path in a JSON value.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Whether every dotted path of `filter` holds its value in the event's JSON form.
fn filter_matches(event: &Event, filter: &std::collections::BTreeMap<String, Value>) -> bool {
    if filter.is_empty() {
        return true;
    }
    let json = serde_json::to_value(event).unwrap_or(Value::Null);
    filter
        .iter()
        .all(|(path, want)| lookup(&json, path) == Some(want))
}

fn event_matches(event: &Event, type_name: &str, name: Option<&Name>) -> bool {
    if event.type_name() != type_name {
        return false;
    }
    match (name, &event.kind) {
        (None, _) => true,
        (Some(n), EventKind::Custom(c)) => &c.name == n,
        (Some(_), _) => false,
    }
}

/// Whether the contact wants `product` in one of the `ways`.
fn wants(facts: &Facts, product: &str, ways: &[Want]) -> bool {
    ways.iter().any(|w| match w {
        Want::Wishlist => facts.wishlist.contains_key(product),
        Want::Cart => facts
            .cart
            .as_ref()
            .is_some_and(|c| c.lines.iter().any(|l| l.product_id.as_str() == product)),
        Want::Viewed => facts
            .viewed_products
            .get(product)
            .is_some_and(|t| Delay::days(30).after(t.last_at) >= facts.as_of),
    })
}

/// Whether `percent` of contacts, drawn by a stable hash of the salt, the
/// scope (its parts joined by `/`: a rule, or a rule and a step) and the
/// contact, includes this one.
fn drawn(salt: &str, scope: &[&str], contact: &str, percent: f64) -> bool {
    if percent <= 0.0 {
        return false;
    }
    let scope = scope
        .iter()
        .enumerate()
        .flat_map(|(i, part)| (i > 0).then_some(b'/').into_iter().chain(part.bytes()));
    let bytes = salt
        .bytes()
        .chain([0x1f])
        .chain(scope)
        .chain([0x1f])
        .chain(contact.bytes());
    let bucket = fnv1a(bytes) % 10_000;
    (bucket as f64) < percent * 100.0
}

/// Whether a call reads the watched segments again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reread {
    /// Always: an event may have changed the facts, or the host says they
    /// changed.
    Always,
    /// Only once the state's [`SegmentsUntil`] has passed (or is missing,
    /// or was noted for other segments): only time moved the facts.
    WhenNoted,
}

/// The work of one call: the state being changed and the actions taken.
struct Run<'a> {
    engine: &'a Engine,
    facts: &'a Facts,
    contact: &'a Contact,
    zone: Tz,
    now: Timestamp,
    state: ContactState,
    actions: Vec<Action>,
    /// The state's segments hold at `now`, by its note: they need not be
    /// read again, and the note says when they next change.
    segments_hold: bool,
    /// The next occurrence of each calendar trigger after `now`, once
    /// [`Run::calendar_triggers`] has computed them (the wake-up reads them).
    calendar_next: Option<Vec<Timestamp>>,
}

impl<'a> Run<'a> {
    fn new(
        engine: &'a Engine,
        mut state: ContactState,
        facts: &'a Facts,
        contact: &'a Contact,
        now: Timestamp,
        reread: Reread,
    ) -> Run<'a> {
        // The note holds for the segments it was made with, from the call
        // that made it (the state's clock, at or before now) until the
        // instant it names; the facts are at `now` or later.
        let segments_hold = reread == Reread::WhenNoted
            && state.segments_until.is_some_and(|n| {
                n.segments_hash == engine.segments_hash && n.until.is_none_or(|t| facts.as_of < t)
            });
        let zone = contact
            .time_zone
            .or(engine.config.policy.time_zone)
            .map(|z| z.get())
            .unwrap_or(Tz::UTC);
        let policy = &engine.config.policy;
        state.seen.forget_before(policy.replay_window.before(now));
        let window = engine.cap_window.before(now);
        state.sent.retain(|s| s.at > window);
        Run {
            engine,
            facts,
            contact,
            zone,
            now,
            state,
            actions: Vec::new(),
            segments_hold,
            calendar_next: None,
        }
    }

    fn finish(mut self) -> Outcome {
        self.state.clock = Some(self.now);
        // A withdrawal the record shows now (for every purpose it covers)
        // is the record's to keep.
        let mut withdrawn = std::mem::take(&mut self.state.withdrawn);
        withdrawn.retain(|w| match w.purpose {
            Some(p) => self.record_before(&w.channel, p, w.at),
            None => [Purpose::Marketing, Purpose::Transactional]
                .into_iter()
                .any(|p| self.record_before(&w.channel, p, w.at)),
        });
        self.state.withdrawn = withdrawn;
        // `advance` computed the wake-up; a failure there was already returned.
        Outcome {
            next_wakeup: self.state.wakeup,
            state: self.state,
            actions: self.actions,
            ignored: None,
        }
    }

    fn push(&mut self, id: String, rule: &Name, step: Option<Name>, kind: ActionKind) {
        self.actions.push(Action {
            id,
            contact_id: self.state.contact_id.clone(),
            rule: rule.clone(),
            step,
            at: self.now,
            kind,
        });
    }

    /// Records that instance `inst` ended early (it is already removed).
    fn exited(&mut self, inst: &Instance, reason: ExitReason) {
        let id = format!("{}/exit", inst.id);
        self.push(id, &inst.rule, None, ActionKind::Exited { reason });
    }

    fn rule(&self, id: &str) -> Option<(usize, &'a Rule)> {
        let engine: &'a Engine = self.engine;
        engine.by_id.get(id).map(|&i| (i, &engine.config.rules[i]))
    }

    /// Ends the chains `event` exits.
    fn exit_on(&mut self, event: &Event) {
        let products = products_of(event);
        let mut ended = Vec::new();
        for (n, inst) in self.state.instances.iter().enumerate() {
            let Some((_, rule)) = self.rule(inst.rule.as_str()) else {
                continue;
            };
            let hit = rule.exit.iter().any(|x| match x {
                Exit::Event(e) => {
                    event_matches(event, &e.event, e.name.as_ref())
                        && filter_matches(event, &e.filter)
                        && event.at >= inst.started_at
                        && (!e.same_products
                            || inst
                                .products
                                .iter()
                                .any(|p| products.binary_search(p).is_ok()))
                }
                _ => false,
            });
            if hit {
                ended.push(n);
            }
        }
        for n in ended.into_iter().rev() {
            let inst = self.state.instances.remove(n);
            let reason = ExitReason::Event {
                event: event.type_name().to_string(),
                event_id: event.id.clone(),
            };
            self.exited(&inst, reason);
        }
    }

    /// Starts the chains `event` triggers.
    fn start_on(&mut self, event: &Event) -> Result<()> {
        let at = event.at.min(self.now);
        let products = products_of(event);
        for (i, rule) in self.engine.config.rules.iter().enumerate() {
            let compiled = &self.engine.rules[i];
            let fires = match &rule.trigger {
                Trigger::Product(p) => self.product_fires(p, compiled, event, &products),
                Trigger::Event(e) => {
                    event_matches(event, &e.event, e.name.as_ref())
                        && filter_matches(event, &e.filter)
                }
                _ => false,
            };
            if !fires {
                continue;
            }
            let key = match rule.key {
                KeyBy::Default => String::new(),
                KeyBy::Products => key_text(
                    &products
                        .iter()
                        .map(Id::as_str)
                        .collect::<Vec<_>>()
                        .join("\u{1f}"),
                ),
                KeyBy::Order => match &event.kind {
                    EventKind::OrderPlaced(o) => key_text(o.order_id.as_str()),
                    EventKind::OrderStatusChanged(o) => key_text(o.order_id.as_str()),
                    _ => key_text(event.id.as_str()),
                },
                KeyBy::Event => key_text(event.id.as_str()),
            };
            let id = joined(rule.id.as_str(), event.id.as_str());
            self.start(rule, key, id, at, products.clone())?;
        }
        Ok(())
    }

    fn product_fires(
        &self,
        p: &ProductTrigger,
        compiled: &Compiled,
        event: &Event,
        products: &[Id],
    ) -> bool {
        let listed = |id: &Id| {
            compiled
                .products
                .as_ref()
                .is_none_or(|set| set.contains(id.as_str()))
        };
        let any_listed = || products.iter().any(listed);
        match (&event.kind, p.action) {
            (EventKind::ProductViewed(_), ProductAction::Viewed)
            | (EventKind::CartUpdated(_), ProductAction::Carted)
            | (EventKind::OrderPlaced(_), ProductAction::Ordered)
            | (EventKind::WishlistAdded(_), ProductAction::Wishlisted) => any_listed(),
            (EventKind::Searched(s), ProductAction::Searched) => {
                let q = s.query.as_str().to_lowercase();
                p.queries.is_empty()
                    || p.queries
                        .iter()
                        .any(|w| q.contains(&w.as_str().to_lowercase()))
            }
            (EventKind::PriceChanged(c), ProductAction::PriceDropped) => {
                let Some(old) = c.old_price else { return false };
                let (old, new) = (old.get(), c.price.get());
                let drop = if old > 0.0 {
                    (old - new) / old * 100.0
                } else {
                    0.0
                };
                new < old
                    && drop >= p.min_drop_percent.unwrap_or(0.0)
                    && listed(&c.product_id)
                    && wants(self.facts, c.product_id.as_str(), &p.wanted_by)
            }
            (EventKind::StockChanged(s), ProductAction::BackInStock) => {
                s.stock > 0
                    && s.available != Some(false)
                    && s.previous_stock == Some(0)
                    && listed(&s.product_id)
                    && wants(self.facts, s.product_id.as_str(), &p.wanted_by)
            }
            (EventKind::StockChanged(s), ProductAction::LowStock) => {
                let below = p.below.unwrap_or(0);
                s.stock <= below
                    && s.stock > 0
                    && s.previous_stock.is_none_or(|prev| prev > below)
                    && listed(&s.product_id)
                    && wants(self.facts, s.product_id.as_str(), &p.wanted_by)
            }
            _ => false,
        }
    }

    /// Starts an instance of `rule`, if its condition holds and its
    /// re-entry policy allows.
    fn start(
        &mut self,
        rule: &'a Rule,
        key: String,
        id: String,
        at: Timestamp,
        products: Vec<Id>,
    ) -> Result<()> {
        let Some((i, _)) = self.rule(rule.id.as_str()) else {
            return Ok(());
        };
        let compiled = &self.engine.rules[i];
        if let Some(cond) = &compiled.condition
            && !self.engine.registry.contains(cond, self.facts)?
        {
            return Ok(());
        }
        if self.state.instances.iter().any(|x| x.id == id) {
            return Ok(());
        }
        let running = self
            .state
            .instances
            .iter()
            .position(|x| x.rule == rule.id && x.key == key);
        if let Some(n) = running {
            match rule.on_repeat {
                OnRepeat::Keep => return Ok(()),
                OnRepeat::Restart => {
                    let old = self.state.instances.remove(n);
                    self.exited(&old, ExitReason::Restarted);
                }
            }
        } else {
            let history = self.state.history.get(&rule.id);
            let allowed = match (&rule.reentry, history) {
                (_, None) | (Reentry::Always, _) => true,
                (Reentry::Once, Some(h)) => h.last.is_none(),
                (Reentry::OncePerKey, Some(h)) => !h.keys.contains(&key),
                (Reentry::Cooldown { period }, Some(h)) => {
                    h.last.is_none_or(|last| period.after(last) <= at)
                }
                (Reentry::AtMost { times, per }, Some(h)) => {
                    let from = per.before(at);
                    h.recent.iter().filter(|t| **t > from).count() < *times as usize
                }
            };
            if !allowed {
                return Ok(());
            }
        }
        // Keep what the re-entry policy reads, nothing more.
        let last = |h: &mut RuleHistory| h.last = Some(h.last.map_or(at, |l| l.max(at)));
        match &rule.reentry {
            Reentry::Always => {}
            Reentry::Once | Reentry::Cooldown { .. } => {
                last(self.state.history.entry(rule.id.clone()).or_default())
            }
            Reentry::OncePerKey => {
                let history = self.state.history.entry(rule.id.clone()).or_default();
                if !history.keys.contains(&key) {
                    history.keys.push(key.clone());
                }
            }
            Reentry::AtMost { per, .. } => {
                let history = self.state.history.entry(rule.id.clone()).or_default();
                let from = per.before(at);
                history.recent.retain(|t| *t > from);
                history.recent.push(at);
            }
        }
        let policy = &self.engine.config.policy;
        let contact = self.contact.id.as_str();
        let held_out = rule.purpose == Purpose::Marketing
            && drawn(
                &policy.salt,
                &[rule.id.as_str()],
                contact,
                rule.holdout_percent,
            );
        let due_at = self.schedule(&rule.steps[0], at);
        self.state.instances.push(Instance {
            id,
            rule: rule.id.clone(),
            key,
            started_at: at,
            step: 0,
            due_at,
            products,
            held_out,
        });
        Ok(())
    }

    /// When `step` is due, counted from `from`.
    fn schedule(&self, step: &Step, from: Timestamp) -> Timestamp {
        let t = step.delay.after(from);
        match step.at {
            Some(at) => clock::next_at(self.zone, t, at),
            None => t,
        }
    }

    /// The watched segments the contact is in now.
    fn current_segments(&self) -> Result<Vec<String>> {
        let all = self.engine.segments.members_of(self.facts)?;
        Ok(self
            .engine
            .watched
            .iter()
            .filter(|name| all.binary_search(&name.as_str()).is_ok())
            .cloned()
            .collect())
    }

    fn current_region(&self) -> Result<Option<String>> {
        let Some(config) = &self.engine.lifecycle else {
            return Ok(None);
        };
        let summary = self.facts.summary()?;
        Ok(config
            .cell(&summary, self.facts.as_of)?
            .map(|c| c.region)
            .filter(|r| !r.is_empty()))
    }

    /// Starts what time and changed facts trigger, ends what they exit,
    /// runs what is due, and sets the wake-up.
    fn advance(&mut self) -> Result<()> {
        self.crm_triggers()?;
        self.calendar_triggers()?;
        self.goals()?;
        self.run_due()?;
        let next = self.note_segments()?;
        self.state.wakeup = self.wakeup(next)?;
        self.state.clock = Some(self.now);
        Ok(())
    }

    /// When the watched segments next change with time alone: the state's
    /// note while it holds, else asked of the segments and noted (when the
    /// facts are of `now`, the moment the note counts from).
    fn note_segments(&mut self) -> Result<Option<Timestamp>> {
        if self.engine.watched.is_empty() {
            self.state.segments_until = None;
            return Ok(None);
        }
        if self.segments_hold
            && let Some(note) = self.state.segments_until
        {
            return Ok(note.until);
        }
        let next = self.engine.segments.next_change(self.facts)?;
        self.state.segments_until = (self.facts.as_of == self.now).then_some(SegmentsUntil {
            until: next,
            segments_hash: self.engine.segments_hash,
        });
        Ok(next)
    }

    fn crm_triggers(&mut self) -> Result<()> {
        let rules = &self.engine.config.rules;
        let now = self.now;
        if !self.engine.watched.is_empty() && !self.segments_hold {
            let is = self.current_segments()?;
            let was = std::mem::take(&mut self.state.segments);
            let mut changes: Vec<(String, ChangeKind)> = Vec::new();
            for s in &is {
                if !was.contains(s) {
                    changes.push((s.clone(), ChangeKind::Entered));
                }
            }
            for s in &was {
                if !is.contains(s) && self.engine.watched.contains(s) {
                    changes.push((s.clone(), ChangeKind::Left));
                }
            }
            self.state.segments = is;
            for (segment, change) in changes {
                if change == ChangeKind::Left {
                    self.exit_left(&segment);
                }
                for rule in rules {
                    if let Trigger::Segment(t) = &rule.trigger
                        && t.segment == segment
                        && t.change == change
                    {
                        let id = format!("{}/{}@{}", rule.id, segment, now);
                        self.start(rule, String::new(), id, now, Vec::new())?;
                    }
                }
            }
        }
        if self.engine.lifecycle.is_some() {
            let is = self.current_region()?;
            let was = std::mem::replace(&mut self.state.lifecycle, is.clone());
            if was != is {
                for rule in rules {
                    if let Trigger::Lifecycle(t) = &rule.trigger
                        && t.from.as_ref().is_none_or(|f| was.as_ref() == Some(f))
                        && t.to.as_ref().is_none_or(|f| is.as_ref() == Some(f))
                    {
                        let id = format!("{}/{}@{}", rule.id, is.as_deref().unwrap_or("none"), now);
                        self.start(rule, String::new(), id, now, Vec::new())?;
                    }
                }
            }
        }
        if self.engine.at_risk {
            let was = std::mem::replace(&mut self.state.at_risk, self.facts.at_risk);
            if self.facts.at_risk && !was {
                for rule in rules {
                    if let Trigger::AtRisk(_) = &rule.trigger {
                        let id = format!("{}/at_risk@{}", rule.id, now);
                        self.start(rule, String::new(), id, now, Vec::new())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn exit_left(&mut self, segment: &str) {
        let mut n = 0;
        while n < self.state.instances.len() {
            let inst = &self.state.instances[n];
            let leaves = self.rule(inst.rule.as_str()).is_some_and(|(_, rule)| {
                rule.exit
                    .iter()
                    .any(|x| matches!(x, Exit::LeftSegment(s) if s.segment == segment))
            });
            if leaves {
                let inst = self.state.instances.remove(n);
                let reason = ExitReason::LeftSegment {
                    segment: segment.to_string(),
                };
                self.exited(&inst, reason);
            } else {
                n += 1;
            }
        }
    }

    /// The date a date trigger reads from the contact's record.
    fn date_of(&self, field: &str) -> Option<NaiveDate> {
        match field {
            "birthday" => self.contact.birthday.map(|d| d.get()),
            "created_at" => self
                .contact
                .created_at
                .map(|t| clock::local_date(self.zone, t)),
            other => {
                let name = other.strip_prefix("attributes.")?;
                match self.contact.attributes.get(name)? {
                    AttributeValue::Datetime(t) => Some(clock::local_date(self.zone, *t)),
                    _ => None,
                }
            }
        }
    }

    /// The occurrences of a calendar trigger nearest to `t`: the latest at
    /// or before it and the first after it.
    fn occurrences(
        &self,
        trigger: &Trigger,
        t: Timestamp,
    ) -> (Option<(Timestamp, NaiveDate)>, Option<Timestamp>) {
        if !matches!(
            trigger,
            Trigger::Date(_) | Trigger::Schedule(_) | Trigger::NextOrder(_)
        ) {
            return (None, None);
        }
        let today = clock::local_date(self.zone, t);
        let mut dates: Vec<(NaiveDate, chrono::NaiveTime)> = Vec::new();
        match trigger {
            Trigger::Date(d) => {
                let Some(base) = self.date_of(&d.field) else {
                    return (None, None);
                };
                for year in [today.year() - 1, today.year(), today.year() + 1] {
                    if let Some(day) = clock::in_year(base, year) {
                        dates.push((day + Duration::days(d.offset_days), d.at.get()));
                    }
                }
            }
            Trigger::Schedule(s) => match s.every {
                Every::Day => {
                    for k in -1..=1 {
                        dates.push((today + Duration::days(k), s.at.get()));
                    }
                }
                Every::Week => {
                    let want = s.weekday.map(|w| w.num_days_from_monday()).unwrap_or(0);
                    let have = today.weekday().num_days_from_monday();
                    let this = today + Duration::days(i64::from(want) - i64::from(have));
                    for k in [-7, 0, 7] {
                        dates.push((this + Duration::days(k), s.at.get()));
                    }
                }
                Every::Month => {
                    let day = s.day.unwrap_or(1);
                    let (y, m) = (today.year(), today.month());
                    let months = [
                        if m == 1 { (y - 1, 12) } else { (y, m - 1) },
                        (y, m),
                        if m == 12 { (y + 1, 1) } else { (y, m + 1) },
                    ];
                    for (y, m) in months {
                        if let Some(d) = clock::month_day(y, m, day) {
                            dates.push((d, s.at.get()));
                        }
                    }
                }
            },
            Trigger::NextOrder(n) => {
                let Some(expected) = self.facts.next_order_expected else {
                    return (None, None);
                };
                dates.push((expected.get() + Duration::days(n.offset_days), n.at.get()));
            }
            _ => return (None, None),
        }
        let mut last = None;
        let mut next = None;
        for (date, time) in dates {
            let instant = clock::instant(self.zone, date, time);
            if instant <= t {
                if last.is_none_or(|(l, _)| instant > l) {
                    last = Some((instant, date));
                }
            } else if next.is_none_or(|n| instant < n) {
                next = Some(instant);
            }
        }
        (last, next)
    }

    /// Starts what the calendar triggers at or before `now` and notes their
    /// next occurrences for the wake-up.
    fn calendar_triggers(&mut self) -> Result<()> {
        // The first call sets the clock; occurrences before it never fire.
        let since = self.state.clock;
        let mut next_all = Vec::new();
        for rule in &self.engine.config.rules {
            if !matches!(
                rule.trigger,
                Trigger::Date(_) | Trigger::Schedule(_) | Trigger::NextOrder(_)
            ) {
                continue;
            }
            let (last, next) = self.occurrences(&rule.trigger, self.now);
            next_all.extend(next);
            if let (Some((at, date)), Some(since)) = (last, since)
                && at > since
            {
                let key = match rule.key {
                    KeyBy::Default => key_text(&date.to_string()),
                    _ => String::new(),
                };
                let id = format!("{}/{}", rule.id, date);
                self.start(rule, key, id, at, Vec::new())?;
            }
        }
        self.calendar_next = Some(next_all);
        Ok(())
    }

    fn goals(&mut self) -> Result<()> {
        let mut n = 0;
        while n < self.state.instances.len() {
            let inst = &self.state.instances[n];
            let Some((i, _)) = self.rule(inst.rule.as_str()) else {
                n += 1;
                continue;
            };
            let mut reached = false;
            for goal in &self.engine.rules[i].goals {
                if self.engine.registry.contains(goal, self.facts)? {
                    reached = true;
                    break;
                }
            }
            if reached {
                let inst = self.state.instances.remove(n);
                self.exited(&inst, ExitReason::Goal);
            } else {
                n += 1;
            }
        }
        Ok(())
    }

    /// Runs every step due at `now`, most urgent first (earlier, then
    /// higher priority, then by id).
    fn run_due(&mut self) -> Result<()> {
        // Each pass runs or defers one step past `now`; chains are finite,
        // so this ends. The bound is a guard against a bug, never reached.
        let limit = 64 + self.state.instances.iter().map(|_| 64).sum::<usize>();
        for _ in 0..limit {
            let next = self
                .state
                .instances
                .iter()
                .enumerate()
                .filter(|(_, x)| x.due_at <= self.now)
                .min_by(|(_, a), (_, b)| {
                    let pa = self.rule(a.rule.as_str()).map_or(0, |(_, r)| r.priority);
                    let pb = self.rule(b.rule.as_str()).map_or(0, |(_, r)| r.priority);
                    a.due_at
                        .cmp(&b.due_at)
                        .then(pb.cmp(&pa))
                        .then(a.id.cmp(&b.id))
                })
                .map(|(n, _)| n);
            let Some(n) = next else { return Ok(()) };
            self.run_step(n)?;
        }
        Ok(())
    }

    fn run_step(&mut self, n: usize) -> Result<()> {
        // The instance is read in place (not copied): its products are
        // copied only into an action that names them.
        let inst = &self.state.instances[n];
        let (k, held_out) = (inst.step as usize, inst.held_out);
        let Some((i, rule)) = self.rule(inst.rule.as_str()) else {
            let inst = self.state.instances.remove(n);
            self.exited(&inst, ExitReason::RuleRemoved);
            return Ok(());
        };
        let compiled = &self.engine.rules[i];
        let Some(step) = rule.steps.get(k) else {
            self.state.instances.remove(n);
            return Ok(());
        };
        let name = compiled.step_names[k].clone();
        let action_id = joined(&inst.id, name.as_str());
        if let Some(cond) = &compiled.step_conditions[k]
            && !self.engine.registry.contains(cond, self.facts)?
        {
            return self.step_done(
                n,
                rule,
                action_id,
                name,
                ActionKind::Skipped {
                    reason: SkipReason::Condition,
                },
            );
        }
        let marketing = rule.purpose == Purpose::Marketing;
        let policy = &self.engine.config.policy;
        let contact = self.contact.id.as_str();
        let holdout = if !marketing {
            None
        } else if drawn(&policy.salt, &[], contact, policy.holdout_percent) {
            Some(HoldoutLevel::Global)
        } else if held_out {
            Some(HoldoutLevel::Rule)
        } else if drawn(
            &policy.salt,
            &[rule.id.as_str(), name.as_str()],
            contact,
            step.holdout_percent,
        ) {
            Some(HoldoutLevel::Step)
        } else {
            None
        };
        let Some(template) = &step.template else {
            let products = self.state.instances[n].products.clone();
            let kind = match (&step.task, &step.webhook, holdout) {
                (_, _, Some(group)) => ActionKind::HeldOut {
                    channel: None,
                    group,
                },
                (Some(task), _, None) => ActionKind::Task {
                    task: task.clone(),
                    products,
                },
                (None, Some(url), None) => ActionKind::Webhook {
                    url: url.clone(),
                    products,
                },
                // The engine refuses such a step when built.
                (None, None, None) => ActionKind::Skipped {
                    reason: SkipReason::Condition,
                },
            };
            return self.step_done(n, rule, action_id, name, kind);
        };
        let Some(channel) = self.channel(step, rule.purpose) else {
            return self.step_done(
                n,
                rule,
                action_id,
                name,
                ActionKind::Skipped {
                    reason: SkipReason::NoChannel,
                },
            );
        };
        if let Some(group) = holdout {
            return self.step_done(
                n,
                rule,
                action_id,
                name,
                ActionKind::HeldOut {
                    channel: Some(channel),
                    group,
                },
            );
        }
        if marketing {
            if let Some(q) = &policy.quiet_hours
                && (q.channels.is_empty() || q.channels.contains(&channel))
                && let Some(until) = clock::quiet_until(self.zone, self.now, q.from, q.to)
            {
                self.state.instances[n].due_at = until;
                self.push(
                    format!("{action_id}/deferred@{}", self.now),
                    &rule.id,
                    Some(name),
                    ActionKind::Deferred {
                        until,
                        reason: DeferReason::QuietHours,
                    },
                );
                return Ok(());
            }
            if let Some(until) = self.capped_until(&channel) {
                match rule.when_capped {
                    WhenCapped::Defer => {
                        self.state.instances[n].due_at = until;
                        self.push(
                            format!("{action_id}/deferred@{}", self.now),
                            &rule.id,
                            Some(name),
                            ActionKind::Deferred {
                                until,
                                reason: DeferReason::Capped,
                            },
                        );
                    }
                    WhenCapped::Drop => {
                        self.push(
                            action_id,
                            &rule.id,
                            Some(name),
                            ActionKind::Skipped {
                                reason: SkipReason::Capped,
                            },
                        );
                        self.next_step(n, rule);
                    }
                }
                return Ok(());
            }
            self.state.sent.push(Sent {
                at: self.now,
                channel: channel.clone(),
            });
        }
        let kind = ActionKind::Send {
            channel,
            template: Some(template.clone()),
            coupon_pool: step.coupon_pool.clone(),
            purpose: rule.purpose,
            products: self.state.instances[n].products.clone(),
        };
        self.push(action_id, &rule.id, Some(name), kind);
        self.next_step(n, rule);
        Ok(())
    }

    /// Records the action step `name` of instance `n` took, and moves on.
    fn step_done(
        &mut self,
        n: usize,
        rule: &Rule,
        id: String,
        name: Name,
        kind: ActionKind,
    ) -> Result<()> {
        self.push(id, &rule.id, Some(name), kind);
        self.next_step(n, rule);
        Ok(())
    }

    /// Moves instance `n` to its next step, or ends it after the last.
    fn next_step(&mut self, n: usize, rule: &Rule) {
        let inst = &mut self.state.instances[n];
        inst.step += 1;
        match rule.steps.get(inst.step as usize) {
            Some(step) => {
                let due = self.schedule(step, self.now);
                self.state.instances[n].due_at = due;
            }
            None => {
                self.state.instances.remove(n);
            }
        }
    }

    /// The first channel of the step's (or the policy's) order the contact
    /// can receive for `purpose`: an address (email, phone) or, for other
    /// channels, a consent entry; and consent for the purpose.
    fn channel(&self, step: &Step, purpose: Purpose) -> Option<Channel> {
        let order = if step.channels.is_empty() {
            &self.engine.config.policy.channels
        } else {
            &step.channels
        };
        let c = self.contact;
        order
            .iter()
            .find(|ch| {
                let reachable = match ch.as_str() {
                    "email" => c.email.is_some(),
                    "sms" => c.phone.is_some(),
                    _ => c
                        .consent
                        .0
                        .get(*ch)
                        .is_some_and(|m| m.values().any(|r| r.status != ConsentStatus::None)),
                };
                reachable && c.consent.allows(ch, purpose) && !self.withdrawn(ch, purpose)
            })
            .cloned()
    }

    /// Remembers a withdrawal of consent the event makes, so that no send
    /// goes against it while the contact's record handed in is older.
    fn note_withdrawal(&mut self, event: &Event) {
        let (channel, purpose) = match &event.kind {
            EventKind::ConsentChanged(c) if c.action == ConsentAction::Unsubscribe => {
                (c.channel.clone(), Some(c.purpose))
            }
            EventKind::MessageUnsubscribed(m) | EventKind::MessageComplained(m) => {
                (m.channel.clone(), Some(Purpose::Marketing))
            }
            EventKind::MessageBounced(m) => (m.channel.clone(), None),
            _ => return,
        };
        let withdrawal = Withdrawal {
            channel,
            purpose,
            at: event.at,
        };
        if !self.state.withdrawn.contains(&withdrawal) {
            self.state.withdrawn.push(withdrawal);
        }
    }

    /// Whether a withdrawal the engine saw stands for `channel` and
    /// `purpose`: the contact's record shows no consent change since.
    fn withdrawn(&self, channel: &Channel, purpose: Purpose) -> bool {
        self.state.withdrawn.iter().any(|w| {
            &w.channel == channel
                && w.purpose.is_none_or(|p| p == purpose)
                && self.record_before(&w.channel, purpose, w.at)
        })
    }

    /// Whether the record's consent for `channel` and `purpose` last
    /// changed before `at` (or never).
    fn record_before(&self, channel: &Channel, purpose: Purpose, at: Timestamp) -> bool {
        self.contact
            .consent
            .get(channel, purpose)
            .last_changed()
            .is_none_or(|changed| changed < at)
    }

    /// When a marketing message on `channel` is over a cap, the first
    /// instant every cap allows it again.
    fn capped_until(&self, channel: &Channel) -> Option<Timestamp> {
        let mut until: Option<Timestamp> = None;
        for cap in &self.engine.config.policy.caps {
            if !cap.channels.is_empty() && !cap.channels.contains(channel) {
                continue;
            }
            let from = cap.per.before(self.now);
            let mut counted: Vec<Timestamp> = self
                .state
                .sent
                .iter()
                .filter(|s| {
                    s.at > from && (cap.channels.is_empty() || cap.channels.contains(&s.channel))
                })
                .map(|s| s.at)
                .collect();
            if counted.len() < cap.max as usize {
                continue;
            }
            counted.sort();
            // The oldest sends must leave the window until one slot is free.
            let free = cap.per.after(counted[counted.len() - cap.max as usize]);
            until = Some(until.map_or(free, |u| u.max(free)));
        }
        until
    }

    /// The earliest of: a step falling due, a calendar occurrence, a watched
    /// segment changing with time (`segments_next`, from
    /// [`Run::note_segments`]), the lifecycle region changing with time, the
    /// at-risk rule flipping.
    fn wakeup(&self, segments_next: Option<Timestamp>) -> Result<Option<Timestamp>> {
        let mut best: Option<Timestamp> = None;
        let mut take = |t: Timestamp| {
            if best.is_none_or(|b| t < b) {
                best = Some(t);
            }
        };
        for inst in &self.state.instances {
            take(inst.due_at);
        }
        match &self.calendar_next {
            Some(next) => next.iter().copied().for_each(&mut take),
            None => {
                for rule in &self.engine.config.rules {
                    if let (_, Some(next)) = self.occurrences(&rule.trigger, self.now) {
                        take(next);
                    }
                }
            }
        }
        if let Some(t) = segments_next {
            take(t);
        }
        if self.engine.at_risk
            && !self.facts.at_risk
            && let Some(expected) = self.facts.next_order_expected
        {
            let day = expected.get() + Duration::days(1);
            take(Timestamp::from(
                day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            ));
        }
        if let (Some(config), Some(last)) = (&self.engine.lifecycle, self.facts.last_order_at) {
            let days = last.whole_days_until(self.now);
            let edges = config
                .regions
                .iter()
                .flat_map(|r| [Some(r.days.0), r.days.1.map(|h| h + 1)])
                .flatten()
                .filter(|d| *d > days)
                .min();
            if let Some(d) = edges {
                take(Delay::days(d).after(last));
            }
        }
        Ok(best)
    }
}
