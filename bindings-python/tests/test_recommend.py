"""Recommendations from Python: what the shared vectors cannot show (native
datetimes, the bulk call, the model's round trip through JSON, error classes)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

import patron

CATALOG: dict[str, Any] = {
    "products": [
        {"id": "tea", "name": "Green tea", "price": 4, "currency": "EUR"},
        {"id": "cup", "name": "Tea cup", "price": 9, "currency": "EUR"},
        {"id": "honey", "name": "Honey", "price": 6, "currency": "EUR"},
    ]
}
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
BASKETS: list[dict[str, Any]] = [
    {"contact_id": "a", "at": datetime(2024, 5, 1, tzinfo=timezone.utc), "product_ids": ["tea", "cup"]},
    {"contact_id": "b", "at": "2024-05-02T10:00:00Z", "product_ids": ["tea", "cup", "honey"]},
]


def test_model_round_trips_through_json_and_updates() -> None:
    model = patron.build_item_model(BASKETS, NOW)
    assert model["built_at"] == NOW
    stored = json.loads(json.dumps(model, default=lambda d: d.isoformat()))
    updated = patron.update_item_model(stored, [{"contact_id": "c", "at": NOW, "product_ids": ["honey", "tea"]}])
    assert updated["products"] == ["tea", "cup", "honey"]
    fixed = patron.build_item_model(BASKETS, NOW, {"incremental": False})
    with pytest.raises(patron.ValidationError) as info:
        patron.update_item_model(fixed, BASKETS)
    assert info.value.path == "model.interactions"


def test_many_contacts_at_once_equal_one_by_one() -> None:
    model = patron.build_item_model(BASKETS, NOW)
    message = {"triggers": [], "blocks": [{"kind": "for_you", "size": 2}, {"kind": "buy_again", "size": 1}]}
    histories = [
        {"bought": [{"product_id": "tea", "last_at": NOW}]},
        {"viewed": [{"product_id": "cup", "count": 2, "last_at": "2024-05-30T00:00:00Z"}]},
        {},
    ]
    many = patron.recommend_blocks_many(CATALOG, message, histories, NOW, model)
    assert many == [patron.recommend_blocks(CATALOG, message, h, NOW, model) for h in histories]
    assert patron.recommend_blocks(CATALOG, message, None, NOW) == patron.recommend_blocks(CATALOG, message, {}, NOW)


def test_errors_are_patron_errors_with_paths() -> None:
    with pytest.raises(patron.PatronError) as info:
        patron.recommend_blocks_many(CATALOG, {"blocks": [{"kind": "similar", "size": 0}]}, [{}], NOW)
    assert (info.value.code, info.value.path) == ("validation", "message.blocks[0].size")
    with pytest.raises(ValueError):
        patron.evaluate_recommendations(CATALOG, BASKETS, {"kind": "buy_again", "size": 1}, 0)


def test_a_recommender_indexes_once_and_gives_what_the_functions_give() -> None:
    model = patron.build_item_model(BASKETS, NOW)
    recommender = patron.Recommender(CATALOG, model)
    assert recommender.known_to_model == 3
    message = {"blocks": [{"kind": "for_you", "size": 2}, {"kind": "buy_again", "size": 1}]}
    histories: list[dict[str, Any]] = [
        {"bought": [{"product_id": "tea", "last_at": NOW}]},
        {"viewed": [{"product_id": "cup", "count": 2, "last_at": "2024-05-30T00:00:00Z"}]},
        {},
    ]
    for h in histories:
        assert recommender.blocks(message, h, NOW) == patron.recommend_blocks(CATALOG, message, h, NOW, model)
    assert recommender.blocks_many(message, histories, NOW) == patron.recommend_blocks_many(
        CATALOG, message, histories, NOW, model
    )
    assert patron.Recommender(CATALOG).blocks(message, None, NOW) == patron.recommend_blocks(CATALOG, message, None, NOW)
    with pytest.raises(patron.ValidationError) as info:
        recommender.blocks({"blocks": [{"kind": "similar", "size": 0}]}, None, NOW)
    assert info.value.path == "message.blocks[0].size"
    with pytest.raises(patron.ValidationError) as bad:
        patron.Recommender({"products": [{"id": "x"}]})
    assert (bad.value.path or "").startswith("catalog.")
