//! The Rust quickstart. The regions between START and END markers are quoted
//! in README.md and docs/; `make docs-check` keeps the quotes exact.

fn main() -> Result<(), patron::Error> {
    // START parse_event
    use patron::{Event, parse};

    let event: Event = parse::from_json(
        r#"{"type": "cart_updated", "id": "e-1", "contact_id": "c-1", "at": "2024-05-01T10:00:00+02:00",
            "currency": "EUR", "lines": [{"product_id": "p-1", "quantity": 2, "unit_price": 19.9}]}"#,
    )?;
    assert_eq!(event.type_name(), "cart_updated");
    assert_eq!(event.at.to_string(), "2024-05-01T08:00:00Z");
    // END parse_event

    // START errors
    let bad = r#"{"type": "cart_updated", "id": "e-2", "contact_id": "c-1", "at": "2024-05-01T10:00:00Z",
                  "currency": "EUR", "lines": [{"product_id": "p-1", "quantity": 0, "unit_price": 19.9}]}"#;
    let err = parse::from_json::<Event>(bad).unwrap_err();
    assert_eq!(err.code(), "validation");
    assert_eq!(err.path(), Some("lines[0].quantity"));
    println!("{err}"); // lines[0].quantity: expected a positive quantity, got 0
    // END errors

    // START consent
    use patron::model::{Channel, Purpose};
    use patron::{ConsentChange, Contact};

    let mut contact: Contact = parse::from_json(r#"{"id": "c-1", "email": "anna@example.com"}"#)?;
    for (action, at) in [
        ("request", "2024-05-01T10:00:00Z"),
        ("confirm", "2024-05-01T10:07:00Z"),
    ] {
        let change: ConsentChange = parse::from_json(&format!(
            r#"{{"channel": "email", "purpose": "marketing", "action": "{action}", "at": "{at}"}}"#
        ))?;
        contact.apply_consent(&change)?;
    }
    assert!(
        contact
            .consent
            .allows(&Channel::new("email")?, Purpose::Marketing)
    );
    // END consent
    Ok(())
}
