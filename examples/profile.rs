//! Profiles in Rust. Regions between START and END markers are quoted in docs/profile.md.

fn main() -> Result<(), patron::Error> {
    // START profile
    use patron::model::Timestamp;
    use patron::profile::{self, Profile};
    use patron::{Catalog, Event, parse};

    let events: Vec<Event> = parse::list_from_json(
        r#"[{"type": "product_viewed", "id": "e1", "contact_id": "anna", "at": "2024-06-01T09:00:00Z", "product_id": "boot"},
            {"type": "order_placed", "id": "e2", "contact_id": "anna", "at": "2024-06-01T09:30:00Z", "order_id": "o1",
             "lines": [{"product_id": "boot", "quantity": 1, "unit_price": 120}], "total": 120, "currency": "EUR"},
            {"type": "cart_updated", "id": "e3", "contact_id": "anna", "at": "2024-06-20T18:00:00Z",
             "lines": [{"product_id": "scarf", "quantity": 1, "unit_price": 40}], "currency": "EUR"}]"#,
    )?;
    let catalog: Catalog = parse::from_json(
        r#"{"categories": [{"id": "shoes", "name": "Shoes"}, {"id": "boots", "name": "Boots", "parent_id": "shoes"}],
            "products": [{"id": "boot", "name": "Chelsea boot", "price": 120, "currency": "EUR",
                          "category_path": ["shoes", "boots"], "brand": "Acme"}]}"#,
    )?;

    // Batch: a whole event log in, one profile per contact out.
    let profiles = profile::build(&events)?;

    // Real time: fold each event as it arrives, in any order; a repeat is a no-op.
    let mut anna = Profile::new("anna".parse()?);
    for event in events.iter().rev() {
        anna.apply(event)?;
    }
    assert!(!anna.apply(&events[0])?);
    assert_eq!(anna, profiles[0]);

    let now = Timestamp::parse("2024-06-21T09:00:00Z")?;
    let facts = anna.facts(now, Some(&catalog.index()))?;
    assert_eq!((facts.orders, facts.revenue), (1, 120.0));
    assert_eq!(
        facts.bought_categories["shoes"].orders, 1,
        "parents count too"
    );
    assert_eq!(facts.bought_brands["Acme"].spent, 120.0);
    let cart = facts.cart.as_ref().expect("an open cart");
    assert_eq!((cart.value, cart.age_seconds), (40.0, 15 * 3600));

    // The same facts feed RFM and the lifecycle grid.
    let summaries = profile::summaries(&profiles, now)?;
    assert_eq!(summaries[0].orders, 1);
    // END profile
    Ok(())
}
