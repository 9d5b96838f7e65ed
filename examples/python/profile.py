"""Profiles in Python. Regions between START and END markers are quoted in docs/profile.md."""

# START profile
from typing import Any

import patron

events: list[dict[str, Any]] = [
    {"type": "product_viewed", "id": "e1", "contact_id": "anna", "at": "2024-06-01T09:00:00Z", "product_id": "boot"},
    {"type": "order_placed", "id": "e2", "contact_id": "anna", "at": "2024-06-01T09:30:00Z", "order_id": "o1",
     "lines": [{"product_id": "boot", "quantity": 1, "unit_price": 120}], "total": 120, "currency": "EUR"},
    {"type": "cart_updated", "id": "e3", "contact_id": "anna", "at": "2024-06-20T18:00:00Z",
     "lines": [{"product_id": "scarf", "quantity": 1, "unit_price": 40}], "currency": "EUR"},
]
catalog = {
    "categories": [{"id": "shoes", "name": "Shoes"}, {"id": "boots", "name": "Boots", "parent_id": "shoes"}],
    "products": [{"id": "boot", "name": "Chelsea boot", "price": 120, "currency": "EUR",
                  "category_path": ["shoes", "boots"], "brand": "Acme"}],
}

# Batch: a whole event log in, one profile per contact out.
profiles = patron.build_profiles(events)

# Real time: fold each event as it arrives, in any order; store the profile (a dict) as JSON.
anna: patron.types.Profile | None = None
for event in reversed(events):
    anna = patron.apply_event(anna, event)["profile"]
assert anna is not None and not patron.apply_event(anna, events[0])["applied"]
assert anna == profiles[0]

facts = patron.profile_facts([anna], "2024-06-21T09:00:00Z", catalog)[0]
assert (facts["orders"], facts["revenue"]) == (1, 120.0)
assert facts.get("bought_categories", {})["shoes"]["orders"] == 1
cart = facts.get("cart")
assert cart is not None and (cart["value"], cart["age_seconds"]) == (40.0, 15 * 3600)

# The same facts feed RFM and the lifecycle grid.
summaries = patron.customer_summaries(profiles, "2024-06-21T09:00:00Z")
assert summaries[0]["orders"] == 1
# END profile
