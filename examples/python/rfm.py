"""RFM in Python. Regions between START and END markers are quoted in docs/rfm.md."""

# START rfm
import patron

customers = [
    {"contact_id": "a", "last_order_at": "2024-06-25T10:00:00Z", "orders": 9, "revenue": 900},
    {"contact_id": "b", "last_order_at": "2024-05-02T10:00:00Z", "orders": 5, "revenue": 410},
    {"contact_id": "c", "last_order_at": "2024-01-20T10:00:00Z", "orders": 3, "revenue": 260},
    {"contact_id": "d", "last_order_at": "2023-08-14T10:00:00Z", "orders": 2, "revenue": 95},
    {"contact_id": "e", "last_order_at": "2022-11-30T10:00:00Z", "orders": 1, "revenue": 40},
    {"contact_id": "f", "orders": 0, "revenue": 0},
]
scores = patron.rfm_scores(customers, "2024-07-01T00:00:00Z")
assert scores[0]["cell"] == "555" and scores[0].get("segment") == "champions"

# One-time buyers at F = 1, whatever their share: fixed cut points.
config: patron.types.RfmConfig = {
    "thresholds": {"recency_days": [30, 90, 180, 365], "frequency": [2, 3, 5, 10], "monetary": [50, 100, 250, 500]},
}
assert patron.rfm_scores(customers, "2024-07-01T00:00:00Z", config)[4]["f"] == 1

groups = patron.rfm_four_groups(customers, "2024-07-01T00:00:00Z")
assert [g["group"] for g in groups] == ["best", "best", "best", "others", "others", "subscribers"]
# END rfm

# START lifecycle
places = patron.lifecycle_place(customers, "2024-07-01T00:00:00Z")
assert (places[0]["purchases"], places[0]["days"], places[0]["region"]) == ("5+", "0-30", "best")

# Thirty days on, with no new orders: who moved to another cell?
moves = patron.lifecycle_moves(customers, "2024-07-01T00:00:00Z", customers, "2024-07-31T00:00:00Z")
first = moves[0]["to"]
assert moves[0]["contact_id"] == "a" and first is not None and first["days"] == "31-60"
# END lifecycle
