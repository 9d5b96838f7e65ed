"""Issue 19's attacks, rerun through Python: each ends at once with a clear,
typed error or a correct result (docs/limits.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import patron

FACTS: dict[str, Any] = {
    "contact_id": "c1", "as_of": "2024-07-01T00:00:00Z", "orders": 4, "cancelled_orders": 0, "returned_orders": 0,
    "purchase_days": 4, "revenue": 200.0, "last_order_at": "2024-06-20T00:00:00Z", "currency": "EUR",
    "at_risk": False,
}
RECIPIENT: dict[str, Any] = {"contact": {"id": "c1"}}
NOW = "2024-07-01T00:00:00Z"


def quickly(call: Any) -> Any:
    """Runs `call`; a hang (what these inputs caused before) fails the test."""
    started = time.monotonic()
    result = call()
    assert time.monotonic() - started < 5, "took seconds: a hang"
    return result


def test_segments_referring_to_each_other_many_times_are_checked_once_each() -> None:
    # Each segment refers to the next twice: 2^30 paths, 31 segments.
    segments: dict[str, Any] = {f"s{i}": f'segment "s{i + 1}" or segment "s{i + 1}"' for i in range(30)}
    segments["s30"] = "orders >= 1"
    assert quickly(lambda: patron.check_segments(segments)) == sorted(segments)
    members = quickly(lambda: patron.segment_members(segments, [FACTS]))
    assert members[0]["segments"] == sorted(segments)
    why = quickly(lambda: patron.explain_segment(segments, "s0", FACTS))
    assert why["result"] is True
    # The second reference to a segment shows its result, not its parts again.
    assert why["parts"][1] == {"kind": "segment", "name": "s1", "result": True}


def test_a_chain_of_ten_thousand_references_is_refused_at_once_naming_the_limit() -> None:
    chain: dict[str, Any] = {f"c{i}": f'segment "c{i + 1}"' for i in range(10_000)}
    chain["c10000"] = "orders >= 1"
    with pytest.raises(patron.ValidationError, match="at most 64 levels deep") as caught:
        quickly(lambda: patron.check_segments(chain))
    assert caught.value.path == "segments.c0"


def test_kpi_csv_cells_that_would_run_as_formulas_are_escaped() -> None:
    events = [{"type": "message_sent", "id": "e1", "contact_id": "c1", "at": NOW, "message_id": "m1",
               "channel": "email", "campaign_id": '=HYPERLINK("http://evil.example","open")'}]
    csv = patron.kpi_report(patron.campaign_kpis(events), "csv")
    row = csv.splitlines()[1]
    assert row.startswith("\"'=HYPERLINK("), row


@pytest.mark.parametrize(("template", "limit"), [
    ({"text": "{% for i in range(end=100000) %}{% for j in range(end=9) %}" + "x" * 90 + "{% endfor %}{% endfor %}"},
     "limits.output_bytes"),
    ({"html": "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% endfor %}{% endfor %}"},
     "limits.range_steps"),
    ({"subject": "longer than ten bytes", "limits": {"output_bytes": 10}}, "limits.output_bytes"),
])
def test_templates_stop_at_their_limits(template: dict[str, Any], limit: str) -> None:
    with pytest.raises(patron.LimitError, match=limit) as caught:
        quickly(lambda: patron.render_message(template, RECIPIENT, NOW))
    assert caught.value.code == "limit"
    assert caught.value.path in {"text", "html", "subject"}


CART_RULE: dict[str, Any] = {"rules": [{
    "id": "cart", "trigger": {"on": "product", "action": "carted"},
    "steps": [{"name": "1h", "delay": "1h", "template": "cart"}]}]}


def cart_facts(as_of: str) -> dict[str, Any]:
    return {"contact_id": "anna", "as_of": as_of, "orders": 0, "cancelled_orders": 0, "returned_orders": 0,
            "purchase_days": 0, "revenue": 0, "at_risk": False,
            "cart": {"lines": [{"product_id": "p1", "quantity": 1, "unit_price": 20}], "currency": "EUR",
                     "value": 20, "updated_at": "2024-05-01T10:00:00Z", "age_seconds": 0},
            "contact": {"id": "anna", "email": "anna@example.com", "consent": {"email": {"marketing": {
                "status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}}


@pytest.mark.parametrize("withdrawal", [
    {"type": "consent_changed", "channel": "email", "purpose": "marketing", "action": "unsubscribe"},
    {"type": "message_unsubscribed", "message_id": "m0", "channel": "email"},
])
def test_no_letter_after_an_unsubscribe_the_engine_saw_though_the_record_is_old(withdrawal: dict[str, Any]) -> None:
    engine = patron.TriggerEngine(CART_RULE)
    cart = {"type": "cart_updated", "id": "e1", "contact_id": "anna", "at": "2024-05-01T10:00:00Z",
            "currency": "EUR", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 20}]}
    started = engine.handle(None, cart_facts("2024-05-01T10:00:00Z"), cart, "2024-05-01T10:00:00Z")
    event = {**withdrawal, "id": "u1", "contact_id": "anna", "at": "2024-05-01T10:30:00Z"}
    # The host hands in the record as it was before the unsubscribe.
    seen = engine.handle(started["state"], cart_facts("2024-05-01T10:30:00Z"), event, "2024-05-01T10:30:00Z")
    due = engine.due(seen["state"], cart_facts("2024-05-01T11:00:00Z"), "2024-05-01T11:00:00Z")
    assert [a["type"] for a in due["actions"]] == ["skipped"], due["actions"]
