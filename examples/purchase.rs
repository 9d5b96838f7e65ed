//! Purchases in Rust. Regions between START and END markers are quoted in docs/purchases.md.

fn main() -> Result<(), patron::Error> {
    // START purchases
    use patron::model::Timestamp;
    use patron::purchase::{self, Keys, PurchaseColumns};
    use patron::rfm::{self, RfmConfig};

    // An order table as columns (the layout of an Arrow table): order 10 has two lines.
    let contacts = Keys::Int(&[7, 7, 8, 7]);
    let orders = Keys::Int(&[10, 10, 11, 12]);
    let at = [
        Timestamp::parse("2024-06-01T10:00:00Z")?,
        Timestamp::parse("2024-06-01T10:00:00Z")?,
        Timestamp::parse("2024-05-20T08:30:00Z")?,
        Timestamp::parse("2024-06-20T19:00:00Z")?,
    ]
    .map(|t| t.get().timestamp_micros());
    let columns = PurchaseColumns {
        contact_ids: contacts,
        order_ids: Some(orders),
        at_micros: &at,
        amounts: &[30.0, 20.0, 99.0, 15.0],
    };
    let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;
    let customers = purchase::summarize_columns(&columns, as_of)?;
    assert_eq!(customers[0].contact_id.as_str(), "7");
    assert_eq!((customers[0].orders, customers[0].revenue.get()), (2, 65.0));

    let scores = rfm::score(&customers, as_of, &RfmConfig::default())?;
    assert_eq!(scores[0].cell, "442");

    // Or straight to columns of scores, without a summary per customer:
    // each customer is known by its first row.
    let rfm = purchase::rfm_columns(&columns, as_of, &RfmConfig::default())?;
    assert_eq!(rfm.first_rows, [0, 2]);
    assert_eq!(rfm.labels.cell(rfm.r[0], rfm.f[0], rfm.m[0]), "442");
    // END purchases
    Ok(())
}
