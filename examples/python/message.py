"""Messages in Python. Regions between START and END markers are quoted in docs/messages.md."""

# START template
import patron

template: patron.types.TemplateSpec = {
    "subject": "{{ contact.first_name }}, picks for you",
    "html": '<p>Hi {{ contact.first_name }}!</p>{% for product in blocks.picks %}{% include "card" %}{% endfor %}'
    '<a href="{{ links.unsubscribe }}">Unsubscribe</a>',
    "text": "Hi {{ contact.first_name }}! Your code: {{ coupon.code }}",
    "partials": {"card": '<a href="{{ product.url }}">{{ product.name }}</a>'},
    "fallbacks": {"first_name": "friend"},
    "tracking": {"utm_source": "newsletter"},
}
recipient = {
    "contact": {"id": "c-1", "first_name": "<b>Ann</b>"},
    "blocks": {"picks": [{"id": "p1", "name": "Linen shirt", "price": 49.9, "currency": "EUR",
                          "url": "https://shop.example/p/1"}]},
    "coupon": {"code": "SPR-RFGP-FFTZS"},
    "links": {"unsubscribe": "https://shop.example/u/c-1"},
}
letter = patron.render_message(template, recipient, "2024-07-01T00:00:00Z", {"campaign_id": "summer"})
assert letter.get("html") == (
    "<p>Hi &lt;b&gt;Ann&lt;/b&gt;!</p>"
    '<a href="https://shop.example/p/1?utm_source=newsletter&amp;utm_campaign=summer">Linen shirt</a>'
    '<a href="https://shop.example/u/c-1">Unsubscribe</a>'
)
assert patron.lint_template(template, recipient, "2024-07-01T00:00:00Z") == []
try:
    patron.render_message({"html": "<p>{% if x %}</p>"}, recipient, "2024-07-01T00:00:00Z")
except patron.TemplateError as e:
    assert (e.path, e.line, e.column) == ("template.html", 1, 18)
# END template

# START sms
m = patron.sms_measure("Привет, Ann! 20% off today")
assert (m["encoding"], m["parts"]) == ("ucs2", 1)
fitted = patron.sms_fit("Sale on every shirt and dress " * 8)
assert fitted["truncated"] and fitted["measure"]["parts"] == 1
# END sms

# START kpis
events: list[dict[str, object]] = [
    {"type": "message_sent", "id": "e1", "contact_id": "c-1", "at": "2024-07-01T09:00:00Z",
     "message_id": "m1", "campaign_id": "summer", "channel": "email"},
    {"type": "message_clicked", "id": "e2", "contact_id": "c-1", "at": "2024-07-01T10:00:00Z",
     "message_id": "m1", "channel": "email", "url": "https://shop.example/p/1"},
    {"type": "order_placed", "id": "e3", "contact_id": "c-1", "at": "2024-07-02T10:00:00Z", "order_id": "o1",
     "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 49.9}], "total": 49.9, "currency": "EUR"},
]
rows = patron.campaign_kpis(events)
assert (rows[0]["sent"], rows[0]["clicked"], rows[0]["converted"]) == (1, 1, 1)
assert rows[0]["revenue"] == 49.9
print(patron.kpi_report(rows, "csv"))
# END kpis

# START campaign
import tempfile
from pathlib import Path

consent = {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}
recipients = [
    {
        "contact": {"id": f"c-{i}", "email": f"c{i}@example.com", "consent": consent},
        "blocks": {"picks": []},
        "coupon": {"code": f"SPR-{i:04}"},
        "links": {"unsubscribe": f"https://shop.example/u/c-{i}"},
    }
    for i in range(100)
]
campaign = {"id": "summer", "channel": "email", "control_share": 0.1}
# Every outcome back as dicts, or one JSON line each to a path or a binary file object.
result = patron.render_campaign(campaign, [template], recipients, "2024-07-01T00:00:00Z")
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "letters.jsonl"
    summary = patron.write_campaign(campaign, [template], recipients, "2024-07-01T00:00:00Z", out)
    assert len(out.read_text().splitlines()) == 100
assert summary == result["summary"] and summary["failed"] == 0
# END campaign
