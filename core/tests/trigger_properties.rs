//! Invariants of the trigger engine over random event streams, run on the
//! presets with caps, quiet hours and a control group switched on:
//! no marketing message without consent, a replayed stream never duplicates
//! an action, a chain that exited never acts again, and `due`, which reads
//! the segments only once the state's note says they may have changed,
//! decides as `refresh`, which reads them every time.

use std::collections::BTreeSet;

use patron::model::{Purpose, Timestamp};
use patron::profile::{Facts, Profile};
use patron::trigger::{Action, ActionKind, ContactState, Engine, Outcome, presets};
use patron::{Contact, Event, EventKind, parse};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
enum Step {
    Cart(Vec<u8>),
    Order(Vec<u8>),
    View(u8),
    Wish(u8),
    Consent(&'static str, &'static str),
    PriceDrop(u8),
}

fn step() -> impl Strategy<Value = Step> {
    let products = prop::collection::vec(0u8..4, 1..3);
    prop_oneof![
        products.clone().prop_map(Step::Cart),
        products.prop_map(Step::Order),
        (0u8..4).prop_map(Step::View),
        (0u8..4).prop_map(Step::Wish),
        prop::sample::select(vec![
            ("email", "request"),
            ("email", "confirm"),
            ("email", "unsubscribe"),
            ("sms", "request"),
            ("sms", "confirm"),
            ("sms", "unsubscribe"),
        ])
        .prop_map(|(c, a)| Step::Consent(c, a)),
        (0u8..4).prop_map(Step::PriceDrop),
    ]
}

fn stream() -> impl Strategy<Value = Vec<(u32, Step)>> {
    prop::collection::vec((1u32..20_000, step()), 1..25)
}

fn engine() -> Engine {
    let mut config = presets::config().unwrap();
    config.policy = parse::from_value(json!({
        "caps": [{"max": 2, "per": "7d"}, {"channels": ["sms"], "max": 1, "per": "1d"}],
        "quiet_hours": {"from": "21:00", "to": "08:00"},
        "holdout_percent": 10, "salt": "prop"
    }))
    .unwrap();
    Engine::new(config, None).unwrap()
}

/// The presets plus segments that change with time alone within hours and
/// days, entered and left by rules, so that wake-ups cross their instants.
fn engine_with_time_segments() -> Engine {
    let mut config: Value = serde_json::to_value(presets::config().unwrap()).unwrap();
    let segments = config["segments"].as_object_mut().unwrap();
    segments.insert("stale cart".into(), json!("cart.age_seconds > 5400"));
    segments.insert("recent buyer".into(), json!("last_order_at within 2 days"));
    segments.insert(
        "idle".into(),
        json!("orders >= 1 and last_activity_at more than 3 days ago"),
    );
    let rules = config["rules"].as_array_mut().unwrap();
    rules.push(json!({"id": "stale_cart", "trigger": {"on": "segment", "segment": "stale cart", "change": "entered"},
        "reentry": {"type": "always"}, "steps": [{"template": "s1"}, {"delay": "5h", "template": "s2"}],
        "exit": [{"on": "left_segment", "segment": "stale cart"}]}));
    rules.push(json!({"id": "no_longer_recent", "trigger": {"on": "segment", "segment": "recent buyer", "change": "left"},
        "reentry": {"type": "always"}, "steps": [{"task": "check in"}]}));
    rules.push(
        json!({"id": "idle", "trigger": {"on": "segment", "segment": "idle", "change": "entered"},
        "reentry": {"type": "always"}, "steps": [{"webhook": "https://example.com/idle"}],
        "exit": [{"on": "left_segment", "segment": "recent buyer"}]}),
    );
    config["policy"] =
        json!({"quiet_hours": {"from": "21:00", "to": "08:00"}, "caps": [{"max": 3, "per": "1d"}]});
    Engine::new(parse::from_value(config).unwrap(), None).unwrap()
}

type Wake = fn(&Engine, &ContactState, &Facts, Timestamp) -> patron::Result<Outcome>;

/// Runs the stream as a host on a timer would: besides every wake-up, calls
/// `wake` at each of `ticks` (minutes after the first event) and stores the
/// state as JSON between calls. Returns every action and the last state.
fn run_ticking(
    engine: &Engine,
    events: &[Event],
    ticks: &[u32],
    wake: Wake,
) -> (Vec<Action>, ContactState) {
    let contact: Contact = parse::from_value(json!({
        "id": "c1", "email": "c1@example.com", "time_zone": "Europe/Berlin",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2023-01-01T00:00:00Z"}}}
    }))
    .unwrap();
    let facts = |profile: &Profile, at: Timestamp| {
        let mut f = profile.facts(at, None).unwrap();
        f.contact = Some(contact.clone());
        f
    };
    let start = events[0].at.get();
    let mut ticks: Vec<Timestamp> = ticks
        .iter()
        .map(|m| Timestamp::from(start + chrono::Duration::minutes(i64::from(*m))))
        .collect();
    ticks.sort();
    let mut profile = Profile::new(contact.id.clone());
    let mut state = ContactState::new(contact.id.clone());
    let mut all = Vec::new();
    let mut take = |state: &mut ContactState, o: Outcome| {
        let text = serde_json::to_string(&o.state).unwrap();
        *state = ContactState::from_json(&text).unwrap();
        all.extend(o.actions);
    };
    let (mut e, mut k) = (0, 0);
    while e < events.len() || k < ticks.len() {
        let tick = k < ticks.len() && (e == events.len() || ticks[k] < events[e].at);
        let at = if tick { ticks[k] } else { events[e].at };
        while let Some(w) = state.wakeup.filter(|w| *w <= at) {
            let o = wake(engine, &state, &facts(&profile, w), w).unwrap();
            take(&mut state, o);
        }
        if tick {
            k += 1;
            if state.clock.is_some_and(|c| c <= at) {
                let o = wake(engine, &state, &facts(&profile, at), at).unwrap();
                take(&mut state, o);
            }
            continue;
        }
        let event = &events[e];
        e += 1;
        if matches!(event.kind, EventKind::ConsentChanged(_)) || event.kind.is_catalog() {
            continue;
        }
        profile.apply(event).unwrap();
        let o = engine
            .handle(&state, &facts(&profile, event.at), event, event.at)
            .unwrap();
        take(&mut state, o);
    }
    (all, state)
}

fn events(steps: &[(u32, Step)]) -> Vec<Event> {
    let mut t = Timestamp::parse("2024-01-01T00:00:00Z").unwrap().get();
    let mut out = Vec::new();
    for (i, (gap, step)) in steps.iter().enumerate() {
        t += chrono::Duration::minutes(i64::from(*gap));
        let at = Timestamp::from(t).to_string();
        let lines = |ps: &[u8]| -> Vec<Value> {
            ps.iter()
                .map(|p| json!({"product_id": format!("p{p}"), "quantity": 1, "unit_price": 10}))
                .collect()
        };
        let base =
            |kind: &str| json!({"type": kind, "id": format!("e{i}"), "contact_id": "c1", "at": at});
        let mut v = match step {
            Step::Cart(ps) => {
                let mut v = base("cart_updated");
                v["lines"] = json!(lines(ps));
                v["currency"] = json!("EUR");
                v
            }
            Step::Order(ps) => {
                let mut v = base("order_placed");
                v["lines"] = json!(lines(ps));
                v["currency"] = json!("EUR");
                v["order_id"] = json!(format!("o{i}"));
                v["total"] = json!(10 * ps.len());
                v
            }
            Step::View(p) => {
                let mut v = base("product_viewed");
                v["product_id"] = json!(format!("p{p}"));
                v
            }
            Step::Wish(p) => {
                let mut v = base("wishlist_added");
                v["product_id"] = json!(format!("p{p}"));
                v
            }
            Step::Consent(channel, action) => {
                let mut v = base("consent_changed");
                v["channel"] = json!(channel);
                v["purpose"] = json!("marketing");
                v["action"] = json!(action);
                v
            }
            Step::PriceDrop(p) => json!({"type": "price_changed", "id": format!("e{i}"), "at": at,
                "product_id": format!("p{p}"), "price": 8, "old_price": 10, "currency": "EUR"}),
        };
        if let Some(m) = v.as_object_mut() {
            m.retain(|_, x| !x.is_null());
        }
        out.push(parse::from_value(v).unwrap());
    }
    out
}

/// Runs the stream as a host would, delivering each event `times` times;
/// checks consent at every send; returns every action.
fn run(engine: &Engine, events: &[Event], times: usize) -> Vec<Action> {
    let mut contact: Contact = parse::from_value(json!({
        "id": "c1", "email": "c1@example.com", "phone": "+4930123456", "time_zone": "Europe/Berlin"
    }))
    .unwrap();
    let mut profile = Profile::new(contact.id.clone());
    let mut state = ContactState::new(contact.id.clone());
    let mut all = Vec::new();
    let check = |actions: &[Action], contact: &Contact| {
        for a in actions {
            if let ActionKind::Send {
                channel,
                purpose: Purpose::Marketing,
                ..
            } = &a.kind
            {
                assert!(
                    contact.consent.allows(channel, Purpose::Marketing),
                    "{} went to {channel} without consent",
                    a.id
                );
            }
        }
    };
    let facts = |profile: &Profile, contact: &Contact, at: Timestamp| {
        let mut f = profile.facts(at, None).unwrap();
        f.contact = Some(contact.clone());
        f
    };
    for event in events {
        while let Some(w) = state.wakeup.filter(|w| *w <= event.at) {
            let o = engine
                .due(&state, &facts(&profile, &contact, w), w)
                .unwrap();
            check(&o.actions, &contact);
            state = o.state;
            all.extend(o.actions);
        }
        if let EventKind::ConsentChanged(c) = &event.kind
            && contact.apply_consent(&c.to_change(event.at)).is_err()
        {
            continue;
        }
        if !event.kind.is_catalog() {
            profile.apply(event).unwrap();
        }
        for _ in 0..times {
            let o = engine
                .handle(
                    &state,
                    &facts(&profile, &contact, event.at),
                    event,
                    event.at,
                )
                .unwrap();
            check(&o.actions, &contact);
            state = o.state;
            all.extend(o.actions);
        }
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_marketing_message_goes_out_without_consent(steps in stream()) {
        // `run` asserts consent at every send.
        run(&engine(), &events(&steps), 1);
    }

    #[test]
    fn a_replayed_stream_never_duplicates_an_action(steps in stream()) {
        let engine = engine();
        let events = events(&steps);
        let once = run(&engine, &events, 1);
        let twice = run(&engine, &events, 2);
        prop_assert_eq!(&once, &twice);
        let ids: BTreeSet<&str> = once.iter().map(|a| a.id.as_str()).collect();
        prop_assert_eq!(ids.len(), once.len(), "action ids are unique");
    }

    #[test]
    fn due_reading_the_note_decides_as_reading_the_segments_every_time(
        steps in prop::collection::vec((1u32..6_000, step()), 1..15),
        ticks in prop::collection::vec(0u32..60_000, 0..40),
    ) {
        let engine = engine_with_time_segments();
        let events = events(&steps);
        let skipping = run_ticking(&engine, &events, &ticks, Engine::due);
        let reading = run_ticking(&engine, &events, &ticks, Engine::refresh);
        prop_assert_eq!(&skipping.0, &reading.0);
        prop_assert_eq!(&skipping.1, &reading.1);
    }

    #[test]
    fn a_chain_that_exited_never_acts_again(steps in stream()) {
        let actions = run(&engine(), &events(&steps), 1);
        let mut ended: BTreeSet<String> = BTreeSet::new();
        for a in &actions {
            for instance in &ended {
                prop_assert!(!a.id.starts_with(&format!("{instance}/")), "{} after {instance} exited", a.id);
            }
            if let ActionKind::Exited { .. } = a.kind {
                ended.insert(a.id.trim_end_matches("/exit").to_string());
            }
        }
    }
}
