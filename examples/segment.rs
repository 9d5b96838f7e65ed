//! Segments in Rust. Regions between START and END markers are quoted in docs/segments.md and docs/export.md.

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

    // START windows
    // What happened in the last N days before the facts' `as_of`: orders, revenue
    // and what was bought exactly; counts of events (views, searches...) below 16.
    let windows = Registry::from_json(
        r#"{"spent 180000 on suits this month": "bought_categories.suits.spent in last 30 days >= 180000",
            "phone browsers": {"field": "viewed_categories.phones.count", "within_days": 7, "op": ">=", "value": 2}}"#,
    )?;
    assert_eq!(
        windows.members(&facts)?[0].segments,
        ["spent 180000 on suits this month"]
    );
    // Anna's order leaves the window 30 days after it: her next change.
    let leaves = Timestamp::parse("2024-07-20T10:00:01Z")?;
    assert_eq!(windows.next_change(&facts[0])?, Some(leaves));
    // A count of events within a window is exact below 16; 16 is refused.
    let err =
        Registry::from_json(r#"{"x": "searches.phone.count in last 7 days >= 16"}"#).unwrap_err();
    assert!(err.to_string().contains("exact below 16"));
    // END windows

    // START export
    use patron::segment::{Format, export_segment, read_ids};

    // A segment's members with chosen columns, streamed to any writer: a
    // file, a socket, a Vec.
    let columns = ["contact_id", "orders", "revenue", "last_order_at"];
    let csv = export_segment(
        &segments,
        "buyers",
        &facts,
        &columns,
        Format::Csv,
        Vec::new(),
    )?;
    assert_eq!(
        String::from_utf8_lossy(&csv),
        "contact_id,orders,revenue,last_order_at\r\nanna,1,180000,2024-06-20T10:00:00Z\r\n"
    );
    let path = std::env::temp_dir().join("buyers.xlsx");
    let file = std::fs::File::create(&path).map_err(|e| patron::Error::io("creating", &e))?;
    export_segment(&segments, "buyers", &facts, &columns, "xlsx".parse()?, file)?;

    // A static segment's ids back from CSV.
    assert_eq!(read_ids(csv.as_slice(), "contact_id")?, ["anna"]);
    // END export

    // START membership
    use patron::segment::{ChangeKind, Segment};

    // Freeze "buyers" now: a static segment keeps these members for good.
    let frozen = segments.freeze("buyers", &facts)?;
    let registry = Registry::new([
        (
            "buyers",
            Segment::from_value(serde_json::json!("orders >= 1"))?,
        ),
        ("june buyers", Segment::Static(frozen)),
    ])?;
    // After ben's first order, his update says he entered "buyers" (not the
    // frozen list), at the time of his facts.
    let before = registry.members(&facts)?;
    let ben = &before[1];
    let mut ben_now = facts[1].clone();
    ben_now.orders = 1;
    let update = registry.update(Some(ben), &ben_now)?;
    assert_eq!(update.membership.segments, ["buyers"]);
    assert_eq!(
        (update.changes[0].segment.as_str(), update.changes[0].change),
        ("buyers", ChangeKind::Entered)
    );
    // Given the event the facts now hold, an update reads again only the
    // segments such an event can change (a view cannot change "buyers"); the
    // rest come from the membership, while its fingerprint says the segments
    // are the same.
    let view: Event = parse::from_json(
        r#"{"type": "product_viewed", "id": "e3", "contact_id": "ben", "at": "2024-07-01T00:00:00Z",
            "product_id": "p1"}"#,
    )?;
    let again = registry.update_after(Some(&update.membership), &ben_now, &view)?;
    assert_eq!(
        (&again.membership, again.changes.len()),
        (&update.membership, 0)
    );
    // Sizes and overlaps of every segment over the base.
    let overlap = registry.overlap(&[before[0].clone(), update.membership])?;
    assert_eq!(overlap.counts, [2, 1]);
    // END membership

    // START record
    // With the contacts' records and RFM, rules read consent, typed
    // attributes, tags and scores; a contact without events (vera) gets facts.
    let contacts: Vec<patron::Contact> = parse::list_from_json(
        r#"[{"id": "anna", "attributes": {"size": "M", "points": 120},
              "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-05-02T10:00:00Z"}}}},
            {"id": "vera", "consent": {"email": {"marketing": {"status": "pending", "requested_at": "2024-06-30T10:00:00Z"}}}}]"#,
    )?;
    let mut known = profile::with_contacts(&profile::build(&events)?, &contacts, now, None)?;
    profile::with_rfm(&mut known, &patron::rfm::RfmConfig::default())?;
    let rules = Registry::from_json(
        r#"{"mailable size M": "contact.consent.email.marketing.status = \"confirmed\" and contact.attributes.size = \"M\"",
            "awaiting double opt-in, never bought": "contact.consent.email.marketing.status = \"pending\" and orders = 0",
            "has an RFM score": "rfm.cell is set"}"#,
    )?;
    let found: Vec<Vec<String>> = rules
        .members(&known)?
        .into_iter()
        .map(|m| m.segments)
        .collect();
    assert_eq!(
        found,
        [
            vec!["has an RFM score", "mailable size M"],
            vec![],
            vec!["awaiting double opt-in, never bought"]
        ]
    );
    // END record

    // START table
    // A whole base as a table of columns named by field (from a warehouse,
    // a data frame, or facts): every segment at once, a column at a time.
    use patron::segment::{Column, Table};
    let table = Table::new(now, 3)
        .with_column("orders", Column::numbers([Some(4.0), Some(0.0), None]))?
        .with_column(
            "contact.city",
            Column::texts([Some("Berlin"), Some("Paris"), None]),
        )?;
    let rules = Registry::from_json(
        r#"{"buyers": "orders >= 1", "outside Berlin": "contact.city != \"Berlin\""}"#,
    )?;
    let all = rules.evaluate_table(&table)?;
    assert_eq!(all.rows("buyers")?, [0]);
    // An empty cell is a missing value: `!=` holds for it.
    assert_eq!(all.rows("outside Berlin")?, [1, 2]);
    // The same from facts: the columns the rules read, taken from each contact.
    let from_facts = Table::from_facts(&facts, &segments.fields())?;
    assert_eq!(
        segments.evaluate_table(&from_facts)?,
        segments.evaluate(&facts)?
    );
    // END table

    // START predicted
    // With the lifecycle grid and a fitted BG/NBD model (here the published
    // CDNOW parameters, in weeks), rules read each buyer's cell and predictions.
    let mut scored = profile::facts_all(&profile::build(&events)?, now, None)?;
    profile::with_lifecycle(&mut scored, &patron::lifecycle::LifecycleConfig::default())?;
    let bgnbd = patron::predict::BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    let predict = profile::PredictConfig {
        bgnbd,
        period_days: 7.0,
        horizon_days: 90.0,
    };
    profile::with_predictions(&mut scored, &predict)?;
    let rules = Registry::from_json(
        r#"{"new buyers": "lifecycle.region = \"new\"",
            "slipping away": "predicted.probability_alive < 0.4"}"#,
    )?;
    let found: Vec<Vec<String>> = rules
        .members(&scored)?
        .into_iter()
        .map(|m| m.segments)
        .collect();
    assert_eq!(found, [vec!["new buyers"], vec![]]);
    // One purchase day: nothing to lose yet. Ben has no orders, so no predictions.
    assert_eq!(scored[0].predicted.map(|p| p.probability_alive), Some(1.0));
    assert!(scored[1].predicted.is_none());
    // END predicted
    Ok(())
}
