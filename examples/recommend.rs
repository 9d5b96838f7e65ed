//! Recommendation blocks in Rust. Regions between START and END markers are quoted in docs/recommend.md.

fn main() -> Result<(), patron::Error> {
    // START recommend
    use patron::recommend::{Basket, ContactHistory, ItemModel, Message, ModelConfig, Recommender};
    use patron::{Catalog, model::Timestamp, parse};

    let catalog: Catalog = parse::from_json(
        r#"{"products": [
            {"id": "sencha", "name": "Sencha green tea", "price": 8, "currency": "EUR"},
            {"id": "matcha", "name": "Matcha green tea", "price": 20, "currency": "EUR"},
            {"id": "cup", "name": "Tea cup", "price": 9, "currency": "EUR"},
            {"id": "pot", "name": "Tea pot", "price": 35, "currency": "EUR", "stock": 0}]}"#,
    )?;
    // Orders (and views, with "kind": "view") of the whole shop: the model learns from them.
    let baskets: Vec<Basket> = parse::list_from_json(
        r#"[{"contact_id": "a", "at": "2024-05-01T10:00:00Z", "product_ids": ["sencha", "cup"]},
            {"contact_id": "b", "at": "2024-05-03T10:00:00Z", "product_ids": ["sencha", "cup", "pot"]},
            {"contact_id": "b", "at": "2024-05-20T10:00:00Z", "product_ids": ["matcha"]}]"#,
    )?;
    let now = Timestamp::parse("2024-06-01T00:00:00Z")?;
    let model = ItemModel::build(&baskets, now, &ModelConfig::default())?;
    let stored = parse::to_json(&model); // keep it; parse::from_json::<ItemModel> loads it
    let model: ItemModel = parse::from_json(&stored)?;

    // Index the catalog and the model once, then fill blocks for any number of contacts.
    let recommender = Recommender::new(&catalog, Some(&model));
    let message: Message = parse::from_json(
        r#"{"blocks": [{"kind": "buy_again", "size": 1},
                       {"kind": "also_bought", "size": 3}]}"#,
    )?;
    let history: ContactHistory = parse::from_json(
        r#"{"bought": [{"product_id": "sencha", "orders": 3,
                        "first_at": "2024-03-01T10:00:00Z", "last_at": "2024-05-01T10:00:00Z"}]}"#,
    )?;
    let blocks = recommender.blocks(&message, &history, now)?;
    let slots: Vec<Vec<(&str, &str)>> = blocks
        .iter()
        .map(|b| {
            b.slots
                .iter()
                .map(|s| (s.product_id.as_str(), s.source.as_str()))
                .collect()
        })
        .collect();
    // The pot is out of stock; the tea was bought, so only "buy again" shows it.
    assert_eq!(slots[0], [("sencha", "buy_again")]);
    assert_eq!(
        slots[1],
        [("cup", "also_bought"), ("matcha", "also_bought")]
    );
    // END recommend
    Ok(())
}
