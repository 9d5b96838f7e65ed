//! Triggers in Rust. Regions between START and END markers are quoted in docs/triggers.md.

fn main() -> Result<(), patron::Error> {
    // START engine
    use patron::model::Timestamp;
    use patron::profile::Profile;
    use patron::trigger::{ActionKind, ContactState, Engine};
    use patron::{Contact, Event, parse};

    // Build the engine once: rules, the segments they name, the policy.
    let engine = Engine::from_json(
        r#"{
        "rules": [{
            "id": "abandoned_cart",
            "trigger": {"on": "product", "action": "carted"},
            "reentry": {"type": "always"}, "on_repeat": "restart",
            "steps": [{"name": "1h", "delay": "1h", "template": "cart_1"},
                      {"name": "1d", "delay": "23h", "template": "cart_2"}],
            "exit": [{"on": "event", "event": "order_placed", "same_products": true}]
        }],
        "policy": {"quiet_hours": {"from": "21:00", "to": "09:00"},
                   "caps": [{"max": 2, "per": "7d"}]}
    }"#,
        None,
    )?;
    let anna: Contact = parse::from_json(
        r#"{"id": "anna", "email": "anna@example.com", "time_zone": "Europe/Berlin",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}"#,
    )?;
    let cart: Event = parse::from_json(
        r#"{"type": "cart_updated", "id": "e1", "contact_id": "anna", "at": "2024-05-01T10:00:00Z",
        "currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}"#,
    )?;

    // Per event: fold it into the profile, build the facts with the contact's
    // record, hand the stored state in, store the state that comes back.
    let mut profile = Profile::new(anna.id.clone());
    profile.apply(&cart)?;
    let facts_at = |t: Timestamp| -> Result<_, patron::Error> {
        let mut facts = profile.facts(t, None)?;
        facts.contact = Some(anna.clone());
        Ok(facts)
    };
    let state = ContactState::new(anna.id.clone());
    let out = engine.handle(&state, &facts_at(cart.at)?, &cart, cart.at)?;
    let wakeup = out.next_wakeup.expect("the first reminder is scheduled");
    assert_eq!(wakeup, Timestamp::parse("2024-05-01T11:00:00Z")?);

    // At the wake-up: the first reminder is due. Send it; its id is the outbox key.
    let out = engine.due(&out.state, &facts_at(wakeup)?, wakeup)?;
    let action = &out.actions[0];
    assert_eq!(action.id, "abandoned_cart/e1/1h");
    assert!(matches!(&action.kind, ActionKind::Send { template: Some(t), .. } if t == "cart_1"));
    // END engine

    // START simulate
    use patron::trigger::{presets, simulate};

    let engine = Engine::new(presets::config()?, None)?;
    let order: Event = parse::from_json(
        r#"{"type": "order_placed", "id": "e2", "contact_id": "anna", "at": "2024-05-01T12:00:00Z",
        "order_id": "o1", "currency": "EUR", "total": 30,
        "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}"#,
    )?;
    let until = Timestamp::parse("2024-06-01T00:00:00Z")?;
    let timeline = simulate(&engine, &[anna], &[cart, order], None, until)?;
    let ids: Vec<&str> = timeline.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        &ids[..4],
        [
            "abandoned_cart/e1/1h",
            "abandoned_cart/e1/exit",
            "order_confirmation/e2/receipt",
            "post_purchase/e2/rating",
        ]
    );
    // END simulate
    for action in &timeline {
        println!("{} {}", action.at, action.id);
    }
    Ok(())
}
