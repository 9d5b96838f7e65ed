"""The store in Python. Regions between START and END markers are quoted in docs/store.md."""

import sys
import tempfile
from typing import Any
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings-python" / "tests"))
from smtp_sink import SmtpServer  # type: ignore[import-not-found,unused-ignore]  # noqa: E402

folder = tempfile.mkdtemp()

# START open
import patron

# The config lives in the file: every process that opens it runs the same rules.
store = patron.Store(f"{folder}/shop.db", {
    "triggers": {"rules": [{
        "id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
        "steps": [{"name": "1h", "delay": "1h", "template": "cart", "coupon_pool": "back"}],
        "exit": [{"on": "event", "event": "order_placed", "same_products": True}]}]},
    "templates": {"cart": {"subject": "{{ contact.first_name }}, your cart is waiting",
                           "text": "Take 10% with {{ coupon.code }}. Unsubscribe: {{ links.unsubscribe }}"}},
    "coupon_pools": [{"id": "back", "generator": {"pattern": "BACK-####-####", "key": 42}, "valid_days": 7}],
    "sender": {"from": "Shop <news@shop.example>",
               "unsubscribe_url": "https://shop.example/unsubscribe", "link_key": "change me"},
})
# END open

with SmtpServer() as smtp:
    smtp_address = smtp.address
    # START flow
    store.upsert_contacts([{
        "id": "anna", "first_name": "Anna", "email": "anna@example.com",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
    }], "2024-05-01T10:00:00Z")

    # A batch of events (dicts, an Arrow table, or JSON lines), one transaction.
    cart: dict[str, Any] = {"type": "cart_updated", "id": "e1", "contact_id": "anna", "at": "2024-05-01T10:00:00Z",
            "currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}
    assert store.ingest([cart], "2024-05-01T10:00:00Z")["stored"] == 1
    assert store.ingest([cart], "2024-05-01T10:00:00Z")["duplicates"] == ["e1"]

    # The worker wakes Anna when her reminder is due; the sender hands the
    # letter to SMTP (or use claim_letters / letter_sent for your own provider).
    wakeup = store.next_wakeup("2024-05-01T10:00:00Z")
    assert wakeup is not None and wakeup.isoformat() == "2024-05-01T11:00:00+00:00"
    assert store.run_due(wakeup)["queued"] == 1
    assert store.send(wakeup, smtp=smtp_address)["sent"] == 1
    assert store.stats()["outbox"] == {"sent": 1}
    # END flow
    sent_letter = smtp.sink.letters[0]
    assert sent_letter["Subject"] == "Anna, your cart is waiting"
    print("store:", sent_letter["Message-ID"], sent_letter["List-Unsubscribe"])

# A second contact, whose letter goes through the host's own provider.
store.upsert_contacts([{
    "id": "ben", "first_name": "Ben", "email": "ben@example.com",
    "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
}], "2024-05-01T11:00:00Z")
bens_cart: dict[str, Any] = {**cart, "id": "e2", "contact_id": "ben", "at": "2024-05-01T11:00:00Z"}
store.ingest([bens_cart], "2024-05-01T11:00:00Z")
now = "2024-05-01T12:00:00Z"
store.run_due(now)
delivered: list[str] = []
# START own_provider
def deliver(letter: patron.types.Letter) -> None:
    """Your email API, SMS gateway or push service."""
    delivered.append(letter["message_id"])

for letter in store.claim_letters(now, ["email"], limit=100):
    try:
        deliver(letter)
        store.letter_sent(letter["message_id"], now)
    except OSError as e:  # the provider's temporary failure: tried again later
        store.letter_failed(letter["message_id"], str(e), now, retry=True)
# END own_provider
assert len(delivered) == 1 and store.stats()["outbox"] == {"sent": 2}
