//! Trigger scenarios: each test drives the engine the way a host does
//! (fold the event into the profile, build facts with the contact, call
//! `handle`, call `due` at each wake-up) and checks the decisions.

use patron::model::Timestamp;
use patron::profile::{Facts, Profile};
use patron::trigger::{self, ActionKind, ContactState, Engine, Outcome, presets};
use patron::{Contact, Event, parse};
use serde_json::{Value, json};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn engine(config: Value) -> Engine {
    Engine::new(parse::from_value(config).unwrap(), None).unwrap()
}

fn engine_err(config: Value) -> patron::Error {
    match parse::from_value::<trigger::Config>(config) {
        Ok(c) => Engine::new(c, None).unwrap_err(),
        Err(e) => e,
    }
}

fn subscriber(id: &str) -> Contact {
    parse::from_value(json!({
        "id": id, "email": format!("{id}@example.com"), "time_zone": "Europe/Berlin",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}
    }))
    .unwrap()
}

fn cart(id: &str, at: &str, products: &[&str]) -> Event {
    let lines: Vec<Value> = products
        .iter()
        .map(|p| json!({"product_id": p, "quantity": 1, "unit_price": 20}))
        .collect();
    parse::from_value(
        json!({"type": "cart_updated", "id": id, "contact_id": "anna", "at": at,
        "currency": "EUR", "lines": lines}),
    )
    .unwrap()
}

fn order(id: &str, at: &str, products: &[&str]) -> Event {
    let lines: Vec<Value> = products
        .iter()
        .map(|p| json!({"product_id": p, "quantity": 1, "unit_price": 20}))
        .collect();
    parse::from_value(json!({"type": "order_placed", "id": id, "contact_id": "anna", "at": at,
        "order_id": format!("o-{id}"), "currency": "EUR", "total": 20.0 * products.len() as f64, "lines": lines}))
    .unwrap()
}

/// A host: one contact's profile, record and state, and every action taken.
struct Host {
    engine: Engine,
    contact: Contact,
    profile: Profile,
    state: ContactState,
    actions: Vec<trigger::Action>,
}

impl Host {
    fn new(engine: Engine, contact: Contact) -> Host {
        Host {
            engine,
            profile: Profile::new(contact.id.clone()),
            state: ContactState::new(contact.id.clone()),
            contact,
            actions: Vec::new(),
        }
    }

    fn facts(&self, at: Timestamp) -> Facts {
        let mut f = self.profile.facts(at, None).unwrap();
        f.contact = Some(self.contact.clone());
        f
    }

    fn take(&mut self, o: Outcome) -> Outcome {
        self.state = o.state.clone();
        self.actions.extend(o.actions.clone());
        o
    }

    /// Wakes up at every wake-up up to `to`, then handles `event` at its time.
    fn event(&mut self, event: &Event) -> Outcome {
        self.until(event.at);
        self.profile.apply(event).unwrap();
        let facts = self.facts(event.at);
        let o = self
            .engine
            .handle(&self.state, &facts, event, event.at)
            .unwrap();
        self.take(o)
    }

    fn until(&mut self, to: Timestamp) {
        while let Some(w) = self.state.wakeup.filter(|w| *w <= to) {
            let facts = self.facts(w);
            let o = self.engine.due(&self.state, &facts, w).unwrap();
            self.take(o);
        }
    }

    fn sends(&self) -> Vec<(String, String)> {
        self.actions
            .iter()
            .filter(|a| matches!(a.kind, ActionKind::Send { .. }))
            .map(|a| (a.id.clone(), a.at.to_string()))
            .collect()
    }
}

fn abandoned_cart() -> Value {
    json!({"rules": [{
        "id": "cart", "trigger": {"on": "product", "action": "carted"},
        "reentry": {"type": "always"}, "on_repeat": "restart",
        "steps": [{"delay": "1h", "template": "c1"}, {"delay": "23h", "template": "c2"},
                  {"delay": "2d", "template": "c3"}],
        "exit": [{"on": "event", "event": "order_placed", "same_products": true}]
    }]})
}

#[test]
fn an_abandoned_cart_gets_three_reminders_at_1_hour_1_day_and_3_days() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.until(ts("2024-06-01T00:00:00Z"));
    assert_eq!(
        host.sends(),
        [
            ("cart/e1/1".to_string(), "2024-05-01T11:00:00Z".to_string()),
            ("cart/e1/2".to_string(), "2024-05-02T10:00:00Z".to_string()),
            ("cart/e1/3".to_string(), "2024-05-04T10:00:00Z".to_string()),
        ]
    );
    assert!(
        host.state.instances.is_empty(),
        "the chain ended after its last step"
    );
    assert_eq!(host.state.wakeup, None);
}

#[test]
fn an_order_with_the_carts_products_ends_the_chain_at_once() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1", "p2"]));
    host.event(&order("e2", "2024-05-01T12:00:00Z", &["p2"]));
    host.until(ts("2024-06-01T00:00:00Z"));
    assert_eq!(host.sends().len(), 1, "only the 1-hour reminder went out");
    let exit = host.actions.last().unwrap();
    assert_eq!(exit.id, "cart/e1/exit");
    assert!(matches!(exit.kind, ActionKind::Exited { .. }));
}

#[test]
fn an_order_of_other_products_does_not_end_the_chain() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.event(&order("e2", "2024-05-01T12:00:00Z", &["p9"]));
    host.until(ts("2024-06-01T00:00:00Z"));
    assert_eq!(host.sends().len(), 3);
}

#[test]
fn a_late_order_dated_before_the_cart_does_not_end_it() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    // Delivered late: it happened before the cart chain started.
    let late = order("e0", "2024-05-01T09:00:00Z", &["p1"]);
    let facts = host.facts(ts("2024-05-01T10:30:00Z"));
    let o = host
        .engine
        .handle(&host.state, &facts, &late, ts("2024-05-01T10:30:00Z"))
        .unwrap();
    host.take(o);
    assert_eq!(host.state.instances.len(), 1);
}

#[test]
fn a_cart_change_restarts_the_count() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.event(&cart("e2", "2024-05-01T10:30:00Z", &["p1", "p2"]));
    host.until(ts("2024-05-01T12:00:00Z"));
    assert_eq!(
        host.sends(),
        [("cart/e2/1".to_string(), "2024-05-01T11:30:00Z".to_string())]
    );
}

#[test]
fn the_same_event_twice_is_a_no_op() {
    let e = engine(abandoned_cart());
    let anna = subscriber("anna");
    let event = cart("e1", "2024-05-01T10:00:00Z", &["p1"]);
    let mut profile = Profile::new(anna.id.clone());
    profile.apply(&event).unwrap();
    let mut facts = profile.facts(event.at, None).unwrap();
    facts.contact = Some(anna.clone());
    let first = e
        .handle(
            &ContactState::new(anna.id.clone()),
            &facts,
            &event,
            event.at,
        )
        .unwrap();
    let again = e.handle(&first.state, &facts, &event, event.at).unwrap();
    assert_eq!(again.state, first.state);
    assert!(again.actions.is_empty());
    assert_eq!(again.ignored, Some(trigger::Ignored::Duplicate));
}

#[test]
fn without_consent_a_marketing_step_is_skipped_and_a_transactional_one_is_sent() {
    let config = json!({"rules": [
        {"id": "promo", "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}]},
        {"id": "receipt", "purpose": "transactional", "trigger": {"on": "event", "event": "order_placed"},
         "steps": [{"template": "r"}]}
    ]});
    let anna: Contact = parse::from_value(json!({"id": "anna", "email": "a@example.com"})).unwrap();
    let mut host = Host::new(engine(config), anna);
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    let kinds: Vec<(&str, &ActionKind)> = host
        .actions
        .iter()
        .map(|a| (a.rule.as_str(), &a.kind))
        .collect();
    assert!(matches!(kinds[0], ("promo", ActionKind::Skipped { .. })));
    assert!(matches!(kinds[1], ("receipt", ActionKind::Send { .. })));
}

#[test]
fn quiet_hours_hold_a_message_until_morning_in_the_contacts_zone() {
    let mut config = abandoned_cart();
    config["policy"] = json!({"quiet_hours": {"from": "21:00", "to": "09:00"}});
    let mut host = Host::new(engine(config), subscriber("anna"));
    // 20:30 in Berlin (UTC+2): the 1-hour reminder falls at 21:30, in quiet hours.
    host.event(&cart("e1", "2024-05-01T18:30:00Z", &["p1"]));
    host.until(ts("2024-05-02T12:00:00Z"));
    assert_eq!(
        host.sends()[0],
        ("cart/e1/1".to_string(), "2024-05-02T07:00:00Z".to_string())
    );
    assert!(
        host.actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::Deferred { .. }))
    );
}

#[test]
fn a_cap_defers_or_drops_as_the_rule_says() {
    let config = |when: &str| {
        json!({"policy": {"caps": [{"max": 1, "per": "1d"}]}, "rules": [
            {"id": "a", "priority": 2, "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}]},
            {"id": "b", "when_capped": when, "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}]}
        ]})
    };
    let mut host = Host::new(engine(config("defer")), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.until(ts("2024-05-03T00:00:00Z"));
    assert_eq!(
        host.sends(),
        [
            ("a/e1/1".to_string(), "2024-05-01T10:00:00Z".to_string()),
            ("b/e1/1".to_string(), "2024-05-02T10:00:00Z".to_string()),
        ]
    );
    let mut host = Host::new(engine(config("drop")), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.until(ts("2024-05-03T00:00:00Z"));
    assert_eq!(host.sends().len(), 1);
    assert!(matches!(host.actions[1].kind, ActionKind::Skipped { .. }));
}

#[test]
fn a_control_group_is_recorded_not_sent_and_is_stable() {
    let config = json!({"policy": {"holdout_percent": 50, "salt": "s"}, "rules": [
        {"id": "promo", "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}]}
    ]});
    let e = engine(config);
    let mut held = 0;
    for i in 0..200 {
        let id = format!("c{i}");
        let mut host = Host::new(e.clone(), subscriber(&id));
        let mut ev = order("e1", "2024-05-01T10:00:00Z", &["p1"]);
        ev.contact_id = Some(patron::model::Id::new(&id).unwrap());
        host.event(&ev);
        match &host.actions[0].kind {
            ActionKind::HeldOut { .. } => held += 1,
            ActionKind::Send { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(
        (70..=130).contains(&held),
        "about half held out, got {held}"
    );
}

#[test]
fn re_entry_policies_limit_how_often_a_rule_starts() {
    let config = |reentry: Value| {
        json!({"rules": [{"id": "r", "reentry": reentry, "trigger": {"on": "event", "event": "order_placed"},
            "steps": [{"template": "t"}]}]})
    };
    let count = |reentry: Value| {
        let mut host = Host::new(engine(config(reentry)), subscriber("anna"));
        for (i, day) in ["01", "02", "05", "20"].iter().enumerate() {
            host.event(&order(
                &format!("e{i}"),
                &format!("2024-05-{day}T10:00:00Z"),
                &["p1"],
            ));
        }
        host.sends().len()
    };
    assert_eq!(count(json!({"type": "once"})), 1);
    assert_eq!(count(json!({"type": "once_per_key"})), 1);
    assert_eq!(count(json!({"type": "always"})), 4);
    assert_eq!(count(json!({"type": "cooldown", "period": "3d"})), 3);
    assert_eq!(
        count(json!({"type": "at_most", "times": 2, "per": "7d"})),
        3
    );
}

#[test]
fn a_birthday_fires_a_week_before_at_ten_local_time_every_year() {
    let config = json!({"rules": [{"id": "bday", "trigger": {"on": "date", "field": "birthday", "offset_days": -7},
        "steps": [{"template": "b"}]}]});
    let mut anna = subscriber("anna");
    anna.birthday = Some(patron::model::Date::parse("1990-06-15").unwrap());
    let mut host = Host::new(engine(config), anna);
    let facts = host.facts(ts("2024-01-01T00:00:00Z"));
    let o = host
        .engine
        .due(&host.state, &facts, ts("2024-01-01T00:00:00Z"))
        .unwrap();
    host.take(o);
    host.until(ts("2025-12-31T00:00:00Z"));
    assert_eq!(
        host.sends(),
        [
            (
                "bday/2024-06-08/1".to_string(),
                "2024-06-08T08:00:00Z".to_string()
            ),
            (
                "bday/2025-06-08/1".to_string(),
                "2025-06-08T08:00:00Z".to_string()
            ),
        ]
    );
}

#[test]
fn entering_a_segment_with_time_alone_fires_at_the_exact_wake_up() {
    let config = json!({
        "segments": {"lapsed": "orders >= 1 and last_order_at more than 30 days ago"},
        "rules": [{"id": "call", "trigger": {"on": "segment", "segment": "lapsed", "change": "entered"},
            "steps": [{"task": "Call the client"}]}]
    });
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    assert!(host.actions.is_empty());
    host.until(ts("2024-07-01T00:00:00Z"));
    assert_eq!(host.actions.len(), 1);
    assert!(matches!(host.actions[0].kind, ActionKind::Task { .. }));
    // "more than 30 days ago" holds from the first second past 30 days.
    assert_eq!(host.actions[0].at, ts("2024-05-31T10:00:01Z"));
}

#[test]
fn a_clock_that_goes_backwards_is_refused() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    let facts = host.facts(ts("2024-05-01T10:00:00Z"));
    let err = host
        .engine
        .due(&host.state, &facts, ts("2024-05-01T09:00:00Z"))
        .unwrap_err();
    assert_eq!(err.path(), Some("now"));
    assert!(err.to_string().contains("clock went backwards"), "{err}");
}

#[test]
fn state_from_a_newer_patron_is_refused_and_the_stored_form_round_trips() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    let text = serde_json::to_string(&host.state).unwrap();
    assert_eq!(ContactState::from_json(&text).unwrap(), host.state);
    let mut newer: Value = serde_json::from_str(&text).unwrap();
    newer["version"] = json!(trigger::STATE_VERSION + 1);
    let err = ContactState::from_value(newer).unwrap_err();
    assert_eq!(err.path(), Some("version"));
    assert!(err.to_string().contains("newer patron"), "{err}");
    let mut bare: Value = serde_json::from_str(&text).unwrap();
    bare.as_object_mut().unwrap().remove("version");
    assert_eq!(
        ContactState::from_value(bare).unwrap_err().path(),
        Some("version")
    );
}

#[test]
fn bad_rules_are_refused_with_the_field_named() {
    let cases = [
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placed"},
            "steps": [{"delay": "-1h", "template": "t"}]}]}),
            "rules[0].steps[0].delay",
            "negative",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placd"},
            "steps": [{"template": "t"}]}]}),
            "rules[0].trigger.event",
            "did you mean `order_placed`",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "segment", "segment": "vipp", "change": "entered"},
            "steps": [{"template": "t"}]}], "segments": {"vip": "orders >= 5"}}),
            "rules[0].trigger.segment",
            "did you mean `vip`",
        ),
        (
            json!({"templates": ["cart_1"], "rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placed"},
            "steps": [{"template": "cart_2"}]}]}),
            "rules[0].steps[0].template",
            "unknown template",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "message_sent"},
            "reentry": {"type": "always"}, "steps": [{"template": "t"}]}]}),
            "rules[0].trigger.event",
            "never end",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placed"}, "steps": []}]}),
            "rules[0].steps",
            "at least one step",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placed"},
            "steps": [{"template": "t", "task": "call"}]}]}),
            "rules[0].steps[0]",
            "exactly one",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placed"},
            "condition": "segment \"nope\"", "steps": [{"template": "t"}]}]}),
            "rules[0].condition",
            "unknown segment",
        ),
        (
            json!({"policy": {"caps": [{"max": 0, "per": "1d"}]}, "rules": []}),
            "policy.caps[0]",
            "above zero",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}]},
            {"id": "r", "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}]}]}),
            "rules[1].id",
            "also rules[0]",
        ),
        (
            json!({"rules": [{"id": "r", "trigger": {"on": "product", "action": "carted", "categories": ["shoes"]},
            "steps": [{"template": "t"}]}]}),
            "rules[0].trigger.categories",
            "needs the catalog",
        ),
    ];
    for (config, path, message) in cases {
        let err = engine_err(config.clone());
        assert_eq!(err.path(), Some(path), "{config}: {err}");
        assert!(err.to_string().contains(message), "{config}: {err}");
    }
}

#[test]
fn the_presets_build_and_run_over_a_small_shop() {
    let engine = Engine::new(presets::config().unwrap(), None).unwrap();
    let mut anna = subscriber("anna");
    anna.birthday = Some(patron::model::Date::parse("1990-03-20").unwrap());
    let events: Vec<Event> = vec![
        cart("e1", "2024-01-10T10:00:00Z", &["p1"]),
        order("e2", "2024-01-10T15:00:00Z", &["p1"]),
        order("e3", "2024-02-10T15:00:00Z", &["p2"]),
        cart("e4", "2024-03-01T18:00:00Z", &["p3"]),
    ];
    let timeline =
        trigger::simulate(&engine, &[anna], &events, None, ts("2024-12-31T00:00:00Z")).unwrap();
    let ids: Vec<&str> = timeline.iter().map(|a| a.id.as_str()).collect();
    for want in [
        "abandoned_cart/e1/1h",
        "abandoned_cart/e1/exit",
        "order_confirmation/e2/receipt",
        "post_purchase/e2/rating",
        "post_purchase/e3/review",
        "abandoned_cart/e4/3d",
        "birthday/2024-03-13/gift",
        "repeat_reminder/2024-03-09/remind",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:#?}");
    }
    // The cart of e1 was bought 5 hours later: only its 1-hour reminder went out.
    assert!(!ids.contains(&"abandoned_cart/e1/1d"));
    let mut sorted = timeline.clone();
    sorted.sort_by_key(|a| a.at);
    assert_eq!(sorted, timeline, "the timeline is in time order");
}

#[test]
fn a_weekly_schedule_fires_on_the_contacts_clock() {
    let config = json!({"rules": [{"id": "digest", "trigger": {"on": "schedule", "every": "week", "weekday": "mon", "at": "08:30"},
        "steps": [{"template": "digest"}]}]});
    let mut host = Host::new(engine(config), subscriber("anna"));
    let facts = host.facts(ts("2024-03-20T00:00:00Z"));
    let o = host
        .engine
        .due(&host.state, &facts, ts("2024-03-20T00:00:00Z"))
        .unwrap();
    host.take(o);
    host.until(ts("2024-04-02T00:00:00Z"));
    // Mondays 25 March (CET, +01:00) and 1 April (CEST, +02:00): 08:30 local both times.
    assert_eq!(
        host.sends(),
        [
            (
                "digest/2024-03-25/1".to_string(),
                "2024-03-25T07:30:00Z".to_string()
            ),
            (
                "digest/2024-04-01/1".to_string(),
                "2024-04-01T06:30:00Z".to_string()
            ),
        ]
    );
}

#[test]
fn transactional_steps_ignore_quiet_hours_caps_and_control_groups() {
    let config = json!({
        "policy": {"quiet_hours": {"from": "00:00", "to": "23:59"}, "caps": [{"max": 1, "per": "30d"}], "holdout_percent": 100},
        "rules": [{"id": "receipt", "purpose": "transactional", "trigger": {"on": "event", "event": "order_placed"},
            "key": "order", "reentry": {"type": "always"}, "steps": [{"template": "r"}]}]
    });
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.event(&order("e2", "2024-05-01T10:05:00Z", &["p2"]));
    assert_eq!(host.sends().len(), 2);
}

#[test]
fn a_global_control_group_holds_out_every_marketing_rule() {
    let config = json!({"policy": {"holdout_percent": 100},
        "rules": [{"id": "promo", "trigger": {"on": "event", "event": "order_placed"}, "steps": [{"template": "t"}, {"delay": "1d", "task": "call"}]}]});
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.until(ts("2024-05-03T00:00:00Z"));
    assert_eq!(host.actions.len(), 2);
    for a in &host.actions {
        assert!(
            matches!(
                a.kind,
                ActionKind::HeldOut {
                    group: trigger::HoldoutLevel::Global,
                    ..
                }
            ),
            "{a:?}"
        );
    }
}

#[test]
fn adopting_a_contact_records_its_segments_without_firing() {
    let config = json!({
        "segments": {"buyers": "orders >= 1"},
        "rules": [{"id": "hello_buyer", "trigger": {"on": "segment", "segment": "buyers", "change": "entered"},
            "steps": [{"template": "t"}]}]
    });
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.profile
        .apply(&order("e1", "2024-05-01T10:00:00Z", &["p1"]))
        .unwrap();
    let facts = host.facts(ts("2024-05-02T00:00:00Z"));
    host.state = host
        .engine
        .adopt(&host.state, &facts, ts("2024-05-02T00:00:00Z"))
        .unwrap();
    assert_eq!(host.state.segments, ["buyers"]);
    host.event(&order("e2", "2024-05-03T10:00:00Z", &["p2"]));
    assert!(host.actions.is_empty(), "already a buyer: nothing entered");
}

#[test]
fn the_expected_next_order_drives_a_reminder_before_it() {
    let config = json!({"rules": [{"id": "remind", "trigger": {"on": "next_order", "offset_days": -2},
        "steps": [{"template": "t"}]}]});
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.event(&order("e2", "2024-05-11T10:00:00Z", &["p1"]));
    // Every 10 days: the next order is expected on 21 May; remind on the 19th at 10:00 Berlin.
    host.until(ts("2024-05-25T00:00:00Z"));
    assert_eq!(
        host.sends(),
        [(
            "remind/2024-05-19/1".to_string(),
            "2024-05-19T08:00:00Z".to_string()
        )]
    );
}

#[test]
fn a_lifecycle_move_fires_when_time_alone_moves_the_contact() {
    let config = json!({"rules": [{"id": "slipping", "trigger": {"on": "lifecycle", "from": "growing", "to": "highest potential"},
        "steps": [{"template": "t"}]}]});
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-01-01T10:00:00Z", &["p1"]));
    host.event(&order("e2", "2024-02-01T10:00:00Z", &["p2"]));
    host.until(ts("2024-07-01T00:00:00Z"));
    // Two purchases, last on 1 February: "growing" up to 90 days, then "highest potential".
    assert_eq!(host.sends().len(), 1);
    assert_eq!(
        host.actions[0].at,
        ts("2024-05-02T10:00:00Z"),
        "91 whole days after 1 February"
    );
}

#[test]
fn a_rule_removed_from_the_config_ends_its_chains() {
    let mut host = Host::new(engine(abandoned_cart()), subscriber("anna"));
    host.event(&cart("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.engine = engine(json!({"rules": []}));
    host.until(ts("2024-05-02T00:00:00Z"));
    assert!(matches!(
        host.actions[0].kind,
        ActionKind::Exited {
            reason: trigger::ExitReason::RuleRemoved
        }
    ));
    assert!(host.state.instances.is_empty());
}

#[test]
fn due_calls_before_a_segment_changes_skip_it_and_the_entry_still_fires_at_the_exact_second() {
    // A daily schedule wakes the contact every morning; the segment changes
    // with time alone 30 days and one second after the order.
    let config = json!({
        "segments": {"lapsed": "orders >= 1 and last_order_at more than 30 days ago"},
        "rules": [
            {"id": "call", "trigger": {"on": "segment", "segment": "lapsed", "change": "entered"},
             "steps": [{"task": "Call the client"}]},
            {"id": "daily", "trigger": {"on": "schedule", "every": "day", "at": "07:00"},
             "reentry": {"type": "always"}, "steps": [{"webhook": "https://example.com/tick"}]}
        ]
    });
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    let note = host
        .state
        .segments_until
        .expect("the order's call notes the segments");
    assert_eq!(note.until, Some(ts("2024-05-31T10:00:01Z")));
    // Every morning's wake-up keeps the note (the segments are not read
    // again) and the wake-up chain goes through the exact second.
    let mut wakes = 0;
    while let Some(w) = host
        .state
        .wakeup
        .filter(|w| *w <= ts("2024-06-02T00:00:00Z"))
    {
        let o = host.engine.due(&host.state, &host.facts(w), w).unwrap();
        if w < ts("2024-05-31T10:00:01Z") {
            assert_eq!(o.state.segments_until, Some(note), "at {w}");
            assert!(o.state.segments.is_empty(), "at {w}");
        }
        host.take(o);
        wakes += 1;
    }
    assert!(wakes > 30, "{wakes} wake-ups");
    let calls: Vec<_> = host
        .actions
        .iter()
        .filter(|a| a.rule.as_str() == "call")
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].at, ts("2024-05-31T10:00:01Z"));
    assert_eq!(host.state.segments, ["lapsed"]);
    assert_eq!(
        host.state.segments_until.unwrap().until,
        None,
        "lapsed for good"
    );
}

#[test]
fn due_between_wake_ups_skips_the_segments_and_decides_as_reading_them_would() {
    // Calls at arbitrary moments (a host on a timer), through a stored JSON
    // round trip: `due` reading the note gives what `refresh` (which reads
    // the segments every time) gives.
    let config = json!({
        "segments": {"lapsed": "orders >= 1 and last_order_at more than 3 days ago",
                     "carting": "cart.age_seconds > 3600"},
        "rules": [
            {"id": "call", "trigger": {"on": "segment", "segment": "lapsed", "change": "entered"},
             "reentry": {"type": "always"}, "steps": [{"task": "Call"}]},
            {"id": "cart", "trigger": {"on": "segment", "segment": "carting", "change": "entered"},
             "reentry": {"type": "always"}, "steps": [{"template": "c"}, {"delay": "1d", "template": "c2"}],
             "exit": [{"on": "left_segment", "segment": "carting"}]}
        ]
    });
    let engine = engine(config);
    let mut skipping = Host::new(engine.clone(), subscriber("anna"));
    let mut reading = Host::new(engine, subscriber("anna"));
    let events = [
        cart("e1", "2024-05-01T10:00:00Z", &["p1"]),
        order("e2", "2024-05-01T12:00:00Z", &["p1"]),
        cart("e3", "2024-05-06T09:00:00Z", &["p2"]),
    ];
    let mut t = ts("2024-05-01T10:00:00Z");
    let mut next_event = 0;
    while t < ts("2024-05-10T00:00:00Z") {
        if next_event < events.len() && events[next_event].at <= t {
            let e = &events[next_event];
            for host in [&mut skipping, &mut reading] {
                host.profile.apply(e).unwrap();
                let o = host
                    .engine
                    .handle(&host.state, &host.facts(e.at), e, e.at)
                    .unwrap();
                host.take(o);
            }
            next_event += 1;
            continue;
        }
        let stored = serde_json::to_string(&skipping.state).unwrap();
        skipping.state = ContactState::from_json(&stored).unwrap();
        let a = skipping
            .engine
            .due(&skipping.state, &skipping.facts(t), t)
            .unwrap();
        let b = reading
            .engine
            .refresh(&reading.state, &reading.facts(t), t)
            .unwrap();
        assert_eq!(a.actions, b.actions, "at {t}");
        assert_eq!(a.state.segments, b.state.segments, "at {t}");
        assert_eq!(a.next_wakeup, b.next_wakeup, "at {t}");
        skipping.take(a);
        reading.take(b);
        // 7 h 13 min apart: between and across the segments' instants.
        t = Timestamp::from(t.get() + chrono::Duration::minutes(433));
    }
    let entries = |h: &Host| {
        h.actions
            .iter()
            .filter(|a| a.rule.as_str() == "call")
            .count()
    };
    assert_eq!(entries(&skipping), 1);
    assert!(skipping.actions.iter().any(|a| a.rule.as_str() == "cart"));
}

#[test]
fn due_reads_the_segments_again_when_the_engine_s_segments_changed() {
    let config = |rule: &str| {
        json!({
            "segments": {"buyers": rule},
            "rules": [{"id": "hello", "trigger": {"on": "segment", "segment": "buyers", "change": "entered"},
                "steps": [{"template": "t"}]},
                {"id": "daily", "trigger": {"on": "schedule", "every": "day", "at": "07:00"},
                 "reentry": {"type": "always"}, "steps": [{"webhook": "https://example.com/tick"}]}]
        })
    };
    let mut host = Host::new(engine(config("orders >= 2")), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    host.until(ts("2024-05-03T00:00:00Z"));
    assert!(host.state.segments.is_empty());
    assert_eq!(host.state.segments_until.unwrap().until, None);
    // The shop lowers the bar: the next wake-up reads the segments again.
    host.engine = engine(config("orders >= 1"));
    host.until(ts("2024-05-04T00:00:00Z"));
    assert_eq!(host.state.segments, ["buyers"]);
    assert!(host.actions.iter().any(|a| a.rule.as_str() == "hello"));
}

#[test]
fn facts_changed_without_an_event_need_refresh() {
    let config = json!({
        "segments": {"berliners": "contact.city = \"Berlin\""},
        "rules": [{"id": "hallo", "trigger": {"on": "segment", "segment": "berliners", "change": "entered"},
            "steps": [{"template": "t"}]},
            {"id": "daily", "trigger": {"on": "schedule", "every": "day", "at": "07:00"},
             "reentry": {"type": "always"}, "steps": [{"webhook": "https://example.com/tick"}]}]
    });
    let mut host = Host::new(engine(config), subscriber("anna"));
    host.event(&order("e1", "2024-05-01T10:00:00Z", &["p1"]));
    // The host edits the record outside any event: `due` keeps to the note...
    host.contact.city = Some(patron::model::Text::new("Berlin").unwrap());
    let w = host.state.wakeup.unwrap();
    let o = host.engine.due(&host.state, &host.facts(w), w).unwrap();
    assert!(o.state.segments.is_empty());
    // ...and `refresh` reads the segments again.
    let o = host.engine.refresh(&host.state, &host.facts(w), w).unwrap();
    assert_eq!(o.state.segments, ["berliners"]);
    assert!(o.actions.iter().any(|a| a.rule.as_str() == "hallo"));
}

#[test]
fn a_version_1_state_reads_as_version_2_without_a_note() {
    let old = json!({"version": 1, "contact_id": "anna", "clock": 1714557600, "segments": ["vip"]});
    let state = ContactState::from_value(old).unwrap();
    assert_eq!(state.version, trigger::STATE_VERSION);
    assert_eq!(state.segments, ["vip"]);
    assert_eq!(state.segments_until, None);
}
