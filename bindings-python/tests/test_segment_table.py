"""Segments over typed Arrow tables: each Arrow type read as the field's kind."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import patron

AS_OF = "2024-07-01T00:00:00Z"


def test_typed_arrow_columns_read_as_their_fields() -> None:
    utc = timezone.utc
    table = pa.table(
        {
            "contact_id": pa.array(["a", "b", "c"]).dictionary_encode(),
            "orders": pa.array([3, 0, None], pa.int32()),
            "revenue": pa.array([250.5, 0.0, None]),
            "at_risk": pa.array([True, False, None]),
            "last_order_at": pa.array(
                [datetime(2024, 6, 20, tzinfo=utc), None, datetime(2023, 1, 1, tzinfo=utc)],
                pa.timestamp("ms", tz="Europe/Berlin"),
            ),
            "contact.birthday": pa.array([date(1990, 4, 2), None, date(1985, 1, 1)]),
            "contact.city": pa.array([None, None, None], pa.null()),
        }
    )
    rules = {
        "recent": "last_order_at within 30 days",
        "spent": "revenue > 100 and orders >= 3",
        "risk": "at_risk = true",
        "spring": 'contact.birthday between "1990-03-01" and "1990-05-31"',
        "no city": "contact.city is empty",
        "half": 'bucket 50% salt "t"',
    }
    out = pa.table(patron.evaluate_segments(rules, table, AS_OF)).to_pydict()
    assert out["recent"] == [True, False, False]
    assert out["spent"] == [True, False, False]
    assert out["risk"] == [True, False, False]
    assert out["spring"] == [True, False, False]
    assert out["no city"] == [True, True, True]
    assert list(out) == sorted(rules)


def test_bad_tables_name_the_column() -> None:
    naive = pa.table({"last_order_at": pa.array([datetime(2024, 6, 20)])})
    with pytest.raises(patron.ValidationError) as err:
        patron.evaluate_segments({"r": "last_order_at within 30 days"}, naive, AS_OF)
    assert err.value.path == "table.last_order_at"
    wrong = pa.table({"orders": pa.array(["3"])})
    with pytest.raises(patron.ValidationError) as err:
        patron.evaluate_segments({"r": "orders > 1"}, wrong, AS_OF)
    assert err.value.path == "table.orders"
    assert "the column holds text" in str(err.value)
    with pytest.raises(patron.ValidationError) as err:
        patron.evaluate_segments({"vip": "revenue > 1"}, {"orders": [1]}, AS_OF)
    assert err.value.path == "segments.vip"
