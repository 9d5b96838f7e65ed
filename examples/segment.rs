//! Segments in Rust. Regions between START and END markers are quoted in docs/segments.md.

fn main() -> Result<(), patron::Error> {
    // START segments
    use patron::model::Timestamp;
    use patron::segment::Registry;
    use patron::{Event, parse, profile};

    let events: Vec<Event> = parse::list_from_json(
        r#"[{"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-20T10:00:00Z",
              "order_id": "o1", "total": 180000, "currency": "RUB",
              "lines": [{"product_id": "suit-9", "quantity": 1, "unit_price": 180000, "category_id": "suits"}]},
            {"type": "message_sent", "id": "e2", "contact_id": "ben", "at": "2024-06-01T08:00:00Z",
              "message_id": "m1", "channel": "email"}]"#,
    )?;
    let now = Timestamp::parse("2024-07-01T00:00:00Z")?;
    let facts = profile::facts_all(&profile::build(&events)?, now, None)?;

    // Segments are data: an object of name to rule, checked as a whole.
    let segments = Registry::from_json(
        r#"{
          "suit buyers this month": {"all": [
            {"field": "bought_categories.suits.last_at", "op": "within_last_days", "value": 30},
            {"field": "revenue", "op": ">=", "value": 180000}]},
          "never bought": {"field": "orders", "op": "=", "value": 0},
          "buyers": "not segment \"never bought\""
        }"#,
    )?;
    let members = segments.members(&facts)?;
    assert_eq!(members[0].segments, ["buyers", "suit buyers this month"]);
    assert_eq!(members[1].segments, ["never bought"]);

    // Why ben is not a buyer: each part with his value.
    let why = segments.explain("buyers", &facts[1])?;
    assert!(!why.result);

    // A typo is caught when the rules are read, with the nearest field.
    let err =
        Registry::from_json(r#"{"x": {"field": "revenu", "op": ">", "value": 1}}"#).unwrap_err();
    assert!(err.to_string().contains("did you mean `revenue`?"));
    // END segments
    Ok(())
}
