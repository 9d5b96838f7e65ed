//! Messages in Rust. Regions between START and END markers are quoted in docs/messages.md.

fn main() -> Result<(), patron::Error> {
    // START template
    use patron::message::{MessageInfo, Recipient, Template, TemplateSpec};
    use patron::model::Timestamp;

    let spec: TemplateSpec = serde_json::from_str(
        r#"{
        "subject": "{{ contact.first_name }}, picks for you",
        "html": "<p>Hi {{ contact.first_name }}!</p>{% for product in blocks.picks %}{% include \"card\" %}{% endfor %}<a href=\"{{ links.unsubscribe }}\">Unsubscribe</a>",
        "text": "Hi {{ contact.first_name }}! Your code: {{ coupon.code }}",
        "partials": {"card": "<a href=\"{{ product.url }}\">{{ product.name }}</a>"},
        "fallbacks": {"first_name": "friend"},
        "tracking": {"utm_source": "newsletter"}
    }"#,
    )
    .expect("a template spec");
    let template = Template::new(spec)?; // syntax errors: code "template", with part, line and column
    let recipient: Recipient = serde_json::from_str(
        r#"{
        "contact": {"id": "c-1", "first_name": "<b>Ann</b>"},
        "blocks": {"picks": [{"id": "p1", "name": "Linen shirt", "price": 49.9, "currency": "EUR",
                              "url": "https://shop.example/p/1"}]},
        "coupon": {"code": "SPR-RFGP-FFTZS"},
        "links": {"unsubscribe": "https://shop.example/u/c-1"}
    }"#,
    )
    .expect("a recipient");
    let now = Timestamp::parse("2024-07-01T00:00:00Z")?;
    let info = MessageInfo {
        campaign_id: Some("summer".parse()?),
        ..MessageInfo::default()
    };
    let letter = template.render(&recipient, now, &info)?;
    assert_eq!(
        letter.html.as_deref(),
        Some(
            "<p>Hi &lt;b&gt;Ann&lt;/b&gt;!</p>\
             <a href=\"https://shop.example/p/1?utm_source=newsletter&amp;utm_campaign=summer\">Linen shirt</a>\
             <a href=\"https://shop.example/u/c-1\">Unsubscribe</a>"
        )
    );
    assert!(template.lint(&recipient, now).is_empty());
    // END template

    // START sms
    use patron::message::sms::{self, Encoding, Fit};

    let m = sms::measure("Привет, Ann! 20% off today");
    assert_eq!((m.encoding, m.parts), (Encoding::Ucs2, 1));
    let fitted = sms::fit(&"Sale on every shirt and dress ".repeat(8), &Fit::default())?;
    assert!(fitted.truncated && fitted.measure.parts == 1);
    // END sms

    // START kpis
    use patron::metrics::{self, KpiConfig};
    use patron::{Event, parse};

    let events: Vec<Event> = parse::list_from_json(
        r#"[
      {"type": "message_sent", "id": "e1", "contact_id": "c-1", "at": "2024-07-01T09:00:00Z",
       "message_id": "m1", "campaign_id": "summer", "channel": "email"},
      {"type": "message_clicked", "id": "e2", "contact_id": "c-1", "at": "2024-07-01T10:00:00Z",
       "message_id": "m1", "channel": "email", "url": "https://shop.example/p/1"},
      {"type": "order_placed", "id": "e3", "contact_id": "c-1", "at": "2024-07-02T10:00:00Z", "order_id": "o1",
       "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 49.9}], "total": 49.9, "currency": "EUR"}
    ]"#,
    )?;
    let rows = metrics::kpis(&events, &KpiConfig::default())?;
    assert_eq!(
        (rows[0].sent, rows[0].clicked, rows[0].converted),
        (1, 1, 1)
    );
    assert_eq!(rows[0].revenue, 49.9);
    // END kpis

    // START campaign
    use patron::message::campaign::{self, Campaign};

    // The audience: each recipient as for one letter, with an address and consent.
    let recipients: Vec<Recipient> = (0..100)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "contact": {"id": format!("c-{i}"), "email": format!("c{i}@example.com"),
                            "consent": {"email": {"marketing": {"status": "confirmed",
                                                                "confirmed_at": "2024-01-01T00:00:00Z"}}}},
                "blocks": {"picks": []},
                "coupon": {"code": format!("SPR-{i:04}")},
                "links": {"unsubscribe": format!("https://shop.example/u/c-{i}")}
            }))
            .expect("a recipient")
        })
        .collect();
    let campaign: Campaign =
        serde_json::from_str(r#"{"id": "summer", "channel": "email", "control_share": 0.1}"#)
            .expect("a campaign");
    // One JSON line per recipient (rendered, control, skipped or failed), to any writer.
    let mut lines = Vec::new();
    let summary = campaign::write(
        &campaign,
        std::slice::from_ref(&template),
        &recipients,
        now,
        &mut lines,
    )?;
    assert_eq!(
        (summary.rendered + summary.control, summary.failed),
        (100, 0)
    );
    assert_eq!(lines.iter().filter(|b| **b == b'\n').count(), 100);
    // END campaign
    Ok(())
}
