"""Segments in Python. Regions between START and END markers are quoted in docs/segments.md and docs/export.md."""

# START segments
from datetime import datetime, timezone
from typing import Any

import patron

events: list[dict[str, Any]] = [
    {"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-20T10:00:00Z", "order_id": "o1",
     "total": 180000, "currency": "RUB",
     "lines": [{"product_id": "suit-9", "quantity": 1, "unit_price": 180000, "category_id": "suits"}]},
    {"type": "message_sent", "id": "e2", "contact_id": "ben", "at": "2024-06-01T08:00:00Z",
     "message_id": "m1", "channel": "email"},
]
facts = patron.profile_facts(patron.build_profiles(events), "2024-07-01T00:00:00Z")

segments: dict[str, Any] = {
    "suit buyers this month": {"all": [
        {"field": "bought_categories.suits.last_at", "op": "within_last_days", "value": 30},
        {"field": "revenue", "op": ">=", "value": 180000}]},
    "never bought": {"field": "orders", "op": "=", "value": 0},
    # Rules may also be written as text.
    "buyers": 'not segment "never bought"',
}
members = patron.segment_members(segments, facts)
assert members[0]["segments"] == ["buyers", "suit buyers this month"]
assert members[1]["segments"] == ["never bought"]

why = patron.explain_segment(segments, "buyers", facts[1])
assert not why["result"]

try:
    patron.check_segments({"x": {"field": "revenu", "op": ">", "value": 1}})
except patron.ValidationError as err:
    assert err.path == "segments.x.field" and "did you mean `revenue`?" in str(err)
# END segments

# START windows
# What happened in the last N days before the facts' as_of: orders, revenue
# and what was bought exactly; counts of events (views, searches...) below 16.
windows: dict[str, Any] = {
    "spent 180000 on suits this month": "bought_categories.suits.spent in last 30 days >= 180000",
    "phone browsers": {"field": "viewed_categories.phones.count", "within_days": 7, "op": ">=", "value": 2},
}
assert patron.segment_members(windows, facts)[0]["segments"] == ["spent 180000 on suits this month"]
# Anna's order leaves the window 30 days after it: her next change.
update = patron.update_segments(windows, None, facts[0])
assert update["next_change"] == datetime(2024, 7, 20, 10, 0, 1, tzinfo=timezone.utc)
# A count of events within a window is exact below 16; 16 is refused.
try:
    patron.check_segments({"x": "searches.phone.count in last 7 days >= 16"})
except patron.ValidationError as err:
    assert "exact below 16" in str(err)
# END windows

# START export
import io
import tempfile
from pathlib import Path

# A segment's members with chosen columns, to a path or a binary file object.
columns = ["contact_id", "orders", "revenue", "last_order_at"]
out = io.BytesIO()
patron.export_segment(segments, "buyers", facts, columns, "csv", out)
assert out.getvalue() == b"contact_id,orders,revenue,last_order_at\r\nanna,1,180000,2024-06-20T10:00:00Z\r\n"
with tempfile.TemporaryDirectory() as tmp:
    patron.export_segment(segments, "buyers", facts, columns, "xlsx", Path(tmp) / "buyers.xlsx")

# A static segment's ids back from CSV: a path, bytes or a binary file object.
assert patron.read_segment_ids(out.getvalue(), "contact_id") == ["anna"]
# END export

# START membership
# Freeze "buyers" now: a static segment keeps these members for good.
frozen = patron.freeze_segment(segments, "buyers", facts)
registry: dict[str, Any] = {"buyers": "orders >= 1", "june buyers": frozen}
before = patron.segment_members(registry, facts)

# After ben's first order, his update says he entered "buyers" (not the
# frozen list), at the time of his facts. Keep `membership` for next time.
ben_now = {**facts[1], "orders": 1}
update = patron.update_segments(registry, before[1], ben_now)
assert update["membership"]["segments"] == ["buyers"]
assert [(c["segment"], c["change"]) for c in update["changes"]] == [("buyers", "entered")]

# Given the event the facts now hold, an update reads again only the segments
# such an event can change (a view cannot change "buyers"); the rest come from
# the membership, while its fingerprint says the segments are the same.
view = {"type": "product_viewed", "id": "e3", "contact_id": "ben", "at": "2024-07-01T00:00:00Z",
        "product_id": "p1"}
again = patron.update_segments(registry, update["membership"], ben_now, event=view)
assert again["membership"] == update["membership"] and again["changes"] == []

# Sizes and overlaps of every segment over the base.
overlap = patron.segment_overlap(registry, [before[0], update["membership"]])
assert overlap["counts"] == [2, 1]
# END membership

# START record
# With the contacts' records and RFM, rules read consent, typed attributes,
# tags and scores; a contact without events (vera) gets facts too.
contacts: list[dict[str, Any]] = [
    {"id": "anna", "attributes": {"size": "M", "points": 120},
     "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-05-02T10:00:00Z"}}}},
    {"id": "vera", "consent": {"email": {"marketing": {"status": "pending", "requested_at": "2024-06-30T10:00:00Z"}}}},
]
known = patron.profile_facts(patron.build_profiles(events), "2024-07-01T00:00:00Z", None, contacts, {})
rules: dict[str, Any] = {
    "mailable size M": 'contact.consent.email.marketing.status = "confirmed" and contact.attributes.size = "M"',
    "awaiting double opt-in, never bought": 'contact.consent.email.marketing.status = "pending" and orders = 0',
    "has an RFM score": "rfm.cell is set",
}
assert [m["segments"] for m in patron.segment_members(rules, known)] == [
    ["has an RFM score", "mailable size M"], [], ["awaiting double opt-in, never bought"]]
# END record

# START table
# A whole base as a table of columns named by field (a pyarrow table, a
# polars or pandas DataFrame, or a dict of lists): every segment at once.
# The result is an Arrow table: one boolean column per segment.
import pyarrow as pa  # type: ignore[import-untyped]

table = pa.table({"orders": [4, 0, None], "contact.city": ["Berlin", "Paris", None]})
rules = {"buyers": "orders >= 1", "outside Berlin": 'contact.city != "Berlin"'}
inside = pa.table(patron.evaluate_segments(rules, table, "2024-07-01T00:00:00Z"))
# An empty cell is a missing value: `!=` holds for it.
assert inside.to_pydict() == {"buyers": [True, False, False], "outside Berlin": [False, True, True]}
# END table

# START predicted
# With the lifecycle grid and a fitted BG/NBD model (here the published
# CDNOW parameters, in weeks), rules read each buyer's cell and predictions.
bgnbd = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
scored = patron.profile_facts(
    patron.build_profiles(events), "2024-07-01T00:00:00Z", lifecycle={}, predict={"bgnbd": bgnbd, "horizon_days": 90}
)
grid_rules = {"new buyers": 'lifecycle.region = "new"', "slipping away": "predicted.probability_alive < 0.4"}
assert [m["segments"] for m in patron.segment_members(grid_rules, scored)] == [["new buyers"], []]
# One purchase day: nothing to lose yet. Ben has no orders, so no predictions.
assert scored[0]["predicted"]["probability_alive"] == 1.0
assert "predicted" not in scored[1]
# END predicted
