//! RFM and the lifecycle grid in Rust. Regions between START and END markers are quoted in docs/rfm.md.

fn main() -> Result<(), patron::Error> {
    // START rfm
    use patron::model::Timestamp;
    use patron::parse;
    use patron::rfm::{self, CustomerSummary, FourGroup, FourGroupConfig, RfmConfig};

    let customers: Vec<CustomerSummary> = parse::list_from_json(
        r#"[{"contact_id": "a", "last_order_at": "2024-06-25T10:00:00Z", "orders": 9, "revenue": 900},
            {"contact_id": "b", "last_order_at": "2024-05-02T10:00:00Z", "orders": 5, "revenue": 410},
            {"contact_id": "c", "last_order_at": "2024-01-20T10:00:00Z", "orders": 3, "revenue": 260},
            {"contact_id": "d", "last_order_at": "2023-08-14T10:00:00Z", "orders": 2, "revenue": 95},
            {"contact_id": "e", "last_order_at": "2022-11-30T10:00:00Z", "orders": 1, "revenue": 40},
            {"contact_id": "f", "orders": 0, "revenue": 0}]"#,
    )?;
    let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;

    let scores = rfm::score(&customers, as_of, &RfmConfig::default())?;
    assert_eq!(scores[0].cell, "555");
    assert_eq!(scores[0].segment.as_deref(), Some("champions"));

    let groups = rfm::four_groups(&customers, as_of, &FourGroupConfig::default())?;
    assert_eq!(groups[0], FourGroup::Best);
    assert_eq!(groups[5], FourGroup::Subscribers);
    // END rfm

    // START lifecycle
    use patron::lifecycle::{self, LifecycleConfig};

    let grid = LifecycleConfig::default();
    let places = lifecycle::place(&customers, as_of, &grid)?;
    assert_eq!(
        (places[0].purchases.as_str(), places[0].days.as_str()),
        ("5+", "0-30")
    );
    assert_eq!(places[0].region, "best");

    // Thirty days on, with no new orders: who moved to another cell?
    let later = Timestamp::parse("2024-07-31T00:00:00Z")?;
    let moves = lifecycle::moves(&customers, as_of, &customers, later, &grid)?;
    assert_eq!(moves[0].contact_id.as_str(), "a");
    assert_eq!(moves[0].to.as_ref().map(|c| c.days.as_str()), Some("31-60"));
    // END lifecycle
    Ok(())
}
