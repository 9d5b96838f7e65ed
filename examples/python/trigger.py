"""Triggers in Python. Regions between START and END markers are quoted in docs/triggers.md."""

# START engine
from typing import Any

import patron

# Build the engine once: rules, the segments they name, the policy.
engine = patron.TriggerEngine({
    "rules": [{
        "id": "abandoned_cart",
        "trigger": {"on": "product", "action": "carted"},
        "reentry": {"type": "always"}, "on_repeat": "restart",
        "steps": [{"name": "1h", "delay": "1h", "template": "cart_1"},
                  {"name": "1d", "delay": "23h", "template": "cart_2"}],
        "exit": [{"on": "event", "event": "order_placed", "same_products": True}],
    }],
    "policy": {"quiet_hours": {"from": "21:00", "to": "09:00"}, "caps": [{"max": 2, "per": "7d"}]},
})
anna: dict[str, Any] = {
    "id": "anna", "email": "anna@example.com", "time_zone": "Europe/Berlin",
    "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
}
cart: dict[str, Any] = {
    "type": "cart_updated", "id": "e1", "contact_id": "anna", "at": "2024-05-01T10:00:00Z",
    "currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}],
}

# Per event: fold it into the profile, build the facts with the contact's
# record, hand the stored state in (None for a new contact), store the new one.
profile = patron.apply_event(None, cart)["profile"]
facts = patron.profile_facts([profile], cart["at"], contacts=[anna])[0]
out = engine.handle(None, facts, cart, cart["at"])
wakeup = out["next_wakeup"]
assert wakeup is not None and wakeup.isoformat() == "2024-05-01T11:00:00+00:00"

# At the wake-up: the first reminder is due. Send it; its id is the outbox key.
facts = patron.profile_facts([profile], wakeup, contacts=[anna])[0]
out = engine.due(out["state"], facts, wakeup)
action = out["actions"][0]
assert (action["id"], action["type"], action.get("template")) == ("abandoned_cart/e1/1h", "send", "cart_1")
# END engine

# START simulate
engine = patron.TriggerEngine(patron.trigger_presets())
order: dict[str, Any] = {
    "type": "order_placed", "id": "e2", "contact_id": "anna", "at": "2024-05-01T12:00:00Z",
    "order_id": "o1", "currency": "EUR", "total": 30,
    "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}],
}
timeline = engine.simulate([anna], [cart, order], "2024-06-01T00:00:00Z")
assert [a["id"] for a in timeline[:4]] == [
    "abandoned_cart/e1/1h",
    "abandoned_cart/e1/exit",
    "order_confirmation/e2/receipt",
    "post_purchase/e2/rating",
]
# END simulate
for a in timeline:
    print(a["at"].isoformat(), a["id"])
