"""The Python quickstart. Regions between START and END markers are quoted in
README.md and docs/; `make docs-check` keeps the quotes exact."""

# START parse_event
from datetime import datetime, timezone

import patron

event = patron.parse_event({
    "type": "cart_updated", "id": "e-1", "contact_id": "c-1",
    "at": datetime(2024, 5, 1, 8, tzinfo=timezone.utc),  # or "2024-05-01T10:00:00+02:00"
    "currency": "EUR", "lines": [{"product_id": "p-1", "quantity": 2, "unit_price": 19.9}],
})
assert event["type"] == "cart_updated"
assert event["at"] == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
# END parse_event

# START errors
try:
    patron.parse_event({
        "type": "cart_updated", "id": "e-2", "contact_id": "c-1", "at": "2024-05-01T10:00:00Z",
        "currency": "EUR", "lines": [{"product_id": "p-1", "quantity": 0, "unit_price": 19.9}],
    })
except patron.ValidationError as err:  # also a ValueError; every error is a patron.PatronError
    assert err.code == "validation"
    assert err.path == "lines[0].quantity"
    print(err)  # lines[0].quantity: expected a positive quantity, got 0
# END errors

# START consent
contact = patron.parse_contact({"id": "c-1", "email": "anna@example.com"})
for action, at in [("request", "2024-05-01T10:00:00Z"), ("confirm", "2024-05-01T10:07:00Z")]:
    contact = patron.apply_consent(contact, {"channel": "email", "purpose": "marketing", "action": action, "at": at})
assert contact["consent"]["email"]["marketing"]["status"] == "confirmed"
# END consent
