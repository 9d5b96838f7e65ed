"""Recommendations from Python: what the shared vectors cannot show (native
datetimes, the bulk call, the model's round trip through JSON, error classes)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

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


def _lines() -> dict[str, list[Any]]:
    """BASKETS as an order-line table, with a view line of its own."""
    lines: dict[str, list[Any]] = {"contact_id": [], "order_id": [], "at": [], "product_id": [], "kind": []}
    for n, basket in enumerate(BASKETS):
        at = basket["at"] if isinstance(basket["at"], datetime) else datetime.fromisoformat(basket["at"])
        for product in basket["product_ids"]:
            for key, value in zip(lines, (basket["contact_id"], n, at, product, "order")):
                lines[key].append(value)
    for key, value in zip(lines, ("a", 9, NOW, "honey", "view")):
        lines[key].append(value)
    return lines


def test_an_order_line_table_gives_the_model_of_its_baskets() -> None:
    import pandas  # type: ignore[import-untyped]
    import polars
    import pyarrow  # type: ignore[import-untyped]

    baskets = [*BASKETS, {"contact_id": "a", "at": NOW, "kind": "view", "product_ids": ["honey"]}]
    expected = patron.build_item_model(baskets, NOW)
    lines = _lines()
    table = pyarrow.table(lines)
    for columns in (lines, table, polars.DataFrame(lines), pandas.DataFrame(lines)):
        assert patron.build_item_model(columns, NOW) == expected
    # Integer ids become their decimal text; without order ids one instant is one basket.
    numbers = pyarrow.table({"contact_id": [7, 7], "at": [NOW, NOW], "product_id": [501, 502]})
    model = patron.build_item_model(numbers, NOW)
    assert model["products"] == ["501", "502"]
    assert model["interactions"]["rows"][1] == [[[0, 1.0], [1, 1.0]]]
    before = patron.build_item_model(BASKETS, NOW)
    update = {"contact_id": ["c", "c"], "at": [NOW, NOW], "product_id": ["honey", "tea"]}
    assert patron.update_item_model(before, update) == patron.update_item_model(
        before, [{"contact_id": "c", "at": NOW, "product_ids": ["honey", "tea"]}]
    )
    spec = {"kind": "buy_again", "size": 2}
    assert patron.evaluate_recommendations(CATALOG, table, spec, 2) == patron.evaluate_recommendations(
        CATALOG, baskets, spec, 2
    )


@pytest.mark.parametrize(
    ("change", "paths", "says"),
    [
        # Paths from a dict of plain lists, then from an Arrow table (None: Arrow refuses the input itself).
        ({"product": ["x", "y"]}, ("baskets.product", "baskets.product"), "unknown column `product`"),
        ({"contact_id": ["a", None]}, ("baskets[1].contact_id",) * 2, "missing value"),
        ({"at": [NOW, "yesterday"]}, ("baskets[1].at", None), "expected a timestamp"),
        ({"product_id": ["x", ""]}, ("baskets[1].product_id",) * 2, "non-empty id"),
        ({"product_id": [1.5, 2.5]}, ("baskets[0].product_id", "baskets.product_id"), "integer id"),
        ({"kind": ["order", "cart"]}, ("baskets[1].kind",) * 2, "`cart`"),
        ({"at": [datetime(2024, 1, 1), datetime(2024, 1, 2)]}, ("baskets[0].at", "baskets.at"), "zone"),
    ],
)
def test_bad_order_lines_are_named(change: dict[str, list[Any]], paths: tuple[str | None, str | None], says: str) -> None:
    import pyarrow

    lines: dict[str, list[Any]] = {"contact_id": ["a", "b"], "at": [NOW, NOW], "product_id": ["x", "y"]}
    lines.update(change)
    if "product" in change:
        del lines["product_id"]
    readers: tuple[Callable[[], Any], ...] = (lambda: lines, lambda: pyarrow.table(lines))
    for path, columns in zip(paths, readers):
        if path is None:
            continue
        with pytest.raises(patron.ValidationError) as info:
            patron.build_item_model(columns(), NOW)
        assert info.value.path == path
        assert says in str(info.value)
