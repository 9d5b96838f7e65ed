"""Triggers from Python: what the shared vectors cannot show (native
datetimes, the engine kept across calls, error classes, a stored state's
round trip through JSON)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

import patron

ANNA: dict[str, Any] = {
    "id": "anna",
    "email": "anna@example.com",
    "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
}
RULES: dict[str, Any] = {
    "rules": [{
        "id": "cart",
        "trigger": {"on": "product", "action": "carted"},
        "steps": [{"delay": "1h", "template": "cart_1"}],
        "exit": [{"on": "event", "event": "order_placed", "same_products": True}],
    }]
}
AT = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
CART: dict[str, Any] = {
    "type": "cart_updated", "id": "e1", "contact_id": "anna", "at": AT, "currency": "EUR",
    "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 20}],
}


def facts_at(at: datetime) -> Any:
    return patron.profile_facts(patron.build_profiles([CART]), at, contacts=[ANNA])[0]


def test_engine_is_built_once_and_the_state_round_trips_through_json() -> None:
    engine = patron.TriggerEngine(RULES)
    assert engine.rule_ids == ["cart"]
    first = engine.handle(None, facts_at(AT), CART, AT)
    assert first["next_wakeup"] == datetime(2024, 5, 1, 11, tzinfo=timezone.utc)
    stored = json.loads(json.dumps(first["state"], default=lambda d: d.isoformat()))
    assert patron.next_wakeup(stored) == first["next_wakeup"]
    assert engine.handle(stored, facts_at(AT), CART, AT).get("ignored") == "duplicate"
    wake = datetime(2024, 5, 1, 11, tzinfo=timezone.utc)
    due = engine.due(stored, facts_at(wake), wake)
    assert (due["actions"][0]["id"], due["actions"][0]["type"]) == ("cart/e1/1", "send")
    assert due["actions"][0]["at"] == wake


def test_bad_rules_and_calls_raise_validation_errors_naming_the_field() -> None:
    with pytest.raises(patron.ValidationError) as info:
        patron.TriggerEngine({"rules": [{"id": "r", "trigger": {"on": "event", "event": "order_placd"},
                                         "steps": [{"template": "t"}]}]})
    assert info.value.path == "config.rules[0].trigger.event"
    assert "order_placed" in str(info.value)
    engine = patron.TriggerEngine(RULES)
    state = {"version": 1, "contact_id": "anna", "clock": "2024-05-02T00:00:00Z"}
    with pytest.raises(patron.ValidationError) as info:
        engine.due(state, facts_at(AT), AT)
    assert info.value.path == "now"
    with pytest.raises(patron.ValidationError) as info:
        patron.read_trigger_state({"version": 9, "contact_id": "anna"})
    assert info.value.path == "state.version"
    assert "newer patron" in str(info.value)


def test_simulate_returns_the_timeline_with_datetimes() -> None:
    engine = patron.TriggerEngine(patron.trigger_presets())
    timeline = engine.simulate([ANNA], [CART], datetime(2024, 5, 10, tzinfo=timezone.utc))
    assert [a["id"] for a in timeline] == ["abandoned_cart/e1/1h", "abandoned_cart/e1/1d", "abandoned_cart/e1/3d"]
    assert timeline[0]["at"] == datetime(2024, 5, 1, 11, tzinfo=timezone.utc)
